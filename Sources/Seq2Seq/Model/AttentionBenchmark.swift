import Dispatch

// The attention benchmark of issue 6 (the Luna paper's speed/memory comparison, per layer): one
// attention layer, forward and backward, batch 1, as the sequence grows.

/// Times one attention layer's training step (forward + backward) and records its peak working memory.
public enum AttentionBenchmark {
    /// The layer measured.
    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        /// Softmax self-attention (fairseq `MultiheadAttention`): O(n²) time and memory.
        case softmax
        /// Bidirectional Luna attention (pack + unpack, tied K/V) with l slots: O(n·l).
        case luna(projectionLength: Int)

        public var description: String {
            switch self {
            case .softmax: "softmax"
            case .luna(let l): "luna-\(l)"
            }
        }
    }

    /// One measured configuration.
    public struct Measurement: Sendable {
        public let kind: Kind
        public let tokens: Int
        /// Median seconds of one forward + backward.
        public let seconds: Double
        /// Peak bytes of activations and gradients held by the tape during a step (parameters excluded).
        public let peakBytes: Int
    }

    /// Measures `kind` on `tokens` positions of width `dimension` with `heads` heads (pack heads too).
    ///
    /// The loss is the sum of the outputs (for Luna, of both Yx and Yp), so every gradient is computed.
    /// Dropout is off, as inference-free timing should not depend on masks.
    public static func measure(
        _ kind: Kind, tokens: Int, dimension: Int = 256, heads: Int = 4, warmup: Int = 1, steps: Int = 3, seed: UInt64 = 1
    ) -> Measurement {
        var generator = SplitMix64(seed: seed)
        let x = Tensor.normal([1, tokens, dimension], generator: &generator)
        let tape = Tape(seed: seed, isTraining: true)
        let step: () -> Void
        switch kind {
        case .softmax:
            let layer = MultiHeadAttention.fairseq(dimension: dimension, heads: heads, attentionDropout: 0, generator: &generator)
            step = {
                let input = tape.input(x)
                let y = layer(query: input, keyValue: input)  // [1, n, d]
                tape.backward(from: sum(y))
            }
        case .luna(let l):
            let layer = LunaAttention(
                dimension: dimension, heads: heads, packHeads: heads, tiedKeyValue: true, attentionDropout: 0,
                generator: &generator)
            let p = Tensor.normal([1, l, dimension], generator: &generator)
            step = {
                let input = tape.input(x)
                let (yx, yp) = layer(input, p: tape.input(p), context: input, contextMask: nil, packedMask: nil)
                tape.backward(from: sum(yx) + sum(yp))
            }
        }
        for _ in 0..<warmup { step() }
        var times: [Double] = []
        var peak = 0
        for _ in 0..<steps {
            tape.resetPeakBytes()
            let start = DispatchTime.now().uptimeNanoseconds
            step()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            peak = max(peak, tape.peakBytes)
        }
        return Measurement(kind: kind, tokens: tokens, seconds: times.sorted()[times.count / 2], peakBytes: peak)
    }
}
