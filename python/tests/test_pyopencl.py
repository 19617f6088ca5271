"""pyopencl interop: device arrays in and out (honouring .offset), queue=, wait_for=, the
returned events, handles borrowing pyopencl's context and queue, and no leaked objects."""

import gc

import numpy as np
import pytest

import clattn
from conftest import rand
import numpy_ref


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=3e-5)


def test_handle_borrows_context_and_queue(cl_env):
    cl, ctx, queue, h = cl_env
    assert h.context_ptr == ctx.int_ptr and h.queue_ptr == queue.int_ptr
    before = ctx.reference_count
    with clattn.Handle.from_pyopencl(ctx, queue) as h2:
        assert h2.queue_ptr == queue.int_ptr
        assert ctx.reference_count > before  # retained ...
    assert ctx.reference_count == before  # ... and released, never owned
    assert queue.reference_count >= 1


def test_device_arrays_in_new_arrays_out(cl_env, rng):
    cl, ctx, queue, h = cl_env
    q, k, v = rand(rng, 2, 4, 5, 16), rand(rng, 2, 2, 7, 16), rand(rng, 2, 2, 7, 16)
    qd, kd, vd = (cl.array.to_device(queue, a) for a in (q, k, v))
    o, lse = h.attention(qd, kd, vd, causal="bottom-right", return_lse=True)
    assert isinstance(o, cl.array.Array) and o.events and isinstance(o.events[0], cl.Event)
    want_o, want_lse, _ = numpy_ref.attention(q, k, v, causal="bottom-right")
    close(o.get(), want_o)
    close(lse.get(), want_lse)
    # The module-level call finds (and keeps) a handle on the arrays' context.
    close(clattn.attention(qd, kd, vd, causal="bottom-right").get(), want_o)


def test_out_honours_offset_and_returns_an_event(cl_env, rng):
    cl, ctx, queue, h = cl_env
    q, k, v = rand(rng, 2, 4, 5, 16), rand(rng, 2, 2, 7, 16), rand(rng, 2, 2, 7, 16)
    # Inputs and output at non-zero offsets of larger buffers.
    pool = cl.array.to_device(queue, np.concatenate(
        [np.full(3, 9.0, np.float32), q.ravel(), k.ravel(), v.ravel()]))
    qd = pool[3:3 + q.size].reshape(q.shape)
    kd = pool[3 + q.size:3 + q.size + k.size].reshape(k.shape)
    vd = pool[3 + q.size + k.size:].reshape(v.shape)
    assert qd.offset == 12
    big = cl.array.to_device(queue, np.full(5 + q.size, 7.0, np.float32))
    out = big[5:].reshape(q.shape)
    ev = h.attention(qd, kd, vd, causal=True, out=out)
    assert isinstance(ev, cl.Event)
    ev.wait()
    host = big.get()
    assert np.all(host[:5] == 7.0)
    close(host[5:].reshape(q.shape), numpy_ref.attention(q, k, v, causal=True)[0])
    # out= given but not lse=: both outputs come back, each carrying the event.
    o, lse = h.attention(qd, kd, vd, causal=True, out=out, return_lse=True)
    assert o is out and isinstance(lse, cl.array.Array) and lse.events
    close(lse.get(), numpy_ref.attention(q, k, v, causal=True)[1])
    # A NumPy out= with queue=: enqueued, read back, an event returned.
    out_np = np.zeros(q.shape, np.float32)
    ev = h.attention(q, k, v, causal=True, out=out_np, queue=queue)
    assert isinstance(ev, cl.Event)
    close(out_np, numpy_ref.attention(q, k, v, causal=True)[0])


def test_user_event_orders_the_call(cl_env, rng):
    """The call waits for wait_for: its input is written by a copy gated by a user event."""
    cl, ctx, queue, h = cl_env
    q, k, v = rand(rng, 2, 4, 5, 16), rand(rng, 2, 2, 7, 16), rand(rng, 2, 2, 7, 16)
    gate = cl.UserEvent(ctx)
    qd = cl.array.zeros(queue, q.shape, np.float32)
    kd, vd = cl.array.to_device(queue, k), cl.array.to_device(queue, v)
    ooo = cl.CommandQueue(ctx, properties=cl.command_queue_properties.OUT_OF_ORDER_EXEC_MODE_ENABLE)
    filled = cl.enqueue_copy(ooo, qd.data, q, wait_for=[gate], is_blocking=False)
    out = cl.array.empty(queue, q.shape, np.float32)
    ev = h.attention(qd, kd, vd, out=out, queue=ooo, wait_for=[filled])
    queue.finish()
    assert ev.command_execution_status != cl.command_execution_status.COMPLETE
    gate.set_status(cl.command_execution_status.COMPLETE)
    ev.wait()
    close(out.get(), numpy_ref.attention(q, k, v)[0])
    # Chained: clattn's event gates the next call.
    out2 = cl.array.empty(queue, q.shape, np.float32)
    ev2 = h.attention(out, kd, vd, out=out2, queue=ooo, wait_for=[ev])
    ev2.wait()
    close(out2.get(), numpy_ref.attention(out.get(), k, v)[0])
    ooo.finish()


