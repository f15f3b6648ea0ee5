"""Reference for `cribo-bench features`: cribo-features extract's pipeline written the PyTorch CPU way.

Over every image of an ingested cribo split (read with safetensors from its manifest.json and shard files: the
`image.bytes`/`image.offsets`/`image.shapes` blobs, `mask.*` for segmentation splits, `sample.id`, names), in
feature shards of 256 images and batches of 16 (cribo's defaults):
  - on a pool of T threads (PIL releases the GIL while decoding and resizing): PIL decode (JPEG, or raw HWC bytes)
    + convert("RGB"); torchvision `resize(img, [S, S], BILINEAR)` on the PIL image, which is Pillow's antialiased
    BILINEAR, the filter cribo reproduces; the mask (PNG or raw) resized with NEAREST; ToTensor + Normalize
    (ImageNet mean/std) in numpy; a 96x96 Pillow-bilinear thumbnail of the first 16 images;
  - timm's ViT (`<arch>_patch<p>_224`, seeded random init, num_classes 0, dynamic_img_size=True so that other
    resolutions interpolate the positional embedding each forward, as cribo does) `forward_features` under
    torch.inference_mode() with torch.set_num_threads(T); [CLS] and the patch tokens [n, h, w, D] copied to numpy;
  - each shard serialised with safetensors.numpy (tokens f32 or f16, cls, labels, index, id, names, thumbnails),
    hashed with SHA-256, written to a temporary file, fsync'ed and renamed (cribo's AtomicFile), then a JSON manifest.
The timed run starts with reading the backbone checkpoint (this script's own random init, saved once as
safetensors before timing) into the model and hashing it, as FeatureExtractor.run loads and hashes its checkpoint.
An untimed forward of 16 random images at S comes first. The forward passes inside the run are timed on their own
(fwd img/s, fwd share); cribo's side estimates them from one separately timed batch instead.

The default split is the one `cribo-bench features` synthesizes and ingests (/tmp/cribo-features-bench/voc-<images>/
shards/voc/val, ~500x375 JPEGs with masks), so run the cribo side first (same --images); --split overrides.
Imports nothing from cribo (Tests/CriboTestSupport/Golden/reference_env.py is the reference env's torchvision fix).

Usage: /opt/refenv/bin/python Benchmarks/reference/features_torch.py [--images 64] [--split DIR] [--arch vit_small]
       [--patch-size 16] [--resolution 448,224] [--threads 1,2] [--dtype f32] [--folder /tmp/cribo-features-bench]
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "CriboTestSupport", "Golden"))
from reference_env import tolerate_cuda_torchvision  # noqa: E402

tolerate_cuda_torchvision()  # before torchvision/timm
import timm  # noqa: E402
import torchvision.transforms.functional as F  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import save as serialize  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from torchvision.transforms import InterpolationMode  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
BATCH = 16
IMAGES_PER_SHARD = 256
THUMBNAILS = 16
THUMBNAIL_SIDE = 96


def read_split(folder):
    """The split's samples in order: dicts of image/mask payloads (bytes, shape, encoding), id and name."""
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    samples = []
    for shard in manifest["shards"]:
        with safe_open(os.path.join(folder, shard["file"]), "np") as f:
            metadata = f.metadata()
            t = {key: f.get_tensor(key) for key in f.keys()}
        names, name_offsets = t["sample.name.bytes"], t["sample.name.offsets"]
        for i in range(len(t["sample.id"])):
            sample = {"id": int(t["sample.id"][i]), "name": names[name_offsets[i]:name_offsets[i + 1]].tobytes()}
            for field in ("image", "mask"):
                if field + ".bytes" in t:
                    o = t[field + ".offsets"]
                    sample[field] = (t[field + ".bytes"][o[i]:o[i + 1]], tuple(int(v) for v in t[field + ".shapes"][i]),
                                     metadata[field + ".encoding"])
            samples.append(sample)
    return manifest, samples


def decode(payload, mode):
    """A PIL image of a blob: encoded bytes, or raw HWC rows."""
    data, (h, w, c), encoding = payload
    if encoding == "raw":
        return Image.fromarray(data.reshape(h, w, c) if mode == "RGB" else data.reshape(h, w))
    image = Image.open(io.BytesIO(data.tobytes()))
    return image.convert("RGB") if mode == "RGB" and image.mode != "RGB" else image


