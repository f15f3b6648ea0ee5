// SPDX-License-Identifier: Apache-2.0
// ArchiveReader: streams the members of a zip, tar or compressed tar (libarchive), one member at a time, from a
// file or from bytes in memory (an inner tar of ImageNet's tar of tars). Memory stays bounded by the largest
// member read. Nothing ends silently: every libarchive status other than OK (WARN included) is an error that
// names the archive and the member, a member shorter than its header says is an error, and an uncompressed tar
// must end with its end-of-archive marker.
//
// Zip archives are read with libarchive's *seekable* zip reader (central directory first), never the streaming
// one, for files on disk and in memory alike. The streaming reader walks local headers and stops at the first
// thing that is not one, so a zip cut anywhere after a complete member ends cleanly with the members before the
// cut; the seekable reader needs the end-of-central-directory record at the end of the file and refuses such a
// file at open. The central directory also carries the sizes (ZIP64 sizes included) of members written with data
// descriptors, whose local headers hold zeros (Python's zipfile writing to a pipe, `zip` reading stdin); the
// streaming reader has to find the end of a *stored* member of that kind by scanning for a signature.

import CArchive
import Foundation

/// Reads the members of a zip, tar or compressed tar archive in archive order, one at a time.
///
/// Concretely: `next()` returns each member header in turn; after it, `readData(limit:)` returns that member's
/// bytes or `skipData()` passes over them (calling `next()` again also skips). Errors are `ArchiveError`s naming
/// `archiveName` and the member.
/// - Complexity: O(archive size) time for a full pass; memory is the largest member read, plus for a zip
///   libarchive's table of the central directory.
package final class ArchiveReader {
    /// The archive path, or the name given to an in-memory archive; errors use it.
    package let archiveName: String
    private let handle: OpaquePointer
    private let source: ArchiveSource
    private var current: ArchiveEntry?
    private var isDataDone = false
    private var isAtEnd = false
    private var failure: ArchiveError?

    /// Opens an archive file; the format (zip, tar) and compression (gzip, bzip2, xz, zstd, ...) are detected.
    /// - Parameter path: the archive file.
    /// - Throws: `ArchiveError.cannotOpen`, `.unrecognizedFormat`, or `.truncated` (a zip without its central
    ///   directory).
    package convenience init(path: String) throws {
        try self.init(source: .file(path), name: path)
    }

    /// Opens an archive held in memory, such as an inner tar read from an outer one.
    /// - Parameters:
    ///   - data: the archive bytes; they are read in chunks from this value, not copied whole.
    ///   - name: the name errors use, e.g. "ILSVRC2012_img_train.tar:n01440764.tar".
    package convenience init(data: Data, name: String) throws {
        try self.init(source: .memory(MemorySource(data: data)), name: name)
    }

    private init(source: ArchiveSource, name: String) throws {
        guard let handle = archive_read_new() else {
            throw ArchiveError.cannotOpen(archive: name, reason: "archive_read_new failed (out of memory)")
        }
        self.handle = handle
        self.source = source
        self.archiveName = name
        let zipStart = try source.zipStart(name: name)
        if zipStart == .emptyArchive {
            // libarchive's seekable reader looks for the end record after offset 0 only, so it rejects an empty zip.
            isAtEnd = true
            return
        }
        let looksLikeZip = zipStart == .localHeader
        archive_read_support_format_zip_seekable(handle)
        if !looksLikeZip {
            archive_read_support_format_tar(handle)
            archive_read_support_filter_all(handle)
        }
        // Names in tar headers without a pax `path` record, and in zips without the UTF-8 flag, are taken as
        // UTF-8 (what GNU tar, Python and Info-ZIP write on Linux); libarchive caches the target character set
        // when the option is set, hence the thread's UTF-8 locale from here on (see ArchiveLocale.swift).
        let status = withUTF8Locale {
            let options = looksLikeZip ? "zip:hdrcharset=UTF-8" : "zip:hdrcharset=UTF-8,tar:hdrcharset=UTF-8"
            let optionStatus = archive_read_set_options(handle, options)
            precondition(optionStatus == ARCHIVE_OK, "libarchive refused \(options): \(ArchiveReader.message(handle))")
            return source.open(handle)
        }
        guard status == ARCHIVE_OK else {
            let message = archive_error_string(handle).map { String(cString: $0) }
            if looksLikeZip && message?.localizedCaseInsensitiveContains("unrecognized archive format") == true {
                throw ArchiveError.truncated(
                    archive: name,
                    member: nil,
                    detail: "starts like a zip but has no end-of-central-directory record"
                )
            }
            if let compression = try source.compression(name: name) {
                let detail = "\(compression) data: " + (message ?? "does not decompress to a tar")
                if message?.localizedCaseInsensitiveContains("truncat") == true {
                    throw ArchiveError.truncated(archive: name, member: nil, detail: detail)
                }
                throw ArchiveError.corrupt(archive: name, member: nil, detail: detail)
            }
            throw ArchiveError.unrecognizedFormat(archive: name, detail: message ?? "libarchive gave no reason")
        }
    }

    deinit {
        archive_read_free(handle)
    }

    /// Advances to the next member and returns its header, or nil after the last one.
    ///
    /// The data of the previous member is skipped if it was not read.
    /// - Throws: `ArchiveError.truncated` / `.corrupt` naming the previous member when the archive is cut or
    ///   damaged after it (also for an uncompressed tar that ends without its end-of-archive marker).
    package func next() throws -> ArchiveEntry? {
        try withUTF8Locale {
            if let failure { throw failure }
            if isAtEnd { return nil }
            var entryPointer: OpaquePointer?
            let status = archive_read_next_header(handle, &entryPointer)
            if status == ARCHIVE_EOF {
                try checkEndOfArchive()
                isAtEnd = true
                current = nil
                return nil
            }
            guard status == ARCHIVE_OK, let entryPointer else {
                throw fail(
                    status: Int(status),
                    member: current?.name,
                    context: current == nil ? "reading the first header" : "reading the header after this member"
                )
            }
            let entry = try makeEntry(entryPointer)
            current = entry
            isDataDone = false
            return entry
        }
    }

    /// Reads the whole data of the current member.
    /// - Parameter limit: the largest member accepted, in bytes.
    /// - Returns: the member's bytes (`size` of them when the header states a size).
    /// - Throws: `ArchiveError.memberTooLarge` over the limit (the data stays unread and can be skipped);
    ///   `.truncated` / `.corrupt` naming the member when its data is cut short or damaged.
    /// - Precondition: `next()` returned a member whose data has not been read or skipped yet.
    package func readData(limit: Int = 1 << 31) throws -> Data {
        try withUTF8Locale {
            if let failure { throw failure }
            guard let entry = current else {
                preconditionFailure("ArchiveReader.readData() of \(archiveName) before next()")
            }
            precondition(
                !isDataDone,
                "ArchiveReader.readData(): data of \(entry.name) in \(archiveName) already read or skipped"
            )
            if let size = entry.size, size > Int64(limit) {
                throw ArchiveError.memberTooLarge(archive: archiveName, member: entry.name, size: size, limit: limit)
            }
            isDataDone = true
            var data = Data(count: Int(entry.size ?? 0))
            var filled = 0
            if !data.isEmpty {
                filled = try data.withUnsafeMutableBytes { raw in
                    var filled = 0
                    while filled < raw.count {
                        let count = archive_read_data(handle, raw.baseAddress! + filled, raw.count - filled)
                        if count < 0 { throw fail(status: count, member: entry.name, context: "reading data") }
                        if count == 0 { break }
                        filled += count
                    }
                    return filled
                }
            }
            // Read on to the end of the member: libarchive checks a zip member's CRC there, and a member longer than
            // its header is an error rather than silently cut.
            var chunk = [UInt8](repeating: 0, count: entry.size == nil ? 1 << 16 : 512)
            while true {
                let count = chunk.withUnsafeMutableBytes { archive_read_data(handle, $0.baseAddress!, $0.count) }
                if count < 0 { throw fail(status: count, member: entry.name, context: "reading data") }
                if count == 0 { break }
                if let size = entry.size {
                    throw ArchiveError.corrupt(
                        archive: archiveName,
                        member: entry.name,
                        detail: "data longer than the \(size) bytes of its header"
                    )
                }
                if filled + count > limit {
                    throw ArchiveError.memberTooLarge(
                        archive: archiveName,
                        member: entry.name,
                        size: Int64(filled + count),
                        limit: limit
                    )
                }
                data.append(contentsOf: chunk[0..<count])
                filled += count
            }
            if let size = entry.size, Int64(filled) != size {
                throw ArchiveError.truncated(
                    archive: archiveName,
                    member: entry.name,
                    detail: "\(filled) of \(size) bytes of data"
                )
            }
            return data
        }
    }

    /// Passes over the data of the current member without decompressing it where the format allows.
    /// Does nothing when the data was already read or skipped.
    /// - Throws: `ArchiveError.truncated` when the archive ends inside the member.
    package func skipData() throws {
        try withUTF8Locale {
            if let failure { throw failure }
            guard let entry = current else {
                preconditionFailure("ArchiveReader.skipData() of \(archiveName) before next()")
            }
            if isDataDone { return }
            isDataDone = true
            let status = archive_read_data_skip(handle)
            if status != ARCHIVE_OK { throw fail(status: Int(status), member: entry.name, context: "skipping data") }
        }
    }
}

