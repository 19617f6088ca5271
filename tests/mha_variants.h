/* The model variants of clattn_mha_desc (softcap, ALiBi, sliding window, sink logits, sink
 * keys, dropout) through multi-head attention, shared by the device and CPU-backend tests. */
#ifndef CLATTN_TEST_MHA_VARIANTS_H
#define CLATTN_TEST_MHA_VARIANTS_H

#include "mha_masked.h"

/* Each variant alone, a combination (window + sinks + sink keys + dropout + a key-padding
 * mask, causal) and all of them at once, at T = 37, 3 heads of 16, against the reference;
 * each variant of a case must change the reference's output (a variant ignored by both would
 * pass the comparison). opencl: only the case with all of them (one program per kernel
 * shape: cold builds are slow on CPU runtimes). */
void check_mha_variants(mha_forward_fn fn, void *backend, const char *name, bool opencl);

/* Dropout p = 0.3 with all the variants: the backend and the reference drop the same
 * weights (outputs agree at the float32 tolerance, far below one weight's share), the next
 * offset (+ B * H) gives a fresh mask, and the same call the same bits. */
void check_mha_dropout(mha_forward_fn fn, void *backend, const char *name);

/* Bad variants give the attention's statuses and messages (for fn and the reference); NULL
 * sinks are no sinks (exactly the plain layer); very negative sink logits change nothing. */
void check_mha_variants_invalid(mha_forward_fn fn, void *backend);

#endif
