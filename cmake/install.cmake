# Install rules: header, shared and static libraries, the CLI, a CMake package exporting
# clattn::clattn (shared) and clattn::clattn_static, and clattn.pc for pkg-config.
include(CMakePackageConfigHelpers)

set(CLATTN_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/clattn")

install(TARGETS clattn clattn_static EXPORT clattnTargets
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(FILES include/clattn.h DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
if(TARGET clattn_mpi) # ring attention on MPI: clattn::clattn_mpi (static)
    install(TARGETS clattn_mpi EXPORT clattnTargets ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
    install(FILES include/clattn_mpi.h DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
endif()
if(TARGET clattn_cli)
    install(TARGETS clattn_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
endif()

install(EXPORT clattnTargets NAMESPACE clattn:: DESTINATION "${CLATTN_CMAKE_DIR}")
configure_package_config_file(cmake/clattnConfig.cmake.in
    "${CMAKE_CURRENT_BINARY_DIR}/clattnConfig.cmake" INSTALL_DESTINATION "${CLATTN_CMAKE_DIR}")
# 0.x: a new minor version may change the API, so only the same minor version is compatible.
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/clattnConfigVersion.cmake"
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/clattnConfig.cmake"
    "${CMAKE_CURRENT_BINARY_DIR}/clattnConfigVersion.cmake" DESTINATION "${CLATTN_CMAKE_DIR}")

# pkg-config: relocatable, the prefix found from the .pc file's own directory.
file(RELATIVE_PATH CLATTN_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" CLATTN_PC_TO_PREFIX "${CLATTN_PC_TO_PREFIX}")
configure_file(cmake/clattn.pc.in "${CMAKE_CURRENT_BINARY_DIR}/clattn.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/clattn.pc"
    DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
