"""clattn attend against an independent float64 NumPy implementation with PyTorch's
scaled_dot_product_attention semantics (boolean mask True = attend, float mask added,
causal top-left or bottom-right, grouped-query heads by repetition).
usage: cli_attend_check.py path/to/clattn   (exits 77, skipped, without NumPy)"""
import os, subprocess, sys, tempfile
try:
    import numpy as np
except ImportError:
    print("NumPy is not installed: skipped")
    sys.exit(77)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attention_numpy import alibi_slopes, sdpa  # noqa: E402
rng = np.random.default_rng(1)
CL = os.path.abspath(sys.argv[1])
os.chdir(tempfile.mkdtemp(prefix="clattn_attend_"))
TOL = 1e-5  # float32 kernels vs float64: observed errors ~4e-7
def run(args):
    r = subprocess.run([CL, "attend"] + args, capture_output=True, text=True)
    if r.returncode: print(r.stderr); sys.exit(1)
    return r.stdout
worst = 0
cases = [((2, 4, 33, 64), (2, 2, 50, 64), 64, None, None),
         ((3, 17, 16), (3, 17, 16), 8, "top-left", None),
         ((1, 2, 40, 32), (1, 2, 29, 32), 32, "bottom-right", "bool"),
         ((19, 24), (31, 24), 24, None, "float"),
         ((1, 8, 5, 128), (1, 1, 300, 128), 128, "bottom-right", None)]
# The model variants: softcap, sliding window, ALiBi (standard and given slopes).
cases += [((2, 4, 33, 64), (2, 2, 50, 64), 64, "top-left", None, {"softcap": 2.0}),
          ((1, 2, 70, 32), (1, 2, 90, 32), 32, "bottom-right", "bool", {"window": (9, 2)}),
          ((1, 3, 40, 16), (1, 3, 40, 16), 16, None, None, {"window": (-1, 4)}),
          ((1, 6, 30, 16), (1, 2, 45, 16), 16, "bottom-right", None, {"alibi": True}),
          ((1, 3, 20, 8), (1, 3, 20, 8), 8, "top-left", "float", {"slopes": [0.5, 0.1, 0.02]}),
          ((1, 4, 64, 32), (1, 4, 64, 32), 32, "top-left", None,
           {"softcap": 3.0, "alibi": True, "window": (16, 0)})]
# Attention sinks (logits, keep-first-k keys) and dropout (the Philox mask recomputed here).
cases += [((2, 4, 33, 64), (2, 2, 50, 64), 64, "top-left", "bool", {"sinks": True}),
          ((1, 2, 70, 32), (1, 2, 90, 32), 32, "bottom-right", None,
           {"window": (9, 0), "sink_keys": 4, "sinks": True, "dropout": 0.3, "seed": 12345}),
          ((1, 3, 40, 16), (1, 3, 40, 16), 16, None, None, {"dropout": 0.5, "seed": 2 ** 40 + 7})]
