/* clattn attend: full attention O = norm(scale * Q K^T + mask) V from .npy files. */
#include "cli.h"
#include "matrix_io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(void) {
    printf(
        "usage: clattn attend --q Q.npy --k K.npy --v V.npy [--causal [top-left|bottom-right]]\n"
        "                     [--scale S] [--norm softmax|sum] [--mask M.npy]\n"
        "                     [--softcap C] [--window LEFT,RIGHT] [--alibi | --alibi-slopes "
        "S.npy]\n"
        "                     [--sinks S.npy] [--sink-keys K] [--dropout P --seed S]\n"
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
        "each device's measured throughput; stderr says which device took which part.\n"
        "--softcap C caps the scaled scores: C tanh(s / C) (before the mask). --window LEFT,RIGHT\n"
        "attends keys i + off - LEFT <= j <= i + off + RIGHT (-1: unbounded; off = N - M with\n"
        "--causal bottom-right, else 0), with --causal if given. --alibi adds ALiBi's standard\n"
        "slopes times (j - i - off) per query head; --alibi-slopes S.npy ([H] floats) the given\n"
        "slopes (applied as an additive mask, combined with --mask).\n"
        "--sinks S.npy ([H] floats) gives each query head a sink logit that joins the softmax\n"
        "denominator with no value (gpt-oss); compared with the scaled scores as is; the LSE\n"
        "includes it. --sink-keys K keeps the first K keys attended left of --window\n"
        "(StreamingLLM). --dropout P drops each weight with probability P (0 <= P < 1) and\n"
        "scales the kept ones by 1 / (1 - P), with the Philox mask of seed --seed S (default 0,\n"
        "offset 0; see clattn_attention_desc in clattn.h for the exact mapping).\n");
}

typedef struct attend_args {
    const char *q, *k, *v, *mask, *lse_out, *weights_out, *out, *device, *devices, *shares,
        *alibi_slopes, *sinks;
    size_t sink_keys;
    float dropout;
    unsigned long long seed;
    float softcap;
    int alibi, window;
    long window_left, window_right;
    clattn_causal causal;
    clattn_norm norm;
    float scale;
    bool has_scale;
} attend_args;

static int parse(int argc, char **argv, attend_args *a) {
    memset(a, 0, sizeof *a);
    a->norm = CLATTN_NORM_SOFTMAX;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        const char **file = NULL;
        const char *name = argv[i];
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
        } else if (cli_option(argc, argv, &i, "--alibi-slopes", &v)) {
            file = &a->alibi_slopes;
        } else if (cli_option(argc, argv, &i, "--sinks", &v)) {
            file = &a->sinks;
        } else if (cli_option(argc, argv, &i, "--sink-keys", &v)) {
            if (!cli_parse_size(v, &a->sink_keys))
                return cli_error("--sink-keys needs a count, got '%s'", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--dropout", &v)) {
            if (!cli_parse_float(v, &a->dropout) || !(a->dropout >= 0.0f && a->dropout < 1.0f))
                return cli_error("--dropout needs a probability 0 <= P < 1, got '%s'", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--seed", &v)) {
            char *end = NULL;
            errno = 0;
            a->seed = v && *v != '-' ? strtoull(v, &end, 0) : 0;
            if (!v || end == v || *end || errno)
                return cli_error("--seed needs an unsigned 64-bit integer, got '%s'", v ? v : "");
        } else if (strcmp(argv[i], "--alibi") == 0) {
            a->alibi = 1;
        } else if (cli_option(argc, argv, &i, "--softcap", &v)) {
            if (!cli_parse_float(v, &a->softcap) || !(a->softcap > 0.0f) || isinf(a->softcap))
                return cli_error("--softcap needs a positive number, got '%s'", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--window", &v)) {
            char *end = NULL;
            errno = 0;
            a->window_left = v ? strtol(v, &end, 10) : 0;
            const bool comma = v && end != v && *end == ',';
            const char *right = comma ? end + 1 : NULL;
            a->window_right = comma ? strtol(right, &end, 10) : 0;
            if (!comma || end == right || *end || errno || a->window_left < -1 ||
                a->window_right < -1)
                return cli_error("--window needs LEFT,RIGHT (each >= 0, or -1 for unbounded), "
                                 "got '%s'",
                                 v ? v : "");
            a->window = 1;
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
    if (a->alibi && a->alibi_slopes)
        return cli_error("attend: --alibi and --alibi-slopes exclude each other");
    if (a->device && a->devices)
        return cli_error("attend: --device and --devices exclude each other");
    if (a->shares && !a->devices) return cli_error("attend: --shares needs --devices");
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

static void print_csv(const float *o, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            printf("%.9g%c", o[r * cols + c], c + 1 < cols ? ',' : '\n');
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

    npy_array q = {0}, k = {0}, v = {0}, m = {0};
    shape4 qs, ks, vs;
    clattn_handle *h = NULL;
    cli_group group = {.count = 0};
    float *o = NULL, *lse = NULL, *weights = NULL;
    unsigned char *bmask = NULL;
    float *slopes_mask = NULL;
    npy_array sinks = {0};
    if ((rc = load4(a.q, "--q", &q, &qs)) || (rc = load4(a.k, "--k", &k, &ks)) ||
        (rc = load4(a.v, "--v", &v, &vs)))
        goto done;
    if (ks.b != qs.b || vs.b != qs.b || vs.h != ks.h || vs.rows != ks.rows) {
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
        if ((rc = mask_layout(&m, &qs, ks.rows, &desc.mask))) goto done;
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
    desc.softcap = a.softcap;
    desc.alibi = a.alibi;
    desc.window = a.window;
    desc.window_left = a.window_left;
    desc.window_right = a.window_right;
    desc.sink_keys = a.sink_keys;
    desc.dropout = a.dropout;
    desc.dropout_seed = a.seed;
    if (a.sinks) {
        char error[512];
        if (!load_array(a.sinks, &sinks, error, sizeof error)) {
            rc = cli_error("%s", error);
            goto done;
        }
        if (sinks.ndim != 1 || sinks.shape[0] != qs.h) {
            rc = cli_error("--sinks must be [H] = [%zu]", qs.h);
            goto done;
        }
        desc.sinks = 1;
    }
    if (a.alibi_slopes) {
        if ((rc = alibi_mask(a.alibi_slopes, &desc, mask, &slopes_mask))) goto done;
        const size_t mask_rows[3] = {qs.h * qs.rows * ks.rows, qs.rows * ks.rows, ks.rows};
        desc.mask.offset = 0;
        for (int i = 0; i < 3; i++)
            desc.mask.stride[i] = mask_rows[i];
        desc.mask_kind = CLATTN_MASK_ADDITIVE;
        mask = slopes_mask;
    }
    const size_t rows = qs.b * qs.h * qs.rows;
    o = malloc(rows * vs.cols * sizeof *o);
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
                    &(clattn_attention_arrays){.q = q.data,
                                               .k = k.data,
                                               .v = v.data,
                                               .mask = mask,
                                               .o = o,
                                               .lse = lse,
                                               .sinks = a.sinks ? sinks.data : NULL}))) {
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
        const size_t last[1] = {vs.cols};
        rc = save_like_q(a.out, o, &q, 1, last, 1);
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
    npy_free(&q);
    npy_free(&k);
    npy_free(&v);
    npy_free(&m);
    npy_free(&sinks);
    return rc;
}
