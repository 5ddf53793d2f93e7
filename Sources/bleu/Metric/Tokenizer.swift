// Reference: mjpost/sacrebleu 2.6.0, sacrebleu/tokenizers/ (tokenizer_13a.py, tokenizer_re.py,
// tokenizer_intl.py, tokenizer_zh.py, tokenizer_char.py, tokenizer_none.py).

/// The tokenizers sacreBLEU applies before counting BLEU n-grams, named as in its signatures.
///
/// Each reproduces its sacreBLEU namesake string for string. They work on UTF-8 bytes (13a, zh)
/// or Unicode scalars (intl, char), never on Swift `Character`s, because Python strings are
/// sequences of code points.
public enum Tokenizer: String, CaseIterable, Sendable {
    /// No tokenization: words are what `str.split()` finds.
    case none
    /// mteval-v13a, the WMT standard and sacreBLEU's default.
    case thirteenA = "13a"
    /// mteval-v14 "international": splits Unicode punctuation and symbols.
    case international = "intl"
    /// Every character is a token.
    case character = "char"
    /// Chinese: every CJK character is a token, the rest as 13a's regular expressions.
    case chinese = "zh"

    /// The name in signatures and on the command line (`13a`, `intl`, ...).
    public var signature: String { rawValue }

    /// Tokenizes one line exactly as sacreBLEU's tokenizer of the same name does.
    ///
    /// The line is taken as given: BLEU itself first lowercases (with `-lc`) and strips trailing
    /// whitespace, see `BLEU.preprocess(_:)`.
    public func callAsFunction(_ line: String) -> String {
        switch self {
        case .none:
            return line
        case .character:
            // " ".join(line): whitespace characters stay, each between two spaces.
            var out = String.UnicodeScalarView()
            for (index, scalar) in line.unicodeScalars.enumerated() {
                if index > 0 { out.append(" ") }
                out.append(scalar)
            }
            return String(out)
        case .thirteenA, .international, .chinese:
            let workspace = TokenizerWorkspace()
            var line = line
            return line.withUTF8 { bytes in
                workspace.tokenize(bytes, with: self)
                return workspace.joinedTokens()
            }
        }
    }
}

/// A growable byte buffer owned by one thread, written through its pointer (no per-byte
/// uniqueness or bounds checks in the tokenizer loops).
final class ByteBuffer {
    private(set) var pointer: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int = 1024) {
        self.capacity = capacity
        pointer = .allocate(capacity: capacity)
    }

    deinit { pointer.deallocate() }

    /// Makes room for `size` bytes; the contents are kept.
    func reserve(_ size: Int) {
        guard size > capacity else { return }
        var newCapacity = capacity * 2
        while newCapacity < size { newCapacity *= 2 }
        let newPointer = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newPointer.update(from: pointer, count: count)
        pointer.deallocate()
        pointer = newPointer
        capacity = newCapacity
    }

    var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: pointer, count: count) }

    /// Exchanges storage (pointer and capacity) with `other`; counts stay with the buffers' users.
    func swapStorage(with other: ByteBuffer) {
        swap(&pointer, &other.pointer)
        swap(&capacity, &other.capacity)
    }

    func set(_ bytes: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count)
        if let base = bytes.baseAddress { pointer.update(from: base, count: bytes.count) }
        count = bytes.count
    }
}

/// Growable token boundaries, as a pair of `Int32` arrays written through pointers.
final class TokenBounds {
    private(set) var starts: UnsafeMutablePointer<Int32>
    private(set) var ends: UnsafeMutablePointer<Int32>
    private var capacity: Int
    var count = 0

    init(capacity: Int = 256) {
        self.capacity = capacity
        starts = .allocate(capacity: capacity)
        ends = .allocate(capacity: capacity)
    }

    deinit {
        starts.deallocate()
        ends.deallocate()
    }

    @inline(__always)
    func append(_ start: Int, _ end: Int) {
        if count == capacity { grow() }
        starts[count] = Int32(start)
        ends[count] = Int32(end)
        count += 1
    }

    private func grow() {
        let newCapacity = capacity * 2
        let newStarts = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        let newEnds = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        newStarts.update(from: starts, count: count)
        newEnds.update(from: ends, count: count)
        starts.deallocate()
        ends.deallocate()
        starts = newStarts
        ends = newEnds
        capacity = newCapacity
    }
}

