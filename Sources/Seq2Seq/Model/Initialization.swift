// Initialisers the official code uses that the generic layers do not offer.
// Reference: PyTorch `torch.nn.init.xavier_uniform_`; fairseq-apollo `luna_attention.py` `reset_parameters`.

extension Linear {
    /// A square-or-not projection initialised as `xavier_uniform_(weight, gain)`: uniform in
    /// `±gain·√(6/(in + out))`; the bias is zero when `zeroBias`, else PyTorch's default `±1/√in`.
    static func xavier(
        inputs: Int, outputs: Int, gain: Float, zeroBias: Bool = false, generator: inout SplitMix64
    ) -> Linear {
        let bound = gain * (6 / Float(inputs + outputs)).squareRoot()
        let weight = Tensor.uniform([outputs, inputs], low: -bound, high: bound, generator: &generator)
        let biasBound = 1 / Float(inputs).squareRoot()
        let bias =
            zeroBias
            ? Tensor(zeros: [outputs])
            : Tensor.uniform([outputs], low: -biasBound, high: biasBound, generator: &generator)
        return Linear(weight: weight, bias: bias)
    }
}
