/* The rows each rank holds, without argument checks or touching the error message
 * (ring_rows.c; clattn_ring_rows_of is the checked public form). */
#ifndef CLATTN_MPI_RING_ROWS_H
#define CLATTN_MPI_RING_ROWS_H

#include "clattn_mpi.h"

void clattn__ring_rows(const clattn_ring_desc *desc, size_t rank, size_t ranks,
                       clattn_ring_rows *rows);

#endif
