// SPDX-License-Identifier: Apache-2.0
// cribo-features extract for real under Open MPI: `--workers 3` relaunches itself under mpirun, the ranks share the
// shards, and the folder equals a one-process run's byte for byte.

import CriboNN
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite(.serialized) struct FeaturesMPITests {}

extension FeaturesMPITests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun")))
    func threeRanksWriteTheSameFeaturesAsOne() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-features-mpi-\(getpid())").path
        try? FileManager.default.removeItem(atPath: base)
        defer { try? FileManager.default.removeItem(atPath: base) }
        _ = try runProduct("cribo-ingest", ["synthesize", "--out", base + "/raw", "--dataset", "voc", "--images-per-split", "7", "--sides", "40-56"])
        let (ingested, ingestOutput) = try runProduct("cribo-ingest", ["voc", "--raw", base + "/raw", "--out", base + "/shards", "--splits", "val"])
        #expect(ingested == 0, "\(ingestOutput)")
        let configuration = ViTConfiguration(imageSize: 32, patchSize: 8, embeddingDimension: 16, depth: 1, headCount: 2)
        let parameters = ParameterArena(slots: VisionTransformer.parameterSlots(for: configuration))
        parameters.initialize(seed: 3)
        try BackboneCheckpoint.save(VisionTransformer(configuration: configuration), parameters: parameters, to: base + "/w.safetensors")
        let common = ["extract", "--checkpoint", base + "/w.safetensors", "--split", base + "/shards/voc/val", "--resolution", "32",
                      "--images-per-shard", "2", "--thumbnails", "2"]
        let (one, oneOutput) = try runProduct("cribo-features", common + ["--out", base + "/one"])
        #expect(one == 0, "\(oneOutput)")
        let (three, threeOutput) = try runProduct("cribo-features", common + ["--out", base + "/three", "--workers", "3"])
        #expect(three == 0 && threeOutput.contains("4 shards to extract over 3 rank(s)"), "\(threeOutput)")
        let names = try FileManager.default.contentsOfDirectory(atPath: base + "/one").sorted()
        #expect(names == ["features-00000.safetensors", "features-00001.safetensors", "features-00002.safetensors",
                          "features-00003.safetensors", "features.json"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: base + "/three").sorted() == names)
        for name in names {
            let a = try Data(contentsOf: URL(fileURLWithPath: base + "/one/" + name))
            let b = try Data(contentsOf: URL(fileURLWithPath: base + "/three/" + name))
            #expect(a == b, "\(name) differs between 1 and 3 ranks")
        }
    }
}
