"""Devices and clattn.Handle (one OpenCL device with its context, queue and kernels)."""

import ctypes as C
import threading

from . import _errors
from . import _structs as S
from ._lib import lib, text

_DEVICE_TYPES = {1 << 1: "cpu", 1 << 2: "gpu", 1 << 3: "accelerator", 1 << 4: "custom"}


class Device:
    """One OpenCL device as clattn lists it; str(device.index) selects it."""

    def __init__(self, info):
        self.index = info.index
        self.platform_index = info.platform_index
        self.device_index = info.device_index
        self.type = next((n for bit, n in _DEVICE_TYPES.items() if info.type & bit), "other")
        self.is_default = bool(info.is_default)
        self.name = text(info.name)
        self.vendor = text(info.vendor)
        self.platform_name = text(info.platform_name)
        self.version = text(info.version)

    def __repr__(self):
        default = ", default" if self.is_default else ""
        return (f"<clattn.Device {self.index} ({self.platform_index}:{self.device_index}) "
                f"{self.name!r} {self.type} on {self.platform_name!r}{default}>")


def devices():
    """Every OpenCL device of every platform, in clattn's global order."""
    count = C.c_size_t(0)
    _errors.check(lib.clattn_list_devices(None, 0, C.byref(count)))
    infos = (S.DeviceInfo * max(count.value, 1))()
    _errors.check(lib.clattn_list_devices(infos, count.value, C.byref(count)))
    return [Device(infos[i]) for i in range(min(count.value, len(infos)))]


def _options(device, build_options, variant, max_work_group_size, enable_profiling):
    opts = S.Options()
    lib.clattn_options_init(C.byref(opts))
    if isinstance(device, Device):
        device = str(device.index)
    elif isinstance(device, int) and not isinstance(device, bool):
        device = str(device)
    if device is not None and not isinstance(device, str):
        _errors.fail(_errors.INVALID_VALUE, f"device: expected None, an index, a selector "
                     f"string or a clattn.Device, got {type(device).__name__}")
    variants = {"auto": 0, "cpu": 1, "gpu": 2}
    if variant not in variants:
        _errors.fail(_errors.INVALID_VALUE, f"variant: one of {sorted(variants)}, got {variant!r}")
    # Kept alive with the struct by the caller (bytes objects referenced below).
    opts._keep = [s.encode() if s is not None else None for s in (device, build_options)]
    opts.device, opts.build_options = opts._keep
    opts.variant = variants[variant]
    opts.max_work_group_size = int(max_work_group_size)
    opts.enable_profiling = int(bool(enable_profiling))
    return opts


class Handle:
    """A clattn handle: a device with its context, queue and compiled kernels.

    Handle(device=None): None uses CLATTN_DEVICE or the default device (first GPU, then
    accelerator, then CPU); otherwise an index, "P:D", "gpu"/"cpu", a name substring or a
    clattn.Device. Use it as a context manager or call close(); a closed handle raises
    clattn.Error (CLATTN_ERROR_INVALID_HANDLE). Operations are its methods (attention,
    query_attention, mha, linear, attention_weights) and take NumPy arrays (blocking) or
    pyopencl arrays with queue= and wait_for= (enqueued; they return pyopencl events)."""

    def __init__(self, device=None, *, build_options=None, variant="auto",
                 max_work_group_size=0, enable_profiling=False, _ptr=None, _borrowed=()):
        self._ptr = None
        self._lock = threading.Lock()
        self._borrowed = tuple(_borrowed)  # pyopencl objects we were made from
        if _ptr is not None:
            self._ptr = _ptr
            return
        opts = _options(device, build_options, variant, max_work_group_size, enable_profiling)
        ptr = C.c_void_p()
        _errors.check(lib.clattn_handle_create(C.byref(opts), C.byref(ptr)))
        self._ptr = ptr.value

    @classmethod
    def from_pyopencl(cls, context, queue=None, device=None, **options):
        """A handle on a pyopencl context (and queue), borrowing them as
        clattn_handle_create_from does: it retains them and never owns them. device defaults
        to the queue's, else the context's first device."""
        if device is None:
            device = queue.device if queue is not None else context.devices[0]
        opts = _options(None, options.pop("build_options", None), options.pop("variant", "auto"),
                        options.pop("max_work_group_size", 0),
                        options.pop("enable_profiling", False))
        if options:
            _errors.fail(_errors.INVALID_VALUE, f"unknown options {sorted(options)}")
        ptr = C.c_void_p()
        _errors.check(lib.clattn_handle_create_from(
            context.int_ptr, device.int_ptr, queue.int_ptr if queue is not None else None,
            C.byref(opts), C.byref(ptr)))
        return cls(_ptr=ptr.value, _borrowed=(context, queue))

    # ---- life cycle -----------------------------------------------------------------------
    def close(self):
        """Releases the handle (idempotent). Work it enqueued may still run."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
        if ptr:
            lib.clattn_handle_destroy(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass

    @property
    def closed(self):
        return self._ptr is None

    @property
    def ptr(self):
        """The clattn_handle * as an int (raises clattn.Error when closed)."""
        ptr = self._ptr
        if not ptr:
            _errors.fail(_errors.INVALID_HANDLE, "the handle is closed")
        return ptr

    # ---- what it is -----------------------------------------------------------------------
    @property
    def device_name(self):
        return text(lib.clattn_handle_device_name(self.ptr))

    @property
    def variant(self):
        return {1: "cpu", 2: "gpu"}.get(lib.clattn_handle_variant(self.ptr), "auto")

    @property
    def build_log(self):
        return text(lib.clattn_build_log(self.ptr))

    @property
    def context_ptr(self):
        return lib.clattn_handle_context(self.ptr)

    @property
    def device_ptr(self):
        return lib.clattn_handle_device(self.ptr)

    @property
    def queue_ptr(self):
        return lib.clattn_handle_queue(self.ptr)

    def pyopencl_context(self):
        """The handle's context as a pyopencl.Context (a new reference)."""
        from ._tensors import pyopencl
        return pyopencl().Context.from_int_ptr(self.context_ptr, retain=True)

    def pyopencl_queue(self):
        """The handle's default queue as a pyopencl.CommandQueue (a new reference), or None."""
        from ._tensors import pyopencl
        ptr = self.queue_ptr
        return pyopencl().CommandQueue.from_int_ptr(ptr, retain=True) if ptr else None

    def prepare(self):
        """Builds the kernel programs now (see clattn_handle_prepare)."""
        _errors.check(lib.clattn_handle_prepare(self.ptr))

    def __repr__(self):
        if self.closed:
            return "<clattn.Handle closed>"
        return f"<clattn.Handle {self.device_name!r} ({self.variant} kernels)>"


_default = None
_default_lock = threading.Lock()


def default_handle():
    """The handle the module-level functions use: Handle() on first use, kept for the
    process."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Handle()
        return _default
