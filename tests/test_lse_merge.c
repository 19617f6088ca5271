/* clattn__lse_merge_into against double precision: the merge of two partial softmax results
 * over disjoint key sets equals the softmax over their union; -inf and NaN rows, LSEs far
 * apart (where exp(lse) overflows float), and the order of merging. */
#include "test_common.h"
#include "lse_merge.h"

#include <math.h>
#include <string.h>

#define DV 5

/* Softmax attention of one row over scores s[0..n) and values v[n][DV] in double: writes the
 * output (floats) and the natural-log LSE. n = 0 gives O = 0 and LSE -inf, as the kernels do. */
static void softmax_row(const double *s, const double *v, size_t n, double *o, double *lse) {
    double top = -INFINITY;
    for (size_t j = 0; j < n; j++)
        top = s[j] > top ? s[j] : top;
    memset(o, 0, DV * sizeof *o);
    if (n == 0) {
        *lse = -INFINITY;
        return;
    }
    double sum = 0;
    for (size_t j = 0; j < n; j++) {
        const double w = exp(s[j] - top);
        sum += w;
        for (size_t c = 0; c < DV; c++)
            o[c] += w * v[j * DV + c];
    }
    for (size_t c = 0; c < DV; c++)
        o[c] /= sum;
    *lse = top + log(sum);
}

static void to_float(const double *a, float *f, size_t n) {
    for (size_t i = 0; i < n; i++)
        f[i] = (float)a[i];
}

/* Splits n keys at `cut` with scores offset by shift_a and shift_b; merges a <- b and b <- a
 * and checks both against the whole. */
static void check_split(uint64_t *seed, size_t n, size_t cut, double shift_a, double shift_b) {
    float sf[64], vf[64 * DV];
    double s[64], v[64 * DV];
    test_fill(sf, n, seed, -3.0f, 3.0f);
    test_fill(vf, n * DV, seed, -1.0f, 1.0f);
    for (size_t j = 0; j < n; j++)
        s[j] = sf[j] + (j < cut ? shift_a : shift_b);
    for (size_t i = 0; i < n * DV; i++)
        v[i] = vf[i];
    double whole[DV], part_a[DV], part_b[DV], lse_whole, lse_a, lse_b;
    softmax_row(s, v, n, whole, &lse_whole);
    softmax_row(s, v, cut, part_a, &lse_a);
    softmax_row(s + cut, v + cut * DV, n - cut, part_b, &lse_b);
    float want[DV], a[DV], b[DV], a2[DV], b2[DV];
    to_float(whole, want, DV);
    to_float(part_a, a, DV);
    to_float(part_b, b, DV);
    memcpy(a2, a, sizeof a);
    memcpy(b2, b, sizeof b);
    float la = (float)lse_a, lb = (float)lse_b, la2 = la, lb2 = lb;
    const float lw = (float)lse_whole;
    clattn__lse_merge_into(1, DV, a, &la, b, &lb);     /* acc = a, part = b */
    clattn__lse_merge_into(1, DV, b2, &lb2, a2, &la2); /* the other order */
    /* Each partial is rounded to float once and the merge is in double: a few ulps. */
    CU_ASSERT(test_close(a, want, DV, 1e-6, 1e-5, "merged O"));
    CU_ASSERT(test_close(b2, want, DV, 1e-6, 1e-5, "merged O, other order"));
    CU_ASSERT(test_close(&la, &lw, 1, 1e-6, 1e-6, "merged LSE"));
    CU_ASSERT(test_close(&lb2, &lw, 1, 1e-6, 1e-6, "merged LSE, other order"));
}

static void test_merge_random(void) {
    uint64_t seed = 0x5eed1234u;
    const size_t sizes[][2] = {{2, 1}, {7, 3}, {33, 16}, {64, 63}, {64, 1}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_split(&seed, sizes[i][0], sizes[i][1], 0, 0);
}

static void test_merge_far_apart(void) {
    uint64_t seed = 77;
    /* exp(lse) overflows float (lse ~ 300) and double (lse ~ 1000): the merge must not. */
    check_split(&seed, 40, 20, 300, 0);
    check_split(&seed, 40, 20, 0, 1000);
    check_split(&seed, 40, 13, -1000, 1000);
    /* Differences beyond double's exp range: the small side contributes exactly nothing. */
    check_split(&seed, 40, 20, 1e6, -1e6);
}

static void test_merge_empty_sides(void) {
    uint64_t seed = 99;
    check_split(&seed, 10, 0, 0, 0);  /* acc has no keys: takes the part */
    check_split(&seed, 10, 10, 0, 0); /* part has no keys: acc stays */
    /* Both empty: stays O = 0, LSE -inf. */
    float acc[DV] = {0}, part[DV] = {0}, la = -INFINITY, lp = -INFINITY;
    clattn__lse_merge_into(1, DV, acc, &la, part, &lp);
    const float zeros[DV] = {0};
    CU_ASSERT(test_close(acc, zeros, DV, 0, 0, "both empty: O"));
    CU_ASSERT(la == -INFINITY);
}

static void test_merge_nan_rows(void) {
    /* Three rows: NaN LSE in acc, NaN LSE in the part, and a finite row that must not be
     * touched by its neighbours' NaNs. */
    float acc[3 * DV], part[3 * DV], acc_lse[3] = {NAN, 0.5f, 1.0f},
                                     part_lse[3] = {0.0f, NAN, 2.0f};
    for (size_t i = 0; i < 3 * DV; i++)
        acc[i] = 1.0f, part[i] = 3.0f;
    clattn__lse_merge_into(3, DV, acc, acc_lse, part, part_lse);
    for (size_t r = 0; r < 2; r++) {
        CU_ASSERT(isnan(acc_lse[r]));
        for (size_t c = 0; c < DV; c++)
            CU_ASSERT(isnan(acc[r * DV + c]));
    }
    /* Row 2: weights 1 / (1 + e) and e / (1 + e) for values 1 and 3. */
    const double e = exp(1.0), want = (1.0 + 3.0 * e) / (1.0 + e);
    for (size_t c = 0; c < DV; c++)
        CU_ASSERT(fabs(acc[2 * DV + c] - want) < 1e-6);
    CU_ASSERT(fabs(acc_lse[2] - (2.0 + log1p(exp(-1.0)))) < 1e-6);
    /* A NaN in a part's O with a finite LSE reaches the merged row. */
    float o1[DV] = {0}, o2[DV] = {NAN, 0, 0, 0, 0}, l1 = 0, l2 = -50;
    clattn__lse_merge_into(1, DV, o1, &l1, o2, &l2);
    CU_ASSERT(isnan(o1[0]) && !isnan(o1[1]));
}

static void add_suites(void) {
    static const test_case cases[] = {{"random splits", test_merge_random},
                                      {"LSEs far apart", test_merge_far_apart},
                                      {"empty sides (-inf)", test_merge_empty_sides},
                                      {"NaN rows", test_merge_nan_rows},
                                      {NULL, NULL}};
    test_add_suite("lse_merge", cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
