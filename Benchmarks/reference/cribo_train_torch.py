#!/usr/bin/env python3
"""The official CrIBo step (cribo_torch.py) as a reference for cribo-pretrain: training speed and learning curves.

  bench   images/s of the training step on random data, per thread count, for the demo config and vit_small/16:
              python cribo_train_torch.py bench [--threads 1,2] [--models demo,vit_small] [--steps 3]
  learn   trains on an ingested cribo split (safetensors shards, read with PIL) with DINO's two global views and
          prints per-epoch mean losses; writes the teacher backbone with timm key names for cribo-features:
              python cribo_train_torch.py learn --split data/shards/demo/coco/train2017 --out /tmp/torch-demo \\
                  --epochs 60 --batch 64 --lr 2e-3 --warmup-epochs 5

Imports nothing from cribo (the shard layout is read directly: image.bytes / image.offsets, JPEG or PNG bytes).
"""
import argparse
import glob
import io
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "CriboTestSupport", "Golden"))
from reference_env import tolerate_cuda_torchvision  # noqa: E402

tolerate_cuda_torchvision()
import torchvision.transforms as T  # noqa: E402
import torchvision.transforms.functional as TF  # noqa: E402
from PIL import Image, ImageFilter, ImageOps  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import cribo_torch as ref  # noqa: E402

MODELS = {
    "demo": dict(img=64, patch=8, dim=96, depth=4, heads=3, hid=512, bot=128, out=1024, k=8, queue=256, batch=16),
    "vit_small": dict(img=224, patch=16, dim=384, depth=12, heads=6, hid=2048, bot=256, out=65536, k=32, queue=4096,
                      batch=8),
}
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


# MARK: - data

def load_split(folder):
    images = []
    for path in sorted(glob.glob(os.path.join(folder, "shard-*.safetensors"))):
        t = load_file(path)
        raw, off, shapes = t["image.bytes"], t["image.offsets"], t["image.shapes"]
        for i in range(len(off) - 1):
            blob = raw[off[i]:off[i + 1]].tobytes()
            try:
                images.append(Image.open(io.BytesIO(blob)).convert("RGB"))
            except Exception:
                h, w, c = shapes[i]
                images.append(Image.fromarray(np.frombuffer(blob, np.uint8).reshape(h, w, c)))
    return images


class TwoViews:
    """DINO's global crops (DataAugmentationCrIBo): RandomResizedCrop(scale) bicubic, flip, colour jitter 0.8,
    grayscale 0.2, blur (1.0 / 0.1), solarize (0 / 0.2), normalise; and the per-patch positions of each crop."""

    def __init__(self, size, patch, scale=(0.25, 1.0), blur=(0.1, 2.0), jitter=(0.4, 0.4, 0.2, 0.1), jitter_p=0.8,
                 gray_p=0.2):
        self.size, self.grid, self.scale, self.blur, self.gray_p = size, size // patch, scale, blur, gray_p
        self.jitter = T.RandomApply([T.ColorJitter(*jitter)], p=jitter_p)

    def view(self, image, blur_p, solarize_p):
        i, j, h, w = T.RandomResizedCrop.get_params(image, self.scale, (3 / 4, 4 / 3))
        out = TF.resized_crop(image, i, j, h, w, [self.size, self.size], T.InterpolationMode.BICUBIC)
        flip = random.random() < 0.5
        if flip:
            out = TF.hflip(out)
        out = self.jitter(out)
        if random.random() < self.gray_p:
            out = TF.rgb_to_grayscale(out, 3)
        if random.random() < blur_p:
            out = out.filter(ImageFilter.GaussianBlur(radius=random.uniform(*self.blur)))
        if random.random() < solarize_p:
            out = ImageOps.solarize(out)
        tensor = TF.normalize(TF.to_tensor(out), MEAN, STD)
        g = self.grid
        cols = torch.arange(g, dtype=torch.float32)
        cols = g - 1 - cols if flip else cols
        xs = (j - 0.5 + (cols + 0.5) * w / g).repeat(g)
        ys = (i - 0.5 + (torch.arange(g, dtype=torch.float32) + 0.5) * h / g).repeat_interleave(g)
        return tensor, torch.stack([xs, ys])

    def __call__(self, image):
        a, pa = self.view(image, 1.0, 0.0)
        b, pb = self.view(image, 0.1, 0.2)
        return a, b, pa, pb


# MARK: - modes

