// SPDX-License-Identifier: Apache-2.0
// Feature extraction over several ranks (thread-backed LocalWorld): the folder equals a single rank's byte for byte,
// and a run interrupted with shards recorded only in another rank's partial manifest resumes with any world size.

import CriboData
import CriboDistributed
import CriboEval
import CriboTensor
import Foundation
import Testing

extension FeaturesTests {
    /// The files of a feature folder (shards and features.json) and their bytes, by name.
    static func folderContents(_ folder: String) throws -> [String: Data] {
        var contents: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            contents[name] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
        }
        return contents
    }

    /// Extraction of the VOC val split (one image per shard, two augmented passes: 12 shards) over `ranks` ranks.
    static func extract(ranks: Int, into folder: String, fixture: EvalFixture) throws -> [[String]] {
        let world = LocalWorld(size: ranks)
        return try world.run { communicator -> [String] in
            var options = fixture.options(split: fixture.vocVal, out: folder)
            options.imagesPerShard = 1
            options.augmentationEpochs = 2
            var written: [String] = []
            try FeatureExtractor(options: options) { event in
                if case .shardWritten(let record) = event { written.append(record.file) }
            }.run(communicator: communicator)
            return written
        }
    }

    @Test func severalRanksWriteTheSameFolderAsOne() throws {
        let fixture = try evalFixture()
        let single = fixture.scratch("ranks-1"), several = fixture.scratch("ranks-4")
        let one = try Self.extract(ranks: 1, into: single, fixture: fixture)
        let four = try Self.extract(ranks: 4, into: several, fixture: fixture)
        #expect(one[0].count == 12 && four.map(\.count) == [3, 3, 3, 3], "each rank writes every 4th shard")
        #expect(Set(four.joined()) == Set(one[0]))
        let a = try Self.folderContents(single), b = try Self.folderContents(several)
        #expect(a.keys.sorted() == b.keys.sorted() && a.count == 13, "12 shards and features.json, no partial manifests left")
        for (name, bytes) in a { #expect(b[name] == bytes, "\(name) differs between 1 and 4 ranks") }
    }

    @Test func shardsRecordedByAnotherRankAreKeptOnResume() throws {
        let fixture = try evalFixture()
        let folder = fixture.scratch("ranks-resume")
        _ = try Self.extract(ranks: 3, into: folder, fixture: fixture)
        let before = try Self.folderContents(folder)
        // A crash of a 3-rank run: rank 2's partial manifest lists pass 0's 6 shards; pass 1's and features.json are gone.
        var partial = try FeatureManifest.load(path: folder + "/" + FeatureLayout.manifestName)
        let lost = partial.shards.filter { $0.file.hasPrefix("features-e01-") }.map(\.file)
        partial.shards.removeAll { lost.contains($0.file) }
        #expect(partial.shards.count == 6 && lost.count == 6, "pass 0 kept, pass 1 lost")
        try partial.write(to: folder + "/" + FeatureLayout.partialManifestName(rank: 2))
        try FileManager.default.removeItem(atPath: folder + "/" + FeatureLayout.manifestName)
        for file in lost { try FileManager.default.removeItem(atPath: folder + "/" + file) }
        let written = try Self.extract(ranks: 2, into: folder, fixture: fixture)
        #expect(Set(written.joined()) == Set(lost) && written.map(\.count) == [3, 3])
        let after = try Self.folderContents(folder)
        #expect(after.keys.sorted() == before.keys.sorted())
        for (name, bytes) in before { #expect(after[name] == bytes, "\(name) after resuming on 2 ranks") }
    }
}
