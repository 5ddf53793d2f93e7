#!/usr/bin/env bash
# Decoding speed: `translate decode` against the PyTorch reference (../shared/reference/luna_ref.py's batched
# beam search, driven by reference_decode.py) on Multi30k test2016, beam 5, 2 threads, batch 32 (the first
# BATCH32_SENTENCES lines, default all 1,000) and batch 1 (the first BATCH1_SENTENCES, default 200), for the
# small preset (d 256, 4 heads, FFN 1024, 3+3 layers, pre-norm, Luna l = 16, vocabulary 8,000).
#
# With LUNA_MODEL / TRANSFORMER_MODEL (trained model directories of ours), both engines run the identical
# weights: model_to_reference.py converts the directory into a luna_ref checkpoint, the outputs are the same
# translations, and sentences/s compare directly; for the Transformer, CTranslate2 float32 (bench_ct2.py, on
# the converted checkpoint, natural output lengths) runs too. Without them, both sides run randomly
# initialised weights of the same shape (ours: `translate train` stopped after one update; theirs: the
# reference's own initialisation), whose outputs are not translations: compare target tokens/s then.
# Every line carries the load average at its start and the CPU seconds spent decoding; on a shared machine
# wrap the script in something that keeps other work off the cores (we used /work/runs/quiet.sh).
#
# usage: benchmarks/decode/run.sh [WORKDIR]
# env:   TRANSLATE (release binary), PYTHON (venv with torch), ARCHS, BATCH32_SENTENCES, BATCH1_SENTENCES,
#        LUNA_MODEL, TRANSFORMER_MODEL, CT2 (1: also CTranslate2 for the Transformer; default 1)
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
    given="$([ "$arch" = luna ] && echo "${LUNA_MODEL:-}" || echo "${TRANSFORMER_MODEL:-}")"
    ckpt=()
    if [ -n "$given" ]; then
        model="$given"
        "$python" "$here/model_to_reference.py" "$model" "$work/reference-$arch.pt"
        ckpt=(--ckpt "$work/reference-$arch.pt")
    elif [ ! -f "$model/model.safetensors" ]; then
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
        echo "reference  load $l: $("$python" "$here/reference_decode.py" --arch "$arch" "${ckpt[@]}" --input "$input" \
            --beam 5 --batch "$batch" --threads 2 --output "$work/reference-$arch-$batch.de" 2>/dev/null | tail -n 1)"
        if [ -n "$given" ]; then
            cmp -s "$work/out-$arch-$batch.de" "$work/reference-$arch-$batch.de" && echo "outputs: identical" \
                || echo "outputs: $(diff "$work/out-$arch-$batch.de" "$work/reference-$arch-$batch.de" | grep -c '^<') lines differ"
        fi
        if [ -n "$given" ] && [ "$arch" = transformer ] && [ "${CT2:-1}" = 1 ]; then
            l="$(load)"
            echo "ctranslate2 load $l: $("$python" "$shared/reference/bench_ct2.py" --ckpt "$work/reference-$arch.pt" \
                --dir "$work/ct2-$arch" --threads 2 --reps 1 --limit "$(wc -l < "$input")" --configs "float32:$batch:5" \
                2>/dev/null | tail -n 1)"
        fi
    done
done
