/* Embedded kernel sources -> built programs, cached in memory for the whole process by
 * (context, device, source, options) and on disk by program_cache.c. */
#include "program.h"
#include "status.h"
#include "handle.h"
#include "program_cache.h"
#include "launch_plan.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every program is built from the host-kernel contract, the dropout generator and the common
 * header, followed by its own file. */
#define CONTRACT_SOURCE "contract.h"
#define PHILOX_SOURCE   "philox.h"
#define COMMON_SOURCE   "common.h"

static const clattn_kernel_source *find_source(const char *name) {
    for (size_t i = 0; i < clattn_kernel_source_count; i++)
        if (strcmp(clattn_kernel_sources[i].name, name) == 0) return &clattn_kernel_sources[i];
    return NULL;
}

/* CLATTN_KERNEL_DIR (for kernel development) loads sources from disk instead. */
static char *read_override(const char *name) {
    const char *dir = getenv("CLATTN_KERNEL_DIR");
    if (!dir || !*dir) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1))) {
            size_t got = fread(text, 1, (size_t)size, f);
            text[got] = '\0';
        }
    }
    fclose(f);
    return text;
}

static clattn_status load_source(const char *name, char **owned, const char **text, size_t *len) {
    *owned = read_override(name);
    if (*owned) {
        *text = *owned;
        *len = strlen(*owned);
        return CLATTN_SUCCESS;
    }
    const clattn_kernel_source *src = find_source(name);
    if (!src) return clattn__fail(CLATTN_ERROR_INTERNAL, "no embedded kernel source %s", name);
    *text = src->text;
    *len = src->length;
    return CLATTN_SUCCESS;
}

static char *build_options(const clattn_handle *h, const char *defines) {
    return clattn__program_options(&h->profile, defines, h->extra_build_options);
}

static void keep_build_log(clattn_handle *h, cl_program program) {
    size_t size = 0;
    if (clGetProgramBuildInfo(program, h->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) !=
        CL_SUCCESS)
        size = 0;
    char *log = malloc(size + 1);
    if (!log) return;
    if (size == 0 || clGetProgramBuildInfo(program, h->device, CL_PROGRAM_BUILD_LOG, size, log,
                                           NULL) != CL_SUCCESS)
        size = 0;
    log[size] = '\0';
    pthread_mutex_lock(&h->lock);
    free(h->build_log);
    h->build_log = log;
    pthread_mutex_unlock(&h->lock);
}

/* Builds source_name with options: from the disk cache's binary when it has one and use_disk
 * (then *from_disk is set), else from the source (and stores the binary). */
static clattn_status build_program(clattn_handle *h, const char *source_name, const char *options,
                                   bool use_disk, cl_program *out, bool *from_disk) {
    *from_disk = false;
    const char *names[] = {CONTRACT_SOURCE, PHILOX_SOURCE, COMMON_SOURCE, source_name};
    enum { PARTS = sizeof names / sizeof names[0] };
    char *owned[PARTS] = {NULL};
    const char *texts[PARTS];
    size_t lengths[PARTS];
    clattn_status status = CLATTN_SUCCESS;
    for (size_t i = 0; i < PARTS && !status; i++)
        status = load_source(names[i], &owned[i], &texts[i], &lengths[i]);
    cl_program program = NULL;
    uint64_t key = 0;
    if (!status) {
        /* The on-disk cache first (program_cache.c), the source when it has nothing. */
        key = clattn__cache_key(h, PARTS, texts, lengths, options);
        if (use_disk) program = clattn__cache_load(h, key, options);
    }
    if (program) {
        for (size_t i = 0; i < PARTS; i++)
            free(owned[i]);
        *out = program;
        *from_disk = true;
        return CLATTN_SUCCESS;
    }
    if (!status) {
        cl_int err;
        program = clCreateProgramWithSource(h->context, PARTS, texts, lengths, &err);
        status = clattn__cl(err, "clCreateProgramWithSource");
    }
    for (size_t i = 0; i < PARTS; i++)
        free(owned[i]);
    if (status) return status;

    cl_int err = clBuildProgram(program, 1, &h->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        keep_build_log(h, program);
        clReleaseProgram(program);
        if (err == CL_BUILD_PROGRAM_FAILURE || err == CL_INVALID_BUILD_OPTIONS)
            return clattn__fail(CLATTN_ERROR_BUILD_FAILED,
                                "building %s failed (%s): see clattn_build_log()", source_name,
                                clattn_status_string(err));
        return clattn__cl(err, "clBuildProgram");
    }
    clattn__cache_store(h, key, options, program);
    *out = program;
    return CLATTN_SUCCESS;
}

/* The process-wide cache. Builds happen under the lock, so two handles never build the
 * same program twice (builds of different programs wait for each other). */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static clattn_program_entry *cache;

static clattn_program_entry *find_entry(clattn_handle *h, const char *source_name,
                                        const char *options) {
    for (clattn_program_entry *e = cache; e; e = e->next)
        if (e->context == h->context && e->device == h->device &&
            strcmp(e->source_name, source_name) == 0 && strcmp(e->options, options) == 0)
            return e;
    return NULL;
}

static void free_entry(clattn_program_entry *e) {
    if (e->program) clReleaseProgram(e->program);
    if (e->replaced) clReleaseProgram(e->replaced);
    if (e->context) clReleaseContext(e->context);
    free(e->source_name);
    free(e->options);
    free(e);
}

/* The handle's own program, retained, in *out, or NULL there when the handle has none. Only
 * the handle's lock: programs the handle already uses never wait for another handle's build.
 * A failed retain is an error: the program must not be released for it later. */
