/// A lookup table of `V` vectors of width `D`.
///
/// Shapes: `table` `[V, D]`; looking up ids of shape `S` gives `S + [D]`. Checkpoint key:
/// `<prefix>.weight`. Scaling by `√D` and positions belong to the model, not here.
public struct Embedding: Layer {
    public let weight: Parameter

    /// fairseq's initialisation: N(0, D^{-1/2}), with the row `paddingIndex` (if any) zeroed.
    public init(vocabularySize: Int, dimension: Int, paddingIndex: Int? = nil, generator: inout SplitMix64) {
        var table = Tensor.normal([vocabularySize, dimension], standardDeviation: 1 / Float(dimension).squareRoot(), generator: &generator)
        if let paddingIndex {
            for j in 0..<dimension { table.scalars[paddingIndex * dimension + j] = 0 }
        }
        weight = Parameter(table)
    }

    public init(table: Tensor) {
        precondition(table.rank == 2, "Embedding: table \(table.shape) is not [V, D]")
        weight = Parameter(table)
    }

    public var vocabularySize: Int { weight.shape[0] }
    public var dimension: Int { weight.shape[1] }

    /// The rows for `ids`, shaped `shape + [D]` (default `[ids.count, D]`), recorded on `tape` if given.
    public func callAsFunction(_ ids: [Int], shape: [Int]? = nil, on tape: Tape?) -> Variable {
        embedding(Variable(weight, on: tape), ids: ids, shape: shape)
    }

    public func parameters(prefix: String) -> [(name: String, parameter: Parameter)] {
        [(qualifiedName(prefix, "weight"), weight)]
    }
}
