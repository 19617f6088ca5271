# The benchmark harness in bench/ as its own static library, clattn_bench, which the clattn
# program links for `clattn bench` (tools/cmd_bench.c); bench/ includes nothing of tools/.
# Peers (CLBlast, OpenBLAS) are linked into this library only (and so into what links it),
# never into clattn itself, and only when found. With CLATTN_BUILD_BENCH, the stand-alone
# benchmark programs too.
option(CLATTN_BENCH_PEERS "clattn bench: compare with CLBlast and OpenBLAS when found" ON)
add_library(clattn_bench STATIC bench/run.c bench/output.c bench/timing.c bench/compare.c
    bench/launch_count.c bench/stream.c bench/peers_clblast.c bench/peers_openblas.c
    bench/models.c bench/device_time.c bench/peer_torch.c)
target_include_directories(clattn_bench PUBLIC "${CMAKE_CURRENT_SOURCE_DIR}/bench")
target_compile_options(clattn_bench PRIVATE ${CLATTN_WARNINGS})
target_compile_definitions(clattn_bench PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(clattn_bench PUBLIC clattn_static PRIVATE ${CMAKE_DL_LIBS} Threads::Threads m)
if(CLATTN_BENCH_PEERS)
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
        pkg_check_modules(CLATTN_CLBLAST QUIET IMPORTED_TARGET clblast)
        pkg_check_modules(CLATTN_OPENBLAS QUIET IMPORTED_TARGET openblas)
    endif()
    if(CLATTN_CLBLAST_FOUND)
        set_source_files_properties(bench/peers_clblast.c PROPERTIES
            COMPILE_DEFINITIONS CLATTN_HAVE_CLBLAST)
        target_link_libraries(clattn_bench PRIVATE PkgConfig::CLATTN_CLBLAST)
    endif()
    if(CLATTN_OPENBLAS_FOUND)
        set_source_files_properties(bench/peers_openblas.c PROPERTIES
            COMPILE_DEFINITIONS CLATTN_HAVE_OPENBLAS)
        target_link_libraries(clattn_bench PRIVATE PkgConfig::CLATTN_OPENBLAS)
    endif()
    message(STATUS "clattn bench peers: CLBlast ${CLATTN_CLBLAST_FOUND}, OpenBLAS ${CLATTN_OPENBLAS_FOUND}")
endif()

if(CLATTN_BUILD_BENCH)
    # Stand-alone programs: the fused attention sweep, the linear layer and MHA timings, and
    # multi-device attention against each device alone, the sliding window against the
    # equivalent dense mask, a varlen batch against the padded batch with a key-padding mask,
    # and paged KV decoding against dense K/V; decoding in float16 / bfloat16 storage against
    # float32 (bench_dtype, which rounds its data with host/core/dtype.h).
    foreach(program bench_attention bench_linear_mha bench_multi bench_window bench_varlen
            bench_paged bench_dtype)
        add_executable(${program} bench/${program}.c bench/timing.c) # timing: not the peers
        target_compile_options(${program} PRIVATE ${CLATTN_WARNINGS})
        target_compile_definitions(${program} PRIVATE _POSIX_C_SOURCE=200809L) # clock_gettime
        target_link_libraries(${program} PRIVATE clattn_static m)
    endforeach()
    target_include_directories(bench_dtype PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/host/core")
endif()
