/// A free list of element buffers keyed by element count, so that a training step that repeats the
/// same shapes allocates nothing after the first step.
///
/// Buffers are ordinary Swift arrays: if a buffer handed back here is still shared with a tensor that
/// somebody kept, copy-on-write makes the next writer copy it, so reuse can cost an allocation but never
/// corrupts a value.
final class BufferPool {
    private var free: [Int: [[Float]]] = [:]
    /// Bytes currently handed out and not yet recycled (an estimate of the live working set).
    private(set) var bytesInUse = 0
    /// The largest `bytesInUse` seen since the last `resetPeak()`.
    private(set) var peakBytes = 0

    /// How many buffers had to be allocated because none of the size was free.
    private(set) var allocations = 0

    /// A buffer of `count` elements with unspecified contents.
    func take(_ count: Int) -> [Float] {
        bytesInUse += count * 4
        peakBytes = max(peakBytes, bytesInUse)
        if let buffer = free[count]?.popLast() { return buffer }
        allocations += 1
        return [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    /// Returns a buffer for reuse.
    func recycle(_ buffer: [Float]) {
        guard !buffer.isEmpty else { return }
        bytesInUse -= buffer.count * 4
        free[buffer.count, default: []].append(buffer)
    }

    /// Stops counting a buffer that left the pool's care (kept by its owner instead of recycled).
    func forget(_ buffer: [Float]) { bytesInUse -= buffer.count * 4 }

    func resetPeak() { peakBytes = bytesInUse }
}
