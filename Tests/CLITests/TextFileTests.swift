import Foundation
import TestSupport
import Testing

@testable import CLI

@Suite("Reading text files")
struct TextFileTests {
    @Test("lines split on \\n; a final newline adds no empty line; empty lines are kept")
    func splitting() throws {
        #expect(try TextFile.splitLines(Data("a\n\nb\n".utf8), name: "f") == ["a", "", "b"])
        #expect(try TextFile.splitLines(Data("a\nb".utf8), name: "f") == ["a", "b"])
        #expect(try TextFile.splitLines(Data(), name: "f") == [])
        #expect(try TextFile.splitLines(Data("\n".utf8), name: "f") == [""])
    }

    @Test("invalid UTF-8 names the file and the line")
    func invalidUTF8() {
        let bytes = Data("ok\nfine\n".utf8) + Data([0x66, 0xC3, 0x28, 0x0A])
        #expect(throws: RuntimeError("hyp.txt: line 3: invalid UTF-8")) {
            try TextFile.splitLines(bytes, name: "hyp.txt")
        }
    }

    @Test("a missing file and a directory give one clear error")
    func missing() throws {
        let folder = try TemporaryDirectory()
        #expect(throws: RuntimeError("\(folder.path("nope.txt")): no such file")) {
            try TextFile.readLines(atPath: folder.path("nope.txt"))
        }
        #expect(throws: RuntimeError("\(folder.url.path): is a directory")) {
            try TextFile.readLines(atPath: folder.url.path)
        }
    }

    @Test("the stream reader returns lines as they come, including a last one without \\n")
    func streaming() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let reader = LineReader(fileDescriptor: fds[0])
        _ = "one\ntw".withCString { write(fds[1], $0, 6) }
        #expect(reader.nextLine() == Array("one".utf8))
        _ = "o\nthree".withCString { write(fds[1], $0, 7) }
        close(fds[1])
        #expect(reader.nextLine() == Array("two".utf8))
        #expect(reader.nextLine() == Array("three".utf8))
        #expect(reader.nextLine() == nil)
        close(fds[0])
    }
}
