/* clattn attend --devices: the attention split across several devices, and the report of
 * which device took which part (stderr). */
#include "cli.h"
#include "multi.h"

#include <stdlib.h>
#include <string.h>

/* Opens one handle per selector of a comma-separated list, or per listed device for "all". */
static int open_devices(const char *devices, cli_group *g) {
    if (strcmp(devices, "all") == 0) {
        size_t count = 0;
        clattn_status status = clattn_list_devices(NULL, 0, &count);
        if (status) return cli_status_error("listing the OpenCL devices", status, NULL);
        if (count == 0) return cli_error("--devices all: no OpenCL device");
        if (count > CLI_MAX_DEVICES)
            return cli_error("--devices all: %zu devices, at most %d supported", count,
                             CLI_MAX_DEVICES);
        for (size_t i = 0; i < count; i++) {
            char selector[32];
            snprintf(selector, sizeof selector, "%zu", i);
            int rc = cli_open(selector, &g->handles[g->count]);
            if (rc) return rc;
            g->count++;
        }
        return 0;
    }
    const char *p = devices;
    while (*p) {
        const size_t len = strcspn(p, ",");
        if (len == 0 || len >= 128) return cli_error("--devices: bad list '%s'", devices);
        if (g->count == CLI_MAX_DEVICES)
            return cli_error("--devices: at most %d devices", CLI_MAX_DEVICES);
        char selector[128];
        memcpy(selector, p, len);
        selector[len] = '\0';
        int rc = cli_open(selector, &g->handles[g->count]);
        if (rc) return rc;
        g->count++;
        p += len;
        if (*p == ',' && !*++p) return cli_error("--devices: bad list '%s'", devices);
    }
    return g->count ? 0 : cli_error("--devices: empty list");
}

int cli_group_open(const char *devices, const char *shares, cli_group *g) {
    memset(g, 0, sizeof *g);
    int rc = open_devices(devices, g);
    if (rc || !shares) return rc;
    const char *p = shares;
    size_t n = 0;
    while (*p) {
        const size_t len = strcspn(p, ",");
        char text[64];
        if (len == 0 || len >= sizeof text || n == CLI_MAX_DEVICES)
            return cli_error("--shares: bad list '%s'", shares);
        memcpy(text, p, len);
        text[len] = '\0';
        if (!cli_parse_float(text, &g->shares[n]))
            return cli_error("--shares: '%s' is not a number", text);
        n++;
        p += len;
        if (*p == ',' && !*++p) return cli_error("--shares: bad list '%s'", shares);
    }
    if (n != g->count) return cli_error("--shares has %zu weights for %zu devices", n, g->count);
    g->has_shares = true;
    return 0;
}

void cli_group_close(cli_group *g) {
    for (size_t i = 0; i < g->count; i++)
        clattn_handle_destroy(g->handles[i]);
    g->count = 0;
}

int cli_group_attention(cli_group *g, const clattn_attention_desc *desc, const float *q,
                        const float *k, const float *v, const void *mask, float *o, float *lse) {
    const float *shares = g->has_shares ? g->shares : NULL;
    clattn_split_axis axis;
    double weights[CLI_MAX_DEVICES];
    size_t bounds[CLI_MAX_DEVICES + 1];
    clattn_status status =
        clattn__multi_plan(g->handles, g->count, shares, desc, &axis, weights, bounds);
    if (status) return cli_status_error("planning the multi-device attention", status, NULL);
    double total = 0;
    for (size_t i = 0; i < g->count; i++)
        total += weights[i];
    const char *what = axis == CLATTN_SPLIT_KEYS ? "keys" : "query rows";
    fprintf(stderr, "attend: %s split across %zu devices (shares %s):\n", what, g->count,
            shares ? "as given" : "by measured throughput");
    for (size_t i = 0; i < g->count; i++)
        fprintf(stderr, "  device %zu: %s: share %.3f, %s [%zu, %zu)\n", i,
                clattn_handle_device_name(g->handles[i]), weights[i] / total, what, bounds[i],
                bounds[i + 1]);
    status = clattn_attention_multi(g->handles, g->count, shares, desc, q, k, v, mask, o, lse);
    if (status) return cli_status_error("multi-device attention", status, NULL);
    return 0;
}
