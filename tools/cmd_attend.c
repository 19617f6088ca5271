/* clattn attend: full attention O = norm(scale * Q K^T + mask) V from .npy files. */
#include "cli.h"
#include "matrix_io.h"
#include "attend_paged.h"
#include "cli_variants.h"
#include "dtype.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(void) {
    printf(
        "usage: clattn attend --q Q.npy --k K.npy --v V.npy [--causal [top-left|bottom-right]]\n"
        "                     [--scale S] [--norm softmax|sum] [--mask M.npy]\n"
        "                     [--softcap C] [--window LEFT,RIGHT] [--alibi | --alibi-slopes "
        "S.npy]\n"
        "                     [--cu-seqlens-q A.npy --cu-seqlens-k B.npy]\n"
        "                     [--block-table T.npy --page-size P --seqlens-k L.npy]\n"
        "                     [--sinks S.npy] [--sink-keys K] [--dropout P --seed S]\n"
        "                     [--dtype f32|f16|bf16] [--out-dtype f32|f16]\n"
        "                     [--lse-out L.npy] [--weights-out W.npy] [--out O.npy]\n"
        "                     [--device SEL | --devices all|SEL,SEL,... [--shares W,W,...]]\n"
        "       mpirun -np R clattn attend --mpi ... (ring attention: clattn attend --mpi "
        "--help)\n\n"
        "Q is [M, D], [H, M, D] or [B, H, M, D]; K [.., N, D] and V [.., N, Dv] with the same\n"
        "batch and as many heads as Q or a divisor of it (grouped-query attention: query\n"
        "head h reads K/V head h / (Hq / Hkv)). The scale defaults to 1/sqrt(D), the\n"
        "normalisation to softmax. --causal alone is top-left aligned (row i sees keys j <= i);\n"
        "bottom-right lets row i see j <= i + N - M. The mask is [M, N], [H, M, N] or\n"
        "[B, H, M, N] (H and B may be 1 to broadcast): a boolean .npy is a boolean mask (true\n"
        "attends), any other type is added to the scaled scores (-inf masks out).\n"
        "Writes O to --out as .npy (Q's shape with Dv columns), or else prints it as CSV, one\n"
        "row per line. --lse-out writes the log-sum-exp of each row (Q's shape without D);\n"
        "--weights-out the attention weights [.., M, N] (on the first device; not with the\n"
        "three options below).\n"
        "--devices splits the work across several devices (all of them, or a list of\n"
        "selectors as --device takes; one device may appear twice): the keys for few query\n"
        "rows, else the query rows, in shares proportional to --shares or, without it, to\n"
        "each device's measured throughput; stderr says which device took which "
        "part.\n" CLI_VARIANTS_HELP
        "--alibi-slopes S.npy ([H] floats) adds the given slopes instead of --alibi's (applied\n"
        "as an additive mask, combined with --mask). With --sinks the LSE includes the sink.\n"
        "--cu-seqlens-q A.npy --cu-seqlens-k B.npy (integers, [B + 1] cumulative\n"
        "offsets starting at 0): a variable-length batch of B sequences packed as Q\n"
        "[total_q, H, D], K [total_k, Hkv, D], V [total_k, Hkv, Dv] (FlashAttention's varlen);\n"
        "sequence b is rows A[b] .. A[b+1]-1 of Q and B[b] .. B[b+1]-1 of K and V, attended\n"
        "on its own (causal and the window per sequence). O is [total_q, H, Dv] and --lse-out\n"
        "[H, total_q]. Not with --mask, --alibi-slopes, --weights-out, --devices or a paged\n"
        "KV cache.\n"
        "--block-table T.npy --page-size P --seqlens-k L.npy: a paged KV cache. K and V are\n"
        "pages [num_pages, Hkv, P, D] and [num_pages, Hkv, P, Dv], T ([B, max_pages] int32 or\n"
        "int64) gives each sequence's pages and L ([B]) its length: sequence b's key j is row\n"
        "j %% P of page T[b, j / P], for j < L[b]. Q is [B, H, M, D]; with --causal\n"
        "bottom-right its M rows are the last M positions of each sequence. A mask is\n"
        "[.., M, max_pages * P]. Not with --devices, --weights-out or --alibi-slopes.\n"
        "--sinks, --sink-keys and --dropout apply per sequence with --cu-seqlens-q/-k and with a\n"
        "paged KV cache.\n"
        "--dtype f16|bf16 stores Q, K, V, an additive mask and O as float16 or bfloat16 for the\n"
        "run (inputs of any float type are rounded to it, to nearest even; accumulation stays\n"
        "float32); default f32. Not with --devices or --weights-out (float32 only) nor with a\n"
        "varlen batch. .npy inputs may be float16 ('<f2'). --out-dtype f16 writes --out as\n"
        "float16 (O rounded to it), f32 (the default) as float32; the LSE is always float32.\n");
}

