/* The tuned table (`clattn tune`): the file parser on good, corrupt, truncated, foreign and
 * out-of-range tables; the device-limit check; the planners' precedence (environment, then
 * table, then the family's defaults); and a table in a cache folder read by a new handle,
 * validated against its device, and giving correct results. */
#include "test_common.h"
#include "tune_file.h"
#include "tune_table.h"
#include "planners.h"
#include "profile.h"
#include "tuning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEVICE "Test Device (R) 9000"
#define DRIVER "1.2.3+test"

static char root[512];

static const char good[] = "clattn-tune 1\n"
                           "device " DEVICE "\n"
                           "driver " DRIVER "\n"
                           "attention_cpu f32 64 4 2 1 2\n"
                           "attention_gpu f32 128 128 16 32 1\n"
                           "end 2\n";

static bool parse(const char *text, clattn_tuned_table *t) {
    return clattn__tune_file_parse(text, strlen(text), DEVICE, DRIVER, t);
}

/* good with its first occurrence of from replaced by to. */
static bool parse_edited(const char *from, const char *to, clattn_tuned_table *t) {
    char text[1024];
    const char *at = strstr(good, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
    return parse(text, t);
}

static void test_good_and_roundtrip(void) {
    clattn_tuned_table t;
    CU_ASSERT_TRUE_FATAL(parse(good, &t));
    CU_ASSERT_EQUAL_FATAL(t.count, 2);
    const clattn_tuned_entry *cpu = clattn__tuned_find(&t, CLATTN_TUNED_ATTENTION_CPU, 64);
    const clattn_tuned_entry *gpu = clattn__tuned_find(&t, CLATTN_TUNED_ATTENTION_GPU, 128);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cpu);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gpu);
    CU_ASSERT(cpu->value[0] == 4 && cpu->value[1] == 2 && cpu->value[2] == 1 && cpu->value[3] == 2);
    CU_ASSERT(gpu->value[0] == 128 && gpu->value[1] == 16 && gpu->value[3] == 1);
    CU_ASSERT_PTR_NULL(clattn__tuned_find(&t, CLATTN_TUNED_ATTENTION_CPU, 128));
    char text[1024];
    const size_t length = clattn__tune_file_format(&t, DEVICE, DRIVER, text, sizeof text);
    CU_ASSERT_EQUAL(length, strlen(good));
    CU_ASSERT_STRING_EQUAL(text, good);
    /* Too small a buffer and names with line breaks are refused, not cut. */
    CU_ASSERT_EQUAL(clattn__tune_file_format(&t, DEVICE, DRIVER, text, 40), 0);
    CU_ASSERT_EQUAL(clattn__tune_file_format(&t, "a\nb", DRIVER, text, sizeof text), 0);
    /* An empty table is a table. */
    CU_ASSERT_TRUE(parse("clattn-tune 1\ndevice " DEVICE "\ndriver " DRIVER "\nend 0\n", &t));
    CU_ASSERT_EQUAL(t.count, 0);
}

static void test_corrupt(void) {
    clattn_tuned_table t;
    static const char *const edits[][2] = {
        {"clattn-tune 1", "clattn-tune 2"}, /* another version */
        {"clattn-tune 1", "clattn-tun 1"},
        {"end 2", "end 3"}, /* the count */
        {"end 2", "end 2 "},
        {"end 2", "end"},
        {"end 2\n", "end 2\nattention_cpu f32 64 4 2 1 2\n"}, /* after the end */
        {"end 2\n", "end 2"},                                 /* no final line break */
        {" 4 2 1 2", " 4 x 1 2"},
        {" 4 2 1 2", " 4 2 1"},
        {" 4 2 1 2", " 4 2 1 2 5"},
        {" 4 2 1 2", " 4 2 1 2 "},
        {" 4 2 1 2", " 4  2 1 2"},
        {" 4 2 1 2", " 4 -2 1 2"},
        {" 4 2 1 2", " 4 2 1 9999999999"},
        {"attention_cpu f32", "attention_cpu"},
        {"\nattention_gpu", "\n\nattention_gpu"}, /* an empty line */
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        CU_ASSERT_FALSE(parse_edited(edits[i][0], edits[i][1], &t));
        CU_ASSERT_EQUAL(t.count, 0);
    }
    /* Every truncation of a good table. */
    for (size_t size = 0; size < strlen(good); size++) {
        CU_ASSERT_FALSE(clattn__tune_file_parse(good, size, DEVICE, DRIVER, &t));
        CU_ASSERT_EQUAL(t.count, 0);
    }
    /* A NUL inside the image, no image, and an oversized one. */
    char text[sizeof good];
    memcpy(text, good, sizeof good);
    text[strlen(good) - 3] = '\0';
    CU_ASSERT_FALSE(clattn__tune_file_parse(text, strlen(good), DEVICE, DRIVER, &t));
    CU_ASSERT_FALSE(clattn__tune_file_parse(NULL, 0, DEVICE, DRIVER, &t));
    CU_ASSERT_FALSE(clattn__tune_file_parse(good, CLATTN_TUNE_FILE_MAX + 1, DEVICE, DRIVER, &t));
}

