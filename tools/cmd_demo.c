/* clattn demo: the seed's worked example ("Your journey starts with one step", query
 * "journey") on the default device, each result beside the CPU reference. */
#include "bench.h" /* bench_max_abs_diff */
#include "cli.h"

#include <math.h>
#include <string.h>

#define N 6
#define D 3

static const char *const tokens[N] = {"Your", "journey", "starts", "with", "one", "step"};
static const float inputs[N * D] = {0.43f, 0.15f, 0.89f, 0.55f, 0.87f, 0.66f, 0.57f, 0.85f, 0.64f,
                                    0.22f, 0.58f, 0.33f, 0.77f, 0.25f, 0.10f, 0.05f, 0.80f, 0.55f};
static const int query_index = 1;

static void row(const char *label, const float *values, size_t n) {
    printf("  %-24s", label);
    for (size_t i = 0; i < n; i++)
        printf(" %8.4f", values[i]);
    printf("\n");
}

static void compare(const char *label, const float *device, const float *reference, size_t n) {
    row(label, device, n);
    row("  CPU reference", reference, n);
    printf("  %-24s %8.1e\n\n", "  max |device - ref|", bench_max_abs_diff(device, reference, n));
}

int cmd_demo(int argc, char **argv) {
    const char *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: clattn demo [--device SEL]\n\nRuns the seed's example: six 3-d token "
                   "embeddings, query 'journey'.\n");
            return 0;
        }
        if (cli_option(argc, argv, &i, "--device", &device)) {
            if (!device) return cli_error("--device needs a value");
            continue;
        }
        return cli_error("demo: unknown option '%s'", argv[i]);
    }
    clattn_handle *h = NULL;
    if (cli_open(device, &h)) return 1;

    const float *q = inputs + query_index * D;
    float scores[N], sum_w[N], soft_w[N], context[D];
    float ref_scores[N], ref_sum[N], ref_soft[N], ref_context[D];
    clattn_status status;
    if ((status = clattn_query_attention(h, N, D, inputs, q, NULL, 1.0f, CLATTN_NORM_SUM, scores,
                                         sum_w, NULL)) ||
        (status = clattn_query_attention(h, N, D, inputs, q, NULL, 1.0f, CLATTN_NORM_SOFTMAX, NULL,
                                         soft_w, context))) {
        int rc = cli_status_error("the demo", status, h);
        clattn_handle_destroy(h);
        return rc;
    }
    clattn_ref_scores(N, D, 1.0f, inputs, q, ref_scores);
    clattn_ref_normalize(CLATTN_NORM_SUM, N, ref_scores, ref_sum);
    clattn_ref_normalize(CLATTN_NORM_SOFTMAX, N, ref_scores, ref_soft);
    clattn_ref_context(N, D, ref_soft, inputs, ref_context);

    clattn_device_info info;
    if (clattn_select_device(device, &info)) { /* the handle works; only the details are lost */
        memset(&info, 0, sizeof info);
        snprintf(info.platform_name, sizeof info.platform_name, "unknown platform");
    }
    printf("clattn %s demo: \"Your journey starts with one step\", query \"%s\" (x^%d)\n",
           clattn_version(), tokens[query_index], query_index + 1);
    printf("device: %s (%s, %s), %s-shaped kernels\n\n", clattn_handle_device_name(h),
           cli_device_type(info.type), info.platform_name,
           clattn_handle_variant(h) == CLATTN_VARIANT_CPU ? "CPU" : "GPU");
    printf("  %-24s", "");
    for (int j = 0; j < N; j++)
        printf(" %8s", tokens[j]);
    printf("\n");
    compare("scores (x_j . query)", scores, ref_scores, N);
    compare("weights, / sum", sum_w, ref_sum, N);
    float total = 0.0f;
    for (int j = 0; j < N; j++)
        total += sum_w[j];
    printf("  %-24s %8.4f\n\n", "  sum of weights", total);
    compare("weights, softmax", soft_w, ref_soft, N);
    printf("  context vector z = sum_j softmax_j x_j (d = %d)\n", D);
    compare("context", context, ref_context, D);
    clattn_handle_destroy(h);
    return 0;
}
