/* clattn_attention_multi against the single-device result and the double-precision reference:
 * both split axes, causal in both alignments, GQA, masks (broadcast and per head), LSE out,
 * strided outputs, shares with a zero, sizes not divisible by the device count, SUM, bad
 * input; on one device twice, on PoCL sub-devices, and on PoCL with Intel's CPU runtime. */
#include "test_common.h"
#include "split.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HANDLES 3

typedef struct multi_case {
    const char *name;
    size_t batch, hq, hkv, m, n, d, dv;
    clattn_causal causal;
    clattn_norm norm;
    clattn_mask_kind mask_kind;
    int mask_per_head; /* 0: one [M, N] mask broadcast (strides 0), 1: one per batch and head */
    const char *split; /* CLATTN_MULTI_SPLIT for the call, NULL for automatic */
    int strided_out;   /* O and LSE with an offset and gaps between rows */
} multi_case;

static const multi_case cases[] = {
    {"prefill GQA causal top-left", 2, 4, 2, 37, 37, 16, 8, CLATTN_CAUSAL_TOP_LEFT,
     CLATTN_NORM_SOFTMAX, CLATTN_MASK_NONE, 0, NULL, 0},
    {"decode causal bottom-right", 1, 4, 1, 3, 101, 16, 8, CLATTN_CAUSAL_BOTTOM_RIGHT,
     CLATTN_NORM_SOFTMAX, CLATTN_MASK_NONE, 0, NULL, 1},
    {"keys split, causal top-left, M = N", 1, 2, 2, 29, 29, 16, 8, CLATTN_CAUSAL_TOP_LEFT,
     CLATTN_NORM_SOFTMAX, CLATTN_MASK_NONE, 0, "keys", 0},
    {"keys split, causal bottom-right, M < N", 2, 2, 1, 11, 31, 16, 8, CLATTN_CAUSAL_BOTTOM_RIGHT,
     CLATTN_NORM_SOFTMAX, CLATTN_MASK_NONE, 0, "keys", 1},
    {"keys split, causal top-left, M > N", 1, 1, 1, 23, 13, 16, 8, CLATTN_CAUSAL_TOP_LEFT,
     CLATTN_NORM_SOFTMAX, CLATTN_MASK_NONE, 0, "keys", 0},
    {"rows split, causal top-left, M > N", 1, 2, 1, 41, 17, 16, 8, CLATTN_CAUSAL_TOP_LEFT,
     CLATTN_NORM_SOFTMAX, CLATTN_MASK_NONE, 0, "rows", 1},
    {"rows split, causal bottom-right, M > N", 1, 2, 2, 41, 17, 16, 8, CLATTN_CAUSAL_BOTTOM_RIGHT,
     CLATTN_NORM_SOFTMAX, CLATTN_MASK_NONE, 0, "rows", 0},
    {"rows split, additive mask broadcast", 2, 2, 1, 19, 23, 16, 8, CLATTN_CAUSAL_NONE,
     CLATTN_NORM_SOFTMAX, CLATTN_MASK_ADDITIVE, 0, "rows", 0},
    {"keys split, boolean mask per head, causal", 1, 3, 3, 7, 45, 16, 8, CLATTN_CAUSAL_BOTTOM_RIGHT,
     CLATTN_NORM_SOFTMAX, CLATTN_MASK_BOOLEAN, 1, "keys", 1},
    {"keys split, additive mask per head", 2, 2, 2, 5, 33, 16, 8, CLATTN_CAUSAL_NONE,
     CLATTN_NORM_SOFTMAX, CLATTN_MASK_ADDITIVE, 1, "keys", 0},
    {"SUM, causal top-left (rows even when keys asked)", 1, 2, 1, 13, 13, 16, 8,
     CLATTN_CAUSAL_TOP_LEFT, CLATTN_NORM_SUM, CLATTN_MASK_NONE, 0, "keys", 0},
};
#define CASES (sizeof cases / sizeof cases[0])

