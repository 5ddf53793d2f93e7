#!/usr/bin/env bash
# Encoding Multi30k train (29,000 pairs: train.en + train.de, 58,000 lines) to ids with the same SentencePiece
# model: our release-built `translate spm-encode` against the Python `sentencepiece` package, interleaved in
# one run on the same machine, median of REPS rounds.
#
# usage: benchmarks/tokenize/run.sh [REPS]
# env:   PYTHON      a python with `sentencepiece` (default: $HOME/refvenv/bin/python)
#        SCRATCH     SwiftPM scratch path for the release build (default: .build)
#        MODEL       SentencePiece model (default: ../shared/reference/spm8k.model)
#
# Figures reported (seconds, median):
#   ours encode 1 thread / all cores  time inside `translate spm-encode` spent in SentencePieceModel.encode
#                                     (TRANSLATE_SPM_TIMING=1), i.e. without reading stdin and writing stdout
#   ours end to end 1 thread / all    the whole `translate spm-encode --output-format id` process
#   python batch 1 thread / default   sp.encode(lines, num_threads=1) / sp.encode(lines), encoding only
#   python loop                       [sp.encode(l) for l in lines], encoding only
#   python end to end                 read file, sp.encode(lines), write ids (interpreter start excluded)
#   spm_encode end to end             Debian's spm_encode 0.1.97 CLI, for reference
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-5}
python=${PYTHON:-$HOME/refvenv/bin/python}
scratch=${SCRATCH:-.build}
model=${MODEL:-../shared/reference/spm8k.model}
here=benchmarks/tokenize

scripts/setup
swift build -c release --scratch-path "$scratch" --product translate >&2
translate="$scratch/release/translate"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat ../shared/data/multi30k/train.en ../shared/data/multi30k/train.de > "$work/train.txt"

now() { date +%s.%N; }
results="$work/results.jsonl"
for rep in $(seq "$reps"); do
    for threads in 1 0; do
        start=$(now)
        TRANSLATE_SPM_TIMING=1 "$translate" spm-encode --model "$model" --output-format id --threads "$threads" \
            < "$work/train.txt" > "$work/ours.ids" 2> "$work/ours.err"
        end=$(now)
        encode=$(sed -n 's/.*encoding \([0-9.]*\) s.*/\1/p' "$work/ours.err")
        echo "{\"what\": \"ours_encode_threads$threads\", \"seconds\": $encode}" >> "$results"
        echo "{\"what\": \"ours_end_to_end_threads$threads\", \"seconds\": $(awk "BEGIN { printf \"%.6f\", $end - $start }")}" >> "$results"
    done
    "$python" "$here/bench_python.py" --model "$model" --input "$work/train.txt" --output "$work/py.ids" \
        --check "$work/ours.ids" >> "$results"
    start=$(now)
    spm_encode --model "$model" --output_format id < "$work/train.txt" > "$work/spm.ids"
    end=$(now)
    echo "{\"what\": \"spm_encode_end_to_end\", \"seconds\": $(awk "BEGIN { printf \"%.6f\", $end - $start }")}" >> "$results"
    cmp -s "$work/spm.ids" "$work/ours.ids" || { echo "ids differ from spm_encode" >&2; exit 1; }
done

"$python" - "$results" "$reps" <<'PY'
import json, statistics, sys, platform, os
rows = [json.loads(l) for l in open(sys.argv[1])]
if not all(r["ids_equal"] for r in rows if r["what"] == "check"):
    sys.exit("python ids differ from ours")
by = {}
for r in rows:
    if "seconds" in r:
        by.setdefault(r["what"], []).append(r["seconds"])
version = next(r["version"] for r in rows if "version" in r)
print(f"Multi30k train, 58,000 lines (29,000 pairs EN+DE) -> ids; median of {sys.argv[2]} interleaved rounds;"
      f" {os.cpu_count()} cores, load average now {os.getloadavg()[0]:.1f}; python sentencepiece {version}")
names = [("ours_encode_threads1", "ours: SentencePieceModel.encode, 1 thread"),
         ("python_batch_1thread", "python: sp.encode(lines, num_threads=1)"),
         ("ours_encode_threads0", "ours: SentencePieceModel.encode, all cores"),
         ("python_batch_default", "python: sp.encode(lines), default threads"),
         ("python_loop", "python: per-line loop"),
         ("ours_end_to_end_threads1", "ours: translate spm-encode process, 1 thread"),
         ("ours_end_to_end_threads0", "ours: translate spm-encode process, all cores"),
         ("python_end_to_end", "python: read, encode, write (no interpreter start)"),
         ("spm_encode_end_to_end", "Debian spm_encode 0.1.97 process")]
alias = {"batch_1thread": "python_batch_1thread", "batch_default": "python_batch_default",
         "loop": "python_loop", "end_to_end": "python_end_to_end"}
for k, v in list(by.items()):
    if k in alias:
        by[alias[k]] = v
for key, label in names:
    xs = by[key]
    med = statistics.median(xs)
    print(f"  {label:52s} {med:7.3f} s  {58000 / med:9,.0f} lines/s   (all: {', '.join(f'{x:.3f}' for x in xs)})")
PY
