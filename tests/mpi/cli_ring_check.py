#!/usr/bin/env python3
"""clattn attend --mpi under mpirun against NumPy and the single-device CLI.

usage: cli_ring_check.py CLATTN MPIRUN     (exits 77, skipped, without NumPy)

Whole files (each rank reads its own rows at an offset) and --shards DIR (per-rank files),
causal and not, grouped heads, N = 37 not divisible by the ranks; a shard of the wrong shape
on one rank is refused by every rank. Tolerance: 2e-5 + 1e-4 |want| against the single-device
float32 output (the ring merges at most 2R float32 partial results per row in double), 1e-4
against NumPy in float64."""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("NumPy not available: skipped")
    sys.exit(77)

clattn, mpirun = sys.argv[1], sys.argv[2]
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += 0 if ok else 1


def attention(q, k, v, causal):
    group = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    s = q.astype(np.float64) @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        n = s.shape[-1]
        s = np.where(np.tril(np.ones((n, n), dtype=bool)), s, -np.inf)
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    return (w / w.sum(axis=-1, keepdims=True)) @ v


def rows_of(n, rank, ranks, causal):
    """clattn_ring_rows_of: the global rows rank holds, in shard order."""
    def chunk(chunks, c):
        base, extra = divmod(n, chunks)
        start = c * base + min(c, extra)
        return list(range(start, start + base + (1 if c < extra else 0)))
    if not causal:
        return chunk(ranks, rank)
    return chunk(2 * ranks, rank) + chunk(2 * ranks, 2 * ranks - 1 - rank)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=90, **kw)


rng = np.random.default_rng(14)
B, HQ, HKV, N, D, DV = 2, 4, 2, 37, 16, 8
q = rng.uniform(-1, 1, (B, HQ, N, D)).astype(np.float32)
k = rng.uniform(-1, 1, (B, HKV, N, D)).astype(np.float32)
v = rng.uniform(-1, 1, (B, HKV, N, DV)).astype(np.float32)
with tempfile.TemporaryDirectory() as tmp:
    paths = {name: os.path.join(tmp, name + ".npy") for name in "qkv"}
    for name, a in zip("qkv", (q, k, v)):
        np.save(paths[name], a)
    common = ["--q", paths["q"], "--k", paths["k"], "--v", paths["v"]]
    for causal in (False, True):
        flag = ["--causal"] if causal else []
        single = os.path.join(tmp, "single.npy")
        r = run([clattn, "attend"] + common + flag + ["--out", single])
        check(r.returncode == 0, f"single device causal={causal} {r.stderr.strip()}")
        want = np.load(single)
        numpy_o = attention(q, k, v, causal)
        for ranks in (2, 3):
            out = os.path.join(tmp, f"o{ranks}.npy")
            r = run([mpirun, "--oversubscribe", "-np", str(ranks), clattn, "attend", "--mpi"]
                    + common + flag + ["--out", out])
            what = f"mpirun -np {ranks} causal={causal}"
            check(r.returncode == 0, f"{what} ran {r.stderr.strip()[-400:]}")
            if r.returncode == 0:
                got = np.load(out)
                check(got.shape == want.shape, f"{what} shape {got.shape}")
                check(np.allclose(got, want, atol=2e-5, rtol=1e-4), f"{what} vs single device "
                      f"(max diff {np.abs(got - want).max():.3g})")
                check(np.allclose(got, numpy_o, atol=1e-4, rtol=1e-4), f"{what} vs NumPy")

    # --shards: rank r's rows in shard order; per-rank outputs, then the gathered one.
    ranks, causal = 3, True
    shard_dir = os.path.join(tmp, "shards")
    os.mkdir(shard_dir)
    for r in range(ranks):
        rows = rows_of(N, r, ranks, causal)
        for name, a in zip("qkv", (q, k, v)):
            np.save(os.path.join(shard_dir, f"{name}.{r}.npy"), a[:, :, rows, :])
    mpi = [mpirun, "--oversubscribe", "-np", str(ranks), clattn, "attend", "--mpi", "--causal"]
    r = run(mpi + ["--shards", shard_dir])
    check(r.returncode == 0, f"--shards ran {r.stderr.strip()[-400:]}")
    numpy_o = attention(q, k, v, True)
    for rank in range(ranks if r.returncode == 0 else 0):
        got = np.load(os.path.join(shard_dir, f"o.{rank}.npy"))
        want = numpy_o[:, :, rows_of(N, rank, ranks, causal), :]
        check(np.allclose(got, want, atol=1e-4, rtol=1e-4), f"--shards o.{rank}.npy vs NumPy")
    whole = os.path.join(tmp, "whole.npy")
    r = run(mpi + ["--shards", shard_dir, "--out", whole])
    check(r.returncode == 0 and np.allclose(np.load(whole), numpy_o, atol=1e-4, rtol=1e-4),
          "--shards --out gathers the whole O")

    # Rank 1's shard with another D: every rank refuses, nothing hangs.
    np.save(os.path.join(shard_dir, "q.1.npy"), np.zeros((B, HQ, len(rows_of(N, 1, ranks, True)),
                                                          D + 1), np.float32))
    np.save(os.path.join(shard_dir, "k.1.npy"), np.zeros((B, HKV, len(rows_of(N, 1, ranks, True)),
                                                          D + 1), np.float32))
    r = run(mpi + ["--shards", shard_dir])
    refusals = r.stderr.count("CLATTN_ERROR_INVALID_SHAPE")
    check(r.returncode != 0 and refusals >= ranks,
          f"mismatched shard refused on every rank ({refusals} refusals)")
    if r.returncode == 0 or refusals < ranks:
        print(r.stderr)

    r = run([clattn, "attend", "--mpi", "--help"])
    check(r.returncode == 0 and "--shards DIR" in r.stdout, "attend --mpi --help")

sys.exit(1 if failures else 0)
