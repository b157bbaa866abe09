#!/usr/bin/env python3
"""fx-train on five real datasets (bench/debian-data.py datasets), side by side with fastText.

  bench/datasets.py valid [FX-TRAIN OPTIONS...]   fit.jsonl -> valid.jsonl accuracy on every dataset, for choosing
                                                  settings (never the test split); prints one line per dataset
  bench/datasets.py test                          train.jsonl -> test.jsonl: fx-train's defaults against fastText's
                                                  defaults and fastText -wordNgrams 2 -epoch 25 -lr 0.5, a
                                                  Markdown table for bench/README.md
  bench/datasets.py base                          scratch against --base (a self-supervised base from fx-mask over
                                                  unlabeled training texts of the same language) with 2%, 10% and
                                                  100% of the training labels, scored on test

SETS=a,b limits the datasets; R is the folder of the release binaries (.build/release). fastText is Debian's
fasttext 0.9.2, fed the raw text with white space folded, on 2 threads like fx-train.
"""
import hashlib, json, os, re, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data", "sets")
R = os.environ.get("R", os.path.join(ROOT, ".build", "release"))
SETS = os.environ.get("SETS", "sections,synopses,french,use,implemented-in").split(",")
FIELDS = ["--input-field", "text", "--target-field", "label"]
WORK = tempfile.mkdtemp(prefix="fx-datasets.")


def path(name, split):
    return os.path.join(DATA, name, split + ".jsonl")


def run(args, **kw):
    start = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done, time.monotonic() - start


def fx(train, test, options=(), model="fx.fxm"):
    """Trains fx-train on `train` and returns (accuracy on `test`, seconds, fx-train's closing line)."""
    model = os.path.join(WORK, model)
    done, seconds = run([f"{R}/fx-train", train, *FIELDS, "-o", model, *options])
    report, _ = run([f"{R}/fx-eval", "-m", model, *FIELDS, test])
    return json.loads(report.stdout)["accuracy"], seconds, done.stderr.strip().split("\n")[-1]


def fasttext_file(src, dst):
    with open(src) as f, open(dst, "w") as out:
        for line in f:
            r = json.loads(line)
            out.write(f"__label__{r['label'].replace(' ', '_')} " + " ".join(r["text"].split()) + "\n")


def fasttext(train, test, options=()):
    a, b = os.path.join(WORK, "ft.train"), os.path.join(WORK, "ft.test")
    fasttext_file(train, a)
    fasttext_file(test, b)
    _, seconds = run(["fasttext", "supervised", "-input", a, "-output", os.path.join(WORK, "ft"), "-thread", "2", *options])
    done, _ = run(["fasttext", "test", os.path.join(WORK, "ft.bin"), b])
    return float(re.search(r"^P@1\s+(\S+)", done.stdout, re.M).group(1)), seconds


def stats(name):
    rows = [json.loads(l) for l in open(path(name, "train"))]
    words = sum(len(r["text"].split()) for r in rows) / len(rows)
    return len(rows), sum(1 for _ in open(path(name, "test"))), len({r["label"] for r in rows}), words


def valid(options):
    scores = []
    for name in SETS:
        acc, seconds, line = fx(path(name, "fit"), path(name, "valid"), options)
        scores.append(acc)
        loss = re.search(r"final loss (\S+)", line)
        print(f"{name:15s} {acc * 100:6.2f}  {seconds:6.1f} s  loss {loss.group(1) if loss else '?'}", flush=True)
    print(f"{'mean':15s} {sum(scores) / len(scores) * 100:6.2f}  min {min(scores) * 100:.2f}  ({' '.join(options) or 'defaults'})")


def test():
    print("| dataset | train / test | labels | words per text | fastText defaults | fastText `-wordNgrams 2 -epoch 25 -lr 0.5` | fx-train defaults | fx - better fastText |")
    print("|---|---|---|---|---|---|---|---|")
    for name in SETS:
        n, m, labels, words = stats(name)
        ft0, t0 = fasttext(path(name, "train"), path(name, "test"))
        ft1, t1 = fasttext(path(name, "train"), path(name, "test"), ["-wordNgrams", "2", "-epoch", "25", "-lr", "0.5"])
        acc, t2, _ = fx(path(name, "train"), path(name, "test"))
        print(f"| {name} | {n:,} / {m:,} | {labels} | {words:.1f} | {ft0 * 100:.1f}% ({t0:.1f} s) | {ft1 * 100:.1f}% ({t1:.1f} s) "
              f"| {acc * 100:.1f}% ({t2:.1f} s) | {(acc - max(ft0, ft1)) * 100:+.1f} |", flush=True)


def subset(name, fraction, split="train"):
    out = os.path.join(WORK, f"{name}.{split}.{fraction}.jsonl")
    with open(path(name, split)) as f, open(out, "w") as o:
        for line in f:
            r = json.loads(line)
            if int(hashlib.sha1(("few" + r["id"]).encode()).hexdigest()[:8], 16) / 2**32 < fraction:
                o.write(line)
    return out


def base():
    """A self-supervised base per language, from unlabeled text no test split holds: fx-mask over the training
    descriptions of `sections` (55,427 English texts) or of `french`, then fx-train --epochs 5. Each dataset's
    labeled subsets fine-tune it; the same subsets train from scratch."""
    print("| dataset | labels used | scratch | --base | gain |")
    print("|---|---|---|---|---|")
    bases = {}
    for name in SETS:
        corpus = "french" if name == "french" else "sections"
        if corpus not in bases:
            model = os.path.join(WORK, f"base-{corpus}.fxm")
            mask = subprocess.Popen([f"{R}/fx-mask", "--seed", "1", "-q", path(corpus, "train")], stdout=subprocess.PIPE)
            _, seconds = run([f"{R}/fx-train", "-o", model, "--epochs", "5", "-q"], stdin=mask.stdout)
            mask.wait()
            bases[corpus] = model
            print(f"<!-- base from {corpus}/train.jsonl in {seconds:.0f} s -->", flush=True)
        for fraction in (0.02, 0.1, 1.0):
            train = subset(name, fraction) if fraction < 1 else path(name, "train")
            n = sum(1 for _ in open(train))
            a, _, _ = fx(train, path(name, "test"))
            b, _, _ = fx(train, path(name, "test"), ["--base", bases[corpus]])
            print(f"| {name} | {fraction:.0%} ({n:,}) | {a * 100:.1f}% | {b * 100:.1f}% | {(b - a) * 100:+.1f} |", flush=True)


if __name__ == "__main__":
    if not os.path.exists(path(SETS[0], "train")):
        run([sys.executable, os.path.join(ROOT, "bench", "debian-data.py"), "datasets"])
    mode = sys.argv[1] if len(sys.argv) > 1 else "test"
    {"valid": lambda: valid(sys.argv[2:]), "test": test, "base": base}[mode]()
