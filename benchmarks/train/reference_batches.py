#!/usr/bin/env python3
"""Writes the batches the PyTorch reference's bench_train.py times (the first N of make_batches with
seed 1001 over Multi30k train, spm8k) as `translate bench-train --batches` reads them: one batch per
line, the 0-based line numbers of its pairs. A measuring aid; the toolkit never runs Python."""
import argparse
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--reference", required=True, help="the folder holding luna_ref.py")
ap.add_argument("--count", type=int, default=23, help="batches to write (bench_train.py: warm + steps)")
ap.add_argument("--max-tokens", type=int, default=4096)
ap.add_argument("--seed", type=int, default=1001, help="bench_train.py's batching seed")
ap.add_argument("--out", required=True)
args = ap.parse_args()

sys.path.insert(0, os.path.abspath(args.reference))
import luna_ref as L  # noqa: E402

sp = L.load_spm()
src, tgt, _, _ = L.load_split(sp, L.DEFAULT_DATA, "train")
batches = L.make_batches(src, tgt, args.max_tokens, shuffle=True, seed=args.seed)[: args.count]
with open(args.out, "w") as f:
    for batch in batches:
        f.write(" ".join(str(i) for i in batch) + "\n")
print(f"{len(batches)} batches, {sum(len(b) for b in batches)} pairs -> {args.out}", file=sys.stderr)
