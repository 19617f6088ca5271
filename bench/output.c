/* Benchmark output: the terminal table, JSON, CSV and a gnuplot figure. */
#define _GNU_SOURCE /* popen, gethostname */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void cell(char *buf, size_t size, const char *format, double v) {
    if (isnan(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, format, v);
}

static void print_models(const bench_results *r);

void bench_print_table(const bench_results *r) {
    printf("%-12s %-9s %-30s %-34s %10s %10s %10s %9s %8s %6s %9s\n", "op", "backend", "device",
           "shape", "median_ms", "min_ms", "device_ms", "GFLOP/s", "GB/s", "%peak", "max_err");
    for (size_t i = 0; i < r->count; i++) {
        const bench_result *x = &r->items[i];
        char shape[96], med[32], mn[32], dev[32], gf[32], gb[32], pk[32], err[32];
        if (x->model)
            snprintf(shape, sizeof shape, "%s", x->model);
        else
            bench_shape_string(&x->shape, shape, sizeof shape);
        if (x->launches) {
            size_t len = strlen(shape);
            snprintf(shape + len, sizeof shape - len, " (%d launch%s)", x->launches,
                     x->launches == 1 ? "" : "es");
        }
        cell(med, sizeof med, "%.4g", x->median_ms);
        cell(mn, sizeof mn, "%.4g", x->min_ms);
        cell(dev, sizeof dev, "%.4g", x->device_ms);
        cell(gf, sizeof gf, "%.1f", x->gflops);
        cell(gb, sizeof gb, "%.2f", x->gbps);
        cell(pk, sizeof pk, "%.0f%%", x->peak_fraction * 100);
        cell(err, sizeof err, "%.1e", x->max_abs_err);
        printf("%-12s %-9s %-30.30s %-34s %10s %10s %10s %9s %8s %6s %9s\n",
               bench_op_name(x->shape.op), x->backend, x->device, shape, med, mn, dev, gf, gb, pk,
               err);
    } /* The seed op against a streaming read of the same x, run alternately (load-robust). */
    bool header = false;
    for (size_t i = 0; i < r->count; i++) {
        const bench_result *x = &r->items[i];
        if (isnan(x->stream_fraction)) continue;
        if (!header)
            printf("\nseed op device time against a streaming read of x on the same device, "
                   "alternately (median ratio):\n");
        header = true;
        char shape[96];
        bench_shape_string(&x->shape, shape, sizeof shape);
        printf("  %s %s on %s: %.0f%%\n", bench_op_name(x->shape.op), shape, x->device,
               x->stream_fraction * 100);
    }
    header = false;
    for (size_t i = 0; i < r->count; i++) {
        const bench_result *x = &r->items[i];
        if (isnan(x->fma_fraction) || x->model) continue;
        if (!header)
            printf("\nattention GFLOP/s against the FMA kernel's on the same device, alternately "
                   "(median ratio):\n");
        header = true;
        char shape[96];
        bench_shape_string(&x->shape, shape, sizeof shape);
        printf("  %s %s on %s: %.0f%%\n", bench_op_name(x->shape.op), shape, x->device,
               x->fma_fraction * 100);
    }
    print_models(r);
}

/* Model rows: the backends run alternately on one model's shape, each against the peak probed
 * beside it, and their times against PyTorch's (and the fast CPU path's) of the same run. */
static void print_models(const bench_results *r) {
    bool header = false;
    for (size_t i = 0; i < r->count; i++) {
        const bench_result *x = &r->items[i];
        if (!x->model) continue;
        if (!header)
            printf("\nmodel rows, backends run alternately (%%peak: of the probe run beside each; "
                   "x torch / x cpu: time of torch / cpu over this backend's):\n"
                   "%-19s %-7s %10s %9s %8s %6s %9s %8s %7s  %s\n",
                   "model", "backend", "median_ms", "GFLOP/s", "GB/s", "%peak", "max_err",
                   "x torch", "x cpu", "detail");
        header = true;
        double torch_ms = NAN, cpu_ms = NAN;
        for (size_t j = 0; j < r->count; j++)
            if (r->items[j].model && strcmp(r->items[j].model, x->model) == 0) {
                if (strcmp(r->items[j].backend, "torch") == 0) torch_ms = r->items[j].median_ms;
                if (strcmp(r->items[j].backend, "cpu") == 0) cpu_ms = r->items[j].median_ms;
            }
        char med[32], gf[32], gb[32], pk[32], err[32], vt[32], vc[32];
        cell(med, sizeof med, "%.4g", x->median_ms);
        cell(gf, sizeof gf, "%.1f", x->gflops);
        cell(gb, sizeof gb, "%.2f", x->gbps);
        cell(pk, sizeof pk, "%.0f%%", x->peak_fraction * 100);
        cell(err, sizeof err, "%.1e", x->max_abs_err);
        cell(vt, sizeof vt, "%.2f", torch_ms / x->median_ms);
        cell(vc, sizeof vc, "%.2f", cpu_ms / x->median_ms);
        printf("%-19s %-7s %10s %9s %8s %6s %9s %8s %7s  %s\n", x->model, x->backend, med, gf, gb,
               pk, err, vt, vc, x->detail);
    }
}

