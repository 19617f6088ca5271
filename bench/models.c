/* Model-shaped rows: the attention, linear layers and multi-head attention of real models at
 * their sizes, run on the fast CPU path, each OpenCL device and the PyTorch peer alternately
 * (one run of each per repetition, so load from other processes falls on all of them), with
 * the error of each checked against the double-precision reference on a subset (a group of
 * heads and a few rows: the reference is too slow for whole model shapes). */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Sizes as the models' configurations give them. Mistral: 7B's heads (32 / 8, D = 128) and
 * its window of 4096 scaled down with the sequence: T = 4096, window 1024, so that most key
 * blocks of a row are outside the window (the skipping matters) and a run takes about a
 * second per backend on 2 cores. */
static const bench_model models[] = {
    {"gpt2", "GPT-2 small prefill: B=1 H=12 T=1024 D=64 causal", BENCH_MODEL_ATTENTION, 1, 12, 12,
     1024, 1024, 64, 1, 0, 0, 0, 0, 0, 0},
    {"bert", "BERT-base: B=8 H=12 T=512 D=64, key padding (right-padded, 128..512 real tokens)",
     BENCH_MODEL_ATTENTION, 8, 12, 12, 512, 512, 64, 0, 0, 1, 0, 0, 0, 0},
    {"llama3-prefill", "Llama-3-8B prefill: B=1 Hq=32 Hkv=8 T=2048 D=128 causal",
     BENCH_MODEL_ATTENTION, 1, 32, 8, 2048, 2048, 128, 1, 0, 0, 0, 0, 0, 0},
    {"llama3-decode-8k", "Llama-3-8B decode: B=1 Hq=32 Hkv=8 M=1 N=8192 D=128",
     BENCH_MODEL_ATTENTION, 1, 32, 8, 1, 8192, 128, 0, 0, 0, 0, 0, 0, 0},
    {"llama3-decode-128k", "Llama-3-8B decode: B=1 Hq=32 Hkv=8 M=1 N=131072 D=128",
     BENCH_MODEL_ATTENTION, 1, 32, 8, 1, 131072, 128, 0, 0, 0, 0, 0, 0, 0},
    {"mistral", "Mistral-style: B=1 Hq=32 Hkv=8 T=4096 D=128 causal, sliding window 1024",
     BENCH_MODEL_ATTENTION, 1, 32, 8, 4096, 4096, 128, 1, 1024, 0, 0, 0, 0, 0},
    {"gpt2-qkv", "GPT-2 small c_attn: x [1024, 768] -> [1024, 2304]", BENCH_MODEL_LINEAR, 0, 0, 0,
     0, 0, 0, 0, 0, 0, 1024, 2304, 768, 0},
    {"gpt2-proj", "GPT-2 small c_proj: [1024, 768] -> [1024, 768]", BENCH_MODEL_LINEAR, 0, 0, 0, 0,
     0, 0, 0, 0, 0, 1024, 768, 768, 0},
    {"gpt2-mlp-up", "GPT-2 small mlp.c_fc: [1024, 768] -> [1024, 3072]", BENCH_MODEL_LINEAR, 0, 0,
     0, 0, 0, 0, 0, 0, 0, 1024, 3072, 768, 0},
    {"gpt2-mlp-down", "GPT-2 small mlp.c_proj: [1024, 3072] -> [1024, 768]", BENCH_MODEL_LINEAR, 0,
     0, 0, 0, 0, 0, 0, 0, 0, 1024, 768, 3072, 0},
    {"gpt2-mha", "GPT-2 small attention layer (clattn_mha_forward): B=1 T=1024 d=768 H=12 causal",
     BENCH_MODEL_MHA, 1, 12, 12, 1024, 1024, 768, 1, 0, 0, 0, 0, 0, 0},
    /* For the tests: every feature of the attention rows at a size a pure-Python peer runs. */
    {"test-tiny", "test row: B=2 Hq=4 Hkv=2 T=33 D=16 causal, window 20, key padding",
     BENCH_MODEL_ATTENTION, 2, 4, 2, 33, 33, 16, 1, 20, 1, 0, 0, 0, 1},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

const bench_model *bench_models(void) {
    return models;
}

const bench_model *bench_model_find(const char *name) {
    for (const bench_model *m = models; name && m->name; m++)
        if (strcmp(m->name, name) == 0) return m;
    return NULL;
}

size_t bench_padded_length(size_t b, size_t n) {
    /* Real lengths of a batch of 8 sentences padded to 512 (scaled for other n). */
    static const size_t of512[8] = {512, 384, 301, 447, 128, 256, 493, 215};
    const size_t len = of512[b % 8] * n / 512;
    return len ? len : 1;
}

/* Query-key pairs attended, over the batch, for one head. */
static double visible_pairs(const bench_model *m) {
    double pairs = 0;
    for (size_t b = 0; b < m->batch; b++) {
        const size_t len = m->padding ? bench_padded_length(b, m->n) : m->n;
        for (size_t i = 0; i < m->m; i++) {
            size_t hi = m->causal && i + 1 < len ? i + 1 : len;
            size_t lo = m->window && i > (size_t)m->window ? i - (size_t)m->window : 0;
            if (hi > lo) pairs += (double)(hi - lo);
        }
    }
    return pairs;
}

double bench_model_flops(const bench_model *m) {
    if (m->kind == BENCH_MODEL_LINEAR) return 2.0 * (double)m->rows * (double)m->cols * m->k;
    const double head_d = m->kind == BENCH_MODEL_MHA ? (double)(m->d / m->q_heads) : (double)m->d;
    const double attention = 4.0 * head_d * (double)m->q_heads * visible_pairs(m);
    if (m->kind == BENCH_MODEL_ATTENTION) return attention;
    return attention + 8.0 * (double)(m->batch * m->m) * (double)m->d * (double)m->d;
}

double bench_model_bytes(const bench_model *m) {
    if (m->kind == BENCH_MODEL_LINEAR)
        return 4.0 * ((double)m->rows * m->k + (double)m->cols * m->k + (double)m->cols +
                      (double)m->rows * m->cols);
    if (m->kind == BENCH_MODEL_MHA)
        return 4.0 * (2.0 * (double)(m->batch * m->m) * m->d + 4.0 * m->d * (m->d + 1.0));
    return 4.0 * (2.0 * (double)(m->batch * m->q_heads * m->m) * m->d +
                  2.0 * (double)(m->batch * m->kv_heads * m->n) * m->d) +
           (m->padding ? (double)(m->batch * m->n) : 0.0);
}

/* ---- the problem's data ----------------------------------------------------------------- */

enum { MAX_INPUTS = 9 };

typedef struct model_data {
    const bench_model *m;
    clattn_attention_desc desc;
    clattn_mha_desc mha;
    /* attention: q, k, v; linear: x, w, b; mha: x, wq, wk, wv, wo, bq, bk, bv, bo */
    float *in[MAX_INPUTS];
    size_t count[MAX_INPUTS];
    int inputs;
    unsigned char *mask; /* [B, N] key padding, 1 = attend */
    size_t out_count;
    /* The checked subset of the output: `blocks` runs of `len` floats, the first at `first`,
     * `stride` apart; want holds the reference's values in that order. */
    size_t first, len, blocks, stride;
    float *want;
} model_data;

static void fill(float *a, size_t n, uint64_t seed, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        a[i] = lo + (hi - lo) * (float)((seed >> 40) * (1.0 / 16777216.0));
    }
}

