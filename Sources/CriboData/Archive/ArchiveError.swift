// SPDX-License-Identifier: Apache-2.0
// ArchiveError: every failure of the archive readers and writers. Each case names the archive (a path, or a
// chain such as `outer.tar:inner.tar` for an archive read from memory) and, where known, the member.

/// Failures of `ArchiveReader` and `ArchiveWriter`; the description names the archive and the member.
package enum ArchiveError: Error, CustomStringConvertible {
    /// The file could not be opened or read (missing, unreadable).
    case cannotOpen(archive: String, reason: String)
    /// The bytes are neither a zip nor a (possibly compressed) tar; also an empty file.
    case unrecognizedFormat(archive: String, detail: String)
    /// The archive ends early: a member cut short, a missing tar end-of-archive marker, a zip without its
    /// central directory, a compressed stream without its trailer. `member` is the member being read, or the last
    /// complete member before the cut.
    case truncated(archive: String, member: String?, detail: String)
    /// A header or a member's data is damaged (bad checksum or CRC, invalid deflate data, undecodable name).
    case corrupt(archive: String, member: String?, detail: String)
    /// `readData(limit:)` met a member larger than the limit.
    case memberTooLarge(archive: String, member: String, size: Int64, limit: Int)
    /// Writing an archive failed (file system or libarchive).
    case writeFailed(archive: String, member: String?, detail: String)

    /// The archive path (or in-memory name) the error concerns.
    package var archive: String {
        switch self {
        case .cannotOpen(let archive, _), .unrecognizedFormat(let archive, _), .truncated(let archive, _, _),
            .corrupt(let archive, _, _), .memberTooLarge(let archive, _, _, _), .writeFailed(let archive, _, _):
            return archive
        }
    }

    /// The member the error concerns, when known.
    package var member: String? {
        switch self {
        case .cannotOpen, .unrecognizedFormat: return nil
        case .truncated(_, let member, _), .corrupt(_, let member, _), .writeFailed(_, let member, _): return member
        case .memberTooLarge(_, let member, _, _): return member
        }
    }

    /// "`archive`: member `name`: `problem`", e.g. "train2017.zip: member train2017/0139.jpg: truncated archive (…)".
    package var description: String {
        let prefix = archive + (member.map { ": member \($0)" } ?? "")
        switch self {
        case .cannotOpen(_, let reason): return "\(prefix): cannot open: \(reason)"
        case .unrecognizedFormat(_, let detail): return "\(prefix): not a zip or tar archive: \(detail)"
        case .truncated(_, _, let detail): return "\(prefix): truncated archive (\(detail))"
        case .corrupt(_, _, let detail): return "\(prefix): corrupt archive (\(detail))"
        case .memberTooLarge(_, _, let size, let limit):
            return "\(prefix): member of \(size) bytes exceeds the limit of \(limit) bytes"
        case .writeFailed(_, _, let detail): return "\(prefix): write failed: \(detail)"
        }
    }
}
