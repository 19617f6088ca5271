/* Shared by every clattn program: prepended to each kernel file at build time. */
#pragma OPENCL EXTENSION cl_khr_fp64 : disable

/* Sizes and offsets arrive as 64-bit so that buffers beyond 4 Gi elements work. */
typedef ulong idx_t;

/* Sums the lanes of a float16 pairwise (the same order on every device). */
static inline float clattn_hsum16(float16 v) {
    float8 a = v.lo + v.hi;
    float4 b = a.lo + a.hi;
    float2 c = b.lo + b.hi;
    return c.x + c.y;
}

/* Softmax statistics: running maximum m and sum s of exp(x - m).
 * -inf entries contribute nothing (exp(-inf) = 0) and never produce -inf - -inf = NaN;
 * a NaN entry makes s NaN (exp(NaN) = NaN), so NaN propagates to every weight. */
static inline float2 clattn_stats_add(float2 st, float x) {
    if (x == -INFINITY) return st;
    float m = fmax(st.x, x);
    float s = (st.x == -INFINITY ? 0.0f : st.y * exp(st.x - m)) + exp(x - m);
    return (float2)(m, s);
}

static inline float2 clattn_stats_merge(float2 a, float2 b) {
    if (a.x == -INFINITY) return (float2)(b.x, a.y + b.y);
    if (b.x == -INFINITY) return (float2)(a.x, a.y + b.y);
    float m = fmax(a.x, b.x);
    return (float2)(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

/* Storage types (contract.h's DTYPE_*: float32, float16, bfloat16). A buffer of type t holds
 * ELEM(t) elements (Q_ELEM ... MASK_ELEM for the attention tensors, typed by -DQ_DTYPE ...);
 * load_as/load4_as/load16_as read elements i (.. i + 3, .. i + 15) of p as float (only element
 * alignment needed) and store_as writes one. dt is a compile-time constant at every call, so
 * the branches fold away and a float32 program compiles as before. float16 uses OpenCL 1.2's
 * core vload_half/vstore_half_rte (no cl_khr_fp16: half is only a pointer type here);
 * bfloat16 is the upper 16 bits of a float, widened by a shift and rounded to nearest even on
 * store. Arithmetic stays float32. */
#define DTYPE_ELEM_0       float
#define DTYPE_ELEM_1       half
#define DTYPE_ELEM_2       ushort
#define DTYPE_PASTE_(a, b) a##b
#define DTYPE_PASTE(a, b)  DTYPE_PASTE_(a, b)
#define ELEM(t)            DTYPE_PASTE(DTYPE_ELEM_, t)
#define X_ELEM             ELEM(X_DTYPE)
#define Q_ELEM             ELEM(Q_DTYPE)
#define K_ELEM             ELEM(K_DTYPE)
#define V_ELEM             ELEM(V_DTYPE)
#define O_ELEM             ELEM(O_DTYPE)
#define MASK_ELEM          ELEM(MASK_DTYPE)

static inline float load_as(int dt, __global const void *p, idx_t i) {
    if (dt == DTYPE_F16) return vload_half(i, (__global const half *)p);
    if (dt == DTYPE_BF16) return as_float((uint)((__global const ushort *)p)[i] << 16);
    return ((__global const float *)p)[i];
}

static inline float4 load4_as(int dt, __global const void *p, idx_t i) {
    if (dt == DTYPE_F16) return vload_half4(0, (__global const half *)p + i);
    if (dt == DTYPE_BF16)
        return as_float4(convert_uint4(vload4(0, (__global const ushort *)p + i)) << 16);
    return vload4(0, (__global const float *)p + i);
}

static inline float16 load16_as(int dt, __global const void *p, idx_t i) {
    if (dt == DTYPE_F16) return vload_half16(0, (__global const half *)p + i);
    if (dt == DTYPE_BF16)
        return as_float16(convert_uint16(vload16(0, (__global const ushort *)p + i)) << 16);
    return vload16(0, (__global const float *)p + i);
}

/* bfloat16: round to nearest even on the 16 dropped bits (a carry into the exponent is right:
 * the largest finite values round to inf); a NaN keeps its sign and upper payload, quiet. */
static inline void store_as(int dt, float x, __global void *p, idx_t i) {
    if (dt == DTYPE_F16) {
        vstore_half_rte(x, i, (__global half *)p);
    } else if (dt == DTYPE_BF16) {
        const uint u = as_uint(x);
        ((__global ushort *)p)[i] = isnan(x) ? (ushort)((u >> 16) | 0x40u)
                                             : (ushort)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    } else {
        ((__global float *)p)[i] = x;
    }
}
