#!/usr/bin/env python3
"""Golden files for the COCO instance-annotation tests (Tests/CriboDataTests/COCOTests.swift).

Regenerate (from the repo root; needs `/opt/refenv/bin/pip install pycocotools==2.0.11`):
    /opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_coco_golden.py

Writes, next to this file, deterministically (seeded, no timestamps):
- coco_instances_fixture.json: a small instances JSON with every field of a real COCO 2017 file, all 80
  categories (ids 1..90 with the 10 unused ids), four images (one without annotations) and annotations
  exercising the tricky segmentation cases listed in FIXTURE_ANNOTATIONS.
- coco.safetensors:
    mask.<ann id>            U8  [h, w]  pycocotools COCO.annToMask (for the 4-number case, see below)
    counts.<ann id>          I64 [m]     column-major runs of that mask, starting with zeros (numpy)
    metadata compressed.<ann id>         pycocotools' compressed counts string of that mask (mask.encode)
    instance.<img id>        U16 [h, w]  label-map rule (below) applied to the annToMask outputs
    category.<img id>        U8  [h, w]
    instanceCategories.<img id> U8 [n+1], instanceIsCrowd.<img id> U8 [n+1] (index 0 = no object)
    poly.xy F64, poly.offsets I64 [n+1], poly.sizes I64 [n, 2], poly.masks U8 (concatenated h*w row-major)
                                         random single polygons rasterised by pycocotools (frPyObjects)
    box.xywh F64 [n, 4], box.sizes I64 [n, 2], box.masks U8   random boxes through frPyObjects(ndarray)
    rle.<i>.counts I64, metadata rle.<i>.string and rle.<i>.size ("h,w"): compressed strings of count lists
                                         with long runs, negative deltas and a leading zero run
The 4-number polygon: pycocotools' frPyObjects reads a first part of exactly 4 numbers as a bbox [x, y, w, h],
but with a Python list it raises TypeError (frBbox wants an ndarray; cocoapi issue #369), so annToMask fails on
it. The golden feeds the same numbers as an ndarray, i.e. the bbox reading frPyObjects intends.
Label-map rule: instance ids 1..n in annotation-id order; a pixel shows the covering instance with the smallest
mask area, ties going to the lowest annotation id; categories are contiguous 1..80 in sorted category-id order.
"""
import json
import os
import struct
from importlib import metadata

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from safetensors.numpy import save_file

SEED = 2017
OUT_DIR = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(OUT_DIR, "coco_instances_fixture.json")

CATEGORIES = """1 person person|2 bicycle vehicle|3 car vehicle|4 motorcycle vehicle|5 airplane vehicle|6 bus vehicle|
7 train vehicle|8 truck vehicle|9 boat vehicle|10 traffic_light outdoor|11 fire_hydrant outdoor|13 stop_sign outdoor|
14 parking_meter outdoor|15 bench outdoor|16 bird animal|17 cat animal|18 dog animal|19 horse animal|20 sheep animal|
21 cow animal|22 elephant animal|23 bear animal|24 zebra animal|25 giraffe animal|27 backpack accessory|
28 umbrella accessory|31 handbag accessory|32 tie accessory|33 suitcase accessory|34 frisbee sports|35 skis sports|
36 snowboard sports|37 sports_ball sports|38 kite sports|39 baseball_bat sports|40 baseball_glove sports|
41 skateboard sports|42 surfboard sports|43 tennis_racket sports|44 bottle kitchen|46 wine_glass kitchen|47 cup kitchen|
48 fork kitchen|49 knife kitchen|50 spoon kitchen|51 bowl kitchen|52 banana food|53 apple food|54 sandwich food|
55 orange food|56 broccoli food|57 carrot food|58 hot_dog food|59 pizza food|60 donut food|61 cake food|
62 chair furniture|63 couch furniture|64 potted_plant furniture|65 bed furniture|67 dining_table furniture|
70 toilet furniture|72 tv electronic|73 laptop electronic|74 mouse electronic|75 remote electronic|
76 keyboard electronic|77 cell_phone electronic|78 microwave appliance|79 oven appliance|80 toaster appliance|
81 sink appliance|82 refrigerator appliance|84 book indoor|85 clock indoor|86 vase indoor|87 scissors indoor|
88 teddy_bear indoor|89 hair_drier indoor|90 toothbrush indoor"""

# (image id, height, width); 9 has no annotations.
IMAGES = [(397133, 20, 28), (37777, 16, 20), (252219, 40, 50), (9, 10, 12)]


