/// Exit statuses shared by every tool in the package.
public enum ExitStatus {
    public static let success: Int32 = 0
    /// A runtime failure: a missing file, a corrupt model, a full disk.
    public static let failure: Int32 = 1
    /// The command line was wrong (BSD's EX_USAGE, as swift-argument-parser uses).
    public static let usage: Int32 = 64
}

/// The command line itself is wrong: unknown command or option, a missing or out-of-range value.
///
/// Reported as one `error: ...` line followed by the usage, with exit status 64.
public struct UsageError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Work failed at run time. Reported as one `error: ...` line with exit status 1.
///
/// The message names what failed: the file, the line, the flag.
public struct RuntimeError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Ends the command with a given status and no further message (the command has said what it
/// had to), e.g. 130 after Ctrl-C stopped training cleanly.
public struct ExitRequest: Error, Equatable {
    public let status: Int32
    public init(status: Int32) { self.status = status }
}
