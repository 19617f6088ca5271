/* Which rows of the sequence each rank holds (contiguous blocks, or zig-zag chunks when causal),
 * and the descriptor's defaults. */
#include "ring_rows.h"
#include "status.h"

#include <math.h>

void clattn_ring_desc_init(clattn_ring_desc *desc, size_t batch, size_t q_heads, size_t kv_heads,
                           size_t n, size_t d, size_t dv) {
    if (!desc) return;
    *desc = (clattn_ring_desc){.batch = batch,
                               .q_heads = q_heads,
                               .kv_heads = kv_heads,
                               .n = n,
                               .d = d,
                               .dv = dv,
                               .scale = d ? (float)(1.0 / sqrt((double)d)) : 1.0f,
                               .norm = CLATTN_NORM_SOFTMAX,
                               .causal = CLATTN_CAUSAL_NONE,
                               .timeout_s = 0.0};
}

/* Chunk c of n rows split into `chunks` parts, the first n % chunks one row longer. */
static clattn_ring_piece chunk(size_t n, size_t chunks, size_t c) {
    const size_t base = n / chunks, extra = n % chunks;
    clattn_ring_piece p;
    p.start = c * base + (c < extra ? c : extra);
    p.length = base + (c < extra ? 1 : 0);
    return p;
}

void clattn__ring_rows(const clattn_ring_desc *desc, size_t rank, size_t ranks,
                       clattn_ring_rows *rows) {
    if (desc->causal == CLATTN_CAUSAL_NONE) {
        rows->count = 1;
        rows->piece[0] = chunk(desc->n, ranks, rank);
    } else {
        /* Zig-zag: an early chunk (little causal work) paired with a late one (much). */
        rows->count = 2;
        rows->piece[0] = chunk(desc->n, 2 * ranks, rank);
        rows->piece[1] = chunk(desc->n, 2 * ranks, 2 * ranks - 1 - rank);
    }
    rows->shard_rows = 0;
    for (size_t i = 0; i < rows->count; i++)
        rows->shard_rows += rows->piece[i].length;
}

clattn_status clattn_ring_rows_of(const clattn_ring_desc *desc, int rank, int ranks,
                                  clattn_ring_rows *rows) {
    if (!desc || !rows) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "ring rows: NULL pointer");
    if (ranks < 1 || rank < 0 || rank >= ranks)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "ring rows: rank %d of %d ranks", rank,
                            ranks);
    clattn__ring_rows(desc, (size_t)rank, (size_t)ranks, rows);
    clattn__clear_error();
    return CLATTN_SUCCESS;
}
