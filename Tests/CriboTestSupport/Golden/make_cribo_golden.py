#!/usr/bin/env python3
"""Golden file of the CrIBo method core (clustering, centroids, memory bank, loss) for CriboTrainingTests.

Regenerate (from the repo root):
    /opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_cribo_golden.py

Writes cribo_method.safetensors next to this file. Deterministic: CPU, float32, one thread, seeded, no timestamps.

The functions below follow the algorithm of the official CrIBo code (GitHub tileb1/CrIBo, main_cribo.py:
Clustering.compute_assignments / sinkhorn / compute_teacher_centroids / compute_student_centroids,
get_nn_centroids, CrIBoLoss.forward / update_center), re-typed for one rank (world size 1), with two changes that
make the reference testable: the K seed tokens of each image are an input instead of a `multinomial` draw, and the
DINO heads are replaced by fixed linear maps (Ht for the teacher, Hs for the student) so that the gradient chain
loss -> head outputs -> pooled centroids -> student tokens stays inside this file.

Sizes: B=3 images, N=16 patches per view (a 4x4 grid), D=8, K=5 clusters, a queue of 6 images, out_dim 12.
The trial seed is the first one whose inputs give an image with an empty cluster, a cluster present in one view
only (so V < B*K), passing cycles in both directions with |mask1| > |mask2| > 0, and clear margins in every argmax (so float32
summation-order differences cannot flip an assignment or a neighbour).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from reference_env import sort_safetensors_metadata

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "Benchmarks", "reference"))
import cribo_torch as ref  # noqa: E402

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
NAME = "cribo_method.safetensors"
torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

B, N, D, K, QUEUE, OUT = 3, 16, 8, 5, 6, 12
GRID = 4
IMAGE_W, IMAGE_H = 40, 32
N_ITER, LAMBDA, SINKHORN_ITERS, ALPHA = 5, 20.0, 5, 1.5
STUDENT_TEMP_C = 0.1  # the [CLS] path's 0.1 is fixed in the reference
TEACHER_TEMPS = {0: (0.04, 0.045), 1: (0.055, 0.06)}  # epoch -> (teacher_temp, teacher_temp_c)
MOMENTUM = 0.9
MARGIN = 1e-3  # relative gap required between the best and second-best value of every argmax


# MARK: - inputs

def crop_positions(gen):
    """Per-patch (x, y) in original-image pixels from a random crop box and flip (closed form of spec 3.3).
    Returns [2 views, B, 2, N]."""
    pos = torch.zeros(2, B, 2, N)
    for v in range(2):
        for b in range(B):
            h = int(torch.randint(12, IMAGE_H + 1, (1,), generator=gen))
            w = int(torch.randint(12, IMAGE_W + 1, (1,), generator=gen))
            i = int(torch.randint(0, IMAGE_H - h + 1, (1,), generator=gen))
            j = int(torch.randint(0, IMAGE_W - w + 1, (1,), generator=gen))
            flip = bool(torch.rand(1, generator=gen) < 0.5)
            for r in range(GRID):
                for c in range(GRID):
                    cc = GRID - 1 - c if flip else c
                    pos[v, b, 0, r * GRID + c] = j - 0.5 + (cc + 0.5) * w / GRID
                    pos[v, b, 1, r * GRID + c] = i - 0.5 + (r + 0.5) * h / GRID
    return pos


def make_tokens(gen):
    """Teacher tokens [2B, 1+N, D] (view 1 batch, then view 2 batch): a few prototypes plus noise, laid out in
    spatial blobs; image 1's view 2 misses one prototype so that a cluster can live in view 1 only."""
    protos = torch.randn(B, 4, D, generator=gen) * 2.0
    tokens = torch.randn(2 * B, 1 + N, D, generator=gen) * 0.6
    for v in range(2):
        for b in range(B):
            labels = torch.randint(0, 4, (N,), generator=gen)
            if b == 1 and v == 1:
                labels = torch.where(labels == 3, torch.zeros_like(labels), labels)
            tokens[v * B + b, 1:] += protos[b, labels]
    return tokens


# MARK: - the official algorithm, re-typed

