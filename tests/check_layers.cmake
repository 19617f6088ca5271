# The layering rules the include paths cannot express alone:
# - host/core, host/cpu, host/reference and host/plan call no OpenCL: fails when any of their
#   object files references an OpenCL entry point (clXxx);
# - no file under host/ reaches into another folder by a relative include ("../x.h"), which
#   would get around the include paths each layer is given.
# cmake -DNM=nm -DOBJECTS="a.o;b.o" -DHOST_DIR=host -P check_layers.cmake
set(checked 0)
foreach(object ${OBJECTS})
    execute_process(COMMAND ${NM} -u ${object} OUTPUT_VARIABLE undefined RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "nm failed on ${object}")
    endif()
    string(REGEX MATCHALL "[ \n]cl[A-Z][A-Za-z]*" calls "${undefined}")
    if(calls)
        message(FATAL_ERROR "${object} calls OpenCL (${calls}): only host/opencl may")
    endif()
    math(EXPR checked "${checked} + 1")
endforeach()
message(STATUS "check_layers: ${checked} object files of core/, cpu/, reference/, plan/ call no OpenCL")

file(GLOB_RECURSE sources "${HOST_DIR}/*.c" "${HOST_DIR}/*.h")
foreach(source ${sources})
    file(STRINGS "${source}" relative REGEX "^#include \"[.][.]?/")
    if(relative)
        message(FATAL_ERROR "${source}: ${relative}: include by name; the layer's include paths say what it may see")
    endif()
endforeach()
list(LENGTH sources count)
message(STATUS "check_layers: ${count} files under host/ include by name only")
