/// A dense Float32 tensor: a shape and contiguous row-major storage.
///
/// `Tensor` is a value type with copy-on-write storage (a Swift array), so it is `Sendable` and cheap to
/// pass around. There are no strided views: reshaping is free, transposing copies.
///
/// Concretely, the element at indices `(i₀, …, iₙ₋₁)` lives at `Σ iₖ·strideₖ` with
/// `strideₖ = Π_{j>k} shape[j]`.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The extent of each axis. A scalar has shape `[]` and one element.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Float]

    /// A tensor with the given shape and elements.
    /// - Precondition: `scalars.count` equals the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in \(shape)")
        precondition(
            scalars.count == shape.reduce(1, *),
            "Tensor: \(scalars.count) scalars for shape \(shape)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of the given shape filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

    /// A rank-0 tensor holding one value.
    public init(scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// Number of elements.
    @inlinable public var count: Int { scalars.count }
    /// Number of axes.
    @inlinable public var rank: Int { shape.count }
    /// The single element of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "Tensor.scalar: shape \(shape) has \(count) elements")
        return scalars[0]
    }

    /// The same elements under a new shape; one extent may be `-1` and is then inferred.
    /// - Precondition: the element counts agree.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var copy = self
        copy.shape = resolveShape(newShape, count: count, op: "reshaped")
        return copy
    }

    /// Element access by full index, for tests and small glue code (not for kernels).
    public subscript(_ indices: Int...) -> Float {
        get { scalars[offset(of: indices)] }
        set { scalars[offset(of: indices)] = newValue }
    }

    private func offset(of indices: [Int]) -> Int {
        precondition(indices.count == rank, "Tensor: \(indices.count) indices for shape \(shape)")
        var offset = 0
        for (axis, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[axis], "Tensor: index \(indices) out of \(shape)")
            offset = offset * shape[axis] + index
        }
        return offset
    }

    public var description: String {
        let head = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(\(shape), [\(head)\(count > 8 ? ", …" : "")])"
    }
}

/// Resolves a shape with at most one `-1` against an element count.
func resolveShape(_ shape: [Int], count: Int, op: String) -> [Int] {
    let unknown = shape.filter { $0 == -1 }.count
    precondition(unknown <= 1 && shape.allSatisfy { $0 >= -1 }, "\(op): bad shape \(shape)")
    if unknown == 1 {
        let known = shape.filter { $0 != -1 }.reduce(1, *)
        precondition(known > 0 && count % known == 0, "\(op): cannot reshape \(count) elements to \(shape)")
        return shape.map { $0 == -1 ? count / known : $0 }
    }
    precondition(shape.reduce(1, *) == count, "\(op): cannot reshape \(count) elements to \(shape)")
    return shape
}

extension Tensor {
    /// Runs `body` with a read-only pointer to the elements.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Runs `body` with a mutable pointer to the elements (copying first if the storage is shared).
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// A tensor of `shape` whose elements are left uninitialised, for kernels that overwrite every element.
    static func uninitialized(_ shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *)
        let scalars = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        return Tensor(shape: shape, scalars: scalars)
    }
}
