#!/usr/bin/env python3
"""One-off cross-check of `clattn mha` (and `clattn attend`, when the CLI has it) against
PyTorch on random inputs, causal and not. Not a CI dependency.

    python3 tools/crosscheck_torch.py [path/to/clattn]      (default: build/clattn)

Needs PyTorch and NumPy (on Debian 12: apt-get install python3-torch python3-numpy, then
run with /usr/bin/python3). The references, all float32 like clattn:
  mha:    torch.nn.MultiheadAttention loaded with the same weights (when d_in == d_out),
          `mha --softcap/--alibi/--alibi-slopes/--window/--sinks/--sink-keys/--dropout`
          (with and without a key-padding mask) against F.linear + SDPA with the explicit
          mask of the attend checks' builders (softcap, sinks and dropout written out as
          there),
          and the same layer written out with F.linear + scaled-dot-product attention;
          `mha --mask`: a padded batch of sentences against nn.MultiheadAttention with
          key_padding_mask (True = padding there, the opposite of clattn's boolean mask),
          causal and not, boolean and additive; a per-head [B, H, T, T] additive mask against
          F.linear + SDPA. Where PyTorch gives NaN (a row with no key to attend), clattn's
          documented output is bo.
  attend: scaled_dot_product_attention (F.scaled_dot_product_attention on PyTorch >= 2,
          F._scaled_dot_product_attention on 1.13) with an explicit mask for bottom-right
          causal alignment and boolean/additive masks; --weights-out (the materialising
          weights path) against softmax(Q K^T / sqrt(D) + mask);
          `attend --window/--alibi/--alibi-slopes` against SDPA with the window and the ALiBi
          bias built into an explicit additive mask, `--softcap` (which no mask expresses)
          against softmax(C tanh(Q K^T / sqrt(D) / C) + bias) V in torch;
          `attend --cu-seqlens-q/-k` (varlen) per sequence against SDPA with that
          sequence's causal alignment and window, and against a padded batch with a
          key-padding mask;
          `attend --block-table/--page-size/--seqlens-k` (a paged KV cache) against SDPA per
          sequence over its keys gathered from the pages;
          `attend --sinks/--sink-keys` against gpt-oss's formula (the sink logit appended as a
          score column, softmax, the column dropped) with the sink keys in the explicit mask,
          and the LSE against torch.logsumexp over the same columns; `attend --dropout --seed`
          against softmax(...) * keep / (1 - p) V with clattn's Philox 4x32-10 mask written
          in torch (int64 tensors).
Prints the max abs error of each case and exits non-zero if any exceeds 1e-4.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

TOLERANCE = 1e-4
CLATTN = sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "clattn")
failures = 0


def sdpa(q, k, v, mask=None):
    """Attention with an additive float mask or a boolean mask (True = attend)."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    if mask is not None and mask.dtype == torch.bool:  # 1.13's private form: additive only
        mask = torch.zeros(mask.shape).masked_fill(~mask, float("-inf"))
    return F._scaled_dot_product_attention(q, k, v, mask, 0.0, False, False)[0]


def run(args, tmp, weights=False):
    out, w = os.path.join(tmp, "out.npy"), os.path.join(tmp, "weights.npy")
    extra = ["--weights-out", w] if weights else []
    subprocess.run([CLATTN] + args + ["--out", out] + extra, check=True)
    return (np.load(out), np.load(w)) if weights else np.load(out)


features = {}  # feature -> (cases, worst error), for the summary


def report(name, got, want, feature=None):
    global failures
    err = float(np.max(np.abs(got - want.detach().numpy())))
    ok = err <= TOLERANCE
    failures += not ok
    print(f"{name:58s} max abs error {err:.3e} {'ok' if ok else 'FAIL'}")
    feature = feature or name.split()[0]
    cases, worst = features.get(feature, (0, 0.0))
    features[feature] = (cases + 1, max(worst, err))


