/* Appends T new K and V rows per sequence to a paged KV cache (clattn_enqueue_kv_append):
 * token t of sequence b goes to position p = seqlens_k[b] + t, i.e. page block_table[b][p / P],
 * row p % P. One work-group per (sequence * kv head, token); its work-items copy the row's
 * columns. Device data is not trusted: a position outside [0, max_pages * P) or a page id
 * outside [0, num_pages) leaves the row unwritten (never an out-of-bounds write).
 * Layouts: lay = {k_new | v_new | k_pages | v_pages} x {off, batch (page) stride, head, row}
 * in the LAY_Q, LAY_K, LAY_V, LAY_O slots. */
#define LAY_K_NEW   LAY_Q
#define LAY_V_NEW   LAY_K
#define LAY_K_PAGES LAY_V
#define LAY_V_PAGES LAY_O

__kernel void kv_append(uint tokens, uint kv_heads, uint d, uint dv, uint4 paging, ulong16 lay,
                        __global const float *k_new, __global const float *v_new,
                        __global float *k_pages, __global float *v_pages,
                        __global const int *block_table, __global const int *seqlens_k) {
    const uint bh = get_group_id(1), t = get_group_id(2);
    const uint b = bh / kv_heads, h = bh % kv_heads;
    const long pos = (long)seqlens_k[b] + (long)t;
    if (t >= tokens || pos < 0 || pos >= (long)paging.s1 * (long)paging.s0) return;
    const int page = block_table[(ulong)b * paging.s1 + (ulong)pos / paging.s0];
    if (page < 0 || page >= (int)paging.s2) return;
    const ulong row = (ulong)pos % paging.s0;
    __global const float *kn =
        k_new + lay16_base(lay, LAY_K_NEW, b, h) + t * lay16_row(lay, LAY_K_NEW);
    __global const float *vn =
        v_new + lay16_base(lay, LAY_V_NEW, b, h) + t * lay16_row(lay, LAY_V_NEW);
    __global float *kp =
        k_pages + lay16_base(lay, LAY_K_PAGES, (ulong)page, h) + row * lay16_row(lay, LAY_K_PAGES);
    __global float *vp =
        v_pages + lay16_base(lay, LAY_V_PAGES, (ulong)page, h) + row * lay16_row(lay, LAY_V_PAGES);
    for (uint c = get_local_id(0); c < d; c += get_local_size(0))
        kp[c] = kn[c];
    for (uint c = get_local_id(0); c < dv; c += get_local_size(0))
        vp[c] = vn[c];
}