/* One head-dim pair (D = 16, Dv = 8) throughout: the kernels are specialised by head dims, and
 * CI runs with cold kernel caches. */

/* The problem's data, its desc, and its outputs from the reference and one device. */
typedef struct problem {
    clattn_attention_desc desc;
    float *q, *k, *v, *mask_f, *o_ref, *lse_ref, *o_one, *lse_one;
    unsigned char *mask_b;
    size_t no, nl; /* elements of O and the LSE buffers (with gaps when strided) */
} problem;

static const void *problem_mask(const problem *p) {
    return p->desc.mask_kind == CLATTN_MASK_BOOLEAN ? (const void *)p->mask_b
                                                    : (const void *)p->mask_f;
}

static void problem_free(problem *p) {
    free(p->q), free(p->k), free(p->v), free(p->mask_f), free(p->mask_b);
    free(p->o_ref), free(p->lse_ref), free(p->o_one), free(p->lse_one);
}

static bool problem_make(const multi_case *c, problem *p, clattn_handle *single) {
    memset(p, 0, sizeof *p);
    clattn_attention_desc *d = &p->desc;
    clattn_attention_desc_init(d, c->batch, c->hq, c->hkv, c->m, c->n, c->d, c->dv);
    d->causal = c->causal;
    d->norm = c->norm;
    d->mask_kind = c->mask_kind;
    if (c->strided_out) { /* O rows Dv + 3 apart from offset 5, LSE rows 2 apart from offset 1 */
        d->o = (clattn_layout){5, {c->hq * c->m * (c->dv + 3), c->m * (c->dv + 3), c->dv + 3}};
        d->lse = (clattn_layout){1, {c->hq * c->m * 2, c->m * 2, 2}};
    }
    const size_t nq = c->batch * c->hq * c->m * c->d, nk = c->batch * c->hkv * c->n * c->d;
    const size_t nv = c->batch * c->hkv * c->n * c->dv;
    p->no = d->o.offset + c->batch * d->o.stride[0];
    p->nl = d->lse.offset + c->batch * d->lse.stride[0];
    const size_t nmask = (c->mask_per_head ? c->batch * c->hq : 1) * c->m * c->n;
    if (c->mask_per_head) {
        d->mask.stride[0] = c->hq * c->m * c->n;
        d->mask.stride[1] = c->m * c->n;
    } else {
        d->mask.stride[0] = d->mask.stride[1] = 0;
    }
    d->mask.stride[2] = c->n;
    p->q = malloc(nq * sizeof(float)), p->k = malloc(nk * sizeof(float));
    p->v = malloc(nv * sizeof(float));
    p->mask_f = malloc(nmask * sizeof(float)), p->mask_b = malloc(nmask);
    p->o_ref = malloc(p->no * sizeof(float)), p->lse_ref = malloc(p->nl * sizeof(float));
    p->o_one = malloc(p->no * sizeof(float)), p->lse_one = malloc(p->nl * sizeof(float));
    if (!p->q || !p->k || !p->v || !p->mask_f || !p->mask_b || !p->o_ref || !p->lse_ref ||
        !p->o_one || !p->lse_one)
        return false;
    uint64_t seed = 0x6d756c7469ull + c->m * 131 + c->n;
    /* SUM needs positive scores to stay away from a zero sum. */
    const float lo = c->norm == CLATTN_NORM_SUM ? 0.1f : -1.0f;
    test_fill(p->q, nq, &seed, lo, 1.0f);
    test_fill(p->k, nk, &seed, lo, 1.0f);
    test_fill(p->v, nv, &seed, -1.0f, 1.0f);
    test_fill(p->mask_f, nmask, &seed, -1.0f, 1.0f);
    for (size_t i = 0; i < nmask; i++) {
        /* About a fifth of the keys masked out: -inf additive, 0 boolean. */
        p->mask_b[i] = p->mask_f[i] > -0.6f;
        if (!p->mask_b[i]) p->mask_f[i] = -INFINITY;
    }
    for (size_t i = 0; i < p->no; i++)
        p->o_ref[i] = p->o_one[i] = 1234.5f; /* gaps between strided rows must keep it */
    for (size_t i = 0; i < p->nl; i++)
        p->lse_ref[i] = p->lse_one[i] = 1234.5f;
    if (clattn_ref_attention(d, p->q, p->k, p->v, problem_mask(p), p->o_ref, p->lse_ref)) {
        printf("reference failed: %s\n", clattn_last_error_message());
        return false;
    }
    clattn_status st =
        clattn_attention(single, d, p->q, p->k, p->v, problem_mask(p), p->o_one, p->lse_one);
    if (st) printf("single device failed: %s\n", clattn_last_error_message());
    return st == CLATTN_SUCCESS;
}

