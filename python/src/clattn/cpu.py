"""The fast CPU backend (clattn_cpu_*): threaded and vectorised C, float accumulation, no
OpenCL. The same arguments as the device calls, on NumPy arrays."""

from . import _ops
from ._lib import lib


def attention(q, k, v, **options):
    """As clattn.attention (NumPy arrays; no queue/wait_for)."""
    return _ops.attention("cpu", q, k, v, **options)


def query_attention(x, q, v=None, *, norm="sum", scale=1.0, **options):
    """As clattn.query_attention."""
    return _ops.query_attention("cpu", x, q, v, norm=norm, scale=scale, **options)


def linear(x, w, bias=None, **options):
    """As clattn.linear."""
    return _ops.linear("cpu", x, w, bias, **options)


def mha(x, wq, wk, wv, wo, heads, **options):
    """As clattn.mha."""
    return _ops.mha("cpu", x, wq, wk, wv, wo, heads, **options)


def set_threads(threads):
    """Threads per call (0: every online core, or CLATTN_CPU_THREADS). Process-wide."""
    lib.clattn_cpu_set_threads(int(threads))


def threads():
    """The thread count calls use now."""
    return int(lib.clattn_cpu_threads())
