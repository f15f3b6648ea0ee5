// SPDX-License-Identifier: Apache-2.0
// cribo-ingest: the original COCO 2017, ImageNet-1k, Pascal VOC 2012 and ADE20K archives into verified shards
// (see README.md for the shard keys), plus `verify`.

import ArgumentParser
import CriboCommandLine
import CriboData

@main
struct CriboIngest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cribo-ingest",
        abstract: "Read the original dataset archives into sharded safetensors files plus manifests.",
        discussion: "Archives are streamed (zip, tar, nested tars) without unpacking. Reruns with the same archives and "
            + "options do nothing; output appears atomically (the previous split stays intact until the new one is complete).",
        subcommands: [COCO.self, ImageNet.self, VOC.self, ADE20K.self, Synthesize.self, Verify.self])

    struct COCO: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "coco", abstract: "COCO 2017 (train2017.zip, val2017.zip, annotations_trainval2017.zip).")
        @OptionGroup var ingest: IngestArguments
        func run() throws { try ingest.run(COCOIngestor()) }
    }

    struct ImageNet: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "imagenet",
            abstract: "ImageNet-1k (ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar + LOC_val_solution.csv or the devkit).")
        @OptionGroup var ingest: IngestArguments
        func run() throws { try ingest.run(ImageNetIngestor()) }
    }

    struct VOC: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "voc", abstract: "Pascal VOC 2012 segmentation (VOCtrainval_11-May-2012.tar).")
        @OptionGroup var ingest: IngestArguments
        func run() throws { try ingest.run(VOCIngestor()) }
    }

    struct ADE20K: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ade20k", abstract: "ADE20K SceneParsing (ADEChallengeData2016.zip).")
        @OptionGroup var ingest: IngestArguments
        func run() throws { try ingest.run(ADE20KIngestor()) }
    }

    struct Synthesize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write miniature, format-faithful archives of the datasets (procedurally drawn scenes with exact masks).")
        @Option(help: "Folder to write the archives into (their official file names).") var out: String
        @Option(parsing: .upToNextOption, help: "Datasets: coco, imagenet, voc, ade20k (default: all).") var dataset: [String] = []
        @Option(help: "Random seed (the archives are a pure function of it).") var seed: UInt64 = 0
        @Option(help: "Images per split.") var imagesPerSplit: Int = 12
        @Option(help: "Smallest and largest image side, e.g. 56-88.") var sides: String = "56-88"

        func validate() throws {
            guard imagesPerSplit >= 1 else { throw ValidationError("--images-per-split must be at least 1") }
            for name in dataset where !FixtureArchives.datasets.contains(name) {
                throw ValidationError("unknown dataset '\(name)' (\(FixtureArchives.datasets.joined(separator: ", ")))")
            }
            let parts = sides.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 16, parts[0] <= parts[1] else { throw ValidationError("--sides must be MIN-MAX with 16 <= MIN <= MAX") }
        }

        func run() throws {
            var options = FixtureOptions(seed: seed, imagesPerSplit: imagesPerSplit)
            let parts = sides.split(separator: "-").compactMap { Int($0) }
            options.sideRange = parts[0]...parts[1]
            let written = try FixtureArchives.write(datasets: dataset.isEmpty ? FixtureArchives.datasets : dataset, folder: out, options: options)
            print("wrote \(written.joined(separator: ", ")) to \(out)")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-hash every shard under DIR against its manifest.")
        @Argument(help: "An output root, dataset folder or split folder.") var folder: String

        func run() throws {
            let splits = IngestVerifier.splitFolders(under: folder)
            guard !splits.isEmpty else { throw ValidationError("\(folder): no manifest.json found") }
            var failed = false
            for split in splits {
                let result = IngestVerifier.verify(folder: split)
                if result.problems.isEmpty {
                    print("ok      \(split): \(result.samples) samples in \(result.shards) shards")
                } else {
                    failed = true
                    print("FAILED  \(split)")
                    for problem in result.problems { print("        \(problem)") }
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
