/* The cost of a paged KV cache's indirection: decoding (M = 1, bottom-right) over B sequences
 * of N keys each, K/V as dense [B, Hkv, N, D] against the same keys in shuffled pages of P
 * rows read through a block table. Device buffers, enqueue + finish per call.
 *
 *   bench_paged [N] [D] [P] [B]   (defaults 4096 128 16 4; Hq = 32, Hkv = 8)
 *
 * One row per backend (the fast CPU path on host arrays, then the device's CPU-shaped and
 * GPU-shaped kernels): milliseconds (median of 5 after a warm-up) dense and paged, their
 * ratio, and the max abs difference of the outputs (should be 0 or ~1e-7). */
#include "bench.h"
#include "clattn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS 5
#define HQ   32
#define HKV  8

typedef struct problem {
    clattn_handle *handle; /* NULL: the fast CPU backend on the host arrays */
    const clattn_attention_desc *desc;
    clattn_attention_buffers buffers;
    clattn_attention_arrays arrays;
} problem;

static clattn_status run_once(const problem *p) {
    if (!p->handle) return clattn_cpu_attention_ex(p->desc, &p->arrays);
    clattn_status status =
        clattn_enqueue_attention_ex(p->handle, NULL, p->desc, &p->buffers, 0, NULL, NULL);
    if (!status) status = clFinish(clattn_handle_queue(p->handle));
    return status;
}

static int run_problem(const void *p) {
    return (int)run_once(p);
}

static cl_mem upload(clattn_handle *h, const void *data, size_t bytes) {
    cl_int err;
    return clCreateBuffer(clattn_handle_context(h), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes,
                          (void *)data, &err);
}

