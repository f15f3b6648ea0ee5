// SPDX-License-Identifier: Apache-2.0
// ArchiveWriter: writes zip, tar and tar.gz archives (libarchive) for test fixtures and the demo's synthetic
// datasets. The archive is written to a temporary file beside the destination and renamed into place by
// `finish()`, so a reader never sees half an archive. Output bytes depend only on the members added: owner
// 0:0, modes 0644/0755, the given modification time, no gzip timestamp. (A zip also stores the time as an MS-DOS
// local time; every time before 1980, the default 0 included, is stored as 1980-01-01 whatever the time zone.)

import CArchive
import Foundation

/// The archive kinds `ArchiveWriter` produces.
package enum ArchiveFormat {
    /// A zip archive (members stored or deflated, see `ZipCompression`).
    case zip
    /// An uncompressed POSIX tar (pax headers only where a name needs them: long or non-ASCII).
    case tar
    /// A POSIX tar compressed with gzip (`.tar.gz`).
    case tarGzip
}

/// How a zip member's data is kept; ignored for tar archives.
package enum ZipCompression {
    /// Compressed with deflate (method 8).
    case deflate
    /// Kept as is (method 0), as zips of JPEGs often do.
    case store
}

/// Writes an archive member by member and moves it into place atomically when finished.
package final class ArchiveWriter {
    /// The destination path.
    package let path: String
    private let format: ArchiveFormat
    private let temporaryPath: String
    private var handle: OpaquePointer?
    private var fd: Int32

    /// Starts an archive; nothing appears at `path` until `finish()`.
    /// - Parameters:
    ///   - path: the destination; its folder must exist. An existing file is replaced by `finish()`.
    ///   - format: zip, tar or tar.gz.
    /// - Throws: `ArchiveError.writeFailed` when the temporary file cannot be created.
    package init(path: String, format: ArchiveFormat) throws {
        self.path = path
        self.format = format
        let url = URL(fileURLWithPath: path)
        temporaryPath =
            url.deletingLastPathComponent().path
            + "/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))-" + url.lastPathComponent
        fd = Foundation.open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ArchiveError.writeFailed(
                archive: path,
                member: nil,
                detail: "create \(temporaryPath): \(String(cString: strerror(errno)))"
            )
        }
        guard let handle = archive_write_new() else {
            close(fd)
            unlink(temporaryPath)
            throw ArchiveError.writeFailed(archive: path, member: nil, detail: "archive_write_new failed")
        }
        self.handle = handle
        var status: Int32 = ARCHIVE_OK
        withUTF8Locale { status = configure(handle) }
        if status != ARCHIVE_OK { throw abandon(member: nil, context: "opening") }
    }

    private func configure(_ handle: OpaquePointer) -> Int32 {
        var status: Int32
        switch format {
        case .zip:
            status = archive_write_set_format_zip(handle)
            // Non-ASCII names are written as UTF-8 with the zip UTF-8 flag set, whatever the process's locale.
            if status == ARCHIVE_OK { status = archive_write_set_options(handle, "zip:hdrcharset=UTF-8") }
        case .tar, .tarGzip:
            status = archive_write_set_format_pax_restricted(handle)
            if status == ARCHIVE_OK, format == .tarGzip {
                status = archive_write_add_filter_gzip(handle)
                if status == ARCHIVE_OK { status = archive_write_set_options(handle, "gzip:!timestamp") }
            }
        }
        if status == ARCHIVE_OK { status = archive_write_open_fd(handle, fd) }
        return status
    }

    deinit {
        if let handle {
            archive_write_free(handle)
            close(fd)
            unlink(temporaryPath)
        }
    }

    /// Adds a directory entry; a trailing `/` is added to `name` if missing.
    /// - Parameters:
    ///   - name: the member path, UTF-8, e.g. "train2017/".
    ///   - modificationTime: seconds since 1970.
    package func addDirectory(_ name: String, modificationTime: Int = 0) throws {
        let name = name.hasSuffix("/") ? name : name + "/"
        try addEntry(name: name, type: 0o040000, permissions: 0o755, size: 0, modificationTime: modificationTime)
    }

    /// Adds a regular file.
    /// - Parameters:
    ///   - name: the member path, UTF-8, e.g. "train2017/000000000139.jpg".
    ///   - data: the member's bytes (may be empty).
    ///   - modificationTime: seconds since 1970; a fixed value gives reproducible archive bytes.
    ///   - compression: for zip archives, deflate or store; ignored for tar.
    package func addFile(
        _ name: String,
        data: Data,
        modificationTime: Int = 0,
        compression: ZipCompression = .deflate
    ) throws {
        precondition(handle != nil, "ArchiveWriter.addFile(\(name)) after finish() or a failure of \(path)")
        if format == .zip {
            let status =
                compression == .store
                ? archive_write_zip_set_compression_store(handle) : archive_write_zip_set_compression_deflate(handle)
            if status != ARCHIVE_OK { throw abandon(member: name, context: "choosing the compression") }
        }
        try addEntry(
            name: name,
            type: 0o100000,
            permissions: 0o644,
            size: data.count,
            modificationTime: modificationTime
        )
        try data.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let count = archive_write_data(handle, raw.baseAddress! + written, raw.count - written)
                if count <= 0 { throw abandon(member: name, context: "writing data") }
                written += count
            }
        }
    }

    /// Completes the archive: writes the trailer, flushes it to disk and renames it to `path`.
    /// - Throws: `ArchiveError.writeFailed`; the temporary file is then removed.
    package func finish() throws {
        guard let handle else { preconditionFailure("ArchiveWriter.finish() after finish() or a failure of \(path)") }
        if withUTF8Locale({ archive_write_close(handle) }) != ARCHIVE_OK {
            throw abandon(member: nil, context: "closing")
        }
        archive_write_free(handle)
        self.handle = nil
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw removeTemporary(detail: "fsync: " + String(cString: strerror(errno))) }
        guard rename(temporaryPath, path) == 0 else {
            throw removeTemporary(detail: "rename: " + String(cString: strerror(errno)))
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let folderFD = Foundation.open(folder, O_RDONLY | O_DIRECTORY)
        if folderFD >= 0 {
            fsync(folderFD)
            close(folderFD)
        }
    }

    private func addEntry(name: String, type: UInt32, permissions: UInt32, size: Int, modificationTime: Int) throws {
        precondition(handle != nil, "ArchiveWriter: member \(name) added after finish() or a failure of \(path)")
        precondition(!name.isEmpty, "ArchiveWriter: empty member name in \(path)")
        guard let entry = archive_entry_new() else { throw abandon(member: name, context: "archive_entry_new") }
        defer { archive_entry_free(entry) }
        try withUTF8Locale {
            if archive_entry_update_pathname_utf8(entry, name) == 0 {
                throw abandon(member: name, context: "converting the name for libarchive")
            }
            archive_entry_set_filetype(entry, type)
            archive_entry_set_perm(entry, permissions)
            archive_entry_set_size(entry, Int64(size))
            archive_entry_set_mtime(entry, time_t(modificationTime), 0)
            archive_entry_set_uid(entry, 0)
            archive_entry_set_gid(entry, 0)
            if archive_write_header(handle, entry) != ARCHIVE_OK {
                throw abandon(member: name, context: "writing the header")
            }
        }
    }

    /// Makes the error for a libarchive failure; the writer is then unusable and its temporary file removed.
    private func abandon(member: String?, context: String) -> ArchiveError {
        let detail = handle.map { ArchiveReader.message($0) } ?? "no archive handle"
        if let handle {
            archive_write_free(handle)
            self.handle = nil
        }
        close(fd)
        return removeTemporary(detail: "\(context): \(detail)", member: member)
    }

    private func removeTemporary(detail: String, member: String? = nil) -> ArchiveError {
        unlink(temporaryPath)
        return ArchiveError.writeFailed(archive: path, member: member, detail: detail)
    }
}
