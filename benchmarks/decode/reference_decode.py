#!/usr/bin/env python3
"""Times the PyTorch reference's decoding (../shared/reference/luna_ref.py: translate_ids, its batched beam
search) on the first N lines of a file, for a randomly initialised small-preset model or a checkpoint,
and prints one line in the format of `translate decode --report-speed`, plus the process's CPU time
during decoding (on a loaded machine, wall time measures the load as much as the work).

usage: reference_decode.py --arch luna|transformer --input FILE [--limit N] [--batch 32] [--beam 5]
                           [--threads 2] [--ckpt X.pt] [--output FILE]
"""
import argparse
import os
import resource
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--arch", choices=["luna", "transformer"], default="luna")
parser.add_argument("--ckpt", default=None, help="a luna_ref checkpoint; default: random small preset")
parser.add_argument("--input", required=True)
parser.add_argument("--limit", type=int, default=None)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--beam", type=int, default=5)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--output", default=None, help="write the detokenized translations here, in input order")
parser.add_argument("--reference", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "reference"))
args = parser.parse_args()
sys.path.insert(0, os.path.abspath(args.reference))
import torch  # noqa: E402
import luna_ref as L  # noqa: E402

torch.set_num_threads(args.threads)
if args.ckpt:
    model, _ = L.load_ckpt(args.ckpt)
else:
    torch.manual_seed(args.seed)
    model = L.Seq2Seq(L.cfg_from_dict(dict(L.PRESETS["small"], arch=args.arch, vocab=8000)))
model.eval()
sp = L.load_spm()
lines = L.read_lines(args.input)[: args.limit]
sources = [sp.encode(line) for line in lines]
wall0, cpu0 = time.perf_counter(), time.process_time()
outputs = L.translate_ids(model, sources, batch_size=args.batch, beam=args.beam)
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
tokens = sum(len(o) + 1 for o in outputs)
if args.output:
    with open(args.output, "w", encoding="utf-8") as f:
        for o in outputs:
            f.write(sp.decode(o) + "\n")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"translated {len(sources)} sentences ({tokens} target tokens) in {wall:.2f} s: {len(sources) / wall:.1f} sentences/s, "
      f"{tokens / wall:.1f} target tokens/s, cpu {cpu:.2f} s (decoding only), peak memory {peak:.0f} MB")
