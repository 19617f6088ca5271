"""Bad input raises clattn.Error with the status name and a message; nothing crashes."""

import numpy as np
import pytest

import clattn
from conftest import rand

Q = np.ones((2, 4, 5, 16), np.float32)  # the device shape of test_attention: kernels built
READ_ONLY = np.zeros((2, 4, 5, 16), np.float32)
READ_ONLY.setflags(write=False)


def status_of(call):
    with pytest.raises(clattn.Error) as e:
        call()
    assert e.value.message and e.value.name.startswith(("CLATTN_ERROR_", "CL_"))
    assert str(e.value).startswith(e.value.name)
    return e.value.name


@pytest.mark.parametrize("backend", ["device", "cpu", "ref"])
def test_attention_argument_errors(handle, backend):
    attn = handle.attention if backend == "device" else getattr(clattn, backend).attention
    cases = {
        "NULL_POINTER": [lambda: attn(None, Q, Q), lambda: attn(Q, Q, None)],
        "INVALID_SHAPE": [
            lambda: attn(Q, Q[..., :8], Q),                    # d differs
            lambda: attn(Q, Q, Q[:, :, :3]),                   # v rows differ from k
            lambda: attn(Q, Q[:, :3], Q[:, :3]),  # 4 % 3 heads
            lambda: attn(Q[0, 0, 0], Q, Q),                    # 1-D q
            lambda: attn(Q[None], Q, Q),                       # 5-D q
            lambda: attn(Q, Q, Q, mask=np.ones((3, 5), bool)),  # mask does not broadcast
            lambda: attn(Q, Q, Q, out=np.empty((2, 4, 5, 8), np.float32)),
            lambda: attn(Q, Q, Q, sinks=np.zeros(3, np.float32)),
        ],
        "INVALID_VALUE": [
            lambda: attn(Q.astype(np.int32), Q, Q),
            lambda: attn(Q.astype(object), Q, Q),
            lambda: attn(Q, Q, Q, causal="diagonal"),
            lambda: attn(Q, Q, Q, norm="max"),
            lambda: attn(Q, Q, Q, window=5),
            lambda: attn(Q, Q, Q, mask=np.ones((5, 5), np.int32)),
            lambda: attn(Q, Q, Q, scale=float("nan")),
            lambda: attn(Q, Q, Q, softcap=-1.0),
            lambda: attn(Q, Q, Q, dropout=1.5),
            lambda: attn(Q, Q, Q, norm="sum", sinks=np.zeros(4, np.float32)),
            lambda: attn(Q, Q, Q, out=np.empty((2, 4, 5, 16), np.float64)),
            lambda: attn(Q, Q, Q, out=READ_ONLY),
            lambda: attn(Q, Q, Q, kv_splits=-1),
            lambda: attn(Q, Q, Q, sink_keys=1.5),
            lambda: attn(Q, Q, Q, window=(-2, 0)),
        ],
        "INVALID_SIZE": [
            lambda: attn(np.ones((1, 1, 2, 300), np.float32), np.ones((1, 1, 2, 300),
                         np.float32), np.ones((1, 1, 2, 300), np.float32)),  # d > 256
            lambda: attn(np.ones((2, 4, 0, 16), np.float32), Q, Q),          # m = 0
        ],
    }
    for status, calls in cases.items():
        for i, call in enumerate(calls):
            assert status_of(call) == "CLATTN_ERROR_" + status, (status, i)


def test_other_argument_errors(handle, rng):
    x = rand(rng, 6, 3)
    assert status_of(lambda: handle.query_attention(x, x[0, :2])) == "CLATTN_ERROR_INVALID_SHAPE"
    assert status_of(lambda: handle.query_attention(x, x[0], norm="max")) == \
        "CLATTN_ERROR_INVALID_VALUE"
    assert status_of(lambda: clattn.ref.linear(x, rand(rng, 4, 5))) == "CLATTN_ERROR_INVALID_SHAPE"
    w = rand(rng, 8, 8)
    x3 = rand(rng, 1, 4, 8)
    assert status_of(lambda: clattn.cpu.mha(x3, w, w, w, w, 3)) != ""  # 8 % 3 heads
    assert status_of(lambda: clattn.ref.mha(x3, w, w, None, w, 2)) == "CLATTN_ERROR_NULL_POINTER"
    assert status_of(lambda: clattn.ref.mha(x3, w, w, w, w, 0)) == "CLATTN_ERROR_INVALID_VALUE"
    assert status_of(lambda: clattn.ref.mha(x3, w, w, w, w, 2, sinks=np.zeros(3))) == \
        "CLATTN_ERROR_INVALID_SHAPE"
    assert status_of(lambda: clattn.cpu.mha(x3, w, w, w, w, 2, softcap=-1.0)) == \
        "CLATTN_ERROR_INVALID_VALUE"
    assert status_of(lambda: clattn.ref.mha(x3, w, w, w, w, 2, mask=np.ones((3, 3), bool))) == \
        "CLATTN_ERROR_INVALID_SHAPE"
    assert status_of(lambda: clattn.ref.attention(Q, Q, Q, queue=object())) == \
        "CLATTN_ERROR_INVALID_VALUE"


def test_closed_handle_and_bad_devices():
    h = clattn.Handle()
    h.close()
    h.close()  # idempotent
    assert h.closed and "closed" in repr(h)
    assert status_of(lambda: h.attention(Q, Q, Q)) == "CLATTN_ERROR_INVALID_HANDLE"
    assert status_of(lambda: h.device_name) == "CLATTN_ERROR_INVALID_HANDLE"
    assert status_of(lambda: clattn.Handle("no such device xyz")) == \
        "CLATTN_ERROR_DEVICE_NOT_FOUND"
    assert status_of(lambda: clattn.Handle(3.5)) == "CLATTN_ERROR_INVALID_VALUE"
    assert status_of(lambda: clattn.Handle(variant="fpga")) == "CLATTN_ERROR_INVALID_VALUE"
    with clattn.Handle(build_options="-this-is-not-an-option") as bad:
        status = status_of(lambda: bad.attention(Q, Q, Q))
        assert status in ("CLATTN_ERROR_BUILD_FAILED", "CL_INVALID_BUILD_OPTIONS")
