/* Device discovery and selection: the "device" selector and CLATTN_DEVICE. */
#include "status.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLATFORMS            16
#define MAX_DEVICES_PER_PLATFORM 64

static void get_string(cl_int (*query)(void *, cl_uint, size_t, void *, size_t *), void *object,
                       cl_uint what, char *out, size_t size) {
    out[0] = '\0';
    if (query(object, what, size, out, NULL) != CL_SUCCESS) out[0] = '\0';
    out[size - 1] = '\0';
}

static cl_int device_query(void *d, cl_uint what, size_t size, void *out, size_t *ret) {
    return clGetDeviceInfo((cl_device_id)d, what, size, out, ret);
}

static cl_int platform_query(void *p, cl_uint what, size_t size, void *out, size_t *ret) {
    return clGetPlatformInfo((cl_platform_id)p, what, size, out, ret);
}

/* Rank for the default choice: GPU first, then accelerator, then CPU, then anything. */
static int type_rank(cl_device_type type) {
    if (type & CL_DEVICE_TYPE_GPU) return 0;
    if (type & CL_DEVICE_TYPE_ACCELERATOR) return 1;
    if (type & CL_DEVICE_TYPE_CPU) return 2;
    return 3;
}

clattn_status clattn_list_devices(clattn_device_info *devices, size_t capacity, size_t *count) {
    if (!count || (capacity > 0 && !devices))
        return clattn__fail(CLATTN_ERROR_NULL_POINTER, "clattn_list_devices: NULL pointer");
    *count = 0;
    cl_platform_id platforms[MAX_PLATFORMS];
    cl_uint num_platforms = 0;
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, platforms, &num_platforms);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && num_platforms == 0))
        return clattn__clear_error(), CLATTN_SUCCESS;
    if (err != CL_SUCCESS) return clattn__cl(err, "clGetPlatformIDs");
    if (num_platforms > MAX_PLATFORMS) num_platforms = MAX_PLATFORMS;

    size_t total = 0, best = SIZE_MAX;
    int best_rank = 4;
    for (cl_uint p = 0; p < num_platforms; p++) {
        cl_device_id ids[MAX_DEVICES_PER_PLATFORM];
        cl_uint num = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES_PER_PLATFORM, ids, &num) !=
            CL_SUCCESS)
            continue;
        if (num > MAX_DEVICES_PER_PLATFORM) num = MAX_DEVICES_PER_PLATFORM;
        for (cl_uint i = 0; i < num; i++, total++) {
            cl_device_type type = 0;
            clGetDeviceInfo(ids[i], CL_DEVICE_TYPE, sizeof type, &type, NULL);
            if (type_rank(type) < best_rank) {
                best_rank = type_rank(type);
                best = total;
            }
            if (total >= capacity) continue;
            clattn_device_info *info = &devices[total];
            memset(info, 0, sizeof *info);
            info->index = (unsigned)total;
            info->platform_index = p;
            info->device_index = i;
            info->platform = platforms[p];
            info->device = ids[i];
            info->type = type;
            get_string(device_query, ids[i], CL_DEVICE_NAME, info->name, sizeof info->name);
            get_string(device_query, ids[i], CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
            get_string(device_query, ids[i], CL_DEVICE_VERSION, info->version,
                       sizeof info->version);
            get_string(platform_query, platforms[p], CL_PLATFORM_NAME, info->platform_name,
                       sizeof info->platform_name);
        }
    }
    if (best < capacity) devices[best].is_default = 1;
    *count = total;
    clattn__clear_error();
    return CLATTN_SUCCESS;
}

static bool contains_ignoring_case(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    for (; *haystack; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return true;
    }
    return n == 0;
}

static bool parse_index(const char *s, unsigned long *out) {
    if (!isdigit((unsigned char)*s)) return false;
    char *end = NULL;
    *out = strtoul(s, &end, 10);
    return *end == '\0';
}

static bool matches(const clattn_device_info *info, const char *selector) {
    unsigned long a, b;
    const char *colon = strchr(selector, ':');
    if (parse_index(selector, &a)) return info->index == a;
    if (colon && colon != selector) {
        char first[32];
        size_t len = (size_t)(colon - selector);
        if (len < sizeof first) {
            memcpy(first, selector, len);
            first[len] = '\0';
            if (parse_index(first, &a) && parse_index(colon + 1, &b))
                return info->platform_index == a && info->device_index == b;
        }
    }
    if (strcmp(selector, "default") == 0) return info->is_default;
    if (strcmp(selector, "gpu") == 0) return (info->type & CL_DEVICE_TYPE_GPU) != 0;
    if (strcmp(selector, "cpu") == 0) return (info->type & CL_DEVICE_TYPE_CPU) != 0;
    if (strcmp(selector, "accelerator") == 0) return (info->type & CL_DEVICE_TYPE_ACCELERATOR) != 0;
    return contains_ignoring_case(info->name, selector) ||
           contains_ignoring_case(info->vendor, selector) ||
           contains_ignoring_case(info->platform_name, selector);
}

clattn_status clattn_select_device(const char *selector, clattn_device_info *info) {
    if (!info) return clattn__fail(CLATTN_ERROR_NULL_POINTER, "clattn_select_device: info is NULL");
    if (!selector || !*selector) selector = getenv("CLATTN_DEVICE");
    if (!selector || !*selector) selector = "default";

    enum { CAPACITY = MAX_PLATFORMS * 4 };
    clattn_device_info all[CAPACITY];
    size_t count = 0;
    clattn_status status = clattn_list_devices(all, CAPACITY, &count);
    if (status != CLATTN_SUCCESS) return status;
    if (count == 0)
        return clattn__fail(CLATTN_ERROR_DEVICE_NOT_FOUND,
                            "no OpenCL device found (is an ICD such as PoCL installed?)");
    if (count > CAPACITY) count = CAPACITY;
    for (size_t i = 0; i < count; i++) {
        if (matches(&all[i], selector)) {
            *info = all[i];
            clattn__clear_error();
            return CLATTN_SUCCESS;
        }
    }
    return clattn__fail(CLATTN_ERROR_DEVICE_NOT_FOUND,
                        "no OpenCL device matches \"%s\" (%zu device%s: see 'clattn devices')",
                        selector, count, count == 1 ? "" : "s");
}
