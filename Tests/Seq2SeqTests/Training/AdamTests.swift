import Foundation
import Testing

@testable import Seq2Seq

@Suite("Adam and gradient clipping")
struct AdamTests {
    @Test("five clipped Adam updates match torch.optim.Adam")
    func matchesTorch() throws {
        let weight = Parameter(Tensor(shape: [3, 4], scalars: AdamGolden.initialWeight))
        let bias = Parameter(Tensor(shape: [4], scalars: AdamGolden.initialBias))
        let parameters = [(name: "w", parameter: weight), (name: "b", parameter: bias)]
        let adam = Adam(parameters: parameters)
        for step in 0..<5 {
            weight.gradient = Tensor(shape: [3, 4], scalars: AdamGolden.weightGradients[step])
            bias.gradient = Tensor(shape: [4], scalars: AdamGolden.biasGradients[step])
            let norm = clipGradientNorm(parameters, maxNorm: 5)
            #expect(abs(norm - AdamGolden.normsBeforeClipping[step]) < 1e-5 * norm)
            adam.update(learningRate: AdamGolden.learningRates[step])
        }
        #expect(adam.step == 5)
        for (got, want) in zip(weight.value.scalars, AdamGolden.finalWeight) {
            #expect(abs(got - want) < 1e-6)
        }
        for (got, want) in zip(bias.value.scalars, AdamGolden.finalBias) {
            #expect(abs(got - want) < 1e-6)
        }
        let secondMoment = try #require(adam.state()["exp_avg_sq.w"])
        for (got, want) in zip(secondMoment.scalars, AdamGolden.finalWeightSecondMoment) {
            #expect(abs(got - want) <= 1e-5 * max(abs(want), 1e-3))
        }
    }

    @Test("every element, in the eight-lane loop or the tail, gets the documented update's bits in Float")
    func elementwiseBits() {
        // 37 elements: four blocks of eight and a tail of five, on one thread (below the parallel threshold).
        let count = 37
        let initial = (0..<count).map { Float($0 % 7) * 0.3 - 1 }
        let gradients: [[Float]] = (0..<3).map { step in
            (0..<count).map { i in Float((i * 5 + step * 3) % 11) * 0.07 - 0.35 }
        }
        let parameter = Parameter(Tensor(shape: [count], scalars: initial))
        let adam = Adam(parameters: [(name: "p", parameter: parameter)], weightDecay: 0.01)
        var (p, m, v) = (initial, [Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
        for (step, g) in gradients.enumerated() {
            let lr = 0.05 * Double(step + 1)  // large steps, so that a rounding difference in the update shows in p
            parameter.gradient = Tensor(shape: [count], scalars: g)
            adam.update(learningRate: lr)
            // The formula of Adam's doc comment, one Float element at a time.
            let t = Double(step + 1)
            let stepSize = Float(lr / (1 - pow(0.9, t)))
            let rootCorrection = Float((1 - pow(0.98, t)).squareRoot())
            let decay = Float(lr * 0.01)
            for i in 0..<count {
                m[i] = 0.9 * m[i] + (1 - 0.9) * g[i]
                v[i] = 0.98 * v[i] + (1 - 0.98) * g[i] * g[i]
                p[i] -= stepSize * m[i] / (v[i].squareRoot() / rootCorrection + 1e-9) + decay * p[i]
            }
        }
        #expect(parameter.value.scalars == p)
        #expect(adam.state()["exp_avg.p"]?.scalars == m)
        #expect(adam.state()["exp_avg_sq.p"]?.scalars == v)
    }

    @Test("restoring the saved moments continues exactly as an uninterrupted run")
    func resume() throws {
        func run(stopAfter: Int?) throws -> [Float] {
            var weight = Parameter(Tensor(shape: [3, 4], scalars: AdamGolden.initialWeight))
            var adam = Adam(parameters: [(name: "w", parameter: weight)])
            for step in 0..<5 {
                if step == stopAfter {
                    let (saved, value, count) = (adam.state(), weight.value, adam.step)
                    weight = Parameter(value)
                    adam = Adam(parameters: [(name: "w", parameter: weight)])
                    try adam.restore(saved, step: count)
                }
                weight.gradient = Tensor(shape: [3, 4], scalars: AdamGolden.weightGradients[step])
                adam.update(learningRate: AdamGolden.learningRates[step])
            }
            return weight.value.scalars
        }
        #expect(try run(stopAfter: 2) == run(stopAfter: nil))
    }

    @Test("restoring moments of another shape fails naming the tensor")
    func mismatch() {
        let adam = Adam(parameters: [(name: "w", parameter: Parameter(Tensor(zeros: [2, 2])))])
        #expect(throws: Seq2SeqError.missingTensor(name: "exp_avg.w")) { try adam.restore([:], step: 1) }
        let wrong = ["exp_avg.w": Tensor(zeros: [4]), "exp_avg_sq.w": Tensor(zeros: [2, 2])]
        #expect(throws: Seq2SeqError.shapeMismatch(name: "exp_avg.w", expected: [2, 2], found: [4])) {
            try adam.restore(wrong, step: 1)
        }
    }

    @Test("clipping leaves small gradients alone and reports a non-finite norm without scaling")
    func clipping() {
        let p = Parameter(Tensor(zeros: [2]))
        p.gradient = Tensor(shape: [2], scalars: [3, 4])
        #expect(clipGradientNorm([(name: "p", parameter: p)], maxNorm: 10) == 5)
        #expect(p.gradient.scalars == [3, 4])
        p.gradient = Tensor(shape: [2], scalars: [.nan, 1])
        #expect(clipGradientNorm([(name: "p", parameter: p)], maxNorm: 1).isNaN)
        #expect(p.gradient.scalars[1] == 1)
    }
}
