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