/* JSON string with escapes. */
static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_number(FILE *f, double v) {
    if (isnan(v) || isinf(v))
        fputs("null", f);
    else
        fprintf(f, "%.6g", v);
}

static void cpu_model(char *buf, size_t size) {
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon += 2;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(buf, size, "%s", colon);
            }
            break;
        }
    fclose(f);
}

static void iso_date(char *buf, size_t size) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int bench_write_json(const char *path, const bench_config *cfg, const bench_results *r) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "clattn bench: cannot write %s\n", path);
        return 1;
    }
    char host[256] = "", cpu[256], date[64];
    struct utsname u;
    gethostname(host, sizeof host - 1);
    cpu_model(cpu, sizeof cpu);
    iso_date(date, sizeof date);
    if (uname(&u)) memset(&u, 0, sizeof u);
    fprintf(f, "{\n  \"machine\": {\"hostname\": ");
    json_string(f, host);
    fprintf(f, ", \"cpu\": ");
    json_string(f, cpu);
    fprintf(f, ", \"cores\": %ld, \"cpu_threads\": %u, \"os\": ", sysconf(_SC_NPROCESSORS_ONLN),
            clattn_cpu_threads());
    char os[600];
    snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    json_string(f, os);
    fprintf(f, ", \"clattn_version\": ");
    json_string(f, clattn_version());
    fprintf(f, ", \"date\": ");
    json_string(f, date);
    /* The load average when the results were written: other processes on the machine. */
    double load[3] = {-1, -1, -1};
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
        fclose(lf);
    }
    fprintf(f, ", \"host_bandwidth_gbps\": ");
    json_number(f, cfg->host_gbps);
    fprintf(f, ", \"host_peak_gflops\": ");
    json_number(f, cfg->host_gflops);
    fprintf(f, ", \"loadavg\": ");
    if (load[0] >= 0)
        fprintf(f, "[%.2f, %.2f, %.2f]", load[0], load[1], load[2]);
    else
        fputs("null", f);
    fprintf(f, ", \"reps\": %d, \"quick\": %s},\n  \"devices\": [", cfg->reps,
            cfg->quick ? "true" : "false");
    for (size_t i = 0; i < cfg->device_count; i++) {
        const bench_device *d = &cfg->devices[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        json_string(f, d->name);
        fprintf(f, ", \"vendor\": ");
        json_string(f, d->vendor);
        fprintf(f, ", \"type\": ");
        json_string(f, d->type);
        fprintf(f, ", \"platform\": ");
        json_string(f, d->platform);
        fprintf(f, ", \"version\": ");
        json_string(f, d->version);
        fprintf(f, ", \"driver\": ");
        json_string(f, d->driver);
        fprintf(f, ", \"bandwidth_gbps\": ");
        json_number(f, d->bandwidth_gbps);
        fprintf(f, ", \"peak_gflops\": ");
        json_number(f, d->peak_gflops);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"results\": [");
    for (size_t i = 0; i < r->count; i++) {
        const bench_result *x = &r->items[i];
        const bench_shape *s = &x->shape;
        fprintf(f, "%s\n    {\"op\": \"%s\", \"backend\": \"%s\", \"device\": ", i ? "," : "",
                bench_op_name(s->op), x->backend);
        json_string(f, x->device);
        if (s->op == BENCH_SCORES || s->op == BENCH_SEED)
            fprintf(f, ", \"n\": %zu, \"d\": %zu", s->n, s->d);
        else
            fprintf(f,
                    ", \"batch\": %zu, \"heads\": %zu, \"m\": %zu, \"n\": %zu, \"d\": %zu, "
                    "\"causal\": %s",
                    s->batch, s->heads, s->m, s->n, s->d, s->causal ? "true" : "false");
        fprintf(f, ", \"reps\": %d", x->reps);
        const char *names[] = {"median_ms",   "min_ms",          "device_ms",   "norm_ms",
                               "cpu_ms",      "gflops",          "gbps",        "peak_fraction",
                               "max_abs_err", "stream_fraction", "fma_fraction"};
        const double values[] = {
            x->median_ms,   x->min_ms,          x->device_ms,   x->norm_ms,
            x->cpu_ms,      x->gflops,          x->gbps,        x->peak_fraction,
            x->max_abs_err, x->stream_fraction, x->fma_fraction};
        for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
            fprintf(f, ", \"%s\": ", names[k]);
            json_number(f, values[k]);
        }
        fprintf(f, ", \"err_vs\": ");
        if (x->err_vs)
            json_string(f, x->err_vs);
        else
            fputs("null", f);
        if (x->launches) fprintf(f, ", \"launches\": %d", x->launches);
        if (x->model) {
            fprintf(f, ", \"model\": ");
            json_string(f, x->model);
            fprintf(f, ", \"detail\": ");
            json_string(f, x->detail);
        }
        if (x->note) {
            fprintf(f, ", \"note\": ");
            json_string(f, x->note);
        }
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]\n}\n");
    int bad = ferror(f);
    if (fclose(f) || bad) {
        fprintf(stderr, "clattn bench: writing %s failed\n", path);
        return 1;
    }
    return 0;
}

