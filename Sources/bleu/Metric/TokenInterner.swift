/// Maps token bytes to small integer ids, so n-grams can be compared as integers.
///
/// Ids start at 1 (0 marks "no token" in packed n-gram keys). Each worker thread owns one: ids
/// only need to agree within a segment, never across threads, so results do not depend on how
/// lines are split between threads.
struct TokenInterner {
    private var storage: [UInt8] = []
    private var offsets: [Int] = [0]
    private var hashes: [UInt64] = [0]
    /// Open addressing; 0 = empty slot, otherwise an id.
    private var slots: [UInt32]
    private var mask: Int

    init(capacity: Int = 1 << 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt32](repeating: 0, count: size)
        mask = size - 1
        storage.reserveCapacity(capacity * 8)
    }

    var count: Int { offsets.count - 1 }

    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64 {
        // FNV-1a over bytes, then a multiplicative finalizer for the low bits used as the index.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        var i = start
        while i < end {
            h = (h ^ UInt64(bytes[i])) &* 0x100_0000_01B3
            i += 1
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    /// The id of `bytes[start..<end]`, adding it when new.
    mutating func id(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt32 {
        let h = Self.hash(bytes, start, end)
        var slot = Int(truncatingIfNeeded: h) & mask
        let length = end - start
        while true {
            let candidate = slots[slot]
            if candidate == 0 { break }
            let c = Int(candidate)
            // Id c's bytes are storage[offsets[c - 1]..<offsets[c]].
            if hashes[c] == h && offsets[c] - offsets[c - 1] == length {
                let equal = storage.withUnsafeBufferPointer { s -> Bool in
                    let base = offsets[c - 1]
                    for k in 0..<length where s[base + k] != bytes[start + k] { return false }
                    return true
                }
                if equal { return candidate }
            }
            slot = (slot + 1) & mask
        }
        storage.append(contentsOf: bytes[start..<end])
        offsets.append(storage.count)
        hashes.append(h)
        let id = UInt32(offsets.count - 1)
        slots[slot] = id
        if count * 2 > slots.count { grow() }
        return id
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [UInt32](repeating: 0, count: size)
        mask = size - 1
        for id in 1...count {
            var slot = Int(truncatingIfNeeded: hashes[id]) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = UInt32(id)
        }
    }
}
