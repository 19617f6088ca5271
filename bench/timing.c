/* Timing helpers: wall clock, statistics, profiling events. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double bench_cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, int count) {
    if (count <= 0) return NAN;
    qsort(values, (size_t)count, sizeof *values, compare_double);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

int bench_alternate_ms(bench_run_fn run, const void *const *problems, int count, int reps,
                       double *ms) {
    int status = 0;
    for (int p = 0; p < count && !status; p++)
        status = run(problems[p]);
    for (int r = 0; r < reps && !status; r++)
        for (int p = 0; p < count && !status; p++) {
            const double t0 = bench_now();
            status = run(problems[p]);
            ms[p * reps + r] = (bench_now() - t0) * 1e3;
        }
    for (int p = 0; p < count && !status; p++)
        qsort(ms + p * reps, (size_t)reps, sizeof *ms, compare_double);
    return status;
}

double bench_min(const double *values, int count) {
    double m = INFINITY;
    for (int i = 0; i < count; i++)
        if (values[i] < m) m = values[i];
    return count > 0 ? m : NAN;
}

double bench_event_ms(cl_event first, cl_event last) {
    cl_ulong start = 0, end = 0;
    if (clGetEventProfilingInfo(first, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL) ||
        clGetEventProfilingInfo(last, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) ||
        end < start)
        return NAN;
    return (double)(end - start) * 1e-6;
}
