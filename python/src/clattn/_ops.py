"""The operations, once for every backend.

backend is "ref" (the double-precision reference, clattn_ref_*), "cpu" (the fast CPU path,
clattn_cpu_*) or a Handle. On a Handle a call runs in one of two modes:
- blocking (NumPy in, NumPy out): the library's host-array forms;
- enqueued (pyopencl): when an operand or out= is a pyopencl array, or queue= or wait_for=
  is given. NumPy inputs are then uploaded, the call is enqueued after wait_for, and it
  returns a pyopencl.Event when the outputs were given (out=), else the new pyopencl arrays
  (each carrying the event in .events, as pyopencl's own operations do).
"""

import ctypes as C
import math
from collections import namedtuple

import numpy as np

from . import _errors
from . import _structs as S
from . import _tensors as T
from ._handle import Handle
from ._lib import lib

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

    def output(self, user, shape, name, packed=False):
        """(Tensor to write, finish) for an output of shape. finish(event) hands back the
        array: the user's (a temporary copied into it where its layout is not clattn's) or
        a new one; in enqueue mode a pyopencl array carries the event in .events, and a NumPy
        one is read back before finish returns."""
        rank = len(shape)
        if user is not None:
            if tuple(user.shape) != tuple(shape):
                _errors.fail(_errors.INVALID_SHAPE,
                             f"{name}: shape {tuple(user.shape)}, expected {tuple(shape)}")
            if np.dtype(user.dtype) != F32:
                _errors.fail(_errors.INVALID_VALUE, f"{name}: dtype {user.dtype}, expected float32")
            if T.is_cl_array(user):
                if not self.enqueue:
                    _errors.fail(_errors.INVALID_VALUE, f"{name} is a pyopencl array: call "
                                 "this on a clattn.Handle")
            elif not (isinstance(user, np.ndarray) and user.flags.writeable):
                _errors.fail(_errors.INVALID_VALUE, f"{name}: a writable NumPy or pyopencl array")
        if not self.enqueue:
            if user is not None:
                t = T.host_tensor(user, name, rank, F32)
                if t.host is user and T.writable_layout(t.shape, t.strides) and (
                        not packed or user.flags.c_contiguous):
                    return t, lambda event=None: user
            tmp = np.empty(shape, F32)

            def finish_host(event=None):
                if user is None:
                    return tmp
                user[...] = tmp
                return user
            return T.host_tensor(tmp, name, rank, F32), finish_host
        cl = T.pyopencl()

        def attach(array):
            def finish(event):
                array.add_event(event)
                return array
            return finish
        if user is not None and T.is_cl_array(user):
            t = T.device_tensor(user, name, rank, F32)
            if not T.writable_layout(t.shape, t.strides) or (
                    packed and (t.offset or not user.flags.c_contiguous)):
                _errors.fail(_errors.INVALID_SHAPE, f"{name}: elements overlap, or not packed "
                             "at offset 0 where the call needs it")
            return t, attach(user)
        dev = cl.array.empty(self.queue, shape, F32)
        t = T.device_tensor(dev, name, rank, F32)
        if user is None:
            return t, attach(dev)

        def read_back(event):
            host = user if user.flags.c_contiguous else np.empty(shape, F32)
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


# ---- attention ------------------------------------------------------------------------------
_ATTENTION_HOST = {"ref": "clattn_ref_attention_ex", "cpu": "clattn_cpu_attention_ex"}


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


def _max_length(t, given, name):
    """max_seqlen: given, or read from host cumulative offsets."""
    if given is not None:
        return _count(given, name, 1)
    if t.host is None:
        _errors.fail(_errors.NULL_POINTER, f"{name} is needed with device cu_seqlens (the host "
                     "does not read device memory)")
    cu = t.host.astype(np.int64)
    return max(int(np.max(np.diff(cu))) if cu.size > 1 else 0, 1)