def learn(args):
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    images = load_split(args.split)
    cfg = dict(MODELS["demo"])
    cfg.update(lr=args.lr, warmup_epochs=args.warmup_epochs, warmup_teacher_temp_epochs=args.warmup_teacher_temp_epochs,
               norm_last_layer=args.norm_last_layer, out=args.out_dim, queue=args.queue, momentum=args.momentum,
               teacher_temp=args.teacher_temp, warmup_teacher_temp=args.warmup_teacher_temp, k=args.clusters)
    niter = len(images) // args.batch
    trainer = ref.Trainer(cfg, args.epochs, niter, args.batch, seed=args.seed)
    os.makedirs(args.out, exist_ok=True)
    save_backbone(trainer.teacher, os.path.join(args.out, "initial_backbone.safetensors"))
    views = TwoViews(cfg["img"], cfg["patch"], blur=(args.blur_min, args.blur_max),
                     jitter=tuple(float(v) for v in args.jitter.split(",")), jitter_p=args.jitter_p, gray_p=args.gray_p)
    log = open(os.path.join(args.out, "log.jsonl"), "w")
    started = time.time()
    for epoch in range(args.epochs):
        order = list(range(len(images)))
        random.shuffle(order)
        sums = {}
        for it in range(niter):
            batch = [views(images[k]) for k in order[it * args.batch:(it + 1) * args.batch]]
            x = torch.cat([torch.stack([v[0] for v in batch]), torch.stack([v[1] for v in batch])])
            pos = torch.stack([torch.stack([v[2] for v in batch]), torch.stack([v[3] for v in batch])])
            stats = trainer.step(x, pos, epoch, epoch * niter + it)
            row = {k: stats[k] for k in ("d_loss", "s_loss", "nn_loss", "r_cnt", "bootstrap_ratio", "lr")}
            row.update(epoch=epoch, iteration=epoch * niter + it)
            log.write(json.dumps(row) + "\n")
            for k in ("d_loss", "s_loss", "nn_loss", "r_cnt"):
                sums[k] = sums.get(k, 0) + stats[k] / niter
        if args.save_every and (epoch + 1) % args.save_every == 0:
            save_backbone(trainer.teacher, os.path.join(args.out, f"teacher_backbone_epoch{epoch + 1}.safetensors"))
        print(f"epoch {epoch:3d}  " + "  ".join(f"{k} {v:.4f}" for k, v in sums.items())
              + f"  ({time.time() - started:.0f} s)", flush=True)
    save_backbone(trainer.teacher, os.path.join(args.out, "teacher_backbone.safetensors"))


def save_backbone(net, path):
    tensors = {k[len("backbone."):]: v.detach().contiguous().clone() for k, v in net.state_dict().items()
               if k.startswith("backbone.")}
    save_file(tensors, path)


def bench(args):
    print(f"{'model':<10} {'threads':>7} {'batch':>5} {'s/step':>8} {'img/s':>7}")
    for name in args.models.split(","):
        cfg = dict(MODELS[name])
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            torch.manual_seed(0)
            trainer = ref.Trainer(cfg, 10, 100, cfg["batch"], seed=0)
            b, g = cfg["batch"], cfg["img"] // cfg["patch"]
            x = torch.randn(2 * b, 3, cfg["img"], cfg["img"])
            pos = torch.rand(2, b, 2, g * g) * 300
            for i in range(1 + args.steps):
                if i == 1:
                    t0 = time.perf_counter()
                trainer.step(x, pos, 1, 100 + i)
            dt = (time.perf_counter() - t0) / args.steps
            print(f"{name:<10} {threads:>7} {b:>5} {dt:>8.3f} {b / dt:>7.2f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--threads", default="1,2")
    b.add_argument("--models", default="demo,vit_small")
    b.add_argument("--steps", type=int, default=3)
    l = sub.add_parser("learn")
    l.add_argument("--split", required=True)
    l.add_argument("--out", required=True)
    l.add_argument("--epochs", type=int, default=60)
    l.add_argument("--batch", type=int, default=64)
    l.add_argument("--lr", type=float, default=4e-3)
    l.add_argument("--warmup-epochs", type=int, default=5)
    l.add_argument("--warmup-teacher-temp-epochs", type=int, default=3)
    l.add_argument("--norm-last-layer", action="store_true")
    l.add_argument("--out-dim", type=int, default=1024)
    l.add_argument("--queue", type=int, default=256)
    l.add_argument("--momentum", type=float, default=0.99)
    l.add_argument("--teacher-temp", type=float, default=0.04)
    l.add_argument("--warmup-teacher-temp", type=float, default=0.04)
    l.add_argument("--clusters", type=int, default=8)
    l.add_argument("--jitter", default="0.4,0.4,0.2,0.1", help="brightness,contrast,saturation,hue")
    l.add_argument("--jitter-p", type=float, default=0.8)
    l.add_argument("--gray-p", type=float, default=0.2)
    l.add_argument("--blur-min", type=float, default=0.1)
    l.add_argument("--blur-max", type=float, default=2.0)
    l.add_argument("--save-every", type=int, default=0, help="also write the teacher backbone every N epochs")
    l.add_argument("--threads", type=int, default=2)
    l.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    (bench if args.mode == "bench" else learn)(args)


if __name__ == "__main__":
    main()
