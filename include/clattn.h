/*
 * clattn — portable attention on OpenCL.
 *
 * One public header. Every function returns a clattn_status: 0 on success, an OpenCL
 * error code (negative, passed through unchanged) or one of the CLATTN_ERROR_* codes
 * below (a separate band from -20000 down). clattn_status_string() names any of them and
 * clattn_last_error_message() gives the detail of the calling thread's last failure.
 * The library never aborts and never prints.
 *
 * Contents, simple to advanced: version; status codes; the handle and its options; devices;
 * the query operations (scores, normalize, context, query_attention); full attention and
 * its materialised weights; the linear layer and multi-head attention; scratch memory; the
 * fast CPU backend; the CPU reference; device probes.
 *
 * Thread safety: a handle may be shared by several host threads, each enqueueing on its
 * own command queue (or the same one): the handle's program cache is guarded by a mutex,
 * its scratch memory is handed to one operation at a time (never locked across calls), and
 * kernel objects are created per call. One handle per thread works
 * too (built programs are shared by the handles on one context and device). Destroying a
 * handle while another thread uses it is undefined. Error messages are per thread; the
 * string of clattn_build_log() may be replaced by a failing build in another thread.
 *
 * Layout: matrices are row-major float32; sizes and offsets are counted in elements
 * (floats), never in bytes.
 */
#ifndef CLATTN_H
#define CLATTN_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(CLATTN_SHARED)
#ifdef CLATTN_BUILDING
#define CLATTN_API __declspec(dllexport)
#else
#define CLATTN_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define CLATTN_API __attribute__((visibility("default")))
#else
#define CLATTN_API
#endif

#define CLATTN_VERSION_MAJOR 0
#define CLATTN_VERSION_MINOR 1
#define CLATTN_VERSION_PATCH 0
#define CLATTN_VERSION_NUMBER                                                                      \
    (CLATTN_VERSION_MAJOR * 10000 + CLATTN_VERSION_MINOR * 100 + CLATTN_VERSION_PATCH)

/* The version the library was built as, e.g. "0.1.0"; compare with CLATTN_VERSION_*. */
CLATTN_API const char *clattn_version(void);

/* ---------------------------------------------------------------------------------------
 * Status codes
 * ------------------------------------------------------------------------------------- */
typedef int clattn_status;

enum clattn_status_code {
    CLATTN_SUCCESS = 0,
    /* OpenCL error codes (CL_OUT_OF_RESOURCES, ...) are returned unchanged. */
    CLATTN_ERROR_NULL_POINTER = -20001,       /* a required pointer or cl_mem is NULL */
    CLATTN_ERROR_INVALID_SIZE = -20002,       /* a size is zero or out of the supported range */
    CLATTN_ERROR_SIZE_OVERFLOW = -20003,      /* a size product overflows size_t */
    CLATTN_ERROR_BUFFER_TOO_SMALL = -20004,   /* a cl_mem is smaller than offset + extent */
    CLATTN_ERROR_INVALID_VALUE = -20005,      /* an enum or option has an unknown value */
    CLATTN_ERROR_DEVICE_NOT_FOUND = -20006,   /* no OpenCL device, or the selector matches none */
    CLATTN_ERROR_BUILD_FAILED = -20007,       /* kernel build failed: see clattn_build_log() */
    CLATTN_ERROR_OUT_OF_HOST_MEMORY = -20008, /* malloc failed */
    CLATTN_ERROR_UNSUPPORTED = -20009,        /* the device lacks a feature the call needs */
    CLATTN_ERROR_INVALID_SHAPE = -20010,      /* shapes disagree (heads, strides, mask) */
    CLATTN_ERROR_INVALID_HANDLE = -20011,     /* queue or buffer not of the handle's context */
    CLATTN_ERROR_INTERNAL = -20012,           /* a bug in clattn: please report it */
    CLATTN_ERROR_COMMUNICATION = -20013       /* a peer rank failed or timed out, or MPI did */
};

/* A short constant name for any status, ours or OpenCL's ("CL_OUT_OF_RESOURCES"). */
CLATTN_API const char *clattn_status_string(clattn_status status);

/* The detail of the calling thread's last failed call ("n * d overflows size_t"), or "". */
CLATTN_API const char *clattn_last_error_message(void);

/* ---------------------------------------------------------------------------------------
 * Handle: one OpenCL device with its context, default queue and compiled kernels.
 * ------------------------------------------------------------------------------------- */
typedef struct clattn_handle clattn_handle;

/* Which shape of kernel to use. AUTO picks by device type: CPU-shaped kernels (register
 * tiles, no barriers in hot loops) for CPU devices, GPU-shaped (local-memory tiles shared
 * by a work-group) for everything else. Both are correct on every device. */
typedef enum clattn_variant {
    CLATTN_VARIANT_AUTO = 0,
    CLATTN_VARIANT_CPU = 1,
    CLATTN_VARIANT_GPU = 2
} clattn_variant;

typedef struct clattn_options {
    /* Device selector; NULL uses the CLATTN_DEVICE environment variable, and if that is
     * unset the default device (the first GPU, else accelerator, else CPU). Accepted:
     * a global index "2" (as listed by clattn_list_devices), "P:D" (platform P, device D),
     * "gpu", "cpu", "accelerator", "default", or a case-insensitive substring of the
     * device, vendor or platform name ("pthread", "nvidia"). */
    const char *device;
    /* Extra OpenCL C build options appended to ours (e.g. "-cl-denorms-are-zero"); tile
     * sizes are the planners' (host/plan/tuning.c), not build options. */
    const char *build_options;
    clattn_variant variant;
    /* Cap on work-group sizes, 0 for the device's limit. Lets a CPU device run with the
     * limits of a GPU (tests use 256). */
    size_t max_work_group_size;
    /* Create the handle's own queue with CL_QUEUE_PROFILING_ENABLE (for benchmarks). */
    int enable_profiling;
} clattn_options;

/* Fills *options with the defaults (all zero / NULL). */
CLATTN_API void clattn_options_init(clattn_options *options);

/* Creates a handle on the selected device with its own context and in-order queue.
 * options may be NULL. */
CLATTN_API clattn_status clattn_handle_create(const clattn_options *options,
                                              clattn_handle **handle);

/* Creates a handle on the caller's objects. The handle retains context, device and queue
 * and releases only its own references. queue may be NULL: every enqueue call then needs
 * an explicit queue. The queue, if given, must belong to context and device. */
CLATTN_API clattn_status clattn_handle_create_from(cl_context context, cl_device_id device,
                                                   cl_command_queue queue,
                                                   const clattn_options *options,
                                                   clattn_handle **handle);

/* Releases everything the handle owns (never the caller's context, queue or buffers beyond
 * the references it took). Work the handle enqueued may still be running: OpenCL keeps what
 * it uses alive until it completes. NULL is a no-op. */
CLATTN_API void clattn_handle_destroy(clattn_handle *handle);

/* The handle's OpenCL context (NULL for a NULL handle). */
CLATTN_API cl_context clattn_handle_context(const clattn_handle *handle);
/* The handle's OpenCL device (NULL for a NULL handle). */
CLATTN_API cl_device_id clattn_handle_device(const clattn_handle *handle);
/* The handle's default queue (its own, or the one given at creation; may be NULL). */
CLATTN_API cl_command_queue clattn_handle_queue(const clattn_handle *handle);
/* The device's name as the driver reports it. */
CLATTN_API const char *clattn_handle_device_name(const clattn_handle *handle);
/* The kernel variant in use (CPU or GPU, never AUTO). */
CLATTN_API clattn_variant clattn_handle_variant(const clattn_handle *handle);

/* The build log of the handle's last failed kernel build ("" when none failed). The string
 * stays valid until the next failing build or until the handle is destroyed. */
CLATTN_API const char *clattn_build_log(const clattn_handle *handle);

