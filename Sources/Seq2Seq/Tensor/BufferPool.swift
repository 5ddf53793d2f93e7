/// A free list of element buffers, so that a training step that repeats the shapes of the previous ones
/// allocates nothing.
///
/// Buffers are filed by size class (the count rounded up to 1/8 of its power of two, so at most 12.5% is
/// wasted), which lets batches of varying shapes share buffers; a buffer handed out has exactly the count
/// asked for, with unspecified contents. Classes unused for two generations (steps) are dropped, so the
/// pool cannot grow without bound when shapes keep changing.
///
/// Buffers are ordinary Swift arrays: if a buffer handed back here is still shared with a tensor somebody
/// kept, copy-on-write makes the next writer copy it, so reuse can cost an allocation but never corrupts a
/// value.
final class BufferPool {
    private var free: [Int: [[Float]]] = [:]
    private var lastUsed: [Int: Int] = [:]
    private var generation = 0
    /// Bytes currently handed out and not yet recycled (an estimate of the live working set).
    private(set) var bytesInUse = 0
    /// The largest `bytesInUse` seen since the last `resetPeak()`.
    private(set) var peakBytes = 0
    /// How many buffers had to be allocated because none of the size class was free.
    private(set) var allocations = 0

    /// The size class of `count`: the count rounded up to a multiple of 1/8 of its power of two.
    static func sizeClass(_ count: Int) -> Int {
        guard count > 16 else { return max(count, 1) }
        let step = 1 << (Int.bitWidth - count.leadingZeroBitCount - 4)
        return (count + step - 1) / step * step
    }

    /// The largest size class not above `capacity` (where a buffer of that capacity is filed).
    static func floorClass(_ capacity: Int) -> Int {
        guard capacity > 16 else { return max(capacity, 1) }
        let step = 1 << (Int.bitWidth - capacity.leadingZeroBitCount - 4)
        return capacity / step * step
    }

    /// A buffer of exactly `count` elements with unspecified contents.
    func take(_ count: Int) -> [Float] {
        bytesInUse += count * 4
        peakBytes = max(peakBytes, bytesInUse)
        let wanted = BufferPool.sizeClass(count)
        // Any free buffer of this class or a larger one up to twice the size will do (shapes that vary
        // from step to step then still share buffers; the allocator may also round a capacity up). Small
        // buffers look further: malloc rounds their capacity up by a few elements, and by how much depends
        // on the heap's state, so a 1-element buffer can come back filed as 4 or 6.
        var sizeClass = wanted
        while sizeClass <= max(2 * wanted, 64) {
            defer { sizeClass = BufferPool.sizeClass(sizeClass + 1) }
            guard var buffer = free[sizeClass]?.popLast() else { continue }
            lastUsed[sizeClass] = generation
            // Floats are trivial: shrinking only moves the count; growing writes the missing tail once.
            if buffer.count > count {
                buffer.removeLast(buffer.count - count)
            } else if buffer.count < count {
                buffer.append(contentsOf: repeatElement(0, count: count - buffer.count))
            }
            return buffer
        }
        allocations += 1
        lastUsed[wanted] = generation
        var buffer = [Float](unsafeUninitializedCapacity: wanted) { _, initialized in initialized = wanted }
        buffer.removeLast(wanted - count)
        return buffer
    }

    /// Returns a buffer for reuse.
    func recycle(_ buffer: [Float]) {
        guard buffer.capacity > 0 else { return }
        bytesInUse -= buffer.count * 4
        let sizeClass = BufferPool.floorClass(buffer.capacity)
        free[sizeClass, default: []].append(buffer)
        lastUsed[sizeClass] = max(lastUsed[sizeClass] ?? generation, generation)
    }

    /// Stops counting a buffer that left the pool's care (kept by its owner instead of recycled).
    func forget(_ buffer: [Float]) { bytesInUse -= buffer.count * 4 }

    /// Ends a step: drops the buffers of size classes nobody asked for during the last two steps.
    func endGeneration() {
        generation += 1
        for (sizeClass, used) in lastUsed where used < generation - 2 {
            free[sizeClass] = nil
            lastUsed[sizeClass] = nil
        }
    }

    /// Total bytes held in free lists (capacity).
    var freeBytes: Int { free.values.reduce(0) { $0 + $1.reduce(0) { $0 + 4 * $1.capacity } } }

    func resetPeak() { peakBytes = bytesInUse }
}
