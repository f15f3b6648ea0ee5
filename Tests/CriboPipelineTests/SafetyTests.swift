// SPDX-License-Identifier: Apache-2.0
// Cron safety: a held lock turns a second run away with exit status 75 and one line naming the holder; the lock
// goes with its holder; a swap interrupted between its renames is repaired; content hashes notice a change that
// keeps the size; and the process executor runs a real child with its output in the log.

import CriboPipeline
import Foundation
import Testing

extension CriboPipelineTests {
    @Test func heldLockTurnsTheSecondRunAway() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        try FileManager.default.createDirectory(atPath: pipeline.paths.run, withIntermediateDirectories: true)
        let held = try PipelineLock.acquire(path: pipeline.paths.lock, name: "micro")
        let tools = FakeTools()
        let outcome = try pipeline.runner(tools).run()
        #expect(outcome.exitCode == 75)
        #expect(outcome.record == nil)
        #expect(outcome.error?.description == "another run of micro holds \(pipeline.paths.lock) (pid \(getpid())); exiting")
        #expect(tools.invocations.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: pipeline.paths.history))
        held.release()
        #expect(try pipeline.runner(tools).run().exitCode == 0)
    }

    @Test func lockIsReleasedWhenItsHolderExits() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let path = pipeline.root + "/.lock"
        // A child shell takes the lock on descriptor 9 with flock(1), writes its pid, and sleeps until killed.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", "exec 9>\"$0\"; flock -x 9; echo $$ >&9; echo held; exec sleep 60", path]
        let pipe = Pipe()
        child.standardOutput = pipe
        try child.run()
        _ = pipe.fileHandleForReading.availableData
        let error = #expect(throws: PipelineError.self) { try PipelineLock.acquire(path: path, name: "micro") }
        #expect(error == .locked(name: "micro", lockPath: path, holder: child.processIdentifier))
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        let lock = try PipelineLock.acquire(path: path, name: "micro")
        #expect(PipelineLock.recordedHolder(path: path) == getpid())
        lock.release()
    }

    @Test func orphanedStageToolOfAKilledRunTurnsTheNextRunAway() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let path = pipeline.root + "/.lock"
        // A stage tool (here `sleep`) recorded by a runner that then vanished without a clean end (the lock drops
        // with its holder, the record stays): the next run must not start beside it.
        let tool = Process()
        tool.executableURL = URL(fileURLWithPath: "/bin/sleep")
        tool.arguments = ["60"]
        try tool.run()
        let first = try PipelineLock.acquire(path: path, name: "micro")
        first.recordChild(tool.processIdentifier)
        first.release()
        let error = #expect(throws: PipelineError.self) { try PipelineLock.acquire(path: path, name: "micro") }
        #expect(error == .locked(name: "micro", lockPath: path, holder: tool.processIdentifier))
        kill(tool.processIdentifier, SIGKILL)
        tool.waitUntilExit()
        // Once the orphan is gone (a reused pid would have another start time), runs go ahead again.
        let second = try PipelineLock.acquire(path: path, name: "micro")
        #expect(PipelineLock.recordedHolder(path: path) == getpid())
        second.release()
    }

    @Test func interruptedSwapIsRepaired() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let folder = pipeline.root + "/reports/r"
        let staging = pipeline.root + "/reports/.r.staging"
        for (path, text) in [(folder, "old"), (staging, "new")] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/report.json"))
        }
        // Killed after moving the old folder aside: the next run puts it back.
        try FileManager.default.moveItem(atPath: folder, toPath: OutputSwap.asidePath(folder))
        try OutputSwap.recover(folder: folder)
        #expect(FileManager.default.contents(atPath: folder + "/report.json") == Data("old".utf8))
        try OutputSwap.replace(folder: folder, with: staging)
        #expect(FileManager.default.contents(atPath: folder + "/report.json") == Data("new".utf8))
        #expect(!FileManager.default.fileExists(atPath: staging) && !FileManager.default.fileExists(atPath: OutputSwap.asidePath(folder)))
        // A resumable staging folder is kept for the same fingerprint only.
        #expect(try OutputSwap.prepare(staging: staging, fingerprint: "a", resumable: true) == false)
        try Data("partial".utf8).write(to: URL(fileURLWithPath: staging + "/checkpoint"))
        #expect(try OutputSwap.prepare(staging: staging, fingerprint: "a", resumable: true) == true)
        #expect(FileManager.default.fileExists(atPath: staging + "/checkpoint"))
        #expect(try OutputSwap.prepare(staging: staging, fingerprint: "b", resumable: true) == false)
        #expect(!FileManager.default.fileExists(atPath: staging + "/checkpoint"))
    }

    @Test func hashesFollowContentsNotTimes() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let path = pipeline.root + "/archive.tar"
        try Data("aaaa".utf8).write(to: URL(fileURLWithPath: path))
        let hasher = FileHasher()
        let first = try #require(try hasher.record(path))
        #expect(first.sha256 == "61be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b4")
        // Same size, new contents (and a new modification time): a new hash.
        try Data("aaab".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 10)], ofItemAtPath: path)
        #expect(try hasher.record(path)?.sha256 != first.sha256)
        // Touched only: the same hash.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 20)], ofItemAtPath: path)
        let touched = try #require(try FileHasher().record(path))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 30)], ofItemAtPath: path)
        #expect(try FileHasher().record(path)?.sha256 == touched.sha256)
        #expect(try hasher.record(pipeline.root + "/missing") == nil)
    }

    @Test func processExecutorWritesTheLogAndStatus() throws {
        let pipeline = try TemporaryPipeline()
        defer { pipeline.remove() }
        let log = pipeline.root + "/stage.log"
        let executor = ProcessExecutor()
        let failed = try executor.run(executable: "/bin/sh", arguments: ["-c", "echo out; echo err >&2; exit 3"], log: log)
        #expect(failed == StageTermination(status: 3))
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "out\nerr\n")
        let killed = try executor.run(executable: "/bin/sh", arguments: ["-c", "kill -9 $$"], log: log)
        #expect(killed == StageTermination(status: 9, bySignal: true))
        #expect(try executor.run(executable: "/bin/true", arguments: [], log: log).succeeded)
    }
}