package extension ArchiveReader {
    /// Calls `body` for each regular file in archive order (directories, links and other kinds are skipped),
    /// with a function that reads the member's data on demand (once; a second call returns the same bytes).
    /// Members whose data `body` does not ask for are skipped without decompression.
    /// - Parameter body: receives the member header and its lazy data.
    func forEachMember(_ body: (ArchiveEntry, () throws -> Data) throws -> Void) throws {
        while let entry = try next() {
            guard entry.isRegularFile else { continue }
            var cached: Data?
            try body(entry) {
                if let cached { return cached }
                let data = try self.readData()
                cached = data
                return data
            }
        }
    }
}

// MARK: - Entries, errors and the end-of-archive check

extension ArchiveReader {
    /// libarchive's message for the last failure on `handle`.
    static func message(_ handle: OpaquePointer) -> String {
        guard let text = archive_error_string(handle) else { return "libarchive error \(archive_errno(handle))" }
        return String(cString: text)
    }

    private func makeEntry(_ entry: OpaquePointer) throws -> ArchiveEntry {
        var name: String?
        if let utf8 = archive_entry_pathname_utf8(entry) { name = String(validatingCString: utf8) }
        if name == nil, let raw = archive_entry_pathname(entry) { name = String(validatingCString: raw) }
        guard var name else {
            let lossy = archive_entry_pathname(entry).map { String(cString: $0) } ?? "?"
            throw fail(
                ArchiveError.corrupt(archive: archiveName, member: lossy, detail: "member name is not valid UTF-8"),
                isFatal: true
            )
        }
        let type = archive_entry_filetype(entry) & 0o170000
        let isDirectory = type == 0o040000
        if isDirectory && !name.hasSuffix("/") { name += "/" }
        let size = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : nil
        return ArchiveEntry(name: name, size: size, isDirectory: isDirectory, isRegularFile: type == 0o100000)
    }

