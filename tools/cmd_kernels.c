/* clattn kernels: what the library would build and launch on a built-in device profile, asked
 * of the planners (host/plan/) for a representative problem of every operation, no device
 * needed. tools/kernel-report.sh compiles exactly these programs for real GPUs. */
#include "cli.h"
#include "planners.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HEAD_DIMS 16

/* One output row per launch: profile|op|problem|source|kernel|options|global|local|local bytes
 * (options complete: the library's base options, the variant's define and the plan's). */
static int print_plan(const clattn_device_profile *p, const char *op, const char *problem,
                      clattn_status status, const clattn_plan *plan) {
    if (status)
        return cli_error("%s: planning %s (%s) failed: %s: %s", p->name, op, problem,
                         clattn_status_string(status), clattn_last_error_message());
    for (size_t i = 0; i < plan->count; i++) {
        const clattn_launch *l = &plan->launch[i];
        char *options = clattn__program_options(p, l->options, NULL);
        if (!options) return cli_error("out of memory");
        for (size_t end = strlen(options); end > 0 && options[end - 1] == ' '; end--)
            options[end - 1] = '\0';
        char local[64];
        if (l->any_local)
            snprintf(local, sizeof local, "any");
        else
            snprintf(local, sizeof local, "%zux%zux%zu", l->local[0], l->local[1], l->local[2]);
        printf("%s|%s|%s|%s|%s|%s|%zux%zux%zu|%s|%zu\n", p->name, op, problem, l->source, l->kernel,
               options, l->global[0], l->global[1], l->global[2], local, l->local_bytes);
        free(options);
    }
    return 0;
}

/* Every operation on profile p; attention at each head dim, prefill (M = N = 4096) and decode
 * (M = 1, N = 32768, GQA 32 query heads over 8 K/V heads). */
static int print_profile(const clattn_device_profile *p, const size_t *dims, size_t ndims) {
    char problem[128];
    int rc = 0;
    for (size_t i = 0; i < ndims && !rc; i++) {
        const size_t d = dims[i];
        clattn_scores_plan scores;
        snprintf(problem, sizeof problem, "n=262144 d=%zu", d);
        rc |= print_plan(p, "scores", problem, clattn__plan_scores(p, 262144, d, NULL, &scores),
                         &scores.base);
        clattn_context_plan context;
        rc |= print_plan(p, "context", problem, clattn__plan_context(p, 262144, d, NULL, &context),
                         &context.base);
        clattn_attention_desc desc;
        clattn_attention_desc_init(&desc, 1, 8, 8, 512, 512, d, d);
        clattn_weights_launch_plan weights;
        snprintf(problem, sizeof problem, "B=1 H=8 M=N=512 D=%zu", d);
        rc |= print_plan(p, "weights", problem, clattn__plan_weights(p, &desc, &weights),
                         &weights.base);
        clattn_attention_plan attention;
        clattn_attention_desc_init(&desc, 1, 16, 16, 4096, 4096, d, d);
        snprintf(problem, sizeof problem, "prefill B=1 H=16 M=N=4096 D=%zu", d);
        rc |= print_plan(p, "attention", problem, clattn__plan_attention(p, &desc, &attention),
                         &attention.base);
        clattn_attention_desc_init(&desc, 1, 32, 8, 1, 32768, d, d);
        desc.causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
        snprintf(problem, sizeof problem, "decode B=1 Hq=32 Hkv=8 M=1 N=32768 D=%zu", d);
        rc |= print_plan(p, "attention", problem, clattn__plan_attention(p, &desc, &attention),
                         &attention.base);
    }
    if (rc) return rc;
    /* The model variants (softcap, ALiBi, sliding window) change the attention kernels'
     * code: one prefill at D = 128 with all three keeps them in the GPU budget. */
    {
        clattn_attention_desc desc;
        clattn_attention_plan attention;
        clattn_attention_desc_init(&desc, 1, 16, 16, 4096, 4096, 128, 128);
        desc.causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
        desc.softcap = 50.0f;
        desc.alibi = 1;
        desc.window = 1;
        desc.window_left = 1024;
        desc.window_right = 0;
        rc |= print_plan(p, "attention",
                         "prefill softcap=50 alibi window=1024,0 B=1 H=16 M=N=4096 D=128",
                         clattn__plan_attention(p, &desc, &attention), &attention.base);
        /* gpt-oss-style sinks with StreamingLLM sink keys, and training's dropout. */
        desc.softcap = 0.0f;
        desc.alibi = 0;
        desc.sinks = 1;
        desc.sink_keys = 4;
        desc.dropout = 0.1f;
        rc |= print_plan(p, "attention",
                         "prefill sinks sink_keys=4 dropout=0.1 window=1024,0 B=1 H=16 "
                         "M=N=4096 D=128",
                         clattn__plan_attention(p, &desc, &attention), &attention.base);
        /* A paged KV cache (the GPU shape's block-table addressing, -DPAGED=1). */
        clattn_attention_desc_init(&desc, 8, 32, 8, 1, 1, 128, 128);
        clattn_attention_desc_paged(&desc, 16, 16384, 256);
        desc.causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
        rc |= print_plan(p, "attention", "decode paged P=16 B=8 Hq=32 Hkv=8 M=1 N=4096 D=128",
                         clattn__plan_attention(p, &desc, &attention), &attention.base);
        /* Half-precision storage (loads widened to float, O rounded on store): float16 prefill
         * and decode, bfloat16 decode, all at D = 128. */
        static const struct {
            clattn_dtype dtype;
            bool decode;
            const char *problem;
        } storage[] = {
            {CLATTN_F16, false, "prefill f16 B=1 H=16 M=N=4096 D=128"},
            {CLATTN_F16, true, "decode f16 B=1 Hq=32 Hkv=8 M=1 N=32768 D=128"},
            {CLATTN_BF16, true, "decode bf16 B=1 Hq=32 Hkv=8 M=1 N=32768 D=128"},
        };
        for (size_t i = 0; i < sizeof storage / sizeof storage[0]; i++) {
            if (storage[i].decode) {
                clattn_attention_desc_init(&desc, 1, 32, 8, 1, 32768, 128, 128);
                desc.causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
            } else {
                clattn_attention_desc_init(&desc, 1, 16, 16, 4096, 4096, 128, 128);
            }
            desc.q_dtype = desc.k_dtype = desc.v_dtype = desc.o_dtype = storage[i].dtype;
            rc |= print_plan(p, "attention", storage[i].problem,
                             clattn__plan_attention(p, &desc, &attention), &attention.base);
        }
    }
    if (rc) return rc;
    clattn_normalize_plan norm;
    rc |= print_plan(p, "normalize", "softmax n=100",
                     clattn__plan_normalize(p, CLATTN_NORM_SOFTMAX, 100, &norm), &norm.base);
    rc |= print_plan(p, "normalize", "softmax n=1000003",
                     clattn__plan_normalize(p, CLATTN_NORM_SOFTMAX, 1000003, &norm), &norm.base);
    clattn_plan query;
    rc |= print_plan(p, "query_small", "n=64 d=64",
                     clattn__plan_query_small(p, 64, 64, NULL, &query), &query);
    clattn_linear_plan linear;
    rc |= print_plan(p, "linear", "rows=4096 cols=1024 k=1024",
                     clattn__plan_linear(p, 4096, 1024, 1024, &linear), &linear.base);
    /* Half-precision storage: every tensor float16, and bfloat16 weights with float16
     * activations (MHA's projections with weight_dtype bf16). */
    const clattn_linear_dtypes f16 = {CLATTN_F16, CLATTN_F16, CLATTN_F16, CLATTN_F16},
                               bf16_w = {CLATTN_F16, CLATTN_BF16, CLATTN_BF16, CLATTN_F32};
    rc |= print_plan(p, "linear", "f16 rows=4096 cols=1024 k=1024",
                     clattn__plan_linear_ex(p, 4096, 1024, 1024, &f16, &linear), &linear.base);
    rc |= print_plan(p, "linear", "x f16 w bf16 y f32 rows=4096 cols=1024 k=1024",
                     clattn__plan_linear_ex(p, 4096, 1024, 1024, &bf16_w, &linear), &linear.base);
    /* MHA is three linear projections into one QKV buffer, the fused attention and the out
     * projection: d_model = 1024, 16 heads of 64, B = 1, T = 512. */
    rc |= print_plan(p, "mha", "projections rows=512 cols=1024 k=1024",
                     clattn__plan_linear(p, 512, 1024, 1024, &linear), &linear.base);
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 16, 16, 512, 512, 64, 64);
    clattn_attention_plan attention;
    rc |= print_plan(p, "mha", "attention B=1 H=16 T=512 D=64",
                     clattn__plan_attention(p, &desc, &attention), &attention.base);
    return rc;
}

