/*
 * The HTTP side: /v1/snapshot, /metrics, /healthz with libmicrohttpd.
 *
 * Threads: libmicrohttpd's epoll thread serves; a housekeeping thread closes
 * connections past their request deadline and writes the summaries of the
 * rate-limited log; the main thread changes the settings (agent_http_reload).
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "agent.h"

#define SNAPSHOT_TYPE "application/json"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* TLS 1.2 and 1.3 only, GnuTLS's default ciphers. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* libmicrohttpd writes a message per failed connection: at most LOG_BURST
 * lines per LOG_WINDOW seconds are logged, the rest counted in a summary. */
#define LOG_BURST 5
#define LOG_WINDOW 10.0
/* How often the housekeeping thread looks at the deadlines. */
#define TICK_SECONDS 0.25

/* An open connection, for its request deadline. */
typedef struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    double deadline;        /* monotonic seconds; 0 = none */
    int client_verified;    /* TLS client certificate: -1 not checked yet, 0 refused, 1 verified */
} http_conn;

struct agent_http {
    struct MHD_Daemon *daemon;
    published *pub;
    int check_client_cert;  /* --tls-client-ca given */
    atomic_int log_level;

    pthread_mutex_t lock;   /* guards the settings, the connection list, stopping */
    agent_token token;
    int metrics_public;
    unsigned request_timeout;
    http_conn *conns;
    int stopping;
    pthread_cond_t wake;    /* stops the housekeeping thread */
    pthread_t thread;

    pthread_mutex_t log_lock; /* guards the log's rate limit */
    double log_window;      /* start of the current window */
    unsigned log_count;     /* lines logged in it */
    unsigned long log_dropped;
    char log_last[256];     /* the last line dropped */
};

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

static void log_at(agent_http *h, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void log_at(agent_http *h, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    agent_vlog(atomic_load(&h->log_level), level, fmt, ap);
    va_end(ap);
}

/* End the log's window when its time is up (or when stopping): one line
 * counts what it dropped. */
static void log_window_end(agent_http *h, int stopping)
{
    pthread_mutex_lock(&h->log_lock);
    double now = mono_now();
    unsigned long dropped = 0;
    double seconds = now - h->log_window;
    char last[sizeof h->log_last];
    if (stopping || seconds >= LOG_WINDOW) {
        dropped = h->log_dropped;
        memcpy(last, h->log_last, sizeof last);
        h->log_dropped = 0;
        h->log_window = now;
        h->log_count = 0;
    }
    pthread_mutex_unlock(&h->log_lock);
    if (dropped)
        log_at(h, LOG_WARN_, "http: %lu more message%s in %.0f s not logged; the last: %s", dropped,
               dropped == 1 ? "" : "s", seconds, last);
}

/* Log one line under the rate limit. */
static void log_limited(agent_http *h, int level, const char *msg)
{
    log_window_end(h, 0);
    pthread_mutex_lock(&h->log_lock);
    int show = h->log_count < LOG_BURST;
    if (show)
        h->log_count++;
    else {
        h->log_dropped++;
        snprintf(h->log_last, sizeof h->log_last, "%s", msg);
    }
    pthread_mutex_unlock(&h->log_lock);
    if (show)
        log_at(h, level, "%s", msg);
}

/* The connection's record, made by on_connection. */
static http_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static double deadline_from_now(const agent_http *h)
{
    return h->request_timeout ? mono_now() + h->request_timeout : 0;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    agent_http *h = cls;
    http_conn *hc = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        hc = calloc(1, sizeof *hc);
        if (!hc || !fd) {
            /* A connection without deadline would escape the limits: end it. */
            free(hc);
            if (fd)
                shutdown(fd->connect_fd, SHUT_RDWR);
            return;
        }
        hc->fd = fd->connect_fd;
        hc->client_verified = -1;
        pthread_mutex_lock(&h->lock);
        hc->deadline = deadline_from_now(h);
        hc->next = h->conns;
        if (h->conns)
            h->conns->prev = hc;
        h->conns = hc;
        pthread_mutex_unlock(&h->lock);
        *socket_context = hc;
    } else if (hc) {
        /* Called before libmicrohttpd closes the socket: once off the list,
         * the housekeeping thread no longer touches the descriptor. */
        pthread_mutex_lock(&h->lock);
        if (hc->prev)
            hc->prev->next = hc->next;
        else
            h->conns = hc->next;
        if (hc->next)
            hc->next->prev = hc->prev;
        pthread_mutex_unlock(&h->lock);
        free(hc);
        *socket_context = NULL;
    }
}

