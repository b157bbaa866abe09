#!/usr/bin/env python3
"""PyTorch reference for the translation benchmark: English -> French Debian package synopses
(bench/data/translation/{train,test}.jsonl from bench/translation-split.py).

A small pre-norm Transformer (torch.nn.Transformer, d_model 256, 4 heads, 3+3 layers, FFN 1024) with one shared
embedding for source, target and the output projection, sinusoidal positions, a joint BPE vocabulary (Hugging
Face tokenizers, Metaspace), label-smoothed cross-entropy, Adam with warm-up and inverse-square-root decay. It
trains for a wall-clock budget; at each checkpoint minute it greedy-decodes the test split and scores it with
sacreBLEU (corpus BLEU and chrF, defaults). Evaluation time does not count toward the budget.

    bench/.venv/bin/python bench/translation_reference.py --minutes 20 --checkpoints 5,10,20 \\
        --out bench/results/torch-translation

Writes OUT/predictions-{minute}.jsonl per checkpoint and OUT/summary.json; prints one JSON line per checkpoint."""
import argparse, json, math, os, random, resource, sys, time, warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.path.join(ROOT, "bench", "data", "translation"))
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "torch-translation"))
    p.add_argument("--minutes", type=float, default=20.0, help="training wall-clock budget (evaluation excluded)")
    p.add_argument("--checkpoints", default="5,10,20", help="minutes of training at which to evaluate")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--vocab", type=int, default=4000, help="joint BPE vocabulary size")
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=3, help="encoder layers and decoder layers")
    p.add_argument("--ffn", type=int, default=1024)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=7e-4, help="peak learning rate")
    p.add_argument("--warmup", type=int, default=4000, help="linear warm-up steps")
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm clipping")
    p.add_argument("--batch-tokens", type=int, default=2500, help="source+target positions per batch, padding included")
    p.add_argument("--eval-batch", type=int, default=64, help="sentences per greedy-decoding batch")
    p.add_argument("--test-limit", type=int, default=0, help="evaluate on the first N test pairs only (0: all)")
    p.add_argument("--loss-window", type=int, default=100, help="steps in the reported train loss mean")
    return p.parse_args()


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def train_tokenizer(texts, vocab_size):
    """Joint BPE over source and target text. Metaspace turns spaces into '▁' so decoding restores them."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                                       show_progress=False))
    assert [tok.token_to_id(s) for s in SPECIALS] == [PAD, UNK, BOS, EOS]
    return tok


def encode(tok, texts):
    return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]


def make_batches(pairs, batch_tokens):
    """pairs: (src ids, tgt ids). Sort by (source, target) length and cut into batches whose padded size,
    sentences x (longest source + 1 for </s> + longest target + 1 for <s>/</s>), stays within batch_tokens
    (about 94% of those positions are real tokens here). Returns lists of pair indices."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
    batches, cur, max_s, max_t = [], [], 0, 0
    for i in order:
        s, t = max(max_s, len(pairs[i][0]) + 1), max(max_t, len(pairs[i][1]) + 1)
        if cur and (len(cur) + 1) * (s + t) > batch_tokens:
            batches.append(cur)
            cur, s, t = [], len(pairs[i][0]) + 1, len(pairs[i][1]) + 1
        cur.append(i)
        max_s, max_t = s, t
    if cur:
        batches.append(cur)
    return batches


