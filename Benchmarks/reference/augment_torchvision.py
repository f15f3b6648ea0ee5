"""Reference for `cribo-bench augment`: CrIBo's two-view augmentation written the official way (torchvision + PIL).

For each image of the synthesized VOC-layout tar's train list: PIL decode + convert("RGB"), then two views as
DataAugmentationCrIBo builds them — RandomResizedCrop(224, scale (0.25, 1), bicubic) applied to the image and to a
2×H×W position map (tensor resized_crop, bicubic), horizontal flip of both (p 0.5), ColorJitter(0.4, 0.4, 0.2, 0.1)
with p 0.8, RandomGrayscale(0.2), PIL GaussianBlur (view 1 always, view 2 p 0.1), Solarize (view 2 p 0.2),
ToTensor + Normalize — on N worker processes for N cores. Imports nothing from cribo.

Usage: /opt/refenv/bin/python Benchmarks/reference/augment_torchvision.py [--archive ...] [--workers 1,2]
"""
import argparse
import io
import os
import random
import sys
import tarfile
import time
from multiprocessing import Pool

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "CriboTestSupport", "Golden"))
from reference_env import tolerate_cuda_torchvision  # noqa: E402

tolerate_cuda_torchvision()  # before torchvision/timm
import torchvision.transforms as T  # noqa: E402
import torchvision.transforms.functional as F  # noqa: E402
from PIL import Image, ImageFilter, ImageOps  # noqa: E402

torch.set_num_threads(1)
COLOR = T.Compose([T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), T.RandomGrayscale(p=0.2)])
NORMALIZE = T.Compose([T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])


def view(image, positions, blur_p, solarize_p):
    i, j, h, w = T.RandomResizedCrop.get_params(image, scale=(0.25, 1.0), ratio=(3 / 4, 4 / 3))
    crop = F.resized_crop(image, i, j, h, w, [224, 224], T.InterpolationMode.BICUBIC)
    pos = F.resized_crop(positions, i, j, h, w, [224, 224], T.InterpolationMode.BICUBIC)
    if torch.rand(1) < 0.5:
        crop, pos = F.hflip(crop), F.hflip(pos)
    crop = COLOR(crop)
    if random.random() <= blur_p:
        crop = crop.filter(ImageFilter.GaussianBlur(radius=random.uniform(0.1, 2.0)))
    if random.random() < solarize_p:
        crop = ImageOps.solarize(crop)
    return NORMALIZE(crop), pos


def two_views(data):
    image = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = image.size
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    positions = torch.stack([xs, ys])
    return view(image, positions, 1.0, 0.0)[0].shape, view(image, positions, 0.1, 0.2)[0].shape


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--archive", default="/tmp/cribo-ingest-bench/raw/VOCtrainval_11-May-2012.tar")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--images", type=int, default=96)
    args = parser.parse_args()
    with tarfile.open(args.archive) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        listing = next(n for n in members if n.endswith("ImageSets/Segmentation/train.txt"))
        ids = tar.extractfile(members[listing]).read().decode().split()[: args.images]
        root = listing[: -len("ImageSets/Segmentation/train.txt")]
        blobs = [tar.extractfile(members[f"{root}JPEGImages/{i}.jpg"]).read() for i in ids]
    print(f"{'metric':25}| {'mode':27}| {'value':>10} | unit")
    for w in [int(x) for x in args.workers.split(",")]:
        with Pool(w) as pool:
            pool.map(two_views, blobs[:w])
            start = time.perf_counter()
            pool.map(two_views, blobs, chunksize=4)
            rate = len(blobs) / (time.perf_counter() - start)
        print(f"{'two-view images/s':25}| {f'torchvision+PIL, {w}w':27}| {rate:10.2f} | img/s")


if __name__ == "__main__":
    main()
