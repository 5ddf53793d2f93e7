import CLI
import Foundation

/// Open MPI's `libmpi.so.40`, loaded at run time with `dlopen`: the only file that touches MPI.
///
/// Nothing of MPI is needed to build the package or to run anything but `mpirun -np N translate
/// train`; the library is loaded only when `mpirun` started the process (``DataParallelGroup``
/// checks `OMPI_COMM_WORLD_SIZE`). The predefined handles of Open MPI's `mpi.h` are addresses of
/// global objects (`#define MPI_COMM_WORLD OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)`,
/// likewise `ompi_mpi_float`, `ompi_mpi_double`, `ompi_mpi_uint64_t`, `ompi_mpi_op_sum`,
/// `ompi_mpi_op_max`), so `dlsym` of those names gives the handles themselves. Checked against
/// Debian 12's Open MPI 4.1.4 headers (`/usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h`).
final class MPILibrary {
    /// An opaque MPI handle (`MPI_Comm`, `MPI_Datatype`, `MPI_Op`): a pointer in Open MPI's ABI.
    typealias Handle = UnsafeMutableRawPointer

    private typealias InitThread = @convention(c) (
        UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?,
        Int32, UnsafeMutablePointer<Int32>?
    ) -> Int32
    private typealias CommunicatorQuery = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    private typealias AllReduce = @convention(c) (
        UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle
    ) -> Int32
    private typealias AllGather = @convention(c) (
        UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle
    ) -> Int32
    private typealias Broadcast = @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
    private typealias Finalize = @convention(c) () -> Int32
    private typealias ErrorString = @convention(c) (Int32, UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>)
        -> Int32

    /// The shared object's name (Open MPI 3.x to 5.x keep soname 40).
    static let libraryName = "libmpi.so.40"
    /// `MPI_THREAD_FUNNELED`: only the main thread calls MPI (the kernels' worker threads never do).
    private static let threadFunneled: Int32 = 1
    /// `MPI_IN_PLACE` is `(void *) 1` in Open MPI's `mpi.h`.
    private var inPlace: UnsafeRawPointer? { UnsafeRawPointer(bitPattern: 1) }

    private let library: UnsafeMutableRawPointer
    private let initThread: InitThread
    private let commRank: CommunicatorQuery
    private let commSize: CommunicatorQuery
    private let allReduce: AllReduce
    private let allGather: AllGather
    private let broadcast: Broadcast
    private let finalizeFunction: Finalize
    private let errorString: ErrorString
    let world: Handle
    let float: Handle
    let double: Handle
    let uint64: Handle
    let byte: Handle
    let sum: Handle
    let max: Handle

    /// Loads the library and looks up every function and handle used (nothing is called yet).
    /// - Throws: `RuntimeError` naming the library or the missing symbol and the package to install.
    init() throws {
        // RTLD_GLOBAL: Open MPI's own plugins (mca_*.so) resolve libmpi's symbols through the global scope.
        guard let library = dlopen(Self.libraryName, RTLD_NOW | RTLD_GLOBAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "not found"
            throw RuntimeError(
                "started by mpirun, but \(Self.libraryName) cannot be loaded (\(reason)); install Open MPI "
                    + "(scripts/setup --mpi, or apt-get install openmpi-bin libopenmpi-dev)")
        }
        self.library = library
        func lookup(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let address = dlsym(library, name) else {
                throw RuntimeError("\(Self.libraryName) has no symbol \(name): not Open MPI 3 to 5?")
            }
            return address
        }
        func function<F>(_ name: String, _ type: F.Type) throws -> F { unsafeBitCast(try lookup(name), to: type) }
        initThread = try function("MPI_Init_thread", InitThread.self)
        commRank = try function("MPI_Comm_rank", CommunicatorQuery.self)
        commSize = try function("MPI_Comm_size", CommunicatorQuery.self)
        allReduce = try function("MPI_Allreduce", AllReduce.self)
        allGather = try function("MPI_Allgather", AllGather.self)
        broadcast = try function("MPI_Bcast", Broadcast.self)
        finalizeFunction = try function("MPI_Finalize", Finalize.self)
        errorString = try function("MPI_Error_string", ErrorString.self)
        world = try lookup("ompi_mpi_comm_world")
        float = try lookup("ompi_mpi_float")
        double = try lookup("ompi_mpi_double")
        uint64 = try lookup("ompi_mpi_uint64_t")
        byte = try lookup("ompi_mpi_byte")
        sum = try lookup("ompi_mpi_op_sum")
        max = try lookup("ompi_mpi_op_max")
    }

    /// `MPI_Init_thread` at `MPI_THREAD_FUNNELED`.
    func initialize() throws {
        var provided: Int32 = 0
        try check(initThread(nil, nil, Self.threadFunneled, &provided), "MPI_Init_thread")
    }

    /// This process's rank and the number of ranks in `MPI_COMM_WORLD`.
    func worldRankAndSize() throws -> (rank: Int, size: Int) {
        var rank: Int32 = 0, size: Int32 = 0
        try check(commRank(world, &rank), "MPI_Comm_rank")
        try check(commSize(world, &size), "MPI_Comm_size")
        return (Int(rank), Int(size))
    }

    /// `MPI_Allreduce(MPI_IN_PLACE, buffer, count, type, op, MPI_COMM_WORLD)`.
    func allReduceInPlace(_ buffer: UnsafeMutableRawPointer, count: Int, type: Handle, op: Handle) throws {
        precondition(count <= Int(Int32.max), "MPI_Allreduce: \(count) elements in one call")
        try check(allReduce(inPlace, buffer, Int32(count), type, op, world), "MPI_Allreduce")
    }

    /// `MPI_Allgather` of `count` elements per rank into `output` (`count × size` elements).
    func allGather(
        _ input: UnsafeRawPointer, into output: UnsafeMutableRawPointer, count: Int, type: Handle
    ) throws {
        try check(allGather(input, Int32(count), type, output, Int32(count), type, world), "MPI_Allgather")
    }

    /// `MPI_Bcast` of `count` bytes from `root`.
    func broadcastBytes(_ buffer: UnsafeMutableRawPointer?, count: Int, root: Int) throws {
        precondition(count <= Int(Int32.max), "MPI_Bcast: \(count) bytes in one call")
        try check(broadcast(buffer, Int32(count), byte, Int32(root), world), "MPI_Bcast")
    }

    /// `MPI_Finalize`; every rank must call it, after its last collective.
    func finalize() throws { try check(finalizeFunction(), "MPI_Finalize") }

    /// Converts an MPI return code into a thrown error (Open MPI's default handler aborts the job
    /// first, so this is a second line of defence).
    private func check(_ code: Int32, _ function: String) throws {
        guard code != 0 else { return }
        var text = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        _ = errorString(code, &text, &length)
        let message = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw RuntimeError("\(function) failed: \(message) (code \(code))")
    }
}
