#!/usr/bin/env python3
"""PyTorch twin of `translate bench`: forward+backward of one post-norm Transformer encoder layer and one
post-norm Luna encoder layer (tied K/V, luna.md §1.1-1.2), same sizes, same masks, same dropout.

Run by hand, never by CI (needs torch):
    /root/refvenv/bin/python benchmarks/layer_bench.py --threads 2 [--json]
Prints, like `translate bench --json`: sgemm_gflops (torch.mm 2048^3, best of 5) and per layer the median
step seconds, achieved GFLOP/s (matrix-product FLOPs of the step, counted analytically), and the rise of the
peak RSS during the layer's steps (each layer runs in a fresh subprocess so the peaks are clean).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def heads(x, h):  # [B, N, D] -> [B, H, N, k]
    b, n, d = x.shape
    return x.view(b, n, h, d // h).transpose(1, 2)


def merge(x):  # [B, H, N, k] -> [B, N, D]
    b, h, n, k = x.shape
    return x.transpose(1, 2).reshape(b, n, h * k)


def attend(q, k, v, mask, p, training):  # mask [B, K] bool, True = masked
    scores = torch.matmul(q, k.transpose(-1, -2)).masked_fill(mask[:, None, None, :], float("-inf"))
    return torch.matmul(F.dropout(torch.softmax(scores, dim=-1), p, training), v)


class FFN(nn.Module):
    def __init__(self, d, f, p):
        super().__init__()
        self.fc1, self.fc2, self.p = nn.Linear(d, f), nn.Linear(f, d), p

    def forward(self, x):
        return self.fc2(F.dropout(F.relu(self.fc1(x)), self.p, self.training))


class TransformerLayer(nn.Module):
    def __init__(self, d, f, h, p):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2, self.ffn, self.h, self.p = nn.LayerNorm(d), nn.LayerNorm(d), FFN(d, f, p), h, p

    def forward(self, x, mask):
        s = (x.shape[-1] // self.h) ** -0.5
        a = attend(heads(self.q(x) * s, self.h), heads(self.k(x), self.h), heads(self.v(x), self.h), mask, self.p, self.training)
        x = self.ln1(x + F.dropout(self.o(merge(a)), self.p, self.training))
        return self.ln2(x + F.dropout(self.ffn(x), self.p, self.training))


class LunaLayer(nn.Module):
    def __init__(self, d, f, h, p):
        super().__init__()
        self.pq, self.pc, self.q, self.c, self.o = (nn.Linear(d, d) for _ in range(5))
        self.ln1, self.lnp, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.ffn, self.h, self.p = FFN(d, f, p), h, p

    def forward(self, x, px, xmask, pmask):
        s = (x.shape[-1] // self.h) ** -0.5
        kp = heads(self.pc(x), self.h)
        packed = merge(attend(heads(self.pq(px) * s, self.h), kp, kp, xmask, self.p, self.training))  # [B, L, D]
        k = heads(self.c(packed), self.h)
        unpacked = self.o(merge(attend(heads(self.q(x) * s, self.h), k, k, pmask, self.p, self.training)))
        x = self.ln1(x + F.dropout(unpacked, self.p, self.training))
        px = self.lnp(px + F.dropout(packed, self.p, self.training))
        return self.ln2(x + F.dropout(self.ffn(x), self.p, self.training)), px


def flops(layer, b, n, d, f, l):
    t = b * n
    lin = lambda rows, i, o: 2 * rows * i * o * 3  # forward + two backward products
    att = lambda q, k: 2 * b * q * k * d * 2 * 3  # scores and weighted sum, forward + backward
    if layer == "transformer":
        return 4 * lin(t, d, d) + lin(t, d, f) + lin(t, f, d) + att(n, n)
    return 3 * lin(t, d, d) + 2 * lin(b * l, d, d) + lin(t, d, f) + lin(t, f, d) + att(l, n) + att(n, l)


def run_one(a):
    torch.manual_seed(0)
    b = a.tokens // a.length
    n, d, f, h, l = a.length, a.model_dim, a.ffn_dim, a.heads, min(a.projection_length, a.length)
    x = torch.randn(b, n, d, requires_grad=True)
    xmask = torch.zeros(b, n, dtype=torch.bool)
    if a.one == "transformer":
        m = TransformerLayer(d, f, h, a.dropout)
        step = lambda: [m(x, xmask)]
        name = "transformer-encoder"
    else:
        m = LunaLayer(d, f, h, a.dropout)
        px = torch.randn(b, l, d, requires_grad=True)
        pmask = torch.zeros(b, l, dtype=torch.bool)
        step = lambda: list(m(x, px, xmask, pmask))
        name = f"luna-encoder (l={l})"
    m.train()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        outs = step()
        torch.autograd.backward(outs, [torch.randn_like(o) * 1e-3 for o in outs])
        for p in [x] + list(m.parameters()) + ([px] if a.one == "luna" else []):
            p.grad = None
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    sec = times[len(times) // 2]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
    return {"name": name, "seconds": sec, "gflops": flops(a.one, b, n, d, f, l) / sec / 1e9, "peak_mb": peak}


def sgemm():
    x, y = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(x, y)
    best = min(timed(lambda: torch.mm(x, y)) for _ in range(5))
    return 2 * 2048**3 / best / 1e9


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument("--length", type=int, default=32)
    ap.add_argument("--model-dim", type=int, default=512)
    ap.add_argument("--ffn-dim", type=int, default=2048)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--projection-length", type=int, default=16)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layers", default="transformer,luna")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.one:
        print(json.dumps(run_one(a)))
        return
    result = {"sgemm_gflops": sgemm(), "threads": a.threads, "tokens": a.tokens, "length": a.length,
              "dropout": a.dropout, "torch": torch.__version__, "layers": []}
    for layer in a.layers.split(","):
        args = [a2 for a2 in sys.argv[1:] if a2 != "--json"] + ["--one", layer]
        out = subprocess.run([sys.executable, __file__] + args, capture_output=True, text=True, check=True)
        result["layers"].append(json.loads(out.stdout.strip().splitlines()[-1]))
    if a.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(f"torch {torch.__version__}, {a.threads} threads; sgemm 2048^3: {result['sgemm_gflops']:.1f} GFLOP/s\n")
        print("layer (forward+backward)        seconds  GFLOP/s  of sgemm  peak MB")
        for r in result["layers"]:
            print(f"{r['name']:<30}  {r['seconds']:7.4f}  {r['gflops']:7.1f}  {100 * r['gflops'] / result['sgemm_gflops']:7.0f}%  {r['peak_mb']:7.0f}")


if __name__ == "__main__":
    main()
