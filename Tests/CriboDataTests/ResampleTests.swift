// SPDX-License-Identifier: Apache-2.0
// Resampling against Pillow's Image.resize (goldens from make_resample_golden.py): byte-exact for every filter,
// size and box, and nearest-neighbour label maps that keep their values.

import CCriboShims
import CriboData
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct ResampleTests {}

extension ResampleTests {
    static let cases: [(String, Int, Int, (Double, Double, Double, Double)?)] = [
        ("down", 16, 10, nil), ("up", 50, 31, nil), ("box", 12, 12, (3, 2, 30, 20)), ("boxfrac", 9, 14, (1.5, 0.25, 20.75, 22.0)),
    ]

    @Test(arguments: ResampleFilter.allCases, ImageKernels.allCases)
    func matchesPillowExactly(filter: ResampleFilter, kernels: ImageKernels) throws {
        let g = try golden("resample.safetensors")
        let rgb = try g.integers("rgb").map { UInt8($0) }
        for (name, w, h, box) in Self.cases {
            let expected = try g.integers("\(filter.rawValue).\(name)").map { UInt8($0) }
            let ours = resample(rgb, width: 37, height: 23, channels: 3, outWidth: w, outHeight: h, filter: filter, box: box,
                                kernels: kernels)
            let worst = zip(ours, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(ours.count == expected.count && worst == 0, "\(filter) \(name) \(kernels): max difference \(worst)")
        }
    }

    /// The C kernels (transpose + row filter, AVX-512/AVX2 with scalar tails) against the scalar Swift passes on
    /// random images: sizes from 1 pixel to over 16 vector widths, 1 and 3 channels, up- and downscaling by up to 40x,
    /// boxes, and both pass orders.
    @Test func simdKernelsEqualTheScalarReference() {
        var rng = SplitMix64(seed: 2027)
        for trial in 0..<300 {
            let width = 1 + rng.nextInt(below: trial < 100 ? 9 : 300), height = 1 + rng.nextInt(below: trial < 100 ? 9 : 300)
            let channels = trial % 5 == 4 ? 1 : 3
            let pixels = (0..<(width * height * channels)).map { _ in UInt8(truncatingIfNeeded: rng.nextInt(below: 256)) }
            let outWidth = 1 + rng.nextInt(below: trial % 7 == 0 ? 8 : 260), outHeight = 1 + rng.nextInt(below: trial % 7 == 0 ? 8 : 260)
            let filter = ResampleFilter.allCases[rng.nextInt(below: ResampleFilter.allCases.count)]
            var box: (Double, Double, Double, Double)?
            if trial % 3 == 0 {
                let x0 = rng.nextUniform(0, Double(width) / 2), y0 = rng.nextUniform(0, Double(height) / 2)
                box = (x0, y0, rng.nextUniform(x0 + 0.25, Double(width)), rng.nextUniform(y0 + 0.25, Double(height)))
            }
            let reference = resample(pixels, width: width, height: height, channels: channels, outWidth: outWidth,
                                     outHeight: outHeight, filter: filter, box: box, kernels: .scalarReference)
            for level in [2, 1, 0] {  // AVX-512, AVX2, scalar C (as far as this CPU has them)
                cribo_simd_limit(Int32(level))
                defer { cribo_simd_limit(2) }
                let fast = resample(pixels, width: width, height: height, channels: channels, outWidth: outWidth,
                                    outHeight: outHeight, filter: filter, box: box, kernels: .simd)
                let differing = zip(fast, reference).filter { $0 != $1 }.count
                #expect(fast.count == reference.count && differing == 0, "trial \(trial), SIMD level \(level): \(differing) bytes differ, \(width)x\(height)x\(channels) -> \(outWidth)x\(outHeight) \(filter) box \(String(describing: box))")
            }
        }
    }

    @Test func nearestMatchesPillowAndKeepsLabels() throws {
        let g = try golden("resample.safetensors")
        let labels = try g.integers("labels").map { UInt8($0) }
        for (name, w, h, box) in Self.cases {
            let expected = try g.integers("nearest.\(name)").map { UInt8($0) }
            #expect(resampleNearest(labels, width: 37, height: 23, outWidth: w, outHeight: h, box: box) == expected, "nearest \(name)")
        }
    }

    @Test func boundedSizeKeepsAspect() {
        #expect(boundedSize(width: 640, height: 480, maxSide: 256) == (341, 256))
        #expect(boundedSize(width: 375, height: 500, maxSide: 256) == (256, 341))
        #expect(boundedSize(width: 200, height: 100, maxSide: 256) == (200, 100))
    }
}
