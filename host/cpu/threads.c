/* Thread count and the parallel-for of the fast CPU path (POSIX threads). */
#include "cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* 0: every online core. Set by clattn_cpu_set_threads or CLATTN_CPU_THREADS. */
static atomic_uint thread_setting;

void clattn_cpu_set_threads(unsigned threads) {
    atomic_store(&thread_setting, threads);
}

/* The environment and the core count, read once: sysconf reads /sys on every call (~5 us,
 * the whole cost of a tiny problem). */
static unsigned default_threads;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void find_default_threads(void) {
    const char *env = getenv("CLATTN_CPU_THREADS");
    long v = env ? strtol(env, NULL, 10) : 0;
    if (v <= 0 || v > 1024) v = sysconf(_SC_NPROCESSORS_ONLN);
    default_threads = v > 0 ? (unsigned)v : 1u;
}

unsigned clattn_cpu_threads(void) {
    unsigned n = atomic_load(&thread_setting);
    if (n) return n;
    pthread_once(&default_once, find_default_threads);
    return default_threads;
}

unsigned clattn__cpu_threads_for(double work) {
    /* Starting and joining a thread costs ~20-50 us: about 1e6 flops or 1 MB of traffic. */
    const double per_thread = 1e6;
    unsigned all = clattn_cpu_threads();
    double want = work / per_thread;
    if (want < 1.0) return 1;
    return want < (double)all ? (unsigned)want : all;
}

typedef struct pool_job {
    clattn__cpu_task_fn fn;
    void *ctx;
    size_t tasks;
    atomic_size_t next;
} pool_job;

static void *worker(void *arg) {
    pool_job *job = arg;
    for (;;) {
        size_t t = atomic_fetch_add(&job->next, 1);
        if (t >= job->tasks) break;
        job->fn(job->ctx, t);
    }
    return NULL;
}

void clattn__cpu_parallel(size_t tasks, unsigned threads, clattn__cpu_task_fn fn, void *ctx) {
    if (threads == 0) threads = clattn_cpu_threads();
    if ((size_t)threads > tasks) threads = (unsigned)tasks;
    pool_job job = {.fn = fn, .ctx = ctx, .tasks = tasks};
    atomic_init(&job.next, 0);
    if (threads <= 1) {
        worker(&job);
        return;
    }
    pthread_t stack_ids[16];
    pthread_t *ids = threads - 1 <= 16 ? stack_ids : malloc((threads - 1) * sizeof *ids);
    unsigned started = 0;
    if (ids)
        for (; started < threads - 1; started++)
            if (pthread_create(&ids[started], NULL, worker, &job)) break;
    worker(&job);
    for (unsigned i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
    if (ids != stack_ids) free(ids);
}
