// SPDX-License-Identifier: Apache-2.0
// The student and teacher of CrIBo: ViT backbone + DINO head (keys "backbone.*" and "head.*", as DINO's
// MultiCropWrapper state_dict), one parameter arena each, gradients and AdamW moments laid out alike.

import CriboNN
import CriboTensor

/// The networks and optimiser state of a run.
package final class CriboModel {
    package let backbone: VisionTransformer
    package let head: DINOHead
    package let student: ParameterArena
    package let teacher: ParameterArena
    package let gradients: ParameterArena
    package let optimizer: AdamW

    /// Student initialised from `seed` (spec §1-2), teacher = student.
    package init(configuration: PretrainConfiguration) {
        backbone = VisionTransformer(configuration: configuration.backbone, prefix: "backbone.")
        head = DINOHead(configuration: configuration.head, prefix: "head.")
        let slots = VisionTransformer.parameterSlots(for: configuration.backbone, prefix: "backbone.")
            + DINOHead.parameterSlots(for: configuration.head, prefix: "head.")
        student = ParameterArena(slots: slots)
        student.initialize(seed: configuration.seed)
        teacher = ParameterArena(like: student)
        teacher.assign(from: student)
        gradients = ParameterArena(like: student)
        optimizer = AdamW(like: student)
    }

    /// The teacher backbone as a stand-alone backbone (prefix stripped), for export.
    package func exportTeacherBackbone(to path: String, metadata: [String: String]) throws {
        try BackboneCheckpoint.save(backbone, parameters: teacher, to: path, extraMetadata: metadata)
    }
}