/* A request ended (answered or aborted): the next one has its own time. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req, enum MHD_RequestTerminationCode toe)
{
    agent_http *h = cls;
    http_conn *hc = conn_of(c);
    (void)req;
    (void)toe;
    if (!hc)
        return;
    pthread_mutex_lock(&h->lock);
    hc->deadline = deadline_from_now(h);
    pthread_mutex_unlock(&h->lock);
}

/* Close the connections past their deadline; write the log's summaries. */
static void *housekeeping(void *arg)
{
    agent_http *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        double now = mono_now();
        unsigned long closed = 0;
        for (http_conn *hc = h->conns; hc; hc = hc->next)
            if (hc->deadline > 0 && now >= hc->deadline) {
                /* libmicrohttpd's thread sees the end of the stream and closes it. */
                shutdown(hc->fd, SHUT_RDWR);
                hc->deadline = 0;
                closed++;
            }
        unsigned timeout = h->request_timeout;
        pthread_mutex_unlock(&h->lock);
        if (closed) {
            char msg[128];
            snprintf(msg, sizeof msg, "http: closed %lu connection%s that had not completed a request in %u s",
                     closed, closed == 1 ? "" : "s", timeout);
            log_limited(h, LOG_WARN_, msg);
        }
        log_window_end(h, 0);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)(TICK_SECONDS * 1e9);
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_mutex_lock(&h->lock);
        if (!h->stopping)
            pthread_cond_timedwait(&h->wake, &h->lock, &ts);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

typedef struct auth_header {
    unsigned count;
    const char *value;
    size_t len;
} auth_header;

static enum MHD_Result find_authorization(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                          const char *value, size_t value_size)
{
    auth_header *a = cls;
    (void)kind;
    if (key_size == strlen(MHD_HTTP_HEADER_AUTHORIZATION) && !strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION)) {
        a->count++;
        a->value = value;
        a->len = value_size;
    }
    return MHD_YES;
}

/* The bearer token, when one is set: exactly one Authorization header with it. */
static int token_ok(agent_http *h, struct MHD_Connection *c)
{
    pthread_mutex_lock(&h->lock);
    agent_token t = h->token;
    pthread_mutex_unlock(&h->lock);
    if (!t.set)
        return 1;
    auth_header a = {0, NULL, 0};
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, find_authorization, &a);
    return a.count == 1 && agent_token_check(&t, a.value, a.len);
}

/* With --tls-client-ca: the client's certificate, checked once per connection. */
static int client_ok(agent_http *h, struct MHD_Connection *c)
{
    if (!h->check_client_cert)
        return 1;
    http_conn *hc = conn_of(c);
    if (hc && hc->client_verified >= 0)
        return hc->client_verified;
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    int ok = i && agent_tls_peer_verified(i->tls_session);
    if (hc)
        hc->client_verified = ok;
    return ok;
}

/* Serve one published text, copied under the lock: the snapshot only while
 * it is fresh, the metrics with their freshness gauges appended; /healthz
 * says whether the snapshot is fresh. */
