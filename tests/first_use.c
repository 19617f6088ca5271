/* Times a handle's first use in a fresh process: clattn_handle_create, clattn_handle_prepare
 * (builds the programs: from source, or from the on-disk cache) and the first call of the
 * seed's operations (scores, normalize, context: PoCL also compiles each kernel for its
 * work-group size at first launch). Run by tests/first_use.sh with cold and warm caches.
 * Prints one line: create_ms prepare_ms first_call_ms total_ms. */
#include "clattn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(void) {
    enum { N = 1000, D = 64 };
    static float x[N * D], q[D], s[N], w[N], c[D];
    for (int i = 0; i < N * D; i++)
        x[i] = sinf((float)i);
    for (int i = 0; i < D; i++)
        q[i] = cosf((float)i);
    double t0 = now_ms();
    clattn_handle *h = NULL;
    clattn_status status = clattn_handle_create(NULL, &h);
    double t1 = now_ms();
    if (!status) status = clattn_handle_prepare(h);
    double t2 = now_ms();
    if (!status)
        status = clattn_query_attention(h, N, D, x, q, NULL, 0.125f, CLATTN_NORM_SOFTMAX, s, w, c);
    double t3 = now_ms();
    clattn_handle_destroy(h);
    if (status) {
        fprintf(stderr, "%s: %s\n", clattn_status_string(status), clattn_last_error_message());
        return 1;
    }
    printf("%.1f %.1f %.1f %.1f\n", t1 - t0, t2 - t1, t3 - t2, t3 - t0);
    return 0;
}
