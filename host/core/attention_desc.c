/* clattn_attention_desc: defaults, validation and tensor extents. */
#include "attention_desc.h"
#include "status.h"
#include "size.h"
#include "varlen.h"
#include "dtype.h"

#include <math.h>
#include <string.h>

void clattn_attention_desc_init(clattn_attention_desc *desc, size_t batch, size_t q_heads,
                                size_t kv_heads, size_t m, size_t n, size_t d, size_t dv) {
    if (!desc) return;
    memset(desc, 0, sizeof *desc);
    desc->batch = batch;
    desc->q_heads = q_heads;
    desc->kv_heads = kv_heads;
    desc->m = m;
    desc->n = n;
    desc->d = d;
    desc->dv = dv;
    desc->scale = d ? (float)(1.0 / sqrt((double)d)) : 1.0f;
    desc->norm = CLATTN_NORM_SOFTMAX;
    desc->causal = CLATTN_CAUSAL_NONE;
    desc->mask_kind = CLATTN_MASK_NONE;
    /* Packed [B, H, rows, cols] (the products are checked by clattn__attention_check). */
    const size_t q_rows[3] = {q_heads * m * d, m * d, d};
    const size_t k_rows[3] = {kv_heads * n * d, n * d, d};
    const size_t v_rows[3] = {kv_heads * n * dv, n * dv, dv};
    const size_t o_rows[3] = {q_heads * m * dv, m * dv, dv};
    const size_t lse_rows[3] = {q_heads * m, m, 1};
    for (int i = 0; i < 3; i++) {
        desc->q.stride[i] = q_rows[i];
        desc->k.stride[i] = k_rows[i];
        desc->v.stride[i] = v_rows[i];
        desc->o.stride[i] = o_rows[i];
        desc->lse.stride[i] = lse_rows[i];
    }
    desc->mask.stride[0] = 0; /* broadcast over batch and heads */
    desc->mask.stride[1] = 0;
    desc->mask.stride[2] = n;
}

/* One tensor [B, H, rows, cols]: its extent, and whether its strides are acceptable. */
typedef struct tensor {
    const char *name;
    const clattn_layout *layout;
    size_t size[3]; /* B, H, rows */
    size_t cols;
    bool output;         /* no two elements may share an address */
    const char *path;    /* for messages: "attention" or "attention weights" */
    bool rows_broadcast; /* row stride 0 allowed: one row read for all (only the mask) */
} tensor;

bool clattn__layout_extent(const clattn_layout *l, size_t batch, size_t heads, size_t rows,
                           size_t cols, size_t *extent) {
    size_t end = l->offset, step;
    const size_t sizes[3] = {batch, heads, rows};
    for (int dim = 0; dim < 3; dim++) {
        if (!clattn__mul_size(sizes[dim] - 1, l->stride[dim], &step) || end > SIZE_MAX - step)
            return false;
        end += step;
    }
    if (end > SIZE_MAX - cols) return false;
    *extent = end + cols;
    return true;
}

static clattn_status check_tensor(const tensor *t, size_t *extent) {
    /* Rows of one head must not overlap (for inputs too: it would be a layout mistake),
     * except a mask's row stride 0, which broadcasts one row of keys (key padding). */
    const bool broadcast = t->rows_broadcast && t->layout->stride[2] == 0;
    if (t->size[2] > 1 && t->layout->stride[2] < t->cols && !broadcast)
        return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                            "%s: %s row stride %zu is smaller than its row length %zu", t->path,
                            t->name, t->layout->stride[2], t->cols);
    if (t->output) {
        /* Sufficient for no overlap: sorted by stride, each stride reaches past everything
         * spanned by the smaller ones. */
        int order[3] = {0, 1, 2};
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++)
                if (t->layout->stride[order[b]] < t->layout->stride[order[a]]) {
                    int tmp = order[a];
                    order[a] = order[b];
                    order[b] = tmp;
                }
        size_t spanned = t->cols;
        for (int a = 0; a < 3; a++) {
            const int dim = order[a];
            if (t->size[dim] <= 1) continue;
            if (t->layout->stride[dim] < spanned)
                return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                                    "attention: output %s has overlapping elements (stride %zu "
                                    "of dimension %d is below %zu)",
                                    t->name, t->layout->stride[dim], dim, spanned);
            spanned += (t->size[dim] - 1) * t->layout->stride[dim]; /* <= the extent below */
        }
    }
    if (!clattn__layout_extent(t->layout, t->size[0], t->size[1], t->size[2], t->cols, extent))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "%s: %s extent overflows", t->path,
                            t->name);
    return CLATTN_SUCCESS;
}

