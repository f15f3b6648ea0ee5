// SPDX-License-Identifier: Apache-2.0
// COCO instances: parsing (fixture JSON with every field, unused category ids, errors), masks bit for bit against
// pycocotools 2.0.11 (polygons, boxes, uncompressed and compressed RLE), the compressed-counts codec, and label maps.
// Goldens: Tests/CriboTestSupport/Golden/make_coco_golden.py → coco.safetensors, coco_instances_fixture.json.

import CriboData
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite struct COCOTests {
    static let fixtureSource = "coco_instances_fixture.json"

    static func fixtureData() throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: goldenDirectory + "/" + fixtureSource))
    }

    static func fixture() throws -> COCOInstances {
        try COCOInstances.parse(fixtureData(), source: fixtureSource)
    }

    static func bytes(_ file: TensorFile, _ name: String) throws -> [UInt8] {
        try file.integers(name).map { UInt8($0) }
    }

    static func counts(_ file: TensorFile, _ name: String) throws -> [UInt32] {
        try file.integers(name).map { UInt32($0) }
    }

    /// The error `body` throws, as a COCOError.
    static func error(_ body: () throws -> Void) -> COCOError? {
        do {
            try body()
            return nil
        } catch {
            return error as? COCOError
        }
    }

    /// A minimal instances JSON: image 1 (4 x 5), categories 1 and 3, and `annotations`.
    static func tinyFile(annotations: String) -> Data {
        Data(
            """
            {"images": [{"id": 1, "file_name": "000000000001.jpg", "width": 5, "height": 4}],
             "categories": [{"id": 1, "name": "person", "supercategory": "person"},
                            {"id": 3, "name": "car", "supercategory": "vehicle"}],
             "annotations": [\(annotations)]}
            """.utf8)
    }
}

// MARK: - Hand-checked cases

extension COCOTests {
    @Test func squareOnPixelEdgesCoversTheCentresInside() {
        // The square [1, 3] x [1, 3] holds the centres of pixels (x, y) in {1, 2} x {1, 2}.
        let mask = COCOMask.rasterizePolygon([1, 1, 3, 1, 3, 3, 1, 3], height: 4, width: 4)
        let expected: [UInt8] = [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]
        #expect(mask == expected)
    }

    @Test func fewerThanThreeVerticesGiveEmptyMasks() {
        var rng = SplitMix64(seed: SplitMix64.mix(2017, 1, 2))
        for _ in 0..<50 {
            let xy = (0..<4).map { _ in rng.nextUniform(-2, 12) }
            #expect(COCOMask.rasterizePolygon(xy, height: 9, width: 11).allSatisfy { $0 == 0 }, "\(xy)")
            #expect(COCOMask.rasterizePolygon(Array(xy[0..<2]), height: 9, width: 11).allSatisfy { $0 == 0 }, "\(xy)")
        }
    }

    @Test func rleOfAColumnAndItsString() throws {
        // 3 x 4 mask with column 1 set: column-major runs 3 zeros, 3 ones, 6 zeros.
        var mask = [UInt8](repeating: 0, count: 12)
        for y in 0..<3 { mask[y * 4 + 1] = 1 }
        let counts = COCOMask.encodeRLE(rowMajorMask: mask, height: 3, width: 4)
        #expect(counts == [3, 3, 6])
        #expect(try COCOMask.decodeRLE(counts, height: 3, width: 4) == mask)
        // Each count < 16 is one character 48 + count ("3" = 51, "6" = 54).
        #expect(COCOMask.encodeCompressedCounts(counts) == "336")
        // [0, 12]: a leading empty zero run; 12 = 0b01100 fits one group without the sign bit: "0" and "<" (60).
        #expect(COCOMask.encodeCompressedCounts([0, 12]) == "0<")
        #expect(try COCOMask.decodeCompressedCounts("0<") == [0, 12])
    }
}

// MARK: - pycocotools goldens

