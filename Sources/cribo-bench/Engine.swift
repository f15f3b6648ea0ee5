// SPDX-License-Identifier: Apache-2.0
// `cribo-bench engine`: the engine benchmark table.

import ArgumentParser
import CriboNN
import CriboTensor
import Foundation

extension CriboBench {
    struct Engine: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "GEMM GFLOP/s, ViT forward and DINO training-step images/s, peak RSS.")
        @Option(help: "Comma-separated thread counts.") var threads: String = "1,2"
        @Option(help: "Comma-separated models: vit_small, vit_tiny, demo.") var models: String = "vit_small,vit_tiny,demo"
        @Flag(help: "Fewer repetitions.") var quick = false
        @Option(help: .hidden) var worker: String?
        @Flag(help: .hidden) var forwardOnly = false
        @Option(help: .hidden) var stepRepeats: Int?

        func run() throws {
            let runtime = BLASRuntime.shared
            let threadCounts = threads.split(separator: ",").compactMap { Int($0) }
            if let worker {
                ComputeThreads.count = threadCounts.first ?? 1
                try runWorker(worker)
                return
            }
            print("cribo engine benchmark (release build)")
            print("OpenBLAS core: \(runtime.coreName) (\(runtime.choice.rawValue)), \(runtime.library); cores: \(ProcessInfo.processInfo.activeProcessorCount)")
            for t in threadCounts {
                print("\n== cribo, threads=\(t) ==")
                print(row("metric", "shape/config", "value", "unit"))
                print(String(repeating: "-", count: 25) + "+" + String(repeating: "-", count: 28) + "+" + String(repeating: "-", count: 12) + "+--------")
                for job in ["sgemm"] + models.split(separator: ",").map(String.init) {
                    let output = try runChild(job: job, threads: t)
                    print(output, terminator: "")
                }
            }
            print("""

                * train step: images/s = batch / step time, counting images, not crops; each image gives 2 views, so student
                  and teacher each process 2·batch crops. Step = student fwd+bwd (DropPath 0.1) + teacher fwd + DINO head
                  (out_dim 65536 for the ViTs; one last layer, as the PyTorch reference: no CrIBo last_layer_c) + DINO loss
                  + AdamW + EMA. "of sgemm" = step GFLOP/s / best sgemm GFLOP/s.
                """)
        }

        private func runChild(job: String, threads t: Int) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            if !FileManager.default.isExecutableFile(atPath: process.executableURL!.path) {
                process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            }
            process.arguments = ["engine", "--worker", job, "--threads", String(t)] + (quick ? ["--quick"] : [])
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw ValidationError("benchmark worker \(job) failed") }
            return String(decoding: data, as: UTF8.self)
        }

        private func runWorker(_ job: String) throws {
            let repeats = quick ? 2 : 5
            if job == "sgemm" {
                let R = 16 * 197
                // ViT-S/16 b8x2v (3152 rows, dim 384), the attention product of one head, then the small models' shapes
                // (ViT-Ti/16 b8x2v: dim 192; demo b16x2v: 2080 rows, dim 96). The tiny attention product gets more repeats.
                let shapes: [(String, Int, Int, Int, Int)] = [
                    ("qkv", R, 1152, 384, 1), ("proj", R, 384, 384, 1), ("fc1", R, 1536, 384, 1), ("fc2", R, 384, 1536, 1),
                    ("attn q.kT/head", 197, 197, 64, 40), ("ti qkv", R, 576, 192, 2), ("ti fc2", R, 192, 768, 2),
                    ("demo qkv", 2080, 288, 96, 2), ("demo fc2", 2080, 96, 384, 2)]
                for (label, m, n, k, factor) in shapes {
                    print(row("sgemm \(label)", "[\(m),\(k)]x[\(k),\(n)]", fmt(sgemmRate(m: m, n: n, k: k, repeats: repeats * factor)), "GFLOP/s"))
                }
                return
            }
            guard let model = BenchModel.named(job) else { throw ValidationError("unknown model \(job)") }
            if job == "vit_small" {
                let G = model.backbone.gridSize
                let vit = VisionTransformer(configuration: model.backbone)
                let arena = ParameterArena(slots: VisionTransformer.parameterSlots(for: model.backbone))
                arena.initialize(seed: 0)
                let activations = ViTActivations(configuration: model.backbone, batch: model.batch, gridHeight: G, gridWidth: G, isTraining: false)
                let images = Tensor(zeros: [model.batch, 3, model.backbone.imageSize, model.backbone.imageSize])
                let seconds = median(warmup: 1, repeats: repeats) { vit.forward(images: images, parameters: arena, activations: activations) }
                print(row("ViT forward (inference)", model.name, fmt(Double(model.batch) / seconds), "img/s"))
                if forwardOnly { return }
            }
            let workload = DINOStepWorkload(model: model)
            if let stepRepeats {  // for A/B comparisons on a noisy machine: the best and the median of many steps
                workload.run()
                var times: [Double] = []
                for _ in 0..<stepRepeats { times.append(median(warmup: 0, repeats: 1) { workload.run() }) }
                times.sort()
                print(row("DINO step best, median", model.name + "x2v",
                    fmt(Double(model.batch) / times[0]) + ", " + fmt(Double(model.batch) / times[times.count / 2]), "img/s"))
                return
            }
            let seconds = median(warmup: 1, repeats: quick ? 2 : 4) { workload.run() }
            print(row("DINO train step *", model.name.replacingOccurrences(of: " b", with: " b") + "x2v", fmt(Double(model.batch) / seconds), "img/s"))
            let stepRate = model.trainingStepFlops / seconds / 1e9
            print(row("  step GFLOP/s", model.name, fmt(stepRate), "GFLOP/s"))
            let ceiling = [(3152, 1152, 384), (3152, 384, 384), (3152, 1536, 384), (3152, 384, 1536)]
                .map { sgemmRate(m: $0.0, n: $0.1, k: $0.2, repeats: 3) }.max() ?? 1
            print(row("  of sgemm ceiling", model.name, fmt(100 * stepRate / ceiling), "%"))
            print(row("peak RSS", model.name, fmt(peakResidentMiB()), "MiB"))
        }
    }
}

/// One line of the table.
func row(_ metric: String, _ shape: String, _ value: String, _ unit: String) -> String {
    metric.padding(toLength: 25, withPad: " ", startingAt: 0) + "| " + shape.padding(toLength: 27, withPad: " ", startingAt: 0)
        + "| " + String(repeating: " ", count: max(0, 10 - value.count)) + value + " | " + unit
}

func fmt(_ value: Double) -> String { String(format: "%.2f", value) }

/// Median wall time in seconds of `repeats` runs after `warmup` runs.
func median(warmup: Int, repeats: Int, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return times.sorted()[times.count / 2]
}

/// GFLOP/s of C = A·Bᵀ-free row-major gemm [m,k]×[k,n] through cribo's `gemm`.
func sgemmRate(m: Int, n: Int, k: Int, repeats: Int) -> Double {
    let a = Tensor(shape: [m, k], repeating: 0.5), b = Tensor(shape: [k, n], repeating: 0.25), c = Tensor(zeros: [m, n])
    let seconds = median(warmup: 4, repeats: repeats) {
        gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
    }
    return 2 * Double(m * n * k) / seconds / 1e9
}

/// Peak resident set size of this process in MiB.
func peakResidentMiB() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}
