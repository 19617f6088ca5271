# clattn bench: the harness in bench/ and tools/cmd_bench.c, built into the clattn program.
# Peers (CLBlast, OpenBLAS) are linked into this program only, never into the library, and
# only when found.
option(CLATTN_BENCH_PEERS "clattn bench: compare with CLBlast and OpenBLAS when found" ON)
target_sources(clattn_cli PRIVATE tools/cmd_bench.c bench/run.c bench/output.c bench/timing.c
    bench/launch_count.c bench/stream.c bench/peers_clblast.c bench/peers_openblas.c)
target_include_directories(clattn_cli PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/bench"
    "${CMAKE_CURRENT_SOURCE_DIR}/tools")
target_link_libraries(clattn_cli PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
if(CLATTN_BENCH_PEERS)
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
        pkg_check_modules(CLATTN_CLBLAST QUIET IMPORTED_TARGET clblast)
        pkg_check_modules(CLATTN_OPENBLAS QUIET IMPORTED_TARGET openblas)
    endif()
    if(CLATTN_CLBLAST_FOUND)
        target_compile_definitions(clattn_cli PRIVATE CLATTN_HAVE_CLBLAST)
        target_link_libraries(clattn_cli PRIVATE PkgConfig::CLATTN_CLBLAST)
    endif()
    if(CLATTN_OPENBLAS_FOUND)
        target_compile_definitions(clattn_cli PRIVATE CLATTN_HAVE_OPENBLAS)
        target_link_libraries(clattn_cli PRIVATE PkgConfig::CLATTN_OPENBLAS)
    endif()
    message(STATUS "clattn bench peers: CLBlast ${CLATTN_CLBLAST_FOUND}, OpenBLAS ${CLATTN_OPENBLAS_FOUND}")
endif()
