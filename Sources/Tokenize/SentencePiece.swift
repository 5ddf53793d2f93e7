// The only file that imports CSentencePiece: every C call, and every pointer the C side hands back,
// stays here.
import CSentencePiece
import Foundation

/// A SentencePiece model (unigram or BPE): turns text into pieces or ids and back, trains new
/// models.
///
/// Loads any `.model` file that SentencePiece's own tools read (libsentencepiece 0.1.97 does the
/// work
/// through the CSentencePiece shim), so ids and pieces equal `spm_encode`'s on the same model.
///
/// Ownership: the instance owns one C++ `SentencePieceProcessor` and frees it in `deinit`; nothing
/// the
/// methods return points into it (pieces and ids are copied into Swift values).
///
/// Thread safety: a loaded model is immutable and SentencePiece's encode/decode are `const`, so one
/// instance may be shared across threads and tasks (`Sendable`). Sampling draws from
/// SentencePiece's random
/// generator, seeded process-wide by `setRandomSeed(_:)`; training changes process-wide logging for
/// its
/// duration, so train from one thread at a time.
///
/// Encoding many lines: pass a `TextBatch` (one C call for the whole batch, optionally on several
/// threads)
/// rather than calling `encode(_:)` per line; per-line calls pay one Swift→C++ round trip each.
///
/// Word memo: when loading finds that encoding each space-separated word alone gives exactly the
/// ids of
/// encoding the whole line (no piece spans a space, dummy prefix on, extra whitespace collapsed:
/// true of
/// `spm_train`'s defaults), encoding memoises words (`memoizesWords`). A word whose best
/// segmentation is
/// not clear of its runner-up by more than float rounding in that line could (unigram Viterbi) come
/// out
/// differently inside the line, so such lines are encoded whole. Output is unchanged: the tests and
/// the
/// benchmark compare it with `spm_encode` line by line. The memo lives as long as the model, grows
/// with the
/// distinct words seen (bounded at 2M words), and is locked internally. Sampling and n-best never
/// use it.
public final class SentencePieceModel: @unchecked Sendable {
    private let handle: OpaquePointer
    /// Where the model came from: its file path, or the name given to `init(bytes:name:)`. Errors
    /// name it.
    public let path: String
    /// Whether `encode` memoises words (see the type's notes); false when the model does not allow
    /// it or
    /// when loading asked not to.
    public let memoizesWords: Bool

    // MARK: - Loading

    /// Loads a model file.
    /// - Parameters:
    ///   - path: the `.model` file.
    ///   - memoizingWords: allow the word memo (the default); pass false to measure or rule it out.
    /// - Throws: `TokenizeError.fileNotFound`, or `.invalidModel` with SentencePiece's message.
    public init(contentsOf path: String, memoizingWords: Bool = true) throws(TokenizeError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        if isDirectory.boolValue {
            throw .invalidModel(path: path, reason: "is a directory")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .io(path: path, reason: "permission denied")
        }
        let loaded = withErrorBuffer { error, capacity in spm_load_file(path, error, capacity) }
        guard let handle = loaded.value else {
            throw .invalidModel(path: path, reason: loaded.message)
        }
        self.handle = handle
        self.path = path
        self.memoizesWords = spm_set_word_cache(handle, memoizingWords ? 1 : 0) != 0
    }

    /// Loads a model from its serialized bytes (the contents of a `.model` file).
    /// - Parameters:
    ///   - bytes: the serialized `ModelProto`.
    ///   - name: how errors refer to this model.
    ///   - memoizingWords: allow the word memo (the default).
    /// - Throws: `TokenizeError.invalidModel` with SentencePiece's message.
    public init(
        bytes: some Collection<UInt8>, name: String = "<model bytes>", memoizingWords: Bool = true
    )
        throws(TokenizeError)
    {
        let array = Array(bytes)
        let loaded = array.withUnsafeBytes { raw in
            withErrorBuffer { error, capacity in
                spm_load_bytes(raw.baseAddress, raw.count, error, capacity)
            }
        }
        guard let handle = loaded.value else {
            throw .invalidModel(path: name, reason: loaded.message)
        }
        self.handle = handle
        self.path = name
        self.memoizesWords = spm_set_word_cache(handle, memoizingWords ? 1 : 0) != 0
    }

    deinit { spm_free(handle) }

    // MARK: - Vocabulary

    /// Number of pieces, special pieces included; ids run from 0 to `vocabularySize - 1`.
    public var vocabularySize: Int { Int(spm_vocab_size(handle)) }

