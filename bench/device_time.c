/* Device time of one enqueued operation from profiling events. */
#include "bench.h"

#include <math.h>

clattn_status bench_device_time(clattn_handle *h, bench_enqueue_fn enqueue, const void *ctx,
                                double *ms) {
    cl_command_queue queue = clattn_handle_queue(h);
    cl_event gate = NULL, marker = NULL, done = NULL;
    cl_int err = CL_SUCCESS;
    *ms = NAN;
    /* The marker and the operation wait for a user event set only after both are enqueued,
     * so the host's enqueue work (argument checks, kernel objects) is not device time. */
    gate = clCreateUserEvent(clattn_handle_context(h), &err);
    if (!err) err = clEnqueueMarkerWithWaitList(queue, 1, &gate, &marker);
    clattn_status st = err;
    if (!st) st = enqueue(ctx, h, queue, 1, &marker, &done);
    if (gate) clSetUserEventStatus(gate, st ? -1 : CL_COMPLETE);
    if (!st) st = clWaitForEvents(1, &done);
    if (!st) {
        /* From the marker's end: a marker's start may be stamped when it is submitted. */
        cl_ulong start = 0, end = 0;
        if (!clGetEventProfilingInfo(marker, CL_PROFILING_COMMAND_END, sizeof start, &start,
                                     NULL) &&
            !clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) &&
            end >= start)
            *ms = (double)(end - start) * 1e-6;
    } else {
        clFinish(queue);
    }
    if (gate) clReleaseEvent(gate);
    if (marker) clReleaseEvent(marker);
    if (done) clReleaseEvent(done);
    return st;
}