static void free_data(model_data *p) {
    for (int i = 0; i < MAX_INPUTS; i++)
        free(p->in[i]);
    free(p->mask);
    free(p->want);
}

static bool make_data(const bench_model *m, model_data *p) {
    memset(p, 0, sizeof *p);
    p->m = m;
    if (m->kind == BENCH_MODEL_ATTENTION) {
        clattn_attention_desc_init(&p->desc, m->batch, m->q_heads, m->kv_heads, m->m, m->n, m->d,
                                   m->d);
        p->desc.causal = m->causal ? CLATTN_CAUSAL_TOP_LEFT : CLATTN_CAUSAL_NONE;
        if (m->window) p->desc.window = 1, p->desc.window_left = m->window;
        p->inputs = 3;
        p->count[0] = m->batch * m->q_heads * m->m * m->d;
        p->count[1] = p->count[2] = m->batch * m->kv_heads * m->n * m->d;
        p->out_count = p->count[0];
        if (m->padding) {
            p->desc.mask_kind = CLATTN_MASK_BOOLEAN;
            p->desc.mask = (clattn_layout){0, {m->n, 0, 0}};
            if (!(p->mask = malloc(m->batch * m->n))) return false;
            for (size_t b = 0; b < m->batch; b++)
                for (size_t j = 0; j < m->n; j++)
                    p->mask[b * m->n + j] = j < bench_padded_length(b, m->n);
        }
    } else if (m->kind == BENCH_MODEL_LINEAR) {
        p->inputs = 3;
        p->count[0] = m->rows * m->k;
        p->count[1] = m->cols * m->k;
        p->count[2] = m->cols;
        p->out_count = m->rows * m->cols;
    } else {
        p->mha = (clattn_mha_desc){.batch = m->batch,
                                   .tokens = m->m,
                                   .d_in = m->d,
                                   .d_out = m->d,
                                   .heads = m->q_heads,
                                   .causal = m->causal};
        p->inputs = 9;
        p->count[0] = p->out_count = m->batch * m->m * m->d;
        for (int i = 1; i < 5; i++)
            p->count[i] = m->d * m->d, p->count[i + 4] = m->d;
    }
    /* Activations in [-1, 1]; weights scaled as a trained layer's (~1 / sqrt(fan-in)). */
    for (int i = 0; i < p->inputs; i++) {
        if (!(p->in[i] = malloc(p->count[i] * sizeof(float)))) return false;
        const bool weight = m->kind != BENCH_MODEL_ATTENTION && i > 0;
        const float r =
            weight ? 1.0f / sqrtf((float)(m->kind == BENCH_MODEL_LINEAR ? m->k : m->d)) : 1.0f;
        fill(p->in[i], p->count[i], 0x9e3779b97ull + 7919ull * (uint64_t)i, -r, r);
    }
    return true;
}

