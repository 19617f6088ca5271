"""Packed variable-length batches (cu_seqlens) and paged KV caches (block_table) on every
backend, against NumPy float64 per sequence."""

import numpy as np
import pytest

import clattn
from conftest import rand
import numpy_ref

BACKENDS = ["device", "cpu", "ref"]


def run(backend, handle, *args, **kw):
    target = handle if backend == "device" else getattr(clattn, backend)
    return target.attention(*args, **kw)


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=3e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_varlen(handle, rng, backend):
    Hq, Hkv, D = 4, 2, 16
    lens_q, lens_k = [3, 1, 5], [7, 2, 5]
    cu_q = np.concatenate([[0], np.cumsum(lens_q)]).astype(np.int32)
    cu_k = np.concatenate([[0], np.cumsum(lens_k)]).astype(np.int32)
    q = rand(rng, cu_q[-1], Hq, D)  # [total_q, Hq, D], FlashAttention's packing
    k, v = rand(rng, cu_k[-1], Hkv, D), rand(rng, cu_k[-1], Hkv, D)
    o, lse = run(backend, handle, q, k, v, causal="bottom-right", return_lse=True,
                 cu_seqlens_q=cu_q, cu_seqlens_k=cu_k.astype(np.int64))
    assert o.shape == q.shape and lse.shape == (Hq, cu_q[-1])
    for b in range(3):
        sq, sk = slice(cu_q[b], cu_q[b + 1]), slice(cu_k[b], cu_k[b + 1])
        want_o, want_lse, _ = numpy_ref.attention(
            q[sq].transpose(1, 0, 2)[None], k[sk].transpose(1, 0, 2)[None],
            v[sk].transpose(1, 0, 2)[None], causal="bottom-right")
        close(o[sq], want_o[0].transpose(1, 0, 2))
        close(lse[:, sq], want_lse[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_paged_kv_cache(handle, rng, backend):
    B, Hq, Hkv, M, D, P = 2, 4, 2, 2, 16, 4
    num_pages = 6
    # FlashAttention's cache [num_pages, P, Hkv, D], passed as a view [num_pages, Hkv, P, D].
    k_cache, v_cache = rand(rng, num_pages, P, Hkv, D), rand(rng, num_pages, P, Hkv, D)
    table = np.array([[4, 0, 2], [1, 5, 3]], np.int32)
    lengths = np.array([10, 5], np.int32)
    q = rand(rng, B, Hq, M, D)
    o = run(backend, handle, q, k_cache.transpose(0, 2, 1, 3), v_cache.transpose(0, 2, 1, 3),
            causal="bottom-right", block_table=table, seqlens_k=lengths)
    for b in range(B):
        keys = np.concatenate([k_cache[p] for p in table[b]])[:lengths[b]]  # [n_b, Hkv, D]
        vals = np.concatenate([v_cache[p] for p in table[b]])[:lengths[b]]
        want = numpy_ref.attention(q[b:b + 1], keys.transpose(1, 0, 2)[None],
                                   vals.transpose(1, 0, 2)[None], causal="bottom-right")[0]
        close(o[b], want[0])


def test_varlen_and_paged_errors(handle, rng):
    q = rand(rng, 4, 2, 16)
    cu = np.array([0, 4], np.int32)

    def status(call):
        with pytest.raises(clattn.Error) as e:
            call()
        return e.value.name
    assert status(lambda: handle.attention(q, q, q, cu_seqlens_q=cu)) == \
        "CLATTN_ERROR_NULL_POINTER"
    assert status(lambda: handle.attention(q, q, q, cu_seqlens_q=cu.astype(np.float32),
                                           cu_seqlens_k=cu)) == "CLATTN_ERROR_INVALID_VALUE"
    # More tokens than the arrays hold: refused before the library reads past them.
    for backend in (handle, clattn.ref, clattn.cpu):
        assert status(lambda: backend.attention(q, q, q, cu_seqlens_q=np.array([0, 9], np.int32),
                                                cu_seqlens_k=cu)) == "CLATTN_ERROR_INVALID_SHAPE"
    assert status(lambda: clattn.ref.attention(q, q, q, cu_seqlens_q=np.array([0, 3, 2], np.int32),
                                               cu_seqlens_k=np.array([0, 2, 4], np.int32))) == \
        "CLATTN_ERROR_INVALID_VALUE"  # decreasing offsets: the library's own check
    pages = rand(rng, 3, 2, 4, 16)
    assert status(lambda: clattn.ref.attention(
        rand(rng, 1, 2, 1, 16), pages, pages, block_table=np.array([[0, 7]], np.int32),
        seqlens_k=np.array([8], np.int32))) == "CLATTN_ERROR_INVALID_VALUE"
    assert status(lambda: clattn.ref.attention(
        rand(rng, 1, 2, 1, 16), pages, pages, block_table=np.array([[0, 1]], np.int32),
        seqlens_k=np.array([8, 1], np.int32))) == "CLATTN_ERROR_INVALID_SHAPE"


@pytest.mark.parametrize("backend", ["device", "ref"])
def test_kv_append_then_attend(handle, rng, backend):
    """Append T new tokens into the pages, then decode against the cache (bottom-right)."""
    target = handle if backend == "device" else clattn.ref
    B, Hkv, T, D, P, num_pages = 2, 2, 3, 16, 4, 6
    k_pages = np.zeros((num_pages, Hkv, P, D), np.float32)
    v_pages = np.zeros((num_pages, Hkv, P, D), np.float32)
    table = np.array([[4, 0, 2], [1, 5, 3]], np.int32)
    before = np.array([2, 5], np.int32)
    k_new, v_new = rand(rng, B, Hkv, T, D), rand(rng, B, Hkv, T, D)
    got = target.kv_append(k_new, v_new, k_pages, v_pages, table, before)
    assert got[0] is k_pages and got[1] is v_pages
    want_k = np.zeros_like(k_pages)
    for b in range(B):
        for t in range(T):
            pos = before[b] + t
            want_k[table[b, pos // P], :, pos % P] = k_new[b, :, t]
    np.testing.assert_array_equal(k_pages, want_k)
    q = rand(rng, B, 4, 1, D)
    o = target.attention(q, k_pages, v_pages, causal="bottom-right", block_table=table,
                         seqlens_k=before + T)
    for b in range(B):
        rows = [(table[b, p // P], p % P) for p in range(before[b] + T)]
        keys = np.stack([k_pages[pg, :, r] for pg, r in rows], axis=1)[None]
        vals = np.stack([v_pages[pg, :, r] for pg, r in rows], axis=1)[None]
        close(o[b], numpy_ref.attention(q[b:b + 1], keys, vals, causal="bottom-right")[0][0])
    with pytest.raises(clattn.Error) as e:  # a position past the pages of the table
        target.kv_append(k_new, v_new, k_pages, v_pages, table, np.array([11, 0], np.int32))
    assert e.value.name == "CLATTN_ERROR_INVALID_VALUE"
