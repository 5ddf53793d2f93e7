// The only C++ in the package: CSentencePiece.h implemented over libsentencepiece 0.1.97.
// Every entry point catches C++ exceptions and turns them into a status and a one-line message.
#include "CSentencePiece.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <exception>
#include <mutex>
#include <shared_mutex>
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

/// The processor plus a memo of encoded words.
///
/// Encoding a line equals encoding each space-separated word on its own and concatenating the ids
/// when no
/// piece spans a word boundary: pieces carry U+2581 only as their first character
/// (split_by_whitespace), the
/// dummy prefix gives every word its leading U+2581, and extra whitespace is collapsed. Unigram
/// Viterbi and
/// BPE merges then never look across a word boundary. One exception: when two segmentations of a
/// word score
/// nearly the same, e.g. "000" as "00 0" or "0 00", the unigram Viterbi compares float sums that
/// start from
/// the score accumulated before the word, and rounding can pick either. So each memoised word keeps
/// the gap
/// between its best and runner-up segmentation, and a line uses the memo for a word only when the
/// gap beats
/// the worst rounding the line can produce (`rounding_bound`); otherwise the line is encoded whole.
/// Exact
/// ties (gap 0) are therefore never taken from the memo. The gap comes from a two-best search over
/// every
/// vocabulary piece matching the word (a superset of SentencePiece's lattice, so its runner-up is
/// at least
/// as close as SentencePiece's; SentencePiece's own n-best costs ~50 µs a word).
/// `decide_word_cache` checks
/// the other conditions on the loaded model; the tests and the benchmark compare every line with
/// spm_encode.
struct spm_processor {
    spm::SentencePieceProcessor processor;
    bool word_cache_allowed = false;
    bool word_cache_enabled = false;
    /// Unigram models answer n-best queries; their ties need the check above. BPE breaks ties by
    /// position
    /// within the word, so its words are always stable.
    bool has_nbest = false;
    /// For the tie check: the unknown node's score (SentencePiece's min_score - kUnkPenalty).
    double unknown_score = 0;
    /// Every prefix of every piece that can match text (all but the unknown piece), for the tie
    /// check's
    /// forward search: open addressing on FNV-1a, keys are views into the processor's own piece
    /// strings.
    struct Prefix {
        uint32_t hash = 0;
        int32_t id = -2;  // -2 empty slot, -1 a prefix only, else the piece id
        float score = 0;
        uint32_t text = 0;  // index into prefix_texts
    };
    std::vector<Prefix> prefixes;  // 16-byte slots, size a power of two, at most 3/4 full
    std::vector<std::string_view> prefix_texts;
    /// Per id: the piece, its score, whether it is the unknown piece (copies, to skip the
    /// processor's
    /// status checks in the tie check).
    std::vector<std::string_view> piece_text;
    std::vector<float> piece_score;
    std::vector<char> piece_unknown;
    /// The memo: open addressing on a 64-bit FNV-1a hash, keys and ids in two flat arenas, so a
    /// look-up
    /// touches two cache lines. Readers hold `cache_mutex` shared for a whole line; adding words
    /// takes it
    /// exclusively.
    struct Slot {
        uint64_t hash = 0;      // a word of up to 8 bytes is its own hash (the bytes, packed): no key check
        uint32_t key = 0;       // offset in memo_keys (longer words), or the first inline id
        uint32_t ids = 0;       // offset in memo_ids, or the second inline id
        uint16_t key_length = 0;
        uint16_t id_count = 0;
        float gap = 0;          // score gap to the runner-up segmentation; < 0 never memoisable
        bool used = false;
        bool inline_ids = false;  // a short word with at most two ids keeps them in `key` and `ids`
    };
    mutable std::shared_mutex cache_mutex;
    mutable std::vector<Slot> memo_slots;
    mutable size_t memo_count = 0;
    mutable std::vector<char> memo_keys;
    mutable std::vector<int> memo_ids;
    static constexpr size_t max_cache_entries = 1 << 21;
    static constexpr size_t max_cached_word_bytes = 64;
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

constexpr std::string_view kMetaSymbol = "\xE2\x96\x81";  // U+2581, SentencePiece's space marker

/// Calls `body` with each non-empty run of bytes between ASCII spaces.
template <typename Body>
void for_each_word(std::string_view line, Body body) {
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ') ++i;
        if (i > start) body(line.substr(start, i - start));
    }
}