def polygon_annotations():
    """Polygon annotations of image 397133 (20 x 28) and 37777 (16 x 20): (id, image, category, segmentation)."""
    return [
        # concave (an arrow with a notch), 2-decimal coordinates
        (101, 397133, 1, [[2.13, 3.47, 12.88, 2.91, 9.02, 7.5, 13.61, 12.27, 2.5, 11.73, 5.49, 7.24]]),
        # two disjoint parts plus a third overlapping the first (union)
        (102, 397133, 18, [[15.0, 1.0, 19.0, 1.0, 19.0, 5.0, 15.0, 5.0],
                           [21.5, 1.5, 26.5, 1.5, 24.0, 6.5],
                           [17.0, 3.0, 20.5, 3.0, 20.5, 7.0, 17.0, 7.0]]),
        # vertices on pixel edges (integers) and pixel centres (.5)
        (103, 397133, 3, [[0.0, 14.0, 6.5, 13.5, 7.0, 19.0, 0.5, 18.5]]),
        # thin slivers: a near-horizontal one (thinner than a pixel) and a steep diagonal one
        (104, 397133, 90, [[8.2, 15.1, 20.7, 15.6, 20.7, 15.9, 8.2, 15.35]]),
        (105, 397133, 11, [[22.1, 7.3, 22.6, 7.2, 26.4, 18.8, 25.95, 18.9]]),
        # partly outside the image on every side
        (106, 397133, 13, [[-3.4, -2.2, 5.6, -0.7, 3.1, 2.6, -1.2, 4.4]]),
        (107, 397133, 62, [[24.3, 12.0, 31.7, 14.5, 27.2, 22.9, 23.1, 21.6]]),
        # a 4-number first part: a bbox [x, y, w, h]
        (108, 397133, 47, [[9.3, 8.6, 5.4, 3.2]]),
        # a 6+-number part followed by a degenerate 4-number part (rendered empty) and a repeated vertex
        (109, 397133, 44, [[13.0, 16.5, 17.25, 16.5, 17.25, 16.5, 17.25, 19.75, 13.0, 19.75], [1.0, 1.0, 3.0, 3.0]]),
        # image 37777: two equal-area overlapping squares (tie: the lower id wins), a small one on top of both
        (201, 37777, 20, [[2.0, 2.0, 8.0, 2.0, 8.0, 8.0, 2.0, 8.0]]),
        (202, 37777, 21, [[5.0, 5.0, 11.0, 5.0, 11.0, 11.0, 5.0, 11.0]]),
        (203, 37777, 22, [[6.0, 6.0, 8.0, 6.0, 8.0, 9.0, 6.0, 9.0]]),
    ]


def column_runs(mask):
    """Column-major run lengths starting with a run of zeros (the RLE counts of a mask)."""
    flat = np.asarray(mask, dtype=np.uint8).flatten(order="F")
    changes = np.flatnonzero(np.diff(np.concatenate(([0], flat))) != 0)
    edges = np.concatenate(([0], changes, [flat.size]))
    return np.diff(edges).astype(np.int64)


def compressed(counts, h, w):
    """pycocotools' compressed string for uncompressed counts (frPyObjects of an uncompressed RLE)."""
    rle = mask_utils.frPyObjects({"counts": [int(c) for c in counts], "size": [h, w]}, h, w)
    return rle["counts"].decode("ascii")


def crowd_and_rle_annotations(rng):
    """Image 37777: an uncompressed crowd RLE; image 252219 (40 x 50): compressed RLE annotations."""
    crowd = np.zeros((16, 20), np.uint8)
    crowd[0:13, 9:19] = 1
    crowd[3:6, 1:4] = 1
    crowd[:, 0] = 1  # the mask starts with a one: first count is 0
    anns = [(900100037777, 37777, 1, 1, {"counts": [int(c) for c in column_runs(crowd)], "size": [16, 20]})]
    blobs = (rng.random((40, 50)) < 0.35).astype(np.uint8)
    big = np.zeros((40, 50), np.uint8)
    big[5:38, 4:46] = 1
    big[12:20, 10:30] = 0
    anns.append((301, 252219, 5, 0, big))
    anns.append((302, 252219, 9, 0, blobs * (1 - big)))
    anns.append((900100252219, 252219, 1, 1, np.pad(np.ones((10, 50), np.uint8), ((30, 0), (0, 0)))))
    result = []
    for ann_id, image_id, category_id, crowd_flag, seg in anns:
        if isinstance(seg, np.ndarray):
            rle = mask_utils.encode(np.asfortranarray(seg))
            seg = {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}
        result.append((ann_id, image_id, category_id, crowd_flag, seg))
    return result