typedef struct attend_args {
    const char *q, *k, *v, *mask, *lse_out, *weights_out, *out, *device, *devices, *shares,
        *alibi_slopes, *cu_q, *cu_k, *block_table, *seqlens_k;
    size_t page_size;
    cli_variants var; /* --softcap, --window, --alibi, --sinks, --sink-keys, --dropout, --seed */
    clattn_causal causal;
    clattn_norm norm;
    float scale;
    bool has_scale;
    clattn_dtype dtype; /* --dtype: the storage of Q, K, V, an additive mask and O */
    bool out_f16;       /* --out-dtype f16 */
} attend_args;

static int parse(int argc, char **argv, attend_args *a) {
    memset(a, 0, sizeof *a);
    a->norm = CLATTN_NORM_SOFTMAX;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        const char **file = NULL;
        const char *name = argv[i];
        const int variant = cli_variant_option(argc, argv, &i, &a->var);
        if (variant < 0) return 1;
        if (variant) continue;
        const int dtype = cli_dtype_option(argc, argv, &i, &a->dtype, &a->out_f16);
        if (dtype < 0) return 1;
        if (dtype) continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help();
            return -1;
        } else if (strcmp(argv[i], "--causal") == 0 || strncmp(argv[i], "--causal=", 9) == 0) {
            /* The alignment is optional: take the next word only when it names one. */
            const char *align = argv[i][8] == '=' ? argv[i] + 9 : NULL;
            if (!align && i + 1 < argc &&
                (strcmp(argv[i + 1], "top-left") == 0 || strcmp(argv[i + 1], "bottom-right") == 0))
                align = argv[++i];
            if (!align || strcmp(align, "top-left") == 0)
                a->causal = CLATTN_CAUSAL_TOP_LEFT;
            else if (strcmp(align, "bottom-right") == 0)
                a->causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
            else
                return cli_error("--causal takes top-left or bottom-right, got '%s'", align);
        } else if (cli_option(argc, argv, &i, "--q", &v)) {
            file = &a->q;
        } else if (cli_option(argc, argv, &i, "--k", &v)) {
            file = &a->k;
        } else if (cli_option(argc, argv, &i, "--v", &v)) {
            file = &a->v;
        } else if (cli_option(argc, argv, &i, "--mask", &v)) {
            file = &a->mask;
        } else if (cli_option(argc, argv, &i, "--lse-out", &v)) {
            file = &a->lse_out;
        } else if (cli_option(argc, argv, &i, "--weights-out", &v)) {
            file = &a->weights_out;
        } else if (cli_option(argc, argv, &i, "--out", &v)) {
            file = &a->out;
        } else if (cli_option(argc, argv, &i, "--devices", &v)) {
            file = &a->devices;
        } else if (cli_option(argc, argv, &i, "--shares", &v)) {
            file = &a->shares;
        } else if (cli_option(argc, argv, &i, "--device", &v)) {
            file = &a->device;
        } else if (cli_option(argc, argv, &i, "--cu-seqlens-q", &v)) {
            file = &a->cu_q;
        } else if (cli_option(argc, argv, &i, "--cu-seqlens-k", &v)) {
            file = &a->cu_k;
        } else if (cli_option(argc, argv, &i, "--block-table", &v)) {
            file = &a->block_table;
        } else if (cli_option(argc, argv, &i, "--seqlens-k", &v)) {
            file = &a->seqlens_k;
        } else if (cli_option(argc, argv, &i, "--page-size", &v)) {
            if (!cli_parse_size(v, &a->page_size) || !a->page_size)
                return cli_error("--page-size needs a positive integer, got '%s'", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--alibi-slopes", &v)) {
            file = &a->alibi_slopes;
        } else if (cli_option(argc, argv, &i, "--scale", &v)) {
            if (!cli_parse_float(v, &a->scale))
                return cli_error("--scale needs a number, got '%s'", v ? v : "");
            a->has_scale = true;
        } else if (cli_option(argc, argv, &i, "--norm", &v)) {
            if (v && strcmp(v, "softmax") == 0)
                a->norm = CLATTN_NORM_SOFTMAX;
            else if (v && strcmp(v, "sum") == 0)
                a->norm = CLATTN_NORM_SUM;
            else
                return cli_error("--norm takes softmax or sum, got '%s'", v ? v : "");
        } else {
            return cli_error("attend: unknown option '%s' (see clattn attend --help)", argv[i]);
        }
        if (file) {
            if (!v) return cli_error("%s needs a value", name);
            *file = v;
        }
    }
    if (!a->q || !a->k || !a->v) return cli_error("attend: --q, --k and --v are required");
    if (a->var.alibi && a->alibi_slopes)
        return cli_error("attend: --alibi and --alibi-slopes exclude each other");
    if (a->device && a->devices)
        return cli_error("attend: --device and --devices exclude each other");
    if (a->shares && !a->devices) return cli_error("attend: --shares needs --devices");
    if (!a->cu_q != !a->cu_k)
        return cli_error("attend: --cu-seqlens-q and --cu-seqlens-k go together");
    if (a->cu_q && (a->mask || a->alibi_slopes || a->weights_out || a->devices))
        return cli_error("attend: a varlen batch (--cu-seqlens-q/-k) takes no --mask, "
                         "--alibi-slopes, --weights-out or --devices");
    const bool paged = a->block_table || a->seqlens_k || a->page_size;
    if (paged && !(a->block_table && a->seqlens_k && a->page_size))
        return cli_error("attend: --block-table, --page-size and --seqlens-k go together");
    if (paged && a->cu_q)
        return cli_error("attend: a varlen batch (--cu-seqlens-q/-k) and a paged KV cache "
                         "exclude each other");
    if (a->dtype != CLATTN_F32 && (a->devices || a->weights_out || a->cu_q))
        return cli_error("attend: --dtype %s does not take --devices, --weights-out or a varlen "
                         "batch (float32 only)",
                         clattn__dtype_name(a->dtype));
    if (paged && (a->devices || a->weights_out || a->alibi_slopes))
        return cli_error("attend: a paged KV cache does not take --devices, --weights-out or "
                         "--alibi-slopes");
    return 0;
}

