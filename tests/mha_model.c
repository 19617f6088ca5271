#include "mha_model.h"

#include <math.h>
#include <stdlib.h>

static float *filled(size_t n, uint64_t *seed, float lo, float hi) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    test_fill(a, n, seed, lo, hi);
    return a;
}

void make_model(const mcase *c, model *m, uint64_t seed) {
    const size_t xn = c->b * c->t * c->d_in, wn = c->d_out * c->d_in, won = c->d_out * c->d_out;
    const float a = 1.0f / sqrtf((float)c->d_in), ao = 1.0f / sqrtf((float)c->d_out);
    m->x = filled(xn, &seed, -1, 1);
    m->wq = filled(wn, &seed, -a, a);
    m->wk = filled(wn, &seed, -a, a);
    m->wv = filled(wn, &seed, -a, a);
    m->wo = filled(won, &seed, -ao, ao);
    float **bs[4] = {&m->bq, &m->bk, &m->bv, &m->bo};
    for (int i = 0; i < 4; i++)
        *bs[i] = c->bias ? filled(c->d_out, &seed, -0.5f, 0.5f) : NULL;
    m->w = (clattn_mha_weights){m->wq, m->wk, m->wv, m->wo, m->bq, m->bk, m->bv, m->bo, NULL};
}

clattn_mha_desc mha_desc_of(const mcase *c) {
    return (clattn_mha_desc){.batch = c->b,
                             .tokens = c->t,
                             .d_in = c->d_in,
                             .d_out = c->d_out,
                             .heads = c->heads,
                             .causal = c->causal};
}

void free_model(model *m) {
    free(m->x), free(m->wq), free(m->wk), free(m->wv), free(m->wo);
    free(m->bq), free(m->bk), free(m->bv), free(m->bo);
}

double mha_tolerance(const mcase *c) {
    return 8.0 * (double)(c->d_in + 2 * c->d_out / c->heads + c->t + c->d_out) * TEST_U;
}
