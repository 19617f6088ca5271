/* clattn mha: multi-head attention with projections from a trained layer's weights. */
#include "cli.h"
#include "matrix_io.h"
#include "cli_variants.h"
#include "dtype.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(void) {
    printf("usage: clattn mha --x X.npy --wq Wq.npy --wk Wk.npy --wv Wv.npy --wo Wo.npy\n"
           "                  --heads H [--bq B.npy] [--bk B.npy] [--bv B.npy] [--bo B.npy]\n"
           "                  [--causal] [--mask M.npy] [--softcap C] [--window LEFT,RIGHT]\n"
           "                  [--alibi | --alibi-slopes S.npy] [--sinks S.npy] [--sink-keys K]\n"
           "                  [--dropout P --seed S] [--dtype f32|f16|bf16]\n"
           "                  [--out O.npy] [--out-dtype f32|f16] [--device SEL]\n\n"
           "X is [T, d_in] or [B, T, d_in]; Wq, Wk, Wv are [d_out, d_in] and Wo is\n"
           "[d_out, d_out] (a linear layer's weight: y = x W^T + b); biases are [d_out].\n"
           "Computes Q, K, V = X Wq^T + bq, ...; splits them into H heads of d_out / H;\n"
           "softmax attention with scale 1/sqrt(d_out / H) (top-left causal with --causal);\n"
           "concatenates the heads and applies Wo, bo. The output has X's rank with d_out\n"
           "columns: written to --out as .npy, or printed as CSV, one row per line.\n"
           "--mask: a boolean .npy is a boolean mask (true attends), any other type is added\n"
           "to the scaled scores (-inf masks out). [B, T] is a key-padding mask (key j of\n"
           "sentence b, for every head and query row; B = 1 for a 2-D X); [B, H, T, T] or\n"
           "[B, 1, T, T] masks each (query, key) pair per head or for all heads. A padding\n"
           "token's own output row attends the real tokens (as in PyTorch); a row with no key\n"
           "to attend gives bo (zeros without --bo).\n"
           "The model variants, as on clattn attend, in every head (M = N = T, off = "
           "0):\n" CLI_VARIANTS_HELP
           "--alibi-slopes S.npy ([H] floats) adds the given slopes instead (as an additive\n"
           "[B, H, T, T] mask, combined with --mask). The dropout stream of sentence b, head h is\n"
           "b * H + h. Variable-length batches and a paged KV cache are attend's only: pad the\n"
           "sentences and give a [B, T] --mask.\n"
           "--dtype f16|bf16 stores X, the weights, the biases and the output as float16 or\n"
           "bfloat16 for the run (float32 arithmetic; the sinks and an additive mask stay\n"
           "float32); --out-dtype f16 writes --out as float16 ('<f2'), else float32.\n"
           "Inputs are .npy (float16/float32/float64) or text files (one row per line).\n");
}

enum { X, WQ, WK, WV, WO, BQ, BK, BV, BO, MASK, SLOPES, INPUTS };
static const char *const option_names[INPUTS] = {"--x",  "--wq",   "--wk",          "--wv",
                                                 "--wo", "--bq",   "--bk",          "--bv",
                                                 "--bo", "--mask", "--alibi-slopes"};

typedef struct mha_args {
    const char *path[INPUTS];
    const char *out, *device;
    size_t heads;
    bool causal;
    clattn_dtype dtype; /* --dtype: the storage of X, the weights and biases, and out */
    bool out_f16;       /* --out-dtype f16 */
    cli_variants var;   /* --softcap, --window, --alibi, --sinks, --sink-keys, --dropout, --seed */
} mha_args;