def pad(seqs, torch, device):
    out = torch.full((len(seqs), max(map(len, seqs))), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return out.to(device)


def build_model(args, vocab_size, torch):
    nn = torch.nn

    class Translator(nn.Module):
        def __init__(self):
            super().__init__()
            d = args.d_model
            self.d = d
            self.embed = nn.Embedding(vocab_size, d, padding_idx=PAD)
            nn.init.normal_(self.embed.weight, 0.0, d ** -0.5)
            with torch.no_grad():
                self.embed.weight[PAD].zero_()
            # Sinusoidal positions (Vaswani et al.), precomputed for 1024 positions.
            pos = torch.arange(1024, dtype=torch.float).unsqueeze(1)
            freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float) * (-math.log(10000.0) / d))
            pe = torch.zeros(1024, d)
            pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
            self.register_buffer("pe", pe, persistent=False)
            self.drop = nn.Dropout(args.dropout)
            with warnings.catch_warnings():  # nested tensors are off with norm_first; the warning says so
                warnings.simplefilter("ignore")
                self.transformer = nn.Transformer(
                    d_model=d, nhead=args.heads, num_encoder_layers=args.layers, num_decoder_layers=args.layers,
                    dim_feedforward=args.ffn, dropout=args.dropout, norm_first=True, batch_first=True)

        def embed_seq(self, x):
            return self.drop(self.embed(x) * math.sqrt(self.d) + self.pe[:x.size(1)])

        def encode(self, src):
            return self.transformer.encoder(self.embed_seq(src), src_key_padding_mask=src == PAD)

        def decode(self, tgt_in, memory, src_pad):
            n = tgt_in.size(1)  # True above the diagonal: position i sees positions <= i
            causal = torch.ones(n, n, dtype=torch.bool, device=tgt_in.device).triu(1)
            h = self.transformer.decoder(self.embed_seq(tgt_in), memory, tgt_mask=causal, tgt_is_causal=True,
                                         tgt_key_padding_mask=tgt_in == PAD, memory_key_padding_mask=src_pad)
            return h @ self.embed.weight.t()  # tied output projection

        def forward(self, src, tgt_in):
            return self.decode(tgt_in, self.encode(src), src == PAD)

    return Translator()


def greedy(model, tok, sources, args, torch):
    """Batched greedy decoding of the source texts (sorted by length, results in input order); each output is
    limited to 1.5 x its source length (tokens, </s> included) + 10 tokens."""
    model.eval()
    src_ids = [s + [EOS] for s in encode(tok, sources)]
    order = sorted(range(len(sources)), key=lambda i: len(src_ids[i]))
    out = [None] * len(sources)
    with torch.no_grad():
        for b in range(0, len(order), args.eval_batch):
            idx = order[b:b + args.eval_batch]
            src = pad([src_ids[i] for i in idx], torch, args.device)
            limit = torch.tensor([int(len(src_ids[i]) * 1.5) + 10 for i in idx], device=args.device)
            memory, src_pad = model.encode(src), src == PAD
            ys = torch.full((len(idx), 1), BOS, dtype=torch.long, device=args.device)
            done = torch.zeros(len(idx), dtype=torch.bool, device=args.device)
            for step in range(int(limit.max())):
                logits = model.decode(ys, memory, src_pad)[:, -1]
                logits[:, [PAD, BOS]] = float("-inf")  # never emitted
                next_tok = logits.argmax(-1)
                next_tok = torch.where(done, torch.full_like(next_tok, PAD), next_tok)
                ys = torch.cat([ys, next_tok.unsqueeze(1)], dim=1)
                done |= (next_tok == EOS) | (step + 1 >= limit)
                if bool(done.all()):
                    break
            for row, i in zip(ys[:, 1:].tolist(), idx):
                ids = row[:row.index(EOS)] if EOS in row else row
                out[i] = tok.decode([t for t in ids if t != PAD], skip_special_tokens=True)
    model.train()
    return out