for qs, ks, dv, causal, mk, *rest in cases:
    extra = rest[0] if rest else {}
    q = rng.standard_normal(qs, dtype=np.float32); k = rng.standard_normal(ks, dtype=np.float32)
    v = rng.standard_normal(ks[:-1] + (dv,), dtype=np.float32)
    np.save("q.npy", q); np.save("k.npy", k); np.save("v.npy", v)
    args = ["--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out", "o.npy", "--lse-out", "l.npy"]
    mask = None
    if mk == "bool":
        mask = rng.random((qs[-2], ks[-2])) < 0.7; np.save("m.npy", mask); args += ["--mask", "m.npy"]
    if mk == "float":
        mask = (rng.random((qs[-2], ks[-2])) * -3).astype(np.float32); mask[3, :] = -np.inf
        np.save("m.npy", mask); args += ["--mask", "m.npy"]
    if causal: args += ["--causal", causal]
    slopes = None
    if "softcap" in extra: args += ["--softcap", str(extra["softcap"])]
    if "window" in extra: args += ["--window", "%d,%d" % extra["window"]]
    if extra.get("alibi"): args += ["--alibi"]; slopes = alibi_slopes(qs[-3])
    if "slopes" in extra:
        slopes = np.array(extra["slopes"], np.float32)
        np.save("s.npy", slopes); args += ["--alibi-slopes", "s.npy"]
    sinks = None
    if extra.get("sinks"):
        sinks = (rng.standard_normal(qs[-3]) * 2).astype(np.float32); sinks[-1] = 8.0
        np.save("sinks.npy", sinks); args += ["--sinks", "sinks.npy"]
    if "sink_keys" in extra: args += ["--sink-keys", str(extra["sink_keys"])]
    if "dropout" in extra: args += ["--dropout", str(extra["dropout"]), "--seed", str(extra["seed"])]
    run(args)
    o, lse = np.load("o.npy"), np.load("l.npy")
    ro, rl = sdpa(q, k, v, causal, mask, None, extra.get("softcap", 0),
                  None if slopes is None else slopes.astype(np.float64), extra.get("window"),
                  sinks, extra.get("sink_keys", 0), extra.get("dropout", 0), extra.get("seed", 0))
    with np.errstate(invalid="ignore"):
        err = np.abs(o - ro).max(); lerr = np.nanmax(np.abs(np.where(np.isinf(rl), 0, lse - rl)))
    assert o.shape == ro.shape and lse.shape == rl.shape, (o.shape, ro.shape, lse.shape, rl.shape)
    assert np.array_equal(np.isinf(rl), np.isinf(lse))
    print(qs, ks, dv, causal, mk, extra, "max |O err| %.2e  max |LSE err| %.2e" % (err, lerr))
    assert err < TOL and lerr < TOL, "out of tolerance"
    worst = max(worst, err)
# Variable-length batches: packed [total, H, D] with cu_seqlens (int32 and int64 files),
# each sequence against sdpa on its own (causal per sequence, both alignments, GQA, window;
# head dims and window as in the cases above, so that no new program is compiled); sink
# logits per sequence (a sequence without keys: O = 0, LSE = the sink).
for lq, lk, causal, dtype, dv, extra in [([5, 1, 17], [9, 12, 17], "bottom-right", np.int32, 8, {}),
                                         ([30, 0, 4], [30, 6, 2], "top-left", np.int64, 16,
                                          {"window": (-1, 4)}),
                                         ([30, 3, 4], [30, 6, 0], "top-left", np.int32, 16,
                                          {"window": (-1, 4), "sinks": True})]:
    hq, hkv, d = 4, 2, 16
    cq = np.concatenate([[0], np.cumsum(lq)]).astype(dtype)
    ck = np.concatenate([[0], np.cumsum(lk)]).astype(dtype)
    q = rng.standard_normal((cq[-1], hq, d), dtype=np.float32)
    k = rng.standard_normal((ck[-1], hkv, d), dtype=np.float32)
    v = rng.standard_normal((ck[-1], hkv, dv), dtype=np.float32)
    for name, x in (("q", q), ("k", k), ("v", v), ("cq", cq), ("ck", ck)): np.save(name + ".npy", x)
    args = ["--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--cu-seqlens-q", "cq.npy",
            "--cu-seqlens-k", "ck.npy", "--causal", causal, "--out", "o.npy", "--lse-out", "l.npy"]
    if "window" in extra: args += ["--window", "%d,%d" % extra["window"]]
    sinks = None
    if extra.get("sinks"):
        sinks = (rng.standard_normal(hq) * 2).astype(np.float32)
        np.save("sinks.npy", sinks); args += ["--sinks", "sinks.npy"]
    run(args)
    o, lse = np.load("o.npy"), np.load("l.npy")
    assert o.shape == (cq[-1], hq, dv) and lse.shape == (hq, cq[-1]), (o.shape, lse.shape)
    err = lerr = 0.0
    for b in range(len(lq)):
        if lq[b] == 0: continue
        sq = q[cq[b]:cq[b + 1]].transpose(1, 0, 2)
        sk, sv = (x[ck[b]:ck[b + 1]].transpose(1, 0, 2) for x in (k, v))
        if lk[b] == 0:
            ro = np.zeros((hq, lq[b], dv))
            rl = np.full((hq, lq[b]), -np.inf) if sinks is None else np.repeat(sinks[:, None], lq[b], 1)
        else:
            ro, rl = sdpa(sq, sk, sv, causal, window=extra.get("window"), sinks=sinks)
        so, sl = o[cq[b]:cq[b + 1]].transpose(1, 0, 2), lse[:, cq[b]:cq[b + 1]]
        assert np.array_equal(np.isinf(rl), np.isinf(sl))
        err = max(err, np.abs(so - ro).max())
        lerr = max(lerr, np.abs(np.where(np.isinf(rl), 0, sl - np.where(np.isinf(rl), 0, rl))).max())
    print("varlen", lq, lk, causal, dtype.__name__, extra,
          "max |O err| %.2e  max |LSE err| %.2e" % (err, lerr))
    assert err < TOL and lerr < TOL, "out of tolerance"
    worst = max(worst, err)
