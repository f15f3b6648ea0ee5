// SPDX-License-Identifier: Apache-2.0
// Miniature, format-faithful archives of the four datasets, drawn by SceneRenderer: the same archive names,
// member layouts, list files and label encodings as the originals (datasets.md), deterministic by seed. Used by
// the tests, by `cribo-ingest synthesize`, and by the demo pipeline.

import CriboTensor
import Foundation

/// Options of the fixture writer.
package struct FixtureOptions: Sendable {
    package var seed: UInt64 = 0
    /// Images per split (train and val each).
    package var imagesPerSplit = 12
    /// Image sides are drawn from this range (each image its own size, as in the real datasets).
    package var sideRange: ClosedRange<Int> = 56...88
    package var classCount = 8
    package var jpegQuality = 90

    package init(seed: UInt64 = 0, imagesPerSplit: Int = 12) {
        self.seed = seed
        self.imagesPerSplit = imagesPerSplit
    }

    /// The size of image `index` of `split` (a pure function of seed, split and index).
    func size(split: String, index: Int) -> (width: Int, height: Int) {
        var rng = SplitMix64(seed: SplitMix64.mix(seed, stableHash(split), UInt64(index)))
        let w = sideRange.lowerBound + rng.nextInt(below: sideRange.count)
        let h = sideRange.lowerBound + rng.nextInt(below: sideRange.count)
        return (w, h)
    }
}

