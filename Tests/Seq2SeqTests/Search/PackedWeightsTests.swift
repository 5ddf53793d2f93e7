import Testing

@testable import Seq2Seq

/// Decoder products on weights packed once (``PackedWeight``, ``packedProduct``, ``packedRowsProduct``) must
/// give the bits of the products they replace: `cblas_sgemm` on one thread over the same columns (decoding
/// outputs are compared byte for byte across versions). Without OpenBLAS's kernels nothing is packed and the
/// decoder keeps its OpenBLAS calls, which these tests check too.
@Suite("Products on packed weights equal OpenBLAS's bit for bit", .serialized)
struct PackedWeightsTests {
    func values(_ count: Int, seed: UInt64) -> [Float] { DecodingKernelTests().values(count, seed: seed) }

    /// `y[:, columns] = x·Wᵀ[:, columns] (+ y)` through `cblas_sgemm`, Wᵀ `[inputs, outputs]`.
    func openBLAS(
        _ x: [Float], rows: Int, inputs: Int, _ transposed: [Float], outputs: Int, columns: Range<Int>, into y: inout [Float],
        beta: Float
    ) {
        y.withUnsafeMutableBufferPointer { y in
            gemm(
                m: rows, n: columns.count, k: inputs, a: x, lda: inputs, b: transposed.withUnsafeBufferPointer { $0.baseAddress! }
                    + columns.lowerBound, ldb: outputs, beta: beta, c: y.baseAddress! + columns.lowerBound, ldc: outputs)
        }
    }

    /// Shapes that take every branch of OpenBLAS's blocking: k over one, two and three blocks of Q (and one
    /// that is no multiple of 8), outputs past 2·P (several blocks of outputs, the last two halved), rows in
    /// whole and partial chunks of 3·UNROLL_N, column ranges that start past zero, beta 0 and 1.
    @Test(
        "packedProduct equals cblas_sgemm on one thread",
        arguments: [(256, 704), (1_024, 256), (700, 128), (37, 64)], [9, 13, 40, 161])
    func matchesOpenBLAS(shape: (inputs: Int, outputs: Int), rows: Int) throws {
        let (inputs, outputs) = shape
        let x = values(rows * inputs, seed: UInt64(rows))
        let w = values(inputs * outputs, seed: UInt64(inputs))
        let start = values(rows * outputs, seed: 3)
        guard let packed = w.withUnsafeBufferPointer({ PackedWeight(transposed: $0.baseAddress!, inputs: inputs, outputs: outputs) })
        else {
            #expect(OpenBLASKernels.current == nil)
            return
        }
        BLAS.withThreadCount(1) {
            for columns in [0..<outputs, 0..<64, 64..<outputs] where !columns.isEmpty {
                for beta: Float in [0, 1] {
                    var expected = start
                    openBLAS(x, rows: rows, inputs: inputs, w, outputs: outputs, columns: columns, into: &expected, beta: beta)
                    var actual = start
                    actual.withUnsafeMutableBufferPointer { y in
                        packedProduct(x, rows: rows, weight: packed, columns: columns, beta: beta, into: y.baseAddress!, ldy: outputs)
                    }
                    #expect(actual.map(\.bitPattern) == expected.map(\.bitPattern), "columns \(columns), beta \(beta)")
                }
            }
        }
    }

