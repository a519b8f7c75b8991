/* attnviz-result.h: attention matrices a view can show
 *
 * AttnvizResult is the abstract type every view, the painter's glue, the
 * tiles and AttnvizViewState read: rows (T queries) and columns (S keys),
 * their tokens and labels, a head's or an aggregate's matrix, rectangles,
 * pooled tiles and overviews, and its colour range.  Each is immutable
 * once made; the mean and max over the heads of a layer are computed on
 * first use and kept.  It is one of four final types, each in its own
 * file:
 *
 *   AttnvizRunResult     a model's run (attnviz-run-result.h): owns the
 *                        recording; its decoder's self-attention (or the
 *                        only one); output, step, measures, loss.
 *   AttnvizRunAttention  another attention of an encoder-decoder run
 *                        (attnviz-run-attention.h), sharing its recording:
 *                        the cross-attention, whose rows are the target
 *                        tokens and whose columns the source tokens (not
 *                        square), or the encoder's self-attention.
 *   AttnvizDifference    A − B of two runs of the same tokens
 *                        (attnviz-difference.h): matrices, loss and
 *                        overviews are A's minus B's; one total variation
 *                        distance per head; variant "A: … − B: …".
 *   AttnvizRunMatrix     another matrix of a run or of one of its
 *                        attentions (attnviz-run-matrix.h): value-weighted,
 *                        rollout or flow, kept by the result it derives
 *                        from (attnviz_result_peek_matrix ()).
 *
 * The views read rows from attnviz_result_get_n_tokens () and the labels,
 * columns from the _col_ accessors; for a square result they are the same.
 */
#pragma once

#include <glib-object.h>

#include "attnviz-measures.h"
#include "attnviz-recording.h"
#include "attnviz-scale.h"
#include "attnviz-tokenizer.h"

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_AGGREGATE_HEAD,   /* one head */
  ATTNVIZ_AGGREGATE_MEAN,   /* the mean over the heads of a layer */
  ATTNVIZ_AGGREGATE_MAX,    /* the largest weight over the heads of a layer */
} AttnvizAggregate;

#define ATTNVIZ_TYPE_AGGREGATE (attnviz_aggregate_get_type ())
GType attnviz_aggregate_get_type (void) G_GNUC_CONST;
/* GTypes of the painter's enums, for properties. */
#define ATTNVIZ_TYPE_COLORMAP (attnviz_colormap_get_type ())
GType attnviz_colormap_get_type (void) G_GNUC_CONST;
#define ATTNVIZ_TYPE_SCALE_KIND (attnviz_scale_kind_get_type ())
GType attnviz_scale_kind_get_type (void) G_GNUC_CONST;
#define ATTNVIZ_TYPE_RANGE_MODE (attnviz_range_mode_get_type ())
GType attnviz_range_mode_get_type (void) G_GNUC_CONST;

/* Which attention of a run a result shows. */
typedef enum {
  ATTNVIZ_ATTENTION_SELF,     /* the only one of a decoder-only or encoder model; a seq2seq decoder's (T, T) */
  ATTNVIZ_ATTENTION_CROSS,    /* decoder to encoder (T, S): target rows, source columns */
  ATTNVIZ_ATTENTION_ENCODER,  /* the encoder's self-attention (S, S) */
} AttnvizAttentionKind;

#define ATTNVIZ_TYPE_ATTENTION_KIND (attnviz_attention_kind_get_type ())
GType attnviz_attention_kind_get_type (void) G_GNUC_CONST;
/* "self", "cross", "encoder" */
const char *attnviz_attention_kind_to_string (AttnvizAttentionKind kind);
gboolean attnviz_attention_kind_from_string (const char *name, AttnvizAttentionKind *kind);
/* "decoder self-attention", "cross-attention", "encoder self-attention" */
const char *attnviz_attention_kind_describe (AttnvizAttentionKind kind);

const char *attnviz_aggregate_to_string (AttnvizAggregate aggregate);
gboolean attnviz_aggregate_from_string (const char *name, AttnvizAggregate *aggregate);

