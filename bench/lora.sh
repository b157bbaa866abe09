#!/bin/sh
# LoRA fine-tuning of SmolLM2-135M-Instruct (Q4_1 GGUF, from `make models`) on Debian's synopses: fx-train --base
# against PyTorch + PEFT (bench/lora_reference.py: transformers' LlamaForCausalLM from the same file in float32, the
# same rank 16, alpha 32, dropout 0.05 on all seven projections, lr 2e-4 (LR, given to both; fx's own default is 2e-3), completion-only loss), both on 2 threads
# and for the same training time (SECONDS, 600 by default). The task: the long description (its first 600
# characters) in, the package's one-line synopsis out, as a chat ("Write a one-line synopsis of this Debian
# package." + the description). Training pairs: every package of the train split with a long description; test:
# the first N (300) packages by name of the test split. Replies are greedy, at most 48 new tokens, scored by chrF
# and BLEU (sacreBLEU's defaults, fx-eval --text). Peak RSS from GNU time. ZERO=1 also scores the base model.
# torch, transformers, gguf and peft come from PyPI into the ignored bench/.venv.
set -eu
cd "$(dirname "$0")/.."
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
FX=.build/release
PY=bench/.venv/bin/python
N=${N:-300}
SECONDS_BUDGET=${SECONDS:-600}
[ -f "$MODEL" ] || make models
[ -f bench/data/test.jsonl ] || python3 bench/debian-data.py bench
[ -x "$PY" ] || python3 -m venv bench/.venv
$PY -c 'import torch, transformers, gguf, peft' 2>/dev/null || bench/.venv/bin/pip install --quiet torch transformers gguf peft
W=bench/results/lora
mkdir -p "$W"

python3 - "$N" "$W" <<'PYEOF'
import json, sys
n, w = int(sys.argv[1]), sys.argv[2]
def rows(path):
    out = []
    for line in open(path):
        r = json.loads(line)
        synopsis, _, body = r["text"].partition("\n")
        if body.strip():
            out.append({"id": r["id"], "description": body.strip()[:600], "synopsis": synopsis.strip()})
    return out
with open(w + "/train.jsonl", "w") as f:
    for r in rows("bench/data/train.jsonl"):
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
with open(w + "/test.jsonl", "w") as f:
    for r in sorted(rows("bench/data/test.jsonl"), key=lambda r: r["id"])[:n]:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
PYEOF
for split in train test; do
    $FX/fx-pair "$W/$split.jsonl" --input-field description --target-field synopsis --format openai \
        --prompt 'Write a one-line synopsis of this Debian package.\n\n{input}' > "$W/chat-$split.jsonl"
done
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, flags: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "training pairs: $(wc -l < "$W/chat-train.jsonl"), test: $(wc -l < "$W/chat-test.jsonl"), training time: $SECONDS_BUDGET s each"

# predictions (one {"prediction"} or record per line) beside the references, scored.
score() {
    python3 -c 'import json,sys; [print(json.dumps({"prediction": json.loads(l)["prediction"], "synopsis": json.loads(d)["synopsis"]})) for l, d in zip(open(sys.argv[1]), open(sys.argv[2]))]' \
        "$1" "$W/test.jsonl" > "$1.scored"
    $FX/fx-eval --text --target-field synopsis -q < "$1.scored"
}

if [ "${ZERO:-0}" = 1 ]; then
    $FX/fx-eval -m "$MODEL" --predict --threads 2 --max-new-tokens 48 -q < "$W/chat-test.jsonl" > "$W/zero.jsonl"
    echo "zero-shot: $(score "$W/zero.jsonl")"
fi

/usr/bin/time -f "%e %M" -o "$W/fx.time" $FX/fx-train --base "$MODEL" "$W/chat-train.jsonl" -o "$W/fx.fxm" \
    --max-time "$SECONDS_BUDGET" --threads 2 --lr "${LR:-2e-4}" --log "$W/fx-log.jsonl" 2> "$W/fx-train.err"
echo "fx: $(tail -1 "$W/fx-train.err") / $(cat "$W/fx.time") (seconds, peak kB)"
$FX/fx-eval -m "$W/fx.fxm" --predict --threads 2 --max-new-tokens 48 -q < "$W/chat-test.jsonl" > "$W/fx.jsonl"
echo "fx scores: $(score "$W/fx.jsonl")"

/usr/bin/time -f "%e %M" -o "$W/peft.time" $PY bench/lora_reference.py train "$MODEL" "$W/chat-train.jsonl" "$W/chat-test.jsonl" \
    "$W/peft.jsonl" --seconds "$SECONDS_BUDGET" --lr "${LR:-2e-4}" > "$W/peft.out"
echo "peft: $(cat "$W/peft.out") / $(cat "$W/peft.time") (seconds, peak kB)"
echo "peft scores: $(score "$W/peft.jsonl")"

# The exports, checked with the tools users take them to: the adapters of the run above (a step on 5 records at a
# negligible rate writes them), PEFT's folder loaded onto transformers' model of the same GGUF, the merged GGUF in
# transformers and llama.cpp, against fx's next-token logits.
head -5 "$W/chat-test.jsonl" > "$W/check.jsonl"
$FX/fx-train --base "$W/fx.fxm" "$W/check.jsonl" --epochs 1 --lr 1e-12 -o "$W/check.fxm" --export-peft "$W/peft-adapter" \
    --export-gguf "$W/merged.gguf" --gguf-type f32 -q
$FX/fx-eval -m "$W/check.fxm" --predict --k 49152 --max-new-tokens 1 -q < "$W/check.jsonl" > "$W/check-top.jsonl"
$FX/fx-eval -m "$W/check.fxm" --predict --max-new-tokens 12 -q < "$W/check.jsonl" > "$W/check-replies.jsonl"
$PY -c 'import llama_cpp' 2>/dev/null || bench/.venv/bin/pip install --quiet llama-cpp-python
echo "exports: $($PY bench/lora_check.py "$MODEL" "$W/peft-adapter" "$W/merged.gguf" "$W/check-top.jsonl" "$W/check-replies.jsonl" 2>/dev/null)"
