#!/usr/bin/env python3
"""Goldens for cribo's CrIBo augmentations (Sources/CriboData/Augment, Tests/CriboDataTests/Augment*.swift).

Regenerate (from the repo root):
    /opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_augment_golden.py

Writes augment.safetensors next to this file. Every transform is applied with FIXED parameters (the random
draws are cribo's own SplitMix64, so only the pixel operations are compared): torchvision 0.28 functional
transforms on PIL images exactly as CrIBo's DataAugmentationCrIBo and DINO's GaussianBlur/Solarization call
them, the position map the way cribo_utils/data_transforms.py builds it (torch.arange map, tensor
resized_crop with BICUBIC, which antialiases by default since torchvision 0.17, then hflip), and the
Hummingbird evaluation transforms (PIL bilinear resize, masks as ToTensor'd tensors resized NEAREST).
Deterministic: fixed seed, CPU, one thread; a rerun gives the same bytes.

Keys (U8 images are [h, w, 3] HWC, F32 tensors CHW):
    image [47, 61, 3], labels [47, 61]           the textured input and a label map
    crop.<k> [24|32, .., 3]                      F.resized_crop(img, *box_k, size, BICUBIC); boxes in crop.boxes [K, 5]
                                                 (i, j, h, w, size)
    flip                                         F.hflip(img)
    brightness.<f>, contrast.<f>, saturation.<f>, hue.<f>   F.adjust_*(img, f)
    jitter.<k>                                   ColorJitter.forward with get_params fixed to jitter.params [K, 8]
                                                 (order 0..3 then b, c, s, h)
    grayscale                                    F.rgb_to_grayscale(img, 3)
    blur.<k>                                     img.filter(ImageFilter.GaussianBlur(radius=blur.sigmas[k]))
    solarize                                     ImageOps.solarize(img) (threshold 128)
    normalized [3, 47, 61]                       Normalize(mean, std)(ToTensor()(img))
    pos.<k> [2, s, s]                            the official position map for pos.boxes [K, 6] (i, j, h, w, size, flip)
    pos_noaa.<k>                                 the same with antialias=False (torchvision < 0.17 tensor default)
    patches.<k> [2, (s/p)^2]                     rearrange 'd (r i) (c j) -> d (r c) (i j)' + mean, p = 8
    pos_large.patches [2, 196]                   per-patch positions (p = 16) of a 500x375 map, box pos_large.box
    pos_large.row0 [2, 224]                      its first row (both channels)
    center.image, center.pos                     CenterCrop(24) of the image and of the position map
    eval.image.<s> [3, s, s], eval.mask.<s> [s, s]   s = 32, 64; Hummingbird val: PIL bilinear resize + ToTensor + Normalize
                                                 (std 0.229, 0.224, 0.255), mask ToTensor + tensor NEAREST resize (x255)
    hbcrop.image.<k> [3, 24, 24], hbcrop.mask.<k>    Hummingbird train crop on the normalised tensor (BILINEAR,
                                                 antialias) and on the mask tensor (NEAREST), boxes hbcrop.boxes
"""
import os

import torch

from reference_env import tolerate_cuda_torchvision  # noqa: E402

tolerate_cuda_torchvision()  # before torchvision

import numpy as np  # noqa: E402
import PIL  # noqa: E402
import torchvision  # noqa: E402
import torchvision.transforms.functional as F  # noqa: E402
from PIL import Image, ImageFilter, ImageOps  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402
from torchvision import transforms  # noqa: E402

SEED = 20260412
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "augment.safetensors")
W, H = 61, 47
BICUBIC = transforms.InterpolationMode.BICUBIC
BILINEAR = transforms.InterpolationMode.BILINEAR
NEAREST = transforms.InterpolationMode.NEAREST
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
HB_STD = (0.229, 0.224, 0.255)

torch.set_num_threads(1)
rng = np.random.default_rng(SEED)