/* A 2-D, 3-D or 4-D array as [B, H, rows, cols]. */
typedef struct shape4 {
    size_t b, h, rows, cols;
} shape4;

static int load4(const char *path, const char *what, npy_array *arr, shape4 *s) {
    char error[512];
    if (!load_array(path, arr, error, sizeof error)) return cli_error("%s", error);
    if (arr->ndim < 2 || arr->ndim > 4) {
        int ndim = arr->ndim;
        npy_free(arr);
        return cli_error("%s (%s) must have 2, 3 or 4 dimensions, it has %d", what, path, ndim);
    }
    const size_t *d = arr->shape;
    const int n = arr->ndim;
    s->b = n == 4 ? d[0] : 1;
    s->h = n >= 3 ? d[n - 3] : 1;
    s->rows = d[n - 2];
    s->cols = d[n - 1];
    if (!s->b || !s->h || !s->rows || !s->cols) {
        npy_free(arr);
        return cli_error("%s (%s) has an empty dimension", what, path);
    }
    return 0;
}

/* Saves data with Q's leading dimensions followed by `last` (1 or 2 sizes). */
static int save_like_q(const char *path, const float *data, const npy_array *q, int drop,
                       const size_t *last, int nlast) {
    size_t shape[NPY_MAX_DIMS];
    int ndim = 0;
    for (int i = 0; i < q->ndim - drop; i++)
        shape[ndim++] = q->shape[i];
    for (int i = 0; i < nlast; i++)
        shape[ndim++] = last[i];
    char error[512];
    if (!npy_save(path, data, ndim, shape, error, sizeof error)) return cli_error("%s", error);
    return 0;
}

