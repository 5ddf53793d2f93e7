import Testing

@testable import Seq2Seq

@Suite("Token batching and the learning-rate schedule")
struct TokenBatcherTests {
    /// Lengths of 500 made-up pairs, deterministic.
    private let lengths: (source: [Int], target: [Int]) = {
        var generator = SplitMix64(seed: 7)
        let source = (0..<500).map { _ in Int(generator.next() % 40) + 1 }
        let target = source.map { max(1, $0 + Int(generator.next() % 7) - 3) }
        return (source, target)
    }()

    @Test("every pair lands in exactly one batch, and every batch respects the token bound")
    func coverageAndBound() {
        let batcher = TokenBatcher(maxTokens: 256, maxSentences: 50)
        let batches = batcher.batches(sourceLengths: lengths.source, targetLengths: lengths.target, seed: 3)
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<500))
        for batch in batches {
            let longest = batch.map { max(lengths.source[$0], lengths.target[$0]) + 1 }.max()!
            #expect(batch.count * longest <= 256 || batch.count == 1)
            #expect(batch.count <= 50)
        }
    }

    @Test("batches are maximal: adding the next pair in length order would break a bound")
    func maximal() {
        let batcher = TokenBatcher(maxTokens: 200)
        let batches = batcher.batches(
            sourceLengths: lengths.source, targetLengths: lengths.target, seed: 5, shuffle: false)
        for (batch, next) in zip(batches, batches.dropFirst()) {
            let longest = (batch + [next[0]]).map { max(lengths.source[$0], lengths.target[$0]) + 1 }.max()!
            #expect((batch.count + 1) * longest > 200)
        }
        // Without shuffling, batches come in length order.
        let firstTargets = batches.map { lengths.target[$0[0]] }
        #expect(firstTargets == firstTargets.sorted())
    }

    @Test("the same seed gives the same batches; another epoch's seed another order")
    func determinism() {
        let batcher = TokenBatcher(maxTokens: 300)
        let one = batcher.batches(sourceLengths: lengths.source, targetLengths: lengths.target,
                                  seed: TokenBatcher.epochSeed(runSeed: 1, epoch: 1))
        let again = batcher.batches(sourceLengths: lengths.source, targetLengths: lengths.target,
                                    seed: TokenBatcher.epochSeed(runSeed: 1, epoch: 1))
        let next = batcher.batches(sourceLengths: lengths.source, targetLengths: lengths.target,
                                   seed: TokenBatcher.epochSeed(runSeed: 1, epoch: 2))
        #expect(one == again)
        #expect(one != next)
    }

    @Test("a pair longer than the bound gets a batch of its own")
    func oversized() {
        let batches = TokenBatcher(maxTokens: 10).batches(
            sourceLengths: [3, 50, 2], targetLengths: [3, 2, 2], seed: 0, shuffle: false)
        #expect(batches.contains([1]))
        #expect(batches.flatMap { $0 }.sorted() == [0, 1, 2])
    }

    @Test("inverse square root: linear warmup to the peak, then peak·√(warmup/step)")
    func schedule() {
        let schedule = InverseSquareRootSchedule(peak: 1e-3, warmupUpdates: 400)
        #expect(abs(schedule.learningRate(at: 1) - 1e-3 / 400) < 1e-15)
        #expect(abs(schedule.learningRate(at: 200) - 5e-4) < 1e-15)
        #expect(abs(schedule.learningRate(at: 400) - 1e-3) < 1e-15)
        #expect(abs(schedule.learningRate(at: 1600) - 5e-4) < 1e-15)
        #expect(schedule.learningRate(at: 0) == schedule.learningRate(at: 1))
    }
}
