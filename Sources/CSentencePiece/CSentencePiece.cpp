#include "CSentencePiece.h"
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

extern "C" const char *spm_shim_version(void) { return "0.1"; }
