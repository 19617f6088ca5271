"""clattn mha against an independent float64 NumPy multi-head attention layer (the
projections y = x W^T + b, heads split from the projected features, softmax attention with
scale 1/sqrt(head dim), top-left causal masking, concatenation, output projection), for 2-D
and 3-D X, with and without biases, through .npy output and the CSV printout; --mask (a
[B, T] key-padding mask, [B, H, T, T] and [B, 1, T, T], boolean and additive, with causal);
the model variants (--softcap, --window, --alibi, --alibi-slopes, --sinks, --sink-keys,
--dropout/--seed, combined with a key-padding mask) through attention_numpy.sdpa, the
attention of cli_attend_check.py; and the CLI's shape and value errors.
usage: cli_mha_check.py path/to/clattn   (exits 77, skipped, without NumPy)"""
import os, subprocess, sys, tempfile
try:
    import numpy as np
except ImportError:
    print("NumPy is not installed: skipped")
    sys.exit(77)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attention_numpy import alibi_slopes, sdpa  # noqa: E402
rng = np.random.default_rng(7)
CL = os.path.abspath(sys.argv[1])
os.chdir(tempfile.mkdtemp(prefix="clattn_mha_"))
TOL = 2e-5  # float32 kernels vs float64 with weights scaled 1/sqrt(fan-in): errors ~1e-6


def mha(x, w, heads, causal, mask=None):
    x = x.astype(np.float64)
    lin = lambda a, wn, bn: a @ w[wn].astype(np.float64).T + (w[bn] if bn in w else 0)
    q, k, v = lin(x, "wq", "bq"), lin(x, "wk", "bk"), lin(x, "wv", "bv")
    t, d = x.shape[-2], q.shape[-1]
    hd = d // heads
    split = lambda a: np.swapaxes(a.reshape(a.shape[:-1] + (heads, hd)), -2, -3)
    s = split(q) @ np.swapaxes(split(k), -1, -2) / np.sqrt(hd)
    if causal:
        s = np.where(np.tril(np.ones((t, t), bool)), s, -np.inf)
    if mask is not None:
        m = mask.reshape(mask.shape[:-1] + (1, 1, t)) if mask.ndim == 2 else mask  # key padding
        s = np.where(m, s, -np.inf) if m.dtype == bool else s + m
    top = s.max(-1, keepdims=True)
    e = np.exp(s - np.where(np.isinf(top), 0, top))  # a fully masked row: all zeros
    total = e.sum(-1, keepdims=True)
    p = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    ctx = np.swapaxes(p @ split(v), -2, -3).reshape(q.shape)
    return lin(ctx, "wo", "bo")


def files(x, w):
    np.save("x.npy", x)
    args = ["--x", "x.npy"]
    for name, a in w.items():
        np.save(name + ".npy", a)
        args += ["--" + name, name + ".npy"]
    return args


def layer(d_in, d_out):
    """Random weights Wq, Wk, Wv [d_out, d_in] and Wo [d_out, d_out], scaled by their fan-in."""
    w = {n: rng.uniform(-1, 1, (d_out, d_in)).astype(np.float32) / np.sqrt(d_in)
         for n in ("wq", "wk", "wv")}
    w["wo"] = rng.uniform(-1, 1, (d_out, d_out)).astype(np.float32) / np.sqrt(d_out)
    return w


def run(args, ok=True):
    r = subprocess.run([CL, "mha"] + args, capture_output=True, text=True)
    if (r.returncode == 0) != ok:
        print("unexpected exit", r.returncode, r.stderr)
        sys.exit(1)
    return r


worst = 0.0
for xshape, d_out, heads, causal, bias in [((9, 12), 16, 4, False, True),
                                           ((2, 17, 24), 24, 3, True, True),
                                           ((3, 5, 8), 32, 2, True, False),
                                           ((1, 1), 4, 1, False, True)]:
    d_in = xshape[-1]
    x = rng.uniform(-1, 1, xshape).astype(np.float32)
    w = layer(d_in, d_out)
    if bias:
        w.update({n: rng.uniform(-0.5, 0.5, d_out).astype(np.float32) for n in ("bq", "bk", "bv", "bo")})
    args = files(x, w) + ["--heads", str(heads)] + (["--causal"] if causal else [])
    want = mha(x, w, heads, causal)
    run(args + ["--out", "o.npy"])
    got = np.load("o.npy")
    assert got.shape == want.shape, (got.shape, want.shape)
    csv = np.array([[float(v) for v in line.split(",")] for line in run(args).stdout.split()])
    assert csv.shape == (int(np.prod(xshape[:-1])), d_out), csv.shape
    err = max(np.abs(got - want).max(), np.abs(csv - want.reshape(csv.shape)).max())
    print(f"X {xshape} d_out {d_out} heads {heads} causal {causal} bias {bias}: max abs error {err:.2e}")
    worst = max(worst, err)

