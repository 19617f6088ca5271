/* float16 and bfloat16 storage (clattn_attention_desc's dtype fields): the host conversions
 * against known bit patterns, and the fused attention on both kernel shapes, the CPU backend
 * and the blocking/enqueue contract against the float64 reference.
 *
 * Tolerance. The device and the reference read the SAME stored (already rounded) inputs, so
 * input rounding cancels; what differs is (1) the float32 accumulation, bounded as in
 * test_attention.c by atol = 2e-5 + 64 u sqrt(N) (u = 2^-24) and rtol = 1e-4, and (2) the
 * rounding of O to its dtype: both sides round their own value to nearest, so two results
 * within (1) may land on neighbouring representable values, one ulp apart: 2^-10 |O|
 * relative for float16 (11-bit significand: half an ulp is 2^-11), 2^-7 for bfloat16 (8 bits:
 * 2^-8), plus float16's subnormal spacing 2^-24 absolute below 2^-14. Test values |O| <= 1. */
#include "test_common.h"
#include "dtype.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 1234.0f /* exact in float16 and bfloat16 */

/* ---- host conversions: known bit patterns ---------------------------------------------- */
static float from_bits(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static uint32_t to_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static void test_f16_bits(void) {
    static const struct {
        uint32_t f32;
        uint16_t f16;
    } down[] = {
        {0x00000000u, 0x0000u}, /* +0 */
        {0x80000000u, 0x8000u}, /* -0 */
        {0x3f800000u, 0x3c00u}, /* 1 */
        {0xc0000000u, 0xc000u}, /* -2 */
        {0x477fe000u, 0x7bffu}, /* 65504, the largest finite */
        {0x477ff000u, 0x7c00u}, /* 65520: halfway to 65536, rounds (even) to inf */
        {0x477fefffu, 0x7bffu}, /* just below it: 65504 */
        {0x47800000u, 0x7c00u}, /* 65536: overflow */
        {0x7f7fffffu, 0x7c00u}, /* FLT_MAX: inf */
        {0x7f800000u, 0x7c00u}, /* inf */
        {0xff800000u, 0xfc00u}, /* -inf */
        {0x38800000u, 0x0400u}, /* 2^-14, the smallest normal */
        {0x387fc000u, 0x03ffu}, /* the largest subnormal 1023 * 2^-24 */
        {0x33800000u, 0x0001u}, /* 2^-24, the smallest subnormal */
        {0x33000000u, 0x0000u}, /* 2^-25: halfway to 0, rounds to even 0 */
        {0x33000001u, 0x0001u}, /* just above: 2^-24 */
        {0x33c00000u, 0x0002u}, /* 1.5 * 2^-24: halfway, rounds to even 2 */
        {0x3f801000u, 0x3c00u}, /* 1 + 2^-11: halfway between 1 and 1 + 2^-10, to even 1 */
        {0x3f803000u, 0x3c02u}, /* 1 + 3 * 2^-11: halfway, to even 1 + 2^-9 */
        {0x3f801001u, 0x3c01u}, /* above halfway: up */
        {0x387fe000u, 0x0400u}, /* 1023.5 * 2^-24 rounds up into the smallest normal */
    };
    for (size_t i = 0; i < sizeof down / sizeof down[0]; i++) {
        const uint16_t got = clattn__f32_to_f16(from_bits(down[i].f32));
        if (got != down[i].f16)
            fprintf(stderr, "\n    f32 0x%08x -> f16 0x%04x, want 0x%04x\n", down[i].f32, got,
                    down[i].f16);
        CU_ASSERT_EQUAL(got, down[i].f16);
    }
    /* Every non-NaN float16 widens exactly and narrows back to itself. */
    for (uint32_t h = 0; h < 0x10000u; h++) {
        const float x = clattn__f16_to_f32((uint16_t)h);
        if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) {
            CU_ASSERT(isnan(x));
            CU_ASSERT(isnan(clattn__f16_to_f32(clattn__f32_to_f16(x)))); /* NaN stays NaN */
            continue;
        }
        if (clattn__f32_to_f16(x) != h) {
            CU_FAIL("float16 round trip");
            fprintf(stderr, "\n    f16 0x%04x -> %g -> 0x%04x\n", h, (double)x,
                    clattn__f32_to_f16(x));
            break;
        }
    }
    CU_ASSERT_EQUAL(to_bits(clattn__f16_to_f32(0x0001u)), 0x33800000u); /* 2^-24 */
    CU_ASSERT_EQUAL(to_bits(clattn__f16_to_f32(0x8001u)), 0xb3800000u);
    CU_ASSERT_EQUAL(to_bits(clattn__f16_to_f32(0x7bffu)), 0x477fe000u);
    CU_ASSERT_EQUAL(to_bits(clattn__f16_to_f32(0xfc00u)), 0xff800000u);
    /* A NaN whose payload lies in the dropped bits must not become inf; the sign stays. */
    CU_ASSERT_EQUAL(clattn__f32_to_f16(from_bits(0x7f800001u)) & 0xfe00u, 0x7e00u);
    CU_ASSERT_EQUAL(clattn__f32_to_f16(from_bits(0xffc00000u)) & 0xfe00u, 0xfe00u);
}