def relative_gap(values):
    """(best - second) / |best| along the last axis, ignoring exact ties (they are decided the same everywhere)."""
    top = values.topk(2, dim=-1).values
    gap = (top[..., 0] - top[..., 1]) / top[..., 0].abs().clamp_min(1e-30)
    return gap[gap > 0].min().item() if (gap > 0).any() else 1.0


def compute_assignments(tokens, positions, seeds, k, alpha, lam, sinkhorn_iters, n_iter):
    """tokens [B, 2N, D], positions [B, 2N, 2], seeds [B, K] (cribo_torch's Clustering.compute_assignments).
    Returns the final hard assignment A [B, 2N, K], the view-wise column-normalised weights W [B, 2N, K], and the
    smallest relative argmax gap seen in any pass's plan."""
    plans = []
    weights = ref.compute_assignments(tokens, positions, k, alpha, lam, sinkhorn_iters, n_iter, seeds=seeds, plans=plans)
    gap = min([1.0] + [relative_gap(plan) for plan in plans])
    return (weights > 0).float(), weights, gap


def teacher_centroids(weights, tokens):
    """weights [B, 2N, K], tokens [2B, 1+N, D]. Validity from the hard assignment of the weights (as the code)."""
    hard = (weights == weights.amax(dim=-1, keepdim=True)).float()
    valid = torch.logical_and(hard[:, :N].sum(dim=1) > 0, hard[:, N:].sum(dim=1) > 0).reshape(-1)  # [(b k)]
    c1, c2 = pooled_centroids(weights, tokens, valid)
    cpv = valid.reshape(B, K).sum(dim=1)
    return c1, c2, valid, cpv


def pooled_centroids(weights, tokens, valid):
    patches = tokens[:, 1:].reshape(2, B, N, D)
    w = weights.reshape(B, 2, N, K).permute(1, 0, 2, 3)  # [m, b, n, k]
    centroids = torch.einsum("mbnd,mbnk->mbkd", patches, w).reshape(2, B * K, D)
    return centroids[0][valid], centroids[1][valid]


def nearest_neighbours(tc1, tc2, queue, cpv_queue):
    n_valid = int(cpv_queue.sum())
    q1, q2 = F.normalize(tc1, dim=-1), F.normalize(tc2, dim=-1)
    qn = F.normalize(queue[:, :n_valid], dim=-1)
    s1 = q1 @ qn[0].T
    s2 = q2 @ qn[1].T
    j1 = s1.topk(1, dim=-1).indices[:, 0]
    j2 = s2.topk(1, dim=-1).indices[:, 0]
    s3 = qn[1][j1] @ q2.T
    s4 = qn[0][j2] @ q1.T
    back1 = s3.topk(1, dim=-1).indices[:, 0]
    back2 = s4.topk(1, dim=-1).indices[:, 0]
    ids = torch.arange(len(back1))
    gap = min(relative_gap(s1), relative_gap(s2), relative_gap(s3), relative_gap(s4))
    return j1, j2, back1 == ids, back2 == ids, queue[:, j1], queue[:, j2], gap


def enqueue(queue, cpv_queue, cls_queue, cpv_new, cls1, cls2, pool1, pool2):
    """The FIFO update (cribo_torch's Queue.enqueue) on copies, from already-gathered data (rank order, then image,
    then cluster). Returns the queue, cpv_queue and cls_queue after it."""
    q = ref.Queue.__new__(ref.Queue)
    q.centroids, q.cpv, q.cls = queue.clone(), cpv_queue.clone(), cls_queue.clone()
    q.enqueue(cpv_new, cls1, cls2, pool1, pool2)
    return q.centroids, q.cpv, q.cls


def cribo_loss(s_out, t_out, epoch, sc, tc, mask1, tnn, mask2, tnn2, center, center_c):
    """cribo_torch's CriboLoss at this golden's temperatures, from the given centers; returns the three losses and
    both updated centers."""
    temp, temp_c = TEACHER_TEMPS[epoch]
    loss = ref.CriboLoss(center.shape[-1], center_c.shape[-1], STUDENT_TEMP_C, MOMENTUM)
    loss.center, loss.center_c = center, center_c
    loss_d, loss_c, loss_nn = loss(s_out, t_out, epoch, temp, temp_c, sc, tc, mask1, tnn, mask2, tnn2)
    return loss_d, loss_c, loss_nn, loss.center, loss.center_c


# MARK: - the golden