# Masks: key padding [B, T] (sentences of lengths 7, 4 and 2 (left-padded)), per batch and
# per head, boolean and additive, with and without causal masking; a 2-D X takes [1, T].
def padding(b, t, lengths, left):
    real = np.zeros((b, t), bool)
    for i, (n, l) in enumerate(zip(lengths, left)):
        if l:
            real[i, t - n:] = True
        else:
            real[i, :n] = True
    return real


mask_cases = []
kp = padding(3, 7, (7, 4, 2), (False, False, True))
mask_cases += [((3, 7, 12), 16, 4, c, kp) for c in (False, True)]
mask_cases.append(((3, 7, 12), 16, 4, True, np.where(kp, 0.0, -np.inf).astype(np.float32)))
mask_cases.append(((5, 8), 8, 2, False, padding(1, 5, (3,), (False,))))
pair = rng.uniform(size=(2, 1, 9, 9)) < 0.7
mask_cases.append(((2, 9, 10), 12, 3, True, pair))
additive = rng.uniform(-2, 1, (2, 3, 9, 9)).astype(np.float32)
additive[rng.uniform(size=additive.shape) < 0.2] = -np.inf
mask_cases.append(((2, 9, 10), 12, 3, False, additive))
for xshape, d_out, heads, causal, mask in mask_cases:
    d_in = xshape[-1]
    x = rng.uniform(-1, 1, xshape).astype(np.float32)
    w = layer(d_in, d_out)
    w["bo"] = rng.uniform(-0.5, 0.5, d_out).astype(np.float32)
    np.save("mask.npy", mask)
    args = files(x, w) + ["--heads", str(heads), "--mask", "mask.npy"] + (["--causal"] if causal else [])
    want = mha(x.reshape((-1,) + xshape[-2:]), w, heads, causal, mask).reshape(xshape[:-1] + (d_out,))
    run(args + ["--out", "o.npy"])
    err = np.abs(np.load("o.npy") - want).max()
    print(f"X {xshape} heads {heads} causal {causal} mask {mask.dtype} {mask.shape}: max abs error {err:.2e}")
    worst = max(worst, err)

# Model variants: the projections here, each head's attention by sdpa (top-left causal,
# M = N = T; dropout stream b * H + h as attention's).
def mha_variants(x, w, heads, causal, mask=None, **variants):
    x = x.astype(np.float64)
    lin = lambda a, wn, bn: a @ w[wn].astype(np.float64).T + (w[bn] if bn in w else 0)
    q, k, v = lin(x, "wq", "bq"), lin(x, "wk", "bk"), lin(x, "wv", "bv")
    hd = q.shape[-1] // heads
    split = lambda a: np.swapaxes(a.reshape(a.shape[:-1] + (heads, hd)), -2, -3)
    if mask is not None and mask.ndim == 2:  # key padding [B, T] -> [B, 1, 1, T]
        mask = mask[:, None, None, :]
    o, _ = sdpa(split(q), split(k), split(v), "top-left" if causal else None, mask, **variants)
    return lin(np.swapaxes(o, -2, -3).reshape(q.shape), "wo", "bo")


variant_cases = [  # (B, T, d_in), d_out, heads, causal, CLI options, sdpa's arguments
    ((2, 11, 10), 12, 3, False, ["--softcap", "0.5"], {"softcap": 0.5}),
    ((2, 11, 10), 12, 3, True, ["--alibi"], {"slopes": alibi_slopes(3)}),
    ((2, 11, 10), 12, 3, True, ["--alibi-slopes", "slopes.npy"], {"slopes": np.array([0.3, -0.2, 0.7])}),
    ((2, 11, 10), 12, 3, False, ["--window", "3,2", "--sink-keys", "2"], {"window": (3, 2), "sink_keys": 2}),
    ((2, 11, 10), 12, 3, True, ["--window", "4,0", "--sinks", "sinks.npy", "--sink-keys", "1",
                                "--dropout", "0.3", "--seed", "77"],
     {"window": (4, 0), "sinks": np.array([0.5, -1.0, 1.5]), "sink_keys": 1, "dropout": 0.3, "seed": 77}),
]
for xshape, d_out, heads, causal, options, variants in variant_cases:
    d_in = xshape[-1]
    x = rng.uniform(-1, 1, xshape).astype(np.float32)
    w = layer(d_in, d_out)
    w["bo"] = rng.uniform(-0.5, 0.5, d_out).astype(np.float32)
    mask = padding(2, 11, (11, 7), (False, False))  # every case also with a key-padding mask
    np.save("mask.npy", mask)
    if "sinks" in variants: np.save("sinks.npy", variants["sinks"].astype(np.float32))
    if "--alibi-slopes" in options: np.save("slopes.npy", variants["slopes"].astype(np.float32))
    args = files(x, w) + ["--heads", str(heads), "--mask", "mask.npy"] + options + (["--causal"] if causal else [])
    want = mha_variants(x, w, heads, causal, mask, **variants)
    run(args + ["--out", "o.npy"])
    err = np.abs(np.load("o.npy") - want).max()
    print(f"X {xshape} heads {heads} causal {causal} {' '.join(options)}: max abs error {err:.2e}")
    worst = max(worst, err)

