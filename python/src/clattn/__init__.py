"""clattn: attention on OpenCL (any vendor's device, or PoCL on the CPU) from Python.

A thin ctypes binding of the clattn C library (bundled in this package); no second
implementation. Quick use:

    import clattn, numpy as np
    q = np.random.rand(1, 8, 128, 64).astype(np.float32)
    o = clattn.attention(q, q, q, causal=True)          # default device
    with clattn.Handle("cpu") as h:                    # a chosen device
        o, lse = h.attention(q, q, q, return_lse=True)
    clattn.ref.attention(q, q, q)                      # double-precision reference
    clattn.cpu.attention(q, q, q)                      # fast CPU backend (no OpenCL)

Arrays are [B, H, M, D] (or fewer leading dimensions); any strides with a contiguous last
dimension pass without a copy. pyopencl arrays, out=, queue= and wait_for= enqueue the call
and return a pyopencl.Event. Failures raise clattn.Error (.name, .message, .status).
"""

from . import _ops
from ._dtypes import ATTENTION as _ATTENTION
from ._dtypes import bfloat16, float16, float32
from ._errors import Error
from ._handle import Device, Handle, default_handle, devices
from ._lib import lib as _lib
from ._lib import text as _text
from ._ops import QueryResult

__version__ = "0.1.0"

#: The element types the library stores: float32 everywhere; float16 and bfloat16 (the latter
#: with ml_dtypes installed; else clattn.bfloat16 is None) in the fused attention.
dtypes = tuple(_ATTENTION.values())


def library_version():
    """The version of the loaded libclattn ("0.1.0")."""
    return _text(_lib.clattn_version())


_handles_by_context = {}


def _handle_for(handle, operands, queue):
    """The handle a module-level call uses: the given one; else, for pyopencl operands, one
    made (once) on their context and queue; else the default handle."""
    if handle is not None:
        return handle
    from ._tensors import is_cl_array
    cl_operand = next((x for x in operands if is_cl_array(x)), None)
    if cl_operand is None and queue is None:
        return default_handle()
    q = queue if queue is not None else cl_operand.queue
    ctx = q.context
    key = (ctx.int_ptr, q.device.int_ptr)
    h = _handles_by_context.get(key)
    if h is None or h.closed:
        h = Handle.from_pyopencl(ctx, q)
        _handles_by_context[key] = h
    return h


def attention(q, k, v, *, handle=None, **options):
    """O = norm(scale * Q K^T + mask) V on a device.

    q [B, Hq, M, D], k [B, Hkv, N, D], v [B, Hkv, N, Dv] (Hq a multiple of Hkv: grouped-query
    attention; fewer leading dimensions are fine). Options (every field of the C descriptor):
    causal=False|True|"top-left"|"bottom-right", mask (bool/uint8: attend where true; float:
    added; broadcast to [B, Hq, M, N]), scale (default 1/sqrt(D)), norm="softmax"|"sum",
    return_lse, softcap, alibi, window=(left, right) (None: unbounded side), sinks [Hq],
    sink_keys, dropout with dropout_seed and dropout_offset, kv_splits; out=, lse= outputs;
    queue=, wait_for= (pyopencl). Returns o, or (o, lse) with return_lse.

    Packed variable-length batches: cu_seqlens_q, cu_seqlens_k ([B + 1] int32; max_seqlen_q/_k
    computed from host arrays) with q [total_q, Hq, D], k/v [total_k, Hkv, D]; o like q, the
    LSE [Hq, total_q]. A paged KV cache: block_table [B, max_pages] and seqlens_k [B] (int32)
    with k/v as pages [num_pages, Hkv, page_size, D] (any strides)."""
    h = _handle_for(handle, (q, k, v, options.get("out")), options.get("queue"))
    return _ops.attention(h, q, k, v, **options)


def attention_weights(q, k, *, handle=None, **options):
    """The materialised weights norm(scale * Q K^T + mask) [.., M, N] (small problems).
    Options: causal, mask, scale, norm="softmax"|"sum"|"none"."""
    return _ops.attention_weights(_handle_for(handle, (), None), q, k, **options)


def kv_append(k_new, v_new, k_pages, v_pages, block_table, seqlens_k, *, handle=None,
              **options):
    """Appends k_new/v_new [B, Hkv, T, D] to a paged KV cache in place: pages [num_pages, Hkv,
    page_size, D] (any strides), block_table [B, max_pages], seqlens_k [B] (the lengths before
    the append; not updated). queue=, wait_for= with pyopencl pages (returns the event)."""
    h = _handle_for(handle, (k_pages, v_pages), options.get("queue"))
    return _ops.kv_append(h, k_new, v_new, k_pages, v_pages, block_table, seqlens_k, **options)


def query_attention(x, q, v=None, *, norm="sum", scale=1.0, handle=None, **options):
    """The textbook's single query: scores = scale * x q, weights = norm(scores) ("sum", the
    textbook's, "softmax" or "none"), context = weights v (v = x when None). Returns a
    QueryResult (scores, weights, context, event)."""
    h = _handle_for(handle, (x, q, v), options.get("queue"))
    return _ops.query_attention(h, x, q, v, norm=norm, scale=scale, **options)


def linear(x, w, bias=None, *, handle=None, **options):
    """y = x W^T + bias on a device: x [..., k], W [cols, k], bias [cols] or None."""
    h = _handle_for(handle, (x, w, bias, options.get("out")), options.get("queue"))
    return _ops.linear(h, x, w, bias, **options)


def mha(x, wq, wk, wv, wo, heads, *, handle=None, **options):
    """Multi-head self-attention with projections on a device: x [B, T, d_in] (or [T, d_in]),
    wq/wk/wv [d_out, d_in], wo [d_out, d_out]; options bq, bk, bv, bo (biases), causal, mask
    ([B, H, T, T], [B, 1, T, T] or key padding [B, T]), the model variants of attention (sinks
    [heads], softcap, alibi, window, sink_keys, dropout, dropout_seed, dropout_offset), out,
    queue, wait_for."""
    h = _handle_for(handle, (x, options.get("out")), options.get("queue"))
    return _ops.mha(h, x, wq, wk, wv, wo, heads, **options)


def _method(op, doc):
    def method(self, *args, **kwargs):
        return op(self, *args, **kwargs)
    method.__name__ = op.__name__
    method.__doc__ = doc
    return method


for _name in ("attention", "attention_weights", "kv_append", "query_attention", "linear", "mha"):
    setattr(Handle, _name, _method(getattr(_ops, _name), globals()[_name].__doc__))

from . import cpu, ref  # noqa: E402  (they use the names above)

__all__ = [
    "Device", "Error", "Handle", "QueryResult", "attention", "attention_weights", "bfloat16",
    "cpu", "devices", "dtypes", "float16", "float32", "kv_append", "library_version", "linear",
    "mha", "query_attention", "ref",
]
