/* clattn_probe_device: plausible, cached per device, argument checks. */
#include "test_common.h"

#include <math.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void test_probe(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    double gbps = 0, gflops = 0;
    CU_ASSERT_EQUAL_FATAL(clattn_probe_device(h, &gbps, &gflops), CLATTN_SUCCESS);
    /* Any device that runs OpenCL moves more than 0.1 GB/s and does more than 0.1 GFLOP/s;
     * nothing today reaches 100 TB/s or 10 PFLOP/s in fp32. */
    CU_ASSERT(isfinite(gbps) && gbps > 0.1 && gbps < 1e5);
    CU_ASSERT(isfinite(gflops) && gflops > 0.1 && gflops < 1e7);
    /* Cached per device: the other kernel shape's handle on the same device gets the same
     * numbers at once. */
    clattn_handle *g = test_handle(CLATTN_VARIANT_GPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double gbps2 = 0, gflops2 = 0, t0 = now();
    CU_ASSERT_EQUAL(clattn_probe_device(g, &gbps2, &gflops2), CLATTN_SUCCESS);
    CU_ASSERT(now() - t0 < 0.05);
    CU_ASSERT_EQUAL(gbps2, gbps);
    CU_ASSERT_EQUAL(gflops2, gflops);
    /* Either output may be NULL. */
    CU_ASSERT_EQUAL(clattn_probe_device(h, NULL, &gflops2), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_probe_device(h, &gbps2, NULL), CLATTN_SUCCESS);
}

static void test_probe_invalid(void) {
    double v = 0;
    CU_ASSERT_EQUAL(clattn_probe_device(NULL, &v, &v), CLATTN_ERROR_NULL_POINTER);
}

static void add_suites(void) {
    static const test_case cases[] = {
        {"probe", test_probe}, {"invalid", test_probe_invalid}, {NULL, NULL}};
    test_add_suite("probe", cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
