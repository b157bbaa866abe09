"""PyTorch + PEFT reference for fx's LoRA fine-tuning (bench/lora.sh), run in bench/.venv: transformers'
LlamaForCausalLM loaded from the same GGUF file (float32), PEFT LoRA on all seven projections, completion-only loss.

  lora_reference.py train MODEL.gguf TRAIN.jsonl TEST.jsonl OUT.jsonl [--seconds 600] [--rank 16] [--alpha 32]
      [--dropout 0.05] [--lr 2e-4] [--warmup 30] [--batch 8] [--max-length 512] [--new 48]

Training: examples in shuffled order (seed 1), batches of --batch examples padded on the right, labels -100 on the
prompt (rendered by the tokenizer's chat template with the generation prompt) and on padding, so the loss covers
the assistant's reply and its end of turn, as fx's; AdamW (transformers' defaults: betas 0.9/0.999, no weight
decay), --warmup steps of linear warm-up then a constant rate, gradients clipped to norm 1; it stops when
--seconds of training have passed. Tokens/s counts every token of each example (prompt and template included,
padding excluded), as fx-train counts them. Then greedy replies (at most --new tokens) to TEST's prompts, batches
of 16 left-padded, written to OUT as {"id", "prediction"}. Prints one JSON line of figures. 2 threads.
"""
import argparse, json, os, random, time


def chats(path):
    out = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            msgs = r["messages"]
            last = max(i for i, m in enumerate(msgs) if m["role"] == "user")
            reply = next(m["content"] for m in msgs[last + 1:] if m["role"] == "assistant")
            out.append((r.get("id"), msgs[: last + 1], reply))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("model")
    p.add_argument("train")
    p.add_argument("test")
    p.add_argument("out")
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--alpha", type=float, default=32)
    p.add_argument("--dropout", type=float, default=0.05)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--new", type=int, default=48)
    a = p.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from peft import LoraConfig, get_peft_model
    torch.set_num_threads(2)
    torch.manual_seed(1)
    folder, name = os.path.split(os.path.abspath(a.model))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    lm = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=a.dropout, task_type="CAUSAL_LM",
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    lm = get_peft_model(lm, config)
    trainable = sum(p.numel() for p in lm.parameters() if p.requires_grad)

    examples = []
    for _, msgs, reply in chats(a.train):
        prompt = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        full = tok.apply_chat_template(msgs + [{"role": "assistant", "content": reply}], tokenize=False)
        pids = tok(prompt, add_special_tokens=False).input_ids
        rids = tok(full[len(prompt):], add_special_tokens=False).input_ids
        ids = (pids + rids)[: a.max_length]
        labels = ([-100] * len(pids) + rids)[: a.max_length]
        examples.append((ids, labels))
    random.Random(1).shuffle(examples)

    optimizer = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=a.lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / a.warmup))
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    lm.train()
    started = time.time()
    steps = tokens = 0
    loss_value = float("nan")
    k = 0
    while time.time() - started < a.seconds:
        batch = examples[k:k + a.batch]
        k = (k + a.batch) % len(examples)
        n = max(len(ids) for ids, _ in batch)
        input_ids = torch.tensor([ids + [pad] * (n - len(ids)) for ids, _ in batch])
        labels = torch.tensor([lab + [-100] * (n - len(lab)) for _, lab in batch])
        mask = torch.tensor([[1] * len(ids) + [0] * (n - len(ids)) for ids, _ in batch])
        out = lm(input_ids=input_ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in lm.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        steps += 1
        tokens += sum(len(ids) for ids, _ in batch)
        loss_value = out.loss.item()
    seconds = time.time() - started

    lm.eval()
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    stops = [tok.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>") if t in tok.get_vocab()]
    test = chats(a.test)
    generated = 0
    g0 = time.time()
    with open(a.out, "w") as f, torch.no_grad():
        for i in range(0, len(test), 16):
            part = test[i:i + 16]
            texts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for _, m, _ in part]
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            out = lm.generate(**enc, max_new_tokens=a.new, do_sample=False, eos_token_id=stops, pad_token_id=tok.pad_token_id)
            for (rid, _, _), row in zip(part, out[:, enc.input_ids.shape[1]:].tolist()):
                reply = []
                for t in row:
                    if t in stops:
                        break
                    reply.append(t)
                generated += len(reply)
                f.write(json.dumps({"id": rid, "prediction": tok.decode(reply, skip_special_tokens=True)}, ensure_ascii=False) + "\n")
    print(json.dumps({"steps": steps, "examples": steps * a.batch, "tokens": tokens, "train_seconds": round(seconds, 1),
                      "tokens_per_s": round(tokens / seconds, 1), "final_loss": round(loss_value, 4), "trainable": trainable,
                      "generated": generated, "generate_seconds": round(time.time() - g0, 1)}))


if __name__ == "__main__":
    main()
