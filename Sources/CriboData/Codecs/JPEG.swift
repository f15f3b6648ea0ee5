// SPDX-License-Identifier: Apache-2.0
// JPEG decoding and encoding through libjpeg-turbo (C shim: cribo_jpeg.c). Decoding follows Pillow's
// `Image.open(..).convert("RGB")`: libjpeg-turbo's defaults (islow IDCT, fancy upsampling), grayscale
// replicated, and four-component files (CMYK, YCCK) read with Adobe polarity — stored 255 means no ink — whether
// or not an Adobe marker is present, as Pillow does ("CMYK;I"), then mapped to RGB with Pillow's formula.
// No EXIF orientation is applied (datasets.md §0 rule 3).
// reference: https://pillow.readthedocs.io/en/stable/handbook/image-file-formats.html#jpeg

import CCriboShims
import Foundation

/// JPEG files.
package enum JPEG {
    /// The colour space a JPEG stores, as libjpeg infers it from the JFIF/Adobe markers.
    package enum ColorSpace: Equatable {
        case grayscale, rgb, yCbCr, cmyk, ycck, unknown
    }

    /// What a JPEG's header says.
    package struct Header: Equatable {
        /// Columns.
        package var width: Int
        /// Rows.
        package var height: Int
        /// 1, 3 or 4.
        package var components: Int
        /// The stored colour space.
        package var colorSpace: ColorSpace
        /// Whether an Adobe APP14 marker is present (Photoshop writes one, with inverted CMYK).
        package var hasAdobeMarker: Bool
        /// The Adobe marker's transform: 0 none (RGB/CMYK), 1 YCbCr, 2 YCCK; 0 without a marker.
        package var adobeTransform: Int
    }

    /// Reads the header only: size, components, colour space and the Adobe marker.
    package static func header(_ data: Data) throws -> Header {
        var header = cribo_jpeg_header()
        try withBytes(of: data) { bytes, count in
            try runCodec("JPEG") { cribo_jpeg_read_header(bytes, count, &header, $0, $1) }
        }
        return Header(header)
    }

    /// The stored size and number of components, from the header alone.
    package static func info(_ data: Data) throws -> (width: Int, height: Int, components: Int) {
        let header = try header(data)
        return (header.width, header.height, header.components)
    }

    /// Decodes to RGB, optionally shrunk by DCT scaling, like Pillow's `Image.open(..).convert("RGB")` (after
    /// `draft("RGB", (w / k, h / k))` when `scaleDenominator` is k > 1).
    ///
    /// - Parameters:
    ///   - data: the JPEG file.
    ///   - scaleDenominator: 1, 2, 4 or 8; the result is ceil(width / k) x ceil(height / k).
    /// - Returns: `[height, width, 3]` pixels.
    package static func decodeRGB(_ data: Data, scaleDenominator: Int = 1) throws -> RGBImage {
        precondition([1, 2, 4, 8].contains(scaleDenominator),
                     "JPEG.decodeRGB: scaleDenominator must be 1, 2, 4 or 8, got \(scaleDenominator)")
        return try decodeRGB(data, eighths: 8 / scaleDenominator)
    }

    /// Decodes to RGB scaled by M/8 in the DCT domain (libjpeg-turbo's scaled inverse DCTs; M = 4, 2, 1 are
    /// Pillow's draft scales 1/2, 1/4, 1/8, bit for bit).
    /// - Parameter eighths: M in 1...8; the result is ceil(width·M/8) x ceil(height·M/8).
    /// - Returns: `[height, width, 3]` pixels.
    package static func decodeRGB(_ data: Data, eighths: Int) throws -> RGBImage {
        precondition((1...8).contains(eighths), "JPEG.decodeRGB: eighths must be 1...8, got \(eighths)")
        var image = cribo_jpeg_image()
        try withBytes(of: data) { bytes, count in
            try runCodec("JPEG") { cribo_jpeg_decode(bytes, count, Int32(eighths), 1, &image, $0, $1) }
        }
        let (width, height, channels) = (Int(image.width), Int(image.height), Int(image.channels))
        let stored = takeCodecBuffer(image.pixels, count: width * height * channels)
        switch channels {
        case 3: return RGBImage(width: width, height: height, pixels: stored)
        case 4: return RGBImage(width: width, height: height, pixels: rgbFromCMYK(stored, isInverted: true))
        default: throw CodecError(message: "JPEG: unexpected \(channels)-channel output")
        }
    }

    /// Encodes an RGB image (YCbCr with 4:2:0 chroma subsampling, JFIF, baseline, libjpeg's standard tables).
    /// - Parameters:
    ///   - image: `[height, width, 3]` pixels, at least 1x1 and at most 65500 on a side.
    ///   - quality: 1...100 (libjpeg's scale; 75 is Pillow's default).
    package static func encode(_ image: RGBImage, quality: Int) throws -> Data {
        try encode(image.pixels, width: image.width, height: image.height, input: CRIBO_JPEG_INPUT_RGB,
                   cmykStorage: 0, quality: quality)
    }

    /// Encodes a grayscale JPEG (one component) whose gray levels are `image.values`.
    /// - Parameter image: `[height, width]` gray levels.
    package static func encodeGrayscale(_ image: IndexImage, quality: Int) throws -> Data {
        try encode(image.values, width: image.width, height: image.height, input: CRIBO_JPEG_INPUT_GRAY,
                   cmykStorage: 0, quality: quality)
    }

    /// Encodes a four-component CMYK JPEG, for test fixtures like ImageNet's CMYK files.
    ///
    /// - Parameters:
    ///   - cmyk: `[height, width, 4]` ink amounts (0 no ink, 255 full).
    ///   - adobeInverted: true: stores 255 − ink with an Adobe marker, as Photoshop and Pillow write CMYK;
    ///     false: stores the ink amounts as given, without an Adobe marker. Both decode the way Pillow reads
    ///     them, which is always with Adobe polarity, so only the first comes back as the given colours.
    ///   - asYCCK: stores YCCK (Adobe transform 2) instead of CMYK; requires `adobeInverted`.
    package static func encodeCMYK(
        width: Int, height: Int, cmyk: [UInt8], quality: Int, adobeInverted: Bool, asYCCK: Bool = false
    ) throws -> Data {
        precondition(cmyk.count == width * height * 4, "JPEG.encodeCMYK: \(cmyk.count) bytes for \(width)x\(height)x4")
        precondition(!asYCCK || adobeInverted, "JPEG.encodeCMYK: YCCK is only written with an Adobe marker")
        let stored = adobeInverted ? cmyk.map { 255 - $0 } : cmyk
        return try encode(stored, width: width, height: height, input: CRIBO_JPEG_INPUT_CMYK,
                          cmykStorage: asYCCK ? 2 : (adobeInverted ? 1 : 0), quality: quality)
    }

    private static func encode(
        _ pixels: [UInt8], width: Int, height: Int, input: Int, cmykStorage: Int32, quality: Int
    ) throws -> Data {
        precondition(pixels.count == width * height * input,
                     "JPEG.encode: \(pixels.count) bytes for \(width)x\(height)x\(input)")
        precondition((1...100).contains(quality), "JPEG.encode: quality must be in 1...100, got \(quality)")
        var bytes: UnsafeMutablePointer<UInt8>?
        var count = 0
        try pixels.withUnsafeBufferPointer { buffer in
            try runCodec("JPEG") {
                cribo_jpeg_encode(buffer.baseAddress, Int32(width), Int32(height), Int32(input), cmykStorage,
                                  Int32(quality), &bytes, &count, $0, $1)
            }
        }
        return Data(takeCodecBuffer(bytes, count: count))
    }
}