extension COCOTests {
    @Test func annotationMasksMatchPycocotools() throws {
        let golden = try CriboTestSupport.golden("coco.safetensors")
        let instances = try Self.fixture()
        var checked = 0
        for image in instances.images {
            for annotation in instances.annotations(forImage: image.id) {
                let mask = try COCOMask.decode(annotation.segmentation, height: image.height, width: image.width)
                let expected = try Self.bytes(golden, "mask.\(annotation.id)")
                let differing = zip(mask, expected).filter { $0 != $1 }.count
                #expect(mask.count == expected.count && differing == 0, "annotation \(annotation.id): \(differing) pixels differ")
                let counts = COCOMask.encodeRLE(rowMajorMask: mask, height: image.height, width: image.width)
                #expect(counts == (try Self.counts(golden, "counts.\(annotation.id)")), "annotation \(annotation.id)")
                let text = try #require(golden.metadata["compressed.\(annotation.id)"])
                #expect(COCOMask.encodeCompressedCounts(counts) == text, "annotation \(annotation.id)")
                #expect(try COCOMask.decodeCompressedCounts(text) == counts, "annotation \(annotation.id)")
                checked += 1
            }
        }
        #expect(checked == instances.annotationCount && checked == golden.metadata.keys.filter { $0.hasPrefix("compressed.") }.count)
    }

    @Test func randomPolygonsMatchPycocotools() throws {
        let golden = try CriboTestSupport.golden("coco.safetensors")
        let xy = try golden.doubles("poly.xy")
        let offsets = try golden.integers("poly.offsets").map(Int.init)
        let sizes = try golden.integers("poly.sizes").map(Int.init)
        let masks = try Self.bytes(golden, "poly.masks")
        var maskStart = 0
        var mismatches: [Int] = []
        for i in 0..<(offsets.count - 1) {
            let (height, width) = (sizes[2 * i], sizes[2 * i + 1])
            let polygon = Array(xy[offsets[i]..<offsets[i + 1]])
            let mask = COCOMask.rasterizePolygon(polygon, height: height, width: width)
            if mask[...] != masks[maskStart..<(maskStart + height * width)] { mismatches.append(i) }
            maskStart += height * width
        }
        #expect(offsets.count - 1 == 240 && maskStart == masks.count)
        #expect(mismatches.isEmpty, "polygons \(mismatches) differ from pycocotools")
    }

    @Test func fourNumberPartsAreBoxes() throws {
        let golden = try CriboTestSupport.golden("coco.safetensors")
        let boxes = try golden.doubles("box.xywh")
        let sizes = try golden.integers("box.sizes").map(Int.init)
        let masks = try Self.bytes(golden, "box.masks")
        var maskStart = 0
        for i in 0..<(boxes.count / 4) {
            let (height, width) = (sizes[2 * i], sizes[2 * i + 1])
            let mask = try COCOMask.decode(.polygons([Array(boxes[(4 * i)..<(4 * i + 4)])]), height: height, width: width)
            #expect(mask[...] == masks[maskStart..<(maskStart + height * width)], "box \(i): \(boxes[(4 * i)..<(4 * i + 4)])")
            maskStart += height * width
        }
        #expect(boxes.count == 240 && maskStart == masks.count)
    }

    @Test func compressedCountsMatchPycocotools() throws {
        let golden = try CriboTestSupport.golden("coco.safetensors")
        let cases = golden.metadata.keys.filter { $0.hasPrefix("rle.") && $0.hasSuffix(".string") }.count
        #expect(cases == 8)
        for i in 0..<cases {
            let counts = try Self.counts(golden, "rle.\(i).counts")
            let text = try #require(golden.metadata["rle.\(i).string"])
            #expect(COCOMask.encodeCompressedCounts(counts) == text, "case \(i)")
            #expect(try COCOMask.decodeCompressedCounts(text) == counts, "case \(i)")
            let size = try #require(golden.metadata["rle.\(i).size"]).split(separator: ",").compactMap { Int($0) }
            let mask = try COCOMask.decode(.compressedRLE(counts: text, height: size[0], width: size[1]), height: size[0], width: size[1])
            #expect(mask.reduce(0) { $0 + Int($1) } == counts.enumerated().reduce(0) { $0 + ($1.offset % 2 == 1 ? Int($1.element) : 0) })
            if !counts.dropFirst().contains(0) {
                #expect(COCOMask.encodeRLE(rowMajorMask: mask, height: size[0], width: size[1]) == counts, "case \(i)")
            }
        }
    }

