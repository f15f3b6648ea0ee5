// SPDX-License-Identifier: Apache-2.0
// cribo-pretrain for real under Open MPI: `--workers 4` relaunches itself under mpirun, rank 0 writes the checkpoint,
// log and configuration, a stopped run resumes to the same end state as an uninterrupted one.

import CriboData
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite(.serialized) struct PretrainMPITests {}

extension PretrainMPITests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun")))
    func fourRanksTrainResumeAndExport() throws {
        let base = try ingestedCOCO(folder: "cribo-mpi", images: 32)
        let common = ["--data", base + "/shards/coco/train2017", "--workers", "4", "--epochs", "2", "--batch-size", "2", "--image-size", "32",
                      "--queue-size", "16", "--clusters", "4"]
        let (status, output) = try runProduct("cribo-pretrain", common + ["--out", base + "/straight"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("on 4 rank(s)"), "\(output)")
        let teacher = try TensorFile(path: base + "/straight/teacher_backbone.safetensors")
        #expect(teacher.entries["blocks.0.attn.qkv.weight"] != nil && teacher.entries["head.mlp.0.weight"] == nil)
        let log = try String(contentsOfFile: base + "/straight/log.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(log.count == 8, "32 images / (4 ranks × 2) = 4 iterations per epoch, 2 epochs")

        let (first, firstOutput) = try runProduct("cribo-pretrain", common + ["--out", base + "/resumed", "--max-iterations", "3"])
        #expect(first == 0, "\(firstOutput)")
        let (second, secondOutput) = try runProduct("cribo-pretrain", common + ["--out", base + "/resumed"])
        #expect(second == 0 && secondOutput.contains("resumed from") && secondOutput.contains("iteration 3"), "\(secondOutput)")
        let a = try TensorFile(path: base + "/straight/teacher_backbone.safetensors")
        let b = try TensorFile(path: base + "/resumed/teacher_backbone.safetensors")
        for name in a.names { #expect(try a.tensor(name).scalars == b.tensor(name).scalars, "\(name) after resume") }
        try? FileManager.default.removeItem(atPath: base)
    }

    /// Ranks of one machine hold the weights, the teacher and the AdamW moments once, in node-shared memory, and each
    /// updates its share of the slots. With CRIBO_MPI_SHM=0 every rank keeps and updates its own copy (gradients
    /// averaged by MPI_Allreduce, exact for 2 ranks); both end with the same teacher, bit for bit.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun")))
    func nodeSharedStateTrainsLikeReplicatedCopies() throws {
        let base = try ingestedCOCO(folder: "cribo-mpi-shared", images: 16)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let common = ["--data", base + "/shards/coco/train2017", "--workers", "2", "--epochs", "2", "--batch-size", "2", "--image-size", "32",
                      "--queue-size", "8", "--clusters", "4"]
        let (shared, sharedOutput) = try runProduct("cribo-pretrain", common + ["--out", base + "/shared"])
        #expect(shared == 0, "\(sharedOutput)")
        let (replicated, replicatedOutput) = try runProduct("cribo-pretrain", common + ["--out", base + "/replicated"],
                                                           environment: ["CRIBO_MPI_SHM": "0"])
        #expect(replicated == 0 && !replicatedOutput.contains("shared by the"), "\(replicatedOutput)")
        // where /dev/shm has room the first run shares its state (a small container /dev/shm may not)
        if freeBytes("/dev/shm") > 1 << 30 { #expect(sharedOutput.contains("shared by the 2 ranks of this node"), "\(sharedOutput)") }
        let a = try TensorFile(path: base + "/shared/teacher_backbone.safetensors")
        let b = try TensorFile(path: base + "/replicated/teacher_backbone.safetensors")
        #expect(a.names == b.names)
        for name in a.names { #expect(try a.tensor(name).scalars == b.tensor(name).scalars, "\(name)") }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun")))
    func sharedMemorySumIsTheRankOrderSumOnEveryRank() throws {
        // Also the mean (the gradient average): the sum times Float(1)/3, computed in the shared segment.
        // 2.5M floats: more than one 2M-float slot of the shared segment, so the sum goes in two pieces.
        let (status, output) = try runProduct("cribo-bench", ["allreduce", "--workers", "3", "--count", "2500000", "--repeats", "1"])
        #expect(status == 0, "\(output)")
        // /dev/shm and /tmp both had room on the machines this runs on; where they do not (small container /dev/shm),
        // the sum falls back to MPI_Reduce + MPI_Bcast, which the line names and which may round differently.
        let sharedMemory = !output.contains("MPI_Reduce + MPI_Bcast")
        if sharedMemory || FileManager.default.isWritableFile(atPath: "/dev/shm") && freeBytes("/dev/shm") > 1 << 30 {
            #expect(output.contains("3 ranks, 2500000 floats, shared memory") && output.contains(" 0 element sums")
                    && output.contains("; 0 element means differ from the sum times 1/3"), "\(output)")
        }
    }
}

/// A fresh temporary folder (named after `folder` and this process) holding a synthesized COCO archive of `images`
/// train images (40-56 px) in `raw/`, ingested into `shards/coco/train2017`.
private func ingestedCOCO(folder: String, images: Int) throws -> String {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("\(folder)-\(getpid())").path
    try? FileManager.default.removeItem(atPath: base)
    _ = try runProduct("cribo-ingest", ["synthesize", "--out", base + "/raw", "--dataset", "coco", "--images-per-split", String(images), "--sides", "40-56"])
    let (ingested, ingestOutput) = try runProduct("cribo-ingest", ["coco", "--raw", base + "/raw", "--out", base + "/shards", "--splits", "train2017"])
    #expect(ingested == 0, "\(ingestOutput)")
    return base
}

/// Free bytes of the file system holding `path` (0 when unknown).
private func freeBytes(_ path: String) -> Int {
    var info = statvfs()
    guard statvfs(path, &info) == 0 else { return 0 }
    return Int(info.f_bavail) * Int(info.f_frsize)
}
