/* The handle: the OpenCL objects it holds and the device limits it read (handle.c). */
#ifndef CLATTN_OPENCL_HANDLE_H
#define CLATTN_OPENCL_HANDLE_H

#include "clattn.h"
#include "profile.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A built program in the process-wide cache (program.c), shared by every handle on the same
 * context and device; it retains the context until the last handle using it is destroyed. */
typedef struct clattn_program_entry {
    cl_context context;
    cl_device_id device;
    char *source_name; /* e.g. "scores.cl" */
    char *options;     /* the complete build options */
    /* Atomic: handles read it under their own lock, and a program from the disk cache that
     * lacks a kernel is replaced (under the cache's lock) by one built from the source. */
    _Atomic(cl_program) program;
    cl_program replaced; /* the replaced one, released with the entry (readers may hold it) */
    bool from_disk;      /* built from the disk cache's binary */
    size_t users;        /* handles holding it */
    struct clattn_program_entry *next;
} clattn_program_entry;

/* A handle's reference to a cache entry. */
typedef struct clattn_program_use {
    clattn_program_entry *entry;
    struct clattn_program_use *next;
} clattn_program_use;

struct clattn_handle {
    cl_context context;
    cl_device_id device;
    cl_command_queue queue; /* may be NULL for a borrowed handle made without a queue */
    cl_device_type device_type;
    clattn_variant variant;
    char device_name[128];
    char *extra_build_options; /* from clattn_options.build_options, may be NULL */

    size_t max_work_group_size; /* device limit, capped by options */
    cl_ulong local_mem_size;
    cl_ulong max_alloc_size;
    cl_uint compute_units;
    cl_uint mem_base_addr_align; /* bytes */
    /* What the planners (host/plan/) know of the device: the limits above, the variant and
     * the capped work-group size included. */
    clattn_device_profile profile;

    pthread_mutex_t lock;         /* guards build_log and programs */
    clattn_program_use *programs; /* added to under program.c's process-wide lock too */
    char *build_log;

    /* Scratch memory shared by the operations that need it. Every user waits for the
     * previous user's event, so queues and out-of-order execution never race on it. One
     * operation at a time holds it (scratch_busy, a token between clattn__scratch_acquire and
     * clattn__scratch_release); scratch_lock is held only inside their bookkeeping, never
     * across calls, so a holder may build kernels (h->lock) freely. */
    pthread_mutex_t scratch_lock;
    pthread_cond_t scratch_free; /* signalled when the token is handed back */
    bool scratch_busy;
    pthread_t scratch_owner; /* the thread holding the token, when busy */
    cl_mem scratch;
    size_t scratch_bytes;
    cl_mem scratch_held; /* the holder's buffer, retained until released */
    cl_event scratch_last_use;
    bool scratch_is_users; /* set by clattn_handle_set_scratch: never grown or replaced */
};

#endif
