import Foundation

// Kernels of incremental decoding, where every hypothesis row feeds one token per step: products split over
// threads by output columns (one product for all rows of all sentences), attention of one query row over a
// sentence's keys, Luna's running sums, and the vectorised log-sum-exp and top-k scan over the vocabulary.
//
// Shapes: R rows (hypotheses), d model width, H heads of width k = d/H, V vocabulary.

/// Eight floats from `p` (no alignment needed).
@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores eight floats at `p` (no alignment needed).
@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

// The SIMD helpers below use only operations that compile to vector instructions on the baseline x86-64
// target (SSE2): `pointwiseMax`, `.max()`, `.sum()` and `any(_:)` on SIMD8 become lane-by-lane loops or
// calls there, so maxima are taken with `replacing(with:where:)` and horizontal reductions by halves.

/// The lane-wise maximum of `a` and `b`.
@inline(__always)
func laneMaximum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    a.replacing(with: b, where: b .> a)
}

/// The largest lane of `v`.
@inline(__always)
func largestLane(_ v: SIMD8<Float>) -> Float {
    let h = laneMaximum(v, SIMD8(lowHalf: v.highHalf, highHalf: v.lowHalf))
    return max(max(h[0], h[1]), max(h[2], h[3]))
}

/// The sum of the lanes of `v`, by halves.
@inline(__always)
func laneSum(_ v: SIMD8<Float>) -> Float {
    let h = v.lowHalf + v.highHalf
    return (h[0] + h[1]) + (h[2] + h[3])
}

/// `Σ a[j]·b[j]` for `j < n`, in eight interleaved partial sums.
@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
    var sums = SIMD8<Float>()
    var j = 0
    while j + 8 <= n {
        sums += load8(a + j) * load8(b + j)
        j += 8
    }
    var total = laneSum(sums)
    while j < n {
        total += a[j] * b[j]
        j += 1
    }
    return total
}

/// `y[j] += alpha·x[j]` for `j < n`.
@inline(__always)
func multiplyAdd(_ alpha: Float, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
    let a = SIMD8<Float>(repeating: alpha)
    var j = 0
    while j + 8 <= n {
        store8(load8(y + j) + a * load8(x + j), y + j)
        j += 8
    }
    while j < n {
        y[j] += alpha * x[j]
        j += 1
    }
}

/// `y[j] = old[j] + alpha·x[j]` for `j < n` (`old` may be `y`).
@inline(__always)
func multiplyAdd(
    _ alpha: Float, _ x: UnsafePointer<Float>, to old: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int
) {
    let a = SIMD8<Float>(repeating: alpha)
    var j = 0
    while j + 8 <= n {
        store8(load8(old + j) + a * load8(x + j), y + j)
        j += 8
    }
    while j < n {
        y[j] = old[j] + alpha * x[j]
        j += 1
    }
}

/// `y[j] = 0 + alpha·x[j]` for `j < n` (the sum ``multiplyAdd(_:_:into:count:)`` gives on zeros, -0 included).
@inline(__always)
func multiply(_ alpha: Float, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
    let a = SIMD8<Float>(repeating: alpha)
    var j = 0
    while j + 8 <= n {
        store8(SIMD8<Float>() + a * load8(x + j), y + j)
        j += 8
    }
    while j < n {
        y[j] = 0 + alpha * x[j]
        j += 1
    }
}

/// The largest of `x[0 ..< n]` (−∞ for none).
@inline(__always)
func largestElement(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    var maxima = SIMD8<Float>(repeating: -.infinity)
    var j = 0
    while j + 8 <= n {
        maxima = laneMaximum(maxima, load8(x + j))
        j += 8
    }
    var maximum = largestLane(maxima)
    while j < n {
        maximum = max(maximum, x[j])
        j += 1
    }
    return maximum
}

/// `max + ln Σ exp(x[j] − max)` over one row of `n` scores: the shift that turns logits into
/// log-probabilities (`log p = x − shift`). The maximum is subtracted before `exp` so no term overflows.
func logSumExp(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    let maximum = largestElement(x, count: n)
    if maximum == -.infinity { return -.infinity }
    let m = SIMD8<Float>(repeating: maximum)
    var sums = SIMD8<Float>()
    var j = 0
    while j + 8 <= n {
        sums += fastExp(load8(x + j) - m)
        j += 8
    }
    var total = laneSum(sums)
    while j < n {
        total += fastExp(x[j] - maximum)
        j += 1
    }
    return maximum + Foundation.log(total)
}

