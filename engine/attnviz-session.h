/* attnviz-session.h: attention opened again from a file, without its model
 *
 * Two kinds of file open as a session, and both become an AttnvizRecording
 * with dense attention (attnviz_attention_new_dense ()), tokens with their
 * text, and what is known of the run (model, variant):
 *
 * A dump (`attnviz dump`, any of its formats; attnviz-dump.h):
 *   npy          a folder holding metadata.json and attentions.npy
 *   safetensors  a file whose __metadata__ "format" is "attnviz-dump"
 *   json         a file whose root holds "metadata" and "attentions"
 *   read back:   attentions (L, H, T, T), layers (L), heads (H), input_ids
 *                (T), token_spans (T, 2), loss (T), and when present
 *                topk_ids / topk_probs (T, K) and logits_last (V); from the
 *                metadata: model, model_type, architecture, variant,
 *                causal, n_layer, n_head, n_tokens and each token's id,
 *                text and span.  Every count is checked against the
 *                arrays' shapes.  An encoder-decoder's dump adds
 *                encoder_attentions (n_enc_layer, H, S, S), cross_attentions
 *                (L, H, T, S) and the source tokens (rec->S, rec->enc_attention,
 *                rec->cross_attention, as its run had them).  Pooled (--pool)
 *                and banded (--rows) dumps are refused in one line.
 *
 * Attention from another framework (PyTorch, JAX, ...):
 *   .npy         of shape (L, H, T, T), (H, T, T), (T, T), (L, H, T, S) with
 *                S source tokens, or (L, 1, H, T, T) (Hugging Face's tuple
 *                stacked, a batch of one); any dtype the npy reader takes
 *   .safetensors an "attentions" tensor of those shapes, or Hugging Face's
 *                tuple saved as "attentions.0", "attentions.1", ... (each
 *                (H, T, T) or (1, H, T, T), one per layer, from 0 without a
 *                gap), F32, F16, BF16 or F64
 *   tokens:      a JSON list of strings, or a text file of one token per
 *                line (a last newline ends the last line); none: "0", "1",
 *                ... .  The count must be T (and S for the source side).
 *   A square tensor whose cells right of the diagonal are all exactly 0 is
 *   taken as causal (those cells are then drawn as masked).  Rows (L, H,
 *   T, S) with S != T are a cross-attention: target rows, source columns
 *   (rec->cross_attention, rec->S = S, and no rec->attention).
 *
 * Checks, each a one-line G_IO_ERROR naming the file: a NaN or infinite
 * weight, a negative weight, a shape that is none of the above, a count
 * that disagrees with another; rows that do not sum to 1 (within
 * ATTNVIZ_SESSION_ROW_SUM_TOL) are allowed, counted in n_rows_off for a
 * one-line warning (attnviz_session_describe_rows ()), since people also
 * look at scores.  Memory: the attention as float32 must fit MAX_BYTES
 * (ATTNVIZ_SESSION_MAX_BYTES when 0), or the file is refused before it is
 * read whole (G_IO_ERROR_NO_SPACE).
 */
#pragma once

#include <glib.h>

#include "attnviz-dump.h"
#include "attnviz-recording.h"
#include "attnviz-tokenizer.h"

G_BEGIN_DECLS

/* The attention a session may hold, as float32: 2 GiB. */
#define ATTNVIZ_SESSION_MAX_BYTES ((guint64) 2 << 30)
/* How far a row's sum may be from 1 before it is counted as off. */
#define ATTNVIZ_SESSION_ROW_SUM_TOL 1e-3

typedef enum {
  ATTNVIZ_SESSION_DUMP,     /* written by attnviz dump */
  ATTNVIZ_SESSION_FOREIGN,  /* attention made elsewhere */
} AttnvizSessionOrigin;

