/* Ring attention: the K/V shards travel around the ranks (r sends to r + 1, receives from
 * r - 1) while each rank attends its queries to the shard in hand and merges the partial
 * outputs by their log-sum-exp. */
#include "clattn_mpi.h"
#include "lse_merge.h"
#include "ring_comm.h"
#include "ring_rows.h"
#include "size.h"
#include "status.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RING_TAG 0x2a11

static _Thread_local clattn_ring_stats last_stats;

void clattn_ring_last_stats(clattn_ring_stats *stats) {
    if (stats) *stats = last_stats;
}

/* Everything one call allocates. kv[i] holds a K/V message: a flag (1: some rank on the path
 * failed), then K [B, Hkv, rows, D], then V [B, Hkv, rows, Dv] of the sending shard. */
typedef struct ring_buffers {
    float *kv[2];
    float *acc_o[2], *acc_lse[2]; /* per own piece, packed [B, Hq, length, Dv] / [.., length] */
    float *part_o, *part_lse;     /* one (query piece, key piece) result */
    size_t kv_capacity;           /* floats in each kv[i] */
} ring_buffers;

static void free_buffers(ring_buffers *b) {
    for (int i = 0; i < 2; i++) {
        free(b->kv[i]);
        free(b->acc_o[i]);
        free(b->acc_lse[i]);
    }
    free(b->part_o);
    free(b->part_lse);
    memset(b, 0, sizeof *b);
}

/* floats of the K/V message of a shard of `rows` rows, flag included. */
static bool kv_floats(const clattn_ring_desc *desc, size_t rows, size_t *out) {
    size_t per_row = desc->d + desc->dv, heads = 0, all = 0;
    return clattn__mul_size(desc->batch, desc->kv_heads, &heads) &&
           clattn__mul_size(heads, rows, &all) && clattn__mul_size(all, per_row, &all) &&
           all < SIZE_MAX && (*out = all + 1, true);
}

static clattn_status check_arguments(clattn_handle *handle, const clattn_ring_desc *desc,
                                     const float *q, const float *k, const float *v,
                                     const float *o) {
    if (!handle || !q || !k || !v || !o)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "ring attention: NULL handle or array");
    if (desc->norm != CLATTN_NORM_SOFTMAX)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "ring attention: softmax only (partial results of other "
                            "normalisations cannot be merged by their log-sum-exp)");
    if (desc->causal != CLATTN_CAUSAL_NONE && desc->causal != CLATTN_CAUSAL_TOP_LEFT)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "ring attention: causal masking is NONE or TOP_LEFT");
    if (!desc->batch || !desc->q_heads || !desc->kv_heads || !desc->n || !desc->d || !desc->dv ||
        desc->d > 256 || desc->dv > 256)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "ring attention: sizes must be > 0 and d, dv <= 256");
    if (desc->q_heads % desc->kv_heads)
        return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                            "ring attention: %zu query heads are not a multiple of %zu K/V heads",
                            desc->q_heads, desc->kv_heads);
    if (!isfinite(desc->scale))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "ring attention: the scale is not finite");
    return CLATTN_SUCCESS;
}

static clattn_status allocate(const clattn_ring_desc *desc, const clattn_ring_rows *rows, int ranks,
                              ring_buffers *b) {
    size_t largest_shard = 0, largest_piece = 0;
    for (int r = 0; r < ranks; r++) {
        clattn_ring_rows other;
        clattn__ring_rows(desc, (size_t)r, (size_t)ranks, &other);
        if (other.shard_rows > largest_shard) largest_shard = other.shard_rows;
    }
    for (size_t i = 0; i < rows->count; i++)
        if (rows->piece[i].length > largest_piece) largest_piece = rows->piece[i].length;
    size_t rows_q = 0, part = 0;
    if (!kv_floats(desc, largest_shard, &b->kv_capacity) ||
        !clattn__mul_size(desc->batch, desc->q_heads, &rows_q) ||
        !clattn__mul_size(rows_q, largest_piece, &rows_q) ||
        !clattn__mul_size(rows_q, desc->dv, &part) || part > SIZE_MAX / sizeof(float) ||
        b->kv_capacity > SIZE_MAX / sizeof(float))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "ring attention: sizes overflow");
    if (b->kv_capacity > INT_MAX)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "ring attention: a K/V shard of %zu floats exceeds MPI's int count "
                            "(use more ranks)",
                            b->kv_capacity);
    bool ok = true;
    for (int i = 0; i < 2; i++)
        ok = ok && (b->kv[i] = malloc(b->kv_capacity * sizeof(float)));
    /* +1: malloc(0) may return NULL when every own piece is empty (tiny n). */
    ok = ok && (b->part_o = malloc((part + 1) * sizeof(float))) &&
         (b->part_lse = malloc((rows_q + 1) * sizeof(float)));
    for (size_t i = 0; ok && i < rows->count; i++) {
        const size_t piece_rows = desc->batch * desc->q_heads * rows->piece[i].length;
        ok = (b->acc_o[i] = malloc((piece_rows * desc->dv + 1) * sizeof(float))) &&
             (b->acc_lse[i] = malloc((piece_rows + 1) * sizeof(float)));
        for (size_t j = 0; ok && j < piece_rows * desc->dv; j++)
            b->acc_o[i][j] = 0.0f;
        for (size_t j = 0; ok && j < piece_rows; j++)
            b->acc_lse[i][j] = -INFINITY;
    }
    if (!ok) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "ring attention: out of memory");
    return CLATTN_SUCCESS;
}