/* Builds every operation's kernel programs now rather than at first use (for timing and
 * warm-up); of the fused attention's programs, which are specialised by head dim, those for
 * D = Dv = 64 and 128 (other head dims build at their first use). Built programs are kept for the
 * process (shared by the handles on one context and device) and their binaries on disk, so that the
 * next process skips the compile: in CLATTN_CACHE_DIR, else $XDG_CACHE_HOME/clattn, else
 * ~/.cache/clattn; CLATTN_CACHE_DIR=off disables it. Damaged or foreign files are ignored and
 * rewritten; a directory that cannot be written only disables writing. */
CLATTN_API clattn_status clattn_handle_prepare(clattn_handle *handle);

/* ---------------------------------------------------------------------------------------
 * Devices
 * ------------------------------------------------------------------------------------- */
typedef struct clattn_device_info {
    unsigned index;          /* global index, as accepted by the "device" selector */
    unsigned platform_index; /* P in "P:D" */
    unsigned device_index;   /* D in "P:D" */
    cl_platform_id platform;
    cl_device_id device;
    cl_device_type type;
    int is_default; /* 1 for the device a NULL selector picks without CLATTN_DEVICE */
    char name[128];
    char vendor[128];
    char platform_name[128];
    char version[128];
} clattn_device_info;

/* Lists every device of every platform. Writes up to capacity entries to devices (which may
 * be NULL when capacity is 0) and the total number to *count. */
CLATTN_API clattn_status clattn_list_devices(clattn_device_info *devices, size_t capacity,
                                             size_t *count);

/* Resolves a selector (see clattn_options.device; NULL means CLATTN_DEVICE or default). */
CLATTN_API clattn_status clattn_select_device(const char *selector, clattn_device_info *info);

/* ---------------------------------------------------------------------------------------
 * Query operations: one query against n tokens (the textbook's example).
 *   scores[j]  = scale * dot(x_j, q)                 for j < n, x is n x d
 *   weights    = norm(scores)                        reduction over j
 *   context[c] = sum_j weights[j] * v[j][c]          v is n x d (the textbook uses v = x)
 * Enqueue forms take buffers as (cl_mem, element offset); queue may be NULL for the handle's
 * queue. The operation starts after the wait list; *done (if not NULL) receives an event
 * that completes when every kernel of the operation has. Nothing blocks. Blocking forms take
 * host arrays: upload, enqueue on the handle's queue, read back.
 * Failure (every enqueue form, here and below): *done is not written and no event is handed
 * out. A call can fail after it enqueued some of its commands (a driver error at the second
 * launch); those may still run, reading the inputs and writing the outputs and scratch. After
 * a failed call, finish the queue (clFinish, once the events of its wait list can complete)
 * before freeing, reusing or reading its buffers; the outputs' contents are then unspecified.
 * The blocking forms do this themselves: when they fail, nothing they enqueued is still
 * running, and each host output is either complete or untouched.
 * ------------------------------------------------------------------------------------- */
typedef enum clattn_norm {
    CLATTN_NORM_NONE = 0,   /* weights = scores */
    CLATTN_NORM_SUM = 1,    /* weights = scores / sum(scores): the textbook's. IEEE division: a
                               zero sum gives +-inf or NaN, a negative sum flips signs. */
    CLATTN_NORM_SOFTMAX = 2 /* weights = exp(s - max) / sum(exp(s - max)); all scores -inf
                               gives zeros */
} clattn_norm;

/* scores[j] = scale * dot(x_j, q) for the n rows of x [n, d]. */
CLATTN_API clattn_status clattn_enqueue_scores(clattn_handle *handle, cl_command_queue queue,
                                               size_t n, size_t d, float scale, cl_mem x,
                                               size_t x_offset, cl_mem q, size_t q_offset,
                                               cl_mem scores, size_t scores_offset,
                                               cl_uint num_events_in_wait_list,
                                               const cl_event *event_wait_list, cl_event *done);

/* weights = norm(scores) over n elements. weights may be the same buffer and offset as
 * scores (in place). */
CLATTN_API clattn_status clattn_enqueue_normalize(clattn_handle *handle, cl_command_queue queue,
                                                  clattn_norm norm, size_t n, cl_mem scores,
                                                  size_t scores_offset, cl_mem weights,
                                                  size_t weights_offset,
                                                  cl_uint num_events_in_wait_list,
                                                  const cl_event *event_wait_list, cl_event *done);

/* context[c] = sum_j weights[j] * v[j][c] for v [n, d]. */
CLATTN_API clattn_status clattn_enqueue_context(clattn_handle *handle, cl_command_queue queue,
                                                size_t n, size_t d, cl_mem weights,
                                                size_t weights_offset, cl_mem v, size_t v_offset,
                                                cl_mem context, size_t context_offset,
                                                cl_uint num_events_in_wait_list,
                                                const cl_event *event_wait_list, cl_event *done);

/* Blocking form of clattn_enqueue_scores. */
CLATTN_API clattn_status clattn_scores(clattn_handle *handle, size_t n, size_t d, float scale,
                                       const float *x, const float *q, float *scores);
/* Blocking form of clattn_enqueue_normalize. */
CLATTN_API clattn_status clattn_normalize(clattn_handle *handle, clattn_norm norm, size_t n,
                                          const float *scores, float *weights);
/* Blocking form of clattn_enqueue_context. */
CLATTN_API clattn_status clattn_context(clattn_handle *handle, size_t n, size_t d,
                                        const float *weights, const float *v, float *context);

/* The whole query pipeline in one call: scores, weights and context for one query. v may
 * be NULL for v = x (the textbook's example). Any of scores, weights, context may be NULL when not
 * wanted, but not all three. */
CLATTN_API clattn_status clattn_query_attention(clattn_handle *handle, size_t n, size_t d,
                                                const float *x, const float *q, const float *v,
                                                float scale, clattn_norm norm, float *scores,
                                                float *weights, float *context);

/* ---------------------------------------------------------------------------------------
 * Full attention: O = norm(scale * Q K^T + mask) V for every batch, query head and row,
 * computed by a fused kernel that never stores the M x N matrix (memory O((M + N) D)).
 *   Q [B, Hq, M, D], K [B, Hkv, N, D], V [B, Hkv, N, Dv], O [B, Hq, M, Dv]; Hq a multiple of
 *   Hkv (query head h reads K/V head h / (Hq / Hkv): grouped-query attention).
 * ------------------------------------------------------------------------------------- */
typedef enum clattn_causal {
    CLATTN_CAUSAL_NONE = 0,
    CLATTN_CAUSAL_TOP_LEFT = 1,    /* row i sees keys j <= i (PyTorch's is_causal) */
    CLATTN_CAUSAL_BOTTOM_RIGHT = 2 /* row i sees keys j <= i + N - M (KV-cache decoding) */
} clattn_causal;

typedef enum clattn_mask_kind {
    CLATTN_MASK_NONE = 0,
    CLATTN_MASK_ADDITIVE = 1, /* float32, added to the scaled scores (-inf masks out) */
    CLATTN_MASK_BOOLEAN = 2   /* one byte per element (uint8), non-zero = attend */
} clattn_mask_kind;

/* The storage type of a tensor's elements (clattn_attention_desc's dtype fields). The
 * arithmetic is float32 whatever the storage: elements are widened on load and O is rounded
 * to its dtype once, when it is stored.
 * - CLATTN_F32: IEEE binary32 (4 bytes), the default (0: zero-initialised descs keep it).
 * - CLATTN_F16: IEEE binary16 (2 bytes; loaded and stored with OpenCL 1.2's core
 *   vload_half / vstore_half_rte, so no cl_khr_fp16 is needed). Stores round to nearest
 *   even; beyond 65504 they overflow to +-inf; NaN stays NaN.
 * - CLATTN_BF16: bfloat16 (2 bytes), the upper 16 bits of a binary32. Stores round to
 *   nearest even (overflow to +-inf; NaN stays a quiet NaN of the same sign).
 * Host arrays of 2-byte tensors are passed through the same float pointers (cast a uint16_t
 * array); offsets, strides and the sizes of buffers are counted in elements of the tensor's
 * own dtype. clattn_dtype_size gives the bytes of one element. */