/* The reference on the checked subset: attention, the last kv head's group of query heads
 * of the last sentence, its last rows (with M = N top-left causal equals bottom-right causal
 * on a suffix of rows, so the subset is a problem of its own); linear, the last rows; MHA
 * (causal), the first tokens of sentence 0, which see nothing later. */
static clattn_status reference_subset(model_data *p) {
    const bench_model *m = p->m;
    const size_t rows = m->kind == BENCH_MODEL_LINEAR ? m->rows : m->m;
    const size_t r = rows < 16 ? rows : 16;
    if (m->kind == BENCH_MODEL_ATTENTION) {
        const size_t g = m->q_heads / m->kv_heads, bl = m->batch - 1, hkv = m->kv_heads - 1;
        const size_t h0 = hkv * g, D = m->d, M = m->m, N = m->n;
        clattn_attention_desc s;
        clattn_attention_desc_init(&s, 1, g, 1, r, N, D, D);
        s.q = (clattn_layout){((bl * m->q_heads + h0) * M + (M - r)) * D, {0, M * D, D}};
        s.k = s.v = (clattn_layout){(bl * m->kv_heads + hkv) * N * D, {0, N * D, D}};
        s.causal = m->causal ? CLATTN_CAUSAL_BOTTOM_RIGHT : CLATTN_CAUSAL_NONE;
        s.window = p->desc.window, s.window_left = p->desc.window_left;
        s.mask_kind = p->desc.mask_kind;
        s.mask = (clattn_layout){bl * N, {0, 0, 0}};
        p->first = ((bl * m->q_heads + h0) * M + (M - r)) * D;
        p->len = r * D, p->blocks = g, p->stride = M * D;
        if (!(p->want = malloc(g * r * D * sizeof(float)))) return CLATTN_ERROR_OUT_OF_HOST_MEMORY;
        return clattn_ref_attention(&s, p->in[0], p->in[1], p->in[2], p->mask, p->want, NULL);
    }
    if (m->kind == BENCH_MODEL_LINEAR) {
        p->first = (m->rows - r) * m->cols, p->len = r * m->cols, p->blocks = 1, p->stride = 0;
        if (!(p->want = malloc(p->len * sizeof(float)))) return CLATTN_ERROR_OUT_OF_HOST_MEMORY;
        return clattn_ref_linear(r, m->cols, m->k, p->in[0] + (m->rows - r) * m->k, p->in[1],
                                 p->in[2], p->want);
    }
    clattn_mha_desc s = p->mha;
    s.batch = 1, s.tokens = r;
    const clattn_mha_weights w = {p->in[1], p->in[2], p->in[3], p->in[4], p->in[5],
                                  p->in[6], p->in[7], p->in[8], NULL};
    p->first = 0, p->len = r * m->d, p->blocks = 1, p->stride = 0;
    if (!(p->want = malloc(p->len * sizeof(float)))) return CLATTN_ERROR_OUT_OF_HOST_MEMORY;
    return clattn_ref_mha_forward(&s, &w, p->in[0], p->want);
}

