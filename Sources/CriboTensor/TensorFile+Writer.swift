// SPDX-License-Identifier: Apache-2.0
// TensorFileWriter: building a safetensors file and writing it atomically (AtomicFile). As the reference writer
// does, tensors are laid out by descending element size, then by name, so that each starts at a multiple of its
// element size after the 8-byte-aligned header; the header is padded with spaces to a multiple of 8 (as the
// reference implementation does), so the same content always gives the same bytes.

import CCriboShims
import Foundation

/// Collects named tensors and metadata, then writes one safetensors file atomically.
package struct TensorFileWriter {
    /// A tensor's bytes: one or more pieces written back to back (pieces are not concatenated in memory).
    private struct Stored {
        var dtype: TensorDType
        var shape: [Int]
        var pieces: [Piece]
        var count: Int
    }
    private enum Piece {
        case data(Data)
        case bytes([UInt8])

        func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            switch self {
            case .data(let data): return try data.withUnsafeBytes(body)
            case .bytes(let bytes): return try bytes.withUnsafeBytes(body)
            }
        }
    }
    private var tensors: [String: Stored] = [:]
    /// The `__metadata__` strings.
    package var metadata: [String: String] = [:]

    package init(metadata: [String: String] = [:]) { self.metadata = metadata }

    /// Adds raw little-endian bytes for tensor `name`.
    package mutating func add(_ name: String, dtype: TensorDType, shape: [Int], bytes: Data) {
        precondition(bytes.count == shape.reduce(1, *) * dtype.size, "TensorFileWriter: \(name) has \(bytes.count) bytes for \(shape) \(dtype)")
        precondition(name != "__metadata__" && tensors[name] == nil, "TensorFileWriter: duplicate or reserved name \(name)")
        tensors[name] = Stored(dtype: dtype, shape: shape, pieces: [.data(bytes)], count: bytes.count)
    }

    /// Adds a UInt8 tensor of shape [total bytes] whose bytes are `pieces`, one after the other; the pieces are kept
    /// as they are and written in turn (no concatenated copy).
    package mutating func add(_ name: String, uint8Pieces pieces: [[UInt8]]) {
        precondition(name != "__metadata__" && tensors[name] == nil, "TensorFileWriter: duplicate or reserved name \(name)")
        let count = pieces.reduce(0) { $0 + $1.count }
        tensors[name] = Stored(dtype: .uint8, shape: [count], pieces: pieces.map { .bytes($0) }, count: count)
    }

    /// Adds a Float32 tensor.
    package mutating func add(_ name: String, _ tensor: Tensor) {
        add(name, shape: tensor.shape, floats: tensor.buffer)
    }

    /// Adds Float32 values with a shape.
    package mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) {
        add(name, dtype: .float32, shape: shape, bytes: Data(buffer: floats))
    }

    /// Adds Float32 values, stored as Float16 (round to nearest even).
    package mutating func addFloat16(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) {
        let halves = floats.map { Float16($0).bitPattern.littleEndian }
        add(name, dtype: .float16, shape: shape, bytes: halves.withUnsafeBufferPointer { Data(buffer: $0) })
    }

    /// Adds Int64 values.
    package mutating func add(_ name: String, shape: [Int], int64s: [Int64]) {
        add(name, dtype: .int64, shape: shape, bytes: int64s.map { $0.littleEndian }.withUnsafeBufferPointer { Data(buffer: $0) })
    }

    /// Adds bytes as a UInt8 tensor.
    package mutating func add(_ name: String, shape: [Int], uint8s: Data) {
        add(name, dtype: .uint8, shape: shape, bytes: uint8s)
    }

    /// The 8-byte header length, the JSON header (padded with spaces) and the tensor names in file order.
    private func header() -> (prefix: Data, names: [String], dataBytes: Int) {
        var offset = 0
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{" + items.joined(separator: ",") + "}")
        }
        let names = tensors.keys.sorted { a, b in
            let (sizeA, sizeB) = (tensors[a]!.dtype.size, tensors[b]!.dtype.size)
            return sizeA != sizeB ? sizeA > sizeB : a < b
        }
        for name in names {
            let tensor = tensors[name]!
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + tensor.count)]}")
            offset += tensor.count
        }
        var headerBytes = Data(("{" + parts.joined(separator: ",") + "}").utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var prefix = Data(capacity: 8 + headerBytes.count)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { prefix.append(contentsOf: $0) }
        prefix.append(headerBytes)
        return (prefix, names, offset)
    }

    /// The complete file content.
    package func serialized() -> Data {
        let (prefix, names, dataBytes) = header()
        var result = Data(capacity: prefix.count + dataBytes)
        result.append(prefix)
        for name in names {
            for piece in tensors[name]!.pieces { piece.withBytes { result.append(contentsOf: $0) } }
        }
        return result
    }

    /// Writes the file to `path` atomically (temporary file, fsync, rename), streaming the pieces to the file without
    /// assembling it in memory (small pieces are gathered into 1 MiB writes). On Linux the kernel is asked to start
    /// writing back every 16 MiB as they are written, so that the final fsync has little left to wait for.
    /// - Parameter observe: called with every byte of the file, in order (to hash it while writing), on a thread of
    ///   its own that runs alongside the writes; `write` returns after it has seen the last byte.
    /// - Returns: the file's size in bytes.
    @discardableResult
    package func write(to path: String, observe: ((UnsafeRawBufferPointer) -> Void)? = nil) throws -> Int {
        let (prefix, names, dataBytes) = header()
        let pieces = names.flatMap { tensors[$0]!.pieces }
        let finished = DispatchSemaphore(value: 0)
        if let observe {
            let work = UncheckedSendable {
                prefix.withUnsafeBytes { observe($0) }
                for piece in pieces { piece.withBytes { observe($0) } }
            }
            Thread { work.value(); finished.signal() }.start()
        }
        defer { if observe != nil { finished.wait() } }
        try AtomicFile.write(to: path) { fd in
            let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
            defer { staging.deallocate() }
            var (staged, written, flushedUpTo) = (0, 0, 0)
            func send(_ bytes: UnsafeRawBufferPointer) throws {
                try AtomicFile.writeAll(fd: fd, bytes: bytes, path: path)
                written += bytes.count
                if written - flushedUpTo >= 16 << 20 {
                    _ = cribo_start_writeback(fd, Int64(flushedUpTo), Int64(written - flushedUpTo))
                    flushedUpTo = written
                }
            }
            func drain() throws {
                guard staged > 0 else { return }
                try send(UnsafeRawBufferPointer(rebasing: staging[0..<staged]))
                staged = 0
            }
            func put(_ bytes: UnsafeRawBufferPointer) throws {
                if bytes.count > staging.count / 4 {
                    try drain()
                    try send(bytes)
                    return
                }
                if staged + bytes.count > staging.count { try drain() }
                if bytes.count > 0 { (staging.baseAddress! + staged).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
                staged += bytes.count
            }
            try prefix.withUnsafeBytes { try put($0) }
            for piece in pieces { try piece.withBytes { try put($0) } }
            try drain()
        }
        return prefix.count + dataBytes
    }
}

/// A value handed to another thread whose safety the caller guarantees (here: read-only data and a closure the
/// caller waits for).
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A JSON string literal for `text`.
package func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                out += String(format: "\\u%04x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
