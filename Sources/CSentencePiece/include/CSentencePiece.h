// CSentencePiece: the C API over libsentencepiece (0.1.97, Debian) that Swift sees.
//
// Internal to the package: only Sources/Tokenize/SentencePiece.swift calls it, so the API may
// change freely.
//
// Conventions
// - Handles are opaque. Whoever gets a handle from a `*_new` or `spm_load_*` function owns it and
//   releases
//   it with the matching `*_free`; freeing NULL is a no-op.
// - Functions that can fail return an `spm_status` (0 = success, otherwise SentencePiece's own
//   `util::StatusCode`, or SPM_STATUS_INTERNAL for a C++ exception caught in the shim) and write a
//   NUL-terminated, single-line message into the caller's buffer `error`/`error_capacity`
//   (truncated to fit;
//   left untouched on success). No C++ exception crosses this boundary.
// - Text is UTF-8 bytes with explicit lengths; nothing needs to be NUL-terminated unless its type
//   says so.
// - A batch of lines is one byte buffer plus `count + 1` offsets: line i is bytes[offsets[i] ..<
//   offsets[i+1]].
//   Results come back in an `spm_result` in the same layout, so encoding a corpus costs one call,
//   not one call
//   (and one string bridge) per line or per piece.
// - Thread safety: a loaded `spm_processor` is immutable; every function taking a `const
//   spm_processor *`
//   may be called from many threads at once. An `spm_result` must not be shared between concurrent
//   calls.
#ifndef CSENTENCEPIECE_H
#define CSENTENCEPIECE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 0 on success; otherwise a SentencePiece status code (1...16) or SPM_STATUS_INTERNAL.
typedef int32_t spm_status;
/// Returned when the shim caught a C++ exception (for example std::bad_alloc).
#define SPM_STATUS_INTERNAL 13

/// A loaded SentencePiece model (a `sentencepiece::SentencePieceProcessor`).
typedef struct spm_processor spm_processor;

/// Output of the batch functions: ids or piece bytes, grouped by line (or by hypothesis for
/// n-best).
///
/// Layout after an id-producing call: `ids` holds every id, `line_offsets` has `lines + 1` entries
/// indexing
/// `ids`. After a piece-producing call: `bytes` holds every piece back to back, `piece_offsets` has
/// `pieces + 1` entries indexing `bytes`, and `line_offsets` indexes `piece_offsets`. After a
/// decode call:
/// `bytes` holds every decoded line back to back and `line_offsets` indexes `bytes`.
typedef struct spm_result spm_result;

/// What a batch encode produces.
typedef enum spm_output { SPM_OUTPUT_IDS = 0, SPM_OUTPUT_PIECES = 1 } spm_output;

/// The libsentencepiece major.minor this shim was built against, e.g. "0.1".
const char *spm_shim_version(void);

/// Sets SentencePiece's log threshold: 0 info (the library default), 1 warning, 2 error, 3 fatal.
/// Process-wide; training prints its progress at level 0.
void spm_set_min_log_level(int32_t level);

/// Seeds SentencePiece's random generator (sampling and training shuffles). Process-wide.
void spm_set_random_seed(uint32_t seed);

// MARK: - Loading

/// Loads a serialized model from `path` (NUL-terminated). Returns NULL and fills `error` on
/// failure.
spm_processor *spm_load_file(const char *path, char *error, size_t error_capacity);

/// Loads a model from its serialized bytes. Returns NULL and fills `error` on failure.
spm_processor *spm_load_bytes(const void *bytes, size_t length, char *error, size_t error_capacity);

/// Releases a processor. NULL is ignored.
void spm_free(spm_processor *processor);

/// Turns the word memo of `spm_encode_batch` on or off; returns whether it is on. It can only be on
/// when
/// loading found that encoding word by word equals encoding whole lines for this model (pieces
/// never span
/// a space, dummy prefix on, extra whitespace collapsed); it is on by default then. Call before
/// sharing the
/// processor between threads.
int32_t spm_set_word_cache(spm_processor *processor, int32_t enabled);

// MARK: - Vocabulary

/// Number of pieces in the model's vocabulary.
int32_t spm_vocab_size(const spm_processor *processor);

/// The id of `piece`, or the unknown id when the piece is not in the vocabulary.
int32_t spm_piece_to_id(const spm_processor *processor, const char *piece, size_t length);

/// The piece for `id`, valid while `processor` lives; NULL when `id` is out of range.
const char *spm_id_to_piece(const spm_processor *processor, int32_t id, size_t *length);

