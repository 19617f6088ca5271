/* Counts kernel launches: the bench program defines clEnqueueNDRangeKernel itself, so the
 * statically linked library's calls come here first, and forwards each call to the OpenCL
 * loader's function (dlsym RTLD_NEXT). Only the bench program does this; the library is
 * untouched. */
#define _GNU_SOURCE
#include "bench.h"

#include <dlfcn.h>
#include <stdatomic.h>

static atomic_ulong launches;

typedef cl_int (*enqueue_fn)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *,
                             const size_t *, cl_uint, const cl_event *, cl_event *);

CL_API_ENTRY cl_int CL_API_CALL clEnqueueNDRangeKernel(cl_command_queue queue, cl_kernel kernel,
                                                       cl_uint dims, const size_t *offset,
                                                       const size_t *global, const size_t *local,
                                                       cl_uint num_wait, const cl_event *wait,
                                                       cl_event *event) {
    static _Atomic(enqueue_fn) real;
    enqueue_fn fn = atomic_load(&real);
    if (!fn) {
        void *sym = dlsym(RTLD_NEXT, "clEnqueueNDRangeKernel");
        *(void **)&fn = sym;
        atomic_store(&real, fn);
    }
    if (!fn) return CL_INVALID_OPERATION;
    atomic_fetch_add(&launches, 1);
    return fn(queue, kernel, dims, offset, global, local, num_wait, wait, event);
}

unsigned long bench_launch_count(void) {
    return atomic_load(&launches);
}