typedef enum clattn_dtype { CLATTN_F32 = 0, CLATTN_F16 = 1, CLATTN_BF16 = 2 } clattn_dtype;

/* Bytes per element of a dtype: 4, 2, 2; 0 for an unknown value. */
CLATTN_API size_t clattn_dtype_size(clattn_dtype dtype);

/* Storage types of the query operations' inputs (the _ex forms below and clattn_cpu_*_ex,
 * clattn_ref_*_ex): x [n, d], q [d] and v [n, d]; a NULL pointer to it means all float32.
 * The outputs (scores, weights, context) and the weights read by context are always
 * float32, and so is every accumulation. Buffer offsets and sizes count elements of the
 * tensor's own dtype; host arrays of 2-byte tensors go through the same float pointers (cast
 * a uint16_t array). Where v is NULL (v = x), v's dtype is ignored: x's is used. */
typedef struct clattn_seed_dtypes {
    clattn_dtype x, q, v;
} clattn_seed_dtypes;

/* clattn_enqueue_scores with x and q stored as dtypes->x and dtypes->q. */
CLATTN_API clattn_status clattn_enqueue_scores_ex(clattn_handle *handle, cl_command_queue queue,
                                                  size_t n, size_t d, float scale, cl_mem x,
                                                  size_t x_offset, cl_mem q, size_t q_offset,
                                                  cl_mem scores, size_t scores_offset,
                                                  const clattn_seed_dtypes *dtypes,
                                                  cl_uint num_events_in_wait_list,
                                                  const cl_event *event_wait_list, cl_event *done);
/* clattn_enqueue_context with v stored as dtypes->v (weights and context float32). */
CLATTN_API clattn_status clattn_enqueue_context_ex(clattn_handle *handle, cl_command_queue queue,
                                                   size_t n, size_t d, cl_mem weights,
                                                   size_t weights_offset, cl_mem v, size_t v_offset,
                                                   cl_mem context, size_t context_offset,
                                                   const clattn_seed_dtypes *dtypes,
                                                   cl_uint num_events_in_wait_list,
                                                   const cl_event *event_wait_list, cl_event *done);
/* Blocking forms on host arrays of those dtypes. */
CLATTN_API clattn_status clattn_scores_ex(clattn_handle *handle, size_t n, size_t d, float scale,
                                          const float *x, const float *q, float *scores,
                                          const clattn_seed_dtypes *dtypes);
CLATTN_API clattn_status clattn_context_ex(clattn_handle *handle, size_t n, size_t d,
                                           const float *weights, const float *v, float *context,
                                           const clattn_seed_dtypes *dtypes);
CLATTN_API clattn_status clattn_query_attention_ex(clattn_handle *handle, size_t n, size_t d,
                                                   const float *x, const float *q, const float *v,
                                                   float scale, clattn_norm norm, float *scores,
                                                   float *weights, float *context,
                                                   const clattn_seed_dtypes *dtypes);

/* Where a 4-D tensor [B, H, rows, cols] lives in its buffer: element (b, h, i, c) is at
 * offset + b * stride[0] + h * stride[1] + i * stride[2] + c (in elements; the last
 * dimension is contiguous). For the mask [M, N], stride[0], stride[1] and stride[2] may be 0
 * to broadcast over batch, heads and query rows (a key-padding mask [B, N] is strides
 * {N, 0, 0}); any other mask row stride must be >= N. For the LSE [B, Hq, M], element (b, h, i) is
 * at offset + b * stride[0] + h * stride[1] + i * stride[2]. */
typedef struct clattn_layout {
    size_t offset;
    size_t stride[3];
} clattn_layout;

