/// A building block with named parameters.
///
/// Layers are structs holding ``Parameter``s (classes, shared with the optimizer) and sublayers. Each
/// lists its parameters explicitly under dotted names, which are the checkpoint keys, e.g.
/// `encoder.layers.0.self_attn.q_proj.weight`. The forward pass is `callAsFunction`; it records on the tape
/// of its input variable, or just computes when the input is on no tape (inference).
public protocol Layer {
    /// Every parameter with its dotted name under `prefix` (`""` for none), in a fixed order.
    func parameters(prefix: String) -> [(name: String, parameter: Parameter)]
}

extension Layer {
    /// The parameters as a name → tensor map (what a checkpoint stores).
    public func stateDictionary(prefix: String = "") -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters(prefix: prefix).map { ($0.name, $0.parameter.value) })
    }

    /// Copies values from a name → tensor map into the parameters.
    /// - Throws: `Seq2SeqError.missingTensor` or `.shapeMismatch` when a parameter has no entry or its
    ///   entry has another shape (extra entries are ignored; the caller decides whether they are allowed).
    public func load(_ tensors: [String: Tensor], prefix: String = "") throws(Seq2SeqError) {
        for (name, parameter) in parameters(prefix: prefix) {
            guard let tensor = tensors[name] else { throw .missingTensor(name: name) }
            guard tensor.shape == parameter.shape else {
                throw .shapeMismatch(name: name, expected: parameter.shape, found: tensor.shape)
            }
            parameter.value = tensor
        }
    }

    /// Sets every parameter's gradient to zero.
    public func zeroGradients() {
        for (_, parameter) in parameters(prefix: "") { parameter.zeroGradient() }
    }

    /// Total number of scalars in the parameters.
    public var parameterCount: Int { parameters(prefix: "").reduce(0) { $0 + $1.parameter.value.count } }
}

/// `prefix.name`, or `name` when the prefix is empty.
public func qualifiedName(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : prefix + "." + name
}
