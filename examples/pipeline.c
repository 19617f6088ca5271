/* clattn inside a user's OpenCL pipeline, with nothing going back to the host in between:
 *
 *   user kernel "produce"  fills the embeddings X [n, d] and the query q [d] on the device
 *   clattn                 scores -> softmax -> context, on an OUT-OF-ORDER queue, gated
 *                          by a user event the host opens when it is ready
 *   user kernel "consume"  y[c] = 2 * context[c] + 1
 *   one read at the end    y, checked against clattn's CPU reference
 *
 * The user owns the context, queue and buffers; clattn borrows them. Every dependency is an
 * event, so the out-of-order queue may run anything whose inputs are ready.
 * Prints PASS or FAIL; exits non-zero on failure. Usage: clattn_pipeline [n d]
 */
#include <clattn.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char *user_source =
    /* A value in [-0.5, 0.5) from an index, exactly reproducible on the host. */
    "float value_of(uint i) { return (float)((i * 2654435761u) >> 8) / 16777216.0f - 0.5f; }\n"
    "kernel void produce(global float *x, uint nd, global float *q, uint d) {\n"
    "    uint i = get_global_id(0);\n"
    "    if (i < nd) x[i] = value_of(i);\n"
    "    if (i < d) q[i] = value_of(i + 7u * nd + 1u);\n"
    "}\n"
    "kernel void consume(global const float *context, global float *y, uint d) {\n"
    "    uint c = get_global_id(0);\n"
    "    if (c < d) y[c] = 2.0f * context[c] + 1.0f;\n"
    "}\n";

