// SPDX-License-Identifier: Apache-2.0
// ArchiveReader and ArchiveWriter: byte-exact round trips through zip, tar and tar.gz; a tar of tars read as nested
// in-memory archives; archives made by Python's zipfile/tarfile (committed fixtures from
// Golden/make_archive_fixtures.py: data descriptors, ZIP64 extras and end record, GNU long names, pax, gzip) and,
// where installed, by /usr/bin/zip and /usr/bin/tar. The failure cases (truncation, corruption, garbage, limits)
// are in ArchiveTests+Errors.swift.

import CriboData
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite struct ArchiveTests {}

/// A member as the tests compare it: the header and, for regular files, the data.
struct ReadMember: Equatable {
    var entry: ArchiveEntry
    var data: Data?
}

/// Reads every member of an archive, with the data of regular files.
func readAll(_ reader: ArchiveReader) throws -> [ReadMember] {
    var members: [ReadMember] = []
    while let entry = try reader.next() {
        members.append(ReadMember(entry: entry, data: entry.isRegularFile ? try reader.readData() : nil))
    }
    return members
}

/// A fresh folder under the system temporary folder; `body` runs with its path, then it is removed.
func withTemporaryFolder<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-archive-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// `count` seeded pseudo-random bytes (incompressible).
func randomBytes(_ count: Int, seed: UInt64) -> Data {
    var rng = SplitMix64(seed: seed)
    return Data((0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 32) })
}

/// The members `writeSample` puts in an archive, in order (nil data: a directory).
func sampleMembers() -> [(name: String, data: Data?)] {
    let text = Data((0..<400).map { "line \($0): the quick brown fox\n" }.joined().utf8)
    return [
        ("train2017/", nil),
        ("train2017/000000000139.jpg", randomBytes(100_000, seed: 1)),
        ("train2017/notes.txt", text),
        ("train2017/empty.bin", Data()),
        ("train2017/café über/été.txt", Data("naïve été\n".utf8)),
        ("train2017/" + String(repeating: "long_name_", count: 15) + ".bin", randomBytes(777, seed: 2)),
        ("annotations/", nil),
        ("annotations/instances.json", Data("{\"images\": []}".utf8)),
    ]
}

/// Writes `sampleMembers()`; in a zip the random (JPEG-like) member is stored, the others deflated.
func writeSample(to path: String, format: ArchiveFormat, modificationTime: Int = 0) throws {
    let writer = try ArchiveWriter(path: path, format: format)
    for (name, data) in sampleMembers() {
        if let data {
            let compression: ZipCompression = name.hasSuffix(".jpg") ? .store : .deflate
            try writer.addFile(name, data: data, modificationTime: modificationTime, compression: compression)
        } else {
            try writer.addDirectory(name, modificationTime: modificationTime)
        }
    }
    try writer.finish()
}

/// What reading `sampleMembers()` back must give.
func expectedSample() -> [ReadMember] {
    sampleMembers().map { name, data in
        ReadMember(
            entry: ArchiveEntry(
                name: name,
                size: Int64(data?.count ?? 0),
                isDirectory: data == nil,
                isRegularFile: data != nil
            ),
            data: data
        )
    }
}

extension ArchiveFormat: CustomTestStringConvertible {
    public var testDescription: String {
        switch self {
        case .zip: return "zip"
        case .tar: return "tar"
        case .tarGzip: return "tar.gz"
        }
    }

    var fileExtension: String { testDescription }
}

