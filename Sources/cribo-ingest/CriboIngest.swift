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
        subcommands: [VOC.self, ADE20K.self, Verify.self])

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