/// `target = old + a·bᵀ` (`[rows, columns]`, row-major), with `old` nil for zeros; `old` may be `target`
/// (then the sums are updated in place).
@inline(__always)
func addOuterProduct(
    _ a: UnsafePointer<Float>, rows: Int, _ b: UnsafePointer<Float>, columns: Int, to old: UnsafePointer<Float>?,
    into target: UnsafeMutablePointer<Float>
) {
    for i in 0..<rows {
        let row = target + i * columns
        if let old {
            // One pass: target = old + a·b (the same operations as copying old, then adding a·b).
            multiplyAdd(a[i], b, to: old + i * columns, into: row, count: columns)
        } else {
            multiply(a[i], b, into: row, count: columns)
        }
    }
}

/// Eight rows of eight floats.
typealias Block8x8 = (
    SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>
)

/// The transpose of an 8×8 block given by its rows: its columns.
///
/// Three perfect unshuffles of the 64 elements (evens, then odds): element (i, j) sits at the bit pattern
/// i₂i₁i₀j₂j₁j₀, each unshuffle rotates that pattern right by one bit, and three give j₂j₁j₀i₂i₁i₀, the
/// place of (j, i). Each unshuffle is eight two-register shuffles, no memory traffic.
@inline(__always)
func transposed(_ r: Block8x8) -> Block8x8 {
    @inline(__always) func unshuffle(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>) {
        let both = SIMD16(lowHalf: a, highHalf: b)
        return (both.evenHalf, both.oddHalf)
    }
    var r = r
    for _ in 0..<3 {
        let (e0, o0) = unshuffle(r.0, r.1), (e1, o1) = unshuffle(r.2, r.3)
        let (e2, o2) = unshuffle(r.4, r.5), (e3, o3) = unshuffle(r.6, r.7)
        r = (e0, e1, e2, e3, o0, o1, o2, o3)
    }
    return r
}

/// `e[l] = Σ_j q[j]·S[l, j]` for every row l of `S` `[rows, width]`, each sum taken from zero in the order
/// of j: the very operations of the column sweep `e += q[j]·S[:, j]` (for j = 0, 1, …), so the result equals
/// the one computed from Sᵀ's rows. Causal Luna with tied keys and values keeps only S^V and reads S^K = S^Vᵀ
/// this way: eight rows at a time, through 8×8 transposes in registers.
func transposedProduct(
    _ s: UnsafePointer<Float>, rows: Int, width: Int, _ q: UnsafePointer<Float>, into e: UnsafeMutablePointer<Float>
) {
    var first = 0
    if width % 8 == 0 {
        while first < rows {
            // Rows past the end repeat the last one; their lanes are dropped.
            @inline(__always) func row(_ i: Int) -> UnsafePointer<Float> { s + min(first + i, rows - 1) * width }
            let (p0, p1, p2, p3, p4, p5, p6, p7) = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
            var sums = SIMD8<Float>()
            var j = 0
            while j < width {
                let c = transposed(
                    (load8(p0 + j), load8(p1 + j), load8(p2 + j), load8(p3 + j), load8(p4 + j), load8(p5 + j),
                     load8(p6 + j), load8(p7 + j)))
                sums = sums + SIMD8(repeating: q[j]) * c.0
                sums = sums + SIMD8(repeating: q[j + 1]) * c.1
                sums = sums + SIMD8(repeating: q[j + 2]) * c.2
                sums = sums + SIMD8(repeating: q[j + 3]) * c.3
                sums = sums + SIMD8(repeating: q[j + 4]) * c.4
                sums = sums + SIMD8(repeating: q[j + 5]) * c.5
                sums = sums + SIMD8(repeating: q[j + 6]) * c.6
                sums = sums + SIMD8(repeating: q[j + 7]) * c.7
                j += 8
            }
            for i in 0..<min(8, rows - first) { e[first + i] = sums[i] }
            first += 8
        }
        return
    }
    for l in 0..<rows {
        var sum: Float = 0
        for j in 0..<width { sum = sum + q[j] * s[l * width + j] }
        e[l] = sum
    }
}

