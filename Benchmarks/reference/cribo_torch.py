"""The official CrIBo training step (GitHub tileb1/CrIBo, main_cribo.py + source/), re-typed for PyTorch on the CPU
with world size 1. Imports nothing from cribo. Used by:

  - Tests/CriboTestSupport/Golden/make_step_golden.py: one full step of a tiny model (losses, every gradient,
    the weights after AdamW and EMA) for CriboTrainingTests;
  - Benchmarks/reference/cribo_train_torch.py: the training-speed reference and the learning-curve reference run
    on an ingested cribo split.

What follows the official code, piece by piece:
  ViT / Attention / Block       source/models/vision_transformer.py (explicit attention, pre-norm, LN eps 1e-6,
                                DropPath per sample), DINO's init (trunc-normal 0.02, zero biases, LN 1/0).
  DINOHead                      3-layer MLP with GELU, L2 normalisation, weight-normalised bias-free last_layer
                                (forward) and last_layer_c (forward_c); norm_last_layer freezes both g.
  compute_assignments etc.      Clustering in main_cribo.py (`which_features="last"`, one head); the seed tokens
                                are drawn with `multinomial` unless given (goldens pass them in).
  nearest_neighbours / enqueue  get_nn_centroids, split in its search part and its queue update.
  CriboLoss                     CrIBoLoss.forward / update_center (world size 1).
  step                          train_one_epoch: schedules, loss = d + s + nn, backward, per-parameter clipping,
                                cancel_gradients_last_layer, AdamW (DINO's two groups), EMA teacher.
"""
import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# MARK: - networks

def trunc_normal_(t, std):
    # DINO's trunc_normal_(std=.02) clamps at +-2 (absolute), i.e. at +-100 std: effectively a normal.
    with torch.no_grad():
        return t.normal_(0, std).clamp_(-2, 2)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


def drop_path(x, rate, training):
    if rate == 0.0 or not training:
        return x
    keep = 1 - rate
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
    return x.div(keep) * mask