def _varlen_layout(t, layout):
    """A packed-token tensor [total, H, cols] as clattn's varlen layout (h, t, c)."""
    layout.offset = t.offset
    layout.stride[0] = 0
    layout.stride[1] = t.strides[1]
    layout.stride[2] = t.strides[0]


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


def _attention_desc(mode, q, k, v, mask, causal, scale, norm, softcap, alibi, window, sinks,
                    sink_keys, dropout, dropout_seed, dropout_offset, kv_splits, weights_only,
                    varlen=None, paged=None):
    """(desc, the input tensors by field name, sizes). varlen = (cu_seqlens_q, cu_seqlens_k,
    max_seqlen_q, max_seqlen_k) for packed sequences; paged = (block_table, seqlens_k) for a
    paged KV cache (k, v: pages [num_pages, Hkv, page_size, D])."""
    extra = {}
    if varlen is not None and paged is not None:
        _errors.fail(_errors.INVALID_VALUE, "varlen and a paged KV cache are not composed")
    if varlen is not None:
        tq, tk = mode.tensor(q, "q", 3), mode.tensor(k, "k", 3)
        tv = None if weights_only else mode.tensor(v, "v", 3)
        (total_q, Hq, D), (total_k, Hkv, Dk) = tq.shape, tk.shape
        Dv = D if tv is None else tv.shape[2]
        if Dk != D or (tv is not None and tv.shape[:2] != (total_k, Hkv)):
            _errors.fail(_errors.INVALID_SHAPE, f"varlen: q {tq.shape}, k {tk.shape}, v "
                         f"{None if tv is None else tv.shape} ([total, heads, d])")
        cu_q = _int32_tensor(mode, varlen[0], "cu_seqlens_q", 1)
        cu_k = _int32_tensor(mode, varlen[1], "cu_seqlens_k", 1)
        if cu_q.shape != cu_k.shape or cu_q.shape[0] < 2:
            _errors.fail(_errors.INVALID_SHAPE, "cu_seqlens_q and cu_seqlens_k: [B + 1] each")
        B = cu_q.shape[0] - 1
        # The host forms size the tensors by the totals cu[B]: they must be there (on a
        # device the kernels clamp to the buffers instead).
        for cu, total, name in ((cu_q, total_q, "cu_seqlens_q"), (cu_k, total_k, "cu_seqlens_k")):
            if cu.host is not None and not 0 <= int(cu.host[-1]) <= total:
                _errors.fail(_errors.INVALID_SHAPE, f"{name}[-1] = {int(cu.host[-1])}: the "
                             f"tensors hold {total} tokens")
        M = _max_length(cu_q, varlen[2], "max_seqlen_q")
        N = _max_length(cu_k, varlen[3], "max_seqlen_k")
        extra = dict(cu_seqlens_q=cu_q, cu_seqlens_k=cu_k)
    else:
        tq = mode.tensor(q, "q")
        tk = mode.tensor(k, "k_pages" if paged is not None else "k")
        tv = None if weights_only else mode.tensor(v, "v_pages" if paged is not None else "v")
        B, Hq, M, D = tq.shape
        Bk, Hkv, N, Dk = tk.shape
        if Dk != D or (paged is None and Bk != B):
            _errors.fail(_errors.INVALID_SHAPE, f"k: shape {tk.shape} does not match q "
                         f"{tq.shape} (same batch and head dim d)")
        Dv = D
        if tv is not None:
            Bv, Hv, Nv, Dv = tv.shape
            if (Bv, Hv, Nv) != (Bk, Hkv, N):
                _errors.fail(_errors.INVALID_SHAPE, f"v: shape {tv.shape} does not match k "
                             f"{tk.shape}")
        if paged is not None:
            num_pages, page_size = Bk, N
            table = _int32_tensor(mode, paged[0], "block_table", 2)
            lengths = _int32_tensor(mode, paged[1], "seqlens_k", 1)
            if table.shape[0] != B or lengths.shape != (B,):
                _errors.fail(_errors.INVALID_SHAPE, f"block_table {table.shape} and seqlens_k "
                             f"{lengths.shape}: [B, max_pages] and [B] with B = {B}")
            max_pages = table.shape[1]
            N = max_pages * page_size
            extra = dict(block_table=table, seqlens_k=lengths)
    desc = S.AttentionDesc()
    lib.clattn_attention_desc_init(C.byref(desc), B, Hq, Hkv, M, N, D, Dv)
    if varlen is not None:
        desc.varlen = 1
        _varlen_layout(tq, desc.q)
        _varlen_layout(tk, desc.k)
        if tv is not None:
            _varlen_layout(tv, desc.v)
    else:
        tq.layout(desc.q)
        tk.layout(desc.k)
        if tv is not None:
            tv.layout(desc.v)
        if paged is not None:
            desc.page_size, desc.num_pages, desc.max_pages = page_size, num_pages, max_pages
    if scale is not None:
        desc.scale = float(scale)
    desc.norm = norm_code(norm, ("none", "sum", "softmax") if weights_only else ("sum", "softmax"))
    desc.causal = causal_code(causal)
    tm = None
    if mask is not None:
        from ._dtypes import mask_kind
        kind, dtype = mask_kind(mask.dtype if hasattr(mask, "dtype") else np.asarray(mask).dtype)
        tm = T.broadcast_mask(mode.tensor(mask, "mask", 4, dtype, rows_may_overlap=True),
                              (B, Hq, M, N))
        desc.mask_kind = kind
        tm.layout(desc.mask)
    _apply_variants(desc, softcap, alibi, window, sink_keys, dropout, dropout_seed,
                    dropout_offset)
    ts = _sinks_tensor(mode, sinks, Hq)
    desc.sinks = int(ts is not None)
    desc.kv_splits = _count(kv_splits, "kv_splits")
    return desc, dict(q=tq, k=tk, v=tv, mask=tm, sinks=ts, **extra), (B, Hq, M, D, N, Dv)


