#!/usr/bin/env python3
"""The Python `sentencepiece` side of benchmarks/tokenize/run.sh (a measuring instrument, not a dependency).

Encodes every line of INPUT to ids with MODEL and prints one JSON object per measurement:
  batch_1thread   sp.encode(lines, num_threads=1), encoding only (wall and CPU seconds)
  batch_default   sp.encode(lines) (the package's default thread count), encoding only
  loop            [sp.encode(line) for line in lines], encoding only
  end_to_end      read INPUT, encode (default threads), write ids as spm_encode does to OUTPUT; whole script body
With --check FILE, also verifies that the ids equal FILE (e.g. `translate spm-encode --output-format id` output).
"""
import argparse
import json
import time

import sentencepiece as spm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", default="/dev/null")
    ap.add_argument("--check", default=None)
    a = ap.parse_args()

    t0 = time.perf_counter()
    sp = spm.SentencePieceProcessor(model_file=a.model)
    with open(a.input, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    ids = sp.encode(lines)
    with open(a.output, "w", encoding="utf-8") as f:
        f.write("".join(" ".join(map(str, x)) + "\n" for x in ids))
    end_to_end = time.perf_counter() - t0

    def timed(name, fn):
        t = time.perf_counter()
        c = time.process_time()
        out = fn()
        dt = time.perf_counter() - t
        cpu = time.process_time() - c
        print(json.dumps({"what": name, "seconds": dt, "cpu_seconds": cpu, "lines": len(lines),
                          "pieces": sum(len(x) for x in out), "version": spm.__version__}), flush=True)
        return out

    timed("batch_1thread", lambda: sp.encode(lines, num_threads=1))
    timed("batch_default", lambda: sp.encode(lines))
    timed("loop", lambda: [sp.encode(x) for x in lines])
    print(json.dumps({"what": "end_to_end", "seconds": end_to_end, "lines": len(lines)}), flush=True)
    if a.check:
        with open(a.check, encoding="utf-8") as f:
            theirs = f.read()
        ours = "".join(" ".join(map(str, x)) + "\n" for x in ids)
        print(json.dumps({"what": "check", "ids_equal": ours == theirs}), flush=True)


if __name__ == "__main__":
    main()
