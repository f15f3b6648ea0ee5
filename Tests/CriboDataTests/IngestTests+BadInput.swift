// SPDX-License-Identifier: Apache-2.0
// Bad input: sample-level problems are skipped and recorded (or fail the split on request); archive-level problems
// fail the split with a message naming the archive and member, and leave the previous good output untouched.

import CriboData
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

extension IngestTests {
    /// A VOC tar with 5 listed ids: 001 and 004 good, 002 a truncated JPEG, 003 a mask of another size, 005 missing.
    static func writeBrokenVOC(folder: String) throws {
        let writer = try ArchiveWriter(path: folder + "/" + VOCIngestor.archive, format: .tar)
        let root = "VOCdevkit/VOC2012/"
        let ids = (1...5).map { String(format: "2007_%06d", $0) }
        try writer.addFile(root + "ImageSets/Segmentation/train.txt", data: Data(ids.map { $0 + "\n" }.joined().utf8))
        for (n, id) in ids.prefix(4).enumerated() {
            let image = RGBImage(width: 20, height: 16, pixels: (0..<(20 * 16 * 3)).map { UInt8(($0 * 7 + n) % 256) })
            var jpeg = try JPEG.encode(image, quality: 90)
            if n == 1 { jpeg = jpeg.prefix(jpeg.count / 2) }
            try writer.addFile(root + "JPEGImages/\(id).jpg", data: jpeg)
            let (w, h) = n == 2 ? (19, 16) : (20, 16)
            let mask = IndexImage(width: w, height: h, values: (0..<(w * h)).map { $0 % 5 == 0 ? 255 : UInt8($0 % 3) })
            try writer.addFile(root + "SegmentationClass/\(id).png", data: try PNG.encodePalette(mask, palette: PNG.pascalVOCPalette()))
        }
        try writer.finish()
    }

    @Test func badSamplesAreSkippedAndRecordedOrFailTheSplit() throws {
        let raw = scratchFolder("bad-raw"), out = scratchFolder("bad-out")
        try Self.writeBrokenVOC(folder: raw)
        var options = fixtureOptions(raw: raw, out: out)
        let manifest = try ingest(VOCIngestor(), options, splits: ["train"])["train"]!
        #expect(manifest.sampleCount == 2)
        let reasons = Dictionary(uniqueKeysWithValues: manifest.skipped.map { ($0.member, $0.reason) })
        #expect(reasons["2007_000002"]?.contains("JPEGImages/2007_000002.jpg") == true, "\(reasons)")
        #expect(reasons["2007_000003"]?.contains("mask 19x16 differs from image 20x16") == true, "\(reasons)")
        #expect(reasons["2007_000005"]?.contains("JPEGImages/2007_000005.jpg is missing from the archive") == true, "\(reasons)")
        options.onBadSample = .fail
        options.outFolder = scratchFolder("bad-out-fail")
        #expect { try ingest(VOCIngestor(), options, splits: ["train"]) } throws: { "\($0)".contains("2007_00000") }
        #expect(!FileManager.default.fileExists(atPath: options.outFolder + "/voc/train"), "a failed split publishes nothing")
    }

    @Test func archiveLevelProblemsFailTheSplitAndKeepThePreviousOutput() throws {
        let raw = scratchFolder("trunc-raw"), out = scratchFolder("trunc-out")
        try FixtureArchives.write(datasets: ["voc"], folder: raw, options: FixtureOptions(seed: 2, imagesPerSplit: 6))
        let options = fixtureOptions(raw: raw, out: out)
        let good = try ingest(VOCIngestor(), options, splits: ["train"])["train"]!
        let archive = raw + "/" + VOCIngestor.archive
        let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: archive))
        #expect { try ingest(VOCIngestor(), options, splits: ["train"]) } throws: { "\($0)".contains(VOCIngestor.archive) }
        #expect(try Manifest.load(folder: out + "/voc/train") == good, "the previous manifest is untouched")
        #expect(IngestVerifier.verify(folder: out + "/voc/train").problems.isEmpty, "the previous shards are intact")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out + "/voc").filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "no temporary folder left: \(leftovers)")

        // Another dataset's archive under VOC's name.
        try FixtureArchives.write(datasets: ["ade20k"], folder: raw, options: FixtureOptions(seed: 2, imagesPerSplit: 2))
        try FileManager.default.removeItem(atPath: archive)
        try FileManager.default.copyItem(atPath: raw + "/" + ADE20KIngestor.archive, toPath: archive)
        #expect { try ingest(VOCIngestor(), options, splits: ["train"]) } throws: { error in
            "\(error)".contains(VOCIngestor.archive) && "\(error)".contains("VOC2012/ImageSets/Segmentation/train.txt")
        }
        // No archive at all.
        #expect { try ingest(VOCIngestor(), fixtureOptions(raw: scratchFolder("empty-raw"), out: out), splits: ["train"]) } throws: { error in
            "\(error)".contains("empty-raw/VOCtrainval_11-May-2012.tar: missing archive")
        }
    }

    @Test func unparsableAnnotationsNameTheMember() throws {
        let raw = scratchFolder("json-raw")
        let annotations = try ArchiveWriter(path: raw + "/" + COCOIngestor.annotationsArchive, format: .zip)
        try annotations.addFile("annotations/instances_val2017.json", data: Data("{\"images\": [".utf8))
        try annotations.finish()
        let images = try ArchiveWriter(path: raw + "/val2017.zip", format: .zip)
        try images.addDirectory("val2017/")
        try images.finish()
        #expect { try ingest(COCOIngestor(), fixtureOptions(raw: raw, out: scratchFolder("json-out")), splits: ["val2017"]) } throws: { error in
            "\(error)".contains("annotations_trainval2017.zip:annotations/instances_val2017.json")
        }
    }
}
