/* Built against libplacement-dev by test_dev.py: place a request file on a
 * cluster file, print "<placed> <unplaced> <version>". */
#include <libplacement.h>

#include <stdio.h>
#include <stdlib.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    lp_ctx *ctx = NULL;
    lp_cluster *cluster = NULL;
    lp_requests *requests = NULL;
    lp_plan *plan = NULL;
    size_t cluster_len = 0, requests_len = 0;
    char *cluster_text, *requests_text;
    int rc = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: %s CLUSTER.json REQUESTS.json\n", argv[0]);
        return 2;
    }
    cluster_text = slurp(argv[1], &cluster_len);
    requests_text = slurp(argv[2], &requests_len);
    if (!cluster_text || !requests_text) {
        fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[2]);
    } else if (lp_ctx_new(&ctx) != LP_OK || lp_cluster_new(ctx, &cluster) != LP_OK ||
               lp_requests_new(ctx, &requests) != LP_OK ||
               lp_cluster_parse(ctx, cluster, cluster_text, cluster_len, argv[1], 0) != LP_OK ||
               lp_requests_parse(ctx, requests, requests_text, requests_len, argv[2]) != LP_OK ||
               lp_plan_new(ctx, cluster, requests, NULL, &plan) != LP_OK) {
        fprintf(stderr, "libplacement: %s\n", ctx ? lp_ctx_last_error(ctx) : "no context");
    } else {
        printf("%zu %zu %s\n", lp_plan_size(plan) - lp_plan_unplaced(plan),
               lp_plan_unplaced(plan), lp_version());
        rc = 0;
    }
    lp_plan_free(plan);
    lp_requests_free(requests);
    lp_cluster_free(cluster);
    lp_ctx_free(ctx);
    free(cluster_text);
    free(requests_text);
    return rc;
}
