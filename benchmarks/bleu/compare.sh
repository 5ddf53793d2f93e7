#!/usr/bin/env bash
# Speed: the `bleu` release binary against the `sacrebleu` command on 48,064 lines, whole process
# against whole process, in the same run, on the same input; checks that the scores are identical
# and prints the ratio of the median wall times.
#
#   benchmarks/bleu/compare.sh [SACREBLEU] [RUNS] [extra bleu/sacrebleu flags...]
#   e.g. benchmarks/bleu/compare.sh /root/refvenv/bin/sacrebleu 3
#        benchmarks/bleu/compare.sh /root/refvenv/bin/sacrebleu 3 -tok intl
# Needs python3 (to build the input) and sacrebleu 2.6.0. Builds with its own scratch path.
set -euo pipefail
cd "$(dirname "$0")/../.."
SACREBLEU=${1:-sacrebleu}
RUNS=${2:-3}
shift $(( $# > 2 ? 2 : $# )) || true
SCRATCH=${SCRATCH:-/tmp/build-bleu}
WORK=${WORK:-/tmp/bleu-benchmark}

swift build -c release --scratch-path "$SCRATCH" --product bleu >/dev/null
BLEU="$SCRATCH/release/bleu"
python3 benchmarks/bleu/make_input.py "$WORK" >/dev/null

# Wall time of one run in seconds (bash's own clock; the command's output kept for the check).
time_run() {
    local start end
    start=$(date +%s.%N)
    "$@" > "$WORK/out.txt" 2>/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

ours_times=(); theirs_times=()
for run in $(seq "$RUNS"); do
    theirs_times+=("$(time_run "$SACREBLEU" "$WORK/ref.txt" -i "$WORK/hyp.txt" -b -w 6 "$@")")
    theirs=$(cat "$WORK/out.txt")
    ours_times+=("$(time_run "$BLEU" "$WORK/ref.txt" -i "$WORK/hyp.txt" -b -w 6 "$@")")
    ours=$(cat "$WORK/out.txt")
    if [[ "$ours" != "$theirs" ]]; then
        echo "score differs: bleu $ours, sacrebleu $theirs" >&2
        exit 1
    fi
done
ours_median=$(printf '%s\n' "${ours_times[@]}" | median)
theirs_median=$(printf '%s\n' "${theirs_times[@]}" | median)
echo "lines:      $(wc -l < "$WORK/hyp.txt")"
echo "score:      $ours (both, -w 6 ${*:-})"
echo "sacrebleu:  ${theirs_times[*]} s (median $theirs_median)"
echo "bleu:       ${ours_times[*]} s (median $ours_median)"
echo "ratio:      $(echo "scale=1; $theirs_median / $ours_median" | bc)x faster"
