import Foundation

// Unary elementwise ops. Each saves one tensor (its input or its output, whichever the derivative
// needs) and its backward is `dx += dy · f'(saved)`.

/// A unary op: `y = f(x)`, backward `dx += derivative(dy, saved)` with `saved` = `y` or `x`.
@inline(__always)
private func unary(
    _ x: Variable, op: String, savesOutput: Bool, _ f: (Float) -> Float,
    derivative: @escaping (_ dy: Float, _ saved: Float) -> Float
) -> Variable {
    let tape = commonTape([x], op: op)
    var y = makeOutput(x.shape, tape)
    x.value.withUnsafeBufferPointer { xs in
        y.withUnsafeMutableBufferPointer { ys in mapKernel(ys.baseAddress!, xs.baseAddress!, count: xs.count, f) }
    }
    let saved = savesOutput ? y : x.value
    let xSlot = x.gradientSlot
    return record(y, inputs: [x], op: op) { dY, tape in
        tape.accumulateGradient(into: xSlot) { dX, accumulate in
            dY.withUnsafeBufferPointer { g in
                saved.withUnsafeBufferPointer { s in
                    backwardMapKernel(dX.baseAddress!, accumulate: accumulate, g.baseAddress!, s.baseAddress!, count: dX.count, derivative)
                }
            }
        }
    }
}

/// `y = eˣ`. Backward: `dx += dy·y`.
public func exp(_ x: Variable) -> Variable {
    unary(x, op: "exp", savesOutput: true, { Foundation.exp($0) }, derivative: { g, y in g * y })
}

/// `y = ln x`. Backward: `dx += dy / x`.
public func log(_ x: Variable) -> Variable {
    unary(x, op: "log", savesOutput: false, { Foundation.log($0) }, derivative: { g, x in g / x })
}

/// `y = √x`. Backward: `dx += dy / (2y)`.
public func sqrt(_ x: Variable) -> Variable {
    unary(x, op: "sqrt", savesOutput: true, { $0.squareRoot() }, derivative: { g, y in g / (2 * y) })
}

/// `y = tanh x`. Backward: `dx += dy·(1 − y²)`.
public func tanh(_ x: Variable) -> Variable {
    unary(x, op: "tanh", savesOutput: true, { Foundation.tanh($0) }, derivative: { g, y in g * (1 - y * y) })
}

/// `y = 1 / (1 + e⁻ˣ)`. Backward: `dx += dy·y·(1 − y)`.
public func sigmoid(_ x: Variable) -> Variable {
    unary(x, op: "sigmoid", savesOutput: true, { 1 / (1 + Foundation.exp(-$0)) }, derivative: { g, y in g * y * (1 - y) })
}

/// `y = max(x, 0)`. Backward: `dx += dy` where `y > 0` (the subgradient at 0 is 0, as in PyTorch).
public func relu(_ x: Variable) -> Variable {
    unary(x, op: "relu", savesOutput: true, { max($0, 0) }, derivative: { g, y in y > 0 ? g : 0 })
}

/// GELU with the exact normal CDF (PyTorch's default): `y = x·Φ(x)`, `Φ(x) = ½(1 + erf(x/√2))`.
/// Backward: `dx += dy·(Φ(x) + x·φ(x))`, `φ(x) = e^{−x²/2}/√(2π)`.
public func gelu(_ x: Variable) -> Variable {
    unary(
        x, op: "gelu", savesOutput: false, { $0 * 0.5 * (1 + erf($0 * 0.70710678)) },
        derivative: { g, x in
            g * (0.5 * (1 + erf(x * 0.70710678)) + x * 0.39894228 * Foundation.exp(-0.5 * x * x))
        })
}

/// ELU with α = 1: `y = x` for `x > 0`, `eˣ − 1` otherwise. Backward: `dx += dy` for `x > 0`,
/// `dy·(y + 1)` otherwise (`y > 0` exactly when `x > 0`). Luna's causal `elu + 1` is `elu(x) + 1`.
public func elu(_ x: Variable) -> Variable {
    unary(
        x, op: "elu", savesOutput: true, { $0 > 0 ? $0 : Foundation.expm1($0) },
        derivative: { g, y in y > 0 ? g : g * (y + 1) })
}

/// Softplus with sharpness β, as PyTorch defines it: `y = ln(1 + e^{βx})/β`, and `y = x` where
/// `βx > threshold`. Backward: `dx += dy·σ(βx)` (1 above the threshold).
/// Luna's causal activation is `softplus(x, beta: log(2))`, i.e. `log₂(1 + 2ˣ)`.
public func softplus(_ x: Variable, beta: Float = 1, threshold: Float = 20) -> Variable {
    precondition(beta > 0, "softplus: beta \(beta) must be positive")
    return unary(
        x, op: "softplus", savesOutput: false,
        { beta * $0 > threshold ? $0 : Foundation.log1p(Foundation.exp(beta * $0)) / beta },
        derivative: { g, x in beta * x > threshold ? g : g / (1 + Foundation.exp(-beta * x)) })
}
