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

/* Prints "clattn: message" to stderr and returns 1. */
int cli_error(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Prints a failed clattn status with its detail and returns 1. */
int cli_status_error(const char *what, clattn_status status, clattn_handle *handle);

/* Matches "--name value" or "--name=value" at argv[*i]; advances *i past the value. */
bool cli_option(int argc, char **argv, int *i, const char *name, const char **value);
bool cli_parse_float(const char *text, float *out);
bool cli_parse_size(const char *text, size_t *out);

/* Creates a handle for --device (NULL: CLATTN_DEVICE or the default). */
int cli_open(const char *device, clattn_handle **handle);

/* The device type as a word ("GPU", "CPU", ...). */
const char *cli_device_type(cl_device_type type);

#endif
