import Foundation

#if !_endian(little)
    #error("SafeTensors assumes a little-endian host")
#endif

/// A safetensors file: named tensors, as PyTorch's `safetensors` library writes and reads them.
///
/// Layout: an 8-byte little-endian header length `N`, `N` bytes of JSON mapping each name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the data block) plus an optional
/// `"__metadata__"` map of strings, then the raw little-endian data. This type reads `F32`, `F16`,
/// `BF16` (widened to `Float`) and `I64`, and writes `F32` or `F16` (with 8-byte header padding, as
/// the reference writer does). Half precision halves a shipped model's size; computation stays `Float`.
public struct SafeTensors {
    /// The element types this code understands.
    public enum DType: String, Sendable {
        case float32 = "F32"
        case float16 = "F16"
        case bfloat16 = "BF16"
        case int64 = "I64"

        var size: Int {
            switch self {
            case .float16, .bfloat16: 2
            case .float32: 4
            case .int64: 8
            }
        }

        /// Whether `tensor(_:)` reads it (as `Float`).
        var isFloatingPoint: Bool { self != .int64 }
    }

    /// Where one tensor lives in the file.
    public struct Entry: Sendable {
        public let dtype: String
        public let shape: [Int]
        let range: Range<Int>  // byte range in `data`
    }

    /// Free-form string metadata (`__metadata__`).
    public let metadata: [String: String]
    /// Entries by name.
    public let entries: [String: Entry]
    private let data: Data
    private let path: String

    /// The names of all tensors, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Reads and validates a file (the header, and that every tensor's bytes fit its dtype and shape).
    /// - Throws: `Seq2SeqError.io` if the file cannot be read, `.corruptCheckpoint` if it is malformed.
    public init(contentsOf path: String) throws(Seq2SeqError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
            throw .io(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(data: data, path: path)
    }

    /// Parses a file's bytes; `path` only names it in errors.
    public init(data: Data, path: String = "<memory>") throws(Seq2SeqError) {
        func corrupt(_ reason: String) -> Seq2SeqError { .corruptCheckpoint(path: path, reason: reason) }
        guard data.count >= 8 else { throw corrupt("shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else { throw corrupt("header length \(headerLength) exceeds the file") }
        let start = data.startIndex + 8
        let headerBytes = data[start..<(start + Int(headerLength))]
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes), let header = json as? [String: Any] else {
            throw corrupt("header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw corrupt("__metadata__ is not an object") }
                for (key, item) in map {
                    guard let text = item as? String else { throw corrupt("metadata '\(key)' is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }), offsets.count == 2,
                shape.count == (info["shape"] as? [Any])?.count
            else { throw corrupt("entry '\(name)' lacks dtype, shape or data_offsets") }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataLength else {
                throw corrupt("entry '\(name)' has shape \(shape) and offsets \(offsets) outside the \(dataLength) data bytes")
            }
            if let type = DType(rawValue: dtype), offsets[1] - offsets[0] != shape.reduce(1, *) * type.size {
                throw corrupt("entry '\(name)': \(offsets[1] - offsets[0]) bytes for \(dtype) \(shape)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        }
        self.entries = entries
        self.metadata = metadata
        self.data = data
        self.path = path
    }

    private func entry(_ name: String, _ accepts: (DType) -> Bool) throws(Seq2SeqError) -> (Entry, DType) {
        guard let entry = entries[name] else { throw .missingTensor(name: name) }
        guard let type = DType(rawValue: entry.dtype), accepts(type) else {
            throw .unsupportedType(name: name, dtype: entry.dtype)
        }
        return (entry, type)
    }

    /// The floating-point tensor `name` (`F32`, or `F16`/`BF16` widened exactly to `Float`).
    /// - Throws: `.missingTensor`, or `.unsupportedType` if it is not floating-point.
    public func tensor(_ name: String) throws(Seq2SeqError) -> Tensor {
        let (entry, type) = try entry(name) { $0.isFloatingPoint }
        let count = entry.shape.reduce(1, *)
        let scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            data.withUnsafeBytes { raw in
                // The file is little-endian, like every host this package targets (x86-64, arm64).
                let bytes = UnsafeRawBufferPointer(rebasing: raw[entry.range])
                switch type {
                case .float32: UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
                case .float16:
                    for i in 0..<count { buffer[i] = Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                case .bfloat16:
                    // bfloat16 is the top half of a float32's bits.
                    for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
                case .int64: preconditionFailure("not floating-point")
                }
            }
            initialized = count
        }
        return Tensor(shape: entry.shape, scalars: scalars)
    }

    /// The `I64` tensor `name` as a shape and its values.
    /// - Throws: `.missingTensor`, or `.unsupportedType` if it is not `I64`.
    public func integers(_ name: String) throws(Seq2SeqError) -> (shape: [Int], values: [Int]) {
        let (entry, _) = try entry(name) { $0 == .int64 }
        let count = entry.shape.reduce(1, *)
        let values = data.withUnsafeBytes { raw in
            (0..<count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: entry.range.lowerBound + 8 * $0, as: Int64.self))) }
        }
        return (entry.shape, values)
    }

    /// Every floating-point tensor by name, as `Float` (entries of other dtypes are skipped).
    public func floatTensors() throws(Seq2SeqError) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, entry) in entries where DType(rawValue: entry.dtype)?.isFloatingPoint == true { result[name] = try tensor(name) }
        return result
    }

    /// The element types `encode` writes.
    public enum StorageType: String, Sendable, CaseIterable {
        case float32 = "F32"
        /// IEEE half precision, each value rounded to nearest-even (values beyond ±65504 become ±infinity).
        case float16 = "F16"

        var size: Int { self == .float32 ? 4 : 2 }
    }

    /// The bytes of a safetensors file holding `tensors` as `storage` (default `F32`), names sorted,
    /// with `metadata`.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:], storage: StorageType = .float32) -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let tensor = tensors[name]!
            let end = offset + storage.size * tensor.count
            header[name] = ["dtype": storage.rawValue, "shape": tensor.shape, "data_offsets": [offset, end]] as [String: Any]
            offset = end
        }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        // Pad with spaces so that the data block starts 8-byte aligned, as the reference writer does.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var file = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { file.append(contentsOf: $0) }
        file.append(json)
        for name in names {
            // Little-endian host (x86-64, arm64): the in-memory bytes are the file's bytes.
            switch storage {
            case .float32:
                tensors[name]!.scalars.withUnsafeBytes { file.append(contentsOf: $0) }
            case .float16:
                tensors[name]!.scalars.map { Float16($0).bitPattern }.withUnsafeBytes { file.append(contentsOf: $0) }
            }
        }
        return file
    }

    /// Writes `tensors` to `path` atomically (a temporary file renamed over the target).
    /// - Throws: `Seq2SeqError.io` when the file cannot be written.
    public static func write(
        _ tensors: [String: Tensor], metadata: [String: String] = [:], storage: StorageType = .float32, to path: String
    ) throws(Seq2SeqError) {
        do { try encode(tensors, metadata: metadata, storage: storage).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .io(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
