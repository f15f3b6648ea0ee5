// SPDX-License-Identifier: Apache-2.0
// Errors that stop a pretraining run; each says what to do next.

/// Why a pretraining run stopped.
package enum TrainingError: Error, CustomStringConvertible {
    /// The loss became NaN or infinite (DINO's `math.isfinite` guard); the last checkpoint is intact.
    case nonFiniteLoss(epoch: Int, iteration: Int, values: [String: Float], checkpoint: String?)
    case configuration(String)

    package var description: String {
        switch self {
        case .nonFiniteLoss(let epoch, let iteration, let values, let checkpoint):
            let terms = values.keys.sorted().map { "\($0) \(values[$0]!)" }.joined(separator: ", ")
            return "non-finite loss at epoch \(epoch), iteration \(iteration) (\(terms)); stopped"
                + (checkpoint.map { "; the last checkpoint \($0) is intact" } ?? "")
        case .configuration(let message): return "configuration: \(message)"
        }
    }
}
