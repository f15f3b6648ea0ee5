// SPDX-License-Identifier: Apache-2.0
// Pascal VOC 2012 segmentation from VOCtrainval_11-May-2012.tar (datasets.md §3): the ids of
// VOC2012/ImageSets/Segmentation/<split>.txt, their JPEGImages/<id>.jpg and SegmentationClass/<id>.png, whose
// palette indices (0 background, 1..20 classes, 255 void) are kept as stored — never expanded to colours.

import Foundation

/// The Pascal VOC 2012 segmentation ingestor.
package struct VOCIngestor: DatasetIngestor {
    package static let archive = "VOCtrainval_11-May-2012.tar"
    package static let classNames = [
        "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
        "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ]

    package init() {}

    package var name: String { "voc" }
    package var defaultSplits: [String] { ["train", "val"] }
    package var knownSplits: [String] { ["train", "val", "trainval"] }
    package func archives(for split: String, rawFolder: String) -> [String] { [Self.archive] }

    package func plan(split: String, options: IngestOptions) throws -> IngestPlan {
        let listSuffix = "VOC2012/ImageSets/Segmentation/\(split).txt"
        var listText: String?
        var root = ""
        let reader = try ArchiveReader(path: options.rawFolder + "/" + Self.archive)
        while let entry = try reader.next() {
            if entry.isRegularFile && entry.name.hasSuffix(listSuffix) && listText == nil {
                root = String(entry.name.dropLast("ImageSets/Segmentation/\(split).txt".count))
                listText = String(decoding: try reader.readData(limit: 16 << 20), as: UTF8.self)
            } else {
                try reader.skipData()
            }
        }
        guard let listText else {
            throw IngestError.wrongArchive(archive: options.rawFolder + "/" + Self.archive,
                reason: "no member ending in \(listSuffix); is this the Pascal VOC 2012 trainval tar?")
        }
        let ids = try Self.parseList(listText, source: "\(Self.archive):\(root)ImageSets/Segmentation/\(split).txt")
        let samples = ids.map { id in
            PlannedSample(name: id, parts: [
                MemberReference(archive: Self.archive, member: root + "JPEGImages/\(id).jpg"): .image,
                MemberReference(archive: Self.archive, member: root + "SegmentationClass/\(id).png"): .indexMask,
            ])
        }
        var plan = IngestPlan(samples: samples, archives: [Self.archive], fields: ["image", "mask"], hasLabels: false,
            classNames: Self.classNames)
        plan.counts = ["listed": ids.count]
        plan.labelEncoding = [
            "mask": "palette indices as stored: 0 background, 1..20 classes (classNames order), 255 void/boundary",
            "ignoreIndex": "255",
        ]
        return plan
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
