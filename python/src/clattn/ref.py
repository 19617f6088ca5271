"""The CPU reference (clattn_ref_*): plain C with double accumulation, the tests' oracle.
The same arguments as the device calls, on NumPy arrays."""

from . import _ops


def attention(q, k, v, **options):
    """As clattn.attention (NumPy arrays; no queue/wait_for)."""
    return _ops.attention("ref", q, k, v, **options)


def attention_weights(q, k, **options):
    """As clattn.attention_weights."""
    return _ops.attention_weights("ref", q, k, **options)


def kv_append(k_new, v_new, k_pages, v_pages, block_table, seqlens_k):
    """As clattn.kv_append (NumPy pages, written in place)."""
    return _ops.kv_append("ref", k_new, v_new, k_pages, v_pages, block_table, seqlens_k)


def query_attention(x, q, v=None, *, norm="sum", scale=1.0, **options):
    """As clattn.query_attention (scores, normalize and context of the reference)."""
    return _ops.query_attention("ref", x, q, v, norm=norm, scale=scale, **options)


def linear(x, w, bias=None, **options):
    """As clattn.linear."""
    return _ops.linear("ref", x, w, bias, **options)


def mha(x, wq, wk, wv, wo, heads, **options):
    """As clattn.mha."""
    return _ops.mha("ref", x, wq, wk, wv, wo, heads, **options)
