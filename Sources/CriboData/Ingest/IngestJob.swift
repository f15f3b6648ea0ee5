// SPDX-License-Identifier: Apache-2.0
// The generic ingest driver for one dataset split:
//   1. up-to-date check — the manifest's sources (name, size, mtime) and option hash match: nothing to do;
//   2. plan — the dataset ingestor reads the archives' metadata;
//   3. stream — every archive once, the members the plan names converted by a pool of workers into a staging
//      file (bounded memory), archives hashed (SHA-256, MD5) on a side thread;
//   4. assemble — shards in plan order into a temporary folder, manifest last;
//   5. publish — the temporary folder is exchanged with the split folder in one rename, so readers see the old
//      complete split or the new one; a kill at any point leaves at most a hidden temporary folder, removed by the
//      next run. Archive-level errors stop before step 5 and leave the previous output untouched.

import Foundation

/// What an ingest run reports while it works (the executable renders it).
package enum IngestEvent: Sendable {
    case upToDate(dataset: String, split: String, samples: Int)
    case planned(dataset: String, split: String, samples: Int?)
    case progress(done: Int, total: Int?, bytesRead: Int64)
    case warning(String)
    case finished(Manifest, seconds: Double)
}

/// Ingests one split of one dataset.
package final class IngestJob: @unchecked Sendable {
    package let ingestor: any DatasetIngestor
    package let split: String
    package let options: IngestOptions
    private let report: @Sendable (IngestEvent) -> Void

    package init(ingestor: any DatasetIngestor, split: String, options: IngestOptions, report: @escaping @Sendable (IngestEvent) -> Void) {
        self.ingestor = ingestor
        self.split = split
        self.options = options
        self.report = report
    }

    /// The split's output folder.
    package var splitFolder: String { options.outFolder + "/" + ingestor.name + "/" + split }

    /// Runs the job; returns the manifest of the (new or already up-to-date) split.
    @discardableResult
    package func run() throws -> Manifest {
        guard ingestor.knownSplits.contains(split) else {
            throw IngestError.unknownSplit(dataset: ingestor.name, split: split, known: ingestor.knownSplits)
        }
        let started = Date()
        let sources = try ingestor.archives(for: split, rawFolder: options.rawFolder).map { try sourceStat($0) }
        let configuration = options.outputConfiguration(dataset: ingestor.name, split: split)
        let configurationHash = Manifest.hash(configuration: configuration)
        if let existing = try? Manifest.load(folder: splitFolder), isUpToDate(existing, sources: sources, hash: configurationHash) {
            report(.upToDate(dataset: ingestor.name, split: split, samples: existing.sampleCount))
            return existing
        }
        let datasetFolder = options.outFolder + "/" + ingestor.name
        try createFolder(datasetFolder)
        removeStaleTemporaries(in: datasetFolder)
        let temporary = datasetFolder + "/.\(split).tmp-\(getpid())"
        try createFolder(temporary)
        var published = false
        defer { if !published { try? FileManager.default.removeItem(atPath: temporary) } }

        let plan = try ingestor.plan(split: split, options: options)
        report(.planned(dataset: ingestor.name, split: split, samples: plan.discover == nil ? plan.samples.count : nil))
        let hashing = ArchiveHashing(paths: sources.map { options.rawFolder + "/" + $0.name })
        hashing.start()
        let staging = try StagingStore(path: temporary + "/staging.bin", memoryBudget: options.stagingMemoryBytes)
        let streamer = ArchiveStreamer(plan: plan, options: options, staging: staging, report: report)
        try streamer.streamAll()
        let digests = try hashing.wait()

        var manifestSources: [Manifest.Source] = []
        for (stat, digest) in zip(sources, digests) {
            let published = publishedChecksum(archive: stat.name)
            let found = published?.algorithm == "md5" ? digest.md5 : digest.sha256
            let matches = published.map { $0.value == found }
            manifestSources.append(Manifest.Source(name: stat.name, size: stat.size, modified: stat.modified, sha256: digest.sha256,
                published: published.map { "\($0.algorithm):\($0.value)" }, matchesPublished: matches))
            if let published, matches == false {
                let mismatch = IngestError.checksumMismatch(archive: options.rawFolder + "/" + stat.name,
                    algorithm: published.algorithm, expected: published.value, found: found)
                if options.strict { throw mismatch }
                report(.warning(mismatch.description))
            }
        }

        let assembly = try ShardAssembly(plan: plan, staging: staging, streamer: streamer, options: options, folder: temporary,
            dataset: ingestor.name, split: split).run()
        try? FileManager.default.removeItem(atPath: temporary + "/staging.bin")
        let manifest = Manifest(
            dataset: ingestor.name, split: split, sources: manifestSources, shards: assembly.shards, sampleCount: assembly.sampleCount,
            fields: assembly.encodings, classNames: plan.classNames, counts: plan.counts.merging(assembly.counts) { $1 },
            labelEncoding: plan.labelEncoding, configuration: configuration, configurationHash: configurationHash,
            skipped: plan.skipped + assembly.skipped, createdBy: "cribo-ingest (shard layout \(ShardLayout.version))")
        try manifest.write(folder: temporary)
        try publish(temporary, as: splitFolder)
        published = true
        report(.finished(manifest, seconds: Date().timeIntervalSince(started)))
        return manifest
    }

    // MARK: - Helpers

    private struct SourceStat { var name: String; var size: Int64; var modified: Double }

    private func sourceStat(_ name: String) throws -> SourceStat {
        let path = options.rawFolder + "/" + name
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = (attributes[.size] as? NSNumber)?.int64Value
        else { throw IngestError.missingArchive(path: path, dataset: ingestor.name, split: split) }
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return SourceStat(name: name, size: size, modified: modified)
    }

    private func isUpToDate(_ manifest: Manifest, sources: [SourceStat], hash: String) -> Bool {
        guard manifest.configurationHash == hash, manifest.sources.count == sources.count else { return false }
        for (recorded, current) in zip(manifest.sources, sources)
        where recorded.name != current.name || recorded.size != current.size || recorded.modified != current.modified {
            return false
        }
        for shard in manifest.shards {
            let attributes = try? FileManager.default.attributesOfItem(atPath: splitFolder + "/" + shard.file)
            guard (attributes?[.size] as? NSNumber)?.intValue == shard.bytes else { return false }
        }
        return true
    }

    private func publishedChecksum(archive: String) -> (algorithm: String, value: String)? {
        guard let folder = options.definitionsFolder else { return nil }
        return DatasetDefinitions.publishedChecksum(folder: folder, dataset: ingestor.name, archive: archive)
    }

    private func createFolder(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw IngestError.cannotWrite(path: path, reason: "cannot create folder: \(error.localizedDescription)")
        }
    }

    /// Removes hidden temporaries of earlier runs that were killed (`.<split>.tmp-<pid>` whose process is gone).
    private func removeStaleTemporaries(in folder: String) {
        let prefix = ".\(split).tmp-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(prefix) {
            if let pid = Int32(name.dropFirst(prefix.count)), pid != getpid(), kill(pid, 0) == 0 { continue }
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
    }

    /// Makes `temporary` the split folder: one atomic exchange when a previous split exists, else a rename.
    private func publish(_ temporary: String, as target: String) throws {
        if FileManager.default.fileExists(atPath: target) {
            guard exchangePaths(temporary, target) else {
                throw IngestError.cannotWrite(path: target, reason: "cannot replace the previous split: \(String(cString: strerror(errno)))")
            }
            try? FileManager.default.removeItem(atPath: temporary)
        } else if rename(temporary, target) != 0 {
            throw IngestError.cannotWrite(path: target, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
    }
}
