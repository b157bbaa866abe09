"""Writes Tests/Fixtures/smollm2-tokens.json: the ids Hugging Face computes for SmolLM2-135M-Instruct's byte-level BPE,
which Tests/FXCoreTests/Text/ByteLevelBPETests.swift compares fx's ByteLevelBPE with.

    make models                                   # fetches models/SmolLM2-135M-Instruct.Q4_1.gguf
    bench/.venv/bin/python Tests/Fixtures/make_smollm2_tokens.py

from the repository root. It needs transformers and tokenizers (bench/.venv has them) and loads the tokenizer the way a
user would, `AutoTokenizer.from_pretrained("models", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")`, which builds it
from the GGUF's metadata (transformers/integrations/ggml.py). The file records:

- `cases`: a text, `tok.encode(text)` (special tokens matched whole, no BOS: this file says add_bos_token false), and
  `tok.decode(ids)` with and without `skip_special_tokens`;
- `decode`: id sequences that are not whole characters (a split emoji, lone continuation bytes) and their decoding,
  where invalid UTF-8 becomes U+FFFD;
- `splits`: how the split regexes of the pre-tokenizers fx also knows (`gpt2`, which SmolLM2 uses; `llama3` and
  `qwen2` from the same mapping file) cut a few texts, through `tokenizers.pre_tokenizers.Split`;
- `corpora`: for every text of examples/descriptions.jsonl and every line of examples/descriptions.fr, the number of
  ids and an FNV-1a 64 hash of all of them (each id as 4 little-endian bytes, texts in order), so a whole corpus is
  checked without committing its ids.
"""
import json
import os
import sys