def attention(backend, q, k, v, *, causal=False, mask=None, scale=None, norm="softmax",
              return_lse=False, softcap=0.0, alibi=False, window=None, sinks=None, sink_keys=0,
              dropout=0.0, dropout_seed=0, dropout_offset=0, kv_splits=0, cu_seqlens_q=None,
              cu_seqlens_k=None, max_seqlen_q=None, max_seqlen_k=None, block_table=None,
              seqlens_k=None, out=None, lse=None, queue=None, wait_for=None):
    for name, x in (("q", q), ("k", k), ("v", v)):
        if x is None:
            _errors.fail(_errors.NULL_POINTER, f"{name} is None")
    if len(np.shape(q) if not T.is_cl_array(q) else q.shape) < 2:
        _errors.fail(_errors.INVALID_SHAPE, "q: at least 2 dimensions ([M, D] .. [B, H, M, D])")
    varlen = paged = None
    if cu_seqlens_q is not None or cu_seqlens_k is not None:
        varlen = (cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k)
    if block_table is not None or seqlens_k is not None:
        paged = (block_table, seqlens_k)
    index_tensors = (cu_seqlens_q, cu_seqlens_k, block_table, seqlens_k)
    mode = _Mode(backend, (q, k, v, mask, sinks, out, lse) + index_tensors, queue, wait_for)
    desc, ins, (B, Hq, M, D, N, Dv) = _attention_desc(
        mode, q, k, v, mask, causal, scale, norm, softcap, alibi, window, sinks, sink_keys,
        dropout, dropout_seed, dropout_offset, kv_splits, weights_only=False, varlen=varlen,
        paged=paged)
    lead = tuple(np.shape(q)[:-1]) if not T.is_cl_array(q) else tuple(q.shape[:-1])
    to, o_finish = mode.output(out, lead + (Dv,), "out")
    tl = l_finish = None
    if varlen is not None:
        # O [total_q, Hq, Dv] like Q; the LSE [Hq, total_q] (FlashAttention's).
        _varlen_layout(to, desc.o)
        if return_lse or lse is not None:
            tl, l_finish = mode.output(lse, (lead[1], lead[0]), "lse")
            desc.lse.offset = tl.offset
            desc.lse.stride[0], desc.lse.stride[1], desc.lse.stride[2] = 0, tl.strides[0], 1
    else:
        to = T.Tensor((B, Hq, M, Dv), (0,) * (4 - len(to.shape)) + to.strides, to.offset,
                      to.dtype, to.host, to.device)
        to.layout(desc.o)
        if return_lse or lse is not None:
            tl, l_finish = mode.output(lse, lead, "lse")
            # The LSE [.., M] is [B, Hq, M] with the rows as its contiguous "columns".
            strides = (0,) * (3 - len(lead)) + tuple(tl.strides)
            desc.lse.offset = tl.offset
            for i in range(3):
                desc.lse.stride[i] = strides[i]
    if mode.enqueue:
        bufs = S.AttentionBuffers()
        for name, t in ins.items():
            setattr(bufs, name, _mem(t))
        bufs.o = _mem(to)
        bufs.lse = _mem(tl)
        n, wl = mode.wait_list()
        done = C.c_void_p()
        _errors.check(lib.clattn_enqueue_attention_ex(
            mode.handle, mode.queue.int_ptr, C.byref(desc), C.byref(bufs), n, wl, C.byref(done)))
        finishes = [o_finish] + ([l_finish] if tl is not None else [])
        users = [out] + ([lse] if tl is not None else [])
        return _result(finishes, mode.event(done), users)
    arrs = S.AttentionArrays()
    for name, t in ins.items():
        setattr(arrs, name, _mem(t))
    arrs.o = _mem(to)
    arrs.lse = _mem(tl)
    if mode.device:
        status = lib.clattn_attention_ex(mode.handle, C.byref(desc), C.byref(arrs))
    else:
        status = getattr(lib, _ATTENTION_HOST[backend])(C.byref(desc), C.byref(arrs))
    _errors.check(status)
    return o_finish() if tl is None else (o_finish(), l_finish())


