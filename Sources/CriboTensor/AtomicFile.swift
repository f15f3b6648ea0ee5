// SPDX-License-Identifier: Apache-2.0
// Atomic file replacement: write a temporary file in the destination's folder, fsync it, rename it over the
// destination, fsync the folder. A reader sees the old file or the new one, never a partial one; a crash leaves
// at most a `.tmp-*` file that the next write ignores and replaces.

import Foundation

/// Writes files so that they appear whole or not at all.
package enum AtomicFile {
    /// Replaces `path` with the bytes produced by `write`, atomically.
    /// - Parameters:
    ///   - path: the destination; its folder must exist.
    ///   - write: called with an open file descriptor of the temporary file; writes the whole content.
    package static func write(to path: String, _ write: (Int32) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))-" + url.lastPathComponent
        let fd = Foundation.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError.cannotCreate(path: temporary, reason: String(cString: strerror(errno))) }
        var success = false
        defer {
            if !success { unlink(temporary) }
        }
        do {
            try write(fd)
            guard fsync(fd) == 0 else { throw FileError.writeFailed(path: temporary, reason: String(cString: strerror(errno))) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw FileError.writeFailed(path: path, reason: "rename: " + String(cString: strerror(errno)))
        }
        success = true
        let folderFD = Foundation.open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY)
        if folderFD >= 0 {
            fsync(folderFD)
            close(folderFD)
        }
    }

    /// Replaces `path` with `data`, atomically.
    package static func write(_ data: Data, to path: String) throws {
        try write(to: path) { fd in try writeAll(fd: fd, data: data, path: path) }
    }

    /// Writes every byte of `data` to `fd` (retrying short writes).
    package static func writeAll(fd: Int32, data: Data, path: String) throws {
        try data.withUnsafeBytes { raw in try writeAll(fd: fd, bytes: raw, path: path) }
    }

    /// Writes every byte of `bytes` to `fd` (retrying short writes and EINTR).
    package static func writeAll(fd: Int32, bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            offset += written
        }
    }
}

/// File-system failures, each naming the path.
package enum FileError: Error, CustomStringConvertible {
    case cannotCreate(path: String, reason: String)
    case cannotOpen(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    package var description: String {
        switch self {
        case .cannotCreate(let path, let reason): return "\(path): cannot create: \(reason)"
        case .cannotOpen(let path, let reason): return "\(path): cannot open: \(reason)"
        case .writeFailed(let path, let reason): return "\(path): write failed: \(reason)"
        }
    }
}
