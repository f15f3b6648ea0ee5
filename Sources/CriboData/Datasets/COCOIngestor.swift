// SPDX-License-Identifier: Apache-2.0
// COCO 2017 from train2017.zip / val2017.zip and annotations_trainval2017.zip (datasets.md §1): every image of
// instances_<split>.json in image-id order (images without annotations included), with its object masks
// rasterised (pycocotools semantics) into an instance-id map and a contiguous category map.

import Foundation

/// The COCO 2017 ingestor.
package struct COCOIngestor: DatasetIngestor {
    package static let annotationsArchive = "annotations_trainval2017.zip"

    package init() {}

    package var name: String { "coco" }
    package var defaultSplits: [String] { ["train2017", "val2017"] }
    package var knownSplits: [String] { ["train2017", "val2017"] }
    package func archives(for split: String, rawFolder: String) -> [String] { [Self.annotationsArchive, split + ".zip"] }

    package func plan(split: String, options: IngestOptions) throws -> IngestPlan {
        let member = "annotations/instances_\(split).json"
        let path = options.rawFolder + "/" + Self.annotationsArchive
        let reader = try ArchiveReader(path: path)
        var json: Data?
        while let entry = try reader.next() {
            if entry.isRegularFile && entry.name.hasSuffix(member) { json = try reader.readData() } else { try reader.skipData() }
        }
        guard let json else {
            throw IngestError.wrongArchive(archive: path, reason: "no member \(member); is this annotations_trainval2017.zip?")
        }
        let instances = try COCOInstances.parse(json, source: "\(Self.annotationsArchive):\(member)")
        let imageArchive = split + ".zip"
        let samples = instances.images.map { image in
            PlannedSample(name: image.fileName, id: Int64(image.id),
                parts: [MemberReference(archive: imageArchive, member: "\(split)/\(image.fileName)"): .image])
        }
        var plan = IngestPlan(samples: samples, archives: [imageArchive], fields: ["image", "instance", "category"], hasLabels: false,
            classNames: ["no object"] + instances.categories.map(\.name))
        plan.counts = [
            "images": instances.images.count, "annotations": instances.annotationCount,
            "imagesWithAnnotations": instances.images.filter { !instances.annotations(forImage: $0.id).isEmpty }.count,
        ]
        plan.labelEncoding = [
            "instance": "instance ids 1..n in annotation-id order, 0 = no object; where masks overlap the smaller-area instance wins (ties: lower annotation id); crowd regions included",
            "category": "contiguous category index 1..80 (classNames order, category ids sorted), 0 = no object",
            "categoryIds": instances.categories.map { String($0.id) }.joined(separator: ","),
        ]
        plan.derivedFields = { sample, height, width in
            guard let id = sample.id, let image = instances.image(id: Int(id)) else { return [:] }
            guard image.height == height && image.width == width else {
                throw IngestError.badSample(member: "\(imageArchive):\(split)/\(image.fileName)",
                    reason: "decoded size \(width)x\(height) differs from the annotation's \(image.width)x\(image.height)")
            }
            let maps = try instances.labelMaps(forImage: image)
            guard maps.instanceCount <= 255 else {
                throw IngestError.badSample(member: "\(imageArchive):\(split)/\(image.fileName)", reason: "\(maps.instanceCount) instances exceed the 8-bit instance map")
            }
            return [
                "instance": Blob(bytes: maps.instance.map { UInt8($0) }, shape: [height, width, 1]),
                "category": Blob(bytes: maps.category, shape: [height, width, 1]),
            ]
        }
        return plan
    }
}
