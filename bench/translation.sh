#!/bin/sh
# Translation benchmark, English -> French Debian synopses (bench/translation-split.py: 16,710 train, 469 valid,
# 1,918 test pairs), fx against the PyTorch reference (bench/translation_reference.py: torch.nn.Transformer in
# the same shape), both on 2 threads, one after the other on this machine:
#   fx-train --max-time 300, 600 and 1200 with --valid (the best model on the validation pairs, whose scoring counts
#   in the budget), scored on the test pairs greedy
#   and, at 1200, with --beam 4; training tokens/s and peak RSS; decoding sentences/s;
#   the reference: 20 minutes with test BLEU/chrF at minutes 5, 10 and 20 (evaluation outside its budget), with
#   fx's learning rate and warm-up (chosen on the validation pairs; its own 7e-4 and 4,000 steps do worse);
#   self-supervised then supervised: fx-mask --mode span over the train pairs' English and French as unpaired
#   documents -> fx-train (8 minutes), then fine-tuning on 10% of the pairs (4 minutes, --valid), against the
#   same 10% from scratch (4 minutes, --valid).
# Only this benchmark needs torch and tokenizers: they are installed here, from PyPI, into the ignored bench/.venv
# (made when missing; textmetrics.py puts sacreBLEU there). The default torch wheel is large (about 5 GB with
# its CUDA libraries); the reference runs on the CPU. Parts: `sh bench/translation.sh fx|span|torch` (default all).
# Results: bench/results/translation/ (fx) and bench/results/torch-translation/ (the reference).
set -eu
cd "$(dirname "$0")/.."
PY=bench/.venv/bin/python
BIN=${FX_BIN_DIR:-.build/release}
D=bench/data/translation
R=bench/results/translation
parts=${1:-all}
[ -f bench/data/parallel.fr ] || python3 bench/debian-data.py bench
[ -f $D/span/train-10.jsonl ] || python3 bench/translation-split.py
mkdir -p $R

# One fx-train run: name, then its options. Writes $R/NAME.fxm, NAME.log (stderr; the last line: GNU time's peak RSS in KB).
train() {
    name=$1; shift
    /usr/bin/time -f "%M" $BIN/fx-train --threads 2 --seed 1 -o $R/$name.fxm "$@" 2> $R/$name.log
    echo "$name: $(grep -o '[0-9]* tokens/s' $R/$name.log), peak RSS $(($(tail -1 $R/$name.log) / 1024)) MB"
}
# Scores a model on the test pairs: name, then fx-eval options. Prints the report and decoding speed.
score() {
    name=$1; shift
    start=$(date +%s.%N)
    $BIN/fx-eval -m $R/$name.fxm --threads 2 "$@" $D/test.jsonl > $R/$name$(echo "$@" | tr -d ' -').json
    end=$(date +%s.%N)
    echo "  test $* $(cat $R/$name$(echo "$@" | tr -d ' -').json) $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f sentences/s", 1918 / (e - s) }')"
}

if [ "$parts" = all ] || [ "$parts" = fx ]; then
    for t in ${TIMES:-300 600 1200}; do
        train fx-$t $D/train.jsonl --valid $D/valid.jsonl --max-time $t
        score fx-$t
    done
    score fx-1200 --beam 4
fi

if [ "$parts" = all ] || [ "$parts" = span ]; then
    $BIN/fx-mask --mode span --seed 1 --copies 4 $D/span/monolingual.jsonl -q > $R/span.jsonl
    train span-base $R/span.jsonl --arch transformer --max-time 480
    train span-tuned $D/span/train-10.jsonl --base $R/span-base.fxm --valid $D/valid.jsonl --max-time 240
    score span-tuned
    train span-scratch $D/span/train-10.jsonl --valid $D/valid.jsonl --max-time 240
    score span-scratch
fi

if [ "$parts" = all ] || [ "$parts" = torch ]; then
    [ -x "$PY" ] || python3 -m venv bench/.venv
    "$PY" -c "import torch, tokenizers, sacrebleu" 2>/dev/null || "$PY" -m pip install -q torch tokenizers sacrebleu
    /usr/bin/time -f "peak RSS %M KB" "$PY" bench/translation_reference.py --minutes 20 --checkpoints 5,10,20 --lr 1e-3 --warmup 400 \
        --out bench/results/torch-translation
fi
