# The layers below the OpenCL one (host/core, host/cpu, host/reference) must not call OpenCL:
set(checked 0)
# fails when any of their object files references an OpenCL entry point (clXxx).
# cmake -DNM=nm -DOBJECTS="a.o;b.o" -P check_layers.cmake
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
message(STATUS "check_layers: ${checked} object files of core/, cpu/, reference/ call no OpenCL")