static void test_foreign(void) {
    clattn_tuned_table t;
    CU_ASSERT_FALSE(clattn__tune_file_parse(good, strlen(good), "Other Device", DRIVER, &t));
    CU_ASSERT_FALSE(clattn__tune_file_parse(good, strlen(good), DEVICE, "1.2.4", &t));
    CU_ASSERT_FALSE(clattn__tune_file_parse(good, strlen(good), DEVICE " 2", DRIVER, &t));
    CU_ASSERT_FALSE(clattn__tune_file_parse(good, strlen(good), "Test Device", DRIVER, &t));
    CU_ASSERT_EQUAL(t.count, 0);
}

/* Well-formed entries that are not ours or out of range are skipped alone. */
static void test_out_of_range(void) {
    clattn_tuned_table t;
    static const char *const skipped[][2] = {
        {"f32 64", "f16 64"},            /* another dtype */
        {"attention_cpu", "scores_cpu"}, /* an op this library does not know */
        {"f32 64 4", "f32 64 0"},
        {"f32 64 4", "f32 64 4097"},
        {"f32 64", "f32 0"},
        {"f32 64", "f32 1025"},
    };
    for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++) {
        CU_ASSERT_TRUE(parse_edited(skipped[i][0], skipped[i][1], &t));
        CU_ASSERT_EQUAL(t.count, 1);
        CU_ASSERT_PTR_NOT_NULL(clattn__tuned_find(&t, CLATTN_TUNED_ATTENTION_GPU, 128));
    }
    /* A duplicate key: the first wins. */
    CU_ASSERT_TRUE(parse_edited("end 2", "attention_cpu f32 64 8 4 2 2\nend 3", &t));
    CU_ASSERT_EQUAL(t.count, 2);
    CU_ASSERT_EQUAL(clattn__tuned_find(&t, CLATTN_TUNED_ATTENTION_CPU, 64)->value[0], 4);
}

static clattn_tuned_entry entry(clattn_tuned_op op, unsigned d, unsigned a, unsigned b, unsigned c,
                                unsigned e) {
    return (clattn_tuned_entry){.op = op, .head_d = d, .value = {a, b, c, e}};
}

static bool fits(const clattn_device_profile *p, clattn_tuned_entry e) {
    return clattn__attention_tuned_fits(p, &e);
}

static void put(clattn_tuned_table *t, clattn_tuned_entry e) {
    CU_ASSERT_TRUE(clattn__tuned_put(t, &e));
}

/* The device-limit check the planner and the loader apply. */
static void test_fits(void) {
    const clattn_device_profile *cpu = clattn__profile_named("cpu");
    const clattn_device_profile *sm80 = clattn__profile_named("sm_80");
    const clattn_device_profile *apple = clattn__profile_named("apple");
    const clattn_device_profile *gfx = clattn__profile_named("gfx90a");
    const clattn_tuned_op C = CLATTN_TUNED_ATTENTION_CPU, G = CLATTN_TUNED_ATTENTION_GPU;
    CU_ASSERT_TRUE(fits(cpu, entry(C, 64, 6, 4, 2, 4)));
    CU_ASSERT_FALSE(fits(cpu, entry(C, 64, 17, 4, 2, 4)));
    CU_ASSERT_FALSE(fits(cpu, entry(C, 64, 6, 5, 2, 4)));
    CU_ASSERT_FALSE(fits(cpu, entry(C, 0, 6, 4, 2, 4)));
    CU_ASSERT_TRUE(fits(sm80, entry(G, 128, 256, 32, 32, 1)));
    /* Over the work-group limit (AMD: 256 without reqd_work_group_size is not the limit
     * here, the kernel has it; Apple: 256 at most). */
    CU_ASSERT_TRUE(fits(gfx, entry(G, 64, 512, 64, 32, 1)));
    CU_ASSERT_FALSE(fits(apple, entry(G, 64, 512, 64, 32, 1)));
    CU_ASSERT_FALSE(fits(sm80, entry(G, 64, 2048, 64, 32, 1)));
    /* Over the local memory: 256 rows x 256 keys at D = 256. */
    CU_ASSERT_FALSE(fits(sm80, entry(G, 256, 256, 256, 256, 1)));
    /* Against the kernel's rules: row groups of 256 * 1 / 32 = 8 work-items do not divide 4
     * keys. */
    CU_ASSERT_FALSE(fits(sm80, entry(G, 64, 256, 32, 4, 1)));
    /* A CPU entry on a GPU profile is checked as a CPU tile (the GPU planner never reads it). */
    CU_ASSERT_FALSE(fits(sm80, entry(0, 64, 1, 1, 1, 1)));
}

