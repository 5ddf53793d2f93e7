import Glibc
import Synchronization

// Decoder products with many rows on weights packed once per model.
//
// OpenBLAS's `sgemm` copies its part of the weights into its own panel layout at every call ("packing"), and
// a decoding step calls it once per projection: in a profile of batch-32 Luna decoding (3713457, perf, 300
// lines) that copy was 10.8% of all samples, the kernel itself 51%. The packed panels depend only on the
// weights, so they can be made once per model. OpenBLAS has no public interface for products on pre-packed
// operands, but its pthreads build exports the pieces its own single-threaded driver calls (the micro-kernel,
// the two packing routines and the beta scaling, under names that end in the core it selected) and the
// blocking parameters (in the exported `gotoblas` table). `packedProduct` repeats that driver's loops
// (OpenBLAS's driver/level3/level3.c: blocks of Q along k, of P along the outputs, the rows in chunks of
// 3·UNROLL_N packed just before the kernel runs on them) with the weight blocks taken from the packed copy.
// Every kernel call then receives the same arguments and the same packed values as inside `cblas_sgemm` on
// one thread, so the results are the same bits. Any doubt falls back to `cblas_sgemm`: missing symbols,
// implausible parameters, or a first product whose bits differ (`PackedWeight.agrees`).
//
// Names below follow the column-major view OpenBLAS takes of our row-major product `y = x·Wᵀ`: its "A" is Wᵀ
// (M = our output columns, K = our inputs), its "B" is x (N = our rows).

/// OpenBLAS's single-precision GEMM pieces for the core it runs on, looked up once.
struct OpenBLASKernels: @unchecked Sendable {
    /// `kernel(M, N, K, alpha, packedA, packedB, C, ldc)`: `C += alpha·A·B` on packed blocks.
    typealias Kernel = @convention(c) (
        Int, Int, Int, Float, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int
    ) -> Int32
    /// `copy(K, M, source, ld, packed)`: one block of an operand into the kernel's layout.
    typealias Copy = @convention(c) (Int, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Int32
    /// `beta(M, N, 0, beta, nil, 0, nil, 0, C, ldc)`: `C *= beta` (zeros for beta = 0).
    typealias Beta = @convention(c) (
        Int, Int, Int, Float, UnsafePointer<Float>?, Int, UnsafePointer<Float>?, Int, UnsafeMutablePointer<Float>, Int
    ) -> Int32

    let kernel: Kernel
    let packA: Copy
    let packB: Copy
    let beta: Beta
    /// GEMM_P, GEMM_Q, GEMM_R, GEMM_UNROLL_M, GEMM_UNROLL_N.
    let p: Int, q: Int, r: Int, unrollM: Int, unrollN: Int

    /// The kernels of the running OpenBLAS, or nil when they cannot be found.
    static let current: OpenBLASKernels? = load()

    private static func load() -> OpenBLASKernels? {
        guard let library = dlopen(nil, RTLD_NOW), let coreName = dlsym(library, "openblas_get_corename"),
            let table = dlsym(library, "gotoblas")
        else { return nil }
        typealias Name = @convention(c) () -> UnsafePointer<CChar>?
        guard let name = unsafeBitCast(coreName, to: Name.self)() else { return nil }
        let core = String(cString: name).uppercased()
        func symbol<F>(_ prefix: String, _: F.Type) -> F? {
            dlsym(library, prefix + core).map { unsafeBitCast($0, to: F.self) }
        }
        guard let kernel = symbol("sgemm_kernel_", Kernel.self), let packA = symbol("sgemm_itcopy_", Copy.self),
            let packB = symbol("sgemm_oncopy_", Copy.self), let beta = symbol("sgemm_beta_", Beta.self),
            let parameters = table.load(as: UnsafePointer<Int32>?.self)
        else { return nil }
        // The table starts with dtb_entries, offsetA, offsetB, align, then (in builds without bfloat16, as
        // Debian's 0.3.21) sgemm_p, sgemm_q, sgemm_r, sgemm_unroll_m, sgemm_unroll_n. A build whose table is
        // laid out otherwise gives values that fail the checks here, or products that fail
        // `PackedWeight.agrees`.
        let (p, q, r, m, n) = (
            Int(parameters[4]), Int(parameters[5]), Int(parameters[6]), Int(parameters[7]), Int(parameters[8])
        )
        guard [1, 2, 4, 8, 16, 32].contains(m), [1, 2, 4, 8, 16, 32].contains(n), p >= m, p % m == 0, q >= m,
            q <= 1 << 14, p <= 1 << 14, r >= n
        else { return nil }
        return OpenBLASKernels(kernel: kernel, packA: packA, packB: packB, beta: beta, p: p, q: q, r: r, unrollM: m, unrollN: n)
    }

    /// The blocks along k (`start`, `count`) of OpenBLAS's driver for a product over `k` inputs.
    func depthBlocks(_ k: Int) -> [(start: Int, count: Int)] {
        var blocks: [(start: Int, count: Int)] = []
        var start = 0
        while start < k {
            var count = k - start
            if count >= 2 * q {
                count = q
            } else if count > q {
                count = (count / 2 + unrollM - 1) / unrollM * unrollM
            }
            blocks.append((start, count))
            start += count
        }
        return blocks
    }

    /// The next block of outputs (M) the driver takes when `remaining` are left.
    func outputBlock(_ remaining: Int) -> Int {
        if remaining >= 2 * p { return p }
        if remaining > p { return (remaining / 2 + unrollM - 1) / unrollM * unrollM }
        return remaining
    }
}

/// A transposed weight Wᵀ `[in, out]` packed once in OpenBLAS's layout: per block of k (``OpenBLASKernels/depthBlocks(_:)``),
/// the packing of all `out` columns, `[out/UNROLL_M, kBlock, UNROLL_M]`, so that the packed block of any
/// columns `c ..< c + m` (c a multiple of UNROLL_M) starts at `c·kBlock` floats into it.
final class PackedWeight: @unchecked Sendable {
    let inputs: Int
    let outputs: Int
    let kernels: OpenBLASKernels
    /// Blocks along k and where each one's packing starts in `storage`.
    let blocks: [(start: Int, count: Int, offset: Int)]
    private let storage: UnsafeMutablePointer<Float>
    /// 0 not checked yet, 1 agrees with `cblas_sgemm`, 2 does not.
    private let agreement = Atomic<Int>(0)

