// SPDX-License-Identifier: Apache-2.0
// The three CrIBo losses, their gradients with respect to the student head outputs, and the two DINO centers
// (spec §4.7; official CrIBoLoss.forward and update_center). float32 throughout. The all-reduces of the center
// update stay outside: `updateCenters` takes the summed rows and counts. Legend: B images per view, O [CLS]
// output dims, P centroid output dims, V valid clusters.

import CriboNN
import CriboTensor

/// The loss values of one step.
package struct CriboLossValues: Sendable, Equatable {
    /// d_loss, the DINO loss between the views' [CLS] outputs.
    package var global: Float
    /// s_loss, the loss between the views' object centroids.
    package var object: Float
    /// nn_loss, the loss between a centroid's queue neighbour and the other view's centroid (0 in epoch 0).
    package var neighbour: Float
    /// d + s + nn.
    package var total: Float { global + object + neighbour }
}

/// The teacher-side inputs of the loss that do not carry gradients.
package struct CriboLossTargets {
    /// [2B, O] teacher [CLS] head outputs (view-1 images, then view-2).
    package var teacherOutput: Tensor
    /// [2V, P] teacher centroid head outputs, view-1 centroids then view-2.
    package var teacherCentroidOutput: Tensor
    /// [V, P] teacher head of Q[0][j₁], the view-1 neighbours of the view-1 centroids; nil before epoch 1.
    package var neighbourOutput1: Tensor?
    /// [V, P] teacher head of Q[1][j₂]; nil before epoch 1.
    package var neighbourOutput2: Tensor?
    /// [V] mask1 and mask2 of the cycle checks.
    package var isCycleConsistent1: [Bool], isCycleConsistent2: [Bool]

    /// Bundles the teacher-side inputs.
    package init(
        teacherOutput: Tensor, teacherCentroidOutput: Tensor, neighbourOutput1: Tensor? = nil,
        neighbourOutput2: Tensor? = nil, isCycleConsistent1: [Bool] = [], isCycleConsistent2: [Bool] = []
    ) {
        self.teacherOutput = teacherOutput
        self.teacherCentroidOutput = teacherCentroidOutput
        self.neighbourOutput1 = neighbourOutput1
        self.neighbourOutput2 = neighbourOutput2
        self.isCycleConsistent1 = isCycleConsistent1
        self.isCycleConsistent2 = isCycleConsistent2
    }
}

