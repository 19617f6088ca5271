/* The on-disk program cache (host/program_cache.c): cold, warm, damaged files of every kind,
 * unwritable directories, "off" and the default directory. Each handle here has its own
 * context, so the in-memory cache never answers and every build goes through the disk cache.
 * Results are checked against the reference each time: a bad cache must never give wrong
 * numbers. */
#include "test_common.h"
#include "program_cache.h" /* clattn__cache_stats */

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N 5003 /* normalize's multi-kernel path too */
#define D 24
/* What clattn_handle_prepare builds on a CPU device, one per registry entry's program: scores,
 * normalize, context, query_small, probe, weights, linear, kv_append, attention at D = 64 and
 * at D = 128, attention_merge (5 before the registry, which left out query_small, probe and
 * the attention programs). */
#define PROGRAMS 11

/* The file header as program_cache.c writes it. */
typedef struct header {
    char magic[8];
    uint32_t format, options_length; /* the options follow the header, then the binary */
    uint64_t key, length, checksum;
} header;

static char root[256]; /* a fresh temporary directory for this run */

static void set_cache_dir(const char *dir) {
    if (dir)
        setenv("CLATTN_CACHE_DIR", dir, 1);
    else
        unsetenv("CLATTN_CACHE_DIR");
}

/* Paths of the cache files in dir (up to max). */
static int list_files(const char *dir, const char *suffix, char paths[][512], int max) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), slen = strlen(suffix);
        if (len > slen && strcmp(e->d_name + len - slen, suffix) == 0) {
            if (count < max) snprintf(paths[count], 512, "%s/%s", dir, e->d_name);
            count++;
        }
    }
    closedir(d);
    return count;
}