typedef struct clattn_attention_desc {
    size_t batch, q_heads, kv_heads, m, n, d, dv;
    float scale;          /* default 1 / sqrt(d) */
    clattn_norm norm;     /* SOFTMAX (default) or SUM (the textbook's) */
    clattn_causal causal; /* default NONE */
    clattn_mask_kind mask_kind;
    clattn_layout q, k, v, o, mask, lse;
    /* Split-KV (partial results per chunk of keys, then a merge), for few query rows and
     * long N: 0 splits automatically when the batch * heads * row blocks are too few for the
     * device (in the CPU backend: for its threads) and N >= 512; 1 never splits; k > 1 uses
     * k chunks (at most one per key block). Splitting uses scratch memory
     * O(k * B * Hq * M * Dv). */
    size_t kv_splits;
    /* Appended fields for model variants; zero (as clattn_attention_desc_init leaves them)
     * keeps the behaviour above. They apply in this order to the scaled score s of row i,
     * key j, before the mask and causal masking (off: the causal alignment, N - M under
     * CLATTN_CAUSAL_BOTTOM_RIGHT, else 0):
     * - softcap > 0: s = softcap * tanh(s / softcap) (Gemma 2's logit softcap); 0 = off;
     *   negative, infinite or NaN: INVALID_VALUE.
     * - alibi non-zero: s += slope_h * (j - (i + off)) with the standard geometric slopes of
     *   ALiBi for Hq query heads: slope_h = 2^(-8 (h + 1) / Hq) for a power-of-two Hq; else
     *   the first n = 2^floor(log2 Hq) slopes of that rule for n heads followed by the odd
     *   ones 2^(-4 (2 (h - n) + 1) / n) (as HF's get_alibi_slopes).
     * - window non-zero: a sliding window (local attention): row i attends only keys j with
     *   i + off - window_left <= j <= i + off + window_right, -1 meaning that side is
     *   unbounded (other negatives: INVALID_VALUE); combined with causal masking (a key is
     *   attended when both allow it), so causal + window_left W is FlashAttention-2's
     *   window_size (W, 0) (bottom-right aligned there: pass CLATTN_CAUSAL_BOTTOM_RIGHT; with
     *   CLATTN_CAUSAL_NONE the window is aligned top-left). Key blocks outside every row's
     *   window are skipped: the cost grows with the window, not with N.
     * The attention-weights path (clattn_attention_weights) takes none of them
     * (INVALID_VALUE when set). */
    float softcap;
    int alibi;
    int window;
    long window_left, window_right;
    /* varlen non-zero: a variable-length batch packed as FlashAttention's varlen. batch = B
     * sequences; the tensors cu_seqlens_q / cu_seqlens_k ([B + 1] int32, cumulative: sequence
     * b has the query rows cu_seqlens_q[b] .. cu_seqlens_q[b + 1] - 1 and likewise keys) say
     * where each lies; m and n are the longest sequence's lengths (max_seqlen_q / _k: the
     * grid). Q [total_q, Hq, D], K [total_k, Hkv, D], V [total_k, Hkv, Dv], O like Q and the
     * LSE [Hq, total_q] (FlashAttention's) are expressed by the layouts with the packed token
     * t as the row index: element (h, t, c) at offset + h * stride[1] + t * stride[2] + c
     * (packed: stride {0, D, Hq * D}; LSE {0, total_q, 1}); stride[0] is ignored. Each
     * sequence is its own attention problem: causal masking (both alignments: bottom-right
     * uses the offset n_b - m_b of that sequence), the window and ALiBi apply per sequence,
     * and nothing outside it is read or computed. A mask is INVALID_VALUE with varlen; so is
     * the attention-weights path. Split-KV is not used (kv_splits is ignored by the OpenCL
     * kernels; the CPU backend still splits within a sequence). Validation: the host-array
     * forms check the offsets fully (first 0, non-decreasing, each length <= m or n) and
     * size every tensor by the totals cu[B]; the enqueue form checks that each buffer holds
     * at least one sequence of m (n) rows and, since the offsets live in device memory,
     * the kernels clamp them instead: offsets into [0, rows the buffers hold], lengths to
     * m and n (a longer sequence is cut, its extra rows neither read nor written). varlen
     * with a paged KV cache (page_size > 0) is INVALID_VALUE: not composed. */
    int varlen;
    /* A paged KV cache (vLLM / FlashAttention's block_table), on when page_size > 0. K and V
     * live in num_pages pages of page_size rows: K [num_pages, Hkv, P, D] and V [num_pages,
     * Hkv, P, Dv], their layouts read as stride[0] = page stride, stride[1] = head stride,
     * stride[2] = row stride (clattn_attention_desc_paged sets packed ones). The tensors
     * block_table [B, max_pages] int32 and seqlens_k [B] int32 (clattn_attention_buffers)
     * give sequence b's keys: 0 .. seqlens_k[b] - 1, key j in page block_table[b][j / P], row
     * j % P. n must be max_pages * page_size (the bound of the grid). Each sequence is then
     * an attention over its own n_b = seqlens_k[b] keys: causal alignment, window and ALiBi
     * use n_b for N, so under CLATTN_CAUSAL_BOTTOM_RIGHT Q's M rows are the LAST M
     * positions of each sequence (decoding: M = 1; prefill against a cache: M > 1);
     * n_b = 0 gives zero rows (LSE -inf; s_h with sinks). The mask, if any, is [B, Hq, M, n]
     * as usual. Host arrays (clattn_attention_ex, the CPU backend, the reference) are
     * validated fully: 0 <= seqlens_k[b] <= n and every page a sequence uses in
     * [0, num_pages) (INVALID_VALUE). Device buffers are not read by the host: there a
     * seqlens_k outside [0, n] is clamped into it and a page id outside [0, num_pages) is
     * clamped to the nearest valid page (wrong values, never an out-of-bounds read).
     * num_pages and max_pages must be > 0 when page_size is; 0 / 0 / 0 = off. Not with
     * varlen (INVALID_VALUE): sequences of different lengths over pages take seqlens_k
     * instead. */
    size_t page_size, num_pages, max_pages;
    /* Attention sinks (gpt-oss, StreamingLLM).
     * - sinks non-zero (SOFTMAX only; with SUM: INVALID_VALUE): the sinks tensor ([Hq] floats,
     * clattn_attention_buffers/arrays) gives each query head h a logit s_h that joins every row's
     * softmax denominator without a value: O = sum_j e^(s_j - mx) v_j / (sum_j e^(s_j - mx) +
     * e^(s_h - mx)) with mx the maximum over the attended scores and s_h. s_h is in the score
     * domain after the scale (compared with scale * q.k as it is: not scaled, not softcapped, no
     * ALiBi). The LSE includes the sink (log(sum_j e^s_j + e^s_h), as gpt-oss's kernels return it).
     * A row whose every key is masked gets O = 0 and LSE = s_h. A NaN s_h makes its rows NaN.
     * - sink_keys k > 0: the first k keys stay attended by every row even outside the sliding
     *   window (StreamingLLM's keep-first-k); causal masking and the mask still apply to them.
     *   Without a window it changes nothing. */
    int sinks;
    size_t sink_keys;
    /* Dropout on the normalised attention weights (training): 0 = off; 0 < dropout < 1 drops
     * each weight w(b, h, i, j) with probability `dropout` and scales the kept ones by
     * 1 / (1 - dropout) (the LSE is not affected; SUM norm too). Outside [0, 1) or NaN:
     * INVALID_VALUE. The mask is the same on every device and in the reference: Philox 4x32-10
     * (Salmon et al. 2011, as in Random123) with key {seed low 32 bits, seed high 32 bits}
     * (dropout_seed) and counter {j / 4, i, c_lo, c_hi} where c = dropout_offset + b * Hq + h
     * (64-bit, wrapping); output word j % 4, r, drops the weight when r < dropout * 2^32
     * (exactly: u = r / 2^32 < dropout). Advance dropout_offset by B * Hq between calls for
     * a fresh mask. kernels/philox.h holds the generator (plain C and OpenCL C).
     * Sinks, sink keys and dropout apply per sequence with varlen and with a paged KV cache:
     * b is the sequence, i and j its own query row and key (the sink keys are its first
     * keys), and a sequence with no keys gets O = 0 and LSE = s_h with sinks. */
    float dropout;
    uint64_t dropout_seed, dropout_offset;
    /* Storage types (clattn_dtype) of Q, K, V and O, and of an additive mask (mask_dtype;
     * a boolean mask is uint8 and needs mask_dtype F32). 0 = CLATTN_F32, so a desc filled by
     * clattn_attention_desc_init stores every tensor as float32. The LSE and the sinks are
     * always float32; accumulation is float32. Supported by the fused attention (its enqueue,
     * blocking, CPU-backend and reference forms; paged, varlen and split-KV included); the
     * attention-weights path and clattn_attention_multi take float32 only (INVALID_VALUE).
     * An unknown dtype is INVALID_VALUE. Buffers are sized in the tensor's own elements:
     * BUFFER_TOO_SMALL when one holds fewer bytes than offset + extent times its element
     * size. */
    clattn_dtype q_dtype, k_dtype, v_dtype, o_dtype, mask_dtype;
} clattn_attention_desc;

/* Fills *desc for packed (contiguous) tensors of these sizes, scale 1/sqrt(d), softmax,
 * no causal masking, no mask (a packed [M, N] mask broadcast over batch and heads if
 * mask_kind is set later), LSE packed [B, Hq, M]. */
CLATTN_API void clattn_attention_desc_init(clattn_attention_desc *desc, size_t batch,
                                           size_t q_heads, size_t kv_heads, size_t m, size_t n,
                                           size_t d, size_t dv);

/* Makes *desc (filled by clattn_attention_desc_init) a paged-KV one: page_size,
 * num_pages and max_pages set, n = max_pages * page_size, and K and V packed pages
 * [num_pages, Hkv, P, D] and [num_pages, Hkv, P, Dv] at offset 0. */
CLATTN_API void clattn_attention_desc_paged(clattn_attention_desc *desc, size_t page_size,
                                            size_t num_pages, size_t max_pages);

/* The fused attention on device buffers laid out as desc says. mask may be NULL when
 * desc->mask_kind is NONE; lse may be NULL when not wanted (it then receives the natural-log
 * log-sum-exp of each row's scaled, masked scores; -inf for a fully masked row). A fully
 * masked row gives zeros in O.
 * - Masking: a key is masked out for a row when causal masking hides it, the boolean mask
 *   is 0, or the additive mask makes its score -inf. Softmax gives masked keys weight 0.
 *   SUM (the textbook's normalisation) excludes masked keys: weights = s_j / sum of s over the
 *   attended keys, with s = scale * q.k + additive mask (IEEE division: a zero sum gives
 *   inf or NaN). The LSE is the log-sum-exp of the attended scores for both norms.
 * - NaN in Q, K, V or the mask propagates to the rows whose attended keys it reaches.
 * - Validation: q_heads a multiple of kv_heads (INVALID_SHAPE); every size > 0 and d, dv
 *   <= 256 (INVALID_SIZE); norm SOFTMAX or SUM, known causal and mask kinds, finite scale
 *   (INVALID_VALUE); the rows of every tensor must not overlap (row stride >= row length;
 *   the mask, only read, may also broadcast one row to all rows with row stride 0)
 *   and no two elements of O or the LSE may share an address (INVALID_SHAPE); O and the LSE
 *   must not overlap each other or Q, K, V or the mask, also not through sub-buffers of one
 *   buffer (INVALID_VALUE: a work-group would read what another already wrote), while Q, K, V
 *   and the mask may share memory freely (they are only read); each buffer
 *   must hold offset + its extent (BUFFER_TOO_SMALL). Memory use on the device is
 *   O((M + N) D): scratch for a repacked K and V (CPU-shaped kernels) and split partials. */
