import Seq2Seq
import TestSupport
import Testing

/// The whole engine in one loop: embedding, attention with masks, layer norm, feed-forward, label-smoothed
/// cross-entropy, backward, plain SGD. A one-layer model learns to copy a token sequence shifted by one.
@Suite("A tiny model trains")
struct TrainingLoopTests {
    @Test("loss falls from ln V to near the label-smoothing floor in 200 SGD steps on a shift task")
    func shiftTask() {
        var generator = SplitMix64(seed: 42)
        let (vocabulary, width, length, batch) = (12, 16, 6, 8)
        let embed = Embedding(vocabularySize: vocabulary, dimension: width, generator: &generator)
        let attention = MultiHeadAttention(dimension: width, headCount: 2, generator: &generator)
        let norm = LayerNorm(dimension: width)
        let ffn = FeedForward(dimension: width, hiddenDimension: 32, generator: &generator)
        let positions = Parameter(Tensor.normal([length, width], standardDeviation: 0.3, generator: &generator))
        let parameters = embed.parameters(prefix: "embed") + attention.parameters(prefix: "attention") + norm.parameters(prefix: "norm")
            + ffn.parameters(prefix: "ffn") + [("positions", positions)]
        let tape = Tape(seed: 1)
        var losses: [Float] = []
        for step in 0..<200 {
            var data = SplitMix64(seed: UInt64(step % 6))
            let tokens = (0..<(batch * length)).map { _ in Int(data.next() % UInt64(vocabulary - 1)) + 1 }
            // target t = the token at t − 1 (causal), 0 (ignored) at t = 0
            let targets = (0..<(batch * length)).map { $0 % length == 0 ? 0 : tokens[$0 - 1] }
            var x = embed(tokens, shape: [batch, length], on: tape) + Variable(positions, on: tape)  // [B, T, D]
            x = norm(x + attention(query: x, keyValue: x, causal: true))
            x = x + ffn(x)
            let logits = linear(x, weight: Variable(embed.weight, on: tape))  // [B, T, V], tied output
            let (loss, _, count) = labelSmoothedCrossEntropy(logits: logits, targets: targets, labelSmoothing: 0.1, ignoring: 0)
            let mean = loss * (1 / Float(count))
            losses.append(mean.value.scalar)
            for (_, p) in parameters { p.zeroGradient() }
            tape.backward(from: mean)
            for (_, p) in parameters {
                for i in 0..<p.value.count { p.value.scalars[i] -= 1.0 * p.gradient.scalars[i] }
            }
        }
        let finite = losses.allSatisfy { $0.isFinite }
        let first: Float = losses.prefix(6).reduce(0, +) / 6
        let last: Float = losses.suffix(6).reduce(0, +) / 6
        #expect(finite)
        // ln 12 ≈ 2.5 at the start; copying the previous token perfectly leaves about 0.5 (label smoothing).
        #expect(first > 2.4 && last < 1.0, "losses \(losses)")
    }
}
