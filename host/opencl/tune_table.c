/* The device's tuned table in the cache folder (tune_table.h; format: tune_file.h). One file
 * per device and driver, named by a hash of both, so that two devices never share one; the
 * names inside are still compared (a copied or renamed file is foreign). */
#include "tune_table.h"
#include "tune_file.h"
#include "cache_file.h"
#include "program_cache.h"
#include "planners.h"
#include "status.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void driver_version(const clattn_handle *h, char *buf, size_t size) {
    if (clGetDeviceInfo(h->device, CL_DRIVER_VERSION, size, buf, NULL) != CL_SUCCESS) buf[0] = '\0';
    buf[size - 1] = '\0';
}

bool clattn__tune_table_path(const clattn_handle *h, char *buf, size_t size) {
    char dir[4000], driver[256];
    if (!clattn__cache_dir(dir, sizeof dir)) return false;
    driver_version(h, driver, sizeof driver);
    uint64_t key = clattn__fnv1a(CLATTN_FNV_OFFSET, h->device_name, strlen(h->device_name) + 1);
    key = clattn__fnv1a(key, driver, strlen(driver) + 1);
    const int len = snprintf(buf, size, "%s/tune-%016llx.txt", dir, (unsigned long long)key);
    return len > 0 && (size_t)len < size;
}

void clattn__tune_table_use(clattn_handle *h, const clattn_tuned_table *table) {
    clattn_tuned_table *out = &h->profile.tuned;
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; table && i < table->count && i < CLATTN_TUNED_MAX_ENTRIES; i++)
        if (clattn__attention_tuned_fits(&h->profile, &table->entry[i]))
            clattn__tuned_put(out, &table->entry[i]);
}

void clattn__tune_table_load(clattn_handle *h) {
    memset(&h->profile.tuned, 0, sizeof h->profile.tuned);
    char path[4096], driver[256];
    long size = 0;
    if (!clattn__tune_table_path(h, path, sizeof path)) return;
    FILE *f = clattn__cache_open_regular(path, &size);
    if (!f) return;
    char *text = NULL;
    clattn_tuned_table table;
    driver_version(h, driver, sizeof driver);
    if (size > 0 && size <= CLATTN_TUNE_FILE_MAX && (text = malloc((size_t)size)) &&
        fread(text, 1, (size_t)size, f) == (size_t)size &&
        clattn__tune_file_parse(text, (size_t)size, h->device_name, driver, &table))
        clattn__tune_table_use(h, &table);
    free(text);
    fclose(f);
}

clattn_status clattn__tune_table_store(const clattn_handle *h, const clattn_tuned_table *table,
                                       char *path_out, size_t path_size) {
    char dir[4000], temp[4200], driver[256];
    static atomic_uint counter;
    if (!clattn__cache_dir(dir, sizeof dir) || !clattn__tune_table_path(h, path_out, path_size))
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE,
                            "no cache folder for the tuned table (CLATTN_CACHE_DIR, HOME)");
    driver_version(h, driver, sizeof driver);
    char *text = malloc(CLATTN_TUNE_FILE_MAX);
    if (!text) return clattn__fail(CLATTN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    const size_t length =
        clattn__tune_file_format(table, h->device_name, driver, text, CLATTN_TUNE_FILE_MAX);
    if (!length) {
        free(text);
        return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "the tuned table cannot be written");
    }
    clattn__cache_make_dirs(dir);
    snprintf(temp, sizeof temp, "%s.%ld.%u.tmp", path_out, (long)getpid(),
             atomic_fetch_add(&counter, 1));
    FILE *f = fopen(temp, "wb");
    bool ok = f && fwrite(text, 1, length, f) == length;
    if (f && fclose(f) != 0) ok = false;
    free(text);
    if (f && (!ok || rename(temp, path_out) != 0)) {
        remove(temp);
        ok = false;
    }
    if (!ok) return clattn__fail(CLATTN_ERROR_INVALID_VALUE, "cannot write %s", path_out);
    return CLATTN_SUCCESS;
}

const clattn_device_profile *clattn__handle_profile(const clattn_handle *h) {
    return &h->profile;
}
