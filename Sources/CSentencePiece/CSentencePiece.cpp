// The only C++ in the package: CSentencePiece.h implemented over libsentencepiece 0.1.97.
// Every entry point catches C++ exceptions and turns them into a status and a one-line message.
#include "CSentencePiece.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

// Exported by libsentencepiece but declared only in its internal common.h.
namespace sentencepiece {
namespace logging {
void SetMinLogLevel(int v);
}  // namespace logging
}  // namespace sentencepiece

namespace spm = sentencepiece;

struct spm_processor {
    spm::SentencePieceProcessor processor;
};

struct spm_result {
    std::vector<int32_t> ids;
    std::string bytes;
    std::vector<size_t> piece_offsets;
    std::vector<size_t> line_offsets;

    void clear() {
        ids.clear();
        bytes.clear();
        piece_offsets.assign(1, 0);
        line_offsets.assign(1, 0);
    }
};

namespace {

/// Copies `message` into the caller's buffer as one NUL-terminated line (newlines become spaces).
void write_error(char *error, size_t capacity, const std::string &message) {
    if (error == nullptr || capacity == 0) return;
    size_t n = std::min(message.size(), capacity - 1);
    for (size_t i = 0; i < n; ++i) {
        char c = message[i];
        error[i] = (c == '\n' || c == '\r') ? ' ' : c;
    }
    error[n] = '\0';
}

spm_status fail(char *error, size_t capacity, const spm::util::Status &status,
                const std::string &prefix = "") {
    write_error(error, capacity, prefix + status.error_message());
    return static_cast<spm_status>(status.code());
}

spm_status fail_exception(char *error, size_t capacity, const char *what) {
    write_error(error, capacity, std::string("SentencePiece raised a C++ exception: ") + what);
    return SPM_STATUS_INTERNAL;
}

std::string_view line_at(const char *text, const size_t *offsets, size_t i) {
    return std::string_view(text + offsets[i], offsets[i + 1] - offsets[i]);
}

/// Appends one encoded line to `out` (ids or pieces) and closes the line.
void append_ids(spm_result &out, const std::vector<int> &ids) {
    out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    out.line_offsets.push_back(out.ids.size());
}

void append_pieces(spm_result &out, const std::vector<std::string> &pieces) {
    for (const auto &p : pieces) {
        out.bytes.append(p);
        out.piece_offsets.push_back(out.bytes.size());
    }
    out.line_offsets.push_back(out.piece_offsets.size() - 1);
}

/// Appends `part` (a result over later lines) to `out`, shifting its offsets.
void append_result(spm_result &out, const spm_result &part, spm_output output) {
    size_t id_base = out.ids.size();
    size_t byte_base = out.bytes.size();
    size_t piece_base = out.piece_offsets.size() - 1;
    out.ids.insert(out.ids.end(), part.ids.begin(), part.ids.end());
    out.bytes.append(part.bytes);
    for (size_t j = 1; j < part.piece_offsets.size(); ++j)
        out.piece_offsets.push_back(part.piece_offsets[j] + byte_base);
    size_t line_base = output == SPM_OUTPUT_PIECES ? piece_base : id_base;
    for (size_t j = 1; j < part.line_offsets.size(); ++j)
        out.line_offsets.push_back(part.line_offsets[j] + line_base);
}

/// Encodes lines [begin, end) into `out` (already cleared). Returns the failing line's status, if any.
spm::util::Status encode_range(const spm::SentencePieceProcessor &sp, const char *text,
                               const size_t *offsets, size_t begin, size_t end, spm_output output,
                               spm_result &out, size_t *failed_line) {
    std::vector<int> ids;
    std::vector<std::string> pieces;
    for (size_t i = begin; i < end; ++i) {
        spm::util::Status status;
        if (output == SPM_OUTPUT_IDS) {
            status = sp.Encode(line_at(text, offsets, i), &ids);
            if (status.ok()) append_ids(out, ids);
        } else {
            status = sp.Encode(line_at(text, offsets, i), &pieces);
            if (status.ok()) append_pieces(out, pieces);
        }
        if (!status.ok()) {
            *failed_line = i;
            return status;
        }
    }
    return spm::util::Status();
}

}  // namespace

