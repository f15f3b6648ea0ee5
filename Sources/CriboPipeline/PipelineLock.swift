// SPDX-License-Identifier: Apache-2.0
// The exclusive lock of a pipeline run: flock(2) on `<run>/.lock`, never waiting. The holder's pid is written into
// the file for the message of a run that finds it taken. The kernel drops the lock when the holder exits, however
// it exits, so a killed run never leaves a stale lock; the descriptor is close-on-exec so the stage tools do not
// inherit it. While a stage tool runs, its pid and start time are written next to the runner's: a runner killed
// with SIGKILL leaves its tool (and mpirun and the ranks below it) running, and a later run must not start beside
// that orphan — it is turned away as if the lock were held, until the orphan has exited.

import Foundation

/// A held pipeline lock; released by `release()` or when the object goes away.
package final class PipelineLock {
    /// The lock file.
    package let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Takes the lock of pipeline `name` at `path` (creating the file), or throws `PipelineError.locked` naming the
    /// holder's pid when another process or descriptor holds it.
    package static func acquire(path: String, name: String) throws -> PipelineLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PipelineError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            let holder = Self.holder(fd: fd)
            close(fd)
            if reason == EWOULDBLOCK { throw PipelineError.locked(name: name, lockPath: path, holder: holder) }
            throw PipelineError.cannotCreate(path: path, reason: "flock: \(String(cString: strerror(reason)))")
        }
        if let orphan = Self.runningChild(fd: fd) {
            close(fd)
            throw PipelineError.locked(name: name, lockPath: path, holder: orphan)
        }
        let lock = PipelineLock(path: path, descriptor: fd)
        lock.write("\(getpid())\n")
        return lock
    }

    /// Records the stage tool now running (pid and start time), or clears it with nil.
    package func recordChild(_ pid: Int32?) {
        guard descriptor >= 0 else { return }
        if let pid, let started = Self.startTime(of: pid) {
            write("\(getpid())\nchild \(pid) \(started)\n")
        } else {
            write("\(getpid())\n")
        }
    }

    private func write(_ text: String) {
        let data = Data(text.utf8)
        _ = ftruncate(descriptor, 0)
        _ = data.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// The stage tool recorded by an earlier holder when that process still runs (same pid and start time).
    private static func runningChild(fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        for line in String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[0] == "child", let pid = Int32(fields[1]), let started = UInt64(fields[2]) else { continue }
            if startTime(of: pid) == started { return pid }
        }
        return nil
    }

    /// A live process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or nil when it does not
    /// exist or is a zombie (dead, not reaped yet: a container's init may never reap orphans).
    static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields after the command name start at field 3 (state); the start time is field 22.
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }

    /// Releases the lock (idempotent).
    package func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    /// The pid written into the lock file by its last holder (who may have exited); read without locking.
    package static func recordedHolder(path: String) -> Int32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return holder(fd: fd)
    }

    /// The pid written by the holder (the first line), when readable.
    private static func holder(fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let first = String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").first ?? ""
        return Int32(first.trimmingCharacters(in: .whitespaces))
    }
}
