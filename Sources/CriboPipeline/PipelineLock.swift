// SPDX-License-Identifier: Apache-2.0
// The exclusive lock of a pipeline run: flock(2) on `<run>/.lock`, never waiting. The holder's pid is written into
// the file for the message of a run that finds it taken. The kernel drops the lock when the holder exits, however
// it exits, so a killed run never leaves a stale lock; the descriptor is close-on-exec so the stage tools do not
// inherit it.

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
        let pid = Data("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return PipelineLock(path: path, descriptor: fd)
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

    /// The pid written by the holder, when readable.
    private static func holder(fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
