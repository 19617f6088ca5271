"""How a call runs, for every backend, and the helpers the operations share.

backend is "ref" (the double-precision reference, clattn_ref_*), "cpu" (the fast CPU path,
clattn_cpu_*) or a Handle. On a Handle a call runs in one of two modes:
- blocking (NumPy in, NumPy out): the library's host-array forms;
- enqueued (pyopencl): when an operand or out= is a pyopencl array, or queue= or wait_for=
  is given. NumPy inputs are then uploaded, the call is enqueued after wait_for, and it
  returns a pyopencl.Event when the outputs were given (out=), else the new pyopencl arrays
  (each carrying the event in .events, as pyopencl's own operations do).
"""

import ctypes as C

import numpy as np

from . import _errors
from . import _tensors as T
from ._handle import Handle

F32 = np.dtype(np.float32)

NORMS = {"none": 0, "sum": 1, "softmax": 2}
CAUSAL = {"none": 0, "top-left": 1, "bottom-right": 2}


def norm_code(norm, allowed):
    if norm not in allowed:
        _errors.fail(_errors.INVALID_VALUE, f"norm: one of {list(allowed)}, got {norm!r}")
    return NORMS[norm]


def causal_code(causal):
    if causal is None or causal is False:
        return 0
    if causal is True:
        return 1
    if isinstance(causal, str) and causal in CAUSAL:
        return CAUSAL[causal]
    _errors.fail(_errors.INVALID_VALUE, 'causal: False, True, "top-left" or "bottom-right", '
                 f"got {causal!r}")


def _count(value, name, minimum=0):
    """A non-negative (or >= minimum) integer option, else INVALID_VALUE."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        _errors.fail(_errors.INVALID_VALUE, f"{name}: an integer >= {minimum}, got {value!r}")
    return int(value)


class _Mode:
    """Where a call's operands live: NumPy (host) or pyopencl (device, on queue)."""

    def __init__(self, backend, operands, queue, wait_for):
        self.backend = backend
        self.device = isinstance(backend, Handle)
        if not self.device and not isinstance(backend, str):
            _errors.fail(_errors.INVALID_VALUE, f"backend {backend!r}")
        self.enqueue = self.device and (queue is not None or bool(wait_for) or
                                        any(T.is_cl_array(x) for x in operands))
        if not self.device and (queue is not None or wait_for):
            _errors.fail(_errors.INVALID_VALUE, "queue= and wait_for= need a clattn.Handle")
        self.handle = backend.ptr if self.device else None  # raises when closed
        self.queue = None
        self.wait_for = list(wait_for or [])
        if self.enqueue:
            cl = T.pyopencl()
            if queue is None:
                queue = next((x.queue for x in operands if T.is_cl_array(x) and x.queue), None)
            if queue is None:
                queue = backend.pyopencl_queue()
            if queue is None:
                _errors.fail(_errors.NULL_POINTER, "no queue: pass queue= (the handle has none)")
            if not isinstance(queue, cl.CommandQueue):
                _errors.fail(_errors.INVALID_VALUE, "queue: expected a pyopencl.CommandQueue")
            self.queue = queue
            for ev in self.wait_for:
                if not isinstance(ev, cl.Event):
                    _errors.fail(_errors.INVALID_VALUE, "wait_for: expected pyopencl.Event objects")

    def tensor(self, x, name, rank=4, dtype=None, rows_may_overlap=False):
        """An input operand in this mode's memory (uploaded when NumPy in enqueue mode)."""
        if not self.enqueue:
            return T.host_tensor(x, name, rank, dtype, rows_may_overlap)
        if T.is_cl_array(x):
            return T.device_tensor(x, name, rank, dtype, rows_may_overlap)
        t = T.host_tensor(x, name, rank, dtype, rows_may_overlap)
        cl = T.pyopencl()
        dev = cl.array.to_device(self.queue, np.ascontiguousarray(t.host))
        return T.device_tensor(dev, name, rank, dtype)

    def packed(self, x, name, rank, dtype=F32):
        """An input that must be packed at offset 0 (the calls without layouts)."""
        t = self.tensor(x, name, rank, dtype)
        if t.host is not None:
            if not t.host.flags.c_contiguous:
                return T.host_tensor(np.ascontiguousarray(t.host), name, rank, dtype)
            return t
        if t.offset or not t.device.flags.c_contiguous:
            _errors.fail(_errors.INVALID_SHAPE,
                         f"{name}: this call takes packed device arrays at offset 0")
        return t

    def output(self, user, shape, name, packed=False, dtype=F32):
        """(Tensor to write, finish) for an output of shape. finish(event) hands back the
        array: the user's (a temporary copied into it where its layout is not clattn's) or
        a new one; in enqueue mode a pyopencl array carries the event in .events, and a NumPy
        one is read back before finish returns. dtype: the type stored (float32 but for the
        attention's O)."""
        dtype = np.dtype(dtype)
        rank = len(shape)
        if user is not None:
            if tuple(user.shape) != tuple(shape):
                _errors.fail(_errors.INVALID_SHAPE,
                             f"{name}: shape {tuple(user.shape)}, expected {tuple(shape)}")
            if np.dtype(user.dtype) != dtype:
                _errors.fail(_errors.INVALID_VALUE,
                             f"{name}: dtype {user.dtype}, expected {dtype.name}")
            if T.is_cl_array(user):
                if not self.enqueue:
                    _errors.fail(_errors.INVALID_VALUE, f"{name} is a pyopencl array: call "
                                 "this on a clattn.Handle")
            elif not (isinstance(user, np.ndarray) and user.flags.writeable):
                _errors.fail(_errors.INVALID_VALUE, f"{name}: a writable NumPy or pyopencl array")
        if not self.enqueue:
            if user is not None:
                t = T.host_tensor(user, name, rank, dtype)
                if t.host is user and T.writable_layout(t.shape, t.strides) and (
                        not packed or user.flags.c_contiguous):
                    return t, lambda event=None: user
            tmp = np.empty(shape, dtype)

            def finish_host(event=None):
                if user is None:
                    return tmp
                user[...] = tmp
                return user
            return T.host_tensor(tmp, name, rank, dtype), finish_host
        cl = T.pyopencl()

        def attach(array):
            def finish(event):
                array.add_event(event)
                return array
            return finish
        if user is not None and T.is_cl_array(user):
            t = T.device_tensor(user, name, rank, dtype)
            if not T.writable_layout(t.shape, t.strides) or (
                    packed and (t.offset or not user.flags.c_contiguous)):
                _errors.fail(_errors.INVALID_SHAPE, f"{name}: elements overlap, or not packed "
                             "at offset 0 where the call needs it")
            return t, attach(user)
        dev = cl.array.empty(self.queue, shape, dtype)
        t = T.device_tensor(dev, name, rank, dtype)
        if user is None:
            return t, attach(dev)

        def read_back(event):
            host = user if user.flags.c_contiguous else np.empty(shape, dtype)
            cl.enqueue_copy(self.queue, host, dev.data, wait_for=[event]).wait()
            if host is not user:
                user[...] = host
            return user
        return t, read_back

    # ---- events ---------------------------------------------------------------------------
    def wait_list(self):
        n = len(self.wait_for)
        arr = (C.c_void_p * max(n, 1))(*[ev.int_ptr for ev in self.wait_for])
        return n, (arr if n else None)

    @staticmethod
    def event(done):
        cl = T.pyopencl()
        return cl.Event.from_int_ptr(done.value, retain=False)


