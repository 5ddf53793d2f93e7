import Foundation

/// Number and string formatting with the exact output of Python's `f"{x:.3f}"`, `repr(float)`
/// and `json.dumps(..., ensure_ascii=False)`, so our lines and JSON are byte-identical to
/// sacreBLEU's.
public enum PythonFormat {
    /// `f"{value:.{digits}f}"`: correctly rounded (ties to even on the binary value), as glibc's
    /// `printf` also rounds.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = withVaList([Int32(digits), value]) { arguments in
            vsnprintf(&buffer, buffer.count, "%.*f", arguments)
        }
        if count >= buffer.count {
            buffer = [CChar](repeating: 0, count: Int(count) + 1)
            _ = withVaList([Int32(digits), value]) { vsnprintf(&buffer, buffer.count, "%.*f", $0) }
        }
        return cString(buffer)
    }

    /// `repr(value)` for a float, as `json.dumps` writes it: the shortest digits that read back
    /// to the same double, fixed notation from 1e-4 up to 1e16 (always with a `.0` when whole),
    /// scientific otherwise (`1e-05`, `1.5e+16`).
    public static func repr(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        // Swift's description uses the same shortest round-trip digits and the same switch to
        // exponent form (below 1e-4 or from 2^53-ish up to 1e16 it stays fixed); normalize the
        // few spelling differences.
        var text = value.description
        if let e = text.firstIndex(of: "e") {
            var mantissa = String(text[..<e])
            var exponent = String(text[text.index(after: e)...])
            if mantissa.hasSuffix(".0") { mantissa.removeLast(2) }
            var sign = "+"
            if exponent.hasPrefix("-") {
                sign = "-"
                exponent.removeFirst()
            } else if exponent.hasPrefix("+") {
                exponent.removeFirst()
            }
            if exponent.count < 2 { exponent = "0" + exponent }
            let magnitude = abs(value)
            if magnitude >= 1e-4 && magnitude < 1e16 {
                // Swift went scientific where Python stays fixed.
                return fixedRepr(value)
            }
            text = mantissa + "e" + sign + exponent
        } else if abs(value) >= 1e16 {
            return scientificRepr(value)
        }
        return text
    }

    private static func fixedRepr(_ value: Double) -> String {
        // Enough digits for any double between 1e-4 and 1e16, then trimmed to the shortest form
        // that round-trips.
        for digits in 0...20 {
            let text = fixed(value, digits)
            if Double(text) == value { return digits == 0 ? text + ".0" : text }
        }
        return fixed(value, 20)
    }

    private static func scientificRepr(_ value: Double) -> String {
        for digits in 0...17 {
            var buffer = [CChar](repeating: 0, count: 64)
            _ = withVaList([Int32(digits), value]) { vsnprintf(&buffer, buffer.count, "%.*e", $0) }
            let text = cString(buffer)
            if Double(text) == value { return text }
        }
        return value.description
    }

    private static func cString(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A JSON string literal as `json.dumps(..., ensure_ascii=False)` writes it.
    public static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
