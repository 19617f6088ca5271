/* Shared pieces of the clattn command-line program. */
#ifndef CLATTN_CLI_H
#define CLATTN_CLI_H

#include "clattn.h"

#include <stdbool.h>
#include <stdio.h>

/* Each subcommand: argc/argv start at the subcommand's name. Returns the exit status. */
int cmd_devices(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_scores(int argc, char **argv);
int cmd_mha(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_attend(int argc, char **argv);
/* clattn attend --mpi (cmd_attend_mpi.c, only in builds with MPI). */
int cmd_attend_mpi(int argc, char **argv);
int cmd_kernels(int argc, char **argv);
int cmd_tune(int argc, char **argv);

/* Prints "clattn: message" to stderr and returns 1. */
int cli_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Prints a failed clattn status with its detail and returns 1. */
int cli_status_error(const char *what, clattn_status status, clattn_handle *handle);

/* Matches "--name value" or "--name=value" at argv[*i]; advances *i past the value. */
bool cli_option(int argc, char **argv, int *i, const char *name, const char **value);
bool cli_parse_float(const char *text, float *out);
bool cli_parse_size(const char *text, size_t *out);

/* --dtype's values (cli_dtype.c): "f32", "f16", "bf16". */
bool cli_parse_dtype(const char *text, clattn_dtype *out);
/* If argv[*i] is --dtype or (out_f16 not NULL) --out-dtype f32|f16, parses it (advancing *i)
 * and returns 1; 0 for any other argument; -1 for a bad value (the message printed). */
int cli_dtype_option(int argc, char **argv, int *i, clattn_dtype *dtype, bool *out_f16);
/* count floats stored as dtype in a new array (*owned, *out; float32 or NULL src: *out = src,
 * nothing copied). Returns 0, or 1 after a message when out of memory. */
int cli_to_storage(clattn_dtype dtype, const float *src, size_t count, const void **out,
                   void **owned);

/* Creates a handle for --device (NULL: CLATTN_DEVICE or the default). */
int cli_open(const char *device, clattn_handle **handle);

/* clattn attend --devices (attend_multi.c): a group of handles, one per selected device. */
#define CLI_MAX_DEVICES 16
typedef struct cli_group {
    clattn_handle *handles[CLI_MAX_DEVICES];
    size_t count;
    float shares[CLI_MAX_DEVICES];
    bool has_shares;
} cli_group;
/* Opens "all" or a comma-separated list of selectors (as --device takes) and parses the
 * optional comma-separated weights (one per device). Close the group even after a failure. */
int cli_group_open(const char *devices, const char *shares, cli_group *g);
void cli_group_close(cli_group *g);
/* Reports the split (stderr) and runs clattn_attention_multi. */
int cli_group_attention(cli_group *g, const clattn_attention_desc *desc, const float *q,
                        const float *k, const float *v, const void *mask, float *o, float *lse);

/* The device type as a word ("GPU", "CPU", ...). */
const char *cli_device_type(cl_device_type type);

#endif
