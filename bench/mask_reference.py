#!/usr/bin/env python3
"""The straightforward Python a user would write instead of fx-mask --mode token: json + random, the same rules
(15% of the words, one record per selected word, 80% [MASK] / 10% a random word of the document / 10% unchanged,
at least one word kept, at least one selected), a regular-expression tokenizer close to fx's."""
import json, random, re, sys

TOKEN = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")
rate, rng = 0.15, random.Random(0)
out = sys.stdout
for line in sys.stdin:
    if not line.strip():
        continue
    record = json.loads(line)
    text = record.pop("text")
    tokens = TOKEN.findall(text)
    words = [i for i, t in enumerate(tokens) if t[0].isalnum() or t[0] == "_"]
    if len(words) < 2:
        continue
    k = max(min(int(rate * len(words) + rng.random()), len(words) - 1), 1)
    for position in sorted(rng.sample(words, k)):
        u = rng.random()
        masked = list(tokens)
        if u < 0.8:
            masked[position] = "[MASK]"
        elif u < 0.9:
            masked[position] = tokens[rng.choice(words)]
        example = {"input": " ".join(masked), "target": tokens[position], "position": position}
        example.update(record)
        out.write(json.dumps(example, ensure_ascii=False) + "\n")
