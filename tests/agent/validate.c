/* Test helper: validate snapshot JSON (a file, or stdin) with lp_cluster_parse_snapshot
 * and print the host's workloads as "id class demand util threads" lines. */
#include <stdio.h>
#include <stdlib.h>

#include "libplacement.h"

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    if (f != stdin)
        fclose(f);
    lp_ctx *ctx = NULL;
    lp_cluster *c = NULL;
    if (!buf || lp_ctx_new(&ctx) != LP_OK || lp_cluster_new(ctx, &c) != LP_OK) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    int rc = 0;
    if (lp_cluster_parse_snapshot(ctx, c, buf, len, argc > 1 ? argv[1] : "<stdin>", 0) != LP_OK) {
        fprintf(stderr, "invalid snapshot: %s\n", lp_ctx_last_error(ctx));
        rc = 1;
    } else {
        const lp_host *h = lp_cluster_get_host(c, 0);
        for (size_t i = 0; i < h->n_workloads; i++) {
            const lp_workload *w = &h->workloads[i];
            printf("%s %s %.4f %.4f %.0f\n", w->id, lp_class_name(w->klass), w->demand, w->util, w->threads);
        }
    }
    lp_cluster_free(c);
    lp_ctx_free(ctx);
    free(buf);
    return rc;
}
