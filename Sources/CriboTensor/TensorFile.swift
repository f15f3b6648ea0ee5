// SPDX-License-Identifier: Apache-2.0
// TensorFile: reading safetensors files, the one tensor file format of cribo (shards, checkpoints, features).
//
// Format (https://huggingface.co/docs/safetensors): 8 bytes little-endian header length L, then L bytes of UTF-8
// JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}, then the data
// block; offsets are relative to the data block, tensors are row-major little-endian. The file is memory-mapped;
// every structural problem is an error naming the file.

import Foundation

/// An element type of a safetensors file.
package enum TensorDType: String, Sendable, CaseIterable {
    case float64 = "F64", float32 = "F32", float16 = "F16", bfloat16 = "BF16"
    case int64 = "I64", int32 = "I32", int16 = "I16", int8 = "I8"
    case uint64 = "U64", uint32 = "U32", uint16 = "U16", uint8 = "U8", bool = "BOOL"

    /// Bytes per element.
    package var size: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }
}

/// The description of one tensor in a file.
package struct TensorEntry: Sendable, Equatable {
    package var dtype: TensorDType
    package var shape: [Int]
    /// Byte range inside the data block.
    package var range: Range<Int>
    package var count: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file opened for reading.
package final class TensorFile {
    /// The path it was opened from (used in every error).
    package let path: String
    /// The tensors by name.
    package let entries: [String: TensorEntry]
    /// The `__metadata__` strings.
    package let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// Opens and validates `path`: header length, JSON, dtypes, shapes, and that the offsets tile the data block.
    package init(path: String) throws {
        self.path = path
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw TensorFileError.unreadable(path: path, reason: error.localizedDescription)
        }
        guard data.count >= 8 else { throw TensorFileError.malformed(path: path, reason: "shorter than 8 bytes") }
        let headerLength = data.withUnsafeBytes { raw in
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        }
        guard headerLength <= UInt64(data.count - 8), headerLength <= 100_000_000 else {
            throw TensorFileError.malformed(path: path, reason: "header length \(headerLength) exceeds the file size \(data.count) (truncated file?)")
        }
        let header = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw TensorFileError.malformed(path: path, reason: "header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        var entries: [String: TensorEntry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                guard let dictionary = value as? [String: Any] else {
                    throw TensorFileError.malformed(path: path, reason: "__metadata__ is not an object")
                }
                for (key, item) in dictionary {
                    guard let text = item as? String else {
                        throw TensorFileError.malformed(path: path, reason: "__metadata__[\(key)] is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                offsets.count == 2
            else { throw TensorFileError.malformed(path: path, reason: "tensor \(name): bad description") }
            guard let dtype = TensorDType(rawValue: dtypeName) else {
                throw TensorFileError.malformed(path: path, reason: "tensor \(name): unknown dtype \(dtypeName)")
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataLength,
                (offsets[1] - offsets[0]) == shape.reduce(1, *) * dtype.size
            else {
                throw TensorFileError.malformed(
                    path: path, reason: "tensor \(name): offsets \(offsets) do not fit shape \(shape) \(dtypeName) in \(dataLength) data bytes (truncated file?)")
            }
            entries[name] = TensorEntry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.entries = entries
        self.metadata = metadata
        self.data = data
        self.dataStart = dataStart
    }

    /// The tensor names, sorted.
    package var names: [String] { entries.keys.sorted() }

    /// The description of `name`, or an error naming the file and the key.
    package func entry(_ name: String) throws -> TensorEntry {
        guard let entry = entries[name] else { throw TensorFileError.missingTensor(path: path, name: name) }
        return entry
    }

    /// Calls `body` with the raw bytes of tensor `name` (valid only inside `body`).
    package func withBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let entry = try entry(name)
        return try data.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[(dataStart + entry.range.lowerBound)..<(dataStart + entry.range.upperBound)]))
        }
    }

    /// Tensor `name` converted to Float32 (from F32, F16, BF16 or F64).
    package func tensor(_ name: String) throws -> Tensor {
        let entry = try entry(name)
        let result = Tensor(zeros: entry.shape)
        try withBytes(name) { raw in
            let out = result.pointer
            switch entry.dtype {
            case .float32:
                for i in 0..<entry.count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .float64:
                for i in 0..<entry.count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .float16:
                for i in 0..<entry.count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            case .bfloat16:
                for i in 0..<entry.count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            default:
                throw TensorFileError.wrongDType(path: path, name: name, found: entry.dtype.rawValue, expected: "a float type")
            }
        }
        return result
    }

    /// Tensor `name` (F64 or F32) as Doubles.
    package func doubles(_ name: String) throws -> [Double] {
        let entry = try entry(name)
        return try withBytes(name) { raw in
            switch entry.dtype {
            case .float64:
                return (0..<entry.count).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
            case .float32:
                return (0..<entry.count).map { Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))) }
            default:
                throw TensorFileError.wrongDType(path: path, name: name, found: entry.dtype.rawValue, expected: "F64 or F32")
            }
        }
    }

    /// Tensor `name` (any integer or bool dtype) as Int64 values.
    package func integers(_ name: String) throws -> [Int64] {
        let entry = try entry(name)
        if [.float16, .float32, .float64, .bfloat16].contains(entry.dtype) {
            throw TensorFileError.wrongDType(path: path, name: name, found: entry.dtype.rawValue, expected: "an integer type")
        }
        return try withBytes(name) { raw in
            (0..<entry.count).map { i -> Int64 in
                switch entry.dtype {
                case .int64: return Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                case .uint64: return Int64(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                case .int32: return Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case .uint32: return Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case .int16: return Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .uint16: return Int64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case .int8: return Int64(raw.load(fromByteOffset: i, as: Int8.self))
                default: return Int64(raw[i])
                }
            }
        }
    }
}

/// Structural problems of a tensor file; each names the file.
package enum TensorFileError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case missingTensor(path: String, name: String)
    case wrongDType(path: String, name: String, found: String, expected: String)
    case wrongShape(path: String, name: String, found: [Int], expected: [Int])
    case unexpectedTensors(path: String, names: [String])
    case metadata(path: String, reason: String)

    package var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
        case .malformed(let path, let reason): return "\(path): not a valid safetensors file: \(reason)"
        case .missingTensor(let path, let name): return "\(path): missing tensor '\(name)'"
        case .wrongDType(let path, let name, let found, let expected):
            return "\(path): tensor '\(name)' has dtype \(found), expected \(expected)"
        case .wrongShape(let path, let name, let found, let expected):
            return "\(path): tensor '\(name)' has shape \(found), expected \(expected)"
        case .unexpectedTensors(let path, let names):
            return "\(path): unexpected tensors: \(names.joined(separator: ", "))"
        case .metadata(let path, let reason): return "\(path): metadata: \(reason)"
        }
    }
}