static double subset_error(const model_data *p, const float *out) {
    double worst = 0.0;
    for (size_t b = 0; b < p->blocks; b++) {
        const double e =
            bench_max_abs_diff(out + p->first + b * p->stride, p->want + b * p->len, p->len);
        if (e > worst || isnan(e)) worst = e;
    }
    return worst;
}

/* ---- the backends ------------------------------------------------------------------------ */

static clattn_status run_cpu(const model_data *p, float *out) {
    const bench_model *m = p->m;
    if (m->kind == BENCH_MODEL_ATTENTION)
        return clattn_cpu_attention(&p->desc, p->in[0], p->in[1], p->in[2], p->mask, out, NULL);
    if (m->kind == BENCH_MODEL_LINEAR)
        return clattn_cpu_linear(m->rows, m->cols, m->k, p->in[0], p->in[1], p->in[2], out);
    const clattn_mha_weights w = {p->in[1], p->in[2], p->in[3], p->in[4], p->in[5],
                                  p->in[6], p->in[7], p->in[8], NULL};
    return clattn_cpu_mha_forward(&p->mha, &w, p->in[0], out);
}

typedef struct device_job {
    const model_data *p;
    cl_mem in[MAX_INPUTS], mask, out;
} device_job;

static clattn_status enqueue_model(const void *ctx, clattn_handle *h, cl_command_queue queue,
                                   cl_uint waits, const cl_event *wait, cl_event *done) {
    const device_job *j = ctx;
    const bench_model *m = j->p->m;
    if (m->kind == BENCH_MODEL_ATTENTION)
        return clattn_enqueue_attention(h, queue, &j->p->desc, j->in[0], j->in[1], j->in[2],
                                        j->mask, j->out, NULL, waits, wait, done);
    if (m->kind == BENCH_MODEL_LINEAR)
        return clattn_enqueue_linear(h, queue, m->rows, m->cols, m->k, j->in[0], 0, m->k, j->in[1],
                                     0, m->k, j->in[2], 0, j->out, 0, m->cols, waits, wait, done);
    const clattn_mha_buffers w = {j->in[1], j->in[2], j->in[3], j->in[4], j->in[5],
                                  j->in[6], j->in[7], j->in[8], NULL};
    return clattn_enqueue_mha_forward(h, queue, &j->p->mha, &w, j->in[0], j->out, waits, wait,
                                      done);
}

