import CLI
import Seq2Seq

// Before any product: OpenBLAS's idle threads would otherwise spin beside our own kernels (see the doc).
BLAS.letIdleWorkersSleep()

/// Every `translate` subcommand; each lives in its own file under Commands/.
let commands: [Command] = [
    trainCommand, averageCommand,
    spmTrainCommand, spmEncodeCommand, spmDecodeCommand,
    benchCommand, benchTrainCommand,
    scoreCommand, infoCommand, benchAttentionCommand, decodeCommand,
]

Tool(
    name: "translate",
    abstract: "Train, run and score Luna encoder-decoder translation models.",
    commands: commands, defaultCommand: "decode"
).main()
