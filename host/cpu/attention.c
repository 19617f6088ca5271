/* Fast CPU path of the fused attention (clattn_cpu_attention): the same semantics as
 * clattn_ref_attention, in float with an online softmax (running maximum and sum, rescaled
 * accumulators), never storing the M x N matrix.
 *
 * Work: a task is one (batch, group of query heads, block of query rows, KV split), at most
 * ROWS rows in all: with grouped-query heads and few rows (decoding) the query heads that
 * share a K/V head are the rows of one task, so K and V are read once per K/V head. Per block of
 * KEYS keys it repacks K transposed (so the key index is contiguous: the score loop's lanes
 * are keys, no reduction across lanes), computes a ROWS x KEYS score block with TR x TC
 * (8 x 32) register tiles, applies masks, does the online softmax in base 2 with a
 * vectorised exp2 and adds P V with the same register tiles over the value columns. Blocks
 * of fewer than TR rows (decoding) use dot products with the K rows instead. Causal blocks
 * past the diagonal are skipped, and heavy row blocks are handed out first. Few row tasks
 * and long N (decoding) split the keys into chunks merged at the end.
 *
 * Measured single-threaded on this machine's AVX-512 core (M = N = 2048): ~72-76 GFLOP/s at
 * D = 64 and ~83 at D = 128; perf: the score and P V tiles ~70% of the time, softmax ~20%. */
#include "status.h"
#include "size.h"
#include "attention_dtype.h"
#include "attention_desc.h"
#include "varlen.h"
#include "paged.h"
#include "cpu.h"
#include "philox.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define ROWS  128 /* query rows per task */
#define KEYS  64  /* keys per block */
#define TR    8   /* register tile: rows */
#define TC    32  /* register tile: keys (scores) or value columns (P V) */
#define LOG2E 1.4426950408889634f
#define LN2   0.6931471805599453

typedef struct attn_job {
    const clattn_attention_desc *desc;
    const float *q, *k, *v;
    const void *mask;
    float *o, *lse;
    size_t row_blocks, splits, keys_per_split;
    /* GQA: a task's rows are heads_per_task query heads (sharing one K/V head) times up to
     * rows_per_head of their query rows, so each K/V block is read once for all of them. */
    size_t heads_per_task, rows_per_head;
    const float *sinks; /* desc->sinks: [Hq] logits, else NULL */
    uint32_t drop_threshold;
    float drop_scale;
    float *partials; /* splits > 1: per (bh, row, split): m, l, l2, nan, acc[dv] */
    bool wide_tiles; /* use_wide_tiles() */
    atomic_int out_of_memory;
} attn_job;

/* Per-row state of the online softmax, in base 2: m the running max of t = s * log2(e),
 * l the sum of 2^(t - m) (softmax) or of s (SUM), l2 the softmax sum kept for the LSE under
 * SUM, nan set when a NaN score was seen (the row's outputs become NaN). */
typedef struct row_state {
    float m, l, l2;
    int nan;
} row_state;

/* Register tiles of the score and P V blocks, by the vector registers the CPU has (see
 * use_wide_tiles). AVX-512 (32 zmm): TR x TC = 8 x 32, 16 zmm accumulators, 2 loads + 8
 * broadcasts per 16 FMAs. AVX2 and narrower (16 ymm): TR_NARROW x TC_NARROW = 4 x 16, 8 ymm
 * accumulators + 2 operand rows + a broadcast; the 8 x 32 tile spilled there, every FMA
 * reading and writing its accumulator in memory (objdump -d of the x86-64-v3 clone, gcc 12).
 * rows_padded is a multiple of TR, so of TR_NARROW too. */
#define TR_NARROW 4
#define TC_NARROW 16

/* True when the CPU runs the AVX-512 clones (or the build targets AVX-512). The environment
 * variable CLATTN_CPU_TILES=wide|narrow forces one shape (both are correct everywhere; the
 * tests run each on every machine). */
static bool use_wide_tiles(void) {
    const char *env = getenv("CLATTN_CPU_TILES");
    if (env && strcmp(env, "wide") == 0) return true;
    if (env && strcmp(env, "narrow") == 0) return false;
#if defined(CLATTN_CPU_CLONES)
    return __builtin_cpu_supports("avx512f");
#elif defined(__AVX512F__)
    return true;
#else
    return false;
#endif
}

/* The leading keys of the block a tile of rows r .. r + tr needs: the most any of its rows
 * sees (seen[r], 0 for padding rows). Causal masking and sliding windows hide the keys past
 * that; their scores are overwritten with -inf and their weights are 0, so the tiles skip
 * them (block_not_finite sends blocks whose hidden weights would meet inf or NaN in V to
 * pv_rows_visible instead). */
static inline size_t tile_keys(const size_t *seen, size_t r, size_t tr) {
    size_t n = 0;
    for (size_t t = 0; t < tr; t++)
        n = seen[r + t] > n ? seen[r + t] : n;
    return n;
}

/* S[r][j] = sum_c Qs[r][c] * Kt[c][j] for rows_padded rows and the key tiles they need of the
 * KEYS keys (tile_keys). acc is a register tile: -fopt-info-vec reports the jj loops vectorised,
 * the t and jj loops have constant trip counts and unroll, and acc stays in registers (checked with
 * objdump -d, gcc 12: no stack accesses in the c loop). score_block_narrow is the same with the
 * AVX2 tile. */