/* Declared by hand rather than with G_DECLARE_DERIVABLE_TYPE, which would
 * make the instance an empty public struct: the fields the four kinds
 * share are in attnviz-result-private.h, seen by them alone. */
typedef struct _AttnvizResult AttnvizResult;
typedef struct _AttnvizResultClass AttnvizResultClass;

#define ATTNVIZ_TYPE_RESULT (attnviz_result_get_type ())
#define ATTNVIZ_RESULT(obj) (G_TYPE_CHECK_INSTANCE_CAST ((obj), ATTNVIZ_TYPE_RESULT, AttnvizResult))
#define ATTNVIZ_IS_RESULT(obj) (G_TYPE_CHECK_INSTANCE_TYPE ((obj), ATTNVIZ_TYPE_RESULT))
#define ATTNVIZ_RESULT_CLASS(klass) (G_TYPE_CHECK_CLASS_CAST ((klass), ATTNVIZ_TYPE_RESULT, AttnvizResultClass))
#define ATTNVIZ_RESULT_GET_CLASS(obj) (G_TYPE_INSTANCE_GET_CLASS ((obj), ATTNVIZ_TYPE_RESULT, AttnvizResultClass))
GType attnviz_result_get_type (void) G_GNUC_CONST;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizResult, g_object_unref)

gboolean attnviz_result_is_seq2seq (AttnvizResult *self);
AttnvizAttentionKind attnviz_result_get_kind (AttnvizResult *self);
/* The attention KIND of the same run, as a result sharing this one's
 * recording (a new reference; SELF's own kind gives SELF again), or NULL
 * when the run has none of that kind (a decoder-only run, a difference:
 * anything but self).  Works from a run and from its attentions. */
AttnvizResult *attnviz_result_get_attention (AttnvizResult *self, AttnvizAttentionKind kind);
/* The training step of the model that ran (a checkpoint), shown in titles
 * and subtitles; -1: none shown (a difference). */
int attnviz_result_get_step (AttnvizResult *self);

/* Columns (keys): n_tokens but for the cross-attention (S). */
int attnviz_result_get_n_cols (AttnvizResult *self);
/* Whether the columns are the row tokens again (self-attention). */
gboolean attnviz_result_is_square (AttnvizResult *self);
const char *const *attnviz_result_get_col_labels (AttnvizResult *self);
const char *attnviz_result_get_col_label (AttnvizResult *self, int index);
gint32 attnviz_result_get_col_token_id (AttnvizResult *self, int index);
const AttnvizToken *attnviz_result_get_col_token (AttnvizResult *self, int index);

/* The subtitle of a figure of the whole run (the grid): "stories260K · 24
 * tokens"; an encoder-decoder's names the attention and the size, "dates ·
 * cross-attention · step 250 · 11 target × 26 source tokens".  The variant
 * only when it is not the model as it is ("mask=window:8", "A: … − B: …"). */
char *attnviz_result_describe_run (AttnvizResult *self);
/* The subtitle of a figure of one head, whose title (attnviz_result_describe ())
 * names the model, the attention, the head and the step: the variant
 * when it is not the model as it is, and the size ("mask=window:8 · 24 tokens"). */
char *attnviz_result_describe_details (AttnvizResult *self);

const AttnvizRecording *attnviz_result_get_recording (AttnvizResult *self);
int attnviz_result_get_n_tokens (AttnvizResult *self);
int attnviz_result_get_n_layers (AttnvizResult *self);
int attnviz_result_get_n_heads (AttnvizResult *self);
gboolean attnviz_result_get_causal (AttnvizResult *self);
const char *const *attnviz_result_get_labels (AttnvizResult *self);
const char *attnviz_result_get_label (AttnvizResult *self, int index);
/* NULL when the run was on ids. */
const AttnvizToken *attnviz_result_get_token (AttnvizResult *self, int index);
gint32 attnviz_result_get_token_id (AttnvizResult *self, int index);
const char *attnviz_result_get_text (AttnvizResult *self);
const char *attnviz_result_get_model_name (AttnvizResult *self);

/* The (T, T) matrix for LAYER and HEAD (HEAD is ignored for the
 * aggregates), or NULL when that layer or head was not recorded.
 * (rows, cols) for a result that is not square. */
