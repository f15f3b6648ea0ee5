// SPDX-License-Identifier: Apache-2.0
// Where an ArchiveReader's bytes come from: a file (libarchive reads it itself, with seeking for the zip central
// directory) or a Data value served to libarchive in 64 KiB chunks through read, skip and seek callbacks, so an
// inner tar of hundreds of MB is neither copied whole nor touched through an escaped pointer.

import CArchive
import Foundation

/// The bytes behind an `ArchiveReader`.
enum ArchiveSource {
    case file(String)
    case memory(MemorySource)

    /// How the archive starts: with a zip local file header (`PK\3\4`), as an empty zip (nothing but an end of
    /// central directory record, `PK\5\6`, counting 0 members), or otherwise.
    func zipStart(name: String) throws -> ZipStart {
        let head = try bytes(at: 0, count: 22, name: name)
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .localHeader }
        if head.count == 22, head.starts(with: [0x50, 0x4B, 0x05, 0x06]), head[8..<12].allSatisfy({ $0 == 0 }) {
            return .emptyArchive
        }
        return .none
    }

    /// The compressor whose signature starts the archive (gzip, bzip2, xz, zstd), if any.
    func compression(name: String) throws -> String? {
        let head = try bytes(at: 0, count: 6, name: name)
        let signatures: [(String, [UInt8])] = [
            ("gzip", [0x1F, 0x8B]), ("bzip2", [0x42, 0x5A, 0x68]), ("xz", [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]),
            ("zstd", [0x28, 0xB5, 0x2F, 0xFD]),
        ]
        return signatures.first { head.starts(with: $0.1) }?.0
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the archive).
    func bytes(at offset: Int64, count: Int, name: String) throws -> [UInt8] {
        switch self {
        case .memory(let source):
            let start = source.data.startIndex + Int(min(offset, Int64(source.data.count)))
            let end = min(start + count, source.data.endIndex)
            return [UInt8](source.data[start..<end])
        case .file(let path):
            let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw ArchiveError.cannotOpen(archive: name, reason: String(cString: strerror(errno)))
            }
            defer { close(fd) }
            var result = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let got = result.withUnsafeMutableBytes {
                    pread(fd, $0.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
                }
                if got < 0 && errno == EINTR { continue }
                if got < 0 { throw ArchiveError.cannotOpen(archive: name, reason: String(cString: strerror(errno))) }
                if got == 0 { break }
                filled += got
            }
            return Array(result[0..<filled])
        }
    }

    /// Opens `handle` on these bytes; returns libarchive's status.
    func open(_ handle: OpaquePointer) -> Int32 {
        switch self {
        case .file(let path):
            return archive_read_open_filename(handle, path, 1 << 20)
        case .memory(let source):
            archive_read_set_callback_data(handle, Unmanaged.passUnretained(source).toOpaque())
            archive_read_set_read_callback(handle) { _, context, buffer in
                let source = Unmanaged<MemorySource>.fromOpaque(context!).takeUnretainedValue()
                let count = source.fillChunk()
                buffer!.pointee = UnsafeRawPointer(source.chunk.baseAddress!)
                return count
            }
            archive_read_set_skip_callback(handle) { _, context, request in
                let source = Unmanaged<MemorySource>.fromOpaque(context!).takeUnretainedValue()
                let skipped = min(Int(request), source.data.count - source.position)
                source.position += skipped
                return Int64(skipped)
            }
            archive_read_set_seek_callback(handle) { _, context, offset, whence in
                let source = Unmanaged<MemorySource>.fromOpaque(context!).takeUnretainedValue()
                return source.seek(offset: offset, whence: whence)
            }
            return archive_read_open1(handle)
        }
    }
}

/// What the first bytes of an archive say about zip.
enum ZipStart {
    case localHeader
    case emptyArchive
    case none
}

/// A Data value read by libarchive through callbacks; lives as long as its reader.
final class MemorySource {
    let data: Data
    var position = 0
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 64)

    init(data: Data) {
        self.data = data
    }

    deinit {
        chunk.deallocate()
    }

    /// Copies the next chunk into `chunk`; returns its length (0 at the end).
    func fillChunk() -> Int {
        let count = min(chunk.count, data.count - position)
        if count > 0 {
            let start = data.startIndex + position
            data.copyBytes(to: chunk.baseAddress!.assumingMemoryBound(to: UInt8.self), from: start..<(start + count))
        }
        position += count
        return count
    }

    /// lseek semantics; returns the new position, or ARCHIVE_FATAL for a position outside the data.
    func seek(offset: Int64, whence: Int32) -> Int64 {
        let base: Int64
        switch whence {
        case SEEK_SET: base = 0
        case SEEK_CUR: base = Int64(position)
        case SEEK_END: base = Int64(data.count)
        default: return Int64(ARCHIVE_FATAL)
        }
        let target = base + offset
        guard target >= 0, target <= Int64(data.count) else { return Int64(ARCHIVE_FATAL) }
        position = Int(target)
        return target
    }
}