CLATTN_CPU_HOT static void score_block_wide(const float *qs, const float *kt, size_t d,
                                            size_t rows_padded, const size_t *seen, float *s) {
    for (size_t r = 0; r < rows_padded; r += TR)
        for (size_t j0 = 0, need = tile_keys(seen, r, TR); j0 < need; j0 += TC) {
            float acc[TR][TC] = {{0}};
            for (size_t c = 0; c < d; c++) {
                const float *kr = kt + c * KEYS + j0;
                for (int t = 0; t < TR; t++) {
                    const float qv = qs[(r + t) * d + c];
                    for (int jj = 0; jj < TC; jj++)
                        acc[t][jj] += qv * kr[jj];
                }
            }
            for (int t = 0; t < TR; t++)
                memcpy(s + (r + t) * KEYS + j0, acc[t], sizeof acc[t]);
        }
}

CLATTN_CPU_HOT static void score_block_narrow(const float *qs, const float *kt, size_t d,
                                              size_t rows_padded, const size_t *seen, float *s) {
    for (size_t r = 0; r < rows_padded; r += TR_NARROW)
        for (size_t j0 = 0, need = tile_keys(seen, r, TR_NARROW); j0 < need; j0 += TC_NARROW) {
            /* The tile starts from the products of c = 0 (d >= 1): "= {0}" zeroed a stack
             * copy of it with a rep stos per tile, 12% of the function's time (perf). */
            float acc[TR_NARROW][TC_NARROW];
            for (int t = 0; t < TR_NARROW; t++) {
                const float qv = qs[(r + t) * d];
#pragma GCC unroll 1
                for (int jj = 0; jj < TC_NARROW; jj++)
                    acc[t][jj] = qv * kt[j0 + jj];
            }
            for (size_t c = 1; c < d; c++) {
                const float *kr = kt + c * KEYS + j0;
                for (int t = 0; t < TR_NARROW; t++) {
                    const float qv = qs[(r + t) * d + c];
#pragma GCC unroll 1 /* else unrolled before the vectoriser, which then takes the t loop */
                    for (int jj = 0; jj < TC_NARROW; jj++)
                        acc[t][jj] += qv * kr[jj];
                }
            }
            for (int t = 0; t < TR_NARROW; t++)
                memcpy(s + (r + t) * KEYS + j0, acc[t], sizeof acc[t]);
        }
}

static void score_block(bool wide, const float *qs, const float *kt, size_t d, size_t rows_padded,
                        const size_t *seen, float *s) {
    if (wide)
        score_block_wide(qs, kt, d, rows_padded, seen, s);
    else
        score_block_narrow(qs, kt, d, rows_padded, seen, s);
}

/* acc[r][c] += sum_j p[r][j] * V[j][c] for rows r0 .. r0 + rows and the columns c0 .. dv
 * past the register tiles, without tiles. */
static void pv_columns_rest(const float *p, const float *v, size_t v_stride, size_t kb, size_t dv,
                            size_t r0, size_t rows, size_t c0, float *acc_rows) {
    for (size_t r = r0; r < r0 + rows; r++) {
        float *out = acc_rows + r * dv;
        for (size_t j = 0; j < kb; j++) {
            const float pv = p[r * KEYS + j];
            const float *vr = v + j * v_stride;
            for (size_t c = c0; c < dv; c++)
                out[c] += pv * vr[c];
        }
    }
}

/* acc[r][c] += sum_j p[r][j] * V[j][c] for rows_padded rows, the keys each row tile needs
 * (tile_keys, at most kb), dv columns: register tiles over TC columns, the last dv % TC columns by
 * pv_columns_rest. pv_block_narrow is the same with the AVX2 tile. */
CLATTN_CPU_HOT static void pv_block_wide(const float *p, const float *v, size_t v_stride, size_t kb,
                                         size_t dv, size_t rows_padded, const size_t *seen,
                                         float *acc_rows) {
    for (size_t r = 0; r < rows_padded; r += TR) {
        const size_t need = tile_keys(seen, r, TR), keys = need < kb ? need : kb;
        size_t c0 = 0;
        for (; c0 + TC <= dv; c0 += TC) {
            float acc[TR][TC];
            for (int t = 0; t < TR; t++)
                memcpy(acc[t], acc_rows + (r + t) * dv + c0, sizeof acc[t]);
            for (size_t j = 0; j < keys; j++) {
                const float *vr = v + j * v_stride + c0;
                for (int t = 0; t < TR; t++) {
                    const float pv = p[(r + t) * KEYS + j];
                    for (int cc = 0; cc < TC; cc++)
                        acc[t][cc] += pv * vr[cc];
                }
            }
            for (int t = 0; t < TR; t++)
                memcpy(acc_rows + (r + t) * dv + c0, acc[t], sizeof acc[t]);
        }
        if (c0 < dv) pv_columns_rest(p, v, v_stride, keys, dv, r, TR, c0, acc_rows);
    }
}