/* Collective: every rank learns whether all agree on the shape and whether any refused its
 * own arguments. Each value x travels as x and -x through one MPI_MAX allreduce, which gives
 * the maximum and minus the minimum over the ranks at once. */
enum { AGREE_VALUES = 9, AGREE_SLOTS = 2 * AGREE_VALUES + 2 };

static clattn_status agree(MPI_Comm comm, const clattn_ring_desc *desc, int rank,
                           clattn_status local, double timeout_s) {
    static const char *const names[AGREE_VALUES] = {"batch", "q_heads", "kv_heads", "n",    "d",
                                                    "dv",    "causal",  "norm",     "scale"};
    long long values[AGREE_VALUES] = {0}, slots[AGREE_SLOTS], reduced[AGREE_SLOTS];
    if (desc) {
        uint32_t scale_bits;
        memcpy(&scale_bits, &desc->scale, sizeof scale_bits);
        const size_t sizes[6] = {desc->batch, desc->q_heads, desc->kv_heads,
                                 desc->n,     desc->d,       desc->dv};
        for (int i = 0; i < 6; i++)
            values[i] = sizes[i] > LLONG_MAX ? LLONG_MAX : (long long)sizes[i];
        values[6] = desc->causal;
        values[7] = desc->norm;
        values[8] = scale_bits;
    }
    for (int i = 0; i < AGREE_VALUES; i++) {
        slots[2 * i] = values[i];
        slots[2 * i + 1] = -values[i];
    }
    slots[2 * AGREE_VALUES] = local ? rank + 1 : 0;
    slots[2 * AGREE_VALUES + 1] = local ? -(long long)local : 0;
    MPI_Request request;
    if (MPI_Iallreduce(slots, reduced, AGREE_SLOTS, MPI_LONG_LONG, MPI_MAX, comm, &request) !=
        MPI_SUCCESS)
        return clattn__fail(CLATTN_ERROR_COMMUNICATION, "ring attention: MPI_Iallreduce failed");
    clattn_status status = clattn__ring_wait(&request, 1, timeout_s, "checking the shapes");
    if (status) return status;
    if (local) return local; /* keeps this rank's own message */
    if (reduced[2 * AGREE_VALUES])
        return clattn__fail((clattn_status)-reduced[2 * AGREE_VALUES + 1],
                            "ring attention: rank %lld refused its arguments (%s)",
                            reduced[2 * AGREE_VALUES] - 1,
                            clattn_status_string((clattn_status)-reduced[2 * AGREE_VALUES + 1]));
    for (int i = 0; i < AGREE_VALUES; i++)
        if (reduced[2 * i] != -reduced[2 * i + 1])
            return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                                "ring attention: the ranks disagree on %s (from %lld to %lld)",
                                names[i], -reduced[2 * i + 1], reduced[2 * i]);
    return CLATTN_SUCCESS;
}

/* Attention of own piece qi to piece ki of the shard in kv (laid out as src_rows says) into
 * part_o / part_lse; *used false when causal masking hides the whole pair (or it is empty). */
