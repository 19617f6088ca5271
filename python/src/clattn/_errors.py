"""clattn.Error: a failed call, with the status name and clattn's message."""

from ._lib import lib, text

# The library's own status codes (include/clattn.h), for errors the binding finds itself.
NULL_POINTER = -20001
INVALID_SIZE = -20002
INVALID_VALUE = -20005
INVALID_SHAPE = -20010
INVALID_HANDLE = -20011


class Error(Exception):
    """A call into clattn failed: .status (the code), .name ("CLATTN_ERROR_INVALID_SHAPE"
    or an OpenCL name) and .message (clattn's explanation)."""

    def __init__(self, status, message):
        self.status = int(status)
        self.name = text(lib.clattn_status_string(self.status))
        self.message = message
        super().__init__(f"{self.name}: {message}" if message else self.name)


def check(status):
    """Raises Error for a non-zero status, with the calling thread's last message."""
    if status != 0:
        raise Error(status, text(lib.clattn_last_error_message()))


def fail(status, message):
    """Raises Error for a mistake the binding catches before calling the library."""
    raise Error(status, message)