/* Runs one case on the group and compares with the reference and the single device. */
static void check_case(const multi_case *c, clattn_handle *const *handles, size_t count,
                       const float *shares, const char *group) {
    problem p;
    const bool made = problem_make(c, &p, handles[0]);
    CU_ASSERT_FATAL(made);
    float *o = malloc(p.no * sizeof(float)), *lse = malloc(p.nl * sizeof(float));
    CU_ASSERT_FATAL(o && lse);
    for (size_t i = 0; i < p.no; i++)
        o[i] = 1234.5f;
    for (size_t i = 0; i < p.nl; i++)
        lse[i] = 1234.5f;
    if (c->split) setenv("CLATTN_MULTI_SPLIT", c->split, 1);
    const clattn_status st = clattn_attention_multi(handles, count, shares, &p.desc, p.q, p.k, p.v,
                                                    problem_mask(&p), o, lse);
    unsetenv("CLATTN_MULTI_SPLIT");
    if (st) printf("%s on %s: %s\n", c->name, group, clattn_last_error_message());
    CU_ASSERT_EQUAL(st, CLATTN_SUCCESS);
    char what[200];
    /* float32 accumulation on each device; the merge is in double: as test_attention's bound. */
    const double atol = 2e-5 + 64.0 * TEST_U * sqrt((double)c->n);
    snprintf(what, sizeof what, "%s on %s: O vs single device", c->name, group);
    CU_ASSERT(test_close(o, p.o_one, p.no, atol, 1e-4, what));
    snprintf(what, sizeof what, "%s on %s: O vs reference", c->name, group);
    CU_ASSERT(test_close(o, p.o_ref, p.no, atol, 1e-4, what));
    snprintf(what, sizeof what, "%s on %s: LSE vs reference", c->name, group);
    CU_ASSERT(test_close(lse, p.lse_ref, p.nl, 1e-5, 1e-5, what));
    free(o);
    free(lse);
    problem_free(&p);
}

static clattn_handle *open_handle(const char *selector) {
    clattn_options options;
    clattn_options_init(&options);
    options.device = selector;
    clattn_handle *h = NULL;
    if (clattn_handle_create(&options, &h)) {
        printf("cannot open '%s': %s\n", selector ? selector : "(default)",
               clattn_last_error_message());
        return NULL;
    }
    return h;
}

/* Three handles on the default device (one device three times is a valid group). */
static clattn_handle *same[MAX_HANDLES];

static int same_init(void) {
    for (size_t i = 0; i < MAX_HANDLES; i++)
        if (!(same[i] = open_handle(NULL))) return 1;
    printf("\ndevice: %s (three handles)\n", clattn_handle_device_name(same[0]));
    return 0;
}

static int same_clean(void) {
    for (size_t i = 0; i < MAX_HANDLES; i++)
        clattn_handle_destroy(same[i]), same[i] = NULL;
    return 0;
}

static void test_same_two(void) {
    const float shares[2] = {1, 1};
    for (size_t i = 0; i < CASES; i++)
        check_case(&cases[i], same, 2, shares, "two handles");
}

