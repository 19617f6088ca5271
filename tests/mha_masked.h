/* Masked multi-head attention checks shared by the device and CPU-backend tests: a padded
 * batch of sentences against the reference and against each sentence run alone, every mask
 * kind and shape against the reference, and bad masks. */
#ifndef CLATTN_TEST_MHA_MASKED_H
#define CLATTN_TEST_MHA_MASKED_H

#include "mha_model.h"

/* One backend's clattn_*_mha_forward_masked (backend: its handle, or NULL). */
typedef clattn_status (*mha_forward_fn)(void *backend, const clattn_mha_desc *desc,
                                        const clattn_mha_weights *weights, const float *x,
                                        const void *mask, float *out);

/* Sentences of lengths 13, 8, 5 (left-padded) and 1 in one [4, 13] batch with a key-padding
 * mask, boolean and additive, causal and not, padding tokens finite or NaN: real tokens
 * match each sentence run alone; every row matches the reference (finite padding); rows with
 * no key to attend (left padding under causal masking) are exactly bo. */
void check_mha_padded_batch(mha_forward_fn fn, void *backend, const char *name);

/* Random masks of both kinds in the three shapes, causal and not, against the reference. */
void check_mha_mask_shapes(mha_forward_fn fn, void *backend, const char *name);

/* A mask kind with a NULL mask (also through the unmasked call `plain`), unknown kinds and
 * shapes, and a mask whose size overflows, for fn and the reference. */
void check_mha_mask_invalid(mha_forward_fn fn, void *backend,
                            clattn_status (*plain)(void *backend, const clattn_mha_desc *desc,
                                                   const clattn_mha_weights *weights,
                                                   const float *x, float *out));

#endif