CLATTN_CPU_HOT static void pv_block_narrow(const float *p, const float *v, size_t v_stride,
                                           size_t kb, size_t dv, size_t rows_padded,
                                           const size_t *seen, float *acc_rows) {
    for (size_t r = 0; r < rows_padded; r += TR_NARROW) {
        const size_t need = tile_keys(seen, r, TR_NARROW), keys = need < kb ? need : kb;
        size_t c0 = 0;
        for (; c0 + TC_NARROW <= dv; c0 += TC_NARROW) {
            float acc[TR_NARROW][TC_NARROW];
            for (int t = 0; t < TR_NARROW; t++)
                memcpy(acc[t], acc_rows + (r + t) * dv + c0, sizeof acc[t]);
            for (size_t j = 0; j < keys; j++) {
                const float *vr = v + j * v_stride + c0;
                for (int t = 0; t < TR_NARROW; t++) {
                    const float pv = p[(r + t) * KEYS + j];
#pragma GCC unroll 1 /* as in score_block_narrow */
                    for (int cc = 0; cc < TC_NARROW; cc++)
                        acc[t][cc] += pv * vr[cc];
                }
            }
            for (int t = 0; t < TR_NARROW; t++)
                memcpy(acc_rows + (r + t) * dv + c0, acc[t], sizeof acc[t]);
        }
        if (c0 < dv) pv_columns_rest(p, v, v_stride, keys, dv, r, TR_NARROW, c0, acc_rows);
    }
}

static void pv_block(bool wide, const float *p, const float *v, size_t v_stride, size_t kb,
                     size_t dv, size_t rows_padded, const size_t *seen, float *acc_rows) {
    if (wide)
        pv_block_wide(p, v, v_stride, kb, dv, rows_padded, seen, acc_rows);
    else
        pv_block_narrow(p, v, v_stride, kb, dv, rows_padded, seen, acc_rows);
}

/* Few rows (decoding, a short last block): dot products with the contiguous K rows, 16 lanes
 * each, instead of repacking K for a register tile that would be mostly padding. Keys outside:
 * each K row is used by all the rows (a GQA group's heads) while it is in L1. */
CLATTN_CPU_HOT static void score_rows_direct(const float *qs, const float *k, size_t k_stride,
                                             size_t d, size_t rows, size_t kb, float *s) {
    for (size_t j = 0; j < kb; j++)
        for (size_t r = 0; r < rows; r++) {
            const float *q = qs + r * d, *kr = k + j * k_stride;
            float lane[16] = {0}, tail = 0.0f;
            size_t c = 0;
            for (; c + 16 <= d; c += 16)
                for (int l = 0; l < 16; l++)
                    lane[l] += q[c + l] * kr[c + l];
            for (; c < d; c++)
                tail += q[c] * kr[c];
            s[r * KEYS + j] = clattn__hsum16(lane) + tail;
        }
}

CLATTN_CPU_HOT static void pv_rows_direct(const float *p, const float *v, size_t v_stride,
                                          size_t kb, size_t dv, size_t rows, float *acc) {
    for (size_t j = 0; j < kb; j++)
        for (size_t r = 0; r < rows; r++) {
            const float pj = p[r * KEYS + j], *vr = v + j * v_stride;
            float *out = acc + r * dv;
            for (size_t c = 0; c < dv; c++)
                out[c] += pj * vr[c];
        }
}

/* True when a V row of the block holds inf or NaN: a hidden key's weight 0 times it would
 * poison the row, so such a block takes pv_rows_visible instead of the register tiles. */
static bool block_not_finite(const float *v, size_t v_stride, size_t kb, size_t dv) {
    uint32_t bad = 0;
    for (size_t j = 0; j < kb; j++)
        for (size_t c = 0; c < dv; c++) {
            uint32_t u;
            memcpy(&u, v + j * v_stride + c, sizeof u);
            bad |= (u & 0x7f800000u) == 0x7f800000u;
        }
    return bad != 0;
}

/* acc += p V over the keys each row sees: hidden keys are skipped (selected), not multiplied
 * by their weight 0. */
static void pv_rows_visible(const float *p, const unsigned char *hidden, const float *v,
                            size_t v_stride, size_t kb, size_t dv, size_t rows, float *acc) {
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < kb; j++) {
            if (hidden[r * KEYS + j]) continue;
            const float pj = p[r * KEYS + j], *vr = v + j * v_stride;
            float *out = acc + r * dv;
            for (size_t c = 0; c < dv; c++)
                out[c] += pj * vr[c];
        }
}

/* hidden[j] = whether s[j] is -inf (a masked key), j < kb; returns whether any is. A clone of
 * its own: the same loop in attention_task stayed scalar, 11% of the time at GPT-2's shape. */
CLATTN_CPU_HOT static bool mark_hidden(const float *restrict s, size_t kb,
                                       unsigned char *restrict hidden) {
    int any = 0;
    for (size_t j = 0; j < kb; j++) {
        const int h = s[j] == -INFINITY;
        hidden[j] = (unsigned char)h;
        any |= h;
    }
    return any != 0;
}

/* Online softmax step for one row's block of scores s[0..KEYS) (masked entries -inf): turns
 * s into the weights p and returns the factor for the row's old accumulator. For SOFTMAX the
 * scores arrive in base 2 (Q and the additive mask are pre-scaled by log2(e)); for SUM they
 * are the natural scores, and the base-2 values are only needed for the maximum and the LSE. */