static int parse(int argc, char **argv, mha_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        bool matched = false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help();
            return -1;
        }
        if (strcmp(argv[i], "--causal") == 0) {
            a->causal = true;
            continue;
        }
        const int variant = cli_variant_option(argc, argv, &i, &a->var);
        if (variant < 0) return 1;
        if (variant) continue;
        const int dtype = cli_dtype_option(argc, argv, &i, &a->dtype, &a->out_f16);
        if (dtype < 0) return 1;
        if (dtype) continue;
        for (int k = 0; k < INPUTS && !matched; k++) {
            if (!cli_option(argc, argv, &i, option_names[k], &v)) continue;
            if (!(a->path[k] = v)) return cli_error("%s needs a file", option_names[k]);
            matched = true;
        }
        if (matched) continue;
        if (cli_option(argc, argv, &i, "--heads", &v)) {
            if (!cli_parse_size(v, &a->heads) || a->heads == 0)
                return cli_error("--heads needs a positive integer, got '%s'", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--out", &v)) {
            if (!(a->out = v)) return cli_error("--out needs a file");
        } else if (cli_option(argc, argv, &i, "--device", &v)) {
            if (!(a->device = v)) return cli_error("--device needs a value");
        } else {
            return cli_error("mha: unknown option '%s' (see clattn mha --help)", argv[i]);
        }
    }
    for (int k = X; k <= WO; k++)
        if (!a->path[k]) return cli_error("mha: %s is required", option_names[k]);
    if (!a->heads) return cli_error("mha: --heads is required");
    if (a->var.alibi && a->path[SLOPES])
        return cli_error("mha: --alibi and --alibi-slopes exclude each other");
    return 0;
}

/* Checks that array k has the given shape (rank and sizes). */
static int expect_shape(const mha_args *a, const npy_array *m, int k, int ndim, size_t rows,
                        size_t cols) {
    bool ok = m->ndim == ndim && m->shape[0] == (ndim == 1 ? cols : rows) &&
              (ndim == 1 || m->shape[1] == cols);
    if (ok) return 0;
    char got[128] = "";
    for (int i = 0; i < m->ndim; i++) {
        size_t used = strlen(got);
        snprintf(got + used, sizeof got - used, "%s%zu", i ? ", " : "", m->shape[i]);
    }
    if (ndim == 1)
        return cli_error("%s (%s) must have shape [%zu], it has [%s]", option_names[k], a->path[k],
                         cols, got);
    return cli_error("%s (%s) must have shape [%zu, %zu], it has [%s]", option_names[k], a->path[k],
                     rows, cols, got);
}

/* The mask's kind (from its type) and shape: [B, T], [B, H, T, T] or [B, 1, T, T]. */
static int mask_desc(const npy_array *m, const char *path, clattn_mha_desc *desc) {
    const size_t b = desc->batch, t = desc->tokens, h = desc->heads;
    desc->mask_kind = m->was_bool ? CLATTN_MASK_BOOLEAN : CLATTN_MASK_ADDITIVE;
    if (m->ndim == 2 && m->shape[0] == b && m->shape[1] == t) {
        desc->mask_shape = CLATTN_MHA_MASK_KEY_PADDING;
        return 0;
    }
    if (m->ndim == 4 && m->shape[0] == b && (m->shape[1] == h || m->shape[1] == 1) &&
        m->shape[2] == t && m->shape[3] == t) {
        desc->mask_shape = m->shape[1] == 1 ? CLATTN_MHA_MASK_PER_BATCH : CLATTN_MHA_MASK_PER_HEAD;
        return 0;
    }
    char got[128] = "";
    for (int i = 0; i < m->ndim; i++) {
        size_t used = strlen(got);
        snprintf(got + used, sizeof got - used, "%s%zu", i ? ", " : "", m->shape[i]);
    }
    return cli_error("--mask (%s) must be [B, T] = [%zu, %zu] (key padding), [B, H, T, T] = "
                     "[%zu, %zu, %zu, %zu] or [B, 1, T, T]; it has [%s]",
                     path, b, t, b, h, t, t, got);
}

/* Given ALiBi slopes as an additive per-head mask [B, H, T, T]: slope_h * (j - i) plus the
 * user's mask of desc's kind and shape, if any (a boolean one as 0 / -inf). desc becomes
 * an additive PER_HEAD one. */
