/*
 * Fake agents for the fetcher's test and benchmark: one forked child serves
 * HTTP on many loopback ports (one epoll loop), each port with a behaviour.
 * Header-only (static functions) because the Makefile builds each test from
 * one .c file; used by tests/unit/test_fetch.c and bench/bench_fetch.c.
 */
#ifndef LP_FETCH_AGENTS_H
#define LP_FETCH_AGENTS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the agent on one port does with each request. */
typedef enum fa_mode {
    FA_GOOD,      /* 200 with a valid snapshot (keep-alive) */
    FA_HUNG,      /* accepts, reads, never answers */
    FA_SLOW,      /* sends headers, then one body byte every 100 ms */
    FA_HUGE,      /* 200 with a 4 MiB body and no Content-Length */
    FA_HUGE_CL,   /* 200 announcing a 100 MB body in Content-Length */
    FA_GARBAGE,   /* 200 with a body that is not JSON */
    FA_ERROR,     /* 500 */
    FA_LATE_OK,   /* a valid snapshot after 300 ms */
    FA_OLD,       /* a valid snapshot taken 95.2 s ago (by its time) */
    FA_FUTURE,    /* a valid snapshot dated 60 s ahead: the agent's clock is wrong */
    FA_NO_TIME,   /* a valid snapshot without a time */
    FA_NEWER,     /* a v1 snapshot with fields a newer agent adds */
    FA_V2         /* a snapshot of schema libplacement/snapshot/v2 */
} fa_mode;

typedef struct fa_conn {
    int fd;
    fa_mode mode;
    int port;
    char in[8192];
    size_t in_len;
    char *out;    /* response being sent, NULL when waiting for a request */
    size_t out_len, out_off;
    int close_after;
    double next_at; /* FA_SLOW / FA_LATE_OK: when to send more (monotonic s) */
} fa_conn;

typedef struct fa_listener {
    int fd;
    int port;
    fa_mode mode;
} fa_listener;

static double fa_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Raise the open-file limit to its hard limit (many sockets on both sides). */
static void fa_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Unix time now (what an agent stamps its snapshot with). */
static double fa_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A valid snapshot of host "agent-<port>" whose demand is port % 8 + 0.5, taken at unix time
   t (no "time" when t is 0). */
static int fa_snapshot(int port, double t, char *buf, size_t len)
{
    char time_field[48] = "";
    if (t > 0)
        snprintf(time_field, sizeof time_field, "\"time\":%.3f,", t);
    return snprintf(buf, len,
                    "{\"schema\":\"libplacement/snapshot/v1\",\"host\":\"agent-%d\","
                    "%s\"cpu\":{\"sockets\":1,\"cores\":4,\"threads\":8},"
                    "\"memory_mb\":16384,\"runtimes\":[\"container\",\"vm\"],"
                    "\"load\":{\"demand\":%d.5,\"util\":1.5,\"iowait\":0.01,\"steal\":0},"
                    "\"workloads\":[{\"id\":\"w-%d\",\"runtime\":\"container\",\"vcpus\":2,"
                    "\"threads\":4,\"memory_mb\":1024,\"demand\":1.5,\"util\":1.4,"
                    "\"wait_ratio\":0.1,\"iowait\":0,\"net_bps\":1000,\"disk_bps\":0,"
                    "\"class\":\"cpu\",\"confidence\":0.9}]}",
                    port, time_field, port % 8, port);
}

