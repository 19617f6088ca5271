"""The float64 NumPy attention of the CLI checks (cli_attend_check.py, cli_mha_check.py), with
PyTorch's scaled_dot_product_attention semantics and clattn's model variants: ALiBi's standard
slopes, the Philox dropout mask, softcap, sliding window, sinks and sink keys."""
import numpy as np


def alibi_slopes(h):
    # HF's get_alibi_slopes: geometric for a power of two, then the odd ones of 2n
    n = 2 ** int(np.floor(np.log2(h)))
    s = [2.0 ** (-8.0 * (i + 1) / n) for i in range(n)]
    return np.array(s + [2.0 ** (-4.0 * (2 * i + 1) / n) for i in range(h - n)])
M32 = 0xFFFFFFFF
def philox4x32_10(c, k0, k1):
    # Random123's Philox 4x32-10 on uint64 arrays holding 32-bit words
    c = [np.asarray(x, np.uint64) & M32 for x in c]; k0, k1 = np.uint64(k0), np.uint64(k1)
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * c[0]; p1 = np.uint64(0xCD9E8D57) * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & np.uint64(M32),
             (p0 >> np.uint64(32)) ^ c[3] ^ k1, p0 & np.uint64(M32)]
        k0 = (k0 + np.uint64(0x9E3779B9)) & np.uint64(M32); k1 = (k1 + np.uint64(0xBB67AE85)) & np.uint64(M32)
    return c
def dropout_keep(shape, p, seed, offset=0):
    # clattn's mapping: key = seed's halves; counter {j / 4, i, stream lo, stream hi} with
    # stream = offset + b * H + h; word j % 4; dropped when word < ceil(p 2^32)
    B, H, M, N = shape
    b, h, i, j = np.meshgrid(np.arange(B), np.arange(H), np.arange(M), np.arange(N), indexing="ij")
    stream = (offset + b * H + h).astype(np.uint64)
    words = philox4x32_10([j >> 2, i, stream & np.uint64(M32), stream >> np.uint64(32)],
                          seed & M32, seed >> 32)
    word = np.choose(j & 3, words)
    return word >= np.uint64(np.ceil(float(np.float32(p)) * 2.0 ** 32))
def sdpa(q, k, v, causal=None, mask=None, scale=None, softcap=0, slopes=None, window=None,
         sinks=None, sink_keys=0, dropout=0, seed=0):
    # numpy reference in float64, PyTorch semantics (bool mask True = attend, float mask added)
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    if q.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        r = q.shape[-3] // k.shape[-3]
        k = np.repeat(k, r, axis=-3); v = np.repeat(v, r, axis=-3)
    M, N = q.shape[-2], k.shape[-2]
    s = (q @ np.swapaxes(k, -1, -2)) * (scale if scale else 1 / np.sqrt(q.shape[-1]))
    off = N - M if causal == "bottom-right" else 0
    i = np.arange(M)[:, None]; j = np.arange(N)[None, :]
    if softcap: s = softcap * np.tanh(s / softcap)
    if slopes is not None: s = s + slopes[:, None, None] * (j - i - off)
    if window is not None:
        left, right = window
        keep = np.ones((M, N), bool)
        if left >= 0: keep &= j >= i + off - left
        if right >= 0: keep &= j <= i + off + right
        keep |= (j < sink_keys) & (j <= i + off + (right if right >= 0 else N))
        s = np.where(keep, s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    if causal:
        off = 0 if causal == "top-left" else N - M
        i = np.arange(M)[:, None]; j = np.arange(N)[None, :]
        s = np.where(j <= i + off, s, -np.inf)
    mx = np.max(s, axis=-1, keepdims=True)
    sk = None
    if sinks is not None:  # [H] sink logits: in the maximum and the denominator, no value
        sk = np.broadcast_to(sinks.astype(np.float64)[:, None, None], s.shape[:-1] + (1,))
        mx = np.maximum(mx, sk)
    mx = np.where(np.isfinite(mx), mx, 0)
    e = np.exp(s - mx); l = e.sum(-1, keepdims=True)
    if sk is not None: l = l + np.exp(sk - mx)
    w = e / np.where(l > 0, l, 1)
    if dropout:
        shp = (1,) * (4 - s.ndim) + s.shape
        w = w * dropout_keep(shp, dropout, seed).reshape(s.shape) / (1 - np.float64(np.float32(dropout)))
    o = np.where((e.sum(-1, keepdims=True) > 0), w @ v, 0)
    lse = np.where(l[..., 0] > 0, np.log(np.where(l[..., 0] > 0, l[..., 0], 1)) + mx[..., 0], -np.inf)
    return o, lse
