/* Internal pieces of the fast CPU path (host/cpu/). Not installed. */
#ifndef CLATTN_CPU_INTERNAL_H
#define CLATTN_CPU_INTERNAL_H

#include "clattn.h"

#include <stdbool.h>
#include <stdint.h>

/* Hot loops are compiled for several instruction sets and the best one the CPU has is
 * picked at load time (GCC/Clang function multiversioning through ifunc), so the default
 * build runs on any x86-64 and still uses AVX2/AVX-512 where present. The CMake option
 * CLATTN_CPU_NATIVE=ON instead builds everything with -march=native (and disables this). */
#if defined(CLATTN_CPU_CLONES) && defined(__x86_64__) && defined(__linux__) &&                     \
    (defined(__GNUC__) || defined(__clang__))
#define CLATTN_CPU_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLATTN_CPU_HOT
#endif

/* Runs fn(ctx, task) for task = 0 .. tasks - 1 on up to `threads` threads (the calling
 * thread is one of them; 0 means clattn_cpu_threads()). Tasks are handed out in order, one
 * at a time, so put the heaviest first. If a thread cannot be started, the threads that did
 * start do its share: the work always completes. */
typedef void (*clattn__cpu_task_fn)(void *ctx, size_t task);
void clattn__cpu_parallel(size_t tasks, unsigned threads, clattn__cpu_task_fn fn, void *ctx);

/* The thread count to use for `work` units of work (about a flop or a byte each): fewer
 * threads for small problems, where starting one costs more than it saves. */
unsigned clattn__cpu_threads_for(double work);

/* y = x W^T + bias with row strides (x [rows, k] stride ldx, W [cols, k] stride ldw, y
 * [rows, cols] stride ldy; bias [cols] or NULL): the GEMM of clattn_cpu_linear, no argument
 * checks (the caller's), no clattn__clear_error. Fails only on memory or overflow. */
clattn_status clattn__cpu_linear_strided(size_t rows, size_t cols, size_t k, const float *x,
                                         size_t ldx, const float *w, size_t ldw, const float *bias,
                                         float *y, size_t ldy);

/* 2^v in float (see clattn__cpu_exp2): x = k + f with k = round(x), |f| <= 0.5; 2^f by the
 * Cephes exp2f minimax polynomial (about 2 ulp), 2^k built in the exponent bits. No calls or
 * branches, so loops that call it vectorise (gcc -fopt-info-vec: "loop vectorized"). */
static inline float clattn__exp2_inline(float v) {
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    v = v < -127.0f ? -127.0f : v;         /* comparisons keep NaN */
    v = v > 128.0f ? 128.0f : v;
    float k = (v + round_magic) - round_magic;
    k = v == v ? k : 0.0f; /* NaN: any k; f carries the NaN */
    const float f = v - k;
    float p = 1.535336188319500e-4f;
    p = p * f + 1.339887440266574e-3f;
    p = p * f + 9.618437357674640e-3f;
    p = p * f + 5.550332471162809e-2f;
    p = p * f + 2.402264791363012e-1f;
    p = p * f + 6.931472028550421e-1f;
    p = p * f + 1.0f;
    /* k = -127 gives the bits of 0 (2^x of very negative x is 0), 128 those of +inf. */
    union {
        int32_t i;
        float f;
    } scale = {.i = ((int32_t)k + 127) * (1 << 23)};
    return p * scale.f;
}

/* out[i] = 2^x[i] for i < n, float accuracy (a few ulp), exactly 0 for x < -126 (so
 * exp2(-inf) = 0), NaN for NaN, and +inf above 128. Vectorisable plain C. */
void clattn__cpu_exp2(float *out, const float *x, size_t n);

/* Pairwise sum of 16 lanes: the same order as the kernels' clattn_hsum16. */
static inline float clattn__hsum16(const float *a) {
    float b[8], c[4];
    for (int i = 0; i < 8; i++)
        b[i] = a[i] + a[i + 8];
    for (int i = 0; i < 4; i++)
        c[i] = b[i] + b[i + 4];
    return (c[0] + c[2]) + (c[1] + c[3]);
}

#endif
