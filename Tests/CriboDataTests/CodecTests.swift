// SPDX-License-Identifier: Apache-2.0
// Image codecs against Pillow: every fixture in codecs.safetensors (written by make_codec_golden.py) is decoded
// from exactly the bytes Pillow decoded, and the pixels are compared with Pillow's `convert("RGB")`, `draft`
// and `np.array` results. Round trips and error handling are in CodecTests+RoundTrips.swift.

import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@testable import CriboData

@Suite struct CodecTests {}

/// Largest per-sample difference allowed between our libjpeg-turbo (Debian 2.1.5) and Pillow's bundled one
/// (3.2.0) on the same bytes, both with the islow IDCT and fancy upsampling: measured 0 on every fixture, full
/// size and DCT-scaled (1/2, 1/4, 1/8), including CMYK.
private let jpegVersusPillowTolerance = 0

/// The committed golden file.
func codecGolden() throws -> TensorFile { try golden("codecs.safetensors") }

/// The encoded bytes of fixture `name`.
func fixtureBytes(_ golden: TensorFile, _ name: String) throws -> Data {
    try golden.withBytes(name + ".bytes") { Data($0) }
}

/// A U8 tensor with its shape.
func goldenBytes(_ golden: TensorFile, _ name: String) throws -> (shape: [Int], values: [UInt8]) {
    (try golden.entry(name).shape, try golden.withBytes(name) { Array($0) })
}

/// Expects `actual` (`[height, width, channels]`) to match golden tensor `name` within `tolerance` per byte.
func expectPixels(
    _ actual: [UInt8], shape: [Int], _ golden: TensorFile, _ name: String, tolerance: Int = 0,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let expected = try goldenBytes(golden, name)
    #expect(shape == expected.shape, "\(name): shape \(shape) vs Pillow's \(expected.shape)",
            sourceLocation: sourceLocation)
    guard shape == expected.shape else { return }
    var (worst, worstIndex, failures) = (0, -1, 0)
    for i in actual.indices {
        let difference = abs(Int(actual[i]) - Int(expected.values[i]))
        if difference > worst { (worst, worstIndex) = (difference, i) }
        if difference > tolerance { failures += 1 }
    }
    #expect(failures == 0,
            "\(name): \(failures) samples differ by more than \(tolerance); max \(worst) at \(worstIndex)",
            sourceLocation: sourceLocation)
}

private let jpegFixtures = [
    "jpeg_rgb420", "jpeg_rgb444", "jpeg_progressive", "jpeg_gray", "jpeg_large420", "jpeg_large444", "jpeg_cmyk",
    "jpeg_cmyk_noadobe",
]
private let pngFixtures = [
    "png_palette", "png_palette4", "png_palette_short", "png_gray", "png_gray2", "png_gray16", "png_rgb", "png_rgba",
    "png_la", "png_rgb16", "png_la16", "png_interlaced", "png_named_jpeg",
]

// MARK: - JPEG

extension CodecTests {
    @Test(arguments: jpegFixtures)
    func jpegDecodesLikePillow(fixture: String) throws {
        let golden = try codecGolden()
        let image = try JPEG.decodeRGB(try fixtureBytes(golden, fixture))
        try expectPixels(image.pixels, shape: [image.height, image.width, 3], golden, fixture + ".rgb",
                         tolerance: jpegVersusPillowTolerance)
    }

    @Test(arguments: [
        ("jpeg_gray", 2), ("jpeg_gray", 4), ("jpeg_large420", 2), ("jpeg_large420", 4), ("jpeg_large420", 8),
        ("jpeg_large444", 2), ("jpeg_large444", 4), ("jpeg_cmyk", 2),
    ])
    func jpegScaledDecodeMatchesPillowDraft(fixture: String, denominator: Int) throws {
        let golden = try codecGolden()
        let data = try fixtureBytes(golden, fixture)
        let image = try JPEG.decodeRGB(data, scaleDenominator: denominator)
        try expectPixels(image.pixels, shape: [image.height, image.width, 3], golden, "\(fixture).rgb_\(denominator)",
                         tolerance: jpegVersusPillowTolerance)
        // ceil(size / k), as libjpeg scales
        let full = try JPEG.info(data)
        #expect(image.width == (full.width + denominator - 1) / denominator)
        #expect(image.height == (full.height + denominator - 1) / denominator)
        #expect(try ImageDecoder.decodeRGB(data, scaleDenominator: denominator) == image)
    }

