# Compile flags of the fast CPU path (host/cpu/): -O3 for the vectoriser, FMA contraction
# (C11 mode turns it off by default; it is not fast-math: IEEE inf/NaN semantics stay), and
# either run-time dispatched AVX2/AVX-512 clones (default: runs on any x86-64) or
# -march=native (CLATTN_CPU_NATIVE=ON). -fno-trapping-math (Clang's default; values, inf and
# NaN unchanged, only floating-point exception flags are not kept exact) lets GCC if-convert
# the clamps of clattn__exp2_inline: with trapping math its loops stayed scalar in the AVX2
# clone ("control flow in loop"), and the softmax's exponentials cost as much as the scores.
set(CLATTN_CPU_FILES ${CLATTN_LAYER_SOURCES_cpu})
set(CLATTN_CPU_FLAGS -O3 -ffp-contract=fast -fno-trapping-math)
if(CLATTN_CPU_NATIVE)
    list(APPEND CLATTN_CPU_FLAGS -march=native)
# Clones are picked by IFUNC resolvers, which run while the shared library is relocated,
# before a sanitizer's runtime is ready (a ThreadSanitizer build crashed there): sanitizer
# builds use the baseline code.
elseif(CLATTN_CPU_CLONES AND NOT CLATTN_SANITIZE AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64"
       AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    set_property(SOURCE ${CLATTN_CPU_FILES} APPEND PROPERTY COMPILE_DEFINITIONS CLATTN_CPU_CLONES)
endif()
set_property(SOURCE ${CLATTN_CPU_FILES} APPEND PROPERTY COMPILE_OPTIONS ${CLATTN_CPU_FLAGS})
