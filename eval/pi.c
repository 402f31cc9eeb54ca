/*
 * pi: one "server" of a parallel Monte-Carlo estimation of pi.
 *
 *   pi THREADS ITERATIONS
 *
 * Starts THREADS threads that together draw ITERATIONS random points in the
 * unit square (fixed work per server, split evenly between its threads) and
 * count those inside the quarter circle.  It waits for a line on stdin before
 * it starts, so that a harness can start every server of a run at the same
 * moment, prints "ready" when its threads exist, and at the end prints one
 * line:
 *
 *   pi=3.14159 iterations=N threads=T seconds=S rate=R
 *
 * (S: wall time from the start line to the last thread's end; R = N / S).
 * Exit status 0, or 2 with a message on bad arguments, 1 on a system error.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 256

struct worker {
    pthread_t thread;
    uint64_t seed;
    uint64_t iterations;
    uint64_t inside;
    pthread_barrier_t *start;
};

/* splitmix64: a small, fast generator with a 64-bit state per thread. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(w->start);
    uint64_t state = w->seed, inside = 0;
    /* Two 32-bit coordinates per draw; x^2 + y^2 <= 1 scaled to 2^64. */
    for (uint64_t i = 0; i < w->iterations; i++) {
        uint64_t r = next_random(&state);
        uint64_t x = r & 0xffffffffULL, y = r >> 32;
        unsigned __int128 d = (unsigned __int128)x * x + (unsigned __int128)y * y;
        inside += d <= ((unsigned __int128)1 << 64);
    }
    w->inside = inside;
    return NULL;
}

static int parse_count(const char *text, const char *what, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v < 1 || v > max) {
        fprintf(stderr, "pi: %s must be an integer in 1..%" PRIu64 ", not '%s'\n", what, max,
                text);
        return -1;
    }
    *out = v;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t threads, iterations;
    if (argc != 3) {
        fprintf(stderr, "usage: pi THREADS ITERATIONS (waits for a line on stdin to start)\n");
        return 2;
    }
    if (parse_count(argv[1], "THREADS", MAX_THREADS, &threads) ||
        parse_count(argv[2], "ITERATIONS", UINT64_MAX / 2, &iterations))
        return 2;

    struct worker workers[MAX_THREADS];
    pthread_barrier_t start;
    /* The harness's start line plus every worker pass the barrier together. */
    if (pthread_barrier_init(&start, NULL, (unsigned)threads + 1)) {
        fprintf(stderr, "pi: pthread_barrier_init failed\n");
        return 1;
    }
    for (uint64_t t = 0; t < threads; t++) {
        workers[t] = (struct worker){
            .seed = 0x1234567ULL * (t + 1) ^ (uint64_t)now(),
            .iterations = iterations / threads + (t < iterations % threads),
            .start = &start,
        };
        int rc = pthread_create(&workers[t].thread, NULL, work, &workers[t]);
        if (rc) {
            fprintf(stderr, "pi: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "pi: stdin closed before the start line\n");
        return 1;
    }
    double t0 = now();
    pthread_barrier_wait(&start);
    uint64_t inside = 0;
    for (uint64_t t = 0; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        inside += workers[t].inside;
    }
    double seconds = now() - t0;
    printf("pi=%.6f iterations=%" PRIu64 " threads=%" PRIu64 " seconds=%.6f rate=%.1f\n",
           4.0 * (double)inside / (double)iterations, iterations, threads, seconds,
           (double)iterations / seconds);
    return 0;
}
