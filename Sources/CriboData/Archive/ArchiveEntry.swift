// SPDX-License-Identifier: Apache-2.0
// ArchiveEntry: one member header of a zip or tar archive as the readers report it (name, size, kind).

/// The header of one archive member.
package struct ArchiveEntry: Equatable {
    /// The member path as stored, decoded as UTF-8 (`train2017/000000000139.jpg`); directories end with `/`.
    package var name: String
    /// The size of the member's data in bytes, when the header states it (zip and tar always do).
    package var size: Int64?
    /// Whether the member is a directory entry (zip `train2017/`, tar type `5`).
    package var isDirectory: Bool
    /// Whether the member is a regular file with data (not a directory, link or device).
    package var isRegularFile: Bool

    /// Makes an entry from its parts.
    package init(name: String, size: Int64?, isDirectory: Bool, isRegularFile: Bool) {
        self.name = name
        self.size = size
        self.isDirectory = isDirectory
        self.isRegularFile = isRegularFile
    }
}
