#!/usr/bin/env bash
# Decoding speed: `translate decode` against the PyTorch reference (../shared/reference/luna_ref.py's batched
# beam search, driven by reference_decode.py) on Multi30k test2016, beam 5, 2 threads, batch 32 (the first
# BATCH32_SENTENCES lines, default all 1,000) and batch 1 (the first BATCH1_SENTENCES, default 200), for the
# small preset (d 256, 4 heads, FFN 1024, 3+3 layers, pre-norm, Luna l = 16, vocabulary 8,000).
#
# Both sides run randomly initialised weights of the same shape (ours: `translate train` stopped after one
# update at warm-up's tiny learning rate; theirs: the reference's own initialisation), so the outputs are not
# translations and their lengths are whatever each random model gives: compare target tokens/s, and check the
# printed token counts. Every line carries the load average at its start and the CPU seconds spent decoding:
# the machine is shared, and on a loaded machine wall time measures the load as much as the work.
#
# usage: benchmarks/decode/run.sh [WORKDIR]
# env:   TRANSLATE (release binary), PYTHON (venv with torch), ARCHS, BATCH32_SENTENCES, BATCH1_SENTENCES
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="$root/../shared"
translate="${TRANSLATE:-$root/.build/release/translate}"
python="${PYTHON:-/root/refvenv/bin/python}"
work="${1:-/tmp/decode-bench}"
archs="${ARCHS:-luna transformer}"
mkdir -p "$work"
data="$shared/data/multi30k"
head -n "${BATCH32_SENTENCES:-1000}" "$data/test2016.en" > "$work/batch32.en"
head -n "${BATCH1_SENTENCES:-200}" "$data/test2016.en" > "$work/batch1.en"
head -n 300 "$data/train.en" > "$work/train.en"; head -n 300 "$data/train.de" > "$work/train.de"
head -n 10 "$data/val.en" > "$work/val.en"; head -n 10 "$data/val.de" > "$work/val.de"

load() { cut -d' ' -f1-3 /proc/loadavg; }

for arch in $archs; do
    model="$work/model-$arch"
    if [ ! -f "$model/model.safetensors" ]; then
        "$translate" train --arch "$arch" --preset small --normalize-before --train "$work/train.en" "$work/train.de" \
            --valid "$work/val.en" "$work/val.de" --spm "$shared/reference/spm8k.model" --save-dir "$model" \
            --max-updates 1 --validate-every 1 --max-tokens 1024 > /dev/null 2>&1
    fi
    for batch in 32 1; do
        input="$work/batch$batch.en"
        echo "== $arch beam 5 batch $batch ($(wc -l < "$input") sentences)"
        l="$(load)"
        echo "translate  load $l: $("$translate" decode --model "$model" -i "$input" -o "$work/out-$arch-$batch.de" \
            -b 5 --batch-size "$batch" --threads 2 --report-speed 2>&1 | tail -n 1)"
        l="$(load)"
        echo "reference  load $l: $("$python" "$here/reference_decode.py" --arch "$arch" --input "$input" \
            --beam 5 --batch "$batch" --threads 2 2>/dev/null | tail -n 1)"
    done
done
