// SPDX-License-Identifier: Apache-2.0
// ImageNet fixtures: ILSVRC2012_img_train.tar as a tar of one tar per synset (<wnid>_<n>.JPEG, flat), the flat
// ILSVRC2012_img_val.tar (ILSVRC2012_val_%08d.JPEG), LOC_val_solution.csv and a devkit tar.gz with
// data/ILSVRC2012_validation_ground_truth.txt (ILSVRC2012_IDs). Real synset ids (the first sorted ones) and their
// devkit ids; a PNG named .JPEG and a CMYK JPEG in train, a grayscale JPEG in val.

import CriboTensor
import Foundation

extension FixtureArchives {
    /// The first eight sorted ILSVRC2012 synsets and their devkit ILSVRC2012_IDs (manifests/imagenet.json).
    static let imageNetSynsets: [(wnid: String, devkitID: Int)] = [
        ("n01440764", 449), ("n01443537", 450), ("n01484850", 442), ("n01491361", 443),
        ("n01494475", 444), ("n01496331", 445), ("n01498041", 446), ("n01514668", 383),
    ]

    /// Writes the ImageNet archives into `folder`: `imagesPerSplit` images per split spread over the synsets.
    package static func writeImageNet(folder: String, options: FixtureOptions) throws {
        let classes = min(options.classCount, imageNetSynsets.count)
        let renderer = SceneRenderer(classCount: classes, seed: options.seed &+ 3)
        // Train: one inner tar per synset.
        var inner: [String: ArchiveWriter] = [:]
        var innerPaths: [String: String] = [:]
        let scratch = folder + "/.imagenet-fixture-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for i in 0..<options.imagesPerSplit {
            let (w, h) = options.size(split: "train", index: i)
            let scene = renderer.render(index: i, width: w, height: h, objectCount: 1...2)
            let label = (scene.objects.max { $0.area < $1.area }?.classIndex ?? 1) - 1
            let wnid = imageNetSynsets[label].wnid
            if inner[wnid] == nil {
                innerPaths[wnid] = scratch + "/\(wnid).tar"
                inner[wnid] = try ArchiveWriter(path: innerPaths[wnid]!, format: .tar)
            }
            let data: Data
            if i == 0 {
                data = try PNG.encodeRGB(RGBImage(width: w, height: h, pixels: scene.rgb))  // the PNG named .JPEG
            } else if i == 1 {
                data = try JPEG.encodeCMYK(width: w, height: h, cmyk: invertedCMYK(scene.rgb), quality: options.jpegQuality, adobeInverted: true)
            } else {
                data = try jpeg(scene, quality: options.jpegQuality)
            }
            try inner[wnid]!.addFile("\(wnid)_\(10_000 + 13 * i).JPEG", data: data)
        }
        let train = try ArchiveWriter(path: folder + "/" + ImageNetIngestor.trainArchive, format: .tar)
        for wnid in inner.keys.sorted() {
            try inner[wnid]!.finish()
            try train.addFile(wnid + ".tar", data: try Data(contentsOf: URL(fileURLWithPath: innerPaths[wnid]!)))
        }
        try train.finish()
        // Validation: flat tar, labels as LOC_val_solution.csv and as the devkit's ground truth.
        let val = try ArchiveWriter(path: folder + "/" + ImageNetIngestor.valArchive, format: .tar)
        var solution = "ImageId,PredictionString\n"
        var groundTruth = ""
        for i in 0..<options.imagesPerSplit {
            let (w, h) = options.size(split: "val", index: i)
            let scene = renderer.render(index: 100_000 + i, width: w, height: h, objectCount: 1...2)
            let label = (scene.objects.max { $0.area < $1.area }?.classIndex ?? 1) - 1
            let stem = String(format: "ILSVRC2012_val_%08d", i + 1)
            try val.addFile(stem + ".JPEG", data: try jpeg(scene, quality: options.jpegQuality, grayscale: i == 0))
            let box = scene.objects.first?.boundingBox
            solution += "\(stem),\(imageNetSynsets[label].wnid) \(Int(box?.x ?? 0)) \(Int(box?.y ?? 0)) \(Int((box?.x ?? 0) + (box?.width ?? 1))) \(Int((box?.y ?? 0) + (box?.height ?? 1))) \n"
            groundTruth += "\(imageNetSynsets[label].devkitID)\n"
        }
        try val.finish()
        try AtomicFile.write(Data(solution.utf8), to: folder + "/" + ImageNetIngestor.solutionFile)
        let devkit = try ArchiveWriter(path: folder + "/" + ImageNetIngestor.devkitArchive, format: .tarGzip)
        try devkit.addDirectory("ILSVRC2012_devkit_t12/")
        try devkit.addDirectory("ILSVRC2012_devkit_t12/data/")
        try devkit.addFile("ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt", data: Data(groundTruth.utf8))
        try devkit.finish()
    }
}
