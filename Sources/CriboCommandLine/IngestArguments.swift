// SPDX-License-Identifier: Apache-2.0
// The options of `cribo-ingest <dataset>` and the loop that runs one IngestJob per split with progress output.

import ArgumentParser
import CriboData
import Foundation

/// `--raw`, `--out`, `--splits`, `--storage`, `--max-side`, `--workers`, `--shard-size-mb`, `--on-bad-sample`, `--strict`.
package struct IngestArguments: ParsableArguments {
    @Option(help: "Folder holding the dataset's archives under their official file names.")
    package var raw: String
    @Option(help: "Output root; a split goes to <out>/<dataset>/<split>/.")
    package var out: String
    @Option(parsing: .upToNextOption, help: "Splits to ingest (default: the dataset's standard splits).")
    package var splits: [String] = []
    @Option(help: "jpeg: keep the source image bytes (label maps as PNG); raw: decoded uint8 HWC RGB.")
    package var storage: String = "jpeg"
    @Option(help: "With --storage raw: downscale so the shorter side is at most N (DCT scaling, then bicubic).")
    package var maxSide: Int?
    @Option(help: "Decoding threads (default: all cores).")
    package var workers: Int?
    @Option(help: "Approximate shard size in MB.")
    package var shardSizeMb: Int = 256
    @Option(help: "skip: leave bad samples out and record them in the manifest; fail: stop the split.")
    package var onBadSample: String = "skip"
    @Flag(help: "A mismatch with a published archive checksum is an error (default: a warning).")
    package var strict = false
    @Option(help: "Dataset definitions folder (default: $CRIBO_MANIFESTS or the repository's manifests/).")
    package var definitions: String?

    package init() {}

    package func validate() throws {
        guard ["jpeg", "raw"].contains(storage) else { throw ValidationError("--storage must be jpeg or raw") }
        if maxSide != nil && storage != "raw" { throw ValidationError("--max-side needs --storage raw (jpeg storage keeps the source bytes)") }
        if let maxSide, maxSide < 8 { throw ValidationError("--max-side must be at least 8") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        guard shardSizeMb >= 1 else { throw ValidationError("--shard-size-mb must be at least 1") }
        guard BadSamplePolicy(rawValue: onBadSample) != nil else { throw ValidationError("--on-bad-sample must be skip or fail") }
    }

    /// The library options these arguments describe.
    package func options() -> IngestOptions {
        var options = IngestOptions(rawFolder: raw, outFolder: out)
        options.storage = storage == "raw" ? .raw : .jpeg
        options.maxSide = maxSide
        options.workers = workers ?? ProcessInfo.processInfo.activeProcessorCount
        options.targetShardBytes = shardSizeMb << 20
        options.onBadSample = BadSamplePolicy(rawValue: onBadSample) ?? .skip
        options.strict = strict
        options.definitionsFolder = definitions ?? DatasetDefinitions.defaultFolder(executable: CommandLine.arguments[0])
        return options
    }

    /// Ingests the requested splits of `ingestor`, one job each, with progress on standard error.
    package func run(_ ingestor: any DatasetIngestor) throws {
        let options = options()
        for split in splits.isEmpty ? ingestor.defaultSplits : splits {
            let display = ProgressDisplay(label: "\(ingestor.name)/\(split)")
            let job = IngestJob(ingestor: ingestor, split: split, options: options) { event in
                switch event {
                case .upToDate(let dataset, let split, let samples):
                    display.log("\(dataset)/\(split): up to date (\(samples) samples); nothing to do")
                case .planned(let dataset, let split, let samples):
                    display.log("\(dataset)/\(split): " + (samples.map { "\($0) samples planned" } ?? "samples discovered while streaming"))
                case .progress(let done, let total, let bytes):
                    display.update(done: done, total: total, unit: "images", extra: String(format: "%.0f MB read", Double(bytes) / 1e6))
                case .warning(let message):
                    display.log("warning: " + message)
                case .finished(let manifest, let seconds):
                    display.finish()
                    display.log("\(manifest.dataset)/\(manifest.split): \(manifest.sampleCount) samples in \(manifest.shards.count) shards, "
                        + "\(manifest.skipped.count) skipped, \(String(format: "%.1f", seconds)) s -> \(options.outFolder)/\(manifest.dataset)/\(manifest.split)")
                }
            }
            try job.run()
        }
    }
}