static int slopes_mask(const npy_array *s, const char *path, const void *user,
                       clattn_mha_desc *desc, float **out) {
    const size_t b_n = desc->batch, h_n = desc->heads, t = desc->tokens;
    if (s->ndim != 1 || s->shape[0] != h_n)
        return cli_error("--alibi-slopes (%s) must be [H] = [%zu]", path, h_n);
    float *mask = malloc(b_n * h_n * t * t * sizeof *mask);
    if (!mask) return cli_error("out of memory");
    for (size_t b = 0, x = 0; b < b_n; b++)
        for (size_t h = 0; h < h_n; h++)
            for (size_t i = 0; i < t; i++)
                for (size_t j = 0; j < t; j++, x++) {
                    float add = 0.0f;
                    if (user) {
                        const size_t at =
                            desc->mask_shape == CLATTN_MHA_MASK_KEY_PADDING ? b * t + j
                            : desc->mask_shape == CLATTN_MHA_MASK_PER_BATCH ? (b * t + i) * t + j
                                                                            : x;
                        add = desc->mask_kind == CLATTN_MASK_BOOLEAN
                                  ? (((const unsigned char *)user)[at] ? 0.0f : -INFINITY)
                                  : ((const float *)user)[at];
                    }
                    mask[x] = s->data[h] * (float)((long long)j - (long long)i) + add;
                }
    desc->mask_kind = CLATTN_MASK_ADDITIVE;
    desc->mask_shape = CLATTN_MHA_MASK_PER_HEAD;
    *out = mask;
    return 0;
}

static int write_output(const mha_args *a, const float *out, const npy_array *x, size_t rows,
                        size_t d_out) {
    if (a->out) {
        char error[512];
        size_t shape[3] = {x->shape[0], x->shape[1], d_out};
        if (x->ndim == 2) shape[1] = d_out;
        if (!a->out_f16) {
            if (!npy_save(a->out, out, x->ndim, shape, error, sizeof error))
                return cli_error("%s", error);
            return 0;
        }
        uint16_t *half = malloc(rows * d_out * sizeof *half); /* rows, d_out > 0 */
        if (!half) return cli_error("out of memory");
        clattn__dtype_narrow(CLATTN_F16, out, half, rows * d_out);
        const bool saved = npy_save_f16(a->out, half, x->ndim, shape, error, sizeof error);
        free(half);
        return saved ? 0 : cli_error("%s", error);
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < d_out; c++)
            printf("%.9g%c", out[r * d_out + c], c + 1 < d_out ? ',' : '\n');
    return 0;
}

