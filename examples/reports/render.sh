#!/bin/sh
# Makes the example reports in examples/reports/ from the shipped data, and their screenshots (headless Chromium,
# 1280 px wide): run from the repository root with the fx tools on PATH. The committed files come from this script.
set -eu
cd "$(dirname "$0")/../.."
root=$PWD dir=$PWD/examples/reports
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fx-reports.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"  # so that the pages name the files as test.jsonl, sections.fxm, ...

# Labels: six Debian sections, a linear model trained with a validation slice carved from train, logged by epoch.
fx-pair "$root"/examples/debian-sections.tar.gz --holdout 0.2 --seed 1 -q > "pairs.jsonl"
grep '"split":"train"' "pairs.jsonl" | awk 'NR % 10 != 0' > "fit.jsonl"
grep '"split":"train"' "pairs.jsonl" | awk 'NR % 10 == 0' > "valid.jsonl"
grep '"split":"test"' "pairs.jsonl" > "test.jsonl"
fx-train "fit.jsonl" --valid "valid.jsonl" --epochs 25 --seed 1 --log "log.jsonl" -o "sections.fxm" -q
fx-eval -m "sections.fxm" "test.jsonl" --report "$dir/classification.html" --train-log "log.jsonl" > /dev/null

# Text to text: a tiny English -> French transformer, 60 seconds on the shipped synopses.
fx-pair --parallel en,fr "$root"/examples/descriptions.en "$root"/examples/descriptions.fr --holdout 0.05 --seed 1 -q > "en-fr.jsonl"
grep '"split":"train"' "en-fr.jsonl" | fx-train --dim 64 --ff 256 --layers 2 --vocab-size 2000 --max-time 60 --seed 1 \
    --log "en-fr-log.jsonl" -o "en-fr.fxm" -q
grep '"split":"test"' "en-fr.jsonl" | fx-eval -m "en-fr.fxm" --report "$dir/text.html" --train-log "en-fr-log.jsonl" > /dev/null

# Clusters: the 720 shipped descriptions in 6 topics, against their sections.
fx-cluster -k 6 --seed 1 "$root"/examples/descriptions.jsonl --summary "topics.jsonl" -q |
    fx-eval --clusters --target-field label --report "$dir/clusters.html" --cluster-summary "topics.jsonl" > /dev/null

for page in classification:2350 text:1700 clusters:1450; do
    name=${page%%:*} height=${page##*:}
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,"$height" \
        --screenshot="$dir/$name.png" "file://$dir/$name.html" 2>/dev/null
done
ls -la "$dir"
