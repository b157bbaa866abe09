#!/bin/sh
# Topics with a pretrained encoder: fx-cluster --embed all-MiniLM-L6-v2 against sentence-transformers' embeddings +
# scikit-learn KMeans(n_init=3) (BERTopic's recipe without its dimension reduction), and fx-cluster's TF-IDF + LSA
# default, k 41 on the test split of the Debian descriptions (6,272 documents, the 41 sections used only for
# scoring), seeds 1-3; then the same on short texts: each description's one-line synopsis alone.
set -eu
cd "$(dirname "$0")/.."
R=${R:-.build/release}
MODEL=models/all-MiniLM-L6-v2
PY=bench/.venv/bin/python
[ -x "$PY" ] || python3 -m venv bench/.venv
"$PY" -c "import sentence_transformers, sklearn" 2>/dev/null || "$PY" -m pip install -q torch sentence-transformers scikit-learn
W=$(mktemp -d /tmp/fx-bench-embed-cluster.XXXXXX)
trap 'rm -rf "$W"' EXIT
python3 -c '
import json, sys
for line in open("bench/data/test.jsonl"):
    r = json.loads(line)
    r["text"] = r["text"].split("\n")[0]
    print(json.dumps(r))' > "$W/short.jsonl"
for set in long short; do
    if [ $set = long ]; then DATA=bench/data/test.jsonl; else DATA="$W/short.jsonl"; fi
    "$PY" bench/minilm_reference.py embed $MODEL "$DATA" "$W/st.jsonl" > /dev/null 2>&1
    echo "$set texts: $(wc -l < "$DATA") documents, k 41"
    for seed in 1 2 3; do
        for space in embed tfidf; do
            opt=""; [ $space = embed ] && opt="--embed $MODEL"
            /usr/bin/time -f "%e %M" -o "$W/t" $R/fx-cluster -k 41 --seed $seed $opt -q "$DATA" > "$W/c.jsonl"
            printf "  seed %s fx-cluster %-6s %s  (%s s, peak RSS %s KB)\n" $seed $space \
                "$($R/fx-eval --clusters --target-field label "$W/c.jsonl" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("NMI %.3f ARI %.3f" % (r["nmi"], r["ari"]))')" $(cat "$W/t")
        done
        printf "  seed %s sentence-transformers + KMeans  %s\n" $seed \
            "$("$PY" bench/minilm_reference.py cluster "$W/st.jsonl" "$DATA" 41 $seed | python3 -c 'import json,sys; r=json.load(sys.stdin); print("NMI %.3f ARI %.3f (KMeans %.1f s)" % (r["nmi"], r["ari"], r["seconds"]))')"
    done
done
