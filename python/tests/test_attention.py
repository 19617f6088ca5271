"""clattn.attention on every backend against the NumPy float64 implementation."""

import numpy as np
import pytest

import clattn
from clattn import _tensors
from conftest import rand
import numpy_ref

# (B, Hq, Hkv, M, N, D, Dv): single elements, GQA, MQA, more rows than keys, odd sizes. The
# device's kernels are compiled per head dim (and per feature value), seconds each with cold
# caches on PoCL: the device runs one shape (the binding's code is the same for every
# backend; the C suites test the kernels), the host backends every shape.
SHAPES = [
    (2, 4, 2, 5, 7, 16, 16),
]
HOST_SHAPES = [
    (1, 3, 1, 17, 33, 64, 64),
    (1, 1, 1, 1, 1, 16, 16),
    (2, 2, 2, 37, 19, 16, 16),
    (1, 1, 1, 1, 1, 1, 1),
    (2, 4, 2, 5, 7, 8, 3),
    (1, 2, 1, 3, 70, 80, 24),
]
BACKENDS = ["device", "cpu", "ref"]


def run(backend, handle, *args, **kw):
    if backend == "device":
        return handle.attention(*args, **kw)
    return getattr(clattn, backend).attention(*args, **kw)


def close(got, want, atol=3e-5, rtol=1e-4):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def sum_close(got, want):
    """SUM divides by a sum of signed scores, which may nearly cancel: relative 2e-3."""
    close(got, want, atol=1e-3, rtol=2e-3)


CASES = [(b, s) for b in BACKENDS for s in SHAPES] + [
    (b, s) for b in ("cpu", "ref") for s in HOST_SHAPES]


@pytest.mark.parametrize("backend,shape", CASES, ids=lambda s: "x".join(map(str, s))
                         if isinstance(s, tuple) else s)
@pytest.mark.parametrize("causal", [False, "top-left", "bottom-right"])
def test_shapes_and_causal(handle, rng, backend, shape, causal):
    B, Hq, Hkv, M, N, D, Dv = shape
    q, k, v = rand(rng, B, Hq, M, D), rand(rng, B, Hkv, N, D), rand(rng, B, Hkv, N, Dv)
    o, lse = run(backend, handle, q, k, v, causal=causal, return_lse=True)
    want_o, want_lse, _ = numpy_ref.attention(q, k, v, causal=causal)
    assert o.shape == (B, Hq, M, Dv) and o.dtype == np.float32 and lse.shape == (B, Hq, M)
    close(o, want_o)
    close(lse, want_lse)  # -inf (fully masked rows) compares equal


@pytest.mark.parametrize("backend", BACKENDS)
def test_masks(handle, rng, backend):
    B, H, Hkv, M, N, D = 2, 4, 2, 5, 7, 16  # a shape the device compiled above
    q, k, v = rand(rng, B, H, M, D), rand(rng, B, Hkv, N, D), rand(rng, B, Hkv, N, D)
    cases = {
        "bool per head": rng.random((B, H, M, N)) > 0.4,
        "uint8 key padding": (rng.random((B, 1, 1, N)) > 0.3).astype(np.uint8),
        "additive [M, N]": np.where(rng.random((M, N)) > 0.3, rng.standard_normal((M, N)),
                                    -np.inf).astype(np.float32),
        "additive float64 [B, 1, M, N]": rng.standard_normal((B, 1, M, N)),
        "bool one key column broadcast": np.ones((M, 1), bool),
    }
    for name, mask in cases.items():
        o = run(backend, handle, q, k, v, mask=mask, causal=True)
        close(o, numpy_ref.attention(q, k, v, mask=mask, causal=True)[0], atol=5e-5)


OPTION_CASES = [
    dict(scale=0.5),
    dict(norm="sum", scale=1.0),
    dict(softcap=2.0),
    dict(alibi=True, causal="bottom-right"),
    dict(window=(3, 0), causal="bottom-right"),
    dict(window=(2, None)),
    dict(softcap=2.0, alibi=True, window=(3, 1), causal="bottom-right"),
]


@pytest.mark.parametrize("backend,kw", [("cpu", kw) for kw in OPTION_CASES] +
                         [("ref", kw) for kw in OPTION_CASES] +
                         [("device", OPTION_CASES[0])])
def test_options(handle, rng, backend, kw):
    B, Hq, Hkv, M, N, D = 2, 4, 2, 5, 7, 16
    q, k, v = rand(rng, B, Hq, M, D), rand(rng, B, Hkv, N, D), rand(rng, B, Hkv, N, D)
    o = run(backend, handle, q, k, v, **kw)
    want = numpy_ref.attention(q, k, v, **kw)[0]
    (sum_close if kw.get("norm") == "sum" else close)(o, want)


