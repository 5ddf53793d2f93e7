// ICU renames its C functions with a version suffix through macros (ubrk_open -> ubrk_open_72),
// which Swift cannot see through; the static inline wrappers below give Swift stable names.
#include <unicode/ubrk.h>
#include <unicode/utypes.h>
