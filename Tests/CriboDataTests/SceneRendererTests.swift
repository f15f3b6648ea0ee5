// SPDX-License-Identifier: Apache-2.0
// Synthetic scenes: the pixel-centre rasteriser on hand-checkable cases and against its crossing-count oracle, and
// the renderer's promises — a pure function of its arguments, label maps that agree with the objects (visible
// pixels only, hidden objects dropped), every class drawn about equally often at varied scales, and textures that
// tell the classes apart, with colours a strong but imperfect cue.

import CriboData
import CriboTensor
import Foundation
import Testing

@Suite struct SceneRendererTests {}

// MARK: - Rasteriser

extension SceneRendererTests {
    /// The covered pixels as (column, row) pairs, row-major.
    static func pixels(_ polygons: [[Double]], width: Int, height: Int) -> [[Int]] {
        let mask = PolygonRasterizer.mask(of: polygons, width: width, height: height)
        return mask.indices.filter { mask[$0] }.map { [$0 % width, $0 / width] }
    }

    @Test func rectangleWithEdgesOnPixelBoundaries() {
        // x ∈ [1, 4], y ∈ [1, 3]: centres 1.5, 2.5, 3.5 across and 1.5, 2.5 down are inside → 3 × 2 pixels.
        let pixels = Self.pixels([[1, 1, 4, 1, 4, 3, 1, 3]], width: 6, height: 5)
        #expect(pixels == [[1, 1], [2, 1], [3, 1], [1, 2], [2, 2], [3, 2]])
    }

    @Test func rectangleWithEdgesOnPixelCentres() {
        // x ∈ [0.5, 2.5], y ∈ [0.5, 2.5]: centres 0.5 (left/top edge, in) and 1.5; 2.5 (right/bottom edge, out).
        let pixels = Self.pixels([[0.5, 0.5, 2.5, 0.5, 2.5, 2.5, 0.5, 2.5]], width: 4, height: 4)
        #expect(pixels == [[0, 0], [1, 0], [0, 1], [1, 1]])
        // The same rectangle listed clockwise instead of counter-clockwise covers the same pixels.
        #expect(Self.pixels([[0.5, 0.5, 0.5, 2.5, 2.5, 2.5, 2.5, 0.5]], width: 4, height: 4) == pixels)
    }

    @Test func triangleWithCentresOnItsHypotenuse() {
        // (0,0), (4,0), (0,4): centre (c+½, r+½) is inside when c + r + 1 < 4. The centres with c + r = 3 lie on
        // the hypotenuse, a right edge, so they are out: rows 0, 1, 2 hold 3, 2, 1 pixels.
        let pixels = Self.pixels([[0, 0, 4, 0, 0, 4]], width: 5, height: 5)
        #expect(pixels == [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [0, 2]])
        let spans = PolygonRasterizer.spans(of: [0, 0, 4, 0, 0, 4], width: 5, height: 5)
        #expect(spans.map(\.row) == [0, 1, 2] && spans.map(\.columns) == [0..<3, 0..<2, 0..<1])
    }

    @Test func polygonsSharingEdgesTakeEachPixelOnce() {
        // A fan of triangles around (3.5, 2.5) tiling the square [0, 7]²; several shared edges run through centres.
        let centre = [3.5, 2.5]
        let rim: [[Double]] = [[0, 0], [3.5, 0], [7, 0], [7, 4.5], [7, 7], [3.5, 7], [0, 7], [0, 2.5]]
        var count = [Int](repeating: 0, count: 64)
        for k in rim.indices {
            let triangle = centre + rim[k] + rim[(k + 1) % rim.count]
            for span in PolygonRasterizer.spans(of: triangle, width: 8, height: 8) {
                for c in span.columns { count[span.row * 8 + c] += 1 }
            }
        }
        let expected = (0..<64).map { $0 % 8 < 7 && $0 / 8 < 7 ? 1 : 0 }
        #expect(count == expected)
    }