import tokenizers
import transformers
from transformers import AutoTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def long_text():
    """About 6,000 characters of real prose: the first Debian package descriptions, one after another."""
    texts = []
    with open(os.path.join(ROOT, "examples", "descriptions.jsonl"), encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if sum(len(t) for t in texts) > 6000:
                break
    return "\n\n".join(texts)


TEXTS = [
    # accents, French, German, other scripts
    "Élève, où est la bibliothèque ? L'été dernier…",
    "Straße, Fußgänger, GROSS, Maß",
    "naïve café résumé Ångström Øre",
    "日本語のテキストを分割します。東京タワー",
    "中文分词测试，你好世界！",
    "한국어 텍스트",
    "مرحبا بالعالم، كيف حالك؟",
    "नमस्ते दुनिया, यह हिंदी है।",
    "Привет, мир! Ёлка",
    "Γειά σου Κόσμε",
    "שלום עולם",
    "ไทย ภาษา",
    # emoji: plain, skin tone, ZWJ sequences, flags, keycaps, variation selectors
    "I like 🍕 and 🍣!",
    "👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 👩🏾‍💻",
    "🇫🇷🇩🇪🇯🇵 flags",
    "1️⃣ #️⃣ ☁️ ❤️",
    # code
    "def f(x):\n    return x ** 2  # square\n",
    'for i in range(10):\n\tif i % 2 == 0:\n\t\tprint(f"{i} is even")\n',
    '{"name": "fx", "version": [1, 2, 3], "ok": true, "none": null}',
    "#!/bin/sh\nset -eu\nfor f in *.txt; do\n\tgrep -c 'x' \"$f\" | sort -n >> out.log 2>&1\ndone\n",
    "if (a != b && c >= d) { x->y = z[0]; } // C++",
    "SELECT id, name FROM users WHERE age > 30 ORDER BY name;",
    "https://example.com/path?q=1&r=two#frag user@example.org",
    # white space
    "a  b",
    "   x",
    "x   ",
    "\n\n\n",
    "\t\t",
    " \n ",
    "a \n\n b",
    "hello  \n  world",
    "trailing\n",
    "\r\n\r\nwindows\r\n",
    "x" + " " * 40 + "y",
    "\n" * 20,
    # digits
    "2024",
    "3.14159",
    "1,000,000",
    "x2y3",
    "The year 1999 and 20245 items cost $3,499.99 (about 4.5%).",
    "½ ² ³ ١٢٣ ४५६ Ⅻ",
    # apostrophes and contractions
    "don't",
    "I'LL",
    "it's",
    "we're they've I'm she'd you'll",
    "'s 'twas rock'n'roll ''quoted''",
    "l’été — “smart” quotes",
    # special tokens inside text, and near-misses
    "<|im_start|>user\nhi<|im_end|>\n",
    "<|endoftext|>",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|",
    "<|IM_END|>",
    "< |im_end|>",
    "<|im_end|><|im_end|>x<|endoftext|>",
    "text<|endoftext|>more",
    " <|im_start|> spaced ",
    "<repo_name>fx<file_sep>main.swift<filename>a.py<gh_stars>10",
    "<jupyter_start><jupyter_code>print(1)<jupyter_output>1<empty_output>",
    "<reponame><issue_start><issue_comment><issue_closed><jupyter_text><jupyter_script>",
    "<|<|im_start|>|>",
    # edge cases
    "",
    " ",
    "a",
    "\u00e9",
    "\x00\x01\x07\x1b[0m\x7f",
    "a\x04b\x06c",
    "\x1c\x1d\x1e\x1f",
    "\ufffd",
    "bad \ufffd\ufffd byte",
    "\u0301",
    "e\u0301 vs \u00e9",
    "a\u00a0b\u2003c\u3000d",
    "\u00a0\u00a0x",
    "x\u2028y\u2029z\u0085w",
    "\u200b\u200c\u200d\ufeff",
    "\U00050000 \U000f0000 \U0010fffd",
    "English, français, Deutsch, 日本語, русский, العربية and हिन्दी in one line 🚀",
    "mixedΑλφαbetСкрипт123",
    "ALL CAPS AND lowercase And Title",
    "!!!???...---",
    "a" * 300,
    "ab" * 200,
    " " * 300,
    long_text(),
]

DECODE = [
    [10813],  # the first two bytes of an emoji
    [10813, 235],
    [235, 231],  # continuation bytes alone
    [10813, 235, 231, 10813, 233, 138],
    [104, 10813, 104],
    [0, 1, 2, 104, 16],
    [49151, 0, 49150],
]


SPLIT_TEXTS = [
    "I'LL don't it'\u017f WE'RE",
    "12345 x2y 3.14",
    " \t\r\n  x",
    "a!!\n\nb  \n  c",
    "x   ",
    "   ",
    "\u00a0\u00a0x\u2003y",
    "\u00bfQu\u00e9? \u00bd\u00b2",
    "\tif x:\r\n\t\treturn",
    "\U0001f44d\U0001f3fd ok!!!",
    "a\x1cb\x85c",
]


def splits():
    from tokenizers import Regex, pre_tokenizers
    from transformers.integrations.gguf.gguf_tokenizer_mapping import _LLAMA3_SPLIT, _QWEN2_SPLIT

    gpt2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
    out = []
    for text in SPLIT_TEXTS:
        case = {"text": text}
        for name, regex in (("gpt2", gpt2), ("llama3", _LLAMA3_SPLIT), ("qwen2", _QWEN2_SPLIT)):
            split = pre_tokenizers.Split(Regex(regex), behavior="isolated")
            case[name] = [piece for piece, _ in split.pre_tokenize_str(text)]
        out.append(case)
    return out


# Byte sequences that are not UTF-8 (an overlong form, a surrogate, a truncated character, lone continuation
# bytes), as the ids of their one-byte tokens.
RAW_BYTES = [b"\xe0\x80\x80x", b"\xed\xa0\x80", b"\xf0\x9f\x91x", b"\x80\x80", b"\xc3", b"a\xf4\x90\x80\x80b", b"\xe2\x82"]


def fnv(ids, h=0xCBF29CE484222325):
    for i in ids:
        for b in int(i).to_bytes(4, "little", signed=True):
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def corpus(tok, texts):
    h, n = 0xCBF29CE484222325, 0
    for t in texts:
        ids = tok.encode(t)
        h, n = fnv(ids, h), n + len(ids)
    return {"texts": len(texts), "ids": n, "fnv1a64": f"{h:016x}"}


def main():
    tok = AutoTokenizer.from_pretrained(os.path.join(ROOT, "models"), gguf_file=GGUF)
    cases = []
    for text in TEXTS:
        ids = tok.encode(text)
        assert ids == tok(text)["input_ids"]
        cases.append(
            {
                "text": text,
                "ids": ids,
                "decoded": tok.decode(ids),
                "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
            }
        )
    alphabet = bytes_to_unicode()
    for raw in RAW_BYTES:
        DECODE.append(tok.convert_tokens_to_ids([alphabet[b] for b in raw]))
    decode = [
        {"ids": ids, "decoded": tok.decode(ids), "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)}
        for ids in DECODE
    ]
    with open(os.path.join(ROOT, "examples", "descriptions.jsonl"), encoding="utf-8") as f:
        descriptions = [json.loads(line)["text"] for line in f]
    with open(os.path.join(ROOT, "examples", "descriptions.fr"), encoding="utf-8") as f:
        french = f.read().split("\n")
    out = {
        "model": GGUF,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "cases": cases,
        "decode": decode,
        "splits": splits(),
        "corpora": {"descriptions.jsonl": corpus(tok, descriptions), "descriptions.fr": corpus(tok, french)},
    }
    path = os.path.join(ROOT, "Tests", "Fixtures", "smollm2-tokens.json")
    with open(path, "w", encoding="utf-8") as f:
        # One case per line: diffs stay readable when the reference changes.
        f.write("{\n")
        for i, (key, value) in enumerate(out.items()):
            f.write(f" {json.dumps(key)}: ")
            if isinstance(value, list):
                f.write("[\n" + ",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in value) + "\n ]")
            else:
                f.write(json.dumps(value, ensure_ascii=False))
            f.write(",\n" if i < len(out) - 1 else "\n")
        f.write("}\n")
    print(f"{path}: {len(cases)} texts, {len(decode)} decodings", file=sys.stderr)


if __name__ == "__main__":
    main()
