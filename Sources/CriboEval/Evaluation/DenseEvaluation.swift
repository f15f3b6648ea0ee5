// SPDX-License-Identifier: Apache-2.0
// `cribo-evaluate dense`: dense k-NN retrieval mIoU (spec §9.1) from two feature folders. For every training
// fraction and seed: a seeded subset of the training images, their patches (every augmentation pass) in a
// PatchMemory, every validation image predicted and counted in a confusion matrix; then mean ± std over seeds.
// Legend: n training images, h×w patch grid, S label resolution, D width, C classes.

import CriboTensor
import Foundation

/// The settings of a dense k-NN evaluation.
package struct DenseEvaluationSettings: Sendable {
    /// The conventions (default: clean).
    package var variant = EvaluationVariant.clean
    /// open-hummingbird-eval's fractions.
    package var fractions = ["1/128", "1/64", "1/8", "1/1"].compactMap(TrainingFraction.init)
    /// open-hummingbird-eval's seeds.
    package var seeds: [UInt64] = [42, 783, 1293, 400, 4019]
    /// Memory rows in total (open-hummingbird-eval's memory_size), or nil to keep every patch.
    package var memorySize: Int?
    /// K.
    package var neighbours = 30
    /// β.
    package var temperature: Float = 0.02
    /// Ground-truth id dropped from the metric; nil: the dataset's (ADE20K 0, otherwise 255).
    package var ignoreIndex: Int?
    /// Validation images per retrieval call (bounds the score buffers); with a streamed memory, enough images for
    /// at least `streamedQueryPatches` queries.
    package var queryImages = 16
    /// The most bytes of Float32 memory features held at once. A memory that fits is built once per run; a larger
    /// one is rebuilt from the mapped feature shards in chunks of this size for every block of queries.
    package var memoryChunkBytes = 2 << 30
    /// Queries per block when the memory is streamed (amortises rebuilding it).
    package var streamedQueryPatches = 65536
    /// Validation images shown in predictions.png.
    package var previewCount = 8

    /// The defaults above.
    package init() {}
}

