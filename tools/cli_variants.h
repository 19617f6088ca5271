/* The model-variant options that clattn attend and clattn mha share: --softcap, --window,
 * --alibi, --sinks, --sink-keys, --dropout and --seed (one parser, one set of messages). */
#ifndef CLATTN_CLI_VARIANTS_H
#define CLATTN_CLI_VARIANTS_H

#include "clattn.h"
#include "npy.h"

#include <stddef.h>

typedef struct cli_variants {
    float softcap;
    int alibi, window;
    long window_left, window_right;
    const char *sinks; /* the [H] logits' file, or NULL */
    size_t sink_keys;
    float dropout;
    unsigned long long seed;
} cli_variants;

/* If argv[*i] is one of the options above, parses it (advancing *i past its value) and
 * returns 1; returns 0 for any other argument; -1 for a bad value (the message printed). */
int cli_variant_option(int argc, char **argv, int *i, cli_variants *v);

/* Loads the --sinks file into *sinks, which must be [heads]. Returns 0 or a cli_error code;
 * the caller frees *sinks (npy_free) either way. */
int cli_load_sinks(const char *path, size_t heads, npy_array *sinks);

/* The help lines of these options, shared by both commands. */
#define CLI_VARIANTS_HELP                                                                          \
    "--softcap C caps the scaled scores: C tanh(s / C) (before the mask). --window LEFT,RIGHT\n"   \
    "attends keys i + off - LEFT <= j <= i + off + RIGHT (-1: unbounded; off = N - M with\n"       \
    "--causal bottom-right, else 0), with --causal if given. --alibi adds ALiBi's standard\n"      \
    "slopes times (j - i - off) per query head.\n"                                                 \
    "--sinks S.npy ([H] floats) gives each query head a sink logit that joins the softmax\n"       \
    "denominator with no value (gpt-oss); compared with the scaled scores as is. --sink-keys\n"    \
    "K keeps the first K keys attended left of --window (StreamingLLM). --dropout P drops\n"       \
    "each weight with probability P (0 <= P < 1) and scales the kept ones by 1 / (1 - P),\n"       \
    "with the Philox mask of seed --seed S (default 0, offset 0; see clattn_attention_desc\n"      \
    "in clattn.h for the exact mapping).\n"

#endif