def attention_weights(backend, q, k, *, causal=False, mask=None, scale=None, norm="softmax"):
    """W = norm(scale * Q K^T + mask) [.., M, N] (materialised; NumPy only)."""
    if backend == "cpu":
        _errors.fail(_errors.INVALID_VALUE, "the CPU backend has no attention_weights (use "
                     "clattn.ref or a Handle)")
    mode = _Mode(backend, (q, k, mask), None, None)
    if mode.enqueue:  # pragma: no cover - guarded by _Mode (no queue given)
        _errors.fail(_errors.INVALID_VALUE, "attention_weights takes NumPy arrays")
    desc, ins, (B, Hq, M, D, N, _) = _attention_desc(
        mode, q, k, None, mask, causal, scale, norm, 0.0, False, None, None, 0, 0.0, 0, 0, 0,
        weights_only=True)
    lead = tuple(np.shape(q)[:-2])
    w = np.empty(lead + (M, N), F32)
    mask_ptr = _mem(ins["mask"])
    if mode.device:
        status = lib.clattn_attention_weights(mode.handle, C.byref(desc), _mem(ins["q"]),
                                              _mem(ins["k"]), mask_ptr, w.ctypes.data)
    else:
        status = lib.clattn_ref_attention_weights(C.byref(desc), _mem(ins["q"]), _mem(ins["k"]),
                                                  mask_ptr, w.ctypes.data)
    _errors.check(status)
    return w


