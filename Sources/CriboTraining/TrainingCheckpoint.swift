// SPDX-License-Identifier: Apache-2.0
// Training checkpoints (safetensors): everything a resume needs to continue bit for bit — student, teacher, AdamW
// moments and step counters, both centers, the centroid queue, epoch and iteration, the configuration and its hash.
// Writing: the new file is written atomically; the previous one is first renamed to `<name>.backup`. Loading falls
// back to the backup when the main file is missing or unreadable (a crash between the two renames).
//
// Keys: student.<state_dict key>, teacher.<key>, adamw.m.<key>, adamw.v.<key> (trainable slots), loss.center,
// loss.center_c, plus whatever the method adds (queue.*). Metadata: format = cribo-checkpoint, version, epoch,
// iteration, adamwSteps (JSON), configuration (JSON), configurationHash, worldSize.

import CriboData
import CriboNN
import CriboTensor
import Foundation

/// Reading and writing training checkpoints.
package enum TrainingCheckpoint {
    package static let format = "cribo-checkpoint"
    package static let version = "1"

    /// Adds every slot of `arena` to `writer` under `prefix`.
    package static func add(_ arena: ParameterArena, prefix: String, to writer: inout TensorFileWriter, trainableOnly: Bool = false) {
        for (i, slot) in arena.slots.enumerated() where !trainableOnly || slot.isTrainable {
            writer.add(prefix + slot.key, shape: slot.shape, floats: UnsafeBufferPointer(arena.buffer(slot: i)))
        }
    }

    /// Copies every slot of `arena` from `file` (keys `prefix` + slot key), checking shapes.
    package static func restore(_ arena: ParameterArena, prefix: String, from file: TensorFile, trainableOnly: Bool = false) throws {
        for (i, slot) in arena.slots.enumerated() where !trainableOnly || slot.isTrainable {
            let entry = try file.entry(prefix + slot.key)
            guard entry.shape == slot.shape else {
                throw TensorFileError.wrongShape(path: file.path, name: prefix + slot.key, found: entry.shape, expected: slot.shape)
            }
            let values = try file.tensor(prefix + slot.key)
            arena.buffer(slot: i).baseAddress!.update(from: values.pointer, count: slot.count)
        }
    }

    /// Writes `writer`'s content to `path`, keeping the previous checkpoint as `<path>.backup`.
    package static func write(_ writer: TensorFileWriter, to path: String) throws {
        let data = writer.serialized()
        let temporary = path + ".partial"
        try AtomicFile.write(data, to: temporary)
        if FileManager.default.fileExists(atPath: path) {
            guard rename(path, path + ".backup") == 0 else {
                throw FileError.writeFailed(path: path, reason: "cannot keep the previous checkpoint as backup: \(String(cString: strerror(errno)))")
            }
        }
        guard rename(temporary, path) == 0 else {
            throw FileError.writeFailed(path: path, reason: "rename: \(String(cString: strerror(errno)))")
        }
    }

    /// Opens the checkpoint at `path`, or its backup when the main file is missing or unreadable; nil when neither
    /// exists. Errors name the file when a checkpoint exists but cannot be used.
    package static func open(path: String) throws -> TensorFile? {
        let candidates = [path, path + ".backup"].filter { FileManager.default.fileExists(atPath: $0) }
        var lastError: Error?
        for candidate in candidates {
            do {
                let file = try TensorFile(path: candidate)
                guard file.metadata["format"] == format else {
                    throw TensorFileError.metadata(path: candidate, reason: "not a cribo training checkpoint")
                }
                guard file.metadata["version"] == version else {
                    throw TensorFileError.metadata(path: candidate, reason: "checkpoint version \(file.metadata["version"] ?? "none"), this cribo reads \(version)")
                }
                return file
            } catch {
                lastError = error
            }
        }
        if let lastError { throw lastError }
        return nil
    }
}
