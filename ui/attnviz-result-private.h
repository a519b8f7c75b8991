/* attnviz-result-private.h: what AttnvizResult and its four kinds share
 *
 * attnviz-result.c makes the base and answers the dense matrices;
 * attnviz-result-read.c reads any result, long ones included, through its
 * attention source (overviews, rectangles, cells, pooled tiles);
 * attnviz-result-matrix.c gives a result's other matrices.  The final
 * types (attnviz-run-result.c, attnviz-run-attention.c,
 * attnviz-difference.c, attnviz-run-matrix.c) fill these fields when they
 * are made and override the class's functions.
 */
#pragma once

#include "attnviz-measures.h"
#include "attnviz-result.h"
#include "attnviz-run-result.h"

G_BEGIN_DECLS

struct _AttnvizResult
{
  GObject parent_instance;

  AttnvizRecording *rec;  /* owned by a run or a difference, borrowed from the run by the others */
  AttnvizAttentionKind kind;
  gboolean seq2seq;       /* of an encoder-decoder run (a run or one of its attentions) */
  int rows;               /* queries: T, or S for the encoder */
  int cols;               /* keys: S for the cross-attention, else rows */
  int n_layer;            /* of the attention shown: the encoder's own count for it */
  int n_head;
  gboolean causal;
  const gint32 *ids;      /* (rows) into rec */
  const gint32 *col_ids;  /* (cols) into rec */
  char **labels;          /* (rows + 1) */
  char **col_labels;      /* (cols + 1), or NULL: the labels */
  GArray *tokens;         /* (rows) AttnvizToken, or NULL */
  GArray *col_tokens;     /* (cols), or NULL (the tokens when square) */
  char *text;
  char *model_name;
  gboolean loss_predicts_next;

  const float **maps;     /* (n_layer * n_head) dense maps, into rec or the result's own, NULL: none */
  float **mean;           /* (n_layer) each (rows, cols), computed on first use */
  float **max;

  /* Long runs (attnviz-result-read.c) */
  GHashTable *overviews;  /* overview key -> Overview, made on first use (main thread) */
  double *head_max;       /* (n_layer * n_head) largest |value| of each head, NaN: not found yet */

  /* Other matrices (attnviz-result-matrix.c) */
  AttnvizResult *matrices[ATTNVIZ_N_MATRICES]; /* the AttnvizRunMatrix of each, made on first use (owned) */
};

/* Fills SELF's fields for the self-attention of REC (T rows and columns),
 * taking LABELS and TOKENS, with the dense maps REC holds. */
void _attnviz_result_init_self (AttnvizResult *self, AttnvizRecording *rec, char **labels, GArray *tokens,
                                const char *text, const char *model_name);
/* The caches for SELF's n_layer layers of n_head heads, maps all NULL. */
void _attnviz_result_alloc_maps (AttnvizResult *self);
/* SELF shows REC's cross-attention (n_layer, n_head, T, S): target rows
 * labelled LABELS and TOKENS, source columns SOURCE_LABELS and
 * SOURCE_TOKENS (copied and referenced, not taken). */
void _attnviz_result_init_cross (AttnvizResult *self, AttnvizRecording *rec, char **labels, GArray *tokens,
                                 char **source_labels, GArray *source_tokens);

/* The class's defaults for reading (attnviz-result-read.c) and for other
 * matrices (attnviz-result-matrix.c). */
void _attnviz_result_class_init_read (AttnvizResultClass *klass);
void _attnviz_result_class_init_matrix (AttnvizResultClass *klass);

/* attnviz-result-read.c: frees the overviews and the heads' largest
 * values found. */
void _attnviz_result_clear_overviews (AttnvizResult *self);
/* Rows [R0, R1), columns [C0, C1) of HEAD of LAYER, from its dense map or
 * its source. */
void _attnviz_result_head_rect (AttnvizResult *self, int layer, int head, int r0, int r1, int c0, int c1,
                                float *out, gsize ld);
/* The overview of AGGREGATE made by the class's make_overview () on first
 * use and kept (main thread). */
const float *_attnviz_result_kept_overview (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head,
                                            AttnvizPool pool, int *rows, int *cols);
/* The largest |value| of a head, found once and kept; NaN when none. */
double _attnviz_result_head_max (AttnvizResult *self, int layer, int head);
/* The largest |value| of a head's (rows, cols) matrix, NaN when none. */
double _attnviz_result_matrix_max (AttnvizResult *self, int layer, int head);
/* The default implementations, for a subclass to chain up to. */
const float *_attnviz_result_real_get_matrix (AttnvizResult *self, AttnvizAggregate aggregate, int layer, int head);

/* attnviz-result-matrix.c: frees the other matrices SELF keeps. */
void _attnviz_result_clear_matrices (AttnvizResult *self);

/* attnviz-run-attention.c: the cross-attention or the encoder's
 * self-attention (KIND) of RUN, an encoder-decoder run whose source tokens
 * these are (copied). */
AttnvizResult *_attnviz_run_attention_new (AttnvizRunResult *run, AttnvizAttentionKind kind, char **source_labels,
                                           GArray *source_tokens);

/* attnviz-run-matrix.c, for attnviz-result-matrix.c */

/* MATRIX of OF (a result of weights with a source), keeping what it needs
 * of OF's fields; takes VALUES, the (rows, cols) cells of a rollout or a
 * flow (NULL for value-weighted, whose short maps are made now). */
AttnvizResult *_attnviz_run_matrix_new (AttnvizResult *of, AttnvizMatrixKind matrix, float *values);
/* A long value-weighted matrix's overviews: their size in bins, whether
 * HEAD of LAYER's are made (TRUE when it needs none), and taking them
 * (each (rows, cols), MAX and MEAN pooled) unless it has them. */
void _attnviz_run_matrix_get_bins (AttnvizResult *m, int *rows, int *cols);
gboolean _attnviz_run_matrix_has_overview (AttnvizResult *m, int layer, int head);
void _attnviz_run_matrix_take_overview (AttnvizResult *m, int layer, int head, float **max, float **mean);

G_END_DECLS
