/* clattn attend's paged KV cache: the block table and sequence lengths from .npy files. */
#include "attend_paged.h"
#include "cli.h"
#include "matrix_io.h"

int attend_paged_load(const char *table_path, const char *seqlens_path, size_t page_size,
                      size_t num_pages, size_t k_rows, clattn_attention_desc *desc,
                      npy_int32_array *table, npy_int32_array *seqlens) {
    char error[512];
    if (!load_int32_array(table_path, table, error, sizeof error) ||
        !load_int32_array(seqlens_path, seqlens, error, sizeof error))
        return cli_error("%s", error);
    if (k_rows != page_size)
        return cli_error("with --page-size %zu, K and V must be pages [num_pages, Hkv, %zu, D] "
                         "(they have %zu rows per page)",
                         page_size, page_size, k_rows);
    if (table->ndim != 2 || table->shape[0] != desc->batch || !table->shape[1])
        return cli_error("--block-table must be [B, max_pages] int with B = %zu (Q's batch)",
                         desc->batch);
    if (seqlens->ndim != 1 || seqlens->shape[0] != desc->batch)
        return cli_error("--seqlens-k must be [B] = [%zu] int", desc->batch);
    clattn_attention_desc_paged(desc, page_size, num_pages, table->shape[1]);
    return 0;
}
