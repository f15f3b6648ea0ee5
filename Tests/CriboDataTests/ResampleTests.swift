// SPDX-License-Identifier: Apache-2.0
// Resampling against Pillow's Image.resize (goldens from make_resample_golden.py): byte-exact for every filter,
// size and box, and nearest-neighbour label maps that keep their values.

import CriboData
import CriboTensor
import CriboTestSupport
import Testing

@Suite struct ResampleTests {}

extension ResampleTests {
    static let cases: [(String, Int, Int, (Double, Double, Double, Double)?)] = [
        ("down", 16, 10, nil), ("up", 50, 31, nil), ("box", 12, 12, (3, 2, 30, 20)), ("boxfrac", 9, 14, (1.5, 0.25, 20.75, 22.0)),
    ]

    @Test(arguments: ResampleFilter.allCases)
    func matchesPillowExactly(filter: ResampleFilter) throws {
        let g = try golden("resample.safetensors")
        let rgb = try g.integers("rgb").map { UInt8($0) }
        for (name, w, h, box) in Self.cases {
            let expected = try g.integers("\(filter.rawValue).\(name)").map { UInt8($0) }
            let ours = resample(rgb, width: 37, height: 23, channels: 3, outWidth: w, outHeight: h, filter: filter, box: box)
            let worst = zip(ours, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(ours.count == expected.count && worst == 0, "\(filter) \(name): max difference \(worst)")
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
