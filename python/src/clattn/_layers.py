"""The linear layer and multi-head attention with projections."""

import ctypes as C

import numpy as np

from . import _errors
from . import _structs as S
from . import _tensors as T
from ._lib import lib
from ._mode import F32, _apply_variants, _count, _mem, _Mode, _result, _sinks_tensor


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