    /// The special ids fixed when the model was trained.
    public var specialIds: SpecialIds {
        func optional(_ id: Int32) -> Int? { id < 0 ? nil : Int(id) }
        return SpecialIds(
            pad: optional(spm_pad_id(handle)), unk: Int(spm_unk_id(handle)),
            bos: optional(spm_bos_id(handle)), eos: optional(spm_eos_id(handle)))
    }

    /// The id of `piece`; the unknown id when the vocabulary has no such piece (as SentencePiece
    /// does).
    public func id(for piece: String) -> Int {
        var piece = piece
        return piece.withUTF8 { Int(spm_piece_to_id(handle, $0.baseAddress, $0.count)) }
    }

    /// The piece with `id`, or nil when `id` is outside `0..<vocabularySize`.
    public func piece(for id: Int) -> String? {
        guard let id32 = Int32(exactly: id) else { return nil }
        var length = 0
        guard let bytes = spm_id_to_piece(handle, id32, &length) else { return nil }
        return String(
            decoding: UnsafeRawBufferPointer(start: bytes, count: length).bindMemory(
                to: UInt8.self),
            as: UTF8.self)
    }

    /// The kinds of piece SentencePiece distinguishes.
    public enum PieceKind: Sendable, Equatable {
        /// An ordinary or user-defined piece.
        case normal
        /// The unknown piece.
        case unknown
        /// A control piece (bos, eos, pad, control symbols): never produced from text, decodes to
        /// nothing.
        case control
        /// A piece marked unused.
        case unused
        /// A byte-fallback piece `<0xNN>`.
        case byte
    }

    /// The kind of piece `id`, or nil when `id` is out of range.
    public func kind(of id: Int) -> PieceKind? {
        guard let id32 = Int32(exactly: id) else { return nil }
        switch spm_piece_kind_of(handle, id32) {
        case SPM_PIECE_NORMAL: return .normal
        case SPM_PIECE_UNKNOWN: return .unknown
        case SPM_PIECE_CONTROL: return .control
        case SPM_PIECE_UNUSED: return .unused
        case SPM_PIECE_BYTE: return .byte
        default: return nil
        }
    }

    /// The piece's score: its log probability for unigram models, minus its merge rank for BPE.
    public func score(of id: Int) -> Float {
        guard let id32 = Int32(exactly: id) else { return 0 }
        return spm_score(handle, id32)
    }

    /// Checks that this model matches a configuration's vocabulary size and special ids.
    ///
    /// The model loader calls this when a model directory's `config.json` and `spm.model` are
    /// loaded together.
    /// - Throws: `TokenizeError.modelMismatch` naming the first difference.
    public func verify(vocabularySize expected: Int, specialIds expectedIds: SpecialIds)
        throws(TokenizeError)
    {
        if vocabularySize != expected {
            throw .modelMismatch(
                path: path,
                reason: "vocabulary size is \(vocabularySize), the configuration says \(expected)")
        }
        let actual = specialIds
        if actual != expectedIds {
            throw .modelMismatch(
                path: path,
                reason: "special ids are \(actual), the configuration says \(expectedIds)")
        }
    }

    // MARK: - Encoding

    /// The ids of `text`'s segmentation (the most likely one).
    public func encode(_ text: String) throws(TokenizeError) -> [Int] {
        try encode(TextBatch(CollectionOfOne(text)), threads: 1)[0].map { Int($0) }
    }

    /// The pieces of `text`'s segmentation, `▁` (U+2581) marking where a space was.
    public func encodeAsPieces(_ text: String) throws(TokenizeError) -> [String] {
        try encodeAsPieces(TextBatch(CollectionOfOne(text)), threads: 1)[0]
    }

    /// The ids of every line's segmentation, in one call.
    /// - Parameter threads: encoding threads, 1 by default; 0 means one per core. Output does not
    ///   depend on
    ///   it. More threads pay off on an idle machine; on a busy one they contend (measured in
    ///   benchmarks/tokenize).
    public func encode(_ batch: TextBatch, threads: Int = 1) throws(TokenizeError) -> EncodedBatch {
        let result = try run { result, error, capacity in
            batch.bytes.withUnsafeBufferPointer { bytes in
                batch.offsets.withUnsafeBufferPointer { offsets in
                    bytes.withMemoryRebound(to: CChar.self) { text in
                        spm_encode_batch(
                            handle, text.baseAddress, offsets.baseAddress, batch.count,
                            SPM_OUTPUT_IDS,
                            Int32(clamping: threads), result, error, capacity)
                    }
                }
            }
        }
        return EncodedBatch(result: result)
    }