/// A dense k-NN evaluation.
package struct DenseEvaluation {
    /// The settings.
    package var settings: DenseEvaluationSettings

    /// An evaluation with these settings.
    package init(settings: DenseEvaluationSettings) { self.settings = settings }

    /// Runs every fraction × seed.
    /// - Parameters:
    ///   - log: one line per finished run.
    /// - Returns: the report and a preview (the last fraction, first seed) for the figures.
    package func run(train: FeatureSet, val: FeatureSet, log: (String) -> Void = { _ in }) throws -> (EvaluationReport, ReportPreview?) {
        try EvaluationInputs.checkCompatible(train: train, val: val, needsMasks: true, needsClassLabels: false)
        precondition(!settings.fractions.isEmpty && !settings.seeds.isEmpty, "DenseEvaluation: no fractions or seeds")
        let m = train.manifest
        let C = m.classNames.count
        let ignore = settings.ignoreIndex ?? EvaluationInputs.defaultIgnoreIndex(dataset: m.settings.dataset)
        var retrieval = DenseRetrieval(variant: settings.variant, classCount: C, ignoreIndex: ignore, patchSize: m.settings.resolution / m.gridHeight)
        retrieval.neighbourCount = settings.neighbours
        retrieval.temperature = settings.temperature
        var notes = notes(train: train, val: val)
        var runs: [ReportRun] = []
        var preview: ReportPreview?
        for (f, fraction) in settings.fractions.enumerated() {
            let isWholeSet = fraction.imageCount(of: m.sampleCount) == m.sampleCount
            // With every image and every patch, the seeds change nothing: run once.
            let seeds = isWholeSet && settings.memorySize == nil ? [settings.seeds[0]] : settings.seeds
            if seeds.count < settings.seeds.count {
                notes.append("Fraction \(fraction) keeps every image and patch, so it ran once (seed \(seeds[0])) instead of once per seed.")
            }
            for (s, seed) in seeds.enumerated() {
                let started = Date()
                let images = fraction.images(of: m.sampleCount, seed: seed)
                retrieval.seed = seed
                retrieval.samplesPerImage = settings.memorySize.map {
                    min(train.patchCount, DenseRetrieval.samplesPerImage(memorySize: $0, imageCount: images.count, augmentationEpochs: m.passes.count))
                }
                let memory = try DenseMemoryPlan(train: train, images: images, retrieval: retrieval) { map, shard, row in
                    try checkLabels(map, classCount: C, ignore: ignore, shard: shard, row: row)
                }
                let wantsPreview = f == settings.fractions.count - 1 && s == 0
                var caption = "\(fraction), SEED \(seed), \(settings.variant.rawValue)"
                if wantsPreview { caption += ", \(val.manifest.settings.dataset)/\(val.manifest.settings.split)" }
                let (confusion, runPreview) = try predict(val: val, memory: memory, retrieval: retrieval, ignore: ignore,
                                                          preview: wantsPreview ? caption : nil, log: log)
                if wantsPreview { preview = runPreview }
                let scores = confusion.scores(variant: settings.variant)
                runs.append(ReportRun(
                    row: fraction.description, seed: seed, trainImages: images.count, memoryRows: memory.rowCount,
                    meanIoU: scores.meanIoU * 100, pixelAccuracy: scores.pixelAccuracy * 100,
                    classIoU: scores.classIoU.map { $0.map { $0 * 100 } }, confusion: confusion.counts, top1: nil, top5: nil,
                    seconds: Date().timeIntervalSince(started)))
                log(String(format: "fraction %@ seed %llu: %d images, %d memory rows, mIoU %.2f%%, pixel accuracy %.2f%% (%.1f s)",
                           fraction.description, seed, images.count, memory.rowCount, scores.meanIoU * 100, scores.pixelAccuracy * 100,
                           Date().timeIntervalSince(started)))
            }
        }
        let rows = settings.fractions.map { fraction in ReportRow(name: fraction.description, runs: runs.filter { $0.row == fraction.description }) }
        var recorded: [String: String] = [
            "neighbours": String(settings.neighbours), "temperature": String(settings.temperature),
            "fractions": settings.fractions.map(\.description).joined(separator: ","),
            "seeds": settings.seeds.map(String.init).joined(separator: ","), "ignoreIndex": String(ignore),
            "memorySize": settings.memorySize.map(String.init) ?? "all patches",
            "samplesPerImage": settings.memorySize == nil ? "all" : "memorySize / (images · passes), at most h·w",
            "trainPasses": String(m.passes.count), "metricResolution": "\(m.settings.resolution)x\(m.settings.resolution) (resized labels)",
            "std": "sample standard deviation over seeds",
        ]
        recorded["variant"] = settings.variant.rawValue
        let report = EvaluationReport(
            kind: .dense, variant: settings.variant, created: EvaluationInputs.now(), train: FeatureSource(train), val: FeatureSource(val),
            settings: recorded, classNames: m.classNames, rows: rows, runs: runs, notes: notes)
        return (report, preview)
    }

    /// The confusion matrix of every validation image of the first pass, and the preview when asked.
    private func predict(val: FeatureSet, memory: DenseMemoryPlan, retrieval: DenseRetrieval, ignore: Int, preview caption: String?,
                         log: (String) -> Void) throws
        -> (ConfusionMatrix, ReportPreview?)
    {
        let m = val.manifest
        let (h, w, S, D) = (m.gridHeight, m.gridWidth, m.settings.resolution, m.dimension)
        var confusion = ConfusionMatrix(classCount: m.classNames.count, ignoreIndex: ignore)
        var preview = caption.map { ReportPreview(caption: $0, thumbnailSize: m.settings.thumbnailSize, resolution: S) }
        preview?.classNames = m.classNames
        // The memory features: built once when they fit in memoryChunkBytes, else in chunks of whole images per block.
        let P = memory.rowsPerImage
        let chunkImages = min(memory.imageCount, max(1, settings.memoryChunkBytes / (4 * D * P)))
        let streamed = chunkImages < memory.imageCount
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunkImages * P * D)
        defer { buffer.deallocate() }
        if streamed {
            let chunks = (memory.imageCount + chunkImages - 1) / chunkImages
            log("memory of \(memory.rowCount) rows streamed in \(chunks) chunks of at most \(chunkImages * P) rows (\((chunkImages * P * D * 4) >> 20) MiB)")
        } else {
            try memory.features(images: 0..<memory.imageCount, into: buffer)
        }
        let blockImages = streamed ? max(settings.queryImages, (settings.streamedQueryPatches + h * w - 1) / (h * w)) : settings.queryImages
        try memory.withLabels { label in
            for shard in val.firstPassShards {
                let labels = try shard.labels()
                let thumbnails = caption == nil ? nil : try shard.thumbnails()
                let names = thumbnails == nil ? [] : try shard.names()
                for start in stride(from: 0, to: shard.count, by: blockImages) {
                    let rows = Array(start..<min(start + blockImages, shard.count))
                    let tokens = try shard.tokens(rows: rows)
                    let Q = rows.count * h * w
                    var neighbours = NeighbourList(empty: Q, neighbours: retrieval.neighbourCount)
                    for first in stride(from: 0, to: streamed ? memory.imageCount : 1, by: chunkImages) {
                        let images = first..<min(first + chunkImages, memory.imageCount)
                        if streamed { try memory.features(images: images, into: buffer) }
                        withExtendedLifetime(tokens) {
                            mergeNearestNeighbours(
                                into: &neighbours, queries: tokens.pointer, queryCount: Q, memory: buffer, memoryCount: images.count * P,
                                firstIndex: first * P, dimension: D, chunkRows: retrieval.chunkRows)
                        }
                    }
                    let scores = withExtendedLifetime(tokens) {
                        retrieval.weightedScores(queries: tokens.pointer, queryCount: Q, dimension: D, neighbours: neighbours, label: label).scores
                    }
                    let predictions = retrieval.labelMaps(scores: scores, imageCount: rows.count, gridHeight: h, gridWidth: w, outputHeight: S, outputWidth: S)
                    for (k, row) in rows.enumerated() {
                        let truth = Array(labels[(row * S * S)..<((row + 1) * S * S)])
                        let predicted = Array(predictions[(k * S * S)..<((k + 1) * S * S)])
                        try truth.withUnsafeBufferPointer {
                            try checkLabels($0, classCount: m.classNames.count, ignore: ignore, shard: shard, row: row)
                        }
                        confusion.add(groundTruth: truth, prediction: predicted)
                        if var p = preview, let thumbnails, row < thumbnails.count, p.thumbnails.count < settings.previewCount {
                            let size = thumbnails.size * thumbnails.size * 3
                            p.thumbnails.append(Array(thumbnails.pixels[(row * size)..<((row + 1) * size)]))
                            p.groundTruth.append(truth)
                            p.predictions.append(predicted)
                            p.names.append(names[row])
                            preview = p
                        }
                    }
                }
            }
        }
        return (confusion, preview)
    }

    /// Throws when a label map holds an id outside 0..<C other than the ignore index (or 255 in the memory of the
    /// hummingbird variant), naming the shard and the row.
    private func checkLabels(_ labels: UnsafeBufferPointer<UInt8>, classCount C: Int, ignore: Int?, shard: FeatureShard, row: Int) throws {
        for value in labels where Int(value) >= C && Int(value) != ignore && !(settings.variant == .hummingbird && value == 255) {
            throw FeatureError.malformed(file: shard.file.path, reason: "row \(row): label \(value) outside 0..<\(C) and not the ignore index \(ignore.map(String.init) ?? "none")")
        }
    }

    /// Caveats about the inputs.
    private func notes(train: FeatureSet, val: FeatureSet) -> [String] {
        var notes: [String] = []
        let normalization = train.manifest.settings.normalization
        if settings.variant == .hummingbird && normalization != .hummingbird {
            notes.append("The hummingbird variant ran on features normalised with \(normalization.rawValue) statistics, not open-hummingbird-eval's std 0.255 for blue (extract with --hummingbird-std to mimic it).")
        }
        if settings.variant == .clean && normalization == .hummingbird {
            notes.append("The features use open-hummingbird-eval's std typo (0.255 for blue).")
        }
        if train.manifest.settings.augmentationEpochs == 0 {
            notes.append("The memory was built from the evaluation transform (no augmentation passes); open-hummingbird-eval builds it from augmented crops (extract the training split with --augment-epochs).")
        } else if !train.manifest.settings.hummingbirdTransforms {
            notes.append("Augmentation passes use the paired RandomResizedCrop(scale 0.5–2.0) without open-hummingbird-eval's colour jitter (extract with --hummingbird-transforms to mimic it).")
        }
        if val.manifest.settings.augmentationEpochs > 0 {
            notes.append("The validation features were extracted with augmentation; only their first pass was used.")
        }
        return notes
    }
}
