"""The textbook's query operations: scores, weights and context of one query."""

import ctypes as C
from collections import namedtuple

from . import _errors
from ._lib import lib
from ._mode import _Mode, norm_code


QueryResult = namedtuple("QueryResult", "scores weights context event",
                         defaults=(None, None, None, None))
QueryResult.__doc__ = """scores [n], weights [n] and context [d] of one query (event: the
pyopencl event of an enqueued call, else None)."""


def query_attention(backend, x, q, v=None, *, norm="sum", scale=1.0, out=None, queue=None,
                    wait_for=None):
    outs = out if out is not None else {}
    if not isinstance(outs, dict):
        outs = outs._asdict() if hasattr(outs, "_asdict") else None
        if outs is None:
            _errors.fail(_errors.INVALID_VALUE, "out: a dict (or QueryResult) of scores, "
                         "weights, context")
    mode = _Mode(backend, (x, q, v) + tuple(outs.values()), queue, wait_for)
    allowed = ("none", "sum", "softmax")
    code = norm_code(norm, allowed)
    tx = mode.packed(x, "x", 2)
    n, d = tx.shape
    tq = mode.packed(q, "q", 1)
    if tq.shape[-1] != d:
        _errors.fail(_errors.INVALID_SHAPE, f"q: length {tq.shape[-1]}, expected d = {d}")
    tv = None
    if v is not None:
        tv = mode.packed(v, "v", 2)
        if tv.shape != (n, d):
            _errors.fail(_errors.INVALID_SHAPE, f"v: shape {tv.shape}, expected {(n, d)}")
    shapes = {"scores": (n,), "weights": (n,), "context": (d,)}
    made = {name: mode.output(outs.get(name), shape, name, packed=True)
            for name, shape in shapes.items()}
    ptr = {name: t.pointer() for name, (t, _) in made.items()}
    scale = float(scale)
    if mode.enqueue:
        h, qp = mode.handle, mode.queue.int_ptr
        off = {name: t.offset for name, (t, _) in made.items()}
        n_wait, wl = mode.wait_list()
        e1, e2, e3 = C.c_void_p(), C.c_void_p(), C.c_void_p()
        _errors.check(lib.clattn_enqueue_scores(h, qp, n, d, scale, tx.pointer(), tx.offset,
                                                tq.pointer(), tq.offset, ptr["scores"],
                                                off["scores"], n_wait, wl, C.byref(e1)))
        ev1 = mode.event(e1)
        _errors.check(lib.clattn_enqueue_normalize(h, qp, code, n, ptr["scores"], off["scores"],
                                                   ptr["weights"], off["weights"], 1,
                                                   C.byref(C.c_void_p(ev1.int_ptr)), C.byref(e2)))
        ev2 = mode.event(e2)
        src = tv if tv is not None else tx
        _errors.check(lib.clattn_enqueue_context(h, qp, n, d, ptr["weights"], off["weights"],
                                                 src.pointer(), src.offset, ptr["context"],
                                                 off["context"], 1,
                                                 C.byref(C.c_void_p(ev2.int_ptr)), C.byref(e3)))
        ev3 = mode.event(e3)
        # Scores and weights are complete once the context (which waited on them) is.
        return QueryResult(event=ev3, **{name: fin(ev3) for name, (_, fin) in made.items()})
    vp = tv.pointer() if tv is not None else None
    if mode.device:
        status = lib.clattn_query_attention(mode.handle, n, d, tx.pointer(), tq.pointer(), vp,
                                            scale, code, ptr["scores"], ptr["weights"],
                                            ptr["context"])
    elif backend == "cpu":
        status = lib.clattn_cpu_query_attention(n, d, tx.pointer(), tq.pointer(), vp, scale,
                                                code, ptr["scores"], ptr["weights"],
                                                ptr["context"])
    else:
        status = lib.clattn_ref_scores(n, d, scale, tx.pointer(), tq.pointer(), ptr["scores"])
        if status == 0:
            status = lib.clattn_ref_normalize(code, n, ptr["scores"], ptr["weights"])
        if status == 0:
            status = lib.clattn_ref_context(n, d, ptr["weights"], vp or tx.pointer(),
                                            ptr["context"])
    _errors.check(status)
    return QueryResult(**{name: fin() for name, (_, fin) in made.items()})