static enum MHD_Result serve(struct MHD_Connection *c, published *p, int metrics, int health)
{
    char why[256], retry[16];
    unsigned retry_after;
    sbuf text = {0};
    enum MHD_Result r;
    pthread_mutex_lock(&p->lock);
    double now = mono_now();
    int state = agent_freshness(p, now, why, sizeof why - 1, &retry_after);
    snprintf(retry, sizeof retry, "%u", retry_after);
    strcat(why, "\n");
    if (metrics && p->metrics) {
        sb_printf(&text, "%s", p->metrics);
        agent_metrics_freshness(&text, p, now);
    }
    if (metrics && (!p->metrics || text.oom))
        r = reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, p->metrics ? "out of memory\n" : "no sweep yet\n",
                       "Retry-After", "1");
    else if (metrics)
        r = reply(c, MHD_HTTP_OK, METRICS_TYPE, text.s, text.len, NULL, NULL);
    else if (state != AGENT_FRESH)
        r = reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, why, "Retry-After", retry);
    else if (health)
        r = reply_text(c, MHD_HTTP_OK, "ok\n", NULL, NULL);
    else
        r = reply(c, MHD_HTTP_OK, SNAPSHOT_TYPE, p->snapshot, p->snapshot_len, NULL, NULL);
    pthread_mutex_unlock(&p->lock);
    sb_free(&text);
    return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **req)
{
    agent_http *h = cls;
    published *pub = h->pub;
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
    if (health)
        return serve(c, pub, 0, 1);
    /* /healthz is open, and /metrics with --metrics-public. */
    pthread_mutex_lock(&h->lock);
    int guarded = snap || (metrics && !h->metrics_public);
    pthread_mutex_unlock(&h->lock);
    if (guarded && !client_ok(h, c))
        return reply_text(c, MHD_HTTP_FORBIDDEN, "a client certificate signed by the agent's tls-client-ca "
                                                 "is required\n", NULL, NULL);
    if (guarded && !token_ok(h, c))
        return reply_text(c, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token\n",
                          MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"libplacement\"");
    return serve(c, pub, metrics, 0);
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    char msg[512] = "http: ";
    vsnprintf(msg + 6, sizeof msg - 6, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_limited(cls, LOG_WARN_, msg);
}

static void free_http(agent_http *h)
{
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->log_lock);
    memset(&h->token, 0, sizeof h->token);
    free(h);
}

agent_http *agent_http_start(const agent_config *c, published *p, const agent_token *t, const agent_tls *tls)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    /* MHD_USE_ITC: MHD_stop_daemon wakes the thread at once, even with every
     * connection taken and no timeout to wait for. */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
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
    if (tls->cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            agent_log(c, LOG_ERR_, "tls-cert: this libmicrohttpd (%s) was built without TLS", MHD_get_version());
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    agent_http *h = calloc(1, sizeof *h);
    pthread_condattr_t ca;
    if (!h || pthread_condattr_init(&ca) != 0) {
        free(h);
        agent_log(c, LOG_ERR_, "out of memory");
        return NULL;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->log_lock, NULL);
    h->pub = p;
    h->check_client_cert = tls->client_ca != NULL;
    h->log_window = mono_now();
    agent_http_reload(h, c, t);
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, tls->cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, tls->key},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
        {tls->client_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, tls->client_ca},
        {MHD_OPTION_END, 0, NULL},
    };
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)c->port, NULL, NULL, handle, h,
        MHD_OPTION_EXTERNAL_LOGGER, log_mhd, h, /* first, or early messages miss it */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->per_ip_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_ARRAY, tls->cert ? tls_opts : &tls_opts[4],
        MHD_OPTION_END);
    if (!h->daemon) {
        agent_log(c, LOG_ERR_, "cannot listen on %s port %u (address in use, or no permission?)", c->listen,
                  c->port);
        free_http(h);
        return NULL;
    }
    if (pthread_create(&h->thread, NULL, housekeeping, h) != 0) {
        agent_log(c, LOG_ERR_, "cannot start the HTTP housekeeping thread");
        MHD_stop_daemon(h->daemon);
        free_http(h);
        return NULL;
    }
    return h;
}

void agent_http_reload(agent_http *h, const agent_config *c, const agent_token *t)
{
    pthread_mutex_lock(&h->lock);
    h->token = *t;
    h->metrics_public = c->metrics_public;
    h->request_timeout = c->request_timeout;
    pthread_mutex_unlock(&h->lock);
    atomic_store(&h->log_level, c->log_level);
}

void agent_http_stop(agent_http *h)
{
    if (!h)
        return;
    /* Closes every connection; on_connection takes each off the list. */
    MHD_stop_daemon(h->daemon);
    pthread_mutex_lock(&h->lock);
    h->stopping = 1;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    log_window_end(h, 1);
    free_http(h);
}