def transform(sample, S, thumbnail):
    """[3, S, S] normalised float32, the [S, S] mask (or None) and a thumbnail (or None) of one sample."""
    image = F.resize(decode(sample["image"], "RGB"), [S, S], InterpolationMode.BILINEAR)  # Pillow BILINEAR, antialiased
    x = ((np.asarray(image, dtype=np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1)
    mask = None
    if "mask" in sample:
        mask = np.asarray(F.resize(decode(sample["mask"], "L"), [S, S], InterpolationMode.NEAREST), dtype=np.uint8)
    small = np.asarray(image.resize((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.BILINEAR)) if thumbnail else None
    return np.ascontiguousarray(x), mask, small


def atomic_write(data, path):
    """Temporary file, fsync, rename, fsync of the folder (cribo's AtomicFile)."""
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    folder = os.open(os.path.dirname(path), os.O_RDONLY)
    os.fsync(folder)
    os.close(folder)


def extract(model, checkpoint, split, out, S, patch, dtype, pool):
    """One extraction of the whole split into `out`; returns (seconds, forward seconds, images)."""
    start = time.perf_counter()
    model.load_state_dict(load_file(checkpoint), strict=True)
    with open(checkpoint, "rb") as f:
        checkpoint_sha256 = hashlib.sha256(f.read()).hexdigest()
    manifest, samples = read_split(split)
    os.makedirs(out, exist_ok=True)
    count, grid, D = len(samples), S // patch, model.embed_dim
    has_masks = count > 0 and "mask" in samples[0]
    forward_seconds, records = 0.0, []
    for index, first in enumerate(range(0, count, IMAGES_PER_SHARD)):
        positions = list(range(first, min(first + IMAGES_PER_SHARD, count)))
        n = len(positions)
        tokens = np.empty((n, grid, grid, D), np.float32)
        cls = np.empty((n, D), np.float32)
        labels = np.empty((n, S, S), np.uint8) if has_masks else None
        thumbnails = []
        for b0 in range(0, n, BATCH):
            batch = positions[b0:b0 + BATCH]
            results = list(pool.map(lambda i: transform(samples[i], S, i < THUMBNAILS), batch))
            x = torch.from_numpy(np.stack([r[0] for r in results]))  # [B, 3, S, S]
            t0 = time.perf_counter()
            with torch.inference_mode():
                y = model.forward_features(x)  # [B, 1 + h*w, D]
            forward_seconds += time.perf_counter() - t0
            y = y.numpy()
            cls[b0:b0 + len(batch)] = y[:, 0]
            tokens[b0:b0 + len(batch)] = y[:, 1:].reshape(len(batch), grid, grid, D)
            for k, (_, mask, small) in enumerate(results):
                if has_masks:
                    labels[b0 + k] = mask
                if small is not None:
                    thumbnails.append(small)
        stored = np.float16 if dtype == "f16" else np.float32
        names = [samples[i]["name"] for i in positions]
        tensors = {
            "tokens": tokens.astype(stored, copy=False), "cls": cls.astype(stored, copy=False),
            "sample.index": np.array(positions, np.int64), "sample.id": np.array([samples[i]["id"] for i in positions], np.int64),
            "sample.name.bytes": np.frombuffer(b"".join(names), np.uint8),
            "sample.name.offsets": np.cumsum([0] + [len(s) for s in names]).astype(np.int64),
        }
        if has_masks:
            tensors["labels"] = labels
        if thumbnails:
            tensors["thumbnails"] = np.stack(thumbnails)
        data = serialize(tensors, metadata={
            "format": "torch-features", "dataset": manifest["dataset"], "split": manifest["split"], "sampleCount": str(n),
            "shardIndex": str(index), "resolution": str(S), "patchSize": str(patch), "dtype": dtype,
            "checkpoint": checkpoint, "checkpointSHA256": checkpoint_sha256})
        name = f"features-{index:05d}.safetensors"
        atomic_write(data, os.path.join(out, name))
        records.append({"file": name, "firstSample": first, "count": n, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    atomic_write(json.dumps({"sampleCount": count, "resolution": S, "dtype": dtype, "shards": records}, indent=2).encode(),
                 os.path.join(out, "features.json"))
    return time.perf_counter() - start, forward_seconds, count


def line(cells):
    widths = [12, 6, 8, 8, 10, 10, 12, 11]
    return " |".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", help="ingested split (default: the one `cribo-bench features --images N` synthesized)")
    parser.add_argument("--images", type=int, default=64, help="picks the default split: <folder>/voc-<images>/shards/voc/val")
    parser.add_argument("--arch", default="vit_small")
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument("--resolution", default="448,224")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--dtype", default="f32", choices=["f32", "f16"])
    parser.add_argument("--folder", default="/tmp/cribo-features-bench")
    args = parser.parse_args()
    split = args.split or os.path.join(args.folder, f"voc-{args.images}", "shards", "voc", "val")
    if not os.path.exists(os.path.join(split, "manifest.json")):
        sys.exit(f"{split}: no manifest.json; run `.build/release/cribo-bench features --images {args.images}` first, or pass --split")

    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    model = timm.create_model(f"{args.arch}_patch{args.patch_size}_224", pretrained=False, num_classes=0,
                              dynamic_img_size=True).eval()
    checkpoint = os.path.join(args.folder, f"torch-{args.arch}-p{args.patch_size}-seed0.safetensors")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, checkpoint)
    out = os.path.join(args.folder, "torch-features-out")

    print(f"PyTorch feature-extraction reference: {split}, batch {BATCH}, tokens {args.dtype}")
    print(f"torch {torch.__version__}, timm {timm.__version__}, Pillow {Image.__version__}; cores: {os.cpu_count()}")
    print(line(["arch", "S", "threads", "images", "seconds", "img/s", "fwd img/s", "fwd share"]))
    print("-" * 92)
    for S in [int(s) for s in args.resolution.split(",")]:
        for t in [int(s) for s in args.threads.split(",")]:
            torch.set_num_threads(t)
            with torch.inference_mode():
                model.forward_features(torch.randn(BATCH, 3, S, S))  # warm-up
            shutil.rmtree(out, ignore_errors=True)
            with ThreadPoolExecutor(max_workers=t) as pool:
                seconds, forward_seconds, count = extract(model, checkpoint, split, out, S, args.patch_size, args.dtype, pool)
            shutil.rmtree(out, ignore_errors=True)
            print(line([f"{args.arch}/{args.patch_size}", str(S), str(t), str(count), f"{seconds:.2f}", f"{count / seconds:.2f}",
                        f"{count / forward_seconds:.2f}", f"{100 * forward_seconds / seconds:.0f}%"]))
    print("\nNote: seconds = checkpoint load + SHA-256, reading the split's shards, decode + resize on T threads, "
          "forward passes, feature shards (fsync'ed) and the manifest; fwd = the run's own forward passes.")


if __name__ == "__main__":
    main()
