/* The paged KV cache's desc helpers and validation (see paged.h). */
#include "paged.h"
#include "attention_desc.h"
#include "status.h"
#include "size.h"

#include <string.h>

void clattn_attention_desc_paged(clattn_attention_desc *desc, size_t page_size, size_t num_pages,
                                 size_t max_pages) {
    if (!desc) return;
    desc->page_size = page_size;
    desc->num_pages = num_pages;
    desc->max_pages = max_pages;
    desc->n = max_pages * page_size; /* an overflow fails clattn__attention_check */
    const size_t k_strides[3] = {desc->kv_heads * page_size * desc->d, page_size * desc->d,
                                 desc->d};
    const size_t v_strides[3] = {desc->kv_heads * page_size * desc->dv, page_size * desc->dv,
                                 desc->dv};
    desc->k.offset = desc->v.offset = 0;
    for (int i = 0; i < 3; i++) {
        desc->k.stride[i] = k_strides[i];
        desc->v.stride[i] = v_strides[i];
    }
}

/* Checks the page ids block_table[b][0 .. pages - 1]. */
static clattn_status check_pages(const char *path, const int32_t *block_table, size_t max_pages,
                                 size_t num_pages, size_t b, size_t pages) {
    for (size_t c = 0; c < pages; c++) {
        const int32_t id = block_table[b * max_pages + c];
        if (id < 0 || (size_t)id >= num_pages)
            return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                                "%s: block_table[%zu][%zu] = %d is not a page in [0, %zu)", path, b,
                                c, (int)id, num_pages);
    }
    return CLATTN_SUCCESS;
}

clattn_status clattn__paged_check_arrays(const clattn_attention_desc *desc,
                                         const int32_t *block_table, const int32_t *seqlens_k) {
    if (!desc->page_size) return CLATTN_SUCCESS;
    for (size_t b = 0; b < desc->batch; b++) {
        const int32_t len = seqlens_k[b];
        if (len < 0 || (size_t)len > desc->n)
            return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                                "attention: seqlens_k[%zu] = %d is outside [0, n = %zu]", b,
                                (int)len, desc->n);
        const size_t pages = ((size_t)len + desc->page_size - 1) / desc->page_size;
        clattn_status status =
            check_pages("attention", block_table, desc->max_pages, desc->num_pages, b, pages);
        if (status) return status;
    }
    return CLATTN_SUCCESS;
}

void clattn_kv_append_desc_init(clattn_kv_append_desc *desc, size_t batch, size_t kv_heads,
                                size_t tokens, size_t d, size_t dv, size_t page_size,
                                size_t num_pages, size_t max_pages) {
    if (!desc) return;
    memset(desc, 0, sizeof *desc);
    desc->batch = batch;
    desc->kv_heads = kv_heads;
    desc->tokens = tokens;
    desc->d = d;
    desc->dv = dv;
    desc->page_size = page_size;
    desc->num_pages = num_pages;
    desc->max_pages = max_pages;
    const size_t kn[3] = {kv_heads * tokens * d, tokens * d, d};
    const size_t vn[3] = {kv_heads * tokens * dv, tokens * dv, dv};
    const size_t kp[3] = {kv_heads * page_size * d, page_size * d, d};
    const size_t vp[3] = {kv_heads * page_size * dv, page_size * dv, dv};
    for (int i = 0; i < 3; i++) {
        desc->k_new.stride[i] = kn[i];
        desc->v_new.stride[i] = vn[i];
        desc->k_pages.stride[i] = kp[i];
        desc->v_pages.stride[i] = vp[i];
    }
}

/* Rows must not overlap; for the pages (written) no two elements may share an address:
 * sorted by stride, each stride reaches past what the smaller ones span. */
