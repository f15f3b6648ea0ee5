// SPDX-License-Identifier: Apache-2.0
// COCOMask: COCO segmentations to binary masks, bit for bit as pycocotools' `COCO.annToMask` produces them
// (checked against pycocotools 2.0.11 by COCOTests). Polygons go through `rasterizePolygon`, a port of the
// *algorithm* of maskApi.c's rleFrPoly as docs/datasets.md §1.5 describes it; the RLE codecs are in COCOMask+RLE.swift.
// Masks are row-major [height, width] arrays of 0/1 bytes; RLE counts are column-major (docs/datasets.md §1.5).

/// Decoding and encoding of COCO segmentation masks.
package enum COCOMask {
    /// Decodes a segmentation to a row-major 0/1 mask, as pycocotools' `annToMask` does.
    ///
    /// Concretely, for `.polygons(parts)`:
    /// - a first part of exactly 4 numbers makes every part a box `[x, y, w, h]` (what pycocotools' `frPyObjects`
    ///   intends; with a JSON list it actually raises TypeError, cocoapi issue #369), rasterised as the polygon
    ///   (x, y), (x, y+h), (x+w, y+h), (x+w, y); every part must then have 4 numbers;
    /// - otherwise parts of 6 or more numbers are rasterised; parts of 0, 2 or 4 numbers are skipped (pycocotools
    ///   renders them empty, or raises when such a part comes first); a part of odd length is an error
    ///   (pycocotools silently drops the last number);
    /// - the mask is the union of the parts; no parts give an all-zero mask.
    /// RLE segmentations must have size `height` x `width` and counts summing to height·width.
    /// - Parameters:
    ///   - segmentation: the annotation's segmentation.
    ///   - height: image height (rows).
    ///   - width: image width (columns).
    /// - Returns: [height · width] bytes, row-major, 1 inside the object.
    /// - Throws: `COCOError.invalidSegmentation` for the malformed cases above.
    package static func decode(_ segmentation: COCOSegmentation, height: Int, width: Int) throws -> [UInt8] {
        precondition(height >= 0 && width >= 0, "COCOMask.decode: size \(height)x\(width)")
        try validate(segmentation, height: height, width: width)
        switch segmentation {
        case .polygons(let parts):
            let polygons = polygonsOf(parts)
            if polygons.count == 1 { return rasterizePolygon(polygons[0], height: height, width: width) }
            var mask = [UInt8](repeating: 0, count: height * width)
            for polygon in polygons {
                let partMask = rasterizePolygon(polygon, height: height, width: width)
                for i in mask.indices { mask[i] |= partMask[i] }
            }
            return mask
        case .rle(let counts, _, _):
            return try decodeRLE(counts, height: height, width: width)
        case .compressedRLE(let text, _, _):
            return try decodeRLE(decodeCompressedCounts(text), height: height, width: width)
        }
    }

    /// Checks what `decode` checks, without building the mask.
    /// - Throws: `COCOError.invalidSegmentation` naming the problem (part index and length, RLE size or sum).
    package static func validate(_ segmentation: COCOSegmentation, height: Int, width: Int) throws {
        switch segmentation {
        case .polygons(let parts):
            let isBoxes = parts.first?.count == 4
            for (index, part) in parts.enumerated() {
                if isBoxes, part.count != 4 {
                    throw COCOError.invalidSegmentation(reason: "the first polygon part has 4 numbers (a box [x, y, w, h]) but part \(index) has \(part.count)")
                }
                if part.count % 2 != 0 {
                    throw COCOError.invalidSegmentation(reason: "polygon part \(index) has an odd number of coordinates (\(part.count))")
                }
                if let bad = part.first(where: { !($0.magnitude < coordinateLimit) }) {
                    throw COCOError.invalidSegmentation(reason: "polygon part \(index) has coordinate \(bad)")
                }
            }
        case .rle(let counts, let rleHeight, let rleWidth):
            try checkRLE(sum: counts.reduce(0) { $0 + Int($1) }, height: rleHeight, width: rleWidth, expected: (height, width))
        case .compressedRLE(let text, let rleHeight, let rleWidth):
            let counts = try decodeCompressedCounts(text)
            try checkRLE(sum: counts.reduce(0) { $0 + Int($1) }, height: rleHeight, width: rleWidth, expected: (height, width))
        }
    }

    /// Rasterises one polygon exactly like pycocotools' `rleFrPoly` (maskApi.c), returning a row-major 0/1 mask.
    ///
    /// Concretely: vertices are scaled by 5 and truncated as C's `(int)(5·v + 0.5)` does; each edge (the last one
    /// closes the polygon) is walked with a DDA along its longer axis, interpolated from its lower end so both
    /// directions give the same points; between consecutive walked points whose x differs, one boundary crossing is
    /// recorded if the crossed sub-pixel x sits at 5k + 2 (column k, inside the image), at row
    /// ceil(clamp((min(y) + 0.5) / 5 − 0.5, 0, height)). A pixel is inside when an odd number of crossings
    /// precede it or sit on it in column-major order (the RLE the crossings stand for). The result is close to
    /// "pixel centre inside the polygon" but differs on boundaries; other rasterisers do not match COCO.
    /// - Parameters:
    ///   - xy: [2k] interleaved vertex coordinates x1, y1, x2, y2, ... (k ≥ 1; k < 3 gives an empty mask).
    ///   - height: rows of the mask.
    ///   - width: columns of the mask.
    /// - Returns: [height · width] bytes, row-major.
    /// - Complexity: O(perimeter · 5 + height · width).
    package static func rasterizePolygon(_ xy: [Double], height: Int, width: Int) -> [UInt8] {
        precondition(xy.count % 2 == 0 && !xy.isEmpty, "COCOMask.rasterizePolygon: \(xy.count) coordinates, expected an even count ≥ 2")
        precondition(height >= 0 && width >= 0, "COCOMask.rasterizePolygon: size \(height)x\(width)")
        precondition(xy.allSatisfy { $0.magnitude < coordinateLimit }, "COCOMask.rasterizePolygon: coordinates must be finite and below \(coordinateLimit)")
        let k = xy.count / 2
        // Scaled vertices, the first repeated at the end to close the polygon.
        let xs = (0...k).map { Int(scale * xy[2 * ($0 % k)] + 0.5) }
        let ys = (0...k).map { Int(scale * xy[2 * ($0 % k) + 1] + 0.5) }
        var crossings = CrossingCollector(height: height, width: width)
        for j in 0..<k {
            let (x0, y0, x1, y1) = (xs[j], ys[j], xs[j + 1], ys[j + 1])
            let dx = abs(x1 - x0)
            let dy = abs(y1 - y0)
            if dx == 0 && dy == 0 {
                // A repeated vertex (rleFrPoly divides 0 by 0 here); its point is never a kept crossing.
                crossings.visit(u: x0, v: y0)
            } else if dx >= dy {
                // Interpolate from the left end; walk in the edge's own direction.
                let reversed = x0 > x1
                let (lowX, lowY, highY) = reversed ? (x1, y1, y0) : (x0, y0, y1)
                let slope = Double(highY - lowY) / Double(dx)
                for d in 0...dx {
                    let t = reversed ? dx - d : d
                    crossings.visit(u: lowX + t, v: Int(Double(lowY) + slope * Double(t) + 0.5))
                }
            } else {
                let reversed = y0 > y1
                let (lowY, lowX, highX) = reversed ? (y1, x1, x0) : (y0, x0, x1)
                let slope = Double(highX - lowX) / Double(dy)
                for d in 0...dy {
                    let t = reversed ? dy - d : d
                    crossings.visit(u: Int(Double(lowX) + slope * Double(t) + 0.5), v: lowY + t)
                }
            }
        }
        return crossings.mask()
    }

    // MARK: - Private

    /// rleFrPoly's sub-pixel factor.
    private static let scale = 5.0
    /// Coordinates must stay well inside C int range after scaling (and be finite).
    private static let coordinateLimit = 1.0e8

    /// The polygons `decode` rasterises for a list of parts (see its rules).
    private static func polygonsOf(_ parts: [[Double]]) -> [[Double]] {
        if parts.first?.count == 4 {
            return parts.map { box in
                let (x0, y0, x1, y1) = (box[0], box[1], box[0] + box[2], box[1] + box[3])
                return [x0, y0, x0, y1, x1, y1, x1, y0]
            }
        }
        return parts.filter { $0.count >= 6 }
    }

    private static func checkRLE(sum: Int, height: Int, width: Int, expected: (height: Int, width: Int)) throws {
        guard height == expected.height, width == expected.width else {
            throw COCOError.invalidSegmentation(reason: "RLE size is \(height)x\(width), the image is \(expected.height)x\(expected.width)")
        }
        guard sum == height * width else {
            throw COCOError.invalidSegmentation(reason: "RLE counts sum to \(sum), expected \(height)x\(width) = \(height * width)")
        }
    }
}