# A textured image: smooth colour gradients (hue sweeps), noise, a sharp saturated block, a gray bar (s = 0),
# pure black and white pixels and a few primaries, so every branch of the HSV and blend code is hit.
yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
base = np.stack([
    127.5 + 120 * np.sin(xx / 7.0 + yy / 11.0),
    127.5 + 120 * np.sin(xx / 5.0 - yy / 9.0 + 2.0),
    127.5 + 120 * np.cos(yy / 6.0 + 1.0),
], axis=-1)
rgb = np.clip(base + rng.normal(0, 18, size=(H, W, 3)), 0, 255).astype(np.uint8)
rgb[8:20, 30:45] = [250, 10, 10]
rgb[30:34, :] = rng.integers(0, 256, size=(4, W, 1), dtype=np.uint8)  # gray rows
rgb[0, 0], rgb[0, 1], rgb[0, 2], rgb[0, 3], rgb[0, 4] = [0, 0, 0], [255, 255, 255], [0, 255, 0], [0, 0, 255], [255, 0, 255]
labels = rng.choice(np.array([0, 1, 2, 7, 20, 255], dtype=np.uint8), size=(H, W))
labels[10:30, 5:25] = 3
image = Image.fromarray(rgb, "RGB")
label_image = Image.fromarray(labels, "L")

tensors = {"image": rgb, "labels": labels}


def u8(img):
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


# --- crop + resize (PIL bicubic after a PIL crop, as F.resized_crop does) ------------------------------------
crop_boxes = [
    (5, 7, 30, 40, 24),    # downscale both axes
    (10, 12, 9, 11, 24),   # upscale both axes
    (0, 0, 47, 61, 32),    # whole image, aspect change
    (3, 20, 44, 17, 24),   # upscale width, downscale height
    (2, 3, 24, 24, 24),    # same size: the identity path
]
for k, (i, j, h, w, s) in enumerate(crop_boxes):
    tensors[f"crop.{k}"] = u8(F.resized_crop(image, i, j, h, w, [s, s], BICUBIC))
tensors["crop.boxes"] = np.array(crop_boxes, dtype=np.int64)

tensors["flip"] = u8(F.hflip(image))

# --- colour ops, each alone ---------------------------------------------------------------------------------
factors = {
    "brightness": [0.0, 0.6, 0.83, 1.0, 1.27, 1.4],
    "contrast": [0.6, 0.91, 1.33, 1.4],
    "saturation": [0.0, 0.8, 0.95, 1.2],
    "hue": [-0.1, -0.037, 0.0, 0.05, 0.1],
}
adjust = {"brightness": F.adjust_brightness, "contrast": F.adjust_contrast,
          "saturation": F.adjust_saturation, "hue": F.adjust_hue}
for name, values in factors.items():
    for f in values:
        tensors[f"{name}.{f}"] = u8(adjust[name](image, f))

# --- ColorJitter.forward with fixed parameters in two orders ----------------------------------------------------
jitter_params = [
    ([3, 0, 2, 1], 1.21, 0.72, 1.14, -0.06),
    ([1, 2, 0, 3], 0.66, 1.38, 0.83, 0.093),
]
jitter = transforms.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
for k, (order, b, c, s, h) in enumerate(jitter_params):
    fixed = (torch.tensor(order), b, c, s, h)
    jitter.get_params = lambda *args, fixed=fixed: fixed
    tensors[f"jitter.{k}"] = u8(jitter(image))
tensors["jitter.params"] = np.array([order + [b, c, s, h] for order, b, c, s, h in jitter_params], dtype=np.float64)

tensors["grayscale"] = u8(F.rgb_to_grayscale(image, num_output_channels=3))

blur_sigmas = [0.1, 0.55, 1.37, 2.0]
for k, sigma in enumerate(blur_sigmas):
    tensors[f"blur.{k}"] = u8(image.filter(ImageFilter.GaussianBlur(radius=sigma)))
tensors["blur.sigmas"] = np.array(blur_sigmas, dtype=np.float64)

