"""Independent NumPy float64 implementations the tests compare clattn with."""

import numpy as np

NEG_INF = -np.inf


def alibi_slopes(heads):
    """ALiBi's geometric slopes (HF's get_alibi_slopes)."""
    def power_of_two(n):
        return [2.0 ** (-8.0 * (h + 1) / n) for h in range(n)]
    n = 1 << (heads.bit_length() - 1)
    slopes = power_of_two(n)
    if n < heads:
        slopes += [2.0 ** (-4.0 * (2 * j + 1) / n) for j in range(heads - n)]
    return np.array(slopes)


def attention(q, k, v, causal=False, mask=None, scale=None, norm="softmax", softcap=0.0,
              alibi=False, window=None):
    """O [B, Hq, M, Dv] and LSE [B, Hq, M] in float64; q/k/v [B, H, rows, cols]."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    B, Hq, M, D = q.shape
    Hkv, N = k.shape[1], k.shape[2]
    group = Hq // Hkv
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    scale = 1.0 / np.sqrt(D) if scale is None else scale
    s = scale * np.einsum("bhmd,bhnd->bhmn", q, k)
    if softcap:
        s = softcap * np.tanh(s / softcap)
    off = N - M if causal == "bottom-right" else 0
    i = np.arange(M)[:, None] + off
    j = np.arange(N)[None, :]
    if alibi:
        s = s + alibi_slopes(Hq)[None, :, None, None] * (j - i)
    attend = np.ones((M, N), bool)
    if causal:
        attend &= j <= i
    if window is not None:
        left, right = window
        if left is not None and left >= 0:
            attend &= j >= i - left
        if right is not None and right >= 0:
            attend &= j <= i + right
    attend = np.broadcast_to(attend, s.shape).copy()
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype == np.bool_ or mask.dtype == np.uint8:
            attend &= np.broadcast_to(mask != 0, s.shape)
        else:
            s = s + np.broadcast_to(mask.astype(np.float64), s.shape)
            attend &= np.isfinite(s) | np.isnan(s)
    s_masked = np.where(attend, s, NEG_INF)
    mx = s_masked.max(axis=-1, keepdims=True)
    empty = ~attend.any(axis=-1, keepdims=True)
    mx = np.where(empty, 0.0, mx)
    e = np.where(attend, np.exp(s_masked - mx), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    lse = np.where(empty, NEG_INF, np.log(np.where(empty, 1.0, total)) + mx)[..., 0]
    if norm == "none":  # the scaled, masked scores (-inf where masked)
        w = s_masked
    elif norm == "softmax":
        w = np.where(empty, 0.0, e / np.where(empty, 1.0, total))
    else:
        ssum = np.where(attend, s, 0.0).sum(axis=-1, keepdims=True)
        w = np.where(attend, s, 0.0) / np.where(empty, 1.0, ssum)
        w = np.where(empty, 0.0, w)
    return np.einsum("bhmn,bhnd->bhmd", w, v), lse, w


def linear(x, w, bias=None):
    y = np.asarray(x, np.float64) @ np.asarray(w, np.float64).T
    return y + bias if bias is not None else y


def mha(x, wq, wk, wv, wo, heads, bq=None, bk=None, bv=None, bo=None, causal=False, mask=None,
        **variants):
    """x [B, T, d_in]; mask [B, T] (key padding), [B, 1, T, T] or [B, H, T, T]."""
    B, T, _ = x.shape
    d_out = wq.shape[0]
    dh = d_out // heads

    def split(a):
        return a.reshape(B, T, heads, dh).transpose(0, 2, 1, 3)
    q, k, v = (split(linear(x, w_, b_)) for w_, b_ in ((wq, bq), (wk, bk), (wv, bv)))
    if mask is not None and mask.shape == (B, T):
        mask = mask[:, None, None, :]
    ctx, _, _ = attention(q, k, v, causal=causal, mask=mask, **variants)
    return linear(ctx.transpose(0, 2, 1, 3).reshape(B, T, d_out), wo, bo)


def query(x, q, v=None, norm="sum", scale=1.0):
    x = np.asarray(x, np.float64)
    s = scale * (x @ np.asarray(q, np.float64))
    if norm == "sum":
        w = s / s.sum()
    elif norm == "softmax":
        e = np.exp(s - s.max())
        w = e / e.sum()
    else:
        w = s
    return s, w, w @ (x if v is None else np.asarray(v, np.float64))
