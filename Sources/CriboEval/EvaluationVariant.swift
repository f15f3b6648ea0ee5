// SPDX-License-Identifier: Apache-2.0
// Which conventions a dense evaluation follows (spec §9.1, §11.21): the clean protocol by default, or the
// open-hummingbird-eval conventions with their quirks, named in every report.

/// The conventions of the dense k-NN retrieval evaluation.
package enum EvaluationVariant: String, Codable, Sendable, CaseIterable {
    /// Standard mIoU: ignored pixels dropped, classes absent from both prediction and ground truth not averaged,
    /// no Hungarian matching, ImageNet normalisation.
    case clean
    /// open-hummingbird-eval (v1.x) conventions: std 0.255 for blue, train labels 255 → 0, Hungarian matching, mIoU over
    /// all classes including never-seen ones (ADE20K's ignored class 0 deflates it), metric at the resized resolution.
    case hummingbird
}
