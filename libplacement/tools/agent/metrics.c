/* Prometheus text exposition (format 0.0.4) of the host and its workloads. */
#include <stdio.h>
#include <string.h>

#include "agent.h"

/* Label values escape backslash, double quote and newline. */
static void sb_label(sbuf *b, const char *v)
{
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            sb_printf(b, "\\%c", *p);
        else if (*p == '\n')
            sb_printf(b, "\\n");
        else
            sb_printf(b, "%c", *p);
    }
}

static void header(sbuf *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One host-level gauge; unknown (negative) values are left out. */
static void gauge(sbuf *b, const char *name, const char *help, double v)
{
    header(b, name, "gauge", help);
    if (v >= 0)
        sb_printf(b, "%s %.6g\n", name, v);
}

typedef struct wmetric {
    const char *name, *help;
    size_t off;   /* of a double in lp_workload, or (size_t)-1 for extras */
    size_t xoff;  /* of a double in lp_workload_extra */
} wmetric;

#define W(field) offsetof(lp_workload, field), 0
#define X(field) (size_t)-1, offsetof(lp_workload_extra, field)

static const wmetric wmetrics[] = {
    {"lp_workload_demand", "Runnable threads wanting a CPU (run + wait time per second).", W(demand)},
    {"lp_workload_util", "CPUs used (run time per second).", W(util)},
    {"lp_workload_wait_ratio", "Time waiting for a CPU per unit of run time.", W(wait_ratio)},
    {"lp_workload_iowait", "Fraction of active time blocked on block I/O.", W(iowait)},
    {"lp_workload_net_bytes_per_second", "Network bytes received and sent per second.", W(net_bps)},
    {"lp_workload_disk_bytes_per_second", "Storage bytes read and written per second.", W(disk_bps)},
    {"lp_workload_threads", "Threads (vCPUs for a VM).", W(threads)},
    {"lp_workload_vcpus", "Declared or allowed CPUs (0 = unknown).", W(vcpus)},
    {"lp_workload_memory_mb", "Memory held, MiB.", W(memory_mb)},
    {"lp_workload_confidence", "Confidence of the class, 0..1.", W(confidence)},
    {"lp_workload_context_switches_per_second", "Times scheduled onto a CPU per second.", X(timeslices_ps)},
    {"lp_workload_throttled", "Fraction of time throttled by the cgroup CPU limit.", X(throttled)},
    {"lp_workload_cpu_pressure_some", "Fraction of time some task of the cgroup waited for a CPU.",
     X(psi_cpu_some)},
};

void agent_metrics(sbuf *b, const lp_host *h, const lp_sampler *s, const collector_slot *slots,
                   size_t nslots, const sweep_stats *st)
{
    header(b, "lp_agent_info", "gauge", "libplacement-agent build and host name.");
    sb_printf(b, "lp_agent_info{version=\"%s\",host=\"", lp_version());
    sb_label(b, h->name);
    sb_printf(b, "\"} 1\n");
    header(b, "lp_collector_up", "gauge", "1 when the collector is working, 0 when unavailable.");
    for (size_t i = 0; i < nslots; i++)
        sb_printf(b, "lp_collector_up{collector=\"%s\"} %d\n", slots[i].ops->name, slots[i].up);
    header(b, "lp_agent_sweeps_total", "counter", "Sweeps taken since start.");
    sb_printf(b, "lp_agent_sweeps_total %lu\n", st->sweeps);
    header(b, "lp_agent_sweep_errors_total", "counter", "Collector errors since start.");
    sb_printf(b, "lp_agent_sweep_errors_total %lu\n", st->errors);
    gauge(b, "lp_agent_sweep_seconds", "Duration of the last sweep.", st->seconds);
    header(b, "lp_agent_sweep_seconds_total", "counter", "Time spent sweeping since start.");
    sb_printf(b, "lp_agent_sweep_seconds_total %.9f\n", st->total_seconds);
    header(b, "lp_agent_sweep_cpu_seconds_total", "counter", "CPU time spent sweeping since start.");
    sb_printf(b, "lp_agent_sweep_cpu_seconds_total %.9f\n", st->cpu_seconds);

    gauge(b, "lp_host_threads", "CPUs available to workloads (the snapshot's cpu.threads).", h->threads);
    gauge(b, "lp_host_cores", "Physical cores.", h->cores);
    gauge(b, "lp_host_sockets", "CPU sockets.", h->sockets);
    gauge(b, "lp_host_memory_mb", "Total memory, MiB.", h->memory_mb);
    gauge(b, "lp_host_demand", "Runnable threads wanting a CPU, host-wide.", h->load_demand);
    gauge(b, "lp_host_tasks", "Tasks (threads) the last sweep counted host-wide.", lp_sampler_get_tasks(s));
    gauge(b, "lp_host_util", "CPUs busy.", h->load_util);
    gauge(b, "lp_host_iowait", "Fraction of CPU time idle waiting for I/O.", h->load_iowait);
    gauge(b, "lp_host_steal", "Fraction of CPU time stolen by the hypervisor.", h->load_steal);
    double some[3], full[3];
    static const char *const res[3] = {"cpu", "io", "memory"};
    lp_sampler_get_psi(s, some, full);
    header(b, "lp_host_pressure_some", "gauge", "Fraction of time some task stalled on the resource (PSI).");
    for (int i = 0; i < 3; i++)
        if (some[i] >= 0)
            sb_printf(b, "lp_host_pressure_some{resource=\"%s\"} %.6g\n", res[i], some[i]);
    header(b, "lp_host_pressure_full", "gauge", "Fraction of time all tasks stalled on the resource (PSI).");
    for (int i = 0; i < 3; i++)
        if (full[i] >= 0)
            sb_printf(b, "lp_host_pressure_full{resource=\"%s\"} %.6g\n", res[i], full[i]);

    header(b, "lp_workload_class", "gauge", "1 for the workload's class (cpu, net, io, mixed, idle, unknown).");
    for (size_t i = 0; i < h->n_workloads; i++) {
        sb_printf(b, "lp_workload_class{id=\"");
        sb_label(b, h->workloads[i].id);
        sb_printf(b, "\",class=\"%s\"} 1\n", lp_class_name(h->workloads[i].klass));
    }
    for (size_t m = 0; m < sizeof wmetrics / sizeof wmetrics[0]; m++) {
        header(b, wmetrics[m].name, "gauge", wmetrics[m].help);
        for (size_t i = 0; i < h->n_workloads; i++) {
            const lp_workload *w = &h->workloads[i];
            const lp_workload_extra *x = lp_sampler_get_extra(s, i);
            double v;
            if (wmetrics[m].off != (size_t)-1)
                memcpy(&v, (const char *)w + wmetrics[m].off, sizeof v);
            else if (x)
                memcpy(&v, (const char *)x + wmetrics[m].xoff, sizeof v);
            else
                continue;
            if (v < 0)
                continue;
            sb_printf(b, "%s{id=\"", wmetrics[m].name);
            sb_label(b, w->id);
            sb_printf(b, "\",name=\"");
            sb_label(b, x ? x->name : "");
            sb_printf(b, "\",runtime=\"%s\"} %.6g\n", lp_runtime_name(w->runtime), v);
        }
    }
}

void agent_metrics_freshness(sbuf *b, const published *p, double now)
{
    char why[256];
    unsigned retry;
    header(b, "lp_agent_ready", "gauge",
           "1 while /v1/snapshot serves a fresh snapshot; 0 before the first window or once sweeps stopped.");
    sb_printf(b, "lp_agent_ready %d\n", agent_freshness(p, now, why, sizeof why, &retry) == AGENT_FRESH);
    if (p->last_ok > 0) {
        header(b, "lp_agent_last_sweep_timestamp_seconds", "gauge",
               "Unix time of the last good sweep (the snapshot's time).");
        sb_printf(b, "lp_agent_last_sweep_timestamp_seconds %.3f\n", p->last_ok_wall);
        gauge(b, "lp_agent_last_sweep_age_seconds", "Seconds since the last good sweep.", now - p->last_ok);
    }
    gauge(b, "lp_agent_max_sweep_age_seconds", "Age of the last good sweep at which the snapshot is stale.",
          p->max_age);
}
