import Dispatch
import Glibc
import Synchronization

/// Splits kernel work into contiguous row ranges run on several threads.
///
/// Every kernel computes each output row (or column) in one fixed order, whatever the split, so results do
/// not depend on the thread count. BLAS calls are not split here: OpenBLAS threads large products itself, and
/// the two kinds of work never overlap in time, so the two pools do not oversubscribe the cores.
public enum Parallel {
    private static let threads = Atomic<Int>(min(2, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    /// Threads used by the non-BLAS kernels (default: min(2, cores)).
    public static var threadCount: Int {
        get { threads.load(ordering: .relaxed) }
        set { threads.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Work below this many elements runs on the calling thread: a thread hand-off costs microseconds.
    static let minimumParallelWork = 1 << 15

    /// Calls `body` on disjoint ranges that cover `0..<count`, in parallel when `work` (an estimate of the
    /// elements touched) is large enough. `body` must only write data owned by its range.
    static func forEachRange(_ count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let chunks = min(count, work >= minimumParallelWork ? threadCount : 1)
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // Safe: concurrentPerform returns only after every iteration has finished, and the
            // iterations touch disjoint ranges, so the non-Sendable closure never runs concurrently
            // with anything that could observe a race.
            let sendable = unsafeBitCast(body, to: (@Sendable (Range<Int>) -> Void).self)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = count * chunk / chunks
                let end = count * (chunk + 1) / chunks
                if start < end { sendable(start..<end) }
            }
        }
    }
}
