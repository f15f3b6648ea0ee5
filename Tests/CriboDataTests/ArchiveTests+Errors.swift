// SPDX-License-Identifier: Apache-2.0
// ArchiveReader failures: every truncation (inside a member, between tar members, anywhere in a zip or tar.gz),
// corruption, garbage input, missing file and size limit throws an ArchiveError naming the archive and, where
// there is one, the member; a damaged zip member leaves the following members readable.

import CriboData
import CriboTestSupport
import Foundation
import Testing

/// Writes `members` (name, data) with the writer and returns the archive's bytes.
private func archiveBytes(
    _ members: [(String, Data)],
    format: ArchiveFormat,
    compression: ZipCompression = .deflate,
    in folder: String
) throws -> Data {
    let path = folder + "/source"
    let writer = try ArchiveWriter(path: path, format: format)
    for (name, data) in members { try writer.addFile(name, data: data, compression: compression) }
    try writer.finish()
    return try Data(contentsOf: URL(fileURLWithPath: path))
}

/// Writes `bytes` to `folder/name` and returns the path.
private func file(_ bytes: Data, _ name: String, in folder: String) throws -> String {
    let path = folder + "/" + name
    try bytes.write(to: URL(fileURLWithPath: path))
    return path
}

/// Three 10,000-byte members a, b, c: in a tar, b's header is at 10,752 and its data at 11,264..21,264 (padded
/// to 21,504, where c's header starts).
private func threeMembers() -> [(String, Data)] {
    [("a", randomBytes(10_000, seed: 21)), ("b", randomBytes(10_000, seed: 22)), ("c", randomBytes(10_000, seed: 23))]
}

