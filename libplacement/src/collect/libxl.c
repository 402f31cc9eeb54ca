/*
 * The Xen collector: one workload per guest domain (dom0 is the host), id =
 * domain UUID.  CPU time and vCPUs from libxl; network and disk bytes from
 * libxenstat (libxl has no I/O counters).  Xen gives no per-vCPU wait time,
 * so demand equals util here.  Only tried when /proc/xen exists; libxl
 * always gets a real logger (it crashes on a NULL one).
 */
#include <libxl.h>
#include <libxl_utils.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenstat.h>
#include <xentoollog.h>

#include "collect_internal.h"

typedef struct xl_state {
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
        xenstat_uninit(s->xs);
    libxl_ctx_free(s->xl);
    xtl_logger_destroy((xentoollog_logger *)s->log);
    free(s);
}

static lp_status xl_open(lp_ctx *ctx, const lp_collect_config *cfg, void **state)
{
    char path[300];
    snprintf(path, sizeof path, "%s/xen", cfg && cfg->proc_root ? cfg->proc_root : "/proc");
    if (access(path, F_OK) != 0)
        return lp_fail(ctx, LP_EUNAVAIL, "libxl: %s does not exist: not running on Xen", path);
    xl_state *s = calloc(1, sizeof *s);
    if (!s)
        return lp_fail(ctx, LP_ENOMEM, "libxl collector: out of memory");
    s->log = xtl_createlogger_stdiostream(stderr, XTL_WARN, 0);
    if (!s->log) {
        free(s);
        return lp_fail(ctx, LP_ENOMEM, "libxl collector: cannot create a logger");
    }
    int rc = libxl_ctx_alloc(&s->xl, LIBXL_VERSION, 0, (xentoollog_logger *)s->log);
    if (rc != 0) {
        xl_close(s);
        return lp_fail(ctx, LP_EUNAVAIL, "libxl: libxl_ctx_alloc failed (error %d): is xenstored running?",
                       rc);
    }
    s->xs = xenstat_init();
    *state = s;
    return LP_OK;
}

/* Add a domain's network and disk bytes from a libxenstat node. */
static void xenstat_io(xenstat_node *node, unsigned domid, lp_counters *c)
{
    xenstat_domain *d = node ? xenstat_node_domain(node, domid) : NULL;
    if (!d)
        return;
    c->net_bytes = c->disk_bytes = 0;
    for (unsigned i = 0; i < xenstat_domain_num_networks(d); i++) {
        xenstat_network *n = xenstat_domain_network(d, i);
        c->net_bytes += (int64_t)(xenstat_network_rbytes(n) + xenstat_network_tbytes(n));
    }
    for (unsigned i = 0; i < xenstat_domain_num_vbds(d); i++) {
        xenstat_vbd *v = xenstat_domain_vbd(d, i);
        c->disk_bytes += (int64_t)(xenstat_vbd_rd_sects(v) + xenstat_vbd_wr_sects(v)) * 512;
    }
}

static lp_status xl_sample(lp_ctx *ctx, void *state, lp_sample *out)
{
    xl_state *s = state;
    int nb = 0;
    libxl_dominfo *info = libxl_list_domain(s->xl, &nb);
    if (!info)
        return lp_fail(ctx, LP_EIO, "libxl: libxl_list_domain failed");
    xenstat_node *node = s->xs ? xenstat_get_node(s->xs, XENSTAT_NETWORK | XENSTAT_VBD) : NULL;
    lp_status st = LP_OK;
    for (int i = 0; i < nb; i++) {
        if (info[i].domid == 0)
            continue;
        lp_counters *c = lp_sample_add(out);
        if (!c) {
            st = lp_fail(ctx, LP_ENOMEM, "libxl collector: out of memory");
            break;
        }
        snprintf(c->id, sizeof c->id, LIBXL_UUID_FMT, LIBXL_UUID_BYTES(info[i].uuid));
        char *name = libxl_domid_to_name(s->xl, info[i].domid);
        snprintf(c->name, sizeof c->name, "%s", name ? name : "");
        free(name);
        c->runtime = LP_RUNTIME_VM;
        c->run_ns = (int64_t)info[i].cpu_time;
        c->vcpus = c->threads = info[i].vcpu_online;
        c->memory_mb = (double)info[i].current_memkb / 1024.0;
        xenstat_io(node, info[i].domid, c);
    }
    if (node)
        xenstat_free_node(node);
    libxl_dominfo_list_free(info, nb);
    return st;
}

const lp_collector_ops lp_collector_libxl = {"libxl", xl_open, xl_sample, xl_close};
