// SPDX-License-Identifier: Apache-2.0
// One stage of a pipeline: the tool and arguments it runs, the files it reads, and how its output appears. Tools
// that publish a whole folder atomically (cribo-ingest) write in place; the others write into a hidden sibling
// staging folder that replaces the previous output only when the command succeeded.

import Foundation

/// How a stage's output appears.
package enum OutputMode: Equatable, Sendable {
    /// The tool writes `folder` itself, atomically (cribo-ingest publishes a split only when it is complete).
    case inPlace
    /// The tool writes the staging folder, which replaces `folder` on success. When `resumable`, a staging folder
    /// left by a failed run with the same fingerprint is kept so the tool can continue (pretraining resumes from its
    /// checkpoint, feature extraction keeps finished shards); otherwise it is emptied first.
    case stagedFolder(resumable: Bool)
    /// The tool writes `files` into the staging folder; each is moved into `folder` on success (other files of
    /// `folder`, such as real archives next to synthetic ones, are never touched).
    case stagedFiles
}

/// Where a stage writes and what it must leave there.
package struct StageOutput: Equatable, Sendable {
    /// The output folder.
    package var folder: String
    /// How the output appears.
    package var mode: OutputMode
    /// Files (relative to `folder`) that a successful run leaves.
    package var required: [String]
    /// Whether every file of `folder` is recorded (and checked by later runs), or only `required` ones (pretraining
    /// records its products, not its checkpoints, so deleting a finished run's checkpoint does not retrain).
    package var recordsAllFiles: Bool

    package init(folder: String, mode: OutputMode, required: [String], recordsAllFiles: Bool = true) {
        (self.folder, self.mode, self.required, self.recordsAllFiles) = (folder, mode, required, recordsAllFiles && mode != .stagedFiles)
    }

    /// The hidden sibling the tool writes into: `<parent>/.<name>.staging` (`<folder>/.<stage>.staging` for files).
    package func staging(stage: String) -> String {
        switch mode {
        case .stagedFiles: return folder + "/." + stage + ".staging"
        case .inPlace, .stagedFolder:
            let parent = (folder as NSString).deletingLastPathComponent
            return (parent.isEmpty ? "" : parent + "/") + "." + (folder as NSString).lastPathComponent + ".staging"
        }
    }

    /// The folder the tool is told to write.
    package func workFolder(stage: String) -> String { mode == .inPlace ? folder : staging(stage: stage) }
}

/// One step of a pipeline.
package struct PipelineStage: Equatable, Sendable {
    /// A unique name (also the name of its manifest and log): "ingest-voc-val", "pretrain", ...
    package var name: String
    /// The executable's name (looked up in the runner's tool folder).
    package var tool: String
    /// Its arguments.
    package var arguments: [String]
    /// Files the stage reads; their hashes are part of its fingerprint.
    package var inputs: [String]
    /// Folders that must exist before the stage runs (a missing one is a missing input).
    package var requiredFolders: [String] = []
    /// What the stage writes.
    package var output: StageOutput
    /// Whether a successful exit without all `required` outputs means "stopped early, rerun to continue"
    /// (pretraining with max_iterations) rather than a failure.
    package var mayStopEarly = false
    /// A hint printed with a missing input (which stage or file provides it).
    package var inputHint = ""

    package init(name: String, tool: String, arguments: [String], inputs: [String], output: StageOutput) {
        (self.name, self.tool, self.arguments, self.inputs, self.output) = (name, tool, arguments, inputs, output)
    }
}
