// SPDX-License-Identifier: Apache-2.0
// TensorFileWriter: building a safetensors file and writing it atomically (AtomicFile). As the reference writer
// does, tensors are laid out by descending element size, then by name, so that each starts at a multiple of its
// element size after the 8-byte-aligned header; the header is padded with spaces to a multiple of 8 (as the
// reference implementation does), so the same content always gives the same bytes.

import Foundation

/// Collects named tensors and metadata, then writes one safetensors file atomically.
package struct TensorFileWriter {
    private var tensors: [String: (dtype: TensorDType, shape: [Int], bytes: Data)] = [:]
    /// The `__metadata__` strings.
    package var metadata: [String: String] = [:]

    package init(metadata: [String: String] = [:]) { self.metadata = metadata }

    /// Adds raw little-endian bytes for tensor `name`.
    package mutating func add(_ name: String, dtype: TensorDType, shape: [Int], bytes: Data) {
        precondition(bytes.count == shape.reduce(1, *) * dtype.size, "TensorFileWriter: \(name) has \(bytes.count) bytes for \(shape) \(dtype)")
        precondition(name != "__metadata__" && tensors[name] == nil, "TensorFileWriter: duplicate or reserved name \(name)")
        tensors[name] = (dtype, shape, bytes)
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

    /// The complete file content.
    package func serialized() -> Data {
        var header = "{"
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
        var offsets: [Int] = []
        for name in names {
            let tensor = tensors[name]!
            offsets.append(offset)
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + tensor.bytes.count)]}")
            offset += tensor.bytes.count
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Data(header.utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var result = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { result.append(contentsOf: $0) }
        result.append(headerBytes)
        for name in names { result.append(tensors[name]!.bytes) }
        return result
    }

    /// Writes the file to `path` atomically (temporary file, fsync, rename).
    package func write(to path: String) throws {
        try AtomicFile.write(serialized(), to: path)
    }
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
