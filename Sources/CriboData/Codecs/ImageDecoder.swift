// SPDX-License-Identifier: Apache-2.0
// Telling JPEG from PNG by their magic bytes, and decoding either to RGB. Dataset files are identified by their
// content, never by their extension: ImageNet has a PNG named .JPEG (datasets.md §0 rule 1).

import Foundation

/// The container format of an encoded image, from its first bytes.
package enum ImageFormat: Equatable {
    /// Starts with FF D8 FF.
    case jpeg
    /// Starts with the 8-byte PNG signature 89 50 4E 47 0D 0A 1A 0A.
    case png
    /// Anything else, including data shorter than the signature.
    case unknown

    private static let jpegMagic: [UInt8] = [0xFF, 0xD8, 0xFF]
    private static let pngMagic: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The format `data` is in, by its magic bytes.
    package static func sniff(_ data: Data) -> ImageFormat {
        if data.starts(with: jpegMagic) { return .jpeg }
        if data.starts(with: pngMagic) { return .png }
        return .unknown
    }
}

/// Decodes whatever image format the bytes hold.
package enum ImageDecoder {
    /// Decodes a JPEG or PNG to RGB, choosing the codec by the magic bytes, as `Image.open(..).convert("RGB")`.
    ///
    /// - Parameters:
    ///   - data: the encoded file.
    ///   - scaleDenominator: for JPEGs, decode at 1/`scaleDenominator` of the size (1, 2, 4 or 8) through DCT
    ///     scaling, as `Image.draft("RGB", (w / k, h / k))`; PNGs are always decoded at full size (as `draft`,
    ///     which PNGs ignore), so callers check the size they get.
    /// - Returns: `[height, width, 3]` pixels.
    package static func decodeRGB(_ data: Data, scaleDenominator: Int = 1) throws -> RGBImage {
        switch ImageFormat.sniff(data) {
        case .jpeg: return try JPEG.decodeRGB(data, scaleDenominator: scaleDenominator)
        case .png: return try PNG.decodeRGB(data)
        case .unknown:
            let head = data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw CodecError(message: "not a JPEG or PNG (first bytes: \(head.isEmpty ? "none" : head))")
        }
    }
}
