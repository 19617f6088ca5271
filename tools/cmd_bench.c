/* clattn bench: CPU reference, fast CPU path, OpenCL devices and peers over size sweeps, with
 * roofline figures against probed device peaks. The logic lives in bench/. */
#include "bench.h"
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(void) {
    printf("usage: clattn bench [--op scores|attention|decode|seed|all] [--n N] [--d D] [--m M]\n"
           "                    [--causal] [--batch B] [--heads H] [--backends LIST] [--reps K]\n"
           "                    [--device SEL]... [--threads T] [--quick] [--json FILE]\n"
           "                    [--csv FILE] [--plot FILE.png] [--model NAME|all|list]...\n"
           "                    [--torch PYTHON [--torch-peer SCRIPT]]\n\n"
           "Runs each operation over a sweep of sizes (or the one size given by --n/--d/--m) on\n"
           "the CPU reference (small sizes), the fast CPU path, each OpenCL device and the peers\n"
           "CLBlast and OpenBLAS (when built with them). Per run: median and min of K repetitions\n"
           "after a warm-up, end to end (uploads and read-back included for devices), device time\n"
           "from profiling events, GFLOP/s, GB/s, percent of the probed peak (bandwidth for\n"
           "scores and decode, FLOP/s for attention) and the max abs error against the reference\n"
           "(or the fast CPU path where the reference would be too slow).\n\n"
           "  --op OP        scores (the seed op: scores + SUM normalisation), attention (M = N),\n"
           "                 decode (M = 1), seed (the 6 x 3 example's latency and launches) or\n"
           "                 all (default); may be repeated\n"
           "  --backends L   comma list of ref,cpu,opencl,clblast,openblas (default: all built)\n"
           "  --reps K       timed repetitions (default 5, --quick 3)\n"
           "  --device SEL   an OpenCL device (repeatable; default: CLATTN_DEVICE or the default)\n"
           "  --threads T    threads of the fast CPU path (default: all cores)\n"
           "  --quick        a short sweep (about a minute on 2 cores; no model rows)\n"
           "  --model NAME   a model's shapes (repeatable; all: every one; list: print them):\n"
           "                 the fast CPU path, the devices and PyTorch run alternately, errors\n"
           "                 against the reference on a subset of heads and rows. The default\n"
           "                 sweep (no --op, --quick or size) ends with every model row\n"
           "  --torch PY     PyTorch as a peer on the model rows: PY (a Python with torch 2.x)\n"
           "                 runs tools/torch_peer.py (or --torch-peer SCRIPT) in a child\n"
           "                 process with the same threads, data and masks\n"
           "  --json/--csv   write the results; --plot FILE.png draws them with gnuplot\n\n"
           "OpenBLAS 0.3.21 misdetects some AVX-512 CPUs: set OPENBLAS_CORETYPE=SkylakeX there.\n");
}

typedef struct bench_args {
    unsigned ops; /* bit per bench_op */
    size_t n, d, m, batch, heads;
    bool has_n, has_d, has_m, causal, quick;
    const char *devices[BENCH_MAX_DEVICES];
    size_t device_count;
    const char *json, *csv, *plot;
    unsigned backends;
    int reps;
    unsigned threads;
    const bench_model *models[32];
    size_t model_count;
    bool list_models;
    const char *torch, *torch_peer;
} bench_args;

static int add_model(bench_args *a, const char *name) {
    if (name && strcmp(name, "list") == 0) {
        a->list_models = true;
        return 0;
    }
    const bool all = name && strcmp(name, "all") == 0;
    for (const bench_model *m = bench_models(); m->name; m++) {
        if (all ? m->hidden : strcmp(m->name, name ? name : "") != 0) continue;
        if (a->model_count == sizeof a->models / sizeof a->models[0])
            return cli_error("too many --model options");
        a->models[a->model_count++] = m;
        if (!all) return 0;
    }
    return all ? 0
               : cli_error("--model: unknown model '%s' (--model list shows them)",
                           name ? name : "");
}

static void list_models(void) {
    printf("%-20s %s\n", "model", "shape");
    for (const bench_model *m = bench_models(); m->name; m++)
        if (!m->hidden) printf("%-20s %s\n", m->name, m->about);
}

