/// Ids of many segmented lines, stored flat: line `i` is `ids[offsets[i] ..< offsets[i + 1]]`.
public struct EncodedBatch: Sendable, Equatable {
    /// Every line's ids, back to back.
    public let ids: [Int32]
    /// `count + 1` offsets into `ids`.
    public let offsets: [Int]

    /// A batch from flat ids and `count + 1` offsets.
    public init(ids: [Int32], offsets: [Int]) {
        precondition(offsets.first == 0 && offsets.last == ids.count, "offsets must span the ids")
        self.ids = ids
        self.offsets = offsets
    }

    /// The number of lines.
    public var count: Int { offsets.count - 1 }

    /// The ids of line `index`.
    public subscript(index: Int) -> ArraySlice<Int32> { ids[offsets[index]..<offsets[index + 1]] }

    /// Every line's ids as `Int`s.
    public var sequences: [[Int]] { (0..<count).map { self[$0].map { Int($0) } } }
}

/// Pieces of many segmented lines, stored flat: piece `j` is `bytes[pieceOffsets[j] ..<
/// pieceOffsets[j + 1]]`
/// (UTF-8), and line `i` holds pieces `lineOffsets[i] ..< lineOffsets[i + 1]`.
public struct PieceBatch: Sendable, Equatable {
    /// Every piece's UTF-8 bytes, back to back.
    public let bytes: [UInt8]
    /// `pieces + 1` offsets into `bytes`.
    public let pieceOffsets: [Int]
    /// `count + 1` offsets into the pieces.
    public let lineOffsets: [Int]

    /// A batch from its flat parts.
    public init(bytes: [UInt8], pieceOffsets: [Int], lineOffsets: [Int]) {
        precondition(
            pieceOffsets.first == 0 && pieceOffsets.last == bytes.count, "pieces must span bytes")
        precondition(
            lineOffsets.first == 0 && lineOffsets.last == pieceOffsets.count - 1,
            "lines must span pieces")
        self.bytes = bytes
        self.pieceOffsets = pieceOffsets
        self.lineOffsets = lineOffsets
    }

    /// A batch of lines of pieces.
    public init(lines: [[String]]) {
        var bytes: [UInt8] = []
        var pieceOffsets = [0]
        var lineOffsets = [0]
        for line in lines {
            for piece in line {
                bytes.append(contentsOf: piece.utf8)
                pieceOffsets.append(bytes.count)
            }
            lineOffsets.append(pieceOffsets.count - 1)
        }
        self.init(bytes: bytes, pieceOffsets: pieceOffsets, lineOffsets: lineOffsets)
    }

    /// The number of lines.
    public var count: Int { lineOffsets.count - 1 }

    /// The UTF-8 bytes of piece `piece` (a global piece index).
    public func pieceBytes(_ piece: Int) -> ArraySlice<UInt8> {
        bytes[pieceOffsets[piece]..<pieceOffsets[piece + 1]]
    }

    /// The pieces of line `index`.
    public subscript(index: Int) -> [String] {
        (lineOffsets[index]..<lineOffsets[index + 1]).map {
            String(decoding: pieceBytes($0), as: UTF8.self)
        }
    }
}
