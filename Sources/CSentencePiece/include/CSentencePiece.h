// The C API over libsentencepiece that Swift sees. Filled in by the Tokenize work.
#ifndef CSENTENCEPIECE_H
#define CSENTENCEPIECE_H
#ifdef __cplusplus
extern "C" {
#endif

/// The libsentencepiece major.minor this shim was built against, e.g. "0.1".
const char *spm_shim_version(void);

#ifdef __cplusplus
}
#endif
#endif
