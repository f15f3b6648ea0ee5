// SPDX-License-Identifier: Apache-2.0
// Pascal VOC 2012 segmentation from VOCtrainval_11-May-2012.tar (datasets.md §3): the ids of
// VOC2012/ImageSets/Segmentation/<split>.txt, their JPEGImages/<id>.jpg and SegmentationClass/<id>.png, whose
// palette indices (0 background, 1..20 classes, 255 void) are kept as stored — never expanded to colours. The
// `trainaug` split (10,582 images with the real data) adds SegmentationClassAug.zip's gray masks (§3.5).

import Foundation

/// The Pascal VOC 2012 segmentation ingestor.
package struct VOCIngestor: DatasetIngestor {
    package static let archive = "VOCtrainval_11-May-2012.tar"
    package static let classNames = [
        "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
        "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ]

    package init() {}

    package static let augmentationArchive = "SegmentationClassAug.zip"

    package var name: String { "voc" }
    package var defaultSplits: [String] { ["train", "val"] }
    package var knownSplits: [String] { ["train", "val", "trainval", "trainaug"] }

    package func archives(for split: String, rawFolder: String) -> [String] {
        split == "trainaug" ? [Self.archive, Self.augmentationArchive] : [Self.archive]
    }

    package func plan(split: String, options: IngestOptions) throws -> IngestPlan {
        let wanted = split == "trainaug" ? ["train", "val"] : [split]
        let (root, lists) = try readLists(wanted, options: options)
        var samples: [PlannedSample]
        var counts: [String: Int]
        if split == "trainaug" {
            // trainaug = (VOC train ∪ SBD-derived ids) − VOC val (mmseg's voc_aug): train ids keep their
            // SegmentationClass masks, the others take SegmentationClassAug/<id>.png (gray, values 0..20 and 255).
            let augmented = try augmentationIDs(options: options)
            let train = Set(lists["train"]!), val = Set(lists["val"]!)
            let ids = train.union(augmented.keys.filter { !val.contains($0) }).sorted()
            samples = ids.map { id in
                let mask = train.contains(id)
                    ? MemberReference(archive: Self.archive, member: root + "SegmentationClass/\(id).png")
                    : MemberReference(archive: Self.augmentationArchive, member: augmented[id]!)
                return PlannedSample(name: id, parts: [MemberReference(archive: Self.archive, member: root + "JPEGImages/\(id).jpg"): .image, mask: .indexMask])
            }
            counts = ["listed": ids.count, "fromSegmentationClass": train.count, "fromSegmentationClassAug": ids.count - train.count]
        } else {
            samples = lists[split]!.map { id in
                PlannedSample(name: id, parts: [
                    MemberReference(archive: Self.archive, member: root + "JPEGImages/\(id).jpg"): .image,
                    MemberReference(archive: Self.archive, member: root + "SegmentationClass/\(id).png"): .indexMask,
                ])
            }
            counts = ["listed": samples.count]
        }
        var plan = IngestPlan(samples: samples, archives: archives(for: split, rawFolder: options.rawFolder), fields: ["image", "mask"],
            hasLabels: false, classNames: Self.classNames)
        plan.counts = counts
        plan.labelEncoding = [
            "mask": "class indices as stored: 0 background, 1..20 classes (classNames order), 255 void/boundary",
            "ignoreIndex": "255",
        ]
        return plan
    }

    /// The split lists `names` of the VOC tar (ImageSets/Segmentation/<name>.txt) and the member root.
    private func readLists(_ names: [String], options: IngestOptions) throws -> (root: String, lists: [String: [String]]) {
        var texts: [String: String] = [:]
        var root = ""
        let reader = try ArchiveReader(path: options.rawFolder + "/" + Self.archive)
        while let entry = try reader.next() {
            let name = names.first { entry.name.hasSuffix("VOC2012/ImageSets/Segmentation/\($0).txt") }
            if entry.isRegularFile, let name, texts[name] == nil {
                root = String(entry.name.dropLast("ImageSets/Segmentation/\(name).txt".count))
                texts[name] = String(decoding: try reader.readData(limit: 16 << 20), as: UTF8.self)
            } else {
                try reader.skipData()
            }
        }
        var lists: [String: [String]] = [:]
        for name in names {
            guard let text = texts[name] else {
                throw IngestError.wrongArchive(archive: options.rawFolder + "/" + Self.archive,
                    reason: "no member ending in VOC2012/ImageSets/Segmentation/\(name).txt; is this the Pascal VOC 2012 trainval tar?")
            }
            lists[name] = try Self.parseList(text, source: "\(Self.archive):\(root)ImageSets/Segmentation/\(name).txt")
        }
        return (root, lists)
    }

    /// id → member of every SegmentationClassAug/<id>.png in the augmentation zip.
    private func augmentationIDs(options: IngestOptions) throws -> [String: String] {
        let path = options.rawFolder + "/" + Self.augmentationArchive
        let reader = try ArchiveReader(path: path)
        var members: [String: String] = [:]
        while let entry = try reader.next() {
            if entry.isRegularFile, entry.name.hasSuffix(".png"), let range = entry.name.range(of: "SegmentationClassAug/"),
                !entry.name.contains("__MACOSX")
            {
                members[String(entry.name[range.upperBound...].dropLast(4))] = entry.name
            }
            try reader.skipData()
        }
        guard !members.isEmpty else {
            throw IngestError.wrongArchive(archive: path, reason: "no SegmentationClassAug/<id>.png members")
        }
        return members
    }

    /// The ids of a split list: one per line, surrounding whitespace ignored, duplicates an error.
    static func parseList(_ text: String, source: String) throws -> [String] {
        var ids: [String] = []
        var seen = Set<String>()
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let id = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if id.isEmpty { continue }
            guard id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw IngestError.badMetadata(source: source, reason: "line \(number + 1): '\(id)' is not an image id")
            }
            guard seen.insert(id).inserted else {
                throw IngestError.badMetadata(source: source, reason: "line \(number + 1): id \(id) listed twice")
            }
            ids.append(id)
        }
        guard !ids.isEmpty else { throw IngestError.badMetadata(source: source, reason: "the split list is empty") }
        return ids
    }
}