static void test_bf16_bits(void) {
    static const struct {
        uint32_t f32;
        uint16_t bf16;
    } down[] = {
        {0x00000000u, 0x0000u}, {0x80000000u, 0x8000u},
        {0x3f800000u, 0x3f80u}, {0x3f808000u, 0x3f80u}, /* 1 + 2^-8: halfway, to even 1 */
        {0x3f818000u, 0x3f82u},                         /* 1 + 3 * 2^-8: halfway, to even */
        {0x3f808001u, 0x3f81u},                         /* above halfway: up */
        {0x7f7fffffu, 0x7f80u},                         /* FLT_MAX rounds to inf */
        {0x7f7f7fffu, 0x7f7fu}, /* below halfway: the largest finite bfloat16 */
        {0xff7fffffu, 0xff80u}, /* -FLT_MAX: -inf */
        {0x7f800000u, 0x7f80u}, {0xff800000u, 0xff80u},
        {0x00000001u, 0x0000u}, /* the smallest float32 subnormal: rounds to 0 */
        {0x00008000u, 0x0000u}, /* halfway: even 0 */
        {0x00018000u, 0x0002u}, /* halfway: even 2 (subnormal bfloat16) */
        {0x007fffffu, 0x0080u}, /* the largest subnormal rounds to the smallest normal */
    };
    for (size_t i = 0; i < sizeof down / sizeof down[0]; i++) {
        const uint16_t got = clattn__f32_to_bf16(from_bits(down[i].f32));
        if (got != down[i].bf16)
            fprintf(stderr, "\n    f32 0x%08x -> bf16 0x%04x, want 0x%04x\n", down[i].f32, got,
                    down[i].bf16);
        CU_ASSERT_EQUAL(got, down[i].bf16);
    }
    /* NaN: quiet, sign kept, never inf (a payload only in the low bits included). */
    CU_ASSERT_EQUAL(clattn__f32_to_bf16(from_bits(0x7f800001u)), 0x7fc0u);
    CU_ASSERT_EQUAL(clattn__f32_to_bf16(from_bits(0xff800001u)), 0xffc0u);
    CU_ASSERT_EQUAL(clattn__f32_to_bf16(from_bits(0x7fffffffu)), 0x7fffu);
    CU_ASSERT_EQUAL(to_bits(clattn__bf16_to_f32(0x3f81u)), 0x3f810000u);
    for (uint32_t h = 0; h < 0x10000u; h++) {
        const float x = clattn__bf16_to_f32((uint16_t)h);
        if (isnan(x)) continue;
        if (clattn__f32_to_bf16(x) != h) {
            CU_FAIL("bfloat16 round trip");
            break;
        }
    }
    CU_ASSERT_EQUAL(clattn_dtype_size(CLATTN_F32), 4);
    CU_ASSERT_EQUAL(clattn_dtype_size(CLATTN_F16), 2);
    CU_ASSERT_EQUAL(clattn_dtype_size(CLATTN_BF16), 2);
    CU_ASSERT_EQUAL(clattn_dtype_size((clattn_dtype)3), 0);
}

