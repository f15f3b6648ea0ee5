// SPDX-License-Identifier: Apache-2.0
// The CrIBo method core against the official algorithm re-typed in PyTorch (cribo_method.safetensors, written by
// Tests/CriboTestSupport/Golden/make_cribo_golden.py): assignments, weights, centroids, validity, neighbours,
// cycle masks, the queue update, the three losses, the centers, and the gradients down to the student tokens.

import CriboNN
import CriboTensor
import CriboTestSupport
import CriboTraining
import Testing

/// Forward tolerance: float32 with other summation orders than PyTorch's (1e-5 relative).
let methodForwardRelative: Float = 1e-5
let methodForwardAbsolute: Float = 1e-6
/// Loss tolerance (1e-5 relative; measured ~1e-7 although the teacher temperatures amplify input rounding ~20×).
let methodLossRelative: Float = 1e-5
/// Gradient tolerance (1e-5 relative plus 1e-6 absolute; measured ≤ 1.2e-6 absolute on values up to ~2).
let methodGradientRelative: Float = 1e-5
let methodGradientAbsolute: Float = 1e-6

@Suite struct MethodGoldenTests {}

/// The golden's inputs and the Swift results of the clustering, shared by the tests.
struct MethodGoldenCase {
    let file: TensorFile
    let B = 3, N = 16, D = 8, K = 5, queueSize = 6, outputs = 12
    let assignment: ClusterAssignment
    let centroids: RegionCentroids

    init() throws {
        file = try golden("cribo_method.safetensors")
        let clustering = JointClustering(clusterCount: K, iterations: 5, sinkhornLambda: 20, sinkhornIterations: 5)
        assignment = clustering.assign(tokens: try file.tensor("tokens_t"), positions: try file.tensor("positions"),
                                       seeds: try file.integers("seeds").map { Int($0) }, positionWeight: 1.5)
        centroids = assignment.teacherCentroids(tokens: try file.tensor("tokens_t"))
    }

    func queue() throws -> CentroidQueue {
        CentroidQueue(centroids: try file.tensor("queue"), centroidsPerImage: try file.integers("cpv_queue").map { Int($0) },
                      classTokens: try file.tensor("cls_queue"), clusterCount: K)
    }

    /// Rows [view, ...] of a [2, R, C] tensor.
    func half(_ name: String, view: Int) throws -> Tensor {
        let t = try file.tensor(name)
        let rows = t.shape[1], C = t.shape[2]
        return Tensor(shape: [rows, C], values: Array(t.scalars[(view * rows * C)..<((view + 1) * rows * C)]))
    }
}

extension MethodGoldenTests {
    @Test func clusteringMatchesTheReferenceExactly() throws {
        let c = try MethodGoldenCase()
        // Hard assignments are 0/1 and the weights are 1/count: both must agree bit for bit.
        #expect(c.assignment.hard.scalars == (try c.file.tensor("assignment")).scalars, "hard assignment")
        #expect(c.assignment.weights.scalars == (try c.file.tensor("weights")).scalars, "weights W1, W2")
        // The golden holds an empty cluster and a one-view cluster, so V < B·K.
        let valid = try c.file.integers("valid")
        #expect(c.centroids.validClusters == valid.indices.filter { valid[$0] != 0 })
        #expect(c.centroids.count < c.B * c.K)
        #expect(c.centroids.centroidsPerImage == (try c.file.integers("cpv")).map { Int($0) })
        expectClose(c.centroids.view1, try c.file.tensor("tc1"), atol: methodForwardAbsolute, rtol: methodForwardRelative, "tc1")
        expectClose(c.centroids.view2, try c.file.tensor("tc2"), atol: methodForwardAbsolute, rtol: methodForwardRelative, "tc2")
    }

