#!/usr/bin/env python3
"""Golden-file generator for cribo's Swift tests.

Regenerate everything (from the repo root):
    /opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_golden.py

Writes *.safetensors, timm_vit_small_keys.json and MANIFEST.json next to this
file. Deterministic: CPU, float32, one thread, every golden reseeded with SEED,
no timestamps. Conventions inside each file: inputs/parameters under their own
(PyTorch state_dict) names, forward result under `out`, random upstream gradient
under `dout` (standard normal), every gradient as `grad.<name>`.
"""
import json
import math
import os
import re
import warnings
from functools import partial

import torch

from reference_env import sort_safetensors_metadata, tolerate_cuda_torchvision  # noqa: E402

tolerate_cuda_torchvision()  # before timm/torchvision

import numpy as np  # noqa: E402
import safetensors  # noqa: E402
import timm  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from timm.models.vision_transformer import Attention, Block, VisionTransformer  # noqa: E402

warnings.filterwarnings("ignore", category=FutureWarning)  # weight_norm deprecation

SEED = 1234
OUT_DIR = os.path.dirname(os.path.abspath(__file__))
MANIFEST = {}
torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)


def reseed():
    """Each golden starts from the same seed, so editing one leaves the others unchanged."""
    torch.manual_seed(SEED)
    np.random.seed(SEED)


def save(name, tensors, metadata=None, dtype=torch.float32):
    """Save contiguous tensors (detached) and record keys/shapes in the manifest."""
    out = {k: v.detach().to(dtype).contiguous().clone() for k, v in tensors.items()}
    meta = {k: str(v) for k, v in sorted((metadata or {}).items())}
    path = os.path.join(OUT_DIR, name)
    save_file(dict(sorted(out.items())), path, metadata=meta or None)
    sort_safetensors_metadata(path)
    os.chmod(path, 0o644)  # safetensors writes 0600
    MANIFEST[name] = {
        "metadata": meta,
        "keys": [[k, list(v.shape), str(v.dtype).replace("torch.", "")]
                 for k, v in sorted(out.items())],  # [name, shape, dtype]
    }


def grads(loss, named):
    """Gradients of a scalar w.r.t. a name->tensor dict, as {'grad.<name>': g}."""
    gs = torch.autograd.grad(loss, list(named.values()))
    return {f"grad.{k}": g for k, g in zip(named, gs)}


def randomize(module, lin_std, ln_std):
    """Random (non-default) params: LayerNorm w ~ 1+ln_std*N, b ~ ln_std*N; others ~ lin_std*N."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(1 + ln_std * torch.randn_like(m.weight))
                m.bias.copy_(ln_std * torch.randn_like(m.bias))
            elif isinstance(m, (nn.Linear, nn.Conv2d)):
                m.weight.normal_(0, lin_std)
                if m.bias is not None:
                    m.bias.normal_(0, lin_std)


def no_fused_attn(module):
    """Force timm's explicit softmax(q k^T * scale) v path (we also compare with SDPA)."""
    for m in module.modules():
        if isinstance(m, Attention):
            m.fused_attn = False


def module_golden(name, module, x, extra_meta=None):
    """Forward x through module; store x, params, out, dout and all gradients."""
    x = x.clone().requires_grad_(True)
    params = dict(module.named_parameters())
    out = module(x)
    dout = torch.randn_like(out)
    g = grads((out * dout).sum(), {"x": x, **params})
    save(name, {"x": x, **params, "out": out, "dout": dout, **g}, extra_meta)
    return module, x


# 1. Linear: y = x W^T + b, with backward.
def make_linear():
    reseed()
    lin = nn.Linear(7, 4)
    randomize(lin, 0.5, 0.0)
    module_golden("linear.safetensors", lin, torch.randn(3, 5, 7))


