import Foundation
import Seq2Seq

/// How the gradients of a model are cut into all-reduce calls: large gradients are reduced in
/// place in their own storage (in slices of at most `bucketElements`), small ones are packed
/// together into a staging bucket of at most `bucketElements`, reduced in place there and copied
/// back. Fewer, larger calls pay the per-call latency less often; reducing in place needs no
/// second buffer.
struct GradientBuckets: Equatable {
    /// One all-reduce call.
    enum Bucket: Equatable {
        /// `range` of parameter `parameter`'s gradient, reduced where it lies.
        case inPlace(parameter: Int, range: Range<Int>)
        /// Whole gradients of these parameters, packed one after another.
        case packed(parameters: [Int], elements: Int)
    }

    /// Floats per call at most: 4 Mi (16 MiB).
    static let defaultBucketElements = 1 << 22
    /// Gradients at least this large (64 Ki floats, 256 KiB) are reduced in place, not copied.
    static let defaultInPlaceElements = 1 << 16

    let buckets: [Bucket]

    /// Plans the calls for gradients of `sizes` elements, in parameter order.
    init(
        sizes: [Int], bucketElements: Int = defaultBucketElements,
        inPlaceElements: Int = defaultInPlaceElements
    ) {
        precondition(bucketElements > 0 && inPlaceElements > 0, "GradientBuckets: sizes must be positive")
        var buckets: [Bucket] = []
        var pending: [Int] = [], pendingElements = 0
        func flush() {
            if !pending.isEmpty { buckets.append(.packed(parameters: pending, elements: pendingElements)) }
            pending = []
            pendingElements = 0
        }
        for (index, size) in sizes.enumerated() where size > 0 {
            if size >= inPlaceElements {
                var start = 0
                while start < size {
                    let end = min(start + bucketElements, size)
                    buckets.append(.inPlace(parameter: index, range: start..<end))
                    start = end
                }
                continue
            }
            if pendingElements + size > bucketElements { flush() }
            pending.append(index)
            pendingElements += size
        }
        flush()
        self.buckets = buckets
    }

    /// The largest packed bucket: the staging buffer's size.
    var stagingElements: Int {
        buckets.reduce(0) { largest, bucket in
            if case .packed(_, let elements) = bucket { return max(largest, elements) }
            return largest
        }
    }

    /// Sums the gradients of `parameters` over the ranks of `communicator`, in place.
    func allReduce(_ parameters: [Parameter], staging: inout [Float], over communicator: Communicator) throws {
        if staging.count < stagingElements { staging = [Float](repeating: 0, count: stagingElements) }
        for bucket in buckets {
            switch bucket {
            case .inPlace(let index, let range):
                try parameters[index].gradient.withUnsafeMutableBufferPointer { gradient in
                    try communicator.allReduceSum(UnsafeMutableBufferPointer(rebasing: gradient[range]))
                }
            case .packed(let indices, let elements):
                try staging.withUnsafeMutableBufferPointer { buffer in
                    var offset = 0
                    for index in indices {
                        parameters[index].gradient.withUnsafeBufferPointer { gradient in
                            _ = UnsafeMutableBufferPointer(rebasing: buffer[offset..<offset + gradient.count])
                                .update(fromContentsOf: gradient)
                            offset += gradient.count
                        }
                    }
                    try communicator.allReduceSum(UnsafeMutableBufferPointer(rebasing: buffer[0..<elements]))
                    offset = 0
                    for index in indices {
                        parameters[index].gradient.withUnsafeMutableBufferPointer { gradient in
                            _ = gradient.update(
                                fromContentsOf: UnsafeMutableBufferPointer(rebasing: buffer[offset..<offset + gradient.count]))
                            offset += gradient.count
                        }
                    }
                }
            }
        }
    }
}
