// SPDX-License-Identifier: Apache-2.0
// The memory bank of the dense k-NN evaluation: unit-norm patch features and their soft labels, in two growable
// Float32 buffers (one row per stored patch). Legend: D feature dimension, C classes.

/// Stored patches: L2-normalised features [count, D] and soft labels [count, C].
package final class PatchMemory {
    /// D.
    package let dimension: Int
    /// C.
    package let classCount: Int
    /// Rows stored.
    package private(set) var count = 0
    private var capacity: Int
    private var featureStorage: UnsafeMutablePointer<Float>
    private var labelStorage: UnsafeMutablePointer<Float>

    /// An empty memory with room for `capacity` rows before it grows.
    package init(dimension: Int, classCount: Int, capacity: Int = 1024) {
        precondition(dimension > 0 && classCount > 0, "PatchMemory: dimension \(dimension), classes \(classCount)")
        self.dimension = dimension
        self.classCount = classCount
        self.capacity = max(capacity, 1)
        featureStorage = .allocate(capacity: self.capacity * dimension)
        labelStorage = .allocate(capacity: self.capacity * classCount)
    }

    deinit {
        featureStorage.deallocate()
        labelStorage.deallocate()
    }

    /// [count, D] the stored unit-norm features.
    package var features: UnsafePointer<Float> { UnsafePointer(featureStorage) }

    /// [count, C] the stored soft labels.
    package var labels: UnsafePointer<Float> { UnsafePointer(labelStorage) }

    /// Appends one row: the feature divided by its L2 norm (no epsilon, as open-hummingbird-eval's
    /// `features / torch.norm(features)`; a zero feature is a precondition failure) and its soft label.
    /// - Parameters:
    ///   - feature: [D] un-normalised.
    ///   - label: [C].
    package func append(feature: UnsafePointer<Float>, label: UnsafePointer<Float>) {
        if count == capacity { grow(to: capacity * 2) }
        let normalized = PatchMemory.normalize(feature, dimension: dimension, into: featureStorage + count * dimension)
        precondition(normalized, "PatchMemory.append: feature of row \(count) has norm 0 or not finite")
        (labelStorage + count * classCount).update(from: label, count: classCount)
        count += 1
    }

    /// Writes feature / ‖feature‖ (the norm accumulated in Float64, one Float32 inverse) into `row`, the one
    /// normalisation of every memory row; false (and `row` untouched) when the norm is 0 or not finite.
    /// - Parameters:
    ///   - feature, row: [D].
    package static func normalize(_ feature: UnsafePointer<Float>, dimension D: Int, into row: UnsafeMutablePointer<Float>) -> Bool {
        var squares: Double = 0
        for d in 0..<D { squares += Double(feature[d]) * Double(feature[d]) }
        guard squares > 0 && squares.isFinite else { return false }
        let inverse = Float(1 / squares.squareRoot())
        for d in 0..<D { row[d] = feature[d] * inverse }
        return true
    }

    /// Makes room for `rows` rows in total (a no-op when there already is).
    package func reserve(rows: Int) { if rows > capacity { grow(to: rows) } }

    private func grow(to newCapacity: Int) {
        let features = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * dimension)
        features.update(from: featureStorage, count: count * dimension)
        featureStorage.deallocate()
        featureStorage = features
        let labels = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * classCount)
        labels.update(from: labelStorage, count: count * classCount)
        labelStorage.deallocate()
        labelStorage = labels
        capacity = newCapacity
    }
}