    /// Random polygons, self-intersecting ones included; with `ties`, half of the coordinates lie on pixel centres
    /// or boundaries.
    static func randomPolygons(count: Int, seed: UInt64, low: Double, high: Double, ties: Bool) -> [[Double]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            (0..<(2 * (3 + rng.nextInt(below: 10)))).map { _ in
                let value = rng.nextUniform(low, high)
                return ties && rng.nextUniform() < 0.5 ? (value * 2).rounded() / 2 : value
            }
        }
    }

    @Test func spansAgreeWithTheCrossingCountOracle() {
        let (width, height) = (16, 12)
        for polygon in Self.randomPolygons(count: 300, seed: 1, low: -3, high: 19, ties: true) {
            let mask = PolygonRasterizer.mask(of: [polygon], width: width, height: height)
            let oracle = (0..<(width * height)).map {
                PolygonRasterizer.contains(polygon, x: Double($0 % width) + 0.5, y: Double($0 / width) + 0.5)
            }
            #expect(mask == oracle, "polygon \(polygon)")
        }
    }

    @Test func clippingToTheImageKeepsThePixels() {
        let (width, height) = (10, 8)
        // Without ties: a centre exactly on a clipped edge may fall either way (see `PolygonRasterizer.clipped`).
        for polygon in Self.randomPolygons(count: 300, seed: 2, low: -6, high: 16, ties: false) {
            let clipped = PolygonRasterizer.clipped(polygon, width: Double(width), height: Double(height))
            let mask = PolygonRasterizer.mask(of: [polygon], width: width, height: height)
            let clippedMask = clipped.isEmpty
                ? [Bool](repeating: false, count: width * height)
                : PolygonRasterizer.mask(of: [clipped], width: width, height: height)
            #expect(clippedMask == mask, "polygon \(polygon)")
            #expect(stride(from: 0, to: clipped.count, by: 2).allSatisfy {
                (0...Double(width)).contains(clipped[$0]) && (0...Double(height)).contains(clipped[$0 + 1])
            })
        }
        // A square half out of frame: [−2, 2]² clipped to [0, 2]², area 16 → 4.
        let square = PolygonRasterizer.clipped([-2, -2, 2, -2, 2, 2, -2, 2], width: 10, height: 8)
        #expect(abs(PolygonRasterizer.signedArea(square)) == 4)
    }

    @Test func partsAreUnited() {
        // Two 2×2 squares overlapping in one pixel: 4 + 4 − 1 pixels.
        let pixels = Self.pixels([[0, 0, 2, 0, 2, 2, 0, 2], [1, 1, 3, 1, 3, 3, 1, 3]], width: 4, height: 4)
        #expect(pixels == [[0, 0], [1, 0], [0, 1], [1, 1], [2, 1], [1, 2], [2, 2]])
    }
}

// MARK: - Scenes

extension SceneRendererTests {
    static let renderer = SceneRenderer(seed: 7)
    /// 200 scenes of 64×64, shared by the statistics tests.
    static let scenes: [Scene] = (0..<200).map { renderer.render(index: $0, width: 64, height: 64) }

    /// The instance map rebuilt by painting each object's polygons in list order.
    static func repainted(_ scene: Scene) -> [UInt16] {
        var instances = [UInt16](repeating: 0, count: scene.width * scene.height)
        for (k, object) in scene.objects.enumerated() {
            let mask = PolygonRasterizer.mask(of: object.polygons, width: scene.width, height: scene.height)
            for p in mask.indices where mask[p] { instances[p] = UInt16(k + 1) }
        }
        return instances
    }

    @Test func grayscaleMatchesPillow() {
        // Pillow 11 `Image.convert("L")` of these four pixels gives [76, 150, 29, 124].
        let scene = Scene(
            width: 2, height: 2, rgb: [255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 100, 50],
            instances: [0, 0, 0, 0], categories: [0, 0, 0, 0], objects: [])
        #expect(scene.grayscalePixels() == [76, 150, 29, 124])
    }