class Block(nn.Module):
    def __init__(self, dim, heads, drop_path_rate):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)
        self.drop_path_rate = drop_path_rate

    def forward(self, x):
        x = x + drop_path(self.attn(self.norm1(x)), self.drop_path_rate, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path_rate, self.training)


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ViT(nn.Module):
    """DINO's VisionTransformer at one input size (no positional interpolation needed): returns final-norm tokens."""

    def __init__(self, img, patch, dim, depth, heads, drop_path_rate=0.0):
        super().__init__()
        n = (img // patch) ** 2
        self.patch_embed = PatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        rates = [r.item() for r in torch.linspace(0, drop_path_rate, depth)]
        self.blocks = nn.ModuleList([Block(dim, heads, rates[i]) for i in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        trunc_normal_(self.pos_embed, 0.02)
        trunc_normal_(self.cls_token, 0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, 0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


class WeightNormLinear(nn.Module):
    """nn.utils.weight_norm(nn.Linear(i, o, bias=False)): W = g * v / ||v|| per output row."""

    def __init__(self, i, o):
        super().__init__()
        v = nn.Linear(i, o, bias=False).weight.detach().clone()  # PyTorch's default Linear init
        self.weight_g = nn.Parameter(torch.ones(o, 1))
        self.weight_v = nn.Parameter(v)

    def forward(self, x):
        return x @ (self.weight_g * self.weight_v / self.weight_v.norm(dim=1, keepdim=True)).T


class DINOHead(nn.Module):
    def __init__(self, in_dim, hidden, bottleneck, out_dim, out_dim_c, norm_last_layer):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, bottleneck))
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, 0.02)
                nn.init.zeros_(m.bias)
        self.last_layer = WeightNormLinear(bottleneck, out_dim)
        self.last_layer_c = WeightNormLinear(bottleneck, out_dim_c)
        if norm_last_layer:
            self.last_layer.weight_g.requires_grad = False
            self.last_layer_c.weight_g.requires_grad = False

    def forward(self, x):
        return self.last_layer(F.normalize(self.mlp(x), dim=-1))

    def forward_c(self, x):
        return self.last_layer_c(F.normalize(self.mlp(x), dim=-1))


class Net(nn.Module):
    """MultiCropWrapperDINO with two global views: backbone + head, state_dict keys backbone.* and head.*."""

    def __init__(self, cfg, drop_path_rate):
        super().__init__()
        self.backbone = ViT(cfg["img"], cfg["patch"], cfg["dim"], cfg["depth"], cfg["heads"], drop_path_rate)
        self.head = DINOHead(cfg["dim"], cfg["hid"], cfg["bot"], cfg["out"], cfg.get("out_c", cfg["out"]),
                             cfg["norm_last_layer"])

    def forward(self, images):
        tokens = self.backbone(images)
        return self.head(tokens[:, 0]), tokens[:, 0], tokens


# MARK: - schedules (DINO utils.cosine_scheduler and CrIBoLoss's temperature schedule)

def cosine_scheduler(base, final, epochs, niter, warmup_epochs=0, start_warmup=0.0):
    warmup = np.linspace(start_warmup, base, warmup_epochs * niter) if warmup_epochs > 0 else np.array([])
    iters = np.arange(epochs * niter - warmup_epochs * niter)
    schedule = final + 0.5 * (base - final) * (1 + np.cos(np.pi * iters / len(iters)))
    return np.concatenate((warmup, schedule))


def temperature_schedule(warmup, final, warmup_epochs, epochs):
    return np.concatenate((np.linspace(warmup, final, warmup_epochs), np.ones(epochs - warmup_epochs) * final))


# MARK: - clustering (Clustering in main_cribo.py)

def sinkhorn(M, r, c, lam, iterations):
    P = torch.exp(-lam * M)
    P = P / P.sum(dim=(1, 2), keepdim=True)
    for _ in range(iterations):
        P = P * (r / P.sum(dim=2, keepdim=True))
        P = P * (c / P.sum(dim=1, keepdim=True))
    return torch.nan_to_num(P, nan=1e-8)


def compute_assignments(tokens, positions, k, alpha, lam, sinkhorn_iters, n_iter, seeds=None, generator=None, plans=None):
    """tokens [B, 2N, D], positions [B, 2N, 2]; seeds [B, K] token indices or None (multinomial draw); `plans`, a list
    that receives every pass's transport plan when given. Returns the view-wise column-normalised hard assignment
    [B, 2N, K] (its non-zero pattern is the hard assignment)."""
    z = F.normalize(tokens, dim=-1)
    b, n, _ = z.shape
    r = torch.ones(b, n, 1, dtype=z.dtype) / n
    c = torch.ones(b, 1, k, dtype=z.dtype) / k
    if seeds is None:
        seeds = (torch.ones(b, n) / n).multinomial(num_samples=k, replacement=False, generator=generator)
    index = torch.eye(n, dtype=z.dtype)[seeds.reshape(-1)].reshape(b, k, n)
    centroids = torch.einsum("bnd,bkn->bkd", z, index)
    assignment = index.permute(0, 2, 1)
    distance = torch.sqrt(torch.sum((positions[:, None, :, :] - positions[:, :, None, :]) ** 2, dim=-1))
    for _ in range(n_iter):
        semantic = torch.einsum("bnd,bkd->bnk", z, centroids)
        cost = torch.einsum("bts,bsk->btsk", distance, assignment)
        nonzero = (cost != 0.0).to(z.dtype).sum(dim=2, keepdim=True)
        cost[torch.logical_and(cost == 0.0, nonzero != 0.0)] = 1e5
        cost = cost.amin(dim=2)
        average = cost.mean(dim=(1, 2), keepdim=True).expand(b, n, k)
        cost[cost == 0.0] = average[cost == 0.0]
        cost = cost / cost.amax(dim=(1, 2))[:, None, None]
        M = -semantic + alpha * cost
        M = (M - M.min()) / (M.max() - M.min())
        plan = sinkhorn(M, r, c, lam, sinkhorn_iters)
        if plans is not None:
            plans.append(plan)
        assignment = (plan == plan.amax(dim=-1, keepdim=True)).to(z.dtype)
        c = assignment.sum(dim=1, keepdim=True) + 1e-2
        c = c / c.sum(dim=-1, keepdim=True)
        centroids = F.normalize(torch.einsum("bnd,bnk->bkd", z, assignment), dim=-1)
    a1, a2 = assignment[:, : n // 2], assignment[:, n // 2:]
    s1, s2 = a1.sum(dim=1, keepdim=True), a2.sum(dim=1, keepdim=True)
    s1[s1 == 0.0] = 1.0
    s2[s2 == 0.0] = 1.0
    return torch.cat([a1 / s1, a2 / s2], dim=1)


def teacher_centroids(tokens, positions, cfg, alpha, seeds=None, generator=None):
    """tokens [2B, 1+N, D] (view 1 images, then view 2), positions [2, B, 2, N].
    Returns (c1, c2), valid [(B K)], weights [B, 2N, K], region count, cpv [B]."""
    two_b, t, d = tokens.shape
    b, n = two_b // 2, t - 1
    z = tokens[:, 1:].reshape(2, b, n, d).permute(1, 0, 2, 3).reshape(b, 2 * n, d)
    pos = positions.permute(1, 0, 3, 2).reshape(b, 2 * n, 2)
    weights = compute_assignments(z, pos, cfg["k"], alpha, cfg["sinkhorn_lambda"], cfg["sinkhorn_iters"],
                                  cfg["n_iter"], seeds, generator)
    hard = (weights == weights.amax(dim=-1, keepdim=True)).float()
    valid = torch.logical_and(hard[:, :n].sum(dim=1) > 0, hard[:, n:].sum(dim=1) > 0).reshape(-1)
    c1, c2 = pooled_centroids(weights, tokens, valid)
    cpv = valid.reshape(b, cfg["k"]).sum(dim=1)
    return (c1, c2), valid, weights, cpv.float().mean().item(), cpv


def pooled_centroids(weights, tokens, valid):
    two_b, t, d = tokens.shape
    b, n = two_b // 2, t - 1
    k = weights.shape[-1]
    patches = tokens[:, 1:].reshape(2, b, n, d)
    w = weights.reshape(b, 2, n, k).permute(1, 0, 2, 3)
    centroids = torch.einsum("mbnd,mbnk->mbkd", patches, w).reshape(2, b * k, d)
    return centroids[0][valid], centroids[1][valid]


# MARK: - memory bank (get_nn_centroids)

class Queue:
    def __init__(self, size, k, dim, generator=None):
        self.cls = torch.rand(2, size, dim, generator=generator)
        self.cpv = k * torch.ones(size, dtype=torch.long)
        self.centroids = torch.rand(2, k * size, dim, generator=generator)

    def nearest_neighbours(self, c1, c2):
        n_valid = int(self.cpv.sum())
        q1, q2 = F.normalize(c1, dim=-1), F.normalize(c2, dim=-1)
        qn = F.normalize(self.centroids[:, :n_valid], dim=-1)
        j1 = (q1 @ qn[0].T).topk(1, dim=-1).indices[:, 0]
        j2 = (q2 @ qn[1].T).topk(1, dim=-1).indices[:, 0]
        back1 = (qn[1][j1] @ q2.T).topk(1, dim=-1).indices[:, 0]
        back2 = (qn[0][j2] @ q1.T).topk(1, dim=-1).indices[:, 0]
        ids = torch.arange(len(back1))
        return self.centroids[:, j1], self.centroids[:, j2], back1 == ids, back2 == ids

    def enqueue(self, cpv, cls1, cls2, pool1, pool2):
        size = self.cls.shape[1]
        if len(cls1) >= size:
            cls1, cls2, cpv = cls1[:size], cls2[:size], cpv[:size]
            last = int(cpv.sum())
            pool1, pool2 = pool1[:last].clone(), pool2[:last].clone()
        g = len(cls1)
        n_new, n_old = int(cpv.sum()), int(self.cpv[: size - g].sum())
        self.cls[0] = torch.cat([cls1, self.cls[0, : size - g]])
        self.cls[1] = torch.cat([cls2, self.cls[1, : size - g]])
        self.centroids[0, : n_new + n_old] = torch.cat((pool1, self.centroids[0, :n_old]))
        self.centroids[1, : n_new + n_old] = torch.cat((pool2, self.centroids[1, :n_old]))
        self.cpv = torch.cat([cpv, self.cpv[: size - g]])


# MARK: - loss (CrIBoLoss)

class CriboLoss:
    def __init__(self, out_dim, out_dim_c, student_temp_c=0.1, momentum=0.9):
        self.center = torch.zeros(1, out_dim)
        self.center_c = torch.zeros(1, out_dim_c)
        self.student_temp_c = student_temp_c
        self.momentum = momentum

    def __call__(self, s_out, t_out, epoch, temp, temp_c, sc, tc, mask1, tnn, mask2, tnn2):
        student = (s_out / 0.1).chunk(2)
        teacher = F.softmax((t_out - self.center) / temp, dim=-1).detach().chunk(2)
        loss_d = 0
        for iq, q in enumerate(teacher):
            loss_d = loss_d + torch.sum(-q * F.log_softmax(student[1 - iq], dim=-1), dim=-1).mean()
        loss_d = loss_d / 2
        s1, s2 = (sc / self.student_temp_c).chunk(2)
        t1, t2 = F.softmax((tc - self.center_c) / temp_c, dim=-1).chunk(2)
        nn1_v1 = F.softmax((tnn - self.center_c) / temp_c, dim=-1)[0]
        nn2_v2 = F.softmax((tnn2 - self.center_c) / temp_c, dim=-1)[1]
        loss_nn = torch.tensor(0.0)
        if epoch >= 1:
            m1 = mask1.sum()
            if m1 > 0:
                # The official normaliser: both directions divide by |mask1|.
                loss_nn = loss_nn + torch.sum(-nn1_v1 * F.log_softmax(s2, dim=-1), dim=-1)[mask1].sum() / m1
                loss_nn = loss_nn + torch.sum(-nn2_v2 * F.log_softmax(s1, dim=-1), dim=-1)[mask2].sum() / m1
                loss_nn = loss_nn / 2
        loss_c = (torch.sum(-t1 * F.log_softmax(s2, dim=-1), dim=-1).mean()
                  + torch.sum(-t2 * F.log_softmax(s1, dim=-1), dim=-1).mean()) / 2
        with torch.no_grad():
            self.center = self.center * self.momentum + t_out.sum(dim=0, keepdim=True) / len(t_out) * (1 - self.momentum)
            self.center_c = self.center_c * self.momentum + tc.sum(dim=0, keepdim=True) / len(tc) * (1 - self.momentum)
        return loss_d, loss_c, loss_nn


# MARK: - the training state and one step (train_one_epoch)

DEFAULTS = dict(k=8, n_iter=5, sinkhorn_lambda=20.0, sinkhorn_iters=5, queue=256, norm_last_layer=False,
                drop_path=0.1, lr=5e-4, min_lr=1e-5, warmup_epochs=1, wd=0.04, wd_end=0.4, momentum=0.996,
                teacher_temp=0.07, warmup_teacher_temp=0.04, warmup_teacher_temp_epochs=3, student_temp_c=0.1,
                clip_grad=0.0, freeze_last_layer=1, pos_alpha=(1.0, 1.0))


class Trainer:
    """Student, teacher, optimiser, queue, loss and schedules of a run of `epochs` x `niter` steps (world size 1,
    global batch `batch`)."""

    def __init__(self, cfg, epochs, niter, batch, seed=0, student=None):
        self.cfg = {**DEFAULTS, **cfg}
        c = self.cfg
        torch.manual_seed(seed)
        self.student = student if student is not None else Net(c, c["drop_path"])
        self.teacher = Net(c, 0.0)
        self.teacher.load_state_dict(self.student.state_dict())
        for p in self.teacher.parameters():
            p.requires_grad = False
        self.teacher.eval()
        regularized, plain = [], []
        for name, p in self.student.named_parameters():
            if p.requires_grad:
                (plain if name.endswith(".bias") or p.ndim == 1 else regularized).append(p)
        self.optimizer = torch.optim.AdamW([{"params": regularized}, {"params": plain, "weight_decay": 0.0}])
        self.queue = Queue(c["queue"], c["k"], c["dim"])
        self.loss = CriboLoss(c["out"], c.get("out_c", c["out"]), c["student_temp_c"])
        self.lr = cosine_scheduler(c["lr"] * batch / 256.0, c["min_lr"], epochs, niter, c["warmup_epochs"])
        self.wd = cosine_scheduler(c["wd"], c["wd_end"], epochs, niter)
        self.momentum = cosine_scheduler(c["momentum"], 1, epochs, niter)
        self.temp = temperature_schedule(c["warmup_teacher_temp"], c["teacher_temp"], c["warmup_teacher_temp_epochs"], epochs)
        self.pos_alpha = np.linspace(c["pos_alpha"][1], c["pos_alpha"][0], epochs)

    def forward_backward(self, images, positions, epoch, seeds=None, generator=None):
        """images [2B, 3, S, S], positions [2, B, 2, N]. Returns the losses and statistics; gradients in .grad."""
        c = self.cfg
        temp = float(self.temp[epoch])
        self.student.train()
        with torch.no_grad():
            t_out, t_cls, t_tokens = self.teacher(images)
            (tc1, tc2), valid, weights, region_count, cpv = teacher_centroids(
                t_tokens, positions, c, float(self.pos_alpha[epoch]), seeds, generator)
        s_out, _, s_tokens = self.student(images)
        sc1, sc2 = pooled_centroids(weights, s_tokens, valid)
        with torch.no_grad():
            nn1, nn2, mask1, mask2 = self.queue.nearest_neighbours(tc1, tc2)
            b = len(cpv)
            cls = F.normalize(t_cls, dim=-1)
            self.queue.enqueue(cpv, cls[:b], cls[b:], tc1, tc2)
            t_c = self.teacher.head.forward_c(torch.cat([tc1, tc2]))
            t_nn1 = self.teacher.head.forward_c(nn1)
            t_nn2 = self.teacher.head.forward_c(nn2)
        s_c = self.student.head.forward_c(torch.cat([sc1, sc2]))
        d, s, n = self.loss(s_out, t_out, epoch, temp, temp, s_c, t_c, mask1, t_nn1, mask2, t_nn2)
        loss = d + s + n
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return dict(d_loss=d.item(), s_loss=s.item(), nn_loss=n.item(), loss=loss.item(), r_cnt=region_count,
                    bootstrap_ratio=float(mask1.sum()) / max(len(mask1), 1), valid=valid, mask1=mask1, mask2=mask2)

    def update(self, epoch, iteration):
        """Clipping, last-layer freezing, AdamW with the scheduled lr/wd, EMA teacher (train_one_epoch's order)."""
        c = self.cfg
        for i, group in enumerate(self.optimizer.param_groups):
            group["lr"] = float(self.lr[iteration])
            if i == 0:
                group["weight_decay"] = float(self.wd[iteration])
        if c["clip_grad"]:
            for p in self.student.parameters():
                if p.grad is not None:
                    norm = p.grad.data.norm(2)
                    coef = c["clip_grad"] / (norm + 1e-6)
                    if coef < 1:
                        p.grad.data.mul_(coef)
        if epoch < c["freeze_last_layer"]:
            for name, p in self.student.named_parameters():
                if "last_layer" in name:
                    p.grad = None
        self.optimizer.step()
        with torch.no_grad():
            m = float(self.momentum[iteration])
            for ps, pt in zip(self.student.parameters(), self.teacher.parameters()):
                pt.data.mul_(m).add_((1 - m) * ps.detach().data)

    def step(self, images, positions, epoch, iteration, seeds=None, generator=None):
        stats = self.forward_backward(images, positions, epoch, seeds, generator)
        if not math.isfinite(stats["loss"]):
            raise FloatingPointError(f"loss is {stats['loss']} at epoch {epoch} iteration {iteration}")
        self.update(epoch, iteration)
        stats.update(lr=float(self.lr[iteration]), wd=float(self.wd[iteration]))
        return stats


def clone_net(net):
    return copy.deepcopy(net)