tensors["solarize"] = u8(ImageOps.solarize(image))

normalize = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
tensors["normalized"] = normalize(image).numpy()


# --- position maps, as RandomResizedCropWithPos + MyCompose do it -------------------------------------------------
def position_map(width, height):
    x = torch.arange(max(width, height)).repeat(max(width, height), 1)[None, :]
    return torch.cat((x, x.permute(0, 2, 1)), dim=0).float()[:, :height, :width]


def official_positions(width, height, box, antialias=True):
    i, j, h, w, s, flip = box
    out = F.resized_crop(position_map(width, height), i, j, h, w, [s, s], BICUBIC, antialias=antialias)
    return F.hflip(out) if flip else out


def per_patch(pos, p):
    d, s, _ = pos.shape
    n = s // p
    return pos.reshape(d, n, p, n, p).permute(0, 1, 3, 2, 4).reshape(d, n * n, p * p).mean(dim=-1)


pos_boxes = [
    (5, 7, 30, 40, 24, 0),
    (5, 7, 30, 40, 24, 1),
    (10, 12, 9, 11, 24, 0),
    (3, 20, 44, 17, 24, 1),
    (0, 0, 47, 61, 32, 0),
]
for k, box in enumerate(pos_boxes):
    pos = official_positions(W, H, box)
    tensors[f"pos.{k}"] = pos.numpy()
    tensors[f"pos_noaa.{k}"] = official_positions(W, H, box, antialias=False).numpy()
    tensors[f"patches.{k}"] = per_patch(pos, 8).numpy()
tensors["pos.boxes"] = np.array(pos_boxes, dtype=np.int64)

large_box = (40, 60, 300, 350, 224, 1)
large = official_positions(500, 375, large_box)
tensors["pos_large.patches"] = per_patch(large, 16).numpy()
tensors["pos_large.row0"] = np.ascontiguousarray(large[:, 0, :].numpy())
tensors["pos_large.box"] = np.array(large_box, dtype=np.int64)

center = transforms.CenterCrop(24)
tensors["center.image"] = u8(center(image))
tensors["center.pos"] = center(position_map(W, H)).numpy()

# --- Hummingbird evaluation transforms ---------------------------------------------------------------------------
hb_normalize = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, HB_STD)])
mask_tensor = transforms.ToTensor()(label_image)
for s in (32, 64):
    resized = F.resize(image, [s, s], interpolation=BILINEAR, antialias=True)
    tensors[f"eval.image.{s}"] = hb_normalize(resized).numpy()
    mask = F.resize(mask_tensor, [s, s], interpolation=NEAREST)
    tensors[f"eval.mask.{s}"] = (mask[0] * 255).round().to(torch.uint8).numpy()

hb_boxes = [(5, 7, 30, 40, 24), (10, 12, 9, 11, 24), (0, 3, 47, 50, 24)]
image_tensor = hb_normalize(image)
for k, (i, j, h, w, s) in enumerate(hb_boxes):
    tensors[f"hbcrop.image.{k}"] = F.resized_crop(image_tensor, i, j, h, w, [s, s], BILINEAR, antialias=True).numpy()
    mask = F.resized_crop(mask_tensor, i, j, h, w, [s, s], NEAREST)
    tensors[f"hbcrop.mask.{k}"] = (mask[0] * 255).round().to(torch.uint8).numpy()
tensors["hbcrop.boxes"] = np.array(hb_boxes, dtype=np.int64)

save_file({k: np.ascontiguousarray(v) for k, v in sorted(tensors.items())}, OUT,
          # one metadata entry: safetensors writes a multi-key metadata map in hash order, which would change the bytes
          metadata={"generator": f"Pillow {PIL.__version__}, torch {torch.__version__}, "
                                 f"torchvision {torchvision.__version__}, seed {SEED}"})
print("wrote", os.path.basename(OUT), "with", len(tensors), "tensors; Pillow", PIL.__version__,
      "torchvision", torchvision.__version__)
