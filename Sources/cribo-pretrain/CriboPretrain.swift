// SPDX-License-Identifier: Apache-2.0
// cribo-pretrain: CrIBo pretraining over MPI workers. `--workers N` relaunches the program under `mpirun -np N`
// when no MPI launcher started it; under mpirun or srun it uses the world it is given.

import ArgumentParser
import CriboCommandLine
import CriboDistributed
import CriboTraining
import Foundation

@main
struct CriboPretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cribo-pretrain",
        abstract: "Pretrain a ViT with CrIBo over MPI workers (resumable).",
        discussion: """
            Reads an ingested split (e.g. data/shards/coco/train2017), writes <out>/checkpoint.safetensors (every N \
            iterations and each epoch; the previous one kept as .backup), <out>/log.jsonl (d_loss, s_loss, nn_loss, r_cnt, \
            lr, wd, bootstrap ratio per iteration), <out>/configuration.json, and at the end \
            <out>/teacher_backbone.safetensors (timm/DINO keys). Rerunning the same command resumes from the checkpoint.
            """)

    @Option(help: "Ingested split folder (holding manifest.json).") var data: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "Ranks (MPI processes); relaunches under mpirun when not started by an MPI launcher.") var workers: Int = 8
    @Option(help: "Stop after N iterations in this invocation (resume continues).") var maxIterations: Int?
    @Flag(inversion: .prefixedNo, help: "Decode JPEGs at 1/2-1/8 scale when the crop allows it.") var dctScaling = true
    @OptionGroup var settings: PretrainArguments
    @OptionGroup var compute: ComputeArguments

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
    }

    func run() throws {
        let configuration = try settings.configuration()
        guard let communicator = try MPIWorkers.communicator(workers: workers) else { return }
        defer { MPIWorkers.finish(communicator) }
        try compute.apply()
        var options = PretrainRunOptions(dataFolder: data, outputFolder: out)
        options.maximumIterations = maxIterations
        options.usesDCTScaling = dctScaling
        let display = ProgressDisplay(label: "pretrain", plainInterval: 30)
        if communicator.isRoot { display.log("CrIBo \(configuration.backbone) on \(communicator.size) rank(s), \(configuration.epochs) epochs") }
        let teacher = try PretrainRun.run(configuration: configuration, options: options, communicator: communicator,
            progress: { s, total in
                display.update(done: s.iteration + 1, total: total, unit: "it",
                    extra: String(format: "epoch %d loss %.3f (d %.3f s %.3f nn %.3f) r_cnt %.1f lr %.2e", s.epoch, s.loss, s.globalLoss,
                        s.objectLoss, s.neighbourLoss, s.regionCount, s.learningRate))
            }, message: { display.log($0) })
        if communicator.isRoot {
            display.finish()
            display.log(teacher.map { "done: teacher backbone -> \($0)" } ?? "stopped after --max-iterations; rerun to continue")
        }
    }
}