static int count_files(const char *dir, const char *suffix) {
    char paths[16][512];
    return list_files(dir, suffix, paths, 16);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static unsigned char *read_all(const char *path, long *size) {
    *size = file_size(path);
    FILE *f = fopen(path, "rb");
    unsigned char *data = *size > 0 && f ? malloc((size_t)*size) : NULL;
    if (data && fread(data, 1, (size_t)*size, f) != (size_t)*size) {
        free(data);
        data = NULL;
    }
    if (f) fclose(f);
    return data;
}

static bool write_all(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* A new handle (own context) using the current cache settings: builds every program, runs
 * the pipeline and checks it. Returns the cache hits and misses it caused. */
static void use_handle(uint64_t *hits, uint64_t *misses) {
    uint64_t h0, m0, h1, m1;
    clattn__cache_stats(&h0, &m0);
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create(NULL, &h), CLATTN_SUCCESS);
    CU_ASSERT_EQUAL(clattn_handle_prepare(h), CLATTN_SUCCESS);

    static float x[N * D], q[D], s[N], w[N], c[D], ref_s[N], ref_w[N], ref_c[D];
    uint64_t seed = 77;
    test_fill(x, N * D, &seed, -1.0f, 1.0f);
    test_fill(q, D, &seed, -1.0f, 1.0f);
    float scale = 1.0f / sqrtf((float)D);
    CU_ASSERT_EQUAL(
        clattn_query_attention(h, N, D, x, q, NULL, scale, CLATTN_NORM_SOFTMAX, s, w, c),
        CLATTN_SUCCESS);
    clattn_ref_scores(N, D, scale, x, q, ref_s);
    clattn_ref_normalize(CLATTN_NORM_SOFTMAX, N, s, ref_w);
    clattn_ref_context(N, D, w, x, ref_c);
    /* Per step, on the device's own input: see test_pipeline.c for the bounds. */
    CU_ASSERT(test_close(s, ref_s, N, (double)D * D * TEST_U, 0.0, "scores"));
    CU_ASSERT(test_close(w, ref_w, N, 1e-12, N * TEST_U + 1e-5, "weights"));
    CU_ASSERT(test_close(c, ref_c, D, N * TEST_U, 0.0, "context"));
    clattn_handle_destroy(h);
    clattn__cache_stats(&h1, &m1);
    *hits = h1 - h0;
    *misses = m1 - m0;
}

static void fresh_dir(char *out, const char *name) {
    snprintf(out, 512, "%s/%s", root, name);
    mkdir(out, 0755);
}

/* A directory of every program's file, written once by a cold handle: the cases that need a
 * warm cache copy it rather than compile everything again (a cold prepare takes ~21 s on
 * Intel's CPU runtime against ~3 s on PoCL, which made this test run past 300 s there). */
static char filled[512];

static void fill_once(void) {
    if (filled[0]) return;
    fresh_dir(filled, "filled");
    set_cache_dir(filled);
    uint64_t hits, misses;
    use_handle(&hits, &misses);
}

/* dir made warm: a copy of the filled directory's files, byte for byte. */
static void copy_filled(const char *dir) {
    fill_once();
    char paths[PROGRAMS][512];
    CU_ASSERT_EQUAL_FATAL(list_files(filled, ".clbin", paths, PROGRAMS), PROGRAMS);
    for (int i = 0; i < PROGRAMS; i++) {
        long size;
        unsigned char *data = read_all(paths[i], &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL(data);
        char to[1100];
        snprintf(to, sizeof to, "%s/%s", dir, strrchr(paths[i], '/') + 1);
        CU_ASSERT(write_all(to, data, (size_t)size));
        free(data);
    }
}

static void cold_then_warm(void) {
    char dir[512];
    fresh_dir(dir, "cold");
    set_cache_dir(dir);
    uint64_t hits, misses;
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(hits, 0);
    CU_ASSERT_EQUAL(misses, PROGRAMS);
    CU_ASSERT_EQUAL(count_files(dir, ".clbin"), PROGRAMS);
    if (!filled[0] && count_files(dir, ".clbin") == PROGRAMS) snprintf(filled, 512, "%s", dir);
    CU_ASSERT_EQUAL(count_files(dir, ".tmp"), 0); /* written atomically, nothing left over */
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(hits, PROGRAMS);
    CU_ASSERT_EQUAL(misses, 0);
    CU_ASSERT_EQUAL(count_files(dir, ".clbin"), PROGRAMS);
}

/* Damages every file with `damage`, then: the damaged files are ignored (misses), the
 * results are right, the files are rewritten, and the next handle hits again. */
static void damaged(const char *name, void (*damage)(const char *path, int index)) {
    char dir[512], paths[PROGRAMS][512];
    fresh_dir(dir, name);
    copy_filled(dir);
    set_cache_dir(dir);
    uint64_t hits, misses;
    CU_ASSERT_EQUAL_FATAL(list_files(dir, ".clbin", paths, PROGRAMS), PROGRAMS);
    for (int i = 0; i < PROGRAMS; i++)
        damage(paths[i], i);
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(hits, 0);
    CU_ASSERT_EQUAL(misses, PROGRAMS);
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(hits, PROGRAMS);
    CU_ASSERT_EQUAL(misses, 0);
}

static void flip_byte(const char *path, int index) {
    (void)index;
    long size;
    unsigned char *data = read_all(path, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    data[sizeof(header) + (size - (long)sizeof(header)) / 2] ^= 0x5a; /* in the binary */
    CU_ASSERT(write_all(path, data, (size_t)size));
    free(data);
}

static void truncate_half(const char *path, int index) {
    CU_ASSERT_EQUAL(truncate(path, index == 0 ? 10 : file_size(path) / 2), 0);
}

static void append_bytes(const char *path, int index) {
    (void)index;
    FILE *f = fopen(path, "ab");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("trailing", f);
    fclose(f);
}

/* Junk, or a valid file of another key under this name. */
static void foreign(const char *path, int index) {
    if (index == 0) {
        CU_ASSERT(write_all(path, "not a cache file at all", 23));
        return;
    }
    long size;
    unsigned char *data = read_all(path, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    header *hd = (header *)data;
    hd->key ^= 1;
    CU_ASSERT(write_all(path, data, (size_t)size));
    free(data);
}

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t hash = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        hash = (hash ^ p[i]) * 1099511628211ull;
    return hash;
}

/* A header that checks out over a binary the driver cannot load: the driver's refusal must
 * also fall back to the source. */
static void garbage_binary(const char *path, int index) {
    (void)index;
    long size;
    unsigned char *data = read_all(path, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    for (long i = sizeof(header); i < size; i++)
        data[i] = (unsigned char)(i * 131 + 7);
    header *hd = (header *)data;
    hd->checksum = fnv1a(data + sizeof(header), (size_t)size - sizeof(header));
    CU_ASSERT(write_all(path, data, (size_t)size));
    free(data);
}

/* The binary of a program from a source of one other kernel, built with options. */
static unsigned char *other_program_binary(clattn_handle *h, const char *options, size_t *size) {
    const char *source = "__kernel void clattn_test_other(__global float *x) { x[0] = 1.0f; }";
    cl_context context = clattn_handle_context(h);
    cl_device_id device = clattn_handle_device(h);
    cl_int err;
    cl_program program = clCreateProgramWithSource(context, 1, &source, NULL, &err);
    CU_ASSERT_EQUAL_FATAL(err, CL_SUCCESS);
    CU_ASSERT_EQUAL_FATAL(clBuildProgram(program, 1, &device, options, NULL, NULL), CL_SUCCESS);
    CU_ASSERT_EQUAL_FATAL(
        clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof *size, size, NULL), CL_SUCCESS);
    unsigned char *binary = malloc(*size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(binary);
    CU_ASSERT_EQUAL(clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binary, &binary, NULL),
                    CL_SUCCESS);
    clReleaseProgram(program);
    return binary;
}

/* Every file replaced by a well-formed one of its own key and options whose binary is another
 * program's (it lacks the kernels): the loads succeed, every missing kernel makes the library
 * rebuild from the source (right results) and rewrite the file, and the next handle loads the
 * rewritten files without a rebuild. */
static void lacking_kernels(void) {
    char dir[512], paths[PROGRAMS][512];
    fresh_dir(dir, "lacking");
    copy_filled(dir);
    set_cache_dir(dir);
    uint64_t hits, misses;
    CU_ASSERT_EQUAL_FATAL(list_files(dir, ".clbin", paths, PROGRAMS), PROGRAMS);
    clattn_handle *h = NULL;
    CU_ASSERT_EQUAL_FATAL(clattn_handle_create(NULL, &h), CLATTN_SUCCESS);
    for (int i = 0; i < PROGRAMS; i++) {
        long size;
        unsigned char *data = read_all(paths[i], &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL(data);
        header hd = *(header *)data;
        char *options = calloc(1, hd.options_length + 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(options);
        memcpy(options, data + sizeof hd, hd.options_length);
        size_t length = 0;
        unsigned char *binary = other_program_binary(h, options, &length);
        const size_t body = hd.options_length + length;
        unsigned char *file = malloc(sizeof hd + body);
        CU_ASSERT_PTR_NOT_NULL_FATAL(file);
        memcpy(file + sizeof hd, options, hd.options_length);
        memcpy(file + sizeof hd + hd.options_length, binary, length);
        hd.length = length;
        hd.checksum = fnv1a(file + sizeof hd, body);
        memcpy(file, &hd, sizeof hd);
        CU_ASSERT(write_all(paths[i], file, sizeof hd + body));
        free(file), free(binary), free(options), free(data);
    }
    clattn_handle_destroy(h);
    const uint64_t rebuilt = clattn__cache_rebuilds();
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(hits, PROGRAMS);
    CU_ASSERT_EQUAL(misses, 0);
    CU_ASSERT_EQUAL(clattn__cache_rebuilds() - rebuilt, PROGRAMS);
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(hits, PROGRAMS);
    CU_ASSERT_EQUAL(clattn__cache_rebuilds() - rebuilt, PROGRAMS); /* none this time */
}

static void corrupted_file(void) {
    damaged("flipped", flip_byte);
}

static void truncated_file(void) {
    damaged("truncated", truncate_half);
}

static void trailing_bytes(void) {
    damaged("trailing", append_bytes);
}

static void foreign_file(void) {
    damaged("foreign", foreign);
}

static void refused_binary(void) {
    damaged("refused", garbage_binary);
}

/* A directory that cannot be written: the cache only reads (nothing to read here). As root
 * permissions do not stop writes, so a directory under /proc (never writable) is used too. */
static void read_only_dir(void) {
    char dir[512];
    fresh_dir(dir, "read-only");
    CU_ASSERT_EQUAL(chmod(dir, 0555), 0);
    set_cache_dir(dir);
    uint64_t hits, misses;
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(hits, 0);
    if (geteuid() != 0) CU_ASSERT_EQUAL(count_files(dir, ".clbin"), 0);
    CU_ASSERT_EQUAL(count_files(dir, ".tmp"), 0);
    chmod(dir, 0755);

    set_cache_dir("/proc/clattn-cache-test/sub");
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(hits, 0);
    CU_ASSERT_EQUAL(misses, PROGRAMS);
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat("/proc/clattn-cache-test", &st), 0);

    /* A warm cache made read-only still serves its files. */
    fresh_dir(dir, "warm-read-only");
    copy_filled(dir);
    set_cache_dir(dir);
    CU_ASSERT_EQUAL(chmod(dir, 0555), 0);
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(hits, PROGRAMS);
    chmod(dir, 0755);
}

/* A missing directory is created (with its parents). */
static void missing_dir(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/missing/a/b", root);
    set_cache_dir(dir);
    uint64_t hits, misses;
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(count_files(dir, ".clbin"), PROGRAMS);
}

static void cache_off(void) {
    char dir[512];
    fresh_dir(dir, "xdg");
    set_cache_dir("off");
    setenv("XDG_CACHE_HOME", dir, 1);
    uint64_t hits, misses;
    use_handle(&hits, &misses); /* writes nothing, so a second handle could not hit either */
    CU_ASSERT_EQUAL(hits, 0);
    CU_ASSERT_EQUAL(misses, PROGRAMS);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/clattn", dir);
    CU_ASSERT_EQUAL(count_files(sub, ".clbin"), 0);

    /* Unset: $XDG_CACHE_HOME/clattn. */
    set_cache_dir(NULL);
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(count_files(sub, ".clbin"), PROGRAMS);
    use_handle(&hits, &misses);
    CU_ASSERT_EQUAL(hits, PROGRAMS);
    unsetenv("XDG_CACHE_HOME");
}

static void add_suites(void) {
    static const test_case cases[] = {{"cold, then warm", cold_then_warm},
                                      {"corrupted file", corrupted_file},
                                      {"truncated file", truncated_file},
                                      {"trailing bytes", trailing_bytes},
                                      {"foreign file", foreign_file},
                                      {"binary the driver refuses", refused_binary},
                                      {"cached programs lacking their kernels", lacking_kernels},
                                      {"read-only directory", read_only_dir},
                                      {"missing directory", missing_dir},
                                      {"off, and the default directory", cache_off},
                                      {NULL, NULL}};
    test_add_suite("cache", cases);
}

static void remove_tree(const char *path) {
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", path);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", path);
}

int main(int argc, char **argv) {
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/clattn-cache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 2;
    }
    int rc = test_run(argc, argv, add_suites);
    remove_tree(root);
    return rc;
}
