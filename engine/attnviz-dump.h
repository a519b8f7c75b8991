/* attnviz-dump.h: a recording written for scripts, head by head
 *
 * Three formats carry the same content:
 *   npy:         a folder of .npy arrays plus metadata.json
 *   safetensors: one file, the arrays as tensors and the metadata as
 *                __metadata__ strings (JSON-encoded where not scalar)
 *   json:        one file, everything inline (small inputs only)
 *
 * Arrays (L recorded layers, H recorded heads, T tokens, V the vocabulary,
 * K = rec->top_k candidates):
 *   attentions (L, H, R, T) f32        every recorded head, rows queries and
 *                                      columns keys; R = T, or with a band of
 *                                      query rows A..B (inclusive) R = B - A + 1
 *                                      and row r is query A + r (metadata:
 *                                      attentions_row_offset = A)
 *   attentions_pooled_mean (L, H, n, m) f32
 *                                      instead of attentions when pooled into
 *                                      N x N bins (n = min (N, T) row bins, m =
 *                                      min (N, T) column bins): each bin's mean
 *                                      (masked cells count as zeros); bin i of n
 *                                      over T tokens covers [floor (i T / n),
 *                                      floor ((i + 1) T / n)), as the attention
 *                                      source pools (attnviz-attention.h)
 *   attentions_pooled_max (L, H, n, m) f32   the bins' largest weight, when asked
 *   input_ids (T) i32, token_spans (T, 2) i32 byte offsets into the text
 *   loss (T) f32                       NaN where undefined
 *   topk_ids (T, K) i32, topk_probs (T, K) f32
 *                                      each position's K most likely next
 *                                      tokens, most likely first, and their
 *                                      probabilities (softmax of the logits);
 *                                      K = 10 unless --top-k says
 *   next_prob (T) f32                  the probability of the token that
 *                                      actually follows (causal; an MLM: of
 *                                      the token itself), exp (-loss), NaN
 *                                      where the loss is
 *   lens_topk_ids (n_layer, T, K) i32, lens_topk_probs (n_layer, T, K) f32
 *                                      with --logit-lens: the same top-k read
 *                                      from the residual stream after each
 *                                      layer through the final norm and the
 *                                      LM head (the last layer's = topk_*)
 *   logits_last (V) f32                the last position's logits
 *   logits (T, V) f32                  every position's, when asked
 *   layers (L) i32, heads (H) i32      the model indices recorded
 * When asked (decoder-only and encoder runs):
 *   value_weighted (L, H, R, T) f32    p_ij ||v_j W_O^h|| (Kobayashi et al.;
 *                                      attnviz-attention.h), rows as attentions
 *   rollout (T, T) f32                 attention rollout over the recorded layers
 *   flow (T, T) f32                    attention flow (attnviz-rollout.h)
 * Encoder-decoder runs (rec->S > 0) add encoder_attentions (n_enc_layer, H,
 * S, S) f32, cross_attentions (L, H, R, S) f32 (every layer and head: rows
 * are the target tokens, the same band as attentions; columns the source
 * tokens), or their _pooled_mean / _pooled_max, source_ids (S) i32 and
 * source_spans (S, 2) i32; the metadata lists the source tokens beside the
 * target ones.  input_ids and tokens are then the decoder's input (BOS and
 * the target).  The logits, top-k and loss exist only for models with an
 * output layer.
 *
 * Memory: the attention is read through the run's AttnvizAttention a band
 * of rows at a time and written straight into the file, so a dump holds at
 * most a band of one head per thread (or one head's bins), whatever T is;
 * --logits all streams every block of logits into the file while the
 * forward pass computes it (AttnvizRunOptions.logits_func).  DESIGN.md
 * ("Outputs for scripts") says how.
 */
#pragma once

#include <glib.h>

#include "attnviz-forward.h"
#include "attnviz-recording.h"
#include "attnviz-tokenizer.h"

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_DUMP_NPY,
  ATTNVIZ_DUMP_SAFETENSORS,
  ATTNVIZ_DUMP_JSON,
} AttnvizDumpFormat;

typedef enum {
  ATTNVIZ_DUMP_LOGITS_LAST,  /* logits_last (V) only */
  ATTNVIZ_DUMP_LOGITS_ALL,   /* logits (T, V) as well */
} AttnvizDumpLogits;

/* The largest T the json format accepts: beyond it the file is unreadable. */
#define ATTNVIZ_DUMP_JSON_MAX_T 512