/// Collects rleFrPoly's boundary crossings from the walked points (u, v) and turns them into a mask.
///
/// rleFrPoly sorts the crossings as column-major flat indices column · height + row (row in 0...height) and reads
/// them as RLE run boundaries, so a pixel's value is the parity of the crossings at or before its flat index. Here
/// they are kept row-major for a cache-friendly fill: a crossing at row `height` is the same index as row 0 of the
/// next column (or past the end, where it changes nothing), and each column starts from the parity of the columns
/// before it.
private struct CrossingCollector {
    let height: Int
    let width: Int
    /// [height · width] row-major crossing parity; becomes the mask.
    var toggles: [UInt8]
    /// [width] parity of the crossings in each column.
    var columnParity: [UInt8]
    var previous: (u: Int, v: Int)?

    init(height: Int, width: Int) {
        self.height = height
        self.width = width
        toggles = [UInt8](repeating: 0, count: height * width)
        columnParity = [UInt8](repeating: 0, count: width)
    }

    mutating func visit(u: Int, v: Int) {
        defer { previous = (u, v) }
        guard let (pu, pv) = previous, u != pu else { return }
        // The sub-pixel x the step crosses; only x = 5·column + 2 (near the column's centre) counts.
        let crossedX = u < pu ? u : u - 1
        guard (crossedX - 2) % 5 == 0 else { return }
        var column = (crossedX - 2) / 5
        guard column >= 0 && column < width else { return }
        let y = (Double(min(v, pv)) + 0.5) / 5 - 0.5
        var row = Int((y < 0 ? 0 : (y > Double(height) ? Double(height) : y)).rounded(.up))
        if row == height {
            (column, row) = (column + 1, 0)
            guard column < width else { return }
        }
        toggles[row * width + column] ^= 1
        columnParity[column] ^= 1
    }

    consuming func mask() -> [UInt8] {
        var state = [UInt8](repeating: 0, count: width)
        var carry: UInt8 = 0
        for column in 0..<width {
            state[column] = carry
            carry ^= columnParity[column]
        }
        for row in 0..<height {
            for column in 0..<width {
                state[column] ^= toggles[row * width + column]
                toggles[row * width + column] = state[column]
            }
        }
        return toggles
    }
}