static int parse_backends(const char *list, unsigned *out) {
    *out = 0;
    char copy[256];
    snprintf(copy, sizeof copy, "%s", list ? list : "");
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "ref") == 0)
            *out |= BACKEND_REF;
        else if (strcmp(t, "cpu") == 0)
            *out |= BACKEND_CPU;
        else if (strcmp(t, "opencl") == 0)
            *out |= BACKEND_OPENCL;
        else if (strcmp(t, "clblast") == 0)
            *out |= BACKEND_CLBLAST;
        else if (strcmp(t, "openblas") == 0)
            *out |= BACKEND_OPENBLAS;
        else if (strcmp(t, "torch") == 0)
            *out |= BACKEND_TORCH;
        else
            return cli_error(
                "--backends: unknown backend '%s' (ref, cpu, opencl, clblast, openblas, torch)", t);
    }
    return *out ? 0 : cli_error("--backends needs at least one backend");
}

static int parse_size_option(const char *name, const char *v, size_t *out) {
    if (!cli_parse_size(v, out) || *out == 0)
        return cli_error("%s needs a positive integer, got '%s'", name, v ? v : "");
    return 0;
}

static int parse(int argc, char **argv, bench_args *a) {
    memset(a, 0, sizeof *a);
    a->batch = a->heads = 1;
    a->backends = BACKEND_REF | BACKEND_CPU | BACKEND_OPENCL | BACKEND_CLBLAST | BACKEND_OPENBLAS |
                  BACKEND_TORCH;
    bool has_op = false;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int rc = 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help();
            return -1;
        } else if (strcmp(argv[i], "--quick") == 0) {
            a->quick = true;
        } else if (strcmp(argv[i], "--causal") == 0) {
            a->causal = true;
        } else if (cli_option(argc, argv, &i, "--model", &v)) {
            rc = add_model(a, v);
        } else if (cli_option(argc, argv, &i, "--torch", &v)) {
            if (!(a->torch = v)) return cli_error("--torch needs a Python interpreter");
        } else if (cli_option(argc, argv, &i, "--torch-peer", &v)) {
            if (!(a->torch_peer = v)) return cli_error("--torch-peer needs a script");
        } else if (cli_option(argc, argv, &i, "--op", &v)) {
            has_op = true;
            if (v && strcmp(v, "scores") == 0)
                a->ops |= 1u << BENCH_SCORES;
            else if (v && strcmp(v, "attention") == 0)
                a->ops |= 1u << BENCH_ATTENTION;
            else if (v && strcmp(v, "decode") == 0)
                a->ops |= 1u << BENCH_DECODE;
            else if (v && strcmp(v, "seed") == 0)
                a->ops |= 1u << BENCH_SEED;
            else if (v && strcmp(v, "all") == 0)
                a->ops |= 0xf;
            else
                return cli_error("--op takes scores, attention, decode, seed or all, got '%s'",
                                 v ? v : "");
        } else if (cli_option(argc, argv, &i, "--n", &v)) {
            rc = parse_size_option("--n", v, &a->n);
            a->has_n = true;
        } else if (cli_option(argc, argv, &i, "--d", &v)) {
            rc = parse_size_option("--d", v, &a->d);
            a->has_d = true;
        } else if (cli_option(argc, argv, &i, "--m", &v)) {
            rc = parse_size_option("--m", v, &a->m);
            a->has_m = true;
        } else if (cli_option(argc, argv, &i, "--batch", &v)) {
            rc = parse_size_option("--batch", v, &a->batch);
        } else if (cli_option(argc, argv, &i, "--heads", &v)) {
            rc = parse_size_option("--heads", v, &a->heads);
        } else if (cli_option(argc, argv, &i, "--reps", &v)) {
            size_t reps = 0;
            if ((rc = parse_size_option("--reps", v, &reps)) == 0) {
                if (reps > 64) return cli_error("--reps: at most 64");
                a->reps = (int)reps;
            }
        } else if (cli_option(argc, argv, &i, "--threads", &v)) {
            size_t t = 0;
            if ((rc = parse_size_option("--threads", v, &t)) == 0) a->threads = (unsigned)t;
        } else if (cli_option(argc, argv, &i, "--backends", &v)) {
            rc = parse_backends(v, &a->backends);
        } else if (cli_option(argc, argv, &i, "--device", &v)) {
            if (!v) return cli_error("--device needs a value");
            if (a->device_count == BENCH_MAX_DEVICES) return cli_error("too many --device options");
            a->devices[a->device_count++] = v;
        } else if (cli_option(argc, argv, &i, "--json", &v)) {
            if (!(a->json = v)) return cli_error("--json needs a file");
        } else if (cli_option(argc, argv, &i, "--csv", &v)) {
            if (!(a->csv = v)) return cli_error("--csv needs a file");
        } else if (cli_option(argc, argv, &i, "--plot", &v)) {
            if (!(a->plot = v)) return cli_error("--plot needs a file");
        } else {
            return cli_error("bench: unknown option '%s' (see clattn bench --help)", argv[i]);
        }
        if (rc) return rc;
    }
    /* Every operation unless --op or --model names what to run; the default sweep (no size
     * either) ends with the model rows. */
    const bool default_sweep = !has_op && !a->model_count && !a->list_models && !a->quick &&
                               !a->has_n && !a->has_d && !a->has_m;
    if (!a->ops && !a->model_count) a->ops = 0xf;
    if (default_sweep) add_model(a, "all");
    if (a->torch_peer && !a->torch) return cli_error("--torch-peer needs --torch PYTHON");
    if (!a->reps) a->reps = a->quick ? 3 : 5;
    return 0;
}

