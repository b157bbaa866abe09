#!/usr/bin/env python3
"""scikit-learn's text clustering a user would write instead of fx-cluster: TfidfVectorizer(sublinear_tf=True,
stop_words="english", min_df=2) + KMeans(n_clusters=K, n_init=3); with a fourth argument D, latent semantic
analysis first, as in scikit-learn's text clustering example: TruncatedSVD(D) + Normalizer. Prints NMI, ARI against
the labels and the seconds spent inside scikit-learn (vectorizing + fitting) as JSON."""
import json, sys, time
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import Normalizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

path, k, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lsa = int(sys.argv[4]) if len(sys.argv) > 4 else 0
records = [json.loads(line) for line in open(path)]
texts, labels = [r["text"] for r in records], [r["label"] for r in records]
start = time.perf_counter()
X = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2).fit_transform(texts)
if lsa:
    X = Normalizer(copy=False).fit_transform(TruncatedSVD(lsa, random_state=seed).fit_transform(X))
clusters = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(X)
seconds = time.perf_counter() - start
print(json.dumps({"nmi": normalized_mutual_info_score(labels, clusters), "ari": adjusted_rand_score(labels, clusters), "seconds": seconds}))