def test_query_linear_mha_on_device_arrays(cl_env, rng):
    cl, ctx, queue, h = cl_env
    x = rand(rng, 9, 16)
    r = h.query_attention(cl.array.to_device(queue, x), cl.array.to_device(queue, x[2]),
                          norm="softmax")
    assert isinstance(r.event, cl.Event)
    s, w, z = numpy_ref.query(x, x[2], norm="softmax")
    close(r.scores.get(), s)
    close(r.weights.get(), w)
    close(r.context.get(), z)
    weights = np.zeros(9, np.float32)  # NumPy outputs of an enqueued call: read back
    r = h.query_attention(x, x[2], norm="softmax", queue=queue, out={"weights": weights})
    assert r.weights is weights and isinstance(r.scores, cl.array.Array)
    close(weights, w)
    wl = rand(rng, 8, 16)
    y = h.linear(cl.array.to_device(queue, x), cl.array.to_device(queue, wl))
    close(y.get(), numpy_ref.linear(x, wl))
    x3 = rand(rng, 2, 6, 12)  # the shape of test_ops.test_mha: kernels already built
    ws = [0.3 * rand(rng, 16, 12) for _ in range(3)] + [0.3 * rand(rng, 16, 16)]
    ev = h.mha(cl.array.to_device(queue, x3), *[cl.array.to_device(queue, a) for a in ws], 4,
               causal=True, out=cl.array.empty(queue, (2, 6, 16), np.float32))
    assert isinstance(ev, cl.Event)
    y = h.mha(x3, *ws, 4, causal=True, queue=queue)
    close(y.get(), numpy_ref.mha(x3, *ws, 4, causal=True))


def test_kv_append_on_device_pages(cl_env, rng):
    cl, ctx, queue, h = cl_env
    k_new = rand(rng, 1, 2, 3, 16)
    pages = cl.array.zeros(queue, (2, 2, 4, 16), np.float32)
    ev = h.kv_append(k_new, k_new, pages, pages.copy(), np.array([[1, 0]], np.int32),
                     np.array([2], np.int32), queue=queue)
    assert isinstance(ev, cl.Event)
    got = pages.get()
    np.testing.assert_array_equal(got[1, :, 2:], k_new[0, :, :2])
    np.testing.assert_array_equal(got[0, :, :1], k_new[0, :, 2:])


def test_device_errors(cl_env, rng):
    cl, ctx, queue, h = cl_env
    q = cl.array.to_device(queue, rand(rng, 1, 1, 4, 16))
    with pytest.raises(clattn.Error) as e:
        h.attention(q.astype(np.float64), q, q)
    assert e.value.name == "CLATTN_ERROR_INVALID_VALUE"
    with pytest.raises(clattn.Error) as e:
        h.attention(q, q, q, out=cl.array.empty(queue, (1, 1, 4, 8), np.float32))
    assert e.value.name == "CLATTN_ERROR_INVALID_SHAPE"
    with pytest.raises(clattn.Error) as e:
        clattn.ref.attention(q, q, q)
    assert e.value.name == "CLATTN_ERROR_INVALID_VALUE"
    with pytest.raises(clattn.Error) as e:
        h.attention(q, q, q, wait_for=["not an event"])
    # Arrays of another context: the library refuses them (its own status).
    with clattn.Handle() as other, pytest.raises(clattn.Error) as e:
        other.attention(q, q, q)
    assert e.value.name in ("CLATTN_ERROR_INVALID_HANDLE", "CL_INVALID_CONTEXT",
                            "CL_INVALID_COMMAND_QUEUE", "CL_INVALID_MEM_OBJECT")


def test_no_leaked_opencl_objects_over_1000_calls(cl_env, rng):
    """OpenCL reference counts are back where they were after 1,000 enqueued and 1,000
    blocking calls: the context's (every buffer, program and queue clattn makes holds one on
    PoCL), the queue's (every event holds one) and the input buffers'."""
    cl, ctx, queue, h = cl_env
    q, k, v = rand(rng, 2, 4, 5, 16), rand(rng, 2, 2, 7, 16), rand(rng, 2, 2, 7, 16)
    qd, kd, vd = (cl.array.to_device(queue, a) for a in (q, k, v))
    out = cl.array.empty(queue, q.shape, np.float32)

    def settled():
        queue.finish()
        out.finish()  # the events pyopencl keeps in .events (a bounded few) are let go
        gc.collect()
        return (ctx.reference_count, queue.reference_count,
                [a.base_data.reference_count for a in (qd, kd, vd, out)])

    h.attention(qd, kd, vd, out=out).wait()
    h.attention(q, k, v)
    before = settled()
    for _ in range(1000):
        h.attention(qd, kd, vd, causal=True, out=out)
    for _ in range(1000):
        h.attention(q, k, v, causal=True)
    after = settled()
    assert after == before
    close(out.get(), numpy_ref.attention(q, k, v, causal=True)[0])
