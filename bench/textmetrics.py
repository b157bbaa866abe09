#!/usr/bin/env python3
"""fx-eval --text against sacreBLEU 2.x (PyPI) on the same hypotheses and references: corpus BLEU and chrF must
agree to within 0.01. References: the 21,152 French synopses of bench/data/parallel.fr. Hypotheses, made
deterministically from real text: the English synopses as they are (far from the references), the French with
every fifth word dropped and neighbours swapped (close), and the French of the next line (unrelated).

sacreBLEU comes from a virtual environment this script makes in bench/.venv (ignored by git) when missing."""
import json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "bench", ".venv")
R = os.environ.get("R", os.path.join(ROOT, ".build", "release"))
PY = os.path.join(VENV, "bin", "python")


def main():
    if not os.path.exists(PY):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([PY, "-m", "pip", "install", "-q", "sacrebleu"], check=True)
    data = os.path.join(ROOT, "bench", "data")
    if not os.path.exists(os.path.join(data, "parallel.fr")):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "debian-data.py"), "bench"], check=True)
    en = open(os.path.join(data, "parallel.en"), encoding="utf-8").read().split("\n")[:-1]
    fr = open(os.path.join(data, "parallel.fr"), encoding="utf-8").read().split("\n")[:-1]

    def perturb(line, i):
        words = [w for k, w in enumerate(line.split()) if (k + i) % 5 != 4]
        for k in range(0, len(words) - 1, 7):
            words[k], words[k + 1] = words[k + 1], words[k]
        return " ".join(words)

    systems = {
        "English as the translation": en,
        "French, words dropped and swapped": [perturb(l, i) for i, l in enumerate(fr)],
        "French of the next line": fr[1:] + fr[:1],
    }
    reference = """
import json, sys, sacrebleu
hyps, refs = json.load(open(sys.argv[1]))
b, c = sacrebleu.corpus_bleu(hyps, [refs]), sacrebleu.corpus_chrf(hyps, [refs])
print(json.dumps({"bleu": b.score, "chrf": c.score, "version": sacrebleu.__version__}))
"""
    worst = 0.0
    print(f"{len(fr)} French references")
    for name, hyps in systems.items():
        records = "".join(json.dumps({"prediction": h, "target": r}, ensure_ascii=False) + "\n" for h, r in zip(hyps, fr))
        fx = json.loads(subprocess.run([f"{R}/fx-eval", "--text"], input=records, capture_output=True, text=True, check=True).stdout)
        path = "/tmp/fx-textmetrics.json"
        json.dump([hyps, fr], open(path, "w"))
        sb = json.loads(subprocess.run([PY, "-c", reference, path], capture_output=True, text=True, check=True).stdout)
        db, dc = abs(fx["bleu"] - sb["bleu"]), abs(fx["chrf"] - sb["chrf"])
        worst = max(worst, db, dc)
        print(f"  {name:36s} BLEU fx {fx['bleu']:8.4f} sacreBLEU {sb['bleu']:8.4f} (diff {db:.6f})   "
              f"chrF fx {fx['chrf']:8.4f} sacreBLEU {sb['chrf']:8.4f} (diff {dc:.6f})")
    print(f"  sacreBLEU {sb['version']}; largest difference {worst:.6f}: {'within' if worst <= 0.01 else 'NOT within'} 0.01")
    sys.exit(0 if worst <= 0.01 else 1)


if __name__ == "__main__":
    main()
