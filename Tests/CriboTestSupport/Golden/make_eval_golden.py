"""Goldens for cribo's evaluation algorithms (Sources/CriboEval).

Writes eval.safetensors:
- seg.*   confusion matrices, clean IoU/mIoU/accuracy (mmseg-style nan-mean) and open-hummingbird-eval PredsmIoU
          (scipy Hungarian matching, 1e-8 clamp, mean over all classes) for a VOC-like (ignore 255) and an
          ADE20K-like (ignore 0) case;
- lsa.*   scipy.optimize.linear_sum_assignment on random cost matrices (square and rectangular);
- bil.*   F.interpolate(mode="bilinear", align_corners=False) forward and backward, stored channels-last;
- knn.*   the dense k-NN protocol of open-hummingbird-eval (soft patch labels, rare-class patch sampling with
          SplitMix64 uniforms, unit-norm memory, top-k by inner product, softmax(cos/0.02) weights, bilinear upsampling,
          argmax, both metric variants) on tiny features;
- probe.* a linear probe (D -> C on patch tokens, bilinear upsampling, CE ignore 255) trained with torch.optim.Adam
          (L2 weight decay) and a poly learning rate on fixed batches;
- cls.*   DINO eval_knn weighted k-NN classification (k 20, T 0.07): votes, neighbours, top-1/top-5.
Deterministic (seeded numpy/torch on CPU, float32); rerun gives identical bytes.
Run: /opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_eval_golden.py   (needs scipy: pip install scipy)
"""
import os

import numpy as np
import scipy
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file
from scipy.optimize import linear_sum_assignment

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
rng = np.random.default_rng(20260601)
out = {}
MASK = (1 << 64) - 1


