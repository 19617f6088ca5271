#!/usr/bin/env python3
"""Times torch.nn.functional.scaled_dot_product_attention in float32 on the GPU for the
attention shapes of `clattn bench --quick` (and the targets' M = N = 4096), so that clattn's
OpenCL numbers can be put beside PyTorch's on the same card. Usage: torch_sdpa.py OUT.json"""
import json
import sys

import torch
import torch.nn.functional as F


def time_ms(fn, reps=10):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2], times[0]


def main():
    # float32 as computed by clattn: no TF32 shortcuts in the matmuls.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    results = []
    for d in (64, 128):
        for causal in (False, True):
            for m in (128, 1024, 4096, 16384):
                q = torch.randn(1, 1, m, d, device="cuda", dtype=torch.float32)
                k = torch.randn_like(q)
                v = torch.randn_like(q)
                med, low = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal))
                pairs = m * (m + 1) / 2 if causal else m * m
                gflops = 4 * d * pairs / (med * 1e-3) * 1e-9
                results.append({"op": "attention", "backend": "torch_sdpa", "device": torch.cuda.get_device_name(),
                                "batch": 1, "heads": 1, "m": m, "n": m, "d": d, "causal": causal,
                                "median_ms": med, "min_ms": low, "gflops": gflops})
                print(f"m=n={m} d={d} causal={causal}: {med:.3f} ms, {gflops:.1f} GFLOP/s")
    with open(sys.argv[1], "w") as f:
        json.dump({"torch": torch.__version__, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