/// Whether word-by-word encoding provably equals whole-line encoding for this model (see
/// spm_processor).
bool decide_word_cache(const spm::SentencePieceProcessor &sp) {
    const int size = sp.GetPieceSize();
    for (int id = 0; id < size; ++id) {
        const std::string &piece = sp.IdToPiece(id);
        if (piece.find(kMetaSymbol, 1) != std::string::npos) return false;  // a piece spans a word boundary
        if (piece.find(' ') != std::string::npos) return false;
    }
    if (sp.IsUnknown(sp.PieceToId(kMetaSymbol))) return false;  // unknown runs could merge across words
    // Dummy prefix and whitespace collapsing, observed rather than read from the normalizer spec.
    const char *probes[] = {"a b", "a  b", " a b ", "ab. Cd", "x\ty z", "1 2"};
    for (const char *probe : probes) {
        std::vector<int> whole, word_ids, joined;
        if (!sp.Encode(probe, &whole).ok()) return false;
        bool ok = true;
        for_each_word(probe, [&](std::string_view word) {
            ok = ok && sp.Encode(word, &word_ids).ok();
            joined.insert(joined.end(), word_ids.begin(), word_ids.end());
        });
        if (!ok || whole != joined) return false;
    }
    return true;
}

constexpr uint32_t kFnvBasis = 2166136261u;
inline uint32_t fnv_step(uint32_t h, unsigned char c) { return (h ^ c) * 16777619u; }

/// The slot holding `text` (hash `h`), or the empty slot where it would go.
spm_processor::Prefix &prefix_slot(spm_processor &p, uint32_t h, std::string_view text) {
    size_t mask = p.prefixes.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        auto &slot = p.prefixes[i];
        if (slot.id == -2 || (slot.hash == h && p.prefix_texts[slot.text] == text)) return slot;
    }
}

const spm_processor::Prefix *find_prefix(const spm_processor &p, uint32_t h, std::string_view text) {
    size_t mask = p.prefixes.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const auto &slot = p.prefixes[i];
        if (slot.id == -2) return nullptr;
        if (slot.hash == h && p.prefix_texts[slot.text] == text) return &slot;
    }
}

size_t utf8_length(std::string_view text) {
    size_t n = 0;
    for (unsigned char c : text) n += (c & 0xC0) != 0x80;
    return n;
}

void configure(spm_processor &p) {
    const auto &sp = p.processor;
    p.word_cache_allowed = decide_word_cache(sp);
    spm::ImmutableNBestSentencePieceText probe;
    p.has_nbest = sp.NBestEncode("a", 2, probe.mutable_proto()).ok();
    double min_score = 0;
    bool user_defined = false;
    for (int id = 0; id < sp.GetPieceSize(); ++id) {
        if (sp.IsControl(id) || sp.IsUnknown(id) || sp.IsUnused(id) || sp.IsByte(id)) continue;
        min_score = std::min(min_score, double(sp.GetScore(id)));
        // User-defined pieces score 0 and are scored specially inside the lattice; leave them to
        // SentencePiece.
        user_defined = user_defined || sp.GetScore(id) == 0;
    }
    // Every piece but the unknown one may sit in the check's lattice (a superset of
    // SentencePiece's).
    size_t total = 0;
    for (int id = 0; id < sp.GetPieceSize(); ++id) total += utf8_length(sp.IdToPiece(id));
    size_t capacity = 16;
    while (capacity * 3 < 4 * (total + 1)) capacity *= 2;
    p.prefixes.assign(capacity, spm_processor::Prefix());
    for (int id = 0; id < sp.GetPieceSize(); ++id) {
        if (sp.IsUnknown(id)) continue;
        std::string_view piece = sp.IdToPiece(id);
        uint32_t h = kFnvBasis;
        for (size_t i = 0; i < piece.size(); ++i) {
            h = fnv_step(h, static_cast<unsigned char>(piece[i]));
            bool boundary = i + 1 == piece.size() || (static_cast<unsigned char>(piece[i + 1]) & 0xC0) != 0x80;
            if (!boundary) continue;
            auto &slot = prefix_slot(p, h, piece.substr(0, i + 1));
            if (slot.id == -2) {
                slot.hash = h;
                slot.text = static_cast<uint32_t>(p.prefix_texts.size());
                p.prefix_texts.push_back(piece.substr(0, i + 1));
                slot.id = -1;
            }
            if (i + 1 == piece.size()) {
                slot.id = id;
                slot.score = sp.GetScore(id);
            }
        }
    }
    for (int id = 0; id < sp.GetPieceSize(); ++id) {
        p.piece_text.push_back(sp.IdToPiece(id));
        p.piece_score.push_back(sp.GetScore(id));
        p.piece_unknown.push_back(sp.IsUnknown(id) ? 1 : 0);
    }
    p.unknown_score = min_score - 10.0;  // kUnkPenalty in SentencePiece's unigram model
    if (p.has_nbest && user_defined) p.word_cache_allowed = false;
    p.word_cache_enabled = p.word_cache_allowed;
}