/* Given ALiBi slopes as an additive mask [B, H, M, N]: slope_h * (j - (i + off)) plus the
 * user's mask (a boolean one as 0 / -inf), read through its layout. */
static int alibi_mask(const char *path, const clattn_attention_desc *d, const void *user,
                      float **out) {
    char error[512];
    npy_array s = {0};
    if (!load_array(path, &s, error, sizeof error)) return cli_error("%s", error);
    if (s.ndim != 1 || s.shape[0] != d->q_heads) {
        npy_free(&s);
        return cli_error("--alibi-slopes must be [H] = [%zu]", d->q_heads);
    }
    const size_t count = d->batch * d->q_heads * d->m * d->n;
    float *mask = malloc(count * sizeof *mask);
    if (!mask) {
        npy_free(&s);
        return cli_error("out of memory");
    }
    const long long off =
        d->causal == CLATTN_CAUSAL_BOTTOM_RIGHT ? (long long)d->n - (long long)d->m : 0;
    for (size_t b = 0, x = 0; b < d->batch; b++)
        for (size_t h = 0; h < d->q_heads; h++)
            for (size_t i = 0; i < d->m; i++)
                for (size_t j = 0; j < d->n; j++, x++) {
                    float add = 0.0f;
                    if (user) {
                        const size_t at = d->mask.offset + b * d->mask.stride[0] +
                                          h * d->mask.stride[1] + i * d->mask.stride[2] + j;
                        add = d->mask_kind == CLATTN_MASK_BOOLEAN
                                  ? (((const unsigned char *)user)[at] ? 0.0f : -INFINITY)
                                  : ((const float *)user)[at];
                    }
                    mask[x] = s.data[h] * (float)((long long)j - (long long)i - off) + add;
                }
    npy_free(&s);
    *out = mask;
    return 0;
}

/* The mask's layout: [M, N], [H, M, N] or [B, H, M, N] with 1 to broadcast. */
static int mask_layout(const npy_array *m, const shape4 *q, size_t n, clattn_layout *l) {
    const int nd = m->ndim;
    if (nd < 2 || nd > 4 || m->shape[nd - 2] != q->rows || m->shape[nd - 1] != n)
        return cli_error("the mask must be [M, N] = [%zu, %zu] (optionally with leading head "
                         "and batch dimensions)",
                         q->rows, n);
    const size_t heads = nd >= 3 ? m->shape[nd - 3] : 1, batch = nd == 4 ? m->shape[0] : 1;
    if ((heads != 1 && heads != q->h) || (batch != 1 && batch != q->b))
        return cli_error("the mask's head and batch dimensions must be 1 or match Q's");
    l->offset = 0;
    l->stride[2] = n;
    l->stride[1] = heads == 1 ? 0 : q->rows * n;
    l->stride[0] = batch == 1 ? 0 : heads * q->rows * n;
    return 0;
}

