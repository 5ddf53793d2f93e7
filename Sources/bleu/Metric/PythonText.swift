// Python's notion of whitespace and lowercase, which sacreBLEU's results depend on: `str.split()`,
// `str.rstrip()`, `str.strip()` and `str.lower()` (CPython 3.11, Unicode 14.0).

/// Text operations with exactly the semantics of CPython's `str` methods that sacreBLEU calls.
public enum PythonText {
    /// Whether CPython's `str.isspace()` holds for `scalar`: the characters `str.split()` splits on.
    ///
    /// That is bidirectional class WS, B or S, or general category Zs: the ASCII controls 0x09–0x0D
    /// and 0x1C–0x1F, space, U+0085, NBSP (U+00A0), U+1680, U+2000–U+200A, U+2028, U+2029, U+202F,
    /// U+205F and U+3000. Not the zero-width space (U+200B) and not the BOM (U+FEFF).
    @inlinable
    public static func isWhitespace(_ scalar: UInt32) -> Bool {
        if scalar < 0x80 {
            return scalar == 0x20 || (scalar >= 0x09 && scalar <= 0x0D) || (scalar >= 0x1C && scalar <= 0x1F)
        }
        switch scalar {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// The byte length of the whitespace character starting at `index` in valid UTF-8, or 0 when
    /// the character there is not whitespace.
    @inline(__always)
    static func whitespaceLength(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int {
        let b = bytes[index]
        if b < 0x80 {
            return b == 0x20 || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F) ? 1 : 0
        }
        switch b {
        case 0xC2:  // U+0085, U+00A0
            let c = bytes[index + 1]
            return c == 0x85 || c == 0xA0 ? 2 : 0
        case 0xE1:  // U+1680
            return bytes[index + 1] == 0x9A && bytes[index + 2] == 0x80 ? 3 : 0
        case 0xE2:  // U+2000–U+200A, U+2028, U+2029, U+202F, U+205F
            let c = bytes[index + 1]
            let d = bytes[index + 2]
            if c == 0x80 { return d <= 0x8A || d == 0xA8 || d == 0xA9 || d == 0xAF ? 3 : 0 }
            return c == 0x81 && d == 0x9F ? 3 : 0
        case 0xE3:  // U+3000
            return bytes[index + 1] == 0x80 && bytes[index + 2] == 0x80 ? 3 : 0
        default:
            return 0
        }
    }

    /// The end of `bytes[start..<end]` with trailing whitespace removed (`str.rstrip()`).
    static func rstripEnd(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var end = end
        while end > start {
            // Step back to the first byte of the last character.
            var first = end - 1
            while first > start && bytes[first] & 0xC0 == 0x80 { first -= 1 }
            if whitespaceLength(bytes, first) == end - first {
                end = first
            } else {
                break
            }
        }
        return end
    }

    /// `str.rstrip()`: `text` without trailing whitespace.
    public static func rstrip(_ text: String) -> String {
        var copy = text
        let stripped = copy.withUTF8 { bytes -> String? in
            let end = rstripEnd(bytes, 0, bytes.count)
            return end == bytes.count ? nil : String(decoding: bytes[0..<end], as: UTF8.self)
        }
        return stripped ?? text
    }

    /// `str.strip()`: `text` without leading or trailing whitespace.
    public static func strip(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            var start = 0
            while start < bytes.count {
                let length = whitespaceLength(bytes, start)
                if length == 0 { break }
                start += length
            }
            let end = rstripEnd(bytes, start, bytes.count)
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
    }

    /// `str.split()`: the maximal runs of non-whitespace characters.
    public static func split(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in
            var words: [String] = []
            var index = 0
            var wordStart = -1
            while index < bytes.count {
                let length = whitespaceLength(bytes, index)
                if length > 0 {
                    if wordStart >= 0 {
                        words.append(String(decoding: bytes[wordStart..<index], as: UTF8.self))
                        wordStart = -1
                    }
                    index += length
                } else {
                    if wordStart < 0 { wordStart = index }
                    index += 1
                }
            }
            if wordStart >= 0 { words.append(String(decoding: bytes[wordStart...], as: UTF8.self)) }
            return words
        }
    }

    /// `str.lower()`: full Unicode lowercase mapping, with capital sigma becoming final sigma (ς)
    /// at the end of a word, as CPython does. Characters newer than Unicode 14.0 (the version of
    /// CPython 3.11, which sacreBLEU 2.6.0 was checked against) stay as they are.
    public static func lowercase(_ text: String) -> String {
        var text = text
        let isASCII = text.withUTF8 { bytes in bytes.allSatisfy { $0 < 0x80 } }
        if isASCII {
            return text.withUTF8 { bytes in
                String(unsafeUninitializedCapacity: bytes.count) { output in
                    for index in 0..<bytes.count {
                        let b = bytes[index]
                        output[index] = b >= 0x41 && b <= 0x5A ? b | 0x20 : b
                    }
                    return bytes.count
                }
            }
        }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if scalar.value == 0x3A3 {
                result.append(isFinalSigma(scalars, index) ? "\u{3C2}" : "\u{3C3}")
            } else if scalar.value < 0x80 {
                let v = scalar.value
                result.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(UInt8(v | 0x20)) : scalar)
            } else if let age = scalar.properties.age, age.major > 14 {
                // Assigned after Unicode 14.0, CPython 3.11's version: it leaves these unchanged.
                result.append(scalar)
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(result)
    }

    /// CPython's `handle_capital_sigma`: a cased letter (skipping case-ignorables) before, and no
    /// cased letter (skipping case-ignorables) after.
    private static func isFinalSigma(_ scalars: [Unicode.Scalar], _ index: Int) -> Bool {
        var j = index - 1
        while j >= 0 && scalars[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0 && scalars[j].properties.isCased else { return false }
        j = index + 1
        while j < scalars.count && scalars[j].properties.isCaseIgnorable { j += 1 }
        return j == scalars.count || !scalars[j].properties.isCased
    }
}
