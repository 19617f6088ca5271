/* Fault injection for the OpenCL entry points clattn uses (test code, loaded with LD_PRELOAD):
 * counts the calls the process makes and fails the k-th with a chosen error, as a driver that
 * runs out of resources or loses its device would. Retains are failed too (clattn must then
 * not release what it did not retain); releases never are (a failing release can only leak).
 *
 *   CLATTN_FAULT_AT=k           fail the k-th counted call (1-based; unset or 0: none)
 *   CLATTN_FAULT_ONLY=name      count only the calls of this entry point
 *   CLATTN_FAULT_ERROR=code     the error it returns (default CL_OUT_OF_RESOURCES, -5)
 *   CLATTN_FAULT_COUNT_FILE=f   at exit, write "calls N failed NAME" to f (the sweep reads N)
 *
 * It also counts the references the process holds to OpenCL objects (created or retained minus
 * released; events count when an enqueue hands one out): clattn_fault_live_objects() gives them
 * by kind, for the soak test (tests/soak.c) to see that nothing accumulates.
 */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long calls;
/* Live references by kind (clattn_fault_kind). */
enum { LIVE_CONTEXT, LIVE_QUEUE, LIVE_MEM, LIVE_PROGRAM, LIVE_KERNEL, LIVE_EVENT, LIVE_KINDS };
static atomic_long live[LIVE_KINDS];

/* For the soak test, found with dlsym: copies the live references of each kind (context,
 * queue, mem, program, kernel, event) into out[0..count) and returns the number of kinds. */
__attribute__((visibility("default"))) int clattn_fault_live_objects(long *out, int count) {
    for (int i = 0; i < count && i < LIVE_KINDS; i++)
        out[i] = atomic_load(&live[i]);
    return LIVE_KINDS;
}
static long fail_at = -1;
static cl_int fail_error = CL_OUT_OF_RESOURCES;
static const char *_Atomic failed_name;
static const char *only;

__attribute__((constructor)) static void fault_init(void) {
    const char *at = getenv("CLATTN_FAULT_AT"), *error = getenv("CLATTN_FAULT_ERROR");
    fail_at = at ? atol(at) : 0;
    only = getenv("CLATTN_FAULT_ONLY");
    if (error) fail_error = (cl_int)atoi(error);
}

__attribute__((destructor)) static void fault_report(void) {
    const char *path = getenv("CLATTN_FAULT_COUNT_FILE");
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (!f) return;
    const char *name = failed_name;
    fprintf(f, "calls %ld failed %s\n", atomic_load(&calls), name ? name : "-");
    fclose(f);
}

/* True when this call is the one to fail. */
static int should_fail(const char *name) {
    if (only && strcmp(only, name) != 0) return 0;
    long k = atomic_fetch_add(&calls, 1) + 1;
    if (k != fail_at) return 0;
    failed_name = name;
    fprintf(stderr, "fault_shim: failing call %ld (%s) with %d\n", k, name, (int)fail_error);
    return 1;
}

static void *real(const char *name) {
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "fault_shim: no %s\n", name);
        abort();
    }
    return f;
}

