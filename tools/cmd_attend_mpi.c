/* clattn attend --mpi: ring attention across the ranks of mpirun (built with clattn_mpi). */
#include "clattn_mpi.h"
#include "cli.h"
#include "npy.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void help(void) {
    printf("usage: mpirun -np R clattn attend --mpi --q Q.npy --k K.npy --v V.npy [--causal]\n"
           "                     [--scale S] [--out O.npy] [--shards DIR] [--device SEL]\n"
           "                     [--timeout SECONDS]\n\n"
           "Self-attention over N tokens split across R ranks (ring attention): Q is [N, D],\n"
           "[H, N, D] or [B, H, N, D]; K and V [.., N, D] and [.., N, Dv] with Q's batch and as\n"
           "many heads or a divisor of them. Softmax only; --causal is top-left. Each rank reads\n"
           "only its own rows of the files: rank r holds rows [r N / R, (r + 1) N / R) (the first\n"
           "N %% R ranks one more), or with --causal the zig-zag chunks r and 2R - 1 - r of 2R.\n"
           "Rank 0 gathers and writes the whole O to --out.\n"
           "--shards DIR: each rank reads DIR/q.RANK.npy, DIR/k.RANK.npy and DIR/v.RANK.npy\n"
           "instead (RANK in decimal: q.0.npy, q.1.npy, ...), each [B, H, rows, cols] holding\n"
           "exactly the rows above in that order (N is the sum of the ranks' rows); without --out\n"
           "each rank writes its rows of O to DIR/o.RANK.npy, with --out rank 0 writes the whole.\n"
           "--timeout: seconds a rank waits for a peer (default CLATTN_RING_TIMEOUT_S, else 60);\n"
           "a rank that fails or hangs makes every rank exit with an error.\n");
}

typedef struct mpi_args {
    const char *q, *k, *v, *out, *shards, *device;
    bool causal, has_scale;
    float scale;
    double timeout_s;
} mpi_args;

static int parse(int argc, char **argv, mpi_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, **text = NULL, *name = argv[i];
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            help();
            return -1;
        } else if (strcmp(name, "--mpi") == 0) {
            continue;
        } else if (strcmp(name, "--causal") == 0 || strcmp(name, "--causal=top-left") == 0) {
            a->causal = true;
            if (i + 1 < argc && strcmp(argv[i + 1], "top-left") == 0) i++;
        } else if (cli_option(argc, argv, &i, "--q", &v)) {
            text = &a->q;
        } else if (cli_option(argc, argv, &i, "--k", &v)) {
            text = &a->k;
        } else if (cli_option(argc, argv, &i, "--v", &v)) {
            text = &a->v;
        } else if (cli_option(argc, argv, &i, "--out", &v)) {
            text = &a->out;
        } else if (cli_option(argc, argv, &i, "--shards", &v)) {
            text = &a->shards;
        } else if (cli_option(argc, argv, &i, "--device", &v)) {
            text = &a->device;
        } else if (cli_option(argc, argv, &i, "--scale", &v)) {
            if (!cli_parse_float(v, &a->scale))
                return cli_error("--scale needs a number, got '%s'", v ? v : "");
            a->has_scale = true;
        } else if (cli_option(argc, argv, &i, "--timeout", &v)) {
            float t = 0;
            if (!cli_parse_float(v, &t) || !(t > 0))
                return cli_error("--timeout needs a positive number, got '%s'", v ? v : "");
            a->timeout_s = t;
        } else {
            return cli_error("attend --mpi: unsupported option '%s' (see clattn attend --mpi "
                             "--help; masks, SUM, LSE and weights outputs are single-device only)",
                             name);
        }
        if (text) {
            if (!v) return cli_error("%s needs a value", name);
            *text = v;
        }
    }
    if (a->shards) {
        if (a->q || a->k || a->v) return cli_error("attend --mpi: --shards replaces --q, --k, --v");
    } else if (!a->q || !a->k || !a->v) {
        return cli_error("attend --mpi: --q, --k and --v (or --shards DIR) are required");
    }
    if (!a->out && !a->shards) return cli_error("attend --mpi: --out is required");
    return 0;
}

/* One input: its open file, header and shape as [B, H, rows, cols]. */
typedef struct input {
    FILE *file;
    char path[4096];
    npy_header h;
    size_t b, heads, rows, cols;
} input;

static int open_input(input *in, const char *path, const char *what) {
    char error[512];
    snprintf(in->path, sizeof in->path, "%s", path);
    if (!(in->file = fopen(path, "rb"))) return cli_error("%s: cannot open %s", what, path);
    if (!npy_read_header(in->file, path, &in->h, error, sizeof error))
        return cli_error("%s", error);
    const int n = in->h.ndim;
    if (n < 2 || n > 4)
        return cli_error("%s (%s) must have 2, 3 or 4 dimensions, it has %d", what, path, n);
    in->b = n == 4 ? in->h.shape[0] : 1;
    in->heads = n >= 3 ? in->h.shape[n - 3] : 1;
    in->rows = in->h.shape[n - 2];
    in->cols = in->h.shape[n - 1];
    return 0;
}

