// SPDX-License-Identifier: Apache-2.0
// The values a synthetic scene is made of: the RGB image, its exact instance and category maps, and one record per
// visible object (class, COCO-style outline polygons, box and visible area). `SceneRenderer` makes them.

/// An axis-aligned box in pixel coordinates, COCO's `[x, y, width, height]`.
package struct BoundingBox: Equatable, Sendable {
    /// The left edge (a pixel boundary: pixel column `x` starts at `x`).
    package var x: Double
    /// The top edge.
    package var y: Double
    /// The width in pixels.
    package var width: Double
    /// The height in pixels.
    package var height: Double

    /// A box from its COCO fields.
    package init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// One object of a scene, as a COCO annotation would describe it.
package struct SceneObject: Equatable, Sendable {
    /// The class, `1...classCount` (0 is the background in `Scene.categories`).
    package var classIndex: Int
    /// The drawn outline as COCO polygons `[x1, y1, x2, y2, ...]` in pixel coordinates (pixel column `c` spans
    /// `c..<c+1`), clipped to the image and rounded to 1/100 pixel. The parts are united; each part is read with
    /// the even-odd rule (`PolygonRasterizer`). The outline is the whole shape, occluded parts included: the
    /// object's mask is `PolygonRasterizer.mask(of: polygons)` minus the pixels of the objects after it.
    package var polygons: [[Double]]
    /// The tight box of the visible pixels (pixel edges, so a single pixel at (3, 4) has box (3, 4, 1, 1)).
    package var boundingBox: BoundingBox
    /// The number of visible pixels: the pixels whose `Scene.instances` value names this object.
    package var area: Int

    /// An object from its fields.
    package init(classIndex: Int, polygons: [[Double]], boundingBox: BoundingBox, area: Int) {
        self.classIndex = classIndex
        self.polygons = polygons
        self.boundingBox = boundingBox
        self.area = area
    }
}

/// A rendered scene: an RGB image with exact per-pixel instance and category labels.
///
/// Concretely: `objects` are listed back to front (the order they were painted), so painting
/// `PolygonRasterizer.mask(of: objects[k].polygons)` with value `k + 1` for k = 0, 1, ... reproduces `instances`.
/// Objects that ended up fully hidden are not listed, and the distractor blobs of the background are label 0.
package struct Scene: Equatable, Sendable {
    /// The image width in pixels.
    package var width: Int
    /// The image height in pixels.
    package var height: Int
    /// The image, `[height, width, 3]` row-major (HWC), 8-bit sRGB values.
    package var rgb: [UInt8]
    /// The top-most object per pixel, `[height, width]`: 0 for none, `k` for `objects[k - 1]`.
    package var instances: [UInt16]
    /// The class per pixel, `[height, width]`: 0 for background, else `objects[instances[p] - 1].classIndex`.
    package var categories: [UInt8]
    /// The visible objects, back to front.
    package var objects: [SceneObject]

    /// A scene from its fields.
    package init(
        width: Int, height: Int, rgb: [UInt8], instances: [UInt16], categories: [UInt8], objects: [SceneObject]
    ) {
        precondition(rgb.count == width * height * 3, "Scene: rgb has \(rgb.count) bytes for \(width)x\(height)x3")
        precondition(instances.count == width * height && categories.count == width * height,
            "Scene: label maps have \(instances.count) and \(categories.count) values for \(width)x\(height)")
        self.width = width
        self.height = height
        self.rgb = rgb
        self.instances = instances
        self.categories = categories
        self.objects = objects
    }

    /// The image as 8-bit luma, `[height, width]`, exactly as Pillow's `Image.convert("L")` computes it.
    ///
    /// Concretely: `L = (19595·R + 38470·G + 7471·B + 32768) >> 16` (ITU-R 601-2 weights 0.299, 0.587, 0.114 in
    /// 16-bit fixed point).
    /// Reference: https://pillow.readthedocs.io/en/stable/reference/Image.html#PIL.Image.Image.convert
    package func grayscalePixels() -> [UInt8] {
        var gray = [UInt8](repeating: 0, count: width * height)
        for p in 0..<(width * height) {
            let luma = 19595 * Int(rgb[3 * p]) + 38470 * Int(rgb[3 * p + 1]) + 7471 * Int(rgb[3 * p + 2]) + 32768
            gray[p] = UInt8(luma >> 16)
        }
        return gray
    }
}
