// SPDX-License-Identifier: Apache-2.0
// cribo-ingest end to end on synthesized, format-faithful archives of all four datasets: contents, labels,
// idempotence, option changes, determinism, and every bad-input case (corrupt image, size mismatch, missing member,
// truncated archive, wrong archive, unparsable annotations, missing archive) with the previous output intact.

import CriboData
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

/// Runs every split of `ingestor` with `options`; returns the manifests by split.
@discardableResult
func ingest(_ ingestor: any DatasetIngestor, _ options: IngestOptions, splits: [String]? = nil) throws -> [String: Manifest] {
    var manifests: [String: Manifest] = [:]
    for split in splits ?? ingestor.defaultSplits {
        manifests[split] = try IngestJob(ingestor: ingestor, split: split, options: options) { _ in }.run()
    }
    return manifests
}

func fixtureOptions(raw: String, out: String) -> IngestOptions {
    var options = IngestOptions(rawFolder: raw, outFolder: out)
    options.workers = 2
    options.definitionsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests").path
    return options
}

/// Collects ingest events from any thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [IngestEvent] = []
    func append(_ event: IngestEvent) { lock.withLock { events.append(event) } }
    var all: [IngestEvent] { lock.withLock { events } }
}

@Suite struct IngestTests {}

extension IngestTests {
    @Test func vocAndADE20KKeepLabelValuesAndAreIdempotent() throws {
        let raw = scratchFolder("ingest-raw-seg"), out = scratchFolder("ingest-out-seg")
        try FixtureArchives.write(datasets: ["voc", "ade20k"], folder: raw, options: FixtureOptions(seed: 3, imagesPerSplit: 6))
        let options = fixtureOptions(raw: raw, out: out)
        let voc = try ingest(VOCIngestor(), options)
        let ade = try ingest(ADE20KIngestor(), options)
        #expect(voc["train"]?.sampleCount == 6 && voc["val"]?.sampleCount == 6)
        #expect(ade["training"]?.sampleCount == 6 && ade["validation"]?.classNames.count == 151)
        let reader = try ShardReader(path: out + "/voc/train/" + voc["train"]!.shards[0].file, dataset: "voc", split: "train")
        #expect(reader.name(at: 0) == "2007_000001")
        var labels = Set<UInt8>()
        for i in 0..<reader.count {
            let mask = try PNG.decodeIndices(Data(try reader.withBlob("mask", at: i) { Array($0) }))
            let image = try ImageDecoder.decodeRGB(Data(try reader.withBlob("image", at: i) { Array($0) }))
            #expect(mask.width == image.width && mask.height == image.height)
            #expect(reader.shape(of: "image", at: i) == [image.height, image.width, 3])
            labels.formUnion(mask.values)
        }
        #expect(labels.contains(255) && labels.contains(0) && labels.allSatisfy { $0 <= 20 || $0 == 255 }, "VOC indices kept: \(labels.sorted())")
        // trainaug = train ∪ SegmentationClassAug ids − val; train ids keep their SegmentationClass masks.
        let aug = try ingest(VOCIngestor(), options, splits: ["trainaug"])["trainaug"]!
        #expect(aug.sampleCount == 6 + 3 && aug.counts["fromSegmentationClassAug"] == 3, "\(aug.counts)")
        let augSplit = try ShardedSplit(folder: out + "/voc/trainaug")
        let augNames = (0..<augSplit.count).map { augSplit.name(at: $0) }
        #expect(!augNames.contains("2008_000001") && augNames.contains("2011_000001") && augNames == augNames.sorted())
        let firstTrain = try augSplit.labelMap("mask", at: augNames.firstIndex(of: "2007_000001")!)
        #expect(firstTrain.values.contains { $0 != 0 }, "train ids keep SegmentationClass, not the all-zero Aug mask")
        // A rerun with the same archives and options does nothing (no file rewritten).
        let shard = out + "/voc/train/" + voc["train"]!.shards[0].file
        let before = try FileManager.default.attributesOfItem(atPath: shard)[.modificationDate] as? Date
        let events = EventLog()
        try IngestJob(ingestor: VOCIngestor(), split: "train", options: options) { events.append($0) }.run()
        #expect(events.all.contains { if case .upToDate = $0 { return true } else { return false } })
        let after = try FileManager.default.attributesOfItem(atPath: shard)[.modificationDate] as? Date
        #expect(after == before)
        // A changed option rebuilds the split.
        var raw40 = options
        raw40.storage = .raw
        raw40.maxSide = 40
        let rebuilt = try ingest(VOCIngestor(), raw40, splits: ["train"])["train"]!
        #expect(rebuilt.fields == ["image": .raw, "mask": .raw] && rebuilt.configuration["maxSide"] == "40")
        let rawReader = try ShardReader(path: out + "/voc/train/" + rebuilt.shards[0].file)
        for i in 0..<rawReader.count {
            let shape = rawReader.shape(of: "image", at: i)
            #expect(min(shape[0], shape[1]) == 40 && rawReader.shape(of: "mask", at: i) == [shape[0], shape[1], 1])
            let values = Set(try rawReader.withBlob("mask", at: i) { Array($0) })
            #expect(values.allSatisfy { $0 <= 20 || $0 == 255 }, "nearest keeps label values")
        }
        let problems = IngestVerifier.splitFolders(under: out).flatMap { IngestVerifier.verify(folder: $0).problems }
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func cocoLabelMapsFollowTheAnnotations() throws {
        let raw = scratchFolder("ingest-raw-coco"), out = scratchFolder("ingest-out-coco")
        try FixtureArchives.write(datasets: ["coco"], folder: raw, options: FixtureOptions(seed: 5, imagesPerSplit: 10))
        let manifest = try ingest(COCOIngestor(), fixtureOptions(raw: raw, out: out), splits: ["val2017"])["val2017"]!
        #expect(manifest.sampleCount == 10, "images without annotations are kept")
        #expect(manifest.classNames.count == 81)
        let annotations = try ArchiveReader(path: raw + "/annotations_trainval2017.zip")
        var json = Data()
        while let entry = try annotations.next() {
            if entry.name.hasSuffix("instances_val2017.json") { json = try annotations.readData() } else { try annotations.skipData() }
        }
        let instances = try COCOInstances.parse(json, source: "fixture")
        let reader = try ShardReader(path: out + "/coco/val2017/" + manifest.shards[0].file)
        for i in 0..<reader.count {
            let image = try #require(instances.image(id: Int(reader.id(at: i))))
            #expect(reader.name(at: i) == image.fileName)
            let expected = try instances.labelMaps(forImage: image)
            let category = try PNG.decodeIndices(Data(try reader.withBlob("category", at: i) { Array($0) }))
            let instance = try PNG.decodeIndices(Data(try reader.withBlob("instance", at: i) { Array($0) }))
            #expect(category.values == expected.category && instance.values == expected.instance.map { UInt8($0) }, "\(image.fileName)")
            let decoded = try ImageDecoder.decodeRGB(Data(try reader.withBlob("image", at: i) { Array($0) }))
            #expect(decoded.width == image.width && decoded.height == image.height, "grayscale and CMYK JPEGs decode to RGB")
        }
    }

    @Test func imageNetNestedTarsLabelsAndBothGroundTruthForms() throws {
        let raw = scratchFolder("ingest-raw-in"), out = scratchFolder("ingest-out-in"), out2 = scratchFolder("ingest-out-in2")
        try FixtureArchives.write(datasets: ["imagenet"], folder: raw, options: FixtureOptions(seed: 7, imagesPerSplit: 10))
        let options = fixtureOptions(raw: raw, out: out)
        let manifests = try ingest(ImageNetIngestor(), options)
        #expect(manifests["train"]?.sampleCount == 10 && manifests["val"]?.sampleCount == 10)
        #expect(manifests["train"]?.classNames.count == 1000 && manifests["train"]?.classNames.first?.hasPrefix("n01440764 tench") == true)
        let train = try ShardReader(path: out + "/imagenet/train/" + manifests["train"]!.shards[0].file)
        let names = (0..<train.count).map { train.name(at: $0) }
        #expect(names == names.sorted(), "discovered samples are sorted by name")
        for i in 0..<train.count {
            let wnid = String(train.name(at: i).prefix(9))
            let index = ["n01440764", "n01443537", "n01484850", "n01491361", "n01494475", "n01496331", "n01498041", "n01514668"].firstIndex(of: wnid)
            #expect(train.label(at: i).map(Int.init) == index, "sorted-synset index of \(wnid)")
            _ = try ImageDecoder.decodeRGB(Data(try train.withBlob("image", at: i) { Array($0) }))
        }
        // The devkit's ILSVRC2012_IDs give the same labels as LOC_val_solution.csv.
        try FileManager.default.removeItem(atPath: raw + "/" + ImageNetIngestor.solutionFile)
        let devkit = try ingest(ImageNetIngestor(), fixtureOptions(raw: raw, out: out2), splits: ["val"])["val"]!
        let a = try ShardReader(path: out + "/imagenet/val/" + manifests["val"]!.shards[0].file)
        let b = try ShardReader(path: out2 + "/imagenet/val/" + devkit.shards[0].file)
        #expect((0..<a.count).map { a.label(at: $0) } == (0..<b.count).map { b.label(at: $0) })
    }

    @Test func outputIsDeterministic() throws {
        let raw = scratchFolder("ingest-raw-det"), a = scratchFolder("ingest-out-det-a"), b = scratchFolder("ingest-out-det-b")
        try FixtureArchives.write(datasets: ["voc"], folder: raw, options: FixtureOptions(seed: 1, imagesPerSplit: 8))
        var options = fixtureOptions(raw: raw, out: a)
        options.targetShardBytes = 20_000
        let first = try ingest(VOCIngestor(), options, splits: ["train"])["train"]!
        options.outFolder = b
        options.workers = 1
        let second = try ingest(VOCIngestor(), options, splits: ["train"])["train"]!
        #expect(first.shards.count > 1, "several shards at a 20 kB target")
        #expect(first.shards == second.shards, "same shard bytes whatever the worker count")
        // the staging memory budget only decides where payloads wait: all in the staging file, or some of them
        for budget in [0, 30_000] {
            options.stagingMemoryBytes = budget
            options.outFolder = scratchFolder("ingest-out-det-\(budget)")
            let spilled = try ingest(VOCIngestor(), options, splits: ["train"])["train"]!
            #expect(spilled.shards == first.shards, "same shard bytes with \(budget) bytes of staging memory")
        }
    }
}
