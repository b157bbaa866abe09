#!/bin/sh
# English -> French with the causal model: SmolLM2-135M-Instruct (Q4_1 GGUF, from `make models`) fine-tuned with
# LoRA (fx-train's defaults) on the train pairs of bench/translation.sh (bench/translation-split.py: 16,710 train,
# 1,918 test), each as a chat ("Translate this Debian package synopsis from English to French." + the English), for
# SECONDS (1200 by default) on 2 threads; then greedy replies (at most 64 new tokens) to the test pairs, scored by
# BLEU and chrF (sacreBLEU's defaults, fx-eval --text) beside fx's text-to-text transformer of bench/translation.sh
# (trained 20 minutes from scratch). ZERO=1 also scores the untuned model. Results: bench/results/lora-translation/.
set -eu
cd "$(dirname "$0")/.."
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
FX=.build/release
D=bench/data/translation
W=bench/results/lora-translation
SECONDS_BUDGET=${SECONDS:-1200}
[ -f "$MODEL" ] || make models
[ -f bench/data/parallel.fr ] || python3 bench/debian-data.py bench
[ -f $D/test.jsonl ] || python3 bench/translation-split.py
mkdir -p "$W"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, flags: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
PROMPT='Translate this Debian package synopsis from English to French.\n\n{input}'
for split in train test; do
    $FX/fx-pair $D/$split.jsonl --format openai --prompt "$PROMPT" -q > "$W/chat-$split.jsonl"
done
echo "training pairs: $(wc -l < "$W/chat-train.jsonl"), test: $(wc -l < "$W/chat-test.jsonl"), training time: $SECONDS_BUDGET s"

# Replies to the test chats, scored against the French.
reply() {
    start=$(date +%s)
    $FX/fx-eval -m "$1" --predict --threads 2 --max-new-tokens 64 -q < "$W/chat-test.jsonl" > "$W/$2.jsonl"
    python3 -c 'import json,sys; [print(json.dumps({"prediction": json.loads(l)["prediction"], "target": json.loads(d)["target"]}, ensure_ascii=False)) for l, d in zip(open(sys.argv[1]), open(sys.argv[2]))]' \
        "$W/$2.jsonl" $D/test.jsonl > "$W/$2.scored"
    echo "$2: $($FX/fx-eval --text -q < "$W/$2.scored") in $(($(date +%s) - start)) s"
}
[ "${ZERO:-0}" = 1 ] && reply "$MODEL" zero

/usr/bin/time -f "%e %M" -o "$W/fx.time" $FX/fx-train --base "$MODEL" "$W/chat-train.jsonl" -o "$W/fx.fxm" \
    --max-time "$SECONDS_BUDGET" --threads 2 --seed 1 --log "$W/fx-log.jsonl" 2> "$W/fx-train.err"
echo "fx-train: $(tail -1 "$W/fx-train.err") / $(cat "$W/fx.time") (seconds, peak kB)"
reply "$W/fx.fxm" tuned