def build(trial):
    gen = torch.Generator().manual_seed(1000 + trial)
    tokens_t = make_tokens(gen)
    tokens_s = tokens_t + 0.3 * torch.randn(tokens_t.shape, generator=gen)
    positions = crop_positions(gen)
    seeds = torch.stack([torch.randperm(2 * N, generator=gen)[:K] for _ in range(B)])
    z = tokens_t[:, 1:].reshape(2, B, N, D).permute(1, 0, 2, 3).reshape(B, 2 * N, D)
    pos = positions.permute(1, 0, 3, 2).reshape(B, 2 * N, 2)
    assignment, weights, cluster_gap = compute_assignments(z, pos, seeds, K, ALPHA, LAMBDA, SINKHORN_ITERS, N_ITER)
    tc1, tc2, valid, cpv = teacher_centroids(weights, tokens_t)
    counts = assignment.reshape(B, 2, N, K).sum(dim=2)  # [b, view, k]
    has_empty = bool(((counts[:, 0] == 0) & (counts[:, 1] == 0)).any())
    has_one_view = bool((((counts[:, 0] > 0) ^ (counts[:, 1] > 0))).any())
    V = int(valid.sum())

    # The queue: 6 images; rows 0..n-1 valid, stale rows behind them copy a query (must never be matched).
    cpv_queue = torch.tensor([5, 3, 4, 5, 2, 5])
    n_valid = int(cpv_queue.sum())
    queue = torch.rand(2, K * QUEUE, D, generator=gen) * 2 - 1
    picks = torch.randperm(V, generator=gen)[: min(V, 8)]
    slots = torch.randperm(n_valid, generator=gen)[: len(picks)]
    queue[0, slots] = tc1[picks] * 1.3 + 0.2 * torch.randn(len(picks), D, generator=gen)
    queue[1, slots] = tc2[picks] * 0.8 + 0.2 * torch.randn(len(picks), D, generator=gen)
    queue[0, n_valid:] = tc1[0] * 5
    queue[1, n_valid:] = tc2[0] * 5
    cls_queue = torch.rand(2, QUEUE, D, generator=gen)
    j1, j2, mask1, mask2, nn, nn2, nn_gap = nearest_neighbours(tc1, tc2, queue, cpv_queue)
    # mask1 and mask2 differ in size so that the reference's "both terms divide by |mask1|" is visible.
    ok = (has_empty and has_one_view and V < B * K and int(mask2.sum()) > 0 and bool((~mask1).any())
          and int(mask1.sum()) > int(mask2.sum()) and cluster_gap > MARGIN and nn_gap > MARGIN)
    return ok, locals()


