#!/bin/sh
# LoRA settings compared on validation slices, on two datasets: the synopsis chats of bench/lora.sh and the
# English-to-French chats of bench/lora-translation.sh (run those first: they build the chats). From each train
# split, every 100th chat (the first V = 150 of them) is the validation slice and the first N (10,000) of the others
# train; the test splits are never read. Each setting trains SECONDS (240) on 2 threads from SmolLM2-135M-Instruct,
# then replies greedily (at most 48 new tokens) to the validation chats, scored by chrF and BLEU (fx-eval).
# SETTINGS: fx-train options, one setting per '|' (default: the learning rates tried, the default 2e-3 among them).
set -eu
cd "$(dirname "$0")/.."
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
FX=.build/release
W=bench/results/lora-defaults
SECONDS_BUDGET=${SECONDS:-240}
V=${V:-150}
N=${N:-10000}
SETTINGS=${SETTINGS:-"--lr 2e-4|--lr 5e-4|--lr 1e-3|--lr 2e-3|--lr 5e-3"}
mkdir -p "$W"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, flags: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
for set in synopsis translation; do
    case $set in
        synopsis) source=bench/results/lora/chat-train.jsonl ;;
        translation) source=bench/results/lora-translation/chat-train.jsonl ;;
    esac
    [ -f "$source" ] || { echo "$source is missing: run bench/lora.sh and bench/lora-translation.sh first" >&2; exit 1; }
    awk 'NR % 100 == 0' "$source" | head -n "$V" > "$W/$set-valid.jsonl"
    awk 'NR % 100 != 0' "$source" | head -n "$N" > "$W/$set-train.jsonl"
    echo "$SETTINGS" | tr '|' '\n' | while read -r options; do
        # shellcheck disable=SC2086
        $FX/fx-train --base "$MODEL" "$W/$set-train.jsonl" -o "$W/model.fxm" --max-time "$SECONDS_BUDGET" --threads 2 \
            --seed 1 $options 2> "$W/train.err"
        trained=$(tail -1 "$W/train.err" | grep -o '[0-9]* steps.*final loss [0-9.]*')
        scores=$($FX/fx-eval -m "$W/model.fxm" --threads 2 --max-new-tokens 48 -q < "$W/$set-valid.jsonl")
        echo "$set, $options: $trained; validation $scores"
    done
done