    /// The pieces of every line's segmentation, in one call.
    /// - Parameter threads: encoding threads, 1 by default; 0 means one per core. Output does not
    ///   depend on it.
    public func encodeAsPieces(_ batch: TextBatch, threads: Int = 1) throws(TokenizeError)
        -> PieceBatch
    {
        let result = try run { result, error, capacity in
            batch.bytes.withUnsafeBufferPointer { bytes in
                batch.offsets.withUnsafeBufferPointer { offsets in
                    bytes.withMemoryRebound(to: CChar.self) { text in
                        spm_encode_batch(
                            handle, text.baseAddress, offsets.baseAddress, batch.count,
                            SPM_OUTPUT_PIECES,
                            Int32(clamping: threads), result, error, capacity)
                    }
                }
            }
        }
        return PieceBatch(result: result)
    }

    /// The `count` most likely segmentations of `text` as ids, best first (unigram models only).
    public func nBest(_ text: String, count: Int) throws(TokenizeError) -> [[Int]] {
        let batch = EncodedBatch(
            result: try nBestResult(text, count: count, output: SPM_OUTPUT_IDS))
        return (0..<batch.count).map { batch[$0].map { Int($0) } }
    }

    /// The `count` most likely segmentations of `text` as pieces, best first (unigram models only).
    public func nBestPieces(_ text: String, count: Int) throws(TokenizeError) -> [[String]] {
        let batch = PieceBatch(
            result: try nBestResult(text, count: count, output: SPM_OUTPUT_PIECES))
        return (0..<batch.count).map { batch[$0] }
    }

    /// One sampled segmentation of `text` as ids (subword regularisation).
    ///
    /// Unigram: samples from the `nBestSize` best segmentations, or from the whole lattice when
    /// `nBestSize` is
    /// negative, with inverse temperature `alpha` (large alpha → nearly always the best
    /// segmentation).
    /// BPE: BPE-dropout with drop probability `alpha`; `nBestSize` is ignored.
    public func sample(_ text: String, alpha: Float, nBestSize: Int = -1) throws(TokenizeError)
        -> [Int]
    {
        try sample(TextBatch(CollectionOfOne(text)), alpha: alpha, nBestSize: nBestSize)[0].map {
            Int($0)
        }
    }

    /// One sampled segmentation of `text` as pieces; see `sample(_:alpha:nBestSize:)`.
    public func samplePieces(_ text: String, alpha: Float, nBestSize: Int = -1)
        throws(TokenizeError)
        -> [String]
    {
        let result = try sampleResult(
            TextBatch(CollectionOfOne(text)), alpha: alpha, nBestSize: nBestSize,
            output: SPM_OUTPUT_PIECES)
        return PieceBatch(result: result)[0]
    }

    /// One sampled segmentation per line as ids; see `sample(_:alpha:nBestSize:)`. Single-threaded,
    /// so
    /// a fixed `setRandomSeed(_:)` gives a fixed result.
    public func sample(_ batch: TextBatch, alpha: Float, nBestSize: Int = -1) throws(TokenizeError)
        -> EncodedBatch
    {
        EncodedBatch(
            result: try sampleResult(
                batch, alpha: alpha, nBestSize: nBestSize, output: SPM_OUTPUT_IDS))
    }

    /// Seeds SentencePiece's random generator, used by sampling. Process-wide.
    public static func setRandomSeed(_ seed: UInt32) { spm_set_random_seed(seed) }

    // MARK: - Decoding

    /// The text of `ids`: pieces joined, `▁` turned back into spaces, the leading space dropped;
    /// control ids
    /// (pad, bos, eos) decode to nothing and unk to ` ⁇ `.
    /// - Throws: `TokenizeError.segmentationFailed` when an id is outside the vocabulary.
    public func decode(_ ids: [Int]) throws(TokenizeError) -> String {
        try decode([ids])[0]
    }

    /// Decodes many id sequences in one call.
    public func decode(_ sequences: [[Int]]) throws(TokenizeError) -> [String] {
        var flat: [Int32] = []
        var offsets = [0]
        for sequence in sequences {
            for id in sequence {
                guard let id32 = Int32(exactly: id), id32 >= 0, Int(id32) < vocabularySize else {
                    throw .segmentationFailed(
                        source: path,
                        message: "id \(id) is outside the vocabulary 0..<\(vocabularySize)")
                }
                flat.append(id32)
            }
            offsets.append(flat.count)
        }
        return try decode(EncodedBatch(ids: flat, offsets: offsets))
    }