def check_mha(tmp, rng, b, t, d_in, d_out, heads, causal, bias):
    f32 = lambda *shape, s=1.0: (rng.uniform(-s, s, shape)).astype(np.float32)
    x = f32(b, t, d_in)
    w = {n: f32(d_out, d_in, s=d_in**-0.5) for n in ("wq", "wk", "wv")}
    w["wo"] = f32(d_out, d_out, s=d_out**-0.5)
    bs = {n: f32(d_out, s=0.5) if bias else None for n in ("bq", "bk", "bv", "bo")}
    args = ["mha", "--heads", str(heads)] + (["--causal"] if causal else [])
    np.save(os.path.join(tmp, "x.npy"), x)
    args += ["--x", os.path.join(tmp, "x.npy")]
    for n, a in list(w.items()) + list(bs.items()):
        if a is not None:
            np.save(os.path.join(tmp, n + ".npy"), a)
            args += ["--" + n, os.path.join(tmp, n + ".npy")]
    got = run(args, tmp)

    T = lambda a: None if a is None else torch.from_numpy(a)
    X = T(x)
    mask = torch.ones(t, t, dtype=torch.bool).tril() if causal else None
    name = f"mha B={b} T={t} d_in={d_in} d_out={d_out} H={heads} causal={int(causal)} bias={int(bias)}"
    with torch.no_grad():
        hd = d_out // heads
        split = lambda y: y.view(b, t, heads, hd).transpose(1, 2)
        q, k, v = (split(F.linear(X, T(w[n]), T(bs[m]))) for n, m in (("wq", "bq"), ("wk", "bk"), ("wv", "bv")))
        ctx = sdpa(q, k, v, mask).transpose(1, 2).reshape(b, t, d_out)
        report(name + " [F.linear+sdpa]", got, F.linear(ctx, T(w["wo"]), T(bs["bo"])))
        if d_in == d_out:
            layer = torch.nn.MultiheadAttention(d_out, heads, bias=bias, batch_first=True)
            layer.in_proj_weight.copy_(torch.cat([T(w["wq"]), T(w["wk"]), T(w["wv"])]))
            layer.out_proj.weight.copy_(T(w["wo"]))
            if bias:
                layer.in_proj_bias.copy_(torch.cat([T(bs["bq"]), T(bs["bk"]), T(bs["bv"])]))
                layer.out_proj.bias.copy_(T(bs["bo"]))
            # need_weights=True keeps 1.13 off its fast path, which fails without biases.
            ref, _ = layer(X, X, X, attn_mask=None if mask is None else ~mask, need_weights=True)
            report(name + " [nn.MultiheadAttention]", got, ref)


def layer_args(tmp, rng, b, t, d_in, d_out, bias):
    """Random X and weights saved for `clattn mha`: (x, w, bs, args)."""
    f32 = lambda *shape, s=1.0: (rng.uniform(-s, s, shape)).astype(np.float32)
    x = f32(b, t, d_in)
    w = {n: f32(d_out, d_in, s=d_in**-0.5) for n in ("wq", "wk", "wv")}
    w["wo"] = f32(d_out, d_out, s=d_out**-0.5)
    bs = {n: f32(d_out, s=0.5) if bias else None for n in ("bq", "bk", "bv", "bo")}
    np.save(os.path.join(tmp, "x.npy"), x)
    args = ["mha", "--x", os.path.join(tmp, "x.npy")]
    for n, a in list(w.items()) + list(bs.items()):
        if a is not None:
            np.save(os.path.join(tmp, n + ".npy"), a)
            args += ["--" + n, os.path.join(tmp, n + ".npy")]
    return x, w, bs, args


def report_masked(name, got, ref, bo):
    """Rows PyTorch leaves NaN (nothing to attend) must be bo in clattn; the rest as usual."""
    ref = ref.detach().numpy()
    empty = np.isnan(ref).any(-1)
    want = np.where(empty[..., None], bo if bo is not None else 0.0, ref)
    report(f"{name} ({int(empty.sum())} empty rows)", got, torch.from_numpy(want), "mha --mask")


def check_mha_padding(tmp, rng, lengths, left, d, heads, causal, kind, bias=True):
    """A padded batch with a [B, T] key-padding mask vs nn.MultiheadAttention."""
    b, t = len(lengths), max(lengths)
    x, w, bs, args = layer_args(tmp, rng, b, t, d, d, bias)
    real = np.zeros((b, t), bool)
    for i, (n, l) in enumerate(zip(lengths, left)):
        if l:
            real[i, t - n:] = True  # left padding: the real tokens at the end
        else:
            real[i, :n] = True
    mask = real if kind == "boolean" else np.where(real, 0.0, -np.inf).astype(np.float32)
    np.save(os.path.join(tmp, "mask.npy"), mask)
    args += ["--heads", str(heads), "--mask", os.path.join(tmp, "mask.npy")]
    got = run(args + (["--causal"] if causal else []), tmp)
    T = lambda a: None if a is None else torch.from_numpy(a)
    layer = torch.nn.MultiheadAttention(d, heads, bias=bias, batch_first=True)
    with torch.no_grad():
        layer.in_proj_weight.copy_(torch.cat([T(w["wq"]), T(w["wk"]), T(w["wv"])]))
        layer.out_proj.weight.copy_(T(w["wo"]))
        if bias:
            layer.in_proj_bias.copy_(torch.cat([T(bs["bq"]), T(bs["bk"]), T(bs["bv"])]))
            layer.out_proj.bias.copy_(T(bs["bo"]))
        causal_mask = ~torch.ones(t, t, dtype=torch.bool).tril() if causal else None
        X = T(x)
        ref, _ = layer(X, X, X, key_padding_mask=T(~real), attn_mask=causal_mask, need_weights=True)
    name = f"mha --mask [B,T] {kind} lengths={lengths} left={left} H={heads} causal={int(causal)}"
    report_masked(name + " [nn.MultiheadAttention key_padding_mask]", got, ref, bs["bo"])


