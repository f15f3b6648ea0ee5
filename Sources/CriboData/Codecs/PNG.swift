// SPDX-License-Identifier: Apache-2.0
// PNG decoding and encoding through libpng (C shim: cribo_png.c). `decodeRGB` follows Pillow's
// `Image.open(..).convert("RGB")` for every colour type and bit depth: palette expanded (indices past the palette
// are black), gray replicated, alpha and tRNS dropped, 16-bit samples reduced as Pillow's PNG modes do — the high
// byte for RGB/RGBA/gray+alpha ("RGB;16B", "LA;16B"), but clipped to 255 for plain gray ("I;16" → RGB).
// `decodeIndices` returns the stored values of palette and gray masks (datasets.md §0 rule 4).
// reference: https://pillow.readthedocs.io/en/stable/handbook/image-file-formats.html#png

import CCriboShims
import Foundation

/// PNG files.
package enum PNG {
    /// Decodes to RGB like Pillow's `Image.open(..).convert("RGB")`.
    /// - Returns: `[height, width, 3]` pixels.
    package static func decodeRGB(_ data: Data) throws -> RGBImage {
        let image = try decodeStored(data)
        let count = image.width * image.height
        let source = image.samples
        let channels = image.channels
        var rgb = [UInt8](repeating: 0, count: count * 3)
        switch (image.colorType, image.sampleBytes) {
        case (Int(CRIBO_PNG_PALETTE), _):
            // black past the palette
            var table = image.palette + [UInt8](repeating: 0, count: 768 - image.palette.count)
            table.withUnsafeMutableBufferPointer { table in
                for i in 0..<count {
                    let entry = 3 * Int(source[i])
                    (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) = (table[entry], table[entry + 1], table[entry + 2])
                }
            }
        case (Int(CRIBO_PNG_GRAY), 2):
            for i in 0..<count {  // Pillow's "I;16" → RGB clips at 255 instead of scaling
                let value = UInt8(clamping: Int(source[2 * i]) << 8 | Int(source[2 * i + 1]))
                (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) = (value, value, value)
            }
        case (Int(CRIBO_PNG_GRAY), _), (Int(CRIBO_PNG_GRAY_ALPHA), _):
            let stride = channels * image.sampleBytes
            for i in 0..<count {  // the high byte of 16-bit samples, as Pillow's "LA;16B"
                let value = source[stride * i]
                (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) = (value, value, value)
            }
        case (Int(CRIBO_PNG_RGB), _), (Int(CRIBO_PNG_RGB_ALPHA), _):
            let (stride, step) = (channels * image.sampleBytes, image.sampleBytes)
            for i in 0..<count {  // the high byte of 16-bit samples, as Pillow's "RGB;16B"/"RGBA;16B"
                (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) =
                    (source[stride * i], source[stride * i + step], source[stride * i + 2 * step])
            }
        default:
            throw CodecError(message: "PNG: unsupported colour type \(image.colorType)")
        }
        return RGBImage(width: image.width, height: image.height, pixels: rgb)
    }

    /// The stored values of a palette ("P") or gray ("L") PNG: class indices of VOC and ADE20K masks.
    ///
    /// Concretely: `np.array(Image.open(png))` for those two modes. Gray of bit depth 1, 2 or 4 is scaled to
    /// 0...255 as Pillow does; any other colour type, or 16-bit gray, is an error (the mask would be misread).
    /// - Returns: `[height, width]` values.
    package static func decodeIndices(_ data: Data) throws -> IndexImage {
        let image = try decodeStored(data)
        guard image.channels == 1, image.sampleBytes == 1 else {
            throw CodecError(message: "PNG: expected a palette or 8-bit grayscale PNG, got colour type "
                + "\(image.colorType) with bit depth \(image.bitDepth)")
        }
        return IndexImage(width: image.width, height: image.height, values: image.samples)
    }

    /// Encodes an 8-bit palette PNG (VOC masks): each value indexes `palette`.
    /// - Parameters:
    ///   - image: `[height, width]` indices, each below `palette.count / 3`.
    ///   - palette: `[n, 3]` RGB bytes, 1 ≤ n ≤ 256.
    package static func encodePalette(_ image: IndexImage, palette: [UInt8]) throws -> Data {
        precondition(palette.count % 3 == 0 && (3...768).contains(palette.count),
                     "PNG.encodePalette: palette of \(palette.count) bytes is not 1...256 RGB triples")
        return try palette.withUnsafeBufferPointer { palette in
            try encode(image.values, width: image.width, height: image.height, colorType: CRIBO_PNG_PALETTE,
                       palette: palette)
        }
    }

    /// Encodes an 8-bit grayscale PNG (ADE20K masks).
    /// - Parameter image: `[height, width]` gray levels.
    package static func encodeGray(_ image: IndexImage) throws -> Data {
        try encode(image.values, width: image.width, height: image.height, colorType: CRIBO_PNG_GRAY,
                   palette: UnsafeBufferPointer(start: nil, count: 0))
    }

    /// Encodes an 8-bit RGB PNG.
    /// - Parameter image: `[height, width, 3]` pixels.
    package static func encodeRGB(_ image: RGBImage) throws -> Data {
        try encode(image.pixels, width: image.width, height: image.height, colorType: CRIBO_PNG_RGB,
                   palette: UnsafeBufferPointer(start: nil, count: 0))
    }

    private static func encode(
        _ pixels: [UInt8], width: Int, height: Int, colorType: Int, palette: UnsafeBufferPointer<UInt8>
    ) throws -> Data {
        var bytes: UnsafeMutablePointer<UInt8>?
        var count = 0
        try pixels.withUnsafeBufferPointer { buffer in
            try runCodec("PNG") {
                cribo_png_encode(buffer.baseAddress, Int32(width), Int32(height), Int32(colorType),
                                 palette.baseAddress, Int32(palette.count / 3), &bytes, &count, $0, $1)
            }
        }
        return Data(takeCodecBuffer(bytes, count: count))
    }
}

// MARK: - Stored samples

extension PNG {
    /// A PNG as stored: see `cribo_png_image`.
    private struct StoredImage {
        var width: Int
        var height: Int
        var colorType: Int
        var bitDepth: Int
        var channels: Int
        var sampleBytes: Int
        var palette: [UInt8]
        /// `[height, width, channels]` samples of `sampleBytes` bytes (big-endian).
        var samples: [UInt8]
    }

    private static func decodeStored(_ data: Data) throws -> StoredImage {
        var image = cribo_png_image()
        try withBytes(of: data) { bytes, count in
            try runCodec("PNG") { cribo_png_decode(bytes, count, &image, $0, $1) }
        }
        let (width, height) = (Int(image.width), Int(image.height))
        let (channels, sampleBytes) = (Int(image.channels), Int(image.sample_bytes))
        let samples = takeCodecBuffer(image.pixels, count: width * height * channels * sampleBytes)
        let palette = withUnsafeBytes(of: image.palette) { Array($0.prefix(3 * Int(image.palette_count))) }
        return StoredImage(
            width: width, height: height, colorType: Int(image.color_type), bitDepth: Int(image.bit_depth),
            channels: channels, sampleBytes: sampleBytes, palette: palette, samples: samples)
    }
}
