#!/usr/bin/env python3
"""Writes a randomly initialised PyTorch-reference checkpoint (../shared/reference/luna_ref.py) of the
small preset, for `luna_ref.py translate --ckpt`: the speed twin of a `translate` model of the same shape.

usage: make_reference_checkpoint.py --arch luna|transformer --out X.pt [--seed N]
"""
import argparse
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--arch", required=True, choices=["luna", "transformer"])
parser.add_argument("--out", required=True)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--reference", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference"))
args = parser.parse_args()
sys.path.insert(0, os.path.abspath(args.reference))
import torch  # noqa: E402
import luna_ref  # noqa: E402

torch.manual_seed(args.seed)
config = luna_ref.cfg_from_dict(dict(luna_ref.PRESETS["small"], arch=args.arch, vocab=8000))
model = luna_ref.Seq2Seq(config)
model.eval()
luna_ref.save_ckpt(args.out, model, {"note": "random initialisation, for decoding speed only"})
print(f"wrote {args.out}: {args.arch}, {model.num_params()} parameters", file=sys.stderr)