def check_mha_head_mask(tmp, rng, b, t, d_in, d_out, heads, causal):
    """A per-head additive [B, H, T, T] mask (some -inf) vs F.linear + SDPA."""
    x, w, bs, args = layer_args(tmp, rng, b, t, d_in, d_out, True)
    mask = rng.uniform(-2, 1, (b, heads, t, t)).astype(np.float32)
    mask[rng.uniform(size=mask.shape) < 0.2] = -np.inf
    np.save(os.path.join(tmp, "mask.npy"), mask)
    args += ["--heads", str(heads), "--mask", os.path.join(tmp, "mask.npy")]
    got = run(args + (["--causal"] if causal else []), tmp)
    T = lambda a: None if a is None else torch.from_numpy(a)
    full = T(mask)
    if causal:
        full = full.masked_fill(~torch.ones(t, t, dtype=torch.bool).tril(), float("-inf"))
    with torch.no_grad():
        hd = d_out // heads
        split = lambda y: y.view(b, t, heads, hd).transpose(1, 2)
        q, k, v = (split(F.linear(T(x), T(w[n]), T(bs[m]))) for n, m in (("wq", "bq"), ("wk", "bk"), ("wv", "bv")))
        ctx = sdpa(q, k, v, full).transpose(1, 2).reshape(b, t, d_out)
        ref = F.linear(torch.nan_to_num(ctx), T(w["wo"]), T(bs["bo"]))
    name = f"mha --mask [B,H,T,T] additive B={b} T={t} H={heads} causal={int(causal)}"
    report(name + " [F.linear+sdpa]", got, ref, "mha --mask")


def check_attend(tmp, rng, b, hq, hkv, m, n, d, causal, mask_kind):
    q = rng.standard_normal((b, hq, m, d)).astype(np.float32)
    k = rng.standard_normal((b, hkv, n, d)).astype(np.float32)
    v = rng.standard_normal((b, hkv, n, d)).astype(np.float32)
    args = ["attend"]
    for nm, a in (("q", q), ("k", k), ("v", v)):
        np.save(os.path.join(tmp, nm + ".npy"), a)
        args += ["--" + nm, os.path.join(tmp, nm + ".npy")]
    allowed = torch.ones(m, n, dtype=torch.bool)
    if causal == "top-left":
        allowed = allowed.tril()
    elif causal == "bottom-right":
        allowed = allowed.tril(n - m)
    if causal:
        args += ["--causal", causal]
    additive = torch.zeros(m, n)
    if mask_kind == "boolean":
        bm = rng.uniform(size=(m, n)) < 0.8
        np.save(os.path.join(tmp, "mask.npy"), bm)
        allowed &= torch.from_numpy(bm)
        args += ["--mask", os.path.join(tmp, "mask.npy")]
    elif mask_kind == "additive":
        am = rng.uniform(-2, 0, (m, n)).astype(np.float32)
        np.save(os.path.join(tmp, "mask.npy"), am)
        additive = torch.from_numpy(am)
        args += ["--mask", os.path.join(tmp, "mask.npy")]
    got, got_w = run(args, tmp, weights=True)
    rep = hq // hkv
    K = torch.from_numpy(k).repeat_interleave(rep, dim=1)
    V = torch.from_numpy(v).repeat_interleave(rep, dim=1)
    full = additive.masked_fill(~allowed, float("-inf"))
    with torch.no_grad():
        ref = sdpa(torch.from_numpy(q), K, V, full)
        scores = torch.from_numpy(q) @ K.transpose(-1, -2) / d**0.5 + full
        ref_w = torch.nan_to_num(torch.softmax(scores, dim=-1))
    ref = torch.nan_to_num(ref)  # rows with nothing allowed: clattn gives zeros
    name = f"attend B={b} Hq={hq} Hkv={hkv} M={m} N={n} D={d} causal={causal or 'none'} mask={mask_kind}"
    report(name, got.reshape(ref.shape), ref)
    report(name + " [weights]", got_w.reshape(ref_w.shape), ref_w)


def alibi_slopes(h):
    """HF's get_alibi_slopes: geometric for a power of two, then the odd ones of 2n."""
    n = 2 ** int(np.floor(np.log2(h)))
    s = [2.0 ** (-8.0 * (i + 1) / n) for i in range(n)]
    return torch.tensor(s + [2.0 ** (-4.0 * (2 * i + 1) / n) for i in range(h - n)])


