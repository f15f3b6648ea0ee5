// SPDX-License-Identifier: Apache-2.0
// One allocation for all parameters of a model, laid out by one list of slots. Gradients and AdamW moments use
// `ParameterArena(like:)`, so the optimiser, the EMA and the gradient all-reduce are single flat loops.
// Slot keys are PyTorch state_dict names (e.g. "backbone.blocks.3.attn.qkv.weight").

import CriboTensor
import Foundation

/// How a parameter is initialised (spec §1-2).
package enum ParameterInitializer: Equatable, Sendable {
    /// Normal(0, std) truncated at the absolute bounds [low, high] (timm/DINO trunc_normal_).
    case truncatedNormal(std: Double, low: Double = -2, high: Double = 2)
    /// Uniform(−bound, bound): PyTorch's default Linear/Conv init, kaiming_uniform(a=√5) ⇒ bound = 1/√fan_in.
    case uniform(bound: Double)
    /// Every element equal to the value (LayerNorm weight 1, biases 0, weight-norm g 1).
    case constant(Float)
}

/// One named parameter tensor.
package struct ParameterSlot: Equatable, Sendable {
    /// The state_dict key.
    package var key: String
    package var shape: [Int]
    /// Whether AdamW applies weight decay (DINO get_params_groups: not for `.bias` names or 1-D tensors).
    package var isDecayed: Bool
    /// Whether the parameter is optimised (false for weight-norm g with norm_last_layer).
    package var isTrainable: Bool
    package var initializer: ParameterInitializer
    package var count: Int { shape.reduce(1, *) }

    /// A slot whose decay follows DINO's rule from its key and shape.
    package init(key: String, shape: [Int], initializer: ParameterInitializer, isTrainable: Bool = true) {
        self.key = key
        self.shape = shape
        self.isDecayed = !(key.hasSuffix(".bias") || shape.count == 1)
        self.isTrainable = isTrainable
        self.initializer = initializer
    }
}

/// All parameters (or gradients, or optimiser moments) of a model in one buffer.
package final class ParameterArena {
    package let slots: [ParameterSlot]
    /// Offset of each slot in `storage`, in slot order.
    package let offsets: [Int]
    package let storage: Tensor
    private let indexByKey: [String: Int]

    /// A zero-filled arena for `slots`.
    package convenience init(slots: [ParameterSlot]) {
        self.init(slots: slots, storage: nil)
    }

    /// An arena for `slots` over `storage` (which must hold `ParameterArena.storageCount(for: slots)` floats), or over
    /// zero-filled storage of its own when nil.
    package init(slots: [ParameterSlot], storage: Tensor?) {
        var offsets: [Int] = []
        var total = 0
        var index: [String: Int] = [:]
        for (i, slot) in slots.enumerated() {
            precondition(index[slot.key] == nil, "ParameterArena: duplicate key \(slot.key)")
            index[slot.key] = i
            offsets.append(total)
            total += (slot.count + 15) / 16 * 16  // each slot starts 64-byte aligned
        }
        self.slots = slots
        self.offsets = offsets
        self.indexByKey = index
        if let storage { precondition(storage.count == total, "ParameterArena: storage of \(storage.count) floats for \(total)") }
        self.storage = storage ?? Tensor(zeros: [total])
    }

    /// The floats an arena for `slots` occupies (each slot padded to 16 floats).
    package static func storageCount(for slots: [ParameterSlot]) -> Int { slots.reduce(0) { $0 + ($1.count + 15) / 16 * 16 } }

    /// A zero-filled arena with the layout of `other` (for gradients and optimiser state).
    package convenience init(like other: ParameterArena) { self.init(slots: other.slots) }

    /// The storage positions of slots `slots` (a contiguous span, with the padding between them; the last slot's span
    /// runs to the end of the storage).
    package func storageSpan(slots: Range<Int>) -> Range<Int> {
        guard !slots.isEmpty else { return 0..<0 }
        return offsets[slots.lowerBound]..<(slots.upperBound == self.slots.count ? storage.count : offsets[slots.upperBound])
    }

    /// The slots that rank `rank` of `ranks` updates when the ranks share the update of one copy of the parameters:
    /// slot i belongs to the rank whose 1/`ranks` of the storage holds the slot's first element (contiguous, about equal
    /// shares; a rank may get none).
    package func share(of rank: Int, ranks: Int) -> Range<Int> {
        func owner(_ i: Int) -> Int { min(ranks - 1, offsets[i] * ranks / max(storage.count, 1)) }
        let first = slots.indices.first { owner($0) >= rank } ?? slots.count
        let end = slots.indices.first { owner($0) > rank } ?? slots.count
        return first..<max(first, end)
    }

    /// The number of parameters (excluding alignment padding).
    package var parameterCount: Int { slots.reduce(0) { $0 + $1.count } }

    /// The slot index of `key`, or nil.
    package func index(of key: String) -> Int? { indexByKey[key] }

    /// The first element of parameter `key`; a missing key is a programming error.
    package func pointer(_ key: String) -> UnsafeMutablePointer<Float> {
        guard let i = indexByKey[key] else { preconditionFailure("ParameterArena: no parameter \(key)") }
        return storage.pointer + offsets[i]
    }

    /// The elements of slot `i`.
    package func buffer(slot i: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: storage.pointer + offsets[i], count: slots[i].count)
    }

    /// Sets every parameter to zero.
    package func zero() { storage.zero() }

    /// Copies all values from an arena of the same layout.
    package func assign(from other: ParameterArena) {
        precondition(other.slots == slots, "ParameterArena.assign: layouts differ")
        storage.assign(from: other.storage)
    }

    /// Initialises every slot from its own random stream, `SplitMix64.mix(seed, hash(key))`, so that a value
    /// depends only on the seed and its key (not on the slot order).
    package func initialize(seed: UInt64) {
        for (i, slot) in slots.enumerated() {
            var rng = SplitMix64(seed: SplitMix64.mix(seed, stableHash(slot.key)))
            let values = buffer(slot: i)
            switch slot.initializer {
            case .constant(let value):
                values.update(repeating: value)
            case .uniform(let bound):
                for j in values.indices { values[j] = Float(rng.nextUniform(-bound, bound)) }
            case .truncatedNormal(let std, let low, let high):
                for j in values.indices {
                    var x = rng.nextNormal() * std
                    while x < low || x > high { x = rng.nextNormal() * std }
                    values[j] = Float(x)
                }
            }
        }
    }
}
