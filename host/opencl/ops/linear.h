/* Internal entry of the linear layer (linear.c), for the operations built on it. */
#ifndef CLATTN_GEMM_H
#define CLATTN_GEMM_H

#include "clattn.h"

#include <stdbool.h>
#include <stdint.h>

/* y = x W^T + bias on the device; see clattn_enqueue_linear_ex in clattn.h. bias may be
 * NULL, dtypes too (all float32). Does not clear the thread's error message on success
 * (callers do). */
clattn_status clattn__enqueue_linear(clattn_handle *h, cl_command_queue queue, size_t rows,
                                     size_t cols, size_t k, cl_mem x, size_t x_offset, size_t ldx,
                                     cl_mem w, size_t w_offset, size_t ldw, cl_mem bias,
                                     size_t bias_offset, cl_mem y, size_t y_offset, size_t ldy,
                                     const clattn_linear_dtypes *dtypes, cl_uint num_wait,
                                     const cl_event *wait, cl_event *done);

#endif
