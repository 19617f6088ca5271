/* clattn scores: one query against a matrix of embeddings, from .npy or text files. */
#include "cli.h"
#include "matrix_io.h"
#include "dtype.h"

#include <stdlib.h>
#include <string.h>

static void help(void) {
    printf("usage: clattn scores --inputs X.npy (--query I | --query-file q.npy)\n"
           "                     [--norm none|sum|softmax] [--scale S] [--values V.npy]\n"
           "                     [--context] [--out FILE.npy] [--device SEL]\n"
           "                     [--dtype f32|f16|bf16]\n\n"
           "X is an n x d matrix (.npy float16/float32/float64 in C order, or text: one row per\n"
           "line, values separated by commas or spaces). The query is row I of X (0-based) or a\n"
           "file of d values. Prints the weights (the scores when --norm none, the default), or\n"
           "with --context the context vector sum_j w_j v_j (v = X unless --values), as CSV: one\n"
           "value per line at full float precision; --out writes a .npy file instead.\n"
           "--dtype f16|bf16 stores X, the query and V as float16 or bfloat16 for the run\n"
           "(rounded to nearest even); the arithmetic and the outputs stay float32.\n");
}

typedef struct scores_args {
    const char *inputs, *query_file, *values, *out, *device;
    size_t query_row;
    bool has_query_row, context;
    float scale;
    clattn_norm norm;
    clattn_dtype dtype; /* --dtype: the storage of X, the query and V */
} scores_args;

static int parse(int argc, char **argv, scores_args *a) {
    memset(a, 0, sizeof *a);
    a->scale = 1.0f;
    a->norm = CLATTN_NORM_NONE;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        const int dtype = cli_dtype_option(argc, argv, &i, &a->dtype, NULL);
        if (dtype < 0) return 1;
        if (dtype) continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help();
            return -1;
        } else if (strcmp(argv[i], "--context") == 0) {
            a->context = true;
        } else if (cli_option(argc, argv, &i, "--inputs", &v)) {
            if (!(a->inputs = v)) return cli_error("--inputs needs a file");
        } else if (cli_option(argc, argv, &i, "--query-file", &v)) {
            if (!(a->query_file = v)) return cli_error("--query-file needs a file");
        } else if (cli_option(argc, argv, &i, "--query", &v)) {
            if (!cli_parse_size(v, &a->query_row))
                return cli_error("--query needs a row index (0-based), got '%s'", v ? v : "");
            a->has_query_row = true;
        } else if (cli_option(argc, argv, &i, "--values", &v)) {
            if (!(a->values = v)) return cli_error("--values needs a file");
        } else if (cli_option(argc, argv, &i, "--out", &v)) {
            if (!(a->out = v)) return cli_error("--out needs a file");
        } else if (cli_option(argc, argv, &i, "--device", &v)) {
            if (!(a->device = v)) return cli_error("--device needs a value");
        } else if (cli_option(argc, argv, &i, "--scale", &v)) {
            if (!cli_parse_float(v, &a->scale))
                return cli_error("--scale needs a number, got '%s'", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--norm", &v)) {
            if (v && strcmp(v, "none") == 0)
                a->norm = CLATTN_NORM_NONE;
            else if (v && strcmp(v, "sum") == 0)
                a->norm = CLATTN_NORM_SUM;
            else if (v && strcmp(v, "softmax") == 0)
                a->norm = CLATTN_NORM_SOFTMAX;
            else
                return cli_error("--norm takes none, sum or softmax, got '%s'", v ? v : "");
        } else {
            return cli_error("scores: unknown option '%s' (see clattn scores --help)", argv[i]);
        }
    }
    if (!a->inputs) return cli_error("scores: --inputs is required");
    if (a->has_query_row == (a->query_file != NULL))
        return cli_error("scores: give exactly one of --query I and --query-file");
    return 0;
}

static int load_matrix(const char *path, const char *what, npy_array *m) {
    char error[512];
    if (!load_array(path, m, error, sizeof error)) return cli_error("%s", error);
    if (m->ndim == 1) { /* a single row */
        m->shape[1] = m->shape[0];
        m->shape[0] = 1;
        m->ndim = 2;
    }
    if (m->ndim != 2) {
        npy_free(m);
        return cli_error("%s must be a 2-D matrix, %s has %d dimensions", what, path, m->ndim);
    }
    return 0;
}