static clattn_status upload(clattn_handle *h, const model_data *p, device_job *j) {
    cl_context ctx = clattn_handle_context(h);
    cl_int err = CL_SUCCESS;
    memset(j, 0, sizeof *j);
    j->p = p;
    for (int i = 0; i < p->inputs && !err; i++)
        j->in[i] = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                  p->count[i] * sizeof(float), p->in[i], &err);
    if (!err && p->mask)
        j->mask = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                 p->m->batch * p->m->n, p->mask, &err);
    if (!err)
        j->out = clCreateBuffer(ctx, CL_MEM_READ_WRITE, p->out_count * sizeof(float), NULL, &err);
    return err;
}

static void release(device_job *j) {
    for (int i = 0; i < MAX_INPUTS; i++)
        if (j->in[i]) clReleaseMemObject(j->in[i]);
    if (j->mask) clReleaseMemObject(j->mask);
    if (j->out) clReleaseMemObject(j->out);
}

/* The torch peer's inputs: raw float32 files (uint8 for the mask) in a temporary folder. */
typedef struct torch_files {
    char dir[256];
    int count;
    char names[MAX_INPUTS + 2][300];
} torch_files;

static bool write_file(torch_files *f, const char *name, const void *data, size_t bytes) {
    char *path = f->names[f->count++];
    char dir[sizeof f->dir];
    memcpy(dir, f->dir, sizeof dir);
    snprintf(path, sizeof f->names[0], "%s/%s", dir, name);
    FILE *out = fopen(path, "wb");
    const bool ok = out && fwrite(data, 1, bytes, out) == bytes;
    if (out && fclose(out)) return false;
    return ok;
}

static void remove_files(torch_files *f) {
    for (int i = 0; i < f->count; i++)
        unlink(f->names[i]);
    if (f->dir[0]) rmdir(f->dir);
}

/* Sends the problem to the peer; returns its description line or NULL. */
static const char *torch_setup(bench_torch *t, const model_data *p, torch_files *f) {
    static const char *const names[MAX_INPUTS] = {"x",  "wq", "wk", "wv", "wo",
                                                  "bq", "bk", "bv", "bo"};
    static const char *const attention_names[3] = {"q", "k", "v"};
    static const char *const linear_names[3] = {"x", "w", "b"};
    const bench_model *m = p->m;
    const char *tmp = getenv("TMPDIR");
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/clattn-torch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        f->dir[0] = '\0';
        fprintf(stderr, "clattn bench: cannot make a folder for the torch peer's inputs\n");
        return NULL;
    }
    for (int i = 0; i < p->inputs; i++) {
        const char *name = m->kind == BENCH_MODEL_ATTENTION ? attention_names[i]
                           : m->kind == BENCH_MODEL_LINEAR  ? linear_names[i]
                                                            : names[i];
        char file[16];
        snprintf(file, sizeof file, "%s.bin", name);
        if (!write_file(f, file, p->in[i], p->count[i] * sizeof(float))) goto fail;
    }
    if (p->mask && !write_file(f, "mask.bin", p->mask, m->batch * m->n)) goto fail;
    char dir[sizeof f->dir];
    memcpy(dir, f->dir, sizeof dir);
    snprintf(f->names[f->count++], sizeof f->names[0], "%s/o.bin", dir); /* the peer's */
    char request[512];
    if (m->kind == BENCH_MODEL_ATTENTION)
        snprintf(request, sizeof request, "attention %s %zu %zu %zu %zu %zu %zu %d %ld %d", f->dir,
                 m->batch, m->q_heads, m->kv_heads, m->m, m->n, m->d, m->causal, m->window,
                 m->padding);
    else if (m->kind == BENCH_MODEL_LINEAR)
        snprintf(request, sizeof request, "linear %s %zu %zu %zu", f->dir, m->rows, m->cols, m->k);
    else
        snprintf(request, sizeof request, "mha %s %zu %zu %zu %zu %d", f->dir, m->batch, m->m, m->d,
                 m->q_heads, m->causal);
    return bench_torch_request(t, request);
