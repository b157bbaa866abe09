#!/usr/bin/env python3
"""fx-train on five real datasets (bench/debian-data.py datasets), side by side with fastText.

  bench/datasets.py valid [FX-TRAIN OPTIONS...]   fit.jsonl -> valid.jsonl accuracy on every dataset, for choosing
                                                  settings (never the test split); prints one line per dataset
  bench/datasets.py test                          train.jsonl -> test.jsonl: fx-train's defaults against fastText's
                                                  defaults and fastText -wordNgrams 2 -epoch 25 -lr 0.5, a
                                                  Markdown table for bench/README.md
  bench/datasets.py tune                          fx-train --tune 60 and --tune 30 (its own validation slice carved
                                                  from train.jsonl) against fastText's -autotune-validation (its
                                                  default 300 s, on fit.jsonl with valid.jsonl, the same 10% carved
                                                  from train) and fx-train's defaults: test accuracy and wall time
  bench/datasets.py grid                          fastText's best of an 18-setting grid (-lr 0.25/0.5/1,
                                                  -epoch 10/25/50, -wordNgrams 1/2), chosen on valid.jsonl after
                                                  training on fit.jsonl, then trained on train.jsonl and scored on test
  bench/datasets.py base                          scratch against --base (a self-supervised base from fx-mask over
                                                  unlabeled training texts of the same language; fx-train keeps it
                                                  only where it beats scratch on a held-out slice) and against
                                                  --base-always, with 2%, 10% and 100% of the training labels,
                                                  scored on test; and the shipped demo's small base

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


def fx(train, test, options=(), model="fx.fxm", fields=FIELDS):
    """Trains fx-train on `train` and returns (accuracy on `test`, seconds, fx-train's closing line)."""
    model = os.path.join(WORK, model)
    done, seconds = run([f"{R}/fx-train", train, *fields, "-o", model, *options])
    report, _ = run([f"{R}/fx-eval", "-m", model, *fields, test])
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


def fasttext_autotune(fit, valid, test, seconds=300):
    """fastText's autotune on `fit`, judged on `valid`; the model it keeps scored on `test`. Stopped after 15
    minutes (its budget is checked between trials only): None then."""
    a, v, b = (os.path.join(WORK, f"ft.{x}") for x in ("fit", "valid", "test"))
    for src, dst in ((fit, a), (valid, v), (test, b)):
        fasttext_file(src, dst)
    start = time.monotonic()
    try:
        subprocess.run(["fasttext", "supervised", "-input", a, "-output", os.path.join(WORK, "fta"), "-thread", "2",
                        "-autotune-validation", v, "-autotune-duration", str(seconds)], capture_output=True, text=True, timeout=900, check=True)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - start
    seconds = time.monotonic() - start
    done, _ = run(["fasttext", "test", os.path.join(WORK, "fta.bin"), b])
    return float(re.search(r"^P@1\s+(\S+)", done.stdout, re.M).group(1)), seconds


def tune():
    cpu = open("/proc/cpuinfo").read()
    flags = sorted(set(re.findall(r"\b(avx2|avx512f|avx512_bf16|amx_bf16|fma)\b", cpu)))
    model = re.search(r"model name\s*:\s*(.*)", cpu).group(1)
    print(f"<!-- {model}, {os.cpu_count()} cores, flags: {' '.join(flags)} -->")
    print("| dataset | train / test | labels | fastText autotune (300 s) | fx --tune 60 | fx --tune 30 | fx defaults | fx --tune 60 chose |")
    print("|---|---|---|---|---|---|---|---|")
    for name in SETS:
        n, m, labels, _ = stats(name)
        ft, ft_t = fasttext_autotune(path(name, "fit"), path(name, "valid"), path(name, "test"))
        a60, t60, _ = fx(path(name, "train"), path(name, "test"), ["--tune", "60", "--seed", "1"], "t60.fxm")
        a30, t30, _ = fx(path(name, "train"), path(name, "test"), ["--tune", "30", "--seed", "1"], "t30.fxm")
        d, td, _ = fx(path(name, "train"), path(name, "test"))
        ft_text = "stopped after 15 min" if ft is None else f"{ft * 100:.1f}% ({ft_t:.0f} s)"
        print(f"| {name} | {n:,} / {m:,} | {labels} | {ft_text} | {a60 * 100:.1f}% ({t60:.0f} s) | {a30 * 100:.1f}% ({t30:.0f} s) "
              f"| {d * 100:.1f}% ({td:.0f} s) | `{chosen(os.path.join(WORK, 't60.fxm'))}` |", flush=True)


def grid():
    """fastText's best grid setting per dataset, chosen honestly: every setting of the grid trains on fit.jsonl and
    is scored on valid.jsonl; the best one trains on train.jsonl (fit + valid) and is scored on test, once."""
    settings = [(lr, epoch, ngrams) for lr in (0.25, 0.5, 1.0) for epoch in (10, 25, 50) for ngrams in (1, 2)]
    print("| dataset | best of 18 on valid (-lr -epoch -wordNgrams) | valid | test | grid time |")
    print("|---|---|---|---|---|")
    for name in SETS:
        files = {}
        for split in ("fit", "valid", "train", "test"):
            files[split] = os.path.join(WORK, f"grid.{split}")
            fasttext_file(path(name, split), files[split])
        start, scored = time.monotonic(), []
        for lr, epoch, ngrams in settings:
            options = ["-lr", str(lr), "-epoch", str(epoch), "-wordNgrams", str(ngrams), "-thread", "2"]
            run(["fasttext", "supervised", "-input", files["fit"], "-output", os.path.join(WORK, "ftg"), *options])
            done, _ = run(["fasttext", "test", os.path.join(WORK, "ftg.bin"), files["valid"]])
            scored.append((float(re.search(r"^P@1\s+(\S+)", done.stdout, re.M).group(1)), options))
        best, options = max(scored, key=lambda x: x[0])
        seconds = time.monotonic() - start
        run(["fasttext", "supervised", "-input", files["train"], "-output", os.path.join(WORK, "ftg"), *options])
        done, _ = run(["fasttext", "test", os.path.join(WORK, "ftg.bin"), files["test"]])
        test_acc = float(re.search(r"^P@1\s+(\S+)", done.stdout, re.M).group(1))
        print(f"| {name} | `{' '.join(options[:6])}` | {best * 100:.1f}% | {test_acc * 100:.1f}% | {seconds:.0f} s |", flush=True)


def chosen(model):
    """The settings fx-train --tune chose, from the model's metadata."""
    with open(model, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(n))["__metadata__"]
    return json.loads(meta["training"])["tune"]["chosen"]


def subset(name, fraction, split="train"):
    out = os.path.join(WORK, f"{name}.{split}.{fraction}.jsonl")
    with open(path(name, split)) as f, open(out, "w") as o:
        for line in f:
            r = json.loads(line)
            if int(hashlib.sha1(("few" + r["id"]).encode()).hexdigest()[:8], 16) / 2**32 < fraction:
                o.write(line)
    return out


def kept(model):
    """Which start fx-train --base kept after weighing the base against scratch, from the model's metadata."""
    with open(model, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(n))["__metadata__"]
    return json.loads(meta["training"]).get("base_against_scratch", {}).get("kept", "base")


def base():
    """A self-supervised base per language, from unlabeled text no test split holds: fx-mask over the training
    descriptions of `sections` (55,427 English texts) or of `french`, then fx-train --epochs 5. Each dataset's
    labeled subsets fine-tune it (--base, which first weighs the base against scratch on a held-out slice, and
    --base-always); the same subsets train from scratch. Then the shipped demo's case: a small base (3 epochs
    over examples/corpus.jsonl.gz) and all the labeled training pairs of examples/debian-sections.tar.gz."""
    print("| dataset | labels used | scratch | --base (kept) | --base-always | --base - scratch |")
    print("|---|---|---|---|---|---|")

    def row(name, label, train, test, base_model, fields=FIELDS):
        a, _, _ = fx(train, test, fields=fields)
        b, _, _ = fx(train, test, ["--base", base_model], model="chosen.fxm", fields=fields)
        c, _, _ = fx(train, test, ["--base", base_model, "--base-always"], fields=fields)
        choice = kept(os.path.join(WORK, "chosen.fxm"))
        print(f"| {name} | {label} | {a * 100:.1f}% | {b * 100:.1f}% ({choice}) | {c * 100:.1f}% | {(b - a) * 100:+.1f} |", flush=True)

    def masked_base(corpus, model, epochs):
        mask = subprocess.Popen([f"{R}/fx-mask", "--seed", "1", "-q", corpus], stdout=subprocess.PIPE)
        _, seconds = run([f"{R}/fx-train", "-o", model, "--epochs", str(epochs), "-q"], stdin=mask.stdout)
        mask.wait()
        return seconds

    bases = {}
    for name in SETS:
        corpus = "french" if name == "french" else "sections"
        if corpus not in bases:
            bases[corpus] = os.path.join(WORK, f"base-{corpus}.fxm")
            seconds = masked_base(path(corpus, "train"), bases[corpus], 5)
            print(f"<!-- base from {corpus}/train.jsonl in {seconds:.0f} s -->", flush=True)
        for fraction in (0.02, 0.1, 1.0):
            train = subset(name, fraction) if fraction < 1 else path(name, "train")
            n = sum(1 for _ in open(train))
            row(name, f"{fraction:.0%} ({n:,})", train, path(name, "test"), bases[corpus])
    demo = os.path.join(WORK, "demo-base.fxm")
    masked_base(os.path.join(ROOT, "examples", "corpus.jsonl.gz"), demo, 3)
    pairs, _ = run([f"{R}/fx-pair", os.path.join(ROOT, "examples", "debian-sections.tar.gz"), "--holdout", "0.1", "--seed", "1"])
    for split in ("train", "test"):
        with open(os.path.join(WORK, f"demo.{split}.jsonl"), "w") as o:
            o.writelines(line + "\n" for line in pairs.stdout.splitlines() if f'"split":"{split}"' in line)
    row("shipped demo", "100%", os.path.join(WORK, "demo.train.jsonl"), os.path.join(WORK, "demo.test.jsonl"), demo, fields=[])


if __name__ == "__main__":
    if not os.path.exists(path(SETS[0], "train")):
        run([sys.executable, os.path.join(ROOT, "bench", "debian-data.py"), "datasets"])
    mode = sys.argv[1] if len(sys.argv) > 1 else "test"
    {"valid": lambda: valid(sys.argv[2:]), "test": test, "tune": tune, "grid": grid, "base": base}[mode]()