/* ---- attention cases ------------------------------------------------------------------- */
typedef struct dtype_case {
    clattn_dtype q, k, v, o, mask;
    size_t batch, hq, hkv, m, n, d, dv;
    clattn_causal causal;
    clattn_mask_kind mask_kind;
    size_t splits;
    bool strided;     /* odd offsets and padded row strides */
    size_t page_size; /* > 0: a paged KV cache (2 sequences, pages shuffled) */
} dtype_case;

/* A tensor stored as dtype: n elements of random data in [lo, hi), as bytes. */
static void *make_tensor(clattn_dtype dtype, size_t n, uint64_t *seed, float lo, float hi) {
    float *f = malloc((n ? n : 1) * sizeof *f);
    void *t = malloc((n ? n : 1) * clattn_dtype_size(dtype));
    if (!f || !t) {
        free(f);
        free(t);
        return NULL;
    }
    test_fill(f, n, seed, lo, hi);
    clattn__dtype_narrow(dtype, f, t, n);
    free(f);
    return t;
}

static size_t span(const clattn_layout *l, size_t b, size_t h, size_t rows, size_t cols) {
    return l->offset + (b - 1) * l->stride[0] + (h - 1) * l->stride[1] + (rows - 1) * l->stride[2] +
           cols;
}

/* Odd offsets (2-byte tensors then start at addresses that are not 4-, 8- or 32-byte
 * aligned: vload_half16 needs only element alignment) and padded rows. */
static void strided_layout(clattn_layout *l, size_t heads, size_t rows, size_t cols, size_t salt) {
    l->offset = 1 + 2 * salt;
    l->stride[2] = cols + 1 + salt % 2;
    l->stride[1] = rows * l->stride[2] + 3;
    l->stride[0] = heads * l->stride[1] + 1;
}

static bool close_as(clattn_dtype dtype, const void *got, const void *want, size_t n, size_t keys,
                     const char *what) {
    float *g = malloc(n * sizeof *g), *w = malloc(n * sizeof *w);
    if (!g || !w) {
        free(g);
        free(w);
        return false;
    }
    clattn__dtype_widen(dtype, got, g, n);
    clattn__dtype_widen(dtype, want, w, n);
    const double ulp = dtype == CLATTN_F16    ? ldexp(1.0, -10)
                       : dtype == CLATTN_BF16 ? ldexp(1.0, -7)
                                              : 0;
    const double atol =
        2e-5 + 64.0 * TEST_U * sqrt((double)keys) + (dtype == CLATTN_F16 ? ldexp(1.0, -24) : 0);
    const bool ok = test_close(g, w, n, atol, 1e-4 + ulp, what);
    free(g);
    free(w);
    return ok;
}

/* One case through the blocking form of variant (or the CPU backend when cpu_backend) against
 * the reference; O, its guards and the LSE. */
