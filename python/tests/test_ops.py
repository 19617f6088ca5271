"""query_attention, linear and mha on every backend against NumPy float64."""

import numpy as np
import pytest

import clattn
from conftest import rand
import numpy_ref

# The textbook's six tokens (chapter 3): "Your journey starts with one step".
X = np.array([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
              [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]], np.float32)


def backend_fn(backend, handle, name):
    return getattr(handle, name) if backend == "device" else getattr(getattr(clattn, backend), name)


@pytest.mark.parametrize("backend", ["device", "cpu", "ref"])
@pytest.mark.parametrize("norm", ["sum", "softmax", "none"])
def test_query_attention(handle, rng, backend, norm):
    query = backend_fn(backend, handle, "query_attention")
    for x, q, v, scale in ((X, X[1], None, 1.0),
                           (rand(rng, 113, 7), rand(rng, 7), rand(rng, 113, 7), 0.3)):
        r = query(x, q, v, norm=norm, scale=scale)
        s, w, z = numpy_ref.query(x, q, v, norm=norm, scale=scale)
        np.testing.assert_allclose(r.scores, s, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(r.weights, w, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(r.context, z, rtol=1e-4, atol=1e-4)
        assert r.event is None
    # By name, as the textbook prints them.
    r = query(X, X[1], norm="sum")
    np.testing.assert_allclose(r.weights, [0.1455, 0.2278, 0.2249, 0.1285, 0.1077, 0.1656],
                               atol=5e-5)


def test_query_attention_outputs_in_place(handle):
    out = {"weights": np.zeros(6, np.float32), "context": np.zeros(3, np.float32)}
    r = handle.query_attention(X, X[1], norm="softmax", out=out)
    assert r.weights is out["weights"] and r.context is out["context"]
    np.testing.assert_allclose(out["context"], [0.4419, 0.6515, 0.5683], atol=5e-5)


@pytest.mark.parametrize("backend", ["device", "cpu", "ref"])
def test_linear(handle, rng, backend):
    linear = backend_fn(backend, handle, "linear")
    for rows, cols, k in ((1, 1, 1), (7, 33, 65), (40, 24, 48)):
        x, w, b = rand(rng, rows, k), rand(rng, cols, k), rand(rng, cols)
        np.testing.assert_allclose(linear(x, w), numpy_ref.linear(x, w), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(linear(x, w, b), numpy_ref.linear(x, w, b), rtol=1e-4,
                                   atol=1e-4)
    x3 = rand(rng, 2, 5, 16)  # leading dimensions are rows
    w = rand(rng, 8, 16)
    np.testing.assert_allclose(linear(x3, w), numpy_ref.linear(x3, w), rtol=1e-4, atol=1e-4)
    xs = rand(rng, 9, 32)[:, :16]  # a row-strided view: copied for the packed host forms
    np.testing.assert_allclose(linear(xs, w), numpy_ref.linear(xs, w), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("backend", ["device", "cpu", "ref"])
def test_mha(handle, rng, backend):
    mha = backend_fn(backend, handle, "mha")
    B, T, d_in, d_out, H = 2, 6, 12, 16, 4
    x = rand(rng, B, T, d_in)
    wq, wk, wv = (0.3 * rand(rng, d_out, d_in) for _ in range(3))
    wo = 0.3 * rand(rng, d_out, d_out)
    biases = dict(bq=rand(rng, d_out), bk=rand(rng, d_out), bv=rand(rng, d_out),
                  bo=rand(rng, d_out))
    padding = np.ones((B, T), bool)
    padding[1, 4:] = False
    per_head = rng.random((B, H, T, T)) > 0.3
    per_head[..., 0] = True
    additive = np.where(rng.random((B, 1, T, T)) > 0.3, 0.0, -np.inf).astype(np.float32)
    additive[..., 0] = 0.0
    for kw in (dict(), dict(causal=True, **biases), dict(mask=padding, **biases),
               dict(mask=per_head, causal=True), dict(mask=additive)):
        got = mha(x, wq, wk, wv, wo, H, **kw)
        want = numpy_ref.mha(x, wq, wk, wv, wo, H, **kw)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    got2 = mha(x[0], wq, wk, wv, wo, H)  # [T, d_in]: one sequence
    np.testing.assert_allclose(got2, numpy_ref.mha(x[:1], wq, wk, wv, wo, H)[0], rtol=1e-4,
                               atol=1e-4)


def test_mha_variants(handle, rng):
    B, T, d_in, d_out, H = 2, 6, 12, 16, 4
    x = rand(rng, B, T, d_in)
    wq, wk, wv = (0.3 * rand(rng, d_out, d_in) for _ in range(3))
    wo = 0.3 * rand(rng, d_out, d_out)
    for kw in (dict(softcap=1.5), dict(alibi=True, causal=True), dict(window=(2, 1))):
        want = numpy_ref.mha(x, wq, wk, wv, wo, H, **kw)
        for mha in (clattn.ref.mha, clattn.cpu.mha):
            np.testing.assert_allclose(mha(x, wq, wk, wv, wo, H, **kw), want, rtol=1e-4,
                                       atol=1e-4)
    # Sinks, sink keys and dropout: the reference is the oracle; the device runs the sinks
    # (a tensor of the layer's weights; each variant is a kernel build of seconds there).
    kw = dict(sinks=rand(rng, H), sink_keys=1, window=(1, 0), dropout=0.2, dropout_seed=3)
    want = clattn.ref.mha(x, wq, wk, wv, wo, H, **kw)
    np.testing.assert_allclose(clattn.cpu.mha(x, wq, wk, wv, wo, H, **kw), want, rtol=1e-4,
                               atol=1e-4)
    sinks = dict(sinks=kw["sinks"])
    want = clattn.ref.mha(x, wq, wk, wv, wo, H, **sinks)
    assert not np.allclose(want, clattn.ref.mha(x, wq, wk, wv, wo, H))
    np.testing.assert_allclose(handle.mha(x, wq, wk, wv, wo, H, **sinks), want, rtol=1e-4,
                               atol=1e-4)
