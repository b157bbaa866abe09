#!/bin/sh
# How far the fitting tools go on one machine, for sizing a Spark job (README "Beyond one machine"): fx-train's
# peak memory on 250,000 and 1,000,000 labeled descriptions (Debian's train.jsonl repeated, text -> section), and
# fx-cluster --sample fitting on ~1 GB of descriptions, with the time and memory of --load assigning them after.
set -eu
cd "$(dirname "$0")/.."
BIN=${FX_BIN_DIR:-.build/release}
[ -x "$BIN/fx-train" ] || { echo "build first: swift build -c release" >&2; exit 1; }
[ -f bench/data/train.jsonl ] || python3 bench/debian-data.py bench
work=${TMPDIR:-/tmp}/fx-bench-scale
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
measure() {  # label, then the command: prints wall seconds and peak RSS
    label=$1; shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null
    set -- $(cat "$work/time")
    printf "  %-58s %7.1f s  peak RSS %7.0f MB\n" "$label" "$1" "$(echo "$2 / 1024" | bc -l)"
}
for n in 250000 1000000; do
    while :; do cat bench/data/train.jsonl; done 2>/dev/null | head -n "$n" > "$work/pairs.jsonl"
    echo "fx-train on $n pairs ($(du -m "$work/pairs.jsonl" | cut -f1) MB), 1 epoch, --input-field text --target-field label:"
    measure "fx-train (linear, defaults)" "$BIN/fx-train" "$work/pairs.jsonl" --input-field text --target-field label --epochs 1 -o "$work/m.fxm" -q
done
for i in $(seq 40); do cat bench/data/train.jsonl; done > "$work/big.jsonl"
echo "fx-cluster on $(du -m "$work/big.jsonl" | cut -f1) MB ($(wc -l < "$work/big.jsonl") descriptions), k 41:"
measure "--sample 20000 --save (fit on the sample, assign all)" "$BIN/fx-cluster" -k 41 --sample 20000 --save "$work/c.fxc" -q "$work/big.jsonl"
measure "--load (assign only, as each Spark partition does)" "$BIN/fx-cluster" --load "$work/c.fxc" -q "$work/big.jsonl"
