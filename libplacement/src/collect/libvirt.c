/*
 * The libvirt collector: one workload per running domain, id = domain UUID
 * (= Nova instance UUID).  One virConnectGetAllDomainStats call per sweep on
 * a read-only connection; domains whose driver returns no CPU statistics
 * from it (the test driver returns only the state) are read with the
 * per-domain calls instead.  What a guest was started from comes from the
 * metadata Nova's libvirt driver writes into the domain (flavor name, root
 * image UUID), read once per domain start.
 *
 * libvirt is loaded with dlopen() when the collector opens, not linked: it
 * and what it pulls in (glib, libxml2, ICU, libssh, ...) would otherwise
 * add some 5 MiB of resident library pages to every agent, libvirt or not.
 */
#include <dlfcn.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect_internal.h"

#define LIBVIRT_SONAME "libvirt.so.0"
/* The namespace of the <nova:instance> element Nova's libvirt driver
 * (nova/virt/libvirt/config.py, LibvirtConfigGuestMetaNovaInstance) puts in
 * a guest's <metadata>: <nova:flavor name="..."> and <nova:root type="image"
 * uuid="..."/> among others. */
#define NOVA_NS "http://openstack.org/xmlns/libvirt/nova/1.1"

/* The libvirt functions the collector calls, resolved by name at open(). */
#define LV_FUNCS(X)                                                                           \
    X(virConnSetErrorFunc) X(virConnectClose) X(virConnectGetAllDomainStats)                  \
    X(virConnectIsAlive) X(virConnectListAllDomains) X(virConnectOpenReadOnly) X(virDomainFree) \
    X(virDomainGetID) X(virDomainGetInfo) X(virDomainGetMetadata) X(virDomainGetName)          \
    X(virDomainGetUUIDString)                                                                 \
    X(virDomainStatsRecordListFree) X(virGetLastError) X(virGetLastErrorMessage) X(virSetErrorFunc)

typedef struct lv_api {
#define LV_FIELD(f) __typeof__(f) *f;
    LV_FUNCS(LV_FIELD)
#undef LV_FIELD
} lv_api;

/* What Nova's metadata says about a running domain, read once per start. */
typedef struct lv_origin {
    char uuid[VIR_UUID_STRING_BUFLEN];
    unsigned domid;      /* libvirt's id of this run of the domain */
    unsigned long sweep; /* last sweep that saw it */
    char image[LP_COUNTERS_ID_MAX];
    char flavor[LP_COUNTERS_ID_MAX];
} lv_origin;

typedef struct lv_state {
    char uri[256];
    void *lib;           /* dlopen() handle of libvirt */
    lv_api api;
    virConnectPtr conn;
    lv_origin *origins;
    size_t norigins, cap_origins;
    unsigned long sweep;
} lv_state;

