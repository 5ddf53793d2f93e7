import Foundation

/// Reading line-oriented UTF-8 text the way every command here does: whole files for corpora and
/// references, one line at a time for streams; errors name the file and the line.
public enum TextFile {
    /// The lines of a UTF-8 file, without their `\n` (a final line without `\n` counts; a file
    /// ending in `\n` has no extra empty line; `\r\n` is left as it is).
    ///
    /// - Parameter displayName: how errors name the file (default: the path).
    /// - Throws: `RuntimeError` for a missing or unreadable file and for invalid UTF-8, naming
    ///   the file and the 1-based line.
    public static func readLines(atPath path: String, displayName: String? = nil) throws -> [String] {
        let name = displayName ?? path
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                throw RuntimeError("\(name): no such file")
            }
            throw RuntimeError(isDirectory.boolValue ? "\(name): is a directory" : "\(name): cannot read")
        }
        return try splitLines(data, name: name)
    }

    /// The lines of standard input, read to its end.
    public static func readStandardInputLines() throws -> [String] {
        try splitLines(FileHandle.standardInput.readDataToEndOfFile(), name: "<stdin>")
    }

    /// Splits UTF-8 bytes into lines, validating each.
    public static func splitLines(_ data: Data, name: String) throws -> [String] {
        var lines: [String] = []
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var lineStart = 0
            var lineNumber = 1
            let count = bytes.count
            while lineStart < count {
                var end = lineStart
                while end < count && bytes[end] != 0x0A { end += 1 }
                let slice = UnsafeBufferPointer(rebasing: bytes[lineStart..<end])
                guard let line = String(validating: slice, as: UTF8.self) else {
                    throw RuntimeError("\(name): line \(lineNumber): invalid UTF-8")
                }
                lines.append(line)
                lineStart = end + 1
                lineNumber += 1
            }
        }
        return lines
    }
}

/// Reads a byte stream line by line without waiting for its end, so a pipe can be answered line by
/// line. Lines come back as raw bytes; `TextFile.decode` validates them.
public final class LineReader {
    private let fileDescriptor: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    public init(fileDescriptor: Int32 = 0) {
        self.fileDescriptor = fileDescriptor
    }

    /// Whether `nextLine()` can return a line without reading again: a whole line is already buffered,
    /// or the input has ended with bytes left. A reader answering a pipe takes the lines that are
    /// here and translates them together, without waiting for lines that have not been written yet.
    public var hasBufferedLine: Bool {
        buffer[start...].contains(0x0A) || (atEnd && start < buffer.count)
    }

    /// The next line without its `\n`, or `nil` at end of input.
    public func nextLine() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress, $0.count) }
            if count <= 0 {
                atEnd = true
            } else {
                buffer.append(contentsOf: chunk[0..<count])
            }
        }
    }
}

extension TextFile {
    /// A line's bytes as a String, or `nil` when they are not valid UTF-8.
    public static func decode(_ bytes: [UInt8]) -> String? {
        String(validating: bytes, as: UTF8.self)
    }
}
