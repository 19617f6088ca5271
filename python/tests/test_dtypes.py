"""float16 and bfloat16 storage in clattn.attention: operands passed in their own type, O
in out's type or Q's, against the float64 NumPy attention of the same (rounded) values.

Tolerances: the inputs are the same rounded values on both sides, so what differs is the
float32 accumulation (a few 1e-7 relative at these sizes: 2e-6 here) and O's rounding to its
type, at most half an ulp: 2^-11 of |O| for float16 (11 significant bits), 2^-8 for
bfloat16 (8 bits). Compared with assert_allclose's |got - want| <= atol + rtol |want|.
"""

import numpy as np
import pytest

import clattn
from conftest import rand
import numpy_ref

TOL = {np.dtype(np.float32): (2e-6, 2e-6)}
TOL[np.dtype(np.float16)] = (2.0**-11 + 2e-6, 2e-6)
if clattn.bfloat16 is not None:
    TOL[clattn.bfloat16.dtype] = (2.0**-8 + 2e-6, 2e-6)

BACKENDS = ["device", "cpu", "ref"]


def run(backend, handle, *args, **kw):
    if backend == "device":
        return handle.attention(*args, **kw)
    return getattr(clattn, backend).attention(*args, **kw)


def check(got, want):
    rtol, atol = TOL[got.dtype]
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=rtol, atol=atol)


def bf16():
    if clattn.bfloat16 is None:
        pytest.skip("bfloat16 arrays need ml_dtypes (tools/setup.sh installs it)")
    return clattn.bfloat16.dtype


@pytest.mark.parametrize("backend", BACKENDS)
def test_float16_operands_give_float16_output(backend, handle, rng):
    q, k, v = (rand(rng, *s).astype(np.float16) for s in
               ((2, 4, 5, 16), (2, 2, 9, 16), (2, 2, 9, 16)))
    o = run(backend, handle, q, k, v, causal=True)
    assert o.dtype == np.float16
    check(o, numpy_ref.attention(q, k, v, causal=True)[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_bfloat16_operands_and_mask(backend, handle, rng):
    t = bf16()
    q, k, v = (rand(rng, *s).astype(t) for s in ((1, 2, 3, 8), (1, 1, 6, 8), (1, 1, 6, 8)))
    mask = np.where(rng.random((1, 2, 3, 6)) < 0.3, -np.inf, rng.standard_normal((1, 2, 3, 6)))
    mask = mask.astype(t)
    o = run(backend, handle, q, k, v, mask=mask)
    assert o.dtype == t
    check(o, numpy_ref.attention(q, k, v, mask=mask.astype(np.float64))[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_storage_with_float32_output(backend, handle, rng):
    """float32 Q, float16 K, V in float16 on the device (the same program as above) and out=
    float32: each tensor is read as its own type."""
    q = rand(rng, 2, 4, 5, 16)
    k, v = rand(rng, 2, 2, 9, 16).astype(np.float16), rand(rng, 2, 2, 9, 16).astype(np.float16)
    out = np.full((2, 4, 5, 16), np.nan, np.float32)
    o = run(backend, handle, q, k, v, out=out)
    assert o is out
    check(o, numpy_ref.attention(q, k, v)[0])


def test_out_of_another_type_is_refused(handle, rng):
    q = rand(rng, 1, 1, 2, 8).astype(np.float16)
    with pytest.raises(clattn.Error) as e:
        handle.attention(q, q, q, out=np.empty((1, 1, 2, 8), np.int16))
    assert e.value.name == "CLATTN_ERROR_INVALID_VALUE"


def test_float64_operands_become_float32(rng):
    q = rng.standard_normal((1, 2, 3, 8))
    o = clattn.ref.attention(q, q.astype(np.float16), q)
    assert o.dtype == np.float32
    check(o, numpy_ref.attention(q.astype(np.float32), q.astype(np.float16),
                                 q.astype(np.float32))[0])


def test_other_operations_store_float32(rng):
    """linear, query_attention and mha take float32 (a float16 operand is converted)."""
    x = rand(rng, 3, 8).astype(np.float16)
    w = rand(rng, 4, 8)
    y = clattn.ref.linear(x, w)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x.astype(np.float64) @ w.T, rtol=1e-5, atol=1e-5)


def test_pyopencl_float16_arrays(cl_env, rng):
    cl, _, queue, h = cl_env
    q = rand(rng, 2, 4, 5, 16).astype(np.float16)
    k, v = rand(rng, 2, 2, 9, 16).astype(np.float16), rand(rng, 2, 2, 9, 16).astype(np.float16)
    dq, dk, dv = (cl.array.to_device(queue, a) for a in (q, k, v))
    do = h.attention(dq, dk, dv, causal=True)
    assert do.dtype == np.float16
    check(do.get(), numpy_ref.attention(q, k, v, causal=True)[0])


def test_dtypes_listed():
    names = [t.name for t in clattn.dtypes]
    assert names[:2] == ["float32", "float16"]
    assert (clattn.bfloat16 is not None) == ("bfloat16" in names)