const float *attnviz_result_get_matrix (AttnvizResult *self,
                                        AttnvizAggregate aggregate,
                                        int layer,
                                        int head);

/* The attention source the result shows (attnviz-attention.h): its
 * recording's self, encoder or cross-attention, owned by the recording;
 * NULL for a difference and for a recording made without one (the
 * trainer's, which keeps only dense matrices).  Long runs read through it:
 * their dense matrices are not kept, and get_matrix () and get_maps ()
 * then give NULL. */
AttnvizAttention *attnviz_result_get_source (AttnvizResult *self);

/* (n_layers * n_heads) layer-major pointers into the recording, for the
 * grid; NULL entries were not recorded. */
const float *const *attnviz_result_get_maps (AttnvizResult *self);

/* ---- Any run, long ones included (attnviz-result-read.c) ----------------
 *
 * A long run keeps no dense matrices (get_matrix () and get_maps () give
 * NULL for it): these read it, exactly, through its attention source, and
 * read a short run from its matrices.  A difference reads A and B and
 * subtracts.  All but get_overview () may be called from any thread. */

/* Whether get_matrix () gives NULL for recorded heads (for a difference:
 * when A's or B's does): the run recomputes its attention on demand. */
gboolean attnviz_result_is_long (AttnvizResult *self);
/* Whether HEAD of LAYER (any head of it, for an aggregate) can be read. */
gboolean attnviz_result_has_matrix (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head);
/* OUT (r1 - r0, c1 - c0), rows LD floats apart = rows [r0, r1) and columns
 * [c0, c1) of the head, aggregate or difference: the values get_matrix ()
 * gives for a short run, bit for bit.  FALSE when not recorded. */
gboolean attnviz_result_get_rect (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                                  int r0, int r1, int c0, int c1, float *out, gsize ld);
/* One cell, as get_rect () gives it; NaN when not recorded. */
float attnviz_result_get_cell (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                               int row, int col);
/* OUT (br1 - br0, bc1 - bc0) = bins [br0, br1) x [bc0, bc1) of the matrix
 * pooled over bins of K x K cells (bin i covers cells [i K, min ((i + 1) K,
 * n))), exactly, from get_rect () a band of rows at a time.  ATTNVIZ_POOL_MAX
 * takes the largest weight, and for a difference the A − B of the largest
 * magnitude with its sign, so that thin lines stay visible either way.
 * FALSE when cancelled or not recorded. */
gboolean attnviz_result_pool_tile (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                                   int k, int br0, int br1, int bc0, int bc1, AttnvizPool pool,
                                   float *out, GCancellable *cancellable);
/* What a figure's subtitle says of a picture of AGGREGATE pooled over
 * K x K cells by its max: "each pixel the max of 10×10 cells", "mean over
 * heads · each pixel the max of 10×10 cells" (a difference's: "each pixel
 * the largest |A − B| of 10×10 cells"). */
char *attnviz_result_describe_pooling (AttnvizResult *self, AttnvizAggregate aggregate, int k);
/* The overview the forward pass left, as (*ROWS, *COLS) bins laid out by
 * attnviz_bin_start (), owned by SELF; NULL when none is exact for POOL or
 * the run has no source.  A head has both poolings; the mean over heads
 * its MEAN (the mean of its heads' means); the max over heads its MAX (the
 * max of their maxes); a difference the MEAN of A − B (A's means minus
 * B's).  Main thread only (the combined ones are made on first use). */
const float *attnviz_result_get_overview (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                                          AttnvizPool pool, int *rows, int *cols);

/* The largest weight of HEAD of LAYER (MODE head), of any head of LAYER
 * (layer), or of any head of the run (run); a difference's largest |A − B|
 * (a long one's: the larger of A's and B's largest weights, a bound).
 * From each head's max-pooled overview, which holds its exact largest
 * weight, else its matrix; kept once found.  NaN when nothing in scope was
 * recorded, or MODE is fixed.  Main thread only. */
double attnviz_result_get_range_max (AttnvizResult *self, AttnvizRangeMode mode, int layer, int head);