# 2. LayerNorm (eps 1e-6) over last dim; rows have different means/scales.
def make_layernorm():
    reseed()
    ln = nn.LayerNorm(8, eps=1e-6)
    randomize(ln, 0.0, 0.3)
    mean = torch.empty(3, 5, 1).uniform_(-3, 3)
    scale = torch.exp(torch.empty(3, 5, 1).uniform_(-2, 2))
    module_golden("layernorm.safetensors", ln, torch.randn(3, 5, 8) * scale + mean, {"eps": 1e-6})


# 3. Exact (erf) GELU.
def make_gelu():
    reseed()
    x = torch.linspace(-6, 6, 64) + 0.01 * torch.randn(64)
    module_golden("gelu.safetensors", nn.GELU(approximate="none"), x)


# 4. timm multi-head self-attention (qkv + proj), math path.
def make_attention():
    reseed()
    attn = Attention(dim=16, num_heads=4, qkv_bias=True)
    randomize(attn, 0.2, 0.0)
    no_fused_attn(attn)
    _, x = module_golden("attention.safetensors", attn, torch.randn(2, 5, 16))
    with torch.no_grad():
        ref = attn(x)
        attn.fused_attn = True  # compare against fused SDPA (informational only)
        diff = (attn(x) - ref).abs().max().item()
        attn.fused_attn = False
    print(f"  attention: |math - fused SDPA| max = {diff:.3e}")


# 5. timm pre-norm transformer Block (LN -> attn -> residual, LN -> MLP(GELU) -> residual).
def make_block():
    reseed()
    blk = Block(dim=16, num_heads=4, mlp_ratio=4, qkv_bias=True,
                norm_layer=partial(nn.LayerNorm, eps=1e-6))
    randomize(blk, 0.2, 0.1)
    no_fused_attn(blk)
    module_golden("block.safetensors", blk, torch.randn(2, 5, 16))


def dino_ce(teacher_probs, student_logits, student_temp):
    """DINO cross-entropy: mean over rows of sum(-p_t * log_softmax(s / T_s))."""
    return (-teacher_probs * F.log_softmax(student_logits / student_temp, dim=-1)).sum(-1).mean()


# 6. DINO loss piece: centred/sharpened teacher softmax vs. student log-softmax; plain softmaxes.
def make_softmax_ce():
    reseed()
    tt, st = 0.04, 0.1
    teacher, center = torch.randn(6, 10), 0.3 * torch.randn(1, 10)
    student = torch.randn(6, 10, requires_grad=True)
    target = F.softmax((teacher - center) / tt, dim=-1)
    loss = dino_ce(target, student, st)
    sx = torch.empty(4, 9).uniform_(-30, 30)
    save("softmax_ce.safetensors", {
        "teacher": teacher, "student": student, "center": center,
        "teacher_temp": torch.tensor([tt]), "student_temp": torch.tensor([st]),
        "target": target, "loss": loss.reshape(1), **grads(loss, {"student": student}),
        "softmax_x": sx, "softmax_out": F.softmax(sx, -1), "log_softmax_out": F.log_softmax(sx, -1),
    }, {"teacher_temp": tt, "student_temp": st})


class DINOHead(nn.Module):
    """DINO projection head (nlayers 3, GELU, no BN) with a second last layer for centroids:
    mlp -> L2 normalise -> weight-normalised bias-free last_layer (or last_layer_c)."""

    def __init__(self, in_dim, hidden, bottleneck, out_dim):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                                 nn.GELU(), nn.Linear(hidden, bottleneck))
        self.last_layer = nn.utils.weight_norm(nn.Linear(bottleneck, out_dim, bias=False))
        self.last_layer_c = nn.utils.weight_norm(nn.Linear(bottleneck, out_dim, bias=False))

    def _embed(self, x):
        return F.normalize(self.mlp(x), dim=-1, p=2, eps=1e-12)

    def forward(self, x):
        return self.last_layer(self._embed(x))

    def forward_c(self, x):
        return self.last_layer_c(self._embed(x))

    def randomize(self, lin_std):
        with torch.no_grad():
            for m in self.mlp:
                if isinstance(m, nn.Linear):
                    m.weight.normal_(0, lin_std)
                    m.bias.normal_(0, lin_std)
            for ll in (self.last_layer, self.last_layer_c):
                ll.weight_v.normal_(0, 1.0)
                ll.weight_g.uniform_(0.5, 1.5)  # positive, non-trivial g so its gradient is tested


