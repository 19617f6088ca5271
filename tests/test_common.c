#include "test_common.h"

#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const clattn_variant test_variants[2] = {CLATTN_VARIANT_CPU, CLATTN_VARIANT_GPU};

static clattn_handle *handles[3];

const char *test_variant_name(clattn_variant variant) {
    return variant == CLATTN_VARIANT_CPU ? "cpu-shaped" : "gpu-shaped";
}

clattn_handle *test_handle(clattn_variant variant) {
    if (handles[variant]) return handles[variant];
    clattn_options options;
    clattn_options_init(&options);
    options.variant = variant;
    if (variant == CLATTN_VARIANT_GPU) options.max_work_group_size = 256;
    clattn_status status = clattn_handle_create(&options, &handles[variant]);
    if (status) {
        fprintf(stderr, "cannot create a handle: %s: %s\n", clattn_status_string(status),
                clattn_last_error_message());
        return NULL;
    }
    return handles[variant];
}

static void destroy_handles(void) {
    for (int i = 0; i < 3; i++) {
        clattn_handle_destroy(handles[i]);
        handles[i] = NULL;
    }
}

void test_fill(float *a, size_t n, uint64_t *seed, float lo, float hi) {
    uint64_t s = *seed;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        a[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
    *seed = s;
}

bool test_close(const float *got, const float *want, size_t n, double atol, double rtol,
                const char *what) {
    size_t bad = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        bool ok;
        if (isnan(w) || isnan(g))
            ok = isnan(w) && isnan(g);
        else if (isinf(w) || isinf(g))
            ok = g == w;
        else
            ok = fabs(g - w) <= atol + rtol * fabs(w);
        if (!ok) {
            if (bad < 5)
                fprintf(stderr, "\n    %s[%zu]: got %.9g, want %.9g (tolerance %.3g)", what, i, g,
                        w, atol + rtol * fabs(w));
            bad++;
        } else if (!isnan(w) && !isinf(w) && fabs(g - w) > worst) {
            worst = fabs(g - w);
        }
    }
    if (bad) fprintf(stderr, "\n    %s: %zu of %zu values out of tolerance\n", what, bad, n);
    return bad == 0;
}

const char *test_data_path(const char *file) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", CLATTN_TEST_DATA_DIR, file);
    return path;
}

void test_add_suite(const char *name, const test_case *cases) {
    CU_pSuite suite = CU_add_suite(name, NULL, NULL);
    for (const test_case *c = cases; suite && c->name; c++)
        CU_add_test(suite, c->name, c->run);
}

/* Which implementation a test ran on, for the logs of tools/matrix.sh (CLATTN_DEVICE picks
 * it) and the OpenCL C version its kernels were built as (CLATTN_CL_STD). */
static void print_device(void) {
    clattn_device_info info;
    const char *std = getenv("CLATTN_CL_STD");
    if (clattn_select_device(NULL, &info) == CLATTN_SUCCESS)
        printf("device: %s (%s, %s), OpenCL C %s\n", info.name, info.platform_name, info.version,
               std && *std ? std : "1.2");
    else
        printf("device: none (%s)\n", clattn_last_error_message());
}

int test_run(int argc, char **argv, void (*add_suites)(void)) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    add_suites();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (argc > 1 && strcmp(argv[1], "--list-suites") == 0) {
        /* One name a line: CTest's <program>_suites test checks each is registered there. */
        CU_pTestRegistry registry = CU_get_registry();
        for (CU_pSuite suite = registry ? registry->pSuite : NULL; suite; suite = suite->pNext)
            printf("%s\n", suite->pName);
        CU_cleanup_registry();
        return 0;
    }
    print_device();
    if (argc > 1) {
        CU_pSuite suite = CU_get_suite(argv[1]);
        if (!suite) {
            fprintf(stderr, "no suite named %s\n", argv[1]);
            CU_cleanup_registry();
            return 2;
        }
        CU_basic_run_suite(suite);
    } else {
        CU_basic_run_tests();
    }
    /* CU_basic_run_tests() does not report failures in its return value. */
    unsigned failures = CU_get_number_of_failures();
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    destroy_handles();
    printf("\n%u passed, %u failed\n", run - failed, failed);
    return failures > 0 || run == 0 ? 1 : 0;
}
