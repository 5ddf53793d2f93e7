import Seq2Seq
import Testing

/// The outcome of a finite-difference gradient check.
public struct GradientCheckResult: CustomStringConvertible, Sendable {
    /// Number of scalar derivatives compared.
    public let checked: Int
    /// The element where `|analytic − numeric| / allowed` was largest: which input (inputs first, then
    /// parameters), its flat index, and both values.
    public let worstInput: Int
    public let worstIndex: Int
    public let analytic: Double
    public let numeric: Double
    /// The worst `|analytic − numeric| / (atol + rtol·max(|analytic|, |numeric|))`; the check passes when ≤ 1.
    public let worstRatio: Double

    public var passed: Bool { worstRatio <= 1 }

    public var description: String {
        "\(checked) derivatives; worst at input \(worstInput)[\(worstIndex)]: analytic \(analytic), numeric \(numeric) "
            + "(diff/allowed \(worstRatio))"
    }
}

/// Checks the tape's gradients of `function` against central finite differences.
///
/// The output is reduced to a scalar through a fixed random projection, `L = Σ R ⊙ f(x)` (accumulated in
/// Double), so every output element matters. The analytic gradient is one backward pass seeded with `R`; the
/// numeric one is `(L(x + ε) − L(x − ε)) / 2ε` per input element, with the forward run on no tape (the
/// inference path). Float32 forwards limit the precision, hence the defaults of rtol 1e-2 and atol 1e-3 with
/// ε = 1e-2 on inputs of order 1.
/// - Parameters:
///   - inputs: tensors passed to `function` as gradient-tracked variables (constants when `tape` is nil).
///   - parameters: parameters `function` uses (through layers); their values are perturbed in place and restored.
///   - function: builds the output from the inputs; it must use `tape` (or the inputs' tape) for parameters.
public func checkGradients(
    inputs: [Tensor] = [], parameters: [Parameter] = [], epsilon: Float = 1e-2, relativeTolerance: Double = 1e-2,
    absoluteTolerance: Double = 1e-3, seed: UInt64 = 0x5EED,
    _ function: (_ inputs: [Variable], _ tape: Tape?) -> Variable
) -> GradientCheckResult {
    // The projection R, with the output's shape.
    let shape = function(inputs.map { Variable($0) }, nil).shape
    var generator = SplitMix64(seed: seed)
    let projection = Tensor.normal(shape, generator: &generator)
    func objective(_ inputs: [Tensor]) -> Double {
        let y = function(inputs.map { Variable($0) }, nil).value
        var total = 0.0
        for i in 0..<y.count { total += Double(projection.scalars[i]) * Double(y.scalars[i]) }
        return total
    }

    // Analytic: one backward pass seeded with R.
    let saved = parameters.map(\.gradient)
    for parameter in parameters { parameter.zeroGradient() }
    let tape = Tape(isTraining: false)
    let variables = inputs.map { tape.input($0) }
    let output = function(variables, tape)
    tape.backward(from: output, seed: projection)
    var analytic: [Tensor] = variables.enumerated().map { tape.gradient(of: $1) ?? Tensor(zeros: inputs[$0].shape) }
    analytic += parameters.map(\.gradient)
    for (parameter, gradient) in zip(parameters, saved) { parameter.gradient = gradient }

    // Numeric: central differences, one element at a time.
    var worst = (ratio: 0.0, input: 0, index: 0, analytic: 0.0, numeric: 0.0)
    var checked = 0
    func consider(_ input: Int, _ index: Int, _ numeric: Double) {
        let a = Double(analytic[input].scalars[index])
        let allowed = absoluteTolerance + relativeTolerance * max(abs(a), abs(numeric))
        let difference = abs(a - numeric)
        let ratio = difference.isNaN ? .infinity : difference / allowed
        checked += 1
        if ratio > worst.ratio || checked == 1 { worst = (ratio, input, index, a, numeric) }
    }
    var current = inputs
    for input in inputs.indices {
        for index in 0..<inputs[input].count {
            let original = current[input].scalars[index]
            current[input].scalars[index] = original + epsilon
            let plus = objective(current)
            current[input].scalars[index] = original - epsilon
            let minus = objective(current)
            current[input].scalars[index] = original
            consider(input, index, (plus - minus) / (2 * Double(epsilon)))
        }
    }
    for (p, parameter) in parameters.enumerated() {
        for index in 0..<parameter.value.count {
            let original = parameter.value.scalars[index]
            parameter.value.scalars[index] = original + epsilon
            let plus = objective(inputs)
            parameter.value.scalars[index] = original - epsilon
            let minus = objective(inputs)
            parameter.value.scalars[index] = original
            consider(inputs.count + p, index, (plus - minus) / (2 * Double(epsilon)))
        }
    }
    return GradientCheckResult(
        checked: checked, worstInput: worst.input, worstIndex: worst.index, analytic: worst.analytic, numeric: worst.numeric,
        worstRatio: worst.ratio)
}

/// Records a test issue unless ``checkGradients(inputs:parameters:epsilon:relativeTolerance:absoluteTolerance:seed:_:)``
/// passes.
public func expectGradientsMatch(
    inputs: [Tensor] = [], parameters: [Parameter] = [], epsilon: Float = 1e-2, relativeTolerance: Double = 1e-2,
    absoluteTolerance: Double = 1e-3, sourceLocation: SourceLocation = #_sourceLocation,
    _ function: (_ inputs: [Variable], _ tape: Tape?) -> Variable
) {
    let result = checkGradients(
        inputs: inputs, parameters: parameters, epsilon: epsilon, relativeTolerance: relativeTolerance,
        absoluteTolerance: absoluteTolerance, function)
    #expect(result.passed, "\(result)", sourceLocation: sourceLocation)
}
