// SPDX-License-Identifier: Apache-2.0
// `cribo-bench dense-memory`: `cribo-evaluate dense` (DenseEvaluation, the whole-set fraction) against a memory
// bank of open-hummingbird-eval's size (10M patches) written as synthetic feature shards, once with the bank held
// whole and once streamed in chunks, reporting wall time, mIoU and the peak anonymous memory (heap; the
// memory-mapped shards are file-backed and excluded). Features: each image a 4x4 board of random classes, each patch
// token its class's mean direction plus uniform noise, so the retrieval has something to find.
// Legend: h×w patch grid, p patch size, S = h·p, D width, C classes.

import ArgumentParser
import CriboData
import CriboEval
import CriboTensor
import Foundation

extension CriboBench {
    struct DenseMemory: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dense-memory",
            abstract: "cribo-evaluate dense with a 10M-patch memory: resident versus streamed, time and peak heap.",
            discussion: """
                Writes (once, reused when present) synthetic F16 feature folders for the training memory and the \
                validation queries under --folder (about 10 GB for the defaults), then runs the dense evaluation for \
                each --chunk-mb value. Peak heap is the largest RssAnon of /proc/self/status sampled every 20 ms.
                """)
        @Option(help: "Memory rows (patches) at least; whole images of h·w patches are written.") var memoryPatches: Int = 10_000_000
        @Option(help: "Patch grid side (h = w).") var grid: Int = 28
        @Option(help: "Pixels per patch side.") var patchSize: Int = 16
        @Option(help: "Feature dimension D.") var dim: Int = 384
        @Option(help: "Classes C (VOC: 21).") var classes: Int = 21
        @Option(help: "Validation images (queries = images · h·w).") var valImages: Int = 2
        @Option(help: "Images per feature shard.") var imagesPerShard: Int = 512
        @Option(help: "Comma-separated memory chunk sizes in MiB (a size at least the bank holds it whole).") var chunkMb: String = "2048,65536"
        @Option(help: "Compute threads.") var threads: Int = 2
        @Option(help: "Where the synthetic feature folders go.") var folder: String = "/tmp/cribo-bench-dense-memory"
        @Option(help: "Seed of the synthetic features.") var seed: UInt64 = 0

        private var chunkSizes: [Int] { chunkMb.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

        func validate() throws {
            guard memoryPatches >= 30, grid >= 1, patchSize >= 1, dim >= 1, (2...255).contains(classes), valImages >= 1,
                  imagesPerShard >= 1, threads >= 1, !chunkSizes.isEmpty, chunkSizes.allSatisfy({ $0 >= 1 }) else {
                throw ValidationError("sizes must be positive (memory at least 30 patches, 2 to 255 classes, chunk sizes in MiB)")
            }
        }

        func run() throws {
            ComputeThreads.count = threads
            let hw = grid * grid
            let trainImages = (memoryPatches + hw - 1) / hw
            let trainFolder = folder + "/train-\(trainImages)x\(grid)x\(grid)x\(dim)-c\(classes)-s\(seed)"
            let valFolder = folder + "/val-\(valImages)x\(grid)x\(grid)x\(dim)-c\(classes)-s\(seed)"
            let started = Date()
            for (path, count, split) in [(trainFolder, trainImages, "train"), (valFolder, valImages, "val")]
            where !FileManager.default.fileExists(atPath: path + "/" + FeatureLayout.manifestName) {
                try writeSyntheticFeatures(folder: path, split: split, images: count)
            }
            progress(String(format: "feature folders ready (%.0f s)", Date().timeIntervalSince(started)))
            let train = try FeatureSet(folder: trainFolder)
            let val = try FeatureSet(folder: valFolder)
            let runtime = BLASRuntime.shared
            print("cribo dense-memory benchmark (release build): cribo-evaluate dense, fraction 1/1, K 30, clean variant")
            print("OpenBLAS core: \(runtime.coreName) (\(runtime.choice.rawValue)); cores: \(ProcessInfo.processInfo.activeProcessorCount); threads \(threads)")
            print("memory: \(train.manifest.sampleCount) images x \(hw) patches = \(train.manifest.sampleCount * hw) rows, D \(dim) "
                + "(\((train.manifest.sampleCount * hw * dim * 4) >> 20) MiB as Float32); queries: \(valImages) images x \(hw) patches")
            print("chunk MiB    mode      chunks   seconds  mIoU %   peak heap MiB")
            print("---------  --------  --------  --------  -------  -------------")
            fflush(stdout)
            for chunk in chunkSizes {
                var settings = DenseEvaluationSettings()
                settings.fractions = [TrainingFraction(numerator: 1, denominator: 1)]
                settings.seeds = [42]
                settings.memoryChunkBytes = chunk << 20
                settings.previewCount = 0
                let sampler = HeapSampler()
                sampler.start()
                let t0 = Date()
                var lines: [String] = []
                let (report, _) = try DenseEvaluation(settings: settings).run(train: train, val: val) { line in
                    lines.append(line)
                    progress(line)
                }
                let seconds = Date().timeIntervalSince(t0)
                let peak = sampler.stop()
                let streamedLine = lines.first { $0.contains("streamed in") }
                let chunks = streamedLine.flatMap { $0.components(separatedBy: "streamed in ").last?.split(separator: " ").first }.map(String.init) ?? "1"
                let mode = streamedLine == nil ? "resident" : "streamed"
                print(String(format: "%9d  ", chunk) + mode + "  " + String(repeating: " ", count: max(0, 8 - chunks.count)) + chunks
                    + String(format: "  %8.1f  %7.2f  %13.0f", seconds, report.runs[0].meanIoU ?? .nan, peak))
                fflush(stdout)
            }
        }

        private func progress(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

        /// A feature folder of `images` synthetic images: F16 tokens, [CLS] zeros, 4x4 boards of class labels.
        private func writeSyntheticFeatures(folder path: String, split: String, images: Int) throws {
            let (h, p, D, C) = (grid, patchSize, dim, classes)
            let S = h * p
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            // Class means: seeded Gaussian directions of norm 2; noise uniform in [-1, 1) per value.
            var rng = SplitMix64(seed: SplitMix64.mix(seed, 1))
            let means = (0..<(C * D)).map { _ in Float(rng.nextNormal()) * 2 / Float(D).squareRoot() }
            let splitSeed = SplitMix64.mix(seed, split == "train" ? 2 : 3)
            var shardRecords: [[String: Any]] = []
            for (index, first) in stride(from: 0, to: images, by: imagesPerShard).enumerated() {
                let n = min(imagesPerShard, images - first)
                var tokens = [Float](repeating: 0, count: n * h * h * D)
                var labels = [UInt8](repeating: 0, count: n * S * S)
                tokens.withUnsafeMutableBufferPointer { tokens in
                    labels.withUnsafeMutableBufferPointer { labels in
                        ComputeThreads.parallelForEach(n) { k in
                            var rng = SplitMix64(seed: SplitMix64.mix(splitSeed, UInt64(first + k)))
                            let board = (0..<16).map { _ in UInt8(rng.nextInt(below: C)) }
                            for y in 0..<S { for x in 0..<S { labels[(k * S + y) * S + x] = board[(y * 4 / S) * 4 + x * 4 / S] } }
                            for patch in 0..<(h * h) {
                                let (cy, cx) = ((patch / h) * p + p / 2, (patch % h) * p + p / 2)
                                let c = Int(board[(cy * 4 / S) * 4 + cx * 4 / S])
                                let row = tokens.baseAddress! + (k * h * h + patch) * D
                                for d in 0..<D { row[d] = means[c * D + d] + Float(rng.nextUniform(-1, 1)) }
                            }
                        }
                    }
                }
                var writer = TensorFileWriter(metadata: [
                    "format": FeatureLayout.format, "version": FeatureLayout.version, "dataset": "voc", "split": split,
                    "sampleCount": String(n), "shardIndex": String(index), "pass": "none", "synthetic": "cribo-bench dense-memory",
                ])
                tokens.withUnsafeBufferPointer { writer.addFloat16(FeatureLayout.tokensKey, shape: [n, h, h, D], floats: $0) }
                [Float](repeating: 0, count: n * D).withUnsafeBufferPointer { writer.add(FeatureLayout.clsKey, shape: [n, D], floats: $0) }
                writer.add(FeatureLayout.labelsKey, shape: [n, S, S], uint8s: Data(labels))
                writer.add(FeatureLayout.indexKey, shape: [n], int64s: (first..<(first + n)).map(Int64.init))
                writer.add(FeatureLayout.idKey, shape: [n], int64s: (first..<(first + n)).map(Int64.init))
                let names = (first..<(first + n)).map { "synthetic-\($0)" }
                var offsets: [Int64] = [0]
                for name in names { offsets.append(offsets.last! + Int64(name.utf8.count)) }
                writer.add(FeatureLayout.nameBytesKey, shape: [Int(offsets.last!)], uint8s: Data(names.joined().utf8))
                writer.add(FeatureLayout.nameOffsetsKey, shape: [n + 1], int64s: offsets)
                let data = writer.serialized()
                let file = FeatureLayout.fileName(pass: nil, index: index)
                try AtomicFile.write(data, to: path + "/" + file)
                shardRecords.append(["file": file, "firstSample": first, "count": n, "bytes": data.count, "sha256": SHA256Digest.hex(of: data)])
                progress("\(split): shard \(index + 1) of \((images + imagesPerShard - 1) / imagesPerShard) written")
            }
            let architecture: [String: Any] = [
                "depth": 1, "embeddingDimension": D, "headCount": 1, "imageSize": S, "inChannels": 3, "mlpHiddenDimension": 4 * D, "patchSize": p,
            ]
            let settings: [String: Any] = [
                "architecture": architecture, "augmentationEpochs": 0, "checkpoint": "synthetic", "checkpointSHA256": "none", "dataset": "voc",
                "dtype": "f16", "imagesPerShard": imagesPerShard, "normalization": "imagenet", "resolution": S, "seed": Int(seed), "split": split,
                "splitConfigurationHash": "synthetic", "thumbnailCount": 0, "thumbnailSize": 8,
            ]
            let manifest: [String: Any] = [
                "classNames": (0..<C).map { "class \($0)" }, "createdBy": "cribo-bench dense-memory", "dimension": D, "format": FeatureLayout.format,
                "version": FeatureLayout.version, "gridHeight": h, "gridWidth": h, "hasClassLabels": false, "hasMasks": true, "sampleCount": images,
                "settings": settings, "shards": shardRecords,
            ]
            let json = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
            // Decoded once to be sure it is a valid manifest before it marks the folder finished.
            _ = try JSONDecoder().decode(FeatureManifest.self, from: json)
            try AtomicFile.write(json, to: path + "/" + FeatureLayout.manifestName)
        }
    }
}

/// The largest RssAnon (anonymous resident memory: heap and stacks, not mapped files) seen by a 20 ms sampling thread.
private final class HeapSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var running = false
    private var peakKiB = 0
    private var thread: Thread?

    func start() {
        lock.withLock { running = true; peakKiB = HeapSampler.current() }
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                let now = HeapSampler.current()
                lock.withLock { peakKiB = max(peakKiB, now) }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        self.thread = thread
        thread.start()
    }

    /// Stops sampling; the peak in MiB.
    func stop() -> Double {
        let now = HeapSampler.current()
        return lock.withLock {
            running = false
            return Double(max(peakKiB, now)) / 1024
        }
    }

    /// RssAnon in KiB ("RssAnon:\t 9550220 kB", but "RssAnon:\t10000000 kB" from 8 digits on).
    private static func current() -> Int {
        let fd = open("/proc/self/status", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 8192)
        var used = 0
        while used < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + used, $0.count - used) }
            if got <= 0 { break }
            used += got
        }
        let status = String(decoding: bytes[..<used], as: UTF8.self)
        for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
