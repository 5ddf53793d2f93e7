#!/usr/bin/env python3
"""Converts a `translate` model directory (config.json + model.safetensors, docs/model-format.md) into a
checkpoint of the PyTorch reference (../shared/reference/luna_ref.py, `load_ckpt`), so that both engines
decode with the identical weights. Tensor names follow ../shared/fixtures/luna-parity/README.md (ours are
the official fairseq / fairseq-apollo state-dict keys); the reference's are its module attribute names.

usage: model_to_reference.py MODEL_DIR OUT.pt
"""
import argparse
import json
import os
import re
import sys

parser = argparse.ArgumentParser()
parser.add_argument("model_dir")
parser.add_argument("out")
parser.add_argument("--reference", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "reference"))
args = parser.parse_args()
sys.path.insert(0, os.path.abspath(args.reference))
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
import luna_ref as L  # noqa: E402

with open(os.path.join(args.model_dir, "config.json")) as f:
    c = json.load(f)
if c.get("format") != "luna-seq2seq" or c.get("format_version") != 1:
    sys.exit(f"{args.model_dir}: not a format-1 luna-seq2seq model directory")
for key, value in [("pad_id", 0), ("unk_id", 1), ("bos_id", 2), ("eos_id", 3), ("position_offset", 2),
                   ("share_all_embeddings", True)]:
    if c.get(key, value) != value:
        sys.exit(f"{args.model_dir}: {key} = {c[key]}, the reference fixes {value}")

cfg = L.cfg_from_dict(dict(
    arch=c["arch"], vocab=c["vocab_size"], d_model=c["d_model"], heads=c["attention_heads"],
    pheads=c.get("pack_heads", 0) or 0, ffn=c["ffn_dim"], enc_layers=c["encoder_layers"],
    dec_layers=c["decoder_layers"], dropout=0.0, attn_dropout=0.0, act_dropout=0.0,
    norm="pre" if c["normalize_before"] else "post", ln_eps=c["layer_norm_eps"],
    pos_offset=c["position_offset"], proj_len=c.get("projection_length", 16),
    dynamic_proj=c.get("dynamic_projection", True), luna_act=c.get("causal_activation", "softplus"),
    tie_kv=c.get("tie_kv", True), dec_cross=c.get("cross_attention", "luna")))

# ours -> reference, applied in order (first match wins)
RULES = [
    (r"^encoder\.embed_tokens\.weight$", "embed.weight"),
    (r"^encoder\.projected_embeddings$", "p_embed"),
    (r"^encoder\.proj_layer_norm\.", "enc_ln_p."),
    (r"^encoder\.layer_norm\.", "enc_ln."),
    (r"^decoder\.layer_norm\.", "dec_ln."),
    (r"^encoder\.layers\.(\d+)\.self_attn\.", r"enc_layers.\1.attn."),
    (r"^encoder\.layers\.(\d+)\.self_attn_layer_norm\.", r"enc_layers.\1.ln_attn."),
    (r"^encoder\.layers\.(\d+)\.self_atten_proj_layer_norm\.", r"enc_layers.\1.ln_p."),
    (r"^encoder\.layers\.(\d+)\.(fc[12])\.", r"enc_layers.\1.ffn.\2."),
    (r"^encoder\.layers\.(\d+)\.final_layer_norm\.", r"enc_layers.\1.ln_ffn."),
    (r"^decoder\.layers\.(\d+)\.self_attn\.", r"dec_layers.\1.self_attn."),
    (r"^decoder\.layers\.(\d+)\.self_attn_layer_norm\.", r"dec_layers.\1.ln_self."),
    (r"^decoder\.layers\.(\d+)\.encoder_attn\.", r"dec_layers.\1.cross_attn."),
    (r"^decoder\.layers\.(\d+)\.encoder_atten_proj_layer_norm\.", r"dec_layers.\1.ln_p."),
    (r"^decoder\.layers\.(\d+)\.encoder_attn_layer_norm\.", r"dec_layers.\1.ln_cross."),
    (r"^decoder\.layers\.(\d+)\.(fc[12])\.", r"dec_layers.\1.ffn.\2."),
    (r"^decoder\.layers\.(\d+)\.final_layer_norm\.", r"dec_layers.\1.ln_ffn."),
]
ALIASES = {"decoder.embed_tokens.weight", "decoder.output_projection.weight"}  # copies of the shared table


def rename(name):
    for pattern, replacement in RULES:
        if re.match(pattern, name):
            return re.sub(pattern, replacement, name)
    return None


ours = load_file(os.path.join(args.model_dir, "model.safetensors"))
model = L.Seq2Seq(cfg)
expected = model.state_dict()
state, unused = {}, []
for name, tensor in ours.items():
    if name in ALIASES:
        continue
    target = rename(name)
    if target is None or target not in expected:
        unused.append(name)
        continue
    if tuple(expected[target].shape) != tuple(tensor.shape):
        sys.exit(f"{name} -> {target}: shape {tuple(tensor.shape)}, the reference expects {tuple(expected[target].shape)}")
    state[target] = tensor.to(torch.float32)
missing = sorted(set(expected) - set(state))
if unused or missing:
    sys.exit(f"unmapped tensors of ours: {unused}; reference tensors without a source: {missing}")
model.load_state_dict(state)
model.eval()
L.save_ckpt(args.out, model, {"converted_from": os.path.abspath(args.model_dir)})
print(f"wrote {args.out}: {c['arch']}, {model.num_params()} parameters, {len(state)} tensors", file=sys.stderr)
