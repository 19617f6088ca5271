# CLATTN_SANITIZE=address: AddressSanitizer + UndefinedBehaviorSanitizer; thread: ThreadSanitizer.
# Applies to every target of this directory and below (library, tools, tests, examples).
if(CLATTN_SANITIZE STREQUAL "address")
    set(CLATTN_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
        -fno-omit-frame-pointer)
elseif(CLATTN_SANITIZE STREQUAL "thread")
    set(CLATTN_SANITIZE_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT CLATTN_SANITIZE STREQUAL "")
    message(FATAL_ERROR "CLATTN_SANITIZE must be empty, address or thread (got ${CLATTN_SANITIZE})")
endif()
if(CLATTN_SANITIZE_FLAGS)
    add_compile_options(${CLATTN_SANITIZE_FLAGS})
    add_link_options(${CLATTN_SANITIZE_FLAGS})
endif()
