/* Every seed kernel at small, awkward sizes, both shapes: run by CTest under Oclgrind
 * (run_oclgrind.sh), which reports data races, out-of-bounds and uninitialised accesses that
 * PoCL forgives. Also a plain CTest test on the default device. */
#include "test_common.h"

#include <math.h>
#include <stdlib.h>

static void small_sizes(void) {
    /* n: one, odd, not a multiple of any work-group size, and above the one-group limit of
     * the normalisation (4096) so its multi-group path runs too. */
    const size_t ns[] = {1, 7, 300, 4500};
    const size_t ds[] = {3, 17, 40};
    uint64_t seed = 21;
    for (int vi = 0; vi < 2; vi++) {
        clattn_handle *h = test_handle(test_variants[vi]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        for (size_t a = 0; a < 4; a++) {
            size_t n = ns[a], d = ds[a % 3];
            float *x = malloc(n * d * 4), *q = malloc(d * 4), *s = malloc(n * 4),
                  *w = malloc(n * 4);
            float *c = malloc(d * 4), *rs = malloc(n * 4), *rw = malloc(n * 4), *rc = malloc(d * 4);
            CU_ASSERT_FATAL(x && q && s && w && c && rs && rw && rc);
            test_fill(x, n * d, &seed, 0.1f, 1.0f);
            test_fill(q, d, &seed, 0.1f, 1.0f);
            for (int norm = CLATTN_NORM_SUM; norm <= CLATTN_NORM_SOFTMAX; norm++) {
                CU_ASSERT_EQUAL(
                    clattn_query_attention(h, n, d, x, q, NULL, 0.5f, (clattn_norm)norm, s, w, c),
                    CLATTN_SUCCESS);
                clattn_ref_scores(n, d, 0.5f, x, q, rs);
                clattn_ref_normalize((clattn_norm)norm, n, s, rw);
                clattn_ref_context(n, d, w, x, rc);
                /* Positive data, at most 4500 terms: 1e-4 relative is 100x the sqrt bound. */
                CU_ASSERT(test_close(s, rs, n, 0, 1e-5, "scores"));
                CU_ASSERT(test_close(w, rw, n, 1e-30, 1e-4, "weights"));
                CU_ASSERT(test_close(c, rc, d, 0, 1e-4, "context"));
            }
            free(x), free(q), free(s), free(w), free(c), free(rs), free(rw), free(rc);
        }
    }
}

static void add_suites(void) {
    static const test_case cases[] = {{"every seed kernel, small sizes", small_sizes},
                                      {NULL, NULL}};
    test_add_suite("small kernels", cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
