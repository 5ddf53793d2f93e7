#!/usr/bin/env bash
# All-reduce cost of data-parallel training on this machine: for the small and base presets, real
# Multi30k batches of 4096 tokens, 2 ranks under mpirun (one thread each), the seconds per update
# spent summing gradients, as a share of the update, and beside it one process with 1 and 2 threads.
#
#   benchmarks/distributed/run.sh [UPDATES]    (default 12; the first 2 updates are not counted)
#   ONLY="small-2ranks-shm base-2ranks-shm" benchmarks/distributed/run.sh 8    (some of the runs)
#
# Needs Open MPI (scripts/setup --mpi) and python3 (to read metrics.jsonl). Builds in release mode
# (SCRATCH: the build folder, default .build; SHARED: the shared folder, default ../shared).
# Figures go to stdout as a table and to benchmarks/distributed/results-DATE.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
updates=${1:-12}
scratch=${SCRATCH:-.build}
swift build -c release --scratch-path "$scratch" --product translate >&2
translate="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/translate"
shared=${SHARED:-../shared}
data=$shared/data/multi30k
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=benchmarks/distributed/results-$(date -u +%Y%m%d-%H%M).jsonl
: >"$results"

# One training run; its metrics.jsonl gives each update's time and, under mpirun, its all-reduce time.
train() { # name, launcher words..., -- , extra train flags...
    local name=$1; shift
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
    local load_before; load_before=$(cut -d' ' -f1 /proc/loadavg)
    local launcher=()
    while [ "$1" != "--" ]; do launcher+=("$1"); shift; done; shift
    "${launcher[@]}" "$translate" train --train $data/train.en $data/train.de \
        --spm $shared/reference/spm8k.model --save-dir "$work/$name" --max-tokens 4096 --log-every 1 \
        --validate-every 1000000 --max-updates "$updates" --keep-last 0 "$@" >/dev/null 2>"$work/$name.log" ||
        { cat "$work/$name.log" >&2; exit 1; }
    python3 - "$work/$name/metrics.jsonl" "$name" "$work/$name.log" "$load_before $(cut -d' ' -f1 /proc/loadavg)" >>"$results" <<'PY'
import json, statistics, sys
records = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l]
steps = [b["wall_seconds"] - a["wall_seconds"] for a, b in zip(records, records[1:])][1:]   # drop update 1 and 2
reduce = [r.get("allreduce_seconds", 0.0) for r in records[2:]]
wait = [r.get("wait_seconds", 0.0) for r in records[2:]]
tokens = [r["target_tokens_per_second"] for r in records[2:]]
summary = [l.strip() for l in open(sys.argv[3]) if l.startswith("data-parallel:")]
print(json.dumps({"run": sys.argv[2], "updates": len(steps), "step_median": statistics.median(steps),
    "step_mean": statistics.mean(steps), "allreduce_median": statistics.median(reduce),
    "wait_median": statistics.median(wait), "target_tokens_per_second_median": statistics.median(tokens),
    "steps": steps, "summary": summary[0] if summary else None, "load_average_before_after": sys.argv[4]}))
PY
}

mpi=(mpirun --allow-run-as-root --oversubscribe -np 2 --bind-to core)
for preset in small base; do
    train "$preset-1proc-2threads" env -- --preset "$preset" --threads 2
    train "$preset-1proc-1thread" env -- --preset "$preset" --threads 1
    train "$preset-2ranks-shm" "${mpi[@]}" -- --preset "$preset" --threads 1
    train "$preset-2ranks-tcp" "${mpi[@]}" --mca btl self,tcp --mca btl_tcp_if_include lo -- --preset "$preset" --threads 1
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'run':28} {'update s':>9} {'all-reduce ms':>14} {'share':>6} {'wait ms':>8} {'tgt tok/s':>10} {'load':>10}")
for r in rows:
    share = 100 * r["allreduce_median"] / r["step_median"]
    print(f"{r['run']:28} {r['step_median']:9.3f} {1000 * r['allreduce_median']:14.1f} {share:5.1f}% "
          f"{1000 * r['wait_median']:8.1f} {r['target_tokens_per_second_median']:10.0f} {r['load_average_before_after']:>10}")
for r in rows:
    if r["summary"]: print(r["run"] + ": " + r["summary"])
PY
echo "(medians over updates 3..$updates; raw figures in $results)"
