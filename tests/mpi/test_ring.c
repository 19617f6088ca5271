/* Ring attention under mpirun: every rank builds the whole problem from a fixed seed, runs
 * the ring on its own rows and compares them with single-device clattn_attention on the whole
 * sequence (and the double-precision reference).
 *
 *   test_ring check   correctness, causal and not, grouped heads, n not divisible by the
 *                     ranks, empty pieces, and the refusals (SUM, mismatched shapes, bad
 *                     arguments on one rank, a rank whose compute fails)
 *   test_ring run     one causal ring (for tests/mpi/fault.sh): a failure prints the message;
 *                     a communication error calls MPI_Abort (the peers' state is unknown)
 *
 * Tolerance: each rank merges at most 2 * ranks partial results per row in double, each a
 * float32 attention over its keys, so O differs from the single-device float32 result by a
 * few units of roundoff of values in [-1, 1]: |diff| <= 2e-5 + 1e-4 |want| (O and LSE). */
#include "clattn_mpi.h"
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, ranks, failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s: ", rank, __FILE__, __LINE__,        \
                    #cond);                                                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* The whole problem and this rank's shards of it. */
typedef struct problem {
    clattn_ring_desc desc;
    clattn_ring_rows rows;
    float *q, *k, *v;    /* whole, packed [B, H, n, D] */
    float *sq, *sk, *sv; /* this rank's shards */
    float *so, *slse;    /* ring output */
} problem;

/* Rows of a whole [B, H, n, cols] tensor that this rank holds, in shard order. */
static float *shard_of(const float *whole, size_t bh, size_t n, size_t cols,
                       const clattn_ring_rows *rows) {
    float *out = malloc((bh * rows->shard_rows * cols + 1) * sizeof *out);
    for (size_t h = 0; h < bh; h++) {
        size_t at = h * rows->shard_rows;
        for (size_t p = 0; p < rows->count; p++) {
            memcpy(out + at * cols, whole + (h * n + rows->piece[p].start) * cols,
                   rows->piece[p].length * cols * sizeof *out);
            at += rows->piece[p].length;
        }
    }
    return out;
}

static void problem_make(problem *p, size_t batch, size_t hq, size_t hkv, size_t n, size_t d,
                         size_t dv, clattn_causal causal) {
    memset(p, 0, sizeof *p);
    clattn_ring_desc_init(&p->desc, batch, hq, hkv, n, d, dv);
    p->desc.causal = causal;
    clattn_ring_rows_of(&p->desc, rank, ranks, &p->rows);
    uint64_t seed = 0x5eed0001u + n * 131 + d;
    const size_t nq = batch * hq * n * d, nk = batch * hkv * n * d, nv = batch * hkv * n * dv;
    p->q = malloc(nq * sizeof(float));
    p->k = malloc(nk * sizeof(float));
    p->v = malloc(nv * sizeof(float));
    test_fill(p->q, nq, &seed, -1.0f, 1.0f);
    test_fill(p->k, nk, &seed, -1.0f, 1.0f);
    test_fill(p->v, nv, &seed, -1.0f, 1.0f);
    p->sq = shard_of(p->q, batch * hq, n, d, &p->rows);
    p->sk = shard_of(p->k, batch * hkv, n, d, &p->rows);
    p->sv = shard_of(p->v, batch * hkv, n, dv, &p->rows);
    p->so = malloc((batch * hq * p->rows.shard_rows * dv + 1) * sizeof(float));
    p->slse = malloc((batch * hq * p->rows.shard_rows + 1) * sizeof(float));
}

static void problem_free(problem *p) {
    free(p->q), free(p->k), free(p->v), free(p->sq), free(p->sk), free(p->sv), free(p->so);
    free(p->slse);
}

static clattn_status ring(clattn_handle *h, problem *p) {
    return clattn_ring_attention(h, MPI_COMM_WORLD, &p->desc, p->sq, p->sk, p->sv, p->so, p->slse);
}

/* Ring output against single-device attention (and the reference) on the whole sequence. */
static void check_matches(clattn_handle *h, size_t batch, size_t hq, size_t hkv, size_t n, size_t d,
                          size_t dv, clattn_causal causal) {
    problem p;
    problem_make(&p, batch, hq, hkv, n, d, dv, causal);
    clattn_status status = ring(h, &p);
    CHECK(status == CLATTN_SUCCESS, "ring: %s: %s", clattn_status_string(status),
          clattn_last_error_message());
    clattn_attention_desc a;
    clattn_attention_desc_init(&a, batch, hq, hkv, n, n, d, dv);
    a.causal = causal;
    const size_t rows = batch * hq * n;
    float *o = malloc(rows * dv * sizeof *o), *lse = malloc(rows * sizeof *lse);
    float *ref_o = malloc(rows * dv * sizeof *o), *ref_lse = malloc(rows * sizeof *lse);
    CHECK(clattn_attention(h, &a, p.q, p.k, p.v, NULL, o, lse) == CLATTN_SUCCESS, "single");
    CHECK(clattn_ref_attention(&a, p.q, p.k, p.v, NULL, ref_o, ref_lse) == CLATTN_SUCCESS, "ref");
    float *want_o = shard_of(o, batch * hq, n, dv, &p.rows);
    float *want_lse = shard_of(lse, batch * hq, n, 1, &p.rows);
    float *ref_so = shard_of(ref_o, batch * hq, n, dv, &p.rows);
    const size_t shard = batch * hq * p.rows.shard_rows;
    char what[128];
    snprintf(what, sizeof what, "rank %d/%d n=%zu causal=%d O", rank, ranks, n, (int)causal);
    if (!status) {
        CHECK(test_close(p.so, want_o, shard * dv, 2e-5, 1e-4, what), "%s vs single device", what);
        CHECK(test_close(p.slse, want_lse, shard, 2e-5, 1e-4, what), "%s LSE", what);
        CHECK(test_close(p.so, ref_so, shard * dv, 5e-5, 1e-4, what), "%s vs reference", what);
    }
    free(o), free(lse), free(ref_o), free(ref_lse), free(want_o), free(want_lse), free(ref_so);
    problem_free(&p);
}