    /// Decodes every line of an id batch in one call.
    public func decode(_ batch: EncodedBatch) throws(TokenizeError) -> [String] {
        let result = try run { result, error, capacity in
            batch.ids.withUnsafeBufferPointer { ids in
                batch.offsets.withUnsafeBufferPointer { offsets in
                    spm_decode_ids_batch(
                        handle, ids.baseAddress, offsets.baseAddress, batch.count, result, error,
                        capacity)
                }
            }
        }
        return Self.lines(of: result)
    }

    /// The text of `pieces`; pieces not in the vocabulary are kept as written (`▁` still becomes a
    /// space).
    public func decode(pieces: [String]) throws(TokenizeError) -> String {
        try decode(PieceBatch(lines: [pieces]))[0]
    }

    /// Decodes every line of a piece batch in one call.
    public func decode(_ batch: PieceBatch) throws(TokenizeError) -> [String] {
        let result = try run { result, error, capacity in
            batch.bytes.withUnsafeBufferPointer { bytes in
                batch.pieceOffsets.withUnsafeBufferPointer { pieceOffsets in
                    batch.lineOffsets.withUnsafeBufferPointer { lineOffsets in
                        bytes.withMemoryRebound(to: CChar.self) { text in
                            spm_decode_pieces_batch(
                                handle, text.baseAddress, pieceOffsets.baseAddress,
                                lineOffsets.baseAddress,
                                batch.count, result, error, capacity)
                        }
                    }
                }
            }
        }
        return Self.lines(of: result)
    }

    // MARK: - Training

    /// Trains a model on `inputs` and writes `<modelPrefix>.model` and `<modelPrefix>.vocab`.
    ///
    /// Every input is checked first (it exists, every line is valid UTF-8, some line has text);
    /// then the
    /// trainer writes to a temporary prefix in the same directory, and both files are renamed into
    /// place only
    /// when training succeeded, so a failure leaves no partial model behind.
    /// - Parameters:
    ///   - inputs: text files, one sentence per line; several files make one joint vocabulary.
    ///   - modelPrefix: the output path without extension; its directory must exist.
    ///   - options: the trainer's options.
    /// - Returns: the trained model, loaded from `<modelPrefix>.model`.
    /// - Throws: `TokenizeError` naming the file and line for input problems, or `.trainingFailed`
    ///   with
    ///   SentencePiece's own message (e.g. "Vocabulary size too high (50000). Please set it to a
    ///   value <= 2405.").
    @discardableResult
    public static func train(
        inputs: [String], modelPrefix: String, options: TrainingOptions = TrainingOptions()
    ) throws(TokenizeError) -> SentencePieceModel {
        try options.validate()
        if inputs.isEmpty { throw .invalidOption(name: "input", reason: "no training files given") }
        for input in inputs where input.contains(",") {
            throw .invalidOption(
                name: "input", reason: "\(input): file names must not contain commas")
        }
        var hasText = false
        for input in inputs {
            hasText = try checkTrainingInput(input) || hasText
        }
        if !hasText { throw .emptyCorpus(files: inputs) }

        let prefixURL = URL(fileURLWithPath: modelPrefix)
        let directory = prefixURL.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
            isDirectory.boolValue
        else { throw .fileNotFound(path: directory) }
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = "\(directory)/.\(prefixURL.lastPathComponent).tmp-\(getpid())-\(random)"
        defer {
            try? FileManager.default.removeItem(atPath: temporary + ".model")
            try? FileManager.default.removeItem(atPath: temporary + ".vocab")
        }

        var trainerOptions = options.trainerOptions(
            threadsAvailable: ProcessInfo.processInfo.activeProcessorCount)
        trainerOptions["input"] = inputs.joined(separator: ",")
        trainerOptions["model_prefix"] = temporary
        if let seed = options.seed { spm_set_random_seed(seed) }
        spm_set_min_log_level(options.verbose ? 0 : 2)
        defer { spm_set_min_log_level(0) }

        let keys = Array(trainerOptions.keys)
        let values = keys.map { trainerOptions[$0]! }
        let status = withCStrings(keys) { keyPointers in
            withCStrings(values) { valuePointers in
                withErrorBuffer { error, capacity in
                    spm_train(keyPointers, valuePointers, keys.count, error, capacity)
                }
            }
        }
        if status.value != 0 {
            throw .trainingFailed(message: status.message)
        }
        for ext in [".vocab", ".model"] where rename(temporary + ext, modelPrefix + ext) != 0 {
            throw .io(path: modelPrefix + ext, reason: String(cString: strerror(errno)))
        }
        return try SentencePieceModel(contentsOf: modelPrefix + ".model")
    }