def allowed_keys(m, n, off, causal, window=None, sink_keys=0):
    """The [m, n] keys each row attends: the window (its first sink_keys keys kept left of
    it, StreamingLLM), and causal masking; off is the causal alignment (N - M or 0)."""
    i = torch.arange(m)[:, None]
    j = torch.arange(n)[None, :]
    allowed = torch.ones(m, n, dtype=torch.bool)
    if window:
        left, right = window
        if left >= 0:
            allowed &= j >= i + off - left
        if right >= 0:
            allowed &= j <= i + off + right
        allowed |= (j < sink_keys) & ((j <= i + off + right) if right >= 0 else True)
    if causal:
        allowed &= j <= i + off
    return allowed


def check_variant(tmp, rng, b, hq, hkv, m, n, d, causal, softcap=0.0, alibi=None, window=None):
    """alibi: None, "standard" (--alibi) or "given" (--alibi-slopes, random slopes)."""
    q = rng.standard_normal((b, hq, m, d)).astype(np.float32)
    k = rng.standard_normal((b, hkv, n, d)).astype(np.float32)
    v = rng.standard_normal((b, hkv, n, d)).astype(np.float32)
    args = ["attend"]
    for nm, a in (("q", q), ("k", k), ("v", v)):
        np.save(os.path.join(tmp, nm + ".npy"), a)
        args += ["--" + nm, os.path.join(tmp, nm + ".npy")]
    off = n - m if causal == "bottom-right" else 0
    i = torch.arange(m)[:, None]
    j = torch.arange(n)[None, :]
    allowed = allowed_keys(m, n, off, causal, window)
    if causal:
        args += ["--causal", causal]
    if window:
        args += ["--window", f"{window[0]},{window[1]}"]
    bias = torch.zeros(hq, m, n)
    if alibi == "standard":
        bias = alibi_slopes(hq)[:, None, None] * (j - i - off)
        args += ["--alibi"]
    elif alibi == "given":
        slopes = rng.uniform(0.01, 1.0, hq).astype(np.float32)
        np.save(os.path.join(tmp, "slopes.npy"), slopes)
        bias = torch.from_numpy(slopes)[:, None, None] * (j - i - off)
        args += ["--alibi-slopes", os.path.join(tmp, "slopes.npy")]
    if softcap:
        args += ["--softcap", repr(softcap)]
    got = run(args, tmp)
    rep = hq // hkv
    Q = torch.from_numpy(q)
    K = torch.from_numpy(k).repeat_interleave(rep, dim=1)
    V = torch.from_numpy(v).repeat_interleave(rep, dim=1)
    full = bias.float().masked_fill(~allowed, float("-inf"))
    with torch.no_grad():
        if softcap:
            s = Q @ K.transpose(-1, -2) / d**0.5
            ref = torch.softmax(softcap * torch.tanh(s / softcap) + full, dim=-1) @ V
        else:
            ref = sdpa(Q, K, V, full)
    ref = torch.nan_to_num(ref)  # rows with nothing allowed: clattn gives zeros
    feature = "softcap" if softcap else "alibi" if alibi else "window"
    name = (f"attend B={b} Hq={hq} Hkv={hkv} M={m} N={n} D={d} causal={causal or 'none'} "
            f"softcap={softcap} alibi={alibi} window={window}")
    report(name, got.reshape(ref.shape), ref, feature)


