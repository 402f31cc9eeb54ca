/* The CPUs available to workloads: what the snapshot's cpu.threads counts
 * (docs/agent.md, "CPU set"). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_ISSET */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define DEFAULT_NOVA_CONF "/etc/nova/nova.conf"

/* The option section.key of an oslo.config file, as oslo reads it: the
 * last assignment wins; "key = value" or "key: value"; "#" and ";" start a
 * comment line; an indented line continues the previous value; matching
 * quotes around a value are removed.  Returns 1 when found, 0 when not, -1
 * when the file cannot be read (errno set). */
static int ini_get(const char *path, const char *section, const char *key, char *out, size_t len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[4096], cur[128] = "";
    int found = 0, in_value = 0;
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = '\0';
        if (!n) {
            in_value = 0;
            continue;
        }
        if (line[0] == ' ' || line[0] == '\t') {
            if (in_value) { /* oslo joins continuation lines with newlines */
                const char *more = line + strspn(line, " \t");
                size_t have = strlen(out);
                snprintf(out + have, len - have, "\n%s", more);
            }
            continue;
        }
        in_value = 0;
        if (line[0] == '#' || line[0] == ';')
            continue;
        if (line[0] == '[') {
            snprintf(cur, sizeof cur, "%.*s", n > 2 && line[n - 1] == ']' ? (int)(n - 2) : 0, line + 1);
            continue;
        }
        char *eq = line + strcspn(line, "=:");
        if (!*eq || strcmp(cur, section) != 0)
            continue;
        char *k = line, *v = eq + 1;
        *eq = '\0';
        for (char *e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t');)
            *--e = '\0';
        if (strcmp(k, key) != 0)
            continue;
        v += strspn(v, " \t");
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        }
        snprintf(out, len, "%s", v);
        found = in_value = 1;
    }
    fclose(f);
    return found;
}

/* Nova's CPUs for guests from its configuration at path: cpu_shared_set
 * and cpu_dedicated_set together, else vcpu_pin_set (nova/virt/hardware.py).
 * Returns 1 with the list in out, 0 when none is set, -1 when unreadable. */
static int nova_cpus(const char *path, char *out, size_t len, char *from, size_t flen)
{
    char shared[1024] = "", dedicated[1024] = "";
    int a = ini_get(path, "compute", "cpu_shared_set", shared, sizeof shared);
    if (a < 0)
        return -1;
    int b = ini_get(path, "compute", "cpu_dedicated_set", dedicated, sizeof dedicated);
    if (b < 0)
        return -1;
    if ((a && shared[0]) || (b && dedicated[0])) {
        snprintf(out, len, "%s%s%s", shared, shared[0] && dedicated[0] ? "," : "", dedicated);
        snprintf(from, flen, "%s [compute] cpu_shared_set + cpu_dedicated_set", path);
        return 1;
    }
    if (ini_get(path, "DEFAULT", "vcpu_pin_set", out, len) == 1 && out[0]) {
        snprintf(from, flen, "%s [DEFAULT] vcpu_pin_set", path);
        return 1;
    }
    return 0;
}

/* The agent's own CPU affinity as a CPU list. */
static int affinity_cpus(char *out, size_t len)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    size_t used = 0;
    out[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &set))
            continue;
        int e = c;
        while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &set))
            e++;
        int w = e > c ? snprintf(out + used, len - used, "%s%d-%d", used ? "," : "", c, e)
                      : snprintf(out + used, len - used, "%s%d", used ? "," : "", c);
        if (w < 0 || (size_t)w >= len - used)
            return -1;
        used += (size_t)w;
        c = e;
    }
    return used ? 0 : -1;
}

int agent_workload_cpus(const agent_config *c, char *out, size_t len, char *from, size_t flen)
{
    if (c->cpus[0]) {
        snprintf(out, len, "%s", c->cpus);
        snprintf(from, flen, "--cpus");
        return 0;
    }
    const char *conf = c->nova_conf[0] ? c->nova_conf : DEFAULT_NOVA_CONF;
    int r = nova_cpus(conf, out, len, from, flen);
    if (r > 0)
        return 0;
    if (r < 0 && c->nova_conf[0]) {
        agent_log(c, LOG_ERR_, "nova-conf %s: %s", conf, strerror(errno));
        return -1;
    }
    if (r < 0 && errno != ENOENT)
        agent_log(c, LOG_WARN_, "%s: %s; CPUs for workloads from the agent's affinity", conf, strerror(errno));
    if (affinity_cpus(out, len) < 0) {
        agent_log(c, LOG_ERR_, "sched_getaffinity: %s", strerror(errno));
        return -1;
    }
    snprintf(from, flen, "the agent's CPU affinity");
    return 0;
}