def main():
    args = parse_args()
    os.environ.setdefault("RAYON_NUM_THREADS", str(args.threads))  # tokenizers' own thread pool
    import sacrebleu, torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    checkpoints = sorted(float(c) for c in args.checkpoints.split(","))
    assert checkpoints and checkpoints[-1] <= args.minutes, "checkpoints must lie within --minutes"

    train = read_jsonl(os.path.join(args.data, "train.jsonl"))
    test = read_jsonl(os.path.join(args.data, "test.jsonl"))
    if args.test_limit:
        test = test[:args.test_limit]
    refs = [r["target"] for r in test]
    copy_bleu = sacrebleu.corpus_bleu([r["input"] for r in test], [refs]).score
    copy_chrf = sacrebleu.corpus_chrf([r["input"] for r in test], [refs]).score

    t0 = time.perf_counter()
    tok = train_tokenizer([r["input"] for r in train] + [r["target"] for r in train], args.vocab)
    src = encode(tok, [r["input"] for r in train])
    tgt = encode(tok, [r["target"] for r in train])
    tokenizer_s = time.perf_counter() - t0
    pairs = list(zip(src, tgt))
    batches = make_batches(pairs, args.batch_tokens)
    vocab_size = tok.get_vocab_size()

    model = build_model(args, vocab_size, torch).to(args.device)
    params = sum(p.numel() for p in model.parameters())  # the tied embedding counts once
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    # Linear warm-up to the peak, then inverse square root: lr * min(s / w, sqrt(w / s)), s counted from 1.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / args.warmup, math.sqrt(args.warmup / (s + 1))))
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=args.label_smoothing)
    print(f"train {len(train)} pairs, {len(batches)} batches/epoch, vocab {vocab_size}, params {params:,}, "
          f"tokenizer {tokenizer_s:.1f} s; test {len(test)}; copy baseline BLEU {copy_bleu:.2f} chrF "
          f"{copy_chrf:.2f}", file=sys.stderr)

    budget, results = args.minutes * 60, []
    train_s, steps, tokens, losses = 0.0, 0, 0, []
    epoch, pending = 0, list(checkpoints)
    model.train()
    while train_s < budget:
        rng.shuffle(batches)  # batch order differs each epoch; batch contents stay fixed
        for bi, batch in enumerate(batches):
            start = time.perf_counter()
            s = pad([pairs[i][0] + [EOS] for i in batch], torch, args.device)
            t = pad([[BOS] + pairs[i][1] + [EOS] for i in batch], torch, args.device)
            t_in, t_out = t[:, :-1], t[:, 1:]
            logits = model(s, t_in)
            loss = loss_fn(logits.reshape(-1, vocab_size), t_out.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            sched.step()
            losses.append(loss.item())
            steps += 1
            tokens += int((s != PAD).sum()) + int((t_out != PAD).sum())
            train_s += time.perf_counter() - start
            # Checkpoints: evaluation is timed apart and not counted in train_s.
            while pending and train_s >= pending[0] * 60:
                minute = pending.pop(0)
                e0 = time.perf_counter()
                preds = greedy(model, tok, [r["input"] for r in test], args, torch)
                decode_s = time.perf_counter() - e0
                rec = {
                    "minutes": minute, "steps": steps, "epochs": round(epoch + (bi + 1) / len(batches), 3),
                    "train_seconds": round(train_s, 1), "train_tokens_per_s": round(tokens / train_s, 1),
                    "train_loss": round(sum(losses[-args.loss_window:]) / len(losses[-args.loss_window:]), 4),
                    "lr": opt.param_groups[0]["lr"],
                    "bleu": round(sacrebleu.corpus_bleu(preds, [refs]).score, 4),
                    "chrf": round(sacrebleu.corpus_chrf(preds, [refs]).score, 4),
                    "decode_sentences_per_s": round(len(test) / decode_s, 1), "decode_seconds": round(decode_s, 1),
                }
                results.append(rec)
                print(json.dumps(rec), file=sys.stderr, flush=True)
                with open(os.path.join(args.out, f"predictions-{minute:g}.jsonl"), "w", encoding="utf-8") as f:
                    for r, p in zip(test, preds):
                        f.write(json.dumps({"input": r["input"], "target": r["target"], "prediction": p},
                                           ensure_ascii=False) + "\n")
            if train_s >= budget:
                break
        epoch += 1

    summary = {
        "task": "English -> French Debian synopses", "torch": torch.__version__, "threads": args.threads,
        "device": args.device, "config": {k: v for k, v in vars(args).items() if k not in ("data", "out")},
        "train_pairs": len(train), "test_pairs": len(test), "vocab": vocab_size, "parameters": params,
        "batches_per_epoch": len(batches), "tokenizer_seconds": round(tokenizer_s, 1),
        "copy_baseline": {"bleu": round(copy_bleu, 4), "chrf": round(copy_chrf, 4)},
        "checkpoints": results,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    for rec in results:
        print(json.dumps(rec))
    print(json.dumps({"parameters": params, "peak_rss_mb": summary["peak_rss_mb"],
                      "copy_baseline": summary["copy_baseline"]}))


if __name__ == "__main__":
    main()
