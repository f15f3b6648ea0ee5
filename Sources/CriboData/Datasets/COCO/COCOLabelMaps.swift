// SPDX-License-Identifier: Apache-2.0
// COCOLabelMaps: an image's annotations painted into one instance-id map and one category map (the dense targets
// cribo's evaluation uses). The stacking rule for overlapping masks is documented on `labelMaps(forImage:)` and
// checked against a numpy reference built from pycocotools' masks.

/// Per-pixel instance and category labels of one image.
///
/// Concretely: `instance[y · width + x]` is 0 (no object) or an instance id 1...n, ids given in annotation-id order
/// (crowd regions included); `category` holds the contiguous category index 1...K of that instance (0 = no object);
/// `instanceCategories[i]` and `instanceIsCrowd[i]` describe instance i, with entry 0 standing for "no object"
/// (0 and false), so `category[p] == instanceCategories[Int(instance[p])]` for every pixel p.
package struct COCOLabelMaps: Equatable, Sendable {
    /// Rows.
    package var height: Int
    /// Columns.
    package var width: Int
    /// [height · width] instance ids, row-major; 0 = no object.
    package var instance: [UInt16]
    /// [height · width] contiguous category indices, row-major; 0 = no object.
    package var category: [UInt8]
    /// [n + 1] contiguous category index of each instance id (entry 0 is 0).
    package var instanceCategories: [UInt8]
    /// [n + 1] whether each instance id is a crowd region (entry 0 is false).
    package var instanceIsCrowd: [Bool]

    /// The number of instances n (annotations of the image).
    package var instanceCount: Int { instanceCategories.count - 1 }
}

extension COCOInstances {
    /// Paints the annotations of `image` into instance and category maps.
    ///
    /// Concretely: every annotation of the image is decoded with `COCOMask.decode` and becomes an instance, ids
    /// 1...n in ascending annotation id. Where masks overlap, the pixel goes to the instance with the smallest mask
    /// area (pixel count), ties going to the lowest annotation id: instances are painted in descending area, then
    /// descending annotation id, each overwriting the previous ones. Crowd regions are painted by the same rule, as
    /// their category, and flagged in `instanceIsCrowd`. An image without annotations gives all-zero maps.
    /// - Parameter image: an image of this file.
    /// - Returns: the maps, [image.height · image.width] each.
    /// - Throws: `COCOError.malformed` when the image is not in this file (or its size differs),
    ///   `.invalidAnnotation` when a segmentation cannot be decoded or there are more than 65,535 instances.
    package func labelMaps(forImage image: COCOImage) throws -> COCOLabelMaps {
        guard self.image(id: image.id) == image else {
            throw COCOError.malformed(source: source, reason: "image \(image.id) (\(image.fileName), \(image.height)x\(image.width)) is not in this file")
        }
        let annotations = annotations(forImage: image.id)
        let pixelCount = image.height * image.width
        var maps = COCOLabelMaps(
            height: image.height, width: image.width, instance: [], category: [], instanceCategories: [0],
            instanceIsCrowd: [false])
        guard annotations.count <= Int(UInt16.max) else {
            throw COCOError.invalidAnnotation(source: source, annotationID: annotations[Int(UInt16.max)].id, reason: "image \(image.id) has \(annotations.count) instances; at most 65,535 fit the 16-bit instance map")
        }
        var masks: [[UInt8]] = []
        var areas: [Int] = []
        for annotation in annotations {
            let mask: [UInt8]
            do {
                mask = try COCOMask.decode(annotation.segmentation, height: image.height, width: image.width)
            } catch COCOError.invalidSegmentation(let reason) {
                throw COCOError.invalidAnnotation(source: source, annotationID: annotation.id, reason: reason)
            }
            masks.append(mask)
            areas.append(mask.reduce(0) { $0 + Int($1) })
            maps.instanceCategories.append(UInt8(contiguousIndex[annotation.categoryID]!))
            maps.instanceIsCrowd.append(annotation.isCrowd)
        }
        // Annotations are sorted by id, so a larger position is a larger id.
        let paintingOrder = annotations.indices.sorted { a, b in areas[a] != areas[b] ? areas[a] > areas[b] : a > b }
        var instanceMap = [UInt16](repeating: 0, count: pixelCount)
        var categoryMap = [UInt8](repeating: 0, count: pixelCount)
        for position in paintingOrder {
            let mask = masks[position]
            let id = UInt16(position + 1)
            let category = maps.instanceCategories[position + 1]
            for p in 0..<pixelCount where mask[p] != 0 {
                instanceMap[p] = id
                categoryMap[p] = category
            }
        }
        maps.instance = instanceMap
        maps.category = categoryMap
        return maps
    }
}
