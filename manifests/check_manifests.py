#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check (and partly regenerate) the committed dataset definitions in this folder.

    python3 manifests/check_manifests.py             # check every invariant; exit 1 on any failure
    python3 manifests/check_manifests.py --fix       # rewrite the files in canonical form, recompute the VOC palette
    python3 manifests/check_manifests.py --regen-imagenet MAP_CLSLOC SYNSET_MAPPING
    python3 manifests/check_manifests.py --regen-ade OBJECTINFO150 [--mmseg-names NAMES_TXT]
    python3 manifests/check_manifests.py --regen-coco COCO_CATEGORIES

The --regen-* options rebuild a class table from source files (see README.md for where they come from; the
source files themselves are not committed) and write it into the JSON, which is then checked as usual.
Plain Python 3, standard library only.
"""

import argparse
import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATASETS = ("coco", "imagenet", "voc", "ade20k")
TOP_KEYS = {"archives", "classes", "dataset", "description", "formatVersion", "labelEncoding", "sources", "splits"}
ARCHIVE_KEYS = {"approximateBytes", "checksumSource", "md5", "name", "required", "role", "sha256", "splits"}
ROLES = {"images", "annotations", "images+annotations", "devkit", "labels"}
SOURCE_KEYS = {"commit", "path", "repo", "usedFor"}

EXPECTED_ARCHIVES = {
    "coco": {"train2017.zip", "val2017.zip", "annotations_trainval2017.zip"},
    "imagenet": {"ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar", "ILSVRC2012_devkit_t12.tar.gz",
                 "LOC_val_solution.csv", "LOC_synset_mapping.txt"},
    "voc": {"VOCtrainval_11-May-2012.tar", "SegmentationClassAug.zip"},
    "ade20k": {"ADEChallengeData2016.zip"},
}
OPTIONAL_ARCHIVES = {"LOC_val_solution.csv", "LOC_synset_mapping.txt", "SegmentationClassAug.zip"}
EXPECTED_SPLITS = {
    "coco": {"train2017": 118287, "val2017": 5000},
    "imagenet": {"train": 1281167, "val": 50000},
    "voc": {"train": 1464, "val": 1449, "trainval": 2913, "trainaug": 10582},
    "ade20k": {"training": 20210, "validation": 2000},
}
COCO_UNUSED_IDS = [12, 26, 29, 30, 45, 66, 68, 69, 71, 83]
VOC_NAMES = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
             "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
             "tvmonitor"]
# datasets.md section 3.2 spot values of the bitget colour map.
VOC_PALETTE_SPOTS = {0: [0, 0, 0], 1: [128, 0, 0], 2: [0, 128, 0], 3: [128, 128, 0], 4: [0, 0, 128],
                     15: [192, 128, 128], 20: [0, 64, 128], 255: [224, 224, 192]}
# datasets.md section 2.4: the first five lines of ILSVRC2012_validation_ground_truth.txt (devkit IDs) and the same
# images' sorted-wnid indices; val_00000001 is n01751748 (sea snake).
IMAGENET_VAL_SPOT = [(490, 65), (361, 970), (171, 230), (822, 809), (297, 516)]
ADE_SPOTS = {1: "wall", 2: "building", 3: "sky", 4: "floor", 5: "tree", 6: "ceiling", 7: "road", 8: "bed",
             9: "windowpane", 10: "grass", 150: "flag"}

# SHA-256 of the canonical text of each class table (see table_digest). They pin the tables as generated from the
# sources named in README.md, so that an accidental edit (e.g. two swapped IDs) fails the check. After a deliberate,
# sourced change, update the constant and say why in the commit.
TABLE_DIGESTS = {
    "coco": "c3625c0c4fafd5ac3c8f4e7aa1a018106190f128980ff123bca5d2fafe4e5682",
    "imagenet": "9f2ce9e0ab855829b45ee655c75dc7c17d0c76e447cf2a92d9a8d573d9024a9b",
    "ade20k": "42cf8009e30c4bca059e385c5fe1310f8f6010ef62a88505c53915247c91ce86",
}

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
WNID = re.compile(r"^n[0-9]{8}$")


# ----------------------------------------------------------------------------------------------------------------
# Generators (pure functions of source text)

def voc_palette():
    """The 256-entry Pascal VOC "bitget" colour map (datasets.md section 3.2)."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette.append([r, g, b])
    return palette