def test_every_feature_at_once_agrees_across_backends(handle, rng):
    """Softcap, ALiBi, a window, sinks, sink keys and dropout in one call, the CPU backend
    against the reference; on the device the sinks (the one feature with a tensor of its
    own: each feature is a kernel build of seconds there, and the C suites test them)."""
    q, k, v = rand(rng, 2, 4, 5, 16), rand(rng, 2, 2, 7, 16), rand(rng, 2, 2, 7, 16)
    sinks = np.array([0.5, -1.0, 0.0, 2.0], np.float32)
    kw = dict(sinks=sinks, dropout=0.25, dropout_seed=7, softcap=2.0, alibi=True,
              window=(3, 1), sink_keys=1, causal="bottom-right")
    ref = clattn.ref.attention(q, k, v, **kw)
    close(clattn.cpu.attention(q, k, v, **kw), ref)
    assert not np.allclose(ref, clattn.ref.attention(q, k, v))
    ref_sinks = clattn.ref.attention(q, k, v, sinks=sinks)
    close(handle.attention(q, k, v, sinks=sinks), ref_sinks)
    assert not np.allclose(ref_sinks, clattn.ref.attention(q, k, v))


@pytest.mark.parametrize("backend", BACKENDS)
def test_strided_views_without_copies(handle, rng, backend):
    """Q, K, V as slices of one fused QKV tensor [B, M, 3, H, D]: no copy, right answer."""
    B, M, H, D = 2, 5, 4, 16
    qkv = rand(rng, B, M, 3, H, D)
    q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
    for view in (q, k, v):
        assert np.shares_memory(_tensors.host_tensor(view, "q").host, qkv)
    o = run(backend, handle, q, k, v, causal=True)
    close(o, numpy_ref.attention(q, k, v, causal=True)[0])
    # A transposed last dimension cannot be a clattn layout: copied, still right.
    kt = np.ascontiguousarray(k.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    assert not np.shares_memory(_tensors.host_tensor(kt, "k").host, kt)
    close(run(backend, handle, q, kt, v), numpy_ref.attention(q, kt, v)[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_broadcast_views(handle, rng, backend):
    """Stride-0 batch/head axes pass as they are; a broadcast row axis (rows overlapping) is
    no clattn layout for Q, K, V: copied."""
    q, k = rand(rng, 1, 4, 5, 16), rand(rng, 1, 2, 7, 16)
    qb = np.broadcast_to(q, (2, 4, 5, 16))
    assert np.shares_memory(_tensors.host_tensor(qb, "q").host, q)
    kb = np.broadcast_to(k[:, :, :1], (2, 2, 7, 16))
    assert not np.shares_memory(_tensors.host_tensor(kb, "k").host, k)
    close(run(backend, handle, qb, kb, kb), numpy_ref.attention(qb, kb, kb)[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_views_written_in_place(handle, rng, backend):
    q, k, v = rand(rng, 2, 4, 5, 16), rand(rng, 2, 2, 7, 16), rand(rng, 2, 2, 7, 16)
    big = np.full((2, 5, 4, 16), 7.0, np.float32)  # [B, M, H, Dv]: out is a transposed view
    out = big.transpose(0, 2, 1, 3)
    lse_big = np.full((2, 4, 10), 7.0, np.float32)
    lse = lse_big[:, :, ::2]  # strided rows: computed into a temporary, then copied
    got = run(backend, handle, q, k, v, out=out, lse=lse, return_lse=True)
    assert got[0] is out and got[1] is lse
    want_o, want_lse, _ = numpy_ref.attention(q, k, v)
    close(big.transpose(0, 2, 1, 3), want_o)
    close(lse_big[:, :, ::2], want_lse)
    assert np.all(lse_big[:, :, 1::2] == 7.0)


def test_lower_ranks(handle, rng):
    q, k, v = rand(rng, 5, 16), rand(rng, 7, 16), rand(rng, 7, 16)
    o, lse = handle.attention(q, k, v, return_lse=True)
    assert o.shape == (5, 16) and lse.shape == (5,)
    want_o, want_lse, _ = numpy_ref.attention(q[None, None], k[None, None], v[None, None])
    close(o, want_o[0, 0])
    close(lse, want_lse[0, 0])


def test_attention_weights(handle, rng):
    q, k = rand(rng, 2, 4, 5, 16), rand(rng, 2, 2, 7, 16)
    mask = rng.random((5, 7)) > 0.3
    for norm in ("softmax", "sum", "none"):
        want = numpy_ref.attention(q, k, k, causal=True, mask=mask, norm=norm)[2]
        got = [clattn.ref.attention_weights(q, k, causal=True, mask=mask, norm=norm)]
        if norm == "softmax":  # the device: one norm (a kernel build each)
            got.append(handle.attention_weights(q, k, causal=True, mask=mask, norm=norm))
        for w in got:
            (sum_close if norm == "sum" else close)(w, want)


def test_float64_and_float16_inputs_are_converted(handle, rng):
    q, k = rng.standard_normal((2, 4, 5, 16)), rng.standard_normal((2, 2, 7, 16))
    o = handle.attention(q, k.astype(np.float16), k)
    assert o.dtype == np.float32
    close(o, numpy_ref.attention(q, k.astype(np.float16), k)[0], atol=1e-3)