/// Writes fixture archives.
package enum FixtureArchives {
    /// Class-index maps with a void band: pixels whose 3×3 neighbourhood holds another class become 255 (VOC style).
    static func withVoidBorders(_ categories: [UInt8], width: Int, height: Int) -> [UInt8] {
        var out = categories
        for y in 0..<height {
            for x in 0..<width {
                let value = categories[y * width + x]
                var boundary = false
                for dy in -1...1 {
                    for dx in -1...1 {
                        let (nx, ny) = (x + dx, y + dy)
                        if nx >= 0 && ny >= 0 && nx < width && ny < height && categories[ny * width + nx] != value { boundary = true }
                    }
                }
                if boundary { out[y * width + x] = 255 }
            }
        }
        return out
    }

    /// Adobe-style CMYK (stored inverted) whose RGB conversion gives back `rgb`: C = 255 − R, M = 255 − G,
    /// Y = 255 − B, K = 0.
    static func invertedCMYK(_ rgb: [UInt8]) -> [UInt8] {
        var cmyk = [UInt8](repeating: 0, count: rgb.count / 3 * 4)
        for p in 0..<(rgb.count / 3) {
            cmyk[4 * p] = 255 - rgb[3 * p]
            cmyk[4 * p + 1] = 255 - rgb[3 * p + 1]
            cmyk[4 * p + 2] = 255 - rgb[3 * p + 2]
        }
        return cmyk
    }

    /// JPEG bytes of a scene's image; `grayscale` stores a single-channel JPEG.
    static func jpeg(_ scene: Scene, quality: Int, grayscale: Bool = false) throws -> Data {
        if grayscale {
            return try JPEG.encodeGrayscale(IndexImage(width: scene.width, height: scene.height, values: scene.grayscalePixels()), quality: quality)
        }
        return try JPEG.encode(RGBImage(width: scene.width, height: scene.height, pixels: scene.rgb), quality: quality)
    }

    /// Pascal VOC 2012: VOCtrainval_11-May-2012.tar with JPEGImages, SegmentationClass (palette PNGs with 255
    /// borders), SegmentationObject, Annotations and ImageSets/Segmentation/{train,val,trainval}.txt. The first
    /// train image is a grayscale JPEG.
    package static func writeVOC(folder: String, options: FixtureOptions) throws {
        let renderer = SceneRenderer(classCount: min(options.classCount, 20), seed: options.seed)
        let writer = try ArchiveWriter(path: folder + "/" + VOCIngestor.archive, format: .tar)
        let root = "VOCdevkit/VOC2012/"
        for folderName in ["", "JPEGImages/", "SegmentationClass/", "SegmentationObject/", "Annotations/", "ImageSets/", "ImageSets/Segmentation/"] {
            try writer.addDirectory(root + folderName)
        }
        var lists: [String: [String]] = ["train": [], "val": []]
        let palette = PNG.pascalVOCPalette()
        for (splitIndex, split) in ["train", "val"].enumerated() {
            for i in 0..<options.imagesPerSplit {
                let id = String(format: "%04d_%06d", 2007 + splitIndex, i + 1)
                let (w, h) = options.size(split: split, index: i)
                let scene = renderer.render(index: splitIndex * 100_000 + i, width: w, height: h)
                lists[split]!.append(id)
                try writer.addFile(root + "JPEGImages/\(id).jpg", data: try jpeg(scene, quality: options.jpegQuality, grayscale: split == "train" && i == 0))
                let classes = withVoidBorders(scene.categories, width: w, height: h)
                try writer.addFile(root + "SegmentationClass/\(id).png",
                    data: try PNG.encodePalette(IndexImage(width: w, height: h, values: classes), palette: palette))
                let objects = scene.instances.enumerated().map { classes[$0.offset] == 255 ? UInt8(255) : UInt8(min(Int($0.element), 254)) }
                try writer.addFile(root + "SegmentationObject/\(id).png",
                    data: try PNG.encodePalette(IndexImage(width: w, height: h, values: objects), palette: palette))
                try writer.addFile(root + "Annotations/\(id).xml", data: Data(vocXML(id: id, scene: scene).utf8))
            }
        }
        // SBD-style extra images: JPEGs without SegmentationClass, their masks in SegmentationClassAug.zip (gray, no
        // void band), plus Aug masks for two train ids and one val id (overlaps as in the real lists).
        let augmentation = try ArchiveWriter(path: folder + "/" + VOCIngestor.augmentationArchive, format: .zip)
        try augmentation.addDirectory("SegmentationClassAug/")
        for i in 0..<max(2, options.imagesPerSplit / 2) {
            let id = String(format: "2011_%06d", i + 1)
            let (w, h) = options.size(split: "aug", index: i)
            let scene = renderer.render(index: 200_000 + i, width: w, height: h)
            try writer.addFile(root + "JPEGImages/\(id).jpg", data: try jpeg(scene, quality: options.jpegQuality))
            try augmentation.addFile("SegmentationClassAug/\(id).png", data: try PNG.encodeGray(IndexImage(width: w, height: h, values: scene.categories)))
        }
        // All-background Aug masks for two train ids and one val id: trainaug must keep the train ids' SegmentationClass
        // masks and exclude the val id.
        for (split, index) in [("train", 0), ("train", 1), ("val", 0)] {
            let (w, h) = options.size(split: split, index: index)
            try augmentation.addFile("SegmentationClassAug/\(lists[split]![index]).png",
                data: try PNG.encodeGray(IndexImage(width: w, height: h, values: [UInt8](repeating: 0, count: w * h))))
        }
        try augmentation.finish()
        lists["trainval"] = (lists["train"]! + lists["val"]!).sorted()
        for (split, ids) in lists.sorted(by: { $0.key < $1.key }) {
            try writer.addFile(root + "ImageSets/Segmentation/\(split).txt", data: Data(ids.map { $0 + "\n" }.joined().utf8))
        }
        try writer.finish()
    }

    static func vocXML(id: String, scene: Scene) -> String {
        let objects = scene.objects.map { object -> String in
            let box = object.boundingBox
            let name = VOCIngestor.classNames[min(object.classIndex, 20)]
            return "<object><name>\(name)</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>"
                + "<bndbox><xmin>\(Int(box.x) + 1)</xmin><ymin>\(Int(box.y) + 1)</ymin>"
                + "<xmax>\(Int(box.x + box.width))</xmax><ymax>\(Int(box.y + box.height))</ymax></bndbox></object>"
        }.joined()
        return "<annotation><folder>VOC2012</folder><filename>\(id).jpg</filename><size><width>\(scene.width)</width>"
            + "<height>\(scene.height)</height><depth>3</depth></size><segmented>1</segmented>\(objects)</annotation>\n"
    }

    /// ADE20K SceneParsing: ADEChallengeData2016.zip with images/ and annotations/ for training and validation
    /// (8-bit gray labels: 0 other, scene classes mapped onto indices 1..classCount), objectInfo150.txt (150 rows)
    /// and sceneCategories.txt. The first validation image is a grayscale JPEG.
    package static func writeADE20K(folder: String, options: FixtureOptions) throws {
        let renderer = SceneRenderer(classCount: min(options.classCount, 150), seed: options.seed &+ 1)
        let writer = try ArchiveWriter(path: folder + "/" + ADE20KIngestor.archive, format: .zip)
        let root = "ADEChallengeData2016/"
        for name in ["", "images/", "images/training/", "images/validation/", "annotations/", "annotations/training/", "annotations/validation/"] {
            try writer.addDirectory(root + name)
        }
        var scenes: [String] = []
        for (split, prefix) in [("training", "ADE_train_"), ("validation", "ADE_val_")] {
            for i in 0..<options.imagesPerSplit {
                let stem = prefix + String(format: "%08d", i + 1)
                let (w, h) = options.size(split: split, index: i)
                let scene = renderer.render(index: (split == "training" ? 0 : 100_000) + i, width: w, height: h)
                try writer.addFile(root + "images/\(split)/\(stem).jpg", data: try jpeg(scene, quality: options.jpegQuality, grayscale: split == "validation" && i == 0))
                try writer.addFile(root + "annotations/\(split)/\(stem).png",
                    data: try PNG.encodeGray(IndexImage(width: w, height: h, values: scene.categories)))
                scenes.append("\(stem) synthetic_scene_\(i % 3)\n")
            }
        }
        var info = "Idx\tRatio\tTrain\tVal\tName\n"
        let names = SceneRenderer.defaultClassNames
        for index in 1...150 {
            let name = index <= names.count ? names[index - 1] : "unused class \(index)"
            info += "\(index)\t0.0000\t0\t0\t\(name)\n"
        }
        try writer.addFile(root + "objectInfo150.txt", data: Data(info.utf8))
        try writer.addFile(root + "sceneCategories.txt", data: Data(scenes.joined().utf8))
        try writer.finish()
    }
}