typedef struct {
  AttnvizSessionOrigin origin;
  AttnvizDumpFormat format;   /* the file's: npy (a dump folder or a foreign .npy), safetensors or json */
  char *path;                 /* what was opened */
  AttnvizRecording *rec;      /* dense attention, ids, loss (NaN where unknown), variant; a dump's top-k
                               * and last logits when it had them.  A foreign tensor's ids are the
                               * positions 0 .. T - 1 (there is no vocabulary) */
  char **token_texts;         /* (T + 1) NULL-terminated: the rows' labels */
  char **source_texts;        /* (S + 1) the source side's labels when rec->S > 0, else NULL */
  AttnvizToken *tokens;       /* (T) ids, byte spans and special flags of a dump, else NULL */
  AttnvizToken *source_tokens;/* (S) the same of an encoder-decoder dump's source, else NULL */
  gboolean numbered;          /* no token list was given: the labels are positions */
  char *model_path;           /* the dump's "model", NULL for a foreign tensor */
  char *model_type;           /* the dump's "model_type", "" when unknown */
  char *architecture;         /* the dump's "architecture", "" when unknown */
  char *engine;               /* the dump's "engine" ("attnviz 0.x"), NULL for a foreign tensor */
  char *tensor;               /* where the attention came from: "attentions", "attentions.0-11" */
  int n_dims;                 /* the tensor's shape as it was in the file */
  gint64 shape[5];
  int n_rows_off;             /* rows whose sum is more than ATTNVIZ_SESSION_ROW_SUM_TOL from 1 */
  int n_rows;                 /* rows checked: L * H * T */
  double worst_sum;           /* the sum furthest from 1, and where: */
  int worst_layer, worst_head, worst_row;
} AttnvizSession;

/* Opens PATH (a dump or a foreign tensor: above).  TOKENS and
 * SOURCE_TOKENS (may be NULL) label a foreign tensor's rows and columns; a
 * dump carries its own (giving them is a G_OPTION_ERROR).  MAX_BYTES: 0
 * for ATTNVIZ_SESSION_MAX_BYTES. */
AttnvizSession *attnviz_session_load (const char *path,
                                      const char *tokens,
                                      const char *source_tokens,
                                      guint64 max_bytes,
                                      GError **error);
/* The same of the LEN bytes at DATA, taken as a file named NAME: a
 * foreign .npy or .safetensors, or a dump's .safetensors or .json by
 * NAME's extension (the fuzzer's way in; no token files). */
AttnvizSession *attnviz_session_load_bytes (const guint8 *data,
                                            gsize len,
                                            const char *name,
                                            guint64 max_bytes,
                                            GError **error);
void attnviz_session_free (AttnvizSession *self);

/* Whether PATH looks like something attnviz_session_load () opens rather
 * than a model: a .npy, a .json (a dump folder's metadata.json opens the
 * folder), a dump folder (metadata.json or attentions.npy, even when the
 * other is missing, and no config.json; a folder named as one of those
 * files too, so that its error says it is a folder), or a
 * .safetensors without a config.json beside it, or, when LOOK_INSIDE,
 * with one but with the dump's __metadata__ (which reads the file's
 * header: not on a GUI's main loop). */
gboolean attnviz_session_is_session_path (const char *path, gboolean look_inside);

/* The name figures give the run: the dump's model's display name, or the
 * file's own name. */
char *attnviz_session_display_name (const AttnvizSession *self);

/* One line on the rows that do not sum to 1, or NULL when all do. */
char *attnviz_session_describe_rows (const AttnvizSession *self);

/* A summary of a screen or less: the file, its kind and shape, the model
 * and variant, the tokens, the row-sum check (attnviz view --info). */
char *attnviz_session_describe (const AttnvizSession *self);

/* Whether A and B hold the same tokens (ids and texts, both sides), so
 * that their matrices can be compared cell by cell. */
gboolean attnviz_session_same_tokens (const AttnvizSession *a, const AttnvizSession *b);

/* Writes the session as a dump in FORMAT at PATH through the dump writer
 * (atomically, under its output rules).  A foreign cross-attention tensor
 * (S > 0 without a self-attention) has no dump layout of its own:
 * G_IO_ERROR_NOT_SUPPORTED. */
gboolean attnviz_session_save (const AttnvizSession *self, AttnvizDumpFormat format, const char *path,
                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizSession, attnviz_session_free)

G_END_DECLS
