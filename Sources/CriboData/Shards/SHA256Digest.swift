// SPDX-License-Identifier: Apache-2.0
// SHA-256 of byte buffers and of files (streamed in 4 MiB blocks, bounded memory), as lowercase hex.

import Crypto
import Foundation

/// SHA-256 helpers (swift-crypto; hardware-accelerated where the CPU has SHA extensions).
package enum SHA256Digest {
    /// The hex digest of `data`.
    package static func hex(of data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// The hex digest of the bytes.
    package static func hex(of bytes: UnsafeRawBufferPointer) -> String { hex(SHA256.hash(data: bytes)) }

    /// The hex digest of the file at `path`, read in blocks; calls `progress` with the bytes hashed so far.
    package static func hex(ofFile path: String, progress: ((Int) -> Void)? = nil) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var total = 0
        while true {
            let block = try handle.read(upToCount: 4 << 20) ?? Data()
            if block.isEmpty { break }
            hasher.update(data: block)
            total += block.count
            progress?(total)
        }
        return hex(hasher.finalize())
    }

    /// An incremental SHA-256 of bytes given in pieces.
    package struct Hasher {
        private var state = SHA256()
        package init() {}
        package mutating func update(_ bytes: UnsafeRawBufferPointer) { state.update(bufferPointer: bytes) }
        /// The hex digest of everything given so far.
        package func hex() -> String { SHA256Digest.hex(state.finalize()) }
    }

    fileprivate static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}
