#!/bin/sh
# Continued pretraining of SmolLM2-135M-Instruct with LoRA on Debian's package descriptions (the self-supervised
# kind: documents learned whole), then the synopsis task of bench/lora.sh from the adapted model. Reports the
# perplexity of the first N (300) test descriptions by name before and after SECONDS (600) of training on the
# train split's descriptions, and chrF/BLEU of the synopsis task trained SECONDS more from the adapted adapters
# (compare with bench/lora.sh's run from the base). 2 threads; run bench/lora.sh first (it builds the chats).
set -eu
cd "$(dirname "$0")/.."
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
FX=.build/release
N=${N:-300}
SECONDS_BUDGET=${SECONDS:-600}
W=bench/results/lora-cpt
L=bench/results/lora
[ -f "$L/chat-train.jsonl" ] || { echo "run bench/lora.sh first" >&2; exit 1; }
mkdir -p "$W"
python3 - "$N" "$W" <<'PYEOF'
import json, sys
n, w = int(sys.argv[1]), sys.argv[2]
with open(w + "/train.jsonl", "w") as f:
    for line in open("bench/data/train.jsonl"):
        f.write(json.dumps({"text": json.loads(line)["text"]}, ensure_ascii=False) + "\n")
rows = sorted((json.loads(line) for line in open("bench/data/test.jsonl")), key=lambda r: r["id"])[:n]
with open(w + "/test.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps({"text": r["text"]}, ensure_ascii=False) + "\n")
PYEOF
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), flags: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "before: $($FX/fx-eval -m "$MODEL" --threads 2 -q < "$W/test.jsonl")"
/usr/bin/time -f "%e %M" -o "$W/cpt.time" $FX/fx-train --base "$MODEL" "$W/train.jsonl" -o "$W/cpt.fxm" --max-time "$SECONDS_BUDGET" --threads 2 2> "$W/cpt.err"
echo "continued pretraining: $(tail -1 "$W/cpt.err") / $(cat "$W/cpt.time") (seconds, peak kB)"
echo "after: $($FX/fx-eval -m "$W/cpt.fxm" --threads 2 -q < "$W/test.jsonl")"
$FX/fx-train --base "$W/cpt.fxm" "$L/chat-train.jsonl" -o "$W/synopsis.fxm" --max-time "$SECONDS_BUDGET" --threads 2 2> "$W/synopsis.err"
echo "synopsis from the adapted model: $(tail -1 "$W/synopsis.err")"
$FX/fx-eval -m "$W/synopsis.fxm" --predict --threads 2 --max-new-tokens 48 -q < "$L/chat-test.jsonl" |
    python3 -c 'import json,sys; [print(json.dumps({"prediction": json.loads(l)["prediction"], "synopsis": json.loads(d)["synopsis"]})) for l, d in zip(sys.stdin, open(sys.argv[1]))]' "$L/test.jsonl" |
    $FX/fx-eval --text --target-field synopsis -q