    /// libjpeg-turbo's M/8 scaled inverse DCTs (what `cribo-ingest --max-side` decodes with): ceil(size·M/8) pixels,
    /// and the 1/2, 1/4, 1/8 draft scales and the full decode bit for bit at M = 4, 2, 1, 8.
    @Test(arguments: ["jpeg_large420", "jpeg_large444", "jpeg_gray", "jpeg_cmyk"])
    func jpegEighthScalesHaveTheirSize(fixture: String) throws {
        let data = try fixtureBytes(try codecGolden(), fixture)
        let full = try JPEG.decodeRGB(data)
        for m in 1...8 {
            let image = try JPEG.decodeRGB(data, eighths: m)
            #expect(image.width == (full.width * m + 7) / 8 && image.height == (full.height * m + 7) / 8, "\(fixture) \(m)/8")
            if 8 % m == 0 {
                #expect(image == (try JPEG.decodeRGB(data, scaleDenominator: 8 / m)), "\(fixture) \(m)/8 is the 1/\(8 / m) scale")
            }
        }
    }

    /// On a smooth picture (a 4:2:0 JPEG of low-frequency waves, 248×184 so that the scaled sizes round up), every
    /// M/8 decode shows the same image as the full decode resized to its size: both are low-pass reductions, and
    /// they differ only by the filters' shapes (M = 8 is the full decode itself).
    @Test func jpegEighthScalesShowTheSamePicture() throws {
        let (width, height) = (248, 184)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let (u, v) = (Double(x) / Double(width), Double(y) / Double(height))
                let waves = [sin(6 * u + 2 * v), cos(4 * v - 3 * u), sin(5 * (u + v))]
                for c in 0..<3 { pixels[(y * width + x) * 3 + c] = UInt8(127.5 + 100 * waves[c]) }
            }
        }
        let data = try JPEG.encode(RGBImage(width: width, height: height, pixels: pixels), quality: 95)
        let full = try JPEG.decodeRGB(data)
        for m in 1...7 {
            let image = try JPEG.decodeRGB(data, eighths: m)
            let resized = resample(full.pixels, width: full.width, height: full.height, channels: 3,
                                   outWidth: image.width, outHeight: image.height, filter: .bicubic)
            let differences = zip(image.pixels, resized).map { abs(Int($0) - Int($1)) }
            let mean = Double(differences.reduce(0, +)) / Double(differences.count)
            #expect(mean < 1.5, "\(m)/8: mean |DCT-scaled − resized| \(mean) (largest \(differences.max()!))")
        }
    }

    @Test(arguments: jpegFixtures)
    func jpegInfoMatchesPillowSizeAndBands(fixture: String) throws {
        let golden = try codecGolden()
        let info = try JPEG.info(try fixtureBytes(golden, fixture))
        let shape = try golden.entry(fixture + ".rgb").shape
        let components = try goldenBytes(golden, fixture + ".components").values
        #expect([info.height, info.width] == Array(shape.prefix(2)))
        #expect([UInt8(info.components)] == components)
    }

    @Test func jpegHeaderReportsColourSpaceAndAdobeMarker() throws {
        let golden = try codecGolden()
        let cases: [(String, JPEG.ColorSpace, Bool)] = [
            ("jpeg_rgb420", .yCbCr, false), ("jpeg_gray", .grayscale, false), ("jpeg_cmyk", .cmyk, true),
            ("jpeg_cmyk_noadobe", .cmyk, false),
        ]
        for (fixture, colorSpace, hasAdobeMarker) in cases {
            let header = try JPEG.header(try fixtureBytes(golden, fixture))
            #expect(header.colorSpace == colorSpace, "\(fixture)")
            #expect(header.hasAdobeMarker == hasAdobeMarker, "\(fixture)")
            #expect(header.adobeTransform == 0, "\(fixture)")
        }
    }

    /// Pillow's CMYK → RGB on all 256 x 256 (ink, black) pairs; the inverted form reads 255 − value.
    @Test func cmykConversionMatchesPillowTable() throws {
        let table = try goldenBytes(try codecGolden(), "cmyk_table.rgb")
        #expect(table.shape == [256, 256])
        var cmyk: [UInt8] = []
        for black in 0..<256 {
            for ink in 0..<256 { cmyk += [UInt8(ink), UInt8(ink), UInt8(ink), UInt8(black)] }
        }
        let rgb = JPEG.rgbFromCMYK(cmyk, isInverted: false)
        let expected = table.values.flatMap { [$0, $0, $0] }
        #expect(rgb == expected)
        #expect(JPEG.rgbFromCMYK(cmyk.map { 255 - $0 }, isInverted: true) == expected)
    }
}

// MARK: - PNG

