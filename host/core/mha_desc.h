/* Internal helpers of multi-head attention (mha.c, mha_desc.c, reference_mha.c). */
#ifndef CLATTN_MHA_H
#define CLATTN_MHA_H

#include "attention_desc.h" /* CLATTN_MAX_HEAD_DIM: the fused attention's limit */
#include "clattn.h"

#include <stdbool.h>
#include <stdint.h>

/* Sizes implied by a validated desc, in elements. */
typedef struct clattn_mha_shape {
    size_t rows;       /* B * T */
    size_t head_dim;   /* d_out / heads */
    size_t x_count;    /* B * T * d_in */
    size_t out_count;  /* B * T * d_out */
    size_t w_count;    /* d_out * d_in */
    size_t wo_count;   /* d_out * d_out */
    size_t mask_count; /* elements of the mask (0 without one): B H T T, B T T or B T */
    size_t mask_elem;  /* bytes per mask element: 1 (boolean) or 4 (additive) */
} clattn_mha_shape;

/* Validates the sizes of desc (not NULL, all > 0, d_out a multiple of heads, head dim at
 * most CLATTN_MAX_HEAD_DIM, no overflow, and 3 * out_count fits too), its mask (a known
 * kind, and a known shape when there is a mask; its bytes fit in size_t) and its model
 * variants (by the attention's own checks on the attention desc it becomes, so a bad value
 * gets the attention's status and message). */
clattn_status clattn__check_mha_desc(const clattn_mha_desc *desc, clattn_mha_shape *plan);

/* The host-array forms' arguments (device, CPU and reference): the desc as above, then the four
 * weight matrices, x and out present (biases may be NULL), and the mask present when the desc
 * has a mask kind. */
clattn_status clattn__check_mha_call(const clattn_mha_desc *desc, const clattn_mha_weights *weights,
                                     const float *x, const void *mask, const float *out,
                                     clattn_mha_shape *shape);

/* Element offset of mask element (b, h, query i, key j) in the packed mask of desc's shape
 * (a validated desc with a mask): the index arithmetic of the three shapes in one place. */
size_t clattn__mha_mask_index(const clattn_mha_desc *desc, size_t b, size_t h, size_t i, size_t j);

/* The attention over the heads of the interleaved QKV buffer [B*T, 3*d_out] (Q, K, V of
 * head h at columns h*hd, d_out + h*hd, 2*d_out + h*hd) into the context [B*T, d_out]:
 * strided layouts, no transposes; the mask's kind, and its shape as strides (0 broadcasts);
 * the model variants copied across, and ad->sinks set when the layer has sink logits.
 * hd = d_out / heads. Shared by mha.c and cpu_mha.c. */
void clattn__mha_attention_desc(const clattn_mha_desc *desc, size_t hd, bool sinks,
                                clattn_attention_desc *ad);

/* The storage types of a projection (clattn_linear_dtypes) of a validated desc: Wq, Wk, Wv,
 * Wo and the biases weight_dtype; the Q, K, V projections (output false) read X as x_dtype
 * and write the float32 QKV buffer; the output projection (true) reads the float32 context
 * and writes out as x_dtype. */
clattn_linear_dtypes clattn__mha_projection_dtypes(const clattn_mha_desc *desc, bool output);

#endif
