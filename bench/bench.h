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
    BENCH_SEED = 3
} bench_op;

/* Backend bits for --backends. */
enum {
    BACKEND_REF = 1,
    BACKEND_CPU = 2,
    BACKEND_OPENCL = 4,
    BACKEND_CLBLAST = 8,
    BACKEND_OPENBLAS = 16
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

#endif
