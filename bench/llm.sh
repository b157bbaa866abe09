#!/bin/sh
# fx's causal language model (SmolLM2-135M-Instruct, Q4_1 GGUF, from `make models`) side by side with transformers'
# LlamaForCausalLM loaded from the same file (float32, generate() on batches of 16 left-padded prompts) and with
# llama.cpp through llama-cpp-python (one prompt after another, its chat-completion API), all on 2 threads, greedy,
# on the same 500 chat prompts built from Debian's package descriptions: "Write a one-line synopsis of this Debian
# package." and the long description cut at 600 characters; the package's own synopsis is the reference.
# Speed is generated tokens per second of the whole process (model loading included), peak RSS from GNU time.
# Then: next-token logits over the whole vocabulary on 50 of the prompts against transformers', and greedy
# continuations of 64 tokens; single-prompt latency.
# transformers, torch, gguf, accelerate and llama-cpp-python come from PyPI into the ignored bench/.venv.
set -eu
cd "$(dirname "$0")/.."
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
FX=.build/release
PY=bench/.venv/bin/python
N=${N:-500}
NEW=${NEW:-48}
[ -f "$MODEL" ] || make models
[ -f bench/data/test.jsonl ] || python3 bench/debian-data.py bench
[ -x "$PY" ] || python3 -m venv bench/.venv
$PY -c 'import torch, transformers, gguf, accelerate, llama_cpp' 2>/dev/null || \
    bench/.venv/bin/pip install --quiet torch transformers gguf accelerate llama-cpp-python
W=bench/results/llm
mkdir -p "$W"

# The prompts: the first N test packages (by name) that have a long description.
python3 - "$N" > "$W/descriptions.jsonl" <<'EOF'
import json, sys
n = int(sys.argv[1])
rows = []
for line in open("bench/data/test.jsonl"):
    r = json.loads(line)
    synopsis, _, body = r["text"].partition("\n")
    if body.strip():
        rows.append({"id": r["id"], "description": body.strip()[:600], "synopsis": synopsis.strip()})
for r in sorted(rows, key=lambda r: r["id"])[:n]:
    print(json.dumps(r, ensure_ascii=False))
EOF
$FX/fx-pair "$W/descriptions.jsonl" --input-field description --target-field synopsis --format openai \
    --prompt 'Write a one-line synopsis of this Debian package.\n\n{input}' > "$W/chat.jsonl"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), flags: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"

# name, then the command; prints "name seconds peak-kB" and keeps the command's stdout in $W/name.out
timed() {
    name=$1; shift
    /usr/bin/time -f "%e %M" -o "$W/$name.time" "$@" > "$W/$name.out"
    echo "$name $(cat "$W/$name.time")"
}
score() { $FX/fx-eval --text --target-field synopsis -q < "$1"; }

# fx: replies written back into the records; the closing summary on stderr counts the generated tokens.
/usr/bin/time -f "%e %M" -o "$W/fx.time" $FX/fx-eval -m "$MODEL" --predict --threads 2 --max-new-tokens "$NEW" \
    < "$W/chat.jsonl" > "$W/fx.jsonl" 2> "$W/fx.err"
echo "fx: $(cat "$W/fx.err") / $(cat "$W/fx.time") (seconds, peak kB)"
python3 -c 'import json,sys; [print(json.dumps({"prediction": json.loads(l)["prediction"], "synopsis": json.loads(d)["synopsis"]})) for l, d in zip(open(sys.argv[1]), open(sys.argv[2]))]' \
    "$W/fx.jsonl" "$W/descriptions.jsonl" > "$W/fx.scored.jsonl"
echo "fx scores: $(score "$W/fx.scored.jsonl")"

for ref in transformers llamacpp; do
    timed "$ref" $PY bench/llm_reference.py "$ref" "$MODEL" "$W/chat.jsonl" "$W/$ref.jsonl" --new "$NEW"
    cat "$W/$ref.out"
    python3 -c 'import json,sys; [print(json.dumps({"prediction": json.loads(l)["prediction"], "synopsis": json.loads(d)["synopsis"]})) for l, d in zip(open(sys.argv[1]), open(sys.argv[2]))]' \
        "$W/$ref.jsonl" "$W/descriptions.jsonl" > "$W/$ref.scored.jsonl"
    echo "$ref scores: $(score "$W/$ref.scored.jsonl")"
done
python3 - "$W" <<'EOF'
import json, sys
w = sys.argv[1]
fx = [json.loads(l)["prediction"] for l in open(w + "/fx.jsonl")]
for ref in ("transformers", "llamacpp"):
    other = [json.loads(l)["prediction"] for l in open(w + "/" + ref + ".jsonl")]
    same = sum(a.strip() == b.strip() for a, b in zip(fx, other))
    print(f"replies identical to {ref}'s: {same}/{len(fx)}")
EOF

# Single-prompt latency: fx as whole processes (1 new token minus 0 = time to first token; 48 minus 1 = the rest).
head -1 "$W/chat.jsonl" > "$W/one.jsonl"
for n in 0 1 "$NEW"; do
    /usr/bin/time -f "%e" -o "$W/one-$n.time" $FX/fx-eval -m "$MODEL" --predict --threads 2 --max-new-tokens "$n" --temperature 0 < "$W/one.jsonl" > /dev/null 2> "$W/one-$n.err"
done
python3 - "$W" "$NEW" <<'EOF'
import sys
w, new = sys.argv[1], int(sys.argv[2])
t = {n: float(open(f"{w}/one-{n}.time").read().split()[0]) for n in ("0", "1", str(new))}
print(f"fx one prompt: load {t['0']:.2f} s, first token {t['1'] - t['0']:.3f} s, then {(new - 1) / max(t[str(new)] - t['1'], 1e-9):.1f} tokens/s")
EOF
$PY bench/llm_reference.py latency-transformers "$MODEL" "$W/one.jsonl" --new "$NEW"
$PY bench/llm_reference.py latency-llamacpp "$MODEL" "$W/one.jsonl" --new "$NEW"

# Logits and greedy continuations on 50 prompts.
head -50 "$W/chat.jsonl" > "$W/fifty.jsonl"
$PY bench/llm_reference.py logits "$MODEL" "$W/fifty.jsonl" "$W/reference-logits.json" --new 64
$FX/fx-eval -m "$MODEL" --predict --threads 2 --max-new-tokens 64 --k 49152 --token-ids < "$W/fifty.jsonl" > "$W/fx-logits.jsonl"
$PY - "$W" <<'EOF'
import json, sys
import numpy as np
w = sys.argv[1]
ref = json.load(open(w + "/reference-logits.json"))
worst, same = 0.0, 0
for r, line in zip(ref, open(w + "/fx-logits.jsonl")):
    fx = json.loads(line)
    expected = np.frombuffer(bytes.fromhex(r["logits"]), dtype=np.float32)
    got = np.zeros_like(expected)
    for t in fx["top"]:
        got[t["id"]] = t["logit"]
    worst = max(worst, float(np.abs(got - expected).max()))
    greedy = r["greedy"]
    while greedy and greedy[-1] in (0, 2):  # transformers keeps the token that ended the reply; fx does not
        greedy = greedy[:-1]
    same += fx["token_ids"] == greedy
print(f"logits on {len(ref)} prompts: largest absolute difference {worst:.2e}; greedy 64-token continuations identical: {same}/{len(ref)}")
EOF
