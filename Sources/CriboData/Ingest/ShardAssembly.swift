// SPDX-License-Identifier: Apache-2.0
// Assembling shards from the staging store in the plan's order (discovered samples sorted by name), leaving out —
// and recording — samples that failed to convert, lack a part, or whose label map and image sizes disagree.

import Foundation

/// Writes the shards of a split from converted parts.
struct ShardAssembly {
    let plan: IngestPlan
    let staging: StagingStore
    let streamer: ArchiveStreamer
    let options: IngestOptions
    let folder: String
    let dataset: String
    let split: String

    struct Result {
        var shards: [ShardWriter.WrittenShard]
        var sampleCount: Int
        var encodings: [String: BlobEncoding]
        var counts: [String: Int]
        var skipped: [Manifest.Skipped]
    }

    /// The encoding of each field for the storage option.
    static func encodings(fields: [String], storage: BlobEncoding) -> [String: BlobEncoding] {
        Dictionary(uniqueKeysWithValues: fields.map { field in
            (field, storage == .raw ? .raw : (field == "image" ? .jpeg : .png))
        })
    }

    func run() throws -> Result {
        let samples = streamer.allSamples
        let order = plan.discover == nil
            ? Array(0..<samples.count)
            : samples.indices.sorted { samples[$0].name < samples[$1].name }
        let encodings = Self.encodings(fields: plan.fields, storage: options.storage)
        let writer = ShardWriter(
            folder: folder, encoder: ShardEncoder(dataset: dataset, split: split, encodings: encodings, hasLabels: plan.hasLabels),
            targetBytes: options.targetShardBytes)
        var skipped: [Manifest.Skipped] = []
        var written = 0
        for i in order {
            let sample = samples[i]
            if let reason = problem(of: sample, index: i) {
                staging.discard(sample: i)
                if options.onBadSample == .fail { throw IngestError.badSample(member: sample.name, reason: reason) }
                skipped.append(Manifest.Skipped(member: sample.name, reason: reason))
                continue
            }
            var blobs: [String: Blob] = [:]
            for (field, entry) in staging.entries(of: i) where encodings[field] != nil { blobs[field] = try staging.take(sample: i, field: field, entry) }
            try writer.append(ShardSample(id: sample.id ?? Int64(written), name: sample.name, label: sample.label, blobs: blobs))
            written += 1
        }
        try writer.flush()
        return Result(shards: writer.written, sampleCount: written, encodings: encodings,
            counts: ["samples": written, "skipped": skipped.count], skipped: skipped)
    }

    /// Why sample `i` cannot be written, or nil.
    private func problem(of sample: PlannedSample, index i: Int) -> String? {
        if let failure = staging.failure(of: i) { return failure }
        let entries = staging.entries(of: i)
        for field in plan.fields where entries[field] == nil {
            let source = sample.parts.first { PartConverterFields.field(of: $0.value) == field }?.key
            return source.map { "\($0) is missing from the archive" } ?? "no \(field) for this sample"
        }
        let sizes = Set(entries.values.map { "\($0.sourceSize.1)x\($0.sourceSize.0)" })
        if sizes.count > 1 {
            let image = entries["image"].map { "\($0.sourceSize.1)x\($0.sourceSize.0)" } ?? "?"
            let others = entries.filter { $0.key != "image" }.map { "\($0.key) \($0.value.sourceSize.1)x\($0.value.sourceSize.0)" }
            return "\(others.sorted().joined(separator: ", ")) differs from image \(image)"
        }
        return nil
    }
}

/// The field a part kind fills.
enum PartConverterFields {
    static func field(of kind: PartKind) -> String {
        switch kind {
        case .image: return "image"
        case .indexMask: return "mask"
        }
    }
}