    /// Packs `transposed` (Wᵀ, `[inputs, outputs]`), or nil when OpenBLAS's kernels are not available or the
    /// columns do not split into whole panels (outputs and the 64-column blocks of ``decoderLinear`` must be
    /// multiples of UNROLL_M).
    init?(transposed: UnsafePointer<Float>, inputs: Int, outputs: Int) {
        guard let kernels = OpenBLASKernels.current, inputs > 0, outputs > 0, outputs % kernels.unrollM == 0,
            64 % kernels.unrollM == 0
        else { return nil }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 4096, inputs * outputs * MemoryLayout<Float>.size) == 0, let raw else { return nil }
        storage = raw.bindMemory(to: Float.self, capacity: inputs * outputs)
        var offset = 0
        var blocks: [(start: Int, count: Int, offset: Int)] = []
        for block in kernels.depthBlocks(inputs) {
            _ = kernels.packA(block.count, outputs, transposed + block.start * outputs, outputs, storage + offset)
            blocks.append((block.start, block.count, offset))
            offset += block.count * outputs
        }
        (self.inputs, self.outputs, self.kernels, self.blocks) = (inputs, outputs, kernels, blocks)
    }

    deinit { free(storage) }

    /// The packed block of k-block `block` for the columns from `column` on.
    func panels(block: Int, column: Int) -> UnsafePointer<Float> {
        UnsafePointer(storage + blocks[block].offset + column * blocks[block].count)
    }