/// How far a word's segmentation `ids` scores above every other segmentation of the word (infinity
/// when
/// there is no other, or for models without n-best: BPE breaks ties by position within the word);
/// negative
/// when the memo must not be used for it (an unknown piece, or SentencePiece chose another path).
float stability_gap(const spm_processor &p, const std::vector<int> &ids) {
    const float always = std::numeric_limits<float>::infinity();
    if (!p.has_nbest) return always;
    thread_local std::string normalized;
    thread_local std::vector<size_t> bounds;
    thread_local std::vector<std::pair<double, double>> best;
    normalized.clear();
    double chosen = 0;
    for (int id : ids) {
        if (id < 0 || size_t(id) >= p.piece_text.size() || p.piece_unknown[id]) {
            return -1;  // an unknown's piece is its surface, not its normalized text
        }
        normalized += p.piece_text[id];
        chosen += p.piece_score[id];
    }
    // Character boundaries of the normalized word.
    bounds.clear();
    for (size_t i = 0; i < normalized.size(); ++i)
        if ((static_cast<unsigned char>(normalized[i]) & 0xC0) != 0x80) bounds.push_back(i);
    bounds.push_back(normalized.size());
    const size_t n = bounds.size() - 1;
    const double none = -1e30;
    // best[k] = the two best scores of distinct segmentations of the first k characters, filled
    // forward:
    // from each start, extend the candidate piece one character at a time while it is a prefix of a
    // piece.
    best.assign(n + 1, {none, none});
    best[0] = {0, none};
    auto offer = [&](size_t end, double score) {
        auto &slot = best[end];
        if (score > slot.first) {
            slot.second = slot.first;
            slot.first = score;
        } else if (score > slot.second) {
            slot.second = score;
        }
    };
    for (size_t begin = 0; begin < n; ++begin) {
        const auto from = best[begin];
        if (from.first <= none) continue;
        auto relax = [&](size_t end, double score) {
            offer(end, from.first + score);
            if (from.second > none) offer(end, from.second + score);
        };
        uint32_t h = kFnvBasis;
        bool single_char_piece = false;
        for (size_t end = begin + 1; end <= n; ++end) {
            for (size_t b = bounds[end - 1]; b < bounds[end]; ++b)
                h = fnv_step(h, static_cast<unsigned char>(normalized[b]));
            std::string_view text(normalized.data() + bounds[begin], bounds[end] - bounds[begin]);
            const auto *slot = find_prefix(p, h, text);
            if (slot == nullptr) break;  // no piece starts with `text`, so none with anything longer
            if (slot->id >= 0) {
                relax(end, slot->score);
                if (end == begin + 1) single_char_piece = true;
            }
        }
        // SentencePiece adds an unknown node for a character no single-character piece covers.
        if (!single_char_piece) relax(begin + 1, p.unknown_score);
    }
    const auto &result = best[n];
    if (std::abs(result.first - chosen) > 1e-3) return -1;  // SentencePiece chose another path
    if (result.second <= none) return always;
    return static_cast<float>(result.first - result.second);
}

/// The memo key of a word: its bytes packed for words up to 8 bytes (so equal keys and lengths mean equal
/// words), 64-bit FNV-1a for longer ones (checked against the stored bytes).
uint64_t word_hash(std::string_view word) {
    if (word.size() <= 8) {
        uint64_t packed = 0;
        std::memcpy(&packed, word.data(), word.size());
        return packed;
    }
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : word) h = (h ^ c) * 1099511628211ull;
    return h;
}

/// The memo bucket for a key (a 64-bit finalizer, so packed short words spread over the table).
size_t memo_bucket(uint64_t h, size_t mask) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return static_cast<size_t>(h) & mask;
}

