/* CPU lists ("0-3,8,^2"): the kernel's cpuset and online files, Nova's
 * cpu_shared_set / cpu_dedicated_set, the agent's --cpus. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect_internal.h"

static void set_range(lp_cpuset *s, unsigned lo, unsigned hi, int on)
{
    for (unsigned c = lo; c <= hi; c++) {
        if (on)
            s->bits[c / 64] |= (uint64_t)1 << (c % 64);
        else
            s->bits[c / 64] &= ~((uint64_t)1 << (c % 64));
    }
}

/* A CPU number at *p (digits only), moving past it; -1 if none or too big. */
static long cpu_number(const char **p)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    *p = end;
    return errno || v >= LP_CPUSET_MAX ? -1 : v;
}

int lp_cpuset_parse(const char *text, lp_cpuset *out, char *err, size_t errlen)
{
    lp_cpuset inc, exc;
    memset(&inc, 0, sizeof inc);
    memset(&exc, 0, sizeof exc);
    const char *p = text ? text : "";
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        const char *start = p;
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (len) {
            int reject = *p == '^';
            if (reject)
                p++;
            long lo = cpu_number(&p), hi = lo;
            if (lo >= 0 && *p == '-') {
                p++;
                hi = cpu_number(&p);
            }
            if (lo < 0 || hi < lo || p != start + len) {
                snprintf(err, errlen, "\"%.*s\" is not a CPU number (0..%d), a range N-M or its exclusion ^N, ^N-M",
                         (int)len, start, LP_CPUSET_MAX - 1);
                return -1;
            }
            set_range(reject ? &exc : &inc, (unsigned)lo, (unsigned)hi, 1);
        } /* empty elements are skipped, as Nova does */
        if (!comma)
            break;
        p = comma + 1;
    }
    for (size_t i = 0; i < LP_CPUSET_MAX / 64; i++)
        inc.bits[i] &= ~exc.bits[i];
    *out = inc;
    return 0;
}

unsigned lp_cpuset_count(const lp_cpuset *s)
{
    unsigned n = 0;
    for (size_t i = 0; i < LP_CPUSET_MAX / 64; i++)
        n += (unsigned)__builtin_popcountll(s->bits[i]);
    return n;
}

int lp_cpuset_has(const lp_cpuset *s, unsigned cpu)
{
    return cpu < LP_CPUSET_MAX && (s->bits[cpu / 64] >> (cpu % 64) & 1);
}

int lp_cpuset_covers(const lp_cpuset *a, const lp_cpuset *b)
{
    for (size_t i = 0; i < LP_CPUSET_MAX / 64; i++)
        if (b->bits[i] & ~a->bits[i])
            return 0;
    return 1;
}

void lp_cpuset_and(lp_cpuset *a, const lp_cpuset *b)
{
    for (size_t i = 0; i < LP_CPUSET_MAX / 64; i++)
        a->bits[i] &= b->bits[i];
}

void lp_cpuset_online(lp_cpuset *out)
{
    char buf[4096], err[128];
    if (lp_read_file("/sys/devices/system/cpu/online", buf, sizeof buf) > 0 &&
        lp_cpuset_parse(buf, out, err, sizeof err) == 0 && lp_cpuset_count(out) > 0)
        return;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    memset(out, 0, sizeof *out);
    set_range(out, 0, (unsigned)(n > 1 && n <= LP_CPUSET_MAX ? n - 1 : 0), 1);
}
