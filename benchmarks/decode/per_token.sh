#!/usr/bin/env bash
# Decoding time per output token as outputs grow from 50 to 1,000 tokens: Luna's decoder state has a fixed
# size, the Transformer's key/value cache grows by one position per token. One source sentence, greedy
# (beam 1) and beam 5, batch 1, 2 threads; --min-len N with --max-len-a 0 --max-len-b N+1 forces exactly N
# output tokens plus EOS. Uses the model directories benchmarks/decode/run.sh made (WORKDIR/model-ARCH).
#
# Prints per length: wall and CPU time per token (CPU: user + system of all threads while decoding; on a
# loaded machine the wall time measures the load as much as the work), and the marginal CPU time per token
# since the previous length (the cost of the newest tokens), with the load average.
#
# usage: benchmarks/decode/per_token.sh [WORKDIR]     env: TRANSLATE, LENGTHS, BEAMS, THREADS
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
translate="${TRANSLATE:-$root/.build/release/translate}"
work="${1:-/tmp/decode-bench}"
lengths="${LENGTHS:-50 100 200 400 700 1000}"
beams="${BEAMS:-1 5}"
threads="${THREADS:-2}"
sentence="Two young, White males are outside near many bushes."
printf "%-12s %5s %7s %8s %10s %8s %10s %16s  %s\n" arch beam tokens wall_s "wall ms/t" cpu_s "cpu ms/t" "marginal cpu ms/t" load
for beam in $beams; do
    for arch in luna transformer; do
        previous_tokens=0; previous_cpu=0
        for n in $lengths; do
            l="$(cut -d' ' -f1-3 /proc/loadavg)"
            report="$(echo "$sentence" | "$translate" decode --model "$work/model-$arch" -b "$beam" --min-len "$n" \
                --max-len-a 0 --max-len-b $((n + 1)) --threads "$threads" --report-speed 2>&1 >/dev/null | tail -n 1)"
            seconds="$(echo "$report" | sed -E 's/.* in ([0-9.]+) s:.*/\1/')"
            cpu="$(echo "$report" | sed -E 's/.*cpu ([0-9.]+) s.*/\1/')"
            tokens="$(echo "$report" | sed -E 's/.*\(([0-9]+) target tokens\).*/\1/')"
            awk -v a="$arch" -v b="$beam" -v n="$tokens" -v s="$seconds" -v c="$cpu" -v pn="$previous_tokens" \
                -v pc="$previous_cpu" -v l="$l" \
                'BEGIN { m = (pn > 0) ? sprintf("%.3f", 1000 * (c - pc) / (n - pn)) : "-";
                         printf "%-12s %5d %7d %8.2f %10.3f %8.2f %10.3f %16s  %s\n", a, b, n, s, 1000 * s / n, c, 1000 * c / n, m, l }'
            previous_tokens="$tokens"; previous_cpu="$cpu"
        done
    done
done
