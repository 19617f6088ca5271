"""clattn mha against an independent float64 NumPy multi-head attention layer (the
projections y = x W^T + b, heads split from the projected features, softmax attention with
scale 1/sqrt(head dim), top-left causal masking, concatenation, output projection), for 2-D
and 3-D X, with and without biases, through .npy output and the CSV printout; and the CLI's
shape errors.
usage: cli_mha_check.py path/to/clattn   (exits 77, skipped, without NumPy)"""
import os, subprocess, sys, tempfile
try:
    import numpy as np
except ImportError:
    print("NumPy is not installed: skipped")
    sys.exit(77)
rng = np.random.default_rng(7)
CL = os.path.abspath(sys.argv[1])
os.chdir(tempfile.mkdtemp(prefix="clattn_mha_"))
TOL = 2e-5  # float32 kernels vs float64 with weights scaled 1/sqrt(fan-in): errors ~1e-6


def mha(x, w, heads, causal):
    x = x.astype(np.float64)
    lin = lambda a, wn, bn: a @ w[wn].astype(np.float64).T + (w[bn] if bn in w else 0)
    q, k, v = lin(x, "wq", "bq"), lin(x, "wk", "bk"), lin(x, "wv", "bv")
    t, d = x.shape[-2], q.shape[-1]
    hd = d // heads
    split = lambda a: np.swapaxes(a.reshape(a.shape[:-1] + (heads, hd)), -2, -3)
    s = split(q) @ np.swapaxes(split(k), -1, -2) / np.sqrt(hd)
    if causal:
        s = np.where(np.tril(np.ones((t, t), bool)), s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    ctx = np.swapaxes((e / e.sum(-1, keepdims=True)) @ split(v), -2, -3).reshape(q.shape)
    return lin(ctx, "wo", "bo")


def files(x, w):
    np.save("x.npy", x)
    args = ["--x", "x.npy"]
    for name, a in w.items():
        np.save(name + ".npy", a)
        args += ["--" + name, name + ".npy"]
    return args


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
    w = {n: rng.uniform(-1, 1, (d_out, d_in)).astype(np.float32) / np.sqrt(d_in)
         for n in ("wq", "wk", "wv")}
    w["wo"] = rng.uniform(-1, 1, (d_out, d_out)).astype(np.float32) / np.sqrt(d_out)
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
print(f"worst {worst:.2e} (tolerance {TOL})")
sys.exit(0 if worst <= TOL else 1)
