// SPDX-License-Identifier: Apache-2.0
// AdamW with PyTorch semantics (torch.optim.AdamW, foreach=False), DINO parameter groups, per-parameter gradient
// clipping (DINO utils.clip_gradients), freezing (DINO cancel_gradients_last_layer) and the EMA teacher update.
// reference: https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html

import CCriboShims
import CriboTensor
import Foundation

/// AdamW over a ParameterArena, with one step counter per parameter (a frozen parameter skips steps entirely and
/// starts its moments fresh at its first update, as torch does when its grad is None).
package final class AdamW {
    package var beta1: Float = 0.9
    package var beta2: Float = 0.999
    package var eps: Float = 1e-8
    /// First and second moments, laid out like the parameters.
    package let firstMoment: ParameterArena
    package let secondMoment: ParameterArena
    /// Completed updates of each slot.
    package private(set) var steps: [Int]

    package init(like parameters: ParameterArena) {
        firstMoment = ParameterArena(like: parameters)
        secondMoment = ParameterArena(like: parameters)
        steps = Array(repeating: 0, count: parameters.slots.count)
    }

    /// An optimiser whose moments live in the given arenas (laid out like the parameters; node-shared memory, say).
    package init(firstMoment: ParameterArena, secondMoment: ParameterArena) {
        precondition(firstMoment.slots == secondMoment.slots, "AdamW: the moments' layouts differ")
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
        steps = Array(repeating: 0, count: firstMoment.slots.count)
    }

    /// Restores the step counters (checkpoint loading).
    package func restore(steps: [Int]) {
        precondition(steps.count == self.steps.count, "AdamW.restore: \(steps.count) counters for \(self.steps.count) slots")
        self.steps = steps
    }

    /// One update of every trainable, non-skipped slot.
    ///
    /// Concretely, per element (PyTorch's order of operations): p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g;
    /// v ← β2·v + (1−β2)·g²; p ← p − (lr/(1−β1ᵗ))·m/(√v/√(1−β2ᵗ) + eps). wd is `weightDecay` for decayed slots
    /// (DINO group 0) and 0 for biases and 1-D tensors (group 1).
    /// - Parameters:
    ///   - skip: slots with no gradient this step (frozen last layers): untouched, no decay, no state.
    ///   - updating: the slots whose values this call updates (all by default); every slot's step counter advances, so
    ///     ranks that each update a share of the slots of shared parameters keep identical counters.
    package func step(
        parameters: ParameterArena, gradients: ParameterArena, learningRate lr: Float, weightDecay: Float,
        skip: (ParameterSlot) -> Bool = { _ in false }, updating: Range<Int>? = nil
    ) {
        let updated = updating ?? parameters.slots.indices
        for (i, slot) in parameters.slots.enumerated() where slot.isTrainable && !skip(slot) {
            steps[i] += 1
            guard updated.contains(i) else { continue }
            let t = steps[i]
            let wd = slot.isDecayed ? weightDecay : 0
            let biasCorrection1 = 1 - pow(Double(beta1), Double(t))
            let biasCorrection2 = 1 - pow(Double(beta2), Double(t))
            let stepSize = Float(Double(lr) / biasCorrection1)
            let biasCorrection2Root = Float(biasCorrection2.squareRoot())
            let p = parameters.buffer(slot: i).baseAddress!
            let g = gradients.buffer(slot: i).baseAddress!
            let m = firstMoment.buffer(slot: i).baseAddress!
            let v = secondMoment.buffer(slot: i).baseAddress!
            let decay = 1 - lr * wd
            let (b1, b2, epsilon) = (beta1, beta2, eps)
            // Per element, as the scalar loop p *= decay (when decayed); m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g·g;
            // p −= stepSize·(m / (√v / √(1−b2ᵗ) + eps)), in C so that it runs 16 (AVX-512) or 8 (AVX2) lanes at a
            // time with the same roundings (Swift kept the sqrt and the divisions scalar).
            ComputeThreads.parallelFor(slot.count, grain: 8192) { range in
                let j = range.lowerBound
                cribo_adamw_update(p + j, g + j, m + j, v + j, Int64(range.count), wd != 0 ? 1 : 0, decay, b1, b2, epsilon,
                                   stepSize, biasCorrection2Root)
            }
        }
    }
}

/// DINO's per-parameter clipping: for each slot (of `slots`, by default all), g ← g·clip/(‖g‖+1e-6) when that factor
/// is below 1. Not a global-norm clip (spec §11.13). Returns the norm of each slot before clipping.
@discardableResult
package func clipGradientsPerParameter(_ gradients: ParameterArena, maxNorm clip: Float, slots: Range<Int>? = nil) -> [Float] {
    // Sums of squares in Double over fixed blocks of each slot (all blocks of all slots spread over the threads),
    // then each slot's blocks added in order: the same bits for any thread count.
    let block = 65_536
    let chosen = Array(slots ?? gradients.slots.indices)
    var pieces: [(slot: Int, start: Int, count: Int)] = []
    for (n, i) in chosen.enumerated() {
        let count = gradients.slots[i].count
        for start in stride(from: 0, to: max(count, 1), by: block) { pieces.append((n, start, min(block, count - start))) }
    }
    let partial = UnsafeMutableBufferPointer<Double>.allocate(capacity: pieces.count)
    defer { partial.deallocate() }
    pieces.withUnsafeBufferPointer { pieces in
        ComputeThreads.parallelForEach(pieces.count) { k in
            let piece = pieces[k]
            let g = gradients.buffer(slot: chosen[piece.slot])
            partial[k] = piece.count > 0 ? reduceSquaresInDouble(g.baseAddress! + piece.start, count: piece.count) : 0
        }
    }
    var squares = [Double](repeating: 0, count: chosen.count)
    for (k, piece) in pieces.enumerated() { squares[piece.slot] += partial[k] }
    var norms: [Float] = []
    for (n, i) in chosen.enumerated() {
        let norm = Float(squares[n].squareRoot())
        norms.append(norm)
        let factor = clip / (norm + 1e-6)
        if factor < 1 {
            let g = gradients.buffer(slot: i).baseAddress!
            ComputeThreads.parallelFor(gradients.slots[i].count, grain: 16_384) { range in
                for j in range { g[j] *= factor }
            }
        }
    }
    return norms
}

/// Whether a slot is one of the last layers DINO freezes during the first `freeze_last_layer` epochs
/// (names containing "last_layer": `last_layer` and `last_layer_c`, v and g).
package func isLastLayer(_ slot: ParameterSlot) -> Bool { slot.key.contains("last_layer") }

/// The EMA teacher update: teacher ← m·teacher + (1 − m)·student for every parameter (of `slots`, by default all), in
/// PyTorch's order (`mul_(m).add_((1 - m) * student)`), including weight-norm g and v.
package func updateTeacher(_ teacher: ParameterArena, student: ParameterArena, momentum m: Float, slots: Range<Int>? = nil) {
    precondition(teacher.slots.map(\.shape) == student.slots.map(\.shape), "updateTeacher: layouts differ")
    let oneMinus = 1 - m
    // The storage span of the slots (padding included: zero in both arenas, it stays zero).
    let span = teacher.storageSpan(slots: slots ?? teacher.slots.indices)
    let t = teacher.storage.pointer + span.lowerBound
    let s = student.storage.pointer + span.lowerBound
    ComputeThreads.parallelFor(span.count, grain: 16_384) { range in
        for j in range { t[j] = t[j] * m + oneMinus * s[j] }
    }
}
