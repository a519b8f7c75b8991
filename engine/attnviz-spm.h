/* attnviz-spm.h: SentencePiece's model file (.spm, .model), read
 *
 * A SentencePiece model is a protocol buffer (sentencepiece_model.proto's
 * ModelProto).  attnviz reads what segmenting needs: the pieces with their
 * scores and types, the trainer spec's model type and special ids, and the
 * normalizer spec's name, character map and white-space flags.  The file format is documented field by field at
 * the top of attnviz-spm.c.
 */
#pragma once

#include <glib.h>

#include "attnviz-charsmap.h"

G_BEGIN_DECLS

/* ModelProto.SentencePiece.Type, numbered as in the .proto */
typedef enum {
  ATTNVIZ_SPM_NORMAL = 1,
  ATTNVIZ_SPM_UNKNOWN = 2,
  ATTNVIZ_SPM_CONTROL = 3,
  ATTNVIZ_SPM_USER_DEFINED = 4,
  ATTNVIZ_SPM_UNUSED = 5,
  ATTNVIZ_SPM_BYTE = 6,
} AttnvizSpmPieceType;

/* TrainerSpec.ModelType */
typedef enum {
  ATTNVIZ_SPM_MODEL_UNIGRAM = 1,
  ATTNVIZ_SPM_MODEL_BPE = 2,
  ATTNVIZ_SPM_MODEL_WORD = 3,
  ATTNVIZ_SPM_MODEL_CHAR = 4,
} AttnvizSpmModelType;

typedef struct {
  char *piece;               /* UTF-8, NUL-terminated, never empty */
  float score;               /* log probability (Unigram) or merge priority (BPE) */
  AttnvizSpmPieceType type;
} AttnvizSpmPiece;

typedef struct {
  AttnvizSpmPiece *pieces;   /* (n_pieces); a piece's id is its index */
  int n_pieces;
  AttnvizSpmModelType model_type;
  int unk_id, bos_id, eos_id, pad_id;   /* -1: none (the trainer's defaults 0, 1, 2, -1 when absent) */
  gboolean byte_fallback;
  char *normalizer_name;     /* "nmt_nfkc", "identity", ...; NULL when the file names none */
  gboolean has_charsmap;     /* a non-empty precompiled_charsmap is present */
  AttnvizCharsmap *charsmap; /* it, read (NULL without one): what normalizes the text */
  gboolean add_dummy_prefix; /* a "▁" before the text (default TRUE) */
  gboolean remove_extra_whitespaces; /* spaces at either end dropped, a run as one (default TRUE) */
} AttnvizSpmModel;

/* Reads the model in DATA (LEN bytes); FILENAME names it in errors.  A file
 * that is not a SentencePiece model (a bad varint or length, a wire type
 * ModelProto does not use there, a piece that is not UTF-8, a broken
 * precompiled_charsmap), one with no
 * pieces or whose special ids are not among its pieces, is a one-line
 * G_IO_ERROR_INVALID_DATA naming FILENAME and the problem. */
AttnvizSpmModel *attnviz_spm_parse (const guint8 *data, gsize len, const char *filename, GError **error);
/* The same from the regular file at PATH. */
AttnvizSpmModel *attnviz_spm_load (const char *path, GError **error);
void attnviz_spm_free (AttnvizSpmModel *model);

/* "unigram", "bpe", "word", "char" */
const char *attnviz_spm_model_type_to_string (AttnvizSpmModelType type);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizSpmModel, attnviz_spm_free)

G_END_DECLS
