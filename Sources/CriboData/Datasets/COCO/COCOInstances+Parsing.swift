// SPDX-License-Identifier: Apache-2.0
// Parsing an `instances_*.json` with Foundation's JSONDecoder into COCOInstances. Only the keys cribo uses are
// decoded (`info`, `licenses`, `bbox`, `coco_url`, ... are skipped); every decoding problem becomes a COCOError
// naming the source and the JSON path (e.g. "annotations[17].segmentation.counts").

import Foundation

extension COCOInstances {
    /// Parses the bytes of a COCO instances JSON.
    ///
    /// Concretely: `images` and `categories` are required; a missing `annotations` key means no annotations (as in
    /// `image_info_test2017.json`); a segmentation that is a list is `.polygons`, an object with a list `counts` is
    /// `.rle` and one with a string `counts` is `.compressedRLE`; `iscrowd` must be 0 or 1. The result is then
    /// validated by `init(source:images:categories:annotations:)`.
    /// - Parameters:
    ///   - data: the file content.
    ///   - source: the name errors report, e.g. "annotations_trainval2017.zip:annotations/instances_val2017.json".
    /// - Throws: `COCOError.invalidJSON`, `.malformed` or `.invalidAnnotation`.
    /// - Complexity: O(size of the file). Peak memory is about 8x the file size (JSONDecoder's index of the document
    ///   plus the decoded arrays; measured 373 MB for a 46 MB synthetic file, so ~3.6 GB for instances_train2017.json).
    package static func parse(_ data: Data, source: String) throws -> COCOInstances {
        let file: InstancesFile
        do {
            file = try JSONDecoder().decode(InstancesFile.self, from: data)
        } catch let error as DecodingError {
            throw describe(error, source: source)
        }
        var annotations: [COCOAnnotation] = []
        annotations.reserveCapacity(file.annotations?.count ?? 0)
        for (index, raw) in (file.annotations ?? []).enumerated() {
            guard raw.iscrowd == 0 || raw.iscrowd == 1 else {
                throw COCOError.malformed(source: source, reason: "annotations[\(index)] (id \(raw.id)): iscrowd is \(raw.iscrowd), expected 0 or 1")
            }
            annotations.append(
                COCOAnnotation(
                    id: raw.id, imageID: raw.imageID, categoryID: raw.categoryID, isCrowd: raw.iscrowd == 1,
                    area: raw.area, segmentation: raw.segmentation.value))
        }
        let images = file.images.map { COCOImage(id: $0.id, fileName: $0.fileName, width: $0.width, height: $0.height) }
        let categories = file.categories.map { COCOCategory(id: $0.id, name: $0.name, supercategory: $0.supercategory) }
        return try COCOInstances(source: source, images: images, categories: categories, annotations: annotations)
    }

    private static func describe(_ error: DecodingError, source: String) -> COCOError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            let underlying = context.underlyingError.map { String(describing: $0) } ?? ""
            return .invalidJSON(source: source, reason: underlying.isEmpty ? context.debugDescription : underlying)
        case .dataCorrupted(let context):
            return .malformed(source: source, reason: "\(path(context.codingPath)): \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            return .malformed(source: source, reason: "\(path(context.codingPath + [key])): missing")
        case .typeMismatch(let type, let context):
            return .malformed(source: source, reason: "\(path(context.codingPath)): expected \(type): \(context.debugDescription)")
        case .valueNotFound(let type, let context):
            return .malformed(source: source, reason: "\(path(context.codingPath)): expected \(type), found null")
        @unknown default:
            return .malformed(source: source, reason: "\(error)")
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "top level" : text
    }
}

// MARK: - JSON shapes (only the decoded keys)

private struct InstancesFile: Decodable {
    var images: [ImageEntry]
    var annotations: [AnnotationEntry]?
    var categories: [CategoryEntry]
}

private struct ImageEntry: Decodable {
    var id: Int
    var fileName: String
    var width: Int
    var height: Int
    enum CodingKeys: String, CodingKey { case id, fileName = "file_name", width, height }
}

private struct CategoryEntry: Decodable {
    var id: Int
    var name: String
    var supercategory: String
}

private struct AnnotationEntry: Decodable {
    var id: Int
    var imageID: Int
    var categoryID: Int
    var iscrowd: Int
    var area: Double
    var segmentation: SegmentationEntry
    enum CodingKeys: String, CodingKey {
        case id, imageID = "image_id", categoryID = "category_id", iscrowd, area, segmentation
    }
}

private struct SegmentationEntry: Decodable {
    var value: COCOSegmentation

    enum CodingKeys: String, CodingKey { case counts, size }

    init(from decoder: any Decoder) throws {
        if var parts = try? decoder.unkeyedContainer() {
            var polygons: [[Double]] = []
            if let count = parts.count { polygons.reserveCapacity(count) }
            while !parts.isAtEnd { polygons.append(try parts.decode([Double].self)) }
            value = .polygons(polygons)
            return
        }
        let object = try decoder.container(keyedBy: CodingKeys.self)
        let size = try object.decode([Int].self, forKey: .size)
        guard size.count == 2, size[0] >= 0, size[1] >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .size, in: object, debugDescription: "expected [height, width], found \(size)")
        }
        if let text = try? object.decode(String.self, forKey: .counts) {
            value = .compressedRLE(counts: text, height: size[0], width: size[1])
            return
        }
        let counts = try object.decode([Int].self, forKey: .counts)
        guard let bad = counts.first(where: { $0 < 0 || $0 > Int(UInt32.max) }) else {
            value = .rle(counts: counts.map { UInt32($0) }, height: size[0], width: size[1])
            return
        }
        throw DecodingError.dataCorruptedError(forKey: .counts, in: object, debugDescription: "run length \(bad) out of range")
    }
}
