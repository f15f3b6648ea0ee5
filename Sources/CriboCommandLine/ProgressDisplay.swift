// SPDX-License-Identifier: Apache-2.0
// Progress for the stages: a bar with rate and ETA on a terminal, timestamped plain lines otherwise (cron, logs).

import Foundation

/// Renders progress on standard error.
package final class ProgressDisplay: @unchecked Sendable {
    private let label: String
    private let isTerminal: Bool
    private let started = Date()
    private var lastLine = Date.distantPast
    private let plainInterval: TimeInterval
    private let lock = NSLock()

    /// - Parameters:
    ///   - plainInterval: seconds between plain lines when standard error is not a terminal.
    package init(label: String, plainInterval: TimeInterval = 10) {
        self.label = label
        self.isTerminal = isatty(2) == 1
        self.plainInterval = plainInterval
    }

    /// A timestamped line (or a plain line on a terminal).
    package func log(_ message: String) {
        lock.withLock {
            if isTerminal { write("\r\u{1B}[K" + message + "\n") } else { write(Self.timestamp() + " " + message + "\n") }
        }
    }

    /// Updates the progress of `done` of `total` items (total unknown: nil).
    package func update(done: Int, total: Int?, unit: String, extra: String = "") {
        lock.withLock {
            let elapsed = Date().timeIntervalSince(started)
            let rate = elapsed > 0 ? Double(done) / elapsed : 0
            var text = "\(label): \(done)" + (total.map { "/\($0)" } ?? "") + " \(unit), " + String(format: "%.1f", rate) + " \(unit)/s"
            if let total, rate > 0, done <= total { text += ", ETA " + Self.duration(Double(total - done) / rate) }
            if !extra.isEmpty { text += ", " + extra }
            if isTerminal {
                let width = 24
                let filled = total.map { $0 > 0 ? min(width, width * done / $0) : width } ?? 0
                let bar = total == nil ? "" : "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
                write("\r\u{1B}[K" + bar + text)
            } else if Date().timeIntervalSince(lastLine) >= plainInterval {
                lastLine = Date()
                write(Self.timestamp() + " " + text + "\n")
            }
        }
    }

    /// Ends the bar line on a terminal.
    package func finish() { lock.withLock { if isTerminal { write("\n") } } }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    package static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }

    package static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }
}
