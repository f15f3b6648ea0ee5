// SPDX-License-Identifier: Apache-2.0
// Running a stage's command. `ProcessExecutor` starts the tool as a child process (Foundation Process) with its
// standard output and error going to the stage log; tests inject their own executor to play stages without the
// real tools.

import Foundation

/// How a stage's command ended.
package struct StageTermination: Equatable, Sendable {
    /// The exit status, or the signal number when `bySignal`.
    package var status: Int32
    /// Whether a signal ended it.
    package var bySignal: Bool
    package init(status: Int32, bySignal: Bool = false) { (self.status, self.bySignal) = (status, bySignal) }
    /// Whether the command succeeded.
    package var succeeded: Bool { status == 0 && !bySignal }
}

/// Runs stage commands.
package protocol StageExecutor: AnyObject, Sendable {
    /// Runs `executable` with `arguments`, its standard output and error written to the (truncated) file `log`,
    /// and waits for it.
    func run(executable: String, arguments: [String], log: String) throws -> StageTermination
    /// Sends `signal` to the command running now, if any.
    func interrupt(signal: Int32)
}

/// Runs stage commands as child processes.
package final class ProcessExecutor: StageExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private var running: Process?
    /// Called with the child's pid once it started, and with nil when it ended (the runner records it in its lock).
    package var onChild: (@Sendable (Int32?) -> Void)?

    package init() {}

    package func run(executable: String, arguments: [String], log: String) throws -> StageTermination {
        guard FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) else {
            throw PipelineError.cannotCreate(path: log, reason: "cannot open the stage log")
        }
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw PipelineError.missingInput(stage: URL(fileURLWithPath: executable).lastPathComponent, path: executable,
                                             hint: "cannot start it: \(error); build with swift build -c release or pass --bin")
        }
        lock.withLock { running = process }
        onChild?(process.processIdentifier)
        process.waitUntilExit()
        onChild?(nil)
        lock.withLock { running = nil }
        return StageTermination(status: process.terminationStatus, bySignal: process.terminationReason == .uncaughtSignal)
    }

    package func interrupt(signal: Int32) {
        lock.withLock {
            if let running, running.isRunning { kill(running.processIdentifier, signal) }
        }
    }
}
