/* Test helper: N threads (the main thread is one of them) for at most
 * SECONDS (default 60, so that a failed test never leaves it behind).
 * Without CPUS every thread spins; with CPUS the threads together use about
 * that many CPUs, as a service does that keeps many threads and little CPU
 * busy (a JVM, Tomcat, a database): each computes for its share of every
 * 500 ms period (measured in its own CPU time, so a loaded host stretches
 * the period instead of shrinking the work) and sleeps the rest; their
 * periods are staggered, as a service's requests do not all come at once.
 * Prints "ready" once every thread runs. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PERIOD_S 0.5

typedef struct job {
    double until;  /* CLOCK_MONOTONIC seconds */
    double duty;   /* fraction of each period to compute; >= 1: spin */
    double offset; /* seconds to sleep before the first period */
} job;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void burn(double cpu_s)
{
    volatile unsigned long n = 0;
    double end = clock_s(CLOCK_THREAD_CPUTIME_ID) + cpu_s;
    while (clock_s(CLOCK_THREAD_CPUTIME_ID) < end)
        for (int i = 0; i < 1000; i++)
            n++;
}

static void *run(void *arg)
{
    const job *j = arg;
    volatile unsigned long n = 0;
    struct timespec first = {0, (long)(j->offset * 1e9)};
    nanosleep(&first, NULL);
    while (clock_s(CLOCK_MONOTONIC) < j->until) {
        if (j->duty >= 1) {
            for (int i = 0; i < 100000; i++)
                n++;
            continue;
        }
        double start = clock_s(CLOCK_MONOTONIC);
        burn(PERIOD_S * j->duty);
        double left = PERIOD_S - (clock_s(CLOCK_MONOTONIC) - start);
        if (left > 0) {
            struct timespec ts = {0, (long)(left * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double secs = argc > 2 ? atof(argv[2]) : 60;
    double cpus = argc > 3 ? atof(argv[3]) : threads;
    if (threads < 1 || threads > 1024 || secs <= 0 || cpus <= 0) {
        fprintf(stderr, "usage: spin THREADS(1..1024) [SECONDS [CPUS]]\n");
        return 2;
    }
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    job *j = calloc((size_t)threads, sizeof *j);
    if (!t || !j)
        return 1;
    for (int i = 0; i < threads; i++)
        j[i] = (job){clock_s(CLOCK_MONOTONIC) + secs, cpus / threads, cpus < threads ? PERIOD_S * i / threads : 0};
    for (int i = 1; i < threads; i++)
        if (pthread_create(&t[i], NULL, run, &j[i]) != 0) {
            perror("pthread_create");
            return 1;
        }
    printf("ready\n");
    fflush(stdout);
    run(&j[0]);
    for (int i = 1; i < threads; i++)
        pthread_join(t[i], NULL);
    free(t);
    free(j);
    return 0;
}