    @Test(arguments: [1, 3, 7, 2048])
    func neighboursAndCyclesMatchTheReference(chunkRows: Int) throws {
        let c = try MethodGoldenCase()
        let matches = try c.queue().nearestNeighbours(view1: c.centroids.view1, view2: c.centroids.view2, chunkRows: chunkRows)
        #expect(matches.index1 == (try c.file.integers("nn_index1")).map { Int($0) }, "j1")
        #expect(matches.index2 == (try c.file.integers("nn_index2")).map { Int($0) }, "j2")
        #expect(matches.isCycleConsistent1 == (try c.file.integers("mask1")).map { $0 != 0 }, "mask1")
        #expect(matches.isCycleConsistent2 == (try c.file.integers("mask2")).map { $0 != 0 }, "mask2")
    }

    @Test func queueUpdateMatchesTheReference() throws {
        let c = try MethodGoldenCase()
        let queue = try c.queue()
        let classTokens = try c.file.tensor("t_cls")
        let normalized = Tensor(zeros: classTokens.shape), norms = Tensor(zeros: [2 * c.B])
        l2NormalizeForward(output: normalized.pointer, norms: norms.pointer, input: classTokens.pointer, rows: 2 * c.B, columns: c.D)
        let values = normalized.scalars
        queue.enqueue(centroidsPerImage: c.centroids.centroidsPerImage, classTokens1: Array(values[..<(c.B * c.D)]),
                      classTokens2: Array(values[(c.B * c.D)...]), pool1: (try c.file.tensor("tc1")).scalars,
                      pool2: (try c.file.tensor("tc2")).scalars)
        #expect(queue.centroids.scalars == (try c.file.tensor("queue_after")).scalars, "centroid queue")
        #expect(queue.centroidsPerImage == (try c.file.integers("cpv_queue_after")).map { Int($0) })
        expectClose(queue.classTokens, try c.file.tensor("cls_queue_after"), atol: methodForwardAbsolute, rtol: methodForwardRelative, "cls queue")

        // 8 gathered images into a 6-image queue: the first 6 images and their centroids are kept.
        let truncated = try c.queue()
        let newClass = try c.file.tensor("trunc.cls_new").scalars
        truncated.enqueue(centroidsPerImage: (try c.file.integers("trunc.cpv_new")).map { Int($0) },
                          classTokens1: Array(newClass[..<(8 * c.D)]), classTokens2: Array(newClass[(8 * c.D)...]),
                          pool1: (try c.file.tensor("trunc.pool1")).scalars, pool2: (try c.file.tensor("trunc.pool2")).scalars)
        #expect(truncated.centroids.scalars == (try c.file.tensor("trunc.queue_after")).scalars, "truncated centroid queue")
        #expect(truncated.centroidsPerImage == (try c.file.integers("trunc.cpv_queue_after")).map { Int($0) })
        #expect(truncated.classTokens.scalars == (try c.file.tensor("trunc.cls_queue_after")).scalars, "truncated cls queue")
    }

