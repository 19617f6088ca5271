/* Regression tests for what a hostile probe found (issue 10): garbage in masked-out keys,
 * scratch sizes near SIZE_MAX, outputs aliasing inputs, scratch above the device's largest
 * allocation. (Error paths under failing OpenCL calls: tests/fault/; CLI input and output:
 * tests/cli_hostile.sh.) */
#include "test_common.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { B = 1, H = 2, N = 100, D = 64 };

/* Fills the keys every row hides (j % 3 == 0 under the mask, j >= M under top-left causal
 * masking with M < N) with NaN or inf in K and V: the result must equal the one with zeros
 * there, as the header and the reference say masked keys contribute nothing. */
static void check_masked_garbage(size_t m, clattn_mask_kind kind, bool causal) {
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, B, H, H, m, N, D, D);
    desc.mask_kind = kind;
    if (causal) desc.causal = CLATTN_CAUSAL_TOP_LEFT;
    const size_t nq = (size_t)B * H * m * D, nk = (size_t)B * H * N * D, no = nq;
    float *q = malloc(nq * sizeof *q), *k = malloc(nk * sizeof *k), *v = malloc(nk * sizeof *v);
    float *kg = malloc(nk * sizeof *k), *vg = malloc(nk * sizeof *v);
    float *want = malloc(no * sizeof *want), *got = malloc(no * sizeof *got);
    float *want_lse = malloc((size_t)B * H * m * sizeof(float));
    float *got_lse = malloc((size_t)B * H * m * sizeof(float));
    unsigned char *bmask = malloc(m * N);
    float *amask = malloc(m * N * sizeof *amask);
    uint64_t seed = 7;
    test_fill(q, nq, &seed, -1, 1);
    test_fill(k, nk, &seed, -1, 1);
    test_fill(v, nk, &seed, -1, 1);
    for (size_t i = 0; i < m * N; i++) {
        const bool hide = kind != CLATTN_MASK_NONE && (i % N) % 3 == 0;
        bmask[i] = !hide;
        amask[i] = hide ? -INFINITY : 0.25f;
    }
    const void *mask = kind == CLATTN_MASK_BOOLEAN ? (const void *)bmask : (const void *)amask;
    for (size_t r = 0; r < (size_t)B * H * N; r++) {
        const size_t j = r % N;
        const bool hidden = (kind != CLATTN_MASK_NONE && j % 3 == 0) || (causal && j >= m);
        for (size_t c = 0; c < D; c++) {
            kg[r * D + c] = hidden ? (c % 2 ? NAN : INFINITY) : k[r * D + c];
            vg[r * D + c] = hidden ? (c % 2 ? -INFINITY : NAN) : v[r * D + c];
            if (hidden) k[r * D + c] = v[r * D + c] = 0.0f;
        }
    }
    CU_ASSERT_EQUAL_FATAL(clattn_ref_attention(&desc, q, k, v, mask, want, want_lse), 0);
    for (size_t i = 0; i < no; i++)
        CU_ASSERT_FATAL(isfinite(want[i]));
    /* The reference itself, with the garbage. */
    CU_ASSERT_EQUAL(clattn_ref_attention(&desc, q, kg, vg, mask, got, got_lse), 0);
    CU_ASSERT(test_close(got, want, no, 1e-6, 1e-6, "reference"));
    /* The fast CPU backend, and both kernel shapes with and without split-KV. */
    CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, q, kg, vg, mask, got, got_lse), 0);
    CU_ASSERT(test_close(got, want, no, 1e-5, 1e-4, "cpu backend"));
    CU_ASSERT(test_close(got_lse, want_lse, (size_t)B * H * m, 1e-5, 1e-4, "cpu backend lse"));
    for (int variant = 0; variant < 2; variant++) {
        clattn_handle *h = test_handle(test_variants[variant]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        for (size_t splits = 1; splits <= 3; splits += 2) {
            desc.kv_splits = splits;
            memset(got, 0, no * sizeof *got);
            CU_ASSERT_EQUAL(clattn_attention(h, &desc, q, kg, vg, mask, got, got_lse), 0);
            CU_ASSERT(
                test_close(got, want, no, 1e-5, 1e-4, test_variant_name(test_variants[variant])));
            CU_ASSERT(test_close(got_lse, want_lse, (size_t)B * H * m, 1e-5, 1e-4, "lse"));
        }
        desc.kv_splits = 0;
    }
    /* The materialised weights: hidden keys get exactly 0. */
    if (kind != CLATTN_MASK_NONE) {
        float *w = malloc((size_t)B * H * m * N * sizeof *w);
        float *w_want = malloc((size_t)B * H * m * N * sizeof *w);
        CU_ASSERT_EQUAL(clattn_ref_attention_weights(&desc, q, k, mask, w_want), 0);
        CU_ASSERT_EQUAL(clattn_ref_attention_weights(&desc, q, kg, mask, w), 0);
        CU_ASSERT(test_close(w, w_want, (size_t)B * H * m * N, 1e-6, 1e-6, "ref weights"));
        for (int variant = 0; variant < 2; variant++) {
            clattn_handle *h = test_handle(test_variants[variant]);
            CU_ASSERT_EQUAL(clattn_attention_weights(h, &desc, q, kg, mask, w), 0);
            CU_ASSERT(test_close(w, w_want, (size_t)B * H * m * N, 1e-5, 1e-4, "weights"));
        }
        free(w);
        free(w_want);
    }
    free(q), free(k), free(v), free(kg), free(vg), free(want), free(got);
    free(want_lse), free(got_lse), free(bmask), free(amask);
}