static clattn_attention_plan plan_for(const clattn_device_profile *p, size_t m, size_t d) {
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 8, 8, m, 2048, d, d);
    clattn_attention_plan plan;
    CU_ASSERT_EQUAL(clattn__plan_attention(p, &desc, &plan), CLATTN_SUCCESS);
    return plan;
}

/* Environment, then the table, then the family's defaults. */
static void test_precedence(void) {
    clattn_device_profile cpu = *clattn__profile_named("cpu");
    put(&cpu.tuned, entry(CLATTN_TUNED_ATTENTION_CPU, 64, 4, 2, 1, 2));
    clattn_attention_plan a = plan_for(&cpu, 2048, 64);
    CU_ASSERT(a.rows == 4 && a.kv == 2 && a.vc == 1 && a.tiles == 2);
    a = plan_for(&cpu, 2048, 128); /* no entry at D = 128: the default */
    CU_ASSERT(a.rows == clattn_attention_tune.cpu_rows && a.kv == clattn_attention_tune.cpu_kv);
    setenv("CLATTN_ATTENTION_CPU_TILE", "8,4,2,2", 1);
    a = plan_for(&cpu, 2048, 64);
    unsetenv("CLATTN_ATTENTION_CPU_TILE");
    CU_ASSERT(a.rows == 8 && a.kv == 4 && a.vc == 2 && a.tiles == 2);
    /* An entry that does not fit the device is not used. */
    clattn_device_profile small = cpu;
    small.local_mem_size = 64;
    a = plan_for(&small, 2048, 64);
    CU_ASSERT(a.rows == clattn_attention_tune.cpu_rows);

    clattn_device_profile gpu = *clattn__profile_named("sm_80");
    put(&gpu.tuned, entry(CLATTN_TUNED_ATTENTION_GPU, 64, 128, 16, 32, 1));
    put(&gpu.tuned, entry(CLATTN_TUNED_ATTENTION_GPU, 128, 2048, 16, 32, 1));
    a = plan_for(&gpu, 2048, 64);
    CU_ASSERT(a.wg == 128 && a.bm == 16 && a.bn == 32 && a.rpt == 1);
    a = plan_for(&gpu, 2048, 128); /* out of the device's limits: the family's tile */
    CU_ASSERT(a.wg == clattn__attention_gpu_tile(CLATTN_VENDOR_NVIDIA)->group);
    a = plan_for(&gpu, 1, 64); /* decoding keeps its own tile */
    CU_ASSERT(a.bm == clattn__attention_gpu_tile(CLATTN_VENDOR_NVIDIA)->decode_bm);
    setenv("CLATTN_ATTENTION_GPU_TILE", "256,64,32,2", 1);
    a = plan_for(&gpu, 2048, 64);
    unsetenv("CLATTN_ATTENTION_GPU_TILE");
    CU_ASSERT(a.wg == 256 && a.bm == 64 && a.rpt == 2);
}

static clattn_handle *open_handle(clattn_variant variant) {
    clattn_options options;
    clattn_options_init(&options);
    options.variant = variant;
    if (variant == CLATTN_VARIANT_GPU) options.max_work_group_size = 256;
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL(clattn_handle_create(&options, &h), CLATTN_SUCCESS);
    return h;
}

static void write_text(const char *path, const char *text, size_t size) {
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(text, 1, size, f), size);
    fclose(f);
}

static char *read_text(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = calloc(1, 65536);
    *size = fread(text, 1, 65535, f);
    fclose(f);
    return text;
}

/* A table in a cache folder: a new handle reads it, keeps what fits its device, and gives
 * correct results with the tuned tile; corrupt and foreign files are ignored. */
