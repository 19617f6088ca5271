import numpy as np
import pytest

import clattn


@pytest.fixture(scope="session")
def handle():
    with clattn.Handle() as h:
        yield h


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.fixture(scope="session")
def cl_env():
    """(pyopencl, context, queue, Handle borrowing them)."""
    cl = pytest.importorskip("pyopencl")
    import pyopencl.array  # noqa: F401
    ctx = cl.create_some_context(interactive=False)
    queue = cl.CommandQueue(ctx)
    with clattn.Handle.from_pyopencl(ctx, queue) as h:
        yield cl, ctx, queue, h