CLATTN_API clattn_status clattn_enqueue_attention(clattn_handle *handle, cl_command_queue queue,
                                                  const clattn_attention_desc *desc, cl_mem q,
                                                  cl_mem k, cl_mem v, cl_mem mask, cl_mem o,
                                                  cl_mem lse, cl_uint num_events_in_wait_list,
                                                  const cl_event *event_wait_list, cl_event *done);

/* Blocking form on host arrays laid out as the desc says. o and lse must not overlap
 * (INVALID_VALUE); they may overlap the inputs, which are read before o and lse are written. */
CLATTN_API clattn_status clattn_attention(clattn_handle *handle, const clattn_attention_desc *desc,
                                          const float *q, const float *k, const float *v,
                                          const void *mask, float *o, float *lse);

/* The tensors of one attention call, for the forms that take every feature
 * (clattn_enqueue_attention_ex and its blocking and CPU forms): q, k, v and o are required;
 * the others are NULL when not used. The model features that need more than Q, K, V and a
 * mask read their tensors from here:
 * - sinks: [Hq] float, attention sinks (see the desc's sink fields);
 * - cu_seqlens_q, cu_seqlens_k: [B + 1] int32, a packed variable-length batch (desc.varlen);
 * - block_table: [B, max_pages] int32 and seqlens_k: [B] int32, a paged KV cache
 *   (desc.page_size). */
typedef struct clattn_attention_buffers {
    cl_mem q, k, v, mask, o, lse;
    cl_mem sinks;
    cl_mem cu_seqlens_q, cu_seqlens_k;
    cl_mem block_table, seqlens_k;
} clattn_attention_buffers;

/* The same tensors as host arrays (clattn_attention_ex, clattn_cpu_attention_ex,
 * clattn_ref_attention_ex). q, k, v, mask and o hold elements of the desc's dtypes: for a
 * float16 or bfloat16 tensor, pass its uint16_t array cast to the float pointer. */
typedef struct clattn_attention_arrays {
    const float *q, *k, *v;
    const void *mask;
    float *o, *lse;
    const float *sinks;
    const int32_t *cu_seqlens_q, *cu_seqlens_k;
    const int32_t *block_table, *seqlens_k;
} clattn_attention_arrays;

/* clattn_enqueue_attention with every tensor a feature may need (clattn_attention_buffers);
 * clattn_enqueue_attention is this call with the extra tensors NULL. */
CLATTN_API clattn_status clattn_enqueue_attention_ex(clattn_handle *handle, cl_command_queue queue,
                                                     const clattn_attention_desc *desc,
                                                     const clattn_attention_buffers *tensors,
                                                     cl_uint num_events_in_wait_list,
                                                     const cl_event *event_wait_list,
                                                     cl_event *done);

/* The blocking form of clattn_enqueue_attention_ex on host arrays. */
CLATTN_API clattn_status clattn_attention_ex(clattn_handle *handle,
                                             const clattn_attention_desc *desc,
                                             const clattn_attention_arrays *tensors);

/* Appending to a paged KV cache (see clattn_attention_desc's page fields): T new K and V
 * rows per sequence, k_new [B, Hkv, T, D] and v_new [B, Hkv, T, Dv] (dense layouts as in
 * clattn_layout), are written into the pages k_pages [num_pages, Hkv, P, D] and v_pages
 * [num_pages, Hkv, P, Dv] (layouts: page, head, row strides) at positions seqlens_k[b] ..
 * seqlens_k[b] + T - 1 of sequence b: position p goes to page block_table[b][p / P], row
 * p % P. seqlens_k is read, NOT updated (the caller owns the lengths: after the append, the
 * attention over the new keys takes seqlens_k[b] + T). */
typedef struct clattn_kv_append_desc {
    size_t batch, kv_heads, tokens, d, dv;
    size_t page_size, num_pages, max_pages;
    clattn_layout k_new, v_new, k_pages, v_pages;
} clattn_kv_append_desc;

/* Fills *desc with packed layouts for these sizes. */
CLATTN_API void clattn_kv_append_desc_init(clattn_kv_append_desc *desc, size_t batch,
                                           size_t kv_heads, size_t tokens, size_t d, size_t dv,
                                           size_t page_size, size_t num_pages, size_t max_pages);

/* The append on device buffers: block_table [B, max_pages] and seqlens_k [B] int32 at offset
 * 0. Statuses: every size > 0 (INVALID_SIZE), rows of a tensor must not overlap and no two
 * page elements may share an address (INVALID_SHAPE), k_new/v_new must not overlap the pages
 * (INVALID_VALUE), buffers large enough (BUFFER_TOO_SMALL). Device data is not read by the
 * host: a row whose position lies outside [0, max_pages * P) or whose page id lies outside
 * [0, num_pages) is not written (never an out-of-bounds write). Pages shared by two
 * sequences at the same row race: the result is one of the writes. */
CLATTN_API clattn_status clattn_enqueue_kv_append(clattn_handle *handle, cl_command_queue queue,
                                                  const clattn_kv_append_desc *desc, cl_mem k_new,
                                                  cl_mem v_new, cl_mem k_pages, cl_mem v_pages,
                                                  cl_mem block_table, cl_mem seqlens_k,
                                                  cl_uint num_events_in_wait_list,
                                                  const cl_event *event_wait_list, cl_event *done);

/* Blocking form on host arrays; the host data is validated fully: every position within
 * [0, max_pages * P) and every page id used in [0, num_pages) (INVALID_VALUE). */
CLATTN_API clattn_status clattn_kv_append(clattn_handle *handle, const clattn_kv_append_desc *desc,
                                          const float *k_new, const float *v_new, float *k_pages,
                                          float *v_pages, const int32_t *block_table,
                                          const int32_t *seqlens_k);

/* The materialised attention weights W [B, Hq, M, N] (packed), for small problems and
 * debugging: W = norm(scale * Q K^T + mask). Details: the same masking, SUM and NaN rules as the
 * fused attention (a masked key gets weight 0, a row with no attended key is all zeros, a NaN among
 * a row's attended scores makes the whole row NaN). Also accepts norm NONE, which returns the
 * scaled, masked scores (-inf where masked). v, o, lse, dv and kv_splits are ignored and d
 * has no upper limit. M x N floats per head are written: for small problems. Statuses as
 * for clattn_enqueue_attention; the weights buffer must hold B * Hq * M * N floats. */
CLATTN_API clattn_status clattn_enqueue_attention_weights(
    clattn_handle *handle, cl_command_queue queue, const clattn_attention_desc *desc, cl_mem q,
    cl_mem k, cl_mem mask, cl_mem weights, cl_uint num_events_in_wait_list,
    const cl_event *event_wait_list, cl_event *done);

/* Blocking form of clattn_enqueue_attention_weights on host arrays laid out as desc says. */
CLATTN_API clattn_status clattn_attention_weights(clattn_handle *handle,
                                                  const clattn_attention_desc *desc, const float *q,
                                                  const float *k, const void *mask, float *weights);

/* ---------------------------------------------------------------------------------------
 * Linear layer on our own tiled GEMM: y = x W^T + bias (the layout of a trained linear
 * layer's weight). x [rows, k] with row stride ldx >= k, W [cols, k] with row stride
 * ldw >= k, bias [cols] or NULL, y [rows, cols] with row stride ldy >= cols; every matrix
 * at its own element offset. y must not overlap x, W or bias.
 * ------------------------------------------------------------------------------------- */
CLATTN_API clattn_status clattn_enqueue_linear(clattn_handle *handle, cl_command_queue queue,
                                               size_t rows, size_t cols, size_t k, cl_mem x,
                                               size_t x_offset, size_t ldx, cl_mem w,
                                               size_t w_offset, size_t ldw, cl_mem bias,
                                               size_t bias_offset, cl_mem y, size_t y_offset,
                                               size_t ldy, cl_uint num_events_in_wait_list,
                                               const cl_event *event_wait_list, cl_event *done);

