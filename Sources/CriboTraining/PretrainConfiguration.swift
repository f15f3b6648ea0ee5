// SPDX-License-Identifier: Apache-2.0
// The settings of a CrIBo pretraining run (spec §5-6), with the three released configurations and small ones
// for CPU runs. Every field has the official default; the effective configuration is written next to the output
// and hashed into checkpoints, so a resume with other settings is refused.

import CriboData
import CriboNN
import CriboTensor
import Foundation

/// A CrIBo pretraining configuration.
package struct PretrainConfiguration: Codable, Equatable, Sendable {
    package var backbone: ViTConfiguration
    package var head: DINOHeadConfiguration
    /// Student stochastic depth (the teacher has none).
    package var dropPathRate: Double = 0.1
    /// K, the clusters per image (n_tokens).
    package var clusters: Int = 32
    /// pos_alpha as on the CLI: (end, start) — the schedule is linspace(start, end) reversed per spec §4.2.6.
    package var positionAlpha: [Double] = [1.0, 1.0]
    package var sinkhornLambda: Double = 20
    package var sinkhornIterations: Int = 5
    package var clusteringIterations: Int = 5
    package var queueSize: Int = 25_000
    package var epochs: Int = 800
    package var batchSizePerRank: Int = 128
    /// Base learning rate per 256 images of global batch.
    package var learningRate: Double = 5e-4
    package var minimumLearningRate: Double = 1e-5
    package var warmupEpochs: Int = 10
    package var weightDecay: Double = 0.04
    package var weightDecayEnd: Double = 0.4
    package var momentumTeacher: Double = 0.996
    package var teacherTemperature: Double = 0.07
    package var warmupTeacherTemperature: Double = 0.04
    package var warmupTeacherTemperatureEpochs: Int = 30
    package var teacherTemperatureCentroids: Double = 0.07
    package var warmupTeacherTemperatureCentroids: Double = 0.04
    package var studentTemperatureCentroids: Double = 0.1
    /// Per-parameter gradient clipping (0 = off).
    package var clipGradient: Double = 0
    package var freezeLastLayerEpochs: Int = 1
    package var augmentation: AugmentationSettings = AugmentationSettings()
    package var seed: UInt64 = 0
    /// Checkpoint every N iterations (and at every epoch end).
    package var checkpointEveryIterations: Int = 500

    package init(backbone: ViTConfiguration, head: DINOHeadConfiguration) {
        self.backbone = backbone
        self.head = head
    }

    /// The effective run length settings of DINO's debug mode: with ≤ 2 epochs, no warmups (spec §5, [M:L884-886]).
    package var effectiveWarmupEpochs: Int { epochs <= 2 ? 0 : warmupEpochs }
    package var effectiveTeacherWarmupEpochs: Int { epochs <= 2 ? 0 : warmupTeacherTemperatureEpochs }

    /// Checks internal consistency; returns a message or nil.
    package func validationError() -> String? {
        if let problem = backbone.validationError() { return problem }
        if head.inputDimension != backbone.embeddingDimension { return "head input \(head.inputDimension) ≠ embedding \(backbone.embeddingDimension)" }
        if head.outputDimension < 1 || head.centroidOutputDimension < 1 {
            return "the head's out_dim \(head.outputDimension) and out_dim_c \(head.centroidOutputDimension) must be positive (CrIBo uses both last layers)"
        }
        if clusters < 1 { return "clusters must be positive" }
        if positionAlpha.count != 2 { return "positionAlpha needs (end, start)" }
        if epochs < 1 || batchSizePerRank < 1 || queueSize < 1 { return "epochs, batch size and queue size must be positive" }
        if effectiveWarmupEpochs >= epochs { return "warmup epochs \(warmupEpochs) must be fewer than epochs \(epochs)" }
        return nil
    }

    /// A stable hash of the configuration (checkpoints refuse to resume under another one).
    package var hash: String {
        let data = (try? JSONEncoder.sorted.encode(self)) ?? Data()
        return SHA256Digest.hex(of: data)
    }
}

/// The augmentation settings that the configuration carries (see CriboData's augmentation for their use).
package struct AugmentationSettings: Codable, Equatable, Sendable {
    package var imageSize: Int = 224
    package var cropScale: [Double] = [0.25, 1.0]
    package init() {}
}

extension PretrainConfiguration {
    /// ViT-S/16 on ImageNet-1k (spec §6, vits16-in_args.json): 800 epochs, 8×128, K = 32.
    package static var vitSmallImageNet: Self {
        var c = Self(backbone: .vitSmall(), head: DINOHeadConfiguration(inputDimension: 384, normLastLayer: false))
        c.epochs = 800
        c.batchSizePerRank = 128
        return c
    }

    /// ViT-B/16 on ImageNet-1k (vitb16-in_args.json): 400 epochs, 16×64, lr 7.5e-4, min 2e-6, clip 0.3, freeze 3.
    package static var vitBaseImageNet: Self {
        var c = Self(backbone: .vitBase(), head: DINOHeadConfiguration(inputDimension: 768, normLastLayer: true))
        c.epochs = 400
        c.batchSizePerRank = 64
        c.learningRate = 7.5e-4
        c.minimumLearningRate = 2e-6
        c.clipGradient = 0.3
        c.freezeLastLayerEpochs = 3
        c.warmupTeacherTemperatureEpochs = 50
        return c
    }

    /// ViT-S/16 on COCO train2017 (vits16-coco_args.json): 300 epochs, 8×32, K = 64, pos_alpha 2.
    package static var vitSmallCOCO: Self {
        var c = Self(backbone: .vitSmall(), head: DINOHeadConfiguration(inputDimension: 384, normLastLayer: false))
        c.epochs = 300
        c.batchSizePerRank = 32
        c.clusters = 64
        c.positionAlpha = [2.0, 2.0]
        return c
    }

    /// The demo configuration (pipelines/demo.yaml): a 4-block ViT on 64×64 crops with patch 8, 1024-way heads,
    /// K = 8, a 256-image queue — minutes on 2 cores over a thousand synthetic images. Against the released settings
    /// it uses a faster teacher (momentum 0.99) and a constant teacher temperature of 0.04 for both heads: with the
    /// official 0.996, 4096 outputs and 0.04 → 0.07 both heads stayed at the uniform distribution (loss ln 4096)
    /// for a whole demo run and the teacher did not beat random initialisation (issue 5's note).
    package static var demo: Self {
        var c = Self(backbone: ViTConfiguration(imageSize: 64, patchSize: 8, embeddingDimension: 96, depth: 4, headCount: 3),
            head: DINOHeadConfiguration(inputDimension: 96, hiddenDimension: 512, bottleneckDimension: 128, outputDimension: 1024))
        c.momentumTeacher = 0.99
        c.teacherTemperature = 0.04
        c.teacherTemperatureCentroids = 0.04
        c.augmentation.imageSize = 64
        c.clusters = 8
        c.queueSize = 256
        c.epochs = 10
        c.batchSizePerRank = 8
        c.learningRate = 5e-4
        c.warmupEpochs = 1
        c.warmupTeacherTemperatureEpochs = 3
        c.checkpointEveryIterations = 50
        return c
    }

    /// The configurations by name.
    package static func named(_ name: String) -> Self? {
        switch name {
        case "vits16-in": return vitSmallImageNet
        case "vitb16-in": return vitBaseImageNet
        case "vits16-coco": return vitSmallCOCO
        case "demo": return demo
        default: return nil
        }
    }
}
