// SPDX-License-Identifier: Apache-2.0
// Strict reading of a YAML mapping: each key is taken at most once, and whatever is left when the reader finishes
// is an unknown key, reported with the file, line and dotted key path. Scalars are converted with the same rule
// everywhere so that `lr: 2e-3` and `lr: 2.0e-3` mean the same.

import Foundation
import Yams

/// A YAML mapping being read key by key.
struct YAMLMapping {
    let file: String
    /// The dotted path of this mapping ("" at the top).
    let path: String
    private let entries: [(key: String, value: Node, line: Int?)]
    private var taken: Set<String> = []
    private let line: Int?

    /// Reads `node` as a mapping whose keys are strings.
    init(_ node: Node, file: String, path: String) throws {
        self.file = file
        self.path = path
        line = node.mark?.line
        guard let mapping = node.mapping else {
            throw PipelineError.invalidConfiguration(file: file, line: node.mark?.line, key: path, reason: "expected a mapping of keys to values")
        }
        var entries: [(key: String, value: Node, line: Int?)] = []
        for (key, value) in mapping {
            guard let name = key.string else {
                throw PipelineError.invalidConfiguration(file: file, line: key.mark?.line, key: path, reason: "keys must be strings")
            }
            if entries.contains(where: { $0.key == name }) {
                throw PipelineError.invalidConfiguration(file: file, line: key.mark?.line, key: Self.join(path, name), reason: "duplicate key")
            }
            entries.append((name, value, key.mark?.line))
        }
        self.entries = entries
    }

    /// The keys in file order.
    var keys: [String] { entries.map(\.key) }

    /// The dotted path of `key`.
    func keyPath(_ key: String) -> String { Self.join(path, key) }

    /// The value of `key`, marking it as read.
    mutating func take(_ key: String) -> Node? {
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        taken.insert(key)
        return entry.value
    }

    /// Throws for the first key not taken, listing the known ones.
    func finish(known: [String]) throws {
        if let entry = entries.first(where: { !taken.contains($0.key) }) {
            throw PipelineError.invalidConfiguration(
                file: file, line: entry.line, key: keyPath(entry.key), reason: "unknown key (known here: \(known.joined(separator: ", ")))")
        }
    }

    /// An error about the value of `key`.
    func error(_ key: String, _ node: Node?, _ reason: String) -> PipelineError {
        .invalidConfiguration(file: file, line: node?.mark?.line ?? line, key: keyPath(key), reason: reason)
    }

    // MARK: - Typed values

    /// A scalar as text.
    mutating func string(_ key: String) throws -> String? {
        guard let node = take(key) else { return nil }
        guard let scalar = node.scalar else { throw error(key, node, "expected a single value") }
        return scalar.string
    }

    /// An integer (at least `minimum`).
    mutating func int(_ key: String, minimum: Int = Int.min) throws -> Int? {
        guard let node = take(key) else { return nil }
        guard let text = node.scalar?.string, let value = Int(text) else { throw error(key, node, "expected an integer") }
        guard value >= minimum else { throw error(key, node, "must be at least \(minimum), got \(value)") }
        return value
    }

    /// A number.
    mutating func double(_ key: String) throws -> Double? {
        guard let node = take(key) else { return nil }
        guard let text = node.scalar?.string, let value = Double(text), value.isFinite else { throw error(key, node, "expected a number") }
        return value
    }

    /// A boolean (true/false, yes/no, on/off).
    mutating func bool(_ key: String) throws -> Bool? {
        guard let node = take(key) else { return nil }
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, node, "expected true or false")
        }
    }

    /// A list of scalars (a single scalar is a list of one).
    mutating func strings(_ key: String) throws -> [String]? {
        guard let node = take(key) else { return nil }
        if let scalar = node.scalar { return [scalar.string] }
        guard let sequence = node.sequence else { throw error(key, node, "expected a list") }
        return try sequence.map { item in
            guard let scalar = item.scalar else { throw error(key, item, "expected a list of single values") }
            return scalar.string
        }
    }

    /// A nested mapping.
    mutating func mapping(_ key: String) throws -> YAMLMapping? {
        guard let node = take(key) else { return nil }
        return try YAMLMapping(node, file: file, path: keyPath(key))
    }

    /// The scalar options among `keys` as tool options, in the order of `keys`; numbers are checked to parse.
    mutating func toolOptions(_ keys: [String]) throws -> [ToolOption] {
        var options: [ToolOption] = []
        for key in keys {
            guard let node = take(key) else { continue }
            if let sequence = node.sequence {
                let items = sequence.compactMap { $0.scalar?.string }
                guard items.count == sequence.count, !items.isEmpty else { throw error(key, node, "expected a list of single values") }
                options.append(ToolOption(key, items.joined(separator: ",")))
            } else if let scalar = node.scalar {
                options.append(ToolOption(key, scalar.string))
            } else {
                throw error(key, node, "expected a value or a list")
            }
        }
        return options
    }

    private static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }
}