static void csv_number(FILE *f, double v) {
    if (!isnan(v)) fprintf(f, "%.6g", v);
}

int bench_write_csv(const char *path, const bench_config *cfg, const bench_results *r) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "clattn bench: cannot write %s\n", path);
        return 1;
    }
    char date[64];
    iso_date(date, sizeof date);
    /* Context as comment lines, then one row per result. */
    fprintf(f, "# clattn %s, %s\n", clattn_version(), date);
    for (size_t i = 0; i < cfg->device_count; i++)
        fprintf(f, "# device %zu: %s; driver %s; %s; bandwidth_gbps %.2f; peak_gflops %.1f\n", i,
                cfg->devices[i].name, cfg->devices[i].driver, cfg->devices[i].platform,
                cfg->devices[i].bandwidth_gbps, cfg->devices[i].peak_gflops);
    fprintf(f, "op,backend,device,batch,heads,m,n,d,causal,reps,median_ms,min_ms,device_ms,"
               "norm_ms,cpu_ms,gflops,gbps,peak_fraction,max_abs_err,stream_fraction,fma_fraction,"
               "err_vs,launches\n");
    for (size_t i = 0; i < r->count; i++) {
        const bench_result *x = &r->items[i];
        const bench_shape *s = &x->shape;
        fprintf(f, "%s,%s,\"%s\",%zu,%zu,%zu,%zu,%zu,%d,%d,", bench_op_name(s->op), x->backend,
                x->device, s->batch, s->heads, s->m, s->n, s->d, s->causal, x->reps);
        const double values[] = {
            x->median_ms,   x->min_ms,          x->device_ms,   x->norm_ms,
            x->cpu_ms,      x->gflops,          x->gbps,        x->peak_fraction,
            x->max_abs_err, x->stream_fraction, x->fma_fraction};
        for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
            csv_number(f, values[k]);
            fputc(',', f);
        }
        fprintf(f, "%s,%d\n", x->err_vs ? x->err_vs : "", x->launches);
    }
    int bad = ferror(f);
    if (fclose(f) || bad) {
        fprintf(stderr, "clattn bench: writing %s failed\n", path);
        return 1;
    }
    return 0;
}

/* ---- plot ---------------------------------------------------------------------------------- */

/* x of a result on the plot: n for the seed op and decoding, m = n for attention. */
static double plot_x(const bench_result *x) {
    return x->shape.op == BENCH_ATTENTION ? (double)x->shape.m : (double)x->shape.n;
}

/* Series: (op, backend, device, d, causal) -> one line per panel. */
static bool same_series(const bench_result *a, const bench_result *b) {
    return a->shape.op == b->shape.op && strcmp(a->backend, b->backend) == 0 &&
           strcmp(a->device, b->device) == 0 && a->shape.d == b->shape.d &&
           a->shape.causal == b->shape.causal;
}