static bool run_case(const dtype_case *c, clattn_variant variant, bool cpu_backend, uint64_t seed) {
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, c->batch, c->hq, c->hkv, c->m, c->n, c->d, c->dv);
    desc.q_dtype = c->q, desc.k_dtype = c->k, desc.v_dtype = c->v, desc.o_dtype = c->o;
    desc.mask_dtype = c->mask;
    desc.causal = c->causal;
    desc.mask_kind = c->mask_kind;
    desc.kv_splits = c->splits;
    size_t pages = 0;
    if (c->page_size) {
        pages = c->batch * (c->n / c->page_size) + 1;
        clattn_attention_desc_paged(&desc, c->page_size, pages, c->n / c->page_size);
    }
    if (c->strided) {
        strided_layout(&desc.q, c->hq, c->m, c->d, 0);
        strided_layout(&desc.k, c->hkv, c->n, c->d, 1);
        strided_layout(&desc.v, c->hkv, c->n, c->dv, 2);
        strided_layout(&desc.o, c->hq, c->m, c->dv, 3);
        strided_layout(&desc.mask, 1, c->m, c->n, 4);
        desc.mask.stride[0] = desc.mask.stride[1] = 0;
    }
    const size_t kv_outer = c->page_size ? pages : c->batch,
                 kv_rows = c->page_size ? c->page_size : c->n;
    const size_t nq = span(&desc.q, c->batch, c->hq, c->m, c->d);
    const size_t nk = span(&desc.k, kv_outer, c->hkv, kv_rows, c->d);
    const size_t nv = span(&desc.v, kv_outer, c->hkv, kv_rows, c->dv);
    const size_t no = span(&desc.o, c->batch, c->hq, c->m, c->dv) + 8; /* guards after */
    const size_t nl = c->batch * c->hq * c->m;
    const size_t nm = c->mask_kind ? span(&desc.mask, 1, 1, c->m, c->n) : 1;
    void *q = make_tensor(c->q, nq, &seed, -1.0f, 1.0f);
    void *k = make_tensor(c->k, nk, &seed, -1.0f, 1.0f);
    void *v = make_tensor(c->v, nv, &seed, -1.0f, 1.0f);
    void *mask = make_tensor(c->mask, nm, &seed, -2.0f, 0.0f);
    void *o = malloc(no * clattn_dtype_size(c->o)), *o_ref = malloc(no * clattn_dtype_size(c->o));
    float *lse = malloc(nl * sizeof *lse), *lse_ref = malloc(nl * sizeof *lse);
    int32_t table[8 * 64], seqlens[8];
    bool ok = q && k && v && mask && o && o_ref && lse && lse_ref && c->batch <= 8;
    if (ok) {
        for (size_t i = 0; i < no; i++) {
            clattn__dtype_store(c->o, o, i, GUARD);
            clattn__dtype_store(c->o, o_ref, i, GUARD);
        }
        /* Sequence b's page p is page (b + p * batch) % pages + 1: interleaved, page 0 unused. */
        for (size_t b = 0; c->page_size && b < c->batch; b++) {
            seqlens[b] = (int32_t)(c->n - 5 * b);
            for (size_t p = 0; p < c->n / c->page_size; p++)
                table[b * (c->n / c->page_size) + p] =
                    (int32_t)((b + p * c->batch) % (pages - 1) + 1);
        }
    }
    const clattn_attention_arrays t = {.q = q,
                                       .k = k,
                                       .v = v,
                                       .mask = c->mask_kind ? mask : NULL,
                                       .o = o,
                                       .lse = lse,
                                       .block_table = c->page_size ? table : NULL,
                                       .seqlens_k = c->page_size ? seqlens : NULL};
    clattn_attention_arrays t_ref = t;
    t_ref.o = o_ref;
    t_ref.lse = lse_ref;
    clattn_status status = CLATTN_SUCCESS;
    if (ok) {
        clattn_handle *h = cpu_backend ? NULL : test_handle(variant);
        status = cpu_backend ? clattn_cpu_attention_ex(&desc, &t)
                 : h         ? clattn_attention_ex(h, &desc, &t)
                             : CLATTN_ERROR_NULL_POINTER;
        if (status)
            fprintf(stderr, "\n    attention: %s: %s\n", clattn_status_string(status),
                    clattn_last_error_message());
        ok = !status && !clattn_ref_attention_ex(&desc, &t_ref);
    }
    if (ok) {
        char what[256];
        snprintf(what, sizeof what,
                 "%s O (dtypes q %s k %s v %s o %s mask %s; B %zu Hq %zu Hkv %zu M %zu N %zu D "
                 "%zu Dv %zu causal %d splits %zu%s page %zu)",
                 cpu_backend ? "cpu backend" : test_variant_name(variant), clattn__dtype_name(c->q),
                 clattn__dtype_name(c->k), clattn__dtype_name(c->v), clattn__dtype_name(c->o),
                 c->mask_kind ? clattn__dtype_name(c->mask) : "-", c->batch, c->hq, c->hkv, c->m,
                 c->n, c->d, c->dv, (int)c->causal, c->splits, c->strided ? " strided" : "",
                 c->page_size);
        ok = close_as(c->o, o, o_ref, no, c->n, what);
        ok = test_close(lse, lse_ref, nl, 1e-5, 1e-5, "LSE") && ok;
    }
    free(q), free(k), free(v), free(mask), free(o), free(o_ref), free(lse), free(lse_ref);
    return ok;
}

