// SPDX-License-Identifier: Apache-2.0
// `cribo-bench augment`: two-view augmented images/s (decode + CrIBo's two 224² views with position maps) from
// jpeg-storage and raw-storage shards of the same synthesized VOC-layout archive, per worker count.
// Benchmarks/reference/augment_torchvision.py runs the official pipeline (torchvision + PIL) on the same images.

import ArgumentParser
import CriboData
import Foundation

extension CriboBench {
    struct Augment: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Two-view augmentation throughput from jpeg and raw shards.")
        @Option(help: "Images in the synthesized archive (shared with `cribo-bench ingest`).") var images: Int = 300
        @Option(help: "Comma-separated worker counts.") var workers: String = "1,2"
        @Option(help: "Benchmark folder (the ingest benchmark's archive is reused).") var folder: String = "/tmp/cribo-ingest-bench"
        @Option(help: "Batches to time per configuration.") var batches: Int = 6

        func run() throws {
            let raw = folder + "/raw"
            if !FileManager.default.fileExists(atPath: raw + "/" + VOCIngestor.archive) {
                var options = FixtureOptions(seed: 11, imagesPerSplit: images)
                options.sideRange = 375...500
                options.jpegQuality = 92
                try FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: true)
                try FixtureArchives.writeVOC(folder: raw, options: options)
            }
            print("cribo two-view augmentation benchmark (release build): \(images) images ~500x375 -> 2 views of 224x224")
            print(row("metric", "mode", "value", "unit"))
            print(String(repeating: "-", count: 25) + "+" + String(repeating: "-", count: 28) + "+" + String(repeating: "-", count: 12) + "+--------")
            for (label, storage) in [("jpeg shards", BlobEncoding.jpeg), ("raw shards", .raw)] {
                var options = IngestOptions(rawFolder: raw, outFolder: folder + "/augment-\(storage.rawValue)")
                options.storage = storage
                _ = try IngestJob(ingestor: VOCIngestor(), split: "train", options: options) { _ in }.run()
                let split = try ShardedSplit(folder: options.outFolder + "/voc/train")
                for w in workers.split(separator: ",").compactMap({ Int($0) }) {
                    for dct in storage == .jpeg ? [false, true] : [false] {
                        let loader = TwoViewLoader(split: split, order: SampleOrder(count: split.count, seed: 1), batchSize: 16,
                            configuration: AugmentationConfiguration(), patchSize: 16, seed: 1)
                        loader.workers = w
                        loader.usesDCTScaling = dct
                        let all = SampleOrder(count: split.count, seed: 1).batches(epoch: 0, batchSize: 16)
                        _ = try loader.makeBatch(all[0], epoch: 0)
                        let start = Date()
                        for b in 1...min(batches, all.count - 1) { _ = try loader.makeBatch(all[b], epoch: 0) }
                        let rate = Double(16 * min(batches, all.count - 1)) / Date().timeIntervalSince(start)
                        print(row("two-view images/s", "\(label)\(dct ? " +DCT" : ""), \(w)w", fmt(rate), "img/s"))
                    }
                }
            }
            try operationTimes(split: try ShardedSplit(folder: folder + "/augment-raw/voc/train"))
        }

        /// Milliseconds per operation of one view, one thread: each on the first images of the split (224² after the
        /// crop), the median over the images.
        private func operationTimes(split: ShardedSplit) throws {
            let sources = try (0..<min(20, split.count)).map { try split.image(at: $0) }
            func median(_ body: (RGBImage) -> RGBImage, on inputs: [RGBImage]) -> Double {
                var times: [Double] = []
                for input in inputs {
                    let start = Date()
                    _ = body(input)
                    times.append(Date().timeIntervalSince(start) * 1000)
                }
                return times.sorted()[times.count / 2]
            }
            let box = { (image: RGBImage) in CropBox(top: image.height / 8, left: image.width / 8, height: image.height * 3 / 4, width: image.width * 3 / 4) }
            let views = sources.map { $0.resizedCrop(box($0), outWidth: 224, outHeight: 224) }
            let operations: [(String, (RGBImage) -> RGBImage, [RGBImage])] = [
                ("crop+resize (bicubic)", { $0.resizedCrop(box($0), outWidth: 224, outHeight: 224) }, sources),
                ("brightness", { $0.brightnessAdjusted(1.3) }, views), ("contrast", { $0.contrastAdjusted(0.7) }, views),
                ("saturation", { $0.saturationAdjusted(1.2) }, views), ("hue", { $0.hueAdjusted(0.07) }, views),
                ("grayscale", { $0.grayscaled() }, views), ("gaussian blur sigma 1.5", { $0.gaussianBlurred(sigma: 1.5) }, views),
                ("solarize", { $0.solarized() }, views), ("flip", { $0.horizontallyFlipped() }, views),
            ]
            for (name, body, inputs) in operations {
                print(row("ms per view, 1 thread", name, fmt(median(body, on: inputs)), "ms"))
            }
        }
    }
}