int bench_plot(const char *path, const bench_results *r) {
    if (system("command -v gnuplot > /dev/null 2>&1") != 0) {
        fprintf(stderr, "clattn bench: --plot needs gnuplot, which is not installed "
                        "(Debian/Ubuntu: apt-get install gnuplot-nox); no plot written\n");
        return 1;
    }
    char data[] = "/tmp/clattn-bench-XXXXXX";
    int fd = mkstemp(data);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "clattn bench: cannot create a temporary file for the plot\n");
        return 1;
    }
    /* One gnuplot data block per series (separated by two blank lines), per op. */
    const bench_op ops[] = {BENCH_SCORES, BENCH_ATTENTION, BENCH_DECODE};
    char titles[3][64][160];
    int indexes[3][64], counts[3] = {0, 0, 0}, block = 0;
    /* Per op only the largest head/embedding dim (768 for the seed op, 128 for attention):
     * the other sizes would double the lines; the table and JSON have them all. */
    size_t max_d[3] = {0, 0, 0};
    for (int o = 0; o < 3; o++)
        for (size_t i = 0; i < r->count; i++)
            if (r->items[i].shape.op == ops[o] && r->items[i].shape.d > max_d[o])
                max_d[o] = r->items[i].shape.d;
    for (int o = 0; o < 3; o++)
        for (size_t i = 0; i < r->count; i++) {
            const bench_result *x = &r->items[i];
            if (x->shape.op != ops[o] || x->shape.d != max_d[o]) continue;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = same_series(&r->items[j], x);
            if (seen || counts[o] >= 64) continue;
            for (size_t j = i; j < r->count; j++) {
                const bench_result *y = &r->items[j];
                if (!same_series(y, x)) continue;
                const double ms = isnan(y->device_ms) ? y->median_ms : y->device_ms;
                fprintf(f, "%g %g %g\n", plot_x(y), ms, y->peak_fraction * 100);
            }
            fprintf(f, "\n\n");
            snprintf(titles[o][counts[o]], sizeof titles[o][0], "%s %.20s%s", x->backend, x->device,
                     x->shape.causal ? " causal" : "");
            for (char *c = titles[o][counts[o]]; *c; c++)
                if (*c == '"' || *c == '\'') *c = ' ';
            indexes[o][counts[o]++] = block++;
        }
    fclose(f);
    FILE *gp = popen("gnuplot", "w");
    if (!gp) {
        remove(data);
        fprintf(stderr, "clattn bench: cannot start gnuplot\n");
        return 1;
    }
    fprintf(gp,
            "set terminal pngcairo size 1500,1300 font ',9' noenhanced\n"
            "set output '%s'\nset multiplot layout 3,2 title 'clattn bench: time "
            "(device time where measured) and percent of the probed peak'\n"
            "set logscale x 2\nset grid\nset format y '%%g'\nset format x '%%.0f'\n"
            "set key outside right top vertical font ',7'\n",
            path);
    const char *xlabels[] = {"n (seed op)", "m = n (attention)", "n (decoding, m = 1)"};
    const char *peaks[] = {"% of probed bandwidth", "% of probed FLOP/s", "% of probed bandwidth"};
    for (int o = 0; o < 3; o++)
        for (int panel = 0; panel < 2; panel++) {
            fprintf(gp, "set xlabel '%s'\n", xlabels[o]);
            /* Percent of peak clipped at 150: tiny problems that live in the caches beat the
             * memory bandwidth, which means little. */
            if (panel == 0)
                fprintf(gp, "set logscale y 10\nset autoscale y\nset ylabel 'ms'\n");
            else
                fprintf(gp, "unset logscale y\nset yrange [0:150]\nset ylabel '%s'\n", peaks[o]);
            if (!counts[o]) {
                fprintf(gp,
                        "set title '%s: no results'\nunset key\nplot [1:2] NaN notitle\nset key\n",
                        bench_op_name(ops[o]));
                continue;
            }
            fprintf(gp, "set title '%s, d = %zu'\nplot ", bench_op_name(ops[o]), max_d[o]);
            for (int s = 0; s < counts[o]; s++)
                fprintf(gp, "%s'%s' index %d using 1:%d with linespoints title '%s'", s ? ", " : "",
                        data, indexes[o][s], panel == 0 ? 2 : 3, titles[o][s]);
            fprintf(gp, "\n");
        }
    fprintf(gp, "unset multiplot\n");
    int rc = pclose(gp);
    remove(data);
    if (rc != 0) {
        fprintf(stderr, "clattn bench: gnuplot failed (status %d)\n", rc);
        return 1;
    }
    return 0;
}
