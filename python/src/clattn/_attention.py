"""Attention (dense, grouped-query, varlen, paged) and its materialised weights."""

import ctypes as C

import numpy as np

from . import _dtypes, _errors
from . import _structs as S
from . import _tensors as T
from ._lib import lib
from ._mode import (F32, _apply_variants, _count, _int32_tensor, _mem, _Mode, _result,
                    _sinks_tensor, causal_code, norm_code)

_ATTENTION_HOST = {"ref": "clattn_ref_attention_ex", "cpu": "clattn_cpu_attention_ex"}


def _max_length(t, given, name):
    """max_seqlen: given, or read from host cumulative offsets."""
    if given is not None:
        return _count(given, name, 1)
    if t.host is None:
        _errors.fail(_errors.NULL_POINTER, f"{name} is needed with device cu_seqlens (the host "
                     "does not read device memory)")
    cu = t.host.astype(np.int64)
    return max(int(np.max(np.diff(cu))) if cu.size > 1 else 0, 1)


def _storage(x, name, weights_only):
    """The dtype an attention operand is stored as: its own when the attention stores it
    (float32, float16, bfloat16), else float32. attention_weights takes float32 only."""
    if weights_only:
        return None
    dtype = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    return _dtypes.operand_type(dtype, name, _dtypes.ATTENTION).dtype


def _dtype_code(t):
    return _dtypes.ATTENTION[np.dtype(t.dtype)].code


def _varlen_layout(t, layout):
    """A packed-token tensor [total, H, cols] as clattn's varlen layout (h, t, c)."""
    layout.offset = t.offset
    layout.stride[0] = 0
    layout.stride[1] = t.strides[1]
    layout.stride[2] = t.strides[0]


def _attention_desc(mode, q, k, v, mask, causal, scale, norm, softcap, alibi, window, sinks,
                    sink_keys, dropout, dropout_seed, dropout_offset, kv_splits, weights_only,
                    varlen=None, paged=None):
    """(desc, the input tensors by field name, sizes). varlen = (cu_seqlens_q, cu_seqlens_k,
    max_seqlen_q, max_seqlen_k) for packed sequences; paged = (block_table, seqlens_k) for a
    paged KV cache (k, v: pages [num_pages, Hkv, page_size, D])."""
    extra = {}
    dq = _storage(q, "q", weights_only)
    dk = _storage(k, "k", weights_only)
    dv = None if weights_only else _storage(v, "v", weights_only)
    if varlen is not None and paged is not None:
        _errors.fail(_errors.INVALID_VALUE, "varlen and a paged KV cache are not composed")
    if varlen is not None:
        tq, tk = mode.tensor(q, "q", 3, dq), mode.tensor(k, "k", 3, dk)
        tv = None if weights_only else mode.tensor(v, "v", 3, dv)
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
        tq = mode.tensor(q, "q", 4, dq)
        tk = mode.tensor(k, "k_pages" if paged is not None else "k", 4, dk)
        tv = None if weights_only else mode.tensor(
            v, "v_pages" if paged is not None else "v", 4, dv)
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
        kind, dtype = _dtypes.mask_kind(
            mask.dtype if hasattr(mask, "dtype") else np.asarray(mask).dtype)
        if weights_only and kind == 1:
            dtype = np.dtype(np.float32)
        tm = T.broadcast_mask(mode.tensor(mask, "mask", 4, dtype, rows_may_overlap=True),
                              (B, Hq, M, N))
        desc.mask_kind = kind
        if kind == 1:
            desc.mask_dtype = _dtype_code(tm)
        tm.layout(desc.mask)
    if not weights_only:
        desc.q_dtype, desc.k_dtype = _dtype_code(tq), _dtype_code(tk)
        desc.v_dtype = _dtype_code(tv)
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
    # O is stored as out's dtype when given (float32, float16 or bfloat16), else as Q's (as
    # PyTorch's SDPA returns the query's dtype).
    o_dtype = ins["q"].dtype if out is None else _storage(out, "out", False)
    to, o_finish = mode.output(out, lead + (Dv,), "out", dtype=o_dtype)
    desc.o_dtype = _dtype_code(to)
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
