/* Parallel snapshot fetcher with a TTL cache (libcurl multi). See fetch.h and docs/fetch.md. */
#include "internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_MAX 4096

/* One host's cached snapshot: a one-host cluster as the agent sent it. */
typedef struct cache_entry {
    char *name;
    lp_cluster *snap; /* NULL once dropped as stale */
} cache_entry;

/* Open-addressing string table (linear probing); keys are borrowed from the values' owners. */
typedef struct strtab {
    const char **keys;
    void **vals;
    size_t cap, used; /* cap is a power of two, or 0 */
} strtab;

struct lp_fetcher {
    lp_fetch_options o; /* url_template, token and ca_file point at the copies below */
    char *tmpl;
    char *token;
    char *ca_file;
    struct curl_slist *headers;
    CURLM *multi;     /* kept between calls so connections to agents stay open */
    lp_ctx *pctx;     /* private: parse and add errors go into per-host messages */
    strtab cache;     /* name -> cache_entry* */
    int ep;           /* epoll fd watching the multi handle's sockets */
    double deadline;  /* when libcurl wants its timeout action (monotonic s), -1 none */
    int curl_inited;
};

/* One running transfer. */
typedef struct xfer {
    CURL *easy;
    size_t job;       /* index into the call's job list */
    char *buf;
    size_t len, cap;
    size_t max;       /* max_bytes */
    int too_big;
    char url[LP_FETCH_MAX_URL + 1];
    char errbuf[CURL_ERROR_SIZE];
} xfer;

/* ---- helpers ------------------------------------------------------------ */

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* Unix time: what snapshots' "time" is compared with. */
static double wall_s(void) { return clock_s(CLOCK_REALTIME); }

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t strtab_slot(const strtab *t, const char *key)
{
    size_t i = (size_t)hash_str(key) & (t->cap - 1);
    while (t->keys[i] && strcmp(t->keys[i], key) != 0)
        i = (i + 1) & (t->cap - 1);
    return i;
}

static void *strtab_get(const strtab *t, const char *key)
{
    if (t->cap == 0)
        return NULL;
    size_t i = strtab_slot(t, key);
    return t->keys[i] ? t->vals[i] : NULL;
}

/* Insert or replace; the key must live as long as the entry. @return 0, or -1 on ENOMEM. */
static int strtab_put(strtab *t, const char *key, void *val)
{
    if ((t->used + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 64;
        strtab n = { calloc(ncap, sizeof *n.keys), calloc(ncap, sizeof *n.vals), ncap, 0 };
        if (!n.keys || !n.vals) {
            free(n.keys);
            free(n.vals);
            return -1;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (t->keys[i]) {
                size_t j = strtab_slot(&n, t->keys[i]);
                n.keys[j] = t->keys[i];
                n.vals[j] = t->vals[i];
                n.used++;
            }
        }
        free(t->keys);
        free(t->vals);
        *t = n;
    }
    size_t i = strtab_slot(t, key);
    if (!t->keys[i]) {
        t->keys[i] = key;
        t->used++;
    }
    t->vals[i] = val;
    return 0;
}

static void strtab_free(strtab *t)
{
    free(t->keys);
    free(t->vals);
    memset(t, 0, sizeof *t);
}

static void set_msg(lp_fetch_result *r, lp_status st, const char *host, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "host: reason"; a long host name is cut so that the reason stays in the buffer. */
static void set_msg(lp_fetch_result *r, lp_status st, const char *host, const char *fmt, ...)
{
    size_t hl = strlen(host);
    int o = snprintf(r->message, sizeof r->message, "%.*s%s: ", (int)(hl > 64 ? 64 : hl), host,
                     hl > 64 ? "..." : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message + o, sizeof r->message - (size_t)o, fmt, ap);
    va_end(ap);
    r->status = st;
}

static int host_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
}

/* Check a host name; on failure write the reason (naming the position) into msg. */
static lp_status check_host(const char *host, char *msg, size_t msglen)
{
    size_t n = strlen(host);
    if (n == 0) {
        snprintf(msg, msglen, "host name is empty");
        return LP_EINVAL;
    }
    if (n > LP_FETCH_MAX_HOST) {
        snprintf(msg, msglen, "host name '%.40s...' is %zu bytes long, the limit is %d", host, n,
                 LP_FETCH_MAX_HOST);
        return LP_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!host_char_ok(c)) {
            /* Print the name only up to the bad byte: it may be binary. */
            snprintf(msg, msglen,
                     "host name '%.*s...' has byte 0x%02x at position %zu; only A-Z a-z 0-9 . _ : - "
                     "are allowed",
                     (int)(i < 64 ? i : 64), host, c, i);
            return LP_EINVAL;
        }
    }
    return LP_OK;
}