int cmd_mha(int argc, char **argv) {
    mha_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;

    npy_array m[INPUTS];
    memset(m, 0, sizeof m);
    clattn_handle *h = NULL;
    float *out = NULL, *smask = NULL;
    void *stored_out = NULL;
    void *stored[INPUTS] = {NULL}; /* --dtype copies of X, the weights and the biases */
    unsigned char *bmask = NULL;
    npy_array sinks = {0};
    for (int k = 0; k < INPUTS && !rc; k++) {
        char error[512];
        if (a.path[k] && !load_array(a.path[k], &m[k], error, sizeof error))
            rc = cli_error("%s", error);
    }
    if (rc) goto done;
    if (m[X].ndim != 2 && m[X].ndim != 3) {
        rc = cli_error("--x must be [T, d_in] or [B, T, d_in], %s has %d dimensions", a.path[X],
                       m[X].ndim);
        goto done;
    }
    const size_t batch = m[X].ndim == 3 ? m[X].shape[0] : 1;
    const size_t tokens = m[X].shape[m[X].ndim - 2], d_in = m[X].shape[m[X].ndim - 1];
    if (m[WQ].ndim != 2) {
        rc = cli_error("--wq must be a [d_out, d_in] matrix, %s has %d dimensions", a.path[WQ],
                       m[WQ].ndim);
        goto done;
    }
    const size_t d_out = m[WQ].shape[0];
    if ((rc = expect_shape(&a, &m[WQ], WQ, 2, d_out, d_in)) ||
        (rc = expect_shape(&a, &m[WK], WK, 2, d_out, d_in)) ||
        (rc = expect_shape(&a, &m[WV], WV, 2, d_out, d_in)) ||
        (rc = expect_shape(&a, &m[WO], WO, 2, d_out, d_out)))
        goto done;
    for (int k = BQ; k <= BO; k++)
        if (a.path[k] && (rc = expect_shape(&a, &m[k], k, 1, 1, d_out))) goto done;
    if (d_out % a.heads) {
        rc = cli_error("--heads %zu does not divide d_out = %zu", a.heads, d_out);
        goto done;
    }
    const size_t rows = batch * tokens;
    if (!(out = malloc(rows * d_out * sizeof *out)) ||
        !(stored_out = malloc(rows * d_out * clattn_dtype_size(a.dtype)))) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((rc = cli_open(a.device, &h))) goto done;
    clattn_mha_desc desc = {.batch = batch,
                            .tokens = tokens,
                            .d_in = d_in,
                            .d_out = d_out,
                            .heads = a.heads,
                            .causal = a.causal,
                            .softcap = a.var.softcap,
                            .alibi = a.var.alibi,
                            .window = a.var.window,
                            .window_left = a.var.window_left,
                            .window_right = a.var.window_right,
                            .sink_keys = a.var.sink_keys,
                            .dropout = a.var.dropout,
                            .dropout_seed = a.var.seed};
    const void *mask = NULL;
    if (a.path[MASK]) {
        if ((rc = mask_desc(&m[MASK], a.path[MASK], &desc))) goto done;
        mask = m[MASK].data;
        if (desc.mask_kind == CLATTN_MASK_BOOLEAN) { /* loaded as 0 / 1 floats: to bytes */
            if (!(bmask = malloc(m[MASK].count))) {
                rc = cli_error("out of memory");
                goto done;
            }
            for (size_t i = 0; i < m[MASK].count; i++)
                bmask[i] = m[MASK].data[i] != 0.0f;
            mask = bmask;
        }
    }
    if (a.path[SLOPES]) {
        if ((rc = slopes_mask(&m[SLOPES], a.path[SLOPES], mask, &desc, &smask))) goto done;
        mask = smask;
    }
    if (a.var.sinks && (rc = cli_load_sinks(a.var.sinks, a.heads, &sinks))) goto done;
    /* --dtype: X, the weights and the biases in that storage, out too (widened to print). */
    const void *in[INPUTS] = {NULL};
    for (int k = X; k <= BO && !rc; k++)
        rc = cli_to_storage(a.dtype, m[k].data, m[k].count, &in[k], &stored[k]);
    if (rc) goto done;
    desc.x_dtype = desc.weight_dtype = a.dtype;
    clattn_mha_weights w = {in[WQ], in[WK], in[WV],
                            in[WO], in[BQ], in[BK],
                            in[BV], in[BO], a.var.sinks ? sinks.data : NULL};
    clattn_status status =
        clattn_mha_forward_masked(h, &desc, &w, in[X], mask, a.dtype ? stored_out : out);
    if (status) {
        rc = cli_status_error("mha", status, h);
    } else {
        if (a.dtype) clattn__dtype_widen(a.dtype, stored_out, out, rows * d_out);
        rc = write_output(&a, out, &m[X], rows, d_out);
    }
done:
    clattn_handle_destroy(h);
    free(out);
    free(stored_out);
    for (int k = 0; k < INPUTS; k++)
        free(stored[k]);
    free(bmask);
    free(smask);
    npy_free(&sinks);
    for (int k = 0; k < INPUTS; k++)
        npy_free(&m[k]);
    return rc;
}
