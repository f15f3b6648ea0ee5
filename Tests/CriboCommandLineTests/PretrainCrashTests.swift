// SPDX-License-Identifier: Apache-2.0
// kill -9 during `cribo-pretrain` over 2 MPI ranks (launcher, mpirun and every rank at once, as a machine going
// down): the checkpoint on disk is always a complete one, and rerunning the same command until it finishes ends
// with the same teacher weights, bit for bit, as an uninterrupted run.

import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite(.serialized) struct PretrainCrashTests {}

extension PretrainCrashTests {
    /// Lines in `path` (0 when missing).
    func lineCount(_ path: String) -> Int {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun")))
    func killedPretrainingResumesToTheSameWeights() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-pretrain-kill-\(getpid())").path
        try? FileManager.default.removeItem(atPath: base)
        defer { try? FileManager.default.removeItem(atPath: base) }
        _ = try runProduct("cribo-ingest", ["synthesize", "--out", base + "/raw", "--dataset", "coco", "--images-per-split", "24",
                                            "--sides", "40-56"])
        let (ingested, ingestOutput) = try runProduct("cribo-ingest", ["coco", "--raw", base + "/raw", "--out", base + "/shards",
                                                                       "--splits", "train2017"])
        #expect(ingested == 0, "\(ingestOutput)")
        // 24 images / (2 ranks × 2) = 6 iterations per epoch, 2 epochs, a checkpoint after every iteration.
        let common = ["--data", base + "/shards/coco/train2017", "--workers", "2", "--epochs", "2", "--batch-size", "2",
                      "--image-size", "32", "--queue-size", "16", "--clusters", "4", "--checkpoint-every", "1", "--threads", "1"]
        let (status, output) = try runProduct("cribo-pretrain", common + ["--out", base + "/straight"])
        #expect(status == 0, "\(output)")

        let killed = base + "/killed"
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [executable, executable.deletingLastPathComponent()].map { $0.appendingPathComponent("cribo-pretrain").path }
        let pretrain = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) })
        var kills = 0
        for target in [2, 5, 9] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: pretrain)
            process.arguments = common + ["--out", killed]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait until the log has reached `target` iterations (or the run ended), then kill everything of it.
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning && lineCount(killed + "/log.jsonl") < target && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning {
                let pkill = Process()
                pkill.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
                pkill.arguments = ["-KILL", "-f", killed]
                try pkill.run()
                pkill.waitUntilExit()
                process.waitUntilExit()
                kills += 1
            }
            // Whatever the moment, the checkpoint present is complete: it opens and holds the student and the queue.
            if FileManager.default.fileExists(atPath: killed + "/checkpoint.safetensors") {
                let checkpoint = try TensorFile(path: killed + "/checkpoint.safetensors")
                #expect(checkpoint.entries.keys.contains { $0.hasPrefix("student.") }, "kill at \(target): checkpoint complete")
            }
        }
        #expect(kills >= 2, "the kills landed during training")
        let (resumed, resumedOutput) = try runProduct("cribo-pretrain", common + ["--out", killed])
        #expect(resumed == 0 && resumedOutput.contains("resumed from"), "\(resumedOutput)")
        let a = try TensorFile(path: base + "/straight/teacher_backbone.safetensors")
        let b = try TensorFile(path: killed + "/teacher_backbone.safetensors")
        for name in a.names { #expect(try a.tensor(name).scalars == b.tensor(name).scalars, "\(name) after kill -9 and resume") }
    }
}
