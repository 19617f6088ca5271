/* The device's tuned table in the cache folder (tune_table.c): found by device and driver,
 * read into the handle's profile at creation, written by `clattn tune`. */
#ifndef CLATTN_OPENCL_TUNE_TABLE_H
#define CLATTN_OPENCL_TUNE_TABLE_H

#include "handle.h"

/* The table file's path for the handle's device and driver; false without a cache folder. */
bool clattn__tune_table_path(const clattn_handle *h, char *buf, size_t size);

/* Reads the device's table into h->profile.tuned, keeping only entries that fit the device
 * (clattn__attention_tuned_fits); a missing, unreadable, corrupt or foreign table leaves it
 * empty. Never fails. */
void clattn__tune_table_load(clattn_handle *h);

/* Replaces the handle's tuned values with table's entries that fit (NULL: none), so that
 * `clattn tune` can time a candidate or the defaults. Not while operations run on h. */
void clattn__tune_table_use(clattn_handle *h, const clattn_tuned_table *table);

/* Writes table for the handle's device and driver, atomically (a temporary file renamed);
 * the path into path_out. CLATTN_ERROR_INVALID_VALUE with a message when it cannot. */
clattn_status clattn__tune_table_store(const clattn_handle *h, const clattn_tuned_table *table,
                                       char *path_out, size_t path_size);

/* The handle's device profile, as the planners see it (tuned values included). */
const clattn_device_profile *clattn__handle_profile(const clattn_handle *h);

#endif