def _mem(t):
    return t.pointer() if t is not None else None


def _result(finishes, event, users):
    """What an enqueued call returns: the event when the caller gave every output, else the
    outputs (one, or a tuple), each carrying the event."""
    arrays = [finish(event) for finish in finishes]
    if all(user is not None for user in users):
        return event
    return arrays[0] if len(arrays) == 1 else tuple(arrays)


def _int32_tensor(mode, x, name, rank):
    """An int32 index tensor (cu_seqlens, block_table, seqlens_k): packed, at offset 0."""
    if x is None:
        _errors.fail(_errors.NULL_POINTER, f"{name} is None")
    if T.is_cl_array(x) and np.dtype(x.dtype) != np.int32:
        _errors.fail(_errors.INVALID_VALUE, f"{name}: dtype {x.dtype}, expected int32")
    if not T.is_cl_array(x) and np.asarray(x).dtype.kind not in "iu":
        _errors.fail(_errors.INVALID_VALUE, f"{name}: an integer array (int32)")
    t = mode.packed(x, name, rank, np.int32)
    if len(np.shape(x) if not T.is_cl_array(x) else x.shape) != rank:
        _errors.fail(_errors.INVALID_SHAPE, f"{name}: {rank} dimension(s) expected")
    return t


def _apply_variants(desc, softcap, alibi, window, sink_keys, dropout, dropout_seed,
                    dropout_offset):
    """The model-variant fields that clattn_attention_desc and clattn_mha_desc share."""
    desc.softcap = float(softcap)
    desc.alibi = int(bool(alibi))
    if window is not None:
        try:
            left, right = window
        except (TypeError, ValueError):
            _errors.fail(_errors.INVALID_VALUE, "window: a pair (left, right), None for an "
                         f"unbounded side, got {window!r}")
        desc.window = 1
        desc.window_left = -1 if left is None else _count(left, "window left", -1)
        desc.window_right = -1 if right is None else _count(right, "window right", -1)
    desc.sink_keys = _count(sink_keys, "sink_keys")
    desc.dropout = float(dropout)
    desc.dropout_seed = int(dropout_seed) & (2**64 - 1)
    desc.dropout_offset = int(dropout_offset) & (2**64 - 1)


def _sinks_tensor(mode, sinks, heads):
    """The [heads] attention-sink logits, packed at offset 0, or None."""
    if sinks is None:
        return None
    ts = mode.packed(sinks, "sinks", 1)
    if ts.shape != (heads,):
        _errors.fail(_errors.INVALID_SHAPE, f"sinks: shape {ts.shape}, expected ({heads},)")
    return ts
