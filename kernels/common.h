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
