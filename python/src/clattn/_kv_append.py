"""Appending new keys and values to a paged KV cache."""

import ctypes as C

import numpy as np

from . import _errors
from . import _structs as S
from . import _tensors as T
from ._lib import lib
from ._mode import F32, _int32_tensor, _Mode


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