/* Writes O (stored as dtype) to path with Q's leading dimensions, as float16 when out_f16. */
static int save_o(const char *path, const void *o, clattn_dtype dtype, bool out_f16,
                  const npy_array *q, size_t dv) {
    const size_t count = q->count / q->shape[q->ndim - 1] * dv;
    float *wide = malloc((count ? count : 1) * sizeof *wide);
    uint16_t *half = out_f16 ? malloc((count ? count : 1) * sizeof *half) : NULL;
    int rc = 0;
    if (!wide || (out_f16 && !half)) {
        rc = cli_error("out of memory");
    } else {
        clattn__dtype_widen(dtype, o, wide, count);
        const size_t last[1] = {dv};
        if (!out_f16) {
            rc = save_like_q(path, wide, q, 1, last, 1);
        } else {
            size_t shape[NPY_MAX_DIMS];
            int ndim = 0;
            for (int i = 0; i < q->ndim - 1; i++)
                shape[ndim++] = q->shape[i];
            shape[ndim++] = dv;
            clattn__dtype_narrow(CLATTN_F16, wide, half, count);
            char error[512];
            if (!npy_save_f16(path, half, ndim, shape, error, sizeof error))
                rc = cli_error("%s", error);
        }
    }
    free(wide);
    free(half);
    return rc;
}

static void print_csv(const float *o, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            printf("%.9g%c", o[r * cols + c], c + 1 < cols ? ',' : '\n');
}

/* Loads a [B + 1] offsets file; *batch receives B (checked against a previous one if set). */
static int load_offsets(const char *path, npy_int32_array *cu, size_t *batch) {
    char error[512];
    if (!load_int32_array(path, cu, error, sizeof error)) return cli_error("%s", error);
    if (cu->ndim != 1 || cu->count < 2)
        return cli_error("%s must be 1-D with batch + 1 >= 2 offsets", path);
    if (*batch && cu->count - 1 != *batch)
        return cli_error("--cu-seqlens-q and --cu-seqlens-k have different lengths");
    *batch = cu->count - 1;
    return 0;
}

/* The longest sequence of non-decreasing offsets (the library checks them again). */
static size_t longest(const npy_int32_array *cu) {
    size_t max = 0;
    for (size_t b = 0; b + 1 < cu->count; b++)
        if (cu->data[b + 1] > cu->data[b] && (size_t)(cu->data[b + 1] - cu->data[b]) > max)
            max = (size_t)(cu->data[b + 1] - cu->data[b]);
    return max ? max : 1;
}

/* --sinks, --sink-keys, --dropout and --seed into the desc; the sink logits ([heads]) are
 * loaded into *sinks. */
static int sink_dropout_options(const attend_args *a, size_t heads, clattn_attention_desc *desc,
                                npy_array *sinks) {
    desc->sink_keys = a->var.sink_keys;
    desc->dropout = a->var.dropout;
    desc->dropout_seed = a->var.seed;
    if (!a->var.sinks) return 0;
    desc->sinks = 1;
    return cli_load_sinks(a->var.sinks, heads, sinks);
}

