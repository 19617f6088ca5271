#!/usr/bin/env python3
"""Times torch.nn.functional.scaled_dot_product_attention on the GPU in float32 (TF32 off)
and float16 for the attention shapes of `clattn bench --quick` (and the targets' M = N =
4096) and a decoding step, recording which SDPA backend PyTorch chose, so that clattn's
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


def backend_used(q, k, v, causal):
    """The first SDPA backend, in PyTorch's order, that accepts these inputs: the one the
    default call dispatches to (sdpa_kernel restricts the choice to one at a time)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return "unknown (torch < 2.3)"
    order = [getattr(SDPBackend, n) for n in ("CUDNN_ATTENTION", "FLASH_ATTENTION",
                                              "EFFICIENT_ATTENTION", "MATH") if hasattr(SDPBackend, n)]
    for b in order:
        try:
            with sdpa_kernel([b]):
                F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            return b.name
        except RuntimeError:
            continue
    return "none"


def main():
    # float32 as computed by clattn: no TF32 shortcuts in the matmuls (recorded in the JSON).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    results = []
    shapes = [(1, m, m, d, c) for d in (64, 128) for c in (False, True) for m in (128, 1024, 4096, 16384)]
    shapes.append((8, 1, 1 << 17, 128, False))  # decoding: 8 heads, one query, a 128k KV cache
    for dtype in (torch.float32, torch.float16):
        for heads, m, n, d, causal in shapes:
            q = torch.randn(1, heads, m, d, device="cuda", dtype=dtype)
            k = torch.randn(1, heads, n, d, device="cuda", dtype=dtype)
            v = torch.randn_like(k)
            backend = backend_used(q, k, v, causal)
            med, low = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal))
            pairs = m * (m + 1) / 2 if causal else m * n
            gflops = heads * 4 * d * pairs / (med * 1e-3) * 1e-9
            gbs = heads * (2 * n * d + 2 * m * d) * q.element_size() / (med * 1e-3) * 1e-9
            results.append({"op": "attention" if m > 1 else "decode", "backend": "torch_sdpa",
                            "sdpa_backend": backend, "dtype": str(dtype).replace("torch.", ""),
                            "tf32": torch.backends.cuda.matmul.allow_tf32,
                            "device": torch.cuda.get_device_name(), "batch": 1, "heads": heads,
                            "m": m, "n": n, "d": d, "causal": causal, "median_ms": med,
                            "min_ms": low, "gflops": gflops, "gbs": gbs})
            print(f"{dtype} heads={heads} m={m} n={n} d={d} causal={causal}: {med:.3f} ms, "
                  f"{gflops:.1f} GFLOP/s, {gbs:.1f} GB/s ({backend})")
    with open(sys.argv[1], "w") as f:
        json.dump({"torch": torch.__version__, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
