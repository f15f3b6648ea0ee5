// SPDX-License-Identifier: Apache-2.0
// One run of a pipeline: take the lock, then stage by stage skip what is up to date and run the rest, publishing
// each output only when its command succeeded; stop at the first failure; append the run to history.jsonl. Lines
// go to `emit` as "<UTC time> [<stage>] <message>"; the tools' own output goes to the stage logs.

import CriboData
import Foundation

/// How a run ended.
package struct RunOutcome: Equatable, Sendable {
    /// The exit status for the command.
    package var exitCode: Int32
    /// The history record (nil when the run did not start, e.g. on the lock).
    package var record: RunRecord?
    /// The error that ended the run, if any.
    package var error: PipelineError?
    /// The comparison tables (compare.md) of the plan that exist, for the command to show.
    package var comparisons: [String] = []
}

/// Runs the stages of a configuration.
package final class PipelineRunner: @unchecked Sendable {
    /// The configuration.
    package let configuration: PipelineConfiguration
    /// Its folders.
    package let paths: PipelinePaths
    /// The folder holding cribo-ingest, cribo-pretrain, cribo-features and cribo-evaluate.
    package let toolFolder: String
    /// Lines of a failed stage's log repeated in the output.
    package var tailLines = 12
    private let executor: any StageExecutor
    private let hasher: FileHasher
    private let emit: (String) -> Void
    private let now: () -> Date
    private let interruption = NSLock()
    private var interruptSignal: Int32?

    /// - Parameters:
    ///   - executor: runs the stage commands (`ProcessExecutor` for the real tools).
    ///   - emit: receives each output line, without its newline.
    ///   - now: the clock (tests fix it).
    package init(configuration: PipelineConfiguration, paths: PipelinePaths, toolFolder: String, executor: any StageExecutor,
                 hasher: FileHasher = FileHasher(), now: @escaping () -> Date = Date.init, emit: @escaping (String) -> Void) {
        (self.configuration, self.paths, self.toolFolder, self.executor) = (configuration, paths, toolFolder, executor)
        (self.hasher, self.now, self.emit) = (hasher, now, emit)
    }

    /// Asks the run to stop: the running command gets `signal`, and no further stage starts.
    package func interrupt(signal: Int32) {
        interruption.withLock { interruptSignal = interruptSignal ?? signal }
        executor.interrupt(signal: signal)
    }

    private var interrupted: Int32? { interruption.withLock { interruptSignal } }

    /// Runs the pipeline and appends its record to the history (except when the lock was taken).
    package func run() -> RunOutcome {
        do {
            try FileManager.default.createDirectory(atPath: paths.run, withIntermediateDirectories: true)
        } catch {
            return RunOutcome(exitCode: PipelineExitCode.cannotCreate, record: nil,
                              error: .cannotCreate(path: paths.run, reason: "\(error)"))
        }
        let lock: PipelineLock
        do { lock = try PipelineLock.acquire(path: paths.lock, name: configuration.name) } catch let error as PipelineError {
            return RunOutcome(exitCode: error.exitCode, record: nil, error: error)
        } catch {
            return RunOutcome(exitCode: PipelineExitCode.cannotCreate, record: nil, error: .cannotCreate(path: paths.lock, reason: "\(error)"))
        }
        (executor as? ProcessExecutor)?.onChild = { [lock] in lock.recordChild($0) }
        defer {
            (executor as? ProcessExecutor)?.onChild = nil
            lock.release()
        }
        let started = now()
        line("pipeline", "run \(configuration.name) (\(configuration.file)) in \(paths.run)")
        var record = RunRecord(
            started: Self.timestamp(started), finished: "", seconds: 0, name: configuration.name, config: configuration.file,
            configSHA256: SHA256Digest.hex(of: Data(configuration.source.utf8)), overrides: configuration.overrides, status: "ok", exitCode: 0,
            stages: [], metrics: [:])
        var failure: PipelineError?
        var incomplete = false
        do {
            try prepareRunFolder()
        } catch let error as PipelineError { failure = error } catch { failure = .cannotCreate(path: paths.run, reason: "\(error)") }
        let count = PipelinePlan.stages(configuration, paths: paths).count
        for index in 0..<count {
            let stage = PipelinePlan.stages(configuration, paths: paths)[index]
            if failure != nil || incomplete {
                record.stages.append(StageRun(stage: stage.name, action: "not-run", seconds: 0))
                continue
            }
            let stageStart = now()
            do {
                let action = try runStage(stage)
                incomplete = action == "incomplete"
                record.stages.append(StageRun(stage: stage.name, action: action, seconds: now().timeIntervalSince(stageStart)))
            } catch let error as PipelineError {
                failure = error
                record.stages.append(StageRun(stage: stage.name, action: "failed", seconds: now().timeIntervalSince(stageStart)))
            } catch {
                failure = .cannotCreate(path: paths.run, reason: "\(error)")
                record.stages.append(StageRun(stage: stage.name, action: "failed", seconds: now().timeIntervalSince(stageStart)))
            }
        }
        record.metrics = RunRecord.metrics(of: PipelinePlan.stages(configuration, paths: paths))
        let finished = now()
        record.finished = Self.timestamp(finished)
        record.seconds = (finished.timeIntervalSince(started) * 10).rounded() / 10
        if let failure {
            record.status = { if case .interrupted = failure { return "interrupted" } else { return "failed" } }()
            record.exitCode = failure.exitCode
            record.failedStage = failure.stage
            record.error = failure.description
            if let stage = failure.stage { record.log = paths.logs + "/" + stage + ".log" }
        } else if incomplete {
            record.status = "incomplete"
        }
        do { try record.append(to: paths.history) } catch let error as PipelineError {
            line("pipeline", "warning: \(error)")
        } catch {}
        if let failure {
            line(failure.stage ?? "pipeline", "FAILED: \(failure)")
        } else {
            let ran = record.stages.filter { $0.action == "ran" }.count
            let skipped = record.stages.filter { $0.action == "skipped" }.count
            line("pipeline", (incomplete ? "stopped early (rerun to continue)" : "done") + " in " + Self.duration(record.seconds)
                + ": \(ran) stage(s) ran, \(skipped) up to date; history: \(paths.history)")
        }
        let comparisons = PipelinePlan.stages(configuration, paths: paths).filter { $0.name.hasPrefix("compare-") }
            .map { $0.output.folder + "/compare.md" }.filter { FileManager.default.fileExists(atPath: $0) }
        return RunOutcome(exitCode: record.exitCode, record: record, error: failure, comparisons: comparisons)
    }

    // MARK: - One stage

    /// Runs `stage` unless it is up to date; returns the action ("ran", "skipped", "incomplete").
    private func runStage(_ stage: PipelineStage) throws -> String {
        if let signal = interrupted { throw PipelineError.interrupted(signal: signal, stage: stage.name) }
        let state = try stage.state(paths: paths, hasher: hasher)
        switch state {
        case .upToDate(let manifest):
            hasher.remember(manifest.outputs)
            line(stage.name, "up to date (finished \(manifest.finished)); skipped")
            return "skipped"
        case .missingInput(let path):
            throw PipelineError.missingInput(stage: stage.name, path: path, hint: stage.inputHint)
        case .outOfDate(let reason, let fingerprint, let inputs):
            return try execute(stage, reason: reason, fingerprint: fingerprint, inputs: inputs)
        }
    }

    private func execute(_ stage: PipelineStage, reason: String, fingerprint: String, inputs: [FileRecord]) throws -> String {
        let output = stage.output
        let staging = output.staging(stage: stage.name)
        let work = output.workFolder(stage: stage.name)
        switch output.mode {
        case .inPlace:
            break
        case .stagedFolder(let resumable):
            try OutputSwap.recover(folder: output.folder)
            if try OutputSwap.prepare(staging: staging, fingerprint: fingerprint, resumable: resumable) {
                line(stage.name, "continuing the interrupted run in \(staging)")
            }
        case .stagedFiles:
            try createFolder(output.folder)
            try OutputSwap.prepare(staging: staging, fingerprint: fingerprint, resumable: false)
        }
        let executable = toolFolder + "/" + stage.tool
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw PipelineError.missingInput(stage: stage.name, path: executable, hint: "build the tools (swift build -c release) or pass --bin")
        }
        let log = stage.logPath(paths)
        line(stage.name, "running (\(reason)); log: \(log)")
        let started = now()
        let termination = try executor.run(executable: executable, arguments: stage.arguments, log: log)
        let seconds = now().timeIntervalSince(started)
        if let signal = interrupted { throw PipelineError.interrupted(signal: signal, stage: stage.name) }
        guard termination.succeeded else {
            emitTail(of: log, stage: stage.name)
            throw PipelineError.stageFailed(stage: stage.name, status: termination.status, bySignal: termination.bySignal, log: log)
        }
        if let missing = output.required.first(where: { !FileManager.default.fileExists(atPath: work + "/" + $0) }) {
            if stage.mayStopEarly {
                line(stage.name, "stopped before its end (no \(missing) yet) after \(Self.duration(seconds)); rerun to continue")
                return "incomplete"
            }
            emitTail(of: log, stage: stage.name)
            throw PipelineError.missingOutput(stage: stage.name, path: work + "/" + missing, log: log)
        }
        switch output.mode {
        case .inPlace: break
        case .stagedFolder: try OutputSwap.replace(folder: output.folder, with: staging)
        case .stagedFiles: try OutputSwap.moveFiles(output.required, from: staging, to: output.folder)
        }
        let manifest = StageManifest(
            stage: stage.name, fingerprint: fingerprint, command: [executable] + stage.arguments, inputs: inputs,
            outputs: try stage.outputRecords(hasher: hasher), started: Self.timestamp(started), finished: Self.timestamp(now()),
            seconds: (seconds * 10).rounded() / 10)
        try manifest.write(to: stage.manifestPath(paths))
        line(stage.name, "done in \(Self.duration(seconds)) -> \(output.folder)")
        return "ran"
    }

    // MARK: - Helpers

    private func prepareRunFolder() throws {
        for folder in [paths.stages, paths.logs] { try createFolder(folder) }
        var hashes: [FileRecord] = []
        for stage in PipelinePlan.stages(configuration, paths: paths) {
            if let manifest = StageManifest.load(path: stage.manifestPath(paths)) { hashes += manifest.inputs + manifest.outputs }
        }
        hasher.remember(hashes)
        let effective = paths.run + "/config.yaml"
        do { try Data(configuration.source.utf8).write(to: URL(fileURLWithPath: effective), options: .atomic) } catch {
            throw PipelineError.cannotCreate(path: effective, reason: "\(error)")
        }
    }

    private func createFolder(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw PipelineError.cannotCreate(path: path, reason: "\(error)")
        }
    }

    private func emitTail(of log: String, stage: String) {
        guard tailLines > 0, let data = FileManager.default.contents(atPath: log) else { return }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.split(separator: "\r").last.map(String.init) ?? "" }
        for text in lines.suffix(tailLines) { line(stage, "| " + text) }
    }

    private func line(_ tag: String, _ message: String) { emit(Self.timestamp(now()) + " [\(tag)] " + message) }

    /// "2026-11-26T21:00:00Z".
    package static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// "42.0 s", "3 min 05 s".
    package static func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.1f s", seconds) : String(format: "%d min %02d s", Int(seconds) / 60, Int(seconds) % 60)
    }
}