fail:
    fprintf(stderr, "clattn bench: writing the torch peer's inputs to %s failed\n", f->dir);
    return NULL;
}

static bool torch_output(bench_torch *t, const torch_files *f, float *out, size_t count) {
    if (!bench_torch_request(t, "save")) return false;
    FILE *in = fopen(f->names[f->count - 1], "rb");
    const bool ok = in && fread(out, sizeof *out, count, in) == count;
    if (in) fclose(in);
    if (!ok) fprintf(stderr, "clattn bench: reading the torch peer's output failed\n");
    return ok;
}

/* ---- one row ----------------------------------------------------------------------------- */

enum { MAX_BACKENDS = BENCH_MAX_DEVICES + 2, MAX_REPS = 64 };

typedef struct backend_times {
    double ms[MAX_REPS], fraction[MAX_REPS];
} backend_times;

int bench_run_model(const bench_config *cfg, const bench_model *m, bench_results *results) {
    model_data p;
    device_job jobs[BENCH_MAX_DEVICES];
    torch_files files = {{0}, 0, {{0}}};
    backend_times *times = calloc(MAX_BACKENDS, sizeof *times);
    float *out = NULL;
    int rc = 1;
    size_t devices = (cfg->backends & BACKEND_OPENCL) ? cfg->device_count : 0;
    const bool cpu = cfg->backends & BACKEND_CPU;
    bench_torch *torch = (cfg->backends & BACKEND_TORCH) ? cfg->torch : NULL;
    memset(jobs, 0, sizeof jobs);
    memset(&p, 0, sizeof p);
    if (!times || !make_data(m, &p) || !(out = malloc(p.out_count * sizeof *out))) {
        fprintf(stderr, "clattn bench: out of memory for %s\n", m->name);
        goto done;
    }
    clattn_status st = reference_subset(&p);
    for (size_t d = 0; !st && d < devices; d++)
        st = upload(cfg->devices[d].handle, &p, &jobs[d]);
    if (st) {
        fprintf(stderr, "clattn bench: %s: %s: %s\n", m->name, clattn_status_string(st),
                clattn_last_error_message());
        goto done;
    }
    const char *torch_about = NULL;
    if (torch && !(torch_about = torch_setup(torch, &p, &files))) goto done;
    char torch_detail[96] = "";
    if (torch) snprintf(torch_detail, sizeof torch_detail, "%s", torch_about);
    /* The FMA probe of a CPU device runs after each repetition: the fraction of the peak
     * each backend reached is taken against the probe run beside it. */
    const bench_device *probe = NULL;
    for (size_t d = 0; d < cfg->device_count; d++)
        if (strcmp(cfg->devices[d].type, "CPU") == 0) probe = &cfg->devices[d];
    const bool bandwidth_bound = m->kind == BENCH_MODEL_ATTENTION && m->m == 1;
    const double flops = bench_model_flops(m), bytes = bench_model_bytes(m);
    int reps = cfg->reps > MAX_REPS ? MAX_REPS : cfg->reps;
    const double started = bench_now();
    for (int rep = -1; rep < reps; rep++) { /* rep -1 warms up (builds, caches) */
        /* A slow row (a loaded machine, a big shape) gets fewer repetitions, at least 3:
         * about half a minute in all. */
        if (rep == 0) {
            const double warm_up = bench_now() - started, budget = 30.0;
            if (warm_up * reps > budget) reps = warm_up * 3 > budget ? 3 : (int)(budget / warm_up);
        }
        double ms[MAX_BACKENDS];
        for (size_t b = 0; b < MAX_BACKENDS; b++)
            ms[b] = NAN;
        if (cpu) {
            const double t0 = bench_now();
            if ((st = run_cpu(&p, out))) break;
            ms[0] = (bench_now() - t0) * 1e3;
        }
        for (size_t d = 0; d < devices; d++)
            if ((st = bench_device_time(cfg->devices[d].handle, enqueue_model, &jobs[d],
                                        &ms[1 + d])))
                break;
        if (st) break;
        if (torch) {
            const char *reply = bench_torch_request(torch, "run");
            if (!reply) goto done;
            ms[MAX_BACKENDS - 1] = atof(reply);
        }
        const double peak = bandwidth_bound ? (probe ? probe->bandwidth_gbps : cfg->host_gbps)
                            : probe         ? bench_fma_gflops(probe)
                                            : cfg->host_gflops;
        if (rep < 0) continue;
        for (size_t b = 0; b < MAX_BACKENDS; b++) {
            times[b].ms[rep] = ms[b];
            const double rate = (bandwidth_bound ? bytes : flops) / (ms[b] * 1e-3) * 1e-9;
            times[b].fraction[rep] = rate / peak;
        }
    }
    if (st) {
        fprintf(stderr, "clattn bench: %s: %s: %s\n", m->name, clattn_status_string(st),
                clattn_last_error_message());
        goto done;
    }
    const double host_err = cpu ? subset_error(&p, out) : NAN; /* out: the cpu path's last run */
    for (size_t b = 0; b < MAX_BACKENDS; b++) {
        const bool is_device = b >= 1 && b <= devices, is_torch = b == MAX_BACKENDS - 1;
        if (!(b == 0 && cpu) && !is_device && !(is_torch && torch)) continue;
        bench_result r;
        memset(&r, 0, sizeof r);
        r.shape = (bench_shape){BENCH_MODEL, m->batch,           m->q_heads, m->m,
                                m->n,        m->d ? m->d : m->k, m->causal};
        r.model = m->name;
        r.backend = b == 0 ? "cpu" : is_torch ? "torch" : "opencl";
        if (is_device)
            snprintf(r.device, sizeof r.device, "%s", cfg->devices[b - 1].name);
        else
            snprintf(r.device, sizeof r.device, "host CPU (%u thread%s)", clattn_cpu_threads(),
                     clattn_cpu_threads() == 1 ? "" : "s");
        r.reps = reps;
        r.min_ms = bench_min(times[b].ms, reps);
        r.median_ms = bench_median(times[b].ms, reps);
        r.device_ms = is_device ? r.median_ms : NAN;
        r.norm_ms = r.cpu_ms = r.stream_fraction = NAN;
        r.gflops = flops / (r.median_ms * 1e-3) * 1e-9;
        r.gbps = bytes / (r.median_ms * 1e-3) * 1e-9;
        r.peak_fraction = bench_median(times[b].fraction, reps);
        r.fma_fraction = bandwidth_bound ? NAN : r.peak_fraction;
        r.err_vs = "ref (subset)";
        if (b == 0) {
            r.max_abs_err = host_err;
            snprintf(r.detail, sizeof r.detail, "clattn_cpu_*");
        } else if (is_device) {
            const bench_device *dev = &cfg->devices[b - 1];
            st = clEnqueueReadBuffer(clattn_handle_queue(dev->handle), jobs[b - 1].out, CL_TRUE, 0,
                                     p.out_count * sizeof *out, out, 0, NULL, NULL);
            r.max_abs_err = st ? NAN : subset_error(&p, out);
            snprintf(r.detail, sizeof r.detail, "%s kernels",
                     clattn_handle_variant(dev->handle) == CLATTN_VARIANT_CPU ? "CPU-shaped"
                                                                              : "GPU-shaped");
        } else {
            if (!torch_output(torch, &files, out, p.out_count)) goto done;
            r.max_abs_err = subset_error(&p, out);
            snprintf(r.detail, sizeof r.detail, "%s", torch_detail);
        }
        if (!bench_results_add(results, &r)) goto done;
    }
    rc = 0;
done:
    if (torch && files.dir[0]) bench_torch_request(torch, "free");
    remove_files(&files);
    for (size_t d = 0; d < devices; d++)
        release(&jobs[d]);
    free(out);
    free(times);
    free_data(&p);
    return rc;
}
