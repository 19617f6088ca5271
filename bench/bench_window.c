/* Sliding-window attention against the same window written as a dense boolean mask: the
 * window skips the key blocks outside it (cost grows with the window), the mask computes
 * every score and then hides most of them. Causal, bottom-right, B = 1, H heads, M = N.
 *
 *   bench_window [N] [D] [H] [WINDOW...]   (defaults 4096 64 4, windows 128 512 1024)
 *
 * One row per backend and window: milliseconds (median of 3 after a warm-up) of the window,
 * of the equivalent mask and of plain causal attention, the speed-up over the mask, and the
 * max abs difference between the window's and the mask's outputs (should be ~1e-7). */
#include "bench.h"
#include "clattn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS 3

typedef struct problem {
    clattn_handle *handle; /* NULL: the fast CPU backend */
    const clattn_attention_desc *desc;
    const float *q, *k, *v;
    const void *mask;
    float *o;
} problem;

static clattn_status run_once(const problem *p) {
    return p->handle ? clattn_attention(p->handle, p->desc, p->q, p->k, p->v, p->mask, p->o, NULL)
                     : clattn_cpu_attention(p->desc, p->q, p->k, p->v, p->mask, p->o, NULL);
}

static int run_problem(const void *p) {
    return (int)run_once(p);
}

int main(int argc, char **argv) {
    const size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 4096;
    const size_t d = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
    const size_t heads = argc > 3 ? strtoul(argv[3], NULL, 10) : 4;
    long windows[16] = {128, 512, 1024};
    int nwin = 3;
    if (argc > 4)
        for (nwin = 0; nwin < 16 && 4 + nwin < argc; nwin++)
            windows[nwin] = strtol(argv[4 + nwin], NULL, 10);
    const size_t count = heads * n * d;
    float *q = malloc(count * sizeof *q), *k = malloc(count * sizeof *k);
    float *v = malloc(count * sizeof *v), *o_win = malloc(count * sizeof *o_win);
    float *o_mask = malloc(count * sizeof *o_mask);
    unsigned char *mask = malloc(n * n);
    if (!q || !k || !v || !o_win || !o_mask || !mask) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    unsigned long long seed = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < count; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        const float x = (float)(seed >> 40) / (float)(1ull << 24) * 2.0f - 1.0f;
        q[i] = x;
        k[(i * 7) % count] = -x;
        v[(i * 13) % count] = 0.5f * x;
    }
    clattn_handle *device = NULL;
    clattn_status status = clattn_handle_create(NULL, &device);
    if (status) {
        fprintf(stderr, "no OpenCL device: %s\n", clattn_last_error_message());
        device = NULL;
    }
    printf("backend;N;D;H;window;window_ms;mask_ms;causal_ms;speedup_vs_mask;max_abs_diff\n");
    for (int b = 0; b < 2; b++) {
        clattn_handle *handle = b ? device : NULL;
        if (b && !device) break;
        for (int w = 0; w < nwin; w++) {
            clattn_attention_desc causal;
            clattn_attention_desc_init(&causal, 1, heads, heads, n, n, d, d);
            causal.causal = CLATTN_CAUSAL_BOTTOM_RIGHT;
            clattn_attention_desc win = causal, dense = causal;
            win.window = 1;
            win.window_left = windows[w];
            win.window_right = 0;
            for (size_t i = 0; i < n; i++) /* the same window as a [N, N] mask (M = N) */
                for (size_t j = 0; j < n; j++)
                    mask[i * n + j] = j + (size_t)windows[w] >= i;
            dense.mask_kind = CLATTN_MASK_BOOLEAN;
            const problem pw = {handle, &win, q, k, v, NULL, o_win};
            const problem pm = {handle, &dense, q, k, v, mask, o_mask};
            const problem pc = {handle, &causal, q, k, v, NULL, o_mask};
            const void *problems[3] = {&pc, &pw, &pm};
            double ms[3][REPS];
            if (bench_alternate_ms(run_problem, problems, 3, REPS, ms[0])) {
                fprintf(stderr, "attention failed: %s\n", clattn_last_error_message());
                return 1;
            }
            double diff = 0.0;
            for (size_t i = 0; i < count; i++)
                diff = fmax(diff, fabs((double)o_win[i] - (double)o_mask[i]));
            const double tc = ms[0][REPS / 2], tw = ms[1][REPS / 2], tm = ms[2][REPS / 2];
            printf("%s;%zu;%zu;%zu;%ld;%.1f;%.1f;%.1f;%.2f;%.2e\n", b ? "opencl" : "cpu", n, d,
                   heads, windows[w], tw, tm, tc, tm / tw, diff);
            fflush(stdout);
        }
    }
    clattn_handle_destroy(device);
    free(q), free(k), free(v), free(o_win), free(o_mask), free(mask);
    return 0;
}
