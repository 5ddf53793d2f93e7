/// A trainable tensor with its accumulated gradient.
///
/// A class, so that layers (structs) and the optimizer share identity: the optimizer updates `value`
/// in place and every layer holding the parameter sees it. Names are not stored here; a layer lists its
/// parameters with dotted names through ``Layer/parameters(prefix:)``.
public final class Parameter {
    /// The current value.
    public var value: Tensor
    /// The gradient accumulated by every `Tape.backward` since the last ``zeroGradient()``, same shape.
    public var gradient: Tensor

    public init(_ value: Tensor) {
        self.value = value
        self.gradient = Tensor(zeros: value.shape)
    }

    /// The shape of ``value``.
    public var shape: [Int] { value.shape }

    /// Sets the gradient to zero (in place, no allocation).
    public func zeroGradient() {
        gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}

extension Variable {
    /// The parameter as a variable: a gradient-tracked leaf on `tape` (one per parameter and graph),
    /// or a constant when `tape` is nil (inference).
    public init(_ parameter: Parameter, on tape: Tape?) {
        if let tape {
            self = tape.variable(for: parameter)
        } else {
            self.init(parameter.value)
        }
    }
}
