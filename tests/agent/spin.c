/* Test helper: keep N threads busy (the main thread is one of them) for at
 * most SECONDS (default 60, so that a failed test never leaves it behind). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *spin(void *arg)
{
    const double *until = arg;
    volatile unsigned long n = 0;
    while (now() < *until)
        for (int i = 0; i < 100000; i++)
            n++;
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double secs = argc > 2 ? atof(argv[2]) : 60;
    if (threads < 1 || threads > 256 || secs <= 0) {
        fprintf(stderr, "usage: spin THREADS(1..256) [SECONDS]\n");
        return 2;
    }
    double until = now() + secs;
    pthread_t t[256];
    for (int i = 1; i < threads; i++)
        if (pthread_create(&t[i], NULL, spin, &until) != 0) {
            perror("pthread_create");
            return 1;
        }
    spin(&until);
    for (int i = 1; i < threads; i++)
        pthread_join(t[i], NULL);
    return 0;
}