static int usage(FILE *out) {
    fprintf(out,
            "usage: clattn kernels [--profile NAME|all]... [--d D]...\n\n"
            "Prints every program clattn would build and launch on a built-in device profile\n"
            "(no device needed) for a representative problem of each operation, attention at\n"
            "each head dim D (default 64, 128 and 256) in prefill and decode, one row a launch:\n"
            "  profile|op|problem|source|kernel|options|global|local|local bytes\n"
            "(options complete; local \"any\": the implementation picks). Profiles:");
    size_t count;
    const clattn_device_profile *all = clattn__profiles(&count);
    for (size_t i = 0; i < count; i++)
        fprintf(out, " %s", all[i].name);
    fprintf(out, " (default: all).\n");
    return out == stdout ? 0 : 2;
}

int cmd_kernels(int argc, char **argv) {
    size_t count;
    const clattn_device_profile *all = clattn__profiles(&count);
    const clattn_device_profile *chosen[32];
    size_t nchosen = 0, dims[MAX_HEAD_DIMS], ndims = 0;
    for (int i = 1; i < argc; i++) {
        const char *value;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout);
        if (cli_option(argc, argv, &i, "--profile", &value)) {
            if (strcmp(value, "all") == 0) {
                nchosen = 0;
                for (size_t k = 0; k < count && nchosen < 32; k++)
                    chosen[nchosen++] = &all[k];
            } else {
                const clattn_device_profile *p = clattn__profile_named(value);
                if (!p)
                    return cli_error("no profile named '%s' (see clattn kernels --help)", value);
                if (nchosen == 32) return cli_error("too many --profile options");
                chosen[nchosen++] = p;
            }
        } else if (cli_option(argc, argv, &i, "--d", &value)) {
            size_t d;
            if (!cli_parse_size(value, &d) || d == 0 || d > 256)
                return cli_error("--d must be a head dim from 1 to 256 (got '%s')", value);
            if (ndims == MAX_HEAD_DIMS) return cli_error("at most %d --d options", MAX_HEAD_DIMS);
            dims[ndims++] = d;
        } else {
            cli_error("unknown argument '%s'", argv[i]);
            return usage(stderr);
        }
    }
    if (nchosen == 0)
        for (size_t k = 0; k < count && nchosen < 32; k++)
            chosen[nchosen++] = &all[k];
    if (ndims == 0) dims[ndims++] = 64, dims[ndims++] = 128, dims[ndims++] = 256;
    printf("profile|op|problem|source|kernel|options|global|local|local bytes\n");
    for (size_t k = 0; k < nchosen; k++) {
        int rc = print_profile(chosen[k], dims, ndims);
        if (rc) return rc;
    }
    return 0;
}
