/*
 * The Docker collector: lists running containers through the Engine API on
 * its unix socket (libcurl) and maps each to its cgroup, which the proc
 * collector measures; a container's entry claims that cgroup's workload, so
 * its rates come from the cgroup's tasks (the stats endpoint takes 1-2 s per
 * container).  A container is inspected once, when it first appears.
 * What it was started from: its image as Docker lists it (the reference it
 * was created with, e.g. "tomcat:9", which is Zun's container.image), and
 * the flavor an operator or orchestrator names in its label
 * "libplacement.flavor" (Zun has no flavors: its containers are named
 * "zun-<uuid>" and carry the user's labels).
 *
 * libcurl (and its TLS stack, some 2.5 MiB of resident library pages) is
 * loaded with dlopen() once the socket exists, not linked.
 */
/* the calls go through pointers, which curl's type-checking macros would
 * rewrite into calls of the linked functions */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect_internal.h"

#define LIBCURL_SONAME "libcurl.so.4"

/* The libcurl functions the collector calls, resolved by name at open(). */
#define DK_FUNCS(X)                                                                              \
    X(curl_easy_cleanup) X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_perform)            \
    X(curl_easy_setopt) X(curl_easy_strerror)

typedef struct dk_api {
#define DK_FIELD(f) __typeof__(f) *f;
    DK_FUNCS(DK_FIELD)
#undef DK_FIELD
} dk_api;

#define DOCKER_MAX_REPLY (8u * 1024u * 1024u)

#define FLAVOR_LABEL "libplacement.flavor"

typedef struct known {
    char id[80];
    char name[64];
    char image[LP_COUNTERS_ID_MAX];
    char flavor[LP_COUNTERS_ID_MAX];
    char cgroup[LP_COUNTERS_ID_MAX];
    lp_runtime runtime;
    unsigned long sweep;
    lp_cgroup_files cg;
} known;

/* One entry of docker_runtimes: a Docker runtime name and what it runs. */
typedef struct dk_runtime {
    char docker[64];
    lp_runtime runtime;
} dk_runtime;
#define DK_MAX_RUNTIMES 16
#define DK_DEFAULT_RUNTIMES "container:runc,unikernel:kata-runtime,vm:kata-runtime"

typedef struct dk_state {
    char socket[256];
    char proc_root[256];
    void *lib;           /* dlopen() handle of libcurl */
    dk_api api;
    CURL *curl;
    lp_cgroup_fs fs;
    known *k;
    size_t nk, capk;
    dk_runtime runtimes[DK_MAX_RUNTIMES];
    size_t nruntimes;
    unsigned long sweep;
    char *body;
    size_t len;
    int overflow;
} dk_state;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    dk_state *s = ud;
    size_t add = size * n;
    if (s->len + add > DOCKER_MAX_REPLY) {
        s->overflow = 1;
        return 0;
    }
    char *nb = realloc(s->body, s->len + add + 1);
    if (!nb)
        return 0;
    s->body = nb;
    memcpy(s->body + s->len, p, add);
    s->len += add;
    s->body[s->len] = '\0';
    return add;
}

/* GET path on the socket into s->body. @return LP_OK on HTTP 200. */
static lp_status request(lp_ctx *ctx, dk_state *s, const char *path)
{
    char url[512];
    snprintf(url, sizeof url, "http://localhost%s", path);
    s->len = 0;
    s->overflow = 0;
    s->api.curl_easy_setopt(s->curl, CURLOPT_URL, url);
    CURLcode rc = s->api.curl_easy_perform(s->curl);
    long code = 0;
    s->api.curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK)
        return lp_ctx_set_error(ctx, rc == CURLE_COULDNT_CONNECT ? LP_EUNAVAIL : LP_EIO, "docker %s: GET %s: %s%s",
                       s->socket, path, s->api.curl_easy_strerror(rc), s->overflow ? " (reply over 8 MiB)" : "");
    if (code != 200)
        return lp_ctx_set_error(ctx, code == 404 ? LP_ENOTFOUND : LP_EIO, "docker %s: GET %s: HTTP %ld", s->socket,
                       path, code);
    return LP_OK;
}

/* GET path and parse the reply as one JSON value; NULL with *st set on error. */
static json_object *get(lp_ctx *ctx, dk_state *s, const char *path, lp_status *st)
{
    if ((*st = request(ctx, s, path)) != LP_OK)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(LP_JSON_MAX_DEPTH);
    json_object *j = tok ? json_tokener_parse_ex(tok, s->body ? s->body : "", (int)s->len) : NULL;
    if (!j || json_tokener_get_parse_end(tok) != s->len) {
        json_object_put(j);
        j = NULL;
        *st = lp_ctx_set_error(ctx, LP_EIO, "docker %s: GET %s: reply is not one JSON value", s->socket, path);
    }
    json_tokener_free(tok);
    return j;
}

