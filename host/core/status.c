/* Status codes to strings, and the per-thread message of the last failure. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[512];

clattn_status clattn__fail(clattn_status status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(last_message, sizeof last_message, format, args);
    va_end(args);
    return status;
}

void clattn__clear_error(void) {
    last_message[0] = '\0';
}

clattn_status clattn__cl(cl_int status, const char *what) {
    if (status != CL_SUCCESS) clattn__fail(status, "%s: %s", what, clattn_status_string(status));
    return status;
}

const char *clattn_last_error_message(void) {
    return last_message;
}

const char *clattn_version(void) {
    return CLATTN_VERSION_STRING;
}

#define NAME(code)                                                                                 \
    case code:                                                                                     \
        return #code

const char *clattn_status_string(clattn_status status) {
    switch (status) {
        NAME(CLATTN_SUCCESS);
        NAME(CLATTN_ERROR_NULL_POINTER);
        NAME(CLATTN_ERROR_INVALID_SIZE);
        NAME(CLATTN_ERROR_SIZE_OVERFLOW);
        NAME(CLATTN_ERROR_BUFFER_TOO_SMALL);
        NAME(CLATTN_ERROR_INVALID_VALUE);
        NAME(CLATTN_ERROR_DEVICE_NOT_FOUND);
        NAME(CLATTN_ERROR_BUILD_FAILED);
        NAME(CLATTN_ERROR_OUT_OF_HOST_MEMORY);
        NAME(CLATTN_ERROR_UNSUPPORTED);
        NAME(CLATTN_ERROR_INVALID_SHAPE);
        NAME(CLATTN_ERROR_INVALID_HANDLE);
        NAME(CLATTN_ERROR_INTERNAL);
        NAME(CLATTN_ERROR_COMMUNICATION);
        NAME(CL_DEVICE_NOT_FOUND);
        NAME(CL_DEVICE_NOT_AVAILABLE);
        NAME(CL_COMPILER_NOT_AVAILABLE);
        NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE);
        NAME(CL_OUT_OF_RESOURCES);
        NAME(CL_OUT_OF_HOST_MEMORY);
        NAME(CL_PROFILING_INFO_NOT_AVAILABLE);
        NAME(CL_MEM_COPY_OVERLAP);
        NAME(CL_IMAGE_FORMAT_MISMATCH);
        NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED);
        NAME(CL_BUILD_PROGRAM_FAILURE);
        NAME(CL_MAP_FAILURE);
        NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET);
        NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
        NAME(CL_COMPILE_PROGRAM_FAILURE);
        NAME(CL_LINKER_NOT_AVAILABLE);
        NAME(CL_LINK_PROGRAM_FAILURE);
        NAME(CL_DEVICE_PARTITION_FAILED);
        NAME(CL_KERNEL_ARG_INFO_NOT_AVAILABLE);
        NAME(CL_INVALID_VALUE);
        NAME(CL_INVALID_DEVICE_TYPE);
        NAME(CL_INVALID_PLATFORM);
        NAME(CL_INVALID_DEVICE);
        NAME(CL_INVALID_CONTEXT);
        NAME(CL_INVALID_QUEUE_PROPERTIES);
        NAME(CL_INVALID_COMMAND_QUEUE);
        NAME(CL_INVALID_HOST_PTR);
        NAME(CL_INVALID_MEM_OBJECT);
        NAME(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
        NAME(CL_INVALID_IMAGE_SIZE);
        NAME(CL_INVALID_SAMPLER);
        NAME(CL_INVALID_BINARY);
        NAME(CL_INVALID_BUILD_OPTIONS);
        NAME(CL_INVALID_PROGRAM);
        NAME(CL_INVALID_PROGRAM_EXECUTABLE);
        NAME(CL_INVALID_KERNEL_NAME);
        NAME(CL_INVALID_KERNEL_DEFINITION);
        NAME(CL_INVALID_KERNEL);
        NAME(CL_INVALID_ARG_INDEX);
        NAME(CL_INVALID_ARG_VALUE);
        NAME(CL_INVALID_ARG_SIZE);
        NAME(CL_INVALID_KERNEL_ARGS);
        NAME(CL_INVALID_WORK_DIMENSION);
        NAME(CL_INVALID_WORK_GROUP_SIZE);
        NAME(CL_INVALID_WORK_ITEM_SIZE);
        NAME(CL_INVALID_GLOBAL_OFFSET);
        NAME(CL_INVALID_EVENT_WAIT_LIST);
        NAME(CL_INVALID_EVENT);
        NAME(CL_INVALID_OPERATION);
        NAME(CL_INVALID_GL_OBJECT);
        NAME(CL_INVALID_BUFFER_SIZE);
        NAME(CL_INVALID_MIP_LEVEL);
        NAME(CL_INVALID_GLOBAL_WORK_SIZE);
        NAME(CL_INVALID_PROPERTY);
        NAME(CL_INVALID_IMAGE_DESCRIPTOR);
        NAME(CL_INVALID_COMPILER_OPTIONS);
        NAME(CL_INVALID_LINKER_OPTIONS);
        NAME(CL_INVALID_DEVICE_PARTITION_COUNT);
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "unknown status";
    }
}
