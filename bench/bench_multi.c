/* bench_multi: clattn_attention_multi against each device alone, for a decoding shape (keys
 * split) and a prefill shape (rows split), end to end (host arrays in and out), best of 3 after
 * a warm-up.
 *   bench_multi [SEL SEL]   two device selectors (default: the PoCL and Intel CPU runtimes) */
#include "clattn.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void fill(float *a, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        a[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* Best time of 3 runs after a warm-up; device < 0: both devices with `shares`. */
static double best(clattn_handle *const *h, int device, const float *shares,
                   const clattn_attention_desc *d, const float *q, const float *k, const float *v,
                   float *o) {
    double result = 1e30;
    for (int run = 0; run < 4; run++) {
        const double t = now();
        const clattn_status st =
            device >= 0 ? clattn_attention(h[device], d, q, k, v, NULL, o, NULL)
                        : clattn_attention_multi(h, 2, shares, d, q, k, v, NULL, o, NULL);
        if (st) {
            fprintf(stderr, "bench_multi: %s\n", clattn_last_error_message());
            exit(1);
        }
        if (run > 0 && now() - t < result) result = now() - t;
    }
    return result * 1e3;
}

static void shape(clattn_handle *const *h, const char *name, size_t hq, size_t hkv, size_t m,
                  size_t n, size_t dim, clattn_causal causal) {
    clattn_attention_desc d;
    clattn_attention_desc_init(&d, 1, hq, hkv, m, n, dim, dim);
    d.causal = causal;
    float *q = malloc(hq * m * dim * sizeof *q), *o = malloc(hq * m * dim * sizeof *o);
    float *k = malloc(hkv * n * dim * sizeof *k), *v = malloc(hkv * n * dim * sizeof *v);
    if (!q || !o || !k || !v) exit(1);
    fill(q, hq * m * dim, 1), fill(k, hkv * n * dim, 2), fill(v, hkv * n * dim, 3);
    const float equal[2] = {1, 1};
    const double t0 = best(h, 0, NULL, &d, q, k, v, o), t1 = best(h, 1, NULL, &d, q, k, v, o);
    const double tp = best(h, -1, NULL, &d, q, k, v, o), te = best(h, -1, equal, &d, q, k, v, o);
    printf("%s: device 0 %.1f ms, device 1 %.1f ms, both (measured shares) %.1f ms, both (equal "
           "shares) %.1f ms\n",
           name, t0, t1, tp, te);
    free(q), free(o), free(k), free(v);
}

int main(int argc, char **argv) {
    const char *sel[2] = {argc > 2 ? argv[1] : "Portable", argc > 2 ? argv[2] : "Intel"};
    clattn_handle *h[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        clattn_options options;
        clattn_options_init(&options);
        options.device = sel[i];
        if (clattn_handle_create(&options, &h[i])) {
            fprintf(stderr, "bench_multi: device '%s': %s\n", sel[i], clattn_last_error_message());
            return 1;
        }
        printf("device %d: %s\n", i, clattn_handle_device_name(h[i]));
    }
    shape(h, "decode Hq=32 Hkv=8 M=1 N=32768 D=128 causal bottom-right", 32, 8, 1, 32768, 128,
          CLATTN_CAUSAL_BOTTOM_RIGHT);
    shape(h, "prefill H=8 M=N=2048 D=64 causal", 8, 8, 2048, 2048, 64, CLATTN_CAUSAL_TOP_LEFT);
    clattn_handle_destroy(h[0]);
    clattn_handle_destroy(h[1]);
    return 0;
}
