import Foundation

/// The package's root folder (the one holding Package.swift).
public let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The project's shared folder beside the repository (real data, fixtures, design notes).
public let sharedRoot: URL = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")

/// A file under the shared data folder, e.g. `sharedData("multi30k/test2016.en")`.
public func sharedData(_ relativePath: String) -> URL {
    sharedRoot.appendingPathComponent("data").appendingPathComponent(relativePath)
}

/// What a finished process left behind.
public struct ToolResult: Sendable {
    public let status: Int32
    public let standardOutput: String
    public let standardError: String
}

/// The folder holding the built executables: the test bundle is built beside them.
public let productsDirectory: URL = URL(fileURLWithPath: "/proc/self/exe")
    .resolvingSymlinksInPath().deletingLastPathComponent()

/// Runs a built executable of this package (`translate`, `bleu`) to its end.
///
/// - Parameters:
///   - input: bytes for its standard input (empty input when `nil`).
///   - currentDirectory: where it runs (default: a fresh temporary folder is not made; the caller's).
public func runTool(
    _ name: String, _ arguments: [String], input: Data? = nil, currentDirectory: URL? = nil
) throws -> ToolResult {
    try runProcess(
        productsDirectory.appendingPathComponent(name), arguments, input: input,
        currentDirectory: currentDirectory)
}

/// Runs any executable to its end, capturing stdout and stderr through files (no pipe deadlock).
public func runProcess(
    _ executable: URL, _ arguments: [String], input: Data? = nil, currentDirectory: URL? = nil
) throws -> ToolResult {
    let scratch = try TemporaryDirectory()
    let outURL = scratch.url.appendingPathComponent("stdout")
    let errURL = scratch.url.appendingPathComponent("stderr")
    let inURL = scratch.url.appendingPathComponent("stdin")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: inURL.path, contents: input ?? Data())
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    let inp = try FileHandle(forReadingFrom: inURL)
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inp
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    try inp.close()
    return ToolResult(
        status: process.terminationStatus,
        standardOutput: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
        standardError: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// A temporary folder removed when the value is released.
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("translate-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Writes `contents` to a file in the folder and returns its path.
    @discardableResult
    public func write(_ name: String, _ contents: String) throws -> String {
        try write(name, Data(contents.utf8))
    }

    /// Writes raw bytes to a file in the folder and returns its path.
    @discardableResult
    public func write(_ name: String, _ contents: Data) throws -> String {
        let fileURL = url.appendingPathComponent(name)
        try contents.write(to: fileURL)
        return fileURL.path
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