static clattn_status check_layout(const char *name, const clattn_layout *l, const size_t size[3],
                                  size_t cols, bool output, size_t *extent) {
    if (size[2] > 1 && l->stride[2] < cols)
        return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                            "kv_append: %s row stride %zu is smaller than its row length %zu", name,
                            l->stride[2], cols);
    if (output) {
        int order[3] = {0, 1, 2};
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++)
                if (l->stride[order[b]] < l->stride[order[a]]) {
                    const int tmp = order[a];
                    order[a] = order[b];
                    order[b] = tmp;
                }
        size_t spanned = cols;
        for (int a = 0; a < 3; a++) {
            const int dim = order[a];
            if (size[dim] <= 1) continue;
            if (l->stride[dim] < spanned)
                return clattn__fail(CLATTN_ERROR_INVALID_SHAPE,
                                    "kv_append: %s has overlapping elements (stride %zu of "
                                    "dimension %d is below %zu)",
                                    name, l->stride[dim], dim, spanned);
            spanned += (size[dim] - 1) * l->stride[dim];
        }
    }
    if (!clattn__layout_extent(l, size[0], size[1], size[2], cols, extent))
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW, "kv_append: %s extent overflows", name);
    return CLATTN_SUCCESS;
}

clattn_status clattn__kv_append_check(const clattn_kv_append_desc *desc,
                                      clattn_kv_append_extents *extents) {
    if (!desc) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "kv_append: desc is NULL");
    const clattn_kv_append_desc *a = desc;
    if (!a->batch || !a->kv_heads || !a->tokens || !a->d || !a->dv || !a->page_size ||
        !a->num_pages || !a->max_pages)
        return clattn__fail(CLATTN_ERROR_INVALID_SIZE,
                            "kv_append: every size must be > 0 (batch %zu, kv_heads %zu, tokens "
                            "%zu, d %zu, dv %zu, page_size %zu, num_pages %zu, max_pages %zu)",
                            a->batch, a->kv_heads, a->tokens, a->d, a->dv, a->page_size,
                            a->num_pages, a->max_pages);
    size_t positions, table, work;
    if (!clattn__mul_size(a->max_pages, a->page_size, &positions) || positions > INT32_MAX ||
        a->num_pages > INT32_MAX || !clattn__mul_size(a->batch, a->max_pages, &table) ||
        !clattn__mul_size(a->batch, a->kv_heads, &work) ||
        !clattn__mul_size(work, a->tokens, &work) || work > UINT32_MAX)
        return clattn__fail(CLATTN_ERROR_SIZE_OVERFLOW,
                            "kv_append: sizes too large (positions and page ids are int32)");
    clattn_kv_append_extents e = {0, 0, 0, 0, table, a->batch};
    const size_t new_size[3] = {a->batch, a->kv_heads, a->tokens};
    const size_t page_size[3] = {a->num_pages, a->kv_heads, a->page_size};
    clattn_status status;
    if ((status = check_layout("k_new", &a->k_new, new_size, a->d, false, &e.k_new)) ||
        (status = check_layout("v_new", &a->v_new, new_size, a->dv, false, &e.v_new)) ||
        (status = check_layout("k_pages", &a->k_pages, page_size, a->d, true, &e.k_pages)) ||
        (status = check_layout("v_pages", &a->v_pages, page_size, a->dv, true, &e.v_pages)))
        return status;
    if (extents) *extents = e;
    return CLATTN_SUCCESS;
}

clattn_status clattn__kv_append_check_arrays(const clattn_kv_append_desc *desc,
                                             const int32_t *block_table, const int32_t *seqlens_k) {
    const size_t positions = desc->max_pages * desc->page_size; /* checked: fits in int32 */
    for (size_t b = 0; b < desc->batch; b++) {
        const int32_t len = seqlens_k[b];
        if (len < 0 || (size_t)len + desc->tokens > positions)
            return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                                "kv_append: seqlens_k[%zu] = %d: positions %d .. + %zu must lie "
                                "in [0, max_pages * page_size = %zu)",
                                b, (int)len, (int)len, desc->tokens, positions);
        const size_t first = (size_t)len / desc->page_size;
        const size_t end = ((size_t)len + desc->tokens - 1) / desc->page_size + 1;
        for (size_t c = first; c < end; c++) {
            const int32_t id = block_table[b * desc->max_pages + c];
            if (id < 0 || (size_t)id >= desc->num_pages)
                return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                                    "kv_append: block_table[%zu][%zu] = %d is not a page in "
                                    "[0, %zu)",
                                    b, c, (int)id, desc->num_pages);
        }
    }
    return CLATTN_SUCCESS;
}