# 7. DINO head: x -> last_layer, xc -> last_layer_c (shared MLP), gradients of both paths.
def make_dino_head():
    reseed()
    head = DINOHead(12, 20, 8, 30)
    head.randomize(0.3)
    x = torch.randn(5, 12, requires_grad=True)
    xc = torch.randn(4, 12, requires_grad=True)
    params = dict(head.named_parameters())
    out, out_c = head(x), head.forward_c(xc)
    dout, dout_c = torch.randn_like(out), torch.randn_like(out_c)
    g = grads((out * dout).sum() + (out_c * dout_c).sum(), {"x": x, "xc": xc, **params})
    save("dino_head.safetensors", {"x": x, "xc": xc, **params, "out": out, "out_c": out_c,
                                   "dout": dout, "dout_c": dout_c, **g})


# 8. End-to-end: tiny timm ViT + DINO head, DINO-style loss, gradients, 5 AdamW steps.
def make_vit_tiny():
    reseed()
    vit = VisionTransformer(img_size=32, patch_size=8, in_chans=3, embed_dim=32, depth=2,
                            num_heads=4, mlp_ratio=4, qkv_bias=True, num_classes=0,
                            global_pool="token", norm_layer=partial(nn.LayerNorm, eps=1e-6),
                            drop_path_rate=0.0, class_token=True)
    vit.eval()  # no dropout anywhere anyway; eval for clarity
    no_fused_attn(vit)
    with torch.no_grad():
        for n, p in vit.named_parameters():
            if n in ("cls_token", "pos_embed"):
                p.normal_(0, 0.02)
            elif p.dim() == 1 and ("norm" in n):
                p.copy_((1.0 if n.endswith("weight") else 0.0) + 0.05 * torch.randn_like(p))
            elif n.endswith("weight"):
                nn.init.trunc_normal_(p, std=0.02)
            else:
                p.normal_(0, 0.02)  # random (not zero) biases
    head = DINOHead(32, 48, 16, 40)
    head.randomize(0.1)

    params = {f"backbone.{k}": v for k, v in vit.named_parameters()}
    params.update({f"head.{k}": v for k, v in head.named_parameters()})
    sd_keys = set(vit.state_dict())
    extra = sd_keys - {k[len("backbone."):] for k in params}
    assert not extra, f"unexpected non-parameter state: {extra}"
    assert not any(k.startswith(("fc_norm", "head")) for k in sd_keys), sd_keys

    images = torch.randn(4, 3, 32, 32)
    centroids = torch.randn(3, 32, requires_grad=True)
    target = F.softmax(torch.randn(4, 40) * 3, -1)
    target_c = F.softmax(torch.randn(3, 40) * 3, -1)

    def forward():
        tokens = vit.forward_features(images)
        cls = tokens[:, 0]
        head_out, head_c_out = head(cls), head.forward_c(centroids)
        loss = dino_ce(target, head_out, 0.1) + dino_ce(target_c, head_c_out, 0.1)
        return tokens, cls, head_out, head_c_out, loss

    tokens, cls, head_out, head_c_out, loss = forward()
    init = {k: v.detach().clone() for k, v in params.items()}
    g = grads(loss, {**params, "centroids": centroids})

    # DINO get_params_groups: no decay for *.bias or 1-D params, decay for the rest.
    reg = [p for n, p in params.items() if not (n.endswith(".bias") or p.dim() == 1)]
    noreg = [p for n, p in params.items() if n.endswith(".bias") or p.dim() == 1]
    opt = torch.optim.AdamW([{"params": reg, "weight_decay": 0.04},
                             {"params": noreg, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    losses = []
    for _ in range(5):
        opt.zero_grad(set_to_none=True)
        step_loss = forward()[-1]
        losses.append(step_loss.item())
        step_loss.backward()
        opt.step()
    with torch.no_grad():
        losses.append(forward()[-1].item())
    final = {f"final.{k}": v for k, v in params.items()}
    print("  vit_tiny losses:", ["%.6f" % v for v in losses])
    assert all(b < a for a, b in zip(losses, losses[1:])), "loss did not decrease"
    save("vit_tiny_model.safetensors", {
        **init, "images": images, "centroids": centroids, "target": target, "target_c": target_c,
        "tokens": tokens, "cls": cls, "head_out": head_out, "head_c_out": head_c_out,
        "loss": loss.reshape(1), **g, "losses": torch.tensor(losses), **final,
    }, {"student_temp": 0.1, "lr": 1e-3, "betas": "0.9,0.999", "eps": 1e-8,
        "weight_decay": 0.04, "steps": 5})


def interpolate_pos(pos_embed, hp, wp):
    """DINO interpolate_pos_encoding: bicubic with scale_factor=((Hp+0.1)/g, (Wp+0.1)/g),
    align_corners=False, recompute_scale_factor unset; [CLS] entry kept in front."""
    n, dim = pos_embed.shape[1] - 1, pos_embed.shape[2]
    gsz = int(math.sqrt(n))
    patch = pos_embed[:, 1:].reshape(1, gsz, gsz, dim).permute(0, 3, 1, 2)
    patch = F.interpolate(patch, scale_factor=((hp + 0.1) / gsz, (wp + 0.1) / gsz), mode="bicubic")
    assert patch.shape[-2:] == (hp, wp), patch.shape
    return torch.cat([pos_embed[:, :1], patch.permute(0, 2, 3, 1).reshape(1, -1, dim)], dim=1)


# 9. Positional-embedding interpolation (up- and down-sampling, non-square), with a backward.
def make_posembed():
    reseed()
    pe = torch.randn(1, 17, 8, requires_grad=True)
    out65 = interpolate_pos(pe, 6, 5)
    dout65 = torch.randn_like(out65)
    (g65,) = torch.autograd.grad((out65 * dout65).sum(), pe)
    pe14 = torch.randn(1, 197, 4)
    save("posembed_interp.safetensors", {
        "pos_embed": pe, "out_6x5": out65, "out_3x3": interpolate_pos(pe, 3, 3),
        "dout_6x5": dout65, "grad.pos_embed_6x5": g65,
        "pos_embed_14": pe14, "out_32x32": interpolate_pos(pe14, 32, 32),
        "out_20x12": interpolate_pos(pe14, 20, 12),
    }, {"mode": "bicubic", "align_corners": False, "scale_factor": "(Hp+0.1)/grid, (Wp+0.1)/grid"})


def cosine_scheduler(base, final, epochs, niter, warmup_epochs=0, start_warmup=0.0):
    """DINO's per-iteration schedule: linear warmup, then half-cosine from base to final."""
    warmup_iters = warmup_epochs * niter
    warmup = np.linspace(start_warmup, base, warmup_iters) if warmup_epochs > 0 else np.array([])
    iters = np.arange(epochs * niter - warmup_iters)
    cosine = final + 0.5 * (base - final) * (1 + np.cos(np.pi * iters / len(iters)))
    sched = np.concatenate((warmup, cosine))
    assert len(sched) == epochs * niter
    return sched


# 10. Schedules (float64): lr (with warmup), weight decay, teacher momentum, teacher temperature.
def make_schedule():
    tt = np.concatenate((np.linspace(0.04, 0.07, 3), np.ones(5 - 3) * 0.07))
    s = {"lr": cosine_scheduler(0.5, 0.01, 5, 7, warmup_epochs=2, start_warmup=0.0),
         "wd": cosine_scheduler(0.04, 0.4, 5, 7),
         "momentum": cosine_scheduler(0.996, 1.0, 5, 7),
         "teacher_temp": tt}
    save("schedule.safetensors", {k: torch.from_numpy(v) for k, v in s.items()}, {
        "lr": "base=0.5 final=0.01 epochs=5 niter_per_ep=7 warmup_epochs=2 start_warmup_value=0.0",
        "wd": "base=0.04 final=0.4 epochs=5 niter_per_ep=7 warmup_epochs=0",
        "momentum": "base=0.996 final=1.0 epochs=5 niter_per_ep=7 warmup_epochs=0",
        "teacher_temp": "linspace(0.04,0.07,3) then 0.07; epochs=5 warmup_teacher_temp_epochs=3",
    }, dtype=torch.float64)


# 11. AdamW with per-step lr / weight-decay changes and two groups; DINO per-tensor grad clipping.
def make_adamw():
    reseed()
    p0 = torch.randn(5, 3, requires_grad=True)
    p1 = torch.randn(3, requires_grad=True)
    t = {"p0": p0.detach().clone(), "p1": p1.detach().clone()}
    opt = torch.optim.AdamW([{"params": [p0], "weight_decay": 0.04},
                             {"params": [p1], "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    lrs, wds = [1e-2, 5e-3, 2e-2, 1e-3], [0.04, 0.1, 0.2, 0.4]
    for step in range(4):
        for grp in opt.param_groups:
            grp["lr"] = lrs[step]
        opt.param_groups[0]["weight_decay"] = wds[step]
        p0.grad, p1.grad = torch.randn(5, 3), torch.randn(3)
        t[f"grad{step}.p0"], t[f"grad{step}.p1"] = p0.grad.clone(), p1.grad.clone()
        opt.step()
        t[f"step{step}.p0"], t[f"step{step}.p1"] = p0.detach().clone(), p1.detach().clone()

    clip = 0.3
    t["clipin.a"], t["clipin.b"] = torch.randn(4, 4), 0.05 * torch.randn(3)
    for k in ("a", "b"):
        g = t[f"clipin.{k}"].clone()
        coef = clip / (g.norm(2) + 1e-6)
        t[f"clipout.{k}"] = g * coef if coef < 1 else g
    assert t["clipin.a"].norm() > clip > t["clipin.b"].norm()
    save("adamw.safetensors", t, {
        "lr": ",".join(map(str, lrs)), "weight_decay_group0": ",".join(map(str, wds)),
        "weight_decay_group1": 0.0, "betas": "0.9,0.999", "eps": 1e-8, "clip": clip})


# 12. Key names/shapes of timm's ViT-S/16 (no weights): checks cribo's checkpoint naming.
def make_vit_small_keys():
    reseed()
    model = timm.create_model("vit_small_patch16_224", num_classes=0, pretrained=False)
    keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    with open(os.path.join(OUT_DIR, "timm_vit_small_keys.json"), "w") as f:
        json.dump(keys, f, indent=1)
        f.write("\n")
    MANIFEST["timm_vit_small_keys.json"] = {"entries": len(keys)}


def main():
    for fn in (make_linear, make_layernorm, make_gelu, make_attention, make_block,
               make_softmax_ce, make_dino_head, make_vit_tiny, make_posembed, make_schedule,
               make_adamw, make_vit_small_keys):
        print(fn.__name__)
        fn()
    manifest = {"torch": torch.__version__, "timm": timm.__version__, "numpy": np.__version__,
                "safetensors": safetensors.__version__, "seed": SEED,
                "command": "/opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_golden.py",
                "files": MANIFEST}
    text = json.dumps(manifest, indent=1, sort_keys=True)
    # collapse lists holding no objects (shapes, [name, shape, dtype] rows) onto one line
    text = re.sub(r"\[(?:[^\[\]{}]|\[[^\[\]{}]*\])*\]",
                  lambda m: json.dumps(json.loads(m.group())), text)
    with open(os.path.join(OUT_DIR, "MANIFEST.json"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