clattn_status clattn__attention_check(const clattn_attention_desc *desc, unsigned uses,
                                      clattn_attention_extents *extents) {
    const bool weights = uses & CLATTN_DESC_WEIGHTS;
    const char *path = weights ? "attention weights" : "attention";
    if (!desc) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "%s: desc is NULL", path);
    const clattn_attention_desc *a = desc;
    if (!a->batch || !a->q_heads || !a->kv_heads || !a->m || !a->n || !a->d || (!weights && !a->dv))
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "%s: every size must be > 0 (batch %zu, q_heads %zu, kv_heads %zu, m "
                            "%zu, n %zu, d %zu, dv %zu)",
                            path, a->batch, a->q_heads, a->kv_heads, a->m, a->n, a->d, a->dv);
    if (!weights && (a->d > CLATTN_MAX_HEAD_DIM || a->dv > CLATTN_MAX_HEAD_DIM))
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "attention: head dims d = %zu and dv = %zu must be <= %d", a->d, a->dv,
                            CLATTN_MAX_HEAD_DIM);
    if (a->q_heads % a->kv_heads)
        return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                            "%s: q_heads (%zu) must be a multiple of kv_heads (%zu)", path,
                            a->q_heads, a->kv_heads);
    /* The fused kernels hold batch * head indices in 32 bits. */
    size_t bh;
    if (!clattn__mul_size(a->batch, a->q_heads, &bh) || (!weights && bh > UINT32_MAX))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "%s: batch * q_heads too large", path);
    if (a->norm != CLATTN_NORM_SOFTMAX && a->norm != CLATTN_NORM_SUM &&
        !(weights && a->norm == CLATTN_NORM_NONE))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "%s: norm must be %s, got %d", path,
                            weights ? "NONE, SUM or SOFTMAX" : "SOFTMAX or SUM", (int)a->norm);
    if (a->causal != CLATTN_CAUSAL_NONE && a->causal != CLATTN_CAUSAL_TOP_LEFT &&
        a->causal != CLATTN_CAUSAL_BOTTOM_RIGHT)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "%s: unknown causal mode %d", path,
                            (int)a->causal);
    if (a->mask_kind != CLATTN_MASK_NONE && a->mask_kind != CLATTN_MASK_ADDITIVE &&
        a->mask_kind != CLATTN_MASK_BOOLEAN)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "%s: unknown mask kind %d", path,
                            (int)a->mask_kind);
    if (!isfinite(a->scale))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "%s: scale must be finite", path);
    if (!(a->softcap >= 0.0f) || isinf(a->softcap))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "%s: softcap must be finite and >= 0 (0 = off), got %g", path,
                            (double)a->softcap);
    if (a->window && (a->window_left < -1 || a->window_right < -1))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "%s: window sizes must be >= 0 or -1 (unbounded), got %ld, %ld", path,
                            a->window_left, a->window_right);
    if (weights && (a->softcap != 0.0f || a->alibi || a->window))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention weights: softcap, alibi and window are not supported");
    const clattn_dtype dtypes[] = {a->q_dtype, a->k_dtype, a->v_dtype, a->o_dtype, a->mask_dtype};
    static const char *const dtype_names[] = {"q", "k", "v", "o", "mask"};
    for (int i = 0; i < 5; i++)
        if (!clattn__dtype_valid(dtypes[i]))
            return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "%s: unknown %s_dtype %d", path,
                                dtype_names[i], (int)dtypes[i]);
    if (a->mask_kind == CLATTN_MASK_BOOLEAN && a->mask_dtype != CLATTN_F32)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "%s: a boolean mask is uint8 (mask_dtype must be CLATTN_F32)", path);
    if (weights && !clattn__attention_all_f32(a))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention weights: float32 tensors only (the dtypes must be F32)");
    if (a->varlen) {
        clattn_status status = clattn__varlen_desc_check(a, weights);
        if (status) return status;
    }
    const bool paged = a->page_size > 0;
    /* Not composed: a varlen batch packs K/V by cu_seqlens_k, a paged one by its block table;
     * sequences of different lengths over pages use seqlens_k with a dense Q instead. */
    if (a->varlen && paged)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "%s: varlen and a paged KV cache (page_size > 0) exclude each other",
                            path);
    if (weights && paged)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention weights: a paged KV cache is not supported");
    if (!paged && (a->num_pages || a->max_pages))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "%s: num_pages and max_pages are set but page_size is 0", path);
    size_t paged_n = 0;
    if (paged && (!a->num_pages || !a->max_pages))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "%s: a paged KV cache needs num_pages and max_pages > 0 (got %zu, %zu)",
                            path, a->num_pages, a->max_pages);
    if (paged && (!clattn__mul_size(a->max_pages, a->page_size, &paged_n) || paged_n != a->n))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "%s: n (%zu) must be max_pages (%zu) * page_size (%zu)", path, a->n,
                            a->max_pages, a->page_size);
    /* The kernels hold page ids and positions in 32-bit ints. */
    if (paged && (a->num_pages > INT32_MAX || a->n > INT32_MAX))
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "%s: num_pages and max_pages * page_size must fit in int32", path);
    if (weights && (a->sinks || a->sink_keys || a->dropout != 0.0f))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "attention weights: sinks, sink_keys and dropout are not supported");
    if (a->sinks && a->norm != CLATTN_NORM_SOFTMAX)
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "%s: attention sinks need norm SOFTMAX (a sink logit has no meaning "
                            "in the SUM normalisation)",
                            path);
    if (!(a->dropout >= 0.0f && a->dropout < 1.0f))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "%s: dropout must be in [0, 1) (0 = off), got %g", path,
                            (double)a->dropout);

    clattn_attention_extents e = {0, 0, 0, 0, 0, 0, 0, 0};
    if (weights && (!clattn__mul_size(bh, a->m, &e.weight_rows) ||
                    !clattn__mul_size(e.weight_rows, a->n, &e.weights)))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW,
                            "attention weights: B * Hq * M * N overflows size_t");
    /* varlen: the packed tokens are the rows and the batch stride is unused; here at least
     * one sequence of m (n) rows (the host forms check the totals: varlen.h). Paged K and V:
     * [num_pages, Hkv, page_size] rows instead of [B, Hkv, N]. */
    const size_t nb = a->varlen ? 1 : a->batch;
    const size_t kv_outer = paged ? a->num_pages : nb;
    const size_t kv_rows = paged ? a->page_size : a->n;
    const tensor tensors[] = {
        {"q", &a->q, {nb, a->q_heads, a->m}, a->d, false, path, false},
        {"k", &a->k, {kv_outer, a->kv_heads, kv_rows}, a->d, false, path, false},
        {"v", &a->v, {kv_outer, a->kv_heads, kv_rows}, a->dv, false, path, false},
        {"o", &a->o, {nb, a->q_heads, a->m}, a->dv, true, path, false},
        {"mask", &a->mask, {nb, a->q_heads, a->m}, a->n, false, path, true},
        {"lse", &a->lse, {nb, a->q_heads, a->m}, 1, true, path, false},
    };
    enum { Q, K, V, O, MASK, LSE };
    size_t *out[] = {&e.q, &e.k, &e.v, &e.o, &e.mask, &e.lse};
    for (int i = Q; i <= LSE; i++) {
        if (weights && (i == V || i == O || i == LSE)) continue;
        if (i == MASK && a->mask_kind == CLATTN_MASK_NONE) continue;
        if (i == LSE && !(uses & CLATTN_DESC_LSE)) continue;
        clattn_status status = check_tensor(&tensors[i], out[i]);
        if (status) return status;
    }
    if (extents) *extents = e;
    return CLATTN_SUCCESS;
}

