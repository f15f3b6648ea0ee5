// SPDX-License-Identifier: Apache-2.0
// Properties of the CrIBo method core that the golden does not reach: the seed sampler, K > 2N, B = 1, V = 0,
// ties, the queue's start state, and a finite-difference check of the centroid pooling backward.

import CriboTensor
import CriboTestSupport
import CriboTraining
import Testing

@Suite struct MethodPropertyTests {}

/// Random tokens [2B, 1+N, D] and grid positions [2, B, 2, N] (view 2 shifted by a few pixels).
private func randomProblem(B: Int, N: Int, D: Int, seed: UInt64) -> (Tensor, Tensor) {
    let tokens = randomTensor([2 * B, 1 + N, D], seed: seed)
    let side = Int(Double(N).squareRoot().rounded(.up))
    let positions = Tensor(zeros: [2, B, 2, N])
    for v in 0..<2 {
        for b in 0..<B {
            for n in 0..<N {
                positions[flat: ((v * B + b) * 2) * N + n] = Float(n % side) * 8 + Float(v * 3)
                positions[flat: ((v * B + b) * 2 + 1) * N + n] = Float(n / side) * 8 + Float(b)
            }
        }
    }
    return (tokens, positions)
}

/// Every row has at least one 1, and each view's weight column sums to 1 (non-empty) or 0 (empty).
private func expectWellFormed(_ a: ClusterAssignment, sourceLocation: SourceLocation = #_sourceLocation) {
    let (B, N, K) = (a.images, a.patchesPerView, a.clusterCount)
    for b in 0..<B {
        for t in 0..<(2 * N) {
            let row = (0..<K).map { a.hard[flat: (b * 2 * N + t) * K + $0] }
            #expect(row.allSatisfy { $0 == 0 || $0 == 1 } && row.contains(1), "image \(b) row \(t): \(row)", sourceLocation: sourceLocation)
        }
        for v in 0..<2 {
            for k in 0..<K {
                let sum = (0..<N).reduce(Float(0)) { $0 + a.weights[flat: (b * 2 * N + v * N + $1) * K + k] }
                #expect(sum == 0 || abs(sum - 1) < 1e-5, "image \(b) view \(v) cluster \(k): Σ W = \(sum)", sourceLocation: sourceLocation)
            }
        }
    }
}

extension MethodPropertyTests {
    @Test func seedSamplerDrawsDistinctTokensReproducibly() {
        let seeds = JointClustering.seedIndices(clusterCount: 64, tokenCount: 392, seed: 7, step: 3, imageIndex: 11)
        #expect(Set(seeds).count == 64 && seeds.allSatisfy { (0..<392).contains($0) })
        #expect(seeds == JointClustering.seedIndices(clusterCount: 64, tokenCount: 392, seed: 7, step: 3, imageIndex: 11))
        #expect(seeds != JointClustering.seedIndices(clusterCount: 64, tokenCount: 392, seed: 7, step: 3, imageIndex: 12))
        // K > T: all tokens, then clusters without a seed.
        let tooMany = JointClustering.seedIndices(clusterCount: 6, tokenCount: 4, seed: 1, step: 0, imageIndex: 0)
        #expect(Array(tooMany[..<4]).sorted() == [0, 1, 2, 3] && Array(tooMany[4...]) == [-1, -1])
    }

    @Test func moreClustersThanTokensIsHandled() {
        let (B, N, D, K) = (2, 2, 4, 6)
        let (tokens, positions) = randomProblem(B: B, N: N, D: D, seed: 21)
        let seeds = (0..<B).flatMap { JointClustering.seedIndices(clusterCount: K, tokenCount: 2 * N, seed: 5, step: 0, imageIndex: UInt64($0)) }
        let a = JointClustering(clusterCount: K).assign(tokens: tokens, positions: positions, seeds: seeds, positionWeight: 1)
        expectWellFormed(a)
        let centroids = a.teacherCentroids(tokens: tokens)
        #expect(centroids.count <= B * 2 * N && centroids.view1.scalars.allSatisfy(\.isFinite))
    }

    @Test func oneImageMatchesABatchOfCopies() {
        // The M normalisation is batch-wide; with identical images it equals the per-image one, so B = 1 must
        // give each copy's result.
        let (N, D, K) = (9, 6, 4)
        let (one, positionsOne) = randomProblem(B: 1, N: N, D: D, seed: 33)
        let seedsOne = JointClustering.seedIndices(clusterCount: K, tokenCount: 2 * N, seed: 2, step: 0, imageIndex: 0)
        let single = JointClustering(clusterCount: K).assign(tokens: one, positions: positionsOne, seeds: seedsOne, positionWeight: 1)
        expectWellFormed(single)
        let v = one.scalars, rows = (1 + N) * D
        let two = Tensor(shape: [4, 1 + N, D], values: Array(v[..<rows]) + Array(v[..<rows]) + Array(v[rows...]) + Array(v[rows...]))
        let p = positionsOne.scalars
        let positionsTwo = Tensor(shape: [2, 2, 2, N], values: Array(p[..<(2 * N)]) + Array(p[..<(2 * N)]) + Array(p[(2 * N)...]) + Array(p[(2 * N)...]))
        let pair = JointClustering(clusterCount: K).assign(tokens: two, positions: positionsTwo, seeds: seedsOne + seedsOne, positionWeight: 1)
        #expect(pair.hard.scalars == single.hard.scalars + single.hard.scalars)
    }

