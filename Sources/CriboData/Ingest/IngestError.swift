// SPDX-License-Identifier: Apache-2.0
// Errors of an ingest run. Archive-level problems fail the split (the previous output stays untouched); sample-level
// problems are skipped and recorded, or fail the split with --on-bad-sample fail. Every message names the file or
// the archive member.

/// Why a split could not be ingested.
package enum IngestError: Error, CustomStringConvertible {
    case missingArchive(path: String, dataset: String, split: String)
    case wrongArchive(archive: String, reason: String)
    case badMetadata(source: String, reason: String)
    case badSample(member: String, reason: String)
    case checksumMismatch(archive: String, algorithm: String, expected: String, found: String)
    case unknownSplit(dataset: String, split: String, known: [String])
    case cannotWrite(path: String, reason: String)

    package var description: String {
        switch self {
        case .missingArchive(let path, let dataset, let split):
            return "\(path): missing archive (needed for \(dataset) \(split)); put the official file there under this name"
        case .wrongArchive(let archive, let reason): return "\(archive): not the expected archive: \(reason)"
        case .badMetadata(let source, let reason): return "\(source): \(reason)"
        case .badSample(let member, let reason): return "\(member): \(reason)"
        case .checksumMismatch(let archive, let algorithm, let expected, let found):
            return "\(archive): \(algorithm) \(found) differs from the published \(expected) (incomplete download, or not the official file)"
        case .unknownSplit(let dataset, let split, let known):
            return "\(dataset) has no split '\(split)' (known: \(known.joined(separator: ", ")))"
        case .cannotWrite(let path, let reason): return "\(path): \(reason)"
        }
    }
}
