// SPDX-License-Identifier: Apache-2.0
// kill -9 during `cribo-ingest`: never a visible half-written split, and a rerun ends with exactly the shards of an
// uninterrupted run.

import CriboData
import CriboTestSupport
import Foundation
import Testing

@Suite struct IngestCrashTests {}

extension IngestCrashTests {
    func productPath(_ name: String) throws -> String {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [folder, folder.deletingLastPathComponent()].map { $0.appendingPathComponent(name).path }
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) })
    }

    @Test func killedIngestLeavesNoPartialOutputAndRerunMatches() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-kill-\(getpid())").path
        try? FileManager.default.removeItem(atPath: base)
        let raw = base + "/raw", killed = base + "/killed", clean = base + "/clean"
        let ingest = try productPath("cribo-ingest")
        // Large enough that a run takes about a second (raw storage: decode and resample), with several shards.
        _ = try runProduct("cribo-ingest", ["synthesize", "--out", raw, "--dataset", "voc", "--images-per-split", "60", "--seed", "9",
                                            "--sides", "120-160"])
        let arguments = { (out: String) in
            ["voc", "--raw", raw, "--out", out, "--shard-size-mb", "1", "--workers", "2", "--storage", "raw", "--max-side", "100"]
        }
        let (status, output) = try runProduct("cribo-ingest", arguments(clean))
        #expect(status == 0, "\(output)")
        let reference = try Manifest.load(folder: clean + "/voc/val").shards
        #expect(reference.count > 1, "several shards")

        for delay in [0.1, 0.35, 0.6, 0.9] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ingest)
            process.arguments = arguments(killed)
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            for split in ["train", "val"] {
                let folder = killed + "/voc/" + split
                if FileManager.default.fileExists(atPath: folder) {
                    #expect(IngestVerifier.verify(folder: folder).problems.isEmpty, "after a kill at \(delay) s, \(split) is complete")
                }
            }
        }
        #expect(FileManager.default.fileExists(atPath: killed + "/voc") , "the kills interrupted runs that had started")
        let (rerun, rerunOutput) = try runProduct("cribo-ingest", arguments(killed))
        #expect(rerun == 0, "\(rerunOutput)")
        #expect(try Manifest.load(folder: killed + "/voc/val").shards == reference, "same shards as an uninterrupted run")
        let hidden = try FileManager.default.contentsOfDirectory(atPath: killed + "/voc").filter { $0.hasPrefix(".") }
        #expect(hidden.isEmpty, "temporaries of killed runs removed: \(hidden)")
        try? FileManager.default.removeItem(atPath: base)
    }
}
