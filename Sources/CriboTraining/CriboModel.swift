// SPDX-License-Identifier: Apache-2.0
// The student and teacher of CrIBo: ViT backbone + DINO head (keys "backbone.*" and "head.*", as DINO's
// MultiCropWrapper state_dict), one parameter arena each, gradients and AdamW moments laid out alike.

import CriboDistributed
import CriboNN
import CriboTensor

/// The networks and optimiser state of a run.
///
/// Under MPI with every rank on one machine, student, teacher and AdamW moments are held once, in node-shared memory,
/// and every rank's gradients sit there too: after the backward pass each rank averages, clips and applies AdamW and the
/// EMA to its own share of the slots (`NodeSharedState`), instead of every rank repeating the whole update on its own
/// copy. The arithmetic per element is the same, so the weights are the same, bit for bit.
package final class CriboModel {
    package let backbone: VisionTransformer
    package let head: DINOHead
    package let student: ParameterArena
    package let teacher: ParameterArena
    /// This rank's gradients.
    package let gradients: ParameterArena
    package let optimizer: AdamW
    /// Set when the state is node-shared.
    package let shared: NodeSharedState?

    /// The node-shared layout: every rank's gradients, and this rank's share of the update.
    package struct NodeSharedState {
        /// This rank, and the world size.
        package let rank: Int, ranks: Int
        /// The slots whose average gradient, clipping, AdamW and EMA this rank computes.
        package let slots: Range<Int>
        /// Every rank's gradients, in rank order.
        package let gradientsOfRank: [ParameterArena]

        /// The mean over ranks of the gradients of this rank's slots, written into this rank's gradients: the rank-order
        /// sum times Float(1)/Float(ranks), as `Communicator.allReduceMean` computes it.
        package func averageGradients() {
            let span = gradientsOfRank[rank].storageSpan(slots: slots)
            let sources = gradientsOfRank.map { $0.storage.pointer + span.lowerBound }
            let target = gradientsOfRank[rank].storage.pointer + span.lowerBound
            let scale = 1 / Float(ranks)
            ComputeThreads.parallelFor(span.count, grain: 16_384) { range in
                // In blocks: each element summed in rank order into a block buffer (rank by rank, so that the adds
                // vectorise across elements), then scaled into this rank's gradients (one of the sources).
                let block = UnsafeMutablePointer<Float>.allocate(capacity: 1024)
                defer { block.deallocate() }
                var start = range.lowerBound
                while start < range.upperBound {
                    let n = min(1024, range.upperBound - start)
                    block.update(from: sources[0] + start, count: n)
                    for r in 1..<sources.count {
                        let source = sources[r] + start
                        for k in 0..<n { block[k] += source[k] }
                    }
                    let out = target + start
                    for k in 0..<n { out[k] = block[k] * scale }
                    start += n
                }
            }
        }
    }

    /// Student initialised from `seed` (spec §1-2), teacher = student.
    /// - Parameter communicator: with a one-node MPI world of several ranks, the state is node-shared (rank 0
    ///   initialises it); otherwise, or where the world has no shared memory, every rank holds its own copy.
    package init(configuration: PretrainConfiguration, communicator: (any Communicator)? = nil) {
        backbone = VisionTransformer(configuration: configuration.backbone, prefix: "backbone.")
        head = DINOHead(configuration: configuration.head, prefix: "head.")
        let slots = VisionTransformer.parameterSlots(for: configuration.backbone, prefix: "backbone.")
            + DINOHead.parameterSlots(for: configuration.head, prefix: "head.")
        let count = ParameterArena.storageCount(for: slots)
        if let communicator, communicator.size > 1, let memory = Self.nodeShared(count: count, arenas: 4 + communicator.size, communicator) {
            func arena(_ k: Int) -> ParameterArena {
                ParameterArena(slots: slots, storage: Tensor(viewing: memory[k], shape: [count]))
            }
            student = arena(0)
            teacher = arena(1)
            optimizer = AdamW(firstMoment: arena(2), secondMoment: arena(3))
            let gradientsOfRank = (0..<communicator.size).map { arena(4 + $0) }
            gradients = gradientsOfRank[communicator.rank]
            shared = NodeSharedState(rank: communicator.rank, ranks: communicator.size,
                                     slots: student.share(of: communicator.rank, ranks: communicator.size), gradientsOfRank: gradientsOfRank)
            if communicator.rank == 0 {
                student.initialize(seed: configuration.seed)
                teacher.assign(from: student)
            }
            communicator.nodeFence()
        } else {
            student = ParameterArena(slots: slots)
            student.initialize(seed: configuration.seed)
            teacher = ParameterArena(like: student)
            teacher.assign(from: student)
            gradients = ParameterArena(like: student)
            optimizer = AdamW(like: student)
            shared = nil
        }
    }

    /// `arenas` node-shared buffers of `count` floats, or nil (on every rank) when the world cannot share memory.
    private static func nodeShared(count: Int, arenas: Int, _ communicator: any Communicator) -> [UnsafeMutablePointer<Float>]? {
        guard let memory = communicator.nodeSharedFloats(count: count * arenas) else { return nil }
        return (0..<arenas).map { memory + $0 * count }
    }

    /// Loads saved state: `restore` fills student, teacher and both moments. With node-shared state rank 0 alone
    /// restores (into the shared memory); the ranks then agree on whether it succeeded, so that all of them fail
    /// together (rank 0 with the reason) rather than wait at the fence, and meet at a fence.
    package func restoreState(
        communicator: any Communicator,
        _ restore: (_ student: ParameterArena, _ teacher: ParameterArena, _ firstMoment: ParameterArena, _ secondMoment: ParameterArena) throws -> Void
    ) throws {
        guard shared != nil else {
            try restore(student, teacher, optimizer.firstMoment, optimizer.secondMoment)
            return
        }
        var failure: (any Error)?
        if communicator.rank == 0 {
            do { try restore(student, teacher, optimizer.firstMoment, optimizer.secondMoment) } catch { failure = error }
        }
        let failed = communicator.sum(Int64(failure == nil ? 0 : 1))
        communicator.nodeFence()
        if let failure { throw failure }
        if failed > 0 { throw TrainingError.configuration("rank 0 could not restore the checkpoint (its message names the problem)") }
    }

    /// The teacher backbone as a stand-alone backbone (prefix stripped), for export.
    package func exportTeacherBackbone(to path: String, metadata: [String: String]) throws {
        try BackboneCheckpoint.save(backbone, parameters: teacher, to: path, extraMetadata: metadata)
    }
}