lp_status lp_host_name_check(lp_ctx *ctx, const char *name)
{
    char msg[LP_FETCH_MSG_LEN];
    if (!name)
        return lp_fail(ctx, LP_EINVAL, "fetch: host name is NULL");
    lp_status st = check_host(name, msg, sizeof msg);
    return st == LP_OK ? LP_OK : lp_fail(ctx, st, "fetch: %s", msg);
}

/* Replace every "{host}" in the template. @return 0, or -1 if the URL would exceed the limit. */
static int build_url(const char *tmpl, const char *host, char *out)
{
    size_t hl = strlen(host), o = 0;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{host}", 6) == 0) {
            if (o + hl > LP_FETCH_MAX_URL)
                return -1;
            memcpy(out + o, host, hl);
            o += hl;
            p += 6;
        } else {
            if (o + 1 > LP_FETCH_MAX_URL)
                return -1;
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return 0;
}

/* ---- libcurl multi-socket callbacks ---------------------------------------- */

/* libcurl says which events a socket waits for: mirror that in the epoll set. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
    (void)e;
    (void)sockp;
    lp_fetcher *f = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(f->ep, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    struct epoll_event ev = { 0 };
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (epoll_ctl(f->ep, EPOLL_CTL_MOD, s, &ev) != 0 &&
        (errno != ENOENT || epoll_ctl(f->ep, EPOLL_CTL_ADD, s, &ev) != 0))
        return -1;
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    lp_fetcher *f = userp;
    f->deadline = timeout_ms < 0 ? -1 : mono_s() + (double)timeout_ms / 1000.0;
    return 0;
}

/* ---- options and lifetime ------------------------------------------------ */

lp_status lp_fetch_options_init(lp_fetch_options *o, unsigned version)
{
    if (!o || version < 1 || version > LP_FETCH_OPTIONS_VERSION)
        return LP_EINVAL;
    memset(o, 0, sizeof *o);
    o->version = version;
    o->timeout_ms = 1000;
    o->connect_timeout_ms = 300;
    o->max_bytes = 1024 * 1024;
    o->ttl_s = 60;
    o->max_parallel = 64;
    o->max_skew_s = 5;
    return LP_OK;
}

