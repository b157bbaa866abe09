"""Reference values for fx's BERT support, computed with the model's own libraries (run in bench/.venv, which
bench/setup-venv.sh... see bench/README.md).

  python bench/minilm_reference.py fixtures MODEL_DIR OUT.json
      token ids (Hugging Face tokenizers and transformers' fast tokenizer, which must agree) for a set of tricky
      strings, and sentence-transformers' embeddings of a few real sentences: the test data in Tests/Fixtures.
  python bench/minilm_reference.py embed MODEL_DIR IN.jsonl OUT.jsonl
      sentence-transformers' embedding of every record's "text" (batch 32, max length 256), and the time encode took.
  python bench/minilm_reference.py cluster EMBEDDINGS.jsonl IN.jsonl K SEED
      scikit-learn's KMeans(K, n_init=3) on those embeddings, as BERTopic's users would cluster them: NMI and ARI
      against IN.jsonl's "label", and the seconds KMeans took.
"""
import json
import sys
import time

TRICKY = [
    "",
    "   ",
    "Hello, World!",
    "HELLO world... what?!?!",
    "Crème brûlée, naïve café, Ångström, Øre, straße, İstanbul, ΟΔΟΣ σοφός",
    "日本語のテキストと中文字符 mixed with English",
    "Korean 한국어 and Thai ภาษาไทย text",
    "emoji 😀🎉👍🏽 and symbols ©®™ €100 £5 ¥3 ½ ² ∞",
    "punctuation runs: ---***!!!??? ((([[{{}}]]))) ... — – “quoted” «guillemets» ‘single’",
    "tabs\tand\nnewlines\r\nand\u00a0no-break\u2003em-spaces\u200bzero-width",
    "control\u0000chars\u0007here\ufffdand\u00adsoft\u200dhyphen",
    "a" * 99 + " " + "b" * 100 + " " + "c" * 101,
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "libgtk-3-dev python3-numpy (>= 1:1.24) <foo@example.org> https://www.debian.org/~user/path?q=1&x=2#frag",
    "C++ C# F# .NET node.js x86_64 arm64 i386 ppc64el s390x UTF-8 ISO-8859-1",
    "ﬁne ﬂow Ⅻ ㎏ ﬀ ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ ①②③",
    "Ελληνικά Русский язык עברית العربية हिन्दी",
    "1,234.56 3.14159 1e-12 0x1F 100% 50/50 24/7",
    "don't won't it's O'Reilly rock'n'roll",
    " ".join(["word%d" % i for i in range(300)]),
    "The quick brown fox jumps over the lazy dog. " * 40,
]

SENTENCES = [
    "A library for reading and writing archives in many formats.",
    "GNU C compiler",
    "Python bindings for the GTK graphical user interface toolkit, with support for introspection.",
    "Transitional package for the fonts; it can be safely removed.",
    "Système de fichiers distribué",
    "日本語の入力メソッド",
    "",
    "debug symbols",
]


def fixtures(model, out):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    from sentence_transformers import SentenceTransformer
    fast = Tokenizer.from_file(model + "/tokenizer.json")
    fast.no_truncation()
    fast.no_padding()
    auto = AutoTokenizer.from_pretrained(model)
    cases = []
    for text in TRICKY:
        a = fast.encode(text).ids
        b = auto(text, truncation=False)["input_ids"]
        assert a == b, (text, a, b)
        c = auto(text, truncation=True, max_length=256)["input_ids"]
        cases.append({"text": text, "ids": a, "ids_256": c})
    st = SentenceTransformer(model, device="cpu")
    vectors = st.encode(SENTENCES, batch_size=32, normalize_embeddings=False)
    embeddings = [{"text": t, "embedding": [round(float(x), 7) for x in v]} for t, v in zip(SENTENCES, vectors)]
    with open(out, "w") as f:
        json.dump({"model": "all-MiniLM-L6-v2", "max_seq_length": st.max_seq_length, "tokens": cases, "embeddings": embeddings},
                  f, ensure_ascii=False, indent=0)


def embed(model, source, out):
    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(2)
    records = [json.loads(line) for line in open(source)]
    st = SentenceTransformer(model, device="cpu")
    start = time.time()
    vectors = st.encode([r["text"] for r in records], batch_size=32)
    seconds = time.time() - start
    with open(out, "w") as f:
        for r, v in zip(records, vectors):
            f.write(json.dumps({"embedding": [float(x) for x in v]}) + "\n")
    print(json.dumps({"records": len(records), "encode_seconds": round(seconds, 2), "max_seq_length": st.max_seq_length}))


def cluster(embeddings, source, k, seed):
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    X = np.array([json.loads(line)["embedding"] for line in open(embeddings)])
    labels = [json.loads(line)["label"] for line in open(source)]
    start = time.time()
    clusters = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(X)
    print(json.dumps({"nmi": normalized_mutual_info_score(labels, clusters), "ari": adjusted_rand_score(labels, clusters),
                      "seconds": time.time() - start}))


if __name__ == "__main__":
    if sys.argv[1] == "fixtures":
        fixtures(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "embed":
        embed(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "cluster":
        cluster(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