def parse_map_clsloc(text):
    """`wnid ILSVRC2012_ID name` lines (devkit map_clsloc.txt) -> {wnid: id}. A header line is skipped."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2 or not WNID.match(parts[0]):
            continue
        if parts[0] in out:
            raise ValueError("duplicate wnid in map_clsloc: " + parts[0])
        out[parts[0]] = int(parts[1])
    return out


def parse_synset_mapping(text):
    """`wnid name, name, ...` lines (Kaggle LOC_synset_mapping.txt / caffe synset_words.txt) -> [(wnid, names)]."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        wnid, _, rest = line.partition(" ")
        if not WNID.match(wnid):
            raise ValueError("not a synset line: " + line)
        out.append((wnid, [n.strip() for n in rest.split(", ")]))
    return out


def build_imagenet_classes(map_text, synset_text):
    ids = parse_map_clsloc(map_text)
    synsets = parse_synset_mapping(synset_text)
    wnids = [w for w, _ in synsets]
    if wnids != sorted(wnids):
        raise ValueError("synset mapping is not in sorted-wnid order")
    if set(wnids) != set(ids):
        raise ValueError("synset mapping and map_clsloc disagree on the wnid set")
    return [{"index": i, "wnid": w, "ilsvrc2012Id": ids[w], "names": names} for i, (w, names) in enumerate(synsets)]


def parse_object_info150(text):
    """objectInfo150.txt (tab-separated `Idx Ratio Train Val Name`, header line) -> list of class dicts."""
    lines = text.splitlines()
    if [c.strip() for c in lines[0].split("\t")] != ["Idx", "Ratio", "Train", "Val", "Name"]:
        raise ValueError("unexpected objectInfo150 header: " + repr(lines[0]))
    out = []
    for line in lines[1:]:
        if not line.strip():
            continue
        idx, ratio, train, val, name = line.split("\t")
        synonyms = [s.strip() for s in name.split(",")]
        out.append({"index": int(idx.strip()), "ratio": float(ratio), "train": int(train), "val": int(val),
                    "name": synonyms[0], "synonyms": synonyms})
    return out


def build_ade_classes(objectinfo_text, mmseg_names=None):
    classes = parse_object_info150(objectinfo_text)
    if mmseg_names is not None:
        if len(mmseg_names) != len(classes):
            raise ValueError("mmseg name list has %d entries, expected %d" % (len(mmseg_names), len(classes)))
        for c, n in zip(classes, mmseg_names):
            c["mmsegName"] = n.strip()
    return classes


def build_coco_classes(categories_text):
    """torchvision prototype `coco.categories` (line i = category id i, `name,supercategory`, `N/A,N/A` for
    unused ids, line 0 = background) -> (classes, unusedIds)."""
    lines = [l for l in categories_text.splitlines() if l.strip()]
    classes, unused = [], []
    for cid, line in enumerate(lines):
        if cid == 0:
            continue
        name, supercategory = line.rsplit(",", 1)
        if name == "N/A":
            unused.append(cid)
        else:
            classes.append({"id": cid, "name": name, "supercategory": supercategory, "index": len(classes) + 1})
    return classes, unused


def table_lines(dataset, classes):
    """One canonical text line per class, the input of table_digest."""
    if dataset == "coco":
        return ["%d %d %s|%s" % (c["id"], c["index"], c["name"], c["supercategory"]) for c in classes]
    if dataset == "imagenet":
        return ["%d %s %d %s" % (c["index"], c["wnid"], c["ilsvrc2012Id"], "|".join(c["names"])) for c in classes]
    if dataset == "ade20k":
        return ["%d %r %d %d %s %s" % (c["index"], c["ratio"], c["train"], c["val"], "|".join(c["synonyms"]),
                                       c.get("mmsegName")) for c in classes]
    raise KeyError(dataset)


def table_digest(dataset, classes):
    text = "".join(line + "\n" for line in table_lines(dataset, classes))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------------------------------------------
# Files

def path_of(dataset):
    return os.path.join(HERE, dataset + ".json")


def canonical(obj):
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def load(dataset):
    with open(path_of(dataset), encoding="utf-8") as f:
        return f.read()


def save(dataset, obj):
    with open(path_of(dataset), "w", encoding="utf-8", newline="\n") as f:
        f.write(canonical(obj))


