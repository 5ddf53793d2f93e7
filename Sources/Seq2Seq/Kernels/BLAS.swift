import CBLAS
import Dispatch
import Glibc
import Synchronization

/// The one door to BLAS: single-precision matrix products, row-major. No other file imports CBLAS.
public enum BLAS {
    /// Threads OpenBLAS may use for one product (it runs small products on one thread anyway).
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Serialises the callers of ``withThreadCount(_:_:)``.
    private static let threadCountHolder = Mutex<Void>(())

    /// Runs `body` with BLAS on `count` threads, then restores the previous count.
    ///
    /// The count is process-wide, and OpenBLAS's results can differ in the last bits with it (its threaded
    /// products take other paths). Callers that change it for a while, or that need it fixed while they run,
    /// go through here, one at a time: a decoding step in one thread then cannot switch the products of
    /// another caller to one thread half-way through (which made a test of bitwise-reproducible gradients
    /// fail in CI while decoding tests ran beside it).
    public static func withThreadCount(_ count: Int, _ body: () -> Void) {
        threadCountHolder.withLock { _ in
            let previous = threadCount
            if previous != count { threadCount = count }
            body()
            if previous != count { threadCount = previous }
        }
    }

    /// Makes OpenBLAS's idle worker threads sleep as soon as their share of a product is done, unless the
    /// user set `OPENBLAS_THREAD_TIMEOUT` (then that is kept). Returns whether the setting was applied.
    ///
    /// OpenBLAS's pthreads build (Debian's default) keeps each worker spinning on `sched_yield` for 2²⁸ TSC
    /// cycles (about 0.1 s) after every product before it sleeps on a condition variable. Between products
    /// our own kernels run on ``Parallel/threadCount`` threads, so on a machine with as many cores as threads
    /// the spinning workers take CPU time from them (about 12% of a training step's samples were in
    /// `sched_yield`). With the shortest timeout (2⁴ cycles) a worker sleeps at once and the next product wakes
    /// it with one condition signal, microseconds against the milliseconds of a training product.
    ///
    /// OpenBLAS reads the timeout only from the environment, when it starts its threads, and it starts them
    /// before `main`; so this sets the variable, has OpenBLAS read its environment again, and restarts the
    /// workers (`openblas_read_env`, `blas_thread_shutdown_`, `blas_thread_init`: exported by OpenBLAS but not
    /// in `cblas.h`, so looked up at run time; without them, e.g. the OpenMP build, nothing changes). The
    /// variable is removed again afterwards, so child processes see the environment as it was.
    ///
    /// Call it once at start-up, before any product and while no other thread uses BLAS.
    @discardableResult
    public static func letIdleWorkersSleep() -> Bool {
        let variable = "OPENBLAS_THREAD_TIMEOUT"
        guard getenv(variable) == nil, let library = dlopen(nil, RTLD_NOW),
            let readEnvironment = dlsym(library, "openblas_read_env"),
            let shutdown = dlsym(library, "blas_thread_shutdown_"),
            let start = dlsym(library, "blas_thread_init")
        else { return false }
        typealias Routine = @convention(c) () -> Void
        typealias Status = @convention(c) () -> Int32
        setenv(variable, "4", 0)
        unsafeBitCast(readEnvironment, to: Routine.self)()
        unsetenv(variable)
        _ = unsafeBitCast(shutdown, to: Status.self)()
        _ = unsafeBitCast(start, to: Status.self)()
        return true
    }

    private static let profiling = Atomic<Bool>(false)
    private static let nanoseconds = Atomic<UInt64>(0)
    private static let operations = Atomic<UInt64>(0)

    /// Starts counting the wall time spent in matrix products and their floating-point operations
    /// (2·m·n·k each), from zero. For benchmarks; off by default, and then free.
    public static func startProfiling() {
        nanoseconds.store(0, ordering: .relaxed)
        operations.store(0, ordering: .relaxed)
        profiling.store(true, ordering: .relaxed)
    }

