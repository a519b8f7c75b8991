/* attnviz-dump.h: a recording written for scripts
 *
 * Three formats carry the same content:
 *   npy:         a folder of .npy arrays plus metadata.json
 *   safetensors: one file, the arrays as tensors and the metadata as
 *                __metadata__ strings (JSON-encoded where not scalar)
 *   json:        one file, everything inline (small inputs only)
 * Arrays: attentions (L, H, T, T) f32, input_ids (T) i32, token_spans (T, 2)
 * i32 byte offsets into the text, logits_last (V) f32, loss (T) f32 (NaN
 * where undefined), layers (L) i32 and heads (H) i32 naming what was recorded.
 * Encoder-decoder runs (rec->S > 0) add encoder_attentions (n_enc_layer, H,
 * S, S) f32, cross_attentions (L, H, T, S) f32 (every layer and head: rows
 * are the target tokens, columns the source tokens), source_ids (S) i32 and
 * source_spans (S, 2) i32; the metadata lists the source tokens beside the
 * target ones.  input_ids and tokens are then the decoder's input (BOS and
 * the target).
 */
#pragma once

#include <glib.h>

#include "attnviz-recording.h"
#include "attnviz-tokenizer.h"

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_DUMP_NPY,
  ATTNVIZ_DUMP_SAFETENSORS,
  ATTNVIZ_DUMP_JSON,
} AttnvizDumpFormat;

/* The largest T the json format accepts: beyond it the file is unreadable. */
#define ATTNVIZ_DUMP_JSON_MAX_T 512

typedef struct {
  const char *model_path;
  const char *architecture;
  const char *model_type;
  const char *variant;          /* "model" for the model as it is */
  const AttnvizToken *tokens;   /* (T) spans and special flags, or NULL for --ids */
  char **token_texts;           /* (T) the text of each token, UTF-8 */
  /* encoder-decoder runs: the source side (rec->S tokens) */
  const AttnvizToken *source_tokens; /* (S) spans into the source text, or NULL */
  char **source_texts;          /* (S) */
} AttnvizDumpInfo;

gboolean attnviz_dump_format_from_string (const char *s, AttnvizDumpFormat *format);

/* The metadata object every format carries. */
char *attnviz_dump_metadata_json (const AttnvizRecording *rec, const AttnvizDumpInfo *info, gboolean pretty);

gboolean attnviz_dump_write (const AttnvizRecording *rec,
                             const AttnvizDumpInfo *info,
                             AttnvizDumpFormat format,
                             const char *path,
                             GError **error);

G_END_DECLS
