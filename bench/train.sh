#!/bin/sh
# fx-train against fastText (Debian's fasttext 0.9.2) on Debian descriptions labeled by section (41 labels,
# 55,427 train / 6,272 test), one run: accuracy on the test split, training time, model size. Then fine-tuning
# with 2% of the training labels, with and without a self-supervised base (fx-mask over the training texts,
# no labels, then fx-train). Settings were chosen on bench/data/valid.jsonl (carved from train), never on test.
set -eu
cd "$(dirname "$0")/.."
R=${R:-.build/release}
D=bench/data
W=$(mktemp -d /tmp/fx-bench-train.XXXXXX)
trap 'rm -rf "$W"' EXIT
command -v fasttext >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fasttext >/dev/null; }

accuracy() { python3 -c "import json,sys; print(json.load(sys.stdin)['accuracy'])"; }
seconds() { /usr/bin/time -f "%e" -o "$W/t" "$@" > /dev/null 2>&1; cat "$W/t"; }
size_mb() { echo "$(wc -c < "$1") / 1000000" | awk '{printf "%.1f", $1 / $3}'; }

# fastText's format: __label__SECTION text on one line.
python3 - "$D" "$W" <<'PY'
import json, sys
d, w = sys.argv[1:]
for split in ("train", "test"):
    with open(f"{d}/{split}.jsonl") as f, open(f"{w}/ft.{split}", "w") as out:
        for line in f:
            r = json.loads(line)
            out.write(f"__label__{r['label']} " + " ".join(r["text"].split()) + "\n")
PY

ft_t=$(seconds fasttext supervised -input "$W/ft.train" -output "$W/ft" -wordNgrams 2 -epoch 25 -lr 0.5 -thread 2)
ft_acc=$(fasttext test "$W/ft.bin" "$W/ft.test" | awk '/^P@1/ {print $2}')
ft_size=$(size_mb "$W/ft.bin")

fx_t=$(seconds $R/fx-train $D/train.jsonl --input-field text --target-field label -o "$W/fx.fxm" -q)
fx_acc=$($R/fx-eval -m "$W/fx.fxm" --input-field text --target-field label $D/test.jsonl | accuracy)
fx_size=$(size_mb "$W/fx.fxm")

fs_t=$(seconds $R/fx-train $D/train.jsonl --input-field text --target-field label -o "$W/fs.fxm" -q --word-ngrams 2 --epochs 25 --lr 0.5 --threads 2)
fs_acc=$($R/fx-eval -m "$W/fs.fxm" --input-field text --target-field label $D/test.jsonl | accuracy)
fs_size=$(size_mb "$W/fs.fxm")

echo "fx-train vs fastText: Debian sections, 55427 train / 6272 test, 41 labels"
printf "  %-44s %8s %9s %10s\n" "" "accuracy" "train s" "model MB"
printf "  %-44s %8s %9s %10s\n" "fastText -wordNgrams 2 -epoch 25 -lr 0.5 -thread 2" "$ft_acc" "$ft_t" "$ft_size"
printf "  %-44s %8s %9s %10s\n" "fx-train (defaults)" "$fx_acc" "$fx_t" "$fx_size"
printf "  %-44s %8s %9s %10s\n" "fx-train --word-ngrams 2 --epochs 25 --lr 0.5" "$fs_acc" "$fs_t" "$fs_size"
awk -v a="$ft_t" -v b="$fs_t" -v c="$ft_size" -v e="$fs_size" 'BEGIN { printf "  same settings: fx-train %.1fx as fast as fastText, model %.0fx smaller\n", a / b, c / e }'

# Fine-tuning with 2% of the labels.
python3 - "$D" "$W" <<'PY'
import hashlib, json, sys
d, w = sys.argv[1:]
with open(f"{d}/train.jsonl") as f, open(f"{w}/few.jsonl", "w") as out:
    for line in f:
        r = json.loads(line)
        if int(hashlib.sha1(("few" + r["id"]).encode()).hexdigest()[:8], 16) / 2**32 < 0.02:
            out.write(line)
PY
few=$(wc -l < "$W/few.jsonl")
base_t=$(seconds sh -c "$R/fx-mask --seed 1 -q $D/train.jsonl | $R/fx-train -o $W/base.fxm --epochs 5 -q")
$R/fx-train "$W/few.jsonl" --input-field text --target-field label -o "$W/scratch.fxm" -q
$R/fx-train "$W/few.jsonl" --input-field text --target-field label -o "$W/tuned.fxm" --base "$W/base.fxm" -q
scratch_acc=$($R/fx-eval -m "$W/scratch.fxm" --input-field text --target-field label $D/test.jsonl | accuracy)
tuned_acc=$($R/fx-eval -m "$W/tuned.fxm" --input-field text --target-field label $D/test.jsonl | accuracy)
echo "fine-tuning with $few labeled examples (2%); self-supervised base trained in $base_t s on the unlabeled training texts"
echo "  without --base: $scratch_acc   with --base: $tuned_acc"
awk -v a="$scratch_acc" -v b="$tuned_acc" 'BEGIN { printf "  gain: %+.1f points\n", (b - a) * 100 }'