static void test_same_three_uneven(void) {
    /* Three devices (no size above divides by 3), one left out, the others 1 : 3. */
    const float shares[3] = {1, 0, 3};
    for (size_t i = 0; i < CASES; i++)
        check_case(&cases[i], same, 3, shares, "three handles, shares 1:0:3");
}

static void test_same_probed(void) {
    /* Shares measured (equal here: one device): automatic axis both ways. */
    check_case(&cases[0], same, 2, NULL, "two handles, probed shares");
    check_case(&cases[1], same, 2, NULL, "two handles, probed shares");
}

static void test_bad_input(void) {
    problem p;
    const bool made = problem_make(&cases[0], &p, same[0]);
    CU_ASSERT_FATAL(made);
    const clattn_attention_desc *d = &p.desc;
    float *o = p.o_one, *lse = p.lse_one;
    const float ok[2] = {1, 1}, negative[2] = {1, -1}, zeros[2] = {0, 0}, nan[2] = {NAN, 1};
    clattn_handle *with_null[2] = {same[0], NULL};
    CU_ASSERT_EQUAL(clattn_attention_multi(NULL, 2, ok, d, p.q, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 0, ok, d, p.q, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT_EQUAL(clattn_attention_multi(with_null, 2, ok, d, p.q, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 2, negative, d, p.q, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 2, zeros, d, p.q, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 2, nan, d, p.q, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 2, ok, NULL, p.q, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 2, ok, d, NULL, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 2, ok, d, p.q, p.k, p.v, NULL, NULL, lse),
                    CLATTN_ERROR_NULL_POINTER);
    clattn_attention_desc bad = *d;
    bad.kv_heads = 3; /* 4 query heads are not a multiple of 3 */
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 2, ok, &bad, p.q, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_INVALID_SHAPE);
    bad = *d;
    bad.mask_kind = CLATTN_MASK_ADDITIVE;
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 2, ok, &bad, p.q, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_NULL_POINTER);
    bad = *d;
    bad.d = 0;
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 2, ok, &bad, p.q, p.k, p.v, NULL, o, lse),
                    CLATTN_ERROR_INVALID_SIZE);
    /* O and the LSE overlapping. */
    CU_ASSERT_EQUAL(clattn_attention_multi(same, 2, ok, d, p.q, p.k, p.v, NULL, o, o + 1),
                    CLATTN_ERROR_INVALID_VALUE);
    /* Nothing above wrote the outputs: they still hold the single device's result. */
    CU_ASSERT(test_close(o, p.o_ref, p.no, 1e-4, 1e-4, "outputs untouched after bad input"));
    problem_free(&p);
}