extension CodecTests {
    @Test(arguments: pngFixtures)
    func pngDecodesLikePillow(fixture: String) throws {
        let golden = try codecGolden()
        let image = try PNG.decodeRGB(try fixtureBytes(golden, fixture))
        try expectPixels(image.pixels, shape: [image.height, image.width, 3], golden, fixture + ".rgb")
    }

    @Test(arguments: ["png_palette", "png_palette4", "png_gray", "png_gray2"])
    func pngIndicesMatchNumPy(fixture: String) throws {
        let golden = try codecGolden()
        let image = try PNG.decodeIndices(try fixtureBytes(golden, fixture))
        try expectPixels(image.values, shape: [image.height, image.width], golden, fixture + ".indices")
    }

    @Test func vocMaskKeepsClassIndicesAndVoid() throws {
        let mask = try PNG.decodeIndices(try fixtureBytes(try codecGolden(), "png_palette"))
        #expect(Set(mask.values) == Set(Array(0...20) + [255]))
    }

    @Test(arguments: ["png_rgb", "png_rgba", "png_la", "png_gray16", "png_rgb16", "png_interlaced"])
    func pngIndicesRejectsNonMaskLayouts(fixture: String) throws {
        let data = try fixtureBytes(try codecGolden(), fixture)
        #expect(throws: CodecError.self) { try PNG.decodeIndices(data) }
    }
}

// MARK: - Format sniffing and the VOC palette

extension CodecTests {
    @Test func sniffUsesMagicBytes() throws {
        let golden = try codecGolden()
        for fixture in jpegFixtures {
            #expect(ImageFormat.sniff(try fixtureBytes(golden, fixture)) == .jpeg, "\(fixture)")
        }
        for fixture in pngFixtures {
            #expect(ImageFormat.sniff(try fixtureBytes(golden, fixture)) == .png, "\(fixture)")
        }
        #expect(ImageFormat.sniff(Data()) == .unknown)
        #expect(ImageFormat.sniff(Data([0xFF, 0xD8])) == .unknown)
        #expect(ImageFormat.sniff(Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A])) == .unknown)
        #expect(ImageFormat.sniff(Data("GIF89a\u{1}\u{0}".utf8)) == .unknown)
        // a slice whose indices do not start at 0
        let padded = Data([0x00, 0xFF, 0xD8, 0xFF, 0xE0])
        #expect(ImageFormat.sniff(padded.dropFirst()) == .jpeg)
    }

    /// ImageNet's PNG named .JPEG: the decoder goes by content.
    @Test func decoderSniffsPNGPosingAsJPEG() throws {
        let golden = try codecGolden()
        #expect(golden.metadata["png_named_jpeg.role"]?.hasSuffix(".JPEG") == true)
        let data = try fixtureBytes(golden, "png_named_jpeg")
        let image = try ImageDecoder.decodeRGB(data)
        try expectPixels(image.pixels, shape: [image.height, image.width, 3], golden, "png_named_jpeg.rgb")
        #expect(try ImageDecoder.decodeRGB(data, scaleDenominator: 4) == image)  // PNGs ignore the draft scale
        #expect(throws: CodecError.self) { try JPEG.decodeRGB(data) }
        let jpeg = try fixtureBytes(golden, "jpeg_rgb420")
        #expect(try ImageDecoder.decodeRGB(jpeg) == JPEG.decodeRGB(jpeg))
        #expect(throws: CodecError.self) { try ImageDecoder.decodeRGB(Data("GIF89a".utf8)) }
    }

    /// The colours listed in datasets.md §3.2.
    @Test func pascalVOCPaletteMatchesDocumentedColours() {
        let palette = PNG.pascalVOCPalette()
        #expect(palette.count == 768)
        let documented: [(Int, [UInt8])] = [
            (0, [0, 0, 0]), (1, [128, 0, 0]), (2, [0, 128, 0]), (15, [192, 128, 128]), (20, [0, 64, 128]),
            (255, [224, 224, 192]),
        ]
        for (index, colour) in documented {
            #expect(Array(palette[3 * index..<3 * index + 3]) == colour, "index \(index)")
        }
    }

    /// The golden palette PNG was written with the Python bitget map: its colours are our palette's.
    @Test func pascalVOCPaletteMatchesGoldenPNG() throws {
        let golden = try codecGolden()
        let indices = try goldenBytes(golden, "png_palette.indices").values
        let rgb = try goldenBytes(golden, "png_palette.rgb").values
        let palette = PNG.pascalVOCPalette()
        #expect(indices.flatMap { palette[3 * Int($0)..<3 * Int($0) + 3] } == rgb)
    }
}
