// SPDX-License-Identifier: Apache-2.0
// A scanline polygon rasteriser with the pixel-centre rule, its point-in-polygon oracle, and the polygon helpers
// the scene renderer needs (area, clipping to the image).
//
// The rule, in full: pixel (column c, row r) covers the square [c, c+1) × [r, r+1) and belongs to a polygon part
// when its centre (c + 0.5, r + 0.5) is inside that part under the even-odd rule. A centre exactly on an edge is
// decided half-open: an edge crossing is counted for a scanline y when y0 ≤ y < y1 (so centres on a top edge are
// in and on a bottom edge out, y pointing down), and along the scanline a span runs [xa, xb) (centres on a left
// edge in, on a right edge out). Polygons that share an edge therefore never both take a pixel and leave no gap.
// Several parts are united (COCO's reading of a list of polygons).

/// Scanline rasterisation of COCO-style polygons `[x1, y1, x2, y2, ...]` in pixel coordinates.
package enum PolygonRasterizer {
    /// A run of covered pixels in one row: columns `columns` of row `row`.
    package struct Span: Equatable, Sendable {
        /// The row index.
        package var row: Int
        /// The covered columns, half-open.
        package var columns: Range<Int>
    }

    /// The covered pixel runs of one polygon part, row by row, left to right, clipped to the image.
    ///
    /// Concretely: for each row r, the edges crossing y = r + 0.5 (half-open in y) give sorted crossings
    /// x₁ ≤ x₂ ≤ …; the spans are [x₁, x₂), [x₃, x₄), … and column c is in a span when x₂ᵢ₋₁ ≤ c + 0.5 < x₂ᵢ.
    /// - Parameters:
    ///   - polygon: `[x1, y1, x2, y2, ...]`, at least 3 vertices, finite; the closing edge is implied.
    ///   - width: image width (columns `0..<width`).
    ///   - height: image height (rows `0..<height`).
    /// - Complexity: O(rows × (vertices + crossings · log crossings)).
    package static func spans(of polygon: [Double], width: Int, height: Int) -> [Span] {
        precondition(polygon.count >= 6 && polygon.count % 2 == 0,
            "PolygonRasterizer: a polygon needs an even number ≥ 6 of coordinates, got \(polygon.count)")
        precondition(polygon.allSatisfy(\.isFinite), "PolygonRasterizer: polygon has a non-finite coordinate")
        let n = polygon.count / 2
        var minY = Double.infinity
        var maxY = -Double.infinity
        for i in 0..<n {
            minY = min(minY, polygon[2 * i + 1])
            maxY = max(maxY, polygon[2 * i + 1])
        }
        let firstRow = max(0, Int(max(-1, minY.rounded(.down))))
        let lastRow = min(height - 1, Int(min(Double(height), maxY.rounded(.up))))
        guard firstRow <= lastRow, width > 0 else { return [] }
        var spans: [Span] = []
        var crossings: [Double] = []
        crossings.reserveCapacity(8)
        for row in firstRow...lastRow {
            let y = Double(row) + 0.5
            crossings.removeAll(keepingCapacity: true)
            for i in 0..<n {
                let j = i + 1 == n ? 0 : i + 1
                let x0 = polygon[2 * i], y0 = polygon[2 * i + 1], x1 = polygon[2 * j], y1 = polygon[2 * j + 1]
                if (y0 <= y && y < y1) || (y1 <= y && y < y0) {
                    crossings.append(crossingX(x0: x0, y0: y0, x1: x1, y1: y1, y: y))
                }
            }
            crossings.sort()
            var k = 0
            while k + 1 < crossings.count {
                let first = firstCenter(atOrAfter: crossings[k], width: width)
                let end = firstCenter(atOrAfter: crossings[k + 1], width: width)
                if first < end { spans.append(Span(row: row, columns: first..<end)) }
                k += 2
            }
        }
        return spans
    }

    /// The union of the parts' pixels, `[height, width]` row-major.
    /// - Parameters:
    ///   - polygons: the parts, each as in `spans(of:width:height:)`.
    package static func mask(of polygons: [[Double]], width: Int, height: Int) -> [Bool] {
        var mask = [Bool](repeating: false, count: width * height)
        for polygon in polygons {
            for span in spans(of: polygon, width: width, height: height) {
                for c in span.columns { mask[span.row * width + c] = true }
            }
        }
        return mask
    }

    /// Whether the point is inside the polygon under the same rule, by counting crossings: the oracle of `spans`.
    ///
    /// Concretely: odd number of edges with y0 ≤ y < y1 (or y1 ≤ y < y0) whose crossing with the horizontal line
    /// through the point lies strictly right of x.
    package static func contains(_ polygon: [Double], x: Double, y: Double) -> Bool {
        let n = polygon.count / 2
        var inside = false
        for i in 0..<n {
            let j = i + 1 == n ? 0 : i + 1
            let x0 = polygon[2 * i], y0 = polygon[2 * i + 1], x1 = polygon[2 * j], y1 = polygon[2 * j + 1]
            if (y0 <= y && y < y1) || (y1 <= y && y < y0), crossingX(x0: x0, y0: y0, x1: x1, y1: y1, y: y) > x {
                inside.toggle()
            }
        }
        return inside
    }

    /// The signed area (shoelace formula): positive for a counter-clockwise outline in x-right, y-up axes.
    package static func signedArea(_ polygon: [Double]) -> Double {
        let n = polygon.count / 2
        var twice = 0.0
        for i in 0..<n {
            let j = i + 1 == n ? 0 : i + 1
            twice += polygon[2 * i] * polygon[2 * j + 1] - polygon[2 * j] * polygon[2 * i + 1]
        }
        return twice / 2
    }

    /// The polygon clipped to the rectangle [0, width] × [0, height] (Sutherland–Hodgman, one half-plane at a time).
    ///
    /// A concave polygon may come back with zero-width bridges along the border; they hold no pixel centre, so the
    /// rasterised pixels equal those of the unclipped polygon inside the image (except where a pixel centre lies
    /// exactly on a clipped edge, whose recomputed crossing may then differ in the last bit). Returns `[]` when
    /// nothing is left.
    package static func clipped(_ polygon: [Double], width: Double, height: Double) -> [Double] {
        var points = stride(from: 0, to: polygon.count - 1, by: 2).map { SIMD2(polygon[$0], polygon[$0 + 1]) }
        // Each half-plane as (axis, bound, keep-below): x ≥ 0, x ≤ width, y ≥ 0, y ≤ height.
        for (axis, bound, keepBelow) in [(0, 0.0, false), (0, width, true), (1, 0.0, false), (1, height, true)] {
            guard !points.isEmpty else { break }
            let isInside = { (p: SIMD2<Double>) in keepBelow ? p[axis] <= bound : p[axis] >= bound }
            var output: [SIMD2<Double>] = []
            output.reserveCapacity(points.count + 4)
            for i in points.indices {
                let current = points[i]
                let previous = points[i == 0 ? points.count - 1 : i - 1]
                if isInside(current) != isInside(previous) {
                    let t = (bound - previous[axis]) / (current[axis] - previous[axis])
                    var crossing = previous + t * (current - previous)
                    crossing[axis] = bound
                    output.append(crossing)
                }
                if isInside(current) { output.append(current) }
            }
            points = output
        }
        guard points.count >= 3 else { return [] }
        // Interpolated coordinates may stray by an ulp; clamp them into the frame.
        return points.flatMap { [min(width, max(0, $0.x)), min(height, max(0, $0.y))] }
    }

    // MARK: - Private

    /// The x where the edge crosses the scanline y (the same expression in `spans` and `contains`), measured from
    /// the upper end, so that it does not depend on the edge's direction and is exact at that vertex.
    private static func crossingX(x0: Double, y0: Double, x1: Double, y1: Double, y: Double) -> Double {
        y0 < y1 ? x0 + (y - y0) * (x1 - x0) / (y1 - y0) : x1 + (y - y1) * (x0 - x1) / (y0 - y1)
    }

    /// The first column c with c + 0.5 ≥ x, clamped to 0...width.
    private static func firstCenter(atOrAfter x: Double, width: Int) -> Int {
        if !(x - 0.5 > 0) { return 0 }
        if x - 0.5 > Double(width) { return width }
        var c = Int((x - 0.5).rounded(.up))
        // `x - 0.5` may round; settle the tie on the exact comparison the rule states.
        while c > 0 && Double(c - 1) + 0.5 >= x { c -= 1 }
        while c < width && Double(c) + 0.5 < x { c += 1 }
        return min(c, width)
    }
}
