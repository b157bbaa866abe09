"""Reference values for fx's causal language model tests (Tests/FXCoreTests/CausalLM/LlamaTests.swift), computed
with transformers' LlamaForCausalLM loaded from the shipped GGUF file in float32:

    bench/.venv/bin/python Tests/Fixtures/make_smollm2_logits.py > Tests/Fixtures/smollm2-logits.json

For each conversation: the prompt's token ids (chat template, add_generation_prompt), the 10 largest next-token
logits with their ids, the logits at a few fixed ids, and the greedy reply of 16 tokens. For each document: the
loss that transformers computes with labels = input_ids (mean over the tokens after the first).
"""
import json, os
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

torch.set_num_threads(2)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
tok = AutoTokenizer.from_pretrained(os.path.join(ROOT, "models"), gguf_file=NAME)
lm = AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, "models"), gguf_file=NAME, dtype=torch.float32).eval()

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You answer in one short sentence."},
     {"role": "user", "content": "Describe the Debian package 'grep'."}],
    [{"role": "user", "content": "Traduis en français : the cat sleeps on the mat."},
     {"role": "assistant", "content": "Le chat dort sur le tapis."},
     {"role": "user", "content": "Et : the dog barks at night?"}],
]
DOCUMENTS = [
    "GNU grep searches one or more input files for lines containing a match to a specified pattern.",
    "Barman (Backup and Recovery Manager) is an open-source administration tool for disaster recovery of PostgreSQL servers written in Python.",
]
FIXED = [0, 1, 2, 198, 504, 1000, 30000, 49151]

out = {"conversations": [], "documents": []}
with torch.no_grad():
    for messages in CONVERSATIONS:
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tok(text, return_tensors="pt", add_special_tokens=False).input_ids
        logits = lm(ids).logits[0, -1]
        top = torch.topk(logits, 10)
        greedy = lm.generate(ids, max_new_tokens=16, do_sample=False, attention_mask=torch.ones_like(ids))[0, ids.shape[1]:]
        out["conversations"].append({
            "messages": messages, "prompt_ids": ids[0].tolist(),
            "top_ids": top.indices.tolist(), "top_logits": [float(x) for x in top.values],
            "fixed_ids": FIXED, "fixed_logits": [float(logits[i]) for i in FIXED],
            "greedy": greedy.tolist()})
    for text in DOCUMENTS:
        ids = tok(text, return_tensors="pt").input_ids
        loss = lm(ids, labels=ids).loss
        out["documents"].append({"text": text, "ids": ids[0].tolist(), "loss": float(loss)})
print(json.dumps(out, indent=1, ensure_ascii=False))