    /// Validates one training file; returns whether some line has visible text.
    private static func checkTrainingInput(_ path: String) throws(TokenizeError) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        if isDirectory.boolValue { throw .io(path: path, reason: "is a directory") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw .io(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        let batch = try TextBatch(splitting: data, source: path)
        return batch.bytes.contains { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0D) }
    }

    // MARK: - C plumbing

    private func nBestResult(_ text: String, count: Int, output: spm_output) throws(TokenizeError)
        -> OpaquePointer
    {
        if count < 1 {
            throw .invalidOption(name: "nbest", reason: "must be positive, got \(count)")
        }
        var text = text
        return try run { result, error, capacity in
            text.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { chars in
                    spm_nbest_encode(
                        handle, chars.baseAddress, chars.count, Int32(clamping: count), output,
                        result, error,
                        capacity)
                }
            }
        }
    }

    private func sampleResult(_ batch: TextBatch, alpha: Float, nBestSize: Int, output: spm_output)
        throws(TokenizeError) -> OpaquePointer
    {
        try run { result, error, capacity in
            batch.bytes.withUnsafeBufferPointer { bytes in
                batch.offsets.withUnsafeBufferPointer { offsets in
                    bytes.withMemoryRebound(to: CChar.self) { text in
                        spm_sample_encode_batch(
                            handle, text.baseAddress, offsets.baseAddress, batch.count,
                            Int32(clamping: nBestSize), alpha, output, result, error, capacity)
                    }
                }
            }
        }
    }

    /// Runs `body` with a fresh result buffer; returns the buffer (freed by the batch type that
    /// copies it).
    private func run(
        _ body: (OpaquePointer, UnsafeMutablePointer<CChar>, Int) -> spm_status
    ) throws(TokenizeError) -> OpaquePointer {
        guard let result = spm_result_new() else {
            throw .segmentationFailed(source: path, message: "out of memory")
        }
        let status = withErrorBuffer { error, capacity in body(result, error, capacity) }
        if status.value != 0 {
            spm_result_free(result)
            throw .segmentationFailed(source: path, message: status.message)
        }
        return result
    }

    /// Decoded lines from a result, which it frees.
    private static func lines(of result: OpaquePointer) -> [String] {
        defer { spm_result_free(result) }
        var byteCount = 0
        var lineCount = 0
        let bytes = spm_result_bytes(result, &byteCount)
        let offsets = spm_result_line_offsets(result, &lineCount)!
        let raw = UnsafeRawBufferPointer(start: bytes, count: byteCount).bindMemory(to: UInt8.self)
        return (0..<(lineCount - 1)).map { i in
            String(
                decoding: UnsafeBufferPointer(rebasing: raw[offsets[i]..<offsets[i + 1]]),
                as: UTF8.self)
        }
    }
}

extension EncodedBatch {
    /// Copies a C result (ids mode) and frees it.
    fileprivate init(result: OpaquePointer) {
        defer { spm_result_free(result) }
        var idCount = 0
        var lineCount = 0
        let ids = spm_result_ids(result, &idCount)
        let offsets = spm_result_line_offsets(result, &lineCount)
        self.init(
            ids: Array(UnsafeBufferPointer(start: ids, count: idCount)),
            offsets: Array(UnsafeBufferPointer(start: offsets, count: lineCount)))
    }
}

extension PieceBatch {
    /// Copies a C result (pieces mode) and frees it.
    fileprivate init(result: OpaquePointer) {
        defer { spm_result_free(result) }
        var byteCount = 0
        var pieceCount = 0
        var lineCount = 0
        let bytes = spm_result_bytes(result, &byteCount)
        let pieceOffsets = spm_result_piece_offsets(result, &pieceCount)
        let lineOffsets = spm_result_line_offsets(result, &lineCount)
        let raw = UnsafeRawBufferPointer(start: bytes, count: byteCount)
        self.init(
            bytes: Array(raw),
            pieceOffsets: Array(UnsafeBufferPointer(start: pieceOffsets, count: pieceCount)),
            lineOffsets: Array(UnsafeBufferPointer(start: lineOffsets, count: lineCount)))
    }
}

/// Calls `body` with a zeroed error buffer; returns its value and the message left in the buffer.
private func withErrorBuffer<T>(
    _ body: (UnsafeMutablePointer<CChar>, Int) -> T
) -> (value: T, message: String) {
    var buffer = [CChar](repeating: 0, count: 2048)
    let value = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return (value, message.trimmingCharacters(in: .whitespaces))
}

/// Calls `body` with NUL-terminated copies of `strings`, valid only during the call.
private func withCStrings<T>(
    _ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T
) -> T {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