    @Test func labelMapsMatchTheReference() throws {
        let golden = try CriboTestSupport.golden("coco.safetensors")
        let instances = try Self.fixture()
        for image in instances.images {
            let maps = try instances.labelMaps(forImage: image)
            #expect(maps.instance.map(Int64.init) == (try golden.integers("instance.\(image.id)")), "image \(image.id)")
            #expect(maps.category == (try Self.bytes(golden, "category.\(image.id)")), "image \(image.id)")
            #expect(maps.instanceCategories == (try Self.bytes(golden, "instanceCategories.\(image.id)")), "image \(image.id)")
            #expect(maps.instanceIsCrowd == (try Self.bytes(golden, "instanceIsCrowd.\(image.id)")).map { $0 == 1 }, "image \(image.id)")
            #expect(maps.instanceCount == instances.annotations(forImage: image.id).count)
            for p in maps.instance.indices {
                #expect(maps.category[p] == maps.instanceCategories[Int(maps.instance[p])])
            }
        }
        let empty = try #require(instances.image(id: 9))
        let maps = try instances.labelMaps(forImage: empty)
        #expect(maps.instanceCount == 0 && maps.instance.count == 120 && maps.instance.allSatisfy { $0 == 0 })
        #expect(maps.category.allSatisfy { $0 == 0 })
    }
}

// MARK: - Parsing

extension COCOTests {
    @Test func fixtureParsesLikeJSONSerializationReadsIt() throws {
        let instances = try Self.fixture()
        let json = try #require(try JSONSerialization.jsonObject(with: Self.fixtureData()) as? [String: Any])
        let rawImages = try #require(json["images"] as? [[String: Any]])
        let rawCategories = try #require(json["categories"] as? [[String: Any]])
        let rawAnnotations = try #require(json["annotations"] as? [[String: Any]])
        #expect(instances.images.map(\.id) == rawImages.compactMap { $0["id"] as? Int }.sorted())
        for raw in rawImages {
            let image = try #require(instances.image(id: raw["id"] as? Int ?? -1))
            #expect(image.fileName == raw["file_name"] as? String)
            #expect(image.width == raw["width"] as? Int && image.height == raw["height"] as? Int)
        }
        #expect(instances.categories.map(\.id) == rawCategories.compactMap { $0["id"] as? Int }.sorted())
        #expect(instances.categories.count == 80)
        for raw in rawCategories {
            let category = try #require(instances.categories.first { $0.id == raw["id"] as? Int })
            #expect(category.name == raw["name"] as? String && category.supercategory == raw["supercategory"] as? String)
        }
        #expect(instances.annotationCount == rawAnnotations.count)
        for raw in rawAnnotations {
            let imageID = try #require(raw["image_id"] as? Int)
            let annotation = try #require(instances.annotations(forImage: imageID).first { $0.id == raw["id"] as? Int })
            #expect(annotation.categoryID == raw["category_id"] as? Int)
            #expect(annotation.isCrowd == ((raw["iscrowd"] as? Int) == 1))
            #expect(annotation.area == (raw["area"] as? NSNumber)?.doubleValue)
            switch annotation.segmentation {
            case .polygons(let parts): #expect(parts == raw["segmentation"] as? [[Double]])
            case .rle(let counts, let height, let width):
                let segmentation = try #require(raw["segmentation"] as? [String: Any])
                #expect(segmentation["size"] as? [Int] == [height, width])
                #expect(counts.map(Int.init) == segmentation["counts"] as? [Int])
            case .compressedRLE(let counts, let height, let width):
                let segmentation = try #require(raw["segmentation"] as? [String: Any])
                #expect(segmentation["size"] as? [Int] == [height, width])
                #expect(counts == segmentation["counts"] as? String)
            }
        }
        for image in instances.images {
            let ids = instances.annotations(forImage: image.id).map(\.id)
            #expect(ids == ids.sorted())
        }
        #expect(instances.annotations(forImage: 9).isEmpty)
        let crowd = try #require(instances.annotations(forImage: 37777).first { $0.isCrowd })
        guard case .rle(_, 16, 20) = crowd.segmentation else { Issue.record("crowd: \(crowd.segmentation)"); return }
    }