CLATTN_CPU_HOT static float softmax_step(row_state *st, float *s, bool sum_norm, bool want_l2) {
    const float to_base2 = sum_norm ? LOG2E : 1.0f;
    /* The block's maximum as an integer maximum of order-preserving keys of the float bits
     * (the compiler vectorises integer max and or reductions; a float compare-select loop
     * stays scalar without fast-math), and NaN detected from the bits. */
    float t[KEYS];
    int32_t kmax = INT32_MIN, nan = 0;
    for (size_t j = 0; j < KEYS; j++) {
        union {
            float f;
            int32_t i;
        } u = {.f = s[j] * to_base2};
        t[j] = u.f;
        const int32_t key = u.i ^ ((u.i >> 31) & 0x7fffffff);
        kmax = key > kmax ? key : kmax;
        nan |= (u.i & 0x7fffffff) > 0x7f800000;
    }
    union {
        float f;
        int32_t i;
    } umax = {.i = kmax ^ ((kmax >> 31) & 0x7fffffff)};
    st->nan |= nan;
    const float bmax = nan ? -INFINITY : umax.f; /* a NaN row's output is NaN anyway */
    const float m_new = bmax > st->m ? bmax : st->m;
    if (m_new == -INFINITY) { /* everything so far masked: nothing to add */
        for (size_t j = 0; j < KEYS; j++)
            s[j] = 0.0f;
        return 1.0f;
    }
    const float alpha = st->m == -INFINITY ? 0.0f : clattn__exp2_inline(st->m - m_new);
    st->m = m_new;
    float sum[16] = {0}, sum2[16] = {0}; /* 16 lane sums: vectorised, no reassociation */
    if (!sum_norm) {
#pragma GCC unroll 1
        for (size_t j0 = 0; j0 < KEYS; j0 += 16)
            for (int l = 0; l < 16; l++) {
                const float p = clattn__exp2_inline(t[j0 + l] - m_new);
                s[j0 + l] = p;
                sum[l] += p;
            }
        st->l = st->l * alpha + clattn__hsum16(sum);
        return alpha;
    }
    /* SUM: the weights are the scores themselves, masked ones 0; no rescaling. */
#pragma GCC unroll 1
    for (size_t j0 = 0; j0 < KEYS; j0 += 16)
        for (int l = 0; l < 16; l++) {
            const float x = s[j0 + l];
            if (want_l2) sum2[l] += clattn__exp2_inline(t[j0 + l] - m_new);
            s[j0 + l] = x == -INFINITY ? 0.0f : x;
            sum[l] += s[j0 + l];
        }
    st->l += clattn__hsum16(sum);
    st->l2 = st->l2 * alpha + clattn__hsum16(sum2);
    return 1.0f;
}

/* Writes one finished row: O = acc / l (zeros for a fully masked row, NaN after a NaN). An
 * attention sink joins here, once per row (after the split merge): it adds 2^(sink - m) to l
 * in base 2 and raises m when it is larger. */
static void finish_row(const attn_job *job, size_t b, size_t h, size_t i, const row_state *row,
                       const float *acc) {
    const clattn_attention_desc *d = job->desc;
    float *o = job->o + d->o.offset + b * d->o.stride[0] + h * d->o.stride[1] + i * d->o.stride[2];
    const bool sum_norm = d->norm == CLATTN_NORM_SUM;
    row_state sunk = *row;
    const row_state *st = &sunk;
    float acc_scale = 1.0f;
    if (job->sinks) {
        const float sink = job->sinks[h] * LOG2E;
        if (isnan(sink)) sunk.nan = 1;
        if (sunk.m != -INFINITY && sink > sunk.m) {
            acc_scale = exp2f(sunk.m - sink);
            sunk.l = sunk.l * acc_scale + 1.0f;
            sunk.m = sink;
        } else if (sunk.m != -INFINITY) {
            sunk.l += exp2f(sink - sunk.m);
        }
    }
    float lse;
    if (st->m == -INFINITY && job->sinks && !st->nan) { /* nothing attended: only the sink */
        for (size_t c = 0; c < d->dv; c++)
            o[c] = 0.0f;
        lse = job->sinks[h];
    } else if (st->nan) {
        for (size_t c = 0; c < d->dv; c++)
            o[c] = NAN;
        lse = NAN;
    } else if (st->m == -INFINITY) {
        for (size_t c = 0; c < d->dv; c++)
            o[c] = 0.0f;
        lse = -INFINITY;
    } else {
        if (sum_norm)
            for (size_t c = 0; c < d->dv; c++)
                o[c] = acc[c] / st->l;
        else {
            const float inv = acc_scale / st->l;
            for (size_t c = 0; c < d->dv; c++)
                o[c] = acc[c] * inv;
        }
        lse = (float)(((double)st->m + log2((double)(sum_norm ? st->l2 : st->l))) * LN2);
    }
    if (job->lse)
        job->lse[d->lse.offset + b * d->lse.stride[0] + h * d->lse.stride[1] +
                 i * d->lse.stride[2]] = lse;
}

/* Dropout on one row's block of weights p[0..kb) (keys j0 ..): zero or 1 / (1 - p) times,
 * by the Philox words of kernels/philox.h (one call per 4 keys). */