/// The piece's score (log probability for unigram, merge rank for BPE); 0 when `id` is out of
/// range.
float spm_score(const spm_processor *processor, int32_t id);

/// Piece kinds as SentencePiece reports them.
typedef enum spm_piece_kind {
    SPM_PIECE_NORMAL = 0,
    SPM_PIECE_UNKNOWN = 1,
    SPM_PIECE_CONTROL = 2,
    SPM_PIECE_UNUSED = 3,
    SPM_PIECE_BYTE = 4,
    SPM_PIECE_OUT_OF_RANGE = -1
} spm_piece_kind;

/// The kind of piece `id` (user-defined pieces report NORMAL, as SentencePiece's API does).
spm_piece_kind spm_piece_kind_of(const spm_processor *processor, int32_t id);

/// The special ids fixed at training time; -1 means the model has none.
int32_t spm_unk_id(const spm_processor *processor);
int32_t spm_bos_id(const spm_processor *processor);
int32_t spm_eos_id(const spm_processor *processor);
int32_t spm_pad_id(const spm_processor *processor);

// MARK: - Results

/// A new, empty result buffer.
spm_result *spm_result_new(void);
/// Releases a result buffer. NULL is ignored.
void spm_result_free(spm_result *result);
/// The ids (`*count` of them); valid until the next call that writes `result`.
const int32_t *spm_result_ids(const spm_result *result, size_t *count);
/// The concatenated bytes (`*length` of them); valid until the next call that writes `result`.
const char *spm_result_bytes(const spm_result *result, size_t *length);
/// Per-piece offsets into the bytes (`*count` = pieces + 1).
const size_t *spm_result_piece_offsets(const spm_result *result, size_t *count);
/// Per-line offsets (`*count` = lines + 1) into ids, piece offsets or bytes, as described at
/// `spm_result`.
const size_t *spm_result_line_offsets(const spm_result *result, size_t *count);

// MARK: - Encoding and decoding

/// Encodes `count` lines (see the batch layout above) into `result`, on up to `threads` threads
/// (`threads` <= 0 means one per hardware core). Uses the word memo when it is on (see
/// `spm_set_word_cache`); the memo is locked internally. On failure `error` names the 0-based line
/// index.
spm_status spm_encode_batch(const spm_processor *processor, const char *text, const size_t *offsets,
                            size_t count, spm_output output, int32_t threads, spm_result *result,
                            char *error, size_t error_capacity);

/// Samples one segmentation per line (subword regularisation): unigram samples from the
/// `nbest_size`-best
/// (`nbest_size` < 0: the whole lattice) with inverse temperature `alpha`; BPE applies BPE-dropout
/// with
/// probability `alpha` and ignores `nbest_size`. Single-threaded, so a fixed seed gives a fixed
/// result.
spm_status spm_sample_encode_batch(const spm_processor *processor, const char *text,
                                   const size_t *offsets, size_t count, int32_t nbest_size, float alpha,
                                   spm_output output, spm_result *result, char *error,
                                   size_t error_capacity);

/// The `nbest_size` best segmentations of one line (unigram models only), best first; each
/// hypothesis is one
/// "line" of `result`.
spm_status spm_nbest_encode(const spm_processor *processor, const char *text, size_t length,
                            int32_t nbest_size, spm_output output, spm_result *result, char *error,
                            size_t error_capacity);

/// Decodes `count` id sequences (`ids` with `count + 1` `offsets`) into text lines in `result`.
spm_status spm_decode_ids_batch(const spm_processor *processor, const int32_t *ids,
                                const size_t *offsets, size_t count, spm_result *result, char *error,
                                size_t error_capacity);

/// Decodes `count` piece sequences into text lines in `result`. Pieces are bytes[piece_offsets[j]
/// ..<
/// piece_offsets[j+1]]; line i holds pieces line_offsets[i] ..< line_offsets[i+1].
spm_status spm_decode_pieces_batch(const spm_processor *processor, const char *bytes,
                                   const size_t *piece_offsets, const size_t *line_offsets,
                                   size_t count, spm_result *result, char *error,
                                   size_t error_capacity);

// MARK: - Training

/// Trains a model with SentencePiece's trainer options as `count` key/value pairs (NUL-terminated,
/// keys as
/// `spm_train` spells its flags without the dashes, e.g. "model_prefix", "vocab_size"). Writes
/// `<model_prefix>.model` and `<model_prefix>.vocab` on success.
spm_status spm_train(const char *const *keys, const char *const *values, size_t count, char *error,
                     size_t error_capacity);

#ifdef __cplusplus
}
#endif
#endif
