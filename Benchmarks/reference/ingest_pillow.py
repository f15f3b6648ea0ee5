"""Reference for `cribo-bench ingest`: Pillow doing the same decode-resize-write on the same archive.

Reads the VOC-layout tar that cribo-bench synthesized (VOCdevkit/VOC2012/JPEGImages/*.jpg of the train list),
decodes every listed JPEG with Pillow (`convert("RGB")`), optionally downscales so the shorter side is 256
(`draft` DCT scaling, then BICUBIC resize — the same recipe as cribo), and writes the uint8 arrays to a safetensors
file; N worker processes for N cores. Also times `sha256sum` on the archive. Imports nothing from cribo.

Usage: /opt/refenv/bin/python Benchmarks/reference/ingest_pillow.py [--archive /tmp/cribo-ingest-bench/raw/VOCtrainval_11-May-2012.tar] [--workers 1,2]
"""
import argparse
import io
import os
import subprocess
import tarfile
import time
from multiprocessing import Pool

import numpy as np
from PIL import Image
from safetensors.numpy import save_file


def convert(job):
    data, max_side = job
    image = Image.open(io.BytesIO(data))
    if max_side:
        w, h = image.size
        short = min(w, h)
        if short > max_side:
            scale = max_side / short
            target = (max(1, round(w * scale)), max(1, round(h * scale)))
            image.draft("RGB", target)
            image = image.convert("RGB").resize(target, Image.BICUBIC)
    return np.asarray(image.convert("RGB"))


def run(archive, workers, max_side, out):
    start = time.perf_counter()
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        listing = next(n for n in members if n.endswith("ImageSets/Segmentation/train.txt"))
        ids = tar.extractfile(members[listing]).read().decode().split()
        root = listing[: -len("ImageSets/Segmentation/train.txt")]
        blobs = [tar.extractfile(members[f"{root}JPEGImages/{i}.jpg"]).read() for i in ids]
    with Pool(workers) as pool:
        arrays = pool.map(convert, [(b, max_side) for b in blobs], chunksize=8)
    tensors = {"image.bytes": np.concatenate([a.reshape(-1) for a in arrays]),
               "image.shapes": np.array([a.shape for a in arrays], dtype=np.int64)}
    save_file(tensors, out)
    return len(arrays) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--archive", default="/tmp/cribo-ingest-bench/raw/VOCtrainval_11-May-2012.tar")
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    size = os.path.getsize(args.archive)
    print(f"Pillow reference: {args.archive}, {size / 1e6:.1f} MB")
    print(f"{'metric':25}| {'mode':27}| {'value':>10} | unit")
    for w in [int(x) for x in args.workers.split(",")]:
        for label, max_side in [("raw", None), ("raw max-side 256", 256)]:
            rate = run(args.archive, w, max_side, os.path.join(os.path.dirname(args.archive), "pillow.safetensors"))
            print(f"{'Pillow images/s':25}| {label + f', {w}w':27}| {rate:10.2f} | img/s")
    start = time.perf_counter()
    subprocess.run(["sha256sum", args.archive], check=True, stdout=subprocess.DEVNULL)
    print(f"{'sha256sum':25}| {'1 thread':27}| {size / 1e6 / (time.perf_counter() - start):10.2f} | MB/s")


if __name__ == "__main__":
    main()
