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

    @Test("element i is kept iff the 16-bit draw of its documented hash of (seed, i/2) is at least p·2¹⁶")
    func documentedMask() throws {
        // The kernel hashes eight pairs at a time and the rest one by one; every length here ends differently,
        // and 40,001 elements take the two-thread path (the thread count itself is left to the test below).
        for (count, p) in [(37, Float(0.1)), (40_001, 0.3), (4_096, 0.5)] {
            let tape = Tape(seed: 11)
            let x = tape.input(Inputs.normal([count], seed: 3))
            let y = dropout(x, probability: p)
            let again = dropout(x, probability: p)  // second seed of the stream: its backward adds to dx
            let seeds = { let t = Tape(seed: 11); return [t.nextSeed(), t.nextSeed()] }()
            let g = Inputs.normal([count], seed: 4)
            tape.backward(from: [y, again], seeds: [g, g])
            let dx = try #require(tape.gradient(of: x))
            let scale = 1 / (1 - p)
            for i in 0..<count {
                let keep = seeds.map { documentedDraw(seed: $0, element: i) >= UInt32(Double(p) * 65536) }
                #expect(y.value.scalars[i] == (keep[0] ? x.value.scalars[i] * scale : 0), "element \(i) of \(count)")
                let expected = (keep[0] ? g.scalars[i] * scale : 0) + (keep[1] ? g.scalars[i] * scale : 0)
                #expect(dx.scalars[i] == expected, "gradient \(i) of \(count)")
            }
        }
    }
}

extension Variable {
    /// A tracked copy on the same tape (dropout only records on a tape).
    fileprivate var asTracked: Variable { tape!.input(value) }
}

/// The draw of element `i` as `dropoutKernel`'s doc comment defines it, one element at a time: two rounds of
/// Wellons' lowbias32 on `i/2`, keyed by the low then the high half of the seed; the low 16 bits for even `i`,
/// the high 16 bits for odd `i`.
private func documentedDraw(seed: UInt64, element i: Int) -> UInt32 {
    func lowbias32(_ value: UInt32) -> UInt32 {
        var h = value
        h ^= h >> 16
        h = h &* 0x7FEB_352D
        h ^= h >> 15
        h = h &* 0x846C_A68B
        h ^= h >> 16
        return h
    }
    let h = lowbias32(lowbias32(UInt32(i / 2) ^ UInt32(truncatingIfNeeded: seed)) ^ UInt32(seed >> 32))
    return i % 2 == 0 ? h & 0xFFFF : h >> 16
}
