"""Goldens for cribo's Pillow-exact resampling (Sources/CriboData/Image/Resample.swift).

Writes resample.safetensors: a random RGB image and a label map, and Pillow's Image.resize outputs for several
filters, sizes and boxes. Deterministic; rerun gives identical bytes.
Run: /opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_resample_golden.py
"""
import os

import numpy as np
import PIL
from PIL import Image
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261126)
rgb = rng.integers(0, 256, size=(23, 37, 3), dtype=np.uint8)
rgb[5:15, 10:25] = [250, 10, 10]  # a sharp-edged block: ringing and clipping cases
labels = rng.choice(np.array([0, 1, 2, 7, 20, 255], dtype=np.uint8), size=(23, 37))
image = Image.fromarray(rgb, "RGB")
label_image = Image.fromarray(labels, "L")

filters = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS, "box": Image.BOX}
cases = {
    "down": ((16, 10), None),
    "up": ((50, 31), None),
    "box": ((12, 12), (3, 2, 30, 20)),
    "boxfrac": ((9, 14), (1.5, 0.25, 20.75, 22.0)),
}
tensors = {"rgb": rgb, "labels": labels}
for fname, f in filters.items():
    for cname, (size, box) in cases.items():
        tensors[f"{fname}.{cname}"] = np.asarray(image.resize(size, f, box=box))
for cname, (size, box) in cases.items():
    tensors[f"nearest.{cname}"] = np.asarray(label_image.resize(size, Image.NEAREST, box=box))
save_file({k: np.ascontiguousarray(v) for k, v in sorted(tensors.items())}, os.path.join(HERE, "resample.safetensors"),
          metadata={"pillow": PIL.__version__, "cases": repr(cases)})
print("wrote resample.safetensors with", len(tensors), "tensors; Pillow", PIL.__version__)
