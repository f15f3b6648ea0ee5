// SPDX-License-Identifier: Apache-2.0
// Image codecs: encode-then-decode round trips (exact for PNG, within measured bounds for JPEG), the headers our
// encoder writes, and errors — corrupt, truncated and randomly mutated files give a CodecError, never a crash.

import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@testable import CriboData

/// Largest per-sample error of an RGB JPEG round trip at quality 95 (4:2:0) on `smoothImage`; measured 12
/// (37x23) and 9 (64x48).
private let jpegRGBRoundTripTolerance = 14
/// Largest mean per-sample error of the same round trip on the textured fixture images, whose hard-edged blocks
/// lose up to 104 at their edges to chroma subsampling; measured 16.7 and 16.9.
private let jpegRGBRoundTripMeanTolerance = 18.0
/// Largest per-sample error of a grayscale JPEG at quality 95 on the green channel of `smoothImage`; measured 5.
private let jpegGrayRoundTripTolerance = 6
/// The same for CMYK and YCCK JPEGs at quality 95, after Pillow's CMYK → RGB; measured 5 (CMYK),
/// 9 (YCCK, whose chroma is subsampled 4:2:0 by libjpeg's default) and 3 (CMYK without Adobe inversion).
private let jpegCMYKRoundTripTolerance = 10