/* A function returning cl_int: the error, or the real call. */
#define FAULT_STATUS(name, params, args)                                                           \
    cl_int name params {                                                                           \
        static cl_int(*next) params;                                                               \
        if (should_fail(#name)) return fail_error;                                                 \
        if (!next) next = (cl_int(*) params)real(#name);                                           \
        return next args;                                                                          \
    }
/* A function returning an object and its error through errcode_ret: NULL and the error. */
#define FAULT_OBJECT(type, name, kind, params, args)                                               \
    type name params {                                                                             \
        static type(*next) params;                                                                 \
        if (should_fail(#name)) {                                                                  \
            if (errcode_ret) *errcode_ret = fail_error;                                            \
            return NULL;                                                                           \
        }                                                                                          \
        if (!next) next = (type(*) params)real(#name);                                             \
        type object = next args;                                                                   \
        if (object) atomic_fetch_add(&live[kind], 1);                                              \
        return object;                                                                             \
    }
/* An enqueue call: the error, or the real call; an event handed out counts as live. */
#define FAULT_ENQUEUE(name, params, args, event)                                                   \
    cl_int name params {                                                                           \
        static cl_int(*next) params;                                                               \
        if (should_fail(#name)) return fail_error;                                                 \
        if (!next) next = (cl_int(*) params)real(#name);                                           \
        cl_int err = next args;                                                                    \
        if (err == CL_SUCCESS && (event)) atomic_fetch_add(&live[LIVE_EVENT], 1);                  \
        return err;                                                                                \
    }
/* A retain (may be failed) or a release (never failed): counts the reference on success. */
#define FAULT_RETAIN(name, type, kind)                                                             \
    cl_int name(type object) {                                                                     \
        static cl_int (*next)(type);                                                               \
        if (should_fail(#name)) return fail_error;                                                 \
        if (!next) next = (cl_int(*)(type))real(#name);                                            \
        cl_int err = next(object);                                                                 \
        if (err == CL_SUCCESS && (kind) >= 0) atomic_fetch_add(&live[kind], 1);                    \
        return err;                                                                                \
    }
#define COUNT_RELEASE(name, type, kind)                                                            \
    cl_int name(type object) {                                                                     \
        static cl_int (*next)(type);                                                               \
        if (!next) next = (cl_int(*)(type))real(#name);                                            \
        cl_int err = next(object);                                                                 \
        if (err == CL_SUCCESS && (kind) >= 0) atomic_fetch_sub(&live[kind], 1);                    \
        return err;                                                                                \
    }

FAULT_STATUS(clGetPlatformIDs, (cl_uint n, cl_platform_id *p, cl_uint *num), (n, p, num))
FAULT_STATUS(clGetPlatformInfo,
             (cl_platform_id p, cl_platform_info i, size_t s, void *v, size_t *r), (p, i, s, v, r))
FAULT_STATUS(clGetDeviceIDs,
             (cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *d, cl_uint *num),
             (p, t, n, d, num))
FAULT_STATUS(clGetDeviceInfo, (cl_device_id d, cl_device_info i, size_t s, void *v, size_t *r),
             (d, i, s, v, r))
FAULT_OBJECT(cl_context, clCreateContext, LIVE_CONTEXT,
             (const cl_context_properties *p, cl_uint n, const cl_device_id *d,
              void(CL_CALLBACK *cb)(const char *, const void *, size_t, void *), void *u,
              cl_int *errcode_ret),
             (p, n, d, cb, u, errcode_ret))
FAULT_STATUS(clGetContextInfo, (cl_context c, cl_context_info i, size_t s, void *v, size_t *r),
             (c, i, s, v, r))
FAULT_OBJECT(cl_command_queue, clCreateCommandQueue, LIVE_QUEUE,
             (cl_context c, cl_device_id d, cl_command_queue_properties p, cl_int *errcode_ret),
             (c, d, p, errcode_ret))
FAULT_STATUS(clGetCommandQueueInfo,
             (cl_command_queue q, cl_command_queue_info i, size_t s, void *v, size_t *r),
             (q, i, s, v, r))
FAULT_OBJECT(cl_mem, clCreateBuffer, LIVE_MEM,
             (cl_context c, cl_mem_flags f, size_t s, void *h, cl_int *errcode_ret),
             (c, f, s, h, errcode_ret))
FAULT_OBJECT(cl_mem, clCreateSubBuffer, LIVE_MEM,
             (cl_mem m, cl_mem_flags f, cl_buffer_create_type t, const void *i,
              cl_int *errcode_ret),
             (m, f, t, i, errcode_ret))
FAULT_STATUS(clGetMemObjectInfo, (cl_mem m, cl_mem_info i, size_t s, void *v, size_t *r),
             (m, i, s, v, r))
FAULT_OBJECT(cl_program, clCreateProgramWithSource, LIVE_PROGRAM,
             (cl_context c, cl_uint n, const char **src, const size_t *len, cl_int *errcode_ret),
             (c, n, src, len, errcode_ret))
FAULT_OBJECT(cl_program, clCreateProgramWithBinary, LIVE_PROGRAM,
             (cl_context c, cl_uint n, const cl_device_id *d, const size_t *len,
              const unsigned char **bin, cl_int *st, cl_int *errcode_ret),
             (c, n, d, len, bin, st, errcode_ret))
FAULT_STATUS(clBuildProgram,
             (cl_program p, cl_uint n, const cl_device_id *d, const char *o,
              void(CL_CALLBACK *cb)(cl_program, void *), void *u),
             (p, n, d, o, cb, u))
FAULT_STATUS(clGetProgramInfo, (cl_program p, cl_program_info i, size_t s, void *v, size_t *r),
             (p, i, s, v, r))
FAULT_STATUS(clGetProgramBuildInfo,
             (cl_program p, cl_device_id d, cl_program_build_info i, size_t s, void *v, size_t *r),
             (p, d, i, s, v, r))
FAULT_OBJECT(cl_kernel, clCreateKernel, LIVE_KERNEL,
             (cl_program p, const char *n, cl_int *errcode_ret), (p, n, errcode_ret))
FAULT_STATUS(clSetKernelArg, (cl_kernel k, cl_uint i, size_t s, const void *v), (k, i, s, v))
FAULT_STATUS(clGetKernelWorkGroupInfo,
             (cl_kernel k, cl_device_id d, cl_kernel_work_group_info i, size_t s, void *v,
              size_t *r),
             (k, d, i, s, v, r))
FAULT_ENQUEUE(clEnqueueNDRangeKernel,
              (cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *off, const size_t *g,
               const size_t *l, cl_uint n, const cl_event *w, cl_event *e),
              (q, k, dims, off, g, l, n, w, e), e)
FAULT_ENQUEUE(clEnqueueReadBuffer,
              (cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, void *p, cl_uint n,
               const cl_event *w, cl_event *e),
              (q, m, b, o, s, p, n, w, e), e)
FAULT_ENQUEUE(clEnqueueWriteBuffer,
              (cl_command_queue q, cl_mem m, cl_bool b, size_t o, size_t s, const void *p,
               cl_uint n, const cl_event *w, cl_event *e),
              (q, m, b, o, s, p, n, w, e), e)
FAULT_ENQUEUE(clEnqueueCopyBuffer,
              (cl_command_queue q, cl_mem a, cl_mem b, size_t ao, size_t bo, size_t s, cl_uint n,
               const cl_event *w, cl_event *e),
              (q, a, b, ao, bo, s, n, w, e), e)
FAULT_ENQUEUE(clEnqueueFillBuffer,
              (cl_command_queue q, cl_mem m, const void *p, size_t ps, size_t o, size_t s,
               cl_uint n, const cl_event *w, cl_event *e),
              (q, m, p, ps, o, s, n, w, e), e)
FAULT_ENQUEUE(clEnqueueMarkerWithWaitList,
              (cl_command_queue q, cl_uint n, const cl_event *w, cl_event *e), (q, n, w, e), e)
FAULT_OBJECT(cl_event, clCreateUserEvent, LIVE_EVENT, (cl_context c, cl_int *errcode_ret),
             (c, errcode_ret))
FAULT_STATUS(clSetUserEventStatus, (cl_event e, cl_int s), (e, s))
FAULT_STATUS(clWaitForEvents, (cl_uint n, const cl_event *e), (n, e))
FAULT_STATUS(clGetEventInfo, (cl_event e, cl_event_info i, size_t s, void *v, size_t *r),
             (e, i, s, v, r))
FAULT_STATUS(clGetEventProfilingInfo,
             (cl_event e, cl_profiling_info i, size_t s, void *v, size_t *r), (e, i, s, v, r))
FAULT_STATUS(clFinish, (cl_command_queue q), (q))
FAULT_RETAIN(clRetainContext, cl_context, LIVE_CONTEXT)
FAULT_RETAIN(clRetainDevice, cl_device_id, -1) /* root devices: no reference counted */
FAULT_RETAIN(clRetainCommandQueue, cl_command_queue, LIVE_QUEUE)
FAULT_RETAIN(clRetainMemObject, cl_mem, LIVE_MEM)
FAULT_RETAIN(clRetainEvent, cl_event, LIVE_EVENT)
FAULT_RETAIN(clRetainProgram, cl_program, LIVE_PROGRAM)
FAULT_RETAIN(clRetainKernel, cl_kernel, LIVE_KERNEL)
COUNT_RELEASE(clReleaseContext, cl_context, LIVE_CONTEXT)
COUNT_RELEASE(clReleaseCommandQueue, cl_command_queue, LIVE_QUEUE)
COUNT_RELEASE(clReleaseMemObject, cl_mem, LIVE_MEM)
COUNT_RELEASE(clReleaseEvent, cl_event, LIVE_EVENT)
COUNT_RELEASE(clReleaseProgram, cl_program, LIVE_PROGRAM)
COUNT_RELEASE(clReleaseKernel, cl_kernel, LIVE_KERNEL)
FAULT_STATUS(clFlush, (cl_command_queue q), (q))
