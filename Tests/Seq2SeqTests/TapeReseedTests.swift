import Testing

@testable import Seq2Seq

@Suite("Tape reseeding")
struct TapeReseedTests {
    @Test("a reseeded tape draws the masks of a new tape with that seed, and keeps its buffers")
    func reseed() {
        let x = Tensor(repeating: 1, shape: [64, 64])
        func mask(_ tape: Tape) -> [Float] {
            let y = dropout(tape.input(x), probability: 0.5)
            let values = y.value.scalars
            tape.backward(from: sum(y))
            return values
        }
        let reused = Tape(seed: 1)
        _ = mask(reused)
        let allocations = reused.bufferAllocations
        reused.reseed(42)
        let again = mask(reused)
        #expect(again == mask(Tape(seed: 42)))
        #expect(again != mask(Tape(seed: 43)))
        #expect(reused.bufferAllocations == allocations)
    }
}