static void masked_boolean(void) {
    check_masked_garbage(37, CLATTN_MASK_BOOLEAN, false);
}
static void masked_additive(void) {
    check_masked_garbage(37, CLATTN_MASK_ADDITIVE, false);
}
static void masked_decode(void) {
    check_masked_garbage(3, CLATTN_MASK_BOOLEAN, false);
}
static void masked_causal(void) {
    check_masked_garbage(40, CLATTN_MASK_NONE, true);
}
static void masked_causal_boolean(void) {
    check_masked_garbage(40, CLATTN_MASK_BOOLEAN, true);
}

/* clattn_scratch_size for the context near SIZE_MAX: a size or an error, never a wrap. */
static void scratch_size_huge_n(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    const size_t ns[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 62, SIZE_MAX / 2 + 1};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        size_t bytes = 0;
        clattn_status st = clattn_scratch_size(h, CLATTN_OP_CONTEXT, ns[i], 64, NULL, &bytes);
        CU_ASSERT(st != 0 || bytes > 0);
        st = clattn_scratch_size(h, CLATTN_OP_NORMALIZE, ns[i], 0, NULL, &bytes);
        CU_ASSERT(st != 0 || bytes > 0);
    }
}

/* O and the LSE may not overlap each other or an input, also through sub-buffers. */
static void aliasing_refused(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 1, 1, 16, 16, 16, 16);
    cl_int err;
    cl_context ctx = clattn_handle_context(h);
    cl_mem big = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096 * sizeof(float), NULL, &err);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    cl_mem in = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 256 * sizeof(float), NULL, &err);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    /* LSE inside O: refused (it came back wrong before). */
    desc.lse.offset = 100;
    CU_ASSERT_EQUAL(
        clattn_enqueue_attention(h, NULL, &desc, in, in, in, NULL, big, big, 0, NULL, NULL),
        CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT(strstr(clattn_last_error_message(), "lse") != NULL);
    /* O over Q: refused; O beside the LSE in one buffer: accepted. */
    desc.lse.offset = 256;
    CU_ASSERT_EQUAL(
        clattn_enqueue_attention(h, NULL, &desc, big, in, in, NULL, big, big, 0, NULL, NULL),
        CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(
        clattn_enqueue_attention(h, NULL, &desc, in, in, in, NULL, big, big, 0, NULL, NULL),
        CLATTN_SUCCESS);
    /* Two sub-buffers of one buffer that overlap: O in one, K in the other. */
    cl_buffer_region r1 = {0, 1024 * sizeof(float)},
                     r2 = {128 * sizeof(float), 512 * sizeof(float)};
    cl_mem s1 = clCreateSubBuffer(big, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r1, &err);
    cl_mem s2 = clCreateSubBuffer(big, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r2, &err);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    desc.lse.offset = 0;
    CU_ASSERT_EQUAL(
        clattn_enqueue_attention(h, NULL, &desc, in, s2, in, NULL, s1, NULL, 0, NULL, NULL),
        CLATTN_ERROR_INVALID_VALUE);
    clFinish(clattn_handle_queue(h));
    clReleaseMemObject(s1), clReleaseMemObject(s2), clReleaseMemObject(big), clReleaseMemObject(in);
    /* The blocking form: lse inside o. */
    float q[256] = {0}, o[300];
    desc.lse.offset = 0;
    CU_ASSERT_EQUAL(clattn_attention(h, &desc, q, q, q, NULL, o, o + 200),
                    CLATTN_ERROR_INVALID_VALUE);
}

/* Scratch above the device's largest allocation: refused up front, naming both sizes. Run with
 * POCL_MEMORY_LIMIT=1 (a 256 MiB limit) as its own CTest test. */
static void scratch_above_max_alloc(void) {
    clattn_handle *h = test_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    cl_ulong max_alloc = 0;
    clGetDeviceInfo(clattn_handle_device(h), CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc,
                    &max_alloc, NULL);
    if (max_alloc >= ((cl_ulong)1 << 30)) {
        fprintf(stderr, "(skipped: max allocation %llu bytes; run with POCL_MEMORY_LIMIT=1) ",
                (unsigned long long)max_alloc);
        return;
    }
    /* K and V each fit (0.6 of the limit); their repacked copies together do not. */
    const size_t n = (size_t)(max_alloc * 6 / 10) / (D * sizeof(float)), m = 64;
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 1, 1, m, n, D, D);
    desc.kv_splits = 1;
    float *q = calloc(m * D, sizeof *q), *kv = calloc(n * D, sizeof *kv);
    float *o = malloc(m * D * sizeof *o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kv);
    clattn_status st = clattn_attention(h, &desc, q, kv, kv, NULL, o, NULL);
    const char *msg = clattn_last_error_message();
    fprintf(stderr, "(%s) ", msg);
    CU_ASSERT_EQUAL(st, CLATTN_ERROR_INVALID_SIZE);
    CU_ASSERT(strstr(msg, "largest allocation") != NULL);
    free(q), free(kv), free(o);
}