    @Test func sceneIsAPureFunctionOfSeedIndexAndSize() {
        let first = SceneRenderer(seed: 11).render(index: 5, width: 96, height: 80)
        let other = SceneRenderer(seed: 11)
        _ = other.render(index: 6, width: 96, height: 80)
        _ = other.render(index: 5, width: 64, height: 64)
        #expect(other.render(index: 5, width: 96, height: 80) == first, "same arguments after other renders")
        #expect(SceneRenderer(seed: 11).render(index: 6, width: 96, height: 80).rgb != first.rgb, "other index")
        #expect(SceneRenderer(seed: 12).render(index: 5, width: 96, height: 80).rgb != first.rgb, "other seed")
    }

    @Test(arguments: [(96, 96), (80, 56), (128, 128)])
    func labelMapsAgreeWithTheObjects(width: Int, height: Int) throws {
        let renderer = SceneRenderer(classCount: 10, seed: 3)
        for index in 0..<25 {
            let scene = renderer.render(index: index, width: width, height: height)
            try #require(scene.rgb.count == width * height * 3 && scene.instances.count == width * height)
            var area = [Int](repeating: 0, count: scene.objects.count + 1)
            var low = [[Int]](repeating: [width, height], count: scene.objects.count + 1)
            var high = [[Int]](repeating: [-1, -1], count: scene.objects.count + 1)
            for p in scene.instances.indices {
                let k = Int(scene.instances[p])
                try #require(k <= scene.objects.count, "pixel \(p) names object \(k) of \(scene.objects.count)")
                #expect(Int(scene.categories[p]) == (k == 0 ? 0 : scene.objects[k - 1].classIndex))
                area[k] += 1
                low[k] = [min(low[k][0], p % width), min(low[k][1], p / width)]
                high[k] = [max(high[k][0], p % width), max(high[k][1], p / width)]
            }
            for (k, object) in scene.objects.enumerated() {
                #expect((1...10).contains(object.classIndex))
                #expect(object.area == area[k + 1] && object.area > 0, "scene \(index) object \(k + 1)")
                let (columns, rows) = (high[k + 1][0] - low[k + 1][0] + 1, high[k + 1][1] - low[k + 1][1] + 1)
                let box = BoundingBox(
                    x: Double(low[k + 1][0]), y: Double(low[k + 1][1]), width: Double(columns), height: Double(rows))
                #expect(object.boundingBox == box)
                for polygon in object.polygons {
                    #expect(polygon.count >= 6 && polygon.count % 2 == 0)
                    #expect(stride(from: 0, to: polygon.count, by: 2).allSatisfy {
                        (0...Double(width)).contains(polygon[$0]) && (0...Double(height)).contains(polygon[$0 + 1])
                            && (polygon[$0] * 100).rounded() / 100 == polygon[$0]
                    })
                }
            }
            #expect(Self.repainted(scene) == scene.instances, "scene \(index): polygons painted in order")
        }
    }

    @Test func fullyHiddenObjectsAreDropped() {
        // Twelve objects of 5–40% of a 32×32 image: many end up hidden. The survivors are numbered 1...n without
        // gaps, each with visible pixels, and painting them in order still reproduces the instance map.
        let renderer = SceneRenderer(seed: 5)
        var dropped = 0
        for index in 0..<20 {
            let scene = renderer.render(index: index, width: 32, height: 32, objectCount: 12...12)
            dropped += 12 - scene.objects.count
            #expect(scene.objects.allSatisfy { $0.area > 0 })
            #expect(Set(scene.instances) == Set((0...scene.objects.count).map(UInt16.init)))
            #expect(Self.repainted(scene) == scene.instances)
        }
        #expect(dropped > 0)
    }

    @Test func classesAreNamedAndAppearAboutEquallyOften() {
        #expect(SceneRenderer.defaultClassNames.count == 8 && Set(SceneRenderer.defaultClassNames).count == 8)
        #expect(SceneRenderer(classCount: 10, seed: 1).classNames.prefix(8) == SceneRenderer.defaultClassNames[...])
        var counts = [Int](repeating: 0, count: 9)
        for scene in Self.scenes { for object in scene.objects { counts[object.classIndex] += 1 } }
        let mean = Double(counts.reduce(0, +)) / 8
        // Uniform draws: about 85 visible objects per class here, standard deviation about 9.
        #expect(counts[1...].allSatisfy { abs(Double($0) - mean) < 0.35 * mean }, "counts \(counts[1...])")
        let tenClasses = SceneRenderer(classCount: 10, seed: 7)
        let seen = Set((0..<100).flatMap {
            tenClasses.render(index: $0, width: 48, height: 48).objects.map(\.classIndex)
        })
        #expect(seen == Set(1...10))
    }

    @Test func objectsVaryInScale() {
        // Outline areas (after clipping to the frame) as fractions of the image: drawn log-uniformly in 5–40%.
        let fractions = Self.scenes.flatMap { scene in
            scene.objects.map { abs(PolygonRasterizer.signedArea($0.polygons[0])) / Double(scene.width * scene.height) }
        }
        let (smallest, largest) = (fractions.min() ?? 0, fractions.max() ?? 0)
        #expect(smallest >= 0.02 && smallest < 0.07 && largest > 0.3 && largest <= 0.405, "\(smallest)...\(largest)")
        let small = fractions.filter { $0 < 0.1 }.count, large = fractions.filter { $0 > 0.2 }.count
        #expect(small > fractions.count / 5 && large > fractions.count / 5, "\(small) small, \(large) large")
    }
}

