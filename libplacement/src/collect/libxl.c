/*
 * The Xen collector: one workload per guest domain (dom0 is the host), id =
 * domain UUID.  CPU time and vCPUs from libxl; network and disk bytes from
 * libxenstat (libxl has no I/O counters).  Xen gives no per-vCPU wait time,
 * so demand equals util here.  Only tried when /proc/xen exists; libxl
 * always gets a real logger (it crashes on a NULL one).
 *
 * libxenlight and libxenstat are loaded with dlopen() once /proc/xen is
 * found, not linked: hosts without Xen do not map them and their
 * dependencies.  LP_XENLIGHT_SONAME and LP_XENSTAT_SONAME (mk/agent.mk) name
 * the libraries the headers came with.
 */
#include <dlfcn.h>
#include <libxl.h>
#include <libxl_utils.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenstat.h>
#include <xentoollog.h>

#include "collect_internal.h"

/* The functions the collector calls: from libxenlight (and libxentoollog,
 * which it depends on), then from libxenstat; resolved by name at open(). */
#define XL_FUNCS(X)                                                                              \
    X(libxl_ctx_alloc) X(libxl_ctx_free) X(libxl_domid_to_name) X(libxl_dominfo_list_free)      \
    X(libxl_list_domain) X(xtl_createlogger_stdiostream) X(xtl_logger_destroy)
#define XS_FUNCS(X)                                                                              \
    X(xenstat_domain_network) X(xenstat_domain_num_networks) X(xenstat_domain_num_vbds)          \
    X(xenstat_domain_vbd) X(xenstat_free_node) X(xenstat_get_node) X(xenstat_init)              \
    X(xenstat_network_rbytes) X(xenstat_network_tbytes) X(xenstat_node_domain) X(xenstat_uninit) \
    X(xenstat_vbd_rd_sects) X(xenstat_vbd_wr_sects)

typedef struct xl_api {
#define XL_FIELD(f) __typeof__(f) *f;
    XL_FUNCS(XL_FIELD) XS_FUNCS(XL_FIELD)
#undef XL_FIELD
} xl_api;

typedef struct xl_state {
    void *xl_lib, *xs_lib; /* dlopen() handles */
    xl_api api;
    xentoollog_logger_stdiostream *log;
    libxl_ctx *xl;
    xenstat_handle *xs; /* NULL when libxenstat cannot start: no I/O counters */
} xl_state;

static void xl_close(void *state)
{
    xl_state *s = state;
    if (!s)
        return;
    if (s->xs)
        s->api.xenstat_uninit(s->xs);
    if (s->xl)
        s->api.libxl_ctx_free(s->xl);
    if (s->log)
        s->api.xtl_logger_destroy((xentoollog_logger *)s->log);
    if (s->xs_lib)
        dlclose(s->xs_lib);
    if (s->xl_lib)
        dlclose(s->xl_lib);
    free(s);
}

