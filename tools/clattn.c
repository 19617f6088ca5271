/* clattn: the command-line program. Subcommands live in cmd_*.c. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"devices", cmd_devices, "list every OpenCL platform and device, the default marked"},
    {"demo", cmd_demo, "the seed's worked example on the default device, beside the CPU reference"},
    {"scores", cmd_scores, "one query against a matrix of embeddings: scores, weights, context"},
    {"mha", cmd_mha, "multi-head attention with projections from a layer's weights (.npy)"},
    {"bench", cmd_bench, "benchmark CPU reference, fast CPU path, OpenCL devices and peers"},
    {"attend", cmd_attend, "full attention O = norm(scale Q K^T + mask) V from .npy files"},
    {"kernels", cmd_kernels,
     "every program the planners would build and launch on a device profile"},
    {"tune", cmd_tune, "search the attention tile on a device and save the fastest per head dim"},
};

static void usage(FILE *out) {
    fprintf(out, "clattn %s - attention on OpenCL\n\nusage: clattn <command> [options]\n\n",
            clattn_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'clattn <command> --help' describes a command's options.\n"
                 "The device is chosen by --device SEL or the CLATTN_DEVICE variable: an index,\n"
                 "P:D, gpu, cpu, accelerator or a part of the device's name.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("clattn %s\n", clattn_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            int rc = commands[i].run(argc - 1, argv + 1);
            /* Results printed to a full disk or a closed pipe are lost: say so. */
            if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "clattn: writing the output failed: %s\n", strerror(errno));
                return rc ? rc : 1;
            }
            return rc;
        }
    fprintf(stderr, "clattn: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}

int cli_error(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("clattn: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    return 1;
}

int cli_status_error(const char *what, clattn_status status, clattn_handle *handle) {
    const char *detail = clattn_last_error_message();
    cli_error("%s failed: %s%s%s", what, clattn_status_string(status), *detail ? ": " : "", detail);
    if (status == CLATTN_ERROR_BUILD_FAILED && handle)
        fprintf(stderr, "build log:\n%s\n", clattn_build_log(handle));
    return 1;
}

bool cli_option(int argc, char **argv, int *i, const char *name, const char **value) {
    size_t len = strlen(name);
    if (strncmp(argv[*i], name, len) != 0) return false;
    if (argv[*i][len] == '=') {
        *value = argv[*i] + len + 1;
        return true;
    }
    if (argv[*i][len] != '\0') return false;
    if (*i + 1 >= argc) {
        *value = NULL; /* the caller reports the missing value */
        return true;
    }
    *value = argv[++*i];
    return true;
}

bool cli_parse_float(const char *text, float *out) {
    if (!text || !*text) return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (*end != '\0' || errno == ERANGE) return false;
    *out = (float)v;
    return true;
}

bool cli_parse_size(const char *text, size_t *out) {
    if (!text || *text < '0' || *text > '9') return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || errno == ERANGE) return false;
    *out = (size_t)v;
    return true;
}

int cli_open(const char *device, clattn_handle **handle) {
    clattn_options options;
    clattn_options_init(&options);
    options.device = device;
    clattn_status status = clattn_handle_create(&options, handle);
    if (status) return cli_status_error("opening the OpenCL device", status, NULL);
    return 0;
}

const char *cli_device_type(cl_device_type type) {
    if (type & CL_DEVICE_TYPE_GPU) return "GPU";
    if (type & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    if (type & CL_DEVICE_TYPE_CPU) return "CPU";
    return "other";
}