# A paged KV cache: K/V pages [num_pages, Hkv, P, D] in a shuffled order, the table [B,
# max_pages] (int64 here: converted), seqlens_k [B] (one sequence empty: zeros, LSE -inf);
# against dense attention of each sequence over its own keys, bottom-right (Q's rows are
# the last M positions).
for (B, Hq, Hkv, M, D, Dv, P, maxp, causal) in [(3, 4, 2, 3, 32, 16, 8, 5, "bottom-right"),
                                                 (2, 2, 1, 1, 16, 16, 4, 9, None)]:
    lens = rng.integers(M, maxp * P + 1, B); lens[-1] = 0 if causal is None else lens[-1]
    used = [(l + P - 1) // P for l in lens]; npages = sum(used) + 2
    perm = rng.permutation(npages)
    table = np.full((B, maxp), -1, np.int64); at = 0
    for b in range(B):
        table[b, :used[b]] = perm[at:at + used[b]]; at += used[b]
    kp = rng.standard_normal((npages, Hkv, P, D), dtype=np.float32)
    vp = rng.standard_normal((npages, Hkv, P, Dv), dtype=np.float32)
    q = rng.standard_normal((B, Hq, M, D), dtype=np.float32)
    np.save("q.npy", q); np.save("k.npy", kp); np.save("v.npy", vp)
    np.save("t.npy", table); np.save("L.npy", lens.astype(np.int32))
    args = ["--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out", "o.npy", "--lse-out",
            "l.npy", "--block-table", "t.npy", "--page-size", str(P), "--seqlens-k", "L.npy"]
    run(args + (["--causal", causal] if causal else []))
    o, lse = np.load("o.npy"), np.load("l.npy")
    err = lerr = 0
    for b in range(B):
        if lens[b] == 0:
            assert np.all(o[b] == 0) and np.all(np.isneginf(lse[b])); continue
        j = np.arange(lens[b])
        kd = kp[table[b, j // P], :, j % P].transpose(1, 0, 2)  # [Hkv, L, D]
        vd = vp[table[b, j // P], :, j % P].transpose(1, 0, 2)
        ro, rl = sdpa(q[b], kd, vd, causal)
        err = max(err, np.abs(o[b] - ro).max()); lerr = max(lerr, np.abs(lse[b] - rl).max())
    print("paged", (B, Hq, Hkv, M, D, Dv, P, maxp), causal, list(lens),
          "max |O err| %.2e  max |LSE err| %.2e" % (err, lerr))
    assert err < TOL and lerr < TOL, "out of tolerance"
    worst = max(worst, err)
# CSV output without --out
q = rng.standard_normal((5, 8), dtype=np.float32); np.save("q.npy", q); np.save("k.npy", q); np.save("v.npy", q)
out = run(["--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--causal"])
csv = np.array([[float(x) for x in line.split(",")] for line in out.strip().split("\n")])
cerr = np.abs(csv - sdpa(q, q, q, "top-left")[0]).max()
print("CSV", csv.shape, "max err %.2e" % cerr)
assert csv.shape == (5, 8) and cerr < TOL
print("worst O error %.2e: passed" % worst)
