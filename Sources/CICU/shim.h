// ICU renames its C functions with a version suffix through macros (ubrk_open -> ubrk_open_72),
// which Swift cannot see through; the static inline wrappers below give Swift stable names.
//
// Only what Tokenize's SentenceSplitter needs: the sentence break iterator and error names.
// This header deliberately includes no ICU header that defines types: Foundation on Linux carries
// its own
// ICU copy (module _FoundationICU, functions prefixed swift_), and a module importing both
// Foundation and
// ICU's own utypes.h fails with conflicting `UErrorCode` definitions. So the few ICU 72 entry
// points used
// are declared here under their versioned names, with ABI-identical plain C types: an opaque
// iterator
// pointer, UTF-16 code units as uint16_t (ICU's UChar), and ICU's int-sized enums as int32_t.
#ifndef CICU_SHIM_H
#define CICU_SHIM_H

#include <stdint.h>
#include <unicode/uvernum.h>  // macros only: U_ICU_ENTRY_POINT_RENAME and the version suffix

/// ICU's UBreakIterator, opaque.
typedef struct cicu_break_iterator cicu_break_iterator;

/// UBRK_SENTENCE in ICU's UBreakIteratorType.
#define CICU_UBRK_SENTENCE 3
/// UBRK_DONE: no more boundaries.
#define CICU_UBRK_DONE (-1)
/// U_ZERO_ERROR in ICU's UErrorCode.
#define CICU_ZERO_ERROR 0

cicu_break_iterator *U_ICU_ENTRY_POINT_RENAME(ubrk_open)(int32_t type, const char *locale,
                                                          const uint16_t *text, int32_t textLength,
                                                          int32_t *status);
void U_ICU_ENTRY_POINT_RENAME(ubrk_close)(cicu_break_iterator *bi);
int32_t U_ICU_ENTRY_POINT_RENAME(ubrk_first)(cicu_break_iterator *bi);
int32_t U_ICU_ENTRY_POINT_RENAME(ubrk_next)(cicu_break_iterator *bi);
const char *U_ICU_ENTRY_POINT_RENAME(u_errorName)(int32_t code);

/// Opens a sentence break iterator for `locale` (e.g. "de", "en@ss=standard") over `text`
/// (`length` UTF-16 units; the text must outlive the iterator). On failure returns NULL or sets
/// `*status`
/// to a positive ICU error code; `*status` must be 0 on entry.
static inline cicu_break_iterator *cicu_sentence_iterator_open(const char *locale, const uint16_t *text,
                                                               int32_t length, int32_t *status) {
    return U_ICU_ENTRY_POINT_RENAME(ubrk_open)(CICU_UBRK_SENTENCE, locale, text, length, status);
}

/// Releases a break iterator.
static inline void cicu_break_iterator_close(cicu_break_iterator *iterator) {
    U_ICU_ENTRY_POINT_RENAME(ubrk_close)(iterator);
}

/// Moves to the first boundary (0) and returns it.
static inline int32_t cicu_break_iterator_first(cicu_break_iterator *iterator) {
    return U_ICU_ENTRY_POINT_RENAME(ubrk_first)(iterator);
}

/// Moves to the next boundary and returns it, or CICU_UBRK_DONE past the last.
static inline int32_t cicu_break_iterator_next(cicu_break_iterator *iterator) {
    return U_ICU_ENTRY_POINT_RENAME(ubrk_next)(iterator);
}

/// ICU's name for an error code, e.g. "U_ILLEGAL_ARGUMENT_ERROR".
static inline const char *cicu_error_name(int32_t code) {
    return U_ICU_ENTRY_POINT_RENAME(u_errorName)(code);
}

/// True when `code` is a failure (ICU's U_FAILURE: positive codes; negative ones are warnings).
static inline int cicu_failure(int32_t code) { return code > 0 ? 1 : 0; }

#endif
