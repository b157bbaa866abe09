#!/bin/sh
# Sentence embeddings with all-MiniLM-L6-v2: fx-eval --embed against sentence-transformers' encode (batch 32, max
# length 256, PyTorch on 2 threads) on the test split of the Debian descriptions, whole process against whole
# process, one run each, side by side: wall time, tokens/s, peak RSS, and the cosine of each pair of vectors.
# The model comes from `make models`; sentence-transformers from PyPI into the ignored bench/.venv.
set -eu
cd "$(dirname "$0")/.."
R=${R:-.build/release}
DATA=${DATA:-bench/data/test.jsonl}
MODEL=models/all-MiniLM-L6-v2
PY=bench/.venv/bin/python
[ -x "$PY" ] || python3 -m venv bench/.venv
"$PY" -c "import sentence_transformers" 2>/dev/null || "$PY" -m pip install -q torch sentence-transformers
W=$(mktemp -d /tmp/fx-bench-embed.XXXXXX)
trap 'rm -rf "$W"' EXIT
/usr/bin/time -f "%e %M" -o "$W/fx.t" $R/fx-eval -m $MODEL --embed --input-field text --threads 2 "$DATA" > "$W/fx.jsonl"
/usr/bin/time -f "%e %M" -o "$W/st.t" "$PY" bench/minilm_reference.py embed $MODEL "$DATA" "$W/st.jsonl" > "$W/st.json" 2>/dev/null
"$PY" - "$DATA" "$W" $MODEL <<'PY'
import json, sys
import numpy as np
from tokenizers import Tokenizer
data, w, model = sys.argv[1:4]
tok = Tokenizer.from_file(model + "/tokenizer.json")
tok.enable_truncation(256)
tok.no_padding()
tokens = sum(len(e.ids) for e in tok.encode_batch([json.loads(l)["text"] for l in open(data)]))
fx = np.array([json.loads(l)["embedding"] for l in open(w + "/fx.jsonl")])
st = np.array([json.loads(l)["embedding"] for l in open(w + "/st.jsonl")])
cos = (fx * st).sum(1) / np.linalg.norm(fx, axis=1) / np.linalg.norm(st, axis=1)
fx_t, fx_m = open(w + "/fx.t").read().split()
st_t, st_m = open(w + "/st.t").read().split()
inside = json.load(open(w + "/st.json"))["encode_seconds"]
print(f"{len(fx)} descriptions, {tokens} tokens after truncation at 256")
print(f"  fx-eval --embed:       {float(fx_t):7.1f} s  {tokens / float(fx_t):7.0f} tokens/s  peak RSS {int(fx_m) // 1024} MB")
print(f"  sentence-transformers: {float(st_t):7.1f} s  {tokens / float(st_t):7.0f} tokens/s  peak RSS {int(st_m) // 1024} MB"
      f"  (encode alone {inside:.1f} s)")
print(f"  speed ratio (whole process): {float(st_t) / float(fx_t):.2f}x; against encode alone: {inside / float(fx_t):.2f}x")
print(f"  cosine fx/sentence-transformers: min {cos.min():.7f}, mean {cos.mean():.9f}; largest difference {np.abs(fx - st).max():.2e}")
PY