    @Test func noValidClusterGivesNoCentroidTerms() {
        // V = 0 on this rank: empty centroids, empty matches, and a loss with the [CLS] term only.
        let (B, O, D) = (2, 7, 4)
        let queue = CentroidQueue(capacity: 3, clusterCount: 2, dimension: D, seed: 4)
        let empty = Tensor(zeros: [0, D])
        let matches = queue.nearestNeighbours(view1: empty, view2: empty)
        #expect(matches.index1.isEmpty && matches.isCycleConsistent2.isEmpty)
        let loss = CriboLoss(outputDimension: O, centroidOutputDimension: O)
        let dCentroids = Tensor(zeros: [0, O]), dOutput = Tensor(zeros: [2 * B, O])
        let values = loss(dStudentOutput: dOutput, dStudentCentroidOutput: dCentroids, studentOutput: randomTensor([2 * B, O], seed: 1),
                          studentCentroidOutput: Tensor(zeros: [0, O]),
                          targets: CriboLossTargets(teacherOutput: randomTensor([2 * B, O], seed: 2), teacherCentroidOutput: Tensor(zeros: [0, O])),
                          epoch: 3, teacherTemperature: 0.07, teacherCentroidTemperature: 0.07)
        #expect(values.global.isFinite && values.global > 0 && values.object == 0 && values.neighbour == 0)
        #expect(dOutput.scalars.contains { $0 != 0 })
        // No valid cluster anywhere: C_c keeps its value.
        loss.centroidCenter.assign(from: Tensor(shape: [O], repeating: 0.5))
        loss.updateCenters(teacherOutputSum: [Float](repeating: 1, count: O), teacherOutputRows: 4,
                           centroidOutputSum: [Float](repeating: 0, count: O), centroidRows: 0)
        #expect(loss.centroidCenter.scalars == [Float](repeating: 0.5, count: O))
        #expect(loss.center.scalars.allSatisfy { abs($0 - 0.025) < 1e-7 })
    }

    @Test(arguments: [1, 2, 5, 100])
    func argmaxTiesKeepTheFirstIndexInEveryChunking(chunkRows: Int) {
        // Keys 1 and 4 equal the query's direction (4 scaled): both score 1 after normalisation; index 1 wins.
        let keys: [Float] = [0, 1, 1, 0, 0, 0, -1, 0, 3, 0, 1, 1]
        let query = Tensor(shape: [1, 2], values: [1, 0])
        let index = keys.withUnsafeBufferPointer {
            chunkedArgmax(queries: query, queryCount: 1, keys: $0.baseAddress!, keyCount: 6, dimension: 2, normalizesKeys: true, chunkRows: chunkRows)
        }
        #expect(index == [1])
    }

    @Test func queueStartsUniformAndFull() {
        let queue = CentroidQueue(capacity: 5, clusterCount: 3, dimension: 4, seed: 9)
        #expect(queue.centroidsPerImage == [3, 3, 3, 3, 3] && queue.validRowCount == 15)
        #expect(queue.centroids.scalars.allSatisfy { $0 >= 0 && $0 < 1 } && queue.classTokens.scalars.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(queue.centroids.scalars == CentroidQueue(capacity: 5, clusterCount: 3, dimension: 4, seed: 9).centroids.scalars)
        #expect(queue.centroids.scalars != CentroidQueue(capacity: 5, clusterCount: 3, dimension: 4, seed: 10).centroids.scalars)
    }

    @Test func centroidPoolingBackwardMatchesFiniteDifferences() {
        let (B, N, D, K) = (2, 6, 5, 3)
        let (tokens, positions) = randomProblem(B: B, N: N, D: D, seed: 41)
        let seeds = (0..<B).flatMap { JointClustering.seedIndices(clusterCount: K, tokenCount: 2 * N, seed: 8, step: 1, imageIndex: UInt64($0)) }
        let a = JointClustering(clusterCount: K).assign(tokens: tokens, positions: positions, seeds: seeds, positionWeight: 1)
        let valid = a.validClusters()
        #expect(!valid.isEmpty)
        let V = valid.count
        let dOut1 = randomTensor([V, D], seed: 42), dOut2 = randomTensor([V, D], seed: 43)
        let student = randomTensor([2 * B, 1 + N, D], seed: 44)
        let dTokens = Tensor(zeros: student.shape)
        a.pooledCentroidsBackward(dTokens: dTokens, dView1: dOut1, dView2: dOut2, validClusters: valid)
        let failure = gradientCheck(input: student, analytic: dTokens, probes: student.count) {
            let (s1, s2) = a.pooledCentroids(tokens: student, validClusters: valid)
            return dot(s1.buffer, dOut1.buffer) + dot(s2.buffer, dOut2.buffer)
        }
        #expect(failure == nil, "\(failure ?? "")")
        // The [CLS] rows get no gradient.
        #expect((0..<(2 * B)).allSatisfy { i in (0..<D).allSatisfy { dTokens[flat: i * (1 + N) * D + $0] == 0 } })
    }
}