static lp_status check_options(lp_ctx *ctx, const lp_fetch_options *o)
{
    lp_status st = lp_version_check(ctx, "fetch", "lp_fetch_options", o->version,
                                    LP_FETCH_OPTIONS_VERSION);
    if (st)
        return st;
    const char *t = o->url_template;
    if (!t)
        return lp_fail(ctx, LP_EINVAL, "fetch: url_template is required");
    size_t tl = strlen(t);
    if (tl > LP_FETCH_MAX_URL)
        return lp_fail(ctx, LP_ELIMIT, "fetch: url_template is %zu bytes long, the limit is %d", tl,
                       LP_FETCH_MAX_URL);
    if (strncasecmp(t, "http://", 7) != 0 && strncasecmp(t, "https://", 8) != 0)
        return lp_fail(ctx, LP_EINVAL,
                       "fetch: url_template '%s' must start with http:// or https://", t);
    if (!strstr(t, "{host}"))
        return lp_fail(ctx, LP_EINVAL, "fetch: url_template '%s' has no {host}", t);
    for (size_t i = 0; i < tl; i++)
        if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] == 0x7f)
            return lp_fail(ctx, LP_EINVAL,
                           "fetch: url_template has a space or control character at position %zu", i);
    if (o->timeout_ms < 1 || o->timeout_ms > LP_FETCH_MAX_TIMEOUT_MS)
        return lp_fail(ctx, LP_EINVAL, "fetch: timeout_ms %ld is out of range 1..%ld", o->timeout_ms,
                       LP_FETCH_MAX_TIMEOUT_MS);
    if (o->connect_timeout_ms < 1 || o->connect_timeout_ms > o->timeout_ms)
        return lp_fail(ctx, LP_EINVAL,
                       "fetch: connect_timeout_ms %ld is out of range 1..timeout_ms (%ld)",
                       o->connect_timeout_ms, o->timeout_ms);
    if (o->max_bytes < 1 || o->max_bytes > LP_JSON_MAX_BYTES)
        return lp_fail(ctx, LP_EINVAL, "fetch: max_bytes %zu is out of range 1..%u", o->max_bytes,
                       LP_JSON_MAX_BYTES);
    if (!(o->ttl_s >= 0) || o->ttl_s > 1e9)
        return lp_fail(ctx, LP_EINVAL, "fetch: ttl_s %g is out of range 0..1e9", o->ttl_s);
    if (o->max_parallel < 1 || o->max_parallel > LP_FETCH_MAX_PARALLEL)
        return lp_fail(ctx, LP_EINVAL, "fetch: max_parallel %u is out of range 1..%u",
                       o->max_parallel, LP_FETCH_MAX_PARALLEL);
    if (!(o->refresh_s >= 0) || o->refresh_s > o->ttl_s)
        return lp_fail(ctx, LP_EINVAL, "fetch: refresh_s %g is out of range 0..ttl_s (%g)",
                       o->refresh_s, o->ttl_s);
    if (!(o->max_skew_s >= 0) || o->max_skew_s > LP_FETCH_MAX_SKEW_S)
        return lp_fail(ctx, LP_EINVAL, "fetch: max_skew_s %g is out of range 0..%g", o->max_skew_s,
                       LP_FETCH_MAX_SKEW_S);
    if (o->ca_file && access(o->ca_file, R_OK) != 0)
        return lp_fail(ctx, LP_EINVAL, "fetch: ca_file '%.200s' cannot be read: %s", o->ca_file,
                       strerror(errno));
    if (o->token) {
        size_t n = strlen(o->token);
        if (n == 0 || n > TOKEN_MAX)
            return lp_fail(ctx, LP_EINVAL, "fetch: token must be 1..%d bytes, not %zu", TOKEN_MAX, n);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)o->token[i] < ' ' || (unsigned char)o->token[i] == 0x7f)
                return lp_fail(ctx, LP_EINVAL,
                               "fetch: token has a control character at position %zu", i);
    }
    return LP_OK;
}

lp_status lp_fetcher_new(lp_ctx *ctx, const lp_fetch_options *opts, lp_fetcher **out)
{
    if (!opts || !out)
        return lp_fail(ctx, LP_EINVAL, "fetch: NULL %s", opts ? "out" : "options");
    lp_status st = check_options(ctx, opts);
    if (st != LP_OK)
        return st;
    lp_fetcher *f = calloc(1, sizeof *f);
    if (!f)
        return lp_fail(ctx, LP_ENOMEM, "fetch: out of memory");
    f->ep = -1;
    f->o = *opts;
    f->o.version = LP_FETCH_OPTIONS_VERSION;
    /*
     * curl_global_init() is thread-safe and reference-counted only where
     * libcurl says so (7.84+); with an older libcurl the application does it
     * once before starting threads (fetch.h).
     */
#ifdef CURL_VERSION_THREADSAFE
    if (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_THREADSAFE) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            free(f);
            return lp_fail(ctx, LP_EUNAVAIL, "fetch: curl_global_init failed");
        }
        f->curl_inited = 1;
    }
