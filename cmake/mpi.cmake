# CLATTN_WITH_MPI: AUTO builds clattn_mpi when find_package(MPI) finds a C MPI, ON requires it,
# OFF never looks. clattn_mpi is static and links the static clattn: it uses the library's
# internal merge (host/core/lse_merge.h) and error message, which the shared library hides.
string(TOUPPER "${CLATTN_WITH_MPI}" clattn_with_mpi)
if(NOT clattn_with_mpi MATCHES "^(AUTO|ON|OFF|TRUE|FALSE|YES|NO|1|0)$")
    message(FATAL_ERROR "CLATTN_WITH_MPI is AUTO, ON or OFF, not '${CLATTN_WITH_MPI}'")
endif()
set(CLATTN_HAVE_MPI OFF)
if(clattn_with_mpi STREQUAL "AUTO")
    find_package(MPI COMPONENTS C QUIET)
    if(MPI_C_FOUND)
        set(CLATTN_HAVE_MPI ON)
    endif()
elseif(clattn_with_mpi MATCHES "^(ON|TRUE|YES|1)$")
    find_package(MPI COMPONENTS C)
    if(NOT MPI_C_FOUND)
        message(FATAL_ERROR "CLATTN_WITH_MPI=ON but no MPI for C was found (Debian: "
                            "libopenmpi-dev openmpi-bin, installed by tools/setup.sh)")
    endif()
    set(CLATTN_HAVE_MPI ON)
endif()
message(STATUS "clattn: ring attention on MPI (clattn_mpi): ${CLATTN_HAVE_MPI}")

if(CLATTN_HAVE_MPI)
    add_library(clattn_mpi STATIC host/mpi/ring_rows.c host/mpi/ring_comm.c host/mpi/ring.c)
    add_library(clattn::clattn_mpi ALIAS clattn_mpi)
    target_include_directories(clattn_mpi PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/host/core"
                               "${CMAKE_CURRENT_SOURCE_DIR}/host/mpi")
    target_include_directories(clattn_mpi PUBLIC
        $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
        $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_compile_options(clattn_mpi PRIVATE ${CLATTN_WARNINGS})
    target_link_libraries(clattn_mpi PUBLIC clattn_static MPI::MPI_C PRIVATE m)
    find_program(CLATTN_MPIEXEC NAMES ${MPIEXEC_EXECUTABLE} mpiexec mpirun)
endif()

# The scaling benchmark (time per ring step, bytes sent per rank): mpirun -np R bench_ring.
if(CLATTN_HAVE_MPI AND CLATTN_BUILD_BENCH)
    add_executable(bench_ring bench/bench_ring.c)
    target_compile_options(bench_ring PRIVATE ${CLATTN_WARNINGS})
    target_link_libraries(bench_ring PRIVATE clattn_mpi)
endif()
