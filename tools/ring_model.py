#!/usr/bin/env python3
"""Time per ring-attention step for N tokens on R devices: a model (README, "Ring attention").

Each of R ranks holds N/R tokens. A step computes the attention of its N/R queries to one
K/V block of N/R keys while the next block travels over the link (overlapped), so

    compute = 4 B Hq (N/R)^2 D / F           (QK^T and PV, 2 FLOPs a multiply-add; x1/2 causal:
                                              with the zig-zag split every rank does half)
    comm    = latency + B Hkv (N/R) 2 D s / W  (K and V of the block, s bytes per element)
    step    = max(compute, comm),  call = R steps (the last without a transfer)

F is the measured single-device attention throughput, W the link bandwidth per direction.
The transfer hides behind the compute while compute >= comm, i.e. (latency aside) while

    N/R >= F s / (2 (Hq/Hkv) W)   (twice that when causal)

usage: ring_model.py [--flops TFLOPS] [--bandwidth GBPS] [--latency-us US] [--bytes S]
                     [--heads HQ] [--kv-heads HKV] [--d D] [--causal] [--ranks R] [--n N...]
With no options it prints the README's table: 8 H100s at N = 1M on NVLink and on 100 Gb/s
Ethernet, for an fp32 clattn-like kernel and for FlashAttention-3 in BF16."""
import argparse


def step_times(n, ranks, flops, bandwidth, latency, elem_bytes, hq, hkv, d, causal, batch=1):
    block = n / ranks
    compute = 4.0 * batch * hq * block * block * d / flops * (0.5 if causal else 1.0)
    comm = 0.0 if ranks == 1 else latency + batch * hkv * block * 2 * d * elem_bytes / bandwidth
    return compute, comm


def crossover(flops, bandwidth, elem_bytes, hq, hkv, causal):
    """Tokens per rank above which the transfer hides behind the compute (latency aside)."""
    return flops * elem_bytes / (2.0 * (hq / hkv) * bandwidth) * (2 if causal else 1)


def row(label, n, ranks, flops, bandwidth, latency, s, hq, hkv, d, causal):
    compute, comm = step_times(n, ranks, flops, bandwidth, latency, s, hq, hkv, d, causal)
    step = max(compute, comm)
    bound = "compute" if compute >= comm else "LINK"
    sent = hkv * (n / ranks) * 2 * d * s * (ranks - 1)
    print(f"| {label} | {n:,} | {ranks} | {1e3 * compute:,.2f} | {1e3 * comm:,.2f} | "
          f"{1e3 * step:,.2f} | {bound} | {ranks * step:,.3f} | {sent / 2**30:,.2f} | "
          f"{crossover(flops, bandwidth, s, hq, hkv, causal):,.0f} |")


def header():
    print("| case | N | R | compute ms/step | comm ms/step | step ms | bound by | s/call | "
          "GiB sent/rank | hides above N/R = |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--flops", type=float, help="single-device attention TFLOP/s")
    p.add_argument("--bandwidth", type=float, help="link GB/s per direction")
    p.add_argument("--latency-us", type=float, default=10.0)
    p.add_argument("--bytes", type=int, default=4, help="bytes per K/V element")
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=8)
    p.add_argument("--d", type=int, default=128)
    p.add_argument("--causal", action="store_true")
    p.add_argument("--ranks", type=int, nargs="+", default=[8])
    p.add_argument("--n", type=int, nargs="+", default=[2**20])
    a = p.parse_args()
    header()
    if a.flops and a.bandwidth:
        for n in a.n:
            for r in a.ranks:
                row("given", n, r, a.flops * 1e12, a.bandwidth * 1e9, a.latency_us * 1e-6,
                    a.bytes, a.heads, a.kv_heads, a.d, a.causal)
        return
    # The README's predictions: Llama-like heads (Hq 32, Hkv 8, D 128), batch 1, N = 2^20.
    kernels = [("clattn fp32 (20 TFLOP/s)", 20e12, 4), ("FA3 bf16 (600 TFLOP/s)", 600e12, 2)]
    links = [("NVLink 450 GB/s", 450e9, 5e-6), ("100GbE 12.5 GB/s", 12.5e9, 20e-6)]
    for causal in (False, True):
        for kname, flops, s in kernels:
            for lname, bw, lat in links:
                for n in (2**17, 2**20):
                    row(f"{kname}, {lname}{', causal' if causal else ''}", n, 8, flops, bw, lat,
                        s, 32, 8, 128, causal)


if __name__ == "__main__":
    main()
