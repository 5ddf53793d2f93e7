#!/usr/bin/env bash
# Encoding Multi30k train (29,000 pairs: train.en + train.de, 58,000 lines) to ids with the same SentencePiece
# model: our release-built `translate spm-encode` against the Python `sentencepiece` package, interleaved in
# one run on the same machine, median of REPS rounds. Every run's ids are checked against Debian's spm_encode.
#
# usage: benchmarks/tokenize/run.sh [REPS]
# env:   PYTHON      a python with `sentencepiece` (default: $HOME/refvenv/bin/python)
#        SCRATCH     SwiftPM scratch path for the release build (default: .build)
#        MODEL       SentencePiece model (default: ../shared/reference/spm8k.model)
#
# Rows (seconds, median; "cpu" is process CPU time over the same span, which a loaded machine inflates less):
#   ours encode ...          time inside `translate spm-encode` spent in SentencePieceModel.encode
#                            (TRANSLATE_SPM_TIMING=1), without reading stdin and writing stdout; threads 1 or all
#                            cores; word memo on (default) or off (TRANSLATE_SPM_WORD_CACHE=0). The memo starts
#                            empty in every run: each figure includes filling it.
#   python batch ...         sp.encode(lines, num_threads=1) and sp.encode(lines) (default threads)
#   python loop              [sp.encode(l) for l in lines]
#   ... end to end           the whole `translate spm-encode --output-format id` process; for python: read
#                            the file, sp.encode(lines), write ids (interpreter start-up excluded);
#                            Debian's spm_encode 0.1.97 process for reference
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
spm_encode --model "$model" --output_format id < "$work/train.txt" > "$work/reference.ids"

now() { date +%s.%N; }
elapsed() { awk "BEGIN { printf \"%.6f\", $2 - $1 }"; }
results="$work/results.jsonl"
for rep in $(seq "$reps"); do
    for threads in 1 0; do
        for memo in 1 0; do
            start=$(now)
            TRANSLATE_SPM_WORD_CACHE=$memo TRANSLATE_SPM_TIMING=1 "$translate" spm-encode --model "$model" \
                --output-format id --threads "$threads" < "$work/train.txt" > "$work/ours.ids" 2> "$work/ours.err"
            end=$(now)
            cmp -s "$work/ours.ids" "$work/reference.ids" || { echo "ids differ from spm_encode" >&2; exit 1; }
            wall=$(sed -n 's/.*encoding \([0-9.]*\) s, CPU \([0-9.]*\) s.*/\1/p' "$work/ours.err")
            cpu=$(sed -n 's/.*encoding \([0-9.]*\) s, CPU \([0-9.]*\) s.*/\2/p' "$work/ours.err")
            echo "{\"what\": \"ours_encode_t${threads}_m${memo}\", \"seconds\": $wall, \"cpu_seconds\": $cpu}" >> "$results"
            echo "{\"what\": \"ours_process_t${threads}_m${memo}\", \"seconds\": $(elapsed "$start" "$end")}" >> "$results"
        done
    done
    "$python" "$here/bench_python.py" --model "$model" --input "$work/train.txt" --output "$work/py.ids" \
        --check "$work/reference.ids" >> "$results"
    start=$(now)
    spm_encode --model "$model" --output_format id < "$work/train.txt" > /dev/null
    end=$(now)
    echo "{\"what\": \"spm_encode_process\", \"seconds\": $(elapsed "$start" "$end")}" >> "$results"
done

"$python" - "$results" "$reps" <<'PY'
import json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
if not all(r["ids_equal"] for r in rows if r["what"] == "check"):
    sys.exit("python's ids differ from spm_encode's")
wall, cpu = {}, {}
for r in rows:
    if "seconds" in r:
        wall.setdefault(r["what"], []).append(r["seconds"])
    if "cpu_seconds" in r:
        cpu.setdefault(r["what"], []).append(r["cpu_seconds"])
version = next(r["version"] for r in rows if "version" in r)
print(f"Multi30k train, 58,000 lines (29,000 pairs EN+DE) -> ids, {os.path.basename(os.environ.get('MODEL', 'spm8k.model'))};"
      f" median of {sys.argv[2]} interleaved rounds; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f};"
      f" python sentencepiece {version}; all ids equal spm_encode's")
rows = [
    ("ours_encode_t1_m1", "ours encode, 1 thread, word memo"),
    ("ours_encode_t1_m0", "ours encode, 1 thread, no memo"),
    ("batch_1thread", "python sp.encode(lines, num_threads=1)"),
    ("ours_encode_t0_m1", "ours encode, all cores, word memo"),
    ("ours_encode_t0_m0", "ours encode, all cores, no memo"),
    ("batch_default", "python sp.encode(lines), default threads"),
    ("loop", "python per-line loop"),
    ("ours_process_t1_m1", "ours translate spm-encode process, 1 thread, memo"),
    ("ours_process_t0_m1", "ours translate spm-encode process, all cores, memo"),
    ("end_to_end", "python read + encode + write"),
    ("spm_encode_process", "Debian spm_encode 0.1.97 process"),
]
print(f"  {'':52s} {'wall s':>8s} {'lines/s':>9s} {'cpu s':>7s}")
for key, label in rows:
    w = statistics.median(wall[key])
    c = f"{statistics.median(cpu[key]):7.3f}" if key in cpu else " " * 7
    print(f"  {label:52s} {w:8.3f} {58000 / w:9,.0f} {c}   wall all: {', '.join(f'{x:.2f}' for x in wall[key])}")
PY