/* Blocking form on packed host arrays (bias may be NULL). */
CLATTN_API clattn_status clattn_linear(clattn_handle *handle, size_t rows, size_t cols, size_t k,
                                       const float *x, const float *w, const float *bias, float *y);

/* Storage types (clattn_dtype) of the linear layer's x, W, bias and y; float32 accumulation
 * whatever they are (elements widened on load, y rounded to its dtype once when stored). A
 * NULL clattn_linear_dtypes * means all float32, as does a zero-filled one. Offsets, row
 * strides and buffer sizes count elements of each tensor's own dtype (BUFFER_TOO_SMALL when
 * a buffer holds fewer bytes than offset + extent times its element size); an unknown dtype
 * is INVALID_VALUE. Host arrays of 2-byte tensors are passed through the float pointers (cast
 * a uint16_t array). y must not overlap x, W or bias (compared in bytes). */
typedef struct clattn_linear_dtypes {
    clattn_dtype x, w, bias, y;
} clattn_linear_dtypes;

/* clattn_enqueue_linear with per-tensor storage types (dtypes may be NULL: all float32). */
CLATTN_API clattn_status clattn_enqueue_linear_ex(
    clattn_handle *handle, cl_command_queue queue, size_t rows, size_t cols, size_t k, cl_mem x,
    size_t x_offset, size_t ldx, cl_mem w, size_t w_offset, size_t ldw, cl_mem bias,
    size_t bias_offset, cl_mem y, size_t y_offset, size_t ldy, const clattn_linear_dtypes *dtypes,
    cl_uint num_events_in_wait_list, const cl_event *event_wait_list, cl_event *done);

/* clattn_linear with per-tensor storage types (packed host arrays of those types). */
CLATTN_API clattn_status clattn_linear_ex(clattn_handle *handle, size_t rows, size_t cols, size_t k,
                                          const float *x, const float *w, const float *bias,
                                          float *y, const clattn_linear_dtypes *dtypes);

/* ---------------------------------------------------------------------------------------
 * Multi-head attention with projections (a trained layer's weights, y = x W^T + b):
 *   X [B, T, d_in]; Wq, Wk, Wv [d_out, d_in]; bq, bk, bv [d_out] or NULL;
 *   Q = X Wq^T + bq, ... split into `heads` heads of d_out / heads; attention (softmax,
 *   scale 1/sqrt(d_out / heads), causal if asked, an optional mask); concat;
 *   out = ctx Wo^T + bo with Wo [d_out, d_out], bo [d_out] or NULL. Output [B, T, d_out].
 * Masks (the *_masked calls): the attention's mask kinds (boolean uint8, non-zero = attend;
 * or additive float32, -inf masks out), packed, in one of these shapes:
 *   PER_HEAD [B, H, T, T], PER_BATCH [B, 1, T, T] (broadcast over heads), or KEY_PADDING
 *   [B, T]: key j of sentence b (0 / -inf = a padding token), broadcast over heads and
 *   query rows, as PyTorch's nn.MultiheadAttention key_padding_mask (whose boolean True means
 *   the opposite: "ignore"). A masked key gets weight 0 (with causal masking: a key is
 *   attended when both allow it). A key-padding mask hides keys only: the output rows of
 *   padding tokens are computed like any other row (they attend the sentence's real tokens,
 *   as in PyTorch) and are meant to be ignored. A row whose every key is masked (e.g. a
 *   left-padded row under causal masking) has a zero context, so its output is exactly bo
 *   (zeros without bo), where PyTorch gives NaN. A padded batch of sentences thus gives, at
 *   each real token, what the sentence gives alone (within float rounding).
 * ------------------------------------------------------------------------------------- */
typedef enum clattn_mha_mask_shape {
    CLATTN_MHA_MASK_PER_HEAD = 0,   /* [B, H, T, T]: element (b, h, query i, key j) */
    CLATTN_MHA_MASK_PER_BATCH = 1,  /* [B, 1, T, T]: the same for every head */
    CLATTN_MHA_MASK_KEY_PADDING = 2 /* [B, T]: key j of batch b, for every head and query */
} clattn_mha_mask_shape;

typedef struct clattn_mha_desc {
    size_t batch, tokens, d_in, d_out, heads;
    int causal; /* non-zero: top-left causal masking */
    /* Appended fields; zero (a desc initialised with = {...} or memset) means no mask. */
    clattn_mask_kind mask_kind;       /* NONE (default), BOOLEAN or ADDITIVE */
    clattn_mha_mask_shape mask_shape; /* read only when mask_kind is not NONE */
    /* Appended model variants, each with the meaning (and the validation statuses and
     * messages) of the field of the same name in clattn_attention_desc, applied to every
     * head's attention with M = N = T, Hq = Hkv = heads and the causal alignment top-left
     * (offset 0); zero = off, so existing callers are unchanged. alibi uses the standard
     * slopes for `heads` heads (given slopes: pass them as an additive PER_HEAD mask). The
     * dropout stream of batch b, head h is dropout_offset + b * heads + h, as in attention.
     * They compose with the mask and causal masking. Attention sinks are a layer parameter:
     * clattn_mha_weights.sinks / clattn_mha_buffers.sinks. The variable-length batches and
     * the paged KV cache of clattn_attention_desc do not apply here: X is a padded
     * [B, T, d_in] batch (use a KEY_PADDING mask for sentences of different lengths). */
    float softcap;
    int alibi;
    int window;
    long window_left, window_right;
    size_t sink_keys;
    float dropout;
    uint64_t dropout_seed, dropout_offset;
    /* Appended storage types (clattn_dtype; 0 = CLATTN_F32, so existing callers are
     * unchanged): x_dtype for the activations X and out, weight_dtype for Wq, Wk, Wv, Wo and
     * the biases (the sinks and an additive mask stay float32). The projections run as
     * clattn_linear_ex with those dtypes; the internal Q, K, V and context buffers are
     * float32 (the attention reads them straight from float32 accumulators: rounding them
     * to 16 bits would add an error of 2^-11 / 2^-8 per element twice more for no saving
     * that matters, since they are temporaries the size of the activations). Buffers and host
     * arrays hold elements of their tensor's dtype (2-byte host arrays through the float
     * pointers); an unknown dtype is INVALID_VALUE. */
    clattn_dtype x_dtype, weight_dtype;
} clattn_mha_desc;

typedef struct clattn_mha_weights {
    const float *wq, *wk, *wv, *wo; /* required */
    const float *bq, *bk, *bv, *bo; /* each may be NULL */
    /* [heads] attention-sink logits (clattn_attention_desc's sinks: s_h joins each row's
     * softmax denominator without a value), or NULL for none. */
    const float *sinks;
} clattn_mha_weights;

/* Multi-head attention on host arrays, without a mask (desc->mask_kind must be NONE:
 * NULL_POINTER otherwise, since there is no mask argument). */
CLATTN_API clattn_status clattn_mha_forward(clattn_handle *handle, const clattn_mha_desc *desc,
                                            const clattn_mha_weights *weights, const float *x,
                                            float *out);

/* Multi-head attention with the mask of desc->mask_kind and desc->mask_shape: mask points to
 * the packed mask (uint8 for BOOLEAN, float for ADDITIVE; the mask is input data, so it is an
 * argument beside x, not a field of the layer's weights). mask may be NULL (and is ignored)
 * when mask_kind is NONE. Statuses as clattn_mha_forward, plus INVALID_VALUE for an unknown
 * mask kind or shape and NULL_POINTER for a NULL mask with a kind set. */
CLATTN_API clattn_status clattn_mha_forward_masked(clattn_handle *handle,
                                                   const clattn_mha_desc *desc,
                                                   const clattn_mha_weights *weights,
                                                   const float *x, const void *mask, float *out);

