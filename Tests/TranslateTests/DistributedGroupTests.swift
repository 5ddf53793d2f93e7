import CLI
import Foundation
import Seq2Seq
import TestSupport
import Testing

@testable import translate

/// A stand-in for the other ranks: the all-reduce adds `others` copies of this rank's values (as
/// if every other rank held the same), and the gather answers what the test says.
private final class EchoCommunicator: Communicator {
    let rank: Int
    let size: Int
    var gathered: [UInt64]? = nil
    private(set) var calls: [Int] = []

    init(rank: Int = 0, size: Int = 2) {
        self.rank = rank
        self.size = size
    }

    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        calls.append(buffer.count)
        for i in buffer.indices { buffer[i] *= Float(size) }
    }

    func allReduce(_ values: inout [Double], _ operation: ReduceOperation) throws {
        if operation == .sum { values = values.map { $0 * Double(size) } }
    }

    func allGather(_ value: UInt64) throws -> [UInt64] { gathered ?? Array(repeating: value, count: size) }

    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
}

private func parameters(sizes: [Int]) -> [Parameter] {
    sizes.enumerated().map { index, size in
        let parameter = Parameter(Tensor(shape: [size], scalars: (0..<size).map { Float($0 % 97) * 0.5 + Float(index) }))
        parameter.gradient = Tensor(shape: [size], scalars: (0..<size).map { Float($0 % 13) - Float(index) })
        return parameter
    }
}

@Suite("data-parallel pieces (no MPI)")
struct DistributedGroupTests {
    @Test("large gradients are reduced in place in bucket-sized slices, small ones packed together")
    func bucketPlan() {
        let plan = GradientBuckets(sizes: [10, 300, 5, 90, 7], bucketElements: 100, inPlaceElements: 50)
        #expect(
            plan.buckets == [
                .inPlace(parameter: 1, range: 0..<100), .inPlace(parameter: 1, range: 100..<200),
                .inPlace(parameter: 1, range: 200..<300), .inPlace(parameter: 3, range: 0..<90),
                .packed(parameters: [0, 2, 4], elements: 22),
            ])
        let full = GradientBuckets(sizes: [40, 40, 40, 30], bucketElements: 100, inPlaceElements: 50)
        #expect(full.buckets == [.packed(parameters: [0, 1], elements: 80), .packed(parameters: [2, 3], elements: 70)])
        #expect(full.stagingElements == 80)
    }

    @Test("summing over the ranks reaches every element of every gradient, packed or in place")
    func bucketsCoverEveryGradient() throws {
        let sizes = [10, 300, 5, 90, 7, 1]
        let params = parameters(sizes: sizes)
        let before = params.map(\.gradient)
        let communicator = EchoCommunicator(size: 3)
        var staging: [Float] = []
        try GradientBuckets(sizes: sizes, bucketElements: 100, inPlaceElements: 50)
            .allReduce(params, staging: &staging, over: communicator)
        for (parameter, gradient) in zip(params, before) {
            #expect(parameter.gradient.scalars == gradient.scalars.map { $0 * 3 })
        }
        #expect(communicator.calls == [100, 100, 100, 90, 23])
    }

    @Test("rank r computes batches r·F to r·F+F−1 of an update")
    func partAssignment() {
        let owners = (0..<6).map { DataParallelGroup.rank(ofPart: $0, updateFrequency: 3) }
        #expect(owners == [0, 0, 0, 1, 1, 1])
        #expect((0..<4).map { DataParallelGroup.rank(ofPart: $0, updateFrequency: 1) } == [0, 1, 2, 3])
    }

    @Test("the checksum sees every bit and the order of the parameters")
    func checksum() {
        let a = parameters(sizes: [7, 64, 3])
        let b = parameters(sizes: [7, 64, 3])
        #expect(DataParallelGroup.checksum(a) == DataParallelGroup.checksum(b))
        b[1].value.scalars[63] = b[1].value.scalars[63].nextUp
        #expect(DataParallelGroup.checksum(a) != DataParallelGroup.checksum(b))
        #expect(DataParallelGroup.checksum([a[0], a[2]]) != DataParallelGroup.checksum([a[2], a[0]]))
    }

    @Test("ranks whose parameters differ stop with the update and each rank's checksum")
    func divergence() throws {
        let communicator = EchoCommunicator()
        let group = DataParallelGroup(communicator: communicator, checkEvery: 10)
        let params = parameters(sizes: [5])
        let agreed = try group.checkReplicas(params, update: 30, checkpoint: "run/checkpoint_last.safetensors")
        #expect(agreed == DataParallelGroup.checksum(params))
        communicator.gathered = [0x1, 0xABC]
        #expect(
            throws: SharedFailure(
                "the ranks' parameters differ after update 40 (rank 0 0x0000000000000001, rank 1 "
                    + "0x0000000000000abc): data-parallel training diverged; training stopped, and "
                    + "run/checkpoint_last.safetensors holds the last checkpoint")
        ) {
            try group.checkReplicas(params, update: 40, checkpoint: "run/checkpoint_last.safetensors")
        }
    }

    @Test("rank 0 reports a failure every rank meets; the others stay quiet, or name themselves")
    func reporting() {
        let leader = DataParallelGroup(communicator: EchoCommunicator(rank: 0), checkEvery: 0)
        let other = DataParallelGroup(communicator: EchoCommunicator(rank: 1), checkEvery: 0)
        #expect(leader.reportable(SharedFailure("nan")) as? RuntimeError == RuntimeError("nan"))
        #expect(other.reportable(SharedFailure("nan")) as? ExitRequest == ExitRequest(status: 1))
        #expect(other.reportable(RuntimeError("disk full")) as? RuntimeError == RuntimeError("rank 1: disk full"))
        #expect(leader.reportable(RuntimeError("disk full")) as? RuntimeError == RuntimeError("disk full"))
    }

    @Test("a process not started by mpirun loads no MPI")
    func noMPIWithoutMpirun() throws {
        #expect(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] == nil)
        #expect(try DataParallelGroup.fromEnvironment(checkEvery: 1) == nil)
    }
}
