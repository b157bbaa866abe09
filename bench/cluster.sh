#!/bin/sh
# fx-cluster -k 41 against scikit-learn (TF-IDF + KMeans, n_init=3; and with TruncatedSVD(100) + Normalizer, as
# fx-cluster's --lsa 100 does) on the test split of the Debian descriptions (6,272 documents; the 41 sections used
# only for scoring), 3 seeds each, one run: NMI, ARI, wall time.
set -eu
cd "$(dirname "$0")/.."
R=${R:-.build/release}
DATA=bench/data/test.jsonl
python3 -c "import sklearn" 2>/dev/null || python3 -m pip install -q scikit-learn
W=$(mktemp -d /tmp/fx-bench-cluster.XXXXXX)
trap 'rm -rf "$W"' EXIT
echo "fx-cluster vs scikit-learn: $(wc -l < $DATA) documents, k 41 (seeds 1 2 3)"
for seed in 1 2 3; do
    /usr/bin/time -f "%e" -o "$W/t" $R/fx-cluster -k 41 --seed $seed -q "$DATA" > "$W/c.jsonl"
    fx_t=$(cat "$W/t")
    fx=$($R/fx-eval --clusters --target-field label "$W/c.jsonl")
    /usr/bin/time -f "%e" -o "$W/t" python3 bench/cluster_reference.py "$DATA" 41 $seed > "$W/sk.json"
    sk_t=$(cat "$W/t")
    /usr/bin/time -f "%e" -o "$W/t" python3 bench/cluster_reference.py "$DATA" 41 $seed 100 > "$W/lsa.json"
    lsa_t=$(cat "$W/t")
    python3 - "$fx" "$(cat "$W/sk.json")" "$(cat "$W/lsa.json")" "$fx_t" "$sk_t" "$lsa_t" $seed <<'PY'
import json, sys
fx, sk, lsa = (json.loads(a) for a in sys.argv[1:4])
fx_t, sk_t, lsa_t, seed = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
print(f"  seed {seed}: fx-cluster NMI {fx['nmi']:.3f} ARI {fx['ari']:.3f} {fx_t:.2f} s")
for name, r, t in (("scikit-learn", sk, sk_t), ("scikit-learn + LSA 100", lsa, lsa_t)):
    print(f"          {name}: NMI {r['nmi']:.3f} ARI {r['ari']:.3f} {t:.2f} s wall ({r['seconds']:.2f} s inside) | "
          f"wall ratio {t / fx_t:.1f}x, inside-sklearn ratio {r['seconds'] / fx_t:.1f}x")
PY
done