/// Gradients with a little seeded noise (±4): nothing that chroma subsampling smears.
private func smoothImage(width: Int, height: Int) -> RGBImage {
    var rng = SplitMix64(seed: SplitMix64.mix(17, UInt64(width), UInt64(height)))
    var pixels: [UInt8] = []
    for y in 0..<height {
        for x in 0..<width {
            let base = [
                40 + 160 * x / (width - 1), 30 + 190 * y / (height - 1), 200 - 150 * (x + y) / (width + height - 2),
            ]
            pixels += base.map { UInt8(clamping: $0 + rng.nextInt(below: 9) - 4) }
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// The textured fixture images (gradients, hard-edged blocks, noise of σ 12) as Pillow decoded them from PNG:
/// 37x23, and a 37x23 crop of the second.
private func texturedImages() throws -> [RGBImage] {
    let golden = try codecGolden()
    return try ["png_rgb", "png_named_jpeg"].map { name in
        let (shape, values) = try goldenBytes(golden, name + ".rgb")
        return RGBImage(width: shape[1], height: shape[0], pixels: values)
    }
}

private func maxDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
    precondition(a.count == b.count, "maxDifference: \(a.count) vs \(b.count) bytes")
    return zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

private func meanDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
    Double(zip(a, b).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(max(a.count, 1))
}

/// `[h, w, 4]` ink amounts derived from an RGB image: c, m, y = 255 − r, g, b and a smooth black.
private func inkOf(_ image: RGBImage) -> [UInt8] {
    (0..<image.width * image.height).flatMap { i -> [UInt8] in
        let p = Array(image.pixels[3 * i..<3 * i + 3])
        return [255 - p[0], 255 - p[1], 255 - p[2], UInt8(i % image.width * 255 / max(image.width - 1, 1) / 2)]
    }
}

// MARK: - JPEG round trips

extension CodecTests {
    @Test func jpegRGBRoundTripIsWithinBound() throws {
        for image in [smoothImage(width: 37, height: 23), smoothImage(width: 64, height: 48)] {
            let data = try JPEG.encode(image, quality: 95)
            #expect(ImageFormat.sniff(data) == .jpeg)
            let header = try JPEG.header(data)
            #expect(header.colorSpace == .yCbCr && !header.hasAdobeMarker)
            let decoded = try JPEG.decodeRGB(data)
            #expect(decoded.width == image.width && decoded.height == image.height)
            let difference = maxDifference(decoded.pixels, image.pixels)
            #expect(difference <= jpegRGBRoundTripTolerance, "max |diff| \(difference)")
        }
        for image in try texturedImages() {
            let decoded = try JPEG.decodeRGB(try JPEG.encode(image, quality: 95))
            let mean = meanDifference(decoded.pixels, image.pixels)
            #expect(mean <= jpegRGBRoundTripMeanTolerance, "mean |diff| \(mean)")
            // higher quality, smaller error
            let rough = try JPEG.decodeRGB(try JPEG.encode(image, quality: 30))
            #expect(mean < meanDifference(rough.pixels, image.pixels))
        }
    }

    @Test func jpegGrayscaleRoundTripIsWithinBound() throws {
        let image = smoothImage(width: 37, height: 23)
        let green = stride(from: 1, to: image.pixels.count, by: 3).map { image.pixels[$0] }
        let gray = IndexImage(width: image.width, height: image.height, values: green)
        let data = try JPEG.encodeGrayscale(gray, quality: 95)
        #expect(try JPEG.header(data).colorSpace == .grayscale)
        #expect(try JPEG.info(data) == (gray.width, gray.height, 1))
        let decoded = try JPEG.decodeRGB(data)
        let channels = (0..<3).map { c in stride(from: c, to: decoded.pixels.count, by: 3).map { decoded.pixels[$0] } }
        #expect(channels[0] == channels[1] && channels[0] == channels[2], "gray is replicated")
        let difference = maxDifference(channels[0], gray.values)
        #expect(difference <= jpegGrayRoundTripTolerance, "max |diff| \(difference)")
    }

    /// Adobe-inverted CMYK and YCCK come back as Pillow's RGB of the given ink; CMYK written without the Adobe
    /// inversion is read with Adobe polarity anyway (as Pillow does), i.e. as the complementary ink.
    @Test func jpegCMYKRoundTripIsWithinBound() throws {
        let image = smoothImage(width: 37, height: 23)
        let ink = inkOf(image)
        let expected = JPEG.rgbFromCMYK(ink, isInverted: false)
        typealias Case = (
            adobeInverted: Bool, asYCCK: Bool, colorSpace: JPEG.ColorSpace, transform: Int, isComplement: Bool
        )
        let cases: [Case] = [
            (true, false, .cmyk, 0, false), (true, true, .ycck, 2, false), (false, false, .cmyk, 0, true),
        ]
        for c in cases {
            let data = try JPEG.encodeCMYK(width: image.width, height: image.height, cmyk: ink, quality: 95,
                                           adobeInverted: c.adobeInverted, asYCCK: c.asYCCK)
            let header = try JPEG.header(data)
            #expect(header.components == 4 && header.colorSpace == c.colorSpace, "\(c)")
            #expect(header.hasAdobeMarker == c.adobeInverted && header.adobeTransform == c.transform, "\(c)")
            let decoded = try JPEG.decodeRGB(data)
            let reference = c.isComplement ? JPEG.rgbFromCMYK(ink, isInverted: true) : expected
            let difference = maxDifference(decoded.pixels, reference)
            #expect(difference <= jpegCMYKRoundTripTolerance, "\(c): max |diff| \(difference)")
        }
    }
}

// MARK: - PNG round trips

extension CodecTests {
    @Test(arguments: [(1, 1), (37, 23), (64, 5)])
    func pngRoundTripsAreExact(width: Int, height: Int) throws {
        var rng = SplitMix64(seed: SplitMix64.mix(7, UInt64(width), UInt64(height)))
        let labels: [UInt8] = Array(0...20) + [255]
        let count = width * height
        let maskValues = (0..<count).map { _ in labels[rng.nextInt(below: labels.count)] }
        let mask = IndexImage(width: width, height: height, values: maskValues)
        let palette = PNG.pascalVOCPalette()
        let paletted = try PNG.encodePalette(mask, palette: palette)
        #expect(try PNG.decodeIndices(paletted) == mask)
        #expect(try PNG.decodeRGB(paletted).pixels == mask.values.flatMap { palette[3 * Int($0)..<3 * Int($0) + 3] })

        let levels = (0..<count).map { _ in UInt8(rng.nextInt(below: 256)) }
        let gray = IndexImage(width: width, height: height, values: levels)
        let grayData = try PNG.encodeGray(gray)
        #expect(try PNG.decodeIndices(grayData) == gray)
        #expect(try PNG.decodeRGB(grayData).pixels == gray.values.flatMap { [$0, $0, $0] })

        let samples = (0..<count * 3).map { _ in UInt8(rng.nextInt(below: 256)) }
        let rgb = RGBImage(width: width, height: height, pixels: samples)
        let rgbData = try PNG.encodeRGB(rgb)
        #expect(try PNG.decodeRGB(rgbData) == rgb)
        #expect(throws: CodecError.self) { try PNG.decodeIndices(rgbData) }
        #expect(try PNG.encodeRGB(rgb) == rgbData, "deterministic")
    }

    @Test func pngPaletteEncodingRejectsIndexPastPalette() {
        let mask = IndexImage(width: 2, height: 1, values: [0, 3])
        #expect(throws: CodecError.self) { try PNG.encodePalette(mask, palette: [1, 2, 3, 4, 5, 6, 7, 8, 9]) }
    }
}

// MARK: - Errors

extension CodecTests {
    /// Decodes with every entry point that accepts the data's format; each must throw a CodecError.
    private func expectCodecError(_ data: Data, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        var attempts: [() throws -> Void] = [{ _ = try ImageDecoder.decodeRGB(data) }]
        switch ImageFormat.sniff(data) {
        case .jpeg:
            attempts += [{ _ = try JPEG.decodeRGB(data) }, { _ = try JPEG.decodeRGB(data, scaleDenominator: 4) }]
        case .png:
            attempts += [{ _ = try PNG.decodeRGB(data) }, { _ = try PNG.decodeIndices(data) }]
        case .unknown:
            attempts += [{ _ = try JPEG.decodeRGB(data) }, { _ = try PNG.decodeRGB(data) }, { _ = try JPEG.info(data) }]
        }
        for attempt in attempts {
            do {
                try attempt()
                Issue.record("\(label): decoded without error", sourceLocation: sourceLocation)
            } catch let error as CodecError {
                #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
            } catch {
                Issue.record("\(label): \(error) is not a CodecError", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func corruptAndTruncatedJPEGsThrow() throws {
        let golden = try codecGolden()
        expectCodecError(Data(), "empty")
        expectCodecError(Data([0xFF, 0xD8, 0xFF]), "magic bytes only")
        var rng = SplitMix64(seed: 11)
        let garbage = (0..<200).map { _ in UInt8(rng.nextInt(below: 256)) }
        expectCodecError(Data([0xFF, 0xD8, 0xFF] + garbage), "garbage after SOI")
        for fixture in ["jpeg_rgb420", "jpeg_progressive", "jpeg_gray", "jpeg_cmyk"] {
            let data = try fixtureBytes(golden, fixture)
            expectCodecError(data.prefix(data.count / 2), "\(fixture) cut in half")
            expectCodecError(data.prefix(data.count - 2), "\(fixture) without EOI")  // Pillow refuses this too
            var zeroHeight = Array(data)
            let sof = try #require((2..<zeroHeight.count - 1).first {
                zeroHeight[$0] == 0xFF && [0xC0, 0xC2].contains(zeroHeight[$0 + 1])  // baseline or progressive SOF
            })
            (zeroHeight[sof + 5], zeroHeight[sof + 6]) = (0, 0)
            expectCodecError(Data(zeroHeight), "\(fixture) with height 0")
        }
        #expect(throws: CodecError.self) { try JPEG.info(Data([0xFF, 0xD8, 0xFF, 0xE0])) }
    }

    @Test func corruptAndTruncatedPNGsThrow() throws {
        let golden = try codecGolden()
        let data = try fixtureBytes(golden, "png_rgb")
        expectCodecError(data.prefix(8), "signature only")
        expectCodecError(data.prefix(data.count / 2), "cut in half")
        var badHeaderCRC = Array(data)
        badHeaderCRC[29] ^= 0x01  // 8 signature + 4 length + 4 type + 13 IHDR bytes, then the CRC
        expectCodecError(Data(badHeaderCRC), "IHDR CRC")
        var badImageData = Array(data)
        badImageData[data.count / 2] ^= 0x40
        expectCodecError(Data(badImageData), "IDAT byte flipped")
        // a PNG missing only its IEND chunk is complete, and Pillow reads it
        #expect(try PNG.decodeRGB(data.prefix(data.count - 12)) == PNG.decodeRGB(data))
    }

    /// Random byte changes and cuts: each result is an image or a CodecError, and the process survives.
    @Test(arguments: ["jpeg_rgb420", "jpeg_progressive", "jpeg_cmyk", "png_palette", "png_interlaced", "png_rgb16"])
    func mutatedFilesNeverCrash(fixture: String) throws {
        let original = Array(try fixtureBytes(try codecGolden(), fixture))
        var rng = SplitMix64(seed: SplitMix64.mix(13, UInt64(original.count)))
        var (decoded, rejected) = (0, 0)
        for _ in 0..<150 {
            var bytes = original
            for _ in 0..<(1 + rng.nextInt(below: 4)) {
                bytes[3 + rng.nextInt(below: bytes.count - 3)] = UInt8(rng.nextInt(below: 256))
            }
            if rng.nextInt(below: 4) == 0 { bytes.removeLast(rng.nextInt(below: bytes.count - 3)) }
            do {
                let image = try ImageDecoder.decodeRGB(Data(bytes))
                #expect(image.pixels.count == image.width * image.height * 3)
                decoded += 1
            } catch is CodecError {
                rejected += 1
            } catch {
                Issue.record("\(fixture): \(error) is not a CodecError")
            }
        }
        #expect(decoded + rejected == 150 && rejected > 0, "\(decoded) decoded, \(rejected) rejected")
    }
}