def read_text(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


# ----------------------------------------------------------------------------------------------------------------
# Checks

class Checker:
    def __init__(self):
        self.failures = []

    def expect(self, condition, message):
        if not condition:
            self.failures.append(message)
        return condition


def check_common(ck, ds, text, m):
    p = ds + ".json: "
    ck.expect(text == canonical(m), p + "not in canonical form (2-space indent, sorted keys, trailing newline); "
                                       "run with --fix")
    missing = TOP_KEYS - set(m)
    ck.expect(not missing, p + "missing top-level keys %s" % sorted(missing))
    ck.expect(m.get("dataset") == ds, p + "dataset must be %r" % ds)
    ck.expect(m.get("formatVersion") == 1, p + "formatVersion must be 1")
    ck.expect(isinstance(m.get("description"), str) and m["description"], p + "description must be a string")

    splits = m.get("splits", [])
    names = [s.get("name") for s in splits]
    ck.expect(len(names) == len(set(names)), p + "duplicate split names")
    counts = {s.get("name"): s.get("images") for s in splits}
    ck.expect(counts == EXPECTED_SPLITS[ds], p + "splits %s != expected %s" % (counts, EXPECTED_SPLITS[ds]))

    archives = m.get("archives", [])
    anames = [a.get("name") for a in archives]
    ck.expect(len(anames) == len(set(anames)), p + "duplicate archive names")
    ck.expect(set(anames) == EXPECTED_ARCHIVES[ds], p + "archives %s != expected %s"
              % (sorted(anames), sorted(EXPECTED_ARCHIVES[ds])))
    for a in archives:
        q = p + "archive %s: " % a.get("name")
        ck.expect(set(a) == ARCHIVE_KEYS, q + "keys %s != %s" % (sorted(a), sorted(ARCHIVE_KEYS)))
        ck.expect(a.get("role") in ROLES, q + "role %r not in %s" % (a.get("role"), sorted(ROLES)))
        ck.expect(a.get("required") is (a.get("name") not in OPTIONAL_ARCHIVES), q + "wrong 'required'")
        ck.expect(isinstance(a.get("splits"), list) and a["splits"] and set(a["splits"]) <= set(names),
                  q + "splits must be a non-empty subset of %s" % names)
        size = a.get("approximateBytes")
        ck.expect(size is None or (isinstance(size, int) and not isinstance(size, bool) and size > 0),
                  q + "approximateBytes must be a positive integer or null")
        md5, sha = a.get("md5"), a.get("sha256")
        ck.expect(md5 is None or (isinstance(md5, str) and HEX32.match(md5)), q + "md5 must be 32 lowercase hex or null")
        ck.expect(sha is None or (isinstance(sha, str) and HEX64.match(sha)), q + "sha256 must be 64 lowercase hex or null")
        src = a.get("checksumSource")
        if md5 is None and sha is None:
            ck.expect(src is None, q + "checksumSource must be null when no checksum is recorded")
        else:
            ck.expect(isinstance(src, str) and src, q + "a recorded checksum needs a checksumSource")
    for s in splits:
        for an in s.get("archives", []):
            ck.expect(an in anames, p + "split %s names unknown archive %s" % (s.get("name"), an))

    enc = m.get("labelEncoding")
    ck.expect(isinstance(enc, dict) and enc and all(isinstance(v, str) for v in enc.values()),
              p + "labelEncoding must be an object of strings")
    sources = m.get("sources")
    ck.expect(isinstance(sources, list) and sources, p + "sources must be a non-empty list")
    for s in sources or []:
        ck.expect(isinstance(s, dict) and set(s) == SOURCE_KEYS, p + "source entry keys must be %s" % sorted(SOURCE_KEYS))


def check_coco(ck, m):
    p = "coco.json: "
    classes = m.get("classes", [])
    ck.expect(len(classes) == 80, p + "expected 80 classes, got %d" % len(classes))
    ids = [c.get("id") for c in classes]
    ck.expect(len(set(ids)) == len(ids), p + "duplicate category ids")
    ck.expect(ids == sorted(ids), p + "classes must be listed in id order")
    ck.expect([c.get("index") for c in classes] == list(range(1, len(classes) + 1)),
              p + "index must be 1..80 in sorted-id order")
    names = [c.get("name") for c in classes]
    ck.expect(len(set(names)) == len(names), p + "duplicate category names")
    ck.expect(all(isinstance(c.get("supercategory"), str) and c["supercategory"] for c in classes),
              p + "every class needs a supercategory")
    ck.expect(all(set(c) == {"id", "name", "supercategory", "index"} for c in classes), p + "class entry keys")
    ck.expect(m.get("unusedIds") == COCO_UNUSED_IDS, p + "unusedIds must be %s" % COCO_UNUSED_IDS)
    ck.expect(sorted(ids + (m.get("unusedIds") or [])) == list(range(1, 91)), p + "ids + unusedIds must be 1..90")
    ck.expect(m.get("noObjectIndex") == 0, p + "noObjectIndex must be 0")
    ck.expect(classes[:1] and classes[0].get("name") == "person" and classes[-1].get("name") == "toothbrush"
              and classes[-1].get("id") == 90, p + "spot check person=1 .. toothbrush=90 failed")


def check_voc(ck, m):
    p = "voc.json: "
    classes = m.get("classes", [])
    ck.expect([c.get("index") for c in classes] == list(range(21)), p + "index must be 0..20")
    ck.expect([c.get("name") for c in classes] == VOC_NAMES, p + "class names/order differ from mmseg's list")
    ck.expect(m.get("ignoreIndex") == 255, p + "ignoreIndex must be 255")
    palette = m.get("palette")
    ck.expect(isinstance(palette, list) and len(palette) == 256, p + "palette must have 256 entries")
    ck.expect(palette == voc_palette(), p + "palette differs from the bitget colour map (run --fix)")
    for i, rgb in VOC_PALETTE_SPOTS.items():
        ck.expect(voc_palette()[i] == rgb, "voc_palette() self-check failed at %d" % i)
        ck.expect(isinstance(palette, list) and len(palette) > i and palette[i] == rgb,
                  p + "palette[%d] must be %s" % (i, rgb))
    ck.expect(isinstance(palette, list) and len(set(map(tuple, palette))) == 256, p + "palette colours not unique")


def check_ade(ck, m):
    p = "ade20k.json: "
    classes = m.get("classes", [])
    ck.expect(len(classes) == 150, p + "expected 150 classes, got %d" % len(classes))
    ck.expect([c.get("index") for c in classes] == list(range(1, 151)), p + "index must be 1..150")
    for c in classes:
        q = p + "class %s: " % c.get("index")
        syn = c.get("synonyms") or []
        ck.expect(syn and all(isinstance(s, str) and s and s == s.strip() for s in syn),
                  q + "synonyms must be non-empty stripped strings")
        ck.expect(syn[:1] == [c.get("name")], q + "name must be the first synonym")
        ck.expect(isinstance(c.get("ratio"), float) and 0 < c["ratio"] < 1, q + "ratio must be a float in (0, 1)")
        ck.expect(isinstance(c.get("train"), int) and 0 < c["train"] <= 20210, q + "train count out of range")
        ck.expect(isinstance(c.get("val"), int) and 0 < c["val"] <= 2000, q + "val count out of range")
        if "mmsegName" in c:
            ck.expect(isinstance(c["mmsegName"], str) and c["mmsegName"] and c["mmsegName"] == c["mmsegName"].strip(),
                      q + "mmsegName must be a stripped string")
            ck.expect(c["mmsegName"] in syn, q + "mmsegName %r is not one of the synonyms" % c["mmsegName"])
    names = [c.get("name") for c in classes]
    ck.expect(len(set(names)) == len(names), p + "class names (first synonyms) not unique")
    mm = [c.get("mmsegName") for c in classes if "mmsegName" in c]
    ck.expect(not mm or (len(mm) == 150 and len(set(mm)) == 150), p + "mmsegName must be on all classes and unique")
    ratios = [c.get("ratio") for c in classes]
    ck.expect(ratios == sorted(ratios, reverse=True), p + "ratios must be non-increasing (objectInfo150 order)")
    by_index = {c.get("index"): c.get("name") for c in classes}
    for i, n in ADE_SPOTS.items():
        ck.expect(by_index.get(i) == n, p + "class %d must be %r, got %r" % (i, n, by_index.get(i)))
    ck.expect(m.get("otherIndex") == 0, p + "otherIndex must be 0")
    ck.expect(m.get("ignoreIndex") == 255, p + "ignoreIndex must be 255")
    ck.expect(m.get("reduceZeroLabel") is True, p + "reduceZeroLabel must be true (mmseg's fixed convention)")
    ck.expect(isinstance(m.get("labelEncoding", {}).get("reduceZeroLabel"), str),
              p + "labelEncoding.reduceZeroLabel must explain the convention")


def check_imagenet(ck, m):
    p = "imagenet.json: "
    classes = m.get("classes", [])
    ck.expect(len(classes) == 1000, p + "expected 1000 classes, got %d" % len(classes))
    ck.expect(all(set(c) == {"index", "wnid", "ilsvrc2012Id", "names"} for c in classes), p + "class entry keys")
    ck.expect([c.get("index") for c in classes] == list(range(len(classes))), p + "index must be 0..999")
    wnids = [c.get("wnid") for c in classes]
    ck.expect(all(isinstance(w, str) and WNID.match(w) for w in wnids), p + "malformed wnid")
    ck.expect(len(set(wnids)) == len(wnids), p + "wnids not unique")
    ck.expect(wnids == sorted(wnids), p + "index must follow sorted-wnid order")
    ids = [c.get("ilsvrc2012Id") for c in classes]
    ck.expect(sorted(ids) == list(range(1, 1001)), p + "ilsvrc2012Id must be a permutation of 1..1000")
    ck.expect(all(c.get("names") and all(isinstance(n, str) and n and n == n.strip() for n in c["names"])
                  for c in classes), p + "names must be non-empty lists of stripped strings")
    ck.expect(wnids[:1] == ["n01440764"], p + "index 0 must be n01440764 (tench)")
    id_to_index = {c.get("ilsvrc2012Id"): c.get("index") for c in classes}
    id_to_wnid = {c.get("ilsvrc2012Id"): c.get("wnid") for c in classes}
    ck.expect(id_to_wnid.get(1) == "n02119789", p + "ILSVRC2012_ID 1 must be n02119789 (kit fox)")
    ck.expect(id_to_wnid.get(2) == "n02100735" and id_to_wnid.get(3) == "n02110185",
              p + "ILSVRC2012_ID 2, 3 must be n02100735, n02110185")
    ck.expect(len(wnids) > 278 and wnids[278] == "n02119789", p + "index 278 must be n02119789 (kit fox)")
    got = [id_to_index.get(i) for i, _ in IMAGENET_VAL_SPOT]
    want = [j for _, j in IMAGENET_VAL_SPOT]
    ck.expect(got == want, p + "val ground-truth spot check: devkit IDs %s -> %s, expected %s"
              % ([i for i, _ in IMAGENET_VAL_SPOT], got, want))
    ck.expect(id_to_wnid.get(490) == "n01751748", p + "val_00000001 (ID 490) must be n01751748 (sea snake)")
    ck.expect(classes[:1] and classes[0].get("names", [None])[0] == "tench", p + "index 0 must be named tench")


CHECKS = {"coco": check_coco, "imagenet": check_imagenet, "voc": check_voc, "ade20k": check_ade}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fix", action="store_true", help="rewrite in canonical form and recompute the VOC palette")
    ap.add_argument("--regen-imagenet", nargs=2, metavar=("MAP_CLSLOC", "SYNSET_MAPPING"))
    ap.add_argument("--regen-ade", metavar="OBJECTINFO150")
    ap.add_argument("--mmseg-names", metavar="NAMES_TXT", help="with --regen-ade: mmseg's 150 names, one a line")
    ap.add_argument("--regen-coco", metavar="COCO_CATEGORIES")
    args = ap.parse_args(argv)

    if args.regen_imagenet:
        m = json.loads(load("imagenet"))
        m["classes"] = build_imagenet_classes(read_text(args.regen_imagenet[0]), read_text(args.regen_imagenet[1]))
        save("imagenet", m)
    if args.regen_ade:
        m = json.loads(load("ade20k"))
        names = read_text(args.mmseg_names).splitlines() if args.mmseg_names else None
        m["classes"] = build_ade_classes(read_text(args.regen_ade), names)
        save("ade20k", m)
    if args.regen_coco:
        m = json.loads(load("coco"))
        m["classes"], m["unusedIds"] = build_coco_classes(read_text(args.regen_coco))
        save("coco", m)
    if args.fix:
        for ds in DATASETS:
            m = json.loads(load(ds))
            if ds == "voc":
                m["palette"] = voc_palette()
            save(ds, m)

    ck = Checker()
    for ds in DATASETS:
        try:
            text = load(ds)
            m = json.loads(text)
        except (OSError, ValueError) as e:
            ck.expect(False, "%s.json: cannot read: %s" % (ds, e))
            continue
        check_common(ck, ds, text, m)
        try:
            CHECKS[ds](ck, m)
            if ds in TABLE_DIGESTS:
                digest = table_digest(ds, m.get("classes", []))
                ck.expect(digest == TABLE_DIGESTS[ds], "%s.json: class table digest %s != pinned %s (an edit that "
                          "is not a sourced regeneration?)" % (ds, digest, TABLE_DIGESTS[ds]))
        except Exception as e:  # a malformed file must fail the check, not crash it
            ck.expect(False, "%s.json: check raised %s: %s" % (ds, type(e).__name__, e))
    for f in ck.failures:
        print("FAIL " + f, file=sys.stderr)
    if ck.failures:
        print("%d failure(s)" % len(ck.failures), file=sys.stderr)
        return 1
    print("ok: " + ", ".join(ds + ".json" for ds in DATASETS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
