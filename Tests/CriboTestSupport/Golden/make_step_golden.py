#!/usr/bin/env python3
"""Golden file of one full CrIBo training step of a tiny model, for CriboTrainingTests (StepGoldenTests).

Regenerate (from the repo root):
    /opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_step_golden.py

Writes cribo_step.safetensors next to this file. Deterministic: CPU, float32, one thread, seeded.

The step is Benchmarks/reference/cribo_torch.py's re-typing of the official train_one_epoch (teacher forward, joint
clustering, centroids, nearest neighbours in the queue then its update, heads, the three losses and both centers,
backward, per-parameter clipping, AdamW with DINO's groups and the scheduled lr/wd, EMA teacher), at epoch 1 so the
neighbour loss is on. Drop path is 0 (its masks are cribo's own random stream, checked by the engine goldens), and the
clusters' seed tokens are inputs instead of a multinomial draw. The teacher differs from the student (a perturbed
copy), the centers are non-zero, and the queue holds perturbed copies of some of this batch's centroids so that
both cycle-consistency masks have hits and misses.

Stored: the inputs (images, positions, seeds, student/teacher weights, queue, centers, schedule settings in the
metadata), the outputs (d/s/nn losses, r_cnt, the valid and cycle masks, every student gradient before clipping,
the student and teacher after the update, both centers, the queue after the update).
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "Benchmarks", "reference"))
import cribo_torch as ref  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from reference_env import sort_safetensors_metadata  # noqa: E402

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)
NAME = "cribo_step.safetensors"

CFG = dict(img=16, patch=4, dim=16, depth=2, heads=2, hid=32, bot=8, out=24, out_c=20, k=3, queue=8,
           norm_last_layer=False, drop_path=0.0, lr=0.4, min_lr=1e-3, warmup_epochs=1, wd=0.04, wd_end=0.4,
           momentum=0.9, clip_grad=0.3, freeze_last_layer=1, pos_alpha=(1.0, 3.0), warmup_teacher_temp_epochs=3)
EPOCHS, NITER, EPOCH, ITERATION = 4, 5, 1, 7
B = 2
GRID = CFG["img"] // CFG["patch"]
N = GRID * GRID


def positions_for(gen):
    """[2, B, 2, N] per-patch centres (x, y) of a random crop box and flip per view (spec 3.3 closed form)."""
    pos = torch.zeros(2, B, 2, N)
    for v in range(2):
        for b in range(B):
            left, top = float(torch.rand(1, generator=gen)) * 20, float(torch.rand(1, generator=gen)) * 20
            w, h = 30 + float(torch.rand(1, generator=gen)) * 30, 30 + float(torch.rand(1, generator=gen)) * 30
            flip = bool(torch.rand(1, generator=gen) < 0.5)
            for r in range(GRID):
                for c in range(GRID):
                    cc = GRID - 1 - c if flip else c
                    pos[v, b, 0, r * GRID + c] = left - 0.5 + (cc + 0.5) * w / GRID
                    pos[v, b, 1, r * GRID + c] = top - 0.5 + (r + 0.5) * h / GRID
    return pos


def discrete_outcome(trainer, images, positions, seeds, dtype, noise=0.0):
    """The valid mask and both cycle masks of the step, computed in `dtype` (robustness of every argmax)."""
    teacher = ref.clone_net(trainer.teacher).to(dtype)
    with torch.no_grad():
        _, _, tokens = teacher(images.to(dtype))
        tokens = tokens + noise * torch.randn(tokens.shape, generator=torch.Generator().manual_seed(9), dtype=dtype)
        (c1, c2), valid, weights, _, _ = ref.teacher_centroids(tokens, positions.to(dtype), trainer.cfg,
                                                               float(trainer.pos_alpha[EPOCH]), seeds)
        queue = ref.Queue(1, 1, 1)
        queue.centroids, queue.cpv = trainer.queue.centroids.to(dtype), trainer.queue.cpv
        _, _, m1, m2 = queue.nearest_neighbours(c1, c2)
    return valid.tolist(), m1.tolist(), m2.tolist(), (weights > 0).tolist()


def build(trial):
    gen = torch.Generator().manual_seed(500 + trial)
    trainer = ref.Trainer(CFG, EPOCHS, NITER, B, seed=trial)
    with torch.no_grad():
        for p in trainer.student.parameters():  # larger weights than init so that tokens and heads are not flat
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
        trainer.teacher.load_state_dict(trainer.student.state_dict())
        for p in trainer.teacher.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=gen))
        trainer.loss.center = 0.1 * torch.randn(1, CFG["out"], generator=gen)
        trainer.loss.center_c = 0.1 * torch.randn(1, CFG["out_c"], generator=gen)
    images = torch.randn(2 * B, 3, CFG["img"], CFG["img"], generator=gen)
    positions = positions_for(gen)
    seeds = torch.stack([torch.randperm(2 * N, generator=gen)[: CFG["k"]] for _ in range(B)])

    # The queue: random rows, uneven centroids per image, and perturbed copies of this batch's teacher centroids.
    with torch.no_grad():
        _, _, tokens = trainer.teacher(images)
        (c1, c2), valid, _, _, _ = ref.teacher_centroids(tokens, positions, trainer.cfg, float(trainer.pos_alpha[EPOCH]), seeds)
    q = trainer.queue
    q.cpv = torch.tensor([3, 2, 3, 1, 3, 2, 3, 3])
    n_valid = int(q.cpv.sum())
    q.centroids = torch.randn(2, CFG["k"] * CFG["queue"], CFG["dim"], generator=gen)
    V = len(c1)
    picks = torch.randperm(V, generator=gen)[: min(V, 3)]
    slots = torch.randperm(n_valid, generator=gen)[: len(picks)]
    q.centroids[0, slots] = c1[picks] * 1.2 + 0.3 * torch.randn(len(picks), CFG["dim"], generator=gen)
    q.centroids[1, slots] = c2[picks] * 0.9 + 0.3 * torch.randn(len(picks), CFG["dim"], generator=gen)
    q.cls = torch.rand(2, CFG["queue"], CFG["dim"], generator=gen)
    return trainer, images, positions, seeds


def main():
    for trial in range(200):
        trainer, images, positions, seeds = build(trial)
        outcome = discrete_outcome(trainer, images, positions, seeds, torch.float32)
        valid, m1, m2, _ = outcome
        if not (2 <= sum(valid) < B * CFG["k"] and 0 < sum(m1) < len(m1) and 0 < sum(m2) < len(m2) and sum(m1) != sum(m2)):
            continue
        if outcome != discrete_outcome(trainer, images, positions, seeds, torch.float64):
            continue
        if outcome != discrete_outcome(trainer, images, positions, seeds, torch.float64, noise=1e-4):
            continue
        break
    else:
        raise SystemExit("no trial met the conditions")

    tensors = {"images": images, "positions": positions, "seeds": seeds.to(torch.int64),
               "queue.centroids": trainer.queue.centroids.clone(), "queue.cpv": trainer.queue.cpv.to(torch.int64),
               "queue.cls": trainer.queue.cls.clone(),
               "center": trainer.loss.center[0].clone(), "center_c": trainer.loss.center_c[0].clone()}
    for name, p in trainer.student.state_dict().items():
        tensors["init.student." + name] = p.clone()
    for name, p in trainer.teacher.state_dict().items():
        tensors["init.teacher." + name] = p.clone()

    stats = trainer.forward_backward(images, positions, EPOCH, seeds)
    for name, p in trainer.student.named_parameters():
        if p.grad is not None:
            tensors["grad." + name] = p.grad.clone()
    trainer.update(EPOCH, ITERATION)
    for name, p in trainer.student.state_dict().items():
        tensors["after.student." + name] = p.clone()
    for name, p in trainer.teacher.state_dict().items():
        tensors["after.teacher." + name] = p.clone()
    tensors.update({
        "losses": torch.tensor([stats["d_loss"], stats["s_loss"], stats["nn_loss"]]),
        "r_cnt": torch.tensor([stats["r_cnt"]]),
        "valid": stats["valid"].to(torch.int64), "mask1": stats["mask1"].to(torch.int64),
        "mask2": stats["mask2"].to(torch.int64),
        "after.center": trainer.loss.center[0].clone(), "after.center_c": trainer.loss.center_c[0].clone(),
        "after.queue.centroids": trainer.queue.centroids.clone(), "after.queue.cpv": trainer.queue.cpv.to(torch.int64),
        "after.queue.cls": trainer.queue.cls.clone(),
    })
    c = trainer.cfg
    metadata = {"trial": trial, "epochs": EPOCHS, "iterations_per_epoch": NITER, "epoch": EPOCH, "iteration": ITERATION,
                "batch": B, "config": json.dumps({k: v for k, v in sorted(c.items())}, sort_keys=True),
                "lr": float(trainer.lr[ITERATION]), "wd": float(trainer.wd[ITERATION]),
                "momentum": float(trainer.momentum[ITERATION]), "teacher_temp": float(trainer.temp[EPOCH]),
                "pos_alpha": float(trainer.pos_alpha[EPOCH])}
    path = os.path.join(HERE, NAME)
    out = {k: v.detach().contiguous().clone() for k, v in sorted(tensors.items())}
    save_file(out, path, metadata={k: str(v) for k, v in sorted(metadata.items())})
    sort_safetensors_metadata(path)
    os.chmod(path, 0o644)
    print(f"{NAME}: trial {trial}, V = {sum(stats['valid'].tolist())}, |mask1| = {int(stats['mask1'].sum())}, "
          f"|mask2| = {int(stats['mask2'].sum())}, losses d/s/nn = {stats['d_loss']:.5f}/{stats['s_loss']:.5f}/"
          f"{stats['nn_loss']:.5f}")


if __name__ == "__main__":
    main()
