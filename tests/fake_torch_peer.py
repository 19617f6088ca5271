#!/usr/bin/env python3
"""A stand-in for tools/torch_peer.py without torch, for the bench's tests: the same line
protocol (see tools/torch_peer.py), attention requests only, computed in pure Python (float64)
from the files the bench wrote, so the bench's check of the peer's output against its
reference tests the protocol end to end: the file layouts, GQA head mapping, causal masking,
the sliding window and the key-padding mask."""
import math
import os
import sys
import time
from array import array


def reply(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def load(folder, name, typecode):
    data = array(typecode)
    with open(os.path.join(folder, name), "rb") as f:
        data.frombytes(f.read())
    return data


class Attention:
    def __init__(self, folder, b, hq, hkv, m, n, d, causal, window, padding):
        self.folder, self.shape = folder, (b, hq, hkv, m, n, d, causal, window, padding)
        self.q, self.k, self.v = (load(folder, x + ".bin", "f") for x in "qkv")
        self.mask = load(folder, "mask.bin", "B") if padding else None
        self.out = None

    def run(self):
        b_, hq, hkv, m, n, d, causal, window, padding = self.shape
        out = array("f", bytes(4 * b_ * hq * m * d))
        scale = 1.0 / math.sqrt(d)
        for b in range(b_):
            for h in range(hq):
                kv = (b * hkv + h // (hq // hkv)) * n * d
                for i in range(m):
                    qi = ((b * hq + h) * m + i) * d
                    q = self.q[qi:qi + d]
                    keys = [j for j in range(n)
                            if (not causal or j <= i) and (window <= 0 or j >= i - window)
                            and (self.mask is None or self.mask[b * n + j])]
                    if not keys:
                        continue
                    s = [scale * sum(q[c] * self.k[kv + j * d + c] for c in range(d)) for j in keys]
                    top = max(s)
                    w = [math.exp(x - top) for x in s]
                    total = sum(w)
                    for c in range(d):
                        out[qi + c] = sum(w[t] * self.v[kv + j * d + c]
                                          for t, j in enumerate(keys)) / total
        self.out = out


def main():
    reply("ok torch fake-0 (tests/fake_torch_peer.py)")
    op = None
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "quit":
                break
            if words[0] == "attention":
                op = Attention(words[1], *[int(w) for w in words[2:]])
                reply("ok sdpa=fake")
            elif words[0] == "run":
                start = time.perf_counter()
                op.run()
                reply(f"ok {(time.perf_counter() - start) * 1e3:.6f}")
            elif words[0] == "save":
                with open(os.path.join(op.folder, "o.bin"), "wb") as f:
                    op.out.tofile(f)
                reply("ok")
            elif words[0] == "free":
                op = None
                reply("ok")
            else:
                reply(f"error the fake peer does not do '{words[0]}'")
        except Exception as e:
            reply(f"error {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
