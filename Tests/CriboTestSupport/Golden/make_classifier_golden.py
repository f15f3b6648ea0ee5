"""Golden for cribo's linear classifier on [CLS] (Sources/CriboEval/LinearClassifier.swift).

DINO eval_linear's training loop on fixed tiny features: nn.Linear(D, C) with the given initial weight and zero bias,
nn.CrossEntropyLoss (batch mean), torch.optim.SGD(lr = base * B / 256, momentum 0.9, weight_decay wd) and
CosineAnnealingLR(T_max = epochs, eta_min = 0) stepped once per epoch; the row order of every epoch is fixed here
(stored as `order`) so that cribo replays the same batches, the last batch of an epoch being smaller.

Writes classifier.safetensors: features [N, D], labels [N], weight0 [C, D], order [E, N], per-epoch learning rates
and mean losses, the weight and bias after training, and logits of held-out rows. Deterministic (seeded, float32).
Run: /opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_classifier_golden.py
"""
import os

import numpy as np
import torch
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261127)
N, D, C, E, B = 40, 8, 5, 3, 16
BASE_LR, WD = 0.05, 1e-3

centers = rng.normal(size=(C, D)).astype(np.float32)
labels = rng.integers(0, C, size=N).astype(np.int64)
features = (centers[labels] + 0.7 * rng.normal(size=(N, D))).astype(np.float32)
held_out = rng.normal(size=(6, D)).astype(np.float32)
weight0 = (0.01 * rng.normal(size=(C, D))).astype(np.float32)
order = np.stack([rng.permutation(N) for _ in range(E)]).astype(np.int64)

linear = torch.nn.Linear(D, C)
with torch.no_grad():
    linear.weight.copy_(torch.from_numpy(weight0))
    linear.bias.zero_()
lr = BASE_LR * B / 256
optimizer = torch.optim.SGD(linear.parameters(), lr=lr, momentum=0.9, weight_decay=WD)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, E, eta_min=0)
criterion = torch.nn.CrossEntropyLoss()
x_all, y_all = torch.from_numpy(features), torch.from_numpy(labels)
lrs, losses = [], []
for epoch in range(E):
    lrs.append(optimizer.param_groups[0]["lr"])
    total = 0.0
    for start in range(0, N, B):
        rows = torch.from_numpy(order[epoch, start:start + B])
        loss = criterion(linear(x_all[rows]), y_all[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(rows)
    losses.append(total / N)
    scheduler.step()

with torch.no_grad():
    logits = linear(torch.from_numpy(held_out)).numpy()
out = {
    "features": features, "labels": labels, "weight0": weight0, "order": order, "held_out": held_out,
    "lrs": np.array(lrs, dtype=np.float32), "losses": np.array(losses, dtype=np.float32),
    "weight": linear.weight.detach().numpy().astype(np.float32), "bias": linear.bias.detach().numpy().astype(np.float32),
    "logits": logits.astype(np.float32),
}
save_file(out, os.path.join(HERE, "classifier.safetensors"),
          metadata={"N": str(N), "D": str(D), "C": str(C), "epochs": str(E), "batch": str(B), "base_lr": str(BASE_LR),
                    "weight_decay": str(WD), "momentum": "0.9", "torch": torch.__version__})
print("wrote classifier.safetensors", {k: v.shape for k, v in out.items()})