/* A varlen batch: Q, K, V packed [total, H, D], O [total_q, H, Dv], LSE [H, total_q]. */
static int attend_varlen(const attend_args *a) {
    npy_array q = {0}, k = {0}, v = {0}, sinks = {0};
    npy_int32_array cq = {0}, ck = {0};
    clattn_handle *h = NULL;
    float *o = NULL, *lse = NULL;
    size_t batch = 0;
    char error[512];
    int rc = 0;
    npy_array *arrays[3] = {&q, &k, &v};
    const char *paths[3] = {a->q, a->k, a->v};
    for (int i = 0; i < 3 && !rc; i++)
        if (!load_array(paths[i], arrays[i], error, sizeof error))
            rc = cli_error("%s", error);
        else if (arrays[i]->ndim != 3)
            rc = cli_error("%s: a varlen batch is packed as [total_tokens, H, D]", paths[i]);
    if (rc || (rc = load_offsets(a->cu_q, &cq, &batch)) ||
        (rc = load_offsets(a->cu_k, &ck, &batch)))
        goto done;
    const size_t tq = q.shape[0], hq = q.shape[1], d = q.shape[2];
    const size_t tk = k.shape[0], hkv = k.shape[1], dv = v.shape[2];
    if (k.shape[2] != d || v.shape[0] != tk || v.shape[1] != hkv || !hq || !hkv || hq % hkv) {
        rc = cli_error("shapes disagree: Q [%zu, %zu, %zu], K [%zu, %zu, %zu], V [%zu, %zu, %zu] "
                       "(K and V: the same tokens and heads, Q's heads a multiple of theirs)",
                       tq, hq, d, tk, hkv, k.shape[2], v.shape[0], v.shape[1], dv);
        goto done;
    }
    /* The host arrays must hold the tokens the offsets name: the library cannot see their
     * lengths. */
    if (cq.data[batch] < 0 || (size_t)cq.data[batch] != tq || ck.data[batch] < 0 ||
        (size_t)ck.data[batch] != tk) {
        rc = cli_error("the last offsets (%d, %d) must equal the tokens of Q (%zu) and K/V (%zu)",
                       (int)cq.data[batch], (int)ck.data[batch], tq, tk);
        goto done;
    }
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, batch, hq, hkv, longest(&cq), longest(&ck), d, dv);
    desc.varlen = 1;
    const clattn_layout packed_q = {0, {0, d, hq * d}}, packed_k = {0, {0, d, hkv * d}};
    desc.q = packed_q;
    desc.k = packed_k;
    desc.v = (clattn_layout){0, {0, dv, hkv * dv}};
    desc.o = (clattn_layout){0, {0, dv, hq * dv}};
    desc.lse = (clattn_layout){0, {0, tq, 1}};
    if (a->has_scale) desc.scale = a->scale;
    desc.norm = a->norm;
    desc.causal = a->causal;
    desc.softcap = a->var.softcap;
    desc.alibi = a->var.alibi;
    desc.window = a->var.window;
    desc.window_left = a->var.window_left;
    desc.window_right = a->var.window_right;
    if ((rc = sink_dropout_options(a, hq, &desc, &sinks))) goto done;
    o = malloc((tq ? tq : 1) * hq * dv * sizeof *o);
    lse = a->lse_out ? malloc((tq ? tq : 1) * hq * sizeof *lse) : NULL;
    if (!o || (a->lse_out && !lse)) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((rc = cli_open(a->device, &h))) goto done;
    const clattn_attention_arrays t = {.q = q.data,
                                       .k = k.data,
                                       .v = v.data,
                                       .o = o,
                                       .lse = lse,
                                       .sinks = a->var.sinks ? sinks.data : NULL,
                                       .cu_seqlens_q = cq.data,
                                       .cu_seqlens_k = ck.data};
    clattn_status status = clattn_attention_ex(h, &desc, &t);
    if (status) {
        rc = cli_status_error("attention", status, h);
        goto done;
    }
    if (a->lse_out) {
        const size_t shape[2] = {hq, tq};
        if (!npy_save(a->lse_out, lse, 2, shape, error, sizeof error)) {
            rc = cli_error("%s", error);
            goto done;
        }
    }
    if (a->out) {
        const npy_array packed = {.ndim = 3, .shape = {tq, hq, dv}, .count = tq * hq * dv};
        rc = save_o(a->out, o, CLATTN_F32, a->out_f16, &packed, dv);
    } else {
        print_csv(o, tq * hq, dv);
    }
done:
    clattn_handle_destroy(h);
    free(o), free(lse), free(cq.data), free(ck.data);
    npy_free(&q), npy_free(&k), npy_free(&v), npy_free(&sinks);
    return rc;
}

