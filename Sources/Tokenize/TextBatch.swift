/// Many lines of UTF-8 text stored back to back, the unit that `SentencePieceModel` encodes in one
/// call.
///
/// Line `i` is `bytes[offsets[i] ..< offsets[i + 1]]`, without its `\n`. A batch built by
/// `init(splitting:source:firstLine:)` has passed UTF-8 validation, so encoding never meets a
/// broken line.
public struct TextBatch: Sendable, Equatable {
    /// The lines' bytes, concatenated without separators.
    public private(set) var bytes: [UInt8]
    /// `count + 1` offsets into `bytes`.
    public private(set) var offsets: [Int]

    /// The number of lines.
    public var count: Int { offsets.count - 1 }

    /// A batch of Swift strings (always valid UTF-8).
    public init<S: Sequence>(_ lines: S) where S.Element: StringProtocol {
        bytes = []
        offsets = [0]
        for line in lines {
            bytes.append(contentsOf: line.utf8)
            offsets.append(bytes.count)
        }
    }

    /// Splits `data` into lines the way `std::getline` does (and so `spm_encode`): at each `\n`,
    /// keeping any
    /// `\r`; a final line without `\n` still counts, and a trailing `\n` does not start another
    /// line.
    ///
    /// - Parameters:
    ///   - data: the text.
    ///   - source: the file name used in errors.
    ///   - firstLine: the 1-based number of the first line of `data` in `source` (for chunked
    ///     reading).
    /// - Throws: `TokenizeError.invalidUTF8` naming `source` and the line.
    public init(splitting data: some Collection<UInt8>, source: String, firstLine: Int = 1)
        throws(TokenizeError)
    {
        let bytes = Array(data)
        var offsets = [0]
        var lineStarts = [0]
        bytes.withUnsafeBufferPointer { buffer in
            var i = 0
            while let newline = Self.indexOfNewline(in: buffer, from: i) {
                offsets.append(newline)
                lineStarts.append(newline + 1)
                i = newline + 1
            }
            if i < buffer.count {
                offsets.append(buffer.count)
                lineStarts.append(buffer.count)
            }
        }
        // `offsets[k + 1]` ends line k; `lineStarts[k]` starts it. Drop the newlines.
        var packed: [UInt8] = []
        packed.reserveCapacity(bytes.count)
        var packedOffsets = [0]
        packedOffsets.reserveCapacity(offsets.count)
        for k in 0..<(offsets.count - 1) {
            let line = bytes[lineStarts[k]..<offsets[k + 1]]
            if let bad = UTF8Validation.firstInvalidByte(in: line) {
                throw .invalidUTF8(file: source, line: firstLine + k, byteOffset: bad)
            }
            packed.append(contentsOf: line)
            packedOffsets.append(packed.count)
        }
        self.bytes = packed
        self.offsets = packedOffsets
    }

    /// Line `index` as a string.
    public subscript(index: Int) -> String {
        String(decoding: bytes[offsets[index]..<offsets[index + 1]], as: UTF8.self)
    }

    /// Every line as a string.
    public var lines: [String] { (0..<count).map { self[$0] } }

    private static func indexOfNewline(in buffer: UnsafeBufferPointer<UInt8>, from start: Int)
        -> Int?
    {
        var i = start
        while i < buffer.count {
            if buffer[i] == 0x0A { return i }
            i += 1
        }
        return nil
    }
}

/// UTF-8 validation as the Unicode Standard defines it (Table 3-7: no overlong forms, no
/// surrogates,
/// nothing above U+10FFFF).
enum UTF8Validation {
    /// The offset (from the start of `bytes`) of the first byte that starts an invalid sequence, or
    /// nil.
    static func firstInvalidByte(in bytes: ArraySlice<UInt8>) -> Int? {
        bytes.withUnsafeBufferPointer { firstInvalidByte(in: $0) }
    }

    static func firstInvalidByte(in b: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 {
                i += 1
                continue
            }
            // Second-byte range and sequence length by lead byte.
            var length = 0
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            if i + length > n { return i }
            if b[i + 1] < low || b[i + 1] > high { return i }
            for k in 2..<length where b[i + k] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }
}
