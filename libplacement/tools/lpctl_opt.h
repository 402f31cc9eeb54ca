/* lpctl: options as "--name value" or "--name=value", for every command. */
#ifndef LPCTL_OPT_H
#define LPCTL_OPT_H

/* One command-line argument split at its first '=' (options only). */
typedef struct lpctl_opt {
    char name[32];     /* "--cluster" of "--cluster=FILE"; the whole argument
                          (cut) when it is no "--name=value" */
    const char *value; /* the text after '=', or NULL */
} lpctl_opt;

/* Split arg: "--name=value" gives name and value, anything else the argument
 * itself as name and no value. */
void lpctl_opt_split(const char *arg, lpctl_opt *o);

/*
 * The value of an option that takes one: the text after '=', else the next
 * argument (then *i advances past it).  @return NULL when there is none.
 */
const char *lpctl_opt_value(const lpctl_opt *o, int argc, char **argv, int *i);

/* The entry of the NULL-terminated list names equal to name (a string that
 * outlives the argument), or NULL. */
const char *lpctl_opt_find(const char *name, const char *const *names);

#endif