// MARK: - CMYK to RGB

extension JPEG {
    /// Pillow's CMYK → RGB conversion (Convert.c `cmyk2rgb`), after undoing the Adobe inversion when asked.
    ///
    /// Concretely, with ink c and black k (0...255): `out = nk − round(c·nk / 255)` for each of R, G, B with
    /// c, m, y, where `nk = 255 − k` and the division is Pillow's `MULDIV255` ((t >> 8 + t) >> 8, t = a·b + 128).
    /// - Parameter cmyk: `[n, 4]` samples; ink amounts, or 255 − ink when `isInverted`.
    /// - Returns: `[n, 3]` RGB.
    static func rgbFromCMYK(_ cmyk: [UInt8], isInverted: Bool) -> [UInt8] {
        precondition(cmyk.count % 4 == 0, "JPEG.rgbFromCMYK: \(cmyk.count) bytes is not a multiple of 4")
        let count = cmyk.count / 4
        return [UInt8](unsafeUninitializedCapacity: count * 3) { rgb, initialized in
            let flip = isInverted ? 255 : 0  // 255 − v == v ^ 255 for a byte
            cmyk.withUnsafeBufferPointer { input in
                for i in 0..<count {
                    let notBlack = 255 - (Int(input[4 * i + 3]) ^ flip)
                    for channel in 0..<3 {
                        let t = (Int(input[4 * i + channel]) ^ flip) * notBlack + 128
                        let product = ((t >> 8) + t) >> 8
                        rgb[3 * i + channel] = UInt8(clamping: notBlack - product)
                    }
                }
            }
            initialized = count * 3
        }
    }
}

extension JPEG.Header {
    fileprivate init(_ header: cribo_jpeg_header) {
        let spaces: [Int32: JPEG.ColorSpace] = [
            Int32(CRIBO_JPEG_GRAYSCALE): .grayscale, Int32(CRIBO_JPEG_RGB): .rgb, Int32(CRIBO_JPEG_YCBCR): .yCbCr,
            Int32(CRIBO_JPEG_CMYK): .cmyk, Int32(CRIBO_JPEG_YCCK): .ycck,
        ]
        self.init(
            width: Int(header.width), height: Int(header.height), components: Int(header.components),
            colorSpace: spaces[header.color_space] ?? .unknown, hasAdobeMarker: header.has_adobe_marker != 0,
            adobeTransform: Int(header.adobe_transform))
    }
}
