"""Interop check: a backbone exported by cribo loads into timm with strict=True and gives the same tokens.

Usage (after `swift build -c release`):
    /opt/refenv/bin/python Benchmarks/reference/check_timm_interop.py [--arch vit_small] [--workdir /tmp/interop]

Steps: cribo-bench writes a seeded random-init checkpoint and images; cribo-features embeds them at 224x224 and at
320x256; timm.create_model(<arch>_patch16_224, num_classes=0) loads the file strictly; its forward_features is
compared at 224 (timm's own path) and, at 320x256, with DINO's interpolate_pos_encoding written out in torch
(bicubic with scale factors (h+0.1)/14, (w+0.1)/14). Prints the max abs differences; exits 1 above 1e-4.
"""
import argparse
import math
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "CriboTestSupport", "Golden"))
from reference_env import tolerate_cuda_torchvision  # noqa: E402

tolerate_cuda_torchvision()  # before torchvision/timm
import timm  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import load_file  # noqa: E402


def dino_tokens(model, images):
    """forward_features with DINO's positional-embedding interpolation."""
    b, _, h, w = images.shape
    x = model.patch_embed.proj(images).flatten(2).transpose(1, 2)
    pos = model.pos_embed
    n = pos.shape[1] - 1
    side = int(math.sqrt(n))
    hp, wp = h // 16, w // 16
    grid = pos[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, scale_factor=((hp + 0.1) / side, (wp + 0.1) / side), mode="bicubic")
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, pos.shape[2])
    x = torch.cat([model.cls_token.expand(b, -1, -1), x], dim=1) + torch.cat([pos[:, :1], grid], dim=1)
    for block in model.blocks:
        x = block(x)
    return model.norm(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="vit_small")
    parser.add_argument("--workdir", default="/tmp/cribo-interop")
    parser.add_argument("--bin", default=".build/release")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    ckpt = os.path.join(args.workdir, "backbone.safetensors")
    run = lambda *cmd: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    run(f"{args.bin}/cribo-bench", "random-checkpoint", "--arch", args.arch, "--seed", "3", "--output", ckpt)
    worst = 0.0
    for (h, w) in [(224, 224), (320, 256)]:
        images = os.path.join(args.workdir, f"images{h}x{w}.safetensors")
        tokens = os.path.join(args.workdir, f"tokens{h}x{w}.safetensors")
        run(f"{args.bin}/cribo-bench", "random-images", "--count", "2", "--height", str(h), "--width", str(w), "--output", images)
        run(f"{args.bin}/cribo-features", "embed", "--checkpoint", ckpt, "--input", images, "--output", tokens)
        model = timm.create_model(f"{args.arch}_patch16_224", num_classes=0, pretrained=False, dynamic_img_size=False)
        missing, unexpected = model.load_state_dict(load_file(ckpt), strict=True)
        model.eval()
        x = load_file(images)["images"]
        with torch.no_grad():
            expected = model.forward_features(x) if (h, w) == (224, 224) else dino_tokens(model, x)
        ours = load_file(tokens)["tokens"]
        difference = (ours - expected).abs().max().item()
        worst = max(worst, difference)
        print(f"{args.arch} {h}x{w}: strict load ok, tokens {tuple(ours.shape)}, max |cribo - torch| = {difference:.3g}")
    sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    main()
