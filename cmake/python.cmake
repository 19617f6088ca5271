# The Python package (python/pyproject.toml, built by scikit-build-core): the shared library
# and the public header go into the package folder `clattn/` of the wheel, as component
# `python`, so that the ctypes binding finds them beside its own files. One plain file, no
# SONAME symlinks (a wheel would store each link as a full copy).
install(FILES "$<TARGET_FILE:clattn>" DESTINATION clattn RENAME libclattn.so COMPONENT python)
install(FILES include/clattn.h DESTINATION clattn/include COMPONENT python)