    /// The rows in parts that start at multiples of 3·UNROLL_N, each part over ``decoderColumnRanges``'s
    /// columns, give ``decoderLinear``'s bits for all rows at once (with a bias, with ReLU, and with inputs
    /// and outputs in rows wider than the product, as the decoder's `wide` buffer).
    @Test("packedRowsProduct by row parts equals decoderLinear", arguments: [40, 160], [false, true])
    func rowPartsMatchDecoderLinear(rows: Int, relu: Bool) throws {
        let (inputs, outputs, stride) = (256, 768, 1_024)
        let x = values(rows * stride, seed: 11)
        let w = values(inputs * outputs, seed: 12)
        let bias = values(outputs, seed: 13)
        guard let kernels = OpenBLASKernels.current,
            let packed = w.withUnsafeBufferPointer({ PackedWeight(transposed: $0.baseAddress!, inputs: inputs, outputs: outputs) })
        else { return }
        var expected = [Float](repeating: .nan, count: rows * stride)
        var actual = expected
        BLAS.withThreadCount(1) {
            expected.withUnsafeMutableBufferPointer { y in
                decoderLinear(
                    x, rows: rows, inputs: inputs, weight: w, transposed: true, bias: bias, outputs: outputs,
                    into: y.baseAddress!, ldy: stride, relu: relu)
            }
        }
        // decoderLinear reads x `[rows, inputs]`; the parts read the same values `stride` apart.
        var strided = [Float](repeating: .nan, count: rows * stride)
        for r in 0..<rows { for k in 0..<inputs { strided[r * stride + k] = x[r * inputs + k] } }
        let chunk = 3 * kernels.unrollN
        let split = (rows / 2) / chunk * chunk
        actual.withUnsafeMutableBufferPointer { y in
            for part in [0..<split, split..<rows] {
                packedRowsProduct(
                    strided, ldx: stride, rows: part, of: rows, weight: packed, bias: bias, into: y.baseAddress!, ldy: stride,
                    relu: relu)
            }
        }
        #expect(split > 0 && split % chunk == 0)
        #expect(actual.map(\.bitPattern) == expected.map(\.bitPattern))
        var agrees = false
        BLAS.withThreadCount(1) { agrees = w.withUnsafeBufferPointer { packed.agreesWithOpenBLAS(transposed: $0.baseAddress!) } }
        #expect(agrees)
    }

    /// A whole Luna step with its rows split over the threads equals the step with each product split by
    /// columns, bit for bit: every layer's logits over several steps, with rows reordered between them, for
    /// pre- and post-norm, tied and untied keys and values, and both cross-attentions.
    @Test(
        "Luna steps split by rows equal steps split by columns",
        arguments: [(true, true, ModelConfiguration.CrossAttention.luna), (false, false, .softmax), (true, false, .luna)])
    func lunaStepRowSplit(options: (normalizeBefore: Bool, tieKeyValue: Bool, cross: ModelConfiguration.CrossAttention)) {
        var c = ModelConfiguration(
            arch: .luna, vocabularySize: 96, modelDimension: 64, encoderLayers: 1, decoderLayers: 2, attentionHeads: 4,
            packHeads: 4, ffnDimension: 128, projectionLength: 4)
        c.normalizeBefore = options.normalizeBefore
        c.tieKeyValue = options.tieKeyValue
        c.crossAttention = options.cross
        let model = EncoderDecoder(c, seed: 9)
        let sources = (0..<9).map { s in (0..<(3 + s % 5)).map { 4 + ($0 * 7 + s * 5) % 90 } + [c.eosId] }
        let copies = 4
        func decode() -> [[UInt32]] {
            var state = model.start(sources: sources, copies: copies)
            var logits: [[UInt32]] = []
            var tokens = [Int](repeating: c.bosId, count: sources.count * copies)
            for t in 0..<4 {
                var scores = NextTokenScores()
                model.step(tokens: tokens, state: &state, scores: &scores)
                logits.append(Array(scores.values.prefix(tokens.count * c.vocabularySize)).map(\.bitPattern))
                tokens = tokens.indices.map { 4 + ($0 * 13 + t * 3) % 90 }
                // Every row continues a row of its own sentence, some another than its own.
                if t == 1 {
                    model.reorder(&state, rows: tokens.indices.map { $0 / copies * copies + ($0 + 1) % copies })
                }
            }
            return logits
        }
        let before = EncoderDecoder.rowSplitSteps.load(ordering: .relaxed)
        let split = decode()
        let stepsSplit = EncoderDecoder.rowSplitSteps.load(ordering: .relaxed) - before
        EncoderDecoder.splitsStepRows.store(false, ordering: .relaxed)
        let columns = decode()
        EncoderDecoder.splitsStepRows.store(true, ordering: .relaxed)
        let differing = zip(split.joined(), columns.joined()).filter { $0 != $1 }.count
        #expect(split.map(\.count) == columns.map(\.count) && differing == 0, "\(differing) logits differ")
        if Parallel.threadCount > 1, OpenBLASKernels.current != nil {
            #expect(stepsSplit >= 4, "the row split did not run")
        }
    }
}
