/// A Wengert list: the record of every differentiable op since the last backward pass.
///
/// Ops append a node (their output plus a backward closure); `backward(from:)` walks the nodes in reverse
/// recording order, which is already topological, and each closure accumulates (`+=`) into its inputs'
/// gradients. Gradients of parameters land in ``Parameter/gradient``; gradients of other leaves
/// (``input(_:)``) can be read with ``gradient(of:)`` after the pass.
///
/// A backward pass consumes the graph: node buffers go back to the tape's pool and the next forward
/// pass reuses them, so a training loop that keeps one tape allocates nothing after its first step.
/// The tape also owns the dropout seed stream, and ``isTraining`` (dropout on or off).
///
/// Not thread-safe: one tape per training loop.
public final class Tape {
    private struct Node {
        var value: Tensor
        var backward: ((Tensor, Tape) -> Void)?
        var parameter: Parameter?
        var pooled: Bool
    }

    private var nodes: [Node] = []
    private var gradients: [Tensor?] = []
    private var parameterNodes: [ObjectIdentifier: Int] = [:]
    private var leafGradients: [Int: Tensor] = [:]
    private var lastGeneration = -1
    /// The storage of the output gradient the running backward closure received, and whether
    /// ``passGradient(_:into:)`` handed it to another node.
    private var runningGradient: UnsafeRawPointer?
    private var runningGradientPassed = false
    let pool = BufferPool()
    /// Incremented whenever the graph is released; variables of older generations are stale.
    private(set) var generation = 0
    private var seeds: SplitMix64

    /// Whether dropout is applied to ops recorded on this tape.
    public var isTraining: Bool

    /// - Parameters:
    ///   - seed: the seed of the dropout stream.
    ///   - isTraining: whether dropout is applied.
    public init(seed: UInt64 = 0, isTraining: Bool = true) {
        self.seeds = SplitMix64(seed: seed)
        self.isTraining = isTraining
    }

    /// A gradient-tracked leaf holding `value` (a test input, or anything else to differentiate against).
    public func input(_ value: Tensor) -> Variable {
        append(value, pooled: false, backward: nil)
    }

    /// A constant bound to this tape: no gradient, but ops and layers find the tape through it.
    public func constant(_ value: Tensor) -> Variable {
        Variable(value: value, tape: self, id: nil, generation: generation)
    }

    /// The leaf for `parameter` in the current graph (created on first use, shared afterwards).
    public func variable(for parameter: Parameter) -> Variable {
        if let id = parameterNodes[ObjectIdentifier(parameter)] {
            return Variable(value: nodes[id].value, tape: self, id: id, generation: generation)
        }
        let variable = append(parameter.value, pooled: false, backward: nil)
        nodes[variable.id!].parameter = parameter
        parameterNodes[ObjectIdentifier(parameter)] = variable.id!
        return variable
    }

    func append(_ value: Tensor, pooled: Bool, backward: ((Tensor, Tape) -> Void)?) -> Variable {
        nodes.append(Node(value: value, backward: backward, parameter: nil, pooled: pooled))
        gradients.append(nil)
        return Variable(value: value, tape: self, id: nodes.count - 1, generation: generation)
    }

    /// A seed for one dropout mask (the stream is deterministic given the tape's seed).
    public func nextSeed() -> UInt64 { seeds.next() }

    /// Restarts the dropout stream from `seed`, keeping the buffer pool: a training loop reseeds one tape
    /// per step (so each step's masks follow from the step alone, for exact resume) without reallocating.
    public func reseed(_ seed: UInt64) { seeds = SplitMix64(seed: seed) }