static void test_device_table(void) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/cache", root);
    setenv("CLATTN_CACHE_DIR", dir, 1);
    clattn_handle *h = open_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(clattn__handle_profile(h)->tuned.count, 0); /* no table yet */
    clattn_tuned_table table = {0};
    put(&table, entry(CLATTN_TUNED_ATTENTION_CPU, 16, 4, 2, 1, 2));
    put(&table, entry(CLATTN_TUNED_ATTENTION_CPU, 32, 99, 2, 1, 2));
    put(&table, entry(CLATTN_TUNED_ATTENTION_GPU, 16, 512, 32, 32, 1));
    char path[4096];
    CU_ASSERT_EQUAL_FATAL(clattn__tune_table_store(h, &table, path, sizeof path), CLATTN_SUCCESS);
    clattn_handle_destroy(h);

    /* Read back: the entry out of range is dropped; the GPU tile of 512 work-items fits a
     * CPU device's limit (kept, though only the GPU shape reads it), not a handle capped at
     * 256 work-items. */
    h = open_handle(CLATTN_VARIANT_CPU);
    const clattn_device_profile *p = clattn__handle_profile(h);
    CU_ASSERT_EQUAL(p->tuned.count, p->max_work_group_size >= 512 ? 2 : 1);
    CU_ASSERT_PTR_NOT_NULL(clattn__tuned_find(&p->tuned, CLATTN_TUNED_ATTENTION_CPU, 16));
    clattn_handle *g = open_handle(CLATTN_VARIANT_GPU);
    CU_ASSERT_EQUAL(clattn__handle_profile(g)->tuned.count, 1); /* 512 > 256 work-items */
    CU_ASSERT_PTR_NULL(
        clattn__tuned_find(&clattn__handle_profile(g)->tuned, CLATTN_TUNED_ATTENTION_GPU, 16));
    clattn_handle_destroy(g);

    /* The tuned tile runs and matches the reference (the problem of `clattn tune --quick
     * --d 16`, so that the two share their compiled program). */
    const size_t M = 256, N = 256, D = 16;
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, 1, 1, 1, M, N, D, D);
    clattn_attention_plan plan;
    CU_ASSERT_EQUAL_FATAL(clattn__plan_attention(p, &desc, &plan), CLATTN_SUCCESS);
    CU_ASSERT(plan.rows == 4 && plan.kv == 2 && plan.vc == 1);
    float *q = malloc(M * D * sizeof(float)), *k = malloc(N * D * sizeof(float));
    float *v = malloc(N * D * sizeof(float)), *o = malloc(M * D * sizeof(float));
    float *want = malloc(M * D * sizeof(float));
    uint64_t seed = 7;
    test_fill(q, M * D, &seed, -1, 1);
    test_fill(k, N * D, &seed, -1, 1);
    test_fill(v, N * D, &seed, -1, 1);
    desc.causal = CLATTN_CAUSAL_TOP_LEFT;
    CU_ASSERT_EQUAL(clattn_attention(h, &desc, q, k, v, NULL, o, NULL), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_ref_attention(&desc, q, k, v, NULL, want, NULL), CLATTN_SUCCESS);
    /* Softmax weights sum to 1 and |v| <= 1: float32 rounding over N terms. */
    CU_ASSERT_TRUE(test_close(o, want, M * D, 64 * N * TEST_U, 0, "tuned attention"));
    free(q), free(k), free(v), free(o), free(want);
    clattn_handle_destroy(h);

    /* Corrupt (a changed count), truncated and foreign copies of the file are ignored. */
    size_t size = 0;
    char *text = read_text(path, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    char *end = strstr(text, "end 3");
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    end[4] = '2';
    write_text(path, text, size);
    h = open_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_EQUAL(clattn__handle_profile(h)->tuned.count, 0);
    clattn_handle_destroy(h);
    end[4] = '3';
    write_text(path, text, size - 1);
    h = open_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_EQUAL(clattn__handle_profile(h)->tuned.count, 0);
    clattn_handle_destroy(h);
    char *device = strstr(text, "device ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(device);
    device[7] ^= 1; /* another device's name */
    write_text(path, text, size);
    h = open_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_EQUAL(clattn__handle_profile(h)->tuned.count, 0);
    clattn_handle_destroy(h);
    /* A folder where the file should be. */
    remove(path);
    CU_ASSERT_EQUAL(mkdir(path, 0700), 0);
    h = open_handle(CLATTN_VARIANT_CPU);
    CU_ASSERT_EQUAL(clattn__handle_profile(h)->tuned.count, 0);
    clattn_handle_destroy(h);
    rmdir(path);
    free(text);
    unsetenv("CLATTN_CACHE_DIR");
}

static void add_suites(void) {
    static const test_case file_cases[] = {
        {"good table and round trip", test_good_and_roundtrip},
        {"corrupt and truncated tables", test_corrupt},
        {"foreign tables", test_foreign},
        {"entries out of range", test_out_of_range},
        {"device limits", test_fits},
        {"precedence: environment, table, defaults", test_precedence},
        {NULL, NULL}};
    test_add_suite("tune_file", file_cases);
    static const test_case device_cases[] = {{"a table in the cache folder", test_device_table},
                                             {NULL, NULL}};
    test_add_suite("tune_device", device_cases);
}

int main(int argc, char **argv) {
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/clattn-tune-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 2;
    }
    int rc = test_run(argc, argv, add_suites);
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return rc;
}
