// SPDX-License-Identifier: Apache-2.0
// ADE20K SceneParsing from ADEChallengeData2016.zip (datasets.md §4): images/<split>/*.jpg with
// annotations/<split>/<stem>.png, 8-bit gray labels 0..150 kept as stored (0 = "other", not a class; whether to
// reduce the zero label is the evaluator's choice, recorded in the manifest). Class names come from the archive's
// objectInfo150.txt.

import Foundation

/// The ADE20K (SceneParse150) ingestor.
package struct ADE20KIngestor: DatasetIngestor {
    package static let archive = "ADEChallengeData2016.zip"

    package init() {}

    package var name: String { "ade20k" }
    package var defaultSplits: [String] { ["training", "validation"] }
    package var knownSplits: [String] { ["training", "validation"] }
    package func archives(for split: String, rawFolder: String) -> [String] { [Self.archive] }

    package func plan(split: String, options: IngestOptions) throws -> IngestPlan {
        let path = options.rawFolder + "/" + Self.archive
        let reader = try ArchiveReader(path: path)
        var stems: [String] = []
        var root: String?
        var objectInfo: String?
        let imageFolder = "images/\(split)/"
        while let entry = try reader.next() {
            guard entry.isRegularFile else { continue }
            if entry.name.hasSuffix("objectInfo150.txt") {
                objectInfo = String(decoding: try reader.readData(limit: 1 << 20), as: UTF8.self)
                continue
            }
            if let range = entry.name.range(of: imageFolder), entry.name.hasSuffix(".jpg") {
                let prefix = String(entry.name[..<range.lowerBound])
                if root == nil { root = prefix }
                if prefix == root { stems.append(String(entry.name[range.upperBound...].dropLast(4))) }
            }
            try reader.skipData()
        }
        guard let root, !stems.isEmpty else {
            throw IngestError.wrongArchive(archive: path, reason: "no images/\(split)/*.jpg members; is this ADEChallengeData2016.zip?")
        }
        guard let objectInfo else {
            throw IngestError.wrongArchive(archive: path, reason: "no objectInfo150.txt member (the class list)")
        }
        let names = try Self.parseObjectInfo(objectInfo, source: "\(Self.archive):\(root)objectInfo150.txt")
        stems.sort()
        let samples = stems.map { stem in
            PlannedSample(name: stem, parts: [
                MemberReference(archive: Self.archive, member: root + "images/\(split)/\(stem).jpg"): .image,
                MemberReference(archive: Self.archive, member: root + "annotations/\(split)/\(stem).png"): .indexMask,
            ])
        }
        var plan = IngestPlan(samples: samples, archives: [Self.archive], fields: ["image", "mask"], hasLabels: false,
            classNames: ["other"] + names)
        plan.counts = ["images": stems.count]
        plan.labelEncoding = [
            "mask": "gray values as stored: 0 other/unlabelled, 1..150 classes (classNames order)",
            "ignoreIndex": "0 (or 255 after reduce_zero_label)",
            "reduceZeroLabel": "evaluator's choice: 0 -> 255 and k -> k-1 gives 150 classes 0..149",
        ]
        return plan
    }

    /// The 150 class names of objectInfo150.txt (tab-separated `Idx Ratio Train Val Name`; first synonym, stripped).
    static func parseObjectInfo(_ text: String, source: String) throws -> [String] {
        var names: [Int: String] = [:]
        for (number, line) in text.split(separator: "\n").enumerated() where number > 0 {
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard columns.count >= 5, let index = Int(columns[0].trimmingCharacters(in: .whitespaces)) else {
                throw IngestError.badMetadata(source: source, reason: "line \(number + 1) is not 'Idx\\tRatio\\tTrain\\tVal\\tName'")
            }
            let name = columns[4].split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
            names[index] = name
        }
        guard names.count == names.keys.max(), names.keys.min() == 1 else {
            throw IngestError.badMetadata(source: source, reason: "class indices are not 1..\(names.count)")
        }
        return (1...names.count).map { names[$0]! }
    }
}
