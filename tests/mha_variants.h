/* The model variants of clattn_mha_desc (softcap, ALiBi, sliding window, sink logits, sink
 * keys, dropout) through multi-head attention, shared by the device and CPU-backend tests. */
#ifndef CLATTN_TEST_MHA_VARIANTS_H
#define CLATTN_TEST_MHA_VARIANTS_H

#include "mha_masked.h"

/* Each variant alone and a combination (window + sinks + sink keys + dropout + a
 * key-padding mask, causal) at T = 37, 3 heads of 16, against the reference; each must
 * change the output (a variant silently ignored by both would pass the comparison).
 * gpu_shape: only two combinations that cover every variant (softcap + ALiBi, and the
 * combination above), to keep the GPU shape's cold builds few. */
void check_mha_variants(mha_forward_fn fn, void *backend, const char *name, bool gpu_shape);

/* Dropout p = 0.3: the backend and the reference drop the same weights (outputs agree at
 * the float32 tolerance, far below one weight's share), the offset moves the mask, and p = 0
 * is exactly the plain layer. */
void check_mha_dropout(mha_forward_fn fn, void *backend, const char *name);

/* Bad variants give the attention's statuses and messages (for fn and the reference); NULL
 * sinks are no sinks (exactly the plain layer); very negative sink logits change nothing. */
void check_mha_variants_invalid(mha_forward_fn fn, void *backend);

#endif
