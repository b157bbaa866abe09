#!/usr/bin/env python3
"""Splits the English/French Debian synopses (bench/data/parallel.en, .fr, line-aligned) for the translation
benchmark into bench/data/translation/{train,valid,test}.jsonl, records {"input": English, "target": French}.

Lines are trimmed; pairs with an empty side are dropped and identical (en, fr) pairs kept once (first
occurrence, file order).
The split is a stable hash of the English line, so the same English never lands in two splits:
h = int(md5(en UTF-8)); h % 10 == 0 -> test (~10%); h % 10 == 1 and (h // 10) % 4 == 0 -> valid (~2.5%);
the rest -> train. Deterministic; prints the counts.

For the self-supervised-then-supervised measurement it also writes bench/data/translation/span/:
monolingual.jsonl, every train pair's English and French as two unpaired documents {"text", "lang"} (what
fx-mask --mode span corrupts for pretraining), and train-10.jsonl, the train pairs whose
int(md5("10%" + English)) % 10 == 0 (about 10%)."""
import hashlib, json, os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")


def split_of(en):
    h = int(hashlib.md5(en.encode("utf-8")).hexdigest(), 16)
    if h % 10 == 0:
        return "test"
    if h % 10 == 1 and (h // 10) % 4 == 0:
        return "valid"
    return "train"


def main():
    read = lambda name: open(os.path.join(DATA, name), encoding="utf-8").read().split("\n")
    en, fr = read("parallel.en"), read("parallel.fr")
    if en and en[-1] == "" and fr and fr[-1] == "":  # the final newline
        en, fr = en[:-1], fr[:-1]
    assert len(en) == len(fr), f"parallel.en has {len(en)} lines, parallel.fr {len(fr)}"
    seen, splits, empty, dups = set(), {"train": [], "valid": [], "test": []}, 0, 0
    for e, f in zip(en, fr):
        e, f = e.strip(), f.strip()
        if not e or not f:
            empty += 1
            continue
        if (e, f) in seen:
            dups += 1
            continue
        seen.add((e, f))
        splits[split_of(e)].append({"input": e, "target": f})
    out = os.path.join(DATA, "translation")
    os.makedirs(out, exist_ok=True)
    for name, records in splits.items():
        with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as w:
            for r in records:
                w.write(json.dumps(r, ensure_ascii=False) + "\n")
    span = os.path.join(out, "span")
    os.makedirs(span, exist_ok=True)
    few = [r for r in splits["train"] if int(hashlib.md5(("10%" + r["input"]).encode("utf-8")).hexdigest(), 16) % 10 == 0]
    with open(os.path.join(span, "monolingual.jsonl"), "w", encoding="utf-8") as w:
        for r in splits["train"]:
            w.write(json.dumps({"text": r["input"], "lang": "en"}, ensure_ascii=False) + "\n")
            w.write(json.dumps({"text": r["target"], "lang": "fr"}, ensure_ascii=False) + "\n")
    with open(os.path.join(span, "train-10.jsonl"), "w", encoding="utf-8") as w:
        for r in few:
            w.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(en)} lines, {empty} with an empty side, {dups} duplicate pairs dropped")
    print(f"span: {2 * len(splits['train'])} unpaired documents, {len(few)} pairs (10%) -> {span}")
    print(" ".join(f"{name} {len(records)}" for name, records in splits.items()), f"-> {out}")


if __name__ == "__main__":
    main()
