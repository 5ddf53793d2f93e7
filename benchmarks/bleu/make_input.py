#!/usr/bin/env python3
"""Builds the speed benchmark's input: 16 "systems" of 3,004 lines each (newstest2017 EN-DE's
German reference with words dropped, repeated, swapped and recased by a seeded RNG, one seed
per system) concatenated to 48,064 lines, and the reference repeated 16 times to match. This
stands in for sacreBLEU's own benchmark (the 16 WMT17 EN-DE system outputs concatenated).

    python3 benchmarks/bleu/make_input.py OUT_DIR    # writes OUT_DIR/hyp.txt and OUT_DIR/ref.txt
"""
import pathlib, random, sys

root = pathlib.Path(__file__).resolve().parents[2]
source = root.parent / "shared" / "data" / "wmt" / "newstest2017.de"
out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
reference = source.read_text(encoding="utf-8").split("\n")[:-1]
hypotheses = []
for system in range(16):
    rng = random.Random(system)
    for line in reference:
        words = []
        for word in line.split(" "):
            r = rng.random()
            if r < 0.10:
                continue
            if r < 0.15:
                words += [word, word]
            elif r < 0.18:
                words.append(word.upper())
            else:
                words.append(word)
        if len(words) > 2 and rng.random() < 0.3:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        hypotheses.append(" ".join(words))
(out / "hyp.txt").write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
(out / "ref.txt").write_text("\n".join(reference * 16) + "\n", encoding="utf-8")
print(f"{len(hypotheses)} lines in {out}/hyp.txt and {out}/ref.txt")