    /// Stops counting and returns the seconds spent in products and their operation count.
    public static func stopProfiling() -> (seconds: Double, flops: Double) {
        profiling.store(false, ordering: .relaxed)
        return (Double(nanoseconds.load(ordering: .relaxed)) * 1e-9, Double(operations.load(ordering: .relaxed)))
    }

    /// Runs `body` (one product or one batch of them, `flops` operations), timing it when profiling.
    @inline(__always)
    static func measure(flops: Int, _ body: () -> Void) {
        guard profiling.load(ordering: .relaxed) else { return body() }
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        nanoseconds.add(DispatchTime.now().uptimeNanoseconds - start, ordering: .relaxed)
        operations.add(UInt64(flops), ordering: .relaxed)
    }
}

/// `C = alpha·op(A)·op(B) + beta·C` with row-major `op(A)` of shape `[m, k]`, `op(B)` `[k, n]`, `C` `[m, n]`.
///
/// `A` is stored `[m, k]` (or `[k, m]` when `transposeA`), `B` `[k, n]` (or `[n, k]` when `transposeB`).
/// Leading dimensions default to the dense row length. With `beta == 0` the old contents of `C` are never
/// read (BLAS semantics), so `C` may be uninitialised.
func gemm(
    transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
    b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    BLAS.measure(flops: 2 * m * n * k) {
        unmeasuredGemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
            c: c, ldc: ldc)
    }
}

private func unmeasuredGemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int?,
    b: UnsafePointer<Float>, ldb: Int?, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int?
) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        for i in 0..<m { for j in 0..<n { c[i * (ldc ?? n) + j] *= beta } }
        return
    }
    cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha,
        a, Int32(lda ?? (transposeA ? m : k)),
        b, Int32(ldb ?? (transposeB ? k : n)),
        beta, c, Int32(ldc ?? n))
}

/// `batch` independent products `C[i] = alpha·op(A[i])·op(B[i]) + beta·C[i]`, the i-th operands starting at
/// `i·strideA`, `i·strideB`, `i·strideC` elements (a stride of 0 reuses one matrix for every item).
func batchedGemm(
    batch: Int, transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, strideA: Int, b: UnsafePointer<Float>, strideB: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, strideC: Int
) {
    stridedGemm(
        batch: batch, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
        a: a, lda: transposeA ? m : k, offsetA: { $0 * strideA }, b: b, ldb: transposeB ? k : n, offsetB: { $0 * strideB },
        beta: beta, c: c, ldc: n, offsetC: { $0 * strideC }, distinctOutputs: strideC != 0)
}

/// `batch` independent products whose operands start at `offsetA(i)`, `offsetB(i)`, `offsetC(i)` elements
/// with leading dimensions `lda`, `ldb`, `ldc`: e.g. the heads of a `[B, N, H·k]` activation, read in place
/// (head `h` of item `b` is the `[N, k]` block at `b·N·H·k + h·k` with leading dimension `H·k`).
///
/// Small items are spread over ``Parallel/threadCount`` threads (OpenBLAS runs each of them on one thread,
/// so nothing is oversubscribed); large items go one at a time to OpenBLAS's own threads. Set
/// `distinctOutputs` to false when items share output blocks (then they run in order).
func stridedGemm(
    batch: Int, transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, offsetA: (Int) -> Int, b: UnsafePointer<Float>, ldb: Int, offsetB: (Int) -> Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, offsetC: (Int) -> Int, distinctOutputs: Bool = true
) {
    // OpenBLAS keeps a product on one thread below m·n·k = 65536·4 (interface/gemm.c).
    let small = m * n * k < 262_144
    func item(_ i: Int) {
        unmeasuredGemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: a + offsetA(i), lda: lda, b: b + offsetB(i), ldb: ldb, beta: beta, c: c + offsetC(i), ldc: ldc)
    }
    BLAS.measure(flops: 2 * batch * m * n * k) {
        if small && distinctOutputs {
            Parallel.forEachRange(batch, work: batch * m * n * k / 8) { range in for i in range { item(i) } }
        } else {
            for i in 0..<batch { item(i) }
        }
    }
}
