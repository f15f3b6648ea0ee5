// SPDX-License-Identifier: Apache-2.0
// Streaming the archives of a plan once: every member the plan names (or that `discover` turns into a sample) is
// read into memory and handed to a bounded pool of conversion workers; everything else is skipped unread. Nested
// archives (ImageNet's tar of tars) are opened from memory, one at a time.

import Foundation

/// Streams a plan's archives into a staging store.
final class ArchiveStreamer: @unchecked Sendable {
    let plan: IngestPlan
    let options: IngestOptions
    let staging: StagingStore
    private let report: @Sendable (IngestEvent) -> Void
    private let lock = NSLock()
    private var samples: [PlannedSample]
    private var index: [MemberReference: [(sample: Int, kind: PartKind)]] = [:]
    private var fatal: Error?
    private var converted = 0
    private var bytesRead: Int64 = 0
    private var lastReport = Date.distantPast
    private let queue = OperationQueue()
    private let slots: DispatchSemaphore

    init(plan: IngestPlan, options: IngestOptions, staging: StagingStore, report: @escaping @Sendable (IngestEvent) -> Void) {
        self.plan = plan
        self.options = options
        self.staging = staging
        self.report = report
        samples = plan.samples
        queue.maxConcurrentOperationCount = max(1, options.workers)
        slots = DispatchSemaphore(value: 2 * max(1, options.workers))
        for (i, sample) in plan.samples.enumerated() {
            for (reference, kind) in sample.parts { index[reference, default: []].append((i, kind)) }
        }
    }

    /// All samples: planned ones first, then discovered ones in discovery order.
    var allSamples: [PlannedSample] { lock.withLock { samples } }

    /// Streams every archive of the plan; throws the first archive-level or storage error.
    func streamAll() throws {
        defer { queue.waitUntilAllOperationsAreFinished() }
        for archive in plan.archives {
            let reader = try ArchiveReader(path: options.rawFolder + "/" + archive)
            try stream(reader, path: [archive])
        }
        queue.waitUntilAllOperationsAreFinished()
        if let fatal = lock.withLock({ fatal }) { throw fatal }
        report(.progress(done: lock.withLock { converted }, total: plan.discover == nil ? samples.count : nil, bytesRead: bytesRead))
    }

    private func stream(_ reader: ArchiveReader, path: [String]) throws {
        while let entry = try reader.next() {
            if let fatal = lock.withLock({ fatal }) { throw fatal }
            guard entry.isRegularFile else { continue }
            let reference = MemberReference(archive: path[0], nested: Array(path.dropFirst()), member: entry.name)
            if plan.isNestedArchive(reference) {
                let data = try reader.readData()
                bytesRead += Int64(data.count)
                try stream(try ArchiveReader(data: data, name: reference.description), path: path + [entry.name])
                continue
            }
            var targets = lock.withLock { index[reference] ?? [] }
            if targets.isEmpty, let discover = plan.discover, let sample = discover(reference) {
                targets = lock.withLock {
                    samples.append(sample)
                    return sample.parts.filter { $0.key == reference }.map { (samples.count - 1, $0.value) }
                }
            }
            guard !targets.isEmpty else {
                try reader.skipData()
                continue
            }
            let data = try reader.readData(limit: 1 << 30)
            bytesRead += Int64(data.count)
            submit(data, reference: reference, targets: targets)
            reportProgress()
        }
    }

    private func submit(_ data: Data, reference: MemberReference, targets: [(sample: Int, kind: PartKind)]) {
        slots.wait()
        let (storage, maxSide) = (options.storage, options.maxSide)
        queue.addOperation { [self] in
            defer { slots.signal() }
            for (sample, kind) in targets {
                do {
                    let part = try PartConverter.convert(data, kind: kind, storage: storage, maxSide: maxSide)
                    try store(part, sample: sample)
                    if kind == .image, let derive = plan.derivedFields {
                        let planned = lock.withLock { samples[sample] }
                        let (height, width) = part.sourceSize
                        for (field, map) in try derive(planned, height, width) {
                            let blob = try PartConverter.encodeLabelMap(map.bytes, height: height, width: width, storage: storage, maxSide: maxSide)
                            try store(ConvertedPart(field: field, blob: blob, sourceSize: part.sourceSize), sample: sample)
                        }
                    }
                } catch let error as IngestError {
                    staging.fail(sample: sample, reason: error.description)
                } catch let error as CodecError {
                    staging.fail(sample: sample, reason: "\(reference): \(error.message)")
                } catch {
                    staging.fail(sample: sample, reason: "\(reference): \(error)")
                }
            }
            lock.withLock { converted += 1 }
        }
    }

    private func store(_ part: ConvertedPart, sample: Int) throws {
        do { try staging.put(sample: sample, field: part.field, blob: part.blob, sourceSize: part.sourceSize) } catch {
            lock.withLock { if fatal == nil { fatal = error } }
            throw error
        }
    }

    private func reportProgress() {
        let now = Date()
        guard now.timeIntervalSince(lastReport) >= 0.5 else { return }
        lastReport = now
        let (done, total) = lock.withLock { (converted, plan.discover == nil ? samples.count : nil) }
        report(.progress(done: done, total: total, bytesRead: bytesRead))
    }
}