typedef struct {
  AttnvizDumpFormat format;
  AttnvizDumpLogits logits;
  int pool;                 /* > 0: each head pooled into pool x pool bins (capped at its size), not whole */
  gboolean pool_max;        /* with pool: the bins' max as well as their mean */
  int row_first, row_last;  /* row_last >= 0: only query rows row_first..row_last (inclusive) */
  gboolean rollout;         /* add rollout (T, T) (attnviz-rollout.h) */
  gboolean flow;            /* add flow (T, T), T <= ATTNVIZ_FLOW_MAX_TOKENS */
  gboolean value_weighted;  /* add value_weighted, shaped as attentions (not with pool) */
  int top_k;                /* candidates per position (topk_*, lens_*): 0 for ATTNVIZ_TOP_K, at most the
                             * vocabulary */
  gboolean logit_lens;      /* add lens_topk_ids and lens_topk_probs (the run keeps them) */
} AttnvizDumpOptions;

/* Everything whole, logits_last only, npy. */
#define ATTNVIZ_DUMP_OPTIONS_INIT { ATTNVIZ_DUMP_NPY, ATTNVIZ_DUMP_LOGITS_LAST, 0, FALSE, 0, -1 }

typedef struct {
  const char *model_path;
  const char *architecture;
  const char *model_type;
  const char *variant;          /* canonical spec (attnviz_variant_to_string); "model" for the model as it is */
  const AttnvizToken *tokens;   /* (T) spans and special flags, or NULL for --ids */
  char **token_texts;           /* (T) the text of each token, UTF-8 */
  /* encoder-decoder runs: the source side (rec->S tokens) */
  const AttnvizToken *source_tokens; /* (S) spans into the source text, or NULL */
  char **source_texts;          /* (S) */
} AttnvizDumpInfo;

gboolean attnviz_dump_format_from_string (const char *s, AttnvizDumpFormat *format);
gboolean attnviz_dump_logits_from_string (const char *s, AttnvizDumpLogits *logits);

/* Whether PATH may take a dump in FORMAT (attnviz_output_check, or for
 * npy attnviz_output_check_dir with the names a dump folder holds), before
 * any work is done. */
gboolean attnviz_dump_check_output (AttnvizDumpFormat format, const char *path, GError **error);

/* A dump written while its run goes on.  open checks OPTIONS against what
 * the run of MODEL over IDS (T tokens; and SRC_IDS, S source tokens, for
 * an encoder-decoder) under RUN will record (a G_OPTION_ERROR naming the
 * option: a band of rows past T, --pool with --rows, all logits of a model
 * without an output layer, json past ATTNVIZ_DUMP_JSON_MAX_T tokens),
 * creates the output (the npy folder's temporary, the safetensors file
 * with its header) and changes RUN so the run feeds the dump: its
 * logits_func streams the logits into the file (json: keep_logits), and
 * the attention keeps no more overview than it must.  IDS, SRC_IDS and
 * INFO must stay alive until finish or abort.
 *
 * finish writes the attention head by head from REC (the run made with
 * RUN) and the rest, then puts the output in place; abort removes it.
 * Both free the dump. */
typedef struct _AttnvizDump AttnvizDump;

AttnvizDump *attnviz_dump_open (const char *path,
                                const AttnvizDumpOptions *options,
                                const AttnvizModel *model,
                                AttnvizRunOptions *run,
                                const gint32 *ids,
                                int T,
                                const gint32 *src_ids,
                                int S,
                                const AttnvizDumpInfo *info,
                                GError **error);
/* A small text file to write with the dump: inside an npy folder (NAME
 * must be one of the names such a folder holds: metrics.json,
 * metrics.csv), else beside the file as OUT's name without its extension,
 * ".", NAME (out.safetensors -> out.metrics.json), atomically.  Copied. */
void attnviz_dump_add_file (AttnvizDump *self, const char *name, const char *contents);
gboolean attnviz_dump_finish (AttnvizDump *self, const AttnvizRecording *rec, GError **error);
void attnviz_dump_abort (AttnvizDump *self);
/* Whether writing the logits failed during the run: the run's error is
 * then the dump's (it names the output, not the model). */
gboolean attnviz_dump_failed (const AttnvizDump *self);

/* A recording already made, in one call (--logits all needs rec->logits). */
gboolean attnviz_dump_write (const AttnvizRecording *rec,
                             const AttnvizDumpInfo *info,
                             const AttnvizDumpOptions *options,
                             const char *path,
                             GError **error);

G_END_DECLS
