// SPDX-License-Identifier: Apache-2.0
// ToTensor + Normalize as torchvision computes them in float32: (v / 255 − mean[c]) / std[c], channel-first.
// reference: torchvision functional.to_tensor (img.float().div(255)), Normalize (tensor.sub_(mean).div_(std))

extension RGBImage {
    /// The image as a normalised channel-first tensor.
    ///
    /// Concretely: out[c, y, x] = (Float(v) / 255 − mean[c]) / std[c] with each step rounded to float32, as
    /// torchvision's ToTensor followed by Normalize.
    /// - Parameters:
    ///   - mean: 3 values.
    ///   - std: 3 values.
    /// - Returns: [3, height, width].
    package func normalizedTensor(mean: [Float], std: [Float]) -> [Float] {
        precondition(mean.count == 3 && std.count == 3, "normalizedTensor: mean \(mean) and std \(std) need 3 values")
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        for c in 0..<3 {
            // 256-entry table per channel: the same float32 steps for every byte value
            let table = (0..<256).map { (Float($0) / 255 - mean[c]) / std[c] }
            for k in 0..<plane { out[c * plane + k] = table[Int(pixels[3 * k + c])] }
        }
        return out
    }
}
