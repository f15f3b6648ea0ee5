// SPDX-License-Identifier: Apache-2.0
// Tensor: a shape over one 64-byte-aligned, contiguous Float32 buffer (row-major). Kernels work on the flat
// buffers; the tensor only owns memory and says what shape it has.

/// A row-major Float32 tensor that owns aligned storage.
///
/// Concretely: element `[i0, i1, ..., ik]` lives at `sum(i_j * stride_j)` with `stride_k = 1`. The storage is
/// zero-initialised and freed with the tensor. A `Tensor` is a reference type: kernels write into it in place.
package final class Tensor {
    /// The dimensions, outermost first.
    package private(set) var shape: [Int]
    /// The number of elements (the product of `shape`).
    package let count: Int
    /// The first element. Valid for `count` elements while the tensor lives.
    package let pointer: UnsafeMutablePointer<Float>
    /// Whether the tensor allocated (and frees) its storage; false for a view of memory owned elsewhere.
    private let ownsStorage: Bool

    /// A zero-filled tensor of the given shape.
    package init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        self.pointer = raw.assumingMemoryBound(to: Float.self)
        ownsStorage = true
    }

    /// A tensor over `count` floats at `pointer` that it does not own (node-shared memory, for example): the memory
    /// must stay valid while the tensor lives, and is not freed with it. Its alignment is the caller's (the kernels
    /// do not require 64 bytes; node-shared arenas start at page-aligned windows plus multiples of 64 bytes).
    package init(viewing pointer: UnsafeMutablePointer<Float>, shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.pointer = pointer
        ownsStorage = false
    }

    /// A tensor holding `values` (row-major) with the given shape.
    package convenience init(shape: [Int], values: [Float]) {
        self.init(zeros: shape)
        precondition(values.count == count, "Tensor: \(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }

    /// A tensor filled with `value`.
    package convenience init(shape: [Int], repeating value: Float) {
        self.init(zeros: shape)
        pointer.update(repeating: value, count: count)
    }

    deinit { if ownsStorage { UnsafeMutableRawPointer(pointer).deallocate() } }

    /// The elements, read-only.
    package var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    /// The elements, writable.
    package var mutableBuffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }
    /// A copy of the elements as an array.
    package var scalars: [Float] { Array(buffer) }

    /// Element access by flat index.
    package subscript(flat index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    /// Changes the shape without touching the data; the element count must stay the same.
    package func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "Tensor.reshape: \(shape) -> \(newShape) changes the count")
        shape = newShape
    }

    /// A deep copy.
    package func copy() -> Tensor {
        let result = Tensor(zeros: shape)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    /// Sets every element to zero (large tensors over the compute threads, so that the others do not sit idle
    /// during a long fill: the gradients of a ViT-Ti + DINO head are 108 MB).
    package func zero() {
        let base = pointer
        ComputeThreads.parallelFor(count, grain: Tensor.bulkGrain, chunksPerThread: 1) { range in
            (base + range.lowerBound).update(repeating: 0, count: range.count)
        }
    }

    /// Copies the elements of `other` (same element count) into this tensor.
    package func assign(from other: Tensor) {
        precondition(other.count == count, "Tensor.assign: \(other.shape) into \(shape)")
        let (source, destination) = (other.pointer, pointer)
        ComputeThreads.parallelFor(count, grain: Tensor.bulkGrain, chunksPerThread: 1) { range in
            (destination + range.lowerBound).update(from: source + range.lowerBound, count: range.count)
        }
    }

    /// Elements per range of the parallel bulk fills and copies (1 MiB): smaller tensors are done by one thread.
    static let bulkGrain = 262_144
}
