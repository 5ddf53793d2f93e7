#!/usr/bin/env bash
# Two builds of `translate` against each other and against CTranslate2 float32, in one run: the Transformer at
# batch 1 (the first BATCH1_SENTENCES lines of Multi30k test2016, twice each, interleaved) and batch 32 (the
# first BATCH32_SENTENCES), Luna at batch 32 and batch 1; beam 5, 2 threads. Each line carries the UTC time and
# the load average at its start; every output of NEW is compared with BASE's (cmp). Wrap it in
# /work/runs/quiet.sh on a shared machine (about 3 minutes on the 2-core EPYC with the small models).
#
# usage: BASE=translate-old NEW=translate-new TRANSFORMER_MODEL=DIR LUNA_MODEL=DIR benchmarks/decode/ab.sh [WORKDIR]
# env:   PYTHON (venv with torch and ctranslate2; default /root/refvenv/bin/python), BATCH1_SENTENCES (200),
#        BATCH32_SENTENCES (1000)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="$here/../../../shared"
python="${PYTHON:-/root/refvenv/bin/python}"
work="${1:-/tmp/decode-ab}"
mkdir -p "$work"
head -n "${BATCH1_SENTENCES:-200}" "$shared/data/multi30k/test2016.en" > "$work/batch1.en"
head -n "${BATCH32_SENTENCES:-1000}" "$shared/data/multi30k/test2016.en" > "$work/batch32.en"
[ -f "$work/reference-transformer.pt" ] \
    || "$python" "$here/model_to_reference.py" "$TRANSFORMER_MODEL" "$work/reference-transformer.pt" > /dev/null

load() { cut -d' ' -f1-3 /proc/loadavg; }
# ours NAME BINARY ARCH BATCH TAG
ours() {
    local model="$TRANSFORMER_MODEL" input="$work/batch$4.en"
    [ "$3" = luna ] && model="$LUNA_MODEL"
    echo "$(date -u +%T) load $(load) $1 $3 batch $4: $("$2" decode --model "$model" -i "$input" \
        -o "$work/$1-$3-$4-$5.out" -b 5 --batch-size "$4" --threads 2 --report-speed 2>&1 | tail -n 1)"
}
# ct2 BATCH
ct2() {
    echo "$(date -u +%T) load $(load) ctranslate2 transformer batch $1: $("$python" "$shared/reference/bench_ct2.py" \
        --ckpt "$work/reference-transformer.pt" --dir "$work/ct2-transformer" --threads 2 --reps 1 \
        --limit "$(wc -l < "$work/batch$1.en")" --configs "float32:$1:5" 2>/dev/null | tail -n 1)"
}

ours base "$BASE" transformer 1 a; ours new "$NEW" transformer 1 a; ct2 1
ours new "$NEW" transformer 1 b; ours base "$BASE" transformer 1 b; ct2 1
ours base "$BASE" transformer 32 a; ours new "$NEW" transformer 32 a; ct2 32
ours base "$BASE" luna 32 a; ours new "$NEW" luna 32 a
ours base "$BASE" luna 1 a; ours new "$NEW" luna 1 a
for out in "$work"/new-*.out; do
    base="$work/base-${out#"$work"/new-}"
    cmp -s "$out" "$base" && echo "$(basename "$out"): identical to base" || echo "$(basename "$out"): DIFFERS from base"
done