def check_varlen(tmp, rng, lq, lk, hq, hkv, d, causal, window=None, padded=False):
    """A packed varlen batch (--cu-seqlens-q/-k): each sequence against SDPA on its own with
    the causal alignment (and window) of that sequence, or (padded) the whole batch padded to
    the longest sequence with a key-padding mask, as a padded batch runs in torch."""
    cq, ck = np.cumsum([0] + lq), np.cumsum([0] + lk)
    q = rng.standard_normal((cq[-1], hq, d)).astype(np.float32)
    k = rng.standard_normal((ck[-1], hkv, d)).astype(np.float32)
    v = rng.standard_normal((ck[-1], hkv, d)).astype(np.float32)
    args = ["attend"]
    for nm, a in (("q", q), ("k", k), ("v", v), ("cu_q", cq.astype(np.int64)),
                  ("cu_k", ck.astype(np.int32))):
        np.save(os.path.join(tmp, nm + ".npy"), a)
    args += ["--q", os.path.join(tmp, "q.npy"), "--k", os.path.join(tmp, "k.npy"),
             "--v", os.path.join(tmp, "v.npy"), "--cu-seqlens-q", os.path.join(tmp, "cu_q.npy"),
             "--cu-seqlens-k", os.path.join(tmp, "cu_k.npy")]
    if causal:
        args += ["--causal", causal]
    if window:
        args += ["--window", f"{window[0]},{window[1]}"]
    got = run(args, tmp)
    rep = hq // hkv
    refs = []
    if padded:  # B x max_len, key-padding mask broadcast over heads and rows (no causal)
        mq, mk = max(lq), max(lk)
        Q = torch.zeros(len(lq), hq, mq, d)
        K = torch.zeros(len(lq), hq, mk, d)
        V = torch.zeros(len(lq), hq, mk, d)
        keep = torch.zeros(len(lq), 1, 1, mk, dtype=torch.bool)
        for b in range(len(lq)):
            Q[b, :, :lq[b]] = torch.from_numpy(q[cq[b]:cq[b + 1]]).transpose(0, 1)
            K[b, :, :lk[b]] = torch.from_numpy(k[ck[b]:ck[b + 1]]).transpose(0, 1).repeat_interleave(rep, 0)
            V[b, :, :lk[b]] = torch.from_numpy(v[ck[b]:ck[b + 1]]).transpose(0, 1).repeat_interleave(rep, 0)
            keep[b, ..., :lk[b]] = True
        full = torch.zeros(keep.shape).masked_fill(~keep, float("-inf")).expand(len(lq), hq, mq, mk)
        with torch.no_grad():
            out = torch.nan_to_num(sdpa(Q, K, V, full.contiguous()))
        refs = [out[b, :, :lq[b]].transpose(0, 1) for b in range(len(lq))]
    else:
        for b in range(len(lq)):
            m, n = lq[b], lk[b]
            if m == 0:
                continue
            Q = torch.from_numpy(q[cq[b]:cq[b + 1]]).transpose(0, 1)
            K = torch.from_numpy(k[ck[b]:ck[b + 1]]).transpose(0, 1).repeat_interleave(rep, 0)
            V = torch.from_numpy(v[ck[b]:ck[b + 1]]).transpose(0, 1).repeat_interleave(rep, 0)
            if n == 0:
                refs.append(torch.zeros(m, hq, d))
                continue
            off = n - m if causal == "bottom-right" else 0
            i = torch.arange(m)[:, None]
            j = torch.arange(n)[None, :]
            allowed = torch.ones(m, n, dtype=torch.bool)
            if causal:
                allowed &= j <= i + off
            if window:
                if window[0] >= 0:
                    allowed &= j >= i + off - window[0]
                if window[1] >= 0:
                    allowed &= j <= i + off + window[1]
            full = torch.zeros(m, n).masked_fill(~allowed, float("-inf"))
            with torch.no_grad():
                refs.append(torch.nan_to_num(sdpa(Q, K, V, full)).transpose(0, 1))
    ref = torch.cat(refs, 0)
    name = (f"attend varlen B={len(lq)} Hq={hq} Hkv={hkv} D={d} causal={causal or 'none'} "
            f"window={window}{' vs padded+key-padding mask' if padded else ''}")
    report(name, got.reshape(ref.shape), ref, "varlen")


