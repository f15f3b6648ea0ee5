// SPDX-License-Identifier: Apache-2.0
// COCO 2017 fixtures: train2017.zip / val2017.zip (12-digit file names in a split folder, directory entries) and
// annotations_trainval2017.zip with instances_<split>.json holding the full schema: polygon annotations (one part
// per outline), an uncompressed-RLE crowd region, a compressed-RLE object, images without annotations, the 80 category
// ids of COCO (1..90 with the ten gaps), a grayscale and a CMYK JPEG.

import Foundation

extension FixtureArchives {
    /// The 80 COCO category ids (1..90 without 12, 26, 29, 30, 45, 66, 68, 69, 71, 83).
    static let cocoCategoryIDs: [Int] = (1...90).filter { ![12, 26, 29, 30, 45, 66, 68, 69, 71, 83].contains($0) }

    /// Writes the three COCO archives into `folder`.
    package static func writeCOCO(folder: String, options: FixtureOptions) throws {
        let renderer = SceneRenderer(classCount: min(options.classCount, 80), seed: options.seed &+ 2)
        let annotationsWriter = try ArchiveWriter(path: folder + "/" + COCOIngestor.annotationsArchive, format: .zip)
        try annotationsWriter.addDirectory("annotations/")
        var annotationID = 1
        for (splitIndex, split) in ["train2017", "val2017"].enumerated() {
            let writer = try ArchiveWriter(path: folder + "/\(split).zip", format: .zip)
            try writer.addDirectory(split + "/")
            var images: [[String: Any]] = []
            var annotations: [[String: Any]] = []
            for i in 0..<options.imagesPerSplit {
                let imageID = 1000 * (splitIndex + 1) + 7 * i + 3  // sparse ids, as COCO's
                let fileName = String(format: "%012d.jpg", imageID)
                let (w, h) = options.size(split: split, index: i)
                let scene = renderer.render(index: splitIndex * 100_000 + i, width: w, height: h)
                let data: Data
                if i == 1 {
                    data = try jpeg(scene, quality: options.jpegQuality, grayscale: true)
                } else if i == 2 {
                    data = try JPEG.encodeCMYK(width: w, height: h, cmyk: invertedCMYK(scene.rgb), quality: options.jpegQuality, adobeInverted: true)
                } else {
                    data = try jpeg(scene, quality: options.jpegQuality)
                }
                try writer.addFile(split + "/" + fileName, data: data, compression: i % 2 == 0 ? .store : .deflate)
                images.append(["id": imageID, "file_name": fileName, "width": w, "height": h, "license": 1,
                                "coco_url": "", "flickr_url": "", "date_captured": "2013-11-14 16:28:13"])
                if i % 5 == 4 { continue }  // an image without annotations
                for (k, object) in scene.objects.enumerated() {
                    let category = cocoCategoryIDs[(object.classIndex - 1) % 80]
                    var segmentation: Any = object.polygons.map { $0.map { ($0 * 100).rounded() / 100 } }
                    var crowd = 0
                    if k == 0 && i % 4 == 3 {  // a crowd region as uncompressed RLE of the visible mask
                        let mask = scene.instances.map { $0 == UInt16(k + 1) ? UInt8(1) : 0 }
                        segmentation = ["counts": COCOMask.encodeRLE(rowMajorMask: mask, height: h, width: w).map { Int($0) }, "size": [h, w]]
                        crowd = 1
                    } else if k == 1 && i % 3 == 0 {  // a compressed-RLE object
                        let mask = scene.instances.map { $0 == UInt16(k + 1) ? UInt8(1) : 0 }
                        let counts = COCOMask.encodeRLE(rowMajorMask: mask, height: h, width: w)
                        segmentation = ["counts": COCOMask.encodeCompressedCounts(counts), "size": [h, w]]
                    }
                    let box = object.boundingBox
                    annotations.append(["id": annotationID, "image_id": imageID, "category_id": category, "iscrowd": crowd,
                                        "area": Double(object.area), "bbox": [box.x, box.y, box.width, box.height],
                                        "segmentation": segmentation])
                    annotationID += 1
                }
            }
            try writer.finish()
            let categories = cocoCategoryIDs.enumerated().map { index, id -> [String: Any] in
                let names = SceneRenderer.defaultClassNames
                return ["id": id, "name": index < names.count ? names[index] : "category \(id)", "supercategory": "synthetic"]
            }
            let document: [String: Any] = [
                "info": ["description": "cribo synthetic COCO-format fixture", "version": "1.0", "year": 2017,
                         "contributor": "cribo", "url": "", "date_created": "2017/09/01"],
                "licenses": [["id": 1, "name": "synthetic", "url": ""]],
                "images": images, "annotations": annotations, "categories": categories,
            ]
            let json = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
            try annotationsWriter.addFile("annotations/instances_\(split).json", data: json)
        }
        try annotationsWriter.finish()
    }
}