extension ArchiveTests {
    @Test func tarCutInsideAMemberNamesTheMember() throws {
        try withTemporaryFolder { folder in
            let tar = try archiveBytes(threeMembers(), format: .tar, in: folder)
            let path = try file(tar.prefix(11_264 + 5000), "cut.tar", in: folder)
            let reader = try ArchiveReader(path: path)
            #expect(try reader.next()?.name == "a")
            #expect(try reader.readData() == threeMembers()[0].1)
            #expect(try reader.next()?.name == "b")
            let error = #expect(throws: ArchiveError.self) { try reader.readData() }
            guard case .truncated(path, "b", _)? = error else {
                Issue.record("\(String(describing: error))")
                return
            }
            #expect(
                error?.description.hasPrefix(path + ": member b: truncated archive") == true,
                "\(String(describing: error))"
            )
            #expect(throws: ArchiveError.self) { try reader.next() }

            // Skipping instead of reading meets the same cut.
            let skipping = #expect(throws: ArchiveError.self) {
                try ArchiveReader(path: path).forEachMember { _, _ in }
            }
            #expect(skipping?.archive == path && skipping?.member == "b", "\(String(describing: skipping))")
        }
    }

    @Test func tarCutBetweenMembersIsNotASilentEnd() throws {
        try withTemporaryFolder { folder in
            let tar = try archiveBytes(threeMembers(), format: .tar, in: folder)
            for (cut, member) in [(21_504, "b"), (21_504 + 100, "b"), (10_752, "a")] {
                let path = try file(tar.prefix(cut), "cut\(cut).tar", in: folder)
                let error = #expect(throws: ArchiveError.self) { try readAll(ArchiveReader(path: path)) }
                guard case .truncated(path, member, _)? = error else {
                    Issue.record("cut at \(cut): \(String(describing: error))")
                    continue
                }
                let inMemory = #expect(throws: ArchiveError.self) {
                    try readAll(ArchiveReader(data: tar.prefix(cut), name: "x.tar:y.tar"))
                }
                #expect(
                    inMemory?.archive == "x.tar:y.tar" && inMemory?.member == member,
                    "\(String(describing: inMemory))"
                )
            }
            // The whole tar reads fully, and so does one cut after the first of the marker's two zero blocks
            // (all members complete; GNU tar accepts a lone zero block too).
            #expect(try readAll(ArchiveReader(data: tar, name: "whole")).count == 3)
            #expect(try readAll(ArchiveReader(data: tar.prefix(32_256 + 512), name: "marker")).count == 3)
        }
    }

    @Test(arguments: [ArchiveFormat.zip, .tarGzip])
    func compressedArchiveCutAnywhereThrows(format: ArchiveFormat) throws {
        try withTemporaryFolder { folder in
            let bytes = try archiveBytes(threeMembers(), format: format, compression: .store, in: folder)
            for cut in [40, bytes.count / 3, bytes.count / 2, bytes.count - 30, bytes.count - 1] {
                let path = try file(bytes.prefix(cut), "cut\(cut)", in: folder)
                let error = #expect(throws: ArchiveError.self, "cut at \(cut) of \(bytes.count)") {
                    try readAll(ArchiveReader(path: path))
                }
                #expect(error?.archive == path)
                #expect(error?.description.hasPrefix(path + ":") == true, "\(String(describing: error))")
            }
        }
    }

    @Test func garbageEmptyAndMissingFilesThrow() throws {
        try withTemporaryFolder { folder in
            for (name, bytes) in [
                ("garbage.zip", randomBytes(10_000, seed: 5)), ("empty.tar", Data()),
                ("text.tar.gz", Data("hello\n".utf8)),
            ] {
                let path = try file(bytes, name, in: folder)
                let error = #expect(throws: ArchiveError.self, "\(name)") { try readAll(ArchiveReader(path: path)) }
                guard case .unrecognizedFormat(path, _)? = error else {
                    Issue.record("\(name): \(String(describing: error))")
                    continue
                }
                let inMemory = #expect(throws: ArchiveError.self) {
                    try ArchiveReader(data: bytes, name: "outer.tar:" + name)
                }
                #expect(inMemory?.archive == "outer.tar:" + name)
            }
            let missing = folder + "/missing.zip"
            let error = #expect(throws: ArchiveError.self) { try ArchiveReader(path: missing) }
            guard case .cannotOpen(missing, _)? = error else {
                Issue.record("\(String(describing: error))")
                return
            }
        }
    }

    @Test(arguments: [ZipCompression.store, .deflate])
    func damagedZipMemberThrowsAndLaterMembersStayReadable(compression: ZipCompression) throws {
        try withTemporaryFolder { folder in
            let members = threeMembers()
            var bytes = try archiveBytes(members, format: .zip, compression: compression, in: folder)
            // Flip one byte in the middle of member b's data (b's local header starts with PK\3\4 and its name).
            let header = try #require(bytes.range(of: Data([0x50, 0x4B, 0x03, 0x04]), in: 4..<bytes.count))
            bytes[header.lowerBound + 3000] ^= 0x55
            let path = try file(bytes, "damaged.zip", in: folder)
            let reader = try ArchiveReader(path: path)
            #expect(try reader.next()?.name == "a")
            #expect(try reader.readData() == members[0].1)
            #expect(try reader.next()?.name == "b")
            let error = #expect(throws: ArchiveError.self) { try reader.readData() }
            #expect(error?.archive == path && error?.member == "b", "\(String(describing: error))")
            #expect(try reader.next()?.name == "c")
            #expect(try reader.readData() == members[2].1)
            #expect(try reader.next() == nil)
        }
    }

    @Test func readDataOverTheLimitThrowsAndCanBeSkipped() throws {
        try withTemporaryFolder { folder in
            let members = threeMembers()
            for format in [ArchiveFormat.zip, .tar] {
                let reader = try ArchiveReader(data: archiveBytes(members, format: format, in: folder), name: "limit")
                #expect(try reader.next()?.name == "a")
                let error = #expect(throws: ArchiveError.self) { try reader.readData(limit: 9_999) }
                guard case .memberTooLarge("limit", "a", 10_000, 9_999)? = error else {
                    Issue.record("\(String(describing: error))")
                    continue
                }
                try reader.skipData()
                #expect(try reader.next()?.name == "b")
                #expect(try reader.readData(limit: 10_000) == members[1].1)
            }
        }
    }

    @Test func truncatedInnerTarNamesTheChain() throws {
        try withTemporaryFolder { folder in
            let inner = try archiveBytes(threeMembers(), format: .tar, in: folder)
            let outerPath = folder + "/outer.tar"
            let outer = try ArchiveWriter(path: outerPath, format: .tar)
            try outer.addFile("n01.tar", data: inner.prefix(15_000))
            try outer.finish()
            var errors: [ArchiveError] = []
            try ArchiveReader(path: outerPath).forEachMember { entry, data in
                let error = #expect(throws: ArchiveError.self) {
                    try readAll(ArchiveReader(data: data(), name: outerPath + ":" + entry.name))
                }
                errors += error.map { [$0] } ?? []
            }
            #expect(errors.count == 1)
            #expect(
                errors.first?.description.hasPrefix(outerPath + ":n01.tar: member b: truncated archive") == true,
                "\(errors)"
            )
        }
    }
}