/* Enqueue form of clattn_mha_forward on device buffers, all packed and at offset 0: x
 * [B, T, d_in], out [B, T, d_out], the weights as in clattn_mha_weights. The projections
 * and attention read and write temporary device buffers that the call allocates (released
 * once the operation's commands have finished); out must not be one of the inputs. */
typedef struct clattn_mha_buffers {
    cl_mem wq, wk, wv, wo; /* required */
    cl_mem bq, bk, bv, bo; /* each may be NULL */
    cl_mem sinks;          /* [heads] floats at offset 0, or NULL (clattn_mha_weights.sinks) */
} clattn_mha_buffers;

CLATTN_API clattn_status clattn_enqueue_mha_forward(clattn_handle *handle, cl_command_queue queue,
                                                    const clattn_mha_desc *desc,
                                                    const clattn_mha_buffers *weights, cl_mem x,
                                                    cl_mem out, cl_uint num_events_in_wait_list,
                                                    const cl_event *event_wait_list,
                                                    cl_event *done);

/* Enqueue form of clattn_mha_forward_masked: mask is a device buffer holding the packed mask
 * at offset 0 (bytes for BOOLEAN, floats for ADDITIVE; BUFFER_TOO_SMALL when it is short), or
 * NULL when desc->mask_kind is NONE. out must not be the mask buffer. */
CLATTN_API clattn_status clattn_enqueue_mha_forward_masked(
    clattn_handle *handle, cl_command_queue queue, const clattn_mha_desc *desc,
    const clattn_mha_buffers *weights, cl_mem x, cl_mem mask, cl_mem out,
    cl_uint num_events_in_wait_list, const cl_event *event_wait_list, cl_event *done);

/* ---------------------------------------------------------------------------------------
 * Scratch memory. Some operations need temporary device memory (partial reductions). By
 * default the handle allocates one buffer on first need, grows it only when a call needs
 * more and reuses it. Calls that use it are ordered through events in the order they are
 * enqueued, whatever their queues: a call gated by a user event holds back the next call
 * that needs scratch on the same handle, on any queue. Give each thread its own handle (or
 * its own scratch) when that matters.
 * ------------------------------------------------------------------------------------- */
typedef enum clattn_op {
    CLATTN_OP_SCORES = 1,    /* shape: n, d (needs none) */
    CLATTN_OP_NORMALIZE = 2, /* shape: n (the need of SUM and SOFTMAX; NONE needs none) */
    CLATTN_OP_CONTEXT = 3,   /* shape: n, d */
    CLATTN_OP_ATTENTION = 4, /* shape: attention (the fused attention's desc) */
    CLATTN_OP_LINEAR = 5,    /* shape: rows, cols, k (clattn_enqueue_linear) */
    CLATTN_OP_MHA = 6        /* shape: mha (clattn_enqueue_mha_forward) */
} clattn_op;

/* The shape of one call, for clattn_op_scratch_size: set the fields the operation's
 * clattn_op value names (zero the rest, e.g. with = {0}). */
typedef struct clattn_op_shape {
    size_t n, d;                            /* SCORES, NORMALIZE, CONTEXT: n tokens of d */
    const clattn_attention_desc *attention; /* ATTENTION */
    size_t rows, cols, k;                   /* LINEAR: x [rows, k], W [cols, k], y [rows, cols] */
    const clattn_mha_desc *mha;             /* MHA */
} clattn_op_shape;

/* The older form of clattn_op_scratch_size for SCORES, NORMALIZE, CONTEXT (n, d) and
 * ATTENTION (desc, else NULL); LINEAR and MHA need clattn_op_scratch_size (INVALID_VALUE). */
CLATTN_API clattn_status clattn_scratch_size(clattn_handle *handle, clattn_op op, size_t n,
                                             size_t d, const clattn_attention_desc *desc,
                                             size_t *bytes);

/* The scratch bytes op needs on this handle (they depend on the device's limits) for a
 * call of that shape, for every clattn_op: give the caller's scratch
 * (clattn_handle_set_scratch) at least this many bytes and the call succeeds. *bytes is 0
 * when the op needs none (e.g. the linear layer with GPU-shaped kernels). Like the
 * operations, it builds the kernels the call will use (their limits shape the plan).
 * Statuses: those of the operation's validation of the shape, NULL_POINTER (no shape, or no
 * desc for ATTENTION and MHA), INVALID_VALUE for an unknown op. */
CLATTN_API clattn_status clattn_op_scratch_size(clattn_handle *handle, clattn_op op,
                                                const clattn_op_shape *shape, size_t *bytes);

/* Makes the handle use the caller's buffer (of its context, not a sub-buffer: operations
 * carve sub-buffers out of it) as scratch: the first bytes of it (0: all of it). The handle retains
 * it and never grows it: a call that needs more fails with CLATTN_ERROR_BUFFER_TOO_SMALL before
 * enqueueing anything. Do not touch the buffer until the events of the calls that used it have
 * completed. buffer NULL returns to the handle's own scratch. The handle's previous scratch is
 * released (after the work using it). */
CLATTN_API clattn_status clattn_handle_set_scratch(clattn_handle *handle, cl_mem buffer,
                                                   size_t bytes);

/* ---------------------------------------------------------------------------------------
 * Fast CPU backend: the same operations on host arrays, multi-threaded (POSIX threads) and
 * vectorised, float accumulation. Not the oracle (that is clattn_ref_*): results agree with
 * it within float rounding. No OpenCL. Safe to call from several threads at once.
 * ------------------------------------------------------------------------------------- */

/* Threads the CPU backend uses per call: 0 (the default) means every online core, or the
 * CLATTN_CPU_THREADS environment variable when set (both read at the first call).
 * Process-wide. Small problems use fewer threads. */
CLATTN_API void clattn_cpu_set_threads(unsigned threads);
/* The thread count calls will use now (>= 1). */
CLATTN_API unsigned clattn_cpu_threads(void);

/* As clattn_ref_scores. */
CLATTN_API clattn_status clattn_cpu_scores(size_t n, size_t d, float scale, const float *x,
                                           const float *q, float *scores);
/* As clattn_ref_normalize. weights may equal scores (in place), but must not partly overlap
 * it. */
CLATTN_API clattn_status clattn_cpu_normalize(clattn_norm norm, size_t n, const float *scores,
                                              float *weights);
/* As clattn_ref_context. */
CLATTN_API clattn_status clattn_cpu_context(size_t n, size_t d, const float *weights,
                                            const float *v, float *context);
/* As clattn_query_attention: v may be NULL for v = x; outputs may be NULL when not wanted. */
CLATTN_API clattn_status clattn_cpu_query_attention(size_t n, size_t d, const float *x,
                                                    const float *q, const float *v, float scale,
                                                    clattn_norm norm, float *scores, float *weights,
                                                    float *context);
/* The same on inputs stored as dtypes (clattn_seed_dtypes; NULL = float32), widened as they
 * are read; outputs float32. */
CLATTN_API clattn_status clattn_cpu_scores_ex(size_t n, size_t d, float scale, const float *x,
                                              const float *q, float *scores,
                                              const clattn_seed_dtypes *dtypes);
CLATTN_API clattn_status clattn_cpu_context_ex(size_t n, size_t d, const float *weights,
                                               const float *v, float *context,
                                               const clattn_seed_dtypes *dtypes);
CLATTN_API clattn_status clattn_cpu_query_attention_ex(size_t n, size_t d, const float *x,
                                                       const float *q, const float *v, float scale,
                                                       clattn_norm norm, float *scores,
                                                       float *weights, float *context,
                                                       const clattn_seed_dtypes *dtypes);
/* As clattn_ref_attention (same desc semantics: causal both alignments, masks, GQA, strides,
 * LSE, SOFTMAX or SUM, kv_splits). */
CLATTN_API clattn_status clattn_cpu_attention(const clattn_attention_desc *desc, const float *q,
                                              const float *k, const float *v, const void *mask,
                                              float *o, float *lse);
