#!/usr/bin/env python3
"""PyTorch 2.x as a peer of `clattn bench --model ... --torch PYTHON` (never a build or test
dependency). The bench starts `PYTHON torch_peer.py --threads T` and speaks lines on
stdin/stdout; every reply is one line, "ok ..." or "error ...":

  (greeting)                                            -> ok torch VERSION
  attention DIR B HQ HKV M N D CAUSAL WINDOW PADDING     -> ok DESCRIPTION
      DIR holds q.bin [B,HQ,M,D], k.bin, v.bin [B,HKV,N,D] (float32) and, with PADDING,
      mask.bin [B,N] (uint8, 1 = attend); CAUSAL top-left; WINDOW > 0: keys i-WINDOW..i
  linear DIR ROWS COLS K                                 -> ok DESCRIPTION   (x.bin, w.bin, b.bin)
  mha DIR B T D HEADS CAUSAL                             -> ok DESCRIPTION
      x.bin [B,T,D], wq/wk/wv/wo.bin [D,D], bq/bk/bv/bo.bin [D] (y = x W^T + b)
  run    -> ok MILLISECONDS     one call of the set-up operation, timed here
  save   -> ok                  writes DIR/o.bin (float32, the output of the last run)
  free   -> ok                  drops the tensors
  quit                          exits

The description names the SDPA backend PyTorch's dispatcher picks for these inputs
(torch._fused_sdp_choice, the function scaled_dot_product_attention itself consults)."""
import os
import sys
import time


def reply(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# Idle OpenMP threads that spin between calls would take the cores from the clattn runs
# alternating with these (2 cores): wait passively, as DESIGN.md advises for every peer.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    reply(f"error torch is not installed in {sys.executable} ({e}); "
          f"install PyTorch 2.x there (pip install torch) or pass another Python to --torch")
    sys.exit(1)


def load(folder, name, shape, dtype=torch.float32):
    count = 1
    for s in shape:
        count *= s
    return torch.from_file(os.path.join(folder, name), shared=False, size=count,
                           dtype=dtype).view(*shape)


def sdpa_backend(q, k, v, mask, causal, gqa):
    """The backend the dispatcher chooses: 'FLASH_ATTENTION' is the CPU flash kernel, 'MATH'
    the composite of matmuls and softmax."""
    try:
        kwargs = {"enable_gqa": True} if gqa else {}
        choice = torch._fused_sdp_choice(q, k, v, mask, 0.0, causal, scale=None, **kwargs)
        from torch.nn.attention import SDPBackend
        return SDPBackend(choice).name
    except Exception as e:  # private API: say what is known
        return f"unknown ({type(e).__name__})"


class Peer:
    def __init__(self):
        self.call = None
        self.out = None
        self.folder = None

    def attention(self, folder, b, hq, hkv, m, n, d, causal, window, padding):
        causal = bool(causal)
        q = load(folder, "q.bin", (b, hq, m, d))
        k = load(folder, "k.bin", (b, hkv, n, d))
        v = load(folder, "v.bin", (b, hkv, n, d))
        mask = None
        if window > 0:  # a boolean [M, N] mask: SDPA has no window argument
            i = torch.arange(m).view(m, 1)
            j = torch.arange(n).view(1, n)
            mask = (j >= i - window) & ((j <= i) if causal else True)
            causal = False
        if padding:
            keys = load(folder, "mask.bin", (b, n), torch.uint8).bool().view(b, 1, 1, n)
            if causal:  # is_causal cannot be combined with a mask: put it into the mask
                i = torch.arange(m).view(m, 1)
                mask = torch.arange(n).view(1, n) <= i
                causal = False
            mask = keys if mask is None else (mask.view(1, 1, m, n) & keys)
        gqa = hq != hkv
        how = "enable_gqa"
        backend = sdpa_backend(q, k, v, mask, causal, gqa)
        if gqa and backend == "MATH":  # the flash kernel wants equal heads: expand K, V once
            k = k.repeat_interleave(hq // hkv, dim=1)
            v = v.repeat_interleave(hq // hkv, dim=1)
            backend, how, gqa = sdpa_backend(q, k, v, mask, causal, False), "K/V expanded", False
        kwargs = {"enable_gqa": True} if gqa else {}
        self.call = lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                            is_causal=causal, **kwargs)
        extra = f" gqa={how}" if hq != hkv else ""
        extra += " mask=bool" if mask is not None else ""
        return f"sdpa={backend}{extra}"

    def linear(self, folder, rows, cols, k):
        x = load(folder, "x.bin", (rows, k))
        w = load(folder, "w.bin", (cols, k))
        bias = load(folder, "b.bin", (cols,))
        self.call = lambda: F.linear(x, w, bias)
        return "F.linear"

    def mha(self, folder, b, t, d, heads, causal):
        causal = bool(causal)
        x = load(folder, "x.bin", (b, t, d))
        w = {n: load(folder, n + ".bin", (d, d)) for n in ("wq", "wk", "wv", "wo")}
        bias = {n: load(folder, n + ".bin", (d,)) for n in ("bq", "bk", "bv", "bo")}
        dh = d // heads

        def forward():
            def split(y):
                return y.view(b, t, heads, dh).transpose(1, 2)
            q = split(F.linear(x, w["wq"], bias["bq"]))
            k = split(F.linear(x, w["wk"], bias["bk"]))
            v = split(F.linear(x, w["wv"], bias["bv"]))
            ctx = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            return F.linear(ctx.transpose(1, 2).reshape(b, t, d), w["wo"], bias["bo"])
        q = torch.empty(b, heads, t, dh)
        self.call = forward
        return f"F.linear + sdpa={sdpa_backend(q, q, q, None, causal, False)}"

    def handle(self, words):
        cmd = words[0]
        if cmd in ("attention", "linear", "mha"):
            self.folder = words[1]
            self.out = None
            args = [int(w) for w in words[2:]]
            return getattr(self, cmd)(self.folder, *args)
        if cmd == "run":
            with torch.inference_mode():
                start = time.perf_counter()
                self.out = self.call()
                ms = (time.perf_counter() - start) * 1e3
            return f"{ms:.6f}"
        if cmd == "save":
            self.out.contiguous().numpy().tofile(os.path.join(self.folder, "o.bin"))
            return ""
        if cmd == "free":
            self.call = self.out = None
            return ""
        raise ValueError(f"unknown request '{cmd}'")


def main():
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 0
    if threads > 0:
        torch.set_num_threads(threads)
    # The vector width ATen's kernels dispatch to (ATEN_CPU_CAPABILITY overrides it).
    reply(f"ok torch {torch.__version__} threads={torch.get_num_threads()} "
          f"cpu={torch.backends.cpu.get_cpu_capability()}")
    peer = Peer()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            text = peer.handle(words)
            reply("ok " + text if text else "ok")
        except Exception as e:  # one line back, the bench reports it
            reply(f"error {type(e).__name__}: {e}".replace("\n", " "))


if __name__ == "__main__":
    main()
