/// A tensor value that may be recorded on a ``Tape``.
///
/// A variable is one of three things:
/// - a constant with no tape (inference: every op just computes its forward);
/// - a constant bound to a tape (`tape.constant(_:)`): it needs no gradient, but layers can find the tape
///   through it;
/// - a node on a tape (`id != nil`): ops on it are recorded and its gradient can be computed.
public struct Variable {
    /// The forward value.
    public let value: Tensor
    /// The tape that records ops on this variable, if any.
    public let tape: Tape?
    /// Index of the node on the tape; `nil` when no gradient flows to this variable.
    let id: Int?
    /// The tape generation the node belongs to (a tape starts a new graph after `backward`).
    let generation: Int

    /// A constant, on no tape.
    public init(_ value: Tensor) {
        self.value = value
        self.tape = nil
        self.id = nil
        self.generation = 0
    }

    init(value: Tensor, tape: Tape?, id: Int?, generation: Int) {
        self.value = value
        self.tape = tape
        self.id = id
        self.generation = generation
    }

    /// The shape of ``value``.
    @inlinable public var shape: [Int] { value.shape }
    /// Whether a gradient flows to this variable.
    public var requiresGradient: Bool { id != nil }
}

/// The tape shared by a set of op inputs, checking that they do not come from different tapes.
func commonTape(_ inputs: [Variable], op: String) -> Tape? {
    var found: Tape?
    for input in inputs {
        guard let tape = input.tape else { continue }
        if let found {
            precondition(found === tape, "\(op): inputs recorded on different tapes")
        } else {
            found = tape
        }
        if input.id != nil {
            precondition(
                input.generation == tape.generation,
                "\(op): input belongs to a graph that backward() already released")
        }
    }
    return found
}

/// Records an op's output on its inputs' tape and returns it as a variable.
///
/// This is the whole contract of a differentiable op: compute `value` with kernels, then pass the backward
/// closure, written right below the forward, that turns the output gradient into input gradients through
/// ``Tape/accumulateGradient(into:_:)``. The closure receives the tape as an argument and must capture only
/// node ids (`Variable.gradientSlot`) and the tensors it needs, never whole variables.
///
/// With no tape, or when no input needs a gradient, nothing is recorded and the closure is dropped.
/// - Parameters:
///   - value: the forward result.
///   - inputs: the op's inputs (constants included).
///   - op: a name for error messages.
///   - pooled: whether `value`'s storage came from the tape's pool and may be recycled after backward.
///   - backward: `(dOutput, tape)`, accumulating into the inputs' gradients.
public func record(
    _ value: Tensor, inputs: [Variable], op: String, pooled: Bool = true,
    backward: @escaping (_ gradient: Tensor, _ tape: Tape) -> Void
) -> Variable {
    guard let tape = commonTape(inputs, op: op) else { return Variable(value) }
    guard inputs.contains(where: { $0.id != nil }) else {
        if pooled { tape.pool.forget(value.scalars) }
        return tape.constant(value)
    }
    return tape.append(value, pooled: pooled, backward: backward)
}

extension Variable {
    /// The handle a backward closure captures to address this variable's gradient (`nil`: no gradient).
    public var gradientSlot: Int? { id }
}
