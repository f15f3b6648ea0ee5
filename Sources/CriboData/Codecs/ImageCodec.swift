// SPDX-License-Identifier: Apache-2.0
// The vocabulary shared by the codecs: decoded images (RGB, or one byte per pixel for masks and grayscale),
// the codec error, and the bridge that runs one C codec call with an error buffer and turns its message into
// a thrown `CodecError`. The C side (CCriboShims, cribo_codecs.h) never longjmps across Swift frames.

import CCriboShims
import Foundation

/// A decoded 8-bit RGB image.
///
/// Concretely: `pixels[(y * width + x) * 3 + c]` is channel `c` (R, G, B) of the pixel in row `y`, column `x`
/// (HWC, row-major), so `pixels.count == width * height * 3`.
package struct RGBImage: Equatable {
    /// Columns.
    package var width: Int
    /// Rows.
    package var height: Int
    /// `[height, width, 3]` bytes.
    package var pixels: [UInt8]

    /// An image over existing pixels.
    /// - Parameter pixels: `[height, width, 3]` bytes.
    package init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)x\(height)x3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// A one-byte-per-pixel image: palette indices or class labels (segmentation masks), or gray levels.
///
/// Concretely: `values[y * width + x]` is the pixel in row `y`, column `x`.
package struct IndexImage: Equatable {
    /// Columns.
    package var width: Int
    /// Rows.
    package var height: Int
    /// `[height, width]` bytes.
    package var values: [UInt8]

    /// An image over existing values.
    /// - Parameter values: `[height, width]` bytes.
    package init(width: Int, height: Int, values: [UInt8]) {
        precondition(width >= 0 && height >= 0 && values.count == width * height,
                     "IndexImage: \(values.count) bytes for \(width)x\(height)")
        self.width = width
        self.height = height
        self.values = values
    }
}

/// A JPEG or PNG that cannot be read or written; `message` says what the codec reported.
///
/// The codecs see only bytes, so the message names no file: callers wrap it with the path or archive member.
package struct CodecError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, e.g. "JPEG: Premature end of JPEG file".
    package let message: String

    /// An error with its message.
    package init(message: String) { self.message = message }

    /// The message.
    package var description: String { message }
}

/// Capacity of the error buffers handed to the C codecs.
private let errorCapacity = 256

/// Runs one C codec call that reports failure by returning non-zero and writing a message into its error buffer.
func runCodec(_ codec: String, _ call: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
    var buffer = [CChar](repeating: 0, count: errorCapacity)
    let status = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, errorCapacity) }
    guard status == 0 else {
        let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw CodecError(message: "\(codec): \(message.isEmpty ? "failed" : message)")
    }
}

/// Calls `body` with the bytes of `data` (a nil base address when it is empty, which the C side rejects).
func withBytes<R>(of data: Data, _ body: (UnsafePointer<UInt8>?, Int) throws -> R) rethrows -> R {
    try data.withUnsafeBytes { raw in
        try body(raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count)
    }
}

/// Copies a buffer returned by a C codec into an array and releases it.
func takeCodecBuffer(_ pointer: UnsafeMutablePointer<UInt8>?, count: Int) -> [UInt8] {
    defer { cribo_codec_free(pointer) }
    guard let pointer, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
}