/// `y = x·Wᵀ + b` for all rows at once: `x` `[R, in]`, `W` `[out, in]` (PyTorch's layout) or, with
/// `transposed`, `Wᵀ` `[in, out]`; `b` `[out]` or nil; `y` `[R, out]` (row stride `ldy`, default `out`).
/// With `relu`, `y = max(x·Wᵀ + b, 0)`, applied by each thread to its own columns while they are in cache.
///
/// One product for every row; large products are split over ``Parallel/threadCount`` threads by blocks of
/// output columns, each thread running a single-threaded BLAS product on its part of `W`, so the weights
/// are read (and packed) once per step whatever the number of rows. (OpenBLAS packs `Wᵀ` faster than `W`,
/// which matters when there are few rows.) With `packed` (`Wᵀ` packed once, `transposed` only), the
/// products with more than ``smallProductRows`` rows skip that packing and give the same bits
/// (``packedProduct``).
func decoderLinear(
    _ x: UnsafePointer<Float>, rows: Int, inputs: Int, weight: UnsafePointer<Float>, transposed: Bool = false,
    panels: UnsafePointer<Float>? = nil, packed: PackedWeight? = nil, bias: UnsafePointer<Float>?, outputs: Int,
    into y: UnsafeMutablePointer<Float>, ldy: Int? = nil, relu: Bool = false
) {
    guard rows > 0 else { return }
    let ldy = ldy ?? outputs
    let block = 64
    func rectify(_ columns: Range<Int>) {
        guard relu else { return }
        for r in 0..<rows {
            let row = y + r * ldy
            for c in columns { row[c] = max(row[c], 0) }
        }
    }
    if let panels, rows <= smallProductRows {
        // Few rows: OpenBLAS would copy its whole part of Wᵀ into its own layout for a handful of rows;
        // reading Wᵀ in place is cheaper.
        let blocks = outputs / block + (outputs % block == 0 ? 0 : 1)
        Parallel.forEachRange(blocks, work: rows * outputs * inputs / 64 + outputs * inputs / 4) { range in
            let first = range.lowerBound * block
            let last = min(range.upperBound * block, outputs)
            smallRowsProduct(x, rows: rows, inputs: inputs, panels: panels, bias: bias, columns: first..<last, into: y, ldy: ldy)
            rectify(first..<last)
        }
        return
    }
    let blocks = (outputs + block - 1) / block
    // The packed weight is used once its products agreed bit for bit with OpenBLAS's own.
    let packed = packed.flatMap { packed in
        transposed && packed.inputs == inputs && packed.outputs == outputs && rows <= packed.kernels.r
            && packed.agreesWithOpenBLAS(transposed: weight) ? packed : nil
    }
    // Worth splitting when there are many rows, or a large weight to pack (OpenBLAS copies its part of W
    // into its own layout at every call, which costs about as much as the product when there are few rows).
    // The split is the same with a packed weight: the kernel's blocks, and so the bits, follow the columns
    // each thread gets.
    Parallel.forEachRange(blocks, work: rows * outputs * inputs / 64 + outputs * inputs / 4) { range in
        let first = range.lowerBound * block
        let columns = min(range.upperBound * block, outputs) - first
        if let bias {
            // Start from the bias and let the product add to it (beta = 1), as `linear` does.
            for r in 0..<rows { (y + r * ldy + first).update(from: bias + first, count: columns) }
        }
        if let packed {
            BLAS.measure(flops: 2 * rows * columns * inputs) {
                packedProduct(
                    x, rows: rows, weight: packed, columns: first..<(first + columns), beta: bias == nil ? 0 : 1,
                    into: y, ldy: ldy)
            }
            rectify(first..<(first + columns))
            return
        }
        // [R, in] x [columns, in]ᵀ (or [in, columns]) -> [R, columns]
        gemm(
            transposeB: !transposed, m: rows, n: columns, k: inputs, a: x, lda: inputs,
            b: transposed ? weight + first : weight + first * inputs, ldb: transposed ? outputs : inputs,
            beta: bias == nil ? 0 : 1, c: y + first, ldc: ldy)
        rectify(first..<(first + columns))
    }
}

