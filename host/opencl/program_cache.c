/* On-disk cache of program binaries, so that a new process skips the source compile.
 *
 * Directory: CLATTN_CACHE_DIR, else $XDG_CACHE_HOME/clattn, else $HOME/.cache/clattn;
 * "off" disables the cache. A directory that cannot be created or written only disables
 * writing. One file per program, named by a 64-bit FNV-1a hash of everything the binary
 * depends on (kernel source, build options, device name and version, driver version,
 * platform version, library version). The file (cache_file.h) is a header (magic, format,
 * key, lengths, checksum), the build options, then the binary; anything that does not match
 * exactly -- corrupt, truncated, foreign, other options -- is ignored and the caller rebuilds
 * from source and rewrites it, as it does when the binary lacks a kernel (program.c).
 * Files are written to a temporary name and renamed, so readers never see half a file. */
#include "program_cache.h"
#include "cache_file.h"
#include "handle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint_fast64_t hits, misses, rebuilds;

/* Hashes a string with its terminating zero, so that ("ab", "c") differs from ("a", "bc"). */
static uint64_t fnv1a_str(uint64_t hash, const char *s) {
    return clattn__fnv1a(hash, s, strlen(s) + 1);
}

bool clattn__cache_dir(char *buf, size_t size) {
    const char *dir = getenv("CLATTN_CACHE_DIR");
    int len;
    if (dir && strcmp(dir, "off") == 0) return false;
    if (dir && *dir) {
        len = snprintf(buf, size, "%s", dir);
    } else if ((dir = getenv("XDG_CACHE_HOME")) && *dir) {
        len = snprintf(buf, size, "%s/clattn", dir);
    } else if ((dir = getenv("HOME")) && *dir) {
        len = snprintf(buf, size, "%s/.cache/clattn", dir);
    } else {
        return false;
    }
    return len > 0 && (size_t)len < size;
}

void clattn__cache_make_dirs(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    mkdir(path, 0755);
}

static void device_string(cl_device_id device, cl_device_info what, char *buf, size_t size) {
    if (clGetDeviceInfo(device, what, size, buf, NULL) != CL_SUCCESS) buf[0] = '\0';
    buf[size - 1] = '\0';
}

uint64_t clattn__cache_key(const clattn_handle *h, cl_uint count, const char *const *texts,
                           const size_t *lengths, const char *options) {
    char text[1024];
    uint64_t key = CLATTN_FNV_OFFSET;
    key = fnv1a_str(key, "clattn " CLATTN_VERSION_STRING);
    for (cl_uint i = 0; i < count; i++) {
        uint64_t length = lengths[i];
        key = clattn__fnv1a(key, &length, sizeof length);
        key = clattn__fnv1a(key, texts[i], lengths[i]);
    }
    key = fnv1a_str(key, options);
    key = fnv1a_str(key, h->device_name);
    device_string(h->device, CL_DEVICE_VERSION, text, sizeof text);
    key = fnv1a_str(key, text);
    device_string(h->device, CL_DRIVER_VERSION, text, sizeof text);
    key = fnv1a_str(key, text);
    cl_platform_id platform = NULL;
    text[0] = '\0';
    if (clGetDeviceInfo(h->device, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL) ==
            CL_SUCCESS &&
        clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof text, text, NULL) != CL_SUCCESS)
        text[0] = '\0';
    text[sizeof text - 1] = '\0';
    key = fnv1a_str(key, text);
    return key;
}

static bool file_path(uint64_t key, char *buf, size_t size) {
    char dir[4000];
    if (!clattn__cache_dir(dir, sizeof dir)) return false;
    int len = snprintf(buf, size, "%s/%016llx.clbin", dir, (unsigned long long)key);
    return len > 0 && (size_t)len < size;
}

FILE *clattn__cache_open_regular(const char *path, long *size) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    FILE *f = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (f = fdopen(fd, "rb"))) {
        *size = (long)st.st_size;
        return f;
    }
    close(fd);
    return NULL;
}

/* The file's binary (cache_file.c checks it against key and options), or NULL. The whole file
 * is read only when its size fits the format. */
