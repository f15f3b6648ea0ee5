// SPDX-License-Identifier: Apache-2.0
// `cribo-bench train`: images/s of the whole CrIBo training step (teacher forward, clustering, queue search and
// update, heads, losses, backward, gradient all-reduce, AdamW, EMA) over N MPI workers at a fixed global batch, on
// random images — the same step Benchmarks/reference/cribo_train_torch.py times with PyTorch.

import ArgumentParser
import CriboData
import CriboDistributed
import CriboNN
import CriboTensor
import CriboTraining
import Foundation

extension CriboBench {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "CrIBo training-step images/s over MPI workers at a fixed global batch.",
            discussion: """
                One table row per run. --workers N > 1 relaunches under mpirun (one compute thread per rank on a machine \
                with fewer cores than ranks, as cribo-pretrain). The reference: \
                python Benchmarks/reference/cribo_train_torch.py bench --threads T --models MODEL.
                """)
        @Option(help: "demo or vit_small (the vits16-in configuration).") var model: String = "demo"
        @Option(help: "Ranks (MPI processes).") var workers: Int = 1
        @Option(help: "Images per step over all ranks (default: demo 16, vit_small 8).") var globalBatch: Int?
        @Option(help: "Timed steps (after one warm-up step).") var steps: Int = 3
        @Option(help: "Images in the centroid queue (the reference uses the same).") var queueSize: Int?
        @Flag(help: "Print the table header.") var header = false

        func run() throws {
            if workers > 1 && !MPICommunicator.isLaunchedByMPI {
                let status = try MPILauncher.relaunch(workers: workers, arguments: Array(CommandLine.arguments.dropFirst()))
                if status != 0 { throw ExitCode(status) }
                return
            }
            if let text = ProcessInfo.processInfo.environment["CRIBO_THREADS"], let threads = Int(text), threads > 0 {
                ComputeThreads.count = threads
            }
            let communicator: any Communicator = MPICommunicator.isLaunchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
            defer { (communicator as? MPICommunicator)?.finalize() }
            var configuration: PretrainConfiguration
            switch model {
            case "demo": configuration = .demo
            case "vit_small": configuration = .vitSmallImageNet
            default: throw ValidationError("unknown --model \(model): demo or vit_small")
            }
            let batch = globalBatch ?? (model == "demo" ? 16 : 8)
            guard batch % communicator.size == 0 else {
                throw ValidationError("--global-batch \(batch) is not a multiple of the \(communicator.size) workers")
            }
            configuration.batchSizePerRank = batch / communicator.size
            configuration.queueSize = queueSize ?? (model == "demo" ? configuration.queueSize : 4096)
            configuration.epochs = 10
            let step = CriboStep(configuration: configuration, model: CriboModel(configuration: configuration, communicator: communicator),
                                 communicator: communicator)
            let schedules = PretrainSchedules(configuration: configuration, iterationsPerEpoch: 100, worldSize: communicator.size)
            let B = configuration.batchSizePerRank, S = configuration.backbone.imageSize, G = configuration.backbone.gridSize
            func batchFor(_ iteration: Int) -> TwoViewBatch {
                let indices = (0..<B).map { iteration * batch + communicator.rank * B + $0 }
                let images = Tensor(zeros: [2 * B, 3, S, S])
                var rng = SplitMix64(seed: SplitMix64.mix(7, UInt64(iteration), UInt64(communicator.rank)))
                for i in 0..<images.count { images[flat: i] = Float(rng.nextNormal()) }
                let positions = Tensor(zeros: [2, B, 2, G * G])
                for i in 0..<positions.count { positions[flat: i] = Float(rng.nextUniform(0, 300)) }
                return TwoViewBatch(sampleIndices: indices, images: images, positions: positions)
            }
            var barrier = [Float](repeating: 0, count: 1)
            // Epoch 1: the neighbour loss is on, as in most of a run.
            _ = try step.run(batchFor(0), epoch: 1, iteration: 100, schedules: schedules)
            let inputs = (1...steps).map(batchFor)
            barrier.withUnsafeMutableBufferPointer { communicator.allReduceSum($0) }
            let started = Date()
            for (i, input) in inputs.enumerated() { _ = try step.run(input, epoch: 1, iteration: 101 + i, schedules: schedules) }
            barrier.withUnsafeMutableBufferPointer { communicator.allReduceSum($0) }
            let seconds = Date().timeIntervalSince(started) / Double(steps)
            if communicator.isRoot {
                if header {
                    print("model      workers  threads/rank  global batch  queue   s/step   img/s")
                    print("---------  -------  ------------  ------------  -----  -------  ------")
                }
                print(String(format: "%-9@  %7d  %12d  %12d  %5d  %7.3f  %6.2f", model as NSString, communicator.size, ComputeThreads.count,
                             batch, configuration.queueSize, seconds, Double(batch) / seconds))
            }
        }
    }
}
