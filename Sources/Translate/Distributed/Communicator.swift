import CLI
import Foundation

/// The collectives data-parallel training needs, over the ranks of one job.
///
/// Every rank calls the same collectives in the same order; each call returns on a rank once that
/// rank's share is done. ``MPICommunicator`` is the real one; tests supply their own.
protocol Communicator: AnyObject {
    /// This process's rank, from 0.
    var rank: Int { get }
    /// Ranks in the job.
    var size: Int { get }
    /// Replaces `buffer` on every rank by the element-wise sum over the ranks.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `values` on every rank by the element-wise sum (or maximum) over the ranks.
    func allReduce(_ values: inout [Double], _ operation: ReduceOperation) throws
    /// Every rank's `value`, indexed by rank.
    func allGather(_ value: UInt64) throws -> [UInt64]
    /// Copies `buffer` of rank `root` into `buffer` of every other rank.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
}

/// How ``Communicator/allReduce(_:_:)`` combines the ranks' values.
enum ReduceOperation { case sum, maximum }

extension Communicator {
    /// Rank `root`'s bytes on every rank (`data` is only read on `root`).
    func broadcast(_ data: Data, root: Int) throws -> Data {
        var length = [Double(data.count)]
        if rank != root { length[0] = 0 }
        try allReduce(&length, .maximum)
        var bytes = rank == root ? [UInt8](data) : [UInt8](repeating: 0, count: Int(length[0]))
        try bytes.withUnsafeMutableBytes { try broadcast($0, root: root) }
        return Data(bytes)
    }

    /// Rank `root`'s tensor storage on every rank, in place, in chunks MPI's `int` counts can hold.
    func broadcast(_ scalars: inout [Float], root: Int) throws {
        let chunk = 1 << 28
        try scalars.withUnsafeMutableBytes { raw in
            var start = 0
            while start < raw.count {
                let end = min(start + chunk, raw.count)
                try broadcast(UnsafeMutableRawBufferPointer(rebasing: raw[start..<end]), root: root)
                start = end
            }
        }
    }
}

/// `MPI_COMM_WORLD` of an Open MPI job, through ``MPILibrary``.
final class MPICommunicator: Communicator {
    let library: MPILibrary
    let rank: Int
    let size: Int

    /// Loads Open MPI and calls `MPI_Init_thread`.
    init() throws {
        library = try MPILibrary()
        try library.initialize()
        (rank, size) = try library.worldRankAndSize()
    }

    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        try library.allReduceInPlace(UnsafeMutableRawPointer(base), count: buffer.count, type: library.float, op: library.sum)
    }

    func allReduce(_ values: inout [Double], _ operation: ReduceOperation) throws {
        let op = operation == .sum ? library.sum : library.max
        let count = values.count
        try values.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress, count > 0 else { return }
            try library.allReduceInPlace(base, count: count, type: library.double, op: op)
        }
    }

    func allGather(_ value: UInt64) throws -> [UInt64] {
        var input = value
        var output = [UInt64](repeating: 0, count: size)
        try output.withUnsafeMutableBytes { out in
            try library.allGather(&input, into: out.baseAddress!, count: 1, type: library.uint64)
        }
        return output
    }

    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        try library.broadcastBytes(buffer.baseAddress, count: buffer.count, root: root)
    }

    /// Ends MPI on this rank; call once, after the last collective, on every rank.
    func finalize() throws { try library.finalize() }
}
