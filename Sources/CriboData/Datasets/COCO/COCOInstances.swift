// SPDX-License-Identifier: Apache-2.0
// COCOInstances: the content of a COCO 2017 `instances_*.json` that the pipeline uses (images, categories,
// annotations with their segmentation), indexed by id and checked for consistency when it is built.
// Schema and conventions: docs/datasets.md §1.4-1.5. Parsing is in COCOInstances+Parsing.swift, masks in
// COCOMask.swift, label maps in COCOLabelMaps.swift.

/// One entry of `images`: the stored pixel grid an annotation refers to.
package struct COCOImage: Equatable, Sendable {
    /// The image id (sparse, up to about 581,929 in COCO 2017).
    package var id: Int
    /// The bare member name, e.g. "000000000139.jpg" (the split folder is not part of it).
    package var fileName: String
    /// Width in pixels of the stored image.
    package var width: Int
    /// Height in pixels of the stored image.
    package var height: Int

    /// An image entry.
    package init(id: Int, fileName: String, width: Int, height: Int) {
        self.id = id
        self.fileName = fileName
        self.width = width
        self.height = height
    }
}

/// One entry of `categories`.
package struct COCOCategory: Equatable, Sendable {
    /// The category id (1...90 in COCO 2017, 80 of them used).
    package var id: Int
    /// The category name, e.g. "traffic light".
    package var name: String
    /// The supercategory name, e.g. "outdoor".
    package var supercategory: String

    /// A category entry.
    package init(id: Int, name: String, supercategory: String) {
        self.id = id
        self.name = name
        self.supercategory = supercategory
    }
}

/// The `segmentation` of an annotation in one of its three JSON encodings (docs/datasets.md §1.5).
package enum COCOSegmentation: Equatable, Sendable {
    /// A list of polygon parts `[x1, y1, x2, y2, ...]` in continuous pixel coordinates; the mask is their union.
    case polygons([[Double]])
    /// Uncompressed RLE: column-major run lengths starting with zeros, summing to height·width.
    case rle(counts: [UInt32], height: Int, width: Int)
    /// Compressed RLE: the counts as pycocotools' ASCII string (`COCOMask.decodeCompressedCounts`).
    case compressedRLE(counts: String, height: Int, width: Int)
}

/// One entry of `annotations` (the fields cribo uses; `bbox` is not kept).
package struct COCOAnnotation: Equatable, Sendable {
    /// The annotation id, unique in the file (crowd annotations use ids around 9.0e11).
    package var id: Int
    /// The id of the image it belongs to.
    package var imageID: Int
    /// The category id (not the contiguous index).
    package var categoryID: Int
    /// `iscrowd == 1`: a region covering a group of objects.
    package var isCrowd: Bool
    /// The `area` field as stored (the evaluator's segmentation area, not the box's).
    package var area: Double
    /// The object's mask in its JSON encoding.
    package var segmentation: COCOSegmentation

    /// An annotation.
    package init(id: Int, imageID: Int, categoryID: Int, isCrowd: Bool, area: Double, segmentation: COCOSegmentation) {
        self.id = id
        self.imageID = imageID
        self.categoryID = categoryID
        self.isCrowd = isCrowd
        self.area = area
        self.segmentation = segmentation
    }
}

/// The images, categories and annotations of one COCO instances file, indexed and validated.
///
/// Concretely: `images` and `categories` are sorted by id; `annotations(forImage:)` returns an image's annotations
/// sorted by annotation id; `contiguousIndex` maps each category id to 1...K in sorted id order (0 is kept for "no
/// object"), so COCO 2017's ids 1...90 with 10 unused map to 1...80.
package struct COCOInstances: Sendable {
    /// Where the data came from, named in every error (e.g. "annotations_trainval2017.zip:annotations/instances_val2017.json").
    package let source: String
    /// All images, sorted by id (images without annotations included).
    package let images: [COCOImage]
    /// All categories, sorted by id.
    package let categories: [COCOCategory]
    /// Category id → contiguous index 1...categories.count in sorted id order.
    package let contiguousIndex: [Int: Int]
    /// The total number of annotations.
    package let annotationCount: Int
    private let annotationsByImage: [Int: [COCOAnnotation]]
    private let imagePositions: [Int: Int]

    /// Indexes and validates parsed content.
    ///
    /// Checks: ids are unique (images, categories, annotations); every annotation names a known image and category;
    /// every segmentation is well formed for its image (`COCOMask.validate`); there are at most 255 categories (the
    /// category map is 8-bit).
    /// - Throws: `COCOError.malformed` or `.invalidAnnotation`, naming `source`.
    package init(source: String, images: [COCOImage], categories: [COCOCategory], annotations: [COCOAnnotation]) throws {
        self.source = source
        self.images = images.sorted { $0.id < $1.id }
        self.categories = categories.sorted { $0.id < $1.id }
        var positions: [Int: Int] = [:]
        positions.reserveCapacity(images.count)
        for (position, image) in self.images.enumerated() {
            guard positions.updateValue(position, forKey: image.id) == nil else {
                throw COCOError.malformed(source: source, reason: "image id \(image.id) appears more than once")
            }
            guard image.width > 0, image.height > 0 else {
                throw COCOError.malformed(source: source, reason: "image \(image.id) has size \(image.width)x\(image.height)")
            }
        }
        guard self.categories.count <= Int(UInt8.max) else {
            throw COCOError.malformed(source: source, reason: "\(self.categories.count) categories; at most 255 fit the 8-bit category map")
        }
        var contiguous: [Int: Int] = [:]
        for (position, category) in self.categories.enumerated() {
            guard contiguous.updateValue(position + 1, forKey: category.id) == nil else {
                throw COCOError.malformed(source: source, reason: "category id \(category.id) appears more than once")
            }
        }
        var byImage: [Int: [COCOAnnotation]] = [:]
        var seen = Set<Int>(minimumCapacity: annotations.count)
        for annotation in annotations {
            func fail(_ reason: String) -> COCOError {
                COCOError.invalidAnnotation(source: source, annotationID: annotation.id, reason: reason)
            }
            guard seen.insert(annotation.id).inserted else { throw fail("the id appears more than once") }
            guard let position = positions[annotation.imageID] else { throw fail("unknown image id \(annotation.imageID)") }
            guard contiguous[annotation.categoryID] != nil else { throw fail("unknown category id \(annotation.categoryID)") }
            let image = self.images[position]
            do {
                try COCOMask.validate(annotation.segmentation, height: image.height, width: image.width)
            } catch let error as COCOError {
                guard case .invalidSegmentation(let reason) = error else { throw error }
                throw fail(reason + " (image \(image.id), \(image.height)x\(image.width))")
            }
            byImage[annotation.imageID, default: []].append(annotation)
        }
        for key in byImage.keys { byImage[key]!.sort { $0.id < $1.id } }
        self.contiguousIndex = contiguous
        self.annotationCount = annotations.count
        self.annotationsByImage = byImage
        self.imagePositions = positions
    }

    /// The annotations of image `id`, sorted by annotation id (empty for an image without annotations or an unknown id).
    package func annotations(forImage id: Int) -> [COCOAnnotation] {
        annotationsByImage[id] ?? []
    }

    /// The image with id `id`, or nil.
    package func image(id: Int) -> COCOImage? {
        imagePositions[id].map { images[$0] }
    }
}
