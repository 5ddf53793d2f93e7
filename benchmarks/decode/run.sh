#!/usr/bin/env bash
# Decoding speed: `translate decode` against the PyTorch reference (../shared/reference/luna_ref.py translate)
# on Multi30k test2016, beam 5, 2 threads, batch 32 (all 1,000 sentences) and batch 1 (the first
# BATCH1_SENTENCES), for the small preset (d 256, 4 heads, FFN 1024, 3+3 layers, pre-norm, Luna l = 16).
#
# Both sides run randomly initialised weights of the same shape (ours: `translate train` stopped after one
# update, which leaves the weights at their initialisation scale; theirs: make_reference_checkpoint.py), so
# neither model emits EOS early and nearly every output runs to the length limit 1.2·source + 10 on both
# sides. The output token counts are printed so that the equal work can be checked. Each figure is printed
# with the load average at its start: the machine is shared.
#
# usage: benchmarks/decode/run.sh [WORKDIR]     env: TRANSLATE (release binary), PYTHON (venv with torch)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="$root/../shared"
translate="${TRANSLATE:-$root/.build/release/translate}"
python="${PYTHON:-/root/refvenv/bin/python}"
work="${1:-/tmp/decode-bench}"
batch1="${BATCH1_SENTENCES:-200}"
archs="${ARCHS:-luna transformer}"
mkdir -p "$work"
data="$shared/data/multi30k"
head -n "$batch1" "$data/test2016.en" > "$work/test2016.first$batch1.en"
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
    [ -f "$work/ref-$arch.pt" ] || "$python" "$here/make_reference_checkpoint.py" --arch "$arch" --out "$work/ref-$arch.pt"
    for batch in 32 1; do
        input="$data/test2016.en"; limit=()
        if [ "$batch" = 1 ]; then input="$work/test2016.first$batch1.en"; limit=(--limit "$batch1"); fi
        echo "== $arch beam 5 batch $batch ($(wc -l < "$input") sentences)"
        echo "translate  load $(load): $("$translate" decode --model "$model" -i "$input" -o "$work/out-$arch-$batch.de" \
            -b 5 --batch-size "$batch" --threads 2 --report-speed 2>&1 | tail -n 1)"
        l="$(load)"
        ref="$("$python" "$shared/reference/luna_ref.py" translate --ckpt "$work/ref-$arch.pt" --beam 5 --batch "$batch" \
            --threads 2 "${limit[@]}" 2>/dev/null | tail -n 1)"
        echo "reference  load $l: $("$python" -c 'import json,sys; r=json.loads(sys.argv[1]); print(f"{r["n"]} sentences ({r["out_tokens"]} target tokens) in {r["seconds"]:.2f} s: {r["sent_per_s"]:.1f} sentences/s, {r["tok_per_s"]:.1f} target tokens/s, peak memory {r["peak_rss_mb"]:.0f} MB")' "$ref")"
    done
done