/// The output columns each thread of ``decoderLinear`` takes in a product of `rows` > ``smallProductRows``
/// rows: blocks of 64 outputs, split as ``Parallel/forEachRange(_:work:_:)`` splits them (OpenBLAS's bits
/// depend on the columns a call covers, so the row-split step (``packedRowsProduct``) repeats these ranges).
func decoderColumnRanges(rows: Int, inputs: Int, outputs: Int) -> [Range<Int>] {
    let block = 64
    let blocks = (outputs + block - 1) / block
    let work = rows * outputs * inputs / 64 + outputs * inputs / 4
    let chunks = min(blocks, work >= Parallel.minimumParallelWork ? Parallel.threadCount : 1)
    return (0..<chunks).compactMap { chunk in
        let (start, end) = (blocks * chunk / chunks, blocks * (chunk + 1) / chunks)
        return start < end ? (start * block)..<min(end * block, outputs) : nil
    }
}

/// At most this many rows go through ``smallRowsProduct``.
let smallProductRows = 8

/// W in panels of eight outputs, `[out/8, in, 8]`: panel p holds `Wᵀ[k, 8p ..< 8p+8]` for every k, contiguous,
/// so that a product with few rows streams it front to back. `out` must be a multiple of 8.
func panelWeights(_ w: UnsafePointer<Float>, outputs: Int, inputs: Int) -> [Float] {
    precondition(outputs % 8 == 0, "panelWeights: \(outputs) outputs")
    var panels = [Float](repeating: 0, count: outputs * inputs)
    for o in 0..<outputs {
        for k in 0..<inputs { panels[((o / 8) * inputs + k) * 8 + o % 8] = w[o * inputs + k] }
    }
    return panels
}

/// `y[r, c] = b[c] + Σ_k x[r, k]·W[c, k]` for the columns `columns` (multiples of 8) of `rows` ≤ 8 rows, with W
/// in panels (``panelWeights(_:outputs:inputs:)``); each sum taken from zero in the order of k, then added to
/// the bias (zero without one).
///
/// Why tiles: each output's sum is a chain of dependent additions (its order fixed, to keep the bits), and a
/// chain takes its next addition only when the last one is done, some cycles later. So the kernel keeps many
/// chains in flight: all the rows at once (each load of weights serves every row, and the weights are read once)
/// over sixteen columns (two panels) for up to six rows, eight columns for seven or eight (whose 7–8 chains
/// suffice, and whose sixteen-column sums would not fit in the sixteen vector registers).
func smallRowsProduct(
    _ x: UnsafePointer<Float>, rows: Int, inputs: Int, panels: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, columns: Range<Int>, into y: UnsafeMutablePointer<Float>, ldy: Int
) {
    precondition(rows <= smallProductRows, "smallRowsProduct: \(rows) rows")
    // Each row count below is compiled for its own G (the rows' pointers and sums are InlineArrays of G), so
    // the loops over the rows unroll and the sums stay in registers.
    @inline(__always) func run<let G: Int>(_ rows: InlineArray<G, UnsafePointer<Float>>, wide: Bool) {
        let outputs = InlineArray<G, UnsafeMutablePointer<Float>> { y + $0 * ldy }
        var c = columns.lowerBound
        if wide {
            while c + 16 <= columns.upperBound {
                productTile(rows, inputs: inputs, panels: panels, bias: bias, column: c, into: outputs, as: SIMD16<Float>.self)
                c += 16
            }
        }
        while c < columns.upperBound {
            productTile(rows, inputs: inputs, panels: panels, bias: bias, column: c, into: outputs, as: SIMD8<Float>.self)
            c += 8
        }
    }
    @inline(__always) func row(_ i: Int) -> UnsafePointer<Float> { x + i * inputs }
    switch rows {
    case 0: return
    case 1: run(InlineArray<1, UnsafePointer<Float>>(row), wide: true)
    case 2: run(InlineArray<2, UnsafePointer<Float>>(row), wide: true)
    case 3: run(InlineArray<3, UnsafePointer<Float>>(row), wide: true)
    case 4: run(InlineArray<4, UnsafePointer<Float>>(row), wide: true)
    case 5: run(InlineArray<5, UnsafePointer<Float>>(row), wide: true)
    case 6: run(InlineArray<6, UnsafePointer<Float>>(row), wide: true)
    case 7: run(InlineArray<7, UnsafePointer<Float>>(row), wide: false)
    default: run(InlineArray<8, UnsafePointer<Float>>(row), wide: false)
    }
}