/* ---- sweeps ------------------------------------------------------------------------------- */

#define MAX_SHAPES 256
#define MAX_FLOATS ((size_t)1 << 28) /* 1 GiB per input: larger sizes are left out */

typedef struct shape_list {
    bench_shape items[MAX_SHAPES];
    size_t count;
} shape_list;

static void add(shape_list *l, bench_shape s) {
    const size_t bh = s.batch * s.heads;
    const size_t floats = s.op == BENCH_SCORES ? s.n * s.d : bh * s.n * s.d;
    if (floats > MAX_FLOATS || l->count == MAX_SHAPES) return;
    l->items[l->count++] = s;
}

static void build_sweep(const bench_args *a, shape_list *l) {
    l->count = 0;
    static const size_t full_n[] = {6, 256, 4096, 65536, 262144, 1048576, 4194304};
    static const size_t quick_n[] = {6, 65536, 262144};
    static const size_t seed_d[] = {3, 64, 768};
    static const size_t full_mn[] = {128, 256, 512, 1024, 2048, 4096, 8192, 16384};
    static const size_t quick_mn[] = {128, 1024};
    static const size_t head_d[] = {64, 128};
    static const size_t full_decode[] = {1024, 16384, 262144, 1048576};
    static const size_t quick_decode[] = {16384, 262144};
#define COUNT(x) (sizeof(x) / sizeof((x)[0]))
    if (a->ops & (1u << BENCH_SCORES)) {
        if (a->has_n || a->has_d) {
            add(l, (bench_shape){BENCH_SCORES, 1, 1, 1, a->has_n ? a->n : 262144,
                                 a->has_d ? a->d : 768, 0});
        } else {
            const size_t *ns = a->quick ? quick_n : full_n;
            const size_t count = a->quick ? COUNT(quick_n) : COUNT(full_n);
            for (size_t di = 0; di < COUNT(seed_d); di++)
                for (size_t i = 0; i < count; i++)
                    add(l, (bench_shape){BENCH_SCORES, 1, 1, 1, ns[i], seed_d[di], 0});
        }
    }
    if (a->ops & (1u << BENCH_ATTENTION)) {
        if (a->has_n || a->has_d || a->has_m) {
            const size_t m = a->has_m ? a->m : (a->has_n ? a->n : 4096);
            add(l, (bench_shape){BENCH_ATTENTION, a->batch, a->heads, m, a->has_n ? a->n : m,
                                 a->has_d ? a->d : 64, a->causal});
        } else {
            const size_t *ms = a->quick ? quick_mn : full_mn;
            const size_t count = a->quick ? COUNT(quick_mn) : COUNT(full_mn);
            for (size_t di = 0; di < COUNT(head_d); di++)
                for (int causal = 0; causal < 2; causal++)
                    for (size_t i = 0; i < count; i++)
                        add(l, (bench_shape){BENCH_ATTENTION, a->batch, a->heads, ms[i], ms[i],
                                             head_d[di], causal});
            if (a->quick) /* the size of the performance targets */
                for (size_t di = 0; di < COUNT(head_d); di++)
                    add(l, (bench_shape){BENCH_ATTENTION, a->batch, a->heads, 4096, 4096,
                                         head_d[di], 0});
        }
    }
    if (a->ops & (1u << BENCH_DECODE)) {
        if (a->has_n || a->has_d) {
            add(l, (bench_shape){BENCH_DECODE, a->batch, a->heads, 1, a->has_n ? a->n : 262144,
                                 a->has_d ? a->d : 128, 0});
        } else {
            const size_t *ns = a->quick ? quick_decode : full_decode;
            const size_t count = a->quick ? COUNT(quick_decode) : COUNT(full_decode);
            for (size_t i = 0; i < count; i++)
                add(l, (bench_shape){BENCH_DECODE, a->batch, a->heads, 1, ns[i], 128, 0});
        }
    }
#undef COUNT
}