    @Test func contiguousIndexSkipsUnusedCategoryIDs() throws {
        let instances = try Self.fixture()
        let unused = [12, 26, 29, 30, 45, 66, 68, 69, 71, 83]
        #expect(instances.contiguousIndex.count == 80)
        for id in unused { #expect(instances.contiguousIndex[id] == nil, "id \(id)") }
        // Ids below 12 keep their value; each unused id below shifts the rest down by one.
        for id in 1...90 where !unused.contains(id) {
            #expect(instances.contiguousIndex[id] == id - unused.filter { $0 < id }.count, "id \(id)")
        }
        #expect(instances.contiguousIndex[13] == 12 && instances.contiguousIndex[90] == 80)
        #expect(instances.categories.first { $0.id == 13 }?.name == "stop sign")
    }

    @Test func errorsNameTheSourceAndTheProblem() throws {
        let source = "annotations_trainval2017.zip:annotations/instances_val2017.json"
        let polygon = #""segmentation": [[0, 0, 4, 0, 4, 3]], "area": 6.0, "iscrowd": 0, "bbox": [0, 0, 4, 3]"#
        let cases: [(Data, String)] = [
            (Data("{\"images\": [".utf8), "not valid JSON"),
            (Data(#"{"annotations": [], "categories": []}"#.utf8), "images: missing"),
            (Self.tinyFile(annotations: #"{"id": 7, "image_id": 2, "category_id": 1, \#(polygon)}"#), "annotation 7: unknown image id 2"),
            (Self.tinyFile(annotations: #"{"id": 7, "image_id": 1, "category_id": 2, \#(polygon)}"#), "annotation 7: unknown category id 2"),
            (Self.tinyFile(annotations: #"{"id": 7, "image_id": 1, "category_id": 3, "segmentation": {"counts": [3, 4, 12], "size": [4, 5]}, "area": 4, "iscrowd": 1}"#),
             "annotation 7: RLE counts sum to 19, expected 4x5 = 20"),
            (Self.tinyFile(annotations: #"{"id": 7, "image_id": 1, "category_id": 3, "segmentation": {"counts": "0<", "size": [3, 4]}, "area": 12, "iscrowd": 1}"#),
             "annotation 7: RLE size is 3x4, the image is 4x5"),
            (Self.tinyFile(annotations: #"{"id": 7, "image_id": 1, "category_id": 3, "segmentation": {"counts": "0~", "size": [4, 5]}, "area": 12, "iscrowd": 1}"#),
             "character 126 at offset 1"),
            (Self.tinyFile(annotations: #"{"id": 7, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4]], "area": 1, "iscrowd": 0}"#),
             "annotation 7: polygon part 0 has an odd number of coordinates (5)"),
            (Self.tinyFile(annotations: #"{"id": 7, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 4, 3], [1, 1, 2, 1, 2, 2]], "area": 1, "iscrowd": 0}"#),
             "part 1 has 6"),
            (Self.tinyFile(annotations: #"{"id": 7, "image_id": 1, "category_id": 1, \#(polygon)}, {"id": 7, "image_id": 1, "category_id": 1, \#(polygon)}"#),
             "annotation 7: the id appears more than once"),
            (Self.tinyFile(annotations: #"{"id": 7, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 3]], "area": 6.0, "iscrowd": 2}"#),
             "annotations[0] (id 7): iscrowd is 2"),
            (Self.tinyFile(annotations: #"{"id": 7, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 3]], "iscrowd": 0}"#),
             "annotations[0].area: missing"),
        ]
        for (data, problem) in cases {
            let error = Self.error { _ = try COCOInstances.parse(data, source: source) }
            let text = error.map(String.init(describing:)) ?? "no error"
            #expect(text.hasPrefix(source + ": ") && text.contains(problem), "\(text)")
        }
    }

    @Test func tinyFileParsesAndUnknownImagesAreRejected() throws {
        let source = "tiny.json"
        let instances = try COCOInstances.parse(
            Self.tinyFile(annotations: #"{"id": 7, "image_id": 1, "category_id": 3, "segmentation": {"counts": [3, 4, 13], "size": [4, 5]}, "area": 4, "iscrowd": 1}"#),
            source: source)
        let image = try #require(instances.image(id: 1))
        let maps = try instances.labelMaps(forImage: image)
        // Column-major runs: 3 zeros, then 4 ones = (x, y) (0, 3), (1, 0), (1, 1), (1, 2); category 3 is index 2.
        let expected: [UInt16] = [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]
        #expect(maps.instance == expected)
        #expect(maps.category == expected.map { $0 == 0 ? 0 : 2 })
        #expect(maps.instanceIsCrowd == [false, true] && maps.instanceCategories == [0, 2])
        let stranger = COCOImage(id: 2, fileName: "000000000002.jpg", width: 5, height: 4)
        let text = Self.error { _ = try instances.labelMaps(forImage: stranger) }.map(String.init(describing:)) ?? "no error"
        #expect(text.hasPrefix("tiny.json: ") && text.contains("image 2"), "\(text)")
    }
}