# ---- appending to a paged KV cache ----------------------------------------------------------
def kv_append(backend, k_new, v_new, k_pages, v_pages, block_table, seqlens_k, *, queue=None,
              wait_for=None):
    """Writes k_new/v_new [B, Hkv, T, D] into the pages [num_pages, Hkv, P, D] in place at
    positions seqlens_k[b] .. + T - 1 (block_table [B, max_pages]); seqlens_k is not
    updated. Returns the pages (NumPy), or a pyopencl.Event when enqueued."""
    if backend == "cpu":
        _errors.fail(_errors.INVALID_VALUE, "the CPU backend has no kv_append (use clattn.ref "
                     "or a Handle)")
    mode = _Mode(backend, (k_new, v_new, k_pages, v_pages, block_table, seqlens_k), queue,
                 wait_for)
    tkn, tvn = mode.tensor(k_new, "k_new"), mode.tensor(v_new, "v_new")
    pages = []
    for x, name in ((k_pages, "k_pages"), (v_pages, "v_pages")):
        ok = T.is_cl_array(x) if mode.enqueue else (
            isinstance(x, np.ndarray) and x.dtype == F32 and x.flags.writeable)
        if not ok:
            _errors.fail(_errors.INVALID_VALUE, f"{name}: written in place, so a writable "
                         f"float32 {'pyopencl' if mode.enqueue else 'NumPy'} array")
        t = mode.tensor(x, name)
        if t.host is not None and t.host is not x:
            _errors.fail(_errors.INVALID_SHAPE, f"{name}: strides clattn cannot express")
        if not T.writable_layout(t.shape, t.strides):
            _errors.fail(_errors.INVALID_SHAPE, f"{name}: elements overlap")
        pages.append(t)
    tkp, tvp = pages
    B, Hkv, Tn, D = tkn.shape
    Dv = tvn.shape[3]
    num_pages, _, P, _ = tkp.shape
    if tvn.shape[:3] != (B, Hkv, Tn) or tkp.shape[1:] != (Hkv, P, D) or \
            tvp.shape != (num_pages, Hkv, P, Dv):
        _errors.fail(_errors.INVALID_SHAPE, f"kv_append: k_new {tkn.shape}, v_new {tvn.shape}, "
                     f"k_pages {tkp.shape}, v_pages {tvp.shape} disagree")
    table = _int32_tensor(mode, block_table, "block_table", 2)
    lengths = _int32_tensor(mode, seqlens_k, "seqlens_k", 1)
    if table.shape[0] != B or lengths.shape != (B,):
        _errors.fail(_errors.INVALID_SHAPE, f"block_table {table.shape} and seqlens_k "
                     f"{lengths.shape}: [B, max_pages] and [B] with B = {B}")
    desc = S.KvAppendDesc(batch=B, kv_heads=Hkv, tokens=Tn, d=D, dv=Dv, page_size=P,
                          num_pages=num_pages, max_pages=table.shape[1])
    for t, field in ((tkn, "k_new"), (tvn, "v_new"), (tkp, "k_pages"), (tvp, "v_pages")):
        t.layout(getattr(desc, field))
    ptrs = (tkn.pointer(), tvn.pointer(), tkp.pointer(), tvp.pointer(), table.pointer(),
            lengths.pointer())
    if mode.enqueue:
        n_wait, wl = mode.wait_list()
        done = C.c_void_p()
        _errors.check(lib.clattn_enqueue_kv_append(mode.handle, mode.queue.int_ptr,
                                                   C.byref(desc), *ptrs, n_wait, wl,
                                                   C.byref(done)))
        event = mode.event(done)
        k_pages.add_event(event)
        v_pages.add_event(event)
        return event
    if mode.device:
        status = lib.clattn_kv_append(mode.handle, C.byref(desc), *ptrs)
    else:
        status = lib.clattn_ref_kv_append(C.byref(desc), *ptrs)
    _errors.check(status)
    return k_pages, v_pages


# ---- the query operations (the textbook's) --------------------------------------------------
QueryResult = namedtuple("QueryResult", "scores weights context event",
                         defaults=(None, None, None, None))
QueryResult.__doc__ = """scores [n], weights [n] and context [d] of one query (event: the
pyopencl event of an enqueued call, else None)."""