extension ArchiveTests {
    @Test(arguments: [ArchiveFormat.zip, .tar, .tarGzip])
    func roundTripIsByteExact(format: ArchiveFormat) throws {
        try withTemporaryFolder { folder in
            let path = folder + "/sample." + format.fileExtension
            try writeSample(to: path, format: format)
            let fromFile = try ArchiveReader(path: path)
            #expect(fromFile.archiveName == path)
            #expect(try readAll(fromFile) == expectedSample())
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let fromMemory = try ArchiveReader(data: bytes, name: "outer.tar:sample")
            #expect(fromMemory.archiveName == "outer.tar:sample")
            #expect(try readAll(fromMemory) == expectedSample())
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["sample." + format.fileExtension])
        }
    }

    @Test(arguments: [ArchiveFormat.zip, .tar, .tarGzip])
    func writerOutputDependsOnlyOnItsMembers(format: ArchiveFormat) throws {
        try withTemporaryFolder { folder in
            try writeSample(to: folder + "/a", format: format)
            try writeSample(to: folder + "/b", format: format)
            try writeSample(to: folder + "/c", format: format, modificationTime: 1_500_000_000)
            let a = try Data(contentsOf: URL(fileURLWithPath: folder + "/a"))
            #expect(a == (try Data(contentsOf: URL(fileURLWithPath: folder + "/b"))))
            #expect(a != (try Data(contentsOf: URL(fileURLWithPath: folder + "/c"))))
            if format == .tarGzip {
                // The gzip header's MTIME field (bytes 4..<8) is 0 rather than the time of writing.
                #expect(a[4..<8] == Data([0, 0, 0, 0]))
            }
        }
    }

    @Test func zipWriterStoresOrDeflatesEachMember() throws {
        // A zip local header holds the compression method at byte 8 (0 stored, 8 deflated) and the compressed
        // size at byte 18 (or 0 with a data descriptor); 20,000 bytes of repeated text deflate to well under 1,000.
        let text = Data(String(repeating: "abcdefghij", count: 2000).utf8)
        try withTemporaryFolder { folder in
            for (compression, method) in [(ZipCompression.store, UInt8(0)), (.deflate, 8)] {
                let path = folder + "/\(compression).zip"
                let writer = try ArchiveWriter(path: path, format: .zip)
                try writer.addFile("a.txt", data: text, compression: compression)
                try writer.finish()
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                #expect(bytes.prefix(4) == Data([0x50, 0x4B, 0x03, 0x04]))
                #expect(bytes[8] == method && bytes[9] == 0, "\(compression)")
                #expect(
                    compression == .store ? bytes.count > text.count : bytes.count < 1000,
                    "\(compression): \(bytes.count) bytes"
                )
                #expect(try readAll(ArchiveReader(path: path)).map(\.data) == [text])
            }
        }
    }

    @Test func tarOfTarsReadsAsNestedArchives() throws {
        try withTemporaryFolder { folder in
            let synsets = ["n01440764", "n01443537", "n01484850"]
            var innerBytes: [Data] = []
            for (s, synset) in synsets.enumerated() {
                let path = folder + "/\(synset).tar"
                let writer = try ArchiveWriter(path: path, format: .tar)
                for i in 0..<(s + 1) {
                    try writer.addFile(
                        "\(synset)_\(i).JPEG",
                        data: randomBytes(1000 * i + 13, seed: UInt64(10 * s + i))
                    )
                }
                try writer.finish()
                innerBytes.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            }
            let outerPath = folder + "/ILSVRC2012_img_train.tar"
            let outer = try ArchiveWriter(path: outerPath, format: .tar)
            for (synset, bytes) in zip(synsets, innerBytes) { try outer.addFile("\(synset).tar", data: bytes) }
            try outer.finish()

            var seen: [String: [ReadMember]] = [:]
            try ArchiveReader(path: outerPath).forEachMember { entry, data in
                let inner = try ArchiveReader(data: try data(), name: outerPath + ":" + entry.name)
                #expect(inner.archiveName == outerPath + ":" + entry.name)
                seen[entry.name] = try readAll(inner)
            }
            #expect(seen.keys.sorted() == synsets.map { $0 + ".tar" })
            for (s, synset) in synsets.enumerated() {
                let expected = (0..<(s + 1)).map { i in
                    let data = randomBytes(1000 * i + 13, seed: UInt64(10 * s + i))
                    return ReadMember(
                        entry: ArchiveEntry(
                            name: "\(synset)_\(i).JPEG",
                            size: Int64(data.count),
                            isDirectory: false,
                            isRegularFile: true
                        ),
                        data: data
                    )
                }
                #expect(seen[synset + ".tar"] == expected)
            }
        }
    }

    @Test func forEachMemberSkipsDirectoriesAndReadsLazily() throws {
        try withTemporaryFolder { folder in
            let path = folder + "/sample.zip"
            try writeSample(to: path, format: .zip)
            var names: [String] = []
            try ArchiveReader(path: path).forEachMember { entry, data in
                names.append(entry.name)
                guard entry.name.hasSuffix(".txt") else { return }
                let first = try data()
                #expect(first == sampleMembers().first { $0.name == entry.name }?.data)
                #expect(try data() == first)
            }
            #expect(names == sampleMembers().filter { $0.data != nil }.map(\.name))
        }
    }

    @Test func emptyMembersAndEmptyArchives() throws {
        try withTemporaryFolder { folder in
            for format in [ArchiveFormat.zip, .tar, .tarGzip] {
                let path = folder + "/empty." + format.fileExtension
                try ArchiveWriter(path: path, format: format).finish()
                #expect(try ArchiveReader(path: path).next() == nil, "\(format)")
                let onePath = folder + "/one." + format.fileExtension
                let writer = try ArchiveWriter(path: onePath, format: format)
                try writer.addFile("zero", data: Data())
                try writer.finish()
                let reader = try ArchiveReader(path: onePath)
                #expect(try reader.next()?.size == 0)
                #expect(try reader.readData() == Data())
                #expect(try reader.next() == nil)
            }
        }
    }
}