static char *fa_response(fa_conn *c, const char *token)
{
    char body[2048];
    char *out = malloc(8192);
    if (!out)
        return NULL;
    if (token) {
        char want[512];
        snprintf(want, sizeof want, "Authorization: Bearer %s\r\n", token);
        if (!strstr(c->in, want)) {
            c->out_len = (size_t)snprintf(out, 8192,
                                          "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
            return out;
        }
    }
    switch (c->mode) {
    case FA_GOOD:
    case FA_LATE_OK:
    case FA_OLD:
    case FA_FUTURE:
    case FA_NO_TIME: {
        double t = c->mode == FA_OLD      ? fa_wall() - 95.2
                   : c->mode == FA_FUTURE ? fa_wall() + 60
                   : c->mode == FA_NO_TIME ? 0
                                           : fa_wall();
        int bl = fa_snapshot(c->port, t, body, sizeof body);
        c->out_len = (size_t)snprintf(out, 8192,
                                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                      "Content-Length: %d\r\n\r\n%s",
                                      bl, body);
        break;
    }
    case FA_SLOW:
        c->out_len = (size_t)snprintf(out, 8192,
                                      "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n%5000s", "");
        break;
    case FA_HUGE: {
        size_t n = 4u << 20;
        char *big = realloc(out, n + 256);
        if (!big) {
            free(out);
            return NULL;
        }
        out = big;
        int hl = snprintf(out, 256, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        memset(out + hl, ' ', n);
        c->out_len = (size_t)hl + n;
        c->close_after = 1;
        break;
    }
    case FA_HUGE_CL:
        c->out_len = (size_t)snprintf(out, 8192,
                                      "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n{");
        break;
    case FA_GARBAGE:
        c->out_len = (size_t)snprintf(out, 8192,
                                      "HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nthis is not json{");
        break;
    case FA_ERROR:
        c->out_len = (size_t)snprintf(out, 8192,
                                      "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n"
                                      "\r\noops\n");
        break;
    case FA_NEWER:
    case FA_V2: {
        char time_field[48];
        snprintf(time_field, sizeof time_field, "%.3f", fa_wall());
        int bl = snprintf(body, sizeof body,
                          "{\"schema\":\"libplacement/snapshot/v%d\",\"host\":\"agent-%d\","
                          "\"time\":%s,\"agent_version\":\"1.4.0\",\"numa\":[{\"node\":0,"
                          "\"cpus\":\"0-7\"}],\"cpu\":{\"threads\":8,\"smt\":true},"
                          "\"load\":{\"demand\":2.5,\"psi_cpu_some\":0.1},"
                          "\"workloads\":[{\"id\":\"w-1\",\"class\":\"net\",\"demand\":0.5,"
                          "\"cgroup\":\"/system.slice/x\",\"numa_node\":0}]}",
                          c->mode == FA_V2 ? 2 : 1, c->port, time_field);
        c->out_len = (size_t)snprintf(out, 8192,
                                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                      "Content-Length: %d\r\n\r\n%s",
                                      bl, body);
        break;
    }
    case FA_HUNG:
        free(out);
        return NULL;
    }
    return out;
}

static void fa_close(int ep, fa_conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out);
    free(c);
}

/* Send what may be sent now. @return -1 if the connection is finished. */
static int fa_send(int ep, fa_conn *c, double now)
{
    while (c->out && c->out_off < c->out_len) {
        size_t n = c->out_len - c->out_off;
        if (c->mode == FA_SLOW) { /* the header and a few bytes, then a byte per 100 ms */
            if (c->out_off < 64) {
                n = 64 - c->out_off;
            } else {
                if (now < c->next_at)
                    return 0;
                n = 1;
                c->next_at = now + 0.1;
            }
        }
        if (c->mode == FA_LATE_OK && now < c->next_at)
            return 0;
        ssize_t w = send(c->fd, c->out + c->out_off, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                return 0;
            }
            return -1;
        }
        c->out_off += (size_t)w;
    }
    if (c->out && c->out_off == c->out_len) {
        if (c->close_after)
            return -1;
        free(c->out);
        c->out = NULL;
        c->out_off = c->out_len = 0;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
    return 0;
}

/* Read a request; prepare the answer once the header is complete. @return -1 when finished. */
static int fa_read(int ep, fa_conn *c, const char *token, double now)
{
    for (;;) {
        if (c->in_len + 1 >= sizeof c->in)
            return -1;
        ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
        if (r == 0)
            return -1;
        if (r < 0)
            break;
        c->in_len += (size_t)r;
        c->in[c->in_len] = '\0';
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end || c->out)
        return 0;
    c->out = fa_response(c, token);
    /* Keep-alive: drop this request, keep bytes of a pipelined next one. */
    size_t used = (size_t)(end + 4 - c->in);
    memmove(c->in, c->in + used, c->in_len - used + 1);
    c->in_len -= used;
    c->next_at = now + (c->mode == FA_LATE_OK ? 0.3 : 0.1);
    return c->out ? fa_send(ep, c, now) : 0;
}

/* The child's loop; never returns. */
static void fa_serve(fa_listener *ls, size_t n, const char *token)
{
    int ep = epoll_create1(0);
    if (ep < 0)
        _exit(1);
    for (size_t i = 0; i < n; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &ls[i] };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, ls[i].fd, &ev) != 0)
            _exit(1);
    }
    /* Connections whose answer is timed (slow, late) are few: poll them every 20 ms. */
    fa_conn *timed[256];
    size_t ntimed = 0;
    struct epoll_event evs[256];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, ntimed ? 20 : -1);
        double now = fa_now();
        for (int i = 0; i < k; i++) {
            void *p = evs[i].data.ptr;
            if (p >= (void *)ls && p < (void *)(ls + n)) {
                fa_listener *l = p;
                int fd;
                while ((fd = accept(l->fd, NULL, NULL)) >= 0) {
                    fcntl(fd, F_SETFL, O_NONBLOCK);
                    fa_conn *c = calloc(1, sizeof *c);
                    if (!c)
                        _exit(1);
                    c->fd = fd;
                    c->mode = l->mode;
                    c->port = l->port;
                    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                    if ((c->mode == FA_SLOW || c->mode == FA_LATE_OK) && ntimed < 256)
                        timed[ntimed++] = c;
                }
                continue;
            }
            fa_conn *c = p;
            int done = 0;
            if (evs[i].events & (EPOLLHUP | EPOLLERR))
                done = 1;
            if (!done && (evs[i].events & EPOLLIN))
                done = fa_read(ep, c, token, now) != 0;
            if (!done && (evs[i].events & EPOLLOUT))
                done = fa_send(ep, c, now) != 0;
            if (done) {
                for (size_t t = 0; t < ntimed; t++)
                    if (timed[t] == c)
                        timed[t] = timed[--ntimed];
                fa_close(ep, c);
            }
        }
        for (size_t t = 0; t < ntimed; t++) {
            if (fa_send(ep, timed[t], now) != 0) {
                fa_close(ep, timed[t]);
                timed[t--] = timed[--ntimed];
            }
        }
    }
}

/*
 * Start agents on n fresh loopback ports with the given modes (token: the
 * bearer token they require, or NULL).  ports[] receives the port numbers.
 * The listening sockets exist before this returns, so clients can connect at
 * once.  @return the child's pid, or -1.
 */
static pid_t fa_start(const fa_mode *modes, size_t n, int *ports, const char *token)
{
    fa_listener *ls = calloc(n, sizeof *ls);
    if (!ls)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t al = sizeof a;
        ls[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (ls[i].fd < 0 || bind(ls[i].fd, (struct sockaddr *)&a, sizeof a) != 0 ||
            listen(ls[i].fd, 128) != 0 || getsockname(ls[i].fd, (struct sockaddr *)&a, &al) != 0) {
            for (size_t j = 0; j <= i; j++)
                if (ls[j].fd >= 0)
                    close(ls[j].fd);
            free(ls);
            return -1;
        }
        ls[i].port = ntohs(a.sin_port);
        ls[i].mode = modes[i];
        ports[i] = ls[i].port;
    }
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        fa_serve(ls, n, token);
    }
    for (size_t i = 0; i < n; i++)
        close(ls[i].fd);
    free(ls);
    return pid;
}

/* Stop the agents' child. */
static void fa_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

#endif
