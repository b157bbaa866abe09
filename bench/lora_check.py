"""Checks fx-train's exports with the tools users take them to (bench/lora.sh, run in bench/.venv):

  lora_check.py BASE.gguf PEFT_DIR MERGED.gguf FX_TOP.jsonl FX_REPLIES.jsonl

FX_TOP.jsonl: `fx-eval -m tuned.fxm --predict --k 49152 --max-new-tokens 1` on chat records (every next-token logit
of each prompt). It compares them with (1) transformers' model of BASE.gguf with PEFT's adapters from PEFT_DIR
(`PeftModel.from_pretrained`), (2) transformers' model of the merged GGUF, and prints the largest absolute
differences; then (3) llama.cpp (llama-cpp-python) loads the merged GGUF and answers the same conversations
greedily (create_chat_completion, the file's own template, as many tokens as fx's replies in FX_REPLIES.jsonl,
`fx-eval -m tuned.fxm --predict --max-new-tokens 12`), compared with fx's replies. One JSON line.
"""
import json, os, sys


def main():
    base, peft_dir, merged, fx_top, fx_replies = sys.argv[1:6]
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from peft import PeftModel
    torch.set_num_threads(2)
    rows = [json.loads(line) for line in open(fx_top)]
    folder, name = os.path.split(os.path.abspath(base))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)

    def prompt_ids(r):
        msgs = r["messages"]
        last = max(i for i, m in enumerate(msgs) if m["role"] == "user")
        text = tok.apply_chat_template(msgs[: last + 1], tokenize=False, add_generation_prompt=True)
        return tok(text, return_tensors="pt", add_special_tokens=False).input_ids

    def fx_logits(r):
        out = np.full(len(tok), np.nan, dtype=np.float32)
        for t in r["top"]:
            out[t["id"]] = t["logit"]
        return out

    def largest(lm):
        worst = 0.0
        with torch.no_grad():
            for r in rows:
                logits = lm(prompt_ids(r)).logits[0, -1].float().numpy()
                fx = fx_logits(r)
                worst = max(worst, float(np.nanmax(np.abs(logits[: len(fx)] - fx))))
        return worst

    lm = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    peft = PeftModel.from_pretrained(lm, peft_dir).eval()
    peft_diff = largest(peft)
    mfolder, mname = os.path.split(os.path.abspath(merged))
    merged_lm = AutoModelForCausalLM.from_pretrained(mfolder, gguf_file=mname, dtype=torch.float32).eval()
    merged_diff = largest(merged_lm)

    from llama_cpp import Llama
    llm = Llama(model_path=merged, n_threads=2, n_ctx=2048, verbose=False)
    same = 0
    replies = [json.loads(line) for line in open(fx_replies)]
    for r in replies:
        msgs = r["messages"]
        last = max(i for i, m in enumerate(msgs) if m["role"] == "user")
        out = llm.create_chat_completion(messages=msgs[: last + 1], max_tokens=12, temperature=0)
        same += out["choices"][0]["message"]["content"] == r["prediction"]
    print(json.dumps({"prompts": len(rows), "peft_max_abs_logit_diff": round(peft_diff, 6),
                      "merged_gguf_transformers_max_abs_logit_diff": round(merged_diff, 6),
                      "llama_cpp_same_replies": "%d/%d" % (same, len(replies))}))


if __name__ == "__main__":
    main()