// MARK: - Archives made by other tools

/// The committed fixtures' expected contents (Golden/archives/expected.json).
struct FixtureListing: Decodable {
    struct Member: Decodable {
        var name: String
        var isDirectory: Bool
        var size: Int64
    }
    var archives: [String: [Member]]
    var contents: [String: String]

    static func load() throws -> FixtureListing {
        let url = URL(fileURLWithPath: goldenDirectory + "/archives/expected.json")
        return try JSONDecoder().decode(FixtureListing.self, from: Data(contentsOf: url))
    }

    func expected(_ archive: String) throws -> [ReadMember] {
        try #require(archives[archive]).map { member in
            var data: Data?
            if !member.isDirectory {
                let encoded = try #require(contents[member.name], "no contents for \(member.name)")
                let decoded: Data = try #require(Data(base64Encoded: encoded), "\(member.name): not base64")
                data = decoded
            }
            let entry = ArchiveEntry(
                name: member.name,
                size: member.size,
                isDirectory: member.isDirectory,
                isRegularFile: !member.isDirectory
            )
            return ReadMember(entry: entry, data: data)
        }
    }
}

extension ArchiveTests {
    @Test(arguments: [
        "python_mixed.zip", "python_streamed.zip", "zip64_end.zip", "python_gnu.tar", "python_pax.tar.gz",
    ])
    func readsPythonMadeFixtures(archive: String) throws {
        let expected = try FixtureListing.load().expected(archive)
        let path = goldenDirectory + "/archives/" + archive
        #expect(try readAll(ArchiveReader(path: path)) == expected)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(try readAll(ArchiveReader(data: bytes, name: archive)) == expected)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/zip")))
    func readsZipsOfInfoZip() throws {
        try withTemporaryFolder { folder in
            let files = try writeLooseFiles(in: folder)
            // -0: stored; default: deflated; -fz: ZIP64 extras forced; "-" reads stdin, which gives a data descriptor.
            for (zipName, options) in [("stored.zip", ["-0"]), ("deflated.zip", ["-9"]), ("zip64.zip", ["-fz"])] {
                try run("/usr/bin/zip", ["-q", "-X", "-r"] + options + [zipName, "data"], in: folder)
                #expect(try sortedByName(readAll(ArchiveReader(path: folder + "/" + zipName))) == files, "\(zipName)")
            }
            let piped = randomBytes(5000, seed: 9)
            try run("/usr/bin/zip", ["-q", "-X", "piped.zip", "-"], in: folder, input: piped)
            let members = try readAll(ArchiveReader(path: folder + "/piped.zip"))
            #expect(members.map(\.entry.name) == ["-"])
            #expect(members.first?.data == piped)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tar")))
    func readsTarsOfGNUTar() throws {
        try withTemporaryFolder { folder in
            let files = try writeLooseFiles(in: folder)
            let variants = [
                ("gnu.tar", ["--format=gnu", "-cf"]), ("pax.tar", ["--format=pax", "-cf"]), ("gz.tar.gz", ["-czf"]),
            ]
            for (tarName, options) in variants {
                try run(
                    "/usr/bin/tar",
                    ["--sort=name", "--owner=0", "--group=0"] + options + [tarName, "data"],
                    in: folder
                )
                #expect(try sortedByName(readAll(ArchiveReader(path: folder + "/" + tarName))) == files, "\(tarName)")
            }
        }
    }
}

extension ArchiveTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/unzip")))
    func writerZipPassesUnzipTest() throws {
        try withTemporaryFolder { folder in
            try writeSample(to: folder + "/sample.zip", format: .zip)
            // unzip -t decompresses every member and checks its CRC; any error gives a non-zero exit status.
            try run("/usr/bin/unzip", ["-tq", "sample.zip"], in: folder)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tar")))
    func writerTarsExtractWithGNUTar() throws {
        try withTemporaryFolder { folder in
            for format in [ArchiveFormat.tar, .tarGzip] {
                let name = "sample." + format.fileExtension
                try writeSample(to: folder + "/" + name, format: format)
                let output = folder + "/out-" + format.fileExtension
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
                try run("/usr/bin/tar", ["-xf", "../" + name], in: output)
                for (member, data) in sampleMembers() {
                    var isDirectory: ObjCBool = false
                    let path = output + "/" + member
                    let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                    #expect(exists && isDirectory.boolValue == (data == nil), "\(name): \(member)")
                    if let data, exists {
                        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == data, "\(member)")
                    }
                }
            }
        }
    }
}

/// Members in name order (the tools store them in directory-listing order, which the file system decides).
private func sortedByName(_ members: [ReadMember]) -> [ReadMember] {
    members.sorted { $0.entry.name < $1.entry.name }
}

/// Writes a small tree under `folder/data` and returns its members as an archive of `data` holds them, by name.
private func writeLooseFiles(in folder: String) throws -> [ReadMember] {
    let files: [(String, Data)] = [
        ("data/a.bin", randomBytes(12_345, seed: 3)),
        ("data/empty", Data()),
        ("data/sub/b.txt", Data(String(repeating: "text ", count: 3000).utf8)),
    ]
    try FileManager.default.createDirectory(atPath: folder + "/data/sub", withIntermediateDirectories: true)
    for (name, data) in files { try data.write(to: URL(fileURLWithPath: folder + "/" + name)) }
    func directory(_ name: String) -> ReadMember {
        ReadMember(entry: ArchiveEntry(name: name, size: 0, isDirectory: true, isRegularFile: false), data: nil)
    }
    func file(_ index: Int) -> ReadMember {
        let (name, data) = files[index]
        return ReadMember(
            entry: ArchiveEntry(name: name, size: Int64(data.count), isDirectory: false, isRegularFile: true),
            data: data
        )
    }
    return [directory("data/"), file(0), file(1), directory("data/sub/"), file(2)]
}

/// Runs a tool in `folder`, feeding `input` on stdin; fails the test on a non-zero exit.
private func run(_ tool: String, _ arguments: [String], in folder: String, input: Data? = nil) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    process.environment = ["LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"]
    let pipe = Pipe()
    if input != nil { process.standardInput = pipe }
    try process.run()
    if let input {
        pipe.fileHandleForWriting.write(input)
        try pipe.fileHandleForWriting.close()
    }
    process.waitUntilExit()
    try #require(
        process.terminationStatus == 0,
        "\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)"
    )
}
