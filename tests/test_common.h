/* Shared test helpers: CUnit runner, handles for both kernel shapes, data and comparisons. */
#ifndef CLATTN_TEST_COMMON_H
#define CLATTN_TEST_COMMON_H

#include "clattn.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Runs the suites that add_suites() registers; returns non-zero when any test failed.
 * argv[1], when given, names a single suite to run. */
int test_run(int argc, char **argv, void (*add_suites)(void));

/* Adds a suite of (name, function) pairs ending with {NULL, NULL}. */
typedef struct test_case {
    const char *name;
    void (*run)(void);
} test_case;
void test_add_suite(const char *name, const test_case *cases);

/* A handle per kernel shape on the default device, created once per process. The GPU shape
 * runs with work-groups capped at 256, like a GPU. */
clattn_handle *test_handle(clattn_variant variant);

/* The variants that every device test runs over. */
extern const clattn_variant test_variants[2];
const char *test_variant_name(clattn_variant variant);

/* Deterministic uniform data in [lo, hi) (xorshift; seed must not be 0). */
void test_fill(float *a, size_t n, uint64_t *seed, float lo, float hi);

/* Checks |got - want| <= atol + rtol * |want| element-wise (NaN must match NaN, +-inf must
 * match exactly). Prints the first few mismatches with `what`. */
bool test_close(const float *got, const float *want, size_t n, double atol, double rtol,
                const char *what);

/* Single-precision unit roundoff, 2^-24. */
#define TEST_U (1.0 / 16777216.0)

/* A path under the source tree's tests/data (set by CMake). */
const char *test_data_path(const char *file);

#endif