static clattn_status attend_pair(clattn_handle *handle, const clattn_ring_desc *desc,
                                 const clattn_ring_rows *own, size_t qi, const float *q,
                                 const clattn_ring_rows *src, size_t ki, const float *kv,
                                 ring_buffers *b, bool *used) {
    const clattn_ring_piece qp = own->piece[qi], kp = src->piece[ki];
    *used = false;
    if (!qp.length || !kp.length) return CLATTN_SUCCESS;
    const bool causal = desc->causal != CLATTN_CAUSAL_NONE;
    if (causal && kp.start > qp.start) return CLATTN_SUCCESS; /* every key is in the future */
    size_t q_off = 0, k_off = 0;
    for (size_t i = 0; i < qi; i++)
        q_off += own->piece[i].length;
    for (size_t i = 0; i < ki; i++)
        k_off += src->piece[i].length;
    const size_t d = desc->d, dv = desc->dv, sq = own->shard_rows, sk = src->shard_rows;
    clattn_attention_desc a;
    clattn_attention_desc_init(&a, desc->batch, desc->q_heads, desc->kv_heads, qp.length, kp.length,
                               d, dv);
    a.scale = desc->scale;
    /* The same chunk on both sides (equal lengths): the diagonal block, top-left causal. */
    a.causal = causal && kp.start == qp.start ? CLATTN_CAUSAL_TOP_LEFT : CLATTN_CAUSAL_NONE;
    a.q = (clattn_layout){q_off * d, {desc->q_heads * sq * d, sq * d, d}};
    a.k = (clattn_layout){k_off * d, {desc->kv_heads * sk * d, sk * d, d}};
    a.v = (clattn_layout){k_off * dv, {desc->kv_heads * sk * dv, sk * dv, dv}};
    const float *k = kv + 1, *v = kv + 1 + desc->batch * desc->kv_heads * sk * d;
    *used = true;
    return clattn_attention(handle, &a, q, k, v, NULL, b->part_o, b->part_lse);
}

/* One ring step's compute: every own piece against every piece of the shard in hand. */
static clattn_status compute_step(clattn_handle *handle, const clattn_ring_desc *desc,
                                  const clattn_ring_rows *own, const float *q,
                                  const clattn_ring_rows *src, const float *kv, ring_buffers *b) {
    for (size_t qi = 0; qi < own->count; qi++) {
        for (size_t ki = 0; ki < src->count; ki++) {
            bool used = false;
            clattn_status status = attend_pair(handle, desc, own, qi, q, src, ki, kv, b, &used);
            if (status) return status;
            if (used)
                clattn__lse_merge_into(desc->batch * desc->q_heads * own->piece[qi].length,
                                       desc->dv, b->acc_o[qi], b->acc_lse[qi], b->part_o,
                                       b->part_lse);
        }
    }
    return CLATTN_SUCCESS;
}

/* The merged pieces into the caller's shard-shaped O and LSE. */
static void write_output(const clattn_ring_desc *desc, const clattn_ring_rows *own,
                         const ring_buffers *b, float *o, float *lse) {
    const size_t bh = desc->batch * desc->q_heads, dv = desc->dv, s = own->shard_rows;
    size_t off = 0;
    for (size_t i = 0; i < own->count; i++) {
        const size_t len = own->piece[i].length;
        for (size_t h = 0; h < bh && len; h++) {
            memcpy(o + (h * s + off) * dv, b->acc_o[i] + h * len * dv, len * dv * sizeof *o);
            if (lse) memcpy(lse + h * s + off, b->acc_lse[i] + h * len, len * sizeof *lse);
        }
        off += len;
    }
}

/* Agreement after the ring: every rank learns whether any failed (its own work, or a
 * message flagged on the way) and which. */
static clattn_status agree_outcome(MPI_Comm comm, int rank, clattn_status local, double timeout_s) {
    long long slots[2] = {local ? rank + 1 : 0, local ? -(long long)local : 0}, reduced[2];
    MPI_Request request;
    if (MPI_Iallreduce(slots, reduced, 2, MPI_LONG_LONG, MPI_MAX, comm, &request) != MPI_SUCCESS)
        return clattn__fail(CLATTN_ERROR_COMMUNICATION, "ring attention: MPI_Iallreduce failed");
    clattn_status status = clattn__ring_wait(&request, 1, timeout_s, "agreeing on the outcome");
    if (status || local) return status ? status : local;
    if (reduced[0])
        return clattn__fail(CLATTN_ERROR_COMMUNICATION, "ring attention: rank %lld failed (%s)",
                            reduced[0] - 1, clattn_status_string((clattn_status)-reduced[1]));
    return CLATTN_SUCCESS;
}