/* Parse docker_runtimes ("runtime:docker-name,...") into s->runtimes. */
static lp_status parse_runtimes(lp_ctx *ctx, dk_state *s, const char *text)
{
    char buf[1024], *save = NULL;
    if (strlen(text) >= sizeof buf)
        return lp_ctx_set_error(ctx, LP_EINVAL, "docker-runtimes: longer than %zu bytes",
                                sizeof buf - 1);
    snprintf(buf, sizeof buf, "%s", text);
    for (char *e = strtok_r(buf, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(e, ':');
        lp_runtime rt;
        if (!colon || colon == e || !colon[1] || strlen(colon + 1) >= sizeof s->runtimes[0].docker)
            return lp_ctx_set_error(ctx, LP_EINVAL, "docker-runtimes: '%s' is not RUNTIME:DOCKER-"
                                    "RUNTIME (e.g. container:runc)", e);
        *colon = '\0';
        if (lp_runtime_parse(NULL, e, &rt) != LP_OK || rt == LP_RUNTIME_NONE || rt == LP_RUNTIME_AUTO)
            return lp_ctx_set_error(ctx, LP_EINVAL, "docker-runtimes: unknown runtime '%s' "
                                    "(container, unikernel, vm)", e);
        if (s->nruntimes == DK_MAX_RUNTIMES)
            return lp_ctx_set_error(ctx, LP_EINVAL, "docker-runtimes: more than %d entries",
                                    DK_MAX_RUNTIMES);
        dk_runtime *d = &s->runtimes[s->nruntimes++];
        snprintf(d->docker, sizeof d->docker, "%s", colon + 1);
        d->runtime = rt;
    }
    return LP_OK;
}

/* The runtime a Docker runtime name runs (an empty name is Docker's default, runc). */
static lp_runtime runtime_of(const dk_state *s, const char *docker)
{
    for (size_t i = 0; i < s->nruntimes; i++)
        if (strcmp(s->runtimes[i].docker, docker[0] ? docker : "runc") == 0)
            return s->runtimes[i].runtime;
    return LP_RUNTIME_CONTAINER;
}

/* Load libcurl and resolve DK_FUNCS into s->api. */
static lp_status dk_load(lp_ctx *ctx, dk_state *s)
{
    if (!(s->lib = lp_dlopen(ctx, "docker", LIBCURL_SONAME)))
        return LP_EUNAVAIL;
#define DK_RESOLVE(f)                                                                             \
    if (!(s->api.f = (__typeof__(s->api.f))lp_dlsym(ctx, "docker", s->lib, LIBCURL_SONAME, #f)))   \
        return LP_EUNAVAIL;
    DK_FUNCS(DK_RESOLVE)
#undef DK_RESOLVE
    return LP_OK;
}

static lp_status dk_open(lp_ctx *ctx, const lp_collect_options *cfg, void **state)
{
    if (lp_collect_options_check(ctx, "docker", cfg) != LP_OK)
        return LP_EINVAL;
    dk_state *s = calloc(1, sizeof *s);
    if (!s)
        return lp_ctx_set_error(ctx, LP_ENOMEM, "docker collector: out of memory");
    snprintf(s->socket, sizeof s->socket, "%s", cfg && cfg->docker_socket ? cfg->docker_socket : "/run/docker.sock");
    snprintf(s->proc_root, sizeof s->proc_root, "%s", cfg && cfg->proc_root ? cfg->proc_root : "/proc");
    lp_status st = parse_runtimes(ctx, s, cfg && cfg->docker_runtimes ? cfg->docker_runtimes
                                                                      : DK_DEFAULT_RUNTIMES);
    if (st == LP_OK)
        st = lp_cgroup_fs_init(ctx, s->proc_root, cfg ? cfg->cgroup_hierarchy : NULL,
                               cfg ? cfg->cpus : NULL, &s->fs);
    if (st == LP_OK && access(s->socket, F_OK) != 0)
        st = lp_ctx_set_error(ctx, LP_EUNAVAIL, "docker %s: %s", s->socket, strerror(errno));
    if (st == LP_OK)
        st = dk_load(ctx, s);
    if (st == LP_OK && !(s->curl = s->api.curl_easy_init()))
        st = lp_ctx_set_error(ctx, LP_ENOMEM, "docker collector: curl_easy_init failed");
    if (st == LP_OK) {
        s->api.curl_easy_setopt(s->curl, CURLOPT_UNIX_SOCKET_PATH, s->socket);
        s->api.curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_data);
        s->api.curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
        s->api.curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, 5000L);
        s->api.curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
        st = request(ctx, s, "/_ping");
    }
    if (st != LP_OK) {
        if (s->curl)
            s->api.curl_easy_cleanup(s->curl);
        if (s->lib)
            dlclose(s->lib);
        free(s->body);
        free(s);
        return st == LP_EIO ? lp_ctx_set_error(ctx, LP_EUNAVAIL, "%s", lp_ctx_last_error(ctx)) : st;
    }
    *state = s;
    return LP_OK;
}

static void dk_close(void *state)
{
    dk_state *s = state;
    if (!s)
        return;
    for (size_t i = 0; i < s->nk; i++)
        lp_cgroup_close(&s->k[i].cg);
    free(s->k);
    s->api.curl_easy_cleanup(s->curl);
    dlclose(s->lib);
    free(s->body);
    free(s);
}

static known *find_known(dk_state *s, const char *id)
{
    for (size_t i = 0; i < s->nk; i++)
        if (!strcmp(s->k[i].id, id))
            return &s->k[i];
    return NULL;
}

/* A string member of a JSON object, or "". */
static const char *member(json_object *o, const char *key)
{
    json_object *v;
    const char *str = json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                          ? json_object_get_string(v)
                          : NULL;
    return str ? str : "";
}

/* Inspect a new container (an entry of /containers/json): its main
 * process's cgroup; its image and flavor label. */
static known *learn(lp_ctx *ctx, dk_state *s, json_object *entry, const char *id, const char *name)
{
    char path[160];
    lp_status st = LP_OK;
    snprintf(path, sizeof path, "/containers/%s/json", id);
    json_object *j = get(ctx, s, path, &st), *state, *pid, *hostcfg;
    if (!j)
        return NULL;
    int p = json_object_object_get_ex(j, "State", &state) && json_object_object_get_ex(state, "Pid", &pid)
                ? json_object_get_int(pid)
                : 0;
    lp_runtime rt = runtime_of(s, json_object_object_get_ex(j, "HostConfig", &hostcfg)
                                      ? member(hostcfg, "Runtime")
                                      : "");
    json_object_put(j);
    char cg[LP_COUNTERS_ID_MAX], cpuset[PATH_MAX];
    if (p <= 0 || lp_cgroup_of_pid(&s->fs, s->proc_root, p, cg, sizeof cg) < 0)
        return NULL;
    int has_cpuset = s->fs.cpuset_mount[0] && lp_cgroup_path(s->proc_root, p, "cpuset", cpuset, sizeof cpuset) == 0;
    if (s->nk == s->capk) {
        size_t nc = s->capk ? s->capk * 2 : 16;
        known *nk = realloc(s->k, nc * sizeof *nk);
        if (!nk)
            return NULL;
        s->k = nk;
        s->capk = nc;
    }
    known *k = &s->k[s->nk++];
    snprintf(k->id, sizeof k->id, "%s", id);
    snprintf(k->name, sizeof k->name, "%s", name[0] == '/' ? name + 1 : name);
    snprintf(k->cgroup, sizeof k->cgroup, "%s", cg);
    k->runtime = rt;
    const char *image = member(entry, "Image");
    snprintf(k->image, sizeof k->image, "%s", image[0] ? image : member(entry, "ImageID"));
    json_object *labels;
    k->flavor[0] = '\0';
    if (json_object_object_get_ex(entry, "Labels", &labels) && json_object_is_type(labels, json_type_object))
        snprintf(k->flavor, sizeof k->flavor, "%s", member(labels, FLAVOR_LABEL));
    lp_cgroup_open(&s->fs, cg, has_cpuset ? cpuset : NULL, &k->cg);
    return k;
}

static lp_status dk_sample(lp_ctx *ctx, void *state, lp_sample *out)
{
    dk_state *s = state;
    lp_status st = LP_OK;
    json_object *list = get(ctx, s, "/containers/json", &st);
    if (!list)
        return st;
    if (!json_object_is_type(list, json_type_array)) {
        json_object_put(list);
        return lp_ctx_set_error(ctx, LP_EIO, "docker %s: /containers/json is not an array", s->socket);
    }
    s->sweep++;
    size_t n = json_object_array_length(list);
    for (size_t i = 0; i < n && st == LP_OK; i++) {
        json_object *c = json_object_array_get_idx(list, i), *jid, *names;
        if (!json_object_object_get_ex(c, "Id", &jid))
            continue;
        const char *id = json_object_get_string(jid), *name = "";
        if (json_object_object_get_ex(c, "Names", &names) && json_object_array_length(names) > 0)
            name = json_object_get_string(json_object_array_get_idx(names, 0));
        known *k = find_known(s, id);
        if (!k && !(k = learn(ctx, s, c, id, name ? name : "")))
            continue; /* exited meanwhile, or not in a cgroup we group by */
        k->sweep = s->sweep;
        lp_counters *e;
        if ((st = lp_sample_add(ctx, out, &e)) != LP_OK)
            break;
        snprintf(e->id, sizeof e->id, "%s", k->id);
        snprintf(e->claim, sizeof e->claim, "%s", k->cgroup);
        snprintf(e->name, sizeof e->name, "%s", k->name);
        snprintf(e->image, sizeof e->image, "%s", k->image);
        snprintf(e->flavor, sizeof e->flavor, "%s", k->flavor);
        e->runtime = k->runtime;
        e->precedence = 1;
        lp_cgroup_read(&s->fs, &k->cg, e);
    }
    json_object_put(list);
    /* Forget containers that are gone. */
    size_t kept = 0;
    for (size_t i = 0; i < s->nk; i++) {
        if (s->k[i].sweep == s->sweep)
            s->k[kept++] = s->k[i];
        else
            lp_cgroup_close(&s->k[i].cg);
    }
    s->nk = kept;
    return st;
}

const lp_collector_ops lp_collector_docker = {"docker", dk_open, dk_sample, dk_close};