#endif
    f->tmpl = lp_strdup(opts->url_template);
    f->token = lp_strdup(opts->token);
    f->ca_file = lp_strdup(opts->ca_file);
    f->o.url_template = f->tmpl;
    f->o.token = f->token;
    f->o.ca_file = f->ca_file;
    f->deadline = -1;
    f->ep = epoll_create1(EPOLL_CLOEXEC); /* failure is checked with the allocations below */
    f->multi = curl_multi_init();
    f->headers = curl_slist_append(NULL, "Accept: application/json");
    if (f->token && f->headers) {
        size_t n = strlen(f->token) + sizeof "Authorization: Bearer ";
        char *h = malloc(n);
        struct curl_slist *l = NULL;
        if (h) {
            snprintf(h, n, "Authorization: Bearer %s", f->token);
            l = curl_slist_append(f->headers, h);
            /* The header holds the token: do not leave a copy in freed memory. */
            memset(h, 0, n);
            free(h);
        }
        if (!l) {
            curl_slist_free_all(f->headers);
            f->headers = NULL;
        }
    }
    if (lp_ctx_new(&f->pctx) != LP_OK || !f->tmpl || (opts->token && !f->token) ||
        (opts->ca_file && !f->ca_file) || !f->multi || !f->headers || f->ep < 0) {
        lp_fetcher_free(f);
        return lp_fail(ctx, LP_ENOMEM, "fetch: out of memory");
    }
    /*
     * Idle connections kept for the next call: bounded, since every one is an
     * open file in the scheduler's process (often limited to 1024).
     */
    curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)f->o.max_parallel * 4);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, (void *)f);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, (void *)f);
    *out = f;
    return LP_OK;
}

void lp_fetcher_free(lp_fetcher *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->cache.cap; i++) {
        cache_entry *e = f->cache.vals ? f->cache.vals[i] : NULL;
        if (e) {
            lp_cluster_free(e->snap);
            free(e->name);
            free(e);
        }
    }
    strtab_free(&f->cache);
    if (f->multi)
        curl_multi_cleanup(f->multi); /* may still call on_socket: close the epoll fd after */
    if (f->ep >= 0)
        close(f->ep);
    if (f->headers) {
        /* The Authorization header holds the token. */
        for (struct curl_slist *l = f->headers; l; l = l->next)
            memset(l->data, 0, strlen(l->data));
        curl_slist_free_all(f->headers);
    }
    if (f->token) {
        memset(f->token, 0, strlen(f->token));
        free(f->token);
    }
    free(f->tmpl);
    free(f->ca_file);
    lp_ctx_free(f->pctx);
    if (f->curl_inited)
        curl_global_cleanup();
    free(f);
}

/* ---- cache and freshness ---------------------------------------------- */

/*
 * Whether a snapshot taken at time t (by the agent's clock) may be used at
 * wall time now (docs/fetch.md); if not, why, into why.  *age gets now - t.
 */
static int fresh(const lp_fetcher *f, double t, double now, double *age, char *why, size_t len)
{
    *age = now - t;
    if (t <= 0) {
        snprintf(why, len, "has no time, so its age is unknown");
        return 0;
    }
    if (*age > f->o.ttl_s + f->o.max_skew_s) {
        snprintf(why, len, "is %.1f s old by its time (ttl %g s, clock skew allowance %g s)", *age,
                 f->o.ttl_s, f->o.max_skew_s);
        return 0;
    }
    if (-*age > f->o.max_skew_s) {
        snprintf(why, len, "is %.1f s in the future by its time (clock skew allowance %g s)",
                 -*age, f->o.max_skew_s);
        return 0;
    }
    return 1;
}

static double snap_time(const lp_cluster *snap)
{
    return lp_cluster_get_host(snap, 0)->time;
}