    /// A tensor of `shape` for an op's output: from the pool, contents unspecified.
    func allocate(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: pool.take(shape.reduce(1, *)))
    }

    /// Lets a backward closure add into the gradient of the node `slot` (a no-op for `nil`).
    ///
    /// `body` gets the gradient buffer and `accumulate`: when `false` the buffer holds garbage and must be
    /// overwritten (the first contribution); when `true` the contribution must be added. This saves a
    /// zero-fill and a pass per gradient.
    public func accumulateGradient(
        into slot: Int?, _ body: (_ gradient: UnsafeMutableBufferPointer<Float>, _ accumulate: Bool) -> Void
    ) {
        guard let slot else { return }
        if let parameter = nodes[slot].parameter {
            parameter.gradient.withUnsafeMutableBufferPointer { body($0, true) }
            return
        }
        var accumulate = true
        var gradient: Tensor
        if let existing = gradients[slot] {
            gradient = existing
            gradients[slot] = nil  // keep the storage uniquely referenced while writing
        } else {
            gradient = allocate(nodes[slot].value.shape)
            accumulate = false
        }
        gradient.withUnsafeMutableBufferPointer { body($0, accumulate) }
        gradients[slot] = gradient
    }

    /// Gives the node `slot` the output gradient `gradient` that the running backward closure received, as
    /// is (viewed in the node's shape), when the node has no gradient yet; otherwise adds it, as
    /// ``accumulateGradient(into:_:)`` would (a no-op for `nil`).
    ///
    /// For ops whose input gradient is their output gradient (an add, a reshape): the hand-over saves
    /// a copy of the whole tensor. The tape then keeps the buffer instead of recycling it after the
    /// closure, so only one slot per closure can take it; later calls add into their slots as usual.
    /// - Precondition: `gradient` is the closure's own output gradient, with as many elements as the node.
    public func passGradient(_ gradient: Tensor, into slot: Int?) {
        guard let slot else { return }
        let shape = nodes[slot].value.shape
        precondition(gradient.count == shape.reduce(1, *), "passGradient: gradient \(gradient.shape) for node \(shape)")
        if gradient.count > 0, !runningGradientPassed, nodes[slot].parameter == nil, gradients[slot] == nil {
            let isRunningGradient = gradient.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) == runningGradient }
            precondition(isRunningGradient, "passGradient: not the output gradient of the running backward closure")
            gradients[slot] = gradient.reshaped(shape)
            runningGradientPassed = true
            return
        }
        add(gradient, into: slot)
    }

    /// Gives the node `slot` a gradient that a backward closure computed in a buffer of this tape's pool that
    /// nothing else keeps: it becomes the node's gradient when the node has none yet (no copy); otherwise it
    /// is added, as ``accumulateGradient(into:_:)`` would, and the buffer goes back to the pool.
    /// - Precondition: `gradient` has as many elements as the node.
    func giveGradient(_ gradient: Tensor, into slot: Int?) {
        if let slot {
            let shape = nodes[slot].value.shape
            precondition(gradient.count == shape.reduce(1, *), "giveGradient: gradient \(gradient.shape) for node \(shape)")
            if nodes[slot].parameter == nil, gradients[slot] == nil {
                gradients[slot] = gradient.reshaped(shape)
                return
            }
            add(gradient, into: slot)
        }
        pool.recycle(gradient.scalars)
    }

    /// `gradient` added into the node `slot`'s gradient.
    private func add(_ gradient: Tensor, into slot: Int) {
        accumulateGradient(into: slot) { d, accumulate in
            gradient.withUnsafeBufferPointer {
                scaleAddKernel(d.baseAddress!, accumulate: accumulate, $0.baseAddress!, alpha: 1, count: d.count)
            }
        }
    }

    /// Runs the backward pass from `output`, seeding its gradient with `seed` (default: all ones).
    ///
    /// Afterwards parameter gradients have grown by `∂(Σ seed ⊙ output)/∂parameter`, leaf gradients are
    /// readable with ``gradient(of:)``, and the graph is released (its buffers recycled).
    public func backward(from output: Variable, seed: Tensor? = nil) {
        backward(from: [output], seeds: [seed])
    }

    /// Runs one backward pass from several outputs at once, each seeded with its own gradient (nil: ones),
    /// i.e. differentiates `Σ_i Σ seedᵢ ⊙ outputᵢ`.
    public func backward(from outputs: [Variable], seeds: [Tensor?]) {
        precondition(outputs.count == seeds.count, "backward: \(outputs.count) outputs, \(seeds.count) seeds")
        dropLeafGradients()
        var start = -1
        for (output, seed) in zip(outputs, seeds) {
            precondition(output.tape === self, "backward: an output was not recorded on this tape")
            precondition(output.generation == generation, "backward: an output's graph was already released")
            if let seed { precondition(seed.shape == output.shape, "backward: seed \(seed.shape) for \(output.shape)") }
            guard let id = output.id else { continue }
            accumulateGradient(into: id) { buffer, accumulate in  // from the pool, like every gradient it recycles
                for i in 0..<buffer.count {
                    let value = seed?.scalars[i] ?? 1
                    buffer[i] = accumulate ? buffer[i] + value : value
                }
            }
            start = max(start, id)
        }
        if start >= 0 {
            for index in stride(from: start, through: 0, by: -1) {
                guard let gradient = gradients[index] else { continue }
                guard let backward = nodes[index].backward else {
                    if nodes[index].parameter == nil {
                        leafGradients[index] = gradient
                        gradients[index] = nil
                    }
                    continue
                }
                gradients[index] = nil
                nodes[index].backward = nil  // releases the tensors the closure saved
                runningGradient = gradient.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
                runningGradientPassed = false
                backward(gradient, self)
                runningGradient = nil
                // A gradient passed on now belongs to another node, which recycles it after its own backward.
                if !runningGradientPassed { pool.recycle(gradient.scalars) }
                if nodes[index].pooled { pool.recycle(nodes[index].value.scalars) }
                nodes[index].value = Tensor(zeros: [0])
            }
        }
        lastGeneration = generation
        release()
    }

    /// The gradient of a leaf created by ``input(_:)`` from the last backward pass, or `nil` if none
    /// reached it.
    public func gradient(of leaf: Variable) -> Tensor? {
        guard let id = leaf.id, leaf.generation == lastGeneration else { return nil }
        return leafGradients[id]
    }

    /// Drops the current graph without a backward pass (e.g. after a forward-only evaluation on a tape).
    public func reset() {
        dropLeafGradients()
        release()
    }

    private func dropLeafGradients() {
        for gradient in leafGradients.values { pool.recycle(gradient.scalars) }
        leafGradients = [:]
    }

    private func release() {
        for node in nodes where node.pooled { pool.recycle(node.value.scalars) }
        for gradient in gradients { if let gradient { pool.recycle(gradient.scalars) } }
        nodes.removeAll(keepingCapacity: true)
        gradients.removeAll(keepingCapacity: true)
        parameterNodes.removeAll(keepingCapacity: true)
        generation += 1
        pool.endGeneration()
    }

    /// Number of nodes recorded in the current graph.
    public var nodeCount: Int { nodes.count }

    /// Bytes of op outputs and gradients currently live, and the peak since ``resetPeakBytes()``.
    public var liveBytes: Int { pool.bytesInUse }
    public var peakBytes: Int { pool.peakBytes }
    public func resetPeakBytes() { pool.resetPeak() }
    /// How many op-output or gradient buffers this tape has had to allocate (rather than reuse) so far.
    public var bufferAllocations: Int { pool.allocations }
    /// Bytes the pool holds for reuse.
    public var pooledBytes: Int { pool.freeBytes }
}

/// An output buffer for an op: from the tape's pool when recording, freshly allocated otherwise.
func makeOutput(_ shape: [Int], _ tape: Tape?) -> Tensor {
    tape?.allocate(shape) ?? Tensor.uninitialized(shape)
}