static void dropout_row(const attn_job *job, size_t bh, size_t i, size_t j0, size_t kb, float *p) {
    const clattn_attention_desc *d = job->desc;
    const uint64_t stream = d->dropout_offset + bh; /* bh = b * Hq + h */
    for (size_t j = j0 & ~(size_t)3; j < j0 + kb; j += 4) {
        const philox4 w = philox_dropout_words(d->dropout_seed, stream, i, j);
        for (size_t x = 0; x < 4; x++)
            if (j + x >= j0 && j + x < j0 + kb)
                p[j + x - j0] *= w.x[x] >= job->drop_threshold ? job->drop_scale : 0.0f;
    }
}

typedef struct task_buffers {
    float *qs, *kt, *s, *acc;
    row_state *st;
    unsigned char *hidden; /* [ROWS][KEYS]: the keys each row does not see */
} task_buffers;

static void attention_task(void *ctx, size_t task) {
    attn_job *job = ctx;
    const clattn_attention_desc *d = job->desc;
    const size_t splits = job->splits, blocks = job->row_blocks;
    const size_t split = task % splits;
    size_t rb = (task / splits) % blocks;
    const size_t hg = job->heads_per_task, head_tasks = d->q_heads / hg;
    const size_t bht = task / splits / blocks;
    if (d->causal != CLATTN_CAUSAL_NONE) rb = blocks - 1 - rb; /* heavy blocks first */
    const size_t b = bht / head_tasks, h0 = bht % head_tasks * hg;
    const size_t hk = h0 / (d->q_heads / d->kv_heads);
    /* Query rows r0 .. r0 + head_rows - 1 of heads h0 .. h0 + hg - 1: task row r is row
     * r0 + r % head_rows of head h0 + r / head_rows. */
    const size_t r0 = rb * job->rows_per_head;
    const size_t head_rows = d->m - r0 < job->rows_per_head ? d->m - r0 : job->rows_per_head;
    const size_t rows = hg * head_rows;
    const size_t rows_padded = (rows + TR - 1) / TR * TR;
    const size_t dd = d->d, dv = d->dv;
    const bool sum_norm = d->norm == CLATTN_NORM_SUM;
    const bool direct = rows < TR;
    /* Softmax works in base 2: scale the scores (through Q) and the mask by log2(e). */
    const float mask_scale = sum_norm ? 1.0f : LOG2E;
    const float qscale = d->scale * mask_scale;

    float *mem = malloc((ROWS * dd + dd * KEYS + ROWS * KEYS + ROWS * dv) * sizeof(float) +
                        ROWS * sizeof(row_state) + ROWS * KEYS);
    if (!mem) {
        atomic_store(&job->out_of_memory, 1);
        return;
    }
    task_buffers tb = {mem,
                       mem + ROWS * dd,
                       mem + ROWS * dd + dd * KEYS,
                       mem + ROWS * dd + dd * KEYS + ROWS * KEYS,
                       NULL,
                       NULL};
    tb.st = (row_state *)(tb.acc + ROWS * dv);
    tb.hidden = (unsigned char *)(tb.st + ROWS);

    /* Q rows scaled; padding rows repeat the last real row (computed, never stored). */
    const float *qb = job->q + d->q.offset + b * d->q.stride[0];
    for (size_t r = 0; r < rows_padded; r++) {
        const size_t rr = r < rows ? r : rows - 1;
        const float *qr =
            qb + (h0 + rr / head_rows) * d->q.stride[1] + (r0 + rr % head_rows) * d->q.stride[2];
        for (size_t c = 0; c < dd; c++)
            tb.qs[r * dd + c] = qr[c] * qscale;
    }
    memset(tb.acc, 0, ROWS * dv * sizeof(float));
    for (size_t r = 0; r < ROWS; r++)
        tb.st[r] = (row_state){-INFINITY, 0.0f, 0.0f, 0};

    /* Keys of this split, cut to what the block's last row may see. */
    size_t key_begin = split * job->keys_per_split;
    size_t key_end =
        key_begin + job->keys_per_split < d->n ? key_begin + job->keys_per_split : d->n;
    /* Rows further down see later keys (causal masking, the sliding window): the block's
     * first row starts the keys it needs, its last row ends them. */
    long long first_begin, first_end, last_begin, visible;
    clattn__attention_key_range(d, r0, &first_begin, &first_end);
    clattn__attention_key_range(d, r0 + head_rows - 1, &last_begin, &visible);
    /* Sink keys (left of the window) keep the split's start; the blocks between them and the
     * window are skipped below. */
    const size_t sink_keys = d->sink_keys;
    if (first_begin > (long long)key_begin && !sink_keys) key_begin = (size_t)first_begin;
    if (key_begin > key_end) key_begin = key_end;
    if (visible < (long long)key_end)
        key_end = visible < (long long)key_begin ? key_begin : (size_t)visible;
    /* Softcap and ALiBi in the scores' unit (base 2 for softmax). */
    const float softcap = d->softcap,
                cap_in = softcap > 0.0f ? 1.0f / (softcap * mask_scale) : 0.0f,
                cap_out = softcap * mask_scale;
    const long long offset = clattn__attention_offset(d);
    /* Each row's end of the keys it may see, and per key block the leading keys it sees
     * (score_block and pv_block skip the tiles past them). The scores start defined: the
     * skipped ones are overwritten with -inf below. */
    long long row_key_end[ROWS];
    size_t seen[ROWS];
    for (size_t r = 0; r < rows; r++) {
        long long begin;
        clattn__attention_key_range(d, r0 + r % head_rows, &begin, &row_key_end[r]);
    }
    memset(tb.s, 0, ROWS * KEYS * sizeof(float));

    const float *kb_base = job->k + d->k.offset + b * d->k.stride[0] + hk * d->k.stride[1];
    const float *vb_base = job->v + d->v.offset + b * d->v.stride[0] + hk * d->v.stride[1];
    const size_t mo_b = d->mask.offset + b * d->mask.stride[0];
    for (size_t j0 = key_begin; j0 < key_end; j0 += KEYS) {
        const size_t kb = key_end - j0 < KEYS ? key_end - j0 : KEYS;
        if (sink_keys && j0 >= sink_keys && (long long)(j0 + kb) <= first_begin) continue;
        if (direct) {
            score_rows_direct(tb.qs, kb_base + j0 * d->k.stride[2], d->k.stride[2], dd, rows, kb,
                              tb.s);
        } else {
            /* Kt[c][j], zero-padded to KEYS keys: contiguous reads of each K row (the stores
             * are buffered), rather than strided reads down the columns. */
            if (kb < KEYS) memset(tb.kt, 0, dd * KEYS * sizeof(float));
            for (size_t j = 0; j < kb; j++) {
                const float *kr = kb_base + (j0 + j) * d->k.stride[2];
                for (size_t c = 0; c < dd; c++)
                    tb.kt[c * KEYS + j] = kr[c];
            }
            for (size_t r = 0; r < rows_padded; r++) {
                const long long lim = r < rows ? row_key_end[r] - (long long)j0 : 0;
                seen[r] = lim < 0 ? 0 : (lim > (long long)kb ? kb : (size_t)lim);
            }
            score_block(job->wide_tiles, tb.qs, tb.kt, dd, rows_padded, seen, tb.s);
        }
        bool any_hidden = false;
        for (size_t r = 0; r < rows; r++) {
            float *s = tb.s + r * KEYS;
            const size_t i = r0 + r % head_rows, h = h0 + r / head_rows;
            const size_t mo = mo_b + h * d->mask.stride[1];
            const float slope =
                d->alibi ? (float)clattn__alibi_slope(h, d->q_heads) * mask_scale : 0.0f;
            if (softcap > 0.0f)
                for (size_t j = 0; j < kb; j++)
                    s[j] = cap_out * tanhf(s[j] * cap_in);
            if (slope != 0.0f) {
                const float rel0 = (float)((long long)j0 - (long long)i - offset);
                for (size_t j = 0; j < kb; j++)
                    s[j] += slope * (rel0 + (float)j);
            }
            if (d->mask_kind == CLATTN_MASK_ADDITIVE) {
                const float *mr = (const float *)job->mask + mo + i * d->mask.stride[2] + j0;
                for (size_t j = 0; j < kb; j++) /* -inf hides the key, even a NaN score */
                    s[j] = mr[j] == -INFINITY ? -INFINITY : s[j] + mr[j] * mask_scale;
            } else if (d->mask_kind == CLATTN_MASK_BOOLEAN) {
                const unsigned char *mr =
                    (const unsigned char *)job->mask + mo + i * d->mask.stride[2] + j0;
                for (size_t j = 0; j < kb; j++)
                    s[j] = mr[j] ? s[j] : -INFINITY;
            }
            long long row_begin, row_end;
            clattn__attention_key_range(d, i, &row_begin, &row_end);
            const long long lim = row_end - (long long)j0, low = row_begin - (long long)j0;
            size_t first_hidden = lim < 0 ? 0 : (lim > (long long)kb ? kb : (size_t)lim);
            for (size_t j = first_hidden; j < KEYS; j++)
                s[j] = -INFINITY;
            for (size_t j = j0 < sink_keys ? sink_keys - j0 : 0; (long long)j < low && j < kb; j++)
                s[j] = -INFINITY;
            any_hidden |= mark_hidden(s, kb, tb.hidden + r * KEYS);
            const float alpha = softmax_step(&tb.st[r], s, sum_norm, job->lse != NULL);
            if (job->drop_threshold) dropout_row(job, b * d->q_heads + h, i, j0, kb, s);
            if (alpha != 1.0f)
                for (size_t c = 0; c < dv; c++)
                    tb.acc[r * dv + c] *= alpha;
        }
        const float *vb = vb_base + j0 * d->v.stride[2];
        if (any_hidden && block_not_finite(vb, d->v.stride[2], kb, dv)) {
            pv_rows_visible(tb.s, tb.hidden, vb, d->v.stride[2], kb, dv, rows, tb.acc);
        } else if (direct) {
            pv_rows_direct(tb.s, vb, d->v.stride[2], kb, dv, rows, tb.acc);
        } else {
            for (size_t r = rows; r < rows_padded; r++)
                memset(tb.s + r * KEYS, 0, KEYS * sizeof(float));
            pv_block(job->wide_tiles, tb.s, vb, d->v.stride[2], kb, dv, rows_padded, seen, tb.acc);
        }
    }

    if (splits == 1) {
        for (size_t r = 0; r < rows; r++)
            finish_row(job, b, h0 + r / head_rows, r0 + r % head_rows, &tb.st[r], tb.acc + r * dv);
    } else {
        for (size_t r = 0; r < rows; r++) {
            const size_t bh = b * d->q_heads + h0 + r / head_rows;
            float *p =
                job->partials + ((bh * d->m + r0 + r % head_rows) * splits + split) * (dv + 4);
            p[0] = tb.st[r].m;
            p[1] = tb.st[r].l;
            p[2] = tb.st[r].l2;
            p[3] = (float)tb.st[r].nan;
            memcpy(p + 4, tb.acc + r * dv, dv * sizeof(float));
        }
    }
    free(mem);
}