/// Eight (one panel) or sixteen (two neighbouring panels) columns of a product with few rows.
protocol PanelColumns: SIMD where Scalar == Float {
    /// Row k of the panels from `w`: lanes 8p ..< 8p+8 from `w + p·panelStride`.
    static func loadPanels(_ w: UnsafePointer<Float>, panelStride: Int) -> Self
}

extension SIMD8: PanelColumns where Scalar == Float {
    @inline(__always)
    static func loadPanels(_ w: UnsafePointer<Float>, panelStride: Int) -> Self { load8(w) }
}

extension SIMD16: PanelColumns where Scalar == Float {
    @inline(__always)
    static func loadPanels(_ w: UnsafePointer<Float>, panelStride: Int) -> Self {
        SIMD16(lowHalf: load8(w), highHalf: load8(w + panelStride))
    }
}

/// One tile of ``smallRowsProduct(_:rows:inputs:panels:bias:columns:into:ldy:)``: the G rows `x` (pointers to
/// `inputs` floats each) times the columns `c ..< c + V.scalarCount`, into the rows `y` — G sums of V in
/// registers, `k` in order.
@inline(__always)
func productTile<let G: Int, V: PanelColumns>(
    _ x: InlineArray<G, UnsafePointer<Float>>, inputs: Int, panels: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    column c: Int, into y: InlineArray<G, UnsafeMutablePointer<Float>>, as _: V.Type
) {
    var sums = InlineArray<G, V>(repeating: V())
    var w = panels + (c / 8) * inputs * 8
    for k in 0..<inputs {
        let v = V.loadPanels(w, panelStride: inputs * 8)
        for i in 0..<G { sums[i] = sums[i] + V(repeating: x[i][k]) * v }
        w += 8
    }
    let b = bias.map { UnsafeRawPointer($0 + c).loadUnaligned(as: V.self) } ?? V()
    for i in 0..<G { UnsafeMutableRawPointer(y[i] + c).storeBytes(of: b + sums[i], as: V.self) }
}

/// `[rows, columns]` → `[columns, rows]`, by tiles (so both sides are read and written in cache lines).
func transposeMatrix(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into y: UnsafeMutablePointer<Float>) {
    let tile = 32
    Parallel.forEachRange((rows + tile - 1) / tile, work: rows * columns) { range in
        for rowTile in range {
            let r0 = rowTile * tile
            let r1 = min(r0 + tile, rows)
            var c0 = 0
            while c0 < columns {
                let c1 = min(c0 + tile, columns)
                for r in r0..<r1 { for c in c0..<c1 { y[c * rows + r] = x[r * columns + c] } }
                c0 = c1
            }
        }
    }
}

/// Softmax attention of one query row over the first `count` key rows, for every head:
/// `out_h = softmax(scale · q_h·K_hᵀ) · V_h`.
///
/// `key(p)` and `value(p)` give position `p`'s rows (width `H·k`, heads side by side); `q` and `out` have the
/// same layout. `scores` is scratch of at least `count` floats.
@inline(__always)
func attendRow(
    query q: UnsafePointer<Float>, heads: Int, headWidth k: Int, scale: Float, count: Int,
    key: (Int) -> UnsafePointer<Float>, value: (Int) -> UnsafePointer<Float>,
    scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
) {
    for h in 0..<heads {
        let offset = h * k
        var maximum = -Float.infinity
        for p in 0..<count {
            let s = dotProduct(q + offset, key(p) + offset, count: k) * scale
            scores[p] = s
            maximum = max(maximum, s)
        }
        // The maximum is subtracted so that no exp overflows.
        var total: Float = 0
        for p in 0..<count {
            let e = fastExp(scores[p] - maximum)
            scores[p] = e
            total += e
        }
        let inverse = 1 / total
        let o = out + offset
        for j in 0..<k { o[j] = 0 }
        for p in 0..<count { multiplyAdd(scores[p] * inverse, value(p) + offset, into: o, count: k) }
    }
}
