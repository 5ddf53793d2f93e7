#!/usr/bin/env python3
"""Check load_luna.py against the numerical-parity fixtures (../shared/fixtures/luna-parity).

For every case folder: encoder output, the encoder's final P (Luna), decoder log-probabilities (non-pad
rows) and greedy outputs, sentence by sentence. Prints the largest difference per case and exits 1
if any exceeds 1e-4 or any greedy output differs.

    python check_fixtures.py ../shared/fixtures/luna-parity
"""
import os
import sys

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_luna import Model  # noqa: E402


def check(case_dir):
    model = Model(case_dir)
    e = load_file(os.path.join(case_dir, "expected.safetensors"))
    worst = {"encoder_out": 0.0, "encoder_projected_out": 0.0, "decoder.lprobs": 0.0}
    greedy_equal = True
    for b in range(e["input.src_tokens"].shape[0]):
        n = int(e["input.src_lengths"][b])
        source = e["input.src_tokens"][b, :n].tolist()
        states, p = model.encode(source)
        worst["encoder_out"] = max(worst["encoder_out"], (states - e["encoder_out"][b, :n]).abs().max().item())
        if p is not None:
            slots = p.shape[0]  # this sentence's own slots; the batch may have more, masked for it
            diff = (p - e["encoder_projected_out"][b, :slots]).abs().max().item()
            worst["encoder_projected_out"] = max(worst["encoder_projected_out"], diff)
        target = e["input.target"][b]
        m = int((target != model.pad).sum())
        prefix = e["input.prev_output_tokens"][b, :m].tolist()
        lp = model.decoder_log_probs(states, model.source_contexts(states, p), prefix)
        worst["decoder.lprobs"] = max(worst["decoder.lprobs"], (lp - e["decoder.lprobs"][b, :m]).abs().max().item())
        # The fixtures' search allows floor(1.0 * n + 4) tokens.
        tokens, _ = model.greedy(source[:-1], max_len_a=1.0, max_len_b=4.0)
        expected = e["greedy.tokens"][b, : int(e["greedy.lengths"][b])].tolist()
        greedy_equal &= tokens == expected
    measured = [k for k in worst if k != "encoder_projected_out" or model.arch == "luna"]
    return worst, greedy_equal, measured


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/luna-parity"
    ok = True
    for case in sorted(os.listdir(root)):
        if not os.path.exists(os.path.join(root, case, "expected.safetensors")):
            continue
        worst, greedy_equal, measured = check(os.path.join(root, case))
        ok &= greedy_equal and max(worst.values()) <= 1e-4
        diffs = ", ".join(f"{k} {v:.1e}" for k, v in worst.items() if k in measured)
        print(f"{case}: max |diff| {diffs}; greedy {'identical' if greedy_equal else 'DIFFERENT'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