/* The *.clbin files of dir, at most 64, into names; returns the count. */
static int cache_files(const char *dir, char names[][512]) {
    DIR *d = opendir(dir);
    int count = 0;
    for (struct dirent *e; d && count < 64 && (e = readdir(d));)
        if (strstr(e->d_name, ".clbin") && !strstr(e->d_name, ".tmp"))
            snprintf(names[count++], 512, "%s/%s", dir, e->d_name);
    if (d) closedir(d);
    return count;
}

/* A fresh handle (its own context, so programs come from disk) builds every kernel and computes
 * a small attention correctly. */
static void fresh_handle_works(void) {
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create(NULL, &h), 0);
    CU_ASSERT_EQUAL(clattn_handle_prepare(h), 0);
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 2, 1, 33, 70, 64, 64);
    desc.causal = CLATTN_CAUSAL_TOP_LEFT;
    float q[2 * 33 * 64], k[70 * 64], v[70 * 64], o[2 * 33 * 64], want[2 * 33 * 64];
    uint64_t seed = 3;
    test_fill(q, 2 * 33 * 64, &seed, -1, 1);
    test_fill(k, 70 * 64, &seed, -1, 1);
    test_fill(v, 70 * 64, &seed, -1, 1);
    CU_ASSERT_EQUAL(clattn_ref_attention(&desc, q, k, v, NULL, want, NULL), 0);
    CU_ASSERT_EQUAL(clattn_attention(h, &desc, q, k, v, NULL, o, NULL), 0);
    CU_ASSERT(test_close(o, want, 2 * 33 * 64, 1e-5, 1e-4, "attention from the disk cache"));
    clattn_handle_destroy(h);
}

/* The on-disk program cache: a FIFO at an entry's path must not hang the process; a valid
 * binary built with other options, placed under another entry's key, must not be used. */
static void program_cache_hostile(void) {
    char dir[] = "/tmp/clattn_cache_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    setenv("CLATTN_CACHE_DIR", dir, 1);
    fresh_handle_works(); /* fills the cache */
    static char names[64][512];
    const int count = cache_files(dir, names);
    CU_ASSERT_FATAL(count >= 2);
    /* Every entry replaced by the first one's binary, its key field rewritten to match. */
    FILE *f = fopen(names[0], "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static unsigned char first[1 << 24];
    const size_t size = fread(first, 1, sizeof first, f);
    fclose(f);
    for (int i = 1; i < count; i++) {
        unsigned long long key = strtoull(strrchr(names[i], '/') + 1, NULL, 16);
        memcpy(first + 16, &key, sizeof key); /* after magic, format and a 32-bit field */
        f = fopen(names[i], "wb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fwrite(first, 1, size, f);
        fclose(f);
    }
    fresh_handle_works();
    /* A FIFO in place of an entry: the reader must not block on it (alarm: a hang fails). */
    CU_ASSERT_EQUAL(remove(names[1]), 0);
    CU_ASSERT_EQUAL(mkfifo(names[1], 0600), 0);
    alarm(120);
    fresh_handle_works();
    alarm(0);
    for (int i = 0; i < count; i++)
        remove(names[i]);
    char other[64][512];
    for (int i = 0, n = cache_files(dir, other); i < n; i++)
        remove(other[i]);
    rmdir(dir);
    unsetenv("CLATTN_CACHE_DIR");
}

static void add_suites(void) {
    static const test_case masked[] = {{"boolean mask, NaN/inf in hidden K and V", masked_boolean},
                                       {"additive -inf mask", masked_additive},
                                       {"decoding rows (direct path)", masked_decode},
                                       {"causal, keys past M", masked_causal},
                                       {"causal and boolean", masked_causal_boolean},
                                       {NULL, NULL}};
    static const test_case limits[] = {{"scratch size near SIZE_MAX", scratch_size_huge_n},
                                       {"outputs aliasing", aliasing_refused},
                                       {NULL, NULL}};
    static const test_case max_alloc[] = {{"scratch above max allocation", scratch_above_max_alloc},
                                          {NULL, NULL}};
    test_add_suite("masked_garbage", masked);
    test_add_suite("limits", limits);
    static const test_case cache[] = {{"hostile cache files", program_cache_hostile}, {NULL, NULL}};
    test_add_suite("max_alloc", max_alloc);
    test_add_suite("program_cache", cache);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