/// The memo slot of `word`, or nullptr. Caller holds `cache_mutex`.
const spm_processor::Slot *memo_find(const spm_processor &p, uint64_t h, std::string_view word) {
    if (p.memo_slots.empty()) return nullptr;
    size_t mask = p.memo_slots.size() - 1;
    for (size_t i = memo_bucket(h, mask);; i = (i + 1) & mask) {
        const auto &slot = p.memo_slots[i];
        if (!slot.used) return nullptr;
        if (slot.hash == h && slot.key_length == word.size() &&
            (word.size() <= 8 ||
             std::memcmp(p.memo_keys.data() + slot.key, word.data(), word.size()) == 0))
            return &slot;
    }
}

/// Adds a word (absent from the memo) with its ids and gap; returns its slot's contents, or
/// nullopt-like
/// `false` when the memo is full. Caller holds `cache_mutex` exclusively.
bool memo_add(const spm_processor &p, uint64_t h, std::string_view word, const std::vector<int> &ids,
              float gap, spm_processor::Slot *added) {
    if (p.memo_count >= spm_processor::max_cache_entries || ids.size() > 0xFFFF) return false;
    if (2 * (p.memo_count + 1) > p.memo_slots.size()) {
        std::vector<spm_processor::Slot> grown(std::max<size_t>(1024, 2 * p.memo_slots.size()));
        size_t mask = grown.size() - 1;
        for (const auto &slot : p.memo_slots) {
            if (!slot.used) continue;
            size_t i = memo_bucket(slot.hash, mask);
            while (grown[i].used) i = (i + 1) & mask;
            grown[i] = slot;
        }
        p.memo_slots.swap(grown);
    }
    size_t mask = p.memo_slots.size() - 1;
    size_t i = memo_bucket(h, mask);
    while (p.memo_slots[i].used) i = (i + 1) & mask;
    auto &slot = p.memo_slots[i];
    slot.used = true;
    slot.hash = h;
    slot.key_length = static_cast<uint16_t>(word.size());
    slot.id_count = static_cast<uint16_t>(ids.size());
    slot.gap = gap;
    slot.inline_ids = word.size() <= 8 && ids.size() <= 2;
    if (word.size() > 8) {
        slot.key = static_cast<uint32_t>(p.memo_keys.size());
        p.memo_keys.insert(p.memo_keys.end(), word.begin(), word.end());
    }
    if (slot.inline_ids) {
        slot.key = ids.size() > 0 ? static_cast<uint32_t>(ids[0]) : 0;
        slot.ids = ids.size() > 1 ? static_cast<uint32_t>(ids[1]) : 0;
    } else {
        slot.ids = static_cast<uint32_t>(p.memo_ids.size());
        p.memo_ids.insert(p.memo_ids.end(), ids.begin(), ids.end());
    }
    ++p.memo_count;
    *added = slot;
    return true;
}

/// Twice the largest float rounding a comparison of two paths of one word can suffer in a line of
/// `bytes`
/// bytes, per piece of the word: the accumulated score stays below bytes * (|min score| + unknown
/// penalty),
/// and each addition rounds by at most half an ulp of it.
float rounding_bound(const spm_processor &p, size_t bytes) {
    const float magnitude = static_cast<float>((bytes + 2) * (std::abs(p.unknown_score) + 1.0));
    return 2 * (std::nextafter(magnitude, std::numeric_limits<float>::infinity()) - magnitude);
}