    @Test(arguments: [(0, Float(0.04), Float(0.045)), (1, Float(0.055), Float(0.06))])
    func lossesGradientsAndCentersMatchTheReference(epoch: Int, teacherTemperature: Float, centroidTemperature: Float) throws {
        let c = try MethodGoldenCase()
        let g = c.file, p = "e\(epoch)."
        let V = c.centroids.count, O = c.outputs
        // Student centroids with the teacher's weights, through a linear stand-in for the head: sc = [sc1; sc2]·Hs.
        let studentTokens = try g.tensor("tokens_s")
        let (sc1, sc2) = c.assignment.pooledCentroids(tokens: studentTokens, validClusters: c.centroids.validClusters)
        expectClose(sc1, try g.tensor(p + "sc1"), atol: methodForwardAbsolute, rtol: methodForwardRelative, "sc1")
        expectClose(sc2, try g.tensor(p + "sc2"), atol: methodForwardAbsolute, rtol: methodForwardRelative, "sc2")
        let stacked = Tensor(shape: [2 * V, c.D], values: sc1.scalars + sc2.scalars)
        let headS = try g.tensor("head_s")
        let sc = Tensor(zeros: [2 * V, O])
        gemm(transposeA: false, transposeB: false, m: 2 * V, n: O, k: c.D, a: stacked.pointer, lda: c.D, b: headS.pointer, ldb: O, c: sc.pointer, ldc: O)
        expectClose(sc, try g.tensor(p + "sc_out"), atol: methodForwardAbsolute, rtol: methodForwardRelative, "sc")

        let loss = CriboLoss(outputDimension: O, centroidOutputDimension: O)
        loss.center.assign(from: Tensor(shape: [O], values: try g.tensor("center").scalars))
        loss.centroidCenter.assign(from: Tensor(shape: [O], values: try g.tensor("center_c").scalars))
        let targets = CriboLossTargets(
            teacherOutput: try g.tensor("t_out"), teacherCentroidOutput: try g.tensor("tc_out"),
            neighbourOutput1: try c.half("tnn_out", view: 0), neighbourOutput2: try c.half("tnn2_out", view: 1),
            isCycleConsistent1: (try g.integers("mask1")).map { $0 != 0 }, isCycleConsistent2: (try g.integers("mask2")).map { $0 != 0 })
        let dOutput = Tensor(zeros: [2 * c.B, O]), dCentroidOutput = Tensor(zeros: [2 * V, O])
        let values = loss(dStudentOutput: dOutput, dStudentCentroidOutput: dCentroidOutput, studentOutput: try g.tensor("s_out"),
                          studentCentroidOutput: sc, targets: targets, epoch: epoch, teacherTemperature: teacherTemperature,
                          teacherCentroidTemperature: centroidTemperature)
        let measured = Tensor(shape: [3], values: [values.global, values.object, values.neighbour])
        let expected = Tensor(shape: [3], values: [try g.tensor(p + "d_loss")[flat: 0], try g.tensor(p + "s_loss")[flat: 0], try g.tensor(p + "nn_loss")[flat: 0]])
        expectClose(measured, expected, atol: 0, rtol: methodLossRelative, "d, s, nn losses")
        #expect((epoch == 0) == (values.neighbour == 0))
        expectClose(dOutput, try g.tensor(p + "grad.s_out"), atol: methodGradientAbsolute, rtol: methodGradientRelative, "dL/ds_out")
        expectClose(dCentroidOutput, try g.tensor(p + "grad.sc_out"), atol: methodGradientAbsolute, rtol: methodGradientRelative, "dL/dsc")

        // Back through the linear head, then the pooling: dTokens (the [CLS] rows stay zero).
        let dStacked = Tensor(zeros: [2 * V, c.D])
        gemm(transposeA: false, transposeB: true, m: 2 * V, n: c.D, k: O, a: dCentroidOutput.pointer, lda: O, b: headS.pointer, ldb: O, c: dStacked.pointer, ldc: c.D)
        let dTokens = Tensor(zeros: studentTokens.shape)
        c.assignment.pooledCentroidsBackward(
            dTokens: dTokens, dView1: Tensor(shape: [V, c.D], values: Array(dStacked.scalars[..<(V * c.D)])),
            dView2: Tensor(shape: [V, c.D], values: Array(dStacked.scalars[(V * c.D)...])), validClusters: c.centroids.validClusters)
        expectClose(dTokens, try g.tensor(p + "grad.tokens_s"), atol: methodGradientAbsolute, rtol: methodGradientRelative, "dL/dtokens")

        loss.updateCenters(teacherOutputSum: CriboLoss.columnSums(try g.tensor("t_out")), teacherOutputRows: 2 * c.B,
                           centroidOutputSum: CriboLoss.columnSums(try g.tensor("tc_out")), centroidRows: 2 * V)
        expectClose(loss.center, try g.tensor(p + "center_after"), atol: methodForwardAbsolute, rtol: methodForwardRelative, "center")
        expectClose(loss.centroidCenter, try g.tensor(p + "center_c_after"), atol: methodForwardAbsolute, rtol: methodForwardRelative, "center_c")
    }
}