static unsigned char *read_binary(const char *path, uint64_t key, const char *options,
                                  size_t *length) {
    long size = 0;
    FILE *f = clattn__cache_open_regular(path, &size);
    if (!f) return NULL;
    unsigned char *file = NULL;
    const unsigned char *binary = NULL;
    const uint64_t most =
        sizeof(clattn_cache_header) + CLATTN_CACHE_MAX_OPTIONS + CLATTN_CACHE_MAX_BINARY;
    if (size > 0 && (uint64_t)size <= most && (file = malloc((size_t)size)) &&
        (fread(file, 1, (size_t)size, f) != (size_t)size ||
         !clattn__cache_file_parse(file, (size_t)size, key, options, &binary, length))) {
        free(file);
        file = NULL;
    }
    fclose(f);
    if (file) memmove(file, binary, *length); /* the binary to the start of its allocation */
    return file;
}

cl_program clattn__cache_load(clattn_handle *h, uint64_t key, const char *options) {
    char path[4096];
    size_t length = 0;
    unsigned char *binary =
        file_path(key, path, sizeof path) ? read_binary(path, key, options, &length) : NULL;
    if (!binary) {
        atomic_fetch_add(&misses, 1);
        return NULL;
    }
    cl_int err, binary_status = CL_SUCCESS;
    const unsigned char *binaries[1] = {binary};
    cl_program program = clCreateProgramWithBinary(h->context, 1, &h->device, &length, binaries,
                                                   &binary_status, &err);
    free(binary);
    if (err == CL_SUCCESS && binary_status == CL_SUCCESS)
        err = clBuildProgram(program, 1, &h->device, options, NULL, NULL);
    else if (err == CL_SUCCESS)
        err = binary_status;
    if (err != CL_SUCCESS) {
        /* A binary the driver refuses (another driver build, damage the checksum missed):
         * the caller builds from source and overwrites the file. */
        if (program) clReleaseProgram(program);
        atomic_fetch_add(&misses, 1);
        return NULL;
    }
    atomic_fetch_add(&hits, 1);
    return program;
}

void clattn__cache_store(clattn_handle *h, uint64_t key, const char *options, cl_program program) {
    char path[4096], temp[4200], dir[4000];
    if (!file_path(key, path, sizeof path) || !clattn__cache_dir(dir, sizeof dir)) return;
    size_t length = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof length, &length, NULL) !=
            CL_SUCCESS ||
        length == 0 || length > CLATTN_CACHE_MAX_BINARY)
        return;
    unsigned char *binary = malloc(length);
    if (!binary) return;
    unsigned char *binaries[1] = {binary};
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binaries, binaries, NULL) !=
        CL_SUCCESS) {
        free(binary);
        return;
    }
    clattn_cache_header hd;
    if (!clattn__cache_header_init(&hd, key, options, binary, length)) {
        free(binary);
        return;
    }
    const size_t options_length = hd.options_length;

    clattn__cache_make_dirs(dir);
    /* A name no other thread or process uses: pid, handle address and a counter. */
    static atomic_uint counter;
    snprintf(temp, sizeof temp, "%s.%ld.%p.%u.tmp", path, (long)getpid(), (void *)h,
             atomic_fetch_add(&counter, 1));
    FILE *f = fopen(temp, "wb");
    bool ok = f && fwrite(&hd, sizeof hd, 1, f) == 1 &&
              fwrite(options, 1, options_length, f) == options_length &&
              fwrite(binary, 1, length, f) == length;
    if (f && fclose(f) != 0) ok = false;
    if (f && (!ok || rename(temp, path) != 0)) remove(temp);
    free(binary);
}

void clattn__cache_stats(uint64_t *hit_count, uint64_t *miss_count) {
    if (hit_count) *hit_count = atomic_load(&hits);
    if (miss_count) *miss_count = atomic_load(&misses);
}

void clattn__cache_count_rebuild(void) {
    atomic_fetch_add(&rebuilds, 1);
}

uint64_t clattn__cache_rebuilds(void) {
    return atomic_load(&rebuilds);
}