/* Every rank gets an error; want_self on the ranks that refused, want_others elsewhere. */
static void check_refused(clattn_handle *h, problem *p, int bad_rank, clattn_status want_self,
                          clattn_status want_others, const char *what) {
    const clattn_status status = ring(h, p);
    const clattn_status want = bad_rank < 0 || rank == bad_rank ? want_self : want_others;
    CHECK(status == want, "%s: got %s, want %s (%s)", what, clattn_status_string(status),
          clattn_status_string(want), clattn_last_error_message());
    if (rank == 0) printf("%s: rank 0 says: %s\n", what, clattn_last_error_message());
}

static void check_refusals(clattn_handle *h) {
    problem p;
    problem_make(&p, 1, 2, 1, 9, 16, 8, CLATTN_CAUSAL_NONE);
    p.desc.norm = CLATTN_NORM_SUM;
    check_refused(h, &p, -1, CLATTN_ERROR_INVALID_VALUE, 0, "SUM");
    p.desc.norm = CLATTN_NORM_SOFTMAX;
    /* Rank 1 thinks the sequence is longer (its shard is large enough for either). */
    const size_t n = p.desc.n;
    if (rank == 1 % ranks) p.desc.n = n + 1;
    if (ranks > 1) check_refused(h, &p, -1, CLATTN_ERROR_INVALID_SHAPE, 0, "mismatched n");
    p.desc.n = n;
    /* One rank's NULL output: every rank refuses, naming that rank. */
    float *keep = p.so;
    if (rank == ranks - 1) p.so = NULL;
    check_refused(h, &p, ranks - 1, CLATTN_ERROR_NULL_POINTER, CLATTN_ERROR_NULL_POINTER,
                  "NULL on one rank");
    p.so = keep;
    /* A rank whose compute fails mid-ring: it returns its own status, the others a
     * communication error, and nobody hangs. */
    if (ranks > 1) {
        setenv("CLATTN_RING_TEST_FAULT", "1:1:fail", 1);
        check_refused(h, &p, 1, CLATTN_ERROR_INTERNAL, CLATTN_ERROR_COMMUNICATION,
                      "compute fails on rank 1");
        unsetenv("CLATTN_RING_TEST_FAULT");
    }
    /* And afterwards the ring works again. */
    CHECK(ring(h, &p) == CLATTN_SUCCESS, "after refusals: %s", clattn_last_error_message());
    problem_free(&p);
}

static int run_once(clattn_handle *h) {
    problem p;
    problem_make(&p, 2, 4, 2, 37, 16, 8, CLATTN_CAUSAL_TOP_LEFT);
    /* A first ring without the fault compiles the kernels, so that the faulty one is timed
     * alone. */
    char *fault = getenv("CLATTN_RING_TEST_FAULT");
    fault = fault ? strdup(fault) : NULL;
    unsetenv("CLATTN_RING_TEST_FAULT");
    clattn_status status = ring(h, &p);
    if (fault) setenv("CLATTN_RING_TEST_FAULT", fault, 1);
    free(fault);
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    if (!status) status = ring(h, &p);
    if (status) {
        fprintf(stderr, "rank %d: ring attention failed after %.1f s: %s: %s\n", rank,
                MPI_Wtime() - start, clattn_status_string(status), clattn_last_error_message());
        if (status == CLATTN_ERROR_COMMUNICATION) MPI_Abort(MPI_COMM_WORLD, 3);
    }
    problem_free(&p);
    return status ? 1 : 0;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    /* The library's errors come back as statuses. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    const char *mode = argc > 1 ? argv[1] : "check";
    clattn_handle *h = NULL;
    clattn_status status = clattn_handle_create(NULL, &h);
    if (status) {
        fprintf(stderr, "rank %d: no device: %s\n", rank, clattn_last_error_message());
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (rank == 0) printf("device: %s (rank 0 of %d)\n", clattn_handle_device_name(h), ranks);
    int rc = 0;
    if (strcmp(mode, "run") == 0) {
        rc = run_once(h);
    } else {
        check_matches(h, 2, 4, 2, 37, 16, 8, CLATTN_CAUSAL_NONE);
        check_matches(h, 2, 4, 2, 37, 16, 8, CLATTN_CAUSAL_TOP_LEFT);
        /* Tiny n: empty pieces at -np 4. One head dim throughout: each kernel variant is
         * compiled once (cold caches cost ~1 s a variant on PoCL). */
        check_matches(h, 1, 2, 1, 3, 16, 8, CLATTN_CAUSAL_TOP_LEFT);
        check_matches(h, 1, 3, 3, 3, 16, 8, CLATTN_CAUSAL_NONE);
        check_refusals(h);
        int total = 0;
        MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        if (rank == 0) printf("test_ring on %d ranks: %d failed checks\n", ranks, total);
        rc = total ? 1 : 0;
    }
    clattn_handle_destroy(h);
    MPI_Finalize();
    return rc;
}