/* This rank's rows of a whole [B, H, n, cols] file (or all of a shard file, at_rows NULL). */
static int read_rows(input *in, const clattn_ring_rows *rows, float **out) {
    char error[512];
    const size_t bh = in->b * in->heads, shard = rows ? rows->shard_rows : in->rows;
    if (!(*out = malloc((bh * shard * in->cols + 1) * sizeof(float))))
        return cli_error("out of memory");
    if (!rows)
        return npy_read_elements(in->file, in->path, &in->h, 0, in->h.count, *out, error,
                                 sizeof error)
                   ? 0
                   : cli_error("%s", error);
    float *at = *out;
    for (size_t h = 0; h < bh; h++)
        for (size_t p = 0; p < rows->count; p++) {
            const size_t len = rows->piece[p].length * in->cols;
            if (len && !npy_read_elements(in->file, in->path, &in->h,
                                          (h * in->rows + rows->piece[p].start) * in->cols, len, at,
                                          error, sizeof error))
                return cli_error("%s", error);
            at += len;
        }
    return 0;
}

/* Everything one rank holds. */
typedef struct rank_data {
    input q, k, v;
    clattn_ring_desc desc;
    clattn_ring_rows rows;
    float *sq, *sk, *sv, *so;
} rank_data;

static int check_shapes(const input *q, const input *k, const input *v, bool shards) {
    if (k->b != q->b || v->b != q->b || v->heads != k->heads || v->rows != k->rows ||
        k->cols != q->cols)
        return cli_error("shapes disagree: K and V need Q's batch and D, the same heads and rows");
    if (q->heads % k->heads)
        return cli_error("Q's %zu heads are not a multiple of K/V's %zu", q->heads, k->heads);
    if (!shards && q->rows != k->rows)
        return cli_error("ring attention is self-attention: Q has %zu rows, K %zu", q->rows,
                         k->rows);
    return 0;
}

/* Opens and reads this rank's inputs; fills d->desc. */
static int load(const mpi_args *a, int rank, int ranks, MPI_Comm comm, rank_data *d) {
    char paths[3][4096];
    const char *names[3] = {"q", "k", "v"};
    for (int i = 0; i < 3; i++)
        if (a->shards)
            snprintf(paths[i], sizeof paths[i], "%s/%s.%d.npy", a->shards, names[i], rank);
    int rc = open_input(&d->q, a->shards ? paths[0] : a->q, "--q");
    if (!rc) rc = open_input(&d->k, a->shards ? paths[1] : a->k, "--k");
    if (!rc) rc = open_input(&d->v, a->shards ? paths[2] : a->v, "--v");
    if (!rc) rc = check_shapes(&d->q, &d->k, &d->v, a->shards != NULL);
    size_t n = d->q.rows;
    if (a->shards) { /* N is the sum of the shards' rows; every rank takes part */
        unsigned long long mine = rc ? 0 : d->q.rows, all = 0;
        if (MPI_Allreduce(&mine, &all, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm) != MPI_SUCCESS &&
            !rc)
            rc = cli_error("MPI_Allreduce failed");
        n = (size_t)all;
    }
    if (rc) return rc;
    clattn_ring_desc_init(&d->desc, d->q.b, d->q.heads, d->k.heads, n, d->q.cols, d->v.cols);
    if (a->has_scale) d->desc.scale = a->scale;
    d->desc.causal = a->causal ? CLATTN_CAUSAL_TOP_LEFT : CLATTN_CAUSAL_NONE;
    d->desc.timeout_s = a->timeout_s;
    clattn_ring_rows_of(&d->desc, rank, ranks, &d->rows);
    if (a->shards && d->q.rows != d->rows.shard_rows)
        return cli_error("%s has %zu rows; rank %d of %d holds %zu of N = %zu (see --help)",
                         paths[0], d->q.rows, rank, ranks, d->rows.shard_rows, n);
    const clattn_ring_rows *rows = a->shards ? NULL : &d->rows;
    if ((rc = read_rows(&d->q, rows, &d->sq)) || (rc = read_rows(&d->k, rows, &d->sk)) ||
        (rc = read_rows(&d->v, rows, &d->sv)))
        return rc;
    const size_t out = d->desc.batch * d->desc.q_heads * d->rows.shard_rows * d->desc.dv;
    if (!(d->so = malloc((out + 1) * sizeof(float)))) return cli_error("out of memory");
    return 0;
}

