/* Timing of the linear layer (our GEMM) and of multi-head attention on the device, both
 * kernel shapes: median wall time of several runs of the enqueue forms (buffers already on
 * the device, finished with clFinish), of the blocking clattn_mha_forward (uploads and read
 * back included) and of the fast CPU backend (clattn_cpu_linear, clattn_cpu_mha_forward on
 * host arrays, every core unless CLATTN_CPU_THREADS says otherwise).
 *
 * usage: bench_linear_mha [--tiny]   (GPU_SHAPED=1 in the environment adds the GPU shape)
 *
 * --tiny runs tiny shapes once each (the smoke test); the exit status is non-zero when any
 * call failed. */
#include "clattn.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <string.h>

#define REPEATS_MAX 7
static int repeats = REPEATS_MAX;
static int failures = 0;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static cl_mem buffer(clattn_handle *h, size_t count) {
    cl_int err;
    float *data = malloc(count * sizeof *data);
    for (size_t i = 0; i < count; i++)
        data[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    cl_mem m = clCreateBuffer(clattn_handle_context(h), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              count * sizeof(float), data, &err);
    free(data);
    return err ? NULL : m;
}

static double median_linear(clattn_handle *h, size_t rows, size_t cols, size_t k) {
    cl_mem x = buffer(h, rows * k), w = buffer(h, cols * k), b = buffer(h, cols);
    cl_mem y = buffer(h, rows * cols);
    double t[REPEATS_MAX + 1];
    for (int r = 0; r <= repeats; r++) { /* the first run builds and warms up */
        double t0 = now();
        clattn_status s = clattn_enqueue_linear(h, NULL, rows, cols, k, x, 0, k, w, 0, k, b, 0, y,
                                                0, cols, 0, NULL, NULL);
        clFinish(clattn_handle_queue(h));
        t[r] = now() - t0;
        if (s && ++failures)
            fprintf(stderr, "linear: %s %s\n", clattn_status_string(s),
                    clattn_last_error_message());
    }
    clReleaseMemObject(x), clReleaseMemObject(w), clReleaseMemObject(b), clReleaseMemObject(y);
    qsort(t + 1, (size_t)repeats, sizeof(double), cmp);
    return t[1 + repeats / 2];
}

static double median_mha(clattn_handle *h, const clattn_mha_desc *d) {
    const size_t rows = d->batch * d->tokens;
    cl_mem x = buffer(h, rows * d->d_in), out = buffer(h, rows * d->d_out);
    clattn_mha_buffers w = {buffer(h, d->d_out * d->d_in),
                            buffer(h, d->d_out * d->d_in),
                            buffer(h, d->d_out * d->d_in),
                            buffer(h, d->d_out * d->d_out),
                            buffer(h, d->d_out),
                            buffer(h, d->d_out),
                            buffer(h, d->d_out),
                            buffer(h, d->d_out),
                            NULL};
    double t[REPEATS_MAX + 1];
    for (int r = 0; r <= repeats; r++) {
        double t0 = now();
        clattn_status s = clattn_enqueue_mha_forward(h, NULL, d, &w, x, out, 0, NULL, NULL);
        clFinish(clattn_handle_queue(h));
        t[r] = now() - t0;
        if (s && ++failures)
            fprintf(stderr, "mha: %s %s\n", clattn_status_string(s), clattn_last_error_message());
    }
    cl_mem all[] = {x, out, w.wq, w.wk, w.wv, w.wo, w.bq, w.bk, w.bv, w.bo};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clReleaseMemObject(all[i]);
    qsort(t + 1, (size_t)repeats, sizeof(double), cmp);
    return t[1 + repeats / 2];
}

static float *host(size_t count) {
    float *data = malloc(count * sizeof *data);
    for (size_t i = 0; data && i < count; i++)
        data[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return data;
}

/* The host-array forms: the fast CPU backend's linear and MHA, and (h not NULL) the
 * blocking device MHA. */
static double median_host(clattn_handle *h, const size_t *gemm, const clattn_mha_desc *d) {
    const size_t rows = gemm ? gemm[0] : d->batch * d->tokens;
    const size_t cols = gemm ? gemm[1] : d->d_out, k = gemm ? gemm[2] : d->d_in;
    float *x = host(rows * k), *y = host(rows * cols), *w[4], *b[4];
    for (int i = 0; i < 4; i++)
        w[i] = host(cols * (i == 3 ? cols : k)), b[i] = host(cols);
    const clattn_mha_weights mw = {w[0], w[1], w[2], w[3], b[0], b[1], b[2], b[3], NULL};
    double t[REPEATS_MAX + 1];
    for (int r = 0; r <= repeats; r++) {
        double t0 = now();
        clattn_status s = gemm ? clattn_cpu_linear(rows, cols, k, x, w[0], b[0], y)
                          : h  ? clattn_mha_forward(h, d, &mw, x, y)
                               : clattn_cpu_mha_forward(d, &mw, x, y);
        t[r] = now() - t0;
        if (s && ++failures)
            fprintf(stderr, "host: %s %s\n", clattn_status_string(s), clattn_last_error_message());
    }
    free(x), free(y);
    for (int i = 0; i < 4; i++)
        free(w[i]), free(b[i]);
    qsort(t + 1, (size_t)repeats, sizeof(double), cmp);
    return t[1 + repeats / 2];
}

int main(int argc, char **argv) {
    static const size_t full_gemms[][3] = {{1024, 768, 768}, {4096, 768, 768}, {2048, 2048, 2048}};
    static const size_t tiny_gemms[][3] = {{5, 33, 17}, {40, 7, 64}, {3, 3, 3}};
    static const clattn_mha_desc full_mhas[] = {
        {.batch = 1, .tokens = 1024, .d_in = 768, .d_out = 768, .heads = 12, .causal = 0},
        {.batch = 1, .tokens = 1024, .d_in = 768, .d_out = 768, .heads = 12, .causal = 1},
        {.batch = 8, .tokens = 128, .d_in = 768, .d_out = 768, .heads = 12, .causal = 1}};
    static const clattn_mha_desc tiny_mhas[] = {
        {.batch = 1, .tokens = 9, .d_in = 16, .d_out = 32, .heads = 2, .causal = 0},
        {.batch = 2, .tokens = 5, .d_in = 8, .d_out = 24, .heads = 3, .causal = 1},
        {.batch = 1, .tokens = 1, .d_in = 4, .d_out = 4, .heads = 1, .causal = 1}};
    const bool tiny = argc > 1 && strcmp(argv[1], "--tiny") == 0;
    if (argc > 1 && !tiny) {
        fprintf(stderr, "usage: %s [--tiny]\n", argv[0]);
        return 2;
    }
    if (tiny) repeats = 1;
    const size_t(*gemms)[3] = tiny ? tiny_gemms : full_gemms;
    const clattn_mha_desc *mhas = tiny ? tiny_mhas : full_mhas;
    const int last = tiny || getenv("GPU_SHAPED") ? CLATTN_VARIANT_GPU : CLATTN_VARIANT_CPU;
    for (size_t i = 0; i < 3; i++) {
        double s = median_host(NULL, gemms[i], NULL);
        printf("linear cpu-backend rows=%zu cols=%zu k=%zu: %.2f ms, %.1f GFLOP/s\n", gemms[i][0],
               gemms[i][1], gemms[i][2], s * 1e3,
               2.0 * gemms[i][0] * gemms[i][1] * gemms[i][2] / s * 1e-9);
    }
    for (size_t i = 0; i < 3; i++)
        printf("mha cpu-backend B=%zu T=%zu d=%zu heads=%zu causal=%d: %.2f ms\n", mhas[i].batch,
               mhas[i].tokens, mhas[i].d_out, mhas[i].heads, mhas[i].causal,
               median_host(NULL, NULL, &mhas[i]) * 1e3);
    for (int v = CLATTN_VARIANT_CPU; v <= last; v++) {
        clattn_options o;
        clattn_options_init(&o);
        o.variant = (clattn_variant)v;
        clattn_handle *h = NULL;
        if (clattn_handle_create(&o, &h)) return 1;
        const char *shape = v == CLATTN_VARIANT_CPU ? "cpu-shaped" : "gpu-shaped";
        for (size_t i = 0; i < 3; i++) {
            double s = median_linear(h, gemms[i][0], gemms[i][1], gemms[i][2]);
            printf("linear %s rows=%zu cols=%zu k=%zu: %.2f ms, %.1f GFLOP/s\n", shape, gemms[i][0],
                   gemms[i][1], gemms[i][2], s * 1e3,
                   2.0 * gemms[i][0] * gemms[i][1] * gemms[i][2] / s * 1e-9);
        }
        for (size_t i = 0; i < 3; i++) {
            double s = median_mha(h, &mhas[i]);
            printf("mha %s B=%zu T=%zu d=%zu heads=%zu causal=%d: %.2f ms\n", shape, mhas[i].batch,
                   mhas[i].tokens, mhas[i].d_out, mhas[i].heads, mhas[i].causal, s * 1e3);
            printf("mha %s blocking clattn_mha_forward: %.2f ms\n", shape,
                   median_host(h, NULL, &mhas[i]) * 1e3);
        }
        clattn_handle_destroy(h);
    }
    return failures ? 1 : 0;
}
