# Installs the built project into a fresh prefix, then builds examples/ out of tree against
# it twice -- with find_package(clattn) and with pkg-config -- and runs both.
# cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... [-DC_FLAGS=...] -P install_test.cmake
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR)
    if(NOT ${var})
        message(FATAL_ERROR "${var} is not set")
    endif()
endforeach()
set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "failed (${rc}): ${ARGN}")
    endif()
endfunction()

run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
foreach(file include/clattn.h bin/clattn)
    if(NOT EXISTS "${prefix}/${file}")
        message(FATAL_ERROR "not installed: ${file}")
    endif()
endforeach()
file(GLOB_RECURSE installed RELATIVE "${prefix}" "${prefix}/*")
message(STATUS "installed: ${installed}")
foreach(pattern "libclattn\\.so\\.[0-9]+\\.[0-9]+$" "libclattn\\.a$" "clattnConfig\\.cmake$"
        "clattn\\.pc$")
    set(found ${installed})
    list(FILTER found INCLUDE REGEX "${pattern}")
    if(NOT found)
        message(FATAL_ERROR "nothing installed matches ${pattern}")
    endif()
endforeach()

# 1. CMake package, out of tree.
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples" -B "${WORK_DIR}/build"
    "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_C_FLAGS=${C_FLAGS}" -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/clattn_pipeline" 5 300 17)

# 2. pkg-config, a plain compiler command line.
find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB_RECURSE pc_files "${prefix}/*/clattn.pc")
get_filename_component(pc_dir "${pc_files}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs clattn OUTPUT_VARIABLE flags
    OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs clattn failed")
endif()
execute_process(COMMAND "${PKG_CONFIG}" --variable=libdir clattn OUTPUT_VARIABLE libdir
    OUTPUT_STRIP_TRAILING_WHITESPACE)
separate_arguments(flags UNIX_COMMAND "${flags}")
separate_arguments(c_flags UNIX_COMMAND "${C_FLAGS}")
if(NOT CC)
    set(CC cc)
endif()
run(${CC} -std=c11 ${c_flags} "${SOURCE_DIR}/examples/pipeline.c" -o "${WORK_DIR}/pipeline_pc"
    ${flags} -lm "-Wl,-rpath,${libdir}")
run("${WORK_DIR}/pipeline_pc" 3 5 1)

# 3. add_subdirectory(clattn) from a consumer project: libraries only, no tests or tools.
file(MAKE_DIRECTORY "${WORK_DIR}/consumer")
file(WRITE "${WORK_DIR}/consumer/CMakeLists.txt" "
cmake_minimum_required(VERSION 3.16)
project(consumer C)
add_subdirectory(\"${SOURCE_DIR}\" clattn)
add_executable(pipeline \"${SOURCE_DIR}/examples/pipeline.c\")
target_link_libraries(pipeline PRIVATE clattn::clattn m)
foreach(target test_seed clattn_cli clattn_pipeline bench_attention)
    if(TARGET \${target})
        message(FATAL_ERROR \"\${target} should not be built as a subproject\")
    endif()
endforeach()
")
run(${CMAKE_COMMAND} -S "${WORK_DIR}/consumer" -B "${WORK_DIR}/consumer/build"
    "-DCMAKE_C_FLAGS=${C_FLAGS}" -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/consumer/build" -j2)
run("${WORK_DIR}/consumer/build/pipeline" 33 65 8)
