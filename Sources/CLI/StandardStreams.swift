import Foundation

/// Writes text to stdout. Results go here, and nothing else.
public func writeStandardOutput(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Writes text to stderr: logs, progress, warnings and errors.
public func writeStandardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

/// Whether a file descriptor is a terminal (progress bars redraw there; pipes get plain lines).
public func isTerminal(_ fileDescriptor: Int32) -> Bool {
    isatty(fileDescriptor) != 0
}
