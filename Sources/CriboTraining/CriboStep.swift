// SPDX-License-Identifier: Apache-2.0
// One CrIBo training step on one rank (spec §4, [M:L417-521]): teacher forward, joint clustering, teacher and
// student centroids, NN retrieval against the queue before its update, the queue update from rank-ordered gathers,
// head projections, the three losses and both centers, backward, the averaged gradient all-reduce, per-parameter
// clipping, last-layer freezing, AdamW and the EMA teacher. Randomness (DropPath, cluster seeds) is keyed by the
// images' dataset indices and the step, never by rank or thread.

import CriboData
import CriboDistributed
import CriboNN
import CriboTensor
import Foundation

/// What one step logs (the official per-iteration statistics).
package struct StepStatistics: Codable, Equatable, Sendable {
    package var epoch: Int
    package var iteration: Int
    package var loss: Float
    package var globalLoss: Float
    package var objectLoss: Float
    package var neighbourLoss: Float
    /// Mean valid regions per image (r_cnt).
    package var regionCount: Float
    package var learningRate: Double
    package var weightDecay: Double
    package var momentum: Double
    /// |mask1| / V (bootstrap_centroid_ratio).
    package var bootstrapRatio: Float
}

/// The schedules of a run, indexed as DINO does (per iteration, per epoch).
package struct PretrainSchedules: Sendable {
    package let learningRate: Schedule
    package let weightDecay: Schedule
    package let momentum: Schedule
    package let teacherTemperature: Schedule
    package let teacherTemperatureCentroids: Schedule
    /// pos_alpha per epoch: linspace(pos_alpha[1], pos_alpha[0], epochs) — the second CLI value is the start.
    package let positionAlpha: [Double]

    package init(configuration c: PretrainConfiguration, iterationsPerEpoch: Int, worldSize: Int) {
        let globalBatch = Double(c.batchSizePerRank * worldSize)
        learningRate = .cosine(base: c.learningRate * globalBatch / 256, final: c.minimumLearningRate, epochs: c.epochs,
            iterationsPerEpoch: iterationsPerEpoch, warmupEpochs: c.effectiveWarmupEpochs)
        weightDecay = .cosine(base: c.weightDecay, final: c.weightDecayEnd, epochs: c.epochs, iterationsPerEpoch: iterationsPerEpoch)
        momentum = .cosine(base: c.momentumTeacher, final: 1, epochs: c.epochs, iterationsPerEpoch: iterationsPerEpoch)
        teacherTemperature = .teacherTemperature(warmup: c.warmupTeacherTemperature, final: c.teacherTemperature,
            warmupEpochs: c.effectiveTeacherWarmupEpochs, epochs: c.epochs)
        teacherTemperatureCentroids = .teacherTemperature(warmup: c.warmupTeacherTemperatureCentroids, final: c.teacherTemperatureCentroids,
            warmupEpochs: c.effectiveTeacherWarmupEpochs, epochs: c.epochs)
        positionAlpha = Schedule.linspace(c.positionAlpha[1], c.positionAlpha[0], count: c.epochs)
    }
}