/* host's cached snapshot if it is fresh at now (its age in *age), else NULL. */
static cache_entry *cache_fresh(lp_fetcher *f, const char *host, double now, double *age)
{
    char why[160];
    cache_entry *e = strtab_get(&f->cache, host);
    if (e && e->snap && fresh(f, snap_time(e->snap), now, age, why, sizeof why))
        return e;
    return NULL;
}

/* Store snap (taking ownership) as host's snapshot. @return 0, or -1 on ENOMEM (snap freed). */
static int cache_store(lp_fetcher *f, const char *host, lp_cluster *snap)
{
    cache_entry *e = strtab_get(&f->cache, host);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e || !(e->name = lp_strdup(host)) || strtab_put(&f->cache, e->name, e) != 0) {
            if (e)
                free(e->name);
            free(e);
            lp_cluster_free(snap);
            return -1;
        }
    }
    lp_cluster_free(e->snap);
    e->snap = snap;
    return 0;
}

/* Drop host's cached snapshot if it is stale at now (a fresh one survives a failed fetch). */
static void cache_drop_stale(lp_fetcher *f, const char *host, double now)
{
    double age;
    cache_entry *e = strtab_get(&f->cache, host);
    if (e && e->snap && !cache_fresh(f, host, now, &age)) {
        lp_cluster_free(e->snap);
        e->snap = NULL;
    }
}

/* Append the one host of snap to into under the caller's name for it. */
static lp_status add_named(lp_ctx *ctx, lp_cluster *into, const lp_cluster *snap, const char *name)
{
    lp_host h = *lp_cluster_get_host(snap, 0);
    h.name = name;
    return lp_cluster_add_host(ctx, into, &h);
}

lp_status lp_fetcher_get_cached(lp_ctx *ctx, lp_fetcher *f, const char *host, lp_cluster *into,
                                double *age_s)
{
    if (!f || !host || !into)
        return lp_fail(ctx, LP_EINVAL, "fetch: NULL %s", !f ? "fetcher" : !host ? "host" : "cluster");
    cache_entry *e = strtab_get(&f->cache, host);
    if (!e || !e->snap)
        return lp_fail(ctx, LP_ENOTFOUND, "fetch: no cached snapshot of host '%s'", host);
    char why[160];
    double age;
    if (!fresh(f, snap_time(e->snap), wall_s(), &age, why, sizeof why))
        return lp_fail(ctx, LP_ENOTFOUND, "fetch: cached snapshot of host '%s' %s", host, why);
    lp_status st = add_named(ctx, into, e->snap, host);
    if (st == LP_OK && age_s)
        *age_s = age;
    return st;
}

/* ---- transfers ------------------------------------------------------------ */

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    xfer *x = arg;
    size_t n = size * nmemb;
    if (n > x->max - x->len) {
        x->too_big = 1;
        return 0; /* makes libcurl abort the transfer with CURLE_WRITE_ERROR */
    }
    if (x->len + n + 1 > x->cap) {
        size_t ncap = x->cap ? x->cap : 4096;
        while (ncap < x->len + n + 1)
            ncap *= 2;
        if (ncap > x->max + 1)
            ncap = x->max + 1;
        char *nb = realloc(x->buf, ncap);
        if (!nb)
            return 0;
        x->buf = nb;
        x->cap = ncap;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return n;
}

/* What one call does for one host. */
typedef struct job {
    size_t host;       /* index into hosts[] */
    lp_cluster *snap;  /* parsed snapshot, until added to into and cached */
} job;

