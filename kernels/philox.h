/* Philox 4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3",
 * SC 2011; the constants and rounds of Random123's philox4x32), the counter-based generator
 * of attention dropout. Valid C11 (included by host/reference and host/cpu) and OpenCL C 1.2
 * (prepended to every kernel program after contract.h), so that every path computes the same
 * bits. The mapping of (seed, offset, b, h, i, j) to a word is documented at
 * clattn_attention_desc's dropout field and implemented once, in philox_dropout_word. */
#ifndef CLATTN_PHILOX_H
#define CLATTN_PHILOX_H

#ifdef __OPENCL_VERSION__
typedef uint philox_u32;
typedef ulong philox_u64;
#define PHILOX_INLINE static inline
#else
#include <math.h>
#include <stdint.h>
typedef uint32_t philox_u32;
typedef uint64_t philox_u64;
#define PHILOX_INLINE static inline
#endif

/* Four 32-bit words (a struct rather than uint4: the same code in C and OpenCL C). */
typedef struct philox4 {
    philox_u32 x[4];
} philox4;

PHILOX_INLINE philox4 philox4x32_10(philox4 ctr, philox_u32 key0, philox_u32 key1) {
    for (int round = 0; round < 10; round++) {
        const philox_u64 p0 = (philox_u64)0xD2511F53u * ctr.x[0];
        const philox_u64 p1 = (philox_u64)0xCD9E8D57u * ctr.x[2];
        philox4 next;
        next.x[0] = (philox_u32)(p1 >> 32) ^ ctr.x[1] ^ key0;
        next.x[1] = (philox_u32)p1;
        next.x[2] = (philox_u32)(p0 >> 32) ^ ctr.x[3] ^ key1;
        next.x[3] = (philox_u32)p0;
        ctr = next;
        key0 += 0x9E3779B9u;
        key1 += 0xBB67AE85u;
    }
    return ctr;
}

/* The four words of keys 4 (j / 4) .. 4 (j / 4) + 3 of row i of head stream `stream`
 * (= dropout_offset + b * Hq + h), under the 64-bit seed. */
PHILOX_INLINE philox4 philox_dropout_words(philox_u64 seed, philox_u64 stream, philox_u64 i,
                                           philox_u64 j) {
    philox4 ctr;
    ctr.x[0] = (philox_u32)(j >> 2);
    ctr.x[1] = (philox_u32)i;
    ctr.x[2] = (philox_u32)stream;
    ctr.x[3] = (philox_u32)(stream >> 32);
    return philox4x32_10(ctr, (philox_u32)seed, (philox_u32)(seed >> 32));
}

/* Whether weight (stream, i, j) is kept: its word r is not below `threshold`
 * (= ceil(dropout * 2^32), see philox_dropout_threshold). */
PHILOX_INLINE int philox_dropout_keep(philox_u64 seed, philox_u64 stream, philox_u64 i,
                                      philox_u64 j, philox_u32 threshold) {
    const philox4 w = philox_dropout_words(seed, stream, i, j);
    /* Selected, not indexed by j & 3: a run-time index would put w in private memory on GPUs. */
    const philox_u32 lane = (philox_u32)(j & 3);
    const philox_u32 r = lane == 0 ? w.x[0] : lane == 1 ? w.x[1] : lane == 2 ? w.x[2] : w.x[3];
    return r >= threshold;
}

#ifdef __OPENCL_VERSION__
/* The dropout factors (0 or scale) of keys j .. j + 15 of a row. */
static inline float16 dropout16(ulong seed, ulong stream, ulong i, ulong j, uint threshold,
                                float scale) {
    float f[16];
    philox4 w = philox_dropout_words(seed, stream, i, j);
    for (uint y = 0; y < 16; y++) {
        if (y > 0 && ((j + y) & 3) == 0) w = philox_dropout_words(seed, stream, i, j + y);
        f[y] = w.x[(j + y) & 3] >= threshold ? scale : 0.0f;
    }
    return vload16(0, f);
}
#else
/* ceil(p * 2^32) for 0 <= p < 1: r < p 2^32 exactly when r < this, for an integer r. */
static inline philox_u32 philox_dropout_threshold(float p) {
    const double t = ceil((double)p * 4294967296.0);
    return t >= 4294967295.0 ? 0xFFFFFFFFu : (philox_u32)t;
}
#endif

#endif
