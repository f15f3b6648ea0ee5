// SPDX-License-Identifier: Apache-2.0
// safetensors round trips (byte-exact, all dtypes cribo writes), reading files written by the Python
// implementation (the goldens), and clear errors on malformed or truncated files.

import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite struct TensorFileTests {}

func temporaryPath(_ name: String) -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder.appendingPathComponent(name).path
}

extension TensorFileTests {
    @Test func roundTripIsExactAndDeterministic() throws {
        let t = randomTensor([2, 3, 5], seed: 9)
        var writer = TensorFileWriter(metadata: ["format": "test", "note": "quote \" and \\ and é"])
        writer.add("b.weights", t)
        writer.add("a.ids", shape: [3], int64s: [1, -2, 1 << 40])
        writer.add("c.bytes", shape: [4], uint8s: Data([0, 1, 254, 255]))
        writer.addFloat16("d.half", shape: [2], floats: UnsafeBufferPointer(rebasing: t.buffer[0..<2]))
        // pieces written in turn: small ones gathered, an empty one, one larger than the staging quarter (direct write)
        let large = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let pieces: [[UInt8]] = [[1, 2, 3], [], large, [9]]
        writer.add("e.pieces", uint8Pieces: pieces)
        let path = temporaryPath("roundtrip.safetensors")
        var observed = Data()
        let size = try writer.write(to: path) { observed.append(contentsOf: $0) }
        let file = try TensorFile(path: path)
        #expect(file.metadata["note"] == "quote \" and \\ and é")
        #expect(file.names == ["a.ids", "b.weights", "c.bytes", "d.half", "e.pieces"])
        #expect(try file.entry("e.pieces").shape == [300_004])
        #expect(try file.integers("e.pieces") == pieces.flatMap { $0 }.map(Int64.init))
        #expect(try file.tensor("b.weights").scalars == t.scalars)
        #expect(try file.integers("a.ids") == [1, -2, 1 << 40])
        #expect(try file.integers("c.bytes") == [0, 1, 254, 255])
        #expect(try file.tensor("d.half").scalars == [Float(Float16(t[flat: 0])), Float(Float16(t[flat: 1]))])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes == writer.serialized(), "the same content serialises to the same bytes")
        #expect(observed == bytes && size == bytes.count, "write(to:observe:) sees every byte of the file, in order")
        let headerLength = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect((8 + Int(headerLength)) % 8 == 0, "header padded to 8 bytes")
        for name in file.names {
            let entry = try file.entry(name)
            #expect(entry.range.lowerBound % entry.dtype.size == 0, "\(name) aligned to its element size")
        }
    }

    @Test func readsFilesWrittenByPythonSafetensors() throws {
        let file = try golden("linear.safetensors")
        #expect(try file.entry("weight").shape == [4, 7])
        #expect(try file.entry("weight").dtype == .float32)
        #expect(try golden("schedule.safetensors").entry("lr").dtype == .float64)
    }

    @Test func truncatedAndMalformedFilesAreNamedErrors() throws {
        var writer = TensorFileWriter()
        writer.add("x", randomTensor([64], seed: 1))
        let good = writer.serialized()
        let cases: [(String, Data)] = [
            ("truncated-data", good.prefix(good.count - 10)),
            ("truncated-header", good.prefix(20)),
            ("tiny", Data([1, 2, 3])),
            ("not-json", Data([8, 0, 0, 0, 0, 0, 0, 0]) + Data("notjson!".utf8)),
        ]
        for (name, bytes) in cases {
            let path = temporaryPath(name + ".safetensors")
            try bytes.write(to: URL(fileURLWithPath: path))
            do {
                _ = try TensorFile(path: path)
                Issue.record("\(name): a malformed file was accepted")
            } catch let error as TensorFileError {
                #expect("\(error)".contains(path), "\(name): the error names the file: \(error)")
            }
        }
        let path = temporaryPath("good.safetensors")
        try good.write(to: URL(fileURLWithPath: path))
        #expect(throws: TensorFileError.self) { try TensorFile(path: path).tensor("missing") }
        #expect(throws: TensorFileError.self) { try TensorFile(path: path + ".absent") }
    }

    @Test func atomicWriteLeavesNoPartialFile() throws {
        let path = temporaryPath("atomic.bin")
        try AtomicFile.write(Data("first".utf8), to: path)
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try AtomicFile.write(to: path) { fd in
                try AtomicFile.writeAll(fd: fd, data: Data("half-writ".utf8), path: path)
                throw Crash()
            }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first", "a failed write keeps the old file")
        let folder = (path as NSString).deletingLastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix(".tmp-") }
        #expect(leftovers.isEmpty, "temporary files removed: \(leftovers)")
    }

    @Test func splitMixStreamsArePureFunctionsOfTheirKeys() {
        var a = SplitMix64(seed: SplitMix64.mix(1, 2, 3))
        var b = SplitMix64(seed: SplitMix64.mix(1, 2, 3))
        #expect((0..<8).map { _ in a.next() } == (0..<8).map { _ in b.next() })
        #expect(SplitMix64.mix(1, 2, 3) != SplitMix64.mix(1, 3, 2), "order matters")
        var rng = SplitMix64(seed: 42)
        let normals = (0..<20_000).map { _ in rng.nextNormal() }
        let mean = normals.reduce(0, +) / Double(normals.count)
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(normals.count)
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.05, "standard normal: mean \(mean), variance \(variance)")
    }
}