/* "gpt2 · layer 3 · head 5", "gpt2 · layer 3 · mean over 12 heads" after
 * the model's name (a difference adds " · A − B"; an encoder-decoder's
 * names "cross", "encoder" or "decoder" after the model; a checkpoint's
 * ends with " · step 250"). */
char *attnviz_result_describe (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head);

/* The canonical spec of the variant that was run ("model",
 * "mask=window:8"); for a difference "A: SPEC − B: SPEC". */
const char *attnviz_result_get_variant (AttnvizResult *self);

/* The negative log-likelihood (nats) of token INDEX as the model predicted
 * it, NaN where there is none (the first token of a causal model, runs
 * without logits); for a difference, A's minus B's. */
double attnviz_result_get_token_loss (AttnvizResult *self, int index);
/* Mean over the tokens that have a loss; NaN when none has.  For a
 * difference, A's mean minus B's. */
double attnviz_result_get_mean_loss (AttnvizResult *self);

/* ---- Other matrices of a run (attnviz-result-matrix.c) -------------------
 *
 * What a heatmap of the run can show besides its attention weights: each
 * head's value-weighted attention α_ij ‖W_O v_j‖ (attnviz-attention.h),
 * or one (T, T) matrix of the whole run through all its layers, its
 * attention rollout or attention flow (attnviz-rollout.h), the same for
 * every layer and head.  Each is a result of its own (the "matrix result")
 * that shares the run's recording and is read like any other (get_matrix,
 * get_rect, get_overview, get_range_max, describe); the run keeps it, so
 * it is valid as long as the run is.  Rollout and flow, and a long run's
 * value-weighted overviews, take time: prepare them off the main thread
 * with attnviz_result_prepare_matrix_async () first. */
typedef enum {
  ATTNVIZ_MATRIX_WEIGHTS,          /* the heads' attention weights */
  ATTNVIZ_MATRIX_VALUE_WEIGHTED,   /* each head's α_ij ‖W_O v_j‖ */
  ATTNVIZ_MATRIX_ROLLOUT,          /* the run's attention rollout (T, T) */
  ATTNVIZ_MATRIX_FLOW,             /* the run's attention flow (T, T), T <= ATTNVIZ_FLOW_MAX_TOKENS */
  ATTNVIZ_N_MATRICES
} AttnvizMatrixKind;

#define ATTNVIZ_TYPE_MATRIX_KIND (attnviz_matrix_kind_get_type ())
GType attnviz_matrix_kind_get_type (void) G_GNUC_CONST;
/* "attention weights", "value-weighted attention", "attention rollout",
 * "attention flow" */
const char *attnviz_matrix_describe (AttnvizMatrixKind matrix);
/* What a cell's number is, for the colour bar and the tooltip: "weight",
 * "α·‖W_O v‖", "rollout", "flow" */
const char *attnviz_matrix_get_unit (AttnvizMatrixKind matrix);

/* Which matrix SELF's cells are (a matrix result's; weights otherwise). */
AttnvizMatrixKind attnviz_result_get_matrix_kind (AttnvizResult *self);
/* Whether SELF can show MATRIX; FALSE with a message for a person
 * (G_IO_ERROR_NOT_SUPPORTED) when not: a comparison, an attention without
 * value vectors (cross-attention), a run without an attention source, not
 * square, or longer than flow (or rollout) takes. */
gboolean attnviz_result_supports_matrix (AttnvizResult *self, AttnvizMatrixKind matrix, GError **error);
/* The result showing MATRIX of SELF's run (SELF for the weights), owned by
 * SELF; NULL when it is not supported or (rollout, flow) not computed yet. */
AttnvizResult *attnviz_result_peek_matrix (AttnvizResult *self, AttnvizMatrixKind matrix);
/* Whether the picture of AGGREGATE, LAYER, HEAD of MATRIX can be painted
 * now: rollout and flow computed, a long run's value-weighted overviews of
 * the heads made (they give the colour range and the picture before the
 * exact tiles). */
