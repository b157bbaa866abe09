#!/bin/sh
# fx's main workflow on the data fx ships (examples/): run from the repository root with the fx tools on PATH
# (`make demo` does both). Writes into a temporary folder and prints what each step made.
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d "${TMPDIR:-/tmp}/fx-demo.XXXXXX")
trap 'rm -rf "$out"' EXIT
reports=${FX_REPORTS:-${TMPDIR:-/tmp}/fx-demo-reports}  # kept: the HTML reports, to open in a browser
lora_seconds=${FX_DEMO_LORA_SECONDS:-60}  # the LoRA fine-tuning's budget (the tests shorten it)
translate_seconds=${FX_DEMO_TRANSLATE_SECONDS:-20}  # the transformer's (the tests shorten it too)
mkdir -p "$reports"

echo "== Supervised: Debian package descriptions, labeled by the folder (section) that holds them"
fx-pair examples/debian-sections.tar.gz --holdout 0.1 --seed 1 --stats > "$out/pairs.jsonl"
echo "$(grep -c '"split":"train"' "$out/pairs.jsonl") train pairs, $(grep -c '"split":"test"' "$out/pairs.jsonl") test pairs in $out/pairs.jsonl"
head -c 300 "$out/pairs.jsonl"; echo " ..."

echo
echo "== Supervised: English/French synopses aligned line by line, for a translation trainer"
fx-pair --parallel en,fr examples/descriptions.en examples/descriptions.fr --format translation > "$out/translation.jsonl"
echo "$(wc -l < "$out/translation.jsonl") translation pairs"
head -2 "$out/translation.jsonl"

echo
echo "== Supervised: a CSV table written as OpenAI chat fine-tuning data"
fx-pair examples/descriptions.csv --input-column description --target-column section \
    --format openai --system "Name the Debian section of this package." > "$out/chat.jsonl"
echo "$(wc -l < "$out/chat.jsonl") chat examples"
head -c 300 "$out/chat.jsonl"; echo " ..."

echo
echo "== Self-supervised: words hidden in unlabeled descriptions become the targets (BERT-style masking)"
fx-mask examples/corpus.jsonl.gz --seed 1 > "$out/masked.jsonl"
echo "$(wc -l < "$out/masked.jsonl") masked-word examples from 10,000 descriptions"
head -c 400 "$out/masked.jsonl"; echo " ..."
echo "-- and T5 span corruption of the same text:"
fx-mask --mode span examples/corpus.jsonl.gz --seed 1 -q | head -1 | cut -c1-400

echo
echo "== Supervised training and scoring: fx-pair | fx-train, then fx-eval on the held-out pairs"
grep '"split":"test"' "$out/pairs.jsonl" > "$out/test.jsonl"
grep '"split":"train"' "$out/pairs.jsonl" | awk 'NR % 10 == 0' > "$out/valid.jsonl"  # carved from train, to watch epochs
grep '"split":"train"' "$out/pairs.jsonl" | awk 'NR % 10 != 0' |
    fx-train -o "$out/sections.fxm" --seed 1 --valid "$out/valid.jsonl" --log "$reports/sections-log.jsonl"
fx-eval -m "$out/sections.fxm" "$out/test.jsonl" --format table --report "$reports/sections.html" --train-log "$reports/sections-log.jsonl" | head -8
echo "-- report with the confusion matrix, per-label bars and the learning curve: $reports/sections.html"

echo
echo "== Self-supervised base from 10,000 unlabeled descriptions, then fine-tuning with few labels (5 per section)"
fx-mask examples/corpus.jsonl.gz --seed 1 -q | fx-train -o "$out/base.fxm" --epochs 10 --seed 1
grep '"split":"train"' "$out/pairs.jsonl" | awk 'NR % 20 == 0' > "$out/few.jsonl"
fx-train "$out/few.jsonl" -o "$out/scratch.fxm" --seed 1 -q
fx-train "$out/few.jsonl" --base "$out/base.fxm" -o "$out/tuned.fxm" --seed 1
accuracy() { grep '"split":"test"' "$out/pairs.jsonl" | fx-eval -m "$1" | sed 's/.*"accuracy":\([0-9.]*\).*/\1/'; }
scratch=$(accuracy "$out/scratch.fxm") tuned=$(accuracy "$out/tuned.fxm")
echo "$(wc -l < "$out/few.jsonl") labeled pairs: accuracy $scratch from scratch, $tuned fine-tuned from the base" \
    "($(awk -v a="$scratch" -v b="$tuned" 'BEGIN { printf "%+.1f", (b - a) * 100 }') points)"
echo "-- the model applied to new records:"
fx-eval -m "$out/sections.fxm" --predict --k 2 examples/descriptions.jsonl | head -1 | cut -c1-300

