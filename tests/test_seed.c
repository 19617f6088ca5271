/* The seed's worked example (tests/data/seed.json, a copy of shared/vectors/seed.json) on the
 * device, within the file's tolerance of its printed values. */
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUES 64

typedef struct seed {
    float inputs[MAX_VALUES];
    size_t n, d;
    int query;
    float scores[MAX_VALUES], weights[MAX_VALUES];
    size_t n_scores, n_weights;
    double weights_sum, tolerance;
} seed;

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buffer[1 << 16];
    size_t got = fread(buffer, 1, sizeof buffer - 1, f);
    fclose(f);
    buffer[got] = '\0';
    return buffer;
}

/* Parses the numbers of the JSON value after "key": (nested arrays flattened). Returns the
 * count; *rows gets the number of inner arrays. */
static size_t json_numbers(const char *json, const char *key, float *out, size_t cap,
                           size_t *rows) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr(json, quoted);
    if (!p) return 0;
    p = strchr(p + strlen(quoted), ':') + 1;
    while (*p == ' ')
        p++;
    size_t count = 0, depth = 0, inner = 0;
    if (*p != '[') { /* a scalar */
        out[0] = strtof(p, NULL);
        if (rows) *rows = 0;
        return 1;
    }
    do {
        if (*p == '[') {
            depth++;
            if (depth == 2) inner++;
            p++;
        } else if (*p == ']') {
            depth--;
            p++;
        } else if (strchr("-0123456789.", *p)) {
            char *end;
            double v = strtod(p, &end);
            if (count < cap) out[count] = (float)v;
            count++;
            p = end;
        } else {
            p++;
        }
    } while (depth > 0 && *p);
    if (rows) *rows = inner;
    return count;
}

static bool load_seed(seed *s) {
    const char *json = read_file(test_data_path("seed.json"));
    if (!json) return false;
    size_t rows = 0;
    float one[4];
    size_t count = json_numbers(json, "inputs", s->inputs, MAX_VALUES, &rows);
    if (rows == 0 || count % rows) return false;
    s->n = rows;
    s->d = count / rows;
    s->n_scores = json_numbers(json, "scores", s->scores, MAX_VALUES, NULL);
    s->n_weights = json_numbers(json, "sum_normalised_weights", s->weights, MAX_VALUES, NULL);
    if (json_numbers(json, "query_index", one, 4, NULL) != 1) return false;
    s->query = (int)one[0];
    if (json_numbers(json, "weights_sum", one, 4, NULL) != 1) return false;
    s->weights_sum = one[0];
    if (json_numbers(json, "tolerance_abs", one, 4, NULL) != 1) return false;
    s->tolerance = one[0];
    return true;
}

static void seed_on_device(void) {
    seed s;
    CU_ASSERT_FATAL(load_seed(&s));
    CU_ASSERT_EQUAL_FATAL(s.n, 6);
    CU_ASSERT_EQUAL_FATAL(s.d, 3);
    CU_ASSERT_EQUAL_FATAL(s.n_scores, s.n);
    CU_ASSERT_EQUAL_FATAL(s.n_weights, s.n);
    for (int v = 0; v < 2; v++) {
        clattn_handle *h = test_handle(test_variants[v]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        float scores[MAX_VALUES], weights[MAX_VALUES];
        const float *q = s.inputs + (size_t)s.query * s.d;
        CU_ASSERT_EQUAL(clattn_query_attention(h, s.n, s.d, s.inputs, q, NULL, 1.0f,
                                               CLATTN_NORM_SUM, scores, weights, NULL),
                        CLATTN_SUCCESS);
        /* The file's values are printed to 4 decimals: its tolerance covers the rounding. */
        CU_ASSERT(test_close(scores, s.scores, s.n, s.tolerance, 0.0, "scores"));
        CU_ASSERT(test_close(weights, s.weights, s.n, s.tolerance, 0.0, "weights"));
        double sum = 0.0;
        for (size_t j = 0; j < s.n; j++)
            sum += weights[j];
        CU_ASSERT(fabs(sum - s.weights_sum) <= s.tolerance);
    }
}

/* The separate blocking calls give the same numbers as the pipeline. */
static void seed_step_by_step(void) {
    seed s;
    CU_ASSERT_FATAL(load_seed(&s));
    clattn_handle *h = test_handle(CLATTN_VARIANT_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    float scores[MAX_VALUES], weights[MAX_VALUES], context[MAX_VALUES], ref[MAX_VALUES];
    const float *q = s.inputs + (size_t)s.query * s.d;
    CU_ASSERT_EQUAL_FATAL(clattn_scores(h, s.n, s.d, 1.0f, s.inputs, q, scores), CLATTN_SUCCESS);
    CU_ASSERT(test_close(scores, s.scores, s.n, s.tolerance, 0.0, "scores"));
    CU_ASSERT_EQUAL_FATAL(clattn_normalize(h, CLATTN_NORM_SUM, s.n, scores, weights),
                          CLATTN_SUCCESS);
    CU_ASSERT(test_close(weights, s.weights, s.n, s.tolerance, 0.0, "weights"));
    CU_ASSERT_EQUAL_FATAL(clattn_context(h, s.n, s.d, weights, s.inputs, context), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL_FATAL(clattn_ref_context(s.n, s.d, weights, s.inputs, ref), CLATTN_SUCCESS);
    CU_ASSERT(test_close(context, ref, s.d, 1e-6, 1e-6, "context"));
}

/* The reference reproduces the printed values too. */
static void seed_reference(void) {
    seed s;
    CU_ASSERT_FATAL(load_seed(&s));
    float scores[MAX_VALUES], weights[MAX_VALUES];
    const float *q = s.inputs + (size_t)s.query * s.d;
    CU_ASSERT_EQUAL(clattn_ref_scores(s.n, s.d, 1.0f, s.inputs, q, scores), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_ref_normalize(CLATTN_NORM_SUM, s.n, scores, weights), CLATTN_SUCCESS);
    CU_ASSERT(test_close(scores, s.scores, s.n, s.tolerance, 0.0, "ref scores"));
    CU_ASSERT(test_close(weights, s.weights, s.n, s.tolerance, 0.0, "ref weights"));
}

static void add_suites(void) {
    static const test_case cases[] = {{"seed example on the device", seed_on_device},
                                      {"seed example step by step", seed_step_by_step},
                                      {"seed example in the reference", seed_reference},
                                      {NULL, NULL}};
    test_add_suite("seed", cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