int cmd_attend(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--mpi") == 0) {
#ifdef CLATTN_CLI_MPI
            return cmd_attend_mpi(argc, argv);
#else
            return cli_error("attend --mpi: this clattn was built without MPI (configure with "
                             "-DCLATTN_WITH_MPI=ON; Debian: libopenmpi-dev openmpi-bin)");
#endif
        }
    attend_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (a.cu_q) return attend_varlen(&a);

    npy_array q = {0}, k = {0}, v = {0}, m = {0};
    npy_int32_array table = {0}, seqlens = {0};
    const bool paged = a.page_size > 0;
    shape4 qs, ks, vs;
    clattn_handle *h = NULL;
    cli_group group = {.count = 0};
    float *o = NULL, *lse = NULL, *weights = NULL;
    void *stored[4] = {NULL, NULL, NULL, NULL}; /* --dtype copies of Q, K, V, the mask */
    unsigned char *bmask = NULL;
    float *slopes_mask = NULL;
    npy_array sinks = {0};
    if ((rc = load4(a.q, "--q", &q, &qs)) || (rc = load4(a.k, "--k", &k, &ks)) ||
        (rc = load4(a.v, "--v", &v, &vs)))
        goto done;
    /* Paged: K and V are [num_pages, Hkv, P, D], their first dimension not Q's batch. */
    if ((!paged && ks.b != qs.b) || vs.b != ks.b || vs.h != ks.h || vs.rows != ks.rows) {
        rc = cli_error("shapes disagree: Q has batch %zu; K [%zu, %zu, %zu, %zu] and V [%zu, %zu, "
                       "%zu, %zu] need Q's batch and the same heads and rows",
                       qs.b, ks.b, ks.h, ks.rows, ks.cols, vs.b, vs.h, vs.rows, vs.cols);
        goto done;
    }
    if (ks.cols != qs.cols) {
        rc = cli_error("Q has D = %zu columns, K has %zu", qs.cols, ks.cols);
        goto done;
    }
    if (qs.h % ks.h) {
        rc = cli_error("Q's %zu heads are not a multiple of K/V's %zu heads", qs.h, ks.h);
        goto done;
    }
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, qs.b, qs.h, ks.h, qs.rows, ks.rows, qs.cols, vs.cols);
    if (paged && (rc = attend_paged_load(a.block_table, a.seqlens_k, a.page_size, ks.b, ks.rows,
                                         &desc, &table, &seqlens)))
        goto done;
    if (a.has_scale) desc.scale = a.scale;
    desc.norm = a.norm;
    desc.causal = a.causal;
    const void *mask = NULL;
    if (a.mask) {
        char error[512];
        if (!load_array(a.mask, &m, error, sizeof error)) {
            rc = cli_error("%s", error);
            goto done;
        }
        if ((rc = mask_layout(&m, &qs, desc.n, &desc.mask))) goto done;
        if (m.was_bool) {
            if (!(bmask = malloc(m.count))) {
                rc = cli_error("out of memory");
                goto done;
            }
            for (size_t i = 0; i < m.count; i++)
                bmask[i] = m.data[i] != 0.0f;
            desc.mask_kind = CLATTN_MASK_BOOLEAN;
            mask = bmask;
        } else {
            desc.mask_kind = CLATTN_MASK_ADDITIVE;
            mask = m.data;
        }
    }
    desc.softcap = a.var.softcap;
    desc.alibi = a.var.alibi;
    desc.window = a.var.window;
    desc.window_left = a.var.window_left;
    desc.window_right = a.var.window_right;
    if ((rc = sink_dropout_options(&a, qs.h, &desc, &sinks))) goto done;
    if (a.alibi_slopes) {
        if ((rc = alibi_mask(a.alibi_slopes, &desc, mask, &slopes_mask))) goto done;
        const size_t mask_rows[3] = {qs.h * qs.rows * ks.rows, qs.rows * ks.rows, ks.rows};
        desc.mask.offset = 0;
        for (int i = 0; i < 3; i++)
            desc.mask.stride[i] = mask_rows[i];
        desc.mask_kind = CLATTN_MASK_ADDITIVE;
        mask = slopes_mask;
    }
    /* --dtype: Q, K, V, an additive mask and O in that storage for the run */
    const void *q_in, *k_in, *v_in;
    if ((rc = cli_to_storage(a.dtype, q.data, q.count, &q_in, &stored[0])) ||
        (rc = cli_to_storage(a.dtype, k.data, k.count, &k_in, &stored[1])) ||
        (rc = cli_to_storage(a.dtype, v.data, v.count, &v_in, &stored[2])))
        goto done;
    desc.q_dtype = desc.k_dtype = desc.v_dtype = desc.o_dtype = a.dtype;
    if (desc.mask_kind == CLATTN_MASK_ADDITIVE) {
        /* the mask's extent: its layout's last element + 1 */
        const size_t extent = desc.mask.offset + (qs.b - 1) * desc.mask.stride[0] +
                              (qs.h - 1) * desc.mask.stride[1] +
                              (qs.rows - 1) * desc.mask.stride[2] + desc.n;
        if ((rc = cli_to_storage(a.dtype, mask, extent, &mask, &stored[3]))) goto done;
        desc.mask_dtype = a.dtype;
    }
    const size_t rows = qs.b * qs.h * qs.rows;
    o = malloc(rows * vs.cols * clattn_dtype_size(a.dtype));
    lse = a.lse_out ? malloc(rows * sizeof *lse) : NULL;
    if (!o || (a.lse_out && !lse)) {
        rc = cli_error("out of memory");
        goto done;
    }
    if (a.devices) {
        if ((rc = cli_group_open(a.devices, a.shares, &group))) goto done;
        h = group.handles[0]; /* for --weights-out; the group owns it */
    } else if ((rc = cli_open(a.device, &h))) {
        goto done;
    }
    clattn_status status;
    /* The weights first: when they cannot be computed (too large for the device), nothing is
     * computed or written. */
    if (a.weights_out) {
        if (!(weights = malloc(rows * ks.rows * sizeof *weights))) {
            rc = cli_error("out of memory");
            goto done;
        }
        if ((status = clattn_attention_weights(h, &desc, q.data, k.data, mask, weights))) {
            rc = cli_status_error("attention weights", status, h);
            goto done;
        }
    }
    if (a.devices) {
        if ((rc = cli_group_attention(&group, &desc, q.data, k.data, v.data, mask, o, lse)))
            goto done;
    } else if ((status = clattn_attention_ex(
                    h, &desc,
                    &(clattn_attention_arrays){.q = q_in,
                                               .k = k_in,
                                               .v = v_in,
                                               .mask = mask,
                                               .o = o,
                                               .lse = lse,
                                               .sinks = a.var.sinks ? sinks.data : NULL,
                                               .block_table = table.data,
                                               .seqlens_k = seqlens.data}))) {
        rc = cli_status_error("attention", status, h);
        goto done;
    }
    if (a.weights_out) {
        const size_t last[2] = {qs.rows, ks.rows};
        if ((rc = save_like_q(a.weights_out, weights, &q, 2, last, 2))) goto done;
    }
    if (a.lse_out) {
        const size_t last[1] = {qs.rows};
        if ((rc = save_like_q(a.lse_out, lse, &q, 2, last, 1))) goto done;
    }
    if (a.out) {
        rc = save_o(a.out, o, a.dtype, a.out_f16, &q, vs.cols);
    } else if (a.dtype != CLATTN_F32) { /* O widened from its storage for printing */
        float *wide = malloc(rows * vs.cols * sizeof *wide);
        if (!wide) {
            rc = cli_error("out of memory");
            goto done;
        }
        clattn__dtype_widen(a.dtype, o, wide, rows * vs.cols);
        print_csv(wide, rows, vs.cols);
        free(wide);
    } else {
        print_csv(o, rows, vs.cols);
    }
done:
    if (a.devices)
        cli_group_close(&group);
    else
        clattn_handle_destroy(h);
    free(o);
    free(lse);
    free(weights);
    free(bmask);
    free(slopes_mask);
    for (int i = 0; i < 4; i++)
        free(stored[i]);
    npy_free(&q);
    npy_free(&k);
    npy_free(&v);
    npy_free(&m);
    free(table.data);
    free(seqlens.data);
    npy_free(&sinks);
    return rc;
}