/* Load the libraries and resolve XL_FUNCS and XS_FUNCS into s->api. */
static lp_status xl_load(lp_ctx *ctx, xl_state *s)
{
    if (!(s->xl_lib = lp_dlopen(ctx, "libxl", LP_XENLIGHT_SONAME)) ||
        !(s->xs_lib = lp_dlopen(ctx, "libxl", LP_XENSTAT_SONAME)))
        return LP_EUNAVAIL;
#define XL_RESOLVE(lib, soname, f)                                                                   \
    if (!(s->api.f = (__typeof__(s->api.f))lp_dlsym(ctx, "libxl", s->lib, soname, #f)))             \
        return LP_EUNAVAIL;
#define XL_RESOLVE_XL(f) XL_RESOLVE(xl_lib, LP_XENLIGHT_SONAME, f)
#define XL_RESOLVE_XS(f) XL_RESOLVE(xs_lib, LP_XENSTAT_SONAME, f)
    XL_FUNCS(XL_RESOLVE_XL)
    XS_FUNCS(XL_RESOLVE_XS)
#undef XL_RESOLVE_XS
#undef XL_RESOLVE_XL
#undef XL_RESOLVE
    return LP_OK;
}

static lp_status xl_open(lp_ctx *ctx, const lp_collect_options *cfg, void **state)
{
    if (lp_collect_options_check(ctx, "libxl", cfg) != LP_OK)
        return LP_EINVAL;
    char path[300];
    snprintf(path, sizeof path, "%s/xen", cfg && cfg->proc_root ? cfg->proc_root : "/proc");
    if (access(path, F_OK) != 0)
        return lp_ctx_set_error(ctx, LP_EUNAVAIL, "libxl: %s does not exist: not running on Xen", path);
    xl_state *s = calloc(1, sizeof *s);
    if (!s)
        return lp_ctx_set_error(ctx, LP_ENOMEM, "libxl collector: out of memory");
    lp_status st = xl_load(ctx, s);
    if (st != LP_OK) {
        xl_close(s);
        return st;
    }
    s->log = s->api.xtl_createlogger_stdiostream(stderr, XTL_WARN, 0);
    if (!s->log) {
        xl_close(s);
        return lp_ctx_set_error(ctx, LP_ENOMEM, "libxl collector: cannot create a logger");
    }
    int rc = s->api.libxl_ctx_alloc(&s->xl, LIBXL_VERSION, 0, (xentoollog_logger *)s->log);
    if (rc != 0) {
        xl_close(s);
        return lp_ctx_set_error(ctx, LP_EUNAVAIL, "libxl: libxl_ctx_alloc failed (error %d): is xenstored running?",
                       rc);
    }
    s->xs = s->api.xenstat_init();
    *state = s;
    return LP_OK;
}

/* Add a domain's network and disk bytes from a libxenstat node. */
static void xenstat_io(const xl_api *api, xenstat_node *node, unsigned domid, lp_counters *c)
{
    xenstat_domain *d = node ? api->xenstat_node_domain(node, domid) : NULL;
    if (!d)
        return;
    c->net_bytes = c->disk_bytes = 0;
    for (unsigned i = 0; i < api->xenstat_domain_num_networks(d); i++) {
        xenstat_network *n = api->xenstat_domain_network(d, i);
        c->net_bytes += (int64_t)(api->xenstat_network_rbytes(n) + api->xenstat_network_tbytes(n));
    }
    for (unsigned i = 0; i < api->xenstat_domain_num_vbds(d); i++) {
        xenstat_vbd *v = api->xenstat_domain_vbd(d, i);
        c->disk_bytes += (int64_t)(api->xenstat_vbd_rd_sects(v) + api->xenstat_vbd_wr_sects(v)) * 512;
    }
}

static lp_status xl_sample(lp_ctx *ctx, void *state, lp_sample *out)
{
    xl_state *s = state;
    int nb = 0;
    libxl_dominfo *info = s->api.libxl_list_domain(s->xl, &nb);
    if (!info)
        return lp_ctx_set_error(ctx, LP_EIO, "libxl: libxl_list_domain failed");
    xenstat_node *node = s->xs ? s->api.xenstat_get_node(s->xs, XENSTAT_NETWORK | XENSTAT_VBD) : NULL;
    lp_status st = LP_OK;
    for (int i = 0; i < nb; i++) {
        if (info[i].domid == 0)
            continue;
        lp_counters *c;
        if ((st = lp_sample_add(ctx, out, &c)) != LP_OK)
            break;
        snprintf(c->id, sizeof c->id, LIBXL_UUID_FMT, LIBXL_UUID_BYTES(info[i].uuid));
        char *name = s->api.libxl_domid_to_name(s->xl, info[i].domid);
        snprintf(c->name, sizeof c->name, "%s", name ? name : "");
        free(name);
        c->runtime = LP_RUNTIME_VM;
        c->precedence = 1;
        c->run_ns = (int64_t)info[i].cpu_time;
        c->vcpus = c->threads = info[i].vcpu_online;
        c->memory_mb = (double)info[i].current_memkb / 1024.0;
        xenstat_io(&s->api, node, info[i].domid, c);
    }
    if (node)
        s->api.xenstat_free_node(node);
    s->api.libxl_dominfo_list_free(info, nb);
    return st;
}

const lp_collector_ops lp_collector_libxl = {"libxl", xl_open, xl_sample, xl_close};