/* ---- devices ------------------------------------------------------------------------------ */

static int open_device(const char *selector, bench_device *dev) {
    memset(dev, 0, sizeof *dev);
    clattn_options options;
    clattn_options_init(&options);
    options.device = selector;
    options.enable_profiling = 1;
    clattn_status st = clattn_handle_create(&options, &dev->handle);
    if (st) return cli_status_error("opening the OpenCL device", st, NULL);
    cl_device_id id = clattn_handle_device(dev->handle);
    cl_platform_id platform = NULL;
    cl_device_type type = 0;
    clGetDeviceInfo(id, CL_DEVICE_NAME, sizeof dev->name, dev->name, NULL);
    clGetDeviceInfo(id, CL_DEVICE_VENDOR, sizeof dev->vendor, dev->vendor, NULL);
    clGetDeviceInfo(id, CL_DRIVER_VERSION, sizeof dev->driver, dev->driver, NULL);
    clGetDeviceInfo(id, CL_DEVICE_VERSION, sizeof dev->version, dev->version, NULL);
    clGetDeviceInfo(id, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(id, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL);
    if (platform)
        clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof dev->platform, dev->platform, NULL);
    dev->type = cli_device_type(type);
    fprintf(stderr, "clattn bench: probing %s ...\n", dev->name);
    st = clattn_probe_device(dev->handle, &dev->bandwidth_gbps, &dev->peak_gflops);
    if (st) return cli_status_error("probing the device", st, dev->handle);
    fprintf(stderr, "clattn bench: %s: %.1f GB/s read bandwidth, %.1f GFLOP/s float FMA peak\n",
            dev->name, dev->bandwidth_gbps, dev->peak_gflops);
    return 0;
}

