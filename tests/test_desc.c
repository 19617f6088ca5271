/* clattn_attention_desc_init against numbers written out by hand: the library, the CPU
 * backend and the reference all take their strides from it, so a stride bug there would
 * agree with itself everywhere else. */
#include "test_common.h"

#include <math.h>

static void check_layout(const clattn_layout *l, size_t s0, size_t s1, size_t s2) {
    CU_ASSERT_EQUAL(l->offset, 0);
    CU_ASSERT_EQUAL(l->stride[0], s0);
    CU_ASSERT_EQUAL(l->stride[1], s1);
    CU_ASSERT_EQUAL(l->stride[2], s2);
}

/* B = 2, Hq = 3, Hkv = 1, M = 5, N = 4, D = 7, Dv = 6. */
static void packed_strides(void) {
    clattn_attention_desc d;
    clattn_attention_desc_init(&d, 2, 3, 1, 5, 4, 7, 6);
    check_layout(&d.q, 105, 35, 7); /* [2, 3, 5, 7] */
    check_layout(&d.k, 28, 28, 7);  /* [2, 1, 4, 7] */
    check_layout(&d.v, 24, 24, 6);  /* [2, 1, 4, 6] */
    check_layout(&d.o, 90, 30, 6);  /* [2, 3, 5, 6] */
    check_layout(&d.lse, 15, 5, 1); /* [2, 3, 5] */
    check_layout(&d.mask, 0, 0, 4); /* [5, 4], broadcast over batch and heads */
    CU_ASSERT_EQUAL(d.batch, 2);
    CU_ASSERT_EQUAL(d.q_heads, 3);
    CU_ASSERT_EQUAL(d.kv_heads, 1);
    CU_ASSERT_EQUAL(d.m, 5);
    CU_ASSERT_EQUAL(d.n, 4);
    CU_ASSERT_EQUAL(d.d, 7);
    CU_ASSERT_EQUAL(d.dv, 6);
    CU_ASSERT_DOUBLE_EQUAL(d.scale, 0.37796447, 1e-7); /* 1 / sqrt(7) */
    CU_ASSERT_EQUAL(d.norm, CLATTN_NORM_SOFTMAX);
    CU_ASSERT_EQUAL(d.causal, CLATTN_CAUSAL_NONE);
    CU_ASSERT_EQUAL(d.mask_kind, CLATTN_MASK_NONE);
    CU_ASSERT_EQUAL(d.kv_splits, 0);
}

/* Grouped heads (Hq = 8, Hkv = 2), one row, one key: the degenerate sizes. */
static void grouped_and_single_row(void) {
    clattn_attention_desc d;
    clattn_attention_desc_init(&d, 3, 8, 2, 1, 1, 16, 32);
    check_layout(&d.q, 128, 16, 16);
    check_layout(&d.k, 32, 16, 16);
    check_layout(&d.v, 64, 32, 32);
    check_layout(&d.o, 256, 32, 32);
    check_layout(&d.lse, 8, 1, 1);
    check_layout(&d.mask, 0, 0, 1);
    CU_ASSERT_DOUBLE_EQUAL(d.scale, 0.25, 1e-7);
}

static void add_suites(void) {
    static const test_case cases[] = {{"packed strides, B=2 H=3 M=5 N=4 D=7 Dv=6", packed_strides},
                                      {"grouped heads, one row", grouped_and_single_row},
                                      {NULL, NULL}};
    test_add_suite("attention_desc_init", cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
