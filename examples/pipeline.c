/* clattn inside a user's OpenCL pipeline, with nothing going back to the host in between:
 *
 *   user kernel "produce"  fills Q [1, 4, M, D] and K, V [1, 2, N, D] on the device
 *   clattn                 O = softmax(Q K^T / sqrt(D)) V (grouped-query: 4 query heads on
 *                          2 K/V heads), on an OUT-OF-ORDER queue, gated by a user event
 *                          that the host opens when everything is enqueued
 *   user kernel "consume"  y = 2 O + 1
 *   one read at the end    y, checked against clattn's CPU reference
 *
 * The user owns the context, queue and buffers; clattn borrows them. Every dependency is an
 * event, so the out-of-order queue may run anything whose inputs are ready.
 * Prints PASS or FAIL; exits non-zero on failure. Usage: clattn_pipeline [M N D]
 */
#include <clattn.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH    1
#define Q_HEADS  4
#define KV_HEADS 2

static const char *user_source =
    /* A value in [-0.5, 0.5) from an index, exactly reproducible on the host. */
    "float value_of(uint i) { return (float)((i * 2654435761u) >> 8) / 16777216.0f - 0.5f; }\n"
    "kernel void produce(global float *q, uint nq, global float *k, global float *v, uint nkv) {\n"
    "    uint i = get_global_id(0);\n"
    "    if (i < nq) q[i] = value_of(i);\n"
    "    if (i < nkv) k[i] = value_of(i + nq);\n"
    "    if (i < nkv) v[i] = value_of(i + nq + nkv);\n"
    "}\n"
    "kernel void consume(global const float *o, global float *y, uint count) {\n"
    "    uint i = get_global_id(0);\n"
    "    if (i < count) y[i] = 2.0f * o[i] + 1.0f;\n"
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
    size_t m = argc > 3 ? strtoul(argv[1], NULL, 10) : 77;
    size_t n = argc > 3 ? strtoul(argv[2], NULL, 10) : 1000;
    size_t d = argc > 3 ? strtoul(argv[3], NULL, 10) : 64;
    if (m == 0 || n == 0 || d == 0 || m > 65536 || n > 65536 || d > 256) {
        fprintf(stderr, "usage: clattn_pipeline [M N D] (M, N <= 65536, D <= 256)\n");
        return 2;
    }
    const size_t nq = BATCH * Q_HEADS * m * d, nkv = BATCH * KV_HEADS * n * d;
    int ok = 0, gate_open = 0;
    cl_int err = CL_SUCCESS;
    cl_context context = NULL;
    cl_command_queue queue = NULL;
    cl_program program = NULL;
    cl_kernel produce = NULL, consume = NULL;
    cl_mem q = NULL, k = NULL, v = NULL, o = NULL, y = NULL;
    cl_event gate = NULL, produced = NULL, attended = NULL, consumed = NULL;
    clattn_handle *handle = NULL;
    float *host_q = malloc(nq * sizeof(float)), *host_k = malloc(nkv * sizeof(float));
    float *host_v = malloc(nkv * sizeof(float)), *ref = malloc(nq * sizeof(float));
    float *got = malloc(nq * sizeof(float));
    if (!host_q || !host_k || !host_v || !ref || !got) {
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
    printf("device: %s, %s queue, M = %zu, N = %zu, D = %zu, %d query heads on %d K/V heads\n",
           info.name, out_of_order ? "out-of-order" : "in-order (no out-of-order support)", m, n, d,
           Q_HEADS, KV_HEADS);

    program = clCreateProgramWithSource(context, 1, &user_source, NULL, &err);
    CHECK(err);
    CHECK(clBuildProgram(program, 1, &info.device, "", NULL, NULL));
    produce = clCreateKernel(program, "produce", &err);
    CHECK(err);
    consume = clCreateKernel(program, "consume", &err);
    CHECK(err);

    q = clCreateBuffer(context, CL_MEM_READ_WRITE, nq * sizeof(float), NULL, &err);
    CHECK(err);
    k = clCreateBuffer(context, CL_MEM_READ_WRITE, nkv * sizeof(float), NULL, &err);
    CHECK(err);
    v = clCreateBuffer(context, CL_MEM_READ_WRITE, nkv * sizeof(float), NULL, &err);
    CHECK(err);
    o = clCreateBuffer(context, CL_MEM_READ_WRITE, nq * sizeof(float), NULL, &err);
    CHECK(err);
    y = clCreateBuffer(context, CL_MEM_READ_WRITE, nq * sizeof(float), NULL, &err);
    CHECK(err);

    /* clattn borrows the context and device; the queue is passed per call. */
    CHECK(clattn_handle_create_from(context, info.device, NULL, NULL, &handle));

    /* 1. The user's producer. */
    cl_uint unq = (cl_uint)nq, unkv = (cl_uint)nkv;
    size_t global = nq > nkv ? nq : nkv;
    CHECK(clSetKernelArg(produce, 0, sizeof q, &q));
    CHECK(clSetKernelArg(produce, 1, sizeof unq, &unq));
    CHECK(clSetKernelArg(produce, 2, sizeof k, &k));
    CHECK(clSetKernelArg(produce, 3, sizeof v, &v));
    CHECK(clSetKernelArg(produce, 4, sizeof unkv, &unkv));
    CHECK(clEnqueueNDRangeKernel(queue, produce, 1, NULL, &global, NULL, 0, NULL, &produced));

    /* 2. clattn waits for the producer and for the gate, which the host opens below. */
    gate = clCreateUserEvent(context, &err);
    CHECK(err);
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, BATCH, Q_HEADS, KV_HEADS, m, n, d, d);
    cl_event before[2] = {produced, gate};
    CHECK(clattn_enqueue_attention(handle, queue, &desc, q, k, v, NULL, o, NULL, 2, before,
                                   &attended));

    /* 3. The user's consumer waits for clattn's event. */
    global = nq;
    CHECK(clSetKernelArg(consume, 0, sizeof o, &o));
    CHECK(clSetKernelArg(consume, 1, sizeof y, &y));
    CHECK(clSetKernelArg(consume, 2, sizeof unq, &unq));
    CHECK(clEnqueueNDRangeKernel(queue, consume, 1, NULL, &global, NULL, 1, &attended, &consumed));

    /* Everything is enqueued and clattn has waited for nothing: the gate is still shut. */
    cl_int state = 0;
    CHECK(clGetEventInfo(attended, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state, &state, NULL));
    if (state == CL_COMPLETE) {
        fprintf(stderr, "clattn's work completed before the gate opened\n");
        goto done;
    }
    CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
    gate_open = 1;

    /* 4. The only transfer back: y, after the consumer. */
    CHECK(clEnqueueReadBuffer(queue, y, CL_TRUE, 0, nq * sizeof(float), got, 1, &consumed, NULL));

    /* The same computation on the CPU (double accumulation). */
    for (size_t i = 0; i < nq; i++)
        host_q[i] = value_of((uint32_t)i);
    for (size_t i = 0; i < nkv; i++) {
        host_k[i] = value_of((uint32_t)(i + nq));
        host_v[i] = value_of((uint32_t)(i + nq + nkv));
    }
    CHECK(clattn_ref_attention(&desc, host_q, host_k, host_v, NULL, ref, NULL));
    /* Each O row is a convex combination of V rows (|v| <= 0.5) computed in float32 with
     * errors of a few u sqrt(D) in the scores and about u sqrt(N) in the sums (u = 2^-24):
     * 2e-5 + 64 u sqrt(N) absolute on O, twice that on y = 2 O + 1, plus y's own rounding. */
    double tolerance = 2.0 * (2e-5 + 64.0 * sqrt((double)n) / 16777216.0) + 2.4e-7;
    double worst = 0.0;
    for (size_t i = 0; i < nq; i++) {
        double diff = fabs((double)got[i] - (2.0 * ref[i] + 1.0));
        if (!(diff <= worst)) worst = diff; /* NaN propagates */
    }
    ok = worst <= tolerance;
    printf("max |y - reference| = %.3g (tolerance %.3g)\n", worst, tolerance);

done:
    if (gate && !gate_open) clSetUserEventStatus(gate, -1); /* cancels what waits on it */
    if (queue) clFinish(queue);
    cl_event events[] = {gate, produced, attended, consumed};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (events[i]) clReleaseEvent(events[i]);
    clattn_handle_destroy(handle);
    cl_mem mems[] = {q, k, v, o, y};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) clReleaseMemObject(mems[i]);
    if (produce) clReleaseKernel(produce);
    if (consume) clReleaseKernel(consume);
    if (program) clReleaseProgram(program);
    if (queue) clReleaseCommandQueue(queue);
    if (context) clReleaseContext(context);
    free(host_q);
    free(host_k);
    free(host_v);
    free(ref);
    free(got);
    printf("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