    /// Whether the packed products give `cblas_sgemm`'s bits for this weight, checked once (with BLAS on one
    /// thread, as the decoder's products run; false without checking otherwise): a product of 40 rows of
    /// fixed pseudo-random inputs through `cblas_sgemm` on ``decoderColumnRanges(rows:inputs:outputs:)``'s
    /// column ranges, against ``packedRowsProduct`` on the same ranges with the rows in two parts (split at
    /// the driver's row chunk).
    func agreesWithOpenBLAS(transposed: UnsafePointer<Float>) -> Bool {
        switch agreement.load(ordering: .relaxed) {
        case 1: return true
        case 2: return false
        default: break
        }
        guard BLAS.threadCount == 1 else { return false }
        let rows = 40
        var state: UInt32 = 0x9E37_79B9
        let x = (0..<(rows * inputs)).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int32(bitPattern: state) >> 8) / Float(1 << 23)
        }
        let bias = (0..<outputs).map { Float($0 % 7) - 3 }
        var expected = [Float](repeating: .nan, count: rows * outputs)
        var actual = expected
        x.withUnsafeBufferPointer { x in
            let x = x.baseAddress!
            expected.withUnsafeMutableBufferPointer { y in
                for columns in decoderColumnRanges(rows: rows, inputs: inputs, outputs: outputs) {
                    gemm(
                        m: rows, n: columns.count, k: inputs, a: x, lda: inputs, b: transposed + columns.lowerBound,
                        ldb: outputs, c: y.baseAddress! + columns.lowerBound, ldc: outputs)
                }
            }
            actual.withUnsafeMutableBufferPointer { y in
                let split = 2 * 3 * kernels.unrollN
                packedRowsProduct(x, rows: 0..<split, of: rows, weight: self, bias: nil, into: y.baseAddress!)
                packedRowsProduct(x, rows: split..<rows, of: rows, weight: self, bias: nil, into: y.baseAddress!)
            }
        }
        // With a bias (beta = 1), on top of the first.
        var withBias = actual
        x.withUnsafeBufferPointer { x in
            bias.withUnsafeBufferPointer { b in
                withBias.withUnsafeMutableBufferPointer { y in
                    packedRowsProduct(x.baseAddress!, rows: 0..<rows, of: rows, weight: self, bias: b.baseAddress!, into: y.baseAddress!)
                }
            }
        }
        var expectedWithBias = [Float](repeating: 0, count: rows * outputs)
        for r in 0..<rows { for c in 0..<outputs { expectedWithBias[r * outputs + c] = bias[c] } }
        x.withUnsafeBufferPointer { x in
            expectedWithBias.withUnsafeMutableBufferPointer { y in
                for columns in decoderColumnRanges(rows: rows, inputs: inputs, outputs: outputs) {
                    gemm(
                        m: rows, n: columns.count, k: inputs, a: x.baseAddress!, lda: inputs, b: transposed + columns.lowerBound,
                        ldb: outputs, beta: 1, c: y.baseAddress! + columns.lowerBound, ldc: outputs)
                }
            }
        }
        let same = expected.map(\.bitPattern) == actual.map(\.bitPattern)
            && expectedWithBias.map(\.bitPattern) == withBias.map(\.bitPattern)
        agreement.store(same ? 1 : 2, ordering: .relaxed)
        return same
    }
}

/// `y[rows, :] = x[rows, :]·Wᵀ + b` (or `max(…, 0)` with `relu`) for some of the rows of a product of `total`
/// rows: `x` `[total, in]` (row stride `ldx`, default `in`), `y` `[total, out]` (row stride `ldy`, default
/// `out`), `b` `[out]` or nil. The columns go in the ranges
/// ``decoderLinear`` gives its threads for `total` rows, one after the other on this thread; with `rows`
/// starting at a multiple of 3·UNROLL_N the results are the bits of ``decoderLinear`` over all rows.
func packedRowsProduct(
    _ x: UnsafePointer<Float>, ldx: Int? = nil, rows: Range<Int>, of total: Int, weight: PackedWeight,
    bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, ldy: Int? = nil, relu: Bool = false
) {
    let (inputs, outputs) = (weight.inputs, weight.outputs)
    let (ldx, ldy) = (ldx ?? inputs, ldy ?? outputs)
    guard !rows.isEmpty else { return }
    for columns in decoderColumnRanges(rows: total, inputs: inputs, outputs: outputs) {
        if let bias {
            for r in rows { (y + r * ldy + columns.lowerBound).update(from: bias + columns.lowerBound, count: columns.count) }
        }
        BLAS.measure(flops: 2 * rows.count * columns.count * inputs) {
            packedProduct(
                x + rows.lowerBound * ldx, rows: rows.count, ldx: ldx, weight: weight, columns: columns,
                beta: bias == nil ? 0 : 1, into: y + rows.lowerBound * ldy, ldy: ldy)
        }
        guard relu else { continue }
        for r in rows {
            let row = y + r * ldy
            for c in columns { row[c] = max(row[c], 0) }
        }
    }
}