def query_attention(backend, x, q, v=None, *, norm="sum", scale=1.0, out=None, queue=None,
                    wait_for=None):
    outs = out if out is not None else {}
    if not isinstance(outs, dict):
        outs = outs._asdict() if hasattr(outs, "_asdict") else None
        if outs is None:
            _errors.fail(_errors.INVALID_VALUE, "out: a dict (or QueryResult) of scores, "
                         "weights, context")
    mode = _Mode(backend, (x, q, v) + tuple(outs.values()), queue, wait_for)
    allowed = ("none", "sum", "softmax")
    code = norm_code(norm, allowed)
    tx = mode.packed(x, "x", 2)
    n, d = tx.shape
    tq = mode.packed(q, "q", 1)
    if tq.shape[-1] != d:
        _errors.fail(_errors.INVALID_SHAPE, f"q: length {tq.shape[-1]}, expected d = {d}")
    tv = None
    if v is not None:
        tv = mode.packed(v, "v", 2)
        if tv.shape != (n, d):
            _errors.fail(_errors.INVALID_SHAPE, f"v: shape {tv.shape}, expected {(n, d)}")
    shapes = {"scores": (n,), "weights": (n,), "context": (d,)}
    made = {name: mode.output(outs.get(name), shape, name, packed=True)
            for name, shape in shapes.items()}
    ptr = {name: t.pointer() for name, (t, _) in made.items()}
    scale = float(scale)
    if mode.enqueue:
        h, qp = mode.handle, mode.queue.int_ptr
        off = {name: t.offset for name, (t, _) in made.items()}
        n_wait, wl = mode.wait_list()
        e1, e2, e3 = C.c_void_p(), C.c_void_p(), C.c_void_p()
        _errors.check(lib.clattn_enqueue_scores(h, qp, n, d, scale, tx.pointer(), tx.offset,
                                                tq.pointer(), tq.offset, ptr["scores"],
                                                off["scores"], n_wait, wl, C.byref(e1)))
        ev1 = mode.event(e1)
        _errors.check(lib.clattn_enqueue_normalize(h, qp, code, n, ptr["scores"], off["scores"],
                                                   ptr["weights"], off["weights"], 1,
                                                   C.byref(C.c_void_p(ev1.int_ptr)), C.byref(e2)))
        ev2 = mode.event(e2)
        src = tv if tv is not None else tx
        _errors.check(lib.clattn_enqueue_context(h, qp, n, d, ptr["weights"], off["weights"],
                                                 src.pointer(), src.offset, ptr["context"],
                                                 off["context"], 1,
                                                 C.byref(C.c_void_p(ev2.int_ptr)), C.byref(e3)))
        ev3 = mode.event(e3)
        # Scores and weights are complete once the context (which waited on them) is.
        return QueryResult(event=ev3, **{name: fin(ev3) for name, (_, fin) in made.items()})
    vp = tv.pointer() if tv is not None else None
    if mode.device:
        status = lib.clattn_query_attention(mode.handle, n, d, tx.pointer(), tq.pointer(), vp,
                                            scale, code, ptr["scores"], ptr["weights"],
                                            ptr["context"])
    elif backend == "cpu":
        status = lib.clattn_cpu_query_attention(n, d, tx.pointer(), tq.pointer(), vp, scale,
                                                code, ptr["scores"], ptr["weights"],
                                                ptr["context"])
    else:
        status = lib.clattn_ref_scores(n, d, scale, tx.pointer(), tq.pointer(), ptr["scores"])
        if status == 0:
            status = lib.clattn_ref_normalize(code, n, ptr["scores"], ptr["weights"])
        if status == 0:
            status = lib.clattn_ref_context(n, d, ptr["weights"], vp or tx.pointer(),
                                            ptr["context"])
    _errors.check(status)
    return QueryResult(**{name: fin() for name, (_, fin) in made.items()})


# ---- linear layer ---------------------------------------------------------------------------
_LINEAR_HOST = {"ref": "clattn_ref_linear", "cpu": "clattn_cpu_linear"}


