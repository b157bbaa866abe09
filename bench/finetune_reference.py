"""What a user would write with PyTorch and transformers to fine-tune all-MiniLM-L6-v2 on labeled pairs, run on
2 threads and timed inside the process; prints one JSON line (accuracy on TEST, training seconds).

  python bench/finetune_reference.py MODEL_DIR TRAIN.jsonl TEST.jsonl RECIPE [LR EPOCHS]

RECIPE:
  bert-cls   BertForSequenceClassification from the folder (head on the pooler's [CLS] vector), AdamW, batch 32,
             max length 128, linear decay with 10% warm-up (lr 1e-4, 5 epochs by default)
  mean-head  the same recipe with a linear head on the mean-pooled sentence vector (sentence-transformers' pooling)
  frozen-lr  frozen sentence-transformers embeddings (max length 256) + scikit-learn LogisticRegression
"""
import json
import sys
import time

import torch

torch.set_num_threads(2)
torch.manual_seed(1)
model_dir, train_path, test_path, recipe = sys.argv[1:5]
lr = float(sys.argv[5]) if len(sys.argv) > 5 else 1e-4
epochs = int(sys.argv[6]) if len(sys.argv) > 6 else 5
train = [json.loads(line) for line in open(train_path)]
test = [json.loads(line) for line in open(test_path)]
labels = sorted({r["label"] for r in train})
index = {l: i for i, l in enumerate(labels)}


def report(correct, seconds):
    print(json.dumps({"recipe": recipe, "lr": lr, "epochs": epochs, "examples": len(train),
                      "accuracy": correct / len(test), "train_seconds": round(seconds, 1)}))


if recipe == "frozen-lr":
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression
    st = SentenceTransformer(model_dir, device="cpu")
    start = time.time()
    X = st.encode([r["text"] for r in train], batch_size=32)
    clf = LogisticRegression(max_iter=2000).fit(X, [r["label"] for r in train])
    seconds = time.time() - start
    predicted = clf.predict(st.encode([r["text"] for r in test], batch_size=32))
    report(sum(p == r["label"] for p, r in zip(predicted, test)), seconds)
    sys.exit()

from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

tokenizer = AutoTokenizer.from_pretrained(model_dir)


class MeanHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(model_dir)
        self.dropout = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(labels))

    def forward(self, input_ids, attention_mask, **_):
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).float()
        return self.head(self.dropout((states * mask).sum(1) / mask.sum(1)))


if recipe == "bert-cls":
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=len(labels))
    logits = lambda batch: model(**batch).logits
else:
    model = MeanHead()
    logits = lambda batch: model(**batch)


def batches(records, size, shuffle):
    order = torch.randperm(len(records)).tolist() if shuffle else list(range(len(records)))
    for i in range(0, len(order), size):
        part = [records[j] for j in order[i:i + size]]
        batch = tokenizer([r["text"] for r in part], truncation=True, max_length=128, padding=True, return_tensors="pt")
        batch.pop("token_type_ids", None)
        yield batch, part


optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
steps = epochs * ((len(train) + 31) // 32)
schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
start = time.time()
model.train()
for epoch in range(epochs):
    for batch, part in batches(train, 32, True):
        loss = torch.nn.functional.cross_entropy(logits(batch), torch.tensor([index[r["label"]] for r in part]))
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
seconds = time.time() - start
model.eval()
correct = 0
with torch.no_grad():
    for batch, part in batches(test, 64, False):
        predicted = logits(batch).argmax(-1).tolist()
        correct += sum(labels[p] == r["label"] for p, r in zip(predicted, part))
report(correct, seconds)
