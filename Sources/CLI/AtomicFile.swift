import Foundation

/// Writing files so that a reader never sees half of one: write to a temporary name in the same
/// folder, flush it to disk, then rename it over the target (rename is atomic on POSIX).
///
/// A kill or a full disk at any moment leaves either the old file or the new one, never a mix;
/// on failure the temporary file is removed and the error names the target.
public enum AtomicFile {
    /// Throws the error `write(_:to:)` would give for a target whose folder is missing or not writable, or
    /// that is a folder itself: for commands that write their output at the end of long work, to fail first.
    public static func checkWritable(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw RuntimeError("\(path): is a directory")
        }
        let folder = (path as NSString).deletingLastPathComponent
        guard access(folder.isEmpty ? "." : folder, W_OK | X_OK) == 0 else {
            throw RuntimeError("\(path): cannot create (is the folder writable?)")
        }
    }

    public static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporary)
        else {
            throw RuntimeError("\(path): cannot create (is the folder writable?)")
        }
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            unlink(temporary)
            throw RuntimeError("\(path): write failed (\(error.localizedDescription))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw RuntimeError("\(path): cannot replace (\(reason))")
        }
    }
}