gboolean attnviz_result_matrix_is_ready (AttnvizResult *self, AttnvizMatrixKind matrix, AttnvizAggregate aggregate,
                                         int layer, int head);
/* Makes it ready in a worker thread (GTask); the callback runs on the
 * caller's main context, where the result is then kept. */
void attnviz_result_prepare_matrix_async (AttnvizResult *self, AttnvizMatrixKind matrix, AttnvizAggregate aggregate,
                                          int layer, int head, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
gboolean attnviz_result_prepare_matrix_finish (AttnvizResult *self, GAsyncResult *result, GError **error);

/* ---- What each kind of result answers its own way ----------------------
 *
 * The functions above check their arguments and keep what is kept (the
 * overviews, the heads' largest values), then ask the class.  LAYER and
 * HEAD are in range where a function checks them. */
struct _AttnvizResultClass
{
  GObjectClass parent_class;

  /* Whether the cells can be negative (A − B): pooled tiles keep the value
   * of the largest magnitude with its sign, and say so. */
  gboolean signed_values;

  /* The attention source the cells are read through, NULL for none:
   * default, the recording's of the result's attention kind. */
  AttnvizAttention *(*get_source) (AttnvizResult *self);
  /* Default: SELF for its own kind, else NULL. */
  AttnvizResult *(*get_attention) (AttnvizResult *self, AttnvizAttentionKind kind);
  /* Default: -1. */
  int (*get_step) (AttnvizResult *self);
  /* Default: weights. */
  AttnvizMatrixKind (*get_matrix_kind) (AttnvizResult *self);
  /* Default: a head's dense map, an aggregate's mean or max of them. */
  const float *(*get_matrix) (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head);
  /* Default: whether the source recomputes its rows. */
  gboolean (*is_long) (AttnvizResult *self);
  /* Default: HEAD, or any head of LAYER for an aggregate, has a dense map
   * or is answered by source_has_head. */
  gboolean (*has_matrix) (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head);
  /* Whether SOURCE answers HEAD of LAYER (it has no dense map); default:
   * attnviz_attention_has_head (). */
  gboolean (*source_has_head) (AttnvizResult *self, AttnvizAttention *source, int layer, int head);
  /* Rows [R0, R1), columns [C0, C1) of a head SOURCE answers, into OUT
   * (rows LD floats apart); default: attnviz_attention_get_rect (). */
  void (*read_source_rect) (AttnvizResult *self, AttnvizAttention *source, int layer, int head,
                            int r0, int r1, int c0, int c1, float *out, gsize ld);
  /* A non-empty rectangle of a matrix has_matrix () has; default: a head's
   * rows, an aggregate's combined as attnviz_combine_maps () does. */
  void (*get_rect) (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                    int r0, int r1, int c0, int c1, float *out, gsize ld);
  /* A head's overview, owned by SELF, or NULL; default: the source's. */
  const float *(*get_head_overview) (AttnvizResult *self, int layer, int head, AttnvizPool pool,
                                     int *rows, int *cols);
  /* A new overview of AGGREGATE (HEAD: 0 but for a head), (*ROWS, *COLS),
   * or NULL; default: the heads' overviews combined. */
  float *(*make_overview) (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                           AttnvizPool pool, int *rows, int *cols);
  /* The largest |value| of a head, NaN when not recorded; default: from
   * its max overview, else its matrix. */
  double (*find_head_max) (AttnvizResult *self, int layer, int head);
  /* Appends what the picture is to a title: default "layer 3 · head 5",
   * "layer 3 · mean over 12 heads". */
  void (*describe_picture) (AttnvizResult *self, GString *s, AttnvizAggregate aggregate, int layer, int head);
  /* INDEX in range and not the encoder's; default: the recording's loss. */
  double (*get_token_loss) (AttnvizResult *self, int index);
  /* Not the encoder's; default: the recording's mean loss. */
  double (*get_mean_loss) (AttnvizResult *self);
  /* Whether SELF, a result of weights, can show MATRIX (not weights);
   * default: the checks on its source, shape and length. */
  gboolean (*supports_matrix) (AttnvizResult *self, AttnvizMatrixKind matrix, GError **error);
};

G_END_DECLS
