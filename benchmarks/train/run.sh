#!/bin/bash
# Training speed side by side: `translate bench-train` and the PyTorch reference's bench_train.py time
# full training steps of the small preset (pre-norm, as the reference's default) on the SAME batches:
# the first WARMUP+STEPS batches of bench_train.py's own order, written out by reference_batches.py.
# Each engine runs in its own process; they alternate ROUNDS times. Prints one JSON line per run and a
# summary of medians with the ratio.
#
#   TRANSLATE=.build/release/translate benchmarks/train/run.sh [ROUNDS]
#
# Environment: TRANSLATE (release binary), PYTHON (a venv with torch, sentencepiece, numpy),
# REFERENCE (folder of luna_ref.py), THREADS (2), STEPS (20), WARMUP (3), ARCHS ("luna transformer").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
TRANSLATE="${TRANSLATE:-$root/.build/release/translate}"
PYTHON="${PYTHON:-/root/refvenv/bin/python}"
REFERENCE="${REFERENCE:-$root/../shared/reference}"
THREADS="${THREADS:-2}"; STEPS="${STEPS:-20}"; WARMUP="${WARMUP:-3}"
ARCHS="${ARCHS:-luna transformer}"
ROUNDS="${1:-1}"
data="$REFERENCE/../data/multi30k"
# Both engines run in this session's scheduler autogroup: put it back at nice 0 in case a wrapper that renices
# other sessions (as /work/runs/quiet.sh does) left it at 19, which would let any other job share the cores.
echo 0 > /proc/self/autogroup 2>/dev/null || true
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

"$PYTHON" "$here/reference_batches.py" --reference "$REFERENCE" --count $((STEPS + WARMUP)) --out "$work/batches.txt"
results="$work/results.jsonl"
for round in $(seq "$ROUNDS"); do
  for arch in $ARCHS; do
    echo "round $round, $arch: translate bench-train (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    ours=$("$TRANSLATE" bench-train --train "$data/train.en" "$data/train.de" --spm "$REFERENCE/spm8k.model" \
      --preset small --arch "$arch" --normalize-before --batches "$work/batches.txt" \
      --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" --json)
    echo "{\"engine\":\"translate\",\"round\":$round,\"result\":$ours}" | tee -a "$results"
    echo "round $round, $arch: bench_train.py (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    theirs=$(cd "$REFERENCE" && "$PYTHON" bench_train.py --variants "$arch" --steps "$STEPS" --warm "$WARMUP" \
      --threads "$THREADS" --preset small | tail -n 1)
    echo "{\"engine\":\"pytorch\",\"round\":$round,\"result\":$theirs}" | tee -a "$results"
  done
done
"$PYTHON" - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
for arch in sorted({r["result"].get("arch", r["result"].get("variant")) for r in rows}):
    def pick(engine, key):
        return [r["result"][key] for r in rows if r["engine"] == engine
                and r["result"].get("arch", r["result"].get("variant")) == arch]
    ours, theirs = pick("translate", "median_tok_per_s"), pick("pytorch", "median_tok_per_s")
    print(f"{arch}: translate median {statistics.median(ours):.0f} tok/s (runs {', '.join(f'{x:.0f}' for x in ours)}), "
          f"PyTorch {statistics.median(theirs):.0f} (runs {', '.join(f'{x:.0f}' for x in theirs)}): "
          f"{statistics.median(ours) / statistics.median(theirs):.2f}x; peak RSS {max(pick('translate', 'peak_rss_mb')):.0f} MB "
          f"vs {max(pick('pytorch', 'peak_rss_mb')):.0f} MB")
PY