/// The per-step machinery of a rank: model, queue, loss state, and reusable buffers.
package final class CriboStep {
    package let configuration: PretrainConfiguration
    package let model: CriboModel
    package let queue: CentroidQueue
    package let loss: CriboLoss
    package let communicator: any Communicator
    private let clustering: JointClustering
    private var buffers: [Int: (teacher: ViTActivations, student: ViTActivations, scratch: ViTGradientScratch)] = [:]
    private lazy var weightScratch = Tensor(zeros: [max(configuration.head.outputDimension, configuration.head.centroidOutputDimension),
                                                    configuration.head.bottleneckDimension])
    /// For the latest batch size, the [CLS] head calls of teacher and student (every buffer is overwritten by each call).
    private var headBuffers: [Int: (teacher: HeadActivations, student: HeadActivations)] = [:]
    /// The effective last-layer weights g·v/‖v‖ of teacher and student, [CLS] and centroid paths, computed once at the
    /// start of every step and used by all six head calls. With node-shared model state they are node-shared too, and
    /// each rank computes 1/W of their rows.
    private let lastLayers: (teacherCls: LastLayerWeights, teacherCentroid: LastLayerWeights, studentCls: LastLayerWeights,
                             studentCentroid: LastLayerWeights, shared: Bool)

    package init(configuration: PretrainConfiguration, model: CriboModel, communicator: any Communicator) {
        self.configuration = configuration
        self.model = model
        self.communicator = communicator
        let D = configuration.backbone.embeddingDimension
        queue = CentroidQueue(capacity: configuration.queueSize, clusterCount: configuration.clusters, dimension: D, seed: configuration.seed)
        loss = CriboLoss(outputDimension: configuration.head.outputDimension, centroidOutputDimension: configuration.head.centroidOutputDimension,
            studentCentroidTemperature: Float(configuration.studentTemperatureCentroids))
        clustering = JointClustering(clusterCount: configuration.clusters, iterations: configuration.clusteringIterations,
            sinkhornLambda: Float(configuration.sinkhornLambda), sinkhornIterations: configuration.sinkhornIterations)
        let head = configuration.head
        let (cls, centroid) = (LastLayerWeights.floatCount(configuration: head, path: .cls), LastLayerWeights.floatCount(configuration: head, path: .centroid))
        if model.shared != nil, let memory = communicator.nodeSharedFloats(count: 2 * cls + 2 * centroid) {  // collective
            lastLayers = (LastLayerWeights(configuration: head, path: .cls, viewing: memory),
                          LastLayerWeights(configuration: head, path: .centroid, viewing: memory + cls),
                          LastLayerWeights(configuration: head, path: .cls, viewing: memory + cls + centroid),
                          LastLayerWeights(configuration: head, path: .centroid, viewing: memory + 2 * cls + centroid), true)
        } else {
            lastLayers = (LastLayerWeights(configuration: head, path: .cls), LastLayerWeights(configuration: head, path: .centroid),
                          LastLayerWeights(configuration: head, path: .cls), LastLayerWeights(configuration: head, path: .centroid), false)
        }
    }

    /// Computes this step's effective last-layer weights: all rows, or this rank's 1/W of the rows of the node-shared
    /// buffers followed by a fence.
    private func computeLastLayers() {
        let layers = lastLayers
        let work: [(ParameterArena, HeadPath, LastLayerWeights)] = [
            (model.teacher, .cls, layers.teacherCls), (model.teacher, .centroid, layers.teacherCentroid),
            (model.student, .cls, layers.studentCls), (model.student, .centroid, layers.studentCentroid),
        ]
        let share = layers.shared ? model.shared.map { ($0.rank, $0.ranks) } : nil
        for (parameters, path, buffer) in work {
            let O = buffer.norms.count
            let rows = share.map { (O * $0.0 / $0.1)..<(O * ($0.0 + 1) / $0.1) }
            model.head.computeLastLayer(parameters: parameters, path: path, into: buffer, rows: rows)
        }
        if share != nil { communicator.nodeFence() }
    }

    private func activations(batch B: Int) -> (teacher: ViTActivations, student: ViTActivations, scratch: ViTGradientScratch) {
        if let cached = buffers[B] { return cached }
        let cfg = configuration.backbone
        let G = cfg.gridSize
        let made = (ViTActivations(configuration: cfg, batch: 2 * B, gridHeight: G, gridWidth: G, isTraining: false),
                    ViTActivations(configuration: cfg, batch: 2 * B, gridHeight: G, gridWidth: G, isTraining: true),
                    ViTGradientScratch(configuration: cfg, batch: 2 * B, gridHeight: G, gridWidth: G))
        buffers = [B: made]
        return made
    }

    /// Runs one step; throws `TrainingError.nonFiniteLoss` (before any update) when the loss is not finite.
    /// - Parameters:
    ///   - seeds: the clusters' seed tokens [B·K] (see `JointClustering.assign`); nil draws them from the images'
    ///     dataset indices and the step. Tests pass a reference's seeds.
    package func run(
        _ batch: TwoViewBatch, epoch: Int, iteration: Int, schedules: PretrainSchedules, seeds: [Int]? = nil
    ) throws -> StepStatistics {
        var statistics = try forwardBackward(batch, epoch: epoch, iteration: iteration, schedules: schedules, updatesState: true,
            seeds: seeds)
        let cfg = configuration
        // 4.8 Averaged gradients (DDP), clipping, freezing, AdamW, EMA.
        // With node-shared state, each rank averages and updates its share of the slots between two fences.
        let share = model.shared?.slots
        if let shared = model.shared {
            communicator.nodeFence()  // every rank's gradients are in place
            shared.averageGradients()
        } else {
            communicator.allReduceMean(model.gradients.storage.mutableBuffer)
        }
        if cfg.clipGradient > 0 { clipGradientsPerParameter(model.gradients, maxNorm: Float(cfg.clipGradient), slots: share) }
        let frozen = epoch < cfg.freezeLastLayerEpochs
        model.optimizer.step(parameters: model.student, gradients: model.gradients, learningRate: Float(statistics.learningRate),
            weightDecay: Float(statistics.weightDecay), skip: { frozen && isLastLayer($0) }, updating: share)
        updateTeacher(model.teacher, student: model.student, momentum: Float(statistics.momentum), slots: share)
        if model.shared != nil { communicator.nodeFence() }  // the whole update is visible before anyone reads it
        statistics.iteration = iteration
        return statistics
    }

    /// The forward pass, the losses and this rank's gradients (in `model.gradients`) of a step, without the optimiser.
    /// - Parameters:
    ///   - updatesState: false leaves the queue and the centers untouched (for gradient checks of the whole step).
    ///   - seeds: as in `run`.
    package func forwardBackward(
        _ batch: TwoViewBatch, epoch: Int, iteration: Int, schedules: PretrainSchedules, updatesState: Bool, seeds given: [Int]? = nil
    ) throws -> StepStatistics {
        let cfg = configuration
        let B = batch.batchSize, D = cfg.backbone.embeddingDimension, G = cfg.backbone.gridSize, N = G * G, T = N + 1
        let K = cfg.clusters
        let (teacherActivations, studentActivations, scratch) = activations(batch: B)
        computeLastLayers()
        let lr = schedules.learningRate.value(at: iteration), wd = schedules.weightDecay.value(at: iteration)
        let momentum = schedules.momentum.value(at: iteration)
        let tau = Float(schedules.teacherTemperature.value(at: epoch)), tauC = Float(schedules.teacherTemperatureCentroids.value(at: epoch))

        // 4.1 Teacher: all final-norm tokens of both views, and its [CLS] head outputs.   [2B, T, D], [2B, O]
        model.backbone.forward(images: batch.images, parameters: model.teacher, activations: teacherActivations)
        let teacherTokens = teacherActivations.output
        let teacherCls = Self.classTokens(teacherTokens)
        let layers = lastLayers
        let (teacherHead, studentHead) = headBuffers[B]
            ?? (HeadActivations(configuration: cfg.head, rows: 2 * B, path: .cls, lastLayer: layers.teacherCls),
                HeadActivations(configuration: cfg.head, rows: 2 * B, path: .cls, lastLayer: layers.studentCls))
        headBuffers = [B: (teacherHead, studentHead)]  // the latest batch size only, as `buffers`
        model.head.forward(input: teacherCls.pointer, parameters: model.teacher, activations: teacherHead, lastLayerIsCurrent: true)

        // 4.2-4.3 Joint clustering and teacher centroids.
        var seeds: [Int] = given ?? []
        if given == nil {
            for index in batch.sampleIndices {
                seeds += JointClustering.seedIndices(clusterCount: K, tokenCount: 2 * N, seed: cfg.seed, step: UInt64(iteration),
                    imageIndex: UInt64(index))
            }
        }
        let assignment = clustering.assign(tokens: teacherTokens, positions: batch.positions, seeds: seeds,
            positionWeight: Float(schedules.positionAlpha[epoch]))
        let centroids = assignment.teacherCentroids(tokens: teacherTokens)
        let V = centroids.count

        // 4.4 Student forward with DropPath keyed by (seed, step, image, view).
        let keys = (0..<2).flatMap { view in batch.sampleIndices.map { SplitMix64.mix(cfg.seed, UInt64(iteration), UInt64($0), UInt64(view)) } }
        model.backbone.forward(images: batch.images, parameters: model.student, activations: studentActivations,
            dropPathRate: Float(cfg.dropPathRate), dropPathKeys: keys)
        let studentTokens = studentActivations.output
        let studentCls = Self.classTokens(studentTokens)
        model.head.forward(input: studentCls.pointer, parameters: model.student, activations: studentHead, lastLayerIsCurrent: true)
        let (studentView1, studentView2) = assignment.pooledCentroids(tokens: studentTokens, validClusters: centroids.validClusters)

        // 4.5 Neighbours in the queue (before its update), then the rank-ordered update.
        let matches = queue.nearestNeighbours(view1: centroids.view1, view2: centroids.view2)
        let neighbours1 = queue.neighbours(view: 0, indices: matches.index1)
        let neighbours2 = queue.neighbours(view: 1, indices: matches.index2)
        if updatesState { try updateQueue(centroids: centroids, teacherCls: teacherCls, batch: B, dimension: D) }

        // 4.6 Projections: teacher forward_c of centroids and neighbours; student forward_c of its centroids.
        let teacherCentroids = concatenate(centroids.view1, centroids.view2)
        let teacherLayer = layers.teacherCentroid, studentLayer = layers.studentCentroid
        let teacherCentroidHead = HeadActivations(configuration: cfg.head, rows: 2 * V, path: .centroid, lastLayer: teacherLayer)
        let studentCentroidHead = HeadActivations(configuration: cfg.head, rows: 2 * V, path: .centroid, lastLayer: studentLayer)
        let neighbourHead1 = HeadActivations(configuration: cfg.head, rows: V, path: .centroid, lastLayer: teacherLayer)
        let neighbourHead2 = HeadActivations(configuration: cfg.head, rows: V, path: .centroid, lastLayer: teacherLayer)
        let studentCentroids = concatenate(studentView1, studentView2)
        if V > 0 {
            model.head.forward(input: teacherCentroids.pointer, parameters: model.teacher, activations: teacherCentroidHead,
                lastLayerIsCurrent: true)
            model.head.forward(input: neighbours1.pointer, parameters: model.teacher, activations: neighbourHead1, lastLayerIsCurrent: true)
            model.head.forward(input: neighbours2.pointer, parameters: model.teacher, activations: neighbourHead2, lastLayerIsCurrent: true)
            model.head.forward(input: studentCentroids.pointer, parameters: model.student, activations: studentCentroidHead,
                lastLayerIsCurrent: true)
        }

        // 4.7 Losses (gradients into the student head outputs), then both centers from all-reduced sums.
        let dStudentOutput = Tensor(zeros: studentHead.output.shape)
        let dStudentCentroidOutput = Tensor(zeros: studentCentroidHead.output.shape)
        let targets = CriboLossTargets(
            teacherOutput: teacherHead.output, teacherCentroidOutput: teacherCentroidHead.output,
            neighbourOutput1: V > 0 ? neighbourHead1.output : nil, neighbourOutput2: V > 0 ? neighbourHead2.output : nil,
            isCycleConsistent1: matches.isCycleConsistent1, isCycleConsistent2: matches.isCycleConsistent2)
        let values = loss(dStudentOutput: dStudentOutput, dStudentCentroidOutput: dStudentCentroidOutput, studentOutput: studentHead.output,
            studentCentroidOutput: studentCentroidHead.output, targets: targets, epoch: epoch, teacherTemperature: tau,
            teacherCentroidTemperature: tauC)
        guard values.total.isFinite else {
            throw TrainingError.nonFiniteLoss(epoch: epoch, iteration: iteration,
                values: ["d_loss": values.global, "s_loss": values.object, "nn_loss": values.neighbour], checkpoint: nil)
        }
        // One all-reduce for both centers' sums and the centroid count (exact in Float below 2^24).
        let O = cfg.head.outputDimension, P = cfg.head.centroidOutputDimension
        var sums = CriboLoss.columnSums(teacherHead.output)
            + (V > 0 ? CriboLoss.columnSums(teacherCentroidHead.output) : [Float](repeating: 0, count: P)) + [Float(2 * V)]
        sums.withUnsafeMutableBufferPointer { communicator.allReduceSum($0) }
        if updatesState {
            loss.updateCenters(teacherOutputSum: Array(sums[0..<O]), teacherOutputRows: 2 * B * communicator.size,
                centroidOutputSum: Array(sums[O..<(O + P)]), centroidRows: Int(sums[O + P]))
        }

        // Backward: heads → [CLS] rows and pooled centroids → student tokens → backbone.
        model.gradients.zero()
        let dTokens = Tensor(zeros: [2 * B, T, D])
        let dCls = Tensor(zeros: [2 * B, D])
        model.head.backward(dOutput: dStudentOutput.pointer, dInput: dCls.pointer, parameters: model.student, gradients: model.gradients,
            activations: studentHead, dWeightScratch: weightScratch)
        if V > 0 {
            let dCentroids = Tensor(zeros: [2 * V, D])
            model.head.backward(dOutput: dStudentCentroidOutput.pointer, dInput: dCentroids.pointer, parameters: model.student,
                gradients: model.gradients, activations: studentCentroidHead, dWeightScratch: weightScratch)
            let dView1 = Tensor(zeros: [V, D]), dView2 = Tensor(zeros: [V, D])
            dView1.pointer.update(from: dCentroids.pointer, count: V * D)
            dView2.pointer.update(from: dCentroids.pointer + V * D, count: V * D)
            assignment.pooledCentroidsBackward(dTokens: dTokens, dView1: dView1, dView2: dView2, validClusters: centroids.validClusters)
        }
        for b in 0..<(2 * B) { (dTokens.pointer + b * T * D).update(from: dCls.pointer + b * D, count: D) }
        model.backbone.backward(dOutput: dTokens, parameters: model.student, gradients: model.gradients, activations: studentActivations,
            scratch: scratch)

        return StepStatistics(epoch: epoch, iteration: iteration, loss: values.total, globalLoss: values.global, objectLoss: values.object,
            neighbourLoss: values.neighbour, regionCount: centroids.regionCount, learningRate: lr, weightDecay: wd, momentum: momentum,
            bootstrapRatio: V > 0 ? Float(matches.consistentCount1) / Float(V) : 0)
    }

    /// Gathers (rank-ordered) cpv, normalised teacher [CLS] of both views and the variable-length centroids, then
    /// enqueues them identically on every rank (spec §7 collectives 1-7).
    private func updateQueue(centroids: RegionCentroids, teacherCls: Tensor, batch B: Int, dimension D: Int) throws {
        // Three collectives: the counts, both views' [CLS] (each rank sends view 1 then view 2), and both views'
        // centroids (each rank sends its view-1 rows then its view-2 rows); then split back per view in rank order.
        let counts = communicator.allGather(centroids.centroidsPerImage.map(Int64.init)).map(Int.init)
        let normalized = Tensor(zeros: teacherCls.shape), norms = Tensor(zeros: [2 * B])
        l2NormalizeForward(output: normalized.pointer, norms: norms.pointer, input: teacherCls.pointer, rows: 2 * B, columns: D)
        let cls = communicator.allGather(normalized.scalars)
        var cls1: [Float] = [], cls2: [Float] = []
        let half = B * D
        for r in 0..<communicator.size {
            let first: Int = 2 * r * half
            cls1 += cls[first..<(first + half)]
            cls2 += cls[(first + half)..<(first + 2 * half)]
        }
        let pools = communicator.allGatherVariable(centroids.view1.scalars + centroids.view2.scalars)
        var pool1: [Float] = [], pool2: [Float] = []
        var start = 0
        for length in pools.counts {
            pool1 += pools.values[start..<(start + length / 2)]
            pool2 += pools.values[(start + length / 2)..<(start + length)]
            start += length
        }
        queue.enqueue(centroidsPerImage: counts, classTokens1: cls1, classTokens2: cls2, pool1: pool1, pool2: pool2)
    }

    /// The [CLS] rows of final-norm tokens: [R, T, D] → [R, D].
    static func classTokens(_ tokens: Tensor) -> Tensor {
        let (R, T, D) = (tokens.shape[0], tokens.shape[1], tokens.shape[2])
        let cls = Tensor(zeros: [R, D])
        for r in 0..<R { (cls.pointer + r * D).update(from: tokens.pointer + r * T * D, count: D) }
        return cls
    }
}

/// Rows of `a` then rows of `b`: [Ra + Rb, C].
func concatenate(_ a: Tensor, _ b: Tensor) -> Tensor {
    let columns = a.shape.count > 1 ? a.shape[1] : (b.shape.count > 1 ? b.shape[1] : 0)
    let result = Tensor(zeros: [a.count / max(columns, 1) + b.count / max(columns, 1), columns])
    result.pointer.update(from: a.pointer, count: a.count)
    (result.pointer + a.count).update(from: b.pointer, count: b.count)
    return result
}