# --- SplitMix64, bit-identical to Sources/CriboTensor/SplitMix64.swift ---------------------------------------------
def finalize(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def mix(*values):
    h = 0x6A09E667F3BCC909
    for v in values:
        h = finalize(h ^ finalize((v + 0x9E3779B97F4A7C15) & MASK))
    return h


class SplitMix64:
    def __init__(self, seed):
        self.state = seed

    def uniform(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        return (finalize(self.state) >> 11) * 2.0**-53


# --- segmentation metrics ---------------------------------------------------------------------------------------------
def confusion(gt, pred, C, ignore):
    keep = gt != ignore
    return np.bincount(gt[keep].astype(np.int64) * C + pred[keep], minlength=C * C).reshape(C, C).astype(np.int64)


def clean_scores(gt, pred, C, ignore):
    m = confusion(gt, pred, C, ignore)
    tp = np.diag(m).astype(np.float64)
    union = m.sum(0) + m.sum(1) - np.diag(m)
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    if 0 <= ignore < C:
        iou[ignore] = np.nan
    return m, iou, np.nanmean(iou), tp.sum() / m.sum()


def hummingbird_scores(gt, pred, C, ignore):
    """PredsmIoU.compute_miou (Hungarian) on the pixels with gt != ignore."""
    keep = gt != ignore
    gt, pred = gt[keep].astype(np.int64), pred[keep].astype(np.int64)
    score = np.zeros((C, C))
    for c2 in range(C):
        for c1 in range(C):
            t = gt == c1
            p = pred == c2
            tp, fp, fn = np.sum(t & p), np.sum(~t & p), np.sum(t & ~p)
            score[c1, c2] = float(tp) / max(float(tp + fp + fn), 1e-8)
    rows, cols = linear_sum_assignment(1 - score)
    reordered = np.zeros(len(pred), dtype=np.int64)
    mapping = np.zeros(C, dtype=np.int64)
    for target_i, pred_i in zip(rows, cols):
        reordered[pred == pred_i] = target_i
        mapping[pred_i] = target_i
    jac = []
    for c in range(C):
        t = gt == c
        p = reordered == c
        tp, fp, fn = np.sum(t & p), np.sum(~t & p), np.sum(t & ~p)
        jac.append(float(tp) / max(float(tp + fp + fn), 1e-8))
    return np.array(jac), float(np.mean(jac)), float(np.mean(gt == reordered)), mapping


def add_segmentation(prefix, gt, pred, C, ignore):
    m, iou, miou, acc = clean_scores(gt, pred, C, ignore)
    hjac, hmiou, hacc, mapping = hummingbird_scores(gt, pred, C, ignore)
    out.update({
        f"{prefix}.gt": gt.astype(np.uint8), f"{prefix}.pred": pred.astype(np.int32), f"{prefix}.confusion": m,
        f"{prefix}.clean_iou": iou, f"{prefix}.clean_miou": np.array([miou]), f"{prefix}.clean_accuracy": np.array([acc]),
        f"{prefix}.hb_iou": hjac, f"{prefix}.hb_miou": np.array([hmiou]), f"{prefix}.hb_accuracy": np.array([hacc]),
        f"{prefix}.hb_mapping": mapping,
    })


# VOC-like: C = 6, ignore 255, class 4 never present; predictions are a relabelling of gt plus noise.
present = np.array([0, 1, 2, 3, 5])
gt = rng.choice(present, size=3000)
gt[rng.random(3000) < 0.1] = 255
relabel = {0: 1, 1: 2, 2: 0, 3: 3, 5: 5, 255: 0}
pred = np.array([relabel[int(g)] for g in gt])
noise = rng.random(3000) < 0.3
pred[noise] = rng.choice(present, size=noise.sum())
add_segmentation("seg.voc", gt, pred, 6, 255)
# ADE20K-like: C = 5, ignore 0 (dropped from the metric, still averaged by PredsmIoU).
gt = rng.integers(0, 5, size=2000)
pred = np.where(rng.random(2000) < 0.6, gt, rng.integers(0, 5, size=2000))
add_segmentation("seg.ade", gt, pred, 5, 0)

# --- Hungarian --------------------------------------------------------------------------------------------------------
for name, (r, c) in {"square": (7, 7), "wide": (4, 9), "tall": (9, 4), "large": (21, 21)}.items():
    cost = rng.random((r, c))
    rows, cols = linear_sum_assignment(cost)
    col_of_row = -np.ones(r, dtype=np.int64)
    col_of_row[rows] = cols
    out[f"lsa.{name}.cost"] = cost
    out[f"lsa.{name}.assignment"] = col_of_row
    out[f"lsa.{name}.total"] = np.array([cost[rows, cols].sum()])

# --- bilinear resize (channels-last storage of NCHW tensors) ---------------------------------------------------------
for name, (h, w, H, W) in {"up": (5, 7, 16, 21), "mixed": (4, 6, 13, 5)}.items():
    x = torch.randn(1, 3, h, w, requires_grad=True)
    y = F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    cl = lambda t: t.detach()[0].permute(1, 2, 0).contiguous().numpy()
    out.update({f"bil.{name}.input": cl(x), f"bil.{name}.output": cl(y), f"bil.{name}.doutput": cl(dy),
                f"bil.{name}.dinput": cl(x.grad)})

# --- dense k-NN retrieval ---------------------------------------------------------------------------------------------
C, D, G, P, K, BETA, SEED, SAMPLES = 5, 8, 4, 4, 5, 0.02, 7, 6
class_embedding = rng.normal(size=(C, D)) * 1.5


def label_map(n, palette, holes):
    """[n, 16, 16] label maps of 4x4-pixel blocks of classes from `palette`, with some 255 pixels."""
    maps = rng.choice(palette, size=(n, G * 2, G * 2)).repeat(2, axis=1).repeat(2, axis=2)
    maps[rng.random(maps.shape) < holes] = 255
    return maps.astype(np.uint8)


def patch_features(labels):
    """[n, G*G, D] features near the embedding of each patch's majority class."""
    n = labels.shape[0]
    feats = rng.normal(size=(n, G * G, D)) * 0.8
    for i in range(n):
        for py in range(G):
            for px in range(G):
                block = labels[i, py * P:(py + 1) * P, px * P:(px + 1) * P].ravel()
                block = block[block != 255]
                if len(block):
                    feats[i, py * G + px] += class_embedding[np.bincount(block, minlength=C).argmax()]
    return feats.astype(np.float32)


train_labels = label_map(3, np.array([0, 1, 2, 3, 4]), 0.05)
train_labels[1, 0:4, 12:16] = 255  # one patch with no labelled pixel (scores 1e6 in the clean variant)
train_labels[2][train_labels[2] == 4] = 0  # class 4 is rare: only in images 0 and 1
val_labels = label_map(2, np.array([0, 1, 2, 3, 4]), 0.05)
train_feats, val_feats = patch_features(train_labels), patch_features(val_labels)
out.update({"knn.train_labels": train_labels, "knn.val_labels": val_labels, "knn.train_features": train_feats,
            "knn.val_features": val_feats})


def patch_histograms(labels, variant):
    y = labels.astype(np.int64).copy()
    if variant == "hummingbird":
        y[y == 255] = 0
    patches = y.reshape(G, P, G, P).transpose(0, 2, 1, 3).reshape(G * G, P * P)
    hist = np.stack([(patches == c).sum(1) for c in range(C)], axis=1)  # 255 (clean) counts nowhere
    return hist


def build_memory(variant, samples):
    feats, labs, picks = [], [], []
    for i in range(train_labels.shape[0]):
        hist = patch_histograms(train_labels[i], variant)
        soft = (hist / float(P * P)).astype(np.float32)
        if samples is None:
            idx = np.arange(G * G)
        else:
            presence = hist > 0
            freq = presence.sum(0).astype(np.float64)
            gen = SplitMix64(mix(SEED, i))
            scores = np.zeros(G * G)
            for p in range(G * G):
                s = float((presence[p] * freq).sum())
                scores[p] = 1e6 if s == 0 else s * gen.uniform()
            idx = np.array(sorted(range(G * G), key=lambda p: (scores[p], p))[:samples])
            picks.append(idx)
        f = torch.from_numpy(train_feats[i][idx])
        feats.append((f / torch.norm(f, dim=1, keepdim=True)).numpy())
        labs.append(soft[idx])
    return np.concatenate(feats), np.concatenate(labs), (np.stack(picks) if picks else None)


def retrieve(memory, memory_labels, variant):
    q = torch.from_numpy(val_feats.reshape(-1, D))
    sims = q @ torch.from_numpy(memory).T
    top, idx = sims.topk(K, dim=1, largest=True, sorted=True)
    ordered = sims.sort(dim=1, descending=True).values
    assert float((ordered[:, :K + 1].diff(dim=1)).abs().min()) > 1e-4, "near-tie in the golden neighbours"
    keys = F.normalize(torch.from_numpy(memory)[idx], dim=-1)
    attn = F.softmax(torch.einsum("qd,qkd->qk", F.normalize(q, dim=-1), keys) / BETA, dim=-1)
    soft = torch.einsum("qk,qkc->qc", attn, torch.from_numpy(memory_labels)[idx])
    maps = soft.reshape(2, G, G, C).permute(0, 3, 1, 2)
    up = F.interpolate(maps, size=(G * P, G * P), mode="bilinear")
    pred = up.argmax(dim=1)
    top2 = up.topk(2, dim=1).values
    return idx, attn, soft, up.permute(0, 2, 3, 1).contiguous(), pred, (top2[:, 0] - top2[:, 1])


for variant in ["hummingbird", "clean"]:
    for mode, samples in [("all", None), ("sampled", SAMPLES)]:
        key = f"knn.{variant}.{mode}"
        memory, memory_labels, picks = build_memory(variant, samples)
        idx, attn, soft, up, pred, margin = retrieve(memory, memory_labels, variant)
        out.update({f"{key}.memory": memory, f"{key}.memory_labels": memory_labels, f"{key}.neighbours": idx.numpy(),
                    f"{key}.weights": attn.numpy(), f"{key}.scores": soft.numpy(), f"{key}.upsampled": up.numpy(),
                    f"{key}.prediction": pred.numpy().astype(np.int32), f"{key}.margin": margin.numpy()})
        if picks is not None:
            out[f"{key}.picks"] = picks
        gt, pr = val_labels.ravel(), pred.numpy().ravel()
        if variant == "hummingbird":
            jac, miou, _, _ = hummingbird_scores(gt, pr, C, 255)
        else:
            _, jac, miou, _ = clean_scores(gt, pr, C, 255)
        out[f"{key}.miou"] = np.array([miou])

# --- linear probe -----------------------------------------------------------------------------------------------------
N, PH, PW, PD, PC, LH, LW = 6, 4, 5, 8, 4, 14, 18
LR, WD, STEPS, RATIO, POWER = 0.01, 0.01, 5, 0.1, 0.9
probe_feats = torch.randn(N, PH, PW, PD)
probe_labels = torch.from_numpy(rng.integers(0, PC, size=(N, LH, LW)))
probe_labels[torch.from_numpy(rng.random((N, LH, LW)) < 0.1)] = 255
batches = [[0, 3], [5, 1], [2, 4], [1, 0], [3, 3]]
weight = torch.nn.Parameter(torch.randn(PC, PD) * 0.1)
bias = torch.nn.Parameter(torch.randn(PC) * 0.1)
out.update({"probe.features": probe_feats.numpy(), "probe.labels": probe_labels.numpy().astype(np.uint8),
            "probe.batches": np.array(batches, dtype=np.int64), "probe.weight0": weight.detach().numpy().copy(),
            "probe.bias0": bias.detach().numpy().copy()})
optimizer = torch.optim.Adam([weight, bias], lr=LR, weight_decay=WD)
losses = []
for t, batch in enumerate(batches):
    for group in optimizer.param_groups:
        group["lr"] = (LR - LR * RATIO) * (1 - t / STEPS) ** POWER + LR * RATIO
    x = probe_feats[batch]
    logits = x @ weight.T + bias  # [B, h, w, C]
    up = F.interpolate(logits.permute(0, 3, 1, 2), size=(LH, LW), mode="bilinear", align_corners=False)
    loss = F.cross_entropy(up, probe_labels[batch], ignore_index=255)
    optimizer.zero_grad()
    loss.backward()
    if t == 0:
        out["probe.logits0"] = logits.detach().numpy().copy()
        out["probe.dweight0"] = weight.grad.numpy().copy()
        out["probe.dbias0"] = bias.grad.numpy().copy()
    optimizer.step()
    losses.append(loss.item())
out.update({"probe.losses": np.array(losses, dtype=np.float32), "probe.weight": weight.detach().numpy().copy(),
            "probe.bias": bias.detach().numpy().copy()})

# --- DINO weighted k-NN classification --------------------------------------------------------------------------------
NC, CD, NTRAIN, NTEST, CK, CT = 10, 16, 300, 60, 20, 0.07
means = rng.normal(size=(NC, CD))
train_y = rng.integers(0, NC, size=NTRAIN)
test_y = rng.integers(0, NC, size=NTEST)
train_x = torch.from_numpy((means[train_y] + rng.normal(size=(NTRAIN, CD)) * 1.6).astype(np.float32))
test_x = torch.from_numpy((means[test_y] + rng.normal(size=(NTEST, CD)) * 1.6).astype(np.float32))
tr, te = F.normalize(train_x, dim=1, p=2), F.normalize(test_x, dim=1, p=2)
similarity = te @ tr.T
distances, indices = similarity.topk(CK, largest=True, sorted=True)
assert float(similarity.sort(dim=1, descending=True).values[:, :CK + 1].diff(dim=1).abs().min()) > 1e-6
one_hot = torch.zeros(NTEST * CK, NC).scatter_(1, torch.from_numpy(train_y)[indices].view(-1, 1), 1)
votes = (one_hot.view(NTEST, CK, NC) * distances.div(CT).exp().view(NTEST, CK, 1)).sum(1)
ranking = votes.sort(dim=1, descending=True, stable=True).indices  # DINO: unstable sort; stable = lower id first
correct = ranking.eq(torch.from_numpy(test_y).view(-1, 1))
out.update({"cls.train_features": train_x.numpy(), "cls.train_labels": train_y, "cls.test_features": test_x.numpy(),
            "cls.test_labels": test_y, "cls.votes": votes.numpy(),
            "cls.top1": np.array([correct[:, :1].sum().item() * 100.0 / NTEST]),
            "cls.top5": np.array([correct[:, :5].sum().item() * 100.0 / NTEST])})

save_file({k: np.ascontiguousarray(v) for k, v in sorted(out.items())}, os.path.join(HERE, "eval.safetensors"),
          # One metadata entry: safetensors writes several in hash order, which would change the bytes run to run.
          metadata={"settings": f"torch {torch.__version__}; numpy {np.__version__}; scipy {scipy.__version__}; "
                    f"knn C={C} D={D} grid={G} patch={P} k={K} beta={BETA} seed={SEED} samples={SAMPLES}; "
                    f"probe lr={LR} wd={WD} steps={STEPS} ratio={RATIO} power={POWER}; cls k={CK} T={CT}"})
print("wrote eval.safetensors with", len(out), "tensors")