/* PoCL's device split into sub-devices (one compute unit each), borrowed by the handles. */
static void test_subdevices(void) {
    clattn_device_info info[16];
    size_t count = 0;
    CU_ASSERT_EQUAL_FATAL(clattn_list_devices(info, 16, &count), CLATTN_SUCCESS);
    const clattn_device_info *pocl = NULL;
    for (size_t i = 0; i < count && i < 16 && !pocl; i++)
        if (strstr(info[i].platform_name, "Portable Computing Language")) pocl = &info[i];
    if (!pocl) {
        printf("\nSKIPPED: no PoCL device to split into sub-devices\n");
        return;
    }
    cl_uint units = 0;
    clGetDeviceInfo(pocl->device, CL_DEVICE_PARTITION_MAX_SUB_DEVICES, sizeof units, &units, NULL);
    const cl_device_partition_property props[] = {CL_DEVICE_PARTITION_EQUALLY, 1, 0};
    cl_device_id sub[MAX_HANDLES];
    cl_uint made = 0;
    cl_int err = units >= 2 ? clCreateSubDevices(pocl->device, props, MAX_HANDLES, sub, &made)
                            : CL_DEVICE_PARTITION_FAILED;
    if (err != CL_SUCCESS || made < 2) {
        printf("\nSKIPPED: %s cannot be split (CL_DEVICE_PARTITION_MAX_SUB_DEVICES %u, "
               "clCreateSubDevices %d)\n",
               pocl->name, units, err);
        if (err == CL_SUCCESS)
            for (cl_uint i = 0; i < made; i++)
                clReleaseDevice(sub[i]);
        return;
    }
    if (made > MAX_HANDLES) made = MAX_HANDLES;
    cl_context ctx = clCreateContext(NULL, made, sub, NULL, NULL, &err);
    CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
    clattn_handle *handles[MAX_HANDLES] = {NULL};
    cl_command_queue queues[MAX_HANDLES] = {NULL};
    bool ok = true;
    for (cl_uint i = 0; i < made && ok; i++) {
        queues[i] = clCreateCommandQueue(ctx, sub[i], 0, &err);
        ok = err == CL_SUCCESS &&
             clattn_handle_create_from(ctx, sub[i], queues[i], NULL, &handles[i]) == 0;
        if (!ok)
            printf("sub-device %u: queue %d, handle: %s\n", i, err, clattn_last_error_message());
    }
    CU_ASSERT(ok);
    if (ok) {
        printf("\n%s split into %u sub-devices\n", pocl->name, made);
        const float shares[MAX_HANDLES] = {1, 1, 1};
        check_case(&cases[0], handles, made, shares, "PoCL sub-devices");
        check_case(&cases[2], handles, made, shares, "PoCL sub-devices");
        check_case(&cases[8], handles, made, NULL, "PoCL sub-devices, probed shares");
    }
    for (cl_uint i = 0; i < made; i++) {
        clattn_handle_destroy(handles[i]);
        if (queues[i]) clReleaseCommandQueue(queues[i]);
        clReleaseDevice(sub[i]);
    }
    clReleaseContext(ctx);
}

/* PoCL and Intel's CPU runtime at once (a subset of the cases: every kernel variant builds cold
 * on Intel's runtime in CI, at seconds each): both axes, both causal alignments, GQA, strided
 * outputs, a per-head boolean mask, SUM. */
static const size_t two_runtime_cases[] = {0, 1, 3, 8, 10};

/* PoCL and Intel's CPU runtime at once: two OpenCL implementations in one call. */
static void test_pocl_and_intel(void) {
    clattn_device_info info[16];
    size_t count = 0;
    CU_ASSERT_EQUAL_FATAL(clattn_list_devices(info, 16, &count), CLATTN_SUCCESS);
    int pocl = -1, intel = -1;
    for (size_t i = 0; i < count && i < 16; i++) {
        if (pocl < 0 && strstr(info[i].platform_name, "Portable Computing Language")) pocl = (int)i;
        if (intel < 0 && strstr(info[i].platform_name, "Intel(R) OpenCL")) intel = (int)i;
    }
    if (pocl < 0 || intel < 0) {
        printf("\nSKIPPED: needs PoCL and Intel's CPU runtime registered together (found%s%s; "
               "tests/with_intel_opencl.sh registers tools/setup.sh's install)\n",
               pocl < 0 ? "" : " PoCL", intel < 0 ? "" : " Intel");
        return;
    }
    char sel_pocl[16], sel_intel[16];
    snprintf(sel_pocl, sizeof sel_pocl, "%d", pocl);
    snprintf(sel_intel, sizeof sel_intel, "%d", intel);
    clattn_handle *handles[2] = {open_handle(sel_pocl), open_handle(sel_intel)};
    CU_ASSERT_FATAL(handles[0] && handles[1]);
    printf("\ndevices: %s + %s\n", info[pocl].name, info[intel].name);
    const float shares[2] = {1, 2};
    for (size_t i = 0; i < sizeof two_runtime_cases / sizeof two_runtime_cases[0]; i++)
        check_case(&cases[two_runtime_cases[i]], handles, 2, shares, "PoCL + Intel");
    check_case(&cases[1], handles, 2, NULL, "PoCL + Intel, probed shares");
    clattn_handle_destroy(handles[0]);
    clattn_handle_destroy(handles[1]);
}

