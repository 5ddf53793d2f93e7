import CSentencePiece
import CICU