    /// Turns a libarchive status into an error. A FATAL status (or any failure outside a member's data, where
    /// libarchive cannot resume) makes every later call throw the same error; a damaged zip member's data does
    /// not, so the following members stay readable.
    private func fail(status: Int, member: String?, context: String) -> ArchiveError {
        let detail = ArchiveReader.message(handle)
        let text = "\(context): \(detail)"
        let isTruncation =
            detail.localizedCaseInsensitiveContains("truncat")
            || detail.localizedCaseInsensitiveContains("premature end")
            || detail.localizedCaseInsensitiveContains("unexpected end")
        let error: ArchiveError =
            isTruncation
            ? .truncated(archive: archiveName, member: member, detail: text)
            : .corrupt(archive: archiveName, member: member, detail: text)
        let isFatal = status == Int(ARCHIVE_FATAL) || context != "reading data" || isTruncation
        return fail(error, isFatal: isFatal)
    }

    private func fail(_ error: ArchiveError, isFatal: Bool) -> ArchiveError {
        if isFatal { failure = error }
        return error
    }

    /// libarchive ends a tar at end of input on a block boundary as if the end-of-archive marker (a zero block)
    /// were there, so a tar cut exactly between two members would end early without a word. For an uncompressed
    /// tar this checks that the 512 bytes before where libarchive stopped are zero (the marker); a compressed tar
    /// is covered by its compressor's trailer (gzip's length and CRC). A cut right after a member whose last
    /// block is all zeros cannot be told from the marker and passes.
    private func checkEndOfArchive() throws {
        guard archive_format(handle) & ARCHIVE_FORMAT_BASE_MASK == ARCHIVE_FORMAT_TAR,
            archive_filter_count(handle) == 1
        else { return }
        let consumed = archive_filter_bytes(handle, 0)
        let block = consumed >= 512 ? try source.bytes(at: consumed - 512, count: 512, name: archiveName) : []
        if block.count != 512 || block.contains(where: { $0 != 0 }) {
            throw fail(
                ArchiveError.truncated(
                    archive: archiveName,
                    member: current?.name,
                    detail: "the tar ends after this member without its end-of-archive marker"
                ),
                isFatal: true
            )
        }
    }
}