/// Reusable buffers for tokenizing many lines on one thread without allocating per line.
///
/// After `tokenize`, token i is `bytes.buffer[tokens.starts[i]..<tokens.ends[i]]`.
final class TokenizerWorkspace {
    let bytes = ByteBuffer()
    let tokens = TokenBounds()
    private let scratch = ByteBuffer()
    private var scalars: [UInt32] = []
    private var scalarScratch: [UInt32] = []

    var tokenCount: Int { tokens.count }

    /// The tokens joined by single spaces.
    func joinedTokens() -> String {
        var out: [UInt8] = []
        let b = bytes.buffer
        for index in 0..<tokens.count {
            if index > 0 { out.append(0x20) }
            out.append(contentsOf: b[Int(tokens.starts[index])..<Int(tokens.ends[index])])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Tokenizes one line of valid UTF-8 and splits the result into words as `str.split()` does.
    func tokenize(_ line: UnsafeBufferPointer<UInt8>, with tokenizer: Tokenizer) {
        switch tokenizer {
        case .none:
            bytes.set(line)
            splitWords()
        case .thirteenA:
            tokenize13a(line)
            splitWords()
        case .chinese:
            tokenizeChinese(line)
            splitWords()
        case .international:
            tokenizeInternational(line)
        case .character:
            splitCharacters(line)
        }
    }

    // MARK: - Splitting

    /// Fills the token bounds with the whitespace-separated words of `bytes`.
    private func splitWords() {
        tokens.count = 0
        let b = bytes.buffer
        var index = 0
        var wordStart = -1
        let count = b.count
        while index < count {
            let byte = b[index]
            // Fast path: ASCII letters, digits and most punctuation are never whitespace.
            let length = byte > 0x20 && byte < 0x80 ? 0 : PythonText.whitespaceLength(b, index)
            if length > 0 {
                if wordStart >= 0 {
                    tokens.append(wordStart, index)
                    wordStart = -1
                }
                index += length
            } else {
                if wordStart < 0 { wordStart = index }
                index += 1
            }
        }
        if wordStart >= 0 { tokens.append(wordStart, count) }
    }

    /// `char`: every non-whitespace scalar is a token (`" ".join(line).split()`).
    private func splitCharacters(_ line: UnsafeBufferPointer<UInt8>) {
        bytes.set(line)
        tokens.count = 0
        var index = 0
        while index < line.count {
            let length = PythonText.whitespaceLength(line, index)
            if length > 0 {
                index += length
                continue
            }
            let width = utf8Width(line[index])
            tokens.append(index, index + width)
            index += width
        }
    }

    // MARK: - 13a

    /// mteval-v13a: drop `<skipped>`, join hyphenated line ends, unescape four HTML entities, pad
    /// with spaces, then the regular-expression passes.
    private func tokenize13a(_ line: UnsafeBufferPointer<UInt8>) {
        var hasLessThan = false
        var hasNewline = false
        var hasAmpersand = false
        for byte in line {
            switch byte {
            case 0x3C: hasLessThan = true
            case 0x0A: hasNewline = true
            case 0x26: hasAmpersand = true
            default: break
            }
        }
        scratch.reserve(line.count + 2)
        scratch.pointer[0] = 0x20
        if let base = line.baseAddress { (scratch.pointer + 1).update(from: base, count: line.count) }
        scratch.count = line.count + 1
        if hasLessThan || hasNewline || hasAmpersand {
            var text = Array(scratch.buffer)
            if hasLessThan { Self.replaceAll(&text, Array("<skipped>".utf8), with: []) }
            if hasNewline {
                Self.replaceAll(&text, [0x2D, 0x0A], with: [])
                Self.replaceAll(&text, [0x0A], with: [0x20])
            }
            if hasAmpersand && text.contains(0x26) {
                Self.replaceAll(&text, Array("&quot;".utf8), with: [0x22])
                Self.replaceAll(&text, Array("&amp;".utf8), with: [0x26])
                Self.replaceAll(&text, Array("&lt;".utf8), with: [0x3C])
                Self.replaceAll(&text, Array("&gt;".utf8), with: [0x3E])
            }
            text.withUnsafeBufferPointer { scratch.set($0) }
            scratch.reserve(scratch.count + 1)
        }
        scratch.pointer[scratch.count] = 0x20
        scratch.count += 1
        regularExpressionPasses()
    }

    /// Python's `str.replace(old, new)`: every non-overlapping occurrence, left to right.
    static func replaceAll(_ text: inout [UInt8], _ old: [UInt8], with new: [UInt8]) {
        guard text.count >= old.count else { return }
        var out: [UInt8] = []
        var changed = false
        text.withUnsafeBufferPointer { t in
            var index = 0
            let first = old[0]
            while index < t.count {
                if t[index] == first && index + old.count <= t.count {
                    var match = true
                    for k in 1..<old.count where t[index + k] != old[k] {
                        match = false
                        break
                    }
                    if match {
                        if !changed {
                            out.reserveCapacity(t.count)
                            out.append(contentsOf: t[0..<index])
                            changed = true
                        }
                        out.append(contentsOf: new)
                        index += old.count
                        continue
                    }
                }
                if changed { out.append(t[index]) }
                index += 1
            }
        }
        if changed { text = out }
    }

    /// sacreBLEU's `TokenizerRegexp` (shared by 13a and zh) on `scratch`, leaving the result in
    /// `bytes`.
    ///
    /// Each pass is one `re.sub` with a two-character pattern, scanned left to right without
    /// overlap. Every pass only puts spaces around some characters, so each is written as "copy
    /// the runs between those characters, add a space on each side":
    /// 1. `([\{-\~\[-\` -\&\(-\+\:-\@\/])` -> ` \1 `: around ASCII punctuation except `' , - .`
    ///    (a space itself stays one space: more spaces would split into the same words).
    /// 2. `([^0-9])([\.,])` -> `\1 \2 `: around `.`/`,` after a non-digit, unless that non-digit
    ///    is a `.`/`,` the previous match consumed.
    /// 3. `([\.,])([^0-9])` -> ` \1 \2`: around `.`/`,` before a non-digit, unless the previous
    ///    match consumed it.
    /// 4. `([0-9])(-)` -> `\1 \2 `: around `-` after a digit.
    /// Working on bytes gives the same result as on code points: every character the patterns
    /// name is ASCII, and a non-ASCII character is never one of them.
    private func regularExpressionPasses() {
        // 1.
        var n = scratch.count
        bytes.reserve(3 * n)
        var o = Self.spaceAround(scratch.pointer, n, into: bytes.pointer, pass: 1)
        bytes.count = o
        // 2.
        n = o
        scratch.reserve(3 * n)
        o = Self.spaceAround(bytes.pointer, n, into: scratch.pointer, pass: 2)
        scratch.count = o
        // 3.
        n = o
        bytes.reserve(3 * n)
        o = Self.spaceAround(scratch.pointer, n, into: bytes.pointer, pass: 3)
        bytes.count = o
        // 4.
        n = o
        scratch.reserve(3 * n)
        o = Self.spaceAround(bytes.pointer, n, into: scratch.pointer, pass: 4)
        scratch.count = o
        swap(&scratch.count, &bytes.count)
        bytes.swapStorage(with: scratch)
    }

    /// Per byte value, the passes (bit 1 << pass) that may put spaces around it.
    private static let candidates: [UInt8] = (0..<256).map { b in
        var bits: UInt8 = 0
        if b < 0x80 && b != 0x20 && isSeparatedPunctuation[b] { bits |= 1 << 1 }
        if b == 0x2E || b == 0x2C { bits |= 1 << 2 | 1 << 3 }
        if b == 0x2D { bits |= 1 << 4 }
        return bits
    }

    /// Copies `input[0..<count]` to `output` with a space before and after each character that
    /// pass `pass` (1–4, see `regularExpressionPasses`) matches. Returns the output length.
    private static func spaceAround(
        _ input: UnsafeMutablePointer<UInt8>, _ count: Int, into output: UnsafeMutablePointer<UInt8>, pass: Int
    ) -> Int {
        let bit = UInt8(1) << UInt8(pass)
        var o = 0
        var copied = 0
        var previous = -2
        candidates.withUnsafeBufferPointer { table in
            for p in 0..<count where table[Int(input[p])] & bit != 0 {
                let matched: Bool
                switch pass {
                case 1: matched = true
                case 2: matched = p >= 1 && !isDigit(input[p - 1]) && previous != p - 1
                case 3: matched = p + 1 < count && !isDigit(input[p + 1]) && previous != p - 1
                default: matched = p >= 1 && isDigit(input[p - 1])
                }
                guard matched else { continue }
                let run = p - copied
                if run > 0 { (output + o).update(from: input + copied, count: run) }
                o += run
                output[o] = 0x20
                output[o + 1] = input[p]
                output[o + 2] = 0x20
                o += 3
                copied = p + 1
                previous = p
            }
        }
        let run = count - copied
        if run > 0 { (output + o).update(from: input + copied, count: run) }
        return o + run
    }

    /// The ASCII characters of pass 1's class: `{|}~`, ``[\]^_` ``, space to `&`, `(` to `+`,
    /// `:` to `@`, and `/`.
    private static let isSeparatedPunctuation: [Bool] = (0..<128).map { b in
        (0x7B...0x7E).contains(b) || (0x5B...0x60).contains(b) || (0x20...0x26).contains(b)
            || (0x28...0x2B).contains(b) || (0x3A...0x40).contains(b) || b == 0x2F
    }

    // MARK: - zh

    /// `zh`: strip, put spaces around each CJK character, then 13a's regular-expression passes.
    private func tokenizeChinese(_ line: UnsafeBufferPointer<UInt8>) {
        var start = 0
        while start < line.count {
            let length = PythonText.whitespaceLength(line, start)
            if length == 0 { break }
            start += length
        }
        let end = PythonText.rstripEnd(line, start, line.count)
        var text: [UInt8] = []
        text.reserveCapacity(2 * (end - start))
        var index = start
        while index < end {
            let width = utf8Width(line[index])
            if width >= 3 && Self.isChineseCharacter(decodeScalar(line, index, width)) {
                text.append(0x20)
                text.append(contentsOf: line[index..<index + width])
                text.append(0x20)
            } else {
                text.append(contentsOf: line[index..<index + width])
            }
            index += width
        }
        text.withUnsafeBufferPointer { scratch.set($0) }
        regularExpressionPasses()
    }

    /// sacreBLEU's `_is_chinese_char`, including the effect of its ranges written `u'\u20000'`
    /// and `u'\u2f800'`: Python reads those as two characters (U+2000 followed by `0`), and the
    /// string comparison then makes the ranges U+2001–U+2A6D and U+2F81–U+2FA1. The first covers
    /// general punctuation (dashes, curly quotes), currency and arrows, so `zh` splits those too.
    static func isChineseCharacter(_ c: UInt32) -> Bool {
        switch c {
        case 0x3400...0x4DB5, 0x4E00...0x9FA5, 0x9FA6...0x9FBB, 0xF900...0xFA2D, 0xFA30...0xFA6A,
            0xFA70...0xFAD9, 0x2001...0x2A6D, 0x2F81...0x2FA1, 0xFF00...0xFFEF, 0x2E80...0x2EFF,
            0x3000...0x303F, 0x31C0...0x31EF, 0x2F00...0x2FDF, 0x2FF0...0x2FFF, 0x3100...0x312F,
            0x31A0...0x31BF, 0xFE10...0xFE1F, 0xFE30...0xFE4F, 0x2600...0x26FF, 0x2700...0x27BF,
            0x3200...0x32FF, 0x3300...0x33FF:
            return true
        default:
            return false
        }
    }

    // MARK: - intl

    /// mteval-v14 international: on code points,
    /// `(\P{N})(\p{P})` -> `\1 \2 `, then `(\p{P})(\P{N})` -> ` \1 \2`, then `(\p{S})` -> ` \1 `,
    /// then split on whitespace.
    private func tokenizeInternational(_ line: UnsafeBufferPointer<UInt8>) {
        scalars.removeAll(keepingCapacity: true)
        var index = 0
        while index < line.count {
            let width = utf8Width(line[index])
            scalars.append(decodeScalar(line, index, width))
            index += width
        }
        let space: UInt32 = 0x20
        // 1. (\P{N})(\p{P}) -> '\1 \2 '
        scalarScratch.removeAll(keepingCapacity: true)
        var i = 0
        var n = scalars.count
        while i < n {
            let x = scalars[i]
            if i + 1 < n, !UnicodeClass.isNumber(x), UnicodeClass.isPunctuation(scalars[i + 1]) {
                scalarScratch.append(x)
                scalarScratch.append(space)
                scalarScratch.append(scalars[i + 1])
                scalarScratch.append(space)
                i += 2
            } else {
                scalarScratch.append(x)
                i += 1
            }
        }
        // 2. (\p{P})(\P{N}) -> ' \1 \2'
        scalars.removeAll(keepingCapacity: true)
        i = 0
        n = scalarScratch.count
        while i < n {
            let x = scalarScratch[i]
            if i + 1 < n, UnicodeClass.isPunctuation(x), !UnicodeClass.isNumber(scalarScratch[i + 1]) {
                scalars.append(space)
                scalars.append(x)
                scalars.append(space)
                scalars.append(scalarScratch[i + 1])
                i += 2
            } else {
                scalars.append(x)
                i += 1
            }
        }
        // 3. (\p{S}) -> ' \1 ', fused with splitting into words and encoding back to UTF-8.
        var out: [UInt8] = []
        out.reserveCapacity(4 * scalars.count)
        tokens.count = 0
        var wordStart = -1
        for x in scalars {
            if PythonText.isWhitespace(x) {
                if wordStart >= 0 {
                    tokens.append(wordStart, out.count)
                    wordStart = -1
                }
            } else if UnicodeClass.isSymbol(x) {
                if wordStart >= 0 {
                    tokens.append(wordStart, out.count)
                    wordStart = -1
                }
                let tokenStart = out.count
                appendUTF8(x, to: &out)
                tokens.append(tokenStart, out.count)
            } else {
                if wordStart < 0 { wordStart = out.count }
                appendUTF8(x, to: &out)
            }
        }
        if wordStart >= 0 { tokens.append(wordStart, out.count) }
        out.withUnsafeBufferPointer { bytes.set($0) }
    }
}

// MARK: - UTF-8 helpers

@inline(__always)
func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

/// The length of the UTF-8 sequence that starts with `lead`.
@inline(__always)
func utf8Width(_ lead: UInt8) -> Int {
    if lead < 0x80 { return 1 }
    if lead < 0xE0 { return 2 }
    if lead < 0xF0 { return 3 }
    return 4
}

@inline(__always)
func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, _ width: Int) -> UInt32 {
    let lead = UInt32(bytes[index])
    switch width {
    case 1: return lead
    case 2: return (lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F)
    case 3:
        return (lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F)
    default:
        return (lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12
            | UInt32(bytes[index + 2] & 0x3F) << 6 | UInt32(bytes[index + 3] & 0x3F)
    }
}

@inline(__always)
func appendUTF8(_ scalar: UInt32, to bytes: inout [UInt8]) {
    if scalar < 0x80 {
        bytes.append(UInt8(scalar))
    } else if scalar < 0x800 {
        bytes.append(UInt8(0xC0 | scalar >> 6))
        bytes.append(UInt8(0x80 | scalar & 0x3F))
    } else if scalar < 0x10000 {
        bytes.append(UInt8(0xE0 | scalar >> 12))
        bytes.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
        bytes.append(UInt8(0x80 | scalar & 0x3F))
    } else {
        bytes.append(UInt8(0xF0 | scalar >> 18))
        bytes.append(UInt8(0x80 | (scalar >> 12) & 0x3F))
        bytes.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
        bytes.append(UInt8(0x80 | scalar & 0x3F))
    }
}

/// Fast membership in the `intl` classes: a table for the Basic Multilingual Plane, binary search
/// in `UnicodeTables` above it.
enum UnicodeClass {
    private static let numberBit: UInt8 = 1
    private static let punctuationBit: UInt8 = 2
    private static let symbolBit: UInt8 = 4

    private static let basicPlane: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for (bit, ranges) in [
            (numberBit, UnicodeTables.number), (punctuationBit, UnicodeTables.punctuation),
            (symbolBit, UnicodeTables.symbol),
        ] {
            for range in ranges where range.lowerBound < 0x10000 {
                for c in range.lowerBound...min(range.upperBound, 0xFFFF) { table[Int(c)] |= bit }
            }
        }
        return table
    }()

    private static func contains(_ ranges: [ClosedRange<UInt32>], _ c: UInt32) -> Bool {
        var low = 0
        var high = ranges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if c < ranges[mid].lowerBound {
                high = mid - 1
            } else if c > ranges[mid].upperBound {
                low = mid + 1
            } else {
                return true
            }
        }
        return false
    }

    static func isNumber(_ c: UInt32) -> Bool {
        c < 0x10000 ? basicPlane[Int(c)] & numberBit != 0 : contains(UnicodeTables.number, c)
    }

    static func isPunctuation(_ c: UInt32) -> Bool {
        c < 0x10000 ? basicPlane[Int(c)] & punctuationBit != 0 : contains(UnicodeTables.punctuation, c)
    }

    static func isSymbol(_ c: UInt32) -> Bool {
        c < 0x10000 ? basicPlane[Int(c)] & symbolBit != 0 : contains(UnicodeTables.symbol, c)
    }
}
