#!/usr/bin/env python3
"""Fine-tuning all-MiniLM-L6-v2 on few labels: fx-train --base against PyTorch + transformers, side by side.

  bench/finetune.py valid [FX-TRAIN OPTIONS...]   fit.jsonl's 2% -> accuracy on the first 1,000 of valid.jsonl,
                                                  for choosing settings (never the test split)
  bench/finetune.py test                          train.jsonl's 2% -> test.jsonl: fx-train (full, and --freeze)
                                                  against BertForSequenceClassification, the same recipe with a
                                                  head on the mean-pooled vector, and frozen sentence-transformers
                                                  embeddings + logistic regression; a Markdown table

SETS=sections,synopses (the default) limits the datasets: Debian's sections from the descriptions, and from the
one-line synopses alone. The 2% are bench/datasets.py's subsets (a stable hash of each id). Everything runs on
2 threads; times are training only (fx: the whole fx-train process), peak RSS the whole process's.
"""
import json, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402  (its subset() and paths)

ROOT = datasets.ROOT
R = datasets.R
MODEL = os.path.join(ROOT, "models", "all-MiniLM-L6-v2")
PY = os.path.join(ROOT, "bench", ".venv", "bin", "python")
SETS = os.environ.get("SETS", "sections,synopses").split(",")
WORK = tempfile.mkdtemp(prefix="fx-finetune.")
FIELDS = ["--input-field", "text", "--target-field", "label"]


def timed(args, **kw):
    """Runs args under GNU time: (completed process, wall seconds, peak RSS in MB)."""
    stats = os.path.join(WORK, "time")
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", stats] + args, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    seconds, kb = open(stats).read().split()
    return done, float(seconds), int(kb) // 1024


def fx(train, test, options=()):
    model = os.path.join(WORK, "tuned.fxm")
    done, seconds, rss = timed([f"{R}/fx-train", "--base", MODEL, "-o", model, "--threads", "2", *FIELDS, *options, train])
    evaluated = subprocess.run([f"{R}/fx-eval", "-m", model, *FIELDS, test], capture_output=True, text=True, check=True)
    return json.loads(evaluated.stdout)["accuracy"], seconds, rss, done.stderr.strip().splitlines()[-1]


def reference(train, test, recipe):
    done, seconds, rss = timed([PY, os.path.join(ROOT, "bench", "finetune_reference.py"), MODEL, train, test, recipe])
    r = json.loads(done.stdout.strip().splitlines()[-1])
    return r["accuracy"], r["train_seconds"], seconds, rss


def first(path, n):
    out = os.path.join(WORK, f"first-{n}-{os.path.basename(os.path.dirname(path))}.jsonl")
    with open(path) as f, open(out, "w") as o:
        for i, line in enumerate(f):
            if i == n:
                break
            o.write(line)
    return out


def valid(options):
    for name in SETS:
        fit = datasets.subset(name, 0.02, "fit")
        a, seconds, rss, line = fx(fit, first(datasets.path(name, "valid"), 1000), options)
        print(f"{name}: valid accuracy {a * 100:.1f}% in {seconds:.0f} s (peak RSS {rss} MB) with {' '.join(options) or 'defaults'}", flush=True)
        print(f"    {line}", flush=True)


def test():
    print("| dataset | method | test accuracy | training time | peak RSS |")
    print("|---|---|---|---|---|")
    for name in SETS:
        train, test_path = datasets.subset(name, 0.02), datasets.path(name, "test")
        n = sum(1 for _ in open(train))
        label = f"{name} 2% ({n:,})"
        for title, options in (("fx-train --base (full fine-tuning)", []), ("fx-train --base --freeze", ["--freeze"])):
            a, seconds, rss, _ = fx(train, test_path, options)
            print(f"| {label} | {title} | {a * 100:.1f}% | {seconds:.0f} s (whole process) | {rss} MB |", flush=True)
        for title, recipe in (("PyTorch BertForSequenceClassification, lr 1e-4, 5 epochs", "bert-cls"),
                              ("PyTorch, head on the mean-pooled vector, lr 1e-4, 5 epochs", "mean-head"),
                              ("sentence-transformers embeddings + LogisticRegression", "frozen-lr")):
            a, inside, whole, rss = reference(train, test_path, recipe)
            print(f"| {label} | {title} | {a * 100:.1f}% | {inside:.0f} s ({whole:.0f} s whole process) | {rss} MB |", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "test"
    valid(sys.argv[2:]) if mode == "valid" else test()
