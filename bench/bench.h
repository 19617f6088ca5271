/* clattn bench: the benchmark harness (the clattn_bench library); tools/cmd_bench.c drives it. */
#ifndef CLATTN_BENCH_H
#define CLATTN_BENCH_H

#include "clattn.h"

#include <stdbool.h>
#include <stddef.h>

#define BENCH_MAX_DEVICES 8

typedef enum bench_op {
    BENCH_SCORES = 0,
    BENCH_ATTENTION = 1,
    BENCH_DECODE = 2,
    BENCH_SEED = 3,
    BENCH_MODEL = 4 /* a model's shape (bench/models.c): bench_result.model names it */
} bench_op;

/* Backend bits for --backends. */
enum {
    BACKEND_REF = 1,
    BACKEND_CPU = 2,
    BACKEND_OPENCL = 4,
    BACKEND_CLBLAST = 8,
    BACKEND_OPENBLAS = 16,
    BACKEND_TORCH = 32 /* PyTorch in a child process (--torch PYTHON; model rows only) */
};

/* One problem size. scores/seed: n, d. attention/decode: batch, heads, m, n, d, causal. */
typedef struct bench_shape {
    bench_op op;
    size_t batch, heads, m, n, d;
    int causal;
} bench_shape;

typedef struct bench_device {
    clattn_handle *handle; /* created with enable_profiling */
    char name[128], vendor[128], driver[128], platform[128], version[128];
    const char *type;
    double bandwidth_gbps, peak_gflops; /* probed */
} bench_device;

typedef struct bench_result {
    bench_shape shape;
    const char *backend; /* "ref", "cpu", "opencl", "clblast", "openblas" */
    char device[128];
    int reps;
    double median_ms, min_ms; /* end to end: transfers included for device backends */
    double device_ms;         /* median device time from profiling events; NAN if none */
    double norm_ms;           /* scores: device time of the normalisation; NAN if none */
    double cpu_ms; /* median process CPU time per run (all threads; PoCL's included): on a
                      shared machine, cpu_ms / cores estimates the time with the cores alone */
    double gflops, gbps, peak_fraction;
    /* Seed op on OpenCL: median over the repetitions of (device time of a streaming read of
     * x, run right after) / (device time of the op); NAN elsewhere. */
    double stream_fraction;
    /* Attention on OpenCL: median over the repetitions of (the op's GFLOP/s) / (the FMA
     * kernel's GFLOP/s, run right after); NAN elsewhere. */
    double fma_fraction;
    double max_abs_err; /* NAN when there was nothing to compare with */
    const char *err_vs; /* "ref" or "cpu": what max_abs_err compares with */
    int launches;       /* seed example: kernel launches per call; 0 otherwise */
    const char *note;
    const char *model; /* BENCH_MODEL: the model row's name (bench_model_find) */
    char detail[96];   /* model rows: what the backend ran (torch: version and SDPA backend) */
} bench_result;

typedef struct bench_config {
    unsigned backends;
    int reps;
    bool quick;
    size_t ref_limit; /* largest work (flops) the reference runs */
    bench_device devices[BENCH_MAX_DEVICES];
    size_t device_count;
    unsigned cpu_threads;
    /* The host's peaks for the host backends: the probe of a CPU OpenCL device (PoCL on the
     * same cores), from the devices or opened for this alone; NAN when there is none. */
    double host_gbps, host_gflops;
    struct bench_torch *torch; /* the PyTorch peer (bench/peer_torch.c), or NULL */
} bench_config;

typedef struct bench_results {
    bench_result *items;
    size_t count, capacity;
} bench_results;

/* Appends a result; returns false when out of memory. */
bool bench_results_add(bench_results *list, const bench_result *r);

/* Runs every selected backend on one shape and appends the results. Returns 0, or non-zero
 * after printing an error. */
int bench_run_shape(const bench_config *cfg, const bench_shape *shape, bench_results *out);

/* The seed's 6 x 3 example end to end on each device and the CPU paths. */
int bench_run_seed_example(const bench_config *cfg, bench_results *out);

/* Floating-point work and bytes moved of a shape (the roofline's two axes). */
double bench_flops(const bench_shape *s);
double bench_bytes(const bench_shape *s);

/* A short human-readable shape, e.g. "n=262144 d=768" or "m=n=4096 d=64 causal". */
void bench_shape_string(const bench_shape *s, char *buf, size_t size);
const char *bench_op_name(bench_op op);

/* Output (bench/output.c). */
void bench_print_table(const bench_results *r);
int bench_write_json(const char *path, const bench_config *cfg, const bench_results *r);
int bench_write_csv(const char *path, const bench_config *cfg, const bench_results *r);
int bench_plot(const char *path, const bench_results *r);