#define F32  CLATTN_F32
#define F16  CLATTN_F16
#define BF16 CLATTN_BF16
#define ADD  CLATTN_MASK_ADDITIVE
#define TL   CLATTN_CAUSAL_TOP_LEFT
#define BR   CLATTN_CAUSAL_BOTTOM_RIGHT

/* Each of Q, K, V, O and an additive mask in float16 in one case and bfloat16 in the other,
 * mixed within each case. A: one query row pair (the CPU shape reads K and V in place, its
 * direct path, at odd element offsets) split over the keys, so that the merge kernel stores O;
 * B: an odd D and Dv through the CPU shape's K/V pack kernel, O stored by the attention
 * kernels. Two cases only: each program is a cold compile of 4-12 s on PoCL. */
static const dtype_case device_cases[] = {
    /* q    k     v     o     mask  B  Hq Hkv M   N    D   Dv  causal mask splits strided page */
    {F16, BF16, F16, BF16, F16, 1, 4, 2, 2, 300, 32, 16, BR, ADD, 3, true, 0},
    {BF16, F16, BF16, F16, BF16, 2, 4, 2, 9, 45, 7, 5, TL, ADD, 1, true, 0},
};

/* The CPU backend (host code only, cheap): those, float16 K and V with a float32 Q in a paged
 * KV cache, and more mixtures. */
static const dtype_case cpu_cases[] = {
    {F32, F16, F16, F16, F32, 2, 4, 2, 1, 64, 64, 64, BR, 0, 1, false, 16},
    {F16, F16, F16, F16, F16, 1, 2, 1, 37, 70, 24, 40, TL, ADD, 1, true, 0},
    {F16, BF16, F32, BF16, F16, 1, 3, 3, 20, 33, 16, 17, CLATTN_CAUSAL_NONE, ADD, 1, true, 0},
    {BF16, F32, BF16, F16, BF16, 1, 1, 1, 5, 50, 3, 33, TL, ADD, 2, false, 0},
};

static void test_devices(void) {
    for (size_t i = 0; i < sizeof device_cases / sizeof device_cases[0]; i++)
        for (int vi = 0; vi < 2; vi++)
            CU_ASSERT(
                run_case(&device_cases[i], test_variants[vi], false, 0x51ed270b27e1a1c3ull + i));
}

static void test_cpu_backend(void) {
    for (size_t i = 0; i < sizeof device_cases / sizeof device_cases[0]; i++)
        CU_ASSERT(run_case(&device_cases[i], CLATTN_VARIANT_AUTO, true, 0x2545f4914f6cdd1dull + i));
    for (size_t i = 0; i < sizeof cpu_cases / sizeof cpu_cases[0]; i++)
        CU_ASSERT(run_case(&cpu_cases[i], CLATTN_VARIANT_AUTO, true, 0x9e3779b97f4a7c15ull + i));
}

/* ---- the contract: sizes in the tensor's own elements, unknown dtypes, unsupported paths -- */
/* Device case A's problem (the same programs) on buffers of exactly its bytes, packed. */
static void test_contract(void) {
    clattn_handle *h = test_handle(test_variants[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    cl_context ctx = clattn_handle_context(h);
    const dtype_case *c = &device_cases[0];
    clattn_attention_desc desc;
    clattn_attention_desc_init(&desc, c->batch, c->hq, c->hkv, c->m, c->n, c->d, c->dv);
    desc.q_dtype = c->q, desc.k_dtype = c->k, desc.v_dtype = c->v, desc.o_dtype = c->o;
    desc.mask_kind = c->mask_kind;
    desc.mask_dtype = c->mask;
    desc.causal = c->causal;
    desc.kv_splits = c->splits;
    const size_t elems[5] = {c->hq * c->m * c->d, c->hkv * c->n * c->d, c->hkv * c->n * c->dv,
                             c->hq * c->m * c->dv, c->m * c->n};
    clattn_dtype *fields[5] = {&desc.q_dtype, &desc.k_dtype, &desc.v_dtype, &desc.o_dtype,
                               &desc.mask_dtype};
    clattn_layout *layouts[5] = {&desc.q, &desc.k, &desc.v, &desc.o, &desc.mask};
    cl_mem buf[5];
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < 5; i++) {
        void *zeros = calloc(elems[i], 4);
        buf[i] = zeros ? clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                        elems[i] * clattn_dtype_size(*fields[i]), zeros, &err)
                       : NULL;
        free(zeros);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf[i]);
    }
