// SPDX-License-Identifier: Apache-2.0
// What can stop a pipeline run, each with a one-line description naming the file (and key, stage or log) and the
// exit status the `cribo-pipeline` command returns for it (sysexits.h codes where one fits).

import Foundation

/// The exit statuses of `cribo-pipeline`.
///
/// Concretely: 0 every stage done or up to date; 1 a stage failed (the last line names it and its log); 64 bad
/// command line; 65 invalid configuration; 66 a missing input (configuration, archive, raw folder, stage input);
/// 73 an output or lock file cannot be created; 75 another run of the same pipeline holds the lock (try later);
/// 128 + N the run was stopped by signal N (SIGINT 130, SIGTERM 143).
package enum PipelineExitCode {
    /// Every stage ran or was up to date.
    package static let success: Int32 = 0
    /// A stage's command failed.
    package static let stageFailed: Int32 = 1
    /// EX_USAGE.
    package static let usage: Int32 = 64
    /// EX_DATAERR: the configuration is invalid.
    package static let invalidConfiguration: Int32 = 65
    /// EX_NOINPUT: an input file or folder is missing.
    package static let missingInput: Int32 = 66
    /// EX_CANTCREAT: an output cannot be created.
    package static let cannotCreate: Int32 = 73
    /// EX_TEMPFAIL: another run holds the lock.
    package static let locked: Int32 = 75
}

/// A reason a pipeline run stops.
package enum PipelineError: Error, CustomStringConvertible, Equatable {
    /// The configuration file is missing or unreadable.
    case missingConfiguration(path: String)
    /// The configuration does not parse or does not follow the schema; `key` is the dotted path of the offending key.
    case invalidConfiguration(file: String, line: Int?, key: String, reason: String)
    /// A stage input (archive, raw folder, checkpoint, ingested split) does not exist.
    case missingInput(stage: String, path: String, hint: String)
    /// Another process holds the pipeline's lock.
    case locked(name: String, lockPath: String, holder: Int32?)
    /// A file or folder cannot be written.
    case cannotCreate(path: String, reason: String)
    /// A stage's command exited with a non-zero status (or by a signal).
    case stageFailed(stage: String, status: Int32, bySignal: Bool, log: String)
    /// A stage's command exited 0 without writing a file it must write.
    case missingOutput(stage: String, path: String, log: String)
    /// The run was stopped by a signal while `stage` ran.
    case interrupted(signal: Int32, stage: String?)

    /// The exit status of `cribo-pipeline` for this error.
    package var exitCode: Int32 {
        switch self {
        case .missingConfiguration, .missingInput: return PipelineExitCode.missingInput
        case .invalidConfiguration: return PipelineExitCode.invalidConfiguration
        case .locked: return PipelineExitCode.locked
        case .cannotCreate: return PipelineExitCode.cannotCreate
        case .stageFailed, .missingOutput: return PipelineExitCode.stageFailed
        case .interrupted(let signal, _): return 128 + signal
        }
    }

    /// The stage the error belongs to, if any.
    package var stage: String? {
        switch self {
        case .missingInput(let stage, _, _), .stageFailed(let stage, _, _, _), .missingOutput(let stage, _, _): return stage
        case .interrupted(_, let stage): return stage
        default: return nil
        }
    }

    package var description: String {
        switch self {
        case .missingConfiguration(let path):
            return "configuration not found: \(path)"
        case .invalidConfiguration(let file, let line, let key, let reason):
            return "\(file)\(line.map { ":\($0)" } ?? ""): \(key.isEmpty ? "" : "'\(key)': ")\(reason)"
        case .missingInput(let stage, let path, let hint):
            return "missing input of stage \(stage): \(path)" + (hint.isEmpty ? "" : " (\(hint))")
        case .locked(let name, let lockPath, let holder):
            return "another run of \(name) holds \(lockPath) (pid \(holder.map(String.init) ?? "unknown")); exiting"
        case .cannotCreate(let path, let reason):
            return "cannot create \(path): \(reason)"
        case .stageFailed(let stage, let status, let bySignal, let log):
            return "stage \(stage) failed (" + (bySignal ? "killed by signal \(status)" : "exit status \(status)") + "); log: \(log)"
        case .missingOutput(let stage, let path, let log):
            return "stage \(stage) finished without writing \(path); log: \(log)"
        case .interrupted(let signal, let stage):
            return "interrupted by signal \(signal)" + (stage.map { " during stage \($0)" } ?? "")
        }
    }
}
