// SPDX-License-Identifier: Apache-2.0
// Shards: byte-exact round trips, roll-over by size, layout checks with errors naming the file, and manifests.

import CriboData
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

func scratchFolder(_ name: String) -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-data-tests-\(getpid())/\(name)").path
    try? FileManager.default.removeItem(atPath: folder)
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
}

func sampleBlob(_ seed: UInt64, height: Int, width: Int, channels: Int) -> Blob {
    var rng = SplitMix64(seed: seed)
    return Blob(bytes: (0..<(height * width * channels)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, shape: [height, width, channels])
}

@Suite struct ShardTests {}

extension ShardTests {
    @Test func roundTripIsByteExactAndRollsOverBySize() throws {
        let folder = scratchFolder("roundtrip")
        let encoder = ShardEncoder(dataset: "voc", split: "val", encodings: ["image": .raw, "mask": .raw], hasLabels: true)
        let writer = ShardWriter(folder: folder, encoder: encoder, targetBytes: 3000)
        let samples = (0..<10).map { i in
            ShardSample(id: Int64(i * 7), name: "2007_\(i)é", label: Int64(i % 3), blobs: [
                "image": sampleBlob(UInt64(i), height: 10 + i, width: 9, channels: 3),
                "mask": sampleBlob(UInt64(100 + i), height: 10 + i, width: 9, channels: 1),
            ])
        }
        for sample in samples { try writer.append(sample) }
        try writer.flush()
        #expect(writer.written.count > 1, "several shards at a 3000-byte target")
        #expect(writer.written.map(\.samples).reduce(0, +) == 10)
        var read: [ShardSample] = []
        for shard in writer.written {
            let reader = try ShardReader(path: folder + "/" + shard.file, dataset: "voc", split: "val")
            #expect(reader.encodings == ["image": .raw, "mask": .raw])
            for i in 0..<reader.count { read.append(try reader.sample(at: i)) }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + shard.file))
            #expect(SHA256Digest.hex(of: bytes) == shard.sha256)
            #expect(try SHA256Digest.hex(ofFile: folder + "/" + shard.file) == shard.sha256)
        }
        #expect(read == samples)
    }

    @Test func readersRejectOtherFilesWithTheirName() throws {
        let folder = scratchFolder("reject")
        var writer = TensorFileWriter(metadata: ["format": "cribo-shard", "version": "0"])
        writer.add("x", Tensor(zeros: [1]))
        try writer.write(to: folder + "/old.safetensors")
        #expect { try ShardReader(path: folder + "/old.safetensors") } throws: { error in
            "\(error)".contains("old.safetensors") && "\(error)".contains("re-run cribo-ingest")
        }
        let encoder = ShardEncoder(dataset: "ade20k", split: "training", encodings: ["image": .jpeg], hasLabels: false)
        try encoder.encode([ShardSample(id: 1, name: "a", blobs: ["image": Blob(bytes: [1, 2], shape: [1, 1, 3])])], index: 0)
            .write(to: folder + "/a.safetensors")
        #expect(throws: ShardError.self) { try ShardReader(path: folder + "/a.safetensors", dataset: "voc") }
        #expect(throws: (any Error).self) { try ShardReader(path: folder + "/missing.safetensors") }
    }

    @Test func manifestRoundTripAndErrors() throws {
        let folder = scratchFolder("manifest")
        #expect { try Manifest.load(folder: folder) } throws: { "\($0)".contains("manifest.json") }
        let configuration = ["storage": "raw", "maxSide": "256"]
        let manifest = Manifest(
            dataset: "voc", split: "train",
            sources: [.init(name: "VOCtrainval_11-May-2012.tar", size: 10, modified: 1, sha256: "ab", published: nil, matchesPublished: nil)],
            shards: [.init(file: "shard-00000.safetensors", samples: 3, bytes: 100, sha256: "cd")], sampleCount: 3,
            fields: ["image": .raw], classNames: ["background"], counts: ["images": 3], labelEncoding: ["ignoreIndex": "255"],
            configuration: configuration, configurationHash: Manifest.hash(configuration: configuration),
            skipped: [.init(member: "x.jpg", reason: "truncated JPEG")], createdBy: "test")
        try manifest.write(folder: folder)
        #expect(try Manifest.load(folder: folder) == manifest)
        #expect(Manifest.hash(configuration: ["a": "1", "b": "2"]) == Manifest.hash(configuration: ["b": "2", "a": "1"]))
        try Data("{\"format\": 3}".utf8).write(to: URL(fileURLWithPath: Manifest.path(in: folder)))
        #expect { try Manifest.load(folder: folder) } throws: { "\($0)".contains("invalid manifest") }
    }

    @Test func shardFileNames() {
        #expect(ShardLayout.fileName(index: 0) == "shard-00000.safetensors")
        #expect(ShardLayout.fileName(index: 123_456) == "shard-123456.safetensors")
    }
}
