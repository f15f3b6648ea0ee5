// SPDX-License-Identifier: Apache-2.0
// ImageNet-1k (ILSVRC2012) from ILSVRC2012_img_train.tar (a tar of one tar per synset) and ILSVRC2012_img_val.tar
// (datasets.md §2). Class index = position of the synset in the sorted list of the 1000 synsets (manifests/
// imagenet.json; without it, the synsets present). Validation labels come from LOC_val_solution.csv when present,
// else from the devkit's ILSVRC2012_validation_ground_truth.txt, whose ILSVRC2012_IDs are mapped to synsets with the
// definitions' table. Images are identified by their bytes: the PNG named .JPEG and CMYK JPEGs decode as RGB.

import Foundation

/// The ImageNet-1k ingestor.
package struct ImageNetIngestor: DatasetIngestor {
    package static let trainArchive = "ILSVRC2012_img_train.tar"
    package static let valArchive = "ILSVRC2012_img_val.tar"
    package static let devkitArchive = "ILSVRC2012_devkit_t12.tar.gz"
    package static let solutionFile = "LOC_val_solution.csv"

    package init() {}

    package var name: String { "imagenet" }
    package var defaultSplits: [String] { ["train", "val"] }
    package var knownSplits: [String] { ["train", "val"] }

    package func archives(for split: String, rawFolder: String) -> [String] {
        if split == "train" { return [Self.trainArchive] }
        let labels = FileManager.default.fileExists(atPath: rawFolder + "/" + Self.solutionFile) ? Self.solutionFile : Self.devkitArchive
        return [Self.valArchive, labels]
    }

    /// The synset table of the definitions: sorted wnids, their names, and ILSVRC2012_ID → wnid.
    struct Synsets {
        var wnids: [String] = []
        var names: [String: String] = [:]
        var byDevkitID: [Int: String] = [:]
    }

    static func synsets(options: IngestOptions) -> Synsets? {
        guard let folder = options.definitionsFolder,
            let classes = DatasetDefinitions.load(folder: folder, dataset: "imagenet")?["classes"] as? [[String: Any]],
            classes.count == 1000
        else { return nil }
        var table = Synsets()
        for entry in classes {
            guard let wnid = entry["wnid"] as? String else { return nil }
            table.wnids.append(wnid)
            if let names = entry["names"] as? String { table.names[wnid] = names }
            if let names = entry["names"] as? [String] { table.names[wnid] = names.joined(separator: ", ") }
            if let id = entry["ilsvrc2012Id"] as? Int { table.byDevkitID[id] = wnid }
        }
        table.wnids.sort()
        return table
    }

    package func plan(split: String, options: IngestOptions) throws -> IngestPlan {
        split == "train" ? try planTrain(options: options) : try planValidation(options: options)
    }

    private func planTrain(options: IngestOptions) throws -> IngestPlan {
        let path = options.rawFolder + "/" + Self.trainArchive
        let reader = try ArchiveReader(path: path)
        var present: [String] = []
        while let entry = try reader.next() {
            if entry.isRegularFile {
                guard entry.name.hasSuffix(".tar"), Self.isWNID(String(entry.name.dropLast(4))) else {
                    throw IngestError.wrongArchive(archive: path, reason: "member \(entry.name) is not a <wnid>.tar; is this ILSVRC2012_img_train.tar?")
                }
                present.append(String(entry.name.dropLast(4)))
            }
            try reader.skipData()
        }
        guard !present.isEmpty else { throw IngestError.wrongArchive(archive: path, reason: "no <wnid>.tar members") }
        let table = Self.synsets(options: options)
        let wnids = table?.wnids ?? present.sorted()
        let index = Dictionary(uniqueKeysWithValues: wnids.enumerated().map { ($1, $0) })
        if let unknown = present.first(where: { index[$0] == nil }) {
            throw IngestError.wrongArchive(archive: path, reason: "synset \(unknown) is not one of the 1000 ILSVRC2012 classes")
        }
        var plan = IngestPlan(samples: [], archives: [Self.trainArchive], fields: ["image"], hasLabels: true,
            classNames: wnids.map { wnid in table?.names[wnid].map { "\(wnid) \($0)" } ?? wnid })
        plan.isNestedArchive = { reference in reference.path.count == 1 && reference.member.hasSuffix(".tar") }
        plan.discover = { reference in
            guard reference.path.count == 2, let wnid = reference.path.last.map({ String($0.dropLast(4)) }), let label = index[wnid] else { return nil }
            return PlannedSample(name: reference.member, label: Int64(label), parts: [reference: .image])
        }
        plan.counts = ["classesPresent": present.count]
        plan.labelEncoding = ["label": "sorted-synset index 0..\(wnids.count - 1) (classNames order: wnid and names)"]
        return plan
    }

    private func planValidation(options: IngestOptions) throws -> IngestPlan {
        let path = options.rawFolder + "/" + Self.valArchive
        let reader = try ArchiveReader(path: path)
        var files: [String] = []
        while let entry = try reader.next() {
            if entry.isRegularFile { files.append(entry.name) }
            try reader.skipData()
        }
        files.sort()
        guard !files.isEmpty, files.allSatisfy({ $0.hasPrefix("ILSVRC2012_val_") }) else {
            throw IngestError.wrongArchive(archive: path, reason: "members are not ILSVRC2012_val_*.JPEG; is this ILSVRC2012_img_val.tar?")
        }
        let table = Self.synsets(options: options)
        let labelsByFile = try validationLabels(files: files, options: options, table: table)
        let wnids = table?.wnids ?? Array(Set(labelsByFile.values)).sorted()
        let index = Dictionary(uniqueKeysWithValues: wnids.enumerated().map { ($1, $0) })
        var plan = IngestPlan(samples: [], archives: [Self.valArchive], fields: ["image"], hasLabels: true,
            classNames: wnids.map { wnid in table?.names[wnid].map { "\(wnid) \($0)" } ?? wnid })
        for file in files {
            let stem = String(file.split(separator: ".").first ?? "")
            guard let wnid = labelsByFile[stem], let label = index[wnid] else {
                plan.skipped.append(Manifest.Skipped(member: "\(Self.valArchive):\(file)", reason: "no ground-truth label"))
                continue
            }
            plan.samples.append(PlannedSample(name: file, label: Int64(label), parts: [MemberReference(archive: Self.valArchive, member: file): .image]))
        }
        plan.labelEncoding = ["label": "sorted-synset index 0..\(wnids.count - 1) (classNames order: wnid and names)"]
        return plan
    }

    /// Ground truth by file stem (ILSVRC2012_val_00000001 → wnid).
    private func validationLabels(files: [String], options: IngestOptions, table: Synsets?) throws -> [String: String] {
        let solution = options.rawFolder + "/" + Self.solutionFile
        if let data = FileManager.default.contents(atPath: solution) {
            var labels: [String: String] = [:]
            for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() where number > 0 {
                let columns = line.split(separator: ",", maxSplits: 1)
                guard columns.count == 2, let wnid = columns[1].split(separator: " ").first, Self.isWNID(String(wnid)) else {
                    throw IngestError.badMetadata(source: solution, reason: "line \(number + 1) is not 'ImageId,<wnid> xmin ymin xmax ymax ...'")
                }
                labels[columns[0].trimmingCharacters(in: .whitespaces)] = String(wnid)
            }
            return labels
        }
        let devkit = options.rawFolder + "/" + Self.devkitArchive
        guard let table, !table.byDevkitID.isEmpty else {
            throw IngestError.badMetadata(source: devkit,
                reason: "mapping the devkit's ILSVRC2012_IDs to synsets needs manifests/imagenet.json (or put LOC_val_solution.csv in the raw folder)")
        }
        let reader = try ArchiveReader(path: devkit)
        var text: String?
        while let entry = try reader.next() {
            if entry.isRegularFile && entry.name.hasSuffix("data/ILSVRC2012_validation_ground_truth.txt") {
                text = String(decoding: try reader.readData(), as: UTF8.self)
            } else {
                try reader.skipData()
            }
        }
        guard let text else { throw IngestError.wrongArchive(archive: devkit, reason: "no data/ILSVRC2012_validation_ground_truth.txt member") }
        let ids = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard ids.count == files.count else {
            throw IngestError.badMetadata(source: "\(devkit):ILSVRC2012_validation_ground_truth.txt",
                reason: "\(ids.count) labels for \(files.count) validation images")
        }
        var labels: [String: String] = [:]
        for (file, text) in zip(files, ids) {
            guard let id = Int(text), let wnid = table.byDevkitID[id] else {
                throw IngestError.badMetadata(source: "\(devkit):ILSVRC2012_validation_ground_truth.txt", reason: "'\(text)' is not an ILSVRC2012_ID 1..1000")
            }
            labels[String(file.split(separator: ".").first ?? "")] = wnid
        }
        return labels
    }

    static func isWNID(_ text: String) -> Bool { text.count == 9 && text.first == "n" && text.dropFirst().allSatisfy(\.isNumber) }
}