int cmd_bench(int argc, char **argv) {
    bench_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (a.list_models) {
        list_models();
        if (!a.model_count) return 0;
    }
    if (a.threads) clattn_cpu_set_threads(a.threads);
    if ((a.backends & BACKEND_OPENBLAS) && bench_have_openblas() && !getenv("OPENBLAS_CORETYPE"))
        fprintf(stderr, "clattn bench: note: OPENBLAS_CORETYPE is not set (OpenBLAS 0.3.21 "
                        "needs SkylakeX on AVX-512 CPUs it does not know)\n");
    static bench_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backends = a.backends;
    cfg.reps = a.reps;
    cfg.quick = a.quick;
    cfg.ref_limit = (size_t)1 << 27; /* ~0.1-0.3 s per reference run */
    if (a.backends & (BACKEND_OPENCL | BACKEND_CLBLAST)) {
        if (!a.device_count) a.devices[a.device_count++] = NULL;
        for (size_t i = 0; i < a.device_count; i++, cfg.device_count++)
            if ((rc = open_device(a.devices[i], &cfg.devices[i]))) goto out;
    }
    /* The host backends' peaks: a CPU OpenCL device's probe (the same cores). */
    cfg.host_gbps = cfg.host_gflops = NAN;
    for (size_t i = 0; i < cfg.device_count; i++)
        if (strcmp(cfg.devices[i].type, "CPU") == 0) {
            cfg.host_gbps = cfg.devices[i].bandwidth_gbps;
            cfg.host_gflops = cfg.devices[i].peak_gflops;
        }
    if (isnan(cfg.host_gbps) && (a.backends & (BACKEND_REF | BACKEND_CPU | BACKEND_OPENBLAS))) {
        clattn_options options;
        clattn_options_init(&options);
        options.device = "cpu";
        clattn_handle *probe = NULL;
        if (clattn_handle_create(&options, &probe) == CLATTN_SUCCESS &&
            clattn_probe_device(probe, &cfg.host_gbps, &cfg.host_gflops) != CLATTN_SUCCESS)
            cfg.host_gbps = cfg.host_gflops = NAN;
        clattn_handle_destroy(probe);
    }
    if (a.torch && !a.model_count)
        fprintf(stderr, "clattn bench: note: --torch runs on the model rows only (--model)\n");
    if (a.torch && a.model_count && (a.backends & BACKEND_TORCH)) {
        const char *script = a.torch_peer ? a.torch_peer : CLATTN_TORCH_PEER;
        if (!(cfg.torch = bench_torch_start(a.torch, script, clattn_cpu_threads()))) {
            rc = cli_error("bench: the PyTorch peer did not start (--torch %s, script %s)", a.torch,
                           script);
            goto out;
        }
        fprintf(stderr, "clattn bench: PyTorch peer: torch %s\n", bench_torch_version(cfg.torch));
    }
    shape_list *shapes = malloc(sizeof *shapes);
    if (!shapes) return cli_error("out of memory");
    build_sweep(&a, shapes);
    bench_results results = {NULL, 0, 0};
    const bool tty = isatty(2);
    const double start = bench_now();
    if (a.ops & (1u << BENCH_SEED)) {
        fprintf(stderr, "clattn bench: the seed's 6 x 3 example\n");
        rc = bench_run_seed_example(&cfg, &results);
    }
    for (size_t i = 0; !rc && i < shapes->count; i++) {
        char shape[96];
        bench_shape_string(&shapes->items[i], shape, sizeof shape);
        fprintf(stderr, "%s[%zu/%zu] %s %s (%.0f s)%s", tty ? "\r\033[K" : "", i + 1, shapes->count,
                bench_op_name(shapes->items[i].op), shape, bench_now() - start, tty ? "" : "\n");
        rc = bench_run_shape(&cfg, &shapes->items[i], &results);
    }
    for (size_t i = 0; !rc && i < a.model_count; i++) {
        fprintf(stderr, "%s[model %zu/%zu] %s (%.0f s)%s", tty ? "\r\033[K" : "", i + 1,
                a.model_count, a.models[i]->name, bench_now() - start, tty ? "" : "\n");
        rc = bench_run_model(&cfg, a.models[i], &results);
    }
    if (tty) fprintf(stderr, "\r\033[K");
    fprintf(stderr, "clattn bench: %zu results in %.1f s\n", results.count, bench_now() - start);
    if (!rc && results.count == 0) /* every size impossible or skipped: not a success */
        rc = cli_error("bench: no results (no requested size could run on the chosen backends)");
    bench_print_table(&results);
    if (!rc && a.json) rc = bench_write_json(a.json, &cfg, &results);
    if (!rc && a.csv) rc = bench_write_csv(a.csv, &cfg, &results);
    if (!rc && a.plot) rc = bench_plot(a.plot, &results);
    free(results.items);
    free(shapes);
out:
    bench_torch_stop(cfg.torch);
    for (size_t i = 0; i < cfg.device_count; i++)
        clattn_handle_destroy(cfg.devices[i].handle);
    return rc;
}