def linear(backend, x, w, bias=None, *, out=None, queue=None, wait_for=None):
    """y = x W^T + bias: x [..., k], W [cols, k], bias [cols] -> y [..., cols]."""
    mode = _Mode(backend, (x, w, bias, out), queue, wait_for)
    tw = mode.tensor(w, "w", 2, F32)
    cols, k = tw.shape
    xshape = tuple(x.shape) if T.is_cl_array(x) else np.shape(x)
    if len(xshape) < 1 or xshape[-1] != k:
        _errors.fail(_errors.INVALID_SHAPE, f"x: shape {xshape}, expected [..., {k}] (W is "
                     f"[{cols}, {k}])")
    rows = int(np.prod(xshape[:-1], dtype=np.int64)) if len(xshape) > 1 else 1
    tb = None
    if bias is not None:
        tb = mode.packed(bias, "bias", 1)
        if tb.shape[-1] != cols:
            _errors.fail(_errors.INVALID_SHAPE, f"bias: length {tb.shape[-1]}, expected {cols}")
    yshape = tuple(xshape[:-1]) + (cols,)
    if mode.enqueue:
        tx = mode.tensor(x, "x", 2, F32) if len(xshape) <= 2 else mode.packed(x, "x", 4)
        ty, fin = mode.output(out, yshape, "out", packed=len(yshape) > 2)
        ldx = tx.strides[-2] if rows > 1 and len(xshape) == 2 else k
        ldw = tw.strides[0] if cols > 1 else k
        ldy = ty.strides[-2] if rows > 1 and len(yshape) == 2 else cols
        n_wait, wl = mode.wait_list()
        done = C.c_void_p()
        _errors.check(lib.clattn_enqueue_linear(
            mode.handle, mode.queue.int_ptr, rows, cols, k, tx.pointer(), tx.offset, ldx,
            tw.pointer(), tw.offset, ldw, _mem(tb), tb.offset if tb else 0, ty.pointer(),
            ty.offset, ldy, n_wait, wl, C.byref(done)))
        return _result([fin], mode.event(done), [out])
    tx = mode.packed(x, "x", 4)
    tw = mode.packed(w, "w", 2)
    ty, fin = mode.output(out, yshape, "out", packed=True)
    args = (rows, cols, k, tx.pointer(), tw.pointer(), _mem(tb), ty.pointer())
    if mode.device:
        status = lib.clattn_linear(mode.handle, *args)
    else:
        status = getattr(lib, _LINEAR_HOST[backend])(*args)
    _errors.check(status)
    return fin()


# ---- multi-head attention -------------------------------------------------------------------
_MHA_HOST = {"ref": "clattn_ref_mha_forward_masked", "cpu": "clattn_cpu_mha_forward_masked"}
_MHA_MASK_SHAPES = {"per_head": 0, "per_batch": 1, "key_padding": 2}


