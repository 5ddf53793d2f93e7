import Foundation
import TestSupport
import Testing

@testable import CLI

@Suite("Atomic file writes")
struct AtomicFileTests {
    @Test("the new contents replace the old, and no temporary file is left")
    func replaces() throws {
        let folder = try TemporaryDirectory()
        let path = try folder.write("config.json", "old")
        try AtomicFile.write(Data("new".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["config.json"])
    }

    @Test("a folder that does not exist gives one error naming the target")
    func missingFolder() throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("nope/config.json")
        #expect(throws: RuntimeError("\(path): cannot create (is the folder writable?)")) {
            try AtomicFile.write(Data("x".utf8), to: path)
        }
    }
}
