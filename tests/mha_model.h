/* A random multi-head attention layer for the MHA tests (device and CPU backend). */
#ifndef CLATTN_TEST_MHA_MODEL_H
#define CLATTN_TEST_MHA_MODEL_H

#include "test_common.h"

typedef struct mcase {
    size_t b, t, d_in, d_out, heads;
    int causal, bias;
} mcase;

typedef struct model {
    float *x, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *bo;
    clattn_mha_weights w;
} model;

/* Inputs in [-1, 1]; weights like a trained layer's initialisation, uniform in
 * +-1/sqrt(fan_in), so every stage keeps values of order 1. */
void make_model(const mcase *c, model *m, uint64_t seed);
/* The desc of a case, without a mask. */
clattn_mha_desc mha_desc_of(const mcase *c);
void free_model(model *m);

/* Absolute tolerance of the layer's output: each float32 stage adds at most (reduction
 * length) * u relative to the sum of absolute terms, which the scaled initialisation keeps
 * of order 1: d_in for the projections, head dim and T for the scores and the
 * softmax-weighted sum, d_out for the output projection. Times 8 for the constants of those
 * bounds (and the few ulp of the CPU backend's exp2 polynomial). */
double mha_tolerance(const mcase *c);

#endif