/* Load libvirt and resolve LV_FUNCS into s->api. */
static lp_status lv_load(lp_ctx *ctx, lv_state *s)
{
    if (!(s->lib = lp_dlopen(ctx, "libvirt", LIBVIRT_SONAME)))
        return LP_EUNAVAIL;
#define LV_RESOLVE(f)                                                                            \
    if (!(s->api.f = (__typeof__(s->api.f))lp_dlsym(ctx, "libvirt", s->lib, LIBVIRT_SONAME, #f))) \
        return LP_EUNAVAIL;
    LV_FUNCS(LV_RESOLVE)
#undef LV_RESOLVE
    return LP_OK;
}

/* libvirt prints every error to stderr unless a handler is set; the
 * collector reports errors itself through the lp_ctx. */
static void quiet(void *data, virErrorPtr err)
{
    (void)data;
    (void)err;
}

static const char *last_err(const lv_state *s)
{
    const char *m = s->api.virGetLastErrorMessage();
    return m ? m : "unknown libvirt error";
}

static lp_status lv_connect(lp_ctx *ctx, lv_state *s)
{
    s->conn = s->api.virConnectOpenReadOnly(s->uri);
    if (!s->conn)
        return lp_ctx_set_error(ctx, LP_EUNAVAIL, "libvirt %s: %s", s->uri, last_err(s));
    s->api.virConnSetErrorFunc(s->conn, NULL, quiet);
    return LP_OK;
}

static lp_status lv_open(lp_ctx *ctx, const lp_collect_options *cfg, void **state)
{
    if (lp_collect_options_check(ctx, "libvirt", cfg) != LP_OK)
        return LP_EINVAL;
    lv_state *s = calloc(1, sizeof *s);
    if (!s)
        return lp_ctx_set_error(ctx, LP_ENOMEM, "libvirt collector: out of memory");
    lp_status st = lv_load(ctx, s);
    if (st == LP_OK) {
        s->api.virSetErrorFunc(NULL, quiet);
        snprintf(s->uri, sizeof s->uri, "%s", cfg && cfg->libvirt_uri ? cfg->libvirt_uri : "qemu:///system");
        st = lv_connect(ctx, s);
    }
    if (st != LP_OK) {
        if (s->lib)
            dlclose(s->lib);
        free(s);
        return st;
    }
    *state = s;
    return LP_OK;
}

static void lv_close(void *state)
{
    lv_state *s = state;
    if (!s)
        return;
    if (s->conn)
        s->api.virConnectClose(s->conn);
    dlclose(s->lib);
    free(s->origins);
    free(s);
}

static void add_i64(int64_t *dst, unsigned long long v)
{
    *dst = (*dst < 0 ? 0 : *dst) + (int64_t)v;
}

/* Does name look like "<prefix>.<N>.<suffix>"? */
static int indexed(const char *name, const char *prefix, const char *suffix)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0 || name[pl] != '.')
        return 0;
    const char *p = name + pl + 1;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p == '.' && strcmp(p + 1, suffix) == 0;
}

/* Copy the XML attribute attr of the tag starting at tag (up to its ">")
 * into out, its entities decoded.  Returns 0, or -1 when it has none. */
static int xml_attr(const char *tag, const char *attr, char *out, size_t len)
{
    size_t al = strlen(attr), end = strcspn(tag, ">");
    for (const char *p = tag; p < tag + end; p++) {
        if ((p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n') || strncmp(p, attr, al) != 0 || p[al] != '=' ||
            (p[al + 1] != '"' && p[al + 1] != '\''))
            continue;
        char quote = p[al + 1];
        const char *v = p + al + 2;
        size_t n = 0;
        while (*v && *v != quote && n + 1 < len) {
            static const struct { const char *ent; char c; } ents[] = {
                {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
            size_t i = 0;
            for (; *v == '&' && i < sizeof ents / sizeof ents[0]; i++)
                if (strncmp(v, ents[i].ent, strlen(ents[i].ent)) == 0)
                    break;
            if (*v == '&' && i < sizeof ents / sizeof ents[0]) {
                out[n++] = ents[i].c;
                v += strlen(ents[i].ent);
            } else {
                out[n++] = *v++;
            }
        }
        out[n] = '\0';
        return 0;
    }
    return -1;
}

/* Flavor name and root image UUID from Nova's <instance> metadata element,
 * whatever namespace prefix it carries. */
static void nova_origin(const char *xml, lv_origin *o)
{
    for (const char *p = strchr(xml, '<'); p; p = strchr(p + 1, '<')) {
        const char *name = p + 1;
        size_t n = strcspn(name, " \t\n/>");
        const char *colon = memchr(name, ':', n);
        if (colon) {
            n -= (size_t)(colon + 1 - name);
            name = colon + 1;
        }
        char type[16];
        if (n == 6 && strncmp(name, "flavor", 6) == 0)
            xml_attr(name + n, "name", o->flavor, sizeof o->flavor);
        else if (n == 4 && strncmp(name, "root", 4) == 0 && xml_attr(name + n, "type", type, sizeof type) == 0 &&
                 strcmp(type, "image") == 0)
            xml_attr(name + n, "uuid", o->image, sizeof o->image);
    }
}

/* The origin of dom (uuid): kept from an earlier sweep while the domain
 * runs on (same libvirt id), else read from its Nova metadata.  NULL when
 * out of memory. */
static const lv_origin *origin(lv_state *s, virDomainPtr dom, const char *uuid)
{
    unsigned domid = s->api.virDomainGetID(dom);
    lv_origin *o = NULL;
    for (size_t i = 0; i < s->norigins && !o; i++)
        if (strcmp(s->origins[i].uuid, uuid) == 0)
            o = &s->origins[i];
    if (!o) {
        if (s->norigins == s->cap_origins) {
            size_t nc = s->cap_origins ? 2 * s->cap_origins : 16;
            lv_origin *no = realloc(s->origins, nc * sizeof *no);
            if (!no)
                return NULL;
            s->origins = no;
            s->cap_origins = nc;
        }
        o = &s->origins[s->norigins++];
        snprintf(o->uuid, sizeof o->uuid, "%s", uuid);
        o->domid = domid + 1; /* differs: read below */
    }
    o->sweep = s->sweep;
    if (o->domid != domid) {
        o->domid = domid;
        o->image[0] = o->flavor[0] = '\0';
        char *xml = s->api.virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, NOVA_NS, VIR_DOMAIN_AFFECT_LIVE);
        if (xml)
            nova_origin(xml, o);
        free(xml);
    }
    return o;
}

/* Forget the origins of domains not seen this sweep. */
static void forget_origins(lv_state *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->norigins; i++)
        if (s->origins[i].sweep == s->sweep)
            s->origins[k++] = s->origins[i];
    s->norigins = k;
}

static void ident(lv_state *s, virDomainPtr dom, lp_counters *c)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    if (s->api.virDomainGetUUIDString(dom, uuid) == 0) {
        snprintf(c->id, sizeof c->id, "%s", uuid);
        const lv_origin *o = origin(s, dom, uuid);
        if (o) {
            snprintf(c->image, sizeof c->image, "%s", o->image);
            snprintf(c->flavor, sizeof c->flavor, "%s", o->flavor);
        }
    }
    const char *name = s->api.virDomainGetName(dom);
    snprintf(c->name, sizeof c->name, "%s", name ? name : "");
    c->runtime = LP_RUNTIME_VM;
    c->precedence = 1;
}

/* Counters from one bulk stats record. Returns 0 if it carried CPU time. */
static int from_record(const virDomainStatsRecord *r, lp_counters *c)
{
    int64_t cpu_time = -1, vcpu_time = -1;
    for (int i = 0; i < r->nparams; i++) {
        const virTypedParameter *p = &r->params[i];
        unsigned long long v = p->type == VIR_TYPED_PARAM_ULLONG ? p->value.ul
                               : p->type == VIR_TYPED_PARAM_UINT ? p->value.ui
                               : p->type == VIR_TYPED_PARAM_LLONG && p->value.l >= 0 ? (unsigned long long)p->value.l
                                                                                    : 0;
        if (!strcmp(p->field, "cpu.time"))
            cpu_time = (int64_t)v;
        else if (!strcmp(p->field, "vcpu.current"))
            c->vcpus = c->threads = (double)v;
        else if (!strcmp(p->field, "balloon.current"))
            c->memory_mb = (double)v / 1024.0;
        else if (indexed(p->field, "vcpu", "time"))
            add_i64(&vcpu_time, v);
        else if (indexed(p->field, "vcpu", "delay"))
            add_i64(&c->wait_ns, v);
        else if (indexed(p->field, "net", "rx.bytes") || indexed(p->field, "net", "tx.bytes"))
            add_i64(&c->net_bytes, v);
        else if (indexed(p->field, "block", "rd.bytes") || indexed(p->field, "block", "wr.bytes"))
            add_i64(&c->disk_bytes, v);
    }
    /* vCPU time is what the guest ran; cpu.time adds QEMU's own threads. */
    c->run_ns = vcpu_time >= 0 ? vcpu_time : cpu_time;
    return c->run_ns >= 0 ? 0 : -1;
}

/* The per-domain fallback: total CPU time, vCPUs and memory from virDomainGetInfo. */
static int from_info(const lv_state *s, virDomainPtr dom, lp_counters *c)
{
    virDomainInfo info;
    if (s->api.virDomainGetInfo(dom, &info) < 0)
        return -1;
    c->run_ns = (int64_t)info.cpuTime;
    c->vcpus = c->threads = info.nrVirtCpu;
    c->memory_mb = (double)info.memory / 1024.0;
    return 0;
}

static lp_status sample_per_domain(lp_ctx *ctx, lv_state *s, lp_sample *out)
{
    virDomainPtr *doms = NULL;
    int n = s->api.virConnectListAllDomains(s->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    if (n < 0)
        return lp_ctx_set_error(ctx, LP_EIO, "libvirt %s: listing domains: %s", s->uri, last_err(s));
    lp_status st = LP_OK;
    for (int i = 0; i < n; i++) {
        lp_counters *c = NULL;
        if (st == LP_OK)
            st = lp_sample_add(ctx, out, &c);
        if (c) {
            ident(s, doms[i], c);
            if (from_info(s, doms[i], c) < 0)
                out->n--; /* it went away meanwhile */
        }
        s->api.virDomainFree(doms[i]);
    }
    free(doms);
    return st;
}

static lp_status sample_domains(lp_ctx *ctx, lv_state *s, lp_sample *out)
{
    if (!s->conn || s->api.virConnectIsAlive(s->conn) != 1) {
        /* libvirtd restarted: reconnect once per sweep */
        if (s->conn)
            s->api.virConnectClose(s->conn);
        s->conn = NULL;
        lp_status st = lv_connect(ctx, s);
        if (st != LP_OK)
            return st == LP_EUNAVAIL ? lp_ctx_set_error(ctx, LP_EIO, "%s", lp_ctx_last_error(ctx)) : st;
    }
    unsigned stats = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |
                     VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK;
    virDomainStatsRecordPtr *recs = NULL;
    int n = s->api.virConnectGetAllDomainStats(s->conn, stats, &recs, VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE);
    if (n < 0) {
        virErrorPtr e = s->api.virGetLastError();
        if (e && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_ARGUMENT_UNSUPPORTED))
            return sample_per_domain(ctx, s, out);
        return lp_ctx_set_error(ctx, LP_EIO, "libvirt %s: domain stats: %s", s->uri, last_err(s));
    }
    lp_status st = LP_OK;
    for (int i = 0; i < n && st == LP_OK; i++) {
        lp_counters *c;
        if ((st = lp_sample_add(ctx, out, &c)) != LP_OK)
            break;
        ident(s, recs[i]->dom, c);
        if (from_record(recs[i], c) < 0 && from_info(s, recs[i]->dom, c) < 0)
            out->n--;
    }
    s->api.virDomainStatsRecordListFree(recs);
    return st;
}

static lp_status lv_sample(lp_ctx *ctx, void *state, lp_sample *out)
{
    lv_state *s = state;
    s->sweep++;
    lp_status st = sample_domains(ctx, s, out);
    if (st == LP_OK)
        forget_origins(s);
    return st;
}

const lp_collector_ops lp_collector_libvirt = {"libvirt", lv_open, lv_sample, lv_close};
