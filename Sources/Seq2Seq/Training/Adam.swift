import Foundation

/// Adam (Kingma & Ba, 2015) as PyTorch's `torch.optim.Adam` computes it, with the peers' NMT
/// betas as defaults.
///
/// Concretely, at update `t` with gradient `g` and learning rate `lr`:
/// ```
/// m ← β₁·m + (1−β₁)·g          v ← β₂·v + (1−β₂)·g²
/// p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)  −  lr·λ·p   (λ: decoupled weight decay)
/// ```
/// The moments are kept per parameter under its dotted name, so they save and restore with the
/// checkpoint (`state()` / `restore(_:step:)`) and a resumed run continues exactly.
public final class Adam {
    public let parameters: [(name: String, parameter: Parameter)]
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    public let weightDecay: Double
    /// Updates taken so far.
    public private(set) var step = 0
    private var firstMoments: [Tensor]
    private var secondMoments: [Tensor]

    public init(
        parameters: [(name: String, parameter: Parameter)], beta1: Double = 0.9, beta2: Double = 0.98,
        epsilon: Double = 1e-9, weightDecay: Double = 0
    ) {
        self.parameters = parameters
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoments = parameters.map { Tensor(zeros: $0.parameter.shape) }
        secondMoments = parameters.map { Tensor(zeros: $0.parameter.shape) }
    }

    /// Applies one update from the parameters' accumulated gradients (which it leaves as they are).
    public func update(learningRate: Double) {
        step += 1
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        let correction1 = 1 - pow(beta1, Double(step))
        let stepSize = Float(learningRate / correction1)
        let rootCorrection2 = Float((1 - pow(beta2, Double(step))).squareRoot())
        let decay = Float(learningRate * weightDecay)
        for (index, (_, parameter)) in parameters.enumerated() {
            parameter.gradient.withUnsafeBufferPointer { g in
                firstMoments[index].withUnsafeMutableBufferPointer { m in
                    secondMoments[index].withUnsafeMutableBufferPointer { v in
                        parameter.value.withUnsafeMutableBufferPointer { p in
                            // Elementwise, so splitting over threads changes no result; eight lanes at a time with
                            // the same operations in the same order as one element at a time (which the
                            // scalar square root's error path keeps the compiler from vectorising).
                            Parallel.forEachRange(p.count, work: 4 * p.count) { range in
                                var i = range.lowerBound
                                while i + 8 <= range.upperBound {
                                    let gi = load8(g.baseAddress! + i)
                                    let mi = b1 * load8(m.baseAddress! + i) + (1 - b1) * gi
                                    let vi = b2 * load8(v.baseAddress! + i) + (1 - b2) * gi * gi
                                    let pi = load8(p.baseAddress! + i)
                                    let denominator = vi.squareRoot() / rootCorrection2 + eps
                                    store8(mi, m.baseAddress! + i)
                                    store8(vi, v.baseAddress! + i)
                                    store8(pi - (stepSize * mi / denominator + decay * pi), p.baseAddress! + i)
                                    i += 8
                                }
                                for i in i..<range.upperBound {
                                    m[i] = b1 * m[i] + (1 - b1) * g[i]
                                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                                    let denominator = v[i].squareRoot() / rootCorrection2 + eps
                                    p[i] -= stepSize * m[i] / denominator + decay * p[i]
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The moments as a name → tensor map (`exp_avg.NAME`, `exp_avg_sq.NAME`), for a checkpoint.
    public func state() -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (index, (name, _)) in parameters.enumerated() {
            tensors["exp_avg." + name] = firstMoments[index]
            tensors["exp_avg_sq." + name] = secondMoments[index]
        }
        return tensors
    }

    /// Restores the moments saved by `state()` and the update count.
    /// - Throws: `Seq2SeqError.missingTensor` / `.shapeMismatch` naming the moment that does not fit.
    public func restore(_ tensors: [String: Tensor], step: Int) throws(Seq2SeqError) {
        var first: [Tensor] = [], second: [Tensor] = []
        for (name, parameter) in parameters {
            for (key, list) in [("exp_avg." + name, 0), ("exp_avg_sq." + name, 1)] {
                guard let tensor = tensors[key] else { throw .missingTensor(name: key) }
                guard tensor.shape == parameter.shape else {
                    throw .shapeMismatch(name: key, expected: parameter.shape, found: tensor.shape)
                }
                if list == 0 { first.append(tensor) } else { second.append(tensor) }
            }
        }
        firstMoments = first
        secondMoments = second
        self.step = step
    }
}

/// Scales every gradient so that their global L2 norm is at most `maxNorm` (PyTorch's
/// `clip_grad_norm_`: factor `maxNorm / (norm + 1e-6)` when below 1) and returns the norm before
/// clipping. A non-finite norm is returned as is and nothing is scaled, so the caller can stop.
@discardableResult
public func clipGradientNorm(_ parameters: [(name: String, parameter: Parameter)], maxNorm: Double)
    -> Double
{
    var sumOfSquares = 0.0
    for (_, parameter) in parameters {
        parameter.gradient.withUnsafeBufferPointer { g in
            for value in g { sumOfSquares += Double(value) * Double(value) }
        }
    }
    let norm = sumOfSquares.squareRoot()
    guard norm.isFinite, maxNorm > 0 else { return norm }
    let factor = maxNorm / (norm + 1e-6)
    if factor < 1 {
        let scale = Float(factor)
        for (_, parameter) in parameters {
            parameter.gradient.withUnsafeMutableBufferPointer { g in
                for i in 0..<g.count { g[i] *= scale }
            }
        }
    }
    return norm
}
