/* The attention throughput of a device, measured on a small problem of the call's head dims
 * and split axis, cached per (device, axis, head dims) for the process. The peak-FMA and
 * bandwidth probes (clattn_probe_device) missed by 3x between two CPU runtimes on one CPU:
 * their attention kernels, not the silicon, differed. */
#include "multi.h"
#include "status.h"
#include "handle.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define MAX_CACHED 64
#define RUNS       3 /* timed runs after a warm-up (which also builds the kernels) */

typedef struct throughput_entry {
    cl_device_id device;
    clattn_split_axis axis;
    size_t d, dv;
    double per_second;
} throughput_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static throughput_entry cache[MAX_CACHED];
static size_t cached;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The probe problem: 256 rows against 1024 keys for a rows split (compute-bound, as prefill);
 * 4 rows against 16384 keys for a keys split (reads dominate, as decoding). */
static clattn_status measure(clattn_handle *h, clattn_split_axis axis, size_t d, size_t dv,
                             double *per_second) {
    clattn_attention_desc desc;
    const size_t m = axis == CLATTN_SPLIT_ROWS ? 256 : 4;
    const size_t n = axis == CLATTN_SPLIT_ROWS ? 1024 : 16384;
    clattn_attention_desc_init(&desc, 1, 1, 1, m, n, d, dv);
    float *q = calloc(m * d, sizeof *q), *k = calloc(n * d, sizeof *k);
    float *v = calloc(n * dv, sizeof *v), *o = malloc(m * dv * sizeof *o);
    clattn_status status = CLATTN_SUCCESS;
    if (!q || !k || !v || !o)
        status = clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "attention_multi: out of memory");
    double best = 1e30;
    for (int run = 0; run <= RUNS && !status; run++) {
        const double start = now();
        status = clattn_attention(h, &desc, q, k, v, NULL, o, NULL);
        const double seconds = now() - start;
        if (run > 0 && seconds < best) best = seconds;
    }
    free(q), free(k), free(v), free(o);
    if (!status) *per_second = 1.0 / (best > 1e-9 ? best : 1e-9);
    return status;
}

clattn_status clattn__multi_throughput(clattn_handle *h, clattn_split_axis axis, size_t d,
                                       size_t dv, double *per_second) {
    /* One probe at a time: two at once would measure each other. */
    pthread_mutex_lock(&cache_lock);
    clattn_status status = CLATTN_SUCCESS;
    bool found = false;
    for (size_t i = 0; i < cached && !found; i++)
        if (cache[i].device == h->device && cache[i].axis == axis && cache[i].d == d &&
            cache[i].dv == dv) {
            *per_second = cache[i].per_second;
            found = true;
        }
    if (!found) {
        status = measure(h, axis, d, dv, per_second);
        if (!status && cached < MAX_CACHED)
            cache[cached++] = (throughput_entry){h->device, axis, d, dv, *per_second};
    }
    pthread_mutex_unlock(&cache_lock);
    return status;
}