static lp_status setup_easy(lp_fetcher *f, xfer *x)
{
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                 \
    do {                                              \
        if (rc == CURLE_OK)                           \
            rc = curl_easy_setopt(e, opt, val);       \
    } while (0)
    SET(CURLOPT_PRIVATE, (void *)x);
    SET(CURLOPT_WRITEFUNCTION, on_data);
    SET(CURLOPT_WRITEDATA, (void *)x);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM: the library runs in threaded programs */
    SET(CURLOPT_TIMEOUT_MS, f->o.timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, f->o.connect_timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->o.max_bytes);
    SET(CURLOPT_HTTPHEADER, f->headers);
    SET(CURLOPT_USERAGENT, "libplacement/" LP_VERSION_STRING);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    if (f->ca_file)
        SET(CURLOPT_CAINFO, f->ca_file);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
#undef SET
    return rc == CURLE_OK ? LP_OK : LP_EIO;
}

/* Start the transfer for job j in slot x. @return 0 if started, -1 if the job failed already. */
static int start(lp_fetcher *f, xfer *x, size_t j, const job *jobs, const char *const *hosts,
                 lp_fetch_result *results)
{
    const char *host = hosts[jobs[j].host];
    lp_fetch_result *r = &results[jobs[j].host];
    x->job = j;
    x->len = 0;
    x->too_big = 0;
    x->errbuf[0] = '\0';
    if (build_url(f->tmpl, host, x->url) != 0) {
        set_msg(r, LP_EINVAL, host, "the URL for this host would be longer than %d bytes",
                LP_FETCH_MAX_URL);
        return -1;
    }
    if (curl_easy_setopt(x->easy, CURLOPT_URL, x->url) != CURLE_OK ||
        curl_multi_add_handle(f->multi, x->easy) != CURLM_OK) {
        set_msg(r, LP_ENOMEM, host, "could not start the transfer");
        return -1;
    }
    return 0;
}

/* A libcurl result that means the TLS handshake or the certificate check failed. */
static int tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
        return 1;
    default:
        return 0;
    }
}

/* Turn a finished transfer into the host's result (and parsed, fresh snapshot). */
static void finish(lp_fetcher *f, xfer *x, CURLcode rc, job *jb, const char *host,
                   lp_fetch_result *r)
{
    curl_off_t us = 0;
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us);
    r->elapsed_ms = (double)us / 1000.0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->http_code);
    const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    if ((rc == CURLE_WRITE_ERROR && x->too_big) || rc == CURLE_FILESIZE_EXCEEDED) {
        set_msg(r, LP_ELIMIT, host, "response is larger than max_bytes (%zu bytes) from %s",
                f->o.max_bytes, x->url);
        return;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        set_msg(r, LP_ETIMEOUT, host, "timed out (connect %ld ms, total %ld ms): %s; from %s",
                f->o.connect_timeout_ms, f->o.timeout_ms, why, x->url);
        return;
    }
    if (tls_error(rc)) {
        set_msg(r, LP_EIO, host, "TLS failed: %s (CAs from %s); from %s", why,
                f->ca_file ? f->ca_file : "the system's bundle", x->url);
        return;
    }
    if (rc != CURLE_OK) {
        set_msg(r, rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR ? LP_ENOMEM : LP_EIO,
                host, "%s; from %s", why, x->url);
        return;
    }
    if (r->http_code != 200) {
        set_msg(r, LP_EIO, host, "HTTP status %ld from %s", r->http_code, x->url);
        return;
    }
    lp_cluster *one = NULL;
    lp_status st = lp_cluster_new(f->pctx, &one);
    if (st == LP_OK)
        /* a newer agent may add fields within v1: skip them (rolling upgrades) */
        st = lp_cluster_parse_snapshot(f->pctx, one, x->buf ? x->buf : "", x->len, "snapshot",
                                       LP_PARSE_IGNORE_UNKNOWN);
    if (st != LP_OK) {
        lp_cluster_free(one);
        set_msg(r, st, host, "%s", lp_ctx_last_error(f->pctx));
        return;
    }
    char stale[160];
    double age;
    if (!fresh(f, snap_time(one), wall_s(), &age, stale, sizeof stale)) {
        lp_cluster_free(one);
        set_msg(r, LP_ESTALE, host, "snapshot %s; from %s", stale, x->url);
        return;
    }
    jb->snap = one;
}

