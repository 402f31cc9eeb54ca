/* The HTTP side: /v1/snapshot, /metrics, /healthz with libmicrohttpd. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "agent.h"

#define SNAPSHOT_TYPE "application/json"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
                             const char *body, size_t len, const char *hname, const char *hval)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (hname)
        MHD_add_response_header(r, hname, hval);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned code, const char *text,
                                  const char *hname, const char *hval)
{
    return reply(c, code, "text/plain; charset=utf-8", text, strlen(text), hname, hval);
}

/* Compare without leaking the position of the first difference. */
static int token_ok(const char *want, const char *got)
{
    size_t wl = strlen(want), gl = got ? strlen(got) : 0;
    unsigned char diff = (unsigned char)(wl != gl);
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < gl ? got[i] : 0));
    return got && diff == 0;
}

/* Serve one published text, copied under the lock. */
static enum MHD_Result serve(struct MHD_Connection *c, published *p, int metrics)
{
    pthread_mutex_lock(&p->lock);
    const char *body = metrics ? p->metrics : p->snapshot;
    size_t len = metrics ? p->metrics_len : p->snapshot_len;
    enum MHD_Result r;
    if (!body)
        r = reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no sample yet\n", "Retry-After", "1");
    else
        r = reply(c, MHD_HTTP_OK, metrics ? METRICS_TYPE : SNAPSHOT_TYPE, body, len, NULL, NULL);
    pthread_mutex_unlock(&p->lock);
    return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **req)
{
    published *pub = cls;
    (void)version;
    (void)upload;
    /* Answering on the first call makes libmicrohttpd close the connection:
     * keep-alive needs the answer on the second call. */
    if (!*req) {
        *req = c; /* any non-NULL marker */
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* no endpoint takes a body; the memory limit bounds it */
        return MHD_YES;
    }
    int snap = !strcmp(url, "/v1/snapshot"), metrics = !strcmp(url, "/metrics"),
        health = !strcmp(url, "/healthz");
    if (!snap && !metrics && !health)
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /v1/snapshot, /metrics, /healthz\n", NULL,
                          NULL);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", MHD_HTTP_HEADER_ALLOW,
                          "GET, HEAD");
    if (health) {
        pthread_mutex_lock(&pub->lock);
        double last = pub->last_ok, max_age = pub->max_age;
        pthread_mutex_unlock(&pub->lock);
        if (last > 0 && mono_now() - last <= max_age)
            return reply_text(c, MHD_HTTP_OK, "ok\n", NULL, NULL);
        return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, last > 0 ? "stale: sampling stopped\n"
                                                                    : "starting: no sample yet\n",
                          NULL, NULL);
    }
    if (snap && pub->token[0]) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *got = auth && !strncmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
        if (!token_ok(pub->token, got))
            return reply_text(c, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token\n",
                              MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"libplacement\"");
    }
    return serve(c, pub, metrics);
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    agent_log(cls, LOG_WARN_, "http: %s", msg);
}

struct MHD_Daemon *agent_http_start(const agent_config *c, published *p)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, c->listen, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)c->port);
    } else if (inet_pton(AF_INET6, c->listen, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)c->port);
        flags |= MHD_USE_IPv6;
    } else {
        agent_log(c, LOG_ERR_, "listen: \"%s\" is not an IPv4 or IPv6 address", c->listen);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)c->port, NULL, NULL, handle, p,
        MHD_OPTION_EXTERNAL_LOGGER, log_mhd, (void *)c, /* first, or early messages miss it */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->per_ip_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_END);
    if (!d)
        agent_log(c, LOG_ERR_, "cannot listen on %s port %u (address in use, or no permission?)", c->listen,
                  c->port);
    return d;
}

void agent_http_stop(struct MHD_Daemon *d)
{
    if (d)
        MHD_stop_daemon(d);
}
