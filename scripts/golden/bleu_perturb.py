#!/usr/bin/env python3
"""Writes perturbed hypotheses for the BLEU tests: real references with words dropped, swapped,
repeated and recased, some lines emptied, and a sprinkle of the characters tokenizers treat
specially (entities, NBSP, dashes, quotes). Deterministic (seeded). Run by hand:
    python3 scripts/golden/bleu_perturb.py
"""
import random, pathlib

DATA = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data"
OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests" / "BLEUTests" / "Fixtures"
EXTRAS = ["&quot;", "&amp;", "\u00a0", "\u2014", "\u201e", "\u201c", "-", "3,5", "1.000.000", "€", "(", ")",
          "<skipped>", "\u200b", "...", "'", "%", "$", "\u00e9t\u00e9", "\u0391\u0398\u0397\u039d\u0391\u03a3"]

def perturb(lines, seed):
    rng = random.Random(seed)
    out = []
    for line in lines:
        r = rng.random()
        if r < 0.02:
            out.append("")
            continue
        words = line.split(" ")
        new = []
        for w in words:
            x = rng.random()
            if x < 0.08:
                continue
            if x < 0.12:
                new += [w, w]
            elif x < 0.15:
                new.append(w.upper())
            elif x < 0.18:
                new.append(w.lower())
            elif x < 0.20:
                new += [w, rng.choice(EXTRAS)]
            else:
                new.append(w)
        for _ in range(2):
            if len(new) > 2 and rng.random() < 0.4:
                i = rng.randrange(len(new) - 1)
                new[i], new[i + 1] = new[i + 1], new[i]
        text = " ".join(new)
        if rng.random() < 0.05:
            text += "  "
        out.append(text)
    return out

for name, src, seed in [("multi30k_test2016.perturbed.de", "multi30k/test2016.de", 1),
                        ("newstest2021.perturbed.de", "wmt/newstest2021.de", 2)]:
    lines = (DATA / src).read_text(encoding="utf-8").split("\n")[:-1]
    (OUT / name).write_text("\n".join(perturb(lines, seed)) + "\n", encoding="utf-8")
    print(name, len(lines))