/* As clattn_attention_ex. */
CLATTN_API clattn_status clattn_cpu_attention_ex(const clattn_attention_desc *desc,
                                                 const clattn_attention_arrays *tensors);
/* As clattn_ref_linear (packed x [rows, k], W [cols, k], bias [cols] or NULL, y [rows,
 * cols]; y must not overlap x, W or bias): a cache-blocked, register-tiled GEMM in float
 * on a temporary packed copy of W (cols * k floats, columns rounded up to 32); below 24 rows
 * dot products with W's rows instead. Same bits for any thread count. */
CLATTN_API clattn_status clattn_cpu_linear(size_t rows, size_t cols, size_t k, const float *x,
                                           const float *w, const float *bias, float *y);
/* As clattn_linear_ex: 2-byte tensors are widened to float32 copies first and y rounded to
 * its dtype at the end (temporaries of the widened tensors' sizes). */
CLATTN_API clattn_status clattn_cpu_linear_ex(size_t rows, size_t cols, size_t k, const float *x,
                                              const float *w, const float *bias, float *y,
                                              const clattn_linear_dtypes *dtypes);
/* As clattn_ref_mha_forward / clattn_mha_forward (same desc, weights and checks): the
 * projections by clattn_cpu_linear into one QKV buffer, clattn_cpu_attention over the heads,
 * the output projection. Temporaries: 4 * B * T * d_out floats. out must not overlap x. */
CLATTN_API clattn_status clattn_cpu_mha_forward(const clattn_mha_desc *desc,
                                                const clattn_mha_weights *weights, const float *x,
                                                float *out);
/* As clattn_mha_forward_masked. */
CLATTN_API clattn_status clattn_cpu_mha_forward_masked(const clattn_mha_desc *desc,
                                                       const clattn_mha_weights *weights,
                                                       const float *x, const void *mask,
                                                       float *out);

/* ---------------------------------------------------------------------------------------
 * CPU reference: plain C, double accumulation, no OpenCL; the oracle of the tests. The same
 * arguments and validation (statuses) as the device operations, computed independently: it
 * shares their contract, never their computation.
 * ------------------------------------------------------------------------------------- */
/* As clattn_scores. */
CLATTN_API clattn_status clattn_ref_scores(size_t n, size_t d, float scale, const float *x,
                                           const float *q, float *scores);
/* As clattn_normalize. */
CLATTN_API clattn_status clattn_ref_normalize(clattn_norm norm, size_t n, const float *scores,
                                              float *weights);
/* As clattn_context. */
CLATTN_API clattn_status clattn_ref_context(size_t n, size_t d, const float *weights,
                                            const float *v, float *context);
/* As clattn_scores_ex and clattn_context_ex (each element widened exactly to double). */
CLATTN_API clattn_status clattn_ref_scores_ex(size_t n, size_t d, float scale, const float *x,
                                              const float *q, float *scores,
                                              const clattn_seed_dtypes *dtypes);
CLATTN_API clattn_status clattn_ref_context_ex(size_t n, size_t d, const float *weights,
                                               const float *v, float *context,
                                               const clattn_seed_dtypes *dtypes);
/* As clattn_attention. */
CLATTN_API clattn_status clattn_ref_attention(const clattn_attention_desc *desc, const float *q,
                                              const float *k, const float *v, const void *mask,
                                              float *o, float *lse);
/* As clattn_attention_ex. */
CLATTN_API clattn_status clattn_ref_attention_ex(const clattn_attention_desc *desc,
                                                 const clattn_attention_arrays *tensors);
/* As clattn_kv_append. */
CLATTN_API clattn_status clattn_ref_kv_append(const clattn_kv_append_desc *desc, const float *k_new,
                                              const float *v_new, float *k_pages, float *v_pages,
                                              const int32_t *block_table, const int32_t *seqlens_k);
/* As clattn_attention_weights. */
CLATTN_API clattn_status clattn_ref_attention_weights(const clattn_attention_desc *desc,
                                                      const float *q, const float *k,
                                                      const void *mask, float *weights);
/* As clattn_linear (packed arrays). */
CLATTN_API clattn_status clattn_ref_linear(size_t rows, size_t cols, size_t k, const float *x,
                                           const float *w, const float *bias, float *y);
/* As clattn_linear_ex (double accumulation over the widened elements; y rounded to its
 * dtype once). */
CLATTN_API clattn_status clattn_ref_linear_ex(size_t rows, size_t cols, size_t k, const float *x,
                                              const float *w, const float *bias, float *y,
                                              const clattn_linear_dtypes *dtypes);
/* As clattn_mha_forward. */
CLATTN_API clattn_status clattn_ref_mha_forward(const clattn_mha_desc *desc,
                                                const clattn_mha_weights *weights, const float *x,
                                                float *out);
/* As clattn_mha_forward_masked. */
CLATTN_API clattn_status clattn_ref_mha_forward_masked(const clattn_mha_desc *desc,
                                                       const clattn_mha_weights *weights,
                                                       const float *x, const void *mask,
                                                       float *out);

/* ---------------------------------------------------------------------------------------
 * Multi-device attention: one problem split across the devices of several handles (one per
 * device; two handles on one device, or sub-devices of one, are a valid group too).
 * ------------------------------------------------------------------------------------- */
/* clattn_attention on host arrays laid out as desc says, computed by `count` handles at once
 * (blocking; same validation and statuses as clattn_attention, plus NULL_POINTER for a NULL
 * handles array, a NULL handle or one without a queue, INVALID_SIZE for count 0). Each device
 * gets a contiguous part of one axis, and only the inputs that part reads:
 * - the keys (few query rows, decoding: Q, O and the LSE smaller than K and V): each device
 *   computes every row against its chunk of keys with its LSE, and the partials are merged
 *   exactly by the online-softmax merge (in double);
 * - the query rows (many rows, and always for norm SUM, whose partials cannot be merged): each
 *   device computes its rows against the keys they attend.
 * CLATTN_MULTI_SPLIT=rows|keys forces the axis (keys is ignored for SUM). Causal masking stays
 * exact in both: a part's rows that see only some of its keys run with bottom-right alignment
 * on exactly the keys they see, the rows that see all of them without causal masking, and rows
 * that see none contribute O = 0 with LSE -inf. The devices run concurrently (every part is
 * enqueued before any is waited for). shares: NULL for shares proportional to each device's
 * measured attention throughput (a small problem of desc's head dims, shaped as prefill for a
 * rows split and as decoding for a keys split, timed once per device, axis and head dims for
 * the process: milliseconds, plus the kernel build the call needs anyway), else count
 * non-negative finite weights, not all 0 (INVALID_VALUE); a weight 0 leaves a device out.
 * Work is balanced by attended keys, so causal triangles split evenly. The partial O and LSE
 * come back to the host, which also holds O and the LSE of the whole problem once (O(B Hq M Dv)
 * host memory besides o). Not for concurrent use of the same handles from several threads.
 * The desc's softcap is honoured; its alibi and window are not supported here (INVALID_VALUE). */
CLATTN_API clattn_status clattn_attention_multi(clattn_handle *const *handles, size_t count,
                                                const float *shares,
                                                const clattn_attention_desc *desc, const float *q,
                                                const float *k, const float *v, const void *mask,
                                                float *o, float *lse);

/* ---------------------------------------------------------------------------------------
 * Device probes: what the handle's device can do, for roofline figures. A short measurement
 * (a streaming-read kernel for global-memory bandwidth; 8 independent float16 FMA chains
 * per work-item for peak float throughput), timed with profiling events on a queue of its
 * own, run once per device and cached for the process (later calls return at once). Either
 * output may be NULL. Typically 0.1-1 s the first time.
 * ------------------------------------------------------------------------------------- */
CLATTN_API clattn_status clattn_probe_device(clattn_handle *handle, double *bandwidth_gbps,
                                             double *peak_gflops);

#ifdef __cplusplus
}
#endif

#endif /* CLATTN_H */