echo
echo "== Text to text: a tiny English -> French transformer, trained for $translate_seconds seconds on the 2,000 shipped synopsis pairs"
fx-pair --parallel en,fr examples/descriptions.en examples/descriptions.fr --holdout 0.05 --seed 1 -q > "$out/en-fr.jsonl"
grep '"split":"train"' "$out/en-fr.jsonl" | fx-train --dim 64 --ff 256 --layers 2 --vocab-size 2000 --max-time $translate_seconds --seed 1 -o "$out/en-fr.fxm"
grep '"split":"test"' "$out/en-fr.jsonl" | fx-eval -m "$out/en-fr.fxm" --report "$reports/en-fr.html"
echo "-- report with the length histogram and the best and worst translations: $reports/en-fr.html"
grep '"split":"test"' "$out/en-fr.jsonl" | head -3 | fx-eval -m "$out/en-fr.fxm" --predict | cut -c1-300
echo "-- a toy: 1,900 pairs and $translate_seconds seconds give a few right words. A usable model needs the benchmark's data and budget"
echo "   (16,710 pairs, 20 minutes on 2 cores: bench/README.md, 'Translation')."

echo
echo "== Unsupervised: the descriptions grouped into 6 topics without their labels, then scored against them"
fx-cluster -k 6 --seed 1 examples/descriptions.jsonl --summary "$out/topics.jsonl" -q > "$out/clustered.jsonl"
cut -c1-200 "$out/topics.jsonl"
fx-eval --clusters --target-field label "$out/clustered.jsonl" --report "$reports/clusters.html" --cluster-summary "$out/topics.jsonl"
echo "-- report with cluster sizes, clusters against sections and a map of the documents: $reports/clusters.html"

echo
echo "== A pretrained encoder (all-MiniLM-L6-v2, fetched by make models): embeddings, topics, fine-tuning on few labels"
M=models/all-MiniLM-L6-v2
head -2 examples/descriptions.jsonl | fx-eval -m $M --embed | cut -c1-200
fx-cluster -k 6 --seed 1 --embed $M examples/descriptions.jsonl --summary "$out/minilm-topics.jsonl" -q > "$out/minilm-clustered.jsonl"
cut -c1-200 "$out/minilm-topics.jsonl"
fx-eval --clusters --target-field label "$out/minilm-clustered.jsonl"
echo "-- fine-tuning the encoder and a new head on $(wc -l < "$out/few.jsonl") labeled pairs (the few labels above), 3 epochs:"
fx-train "$out/few.jsonl" --base $M --epochs 3 --max-length 96 --seed 1 -o "$out/minilm-tuned.fxm"
echo "accuracy $(accuracy "$out/minilm-tuned.fxm") fine-tuned from all-MiniLM-L6-v2 (the linear model: $scratch from scratch, $tuned from the base)"

echo
echo "== A generative model (SmolLM2-135M-Instruct, GGUF, fetched by make models) asked about the demo's data"
L=models/SmolLM2-135M-Instruct.Q4_1.gguf
head -3 examples/descriptions.jsonl | fx-pair --input-field text --target-field label --format openai -q \
    --prompt 'In one sentence, what is this Debian package for?\n\n{input}' > "$out/questions.jsonl"
fx-eval -m $L --predict --max-new-tokens 40 "$out/questions.jsonl" |
    python3 -c 'import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print("Q:", r["messages"][0]["content"].split("\n")[2][:70], "...")
    print("A:", r["prediction"].replace("\n", " "))'
echo "-- perplexity of the model on 20 of the shipped descriptions (the yardstick for continued pretraining):"
head -20 examples/descriptions.jsonl | fx-eval -m $L -q
echo "-- fine-tuned with LoRA for $lora_seconds s to name a package's section (held-out exact match and 3 replies, before and after):"
fx-pair examples/descriptions.jsonl --input-field text --target-field label --format openai --holdout 0.1 --seed 1 -q \
    --prompt 'Which Debian section is this package in: database, editors, games, mail, science or sound? Answer with one word.\n\n{input}' > "$out/sections-chat.jsonl"
grep '"split":"train"' "$out/sections-chat.jsonl" > "$out/sections-chat-train.jsonl"
grep '"split":"test"' "$out/sections-chat.jsonl" | head -20 > "$out/sections-chat-test.jsonl"
replies() {
    fx-eval -m "$1" --predict --max-new-tokens 12 "$out/sections-chat-test.jsonl" | python3 -c 'import json, sys
rows = [json.loads(line) for line in sys.stdin]
right = sum(r["prediction"].strip().strip(".").lower() == r["messages"][-1]["content"] for r in rows)
print("exact match %d/%d;" % (right, len(rows)), " | ".join(repr(r["prediction"][:40]) for r in rows[:3]))'
}
echo "before: $(replies $L)"
fx-train --base $L "$out/sections-chat-train.jsonl" --max-time $lora_seconds --lr 1e-3 --batch-tokens 512 --seed 1 -o "$out/sections-lora.fxm"
echo "after:  $(replies "$out/sections-lora.fxm")"

echo
echo "== Reports, to open in a browser: $reports/sections.html, $reports/en-fr.html, $reports/clusters.html"
