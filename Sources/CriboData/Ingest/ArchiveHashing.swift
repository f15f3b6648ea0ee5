// SPDX-License-Identifier: Apache-2.0
// Hashing the source archives (SHA-256 for the manifest, MD5 to compare with published checksums) on a side
// thread while the archives are streamed, so a run reads each archive from disk about once.

import Crypto
import Foundation

/// The digests of one file.
struct FileDigest: Sendable {
    var sha256: String
    var md5: String
}

/// Hashes files on a background thread.
final class ArchiveHashing: @unchecked Sendable {
    private let paths: [String]
    private let group = DispatchGroup()
    private var result: Result<[FileDigest], Error> = .success([])

    init(paths: [String]) { self.paths = paths }

    func start() {
        group.enter()
        Thread.detachNewThread { [self] in
            defer { group.leave() }
            do { result = .success(try paths.map(Self.digest)) } catch { result = .failure(error) }
        }
    }

    func wait() throws -> [FileDigest] {
        group.wait()
        return try result.get()
    }

    static func digest(of path: String) throws -> FileDigest {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw IngestError.badMetadata(source: path, reason: "cannot open for hashing")
        }
        defer { try? handle.close() }
        var sha = SHA256()
        var md5 = Insecure.MD5()
        while true {
            let block = try handle.read(upToCount: 4 << 20) ?? Data()
            if block.isEmpty { break }
            sha.update(data: block)
            md5.update(data: block)
        }
        let hex = { (bytes: any Sequence<UInt8>) in bytes.map { String(format: "%02x", $0) }.joined() }
        return FileDigest(sha256: hex(sha.finalize()), md5: hex(md5.finalize()))
    }
}
