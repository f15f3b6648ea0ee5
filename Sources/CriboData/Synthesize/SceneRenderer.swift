// SPDX-License-Identifier: Apache-2.0
// The synthetic scene renderer: procedurally drawn images of textured shapes with exact instance and category
// masks, for miniature dataset fixtures and the demo. A scene is a pure function of (seed, index, width, height,
// object-count range): every random choice comes from one SplitMix64 stream keyed by the first four.
//
// A scene is painted back to front: a low-contrast background with a few distractor blobs (label 0), then 2–5
// objects. Each object draws a class (uniformly), a shape of that class's family at a random rotation and a size
// covering 5–40% of the image (log-uniform), a centre that keeps most of it in frame, a texture of the class's
// family and two colours around the class's hue (`SceneColour.pair(hue:using:)`). Its outline is clipped to the
// image, rounded to 1/100 pixel and rasterised with the pixel-centre rule (`PolygonRasterizer`); the object takes
// every pixel it covers, so the masks are what is visible. Objects that end up fully hidden are dropped and the
// others renumbered. The RGB image is not anti-aliased, so its edges coincide with the label maps.

import CriboTensor
import Foundation

/// Renders synthetic scenes of textured shapes with exact masks.
package struct SceneRenderer: Sendable {
    /// The class counts a renderer supports (each class is a distinct shape and texture family).
    package static let classCountRange = 6...10
    /// The class count of `init(seed:)`.
    package static let defaultClassCount = 8
    /// The names of the default classes, in class-index order (index 1 first): "striped disc", "checkered square", …
    package static let defaultClassNames: [String] = SceneClass.catalogue.prefix(defaultClassCount).map(\.name)
    /// The range of the fraction of the image an object's outline covers (before clipping and occlusion).
    package static let areaFractionRange = 0.05...0.40

    /// The number of classes, `classCountRange`.
    package let classCount: Int
    /// The seed of every scene of this renderer.
    package let seed: UInt64

    /// A renderer of `classCount` classes (the first of the catalogue).
    package init(classCount: Int = SceneRenderer.defaultClassCount, seed: UInt64) {
        precondition(Self.classCountRange.contains(classCount),
            "SceneRenderer: classCount must be in \(Self.classCountRange), got \(classCount)")
        self.classCount = classCount
        self.seed = seed
    }

    /// The names of this renderer's classes, in class-index order (`classNames[k - 1]` names class k).
    package var classNames: [String] { SceneClass.catalogue.prefix(classCount).map(\.name) }

    /// Renders scene `index`.
    ///
    /// Concretely: a pure function of (seed, index, width, height, objectCount); the same arguments give the same
    /// bytes whatever else was rendered before, on any thread.
    /// - Parameters:
    ///   - index: the scene number (any integer; scenes of different indices are independent).
    ///   - width: image width, at least 8.
    ///   - height: image height, at least 8.
    ///   - objectCount: how many objects are drawn (uniform); fully hidden ones are then dropped.
    /// - Returns: the scene; `rgb` is `[height, width, 3]`, the label maps `[height, width]`.
    /// - Complexity: O(width · height + objects · outline vertices · height).
    package func render(index: Int, width: Int, height: Int, objectCount: ClosedRange<Int> = 2...5) -> Scene {
        precondition(width >= 8 && height >= 8, "SceneRenderer: image must be at least 8x8, got \(width)x\(height)")
        precondition(objectCount.lowerBound >= 1 && objectCount.upperBound < Int(UInt16.max),
            "SceneRenderer: objectCount must lie in 1...\(Int(UInt16.max) - 1), got \(objectCount)")
        let key = SplitMix64.mix(seed, UInt64(bitPattern: Int64(index)), UInt64(width), UInt64(height))
        var rng = SplitMix64(seed: key)
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        SceneBackground(width: width, height: height, using: &rng).paint(&rgb, width: width, height: height)
        SceneBackground.paintDistractors(&rgb, width: width, height: height, using: &rng)

        var instances = [UInt16](repeating: 0, count: width * height)
        var drawn: [(classIndex: Int, polygon: [Double])] = []
        let count = objectCount.lowerBound + rng.nextInt(below: objectCount.count)
        for _ in 0..<count {
            let classIndex = 1 + rng.nextInt(below: classCount)
            let label = UInt16(drawn.count + 1)
            if let polygon = paintObject(
                classIndex: classIndex, label: label, rgb: &rgb, instances: &instances,
                width: width, height: height, rng: &rng)
            {
                drawn.append((classIndex, polygon))
            }
        }
        return Self.visibleScene(width: width, height: height, rgb: rgb, instances: instances, drawn: drawn)
    }

    // MARK: - Private

    /// Draws one object of the class and paints it over `rgb` and `instances`; returns its outline in pixel
    /// coordinates, or nil when nothing of it lands in the image.
    private func paintObject(
        classIndex: Int, label: UInt16, rgb: inout [UInt8], instances: inout [UInt16],
        width: Int, height: Int, rng: inout SplitMix64
    ) -> [Double]? {
        let sceneClass = SceneClass.catalogue[classIndex - 1]
        let outline = sceneClass.shape.outline(using: &rng)  // unit area, centroid at the origin
        let range = Self.areaFractionRange
        let fraction = exp(rng.nextUniform(log(range.lowerBound), log(range.upperBound)))
        let size = (fraction * Double(width * height)).squareRoot()
        let angle = rng.nextUniform(0, 2 * .pi)
        let rotation = SIMD2(cos(angle), sin(angle))
        let reach = size * outline.map { ($0.x * $0.x + $0.y * $0.y).squareRoot() }.max()!
        let centre = SIMD2(
            Self.placement(extent: width, reach: reach, using: &rng),
            Self.placement(extent: height, reach: reach, using: &rng))
        let pattern = sceneClass.texture.pattern(size: size, using: &rng)
        let (first, second) = SceneColour.pair(hue: Double(classIndex - 1) / Double(classCount), using: &rng)

        var polygon: [Double] = []
        for p in outline {
            let q = SIMD2(p.x * rotation.x - p.y * rotation.y, p.x * rotation.y + p.y * rotation.x) * size + centre
            polygon += [q.x, q.y]
        }
        polygon = Self.rounded(PolygonRasterizer.clipped(polygon, width: Double(width), height: Double(height)))
        guard polygon.count >= 6 else { return nil }
        let spans = PolygonRasterizer.spans(of: polygon, width: width, height: height)
        guard !spans.isEmpty else { return nil }
        for span in spans {
            for c in span.columns {
                let d = SIMD2(Double(c) + 0.5, Double(span.row) + 0.5) - centre
                let local = SIMD2(d.x * rotation.x + d.y * rotation.y, d.y * rotation.x - d.x * rotation.y)
                let t = pattern.value(at: local)
                SceneColour.store(first + t * (second - first), into: &rgb, at: 3 * (span.row * width + c))
                instances[span.row * width + c] = label
            }
        }
        return polygon
    }

    /// A centre coordinate keeping the object's bounding circle at most 25% out of frame when it fits.
    private static func placement(extent: Int, reach: Double, using rng: inout SplitMix64) -> Double {
        let margin = 0.75 * reach
        let span = Double(extent) - 2 * margin
        return span > 0 ? margin + span * rng.nextUniform() : Double(extent) * rng.nextUniform(0.45, 0.55)
    }

    /// The outline rounded to 1/100 pixel (COCO's precision), without repeated consecutive vertices.
    private static func rounded(_ polygon: [Double]) -> [Double] {
        var result: [Double] = []
        for k in stride(from: 0, to: polygon.count, by: 2) {
            let x = (polygon[k] * 100).rounded() / 100, y = (polygon[k + 1] * 100).rounded() / 100
            if result.count >= 2 && result[result.count - 2] == x && result[result.count - 1] == y { continue }
            result += [x, y]
        }
        while result.count >= 4 && result[0] == result[result.count - 2] && result[1] == result[result.count - 1] {
            result.removeLast(2)
        }
        return result
    }

    /// Drops fully hidden objects, renumbers the others, and derives categories, areas and boxes.
    private static func visibleScene(
        width: Int, height: Int, rgb: [UInt8], instances painted: [UInt16],
        drawn: [(classIndex: Int, polygon: [Double])]
    ) -> Scene {
        var visible = [Int](repeating: 0, count: drawn.count + 1)
        for label in painted { visible[Int(label)] += 1 }
        var renumbered = [UInt16](repeating: 0, count: drawn.count + 1)
        var kept: [Int] = []
        for k in 1..<(drawn.count + 1) where visible[k] > 0 {
            kept.append(k)
            renumbered[k] = UInt16(kept.count)
        }
        var instances = painted
        var categories = [UInt8](repeating: 0, count: width * height)
        var low = [SIMD2<Int>](repeating: SIMD2(width, height), count: kept.count + 1)
        var high = [SIMD2<Int>](repeating: SIMD2(-1, -1), count: kept.count + 1)
        for y in 0..<height {
            for x in 0..<width where painted[y * width + x] != 0 {
                let label = Int(renumbered[Int(painted[y * width + x])])
                instances[y * width + x] = UInt16(label)
                categories[y * width + x] = UInt8(drawn[kept[label - 1] - 1].classIndex)
                low[label] = pointwiseMin(low[label], SIMD2(x, y))
                high[label] = pointwiseMax(high[label], SIMD2(x, y))
            }
        }
        let objects = kept.enumerated().map { position, k in
            let box = BoundingBox(
                x: Double(low[position + 1].x), y: Double(low[position + 1].y),
                width: Double(high[position + 1].x - low[position + 1].x + 1),
                height: Double(high[position + 1].y - low[position + 1].y + 1))
            return SceneObject(
                classIndex: drawn[k - 1].classIndex, polygons: [drawn[k - 1].polygon], boundingBox: box, area: visible[k])
        }
        return Scene(
            width: width, height: height, rgb: rgb, instances: instances, categories: categories, objects: objects)
    }
}