#define ENQUEUE(done)                                                                              \
    clattn_enqueue_attention(h, NULL, &desc, buf[0], buf[1], buf[2], buf[4], buf[3], NULL, 0,      \
                             NULL, (done))
    cl_event done = NULL;
    CU_ASSERT_EQUAL(ENQUEUE(&done), CLATTN_SUCCESS);
    if (done) clWaitForEvents(1, &done), clReleaseEvent(done);
    for (int i = 0; i < 5; i++) {
        const clattn_dtype kept = *fields[i];
        *fields[i] = CLATTN_F32; /* as float32 its buffer holds half the elements */
        CU_ASSERT_EQUAL(ENQUEUE(NULL), CLATTN_ERROR_BUFFER_TOO_SMALL);
        *fields[i] = kept;
        /* An offset counts elements of the tensor's dtype: one more no longer fits. */
        layouts[i]->offset = 1;
        CU_ASSERT_EQUAL(ENQUEUE(NULL), CLATTN_ERROR_BUFFER_TOO_SMALL);
        layouts[i]->offset = 0;
        *fields[i] = (clattn_dtype)3; /* unknown */
        CU_ASSERT_EQUAL(ENQUEUE(NULL), CLATTN_ERROR_INVALID_VALUE);
        CU_ASSERT_EQUAL(clattn_cpu_attention(&desc, (float *)&done, (float *)&done, (float *)&done,
                                             &done, (float *)&done, NULL),
                        CLATTN_ERROR_INVALID_VALUE);
        *fields[i] = (clattn_dtype)-1;
        CU_ASSERT_EQUAL(ENQUEUE(NULL), CLATTN_ERROR_INVALID_VALUE);
        *fields[i] = kept;
    }
    /* A boolean mask is uint8: it takes no mask_dtype. */
    desc.mask_kind = CLATTN_MASK_BOOLEAN;
    CU_ASSERT_EQUAL(ENQUEUE(NULL), CLATTN_ERROR_INVALID_VALUE);
    desc.mask_kind = CLATTN_MASK_NONE;
    desc.mask_dtype = CLATTN_F32;
#undef ENQUEUE
    /* The attention-weights path and the multi-device form take float32 only. */
    float *weights = calloc(c->hq * c->m * c->n, sizeof *weights);
    uint16_t *host = calloc(c->hkv * c->n * c->d * 2, sizeof *host); /* a stand-in for each */
    CU_ASSERT_FATAL(weights && host);
    CU_ASSERT_EQUAL(
        clattn_ref_attention_weights(&desc, (float *)host, (float *)host, NULL, weights),
        CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_attention_weights(h, &desc, (float *)host, (float *)host, NULL, weights),
                    CLATTN_ERROR_INVALID_VALUE);
    CU_ASSERT_EQUAL(clattn_attention_multi(&h, 1, NULL, &desc, (float *)host, (float *)host,
                                           (float *)host, NULL, weights, NULL),
                    CLATTN_ERROR_INVALID_VALUE);
    free(weights);
    free(host);
    for (int i = 0; i < 5; i++)
        clReleaseMemObject(buf[i]);
}

static void add_suites(void) {
    static const test_case convert[] = {{"float16 bit patterns", test_f16_bits},
                                        {"bfloat16 bit patterns", test_bf16_bits},
                                        {NULL, NULL}};
    static const test_case attention[] = {
        {"each tensor in each dtype, mixed, split-KV", test_devices}, {NULL, NULL}};
    static const test_case cpu[] = {{"the CPU backend", test_cpu_backend}, {NULL, NULL}};
    static const test_case contract[] = {
        {"sizes, unknown dtypes, float32-only paths", test_contract}, {NULL, NULL}};
    test_add_suite("dtype_convert", convert);
    test_add_suite("dtype_attention", attention);
    test_add_suite("dtype_cpu", cpu);
    test_add_suite("dtype_contract", contract);
}

int main(int argc, char **argv) {
    return test_run(argc, argv, add_suites);
}
