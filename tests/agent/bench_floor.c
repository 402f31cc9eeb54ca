/* Benchmark helper: the floor of a sweep's cost per task, i.e. one pread()
 * of an already-open /proc/PID/task/TID/schedstat (the one syscall the agent
 * needs per task), measured in CPU time like the agent's sweeps.
 *
 *   bench_floor CGROUP_PROCS_FILE ROUNDS
 *
 * opens the schedstat of every thread of the processes listed in the file,
 * reads each ROUNDS times and prints "tasks=N floor_us_per_task=F". */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long rounds = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
    FILE *f = argc == 3 ? fopen(argv[1], "r") : NULL;
    if (!f || rounds <= 0) {
        fprintf(stderr, "usage: bench_floor CGROUP_PROCS_FILE ROUNDS (%s)\n",
                argc == 3 ? "cannot open the file or ROUNDS not positive" : "wrong arguments");
        return 2;
    }
    size_t n = 0, cap = 0;
    int *fds = NULL;
    int pid;
    while (fscanf(f, "%d", &pid) == 1) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", pid);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                int *nf = realloc(fds, cap * sizeof *nf);
                if (!nf) {
                    fprintf(stderr, "bench_floor: out of memory\n");
                    return 1;
                }
                fds = nf;
            }
            snprintf(path, sizeof path, "/proc/%d/task/%.16s/schedstat", pid, e->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0)
                fds[n++] = fd;
        }
        if (d)
            closedir(d);
    }
    fclose(f);
    if (!n) {
        fprintf(stderr, "bench_floor: no task found in %s\n", argv[1]);
        return 1;
    }
    char buf[96];
    double t0 = cpu_seconds();
    for (long r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++)
            if (pread(fds[i], buf, sizeof buf - 1, 0) <= 0) {
                fprintf(stderr, "bench_floor: a task exited during the measurement\n");
                return 1;
            }
    double us = (cpu_seconds() - t0) / (double)rounds / (double)n * 1e6;
    printf("tasks=%zu floor_us_per_task=%.3f\n", n, us);
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    return 0;
}