int main(int argc, char **argv) {
    const size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 4096;
    const size_t d = argc > 2 ? strtoul(argv[2], NULL, 10) : 128;
    const size_t page = argc > 3 ? strtoul(argv[3], NULL, 10) : 16;
    const size_t batch = argc > 4 ? strtoul(argv[4], NULL, 10) : 4;
    if (!n || !d || !page || !batch || n % page) {
        fprintf(stderr, "usage: bench_paged [N] [D] [P] [B] (N a multiple of P)\n");
        return 1;
    }
    const size_t per_seq = n / page, pages = batch * per_seq;
    const size_t kv_count = batch * HKV * n * d, q_count = batch * HQ * d;
    float *q = malloc(q_count * sizeof *q), *k = malloc(kv_count * sizeof *k);
    float *v = malloc(kv_count * sizeof *v), *kp = malloc(kv_count * sizeof *kp);
    float *vp = malloc(kv_count * sizeof *vp), *o_dense = malloc(q_count * sizeof *o_dense);
    float *o_paged = malloc(q_count * sizeof *o_paged);
    int32_t *table = malloc(pages * sizeof *table), *seqlens = malloc(batch * sizeof *seqlens);
    size_t *perm = malloc(pages * sizeof *perm);
    if (!q || !k || !v || !kp || !vp || !o_dense || !o_paged || !table || !seqlens || !perm) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    unsigned long long seed = 0x9e3779b97f4a7c15ull;
    float *fill[3] = {q, k, v};
    const size_t counts[3] = {q_count, kv_count, kv_count};
    for (int a = 0; a < 3; a++)
        for (size_t i = 0; i < counts[a]; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            fill[a][i] = (float)(seed >> 40) / (float)(1ull << 24) * 2.0f - 1.0f;
        }
    for (size_t i = 0; i < pages; i++) /* a shuffled page order (Fisher-Yates) */
        perm[i] = i;
    for (size_t i = pages - 1; i > 0; i--) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        const size_t j = (size_t)(seed >> 33) % (i + 1), x = perm[i];
        perm[i] = perm[j], perm[j] = x;
    }
    /* Sequence b's page c is physical page perm[b * per_seq + c]: [page, Hkv, P, D]. */
    for (size_t b = 0; b < batch; b++) {
        seqlens[b] = (int32_t)n;
        for (size_t c = 0; c < per_seq; c++) {
            const size_t phys = perm[b * per_seq + c];
            table[b * per_seq + c] = (int32_t)phys;
            for (size_t h = 0; h < HKV; h++) {
                const size_t src = ((b * HKV + h) * n + c * page) * d;
                const size_t dst = ((phys * HKV + h) * page) * d;
                memcpy(kp + dst, k + src, page * d * sizeof *k);
                memcpy(vp + dst, v + src, page * d * sizeof *v);
            }
        }
    }
    clattn_attention_desc dense, paged;
    clattn_attention_desc_init(&dense, batch, HQ, HKV, 1, n, d, d);
    dense.causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
    paged = dense;
    clattn_attention_desc_paged(&paged, page, pages, per_seq);
    printf("backend;B;Hq;Hkv;N;D;P;dense_ms;paged_ms;paged_over_dense;max_abs_diff\n");
    for (int backend = 0; backend < 3; backend++) {
        clattn_handle *h = NULL;
        if (backend) {
            clattn_options options;
            clattn_options_init(&options);
            options.variant = backend == 1 ? CLATTN_VARIANT_CPU : CLATTN_VARIANT_GPU;
            if (clattn_handle_create(&options, &h)) {
                fprintf(stderr, "no OpenCL device: %s\n", clattn_last_error_message());
                break;
            }
        }
        problem pd = {h, &dense, {0}, {.q = q, .k = k, .v = v, .o = o_dense}};
        problem pp = {h, &paged, {0}, {.q = q, .k = kp, .v = vp, .o = o_paged}};
        pp.arrays.block_table = table, pp.arrays.seqlens_k = seqlens;
        if (h) {
            pd.buffers = (clattn_attention_buffers){.q = upload(h, q, q_count * 4),
                                                    .k = upload(h, k, kv_count * 4),
                                                    .v = upload(h, v, kv_count * 4),
                                                    .o = upload(h, o_dense, q_count * 4)};
            pp.buffers = (clattn_attention_buffers){
                .q = pd.buffers.q,
                .k = upload(h, kp, kv_count * 4),
                .v = upload(h, vp, kv_count * 4),
                .o = upload(h, o_paged, q_count * 4),
                .block_table = upload(h, table, pages * sizeof *table),
                .seqlens_k = upload(h, seqlens, batch * sizeof *seqlens)};
        }
        const void *problems[2] = {&pd, &pp};
        double ms[2][REPS];
        if (bench_alternate_ms(run_problem, problems, 2, REPS, ms[0])) {
            fprintf(stderr, "attention failed: %s\n", clattn_last_error_message());
            return 1;
        }
        if (h) {
            cl_command_queue queue = clattn_handle_queue(h);
            clEnqueueReadBuffer(queue, pd.buffers.o, CL_TRUE, 0, q_count * 4, o_dense, 0, NULL,
                                NULL);
            clEnqueueReadBuffer(queue, pp.buffers.o, CL_TRUE, 0, q_count * 4, o_paged, 0, NULL,
                                NULL);
            cl_mem all[] = {pd.buffers.q, pd.buffers.k,           pd.buffers.v,
                            pd.buffers.o, pp.buffers.k,           pp.buffers.v,
                            pp.buffers.o, pp.buffers.block_table, pp.buffers.seqlens_k};
            for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
                clReleaseMemObject(all[i]);
        }
        double diff = 0.0;
        for (size_t i = 0; i < q_count; i++)
            diff = fmax(diff, fabs((double)o_dense[i] - (double)o_paged[i]));
        const double td = ms[0][REPS / 2], tp = ms[1][REPS / 2];
        const char *names[3] = {"cpu", "opencl-cpu-shape", "opencl-gpu-shape"};
        printf("%s;%zu;%d;%d;%zu;%zu;%zu;%.2f;%.2f;%.2f;%.2e\n", names[backend], batch, HQ, HKV, n,
               d, page, td, tp, tp / td, diff);
        fflush(stdout);
        clattn_handle_destroy(h);
    }
    free(q), free(k), free(v), free(kp), free(vp), free(o_dense), free(o_paged), free(table),
        free(seqlens), free(perm);
    return 0;
}
