# Ring attention tests under mpirun (included by tests/CMakeLists.txt when clattn_mpi is built).
# Each rank compiles its kernels on its own device; the caches (CLATTN_CACHE_DIR, PoCL's) are
# shared by the ranks, whose writes are atomic (write + rename). Open MPI refuses to run as
# root (CI does) without OMPI_ALLOW_RUN_AS_ROOT*, and -np 4 on 2 cores needs oversubscribing.
add_executable(test_ring "${CMAKE_CURRENT_LIST_DIR}/test_ring.c")
target_link_libraries(test_ring PRIVATE clattn_mpi clattn_test_common)
target_include_directories(test_ring PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}")
target_compile_options(test_ring PRIVATE ${CLATTN_WARNINGS})

set(CLATTN_MPI_TEST_ENV "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
    "OMPI_MCA_rmaps_base_oversubscribe=1")
set(clattn_mpirun "${CLATTN_MPIEXEC}" --oversubscribe)
foreach(np 2 4)
    add_test(NAME mpi_ring_np${np} COMMAND ${clattn_mpirun} -np ${np} $<TARGET_FILE:test_ring> check)
    set_tests_properties(mpi_ring_np${np} PROPERTIES TIMEOUT 120 ENVIRONMENT "${CLATTN_MPI_TEST_ENV}")
endforeach()
# A rank killed (SIGKILL) or hung mid-ring: the job ends with an error within the bound.
add_test(NAME mpi_ring_fault COMMAND sh "${CMAKE_CURRENT_LIST_DIR}/fault.sh" "${CLATTN_MPIEXEC}"
         $<TARGET_FILE:test_ring>)
set_tests_properties(mpi_ring_fault PROPERTIES TIMEOUT 120 ENVIRONMENT "${CLATTN_MPI_TEST_ENV}")
# clattn attend --mpi (whole files read at offsets, --shards, refusals) against NumPy and the
# single-device CLI; skipped (77) without NumPy.
if(TARGET clattn_cli AND clattn_python_found)
    add_test(NAME mpi_cli_attend COMMAND ${clattn_python_found}
             "${CMAKE_CURRENT_LIST_DIR}/cli_ring_check.py" $<TARGET_FILE:clattn_cli>
             "${CLATTN_MPIEXEC}")
    set_tests_properties(mpi_cli_attend PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77
                         ENVIRONMENT "${CLATTN_MPI_TEST_ENV}")
endif()
