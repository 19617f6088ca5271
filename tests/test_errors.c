/* Every invalid argument gets its documented status and a message; nothing crashes. */
#include "test_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static clattn_handle *h;
static cl_mem small_buf, big_buf; /* 10 floats and 1000 floats */

static int setup(void) {
    h = test_handle(CLATTN_VARIANT_AUTO);
    if (!h) return 1;
    cl_int e1, e2;
    small_buf = clCreateBuffer(clattn_handle_context(h), CL_MEM_READ_WRITE, 10 * 4, NULL, &e1);
    big_buf = clCreateBuffer(clattn_handle_context(h), CL_MEM_READ_WRITE, 1000 * 4, NULL, &e2);
    return e1 || e2;
}

static int teardown(void) {
    clReleaseMemObject(small_buf);
    clReleaseMemObject(big_buf);
    return 0;
}

/* Asserts the status and that a message explains it. */
#define EXPECT(call, status)                                                                       \
    do {                                                                                           \
        clattn_status got_ = (call);                                                               \
        CU_ASSERT_EQUAL(got_, status);                                                             \
        if (got_ != (status))                                                                      \
            fprintf(stderr, "\n    %s: got %s, want %s", #call, clattn_status_string(got_),        \
                    #status);                                                                      \
        CU_ASSERT(strlen(clattn_last_error_message()) > 0);                                        \
    } while (0)

static void null_pointers(void) {
    float f[4] = {0};
    EXPECT(clattn_handle_create(NULL, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_handle_create_from(NULL, NULL, NULL, NULL, NULL), CLATTN_ERROR_NULL_POINTER);
    clattn_handle *out = (clattn_handle *)1;
    EXPECT(clattn_handle_create_from(NULL, NULL, NULL, NULL, &out), CLATTN_ERROR_NULL_POINTER);
    CU_ASSERT_PTR_NULL(out);
    EXPECT(clattn_enqueue_scores(NULL, NULL, 1, 1, 1, big_buf, 0, big_buf, 0, big_buf, 0, 0, NULL,
                                 NULL),
           CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_enqueue_scores(h, NULL, 1, 1, 1, NULL, 0, big_buf, 0, big_buf, 0, 0, NULL, NULL),
           CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_enqueue_scores(h, NULL, 1, 1, 1, big_buf, 0, NULL, 0, big_buf, 0, 0, NULL, NULL),
           CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_enqueue_scores(h, NULL, 1, 1, 1, big_buf, 0, big_buf, 0, NULL, 0, 0, NULL, NULL),
           CLATTN_ERROR_NULL_POINTER);
    EXPECT(
        clattn_enqueue_normalize(h, NULL, CLATTN_NORM_SUM, 4, NULL, 0, big_buf, 0, 0, NULL, NULL),
        CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_enqueue_context(h, NULL, 4, 4, big_buf, 0, NULL, 0, big_buf, 0, 0, NULL, NULL),
           CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_scores(h, 2, 2, 1, NULL, f, f), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_scores(h, 2, 2, 1, f, NULL, f), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_scores(h, 2, 2, 1, f, f, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_normalize(h, CLATTN_NORM_SUM, 2, NULL, f), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_context(h, 2, 2, f, NULL, f), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_query_attention(h, 2, 2, f, f, NULL, 1, CLATTN_NORM_SUM, NULL, NULL, NULL),
           CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_query_attention(NULL, 2, 2, f, f, NULL, 1, CLATTN_NORM_SUM, f, f, f),
           CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_ref_scores(2, 2, 1, NULL, f, f), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_ref_normalize(CLATTN_NORM_SUM, 2, f, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_ref_context(2, 2, f, NULL, f), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_list_devices(NULL, 0, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_select_device("0", NULL), CLATTN_ERROR_NULL_POINTER);
    clattn_handle_destroy(NULL); /* a no-op */
}

static void zero_and_overflowing_sizes(void) {
    float f[4] = {0};
    EXPECT(
        clattn_enqueue_scores(h, NULL, 0, 1, 1, big_buf, 0, big_buf, 0, big_buf, 0, 0, NULL, NULL),
        CLATTN_ERROR_INVALID_SIZE);
    EXPECT(
        clattn_enqueue_scores(h, NULL, 1, 0, 1, big_buf, 0, big_buf, 0, big_buf, 0, 0, NULL, NULL),
        CLATTN_ERROR_INVALID_SIZE);
    EXPECT(clattn_enqueue_normalize(h, NULL, CLATTN_NORM_SUM, 0, big_buf, 0, big_buf, 0, 0, NULL,
                                    NULL),
           CLATTN_ERROR_INVALID_SIZE);
    EXPECT(clattn_enqueue_context(h, NULL, 0, 4, big_buf, 0, big_buf, 0, big_buf, 0, 0, NULL, NULL),
           CLATTN_ERROR_INVALID_SIZE);
    EXPECT(clattn_scores(h, 0, 3, 1, f, f, f), CLATTN_ERROR_INVALID_SIZE);
    EXPECT(clattn_ref_scores(2, 0, 1, f, f, f), CLATTN_ERROR_INVALID_SIZE);
    EXPECT(clattn_ref_normalize(CLATTN_NORM_SUM, 0, f, f), CLATTN_ERROR_INVALID_SIZE);

    const size_t huge = SIZE_MAX / 2 + 1;
    EXPECT(clattn_enqueue_scores(h, NULL, huge, 3, 1, big_buf, 0, big_buf, 0, big_buf, 0, 0, NULL,
                                 NULL),
           CLATTN_ERROR_SIZE_OVERFLOW);
    EXPECT(
        clattn_enqueue_context(h, NULL, 3, huge, big_buf, 0, big_buf, 0, big_buf, 0, 0, NULL, NULL),
        CLATTN_ERROR_SIZE_OVERFLOW);
    EXPECT(clattn_scores(h, huge, 3, 1, f, f, f), CLATTN_ERROR_SIZE_OVERFLOW);
    EXPECT(clattn_ref_scores(huge, 4, 1, f, f, f), CLATTN_ERROR_SIZE_OVERFLOW);
    /* An offset that overflows when added to the size. */
    EXPECT(clattn_enqueue_normalize(h, NULL, CLATTN_NORM_SUM, 4, big_buf, SIZE_MAX - 1, big_buf, 0,
                                    0, NULL, NULL),
           CLATTN_ERROR_SIZE_OVERFLOW);
    /* A product that fits size_t but no device allocation: refused before allocating. */
    EXPECT(clattn_scores(h, (size_t)1 << 50, 1, 1, f, f, f), CLATTN_ERROR_INVALID_SIZE);
}

static void buffers_too_small(void) {
    /* x needs n * d = 12 floats, the buffer holds 10. */
    EXPECT(clattn_enqueue_scores(h, NULL, 4, 3, 1, small_buf, 0, big_buf, 0, big_buf, 0, 0, NULL,
                                 NULL),
           CLATTN_ERROR_BUFFER_TOO_SMALL);
    /* q at offset 8 needs floats 8..10. */
    EXPECT(clattn_enqueue_scores(h, NULL, 2, 3, 1, big_buf, 0, small_buf, 8, big_buf, 0, 0, NULL,
                                 NULL),
           CLATTN_ERROR_BUFFER_TOO_SMALL);
    EXPECT(clattn_enqueue_scores(h, NULL, 11, 1, 1, big_buf, 0, big_buf, 0, small_buf, 0, 0, NULL,
                                 NULL),
           CLATTN_ERROR_BUFFER_TOO_SMALL);
    EXPECT(clattn_enqueue_normalize(h, NULL, CLATTN_NORM_SOFTMAX, 11, big_buf, 0, small_buf, 0, 0,
                                    NULL, NULL),
           CLATTN_ERROR_BUFFER_TOO_SMALL);
    EXPECT(
        clattn_enqueue_context(h, NULL, 5, 2, big_buf, 0, big_buf, 0, small_buf, 9, 0, NULL, NULL),
        CLATTN_ERROR_BUFFER_TOO_SMALL);
}

static void bad_values(void) {
    float f[4] = {1, 2, 3, 4}, out[4];
    EXPECT(
        clattn_enqueue_normalize(h, NULL, (clattn_norm)7, 4, big_buf, 0, big_buf, 0, 0, NULL, NULL),
        CLATTN_ERROR_INVALID_VALUE);
    EXPECT(clattn_normalize(h, (clattn_norm)-1, 4, f, out), CLATTN_ERROR_INVALID_VALUE);
    EXPECT(clattn_query_attention(h, 2, 2, f, f, NULL, 1, (clattn_norm)3, out, NULL, NULL),
           CLATTN_ERROR_INVALID_VALUE);
    EXPECT(clattn_ref_normalize((clattn_norm)9, 4, f, out), CLATTN_ERROR_INVALID_VALUE);
    /* Partly overlapping scores and weights would race. */
    EXPECT(clattn_enqueue_normalize(h, NULL, CLATTN_NORM_SUM, 8, big_buf, 0, big_buf, 4, 0, NULL,
                                    NULL),
           CLATTN_ERROR_INVALID_VALUE);
    /* Wait list count and pointer disagree. */
    EXPECT(
        clattn_enqueue_scores(h, NULL, 1, 1, 1, big_buf, 0, big_buf, 0, big_buf, 0, 1, NULL, NULL),
        CLATTN_ERROR_NULL_POINTER);
    clattn_options options;
    clattn_options_init(&options);
    options.variant = (clattn_variant)5;
    clattn_handle *other = NULL;
    EXPECT(clattn_handle_create(&options, &other), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_PTR_NULL(other);
}

static void bad_device_selectors(void) {
    const char *selectors[] = {"no-such-device-anywhere", "99", "7:0", "0:42"};
    for (size_t i = 0; i < sizeof selectors / sizeof selectors[0]; i++) {
        clattn_options options;
        clattn_options_init(&options);
        options.device = selectors[i];
        clattn_handle *other = (clattn_handle *)1;
        EXPECT(clattn_handle_create(&options, &other), CLATTN_ERROR_DEVICE_NOT_FOUND);
        CU_ASSERT_PTR_NULL(other);
        CU_ASSERT(strstr(clattn_last_error_message(), selectors[i]) != NULL);
    }
    /* Good selectors: the index, P:D, the type and a name substring all find device 0. */
    clattn_device_info info;
    CU_ASSERT_EQUAL(clattn_select_device("0", &info), CLATTN_SUCCESS);
    char name_part[8] = {0};
    memcpy(name_part, info.name, 5);
    clattn_device_info again;
    CU_ASSERT_EQUAL(clattn_select_device("0:0", &again), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(again.device, info.device);
    CU_ASSERT_EQUAL(clattn_select_device(name_part, &again), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_select_device("default", &again), CLATTN_SUCCESS);
    CU_ASSERT(again.is_default);
}

/* Objects of another context are refused, not silently used. */
static void foreign_objects(void) {
    clattn_handle *other = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create(NULL, &other), CLATTN_SUCCESS);
    cl_int err;
    cl_mem foreign =
        clCreateBuffer(clattn_handle_context(other), CL_MEM_READ_WRITE, 64, NULL, &err);
    CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
    EXPECT(clattn_enqueue_scores(h, clattn_handle_queue(other), 1, 1, 1, big_buf, 0, big_buf, 0,
                                 big_buf, 0, 0, NULL, NULL),
           CLATTN_ERROR_INVALID_HANDLE);
    EXPECT(
        clattn_enqueue_scores(h, NULL, 1, 1, 1, foreign, 0, big_buf, 0, big_buf, 0, 0, NULL, NULL),
        CLATTN_ERROR_INVALID_HANDLE);
    /* A borrowed handle on the other context, made without a queue: */
    cl_device_id device = clattn_handle_device(h);
    clattn_handle *borrowed = NULL;
    cl_context ctx = clattn_handle_context(other);
    CU_ASSERT_EQUAL(clattn_handle_create_from(ctx, device, NULL, NULL, &borrowed), CLATTN_SUCCESS);
    /* ... a borrowed handle without a queue refuses blocking calls and queue-less enqueues. */
    float f[2] = {1, 1}, out[2];
    EXPECT(clattn_scores(borrowed, 2, 1, 1, f, f, out), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_enqueue_scores(borrowed, NULL, 1, 1, 1, foreign, 0, foreign, 0, foreign, 0, 0,
                                 NULL, NULL),
           CLATTN_ERROR_NULL_POINTER);
    clattn_handle_destroy(borrowed);
    clReleaseMemObject(foreign);
    clattn_handle_destroy(other);
}

/* A kernel that does not compile gives BUILD_FAILED and the compiler's log. */
static void build_failure_log(void) {
    clattn_options options;
    clattn_options_init(&options);
    options.build_options = "-DSCORES_ROWS=(";
    options.variant = CLATTN_VARIANT_CPU;
    clattn_handle *broken = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create(&options, &broken), CLATTN_SUCCESS);
    float x[4] = {1, 2, 3, 4}, out[2];
    EXPECT(clattn_scores(broken, 2, 2, 1, x, x, out), CLATTN_ERROR_BUILD_FAILED);
    CU_ASSERT(strlen(clattn_build_log(broken)) > 0);
    EXPECT(clattn_handle_prepare(broken), CLATTN_ERROR_BUILD_FAILED);
    clattn_handle_destroy(broken);
    CU_ASSERT_STRING_EQUAL(clattn_build_log(NULL), "");
}

/* CLATTN_CL_STD: an unknown version is refused; 3.0 builds and computes wherever the device
 * is an OpenCL 3.x one and is refused (UNSUPPORTED) elsewhere, never silently ignored. */
static void cl_std_override(void) {
    const char *was = getenv("CLATTN_CL_STD");
    char *saved = was ? strdup(was) : NULL;
    clattn_handle *std_handle = NULL;
    setenv("CLATTN_CL_STD", "2.0", 1);
    EXPECT(clattn_handle_create(NULL, &std_handle), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_PTR_NOT_NULL(strstr(clattn_last_error_message(), "CLATTN_CL_STD"));
    CU_ASSERT_PTR_NULL(std_handle);

    setenv("CLATTN_CL_STD", "3.0", 1);
    clattn_device_info info;
    CU_ASSERT_EQUAL_FATAL(clattn_select_device(NULL, &info), CLATTN_SUCCESS);
    const bool offers_3 = strncmp(info.version, "OpenCL 3.", 9) == 0;
    clattn_status status = clattn_handle_create(NULL, &std_handle);
    CU_ASSERT_EQUAL(status, offers_3 ? CLATTN_SUCCESS : CLATTN_ERROR_UNSUPPORTED);
    if (status == CLATTN_SUCCESS) {
        const float x[4] = {1, 2, 3, 4};
        float out[2] = {0, 0};
        CU_ASSERT_EQUAL(clattn_scores(std_handle, 2, 2, 1.0f, x, x, out), CLATTN_SUCCESS);
        CU_ASSERT_EQUAL(out[0], 5.0f);
        CU_ASSERT_EQUAL(out[1], 11.0f);
    }
    clattn_handle_destroy(std_handle);
    if (saved)
        setenv("CLATTN_CL_STD", saved, 1);
    else
        unsetenv("CLATTN_CL_STD");
    free(saved);
}

/* The forms that take every feature's tensors refuse a NULL tensor set and a tensor that no
 * feature of the desc reads (it would be silently ignored). */
static void attention_extra_tensors(void) {
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 1, 1, 2, 2, 2, 2);
    float x[4] = {1, 2, 3, 4}, o[4];
    EXPECT(clattn_attention_ex(h, &desc, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_cpu_attention_ex(&desc, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_ref_attention_ex(&desc, NULL), CLATTN_ERROR_NULL_POINTER);
    EXPECT(clattn_enqueue_attention_ex(h, NULL, &desc, NULL, 0, NULL, NULL),
           CLATTN_ERROR_NULL_POINTER);
    const int32_t table[2] = {0, 0};
    clattn_attention_arrays a = {.q = x, .k = x, .v = x, .o = o, .block_table = table};
    EXPECT(clattn_attention_ex(h, &desc, &a), CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_PTR_NOT_NULL(strstr(clattn_last_error_message(), "block_table"));
    EXPECT(clattn_cpu_attention_ex(&desc, &a), CLATTN_ERROR_INVALID_VALUE);
    EXPECT(clattn_ref_attention_ex(&desc, &a), CLATTN_ERROR_INVALID_VALUE);
    clattn_attention_buffers b = {
        .q = big_buf, .k = big_buf, .v = big_buf, .o = small_buf, .seqlens_k = big_buf};
    EXPECT(clattn_enqueue_attention_ex(h, NULL, &desc, &b, 0, NULL, NULL),
           CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_PTR_NOT_NULL(strstr(clattn_last_error_message(), "seqlens_k"));
    /* Without extra tensors the forms compute what clattn_attention does. */
    a.block_table = NULL;
    float want[4];
    CU_ASSERT_EQUAL(clattn_attention(h, &desc, x, x, x, NULL, want, NULL), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_attention_ex(h, &desc, &a), CLATTN_SUCCESS);
    CU_ASSERT(memcmp(o, want, sizeof o) == 0);
}

static void status_strings(void) {
    CU_ASSERT_STRING_EQUAL(clattn_status_string(CLATTN_SUCCESS), "CLATTN_SUCCESS");
    CU_ASSERT_STRING_EQUAL(clattn_status_string(CLATTN_ERROR_BUFFER_TOO_SMALL),
                           "CLATTN_ERROR_BUFFER_TOO_SMALL");
    CU_ASSERT_STRING_EQUAL(clattn_status_string(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    CU_ASSERT_STRING_EQUAL(clattn_status_string(-123456), "unknown status");
    for (int s = CLATTN_ERROR_COMMUNICATION; s <= CLATTN_ERROR_NULL_POINTER; s++)
        CU_ASSERT(strncmp(clattn_status_string(s), "CLATTN_ERROR_", 13) == 0);
    /* Success clears the message. */
    float f[2] = {1, 2}, out[2];
    clattn_ref_scores(0, 1, 1, f, f, out);
    CU_ASSERT(strlen(clattn_last_error_message()) > 0);
    CU_ASSERT_EQUAL(clattn_ref_scores(2, 1, 1, f, f, out), CLATTN_SUCCESS);
    CU_ASSERT_STRING_EQUAL(clattn_last_error_message(), "");
    CU_ASSERT_STRING_EQUAL(clattn_version(), "0.1.0");
}

static void add_suites(void) {
    static const test_case cases[] = {{"NULL pointers", null_pointers},
                                      {"zero and overflowing sizes", zero_and_overflowing_sizes},
                                      {"buffers too small", buffers_too_small},
                                      {"unknown values", bad_values},
                                      {"device selectors", bad_device_selectors},
                                      {"objects of another context", foreign_objects},
                                      {"build failure and log", build_failure_log},
                                      {"OpenCL C version override", cl_std_override},
                                      {"attention's extra tensors", attention_extra_tensors},
                                      {"status strings and messages", status_strings},
                                      {NULL, NULL}};
    CU_pSuite suite = CU_add_suite("errors", setup, teardown);
    for (const test_case *c = cases; suite && c->name; c++)
        CU_add_test(suite, c->name, c->run);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