/* Timing (bench/timing.c). */
double bench_now(void);
double bench_cpu_now(void);                     /* process CPU time, seconds */
double bench_median(double *values, int count); /* sorts values */
/* Runs a problem once; 0 on success. */
typedef int (*bench_run_fn)(const void *problem);
/* Times count problems alternately, so that a noisy machine slows them alike: one warm-up run
 * each (compiles, caches), then reps rounds running each once in turn. ms[p * reps + r] gets
 * the wall times, sorted per problem on return (median at reps / 2, range at 0 and reps - 1).
 * Returns 0, or the first non-zero result of run. */
int bench_alternate_ms(bench_run_fn run, const void *const *problems, int count, int reps,
                       double *ms);
/* max |a - b| (NaN if any difference is NaN): a result against its reference. */
double bench_max_abs_diff(const float *a, const float *b, size_t n);
double bench_min(const double *values, int count);
/* Device time of the interval from `first` starting to `last` ending (ms), NAN on error. */
double bench_event_ms(cl_event first, cl_event last);

/* Device time (ms) of a streaming read of bytes of buf (bench/stream.c); NAN on error. */
double bench_stream_ms(const bench_device *dev, cl_mem buf, size_t bytes);
/* GFLOP/s of one launch of the probe's FMA kernel (~5 ms); NAN on error. */
double bench_fma_gflops(const bench_device *dev);

/* Kernel launches counted by interposing clEnqueueNDRangeKernel (bench/launch_count.c). */
unsigned long bench_launch_count(void);

/* Peers (bench/peers_clblast.c, bench/peers_openblas.c): available at build time or not.
 * Each fills r's times (and writes its output for the error check); returns 0 or an error
 * message. */
bool bench_have_clblast(void);
bool bench_have_openblas(void);
const char *bench_clblast_run(const bench_config *cfg, const bench_device *dev,
                              const bench_shape *s, const float *const *inputs, float *output,
                              bench_result *r);
const char *bench_openblas_run(const bench_config *cfg, const bench_shape *s,
                               const float *const *inputs, float *output, bench_result *r);

/* ---- model rows (bench/models.c) ---------------------------------------------------------- */

typedef enum bench_model_kind {
    BENCH_MODEL_ATTENTION = 0, /* the fused attention (prefill or decode) */
    BENCH_MODEL_LINEAR = 1,    /* y = x W^T + b */
    BENCH_MODEL_MHA = 2        /* clattn_mha_forward: projections, attention, out projection */
} bench_model_kind;

typedef struct bench_model {
    const char *name, *about;
    bench_model_kind kind;
    /* attention: [batch, q_heads / kv_heads, m, n, d]; mha: batch, q_heads, tokens m, width d */
    size_t batch, q_heads, kv_heads, m, n, d;
    int causal;           /* top-left */
    long window;          /* sliding window: keys i - window .. i (with causal); 0: none */
    int padding;          /* a key-padding mask from bench_padded_length */
    size_t rows, cols, k; /* linear */
    int hidden;           /* a test-only row: not listed, not in the sweep */
} bench_model;

/* The model table (ends with a row whose name is NULL) and lookup by name (NULL if unknown). */
const bench_model *bench_models(void);
const bench_model *bench_model_find(const char *name);
/* Real tokens of sentence b of a padded batch of length n (right padding). */
size_t bench_padded_length(size_t b, size_t n);
/* Runs one model row on the fast CPU path, each OpenCL device and PyTorch (when cfg->torch),
 * alternately, and appends the results. Returns 0 or non-zero after printing an error. */
int bench_run_model(const bench_config *cfg, const bench_model *model, bench_results *out);
/* A model row's flops actually needed (causal, window and padding count only visible pairs)
 * and the bytes it moves at the least. */
double bench_model_flops(const bench_model *m);
double bench_model_bytes(const bench_model *m);

/* Device time (ms) of one enqueued operation: enqueue(ctx, queue, 1, &start, &done) behind a
 * gate, so the host's enqueue work is not counted (bench/device_time.c). */
typedef clattn_status (*bench_enqueue_fn)(const void *ctx, clattn_handle *h, cl_command_queue queue,
                                          cl_uint waits, const cl_event *wait, cl_event *done);
clattn_status bench_device_time(clattn_handle *h, bench_enqueue_fn enqueue, const void *ctx,
                                double *ms);

/* ---- the PyTorch peer (bench/peer_torch.c): tools/torch_peer.py in a child process ------- */

typedef struct bench_torch bench_torch;
/* Starts `python script --threads T` and reads its greeting; NULL after printing why. */
bench_torch *bench_torch_start(const char *python, const char *script, unsigned threads);
void bench_torch_stop(bench_torch *t);
const char *bench_torch_version(const bench_torch *t);
/* Sends one request line, returns the reply line (without "ok "), or NULL after printing the
 * peer's error. The reply lives until the next call. */
const char *bench_torch_request(bench_torch *t, const char *request);

#endif