def main():
    trial = 0
    while True:
        ok, s = build(trial)
        if ok:
            break
        trial += 1
        assert trial < 5000, "no trial satisfies the golden's conditions"
    gen = torch.Generator().manual_seed(77)
    tokens_t, tokens_s, weights, valid, V = s["tokens_t"], s["tokens_s"], s["weights"], s["valid"], s["V"]
    tc1, tc2 = s["tc1"], s["tc2"]
    t_cls = torch.randn(2 * B, D, generator=gen)
    cls_new = F.normalize(t_cls, dim=-1)
    queue_after, cpv_after, cls_after = enqueue(s["queue"], s["cpv_queue"], s["cls_queue"], s["cpv"],
                                                cls_new[:B], cls_new[B:], tc1, tc2)

    head_t = torch.randn(D, OUT, generator=gen) * 0.5
    head_s = torch.randn(D, OUT, generator=gen) * 0.5
    t_out = torch.randn(2 * B, OUT, generator=gen)
    s_out0 = torch.randn(2 * B, OUT, generator=gen)
    center = torch.randn(1, OUT, generator=gen) * 0.1
    center_c = torch.randn(1, OUT, generator=gen) * 0.1
    tc = torch.cat([tc1, tc2]) @ head_t
    tnn = s["nn"] @ head_t
    tnn2 = s["nn2"] @ head_t

    out = {
        "tokens_t": tokens_t, "tokens_s": tokens_s, "positions": s["positions"], "seeds": s["seeds"],
        "assignment": s["assignment"], "weights": weights, "valid": valid.to(torch.int64), "cpv": s["cpv"],
        "tc1": tc1, "tc2": tc2,
        "queue": s["queue"], "cpv_queue": s["cpv_queue"], "cls_queue": s["cls_queue"], "t_cls": t_cls,
        "nn_index1": s["j1"], "nn_index2": s["j2"], "mask1": s["mask1"].to(torch.int64),
        "mask2": s["mask2"].to(torch.int64),
        "queue_after": queue_after, "cpv_queue_after": cpv_after, "cls_queue_after": cls_after,
        "head_t": head_t, "head_s": head_s, "t_out": t_out, "s_out": s_out0, "center": center,
        "center_c": center_c, "tc_out": tc, "tnn_out": tnn, "tnn2_out": tnn2,
    }
    for epoch in (0, 1):
        s_out = s_out0.clone().requires_grad_(True)
        student_tokens = tokens_s.clone().requires_grad_(True)
        sc1, sc2 = pooled_centroids(weights, student_tokens, valid)
        sc = torch.cat([sc1, sc2]) @ head_s
        sc.retain_grad()
        d, c, nnl, new_center, new_center_c = cribo_loss(s_out, t_out, epoch, sc, tc, s["mask1"], tnn,
                                                         s["mask2"], tnn2, center, center_c)
        (d + c + nnl).backward()
        p = f"e{epoch}."
        out.update({
            p + "sc1": sc1.detach(), p + "sc2": sc2.detach(), p + "sc_out": sc.detach(),
            p + "d_loss": d.reshape(1), p + "s_loss": c.reshape(1), p + "nn_loss": nnl.reshape(1),
            p + "center_after": new_center, p + "center_c_after": new_center_c,
            p + "grad.s_out": s_out.grad, p + "grad.sc_out": sc.grad, p + "grad.tokens_s": student_tokens.grad,
        })
    assert float(out["e1.nn_loss"].detach()) > 0 and float(out["e0.nn_loss"].detach()) == 0

    # Truncation: 8 gathered images (e.g. 2 ranks x 4) into the 6-image queue.
    cpv_many = torch.tensor([2, 0, 5, 1, 3, 4, 2, 5])
    pool_many1 = torch.randn(int(cpv_many.sum()), D, generator=gen)
    pool_many2 = torch.randn(int(cpv_many.sum()), D, generator=gen)
    cls_many = torch.randn(2, 8, D, generator=gen)
    tq, tcpv, tcls = enqueue(s["queue"], s["cpv_queue"], s["cls_queue"], cpv_many, cls_many[0], cls_many[1],
                             pool_many1, pool_many2)
    out.update({"trunc.cpv_new": cpv_many, "trunc.pool1": pool_many1, "trunc.pool2": pool_many2,
                "trunc.cls_new": cls_many, "trunc.queue_after": tq, "trunc.cpv_queue_after": tcpv,
                "trunc.cls_queue_after": tcls})

    metadata = {"trial": str(trial), "B": str(B), "N": str(N), "D": str(D), "K": str(K), "queue_size": str(QUEUE),
                "out_dim": str(OUT), "n_iter": str(N_ITER), "sinkhorn_lambda": str(LAMBDA),
                "sinkhorn_iterations": str(SINKHORN_ITERS), "pos_alpha": str(ALPHA),
                "teacher_temps": json.dumps({str(k): v for k, v in TEACHER_TEMPS.items()}),
                "student_temp_c": str(STUDENT_TEMP_C), "torch": torch.__version__.split("+")[0]}
    tensors = {k: (v.detach().to(torch.int64) if v.dtype in (torch.int64, torch.int32, torch.bool)
                   else v.detach().to(torch.float32)).contiguous() for k, v in out.items()}
    path = os.path.join(OUT_DIR, NAME)
    save_file(dict(sorted(tensors.items())), path, metadata=dict(sorted(metadata.items())))
    sort_safetensors_metadata(path)
    os.chmod(path, 0o644)
    print(f"{NAME}: trial {trial}, V={V}, mask1 {int(s['mask1'].sum())}, mask2 {int(s['mask2'].sum())}, "
          f"gaps {s['cluster_gap']:.2e} / {s['nn_gap']:.2e}, losses e0 {float(out['e0.d_loss'].detach()):.4f} "
          f"{float(out['e0.s_loss'].detach()):.4f} e1 nn {float(out['e1.nn_loss'].detach()):.4f}")


if __name__ == "__main__":
    main()