def build_fixture(rng):
    categories = [{"supercategory": item.split()[2], "id": int(item.split()[0]), "name": item.split()[1].replace("_", " ")}
                  for item in CATEGORIES.replace("\n", "").split("|")]
    images = [{"license": 1 + i % 2, "file_name": "%012d.jpg" % image_id,
               "coco_url": "http://images.cocodataset.org/val2017/%012d.jpg" % image_id, "height": h, "width": w,
               "date_captured": "2013-11-14 17:02:52", "flickr_url": "http://farm7.staticflickr.com/%d.jpg" % image_id,
               "id": image_id} for i, (image_id, h, w) in enumerate(IMAGES)]
    rows = [(a, i, c, 0, s) for a, i, c, s in polygon_annotations()] + crowd_and_rle_annotations(rng)
    annotations = [{"segmentation": seg, "area": 0.0, "iscrowd": crowd, "image_id": image_id, "bbox": [0, 0, 0, 0],
                    "category_id": category_id, "id": ann_id} for ann_id, image_id, category_id, crowd, seg in rows]
    rng.shuffle(annotations)  # the loader must not depend on list order
    return {"info": {"description": "COCO 2017 Dataset (cribo test fixture)", "url": "http://cocodataset.org",
                     "version": "1.0", "year": 2017, "contributor": "COCO Consortium", "date_created": "2017/09/01"},
            "licenses": [{"url": "http://creativecommons.org/licenses/by-nc-sa/2.0/", "id": 1,
                          "name": "Attribution-NonCommercial-ShareAlike License"},
                         {"url": "http://creativecommons.org/licenses/by-nc/2.0/", "id": 2,
                          "name": "Attribution-NonCommercial License"}],
            "images": images, "annotations": annotations, "categories": categories}


def ann_to_mask(coco, ann):
    """COCO.annToMask, except that a 4-number first polygon part goes to frPyObjects as an ndarray (bbox)."""
    seg = ann["segmentation"]
    if isinstance(seg, list) and len(seg[0]) == 4:
        image = coco.imgs[ann["image_id"]]
        rles = mask_utils.frPyObjects(np.array(seg, dtype=np.double), image["height"], image["width"])
        return mask_utils.decode(mask_utils.merge(rles))
    return coco.annToMask(ann)


def fill_area_and_bbox(fixture, coco):
    """Sets area (pycocotools mask area) and bbox (of the mask) like the real files carry them."""
    for ann in fixture["annotations"]:
        mask = ann_to_mask(coco, ann)
        ann["area"] = float(mask.sum()) if ann["iscrowd"] == 0 else int(mask.sum())
        ys, xs = np.nonzero(mask)
        ann["bbox"] = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]


def label_maps(coco, image_id, masks, contiguous):
    image = coco.imgs[image_id]
    anns = sorted(coco.imgToAnns[image_id], key=lambda a: a["id"])
    instance = np.zeros((image["height"], image["width"]), np.uint16)
    order = sorted(range(len(anns)), key=lambda k: (-int(masks[anns[k]["id"]].sum()), -anns[k]["id"]))
    for k in order:  # largest first; the smallest (ties: lowest id) is painted last and wins
        instance[masks[anns[k]["id"]] == 1] = k + 1
    categories = np.array([0] + [contiguous[a["category_id"]] for a in anns], np.uint8)
    crowd = np.array([0] + [a["iscrowd"] for a in anns], np.uint8)
    return instance, categories[instance], categories, crowd


def random_polygons(rng, count):
    xy, offsets, sizes, masks = [], [0], [], []
    for i in range(count):
        h, w = (int(v) for v in rng.integers(1, 25, 2))
        k = int(rng.integers(3, 10))
        mode = i % 4
        if mode == 0:
            points = rng.uniform(-4, max(h, w) + 4, 2 * k)
        elif mode == 1:
            points = np.round(rng.uniform(-2, max(h, w) + 2, 2 * k) * 2) / 2  # pixel edges and centres
        elif mode == 2:
            points = np.round(rng.uniform(0, max(h, w), 2 * k), 2)
        else:
            points = np.round(rng.uniform(-1, max(h, w) + 1, 2 * k) * 5) / 5  # on the x5 grid exactly
        if i % 10 == 3:
            points = np.concatenate((points[:2], points))  # a repeated vertex
        points = [float(v) for v in points]
        mask = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([points], h, w)))
        xy += points
        offsets.append(len(xy))
        sizes.append([h, w])
        masks.append(mask.reshape(-1))
    return (np.array(xy, np.float64), np.array(offsets, np.int64), np.array(sizes, np.int64),
            np.concatenate(masks).astype(np.uint8))