/* Give slot x the next job that starts (jobs that fail to start are done). @return 1 if one did. */
static int fill(lp_fetcher *f, xfer *x, size_t *next, size_t nj, const job *jobs,
                const char *const *hosts, lp_fetch_result *results)
{
    while (*next < nj) {
        size_t j = (*next)++;
        if (start(f, x, j, jobs, hosts, results) == 0)
            return 1;
    }
    x->job = SIZE_MAX;
    return 0;
}

/* Collect finished transfers; refill their slots. @return the change in running transfers. */
static long reap(lp_fetcher *f, size_t *next, size_t nj, job *jobs, const char *const *hosts,
                 lp_fetch_result *results)
{
    long delta = 0;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(f->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result; /* read before removing the handle */
        xfer *x = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(f->multi, e);
        job *jb = &jobs[x->job];
        finish(f, x, rc, jb, hosts[jb->host], &results[jb->host]);
        delta += fill(f, x, next, nj, jobs, hosts, results) - 1;
    }
    return delta;
}

/*
 * Run all jobs through the multi handle, at most max_parallel at once, with
 * the multi-socket API: epoll tells which sockets are ready, so each wake-up
 * costs only the transfers that have something to do (curl_multi_perform()
 * would poll every running transfer's socket each time).
 */
static lp_status run(lp_ctx *ctx, lp_fetcher *f, job *jobs, size_t nj, const char *const *hosts,
                     lp_fetch_result *results)
{
    size_t nx = nj < f->o.max_parallel ? nj : f->o.max_parallel;
    xfer *xs = calloc(nx, sizeof *xs);
    if (!xs)
        return lp_fail(ctx, LP_ENOMEM, "fetch: out of memory");
    lp_status st = LP_OK;
    for (size_t i = 0; i < nx && st == LP_OK; i++) {
        xs[i].max = f->o.max_bytes;
        xs[i].job = SIZE_MAX;
        if (!(xs[i].easy = curl_easy_init()))
            st = lp_fail(ctx, LP_ENOMEM, "fetch: curl_easy_init failed");
        else if (setup_easy(f, &xs[i]) != LP_OK)
            st = lp_fail(ctx, LP_EIO, "fetch: could not set up a libcurl handle");
    }
    size_t next = 0;
    long active = 0;
    for (size_t i = 0; i < nx && st == LP_OK; i++)
        active += fill(f, &xs[i], &next, nj, jobs, hosts, results);
    struct epoll_event evs[64];
    while (st == LP_OK && active > 0) {
        int running, wait = 1000;
        if (f->deadline >= 0) {
            double left = (f->deadline - mono_s()) * 1000.0;
            wait = left <= 0 ? 0 : left >= 1000 ? 1000 : (int)left + 1;
        }
        int k = epoll_wait(f->ep, evs, 64, wait);
        if (k < 0 && errno != EINTR) {
            st = lp_fail(ctx, LP_EIO, "fetch: epoll_wait: %s", strerror(errno));
            break;
        }
        CURLMcode mc = CURLM_OK;
        for (int i = 0; i < k && mc == CURLM_OK; i++) {
            int ev = evs[i].events, flags = 0;
            flags |= (ev & EPOLLIN) ? CURL_CSELECT_IN : 0;
            flags |= (ev & EPOLLOUT) ? CURL_CSELECT_OUT : 0;
            flags |= (ev & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0;
            mc = curl_multi_socket_action(f->multi, evs[i].data.fd, flags, &running);
        }
        /* The timer also drives new transfers (set to 0 ms when one is added). */
        if (mc == CURLM_OK && (k == 0 || (f->deadline >= 0 && mono_s() >= f->deadline))) {
            f->deadline = -1;
            mc = curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        if (mc != CURLM_OK) {
            st = lp_fail(ctx, LP_EIO, "fetch: curl_multi_socket_action: %s",
                         curl_multi_strerror(mc));
            break;
        }
        active += reap(f, &next, nj, jobs, hosts, results);
    }
    for (size_t i = 0; i < nx; i++) {
        if (xs[i].easy) {
            if (xs[i].job != SIZE_MAX)
                curl_multi_remove_handle(f->multi, xs[i].easy);
            curl_easy_cleanup(xs[i].easy);
        }
        free(xs[i].buf);
    }
    free(xs);
    return st;
}

lp_status lp_fetcher_fetch(lp_ctx *ctx, lp_fetcher *f, const char *const *hosts, size_t n,
                           lp_cluster *into, lp_fetch_result *results, size_t *n_ok)
{
    if (!f || (!hosts && n) || !into || (!results && n))
        return lp_fail(ctx, LP_EINVAL, "fetch: NULL %s",
                       !f ? "fetcher" : !into ? "cluster" : !hosts ? "hosts" : "results");
    if (n > LP_MAX_HOSTS)
        return lp_fail(ctx, LP_EINVAL, "fetch: %zu hosts, the limit is %u", n, LP_MAX_HOSTS);
    if (n_ok)
        *n_ok = 0;
    if (n == 0)
        return LP_OK;
    job *jobs = calloc(n, sizeof *jobs);
    strtab seen = { 0 };
    if (!jobs)
        return lp_fail(ctx, LP_ENOMEM, "fetch: out of memory");
    double now = wall_s(), age;
    size_t nj = 0;
    lp_status st = LP_OK;
    for (size_t i = 0; i < n && st == LP_OK; i++) {
        lp_fetch_result *r = &results[i];
        memset(r, 0, sizeof *r);
        r->age_s = -1;
        if (!hosts[i]) {
            set_msg(r, LP_EINVAL, "hosts", "hosts[%zu] is NULL", i);
            continue;
        }
        if (check_host(hosts[i], r->message, sizeof r->message) != LP_OK) {
            r->status = LP_EINVAL;
            continue;
        }
        if (strtab_get(&seen, hosts[i])) {
            set_msg(r, LP_EINVAL, hosts[i], "host is listed twice (hosts[%zu])", i);
            continue;
        }
        if (strtab_put(&seen, hosts[i], (void *)hosts[i]) != 0) {
            st = lp_fail(ctx, LP_ENOMEM, "fetch: out of memory");
            break;
        }
        double reuse = f->o.refresh_s > 0 ? f->o.refresh_s : f->o.ttl_s + f->o.max_skew_s;
        if (cache_fresh(f, hosts[i], now, &age) && age <= reuse)
            r->from_cache = 1;
        else
            jobs[nj++].host = i;
    }
    strtab_free(&seen);
    if (st == LP_OK && nj > 0)
        st = run(ctx, f, jobs, nj, hosts, results);
    if (st != LP_OK) {
        for (size_t j = 0; j < nj; j++)
            lp_cluster_free(jobs[j].snap);
        free(jobs);
        return st;
    }
    /* Cache what arrived, then append in the caller's order. */
    now = wall_s();
    for (size_t j = 0; j < nj; j++) {
        const char *host = hosts[jobs[j].host];
        if (!jobs[j].snap) {
            cache_drop_stale(f, host, now);
        } else if (cache_store(f, host, jobs[j].snap) != 0) {
            set_msg(&results[jobs[j].host], LP_ENOMEM, host, "out of memory for the cache");
        }
    }
    free(jobs);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        lp_fetch_result *r = &results[i];
        if (r->status != LP_OK)
            continue;
        cache_entry *e = strtab_get(&f->cache, hosts[i]);
        lp_status ast = add_named(f->pctx, into, e->snap, hosts[i]);
        if (ast != LP_OK) {
            set_msg(r, ast, hosts[i], "%s", lp_ctx_last_error(f->pctx));
        } else {
            r->age_s = now - snap_time(e->snap);
            ok++;
        }
    }
    if (n_ok)
        *n_ok = ok;
    return LP_OK;
}