static cl_int handle_program(clattn_handle *h, const char *source_name, const char *options,
                             cl_program *out) {
    cl_program program = NULL;
    cl_int err = CL_SUCCESS;
    pthread_mutex_lock(&h->lock);
    for (clattn_program_use *u = h->programs; u && !program; u = u->next)
        if (strcmp(u->entry->source_name, source_name) == 0 &&
            strcmp(u->entry->options, options) == 0)
            program = atomic_load(&u->entry->program);
    if (program && (err = clRetainProgram(program))) program = NULL;
    pthread_mutex_unlock(&h->lock);
    *out = program;
    return err;
}

/* Called with cache_lock held (lock order: cache_lock, then h->lock). */
static clattn_status get_program(clattn_handle *h, const char *source_name, const char *options,
                                 cl_program *out) {
    /* Another thread on this handle may have added it meanwhile. */
    cl_program own = NULL;
    cl_int err = handle_program(h, source_name, options, &own);
    if (err) return clattn__cl(err, "clRetainProgram");
    if (own) {
        clReleaseProgram(own); /* cache_lock keeps the entry alive */
        *out = own;
        return CLATTN_SUCCESS;
    }
    clattn_program_use *use = calloc(1, sizeof *use);
    if (!use) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clattn_program_entry *entry = find_entry(h, source_name, options);
    if (!entry) {
        entry = calloc(1, sizeof *entry);
        if (entry) {
            entry->source_name = strdup(source_name);
            entry->options = strdup(options);
        }
        if (!entry || !entry->source_name || !entry->options) {
            if (entry) free_entry(entry);
            free(use);
            return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        }
        cl_program built = NULL;
        clattn_status status =
            build_program(h, source_name, options, true, &built, &entry->from_disk);
        entry->program = built;
        if (status) {
            free_entry(entry);
            free(use);
            return status;
        }
        if ((err = clRetainContext(h->context))) {
            free_entry(entry); /* context still NULL: not released for the failed retain */
            free(use);
            return clattn__cl(err, "clRetainContext");
        }
        entry->context = h->context;
        entry->device = h->device;
        entry->next = cache;
        cache = entry;
    }
    entry->users++;
    use->entry = entry;
    pthread_mutex_lock(&h->lock);
    use->next = h->programs;
    h->programs = use;
    pthread_mutex_unlock(&h->lock);
    *out = entry->program;
    return CLATTN_SUCCESS;
}

/* A program from the disk cache that lacks a kernel (a binary of another source stored under
 * this key, or a driver that dropped it) is replaced by one built from the source, which also
 * rewrites the cache file. *program (retained) becomes the entry's current program. Fails
 * with CL_INVALID_KERNEL_NAME when the program was built from the source already. */
static clattn_status rebuild_from_source(clattn_handle *h, const char *source_name,
                                         const char *options, cl_program *program) {
    clattn_status status = clattn__cl(CL_INVALID_KERNEL_NAME, "clCreateKernel");
    pthread_mutex_lock(&cache_lock);
    clattn_program_entry *entry = find_entry(h, source_name, options);
    cl_program current = entry ? atomic_load(&entry->program) : NULL;
    if (entry && current == *program && entry->from_disk) {
        cl_program fresh = NULL;
        bool from_disk = false;
        status = build_program(h, source_name, options, false, &fresh, &from_disk);
        if (!status) {
            entry->replaced = current; /* other threads may still hold it */
            atomic_store(&entry->program, fresh);
            entry->from_disk = false;
            current = fresh;
            clattn__cache_count_rebuild();
        }
    } else if (entry && current != *program) {
        status = CLATTN_SUCCESS; /* another thread rebuilt it meanwhile */
    }
    cl_int err = CL_SUCCESS;
    if (!status && (err = clRetainProgram(current))) status = clattn__cl(err, "clRetainProgram");
    pthread_mutex_unlock(&cache_lock);
    if (status) return status;
    clReleaseProgram(*program);
    *program = current;
    return CLATTN_SUCCESS;
}

clattn_status clattn__get_kernel(clattn_handle *h, const char *source_name, const char *defines,
                                 const char *kernel_name, cl_kernel *kernel) {
    char *options = build_options(h, defines);
    if (!options) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clattn_status status = CLATTN_SUCCESS;
    cl_program program = NULL;
    cl_int err = handle_program(h, source_name, options, &program);
    if (err) {
        status = clattn__cl(err, "clRetainProgram");
    } else if (!program) {
        pthread_mutex_lock(&cache_lock);
        status = get_program(h, source_name, options, &program);
        /* Retained so that the kernel can be made outside the lock. */
        if (!status && (err = clRetainProgram(program)))
            status = clattn__cl(err, "clRetainProgram");
        pthread_mutex_unlock(&cache_lock);
    }
    if (!status) {
        *kernel = clCreateKernel(program, kernel_name, &err);
        if (err == CL_INVALID_KERNEL_NAME &&
            !(status = rebuild_from_source(h, source_name, options, &program)))
            *kernel = clCreateKernel(program, kernel_name, &err);
        if (!status) status = clattn__cl(err, "clCreateKernel");
        clReleaseProgram(program);
    }
    free(options);
    return status;
}

void clattn__release_programs(clattn_handle *h) {
    pthread_mutex_lock(&cache_lock);
    clattn_program_use *u = h->programs;
    while (u) {
        clattn_program_use *next = u->next;
        if (--u->entry->users == 0) {
            clattn_program_entry **link = &cache;
            while (*link != u->entry)
                link = &(*link)->next;
            *link = u->entry->next;
            free_entry(u->entry);
        }
        free(u);
        u = next;
    }
    h->programs = NULL;
    pthread_mutex_unlock(&cache_lock);
}

const char *clattn_build_log(const clattn_handle *h) {
    return h && h->build_log ? h->build_log : "";
}