def random_boxes(rng, count):
    boxes, sizes, masks = [], [], []
    for i in range(count):
        h, w = (int(v) for v in rng.integers(1, 20, 2))
        box = np.array([rng.uniform(-3, w), rng.uniform(-3, h), rng.uniform(0, w), rng.uniform(0, h)])
        if i % 3 == 0:
            box = np.round(box * 2) / 2
        mask = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(box[None, :], h, w)))
        boxes.append(box)
        sizes.append([h, w])
        masks.append(mask.reshape(-1))
    return np.array(boxes, np.float64), np.array(sizes, np.int64), np.concatenate(masks).astype(np.uint8)


def rle_cases(rng):
    """Count lists for the compressed-string codec: long runs (> 2^15), negative deltas, a zero first run."""
    cases = [([300000, 7200], 480, 640), ([0, 307200], 480, 640), ([307200], 480, 640),
             ([70000, 5, 131000, 1, 17, 106177], 480, 640), ([0, 0, 0, 12], 3, 4), ([1, 2, 3, 4, 5, 6, 9], 3, 10)]
    for h, w in [(427, 640), (33, 7)]:
        mask = np.zeros((h, w), np.uint8)
        for _ in range(12):
            y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            mask[y:y + int(rng.integers(1, h)), x:x + int(rng.integers(1, w))] ^= 1
        cases.append(([int(c) for c in column_runs(mask)], h, w))
    return cases


def sort_metadata(path):
    """safetensors writes __metadata__ in hash order: rewrite the header with sorted keys (same length)."""
    with open(path, "r+b") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(length).rstrip(b" "))
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":")).encode()
        assert len(text) <= length
        f.seek(8)
        f.write(text + b" " * (length - len(text)))


def main():
    rng = np.random.default_rng(SEED)
    fixture = build_fixture(rng)
    coco = COCO()
    coco.dataset = fixture
    coco.createIndex()
    fill_area_and_bbox(fixture, coco)
    with open(FIXTURE, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")

    coco = COCO(FIXTURE)
    contiguous = {c: k + 1 for k, c in enumerate(sorted(coco.cats))}
    tensors, meta = {}, {"pycocotools": metadata.version("pycocotools"), "numpy": np.__version__, "seed": str(SEED)}
    masks = {}
    for ann in coco.dataset["annotations"]:
        mask = ann_to_mask(coco, ann)
        masks[ann["id"]] = mask
        tensors[f"mask.{ann['id']}"] = np.ascontiguousarray(mask, dtype=np.uint8)  # annToMask is Fortran-ordered
        tensors[f"counts.{ann['id']}"] = column_runs(mask)
        meta[f"compressed.{ann['id']}"] = mask_utils.encode(np.asfortranarray(mask))["counts"].decode("ascii")
    for image_id in coco.imgs:
        instance, category, categories, crowd = label_maps(coco, image_id, masks, contiguous)
        tensors[f"instance.{image_id}"] = instance
        tensors[f"category.{image_id}"] = category
        tensors[f"instanceCategories.{image_id}"] = categories
        tensors[f"instanceIsCrowd.{image_id}"] = crowd
    (tensors["poly.xy"], tensors["poly.offsets"], tensors["poly.sizes"], tensors["poly.masks"]) = random_polygons(rng, 240)
    tensors["box.xywh"], tensors["box.sizes"], tensors["box.masks"] = random_boxes(rng, 60)
    for i, (counts, h, w) in enumerate(rle_cases(rng)):
        assert sum(counts) == h * w
        tensors[f"rle.{i}.counts"] = np.array(counts, np.int64)
        meta[f"rle.{i}.string"] = compressed(counts, h, w)
        meta[f"rle.{i}.size"] = f"{h},{w}"
    path = os.path.join(OUT_DIR, "coco.safetensors")
    save_file(dict(sorted(tensors.items())), path, metadata=meta)
    sort_metadata(path)
    os.chmod(path, 0o644)


if __name__ == "__main__":
    main()
