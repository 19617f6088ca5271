/* Status codes and the calling thread's error message (status.c). Every layer reports
 * errors through these; none of them calls OpenCL. */
#ifndef CLATTN_CORE_STATUS_H
#define CLATTN_CORE_STATUS_H

#include "clattn.h"

#include <stdbool.h>
#include <stdint.h>

/* Records a printf-style message for clattn_last_error_message() and returns status. */
clattn_status clattn__fail(clattn_status status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Clears the calling thread's message (every public entry point that succeeds calls it). */
void clattn__clear_error(void);
/* Returns status unchanged; for an OpenCL error code, records "what: CL_...". */
clattn_status clattn__cl(cl_int status, const char *what);

#endif