/// CrIBo's loss with its centering state.
///
/// Concretely, with H(p, z) = −Σ p·log_softmax(z):
/// d = ½[mean_b H(T₁, s₂/τ_s) + mean_b H(T₂, s₁/τ_s)], T_v = softmax((t_v − C)/τ_t);
/// s = ½[mean_i H(U₁, σ₂) + mean_i H(U₂, σ₁)], U = softmax((tc − C_c)/τ_tc), σ = sc/τ_sc;
/// nn (epoch ≥ 1, |mask1| > 0) = ½[Σ_{mask1} H(R₁, σ₂) + Σ_{mask2} H(R₂, σ₁)]/|mask1| — both terms divide
/// by |mask1|, as the reference does.
/// reference: main_cribo.py CrIBoLoss (GitHub tileb1/CrIBo).
package final class CriboLoss {
    /// [O] C, the center of the teacher [CLS] outputs (zeros at the start).
    package let center: Tensor
    /// [P] C_c, the center of the teacher centroid outputs.
    package let centroidCenter: Tensor
    /// τ_s of the [CLS] path: 0.1, fixed in the reference (the CLI `student_temp` is unused).
    package var studentTemperature: Float = 0.1
    /// τ_sc, `student_temp_c`.
    package var studentCentroidTemperature: Float
    /// The momentum of both centers (0.9 in the reference).
    package var centerMomentum: Float = 0.9

    /// A loss with zero centers.
    package init(outputDimension: Int, centroidOutputDimension: Int, studentCentroidTemperature: Float = 0.1) {
        center = Tensor(zeros: [outputDimension])
        centroidCenter = Tensor(zeros: [centroidOutputDimension])
        self.studentCentroidTemperature = studentCentroidTemperature
    }

    /// The three losses, and their gradients accumulated into the student gradients.
    ///
    /// With V = 0 the object and neighbour losses are 0 (the reference's empty mean would be NaN).
    /// - Parameters:
    ///   - dStudentOutput: [2B, O] accumulated ∂L/∂s_out, or nil.
    ///   - dStudentCentroidOutput: [2V, P] accumulated ∂L/∂sc, or nil.
    ///   - studentOutput: [2B, O] student [CLS] head outputs.
    ///   - studentCentroidOutput: [2V, P] student centroid head outputs.
    ///   - targets: the teacher outputs and masks.
    ///   - epoch: 0-based; the neighbour loss needs epoch ≥ 1.
    ///   - teacherTemperature: τ_t(epoch); teacherCentroidTemperature: τ_tc(epoch).
    package func callAsFunction(
        dStudentOutput: Tensor?, dStudentCentroidOutput: Tensor?, studentOutput: Tensor, studentCentroidOutput: Tensor,
        targets: CriboLossTargets, epoch: Int, teacherTemperature: Float, teacherCentroidTemperature: Float
    ) -> CriboLossValues {
        let O = center.count, P = centroidCenter.count
        let B = studentOutput.count / (2 * O), V = studentCentroidOutput.count / (2 * P)
        precondition(studentOutput.shape == [2 * B, O] && targets.teacherOutput.shape == [2 * B, O] && B > 0,
                     "CriboLoss: expected [2B, \(O)] outputs, got \(studentOutput.shape) and \(targets.teacherOutput.shape)")
        precondition(studentCentroidOutput.shape == [2 * V, P] && targets.teacherCentroidOutput.shape == [2 * V, P],
                     "CriboLoss: expected [2V, \(P)] centroid outputs, got \(studentCentroidOutput.shape) and \(targets.teacherCentroidOutput.shape)")
        dStudentOutput.map { precondition($0.shape == [2 * B, O], "CriboLoss: dStudentOutput is \($0.shape), expected [\(2 * B), \(O)]") }
        dStudentCentroidOutput.map { precondition($0.shape == [2 * V, P], "CriboLoss: dStudentCentroidOutput is \($0.shape), expected [\(2 * V), \(P)]") }

        // d_loss: the student's view-2 rows against the teacher's view 1, and the other way round.
        let teacher = Tensor(zeros: [2 * B, O])
        softmaxForward(output: teacher.pointer, input: targets.teacherOutput.pointer, shift: center.pointer,
                       scale: 1 / teacherTemperature, rows: 2 * B, columns: O)
        let global = crossPairs(dStudent: dStudentOutput, student: studentOutput, target: teacher, rows: B, columns: O,
                                temperature: studentTemperature, weights1: .init(repeating: 0.5 / Float(B), count: B),
                                weights2: .init(repeating: 0.5 / Float(B), count: B))
        guard V > 0 else { return CriboLossValues(global: global, object: 0, neighbour: 0) }

        let objects = Tensor(zeros: [2 * V, P])
        softmaxForward(output: objects.pointer, input: targets.teacherCentroidOutput.pointer, shift: centroidCenter.pointer,
                       scale: 1 / teacherCentroidTemperature, rows: 2 * V, columns: P)
        let half = [Float](repeating: 0.5 / Float(V), count: V)
        let object = crossPairs(dStudent: dStudentCentroidOutput, student: studentCentroidOutput, target: objects, rows: V,
                                columns: P, temperature: studentCentroidTemperature, weights1: half, weights2: half)

        var neighbour: Float = 0
        let m1 = targets.isCycleConsistent1.reduce(0) { $0 + ($1 ? 1 : 0) }
        if epoch >= 1 && m1 > 0 {
            precondition(targets.isCycleConsistent1.count == V && targets.isCycleConsistent2.count == V,
                         "CriboLoss: expected \(V) cycle masks, got \(targets.isCycleConsistent1.count) and \(targets.isCycleConsistent2.count)")
            guard let output1 = targets.neighbourOutput1, let output2 = targets.neighbourOutput2,
                  output1.shape == [V, P], output2.shape == [V, P] else {
                preconditionFailure("CriboLoss: epoch \(epoch) needs [\(V), \(P)] neighbour outputs")
            }
            // Rows 0..<V of the target pair with the student's view-2 centroids (R₁ = nn(c₁)), rows V..<2V with
            // its view-1 centroids (R₂ = nn(c₂)); masked rows get weight 0.
            let retrieved = Tensor(zeros: [2 * V, P])
            softmaxForward(output: retrieved.pointer, input: output1.pointer, shift: centroidCenter.pointer,
                           scale: 1 / teacherCentroidTemperature, rows: V, columns: P)
            softmaxForward(output: retrieved.pointer + V * P, input: output2.pointer, shift: centroidCenter.pointer,
                           scale: 1 / teacherCentroidTemperature, rows: V, columns: P)
            let w = 0.5 / Float(m1)
            neighbour = crossPairs(dStudent: dStudentCentroidOutput, student: studentCentroidOutput, target: retrieved,
                                   rows: V, columns: P, temperature: studentCentroidTemperature,
                                   weights1: targets.isCycleConsistent1.map { $0 ? w : 0 },
                                   weights2: targets.isCycleConsistent2.map { $0 ? w : 0 })
        }
        return CriboLossValues(global: global, object: object, neighbour: neighbour)
    }

    /// C ← m·C + (1 − m)·Σ/rows for both centers (after the loss, which used the old centers).
    /// - Parameters:
    ///   - teacherOutputSum: [O] the all-reduced column sums of the teacher [CLS] outputs.
    ///   - teacherOutputRows: 2B·W.
    ///   - centroidOutputSum: [P] the all-reduced column sums of the teacher centroid outputs (not the neighbours).
    ///   - centroidRows: the all-reduced 2V; when 0 (no valid cluster anywhere; the reference divides by zero)
    ///     C_c is left unchanged.
    package func updateCenters(teacherOutputSum: [Float], teacherOutputRows: Int, centroidOutputSum: [Float], centroidRows: Int) {
        precondition(teacherOutputSum.count == center.count && centroidOutputSum.count == centroidCenter.count,
                     "updateCenters: expected \(center.count) and \(centroidCenter.count) sums, got \(teacherOutputSum.count) and \(centroidOutputSum.count)")
        precondition(teacherOutputRows > 0, "updateCenters: teacherOutputRows must be positive, got \(teacherOutputRows)")
        let m = centerMomentum
        for o in 0..<center.count {
            center.pointer[o] = center.pointer[o] * m + teacherOutputSum[o] / Float(teacherOutputRows) * (1 - m)
        }
        guard centroidRows > 0 else { return }
        for p in 0..<centroidCenter.count {
            centroidCenter.pointer[p] = centroidCenter.pointer[p] * m + centroidOutputSum[p] / Float(centroidRows) * (1 - m)
        }
    }

    /// Σ over rows of an [R, C] matrix, per column (the local part of a center update).
    package static func columnSums(_ x: Tensor) -> [Float] {
        let C = x.shape.last ?? 0, R = C == 0 ? 0 : x.count / C
        var sums = [Double](repeating: 0, count: C)
        for r in 0..<R {
            for c in 0..<C { sums[c] += Double(x.pointer[r * C + c]) }
        }
        return sums.map { Float($0) }
    }

    /// Σ_i w₁[i]·H(target[i], s₂[i]/τ) + Σ_i w₂[i]·H(target[R+i], s₁[i]/τ), with the gradient accumulated into
    /// `dStudent`; student and target are [2R, C] (view-1 rows, then view-2 rows).
    private func crossPairs(
        dStudent: Tensor?, student: Tensor, target: Tensor, rows R: Int, columns C: Int, temperature: Float,
        weights1: [Float], weights2: [Float]
    ) -> Float {
        let losses = Tensor(zeros: [2 * R])
        var total = 0.0
        for (studentHalf, targetHalf, weights) in [(1, 0, weights1), (0, 1, weights2)] {
            weights.withUnsafeBufferPointer { w in
                crossEntropy(loss: losses.pointer + studentHalf * R, dLogits: dStudent.map { $0.pointer + studentHalf * R * C },
                             target: target.pointer + targetHalf * R * C, logits: student.pointer + studentHalf * R * C,
                             temperature: temperature, rowWeights: w.baseAddress, rows: R, columns: C)
                for i in 0..<R where w[i] != 0 { total += Double(w[i]) * Double(losses.pointer[studentHalf * R + i]) }
            }
        }
        return Float(total)
    }
}