extern "C" {

const char *spm_shim_version(void) { return "0.1"; }

void spm_set_min_log_level(int32_t level) { spm::logging::SetMinLogLevel(level); }

void spm_set_random_seed(uint32_t seed) { spm::SetRandomGeneratorSeed(seed); }

// MARK: - Loading

spm_processor *spm_load_file(const char *path, char *error, size_t error_capacity) {
    try {
        auto *handle = new spm_processor();
        auto status = handle->processor.Load(path);
        if (!status.ok()) {
            fail(error, error_capacity, status);
            delete handle;
            return nullptr;
        }
        return handle;
    } catch (const std::exception &e) {
        fail_exception(error, error_capacity, e.what());
        return nullptr;
    }
}

spm_processor *spm_load_bytes(const void *bytes, size_t length, char *error, size_t error_capacity) {
    try {
        auto *handle = new spm_processor();
        auto status = handle->processor.LoadFromSerializedProto(
            std::string_view(static_cast<const char *>(bytes), length));
        if (!status.ok()) {
            fail(error, error_capacity, status);
            delete handle;
            return nullptr;
        }
        return handle;
    } catch (const std::exception &e) {
        fail_exception(error, error_capacity, e.what());
        return nullptr;
    }
}

void spm_free(spm_processor *processor) { delete processor; }

// MARK: - Vocabulary

int32_t spm_vocab_size(const spm_processor *p) { return p->processor.GetPieceSize(); }

int32_t spm_piece_to_id(const spm_processor *p, const char *piece, size_t length) {
    return p->processor.PieceToId(std::string_view(piece, length));
}

const char *spm_id_to_piece(const spm_processor *p, int32_t id, size_t *length) {
    if (id < 0 || id >= p->processor.GetPieceSize()) return nullptr;
    const std::string &piece = p->processor.IdToPiece(id);
    *length = piece.size();
    return piece.data();
}

float spm_score(const spm_processor *p, int32_t id) {
    if (id < 0 || id >= p->processor.GetPieceSize()) return 0;
    return p->processor.GetScore(id);
}

spm_piece_kind spm_piece_kind_of(const spm_processor *p, int32_t id) {
    const auto &sp = p->processor;
    if (id < 0 || id >= sp.GetPieceSize()) return SPM_PIECE_OUT_OF_RANGE;
    if (sp.IsUnknown(id)) return SPM_PIECE_UNKNOWN;
    if (sp.IsControl(id)) return SPM_PIECE_CONTROL;
    if (sp.IsUnused(id)) return SPM_PIECE_UNUSED;
    if (sp.IsByte(id)) return SPM_PIECE_BYTE;
    return SPM_PIECE_NORMAL;
}

int32_t spm_unk_id(const spm_processor *p) { return p->processor.unk_id(); }
int32_t spm_bos_id(const spm_processor *p) { return p->processor.bos_id(); }
int32_t spm_eos_id(const spm_processor *p) { return p->processor.eos_id(); }
int32_t spm_pad_id(const spm_processor *p) { return p->processor.pad_id(); }

// MARK: - Results

spm_result *spm_result_new(void) {
    try {
        auto *r = new spm_result();
        r->clear();
        return r;
    } catch (...) {
        return nullptr;
    }
}

void spm_result_free(spm_result *result) { delete result; }

const int32_t *spm_result_ids(const spm_result *r, size_t *count) {
    *count = r->ids.size();
    return r->ids.data();
}

const char *spm_result_bytes(const spm_result *r, size_t *length) {
    *length = r->bytes.size();
    return r->bytes.data();
}

const size_t *spm_result_piece_offsets(const spm_result *r, size_t *count) {
    *count = r->piece_offsets.size();
    return r->piece_offsets.data();
}

const size_t *spm_result_line_offsets(const spm_result *r, size_t *count) {
    *count = r->line_offsets.size();
    return r->line_offsets.data();
}

// MARK: - Encoding and decoding

spm_status spm_encode_batch(const spm_processor *p, const char *text, const size_t *offsets,
                            size_t count, spm_output output, int32_t threads, spm_result *result,
                            char *error, size_t error_capacity) {
    try {
        result->clear();
        size_t workers = threads > 0 ? size_t(threads) : std::max(1u, std::thread::hardware_concurrency());
        // Below a few hundred lines a thread costs more than it saves.
        workers = std::min(workers, std::max<size_t>(1, count / 256));
        if (workers <= 1) {
            size_t failed = 0;
            auto status = encode_range(p->processor, text, offsets, 0, count, output, *result, &failed);
            if (!status.ok())
                return fail(error, error_capacity, status, "line " + std::to_string(failed) + ": ");
            return 0;
        }
        std::vector<spm_result> parts(workers);
        std::vector<spm::util::Status> statuses(workers);
        std::vector<size_t> failed(workers, 0);
        std::vector<std::string> exceptions(workers);
        std::vector<std::thread> pool;
        for (size_t w = 0; w < workers; ++w) {
            size_t begin = count * w / workers, end = count * (w + 1) / workers;
            pool.emplace_back([&, w, begin, end] {
                try {
                    parts[w].clear();
                    statuses[w] = encode_range(p->processor, text, offsets, begin, end, output, parts[w],
                                               &failed[w]);
                } catch (const std::exception &e) {
                    exceptions[w] = e.what();
                }
            });
        }
        for (auto &t : pool) t.join();
        for (size_t w = 0; w < workers; ++w) {
            if (!exceptions[w].empty()) return fail_exception(error, error_capacity, exceptions[w].c_str());
            if (!statuses[w].ok())
                return fail(error, error_capacity, statuses[w],
                            "line " + std::to_string(failed[w]) + ": ");
        }
        for (const auto &part : parts) append_result(*result, part, output);
        return 0;
    } catch (const std::exception &e) {
        return fail_exception(error, error_capacity, e.what());
    }
}

spm_status spm_sample_encode_batch(const spm_processor *p, const char *text, const size_t *offsets,
                                   size_t count, int32_t nbest_size, float alpha, spm_output output,
                                   spm_result *result, char *error, size_t error_capacity) {
    try {
        result->clear();
        std::vector<int> ids;
        std::vector<std::string> pieces;
        for (size_t i = 0; i < count; ++i) {
            spm::util::Status status;
            if (output == SPM_OUTPUT_IDS) {
                status = p->processor.SampleEncode(line_at(text, offsets, i), nbest_size, alpha, &ids);
                if (status.ok()) append_ids(*result, ids);
            } else {
                status = p->processor.SampleEncode(line_at(text, offsets, i), nbest_size, alpha, &pieces);
                if (status.ok()) append_pieces(*result, pieces);
            }
            if (!status.ok())
                return fail(error, error_capacity, status, "line " + std::to_string(i) + ": ");
        }
        return 0;
    } catch (const std::exception &e) {
        return fail_exception(error, error_capacity, e.what());
    }
}

spm_status spm_nbest_encode(const spm_processor *p, const char *text, size_t length, int32_t nbest_size,
                            spm_output output, spm_result *result, char *error, size_t error_capacity) {
    try {
        result->clear();
        std::string_view input(text, length);
        if (output == SPM_OUTPUT_IDS) {
            std::vector<std::vector<int>> hypotheses;
            auto status = p->processor.NBestEncode(input, nbest_size, &hypotheses);
            if (!status.ok()) return fail(error, error_capacity, status);
            for (const auto &h : hypotheses) append_ids(*result, h);
        } else {
            std::vector<std::vector<std::string>> hypotheses;
            auto status = p->processor.NBestEncode(input, nbest_size, &hypotheses);
            if (!status.ok()) return fail(error, error_capacity, status);
            for (const auto &h : hypotheses) append_pieces(*result, h);
        }
        return 0;
    } catch (const std::exception &e) {
        return fail_exception(error, error_capacity, e.what());
    }
}

spm_status spm_decode_ids_batch(const spm_processor *p, const int32_t *ids, const size_t *offsets,
                                size_t count, spm_result *result, char *error, size_t error_capacity) {
    try {
        result->clear();
        std::vector<int> line;
        std::string text;
        for (size_t i = 0; i < count; ++i) {
            line.assign(ids + offsets[i], ids + offsets[i + 1]);
            auto status = p->processor.Decode(line, &text);
            if (!status.ok())
                return fail(error, error_capacity, status, "line " + std::to_string(i) + ": ");
            result->bytes.append(text);
            result->line_offsets.push_back(result->bytes.size());
        }
        return 0;
    } catch (const std::exception &e) {
        return fail_exception(error, error_capacity, e.what());
    }
}

spm_status spm_decode_pieces_batch(const spm_processor *p, const char *bytes, const size_t *piece_offsets,
                                   const size_t *line_offsets, size_t count, spm_result *result,
                                   char *error, size_t error_capacity) {
    try {
        result->clear();
        std::vector<std::string_view> pieces;
        std::string text;
        for (size_t i = 0; i < count; ++i) {
            pieces.clear();
            for (size_t j = line_offsets[i]; j < line_offsets[i + 1]; ++j)
                pieces.emplace_back(bytes + piece_offsets[j], piece_offsets[j + 1] - piece_offsets[j]);
            auto status = p->processor.Decode(pieces, &text);
            if (!status.ok())
                return fail(error, error_capacity, status, "line " + std::to_string(i) + ": ");
            result->bytes.append(text);
            result->line_offsets.push_back(result->bytes.size());
        }
        return 0;
    } catch (const std::exception &e) {
        return fail_exception(error, error_capacity, e.what());
    }
}

// MARK: - Training

spm_status spm_train(const char *const *keys, const char *const *values, size_t count, char *error,
                     size_t error_capacity) {
    try {
        std::unordered_map<std::string, std::string> options;
        for (size_t i = 0; i < count; ++i) options[keys[i]] = values[i];
        auto status = spm::SentencePieceTrainer::Train(options);
        if (!status.ok()) return fail(error, error_capacity, status);
        return 0;
    } catch (const std::exception &e) {
        return fail_exception(error, error_capacity, e.what());
    }
}

}  // extern "C"