/* Combines the splits of each row (rescaling each split's sums to the common maximum). */
static clattn_status merge_splits(attn_job *job) {
    const clattn_attention_desc *d = job->desc;
    const size_t dv = d->dv, splits = job->splits;
    float *acc = malloc(dv * sizeof *acc);
    if (!acc) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    const bool sum_norm = d->norm == CLATTN_NORM_SUM;
    for (size_t bh = 0; bh < d->batch * d->q_heads; bh++)
        for (size_t i = 0; i < d->m; i++) {
            const float *p = job->partials + (bh * d->m + i) * splits * (dv + 4);
            row_state st = {-INFINITY, 0.0f, 0.0f, 0};
            for (size_t s = 0; s < splits; s++) {
                const float m = p[s * (dv + 4)];
                st.m = m > st.m ? m : st.m;
                st.nan |= p[s * (dv + 4) + 3] != 0.0f;
            }
            memset(acc, 0, dv * sizeof *acc);
            if (st.m != -INFINITY)
                for (size_t s = 0; s < splits; s++) {
                    const float *ps = p + s * (dv + 4);
                    if (ps[0] == -INFINITY) continue;
                    const float f = exp2f(ps[0] - st.m);
                    st.l2 += ps[2] * f;
                    const float g = sum_norm ? 1.0f : f;
                    st.l += ps[1] * g;
                    for (size_t c = 0; c < dv; c++)
                        acc[c] += ps[4 + c] * g;
                }
            finish_row(job, bh / d->q_heads, bh % d->q_heads, i, &st, acc);
        }
    free(acc);
    return CLATTN_SUCCESS;
}

