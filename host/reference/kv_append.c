/* CPU reference of the paged KV cache's append: each new row copied to its page. */
#include "status.h"
#include "paged.h"

clattn_status clattn_ref_kv_append(const clattn_kv_append_desc *desc, const float *k_new,
                                   const float *v_new, float *k_pages, float *v_pages,
                                   const int32_t *block_table, const int32_t *seqlens_k) {
    clattn_status status = clattn__kv_append_check(desc, NULL);
    if (status) return status;
    if (!k_new || !v_new || !k_pages || !v_pages || !block_table || !seqlens_k)
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "kv_append: every tensor is required");
    if ((status = clattn__kv_append_check_arrays(desc, block_table, seqlens_k))) return status;
    const clattn_kv_append_desc *a = desc;
    for (size_t b = 0; b < a->batch; b++)
        for (size_t h = 0; h < a->kv_heads; h++)
            for (size_t t = 0; t < a->tokens; t++) {
                const size_t pos = (size_t)seqlens_k[b] + t;
                const size_t page = (size_t)block_table[b * a->max_pages + pos / a->page_size];
                const size_t row = pos % a->page_size;
                const float *kn = k_new + a->k_new.offset + b * a->k_new.stride[0] +
                                  h * a->k_new.stride[1] + t * a->k_new.stride[2];
                const float *vn = v_new + a->v_new.offset + b * a->v_new.stride[0] +
                                  h * a->v_new.stride[1] + t * a->v_new.stride[2];
                float *kp = k_pages + a->k_pages.offset + page * a->k_pages.stride[0] +
                            h * a->k_pages.stride[1] + row * a->k_pages.stride[2];
                float *vp = v_pages + a->v_pages.offset + page * a->v_pages.stride[0] +
                            h * a->v_pages.stride[1] + row * a->v_pages.stride[2];
                for (size_t c = 0; c < a->d; c++)
                    kp[c] = kn[c];
                for (size_t c = 0; c < a->dv; c++)
                    vp[c] = vn[c];
            }
    clattn__clear_error();
    return CLATTN_SUCCESS;
}