clattn_status clattn_ring_attention(clattn_handle *handle, MPI_Comm comm,
                                    const clattn_ring_desc *desc, const float *q, const float *k,
                                    const float *v, float *o, float *lse) {
    const double start = MPI_Wtime();
    memset(&last_stats, 0, sizeof last_stats);
    int rank = 0, ranks = 0;
    if (comm == MPI_COMM_NULL || MPI_Comm_rank(comm, &rank) != MPI_SUCCESS ||
        MPI_Comm_size(comm, &ranks) != MPI_SUCCESS)
        return clattn__fail(CLATTN_ERROR_COMMUNICATION, "ring attention: invalid communicator");
    const double timeout_s = desc ? clattn__ring_timeout(desc) : 60.0;
    clattn_ring_rows own = {0};
    ring_buffers b = {0};
    clattn_status local =
        desc ? check_arguments(handle, desc, q, k, v, o)
             : clattn__fail(CLATTN_ERROR_NULL_POINTER, "ring attention: NULL descriptor");
    if (!local) clattn__ring_rows(desc, (size_t)rank, (size_t)ranks, &own);
    if (!local) local = allocate(desc, &own, ranks, &b);
    clattn_status status = agree(comm, desc, rank, local, timeout_s);
    if (status) {
        free_buffers(&b);
        return status;
    }

    /* The own K and V into the first message buffer. */
    const size_t kv_heads = desc->batch * desc->kv_heads, s = own.shard_rows;
    b.kv[0][0] = 0.0f;
    memcpy(b.kv[0] + 1, k, kv_heads * s * desc->d * sizeof(float));
    memcpy(b.kv[0] + 1 + kv_heads * s * desc->d, v, kv_heads * s * desc->dv * sizeof(float));
    const int right = (rank + 1) % ranks, left = (rank + ranks - 1) % ranks;
    last_stats.steps = (size_t)ranks;
    int cur = 0;
    clattn_status failed = CLATTN_SUCCESS; /* this rank's own failure */
    bool path_failed = false;              /* a failure flagged by an earlier rank */
    for (int step = 0; step < ranks; step++) {
        const int src_rank = (rank + ranks - step) % ranks;
        clattn_ring_rows src;
        clattn__ring_rows(desc, (size_t)src_rank, (size_t)ranks, &src);
        MPI_Request requests[2];
        const bool pass_on = step + 1 < ranks;
        if (pass_on) {
            size_t count = 0;
            kv_floats(desc, src.shard_rows, &count);
            b.kv[cur][0] = failed || path_failed ? 1.0f : 0.0f;
            if (MPI_Irecv(b.kv[1 - cur], (int)b.kv_capacity, MPI_FLOAT, left, RING_TAG, comm,
                          &requests[0]) != MPI_SUCCESS ||
                MPI_Isend(b.kv[cur], (int)count, MPI_FLOAT, right, RING_TAG, comm, &requests[1]) !=
                    MPI_SUCCESS)
                return clattn__fail(CLATTN_ERROR_COMMUNICATION,
                                    "ring attention: posting step %d's send/receive failed", step);
            last_stats.bytes_sent += (count - 1) * sizeof(float);
        }
        const double compute_start = MPI_Wtime();
        if (!failed && (failed = clattn__ring_step_hook(rank, (size_t)step)))
            clattn__fail(failed, "ring attention: rank %d's step %d failed (test hook)", rank,
                         step);
        if (!failed && !path_failed)
            failed = compute_step(handle, desc, &own, q, &src, b.kv[cur], &b);
        const double compute_end = MPI_Wtime();
        last_stats.compute_s += compute_end - compute_start;
        if (pass_on) {
            status = clattn__ring_wait(requests, 2, timeout_s, "passing K/V around the ring");
            if (status) {
                /* A peer is gone or hangs: the buffers stay allocated, since MPI may still
                 * write into them; the caller aborts the job. */
                for (int i = 0; i < 2; i++)
                    if (requests[i] != MPI_REQUEST_NULL) MPI_Cancel(&requests[i]);
                return status;
            }
            last_stats.wait_s += MPI_Wtime() - compute_end;
            cur = 1 - cur;
            if (b.kv[cur][0] != 0.0f) path_failed = true;
        }
    }
    status = agree_outcome(comm, rank, failed, timeout_s);
    if (!status) write_output(desc, &own, &b, o, lse);
    free_buffers(&b);
    last_stats.seconds = MPI_Wtime() - start;
    if (!status) clattn__clear_error();
    return status;
}