# Half-precision storage: float16 .npy files read, --dtype f16|bf16 storing X, the weights and
# the biases (and the output) for the run, --out-dtype f16 writing a float16 .npy. The reference
# takes the same rounded inputs; the output is rounded once more (half an ulp: 2^-11 / 2^-8
# relative; allowed one ulp, 2^-10 / 2^-7), plus TOL for the float32 stages.
def bf16_round(a):
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    u = (u + np.uint64(0x7FFF) + ((u >> np.uint64(16)) & np.uint64(1))) & np.uint64(0xFFFF0000)
    return u.astype(np.uint32).view(np.float32)


for xshape, d_out, heads, dtype, out16 in [((2, 7, 12), 16, 2, "f16", True), ((9, 10), 12, 3, "bf16", False)]:
    d_in = xshape[-1]
    x = rng.uniform(-1, 1, xshape).astype(np.float32)
    w = layer(d_in, d_out)
    w["bq"] = rng.uniform(-0.5, 0.5, d_out).astype(np.float32)
    rnd = (lambda a: a.astype(np.float16)) if dtype == "f16" else bf16_round
    if dtype == "f16":  # float16 files in
        x, w = rnd(x), {n: rnd(a) for n, a in w.items()}
    args = files(x, w) + ["--heads", str(heads), "--causal", "--dtype", dtype, "--out", "o.npy"]
    run(args + (["--out-dtype", "f16"] if out16 else []))
    o = np.load("o.npy")
    assert o.dtype == (np.float16 if out16 else np.float32), o.dtype
    xr = rnd(x).astype(np.float32)
    want = mha(xr.reshape((-1,) + xshape[-2:]), {n: rnd(a).astype(np.float32) for n, a in w.items()},
               heads, True).reshape(xshape[:-1] + (d_out,))
    ulp = {"f16": 2.0 ** -10, "bf16": 2.0 ** -7}[dtype]
    err = (np.abs(o.astype(np.float64) - want) / (TOL + ulp * np.abs(want))).max()
    print(f"storage {dtype} X {xshape} out {'f16' if out16 else 'f32'}: max |err| / (TOL + ulp |out|) {err:.2f}")
    assert err <= 1, "out of tolerance"
assert "--dtype takes f32, f16 or bf16" in run(args + ["--dtype", "f8"], ok=False).stderr

# Shape errors: Wo or Wk of another shape, heads not dividing d_out, a bias of the wrong length.
x = rng.uniform(-1, 1, (4, 6)).astype(np.float32)
w = {n: rng.uniform(-1, 1, (8, 6)).astype(np.float32) for n in ("wq", "wk", "wv")}
w["wo"] = rng.uniform(-1, 1, (8, 8)).astype(np.float32)
args = files(x, w)
assert "--wo (wq.npy) must have shape [8, 8]" in run(args[:-1] + ["wq.npy", "--heads", "2"], ok=False).stderr
np.save("bad.npy", np.zeros((8, 5), np.float32))
assert "--wk" in run(["--wk", "bad.npy"] + [a for a in args if a not in ("--wk", "wk.npy")] + ["--heads", "2"], ok=False).stderr
assert "does not divide" in run(args + ["--heads", "3"], ok=False).stderr
np.save("b3.npy", np.zeros(3, np.float32))
assert "--bo" in run(args + ["--heads", "2", "--bo", "b3.npy"], ok=False).stderr
np.save("m.npy", np.ones((4, 7), bool))  # [T, T + 3]: no mask shape of a 2-D X of 4 rows
assert "--mask (m.npy) must be [B, T] = [1, 4]" in run(args + ["--heads", "2", "--mask", "m.npy"], ok=False).stderr
np.save("m.npy", np.ones((1, 3, 4, 4), np.float32))  # 3 heads, not 2 or 1
assert "--mask" in run(args + ["--heads", "2", "--mask", "m.npy"], ok=False).stderr
# Variant errors: the messages of clattn attend's parser, and the library's for a bad value.
np.save("s2.npy", np.zeros(2, np.float32))
assert "--sinks must be [H] = [4]" in run(args + ["--heads", "4", "--sinks", "s2.npy"], ok=False).stderr
assert "--window needs LEFT,RIGHT" in run(args + ["--heads", "2", "--window", "3"], ok=False).stderr
assert "--dropout needs a probability" in run(args + ["--heads", "2", "--dropout", "1"], ok=False).stderr
assert "--softcap needs a positive number" in run(args + ["--heads", "2", "--softcap", "-1"], ok=False).stderr
assert "exclude each other" in run(args + ["--heads", "2", "--alibi", "--alibi-slopes", "s2.npy"], ok=False).stderr
assert "--alibi-slopes (s2.npy) must be [H] = [4]" in run(args + ["--heads", "4", "--alibi-slopes", "s2.npy"],
                                                           ok=False).stderr
print(f"worst {worst:.2e} (tolerance {TOL})")
sys.exit(0 if worst <= TOL else 1)
