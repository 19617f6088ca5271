/* clattn devices: every platform and device, the default marked. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cmd_devices(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: clattn devices\n\nLists every OpenCL device; '*' marks the default and\n"
               "'>' the one CLATTN_DEVICE selects, when it is set.\n");
        return 0;
    }
    if (argc > 1) return cli_error("devices takes no arguments (got '%s')", argv[1]);
    size_t count = 0;
    clattn_status status = clattn_list_devices(NULL, 0, &count);
    if (status) return cli_status_error("listing devices", status, NULL);
    if (count == 0) {
        printf("no OpenCL devices found (install an ICD, e.g. pocl-opencl-icd)\n");
        return 1;
    }
    clattn_device_info *devices = calloc(count, sizeof *devices);
    if (!devices) return cli_error("out of memory");
    if ((status = clattn_list_devices(devices, count, &count))) {
        free(devices);
        return cli_status_error("listing devices", status, NULL);
    }
    const char *env = getenv("CLATTN_DEVICE");
    clattn_device_info chosen;
    bool env_ok = env && *env && clattn_select_device(env, &chosen) == CLATTN_SUCCESS;
    cl_platform_id last = NULL;
    for (size_t i = 0; i < count; i++) {
        const clattn_device_info *d = &devices[i];
        if (d->platform != last) {
            printf("platform %u: %s\n", d->platform_index, d->platform_name);
            last = d->platform;
        }
        char mark = env_ok && chosen.index == d->index ? '>' : d->is_default ? '*' : ' ';
        printf(" %c [%u] %u:%u  %-11s %s (%s; %s)\n", mark, d->index, d->platform_index,
               d->device_index, cli_device_type(d->type), d->name, d->vendor, d->version);
    }
    printf("\n* default device");
    if (env && *env)
        printf(env_ok ? "; > selected by CLATTN_DEVICE=%s" : "; CLATTN_DEVICE=%s matches no device",
               env);
    printf("\n");
    free(devices);
    return 0;
}
