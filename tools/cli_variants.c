/* The model-variant options of clattn attend and clattn mha. */
#include "cli_variants.h"
#include "cli.h"
#include "matrix_io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --window LEFT,RIGHT: each >= 0 or -1. */
static int parse_window(const char *v, cli_variants *a) {
    char *end = NULL;
    errno = 0;
    a->window_left = v ? strtol(v, &end, 10) : 0;
    const bool comma = v && end != v && *end == ',';
    const char *right = comma ? end + 1 : NULL;
    a->window_right = comma ? strtol(right, &end, 10) : 0;
    if (!comma || end == right || *end || errno || a->window_left < -1 || a->window_right < -1) {
        cli_error("--window needs LEFT,RIGHT (each >= 0, or -1 for unbounded), got '%s'",
                  v ? v : "");
        return -1;
    }
    a->window = 1;
    return 1;
}

int cli_variant_option(int argc, char **argv, int *i, cli_variants *a) {
    const char *v = NULL;
    if (strcmp(argv[*i], "--alibi") == 0) {
        a->alibi = 1;
    } else if (cli_option(argc, argv, i, "--softcap", &v)) {
        if (!cli_parse_float(v, &a->softcap) || !(a->softcap > 0.0f) || isinf(a->softcap)) {
            cli_error("--softcap needs a positive number, got '%s'", v ? v : "");
            return -1;
        }
    } else if (cli_option(argc, argv, i, "--window", &v)) {
        return parse_window(v, a);
    } else if (cli_option(argc, argv, i, "--sinks", &v)) {
        if (!(a->sinks = v)) {
            cli_error("--sinks needs a value");
            return -1;
        }
    } else if (cli_option(argc, argv, i, "--sink-keys", &v)) {
        if (!cli_parse_size(v, &a->sink_keys)) {
            cli_error("--sink-keys needs a count, got '%s'", v ? v : "");
            return -1;
        }
    } else if (cli_option(argc, argv, i, "--dropout", &v)) {
        if (!cli_parse_float(v, &a->dropout) || !(a->dropout >= 0.0f && a->dropout < 1.0f)) {
            cli_error("--dropout needs a probability 0 <= P < 1, got '%s'", v ? v : "");
            return -1;
        }
    } else if (cli_option(argc, argv, i, "--seed", &v)) {
        char *end = NULL;
        errno = 0;
        a->seed = v && *v != '-' ? strtoull(v, &end, 0) : 0;
        if (!v || end == v || *end || errno) {
            cli_error("--seed needs an unsigned 64-bit integer, got '%s'", v ? v : "");
            return -1;
        }
    } else {
        return 0;
    }
    return 1;
}

int cli_load_sinks(const char *path, size_t heads, npy_array *sinks) {
    char error[512];
    if (!load_array(path, sinks, error, sizeof error)) return cli_error("%s", error);
    if (sinks->ndim != 1 || sinks->shape[0] != heads)
        return cli_error("--sinks must be [H] = [%zu]", heads);
    return 0;
}
