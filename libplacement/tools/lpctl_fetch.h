/* lpctl fetch: the cluster as the scheduler sees it, fetched from the agents (docs/fetch.md). */
#ifndef LPCTL_FETCH_H
#define LPCTL_FETCH_H

/*
 * Run `lpctl fetch`.  argv[0] is the command name ("fetch"), options and
 * host names follow: lpctl's main calls lpctl_fetch_main(argc - 1, argv + 1).
 * Prints the fetched hosts on stdout (a table, or a cluster file with
 * --json) and one line per missing host on stderr.
 * @return exit status: 0 every host fetched, 3 some missing, 2 bad input or
 *         usage, 1 internal error.
 */
int lpctl_fetch_main(int argc, char **argv);

#endif
