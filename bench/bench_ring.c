/* Ring attention scaling: time per ring step and bytes sent per rank, under mpirun.
 *
 *   mpirun -np R bench_ring [--n N] [--d D] [--heads HQ] [--kv-heads HKV] [--causal] [--reps K]
 *
 * Each rank times K calls of clattn_ring_attention (after one warm-up call that compiles the
 * kernels) on its device; rank 0 prints one line with the slowest rank's figures (the ring
 * runs at the pace of its slowest member): ms per call, ms per step, the compute and the
 * waiting for the ring within a step, K/V bytes sent per rank and call, and the attention
 * GFLOP/s of the whole job (4 B Hq N^2 D FLOPs, half of it when causal). */
#include "clattn_mpi.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t arg_size(int argc, char **argv, const char *name, size_t fallback) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return (size_t)strtoull(argv[i + 1], NULL, 10);
    return fallback;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    bool causal = false;
    for (int i = 1; i < argc; i++)
        causal = causal || strcmp(argv[i], "--causal") == 0;
    const size_t n = arg_size(argc, argv, "--n", 4096), d = arg_size(argc, argv, "--d", 64);
    const size_t hq = arg_size(argc, argv, "--heads", 4),
                 hkv = arg_size(argc, argv, "--kv-heads", hq);
    const int reps = (int)arg_size(argc, argv, "--reps", 3);
    clattn_ring_desc desc;
    clattn_ring_desc_init(&desc, 1, hq, hkv, n, d, d);
    desc.causal = causal ? CLATTN_CAUSAL_TOP_LEFT : CLATTN_CAUSAL_NONE;
    clattn_ring_rows rows;
    clattn_ring_rows_of(&desc, rank, ranks, &rows);
    const size_t s = rows.shard_rows;
    float *q = calloc(hq * s * d + 1, sizeof *q), *k = calloc(hkv * s * d + 1, sizeof *k);
    float *v = calloc(hkv * s * d + 1, sizeof *v), *o = calloc(hq * s * d + 1, sizeof *o);
    for (size_t i = 0; i < hq * s * d; i++)
        q[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < hkv * s * d; i++) {
        k[i] = (float)((i * 40503u) % 997) / 997.0f - 0.5f;
        v[i] = (float)((i * 9973u) % 991) / 991.0f - 0.5f;
    }
    clattn_handle *h = NULL;
    clattn_status status = clattn_handle_create(NULL, &h);
    if (!status) status = clattn_ring_attention(h, MPI_COMM_WORLD, &desc, q, k, v, o, NULL);
    double sums[4] = {0}; /* seconds, compute, wait, bytes */
    for (int r = 0; r < reps && !status; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        status = clattn_ring_attention(h, MPI_COMM_WORLD, &desc, q, k, v, o, NULL);
        clattn_ring_stats stats;
        clattn_ring_last_stats(&stats);
        sums[0] += stats.seconds;
        sums[1] += stats.compute_s;
        sums[2] += stats.wait_s;
        sums[3] += (double)stats.bytes_sent;
    }
    if (status) {
        fprintf(stderr, "rank %d: %s: %s\n", rank, clattn_status_string(status),
                clattn_last_error_message());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double worst[4];
    MPI_Reduce(sums, worst, 4, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        const double call = worst[0] / reps, steps = ranks;
        const double flops =
            4.0 * (double)hq * (double)n * (double)n * (double)d * (causal ? 0.5 : 1);
        printf("ranks %d  N %zu  D %zu  Hq %zu  Hkv %zu  %s  ms/call %.2f  ms/step %.2f  "
               "compute ms/step %.2f  wait ms/step %.2f  bytes sent/rank %.0f  GFLOP/s %.1f\n",
               ranks, n, d, hq, hkv, causal ? "causal" : "full", 1e3 * call, 1e3 * call / steps,
               1e3 * worst[1] / reps / steps, 1e3 * worst[2] / reps / steps, worst[3] / reps,
               flops / call * 1e-9);
    }
    clattn_handle_destroy(h);
    free(q), free(k), free(v), free(o);
    MPI_Finalize();
    return 0;
}