static float value_of(uint32_t i) {
    return (float)((uint32_t)(i * 2654435761u) >> 8) / 16777216.0f - 0.5f;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        cl_int err_ = (call);                                                                      \
        if (err_ != CL_SUCCESS) {                                                                  \
            fprintf(stderr, "%s:%d: %s failed: %s %s\n", __FILE__, __LINE__, #call,                \
                    clattn_status_string(err_), clattn_last_error_message());                      \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv) {
    size_t n = argc > 2 ? strtoul(argv[1], NULL, 10) : 1000;
    size_t d = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
    if (n == 0 || d == 0 || n * d > (1u << 26)) {
        fprintf(stderr, "usage: clattn_pipeline [n d] (n, d > 0, n * d <= 2^26)\n");
        return 2;
    }
    int ok = 0, gate_open = 0;
    cl_int err = CL_SUCCESS;
    cl_context context = NULL;
    cl_command_queue queue = NULL;
    cl_program program = NULL;
    cl_kernel produce = NULL, consume = NULL;
    cl_mem x = NULL, q = NULL, scores = NULL, ctx = NULL, y = NULL;
    cl_event gate = NULL, produced = NULL, e_scores = NULL, e_norm = NULL, e_ctx = NULL,
             consumed = NULL;
    clattn_handle *handle = NULL;
    float *host_x = malloc(n * d * sizeof(float)), *host_q = malloc(d * sizeof(float));
    float *ref_s = malloc(n * sizeof(float)), *ref_c = malloc(d * sizeof(float));
    float *got = malloc(d * sizeof(float));
    if (!host_x || !host_q || !ref_s || !ref_c || !got) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }

    /* The user's own objects: clattn only picks the device here (CLATTN_DEVICE applies). */
    clattn_device_info info;
    CHECK(clattn_select_device(NULL, &info));
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)info.platform, 0};
    context = clCreateContext(props, 1, &info.device, NULL, NULL, &err);
    CHECK(err);
    cl_command_queue_properties device_props = 0;
    CHECK(clGetDeviceInfo(info.device, CL_DEVICE_QUEUE_PROPERTIES, sizeof device_props,
                          &device_props, NULL));
    int out_of_order = (device_props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) != 0;
    queue = clCreateCommandQueue(context, info.device,
                                 out_of_order ? CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE : 0, &err);
    CHECK(err);
    printf("device: %s, %s queue, n = %zu, d = %zu\n", info.name,
           out_of_order ? "out-of-order" : "in-order (no out-of-order support)", n, d);

    program = clCreateProgramWithSource(context, 1, &user_source, NULL, &err);
    CHECK(err);
    CHECK(clBuildProgram(program, 1, &info.device, "", NULL, NULL));
    produce = clCreateKernel(program, "produce", &err);
    CHECK(err);
    consume = clCreateKernel(program, "consume", &err);
    CHECK(err);

    /* One buffer of scores and softmax weights (normalised in place) and the outputs. */
    x = clCreateBuffer(context, CL_MEM_READ_WRITE, n * d * sizeof(float), NULL, &err);
    CHECK(err);
    q = clCreateBuffer(context, CL_MEM_READ_WRITE, d * sizeof(float), NULL, &err);
    CHECK(err);
    scores = clCreateBuffer(context, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &err);
    CHECK(err);
    ctx = clCreateBuffer(context, CL_MEM_READ_WRITE, d * sizeof(float), NULL, &err);
    CHECK(err);
    y = clCreateBuffer(context, CL_MEM_READ_WRITE, d * sizeof(float), NULL, &err);
    CHECK(err);

    /* clattn borrows the context and device; the queue is passed per call. */
    CHECK(clattn_handle_create_from(context, info.device, NULL, NULL, &handle));

    /* 1. The user's producer; nothing runs past the gate until the host opens it. */
    gate = clCreateUserEvent(context, &err);
    CHECK(err);
    cl_uint nd = (cl_uint)(n * d), ud = (cl_uint)d;
    size_t global = n * d;
    CHECK(clSetKernelArg(produce, 0, sizeof x, &x));
    CHECK(clSetKernelArg(produce, 1, sizeof nd, &nd));
    CHECK(clSetKernelArg(produce, 2, sizeof q, &q));
    CHECK(clSetKernelArg(produce, 3, sizeof ud, &ud));
    CHECK(clEnqueueNDRangeKernel(queue, produce, 1, NULL, &global, NULL, 0, NULL, &produced));

    /* 2. clattn: scores wait for the producer and the gate; each step for the previous. */
    cl_event before[2] = {produced, gate};
    const float scale = 1.0f / sqrtf((float)d);
    CHECK(clattn_enqueue_scores(handle, queue, n, d, scale, x, 0, q, 0, scores, 0, 2, before,
                                &e_scores));
    CHECK(clattn_enqueue_normalize(handle, queue, CLATTN_NORM_SOFTMAX, n, scores, 0, scores, 0, 1,
                                   &e_scores, &e_norm));
    CHECK(clattn_enqueue_context(handle, queue, n, d, scores, 0, x, 0, ctx, 0, 1, &e_norm, &e_ctx));

    /* 3. The user's consumer waits for clattn's last event. */
    global = d;
    CHECK(clSetKernelArg(consume, 0, sizeof ctx, &ctx));
    CHECK(clSetKernelArg(consume, 1, sizeof y, &y));
    CHECK(clSetKernelArg(consume, 2, sizeof ud, &ud));
    CHECK(clEnqueueNDRangeKernel(queue, consume, 1, NULL, &global, NULL, 1, &e_ctx, &consumed));

    /* Everything is enqueued; clattn has not waited for anything. Open the gate. */
    cl_int gate_state = 0;
    CHECK(clGetEventInfo(e_ctx, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof gate_state, &gate_state,
                         NULL));
    if (gate_state == CL_COMPLETE) {
        fprintf(stderr, "clattn's work completed before the gate opened\n");
        goto done;
    }
    CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
    gate_open = 1;

    /* 4. The only transfer back: y, after the consumer. */
    CHECK(clEnqueueReadBuffer(queue, y, CL_TRUE, 0, d * sizeof(float), got, 1, &consumed, NULL));

    /* The same computation on the CPU (double accumulation). */
    for (size_t i = 0; i < n * d; i++)
        host_x[i] = value_of((uint32_t)i);
    for (size_t c = 0; c < d; c++)
        host_q[c] = value_of((uint32_t)(c + 7 * n * d + 1));
    CHECK(clattn_ref_scores(n, d, scale, host_x, host_q, ref_s));
    CHECK(clattn_ref_normalize(CLATTN_NORM_SOFTMAX, n, ref_s, ref_s));
    CHECK(clattn_ref_context(n, d, ref_s, host_x, ref_c));
    /* float32 scores (error ~ d * 2^-24 * |x||q|) feed the softmax; the context is a convex
     * combination of values in [-0.5, 0.5): 1e-4 absolute on y = 2 c + 1 is generous. */
    double worst = 0.0;
    for (size_t c = 0; c < d; c++) {
        double diff = fabs((double)got[c] - (2.0 * ref_c[c] + 1.0));
        if (!(diff <= worst)) worst = diff; /* NaN propagates */
    }
    ok = worst <= 1e-4;
    printf("max |y - reference| = %.3g\n", worst);

done:
    if (gate && !gate_open) clSetUserEventStatus(gate, -1); /* cancels what waits on it */
    if (queue) clFinish(queue);
    cl_event events[] = {gate, produced, e_scores, e_norm, e_ctx, consumed};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (events[i]) clReleaseEvent(events[i]);
    clattn_handle_destroy(handle);
    cl_mem mems[] = {x, q, scores, ctx, y};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) clReleaseMemObject(mems[i]);
    if (produce) clReleaseKernel(produce);
    if (consume) clReleaseKernel(consume);
    if (program) clReleaseProgram(program);
    if (queue) clReleaseCommandQueue(queue);
    if (context) clReleaseContext(context);
    free(host_x);
    free(host_q);
    free(ref_s);
    free(ref_c);
    free(got);
    printf("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