// MARK: - Textures and colours

extension SceneRendererTests {
    /// Rotation-invariant, contrast-normalised texture statistics of one object's visible pixels (luma): the share
    /// of mid-tones, the share of the minority tone, the structure-tensor coherence, and the variogram at lags
    /// 1, 2 and 4 divided by twice the variance. Nil for objects under 150 pixels or without contrast.
    static func textureStatistics(_ scene: Scene, label: UInt16) -> [Double]? {
        let (width, height) = (scene.width, scene.height)
        let luma = scene.grayscalePixels().map(Double.init)
        let inside = scene.instances.map { $0 == label }
        let values = luma.indices.filter { inside[$0] }.map { luma[$0] }
        guard values.count >= 150, let low = values.min(), let high = values.max(), high - low > 8 else { return nil }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        let relative = values.map { ($0 - low) / (high - low) }
        let midTones = Double(relative.filter { $0 > 0.1 && $0 < 0.9 }.count) / Double(values.count)
        let upper = Double(relative.filter { $0 > 0.5 }.count) / Double(values.count)
        var statistics = [midTones, min(upper, 1 - upper)]
        var (jxx, jyy, jxy) = (0.0, 0.0, 0.0)
        for y in 0..<(height - 1) {
            for x in 0..<(width - 1) {
                let p = y * width + x
                guard inside[p] && inside[p + 1] && inside[p + width] else { continue }
                let gx = luma[p + 1] - luma[p], gy = luma[p + width] - luma[p]
                (jxx, jyy, jxy) = (jxx + gx * gx, jyy + gy * gy, jxy + gx * gy)
            }
        }
        statistics.append(jxx + jyy > 0 ? ((jxx - jyy) * (jxx - jyy) + 4 * jxy * jxy).squareRoot() / (jxx + jyy) : 0)
        for lag in [1, 2, 4] {
            var (sum, count) = (0.0, 0)
            for p in luma.indices where inside[p] {
                for q in [p % width + lag < width ? p + lag : -1, p + lag * width < luma.count ? p + lag * width : -1]
                where q >= 0 && inside[q] {
                    sum += (luma[p] - luma[q]) * (luma[p] - luma[q])
                    count += 1
                }
            }
            statistics.append(count > 0 ? sum / Double(count) / (2 * variance) : 1)
        }
        return statistics
    }