long long clattn__attention_offset(const clattn_attention_desc *desc) {
    return desc->causal == CLATTN_CAUSAL_BOTTOM_RIGHT ? (long long)desc->n - (long long)desc->m : 0;
}

void clattn__attention_key_range(const clattn_attention_desc *desc, size_t i, long long *begin,
                                 long long *end) {
    const long long n = (long long)desc->n, diag = (long long)i + clattn__attention_offset(desc);
    long long b = 0, e = n;
    if (desc->causal != CLATTN_CAUSAL_NONE) e = diag + 1;
    if (desc->window && desc->window_right >= 0 && diag + desc->window_right + 1 < e)
        e = diag + desc->window_right + 1;
    if (desc->window && desc->window_left >= 0) b = diag - desc->window_left;
    *begin = b < 0 ? 0 : b > n ? n : b;
    *end = e < *begin ? *begin : e > n ? n : e;
}

bool clattn__attention_key_visible(const clattn_attention_desc *desc, long long begin,
                                   long long end, long long j) {
    if (j >= end) return false;
    return j >= begin || (unsigned long long)j < (unsigned long long)desc->sink_keys;
}

double clattn__alibi_slope(size_t h, size_t heads) {
    size_t n = 1;
    while (n * 2 <= heads)
        n *= 2;
    if (h < n) return exp2(-8.0 * (double)(h + 1) / (double)n);
    return exp2(-4.0 * (double)(2 * (h - n) + 1) / (double)n);
}

clattn_status clattn__attention_extras_check(const clattn_attention_desc *desc, unsigned given) {
    static const struct {
        unsigned flag;
        const char *name;
    } extras[] = {{CLATTN_EXTRA_SINKS, "sinks"},
                  {CLATTN_EXTRA_CU_SEQLENS_Q, "cu_seqlens_q"},
                  {CLATTN_EXTRA_CU_SEQLENS_K, "cu_seqlens_k"},
                  {CLATTN_EXTRA_BLOCK_TABLE, "block_table"},
                  {CLATTN_EXTRA_SEQLENS_K, "seqlens_k"}};
    unsigned needed = 0u; /* the features that read extra tensors add their flags here */
    if (desc->varlen) needed |= CLATTN_EXTRA_CU_SEQLENS_Q | CLATTN_EXTRA_CU_SEQLENS_K;
    if (desc->page_size) needed |= CLATTN_EXTRA_BLOCK_TABLE | CLATTN_EXTRA_SEQLENS_K;
    if (desc->sinks) needed |= CLATTN_EXTRA_SINKS;
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        if ((needed & extras[i].flag) && !(given & extras[i].flag))
            return clattn__fail(CLATTN_ERROR_NULL_POINTER, "attention: %s is required by the desc",
                                extras[i].name);
        if (!(needed & extras[i].flag) && (given & extras[i].flag))
            return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                                "attention: %s was given but no feature of the desc reads it",
                                extras[i].name);
    }
    return CLATTN_SUCCESS;
}
