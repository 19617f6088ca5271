"""Operands: NumPy arrays or pyopencl arrays as (memory, element offset, element strides).

clattn describes a tensor [B, H, rows, cols] by an element offset and three strides with a
contiguous last dimension (clattn_layout). An array whose strides say that is passed as it
is (no copy); any other (a transposed last dimension, negative or odd strides, a dtype the
library does not store) is copied into a packed array first.
"""

import sys

import numpy as np

from . import _dtypes, _errors


def is_cl_array(x):
    """True for a pyopencl.array.Array (without importing pyopencl when nobody did)."""
    mod = sys.modules.get("pyopencl.array")
    return mod is not None and isinstance(x, mod.Array)


def pyopencl():
    try:
        import pyopencl as cl
        import pyopencl.array  # noqa: F401  (cl.array)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("this call needs pyopencl (pip install pyopencl)") from exc
    return cl


class Tensor:
    """One operand, promoted to rank 4 ([B, H, rows, cols]; rank-3 LSE: cols = 1).

    host: the NumPy array whose memory is passed (kept alive here), or None;
    device: the pyopencl array, or None. offset and strides count elements."""

    __slots__ = ("shape", "strides", "offset", "host", "device", "dtype")

    def __init__(self, shape, strides, offset, dtype, host=None, device=None):
        self.shape = tuple(shape)
        self.strides = tuple(strides)
        self.offset = offset
        self.dtype = dtype
        self.host = host
        self.device = device

    def pointer(self):
        """Host address of element 0 (offset 0) or the cl_mem (with self.offset)."""
        if self.host is not None:
            return self.host.ctypes.data
        return self.device.base_data.int_ptr if self.device.base_data is not None else None

    def layout(self, layout):
        """Fills a _structs.Layout (the last dimension is contiguous by construction)."""
        layout.offset = self.offset
        for i in range(3):
            layout.stride[i] = self.strides[i]
        return layout


def _element_strides(shape, byte_strides, itemsize):
    """Element strides, or None when clattn cannot express them (negative, not whole
    elements, last dimension not contiguous). Strides of size-1 dimensions do not matter
    and become 0."""
    if 0 in shape:  # empty: nothing is addressed (the library refuses the zero size)
        return [0] * (len(shape) - 1) + [1]
    out = []
    for size, stride in zip(shape, byte_strides):
        if size == 1:
            out.append(0)
            continue
        if stride < 0 or stride % itemsize:
            return None
        out.append(stride // itemsize)
    if shape and shape[-1] > 1 and out[-1] != 1:
        return None
    if shape:
        out[-1] = 1
    return out


def _promote(shape, strides, rank, name):
    if len(shape) > rank:
        _errors.fail(_errors.INVALID_SHAPE,
                     f"{name}: {len(shape)} dimensions, at most {rank} ({shape})")
    pad = rank - len(shape)
    return (1,) * pad + tuple(shape), (0,) * pad + tuple(strides)


def _rows_overlap(shape, strides):
    """Rows of one head overlapping (a broadcast row axis, say): not a clattn layout, except
    for a mask."""
    return len(shape) >= 2 and shape[-2] > 1 and strides[-2] < shape[-1]


def host_tensor(x, name, rank=4, dtype=None, rows_may_overlap=False):
    """A NumPy operand (anything np.asarray takes) as a Tensor, copied only when needed.
    dtype: the storage dtype wanted (default: the operand's storage type)."""
    if x is None:
        _errors.fail(_errors.NULL_POINTER, f"{name} is None")
    if is_cl_array(x):
        _errors.fail(_errors.INVALID_VALUE,
                     f"{name} is a pyopencl array: call this on a clattn.Handle (the CPU "
                     "reference and backend take NumPy arrays)")
    arr = np.asarray(x)
    if arr.ndim == 0:
        _errors.fail(_errors.INVALID_SHAPE, f"{name} is a scalar, not an array")
    want = np.dtype(dtype) if dtype is not None else _dtypes.operand_type(arr.dtype, name).dtype
    if arr.dtype != want:
        arr = arr.astype(want)
    strides = _element_strides(arr.shape, arr.strides, arr.itemsize)
    if strides is None or (not rows_may_overlap and _rows_overlap(arr.shape, strides)):
        arr = np.ascontiguousarray(arr)
        strides = _element_strides(arr.shape, arr.strides, arr.itemsize)
    shape, strides = _promote(arr.shape, strides, rank, name)
    return Tensor(shape, strides, 0, arr.dtype, host=arr)


def device_tensor(x, name, rank=4, dtype=None, rows_may_overlap=False):
    """A pyopencl array as a Tensor: its buffer, its .offset and its strides, never copied
    (a layout clattn cannot express is an error: make it contiguous first)."""
    want = np.dtype(dtype) if dtype is not None else None
    if want is None:
        stored = _dtypes.STORED.get(np.dtype(x.dtype))
        if stored is None:
            _errors.fail(_errors.INVALID_VALUE,
                         f"{name}: pyopencl array of dtype {x.dtype}; clattn stores "
                         f"{', '.join(t.name for t in _dtypes.STORED.values())}")
        want = stored.dtype
    if np.dtype(x.dtype) != want:
        _errors.fail(_errors.INVALID_VALUE, f"{name}: pyopencl array of dtype {x.dtype}, "
                     f"expected {want}")
    if len(x.shape) == 0:
        _errors.fail(_errors.INVALID_SHAPE, f"{name} is a scalar, not an array")
    itemsize = want.itemsize
    strides = _element_strides(x.shape, x.strides, itemsize)
    if strides is None or x.offset % itemsize or (
            not rows_may_overlap and _rows_overlap(x.shape, strides)):
        _errors.fail(_errors.INVALID_SHAPE,
                     f"{name}: strides {x.strides} / offset {x.offset} bytes are not a clattn "
                     "layout (whole elements, non-negative, last dimension contiguous)")
    shape, strides = _promote(x.shape, strides, rank, name)
    return Tensor(shape, strides, x.offset // itemsize, want, device=x)


def writable_layout(shape, strides):
    """clattn's rule for an output: no two elements share an address (checked as: sorted by
    stride, each stride reaches past everything the smaller ones span)."""
    spanned = shape[-1]
    for stride, size in sorted(zip(strides[:-1], shape[:-1])):
        if size <= 1:
            continue
        if stride < spanned:
            return False
        spanned += (size - 1) * stride
    return True


def broadcast_mask(t, target, name="mask"):
    """The mask's strides broadcast to target [B, H, M, N] (stride 0 on broadcast axes). The
    key axis cannot broadcast in clattn: a host mask is expanded there, a device one fails."""
    strides = list(t.strides)
    for i in range(4):
        if t.shape[i] == target[i]:
            continue
        if t.shape[i] != 1:
            _errors.fail(_errors.INVALID_SHAPE,
                         f"{name}: shape {t.shape} does not broadcast to {tuple(target)}")
        strides[i] = 0
    if t.shape[3] != target[3]:
        if t.host is None:
            _errors.fail(_errors.INVALID_SHAPE,
                         f"{name}: a device mask must have all {target[3]} key columns")
        expanded = np.ascontiguousarray(np.broadcast_to(t.host, t.shape[:3] + (target[3],)))
        return broadcast_mask(Tensor(expanded.shape, _element_strides(
            expanded.shape, expanded.strides, expanded.itemsize), 0, t.dtype, host=expanded),
            target, name)
    return Tensor(target, strides, t.offset, t.dtype, host=t.host, device=t.device)