/* Rank 0 gathers every rank's O and writes the whole [.., N, Dv] with Q's leading dims. */
static int gather_and_save(const mpi_args *a, const rank_data *d, int rank, int ranks,
                           MPI_Comm comm) {
    const size_t bh = d->desc.batch * d->desc.q_heads, dv = d->desc.dv, n = d->desc.n;
    if (bh * n * dv > INT_MAX) return cli_error("--out: O is too large to gather (> 2^31 floats)");
    int *counts = NULL, *displs = NULL, rc = 0;
    float *all = NULL, *whole = NULL;
    if (rank == 0) {
        counts = malloc((size_t)ranks * sizeof *counts);
        displs = malloc((size_t)ranks * sizeof *displs);
        all = malloc((bh * n * dv + 1) * sizeof *all);
        whole = malloc((bh * n * dv + 1) * sizeof *whole);
        if (!counts || !displs || !all || !whole) rc = cli_error("out of memory");
        for (int r = 0, at = 0; !rc && r < ranks; r++) {
            clattn_ring_rows rr;
            clattn_ring_rows_of(&d->desc, r, ranks, &rr);
            counts[r] = (int)(bh * rr.shard_rows * dv);
            displs[r] = at;
            at += counts[r];
        }
    }
    /* Every rank takes part even when rank 0 is short of memory (then aborts after). */
    if (MPI_Gatherv(d->so, (int)(bh * d->rows.shard_rows * dv), MPI_FLOAT, all, counts, displs,
                    MPI_FLOAT, 0, comm) != MPI_SUCCESS &&
        !rc)
        rc = cli_error("MPI_Gatherv failed");
    if (rank == 0 && !rc) {
        for (int r = 0; r < ranks; r++) {
            clattn_ring_rows rr;
            clattn_ring_rows_of(&d->desc, r, ranks, &rr);
            const float *from = all + displs[r];
            for (size_t h = 0; h < bh; h++)
                for (size_t p = 0; p < rr.count; p++) {
                    const size_t len = rr.piece[p].length * dv;
                    memcpy(whole + (h * n + rr.piece[p].start) * dv, from, len * sizeof *from);
                    from += len;
                }
        }
        size_t shape[NPY_MAX_DIMS];
        int ndim = 0;
        for (int i = 0; i < d->q.h.ndim - 2; i++)
            shape[ndim++] = d->q.h.shape[i];
        shape[ndim++] = n;
        shape[ndim++] = dv;
        char error[512];
        if (!npy_save(a->out, whole, ndim, shape, error, sizeof error)) rc = cli_error("%s", error);
    }
    free(counts), free(displs), free(all), free(whole);
    return rc;
}

static int save_shard(const mpi_args *a, const rank_data *d, int rank) {
    char path[4096], error[512];
    snprintf(path, sizeof path, "%s/o.%d.npy", a->shards, rank);
    size_t shape[NPY_MAX_DIMS];
    int ndim = 0;
    for (int i = 0; i < d->q.h.ndim - 1; i++)
        shape[ndim++] = d->q.h.shape[i];
    shape[ndim++] = d->desc.dv;
    return npy_save(path, d->so, ndim, shape, error, sizeof error) ? 0 : cli_error("%s", error);
}

static void free_data(rank_data *d) {
    input *in[3] = {&d->q, &d->k, &d->v};
    for (int i = 0; i < 3; i++)
        if (in[i]->file) fclose(in[i]->file);
    free(d->sq), free(d->sk), free(d->sv), free(d->so);
}

int cmd_attend_mpi(int argc, char **argv) {
    mpi_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) return cli_error("MPI_Init failed");
    MPI_Comm comm = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    int rank = 0, ranks = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &ranks);
    rank_data d;
    memset(&d, 0, sizeof d);
    clattn_handle *h = NULL;
    /* A rank that cannot load its part still calls the ring with no data: every rank then
     * refuses together (the ring's argument agreement) instead of waiting for it. */
    rc = load(&a, rank, ranks, comm, &d);
    if (!rc) rc = cli_open(a.device, &h);
    if (rc) fprintf(stderr, "clattn: rank %d could not start (above)\n", rank);
    const clattn_status status =
        clattn_ring_attention(rc ? NULL : h, comm, &d.desc, d.sq, d.sk, d.sv, d.so, NULL);
    if (status) {
        if (!rc) rc = cli_status_error("ring attention", status, h);
        if (status == CLATTN_ERROR_COMMUNICATION) {
            /* A peer died or hangs: nothing else can be trusted; end the whole job. */
            fprintf(stderr, "clattn: rank %d: aborting the MPI job\n", rank);
            MPI_Abort(comm, 1);
        }
    } else if (a.out) {
        rc = gather_and_save(&a, &d, rank, ranks, comm);
        if (rc) MPI_Abort(comm, 1); /* the others may be waiting in the gather */
    } else {
        rc = save_shard(&a, &d, rank);
    }
    clattn_handle_destroy(h);
    free_data(&d);
    MPI_Finalize();
    return rc;
}
