"""References for fx's causal language model (bench/llm.sh), run in bench/.venv: transformers' LlamaForCausalLM
loaded from the same GGUF file (float32) and llama.cpp through llama-cpp-python.

  llm_reference.py logits  MODEL.gguf CHAT.jsonl OUT.json [--new 64]
      each record's prompt (its messages up to the last user turn, rendered by the tokenizer's chat template):
      the next-token logits over the whole vocabulary and the greedy continuation of --new tokens
  llm_reference.py transformers MODEL.gguf CHAT.jsonl OUT.jsonl [--new 48] [--batch 16]
      greedy replies with generate(), batches of --batch left-padded prompts, as people run it
  llm_reference.py llamacpp MODEL.gguf CHAT.jsonl OUT.jsonl [--new 48]
      greedy replies from llama.cpp, one prompt after another through create_chat_completion
  llm_reference.py latency-transformers|latency-llamacpp MODEL.gguf CHAT.jsonl [--new 48]
      one prompt alone (the first record): time to first token and tokens/s after it, model loaded

Every mode runs on 2 threads and prints one JSON line of figures to stdout (generated tokens, seconds after the
model is loaded); replies go to OUT as {"id", "prediction"} lines.
"""
import argparse, json, os, sys, time


def prompts(path):
    out = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            msgs = r["messages"]
            last = max(i for i, m in enumerate(msgs) if m["role"] == "user")
            out.append((r.get("id"), msgs[: last + 1]))
    return out


def load_transformers(model):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.set_num_threads(2)
    folder, name = os.path.split(os.path.abspath(model))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    lm = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    lm.eval()
    return torch, tok, lm


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("out", nargs="?")
    p.add_argument("--new", type=int, default=48)
    p.add_argument("--batch", type=int, default=16)
    a = p.parse_args()
    records = prompts(a.data)

    if a.mode == "logits":
        import numpy as np
        torch, tok, lm = load_transformers(a.model)
        result = []
        with torch.no_grad():
            for rid, msgs in records:
                text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
                ids = tok(text, return_tensors="pt", add_special_tokens=False).input_ids
                logits = lm(ids).logits[0, -1].float().numpy()
                out = lm.generate(ids, max_new_tokens=a.new, do_sample=False, attention_mask=torch.ones_like(ids))
                result.append({"id": rid, "prompt_ids": ids[0].tolist(), "logits": logits.astype(np.float32).tobytes().hex(),
                               "greedy": out[0, ids.shape[1]:].tolist()})
        with open(a.out, "w") as f:
            json.dump(result, f)
        return

    if a.mode in ("transformers", "latency-transformers"):
        torch, tok, lm = load_transformers(a.model)
        tok.padding_side = "left"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        stops = [tok.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>") if t in tok.get_vocab()]
        texts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for _, m in records]
        if a.mode == "latency-transformers":
            ids = tok(texts[0], return_tensors="pt", add_special_tokens=False).input_ids
            with torch.no_grad():
                t0 = time.time()
                lm.generate(ids, max_new_tokens=1, do_sample=False, attention_mask=torch.ones_like(ids))
                first = time.time() - t0
                t0 = time.time()
                out = lm.generate(ids, max_new_tokens=a.new, min_new_tokens=a.new, do_sample=False, attention_mask=torch.ones_like(ids))
                total = time.time() - t0
            n = out.shape[1] - ids.shape[1]
            print(json.dumps({"tool": "transformers", "first_token_s": round(first, 4), "tokens": n,
                              "tokens_per_s_after_first": round((n - 1) / max(total - first, 1e-9), 2)}))
            return
        replies, generated = [], 0
        t0 = time.time()
        with torch.no_grad():
            for b in range(0, len(texts), a.batch):
                enc = tok(texts[b: b + a.batch], return_tensors="pt", padding=True, add_special_tokens=False)
                out = lm.generate(**enc, max_new_tokens=a.new, do_sample=False, eos_token_id=stops, pad_token_id=tok.pad_token_id)
                for row in out[:, enc.input_ids.shape[1]:].tolist():
                    n = 0
                    for t in row:
                        if t in stops:
                            break
                        n += 1
                    generated += n
                    replies.append(tok.decode(row[:n], skip_special_tokens=True))
        seconds = time.time() - t0
        with open(a.out, "w") as f:
            for (rid, _), reply in zip(records, replies):
                f.write(json.dumps({"id": rid, "prediction": reply}, ensure_ascii=False) + "\n")
        print(json.dumps({"tool": "transformers", "records": len(replies), "generated_tokens": generated, "generate_seconds": round(seconds, 2)}))
        return

    if a.mode in ("llamacpp", "latency-llamacpp"):
        from llama_cpp import Llama
        llm = Llama(model_path=a.model, n_threads=2, n_threads_batch=2, n_ctx=2048, verbose=False)
        if a.mode == "latency-llamacpp":
            msgs = records[0][1]
            t0 = time.time()
            first = None
            n = 0
            for chunk in llm.create_chat_completion(messages=msgs, max_tokens=a.new, temperature=0, stream=True):
                if chunk["choices"][0]["delta"].get("content"):
                    n += 1
                    if first is None:
                        first = time.time() - t0
            total = time.time() - t0
            print(json.dumps({"tool": "llama.cpp", "first_token_s": round(first or total, 4), "tokens": n,
                              "tokens_per_s_after_first": round((n - 1) / max(total - (first or total), 1e-9), 2)}))
            return
        replies, generated = [], 0
        t0 = time.time()
        for _, msgs in records:
            r = llm.create_chat_completion(messages=msgs, max_tokens=a.new, temperature=0)
            replies.append(r["choices"][0]["message"]["content"] or "")
            generated += r["usage"]["completion_tokens"]
        seconds = time.time() - t0
        with open(a.out, "w") as f:
            for (rid, _), reply in zip(records, replies):
                f.write(json.dumps({"id": rid, "prediction": reply}, ensure_ascii=False) + "\n")
        print(json.dumps({"tool": "llama.cpp", "records": len(replies), "generated_tokens": generated, "generate_seconds": round(seconds, 2)}))
        return
    sys.exit("unknown mode " + a.mode)


if __name__ == "__main__":
    main()