/* The same rules as the device and reference paths (host/attention_desc.c). */
static clattn_status validate(const clattn_attention_desc *d, const float *q, const float *k,
                              const float *v, const void *mask, const float *o, const float *lse) {
    clattn_status status = clattn__attention_check(d, lse ? CLATTN_DESC_LSE : 0u, NULL);
    if (status) return status;
    if (!q || !k || !v || !o)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: q, k, v and o are required");
    if (d->mask_kind != CLATTN_MASK_NONE && !mask)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER,
                            "attention: mask_kind is set but mask is NULL");
    return CLATTN_SUCCESS;
}

clattn_status clattn_cpu_attention(const clattn_attention_desc *desc, const float *q,
                                   const float *k, const float *v, const void *mask, float *o,
                                   float *lse) {
    const clattn_attention_arrays t = {.q = q, .k = k, .v = v, .mask = mask, .o = o, .lse = lse};
    return clattn_cpu_attention_ex(desc, &t);
}

static clattn_status dense_attention(const clattn_attention_desc *d, const float *q, const float *k,
                                     const float *v, const void *mask, const float *sinks, float *o,
                                     float *lse);
static clattn_status paged_attention(const clattn_attention_desc *d,
                                     const clattn_attention_arrays *t);

/* One varlen sequence (clattn__varlen_run): a dense problem of batch 1. */
static clattn_status dense_sequence(const clattn_attention_desc *seq,
                                    const clattn_attention_arrays *t) {
    return dense_attention(seq, t->q, t->k, t->v, t->mask, t->sinks, t->o, t->lse);
}

clattn_status clattn_cpu_attention_ex(const clattn_attention_desc *desc,
                                      const clattn_attention_arrays *t) {
    if (!t) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: tensors is NULL");
    clattn_status status = validate(desc, t->q, t->k, t->v, t->mask, t->o, t->lse);
    if (!status) status = clattn__attention_extras_check(desc, clattn__attention_arrays_given(t));
    if (!status) status = clattn__paged_check_arrays(desc, t->block_table, t->seqlens_k);
    if (status) return status;
    if (!clattn__attention_all_f32(desc)) { /* 2-byte tensors: as float32 copies */
        clattn_attention_widened w;
        if ((status = clattn__attention_widen(desc, t, &w))) return status;
        status = clattn_cpu_attention_ex(&w.desc, &w.arrays);
        clattn__attention_narrow(&w, !status);
        return status;
    }
    if (desc->varlen) {
        status = clattn__varlen_run(desc, t, dense_sequence);
    } else if (desc->page_size) {
        status = paged_attention(desc, t);
    } else {
        status = dense_attention(desc, t->q, t->k, t->v, t->mask, t->sinks, t->o, t->lse);
    }
    if (!status) clattn__clear_error();
    return status;
}

/* A paged KV cache: sequence by sequence, its keys gathered from their pages into dense K and
 * V [Hkv, n_b, D] (a copy of O(n_b D), small next to the attention's O(M n_b D) work; the
 * OpenCL CPU shape gathers the same way in its pack kernel), then the dense attention of that
 * sequence with N = n_b. */