/// Encodes one line to ids, word by word through the memo when every word's segmentation is
/// provably the
/// one SentencePiece would choose inside this line; otherwise encodes the line whole.
spm::util::Status encode_line(const spm_processor &p, std::string_view line, std::vector<int> *ids) {
    if (!p.word_cache_enabled) return p.processor.Encode(line, ids);
    thread_local std::vector<std::string_view> words;
    thread_local std::vector<uint64_t> hashes;
    thread_local std::vector<int> word_ids;
    words.clear();
    hashes.clear();
    bool too_long = false;
    for_each_word(line, [&](std::string_view word) {
        too_long = too_long || word.size() > spm_processor::max_cached_word_bytes;
        words.push_back(word);
        hashes.push_back(word_hash(word));
    });
    if (too_long) return p.processor.Encode(line, ids);
    const float bound = rounding_bound(p, line.size());
    // Slot contents per word (arena offsets stay valid as the memo grows); `used` false marks a
    // miss.
    thread_local std::vector<spm_processor::Slot> found;
    found.assign(words.size(), spm_processor::Slot());
    bool any_missing = false;
    {
        std::shared_lock<std::shared_mutex> lock(p.cache_mutex);
        for (size_t i = 0; i < words.size(); ++i) {
            const auto *slot = memo_find(p, hashes[i], words[i]);
            if (slot != nullptr) {
                found[i] = *slot;
            } else {
                any_missing = true;
            }
        }
    }
    if (any_missing) {
        for (size_t i = 0; i < words.size(); ++i) {
            if (found[i].used) continue;
            auto status = p.processor.Encode(words[i], &word_ids);
            if (!status.ok()) return status;
            float gap = stability_gap(p, word_ids);
            std::unique_lock<std::shared_mutex> lock(p.cache_mutex);
            if (const auto *slot = memo_find(p, hashes[i], words[i])) {
                found[i] = *slot;  // another thread added it meanwhile
            } else if (!memo_add(p, hashes[i], words[i], word_ids, gap, &found[i])) {
                lock.unlock();
                return p.processor.Encode(line, ids);  // the memo is full
            }
        }
    }
    for (size_t i = 0; i < words.size(); ++i) {
        if (!(found[i].gap > bound * float(words[i].size() + 1))) return p.processor.Encode(line, ids);
    }
    ids->clear();
    bool arena = false;
    for (const auto &slot : found) {
        if (slot.inline_ids) {
            if (slot.id_count > 0) ids->push_back(static_cast<int>(slot.key));
            if (slot.id_count > 1) ids->push_back(static_cast<int>(slot.ids));
        } else {
            arena = true;
            break;
        }
    }
    if (arena) {
        ids->clear();
        std::shared_lock<std::shared_mutex> lock(p.cache_mutex);  // the id arena may be growing elsewhere
        for (const auto &slot : found) {
            if (slot.inline_ids) {
                if (slot.id_count > 0) ids->push_back(static_cast<int>(slot.key));
                if (slot.id_count > 1) ids->push_back(static_cast<int>(slot.ids));
            } else {
                const int *first = p.memo_ids.data() + slot.ids;
                ids->insert(ids->end(), first, first + slot.id_count);
            }
        }
    }
    return spm::util::Status();
}

/// Encodes one line to pieces: the pieces of the memo's ids, except that a line with an unknown
/// piece
/// (whose piece is its surface text, not `<unk>`) is encoded whole.
spm::util::Status encode_line(const spm_processor &p, std::string_view line,
                              std::vector<std::string> *pieces, std::vector<int> &ids) {
    if (!p.word_cache_enabled) return p.processor.Encode(line, pieces);
    auto status = encode_line(p, line, &ids);
    if (!status.ok()) return status;
    for (int id : ids) {
        if (p.processor.IsUnknown(id)) return p.processor.Encode(line, pieces);
    }
    pieces->clear();
    for (int id : ids) pieces->push_back(p.processor.IdToPiece(id));
    return status;
}

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

/// Encodes lines [begin, end) into `out` (already cleared). Returns the failing line's status, if
/// any.
spm::util::Status encode_range(const spm_processor &p, const char *text, const size_t *offsets,
                               size_t begin, size_t end, spm_output output, spm_result &out,
                               size_t *failed_line) {
    std::vector<int> ids, piece_ids;
    std::vector<std::string> pieces;
    for (size_t i = begin; i < end; ++i) {
        spm::util::Status status;
        if (output == SPM_OUTPUT_IDS) {
            status = encode_line(p, line_at(text, offsets, i), &ids);
            if (status.ok()) append_ids(out, ids);
        } else {
            status = encode_line(p, line_at(text, offsets, i), &pieces, piece_ids);
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
        configure(*handle);
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
        configure(*handle);
        return handle;
    } catch (const std::exception &e) {
        fail_exception(error, error_capacity, e.what());
        return nullptr;
    }
}

void spm_free(spm_processor *processor) { delete processor; }

int32_t spm_set_word_cache(spm_processor *p, int32_t enabled) {
    std::unique_lock<std::shared_mutex> lock(p->cache_mutex);
    p->word_cache_enabled = enabled != 0 && p->word_cache_allowed;
    if (!p->word_cache_enabled) {
        p->memo_slots.clear();
        p->memo_keys.clear();
        p->memo_ids.clear();
        p->memo_count = 0;
    }
    return p->word_cache_enabled ? 1 : 0;
}

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
            auto status = encode_range(*p, text, offsets, 0, count, output, *result, &failed);
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
                    statuses[w] = encode_range(*p, text, offsets, begin, end, output, parts[w],
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
