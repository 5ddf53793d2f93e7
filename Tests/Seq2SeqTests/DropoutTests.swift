import Seq2Seq
import TestSupport
import Testing

@Suite("Dropout: seeded, inverted, regenerated in backward")
struct DropoutTests {
    @Test("keeps about 1 − p of the elements, scaled by 1/(1 − p), and is reproducible")
    func forward() {
        let x = Tensor(repeating: 1, shape: [100_000])
        let first = dropout(Tape(seed: 42).constant(x).asTracked, probability: 0.25).value
        let again = dropout(Tape(seed: 42).constant(x).asTracked, probability: 0.25).value
        let other = dropout(Tape(seed: 43).constant(x).asTracked, probability: 0.25).value
        #expect(first == again)
        #expect(first != other)
        let kept = first.scalars.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        #expect(abs(Double(kept.count) / 100_000 - 0.75) < 0.01)
    }

    @Test("backward multiplies by the same mask")
    func backward() throws {
        let tape = Tape(seed: 5)
        let x = tape.input(Inputs.normal([50, 40]))
        let y = dropout(x, probability: 0.5)
        let seed = Inputs.normal([50, 40], seed: 77)
        let output = y.value
        tape.backward(from: y, seed: seed)
        let gradient = try #require(tape.gradient(of: x))
        for i in 0..<output.count {
            let expected: Float = output.scalars[i] == 0 ? 0 : 2 * seed.scalars[i]
            #expect(gradient.scalars[i] == expected)
        }
    }

    @Test("is the identity without a tape, when not training, or with p = 0")
    func identity() {
        let x = Inputs.normal([3, 4])
        #expect(dropout(Variable(x), probability: 0.5).value == x)
        #expect(dropout(Tape(isTraining: false).input(x), probability: 0.5).value == x)
        #expect(dropout(Tape().input(x), probability: 0).value == x)
    }

    @Test("the mask does not depend on the thread count")
    func threads() {
        let x = Inputs.normal([300, 300])
        Parallel.threadCount = 1
        let one = dropout(Tape(seed: 1).input(x), probability: 0.3).value
        Parallel.threadCount = 2
        let two = dropout(Tape(seed: 1).input(x), probability: 0.3).value
        #expect(one == two)
    }
}

extension Variable {
    /// A tracked copy on the same tape (dropout only records on a tape).
    fileprivate var asTracked: Variable { tape!.input(value) }
}