static clattn_status paged_attention(const clattn_attention_desc *d,
                                     const clattn_attention_arrays *t) {
    const size_t hkv = d->kv_heads, P = d->page_size;
    float *kd = malloc(hkv * d->n * d->d * sizeof *kd);
    float *vd = malloc(hkv * d->n * d->dv * sizeof *vd);
    clattn_status status = CLATTN_SUCCESS;
    if (!kd || !vd) status = clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (size_t b = 0; b < d->batch && !status; b++) {
        const size_t nb = (size_t)t->seqlens_k[b];
        clattn_attention_desc s = *d;
        s.batch = 1;
        s.page_size = s.num_pages = s.max_pages = 0;
        s.q.offset += b * d->q.stride[0];
        s.o.offset += b * d->o.stride[0];
        s.lse.offset += b * d->lse.stride[0];
        s.mask.offset += b * d->mask.stride[0];
        s.dropout_offset += b * d->q_heads; /* the kernels' Philox stream b * Hq + h */
        if (!nb) { /* no keys: every row is fully masked (LSE: the sink logit if any) */
            for (size_t h = 0; h < d->q_heads; h++)
                for (size_t i = 0; i < d->m; i++) {
                    float *orow = t->o + s.o.offset + h * s.o.stride[1] + i * s.o.stride[2];
                    memset(orow, 0, d->dv * sizeof *orow);
                    if (t->lse)
                        t->lse[s.lse.offset + h * s.lse.stride[1] + i * s.lse.stride[2]] =
                            d->sinks ? t->sinks[h] : -INFINITY;
                }
            continue;
        }
        for (size_t h = 0; h < hkv; h++)
            for (size_t j = 0; j < nb; j++) {
                const size_t page = (size_t)t->block_table[b * d->max_pages + j / P];
                const float *kr = t->k + d->k.offset + page * d->k.stride[0] + h * d->k.stride[1] +
                                  (j % P) * d->k.stride[2];
                const float *vr = t->v + d->v.offset + page * d->v.stride[0] + h * d->v.stride[1] +
                                  (j % P) * d->v.stride[2];
                memcpy(kd + (h * nb + j) * d->d, kr, d->d * sizeof *kd);
                memcpy(vd + (h * nb + j) * d->dv, vr, d->dv * sizeof *vd);
            }
        s.n = nb;
        s.k = (clattn_layout){0, {hkv * nb * d->d, nb * d->d, d->d}};
        s.v = (clattn_layout){0, {hkv * nb * d->dv, nb * d->dv, d->dv}};
        status = dense_attention(&s, t->q, kd, vd, t->mask, t->sinks, t->o, t->lse);
    }
    free(kd);
    free(vd);
    return status;
}

static clattn_status dense_attention(const clattn_attention_desc *d, const float *q, const float *k,
                                     const float *v, const void *mask, const float *sinks, float *o,
                                     float *lse) {
    clattn_status status = CLATTN_SUCCESS;
    attn_job job = {.desc = d, .q = q, .k = k, .v = v, .mask = mask, .o = o, .lse = lse};
    job.sinks = d->sinks ? sinks : NULL;
    job.drop_threshold = philox_dropout_threshold(d->dropout);
    job.drop_scale = (float)(1.0 / (1.0 - (double)d->dropout));
    atomic_init(&job.out_of_memory, 0);
    job.wide_tiles = use_wide_tiles();
    /* GQA with fewer rows than a task holds: the group's heads share the task (and each
     * K/V block read); else one head per task. */
    const size_t group = d->q_heads / d->kv_heads;
    job.heads_per_task = group > 1 && group * d->m <= ROWS ? group : 1;
    job.rows_per_head = ROWS / job.heads_per_task;
    job.row_blocks = (d->m + job.rows_per_head - 1) / job.rows_per_head;
    const size_t bh = d->batch * d->q_heads / job.heads_per_task; /* head tasks */
    const unsigned threads =
        clattn__cpu_threads_for(4.0 * (double)(d->batch * d->q_heads) * d->m * d->n * d->d);
    /* Split the keys when there are fewer row tasks than threads (decoding). */
    job.splits = 1;
    size_t want = d->kv_splits;
    if (want == 0 && bh * job.row_blocks < 2u * threads && d->n >= 8 * KEYS)
        want = (4u * threads + bh * job.row_blocks - 1) / (bh * job.row_blocks);
    if (want > 1) {
        size_t per = (d->n + want - 1) / want;
        per = (per + KEYS - 1) / KEYS * KEYS;
        job.splits = (d->n + per - 1) / per;
        job.keys_per_split = per;
    }
    if (job.splits <= 1) {
        job.splits = 1;
        job.keys_per_split = d->n;
    } else {
        size_t count;
        if (!clattn__mul_size(d->batch * d->q_heads * d->m * job.splits, d->dv + 4, &count) ||
            !(job.partials = malloc(count * sizeof(float))))
            return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    clattn__cpu_parallel(bh * job.row_blocks * job.splits, threads, attention_task, &job);
    if (atomic_load(&job.out_of_memory))
        status = clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    else if (job.splits > 1)
        status = merge_splits(&job);
    free(job.partials);
    return status;
}
