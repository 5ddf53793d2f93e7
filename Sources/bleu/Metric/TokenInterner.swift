import Foundation

/// Maps token bytes to small integer ids, so n-grams can be compared as integers.
///
/// Ids start at 1 (0 marks "no token" in packed n-gram keys). Each worker thread owns one: ids
/// only need to agree within a segment, never across threads, so results do not depend on how
/// lines are split between threads.
struct TokenInterner {
    private struct Token {
        var hash: UInt64
        var offset: Int
        var length: Int
    }

    private let storage: ByteBuffer
    /// `tokens[id - 1]`.
    private var tokens: [Token] = []
    /// Open addressing; 0 = empty slot, otherwise an id.
    private var slots: [UInt32]
    private var mask: Int

    init(capacity: Int = 1 << 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt32](repeating: 0, count: size)
        mask = size - 1
        tokens.reserveCapacity(capacity)
        storage = ByteBuffer(capacity: capacity * 8)
    }

    var count: Int { tokens.count }

    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64 {
        // Eight bytes at a time, then the tail; a multiplicative finalizer for the low bits.
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(end - start)
        var i = start
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        while i + 8 <= end {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < end {
            tail |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 29)
    }

    /// The id of `bytes[start..<end]`, adding it when new.
    mutating func id(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt32 {
        let h = Self.hash(bytes, start, end)
        let length = end - start
        let storage = storage
        let found: (UInt32, Int) = slots.withUnsafeBufferPointer { slots in
            tokens.withUnsafeBufferPointer { tokens in
                var slot = Int(truncatingIfNeeded: h) & mask
                while true {
                    let candidate = slots[slot]
                    if candidate == 0 { return (0, slot) }
                    let token = tokens[Int(candidate) - 1]
                    if token.hash == h && token.length == length
                        && memcmp(storage.pointer + token.offset, bytes.baseAddress! + start, length) == 0
                    {
                        return (candidate, slot)
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
        if found.0 != 0 { return found.0 }
        let offset = storage.count
        storage.reserve(offset + length)
        (storage.pointer + offset).update(from: bytes.baseAddress! + start, count: length)
        storage.count = offset + length
        tokens.append(Token(hash: h, offset: offset, length: length))
        let id = UInt32(tokens.count)
        slots[found.1] = id
        if tokens.count * 2 > slots.count { grow() }
        return id
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [UInt32](repeating: 0, count: size)
        mask = size - 1
        for (index, token) in tokens.enumerated() {
            var slot = Int(truncatingIfNeeded: token.hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = UInt32(index + 1)
        }
    }
}