def check_paged(tmp, rng, b, hq, hkv, m, d, page, max_pages, causal):
    """attend --block-table/--page-size/--seqlens-k (vLLM's block_table): K/V pages in a
    shuffled order; each sequence against SDPA over its keys gathered from the pages, its M
    query rows the last M positions (an explicit bottom-right mask)."""
    lens = rng.integers(m, max_pages * page + 1, b)
    used = [(int(x) + page - 1) // page for x in lens]
    num_pages = sum(used) + 3
    perm = rng.permutation(num_pages)
    table = np.zeros((b, max_pages), np.int32)
    at = 0
    for s in range(b):
        table[s, :used[s]] = perm[at:at + used[s]]
        at += used[s]
    q = rng.standard_normal((b, hq, m, d)).astype(np.float32)
    kp = rng.standard_normal((num_pages, hkv, page, d)).astype(np.float32)
    vp = rng.standard_normal((num_pages, hkv, page, d)).astype(np.float32)
    args = ["attend", "--page-size", str(page)]
    for nm, a in (("q", q), ("k", kp), ("v", vp), ("block-table", table),
                  ("seqlens-k", lens.astype(np.int32))):
        np.save(os.path.join(tmp, nm + ".npy"), a)
        args += ["--" + nm, os.path.join(tmp, nm + ".npy")]
    if causal:
        args += ["--causal", causal]
    got = run(args, tmp)
    refs = []
    for s in range(b):
        n = int(lens[s])
        j = torch.arange(n)
        pages = torch.from_numpy(table[s]).long()[j // page]
        K = torch.from_numpy(kp)[pages, :, j % page].transpose(0, 1)  # [Hkv, n, D]
        V = torch.from_numpy(vp)[pages, :, j % page].transpose(0, 1)
        K = K.repeat_interleave(hq // hkv, dim=0)[None]
        V = V.repeat_interleave(hq // hkv, dim=0)[None]
        allowed = torch.ones(m, n, dtype=torch.bool)
        if causal == "bottom-right":
            allowed = allowed.tril(n - m)
        elif causal == "top-left":
            allowed = allowed.tril()
        mask = torch.zeros(m, n).masked_fill(~allowed, float("-inf"))
        with torch.no_grad():
            refs.append(torch.nan_to_num(sdpa(torch.from_numpy(q[s:s + 1]), K, V, mask)))
    ref = torch.cat(refs)
    name = (f"attend paged B={b} Hq={hq} Hkv={hkv} M={m} D={d} P={page} pages={max_pages} "
            f"causal={causal or 'none'}")
    report(name, got.reshape(ref.shape), ref, "paged")


def philox_keep(b, h, m, n, p, seed, offset=0):
    """clattn's dropout mask in torch: Philox 4x32-10, key = the seed's halves, counter
    {j / 4, i, stream lo, stream hi} with stream = offset + b * H + h, word j % 4, kept when
    the word >= ceil(p 2^32)."""
    M = 0xFFFFFFFF
    bb, hh, ii, jj = torch.meshgrid(torch.arange(b), torch.arange(h), torch.arange(m),
                                    torch.arange(n), indexing="ij")
    stream = offset + bb * h + hh
    c = [jj >> 2, ii, stream & M, stream >> 32]
    k0, k1 = seed & M, seed >> 32

    def mul(a, x):  # the 64-bit product of a 32-bit constant and x as (hi, lo) halves
        lo = (x & 0xFFFF) * a
        hi = (x >> 16) * a + (lo >> 16)
        return hi >> 16, ((hi & 0xFFFF) << 16) | (lo & 0xFFFF)

    for _ in range(10):
        h0, l0 = mul(0xD2511F53, c[0])
        h1, l1 = mul(0xCD9E8D57, c[2])
        c = [h1 ^ c[1] ^ k0, l1, h0 ^ c[3] ^ k1, l0]
        k0, k1 = (k0 + 0x9E3779B9) & M, (k1 + 0xBB67AE85) & M
    word = torch.stack(c, dim=-1).gather(-1, (jj & 3)[..., None])[..., 0]
    return word >= int(np.ceil(float(np.float32(p)) * 2.0**32))


def check_sinkdrop(tmp, rng, b, hq, hkv, m, n, d, causal, sinks=False, sink_keys=0,
                   window=None, dropout=0.0, seed=0):
    q = rng.standard_normal((b, hq, m, d)).astype(np.float32)
    k = rng.standard_normal((b, hkv, n, d)).astype(np.float32)
    v = rng.standard_normal((b, hkv, n, d)).astype(np.float32)
    args = ["attend", "--lse-out", os.path.join(tmp, "lse.npy")]
    for nm, a in (("q", q), ("k", k), ("v", v)):
        np.save(os.path.join(tmp, nm + ".npy"), a)
        args += ["--" + nm, os.path.join(tmp, nm + ".npy")]
    off = n - m if causal == "bottom-right" else 0
    allowed = allowed_keys(m, n, off, causal, window, sink_keys)
    if window:
        args += ["--window", f"{window[0]},{window[1]}", "--sink-keys", str(sink_keys)]
    if causal:
        args += ["--causal", causal]
    S = None
    if sinks:
        S = rng.uniform(-2, 4, hq).astype(np.float32)
        np.save(os.path.join(tmp, "sinks.npy"), S)
        args += ["--sinks", os.path.join(tmp, "sinks.npy")]
    if dropout:
        args += ["--dropout", repr(dropout), "--seed", str(seed)]
    got = run(args, tmp)
    got_lse = np.load(os.path.join(tmp, "lse.npy"))
    rep = hq // hkv
    Q = torch.from_numpy(q)
    K = torch.from_numpy(k).repeat_interleave(rep, dim=1)
    V = torch.from_numpy(v).repeat_interleave(rep, dim=1)
    with torch.no_grad():
        s = (Q @ K.transpose(-1, -2) / d**0.5).masked_fill(~allowed, float("-inf"))
        if sinks:  # gpt-oss: the sink as one more score column, dropped after the softmax
            col = torch.from_numpy(S)[None, :, None, None].expand(b, hq, m, 1)
            s = torch.cat([s, col], dim=-1)
        w = torch.nan_to_num(torch.softmax(s, dim=-1))
        lse = torch.logsumexp(s, dim=-1)
        if sinks:
            w = w[..., :-1]
        if dropout:
            w = w * philox_keep(b, hq, m, n, dropout, seed) / (1 - float(np.float32(dropout)))
        ref = w @ V
    feature = "dropout" if dropout else "sinks"
    name = (f"attend B={b} Hq={hq} Hkv={hkv} M={m} N={n} D={d} causal={causal or 'none'} "
            f"sinks={sinks} sink_keys={sink_keys} window={window} dropout={dropout}")
    report(name, got.reshape(ref.shape), ref, feature)
    finite = torch.isfinite(lse)
    report(name + " [LSE]", torch.from_numpy(got_lse.reshape(lse.shape))[finite].numpy(),
           lse[finite], feature)


def check_mha_variant(tmp, rng, b, t, d_in, d_out, heads, causal, softcap=0.0, alibi=None,
                      window=None, sinks=False, sink_keys=0, dropout=0.0, seed=0, lengths=None):
    """`clattn mha` with the model variants vs F.linear + attention over the heads with the
    explicit mask of allowed_keys (top-left, M = N = T) and the ALiBi bias: SDPA when that
    mask says it all, else (softcap, sinks, dropout) the softmax written out as in
    check_variant and check_sinkdrop. lengths: a [B, T] key-padding mask of those lengths."""
    x, w, bs, args = layer_args(tmp, rng, b, t, d_in, d_out, True)
    args += ["--heads", str(heads)] + (["--causal"] if causal else [])
    i = torch.arange(t)[:, None]
    j = torch.arange(t)[None, :]
    allowed = allowed_keys(t, t, 0, causal, window, sink_keys)[None, None].expand(b, heads, t, t)
    if window:
        args += ["--window", f"{window[0]},{window[1]}", "--sink-keys", str(sink_keys)]
    if lengths is not None:
        real = torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]
        np.save(os.path.join(tmp, "mask.npy"), real.numpy())
        args += ["--mask", os.path.join(tmp, "mask.npy")]
        allowed = allowed & real[:, None, None, :]
    bias = torch.zeros(heads, t, t)
    if alibi == "standard":
        bias = alibi_slopes(heads)[:, None, None] * (j - i)
        args += ["--alibi"]
    elif alibi == "given":
        slopes = rng.uniform(0.01, 1.0, heads).astype(np.float32)
        np.save(os.path.join(tmp, "slopes.npy"), slopes)
        bias = torch.from_numpy(slopes)[:, None, None] * (j - i)
        args += ["--alibi-slopes", os.path.join(tmp, "slopes.npy")]
    if softcap:
        args += ["--softcap", repr(softcap)]
    S = None
    if sinks:
        S = rng.uniform(-2, 4, heads).astype(np.float32)
        np.save(os.path.join(tmp, "sinks.npy"), S)
        args += ["--sinks", os.path.join(tmp, "sinks.npy")]
    if dropout:
        args += ["--dropout", repr(dropout), "--seed", str(seed)]
    got = run(args, tmp)
    T = lambda a: None if a is None else torch.from_numpy(a)
    full = bias.float().expand(b, heads, t, t).masked_fill(~allowed, float("-inf"))
    with torch.no_grad():
        hd = d_out // heads
        split = lambda y: y.view(b, t, heads, hd).transpose(1, 2)
        q, k, v = (split(F.linear(T(x), T(w[n]), T(bs[m]))) for n, m in (("wq", "bq"), ("wk", "bk"), ("wv", "bv")))
        if softcap or sinks or dropout:
            s = q @ k.transpose(-1, -2) / hd**0.5
            if softcap:
                s = softcap * torch.tanh(s / softcap)
            s = s + full
            if sinks:  # gpt-oss: the sink as one more score column, dropped after the softmax
                s = torch.cat([s, T(S)[None, :, None, None].expand(b, heads, t, 1)], dim=-1)
            p = torch.nan_to_num(torch.softmax(s, dim=-1))
            if sinks:
                p = p[..., :-1]
            if dropout:
                p = p * philox_keep(b, heads, t, t, dropout, seed) / (1 - float(np.float32(dropout)))
            ctx = p @ v
        else:
            ctx = torch.nan_to_num(sdpa(q, k, v, full))
        ref = F.linear(ctx.transpose(1, 2).reshape(b, t, d_out), T(w["wo"]), T(bs["bo"]))
    feature = ("mha dropout" if dropout else "mha sinks" if sinks else "mha softcap" if softcap
               else "mha alibi" if alibi else "mha window")
    name = (f"mha B={b} T={t} H={heads} causal={int(causal)} softcap={softcap} alibi={alibi} "
            f"window={window} sinks={int(sinks)} sink_keys={sink_keys} dropout={dropout} "
            f"padded={int(lengths is not None)}")
    report(name + " [F.linear+sdpa]", got, ref, feature)


def has_command(name):
    return subprocess.run([CLATTN, name, "--help"], capture_output=True).returncode == 0


def main():
    rng = np.random.default_rng(2026)
    torch.manual_seed(0)
    print(f"clattn: {CLATTN}; torch {torch.__version__}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        for causal in (False, True):
            check_mha(tmp, rng, 2, 16, 768, 768, 12, causal, True)
            check_mha(tmp, rng, 3, 37, 64, 64, 4, causal, False)
            check_mha(tmp, rng, 1, 100, 48, 96, 2, causal, True)
            check_mha(tmp, rng, 2, 9, 20, 20, 1, causal, True)
            for kind in ("boolean", "additive"):
                check_mha_padding(tmp, rng, (13, 8, 5, 1), (False, False, True, False), 64, 4, causal, kind)
            check_mha_padding(tmp, rng, (40, 17, 33), (False, True, False), 768, 12, causal, "boolean")
            check_mha_head_mask(tmp, rng, 2, 37, 48, 64, 4, causal)
            check_mha_variant(tmp, rng, 2, 37, 40, 48, 3, causal, softcap=2.0)
            check_mha_variant(tmp, rng, 2, 37, 40, 48, 3, causal, alibi="standard")
            check_mha_variant(tmp, rng, 1, 50, 64, 64, 4, causal, alibi="given")
            check_mha_variant(tmp, rng, 2, 37, 40, 48, 3, causal, window=(8, 2))
            check_mha_variant(tmp, rng, 2, 37, 40, 48, 3, causal, sinks=True)
            check_mha_variant(tmp, rng, 2, 37, 40, 48, 3, causal, dropout=0.3, seed=99)
            check_mha_variant(tmp, rng, 2, 37, 40, 48, 3, causal, window=(6, 0), sinks=True,
                              sink_keys=2, dropout=0.3, seed=2**40 + 3, lengths=(37, 20))
        if has_command("attend"):
            for causal in (None, "top-left", "bottom-right"):
                check_attend(tmp, rng, 2, 4, 4, 113, 113, 64, causal, None)
                check_attend(tmp, rng, 1, 8, 2, 7, 300, 128, causal, None)
                check_attend(tmp, rng, 1, 2, 1, 300, 77, 80, causal, None)
            check_attend(tmp, rng, 1, 2, 2, 64, 64, 32, None, "boolean")
            check_attend(tmp, rng, 1, 2, 2, 64, 96, 32, "top-left", "additive")
            check_attend(tmp, rng, 2, 4, 1, 1, 1000, 64, "bottom-right", None)
            for causal in (None, "top-left", "bottom-right"):
                check_variant(tmp, rng, 1, 4, 2, 113, 200, 64, causal, softcap=2.0)
                check_variant(tmp, rng, 1, 6, 3, 113, 200, 64, causal, alibi="standard")
                check_variant(tmp, rng, 1, 3, 1, 70, 90, 32, causal, alibi="given")
                check_variant(tmp, rng, 2, 4, 2, 300, 300, 64, causal, window=(64, 0))
                check_variant(tmp, rng, 1, 2, 2, 77, 130, 80, causal, window=(10, 5))
                check_variant(tmp, rng, 1, 8, 2, 1, 1000, 128, causal, window=(100, -1))
            check_variant(tmp, rng, 1, 4, 4, 128, 128, 64, "bottom-right", softcap=30.0,
                          alibi="standard", window=(32, 0))
            for causal in (None, "top-left", "bottom-right"):
                check_varlen(tmp, rng, [64, 1, 300, 17], [64, 120, 250, 17], 4, 2, 64, causal)
                check_varlen(tmp, rng, [5, 0, 40], [9, 3, 0], 2, 2, 32, causal)
                check_varlen(tmp, rng, [100, 33], [130, 33], 8, 2, 128, causal, window=(16, 0))
            check_varlen(tmp, rng, [13, 8, 5, 1], [13, 8, 5, 1], 4, 4, 64, None, padded=True)
            check_paged(tmp, rng, 4, 8, 2, 1, 128, 16, 40, "bottom-right")
            check_paged(tmp, rng, 3, 4, 4, 9, 64, 8, 30, "bottom-right")
            check_paged(tmp, rng, 2, 6, 3, 5, 80, 32, 7, "top-left")
            check_paged(tmp, rng, 2, 2, 1, 3, 64, 4, 50, None)
            for causal in (None, "top-left", "bottom-right"):
                check_sinkdrop(tmp, rng, 2, 4, 2, 113, 200, 64, causal, sinks=True)
                check_sinkdrop(tmp, rng, 1, 8, 2, 1, 1000, 128, causal, sinks=True)
                check_sinkdrop(tmp, rng, 1, 4, 1, 77, 300, 64, causal, dropout=0.1, seed=7)
            check_sinkdrop(tmp, rng, 1, 4, 4, 300, 300, 64, "bottom-right", sinks=True,
                           sink_keys=4, window=(64, 0))
            check_sinkdrop(tmp, rng, 1, 4, 2, 200, 200, 64, "top-left", sinks=True, sink_keys=3,
                           window=(50, 0), dropout=0.3, seed=2**63 + 12345)
        else:
            print("(this clattn has no 'attend' command: attention cross-check skipped)")
    for feature, (cases, worst) in features.items():
        print(f"{feature:14s} {cases:3d} cases, worst max abs error {worst:.3e}")
    print(f"{failures} case(s) over tolerance {TOLERANCE}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