/// `y[:, columns] = x·Wᵀ[:, columns] + beta·y[:, columns]` for `x` `[R, in]`, `y` `[R, ldy]`, with beta 0 or 1
/// and `columns` starting at a multiple of UNROLL_M: OpenBLAS's single-threaded driver on the weight packed
/// in `weight` (see the top of this file), so the same bits as `cblas_sgemm` on one thread.
func packedProduct(
    _ x: UnsafePointer<Float>, rows: Int, ldx: Int? = nil, weight: PackedWeight, columns: Range<Int>, beta: Float,
    into y: UnsafeMutablePointer<Float>, ldy: Int
) {
    let kernels = weight.kernels
    let (m, k) = (columns.count, weight.inputs)
    let ldx = ldx ?? k
    guard rows > 0, m > 0 else { return }
    precondition(rows <= kernels.r && columns.lowerBound % kernels.unrollM == 0, "packedProduct: \(rows) rows, columns \(columns)")
    let c = y + columns.lowerBound
    if beta != 1 { _ = kernels.beta(m, rows, 0, beta, nil, 0, nil, 0, c, ldy) }
    let deepest = weight.blocks.map(\.count).max() ?? 0
    PackingScratch.with(floats: deepest * rows) { packedRows in
        for (index, block) in weight.blocks.enumerated() {
            // The first block of outputs: the rows are packed chunk by chunk, each chunk used at once.
            var width = kernels.outputBlock(m)
            let panels = weight.panels(block: index, column: columns.lowerBound)
            var row = 0
            while row < rows {
                var chunk = rows - row
                if chunk >= 3 * kernels.unrollN {
                    chunk = 3 * kernels.unrollN
                } else if chunk > kernels.unrollN {
                    chunk = kernels.unrollN
                }
                let packed = packedRows + block.count * row
                _ = kernels.packB(block.count, chunk, x + row * ldx + block.start, ldx, packed)
                _ = kernels.kernel(width, chunk, block.count, 1, panels, packed, c + row * ldy, ldy)
                row += chunk
            }
            // The other blocks of outputs, on all the packed rows.
            var first = width
            while first < m {
                width = kernels.outputBlock(m - first)
                _ = kernels.kernel(
                    width, rows, block.count, 1, weight.panels(block: index, column: columns.lowerBound + first),
                    packedRows, c + first, ldy)
                first += width
            }
        }
    }
}

/// Page-aligned buffers for the packed rows, reused across calls (a fresh allocation of this size would
/// map new pages at every product).
enum PackingScratch {
    private struct Buffer: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let bytes: Int
    }

    private static let spare = Mutex<[Buffer]>([])

    /// Runs `body` on a buffer of at least `floats` floats that no other caller holds meanwhile.
    static func with(floats: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        let bytes = max(floats, 1) * MemoryLayout<Float>.size
        var buffer = spare.withLock { buffers -> Buffer? in buffers.popLast() }
        if let held = buffer, held.bytes < bytes {
            free(held.pointer)
            buffer = nil
        }
        let held = buffer ?? {
            var raw: UnsafeMutableRawPointer?
            precondition(posix_memalign(&raw, 4096, bytes) == 0 && raw != nil, "PackingScratch: out of memory")
            return Buffer(pointer: raw!, bytes: bytes)
        }()
        body(held.pointer.bindMemory(to: Float.self, capacity: held.bytes / MemoryLayout<Float>.size))
        spare.withLock { $0.append(held) }
    }
}