/* Whole-problem visibility of key j to row i. */
static bool visible(clattn_causal causal, size_t m, size_t n, size_t i, size_t j) {
    if (causal == CLATTN_CAUSAL_TOP_LEFT) return j <= i;
    if (causal == CLATTN_CAUSAL_BOTTOM_RIGHT)
        return (long long)j <= (long long)i + (long long)n - (long long)m;
    return true;
}

/* Every split of every small problem: the pieces of each device's range see exactly the
 * whole problem's visible keys, each (row, key) at most once, and the ranges cover the axis. */
static void test_split_exact(void) {
    static const clattn_causal causals[] = {CLATTN_CAUSAL_NONE, CLATTN_CAUSAL_TOP_LEFT,
                                            CLATTN_CAUSAL_BOTTOM_RIGHT};
    static unsigned char seen[24][24];
    const double weights[4] = {1, 0, 2.5, 1};
    size_t failures = 0;
    for (size_t c = 0; c < 3; c++)
        for (size_t m = 1; m <= 23; m += 2)
            for (size_t n = 1; n <= 23; n += 3)
                for (int axis = 0; axis < 2; axis++) {
                    clattn_attention_desc d;
                    clattn_attention_desc_init(&d, 1, 1, 1, m, n, 8, 8);
                    d.causal = causals[c];
                    size_t bounds[5];
                    clattn__split_bounds(&d, (clattn_split_axis)axis, 4, weights, bounds);
                    const size_t length = axis == CLATTN_SPLIT_ROWS ? m : n;
                    failures += bounds[0] != 0 || bounds[4] != length || bounds[2] != bounds[1];
                    memset(seen, 0, sizeof seen);
                    for (size_t dev = 0; dev < 4; dev++) {
                        failures += bounds[dev + 1] < bounds[dev];
                        clattn_attention_piece p[2];
                        const size_t count =
                            axis == CLATTN_SPLIT_ROWS
                                ? clattn__split_pieces(&d, bounds[dev], bounds[dev + 1], 0, n, p)
                                : clattn__split_pieces(&d, 0, m, bounds[dev], bounds[dev + 1], p);
                        for (size_t k = 0; k < count; k++)
                            for (size_t r = 0; r < p[k].rows; r++)
                                for (size_t jj = 0; jj < p[k].keys; jj++)
                                    if (visible(p[k].causal, p[k].rows, p[k].keys, r, jj))
                                        seen[p[k].row0 + r][p[k].key0 + jj]++;
                    }
                    for (size_t i = 0; i < m; i++)
                        for (size_t j = 0; j < n; j++)
                            failures += seen[i][j] != visible(causals[c], m, n, i, j);
                }
    CU_ASSERT_EQUAL(failures, 0);
}

static void add_suites(void) {
    static const test_case split_cases[] = {{"pieces exact", test_split_exact}, {NULL, NULL}};
    test_add_suite("multi_split", split_cases);
    static const test_case same_cases[] = {{"two handles", test_same_two},
                                           {"three handles, uneven shares", test_same_three_uneven},
                                           {"probed shares", test_same_probed},
                                           {"bad input", test_bad_input},
                                           {NULL, NULL}};
    CU_pSuite s = CU_add_suite("multi_same_device", same_init, same_clean);
    for (const test_case *t = same_cases; t->name; t++)
        CU_add_test(s, t->name, t->run);
    static const test_case sub_cases[] = {{"sub-devices", test_subdevices}, {NULL, NULL}};
    test_add_suite("multi_subdevices", sub_cases);
    static const test_case intel_cases[] = {{"PoCL + Intel", test_pocl_and_intel}, {NULL, NULL}};
    test_add_suite("multi_two_runtimes", intel_cases);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