    /// Nearest-centroid classification of standardised features: fit on the even samples, score on the odd ones.
    /// Returns the overall accuracy and the recall of each class 1...classCount.
    static func nearestCentroidAccuracy(
        _ samples: [(label: Int, features: [Double])], classCount: Int
    ) -> (Double, [Double]) {
        let train = samples.indices.filter { $0 % 2 == 0 }.map { samples[$0] }
        let test = samples.indices.filter { $0 % 2 == 1 }.map { samples[$0] }
        let d = samples[0].features.count
        let mean = (0..<d).map { i in train.map { $0.features[i] }.reduce(0, +) / Double(train.count) }
        let deviation = (0..<d).map { i -> Double in
            let squares = train.map { ($0.features[i] - mean[i]) * ($0.features[i] - mean[i]) }
            return max(1e-9, (squares.reduce(0, +) / Double(train.count)).squareRoot())
        }
        let standardised = { (f: [Double]) in (0..<d).map { (f[$0] - mean[$0]) / deviation[$0] } }
        let centroids = (0...classCount).map { c -> [Double] in
            let members = train.filter { $0.label == c }.map { standardised($0.features) }
            return (0..<d).map { i in members.map { $0[i] }.reduce(0, +) / Double(max(1, members.count)) }
        }
        var correct = 0
        var hits = [Double](repeating: 0, count: classCount + 1)
        var totals = hits
        for sample in test {
            let z = standardised(sample.features)
            let distance = { (c: Int) -> Double in
                (0..<d).map { (centroids[c][$0] - z[$0]) * (centroids[c][$0] - z[$0]) }.reduce(0, +)
            }
            let predicted = (1...classCount).min { distance($0) < distance($1) }!
            totals[sample.label] += 1
            if predicted == sample.label { correct += 1; hits[sample.label] += 1 }
        }
        return (Double(correct) / Double(test.count), (1...classCount).map { hits[$0] / max(1, totals[$0]) })
    }

    @Test func texturesTellTheClassesApartAndColoursMostly() throws {
        var texture: [(label: Int, features: [Double])] = []
        var colour: [(label: Int, features: [Double])] = []
        for scene in Self.scenes {
            for (k, object) in scene.objects.enumerated() {
                guard let statistics = Self.textureStatistics(scene, label: UInt16(k + 1)) else { continue }
                texture.append((object.classIndex, statistics))
                let pixels = scene.instances.indices.filter { scene.instances[$0] == UInt16(k + 1) }
                colour.append((object.classIndex, (0..<3).map { c in
                    pixels.map { Double(scene.rgb[3 * $0 + c]) }.reduce(0, +) / Double(pixels.count)
                }))
            }
        }
        try #require(texture.count > 400, "\(texture.count) objects large enough")
        // Chance is 1/8. Measured when written: texture 0.84 (every class ≥ 0.68); mean colour 0.80; the hue of the
        // mean colour alone (nearest class hue) 0.91 — each class has a typical hue, neighbouring ranges overlap.
        let (textureAccuracy, recall) = Self.nearestCentroidAccuracy(texture, classCount: 8)
        let (colourAccuracy, _) = Self.nearestCentroidAccuracy(colour, classCount: 8)
        var hueHits = 0
        for sample in colour {
            let (r, g, b) = (sample.features[0], sample.features[1], sample.features[2])
            let hue = (atan2(3.0.squareRoot() * (g - b), 2 * r - g - b) / (2 * .pi) + 1).truncatingRemainder(dividingBy: 1)
            let nearest = (0..<8).min { abs(remainder(hue - Double($0) / 8, 1)) < abs(remainder(hue - Double($1) / 8, 1)) }!
            if nearest + 1 == sample.label { hueHits += 1 }
        }
        let hueAccuracy = Double(hueHits) / Double(colour.count)
        #expect(textureAccuracy > 0.6 && recall.allSatisfy { $0 > 0.4 }, "texture \(textureAccuracy), recall \(recall)")
        #expect(colourAccuracy > 0.6 && colourAccuracy < 0.95, "mean colour \(colourAccuracy)")
        #expect(hueAccuracy > 0.7 && hueAccuracy < 0.97, "hue \(hueAccuracy)")
    }
}