def mha(backend, x, wq, wk, wv, wo, heads, *, bq=None, bk=None, bv=None, bo=None, causal=False,
        mask=None, sinks=None, softcap=0.0, alibi=False, window=None, sink_keys=0, dropout=0.0,
        dropout_seed=0, dropout_offset=0, out=None, queue=None, wait_for=None):
    """Multi-head self-attention with projections: x [B, T, d_in] (or [T, d_in]), W* [d_out,
    d_in] (Wo [d_out, d_out]), biases [d_out] or None; causal top-left; mask [B, H, T, T],
    [B, 1, T, T] or a key-padding mask [B, T] (bool: attend where true; float: added); the
    model variants of attention (sinks [heads], softcap, alibi, window, sink_keys, dropout)."""
    weights = dict(wq=wq, wk=wk, wv=wv, wo=wo, bq=bq, bk=bk, bv=bv, bo=bo)
    mode = _Mode(backend, (x, mask, sinks, out) + tuple(weights.values()), queue, wait_for)
    if causal not in (False, True, None, "top-left"):
        _errors.fail(_errors.INVALID_VALUE, 'mha: causal is False or True ("top-left")')
    xshape = tuple(x.shape) if T.is_cl_array(x) else np.shape(x)
    if len(xshape) not in (2, 3):
        _errors.fail(_errors.INVALID_SHAPE, f"x: shape {xshape}, expected [B, T, d_in]")
    tx = mode.packed(x, "x", 3)
    B, Tn, d_in = tx.shape
    tw = {}
    for name, arr in weights.items():
        if arr is not None:
            tw[name] = mode.packed(arr, name, 2 if name.startswith("w") else 1)
    missing = [name for name in ("wq", "wk", "wv", "wo") if name not in tw]
    if missing:
        _errors.fail(_errors.NULL_POINTER, f"mha: {', '.join(missing)} is None")
    d_out = tw["wq"].shape[0]
    desc = S.MhaDesc(batch=B, tokens=Tn, d_in=d_in, d_out=d_out, heads=_count(heads, "heads", 1),
                     causal=int(bool(causal)))
    _apply_variants(desc, softcap, alibi, window, sink_keys, dropout, dropout_seed,
                    dropout_offset)
    ts = _sinks_tensor(mode, sinks, desc.heads)
    if ts is not None:
        tw["sinks"] = ts
    for name in ("wq", "wk", "wv"):
        if tw[name].shape != (d_out, d_in):
            _errors.fail(_errors.INVALID_SHAPE, f"{name}: shape {tw[name].shape}, expected "
                         f"{(d_out, d_in)}")
    if tw["wo"].shape != (d_out, d_out):
        _errors.fail(_errors.INVALID_SHAPE, f"wo: shape {tw['wo'].shape}, expected "
                     f"{(d_out, d_out)}")
    for name in ("bq", "bk", "bv", "bo"):
        if name in tw and tw[name].shape[-1] != d_out:
            _errors.fail(_errors.INVALID_SHAPE, f"{name}: length {tw[name].shape[-1]}, "
                         f"expected {d_out}")
    tm = None
    if mask is not None:
        from ._dtypes import mask_kind
        kind, dtype = mask_kind(mask.dtype if hasattr(mask, "dtype") else np.asarray(mask).dtype)
        mshape = tuple(mask.shape) if T.is_cl_array(mask) else np.shape(mask)
        H = int(heads)
        if mshape == (B, Tn) or (len(xshape) == 2 and mshape == (Tn,)):
            desc.mask_shape = _MHA_MASK_SHAPES["key_padding"]
        elif mshape in ((B, 1, Tn, Tn),) or (len(xshape) == 2 and mshape == (1, Tn, Tn)):
            desc.mask_shape = _MHA_MASK_SHAPES["per_batch"]
        elif mshape == (B, H, Tn, Tn) or (len(xshape) == 2 and mshape == (H, Tn, Tn)):
            desc.mask_shape = _MHA_MASK_SHAPES["per_head"]
        else:
            _errors.fail(_errors.INVALID_SHAPE, f"mask: shape {mshape}; expected [B, H, T, T], "
                         f"[B, 1, T, T] or [B, T] with B={B}, H={H}, T={Tn}")
        desc.mask_kind = kind
        tm = mode.packed(mask, "mask", 4, dtype)
    oshape = tuple(xshape[:-1]) + (d_out,)
    to, fin = mode.output(out, oshape, "out", packed=True)
    if mode.enqueue:
        bufs = S.MhaBuffers(**{name: t.pointer() for name, t in tw.items()})
        n_wait, wl = mode.wait_list()
        done = C.c_void_p()
        _errors.check(lib.clattn_enqueue_mha_forward_masked(
            mode.handle, mode.queue.int_ptr, C.byref(desc), C.byref(bufs), tx.pointer(),
            _mem(tm), to.pointer(), n_wait, wl, C.byref(done)))
        return _result([fin], mode.event(done), [out])
    wts = S.MhaWeights(**{name: t.pointer() for name, t in tw.items()})
    if mode.device:
        status = lib.clattn_mha_forward_masked(mode.handle, C.byref(desc), C.byref(wts),
                                               tx.pointer(), _mem(tm), to.pointer())
    else:
        status = getattr(lib, _MHA_HOST[backend])(C.byref(desc), C.byref(wts), tx.pointer(),
                                                  _mem(tm), to.pointer())
    _errors.check(status)
    return fin()


def default_scale(d):
    return 1.0 / math.sqrt(d)
