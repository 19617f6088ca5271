/* clattn_mpi.h: ring attention across the ranks of an MPI communicator (library clattn_mpi,
 * built when CMake finds MPI: -DCLATTN_WITH_MPI=AUTO|ON|OFF).
 *
 * Each rank holds its own rows of Q, K and V (its "shard") and a clattn handle on its own
 * device. K/V shards travel around the ring (rank r sends to r + 1 and receives from r - 1)
 * with non-blocking sends and receives overlapped with the attention of the shard in hand;
 * each rank merges its partial outputs by their log-sum-exp (exact online-softmax merge), so
 * the result equals single-device attention over the whole sequence up to float32 rounding.
 *
 * clattn_mpi is a static library that brings the static clattn with it (it uses the library's
 * internal merge and error message): link clattn::clattn_mpi instead of clattn::clattn. */
#ifndef CLATTN_MPI_H
#define CLATTN_MPI_H

#include <mpi.h>

#include "clattn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Self-attention over a sequence of n tokens split across the ranks; softmax only (a SUM
 * normalisation cannot be merged by log-sum-exp: INVALID_VALUE). */
typedef struct clattn_ring_desc {
    size_t batch, q_heads, kv_heads; /* q_heads a multiple of kv_heads (grouped-query) */
    size_t n;                        /* the whole sequence length (rows of Q, K and V) */
    size_t d, dv;
    float scale;          /* default 1 / sqrt(d) */
    clattn_norm norm;     /* SOFTMAX only */
    clattn_causal causal; /* NONE or TOP_LEFT */
    /* Seconds any rank waits for a peer before giving up with CLATTN_ERROR_COMMUNICATION;
     * 0: the environment variable CLATTN_RING_TIMEOUT_S, else 60. */
    double timeout_s;
} clattn_ring_desc;

/* Fills *desc: scale 1/sqrt(d), softmax, not causal, timeout from the environment. */
void clattn_ring_desc_init(clattn_ring_desc *desc, size_t batch, size_t q_heads, size_t kv_heads,
                           size_t n, size_t d, size_t dv);

/* The rows of the sequence a rank holds: `count` pieces (1, or 2 when causal) of
 * rows[i].length rows from global row rows[i].start, in this order in the shard.
 * - Not causal: n split into `ranks` contiguous blocks, the first n % ranks one row longer.
 * - Causal (zig-zag, so that every rank has the same work): n split likewise into 2 * ranks
 *   chunks; rank r holds chunks r and 2 * ranks - 1 - r.
 * A piece may be empty when n is small. shard_rows is the sum of the lengths. */
typedef struct clattn_ring_piece {
    size_t start, length;
} clattn_ring_piece;
typedef struct clattn_ring_rows {
    size_t count, shard_rows;
    clattn_ring_piece piece[2];
} clattn_ring_rows;
clattn_status clattn_ring_rows_of(const clattn_ring_desc *desc, int rank, int ranks,
                                  clattn_ring_rows *rows);

/* Collective over comm: every rank calls it with the same desc (checked: one small allreduce;
 * a mismatch, or any rank's bad arguments, is refused on every rank with INVALID_SHAPE or the
 * failing rank's status before any K/V moves). q, k, v are this rank's shards, packed
 * [B, Hq, shard_rows, D], [B, Hkv, shard_rows, D], [B, Hkv, shard_rows, Dv]; o receives
 * [B, Hq, shard_rows, Dv] and lse (may be NULL) [B, Hq, shard_rows] (natural log). Rows
 * follow clattn_ring_rows_of. Causal masking is top-left over the global sequence.
 *
 * Failure: a rank whose own work fails keeps passing the ring on, and every rank returns an
 * error (the failing rank's status, the others CLATTN_ERROR_COMMUNICATION) after a final
 * agreement; a peer that stops answering (crashed, hung) makes the others return
 * CLATTN_ERROR_COMMUNICATION after desc->timeout_s. After a communication error the state of
 * comm is unknown (requests may be pending): call MPI_Abort. MPI errors are returned, not
 * fatal, only if comm's error handler is MPI_ERRORS_RETURN (the default aborts the job).
 * Thread safety: as clattn_attention on the handle, and MPI's own rules for comm. */
clattn_status clattn_ring_attention(clattn_handle *handle, MPI_Comm comm,
                                    const clattn_ring_desc *desc, const float *q, const float *k,
                                    const float *v, float *o, float *lse);

/* Statistics of this rank's last clattn_ring_attention on this thread (for benchmarks). */
typedef struct clattn_ring_stats {
    size_t steps;      /* ring steps (the number of ranks) */
    size_t bytes_sent; /* K/V bytes this rank sent */
    double seconds;    /* whole call */
    double compute_s;  /* in clattn_attention and the merge */
    double wait_s;     /* waiting for the ring after the compute of a step */
} clattn_ring_stats;
void clattn_ring_last_stats(clattn_ring_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
