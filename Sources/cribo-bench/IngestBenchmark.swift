// SPDX-License-Identifier: Apache-2.0
// `cribo-bench ingest`: images/s of cribo-ingest in jpeg and raw modes (with and without --max-side 256) on a
// synthesized VOC-layout tar of ~500×375 JPEGs, plus SHA-256 throughput. Benchmarks/reference/ingest_pillow.py
// times Pillow doing the same decode–resize–write on the same archive, and sha256sum.

import ArgumentParser
import CriboData
import Foundation

extension CriboBench {
    struct Ingest: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ingest throughput (jpeg, raw, raw --max-side 256) and hashing MB/s.")
        @Option(help: "Images in the synthesized archive.") var images: Int = 300
        @Option(help: "Comma-separated worker counts.") var workers: String = "1,2"
        @Option(help: "Folder for the archive and outputs (reused when the archive exists).") var folder: String = "/tmp/cribo-ingest-bench"

        func run() throws {
            let raw = folder + "/raw"
            let archive = raw + "/" + VOCIngestor.archive
            if !FileManager.default.fileExists(atPath: archive) {
                var options = FixtureOptions(seed: 11, imagesPerSplit: images)
                options.sideRange = 375...500
                options.jpegQuality = 92
                try FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: true)
                try FixtureArchives.writeVOC(folder: raw, options: options)
            }
            let size = Double((try FileManager.default.attributesOfItem(atPath: archive)[.size] as? NSNumber)?.intValue ?? 0)
            print("cribo ingest benchmark (release build): \(archive), \(String(format: "%.1f", size / 1e6)) MB, \(images) train images ~500x375")
            print(row("metric", "mode", "value", "unit"))
            print(String(repeating: "-", count: 25) + "+" + String(repeating: "-", count: 28) + "+" + String(repeating: "-", count: 12) + "+--------")
            for w in workers.split(separator: ",").compactMap({ Int($0) }) {
                for (label, storage, maxSide) in [("jpeg", BlobEncoding.jpeg, Int?.none), ("raw", .raw, nil), ("raw max-side 256", .raw, 256)] {
                    let out = folder + "/out-\(w)"
                    try? FileManager.default.removeItem(atPath: out)
                    var options = IngestOptions(rawFolder: raw, outFolder: out)
                    options.storage = storage
                    options.maxSide = maxSide
                    options.workers = w
                    let start = Date()
                    let manifest = try IngestJob(ingestor: VOCIngestor(), split: "train", options: options) { _ in }.run()
                    let seconds = Date().timeIntervalSince(start)
                    print(row("ingest images/s", "\(label), \(w)w", fmt(Double(manifest.sampleCount) / seconds), "img/s"))
                    if storage == .jpeg { print(row("  archive MB/s", "\(label), \(w)w", fmt(size / 1e6 / seconds), "MB/s")) }
                }
            }
            let start = Date()
            _ = try SHA256Digest.hex(ofFile: archive)
            print(row("SHA-256 (swift-crypto)", "1 thread", fmt(size / 1e6 / Date().timeIntervalSince(start)), "MB/s"))
            print("\nNote: a run includes planning (one pass over the tar headers), decoding, hashing the archive (side thread), "
                + "shard assembly and the manifest; the archive sits in the page cache.")
        }
    }
}
