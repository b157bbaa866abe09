#!/bin/sh
# Runs every benchmark side by side with the tool a user would pick instead, on Debian's package descriptions.
# Needs the release build (make bench builds it), python3, jq and GNU time (installed here when missing).
set -eu
cd "$(dirname "$0")/.."
need=""
command -v jq >/dev/null 2>&1 || need="$need jq"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null; fi
[ -f bench/data/train.jsonl ] || python3 bench/debian-data.py bench
[ -f bench/data/sets/synopses/train.jsonl ] || python3 bench/debian-data.py datasets
for b in bench/pair.sh bench/mask.sh bench/train.sh bench/cluster.sh; do sh "$b"; done
python3 bench/datasets.py test
python3 bench/datasets.py base
python3 bench/textmetrics.py
# The translation benchmark takes about 1.5 hours (three fx runs of 5 to 20 minutes, PyTorch's 20, the span base)
# and needs PyTorch (about 5 GB): run it on its own with `sh bench/translation.sh`.
# The generative-model benchmark (SmolLM2 against transformers and llama.cpp, about 25 minutes) needs PyTorch,
# transformers and llama-cpp-python from PyPI: run it on its own with `sh bench/llm.sh`.
# LoRA fine-tuning against PyTorch + PEFT (10 minutes of training each, then 300 replies each, about 35 minutes)
# needs torch, transformers, gguf and peft from PyPI: run it on its own with `sh bench/lora.sh`.