static int write_results(const scores_args *a, const float *data, size_t count) {
    if (a->out) {
        char error[512];
        size_t shape[1] = {count};
        if (!npy_save(a->out, data, 1, shape, error, sizeof error)) return cli_error("%s", error);
        return 0;
    }
    for (size_t i = 0; i < count; i++)
        printf("%.9g\n", data[i]);
    return 0;
}

int cmd_scores(int argc, char **argv) {
    scores_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;

    npy_array x = {0}, qfile = {0}, values = {0};
    clattn_handle *h = NULL;
    float *out = NULL;
    void *stored[3] = {NULL, NULL, NULL}; /* --dtype copies of X, q, V */
    if ((rc = load_matrix(a.inputs, "--inputs", &x))) return rc;
    size_t n = x.shape[0], d = x.shape[1];
    const float *q = NULL;
    if (a.has_query_row) {
        if (a.query_row >= n) {
            rc =
                cli_error("--query %zu is out of range: %s has %zu rows", a.query_row, a.inputs, n);
            goto done;
        }
        q = x.data + a.query_row * d;
    } else {
        char error[512];
        if (!load_array(a.query_file, &qfile, error, sizeof error)) {
            rc = cli_error("%s", error);
            goto done;
        }
        /* One row: [d] or [1, d], not any shape that happens to hold d values. */
        const bool one_row = qfile.ndim == 1 || (qfile.ndim == 2 && qfile.shape[0] == 1);
        if (!one_row || qfile.count != d) {
            rc = cli_error("the query must be one row of d = %zu values ([%zu] or [1, %zu]); %s "
                           "holds %zu values in %d dimensions",
                           d, d, d, a.query_file, qfile.count, qfile.ndim);
            goto done;
        }
        q = qfile.data;
    }
    if (a.values) {
        if ((rc = load_matrix(a.values, "--values", &values))) goto done;
        if (values.shape[0] != n) {
            rc = cli_error("--values has %zu rows, the inputs have %zu", values.shape[0], n);
            goto done;
        }
    }
    size_t out_count = a.context ? (a.values ? values.shape[1] : d) : n;
    out = malloc(out_count * sizeof *out);
    if (!out) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((rc = cli_open(a.device, &h))) goto done;

    /* --dtype: X, q and V in that storage for the run (v = X shares X's copy). */
    const void *xs = NULL, *qs = NULL, *vs = NULL;
    if ((rc = cli_to_storage(a.dtype, x.data, x.count, &xs, &stored[0])) ||
        (rc = cli_to_storage(a.dtype, q, d, &qs, &stored[1])) ||
        (rc =
             cli_to_storage(a.dtype, a.values ? values.data : NULL, values.count, &vs, &stored[2])))
        goto done;
    const clattn_seed_dtypes dt = {a.dtype, a.dtype, a.dtype};

    clattn_status status;
    if (!a.context) {
        status =
            clattn_query_attention_ex(h, n, d, xs, qs, NULL, a.scale, a.norm, NULL, out, NULL, &dt);
    } else if (!a.values || values.shape[1] == d) {
        status =
            clattn_query_attention_ex(h, n, d, xs, qs, vs, a.scale, a.norm, NULL, NULL, out, &dt);
    } else { /* V with another width: weights first, then the context over V */
        float *w = malloc(n * sizeof *w);
        status = w ? clattn_query_attention_ex(h, n, d, xs, qs, NULL, a.scale, a.norm, NULL, w,
                                               NULL, &dt)
                   : CLATTN_ERROR_OUT_OF_HOST_MEMORY;
        if (!status) status = clattn_context_ex(h, n, values.shape[1], w, vs, out, &dt);
        free(w);
    }
    if (status)
        rc = cli_status_error("scores", status, h);
    else
        rc = write_results(&a, out, out_count);
done:
    for (int i = 0; i < 3; i++)
        free(stored[i]);
    clattn_handle_destroy(h);
    free(out);
    npy_free(&x);
    npy_free(&qfile);
    npy_free(&values);
    return rc;
}
