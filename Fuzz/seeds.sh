#!/bin/sh
# Seed corpora for make fuzz, from examples/ and models the release tools train on them (run from the root of
# the repository after a release build). Inputs: raw data as fx reads it. Tools: one byte that chooses the path
# (FuzzTools.swift: 0 CSV, 4 TSV, 1 parallel text, 2/6/10 masking by token/span/next, 3 model files), then data.
set -eu
R=.build/release
I=Fuzz/corpus/inputs
T=Fuzz/corpus/tools
mkdir -p "$I" "$T"
W=$(mktemp -d /tmp/fx-fuzz-seeds.XXXXXX)
trap 'rm -rf "$W"' EXIT

cp examples/descriptions.csv examples/descriptions.en "$I/"
head -c 4000 examples/descriptions.jsonl > "$I/records.jsonl"
head -c 3000 examples/descriptions.en | gzip -n > "$I/lines.gz"
tar czf "$I/seed.tar.gz" --mtime=2026-01-01 examples/descriptions.csv

seed() { name=$1 byte=$2; shift 2; { printf "\\$byte"; cat "$@"; } > "$T/$name"; }
head -c 3000 examples/descriptions.csv > "$W/csv"
tr ',' '\t' < "$W/csv" > "$W/tsv"
head -20 examples/descriptions.en > "$W/en"
head -20 examples/descriptions.fr > "$W/fr"
printf '\000' > "$W/nul"
head -c 2000 examples/descriptions.en > "$W/text"
seed csv 000 "$W/csv"
seed tsv 004 "$W/tsv"
seed parallel 001 "$W/en" "$W/nul" "$W/fr"
seed mask-token 002 "$W/text"
seed mask-span 006 "$W/text"
seed mask-next 012 "$W/text"
head -40 examples/descriptions.jsonl > "$W/docs.jsonl"
$R/fx-train "$W/docs.jsonl" --input-field text --target-field label --dim 4 --buckets 64 --epochs 1 -q -o "$W/model.fxm"
$R/fx-train "$W/docs.jsonl" --input-field text --target-field label --dim 4 --buckets 64 --epochs 1 --loss hs -q -o "$W/hs.fxm"
$R/fx-cluster -k 2 --lsa 3 "$W/docs.jsonl" --save "$W/lsa.fxc" -q > /dev/null
$R/fx-cluster -k 2 --lsa 0 --min-df 5 "$W/docs.jsonl" --save "$W/terms.fxc" -q > /dev/null
seed model 003 "$W/model.fxm"
seed model-hs 003 "$W/hs.fxm"
seed clusters-lsa 003 "$W/lsa.fxc"
seed clusters-terms 003 "$W/terms.fxc"
