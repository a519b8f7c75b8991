/* attnviz-result-private.h: what the files of AttnvizResult share
 *
 * attnviz-result.c makes results and answers the dense matrices;
 * attnviz-result-read.c reads any run, long ones included, through its
 * attention source (overviews, rectangles, cells, pooled tiles).
 */
#pragma once

#include "attnviz-measures.h"
#include "attnviz-result.h"

G_BEGIN_DECLS

struct _AttnvizResult
{
  GObject parent_instance;

  AttnvizRecording *rec;  /* owned by the run (RUN, or this result when RUN is NULL) */
  AttnvizResult *run;     /* an encoder-decoder's cross or encoder view: the run it shows, else NULL */
  AttnvizAttentionKind kind;
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

  /* An encoder-decoder run (the decoder's self-attention result) */
  char **source_labels;   /* (S + 1) */
  GArray *source_tokens;  /* (S) */
  char *target_text;
  char *output;
  int step;
  AttnvizHeadMeasures *measures; /* the run's per-head measures, or NULL */

  const float **maps;     /* (n_layer * n_head) into rec */
  float **mean;           /* (n_layer) each (rows, cols), computed on first use */
  float **max;
  gboolean loss_predicts_next;

  /* A difference: A - B */
  AttnvizResult *a;
  AttnvizResult *b;
  double *tvd;            /* (n_layer * n_head) */
  GHashTable *differences;/* matrix key -> (T, T) A - B, computed on first use */

  /* Long runs (attnviz-result-read.c) */
  GHashTable *overviews;  /* overview key -> Overview, made on first use (main thread) */
  double *head_max;       /* (n_layer * n_head) largest |weight| of each head, NaN: not found yet */

  /* Other matrices of the run (attnviz-result-matrix.c) */
  AttnvizMatrixKind matrix;   /* what this result's cells are: weights but for a matrix result */
  AttnvizResult *matrices[ATTNVIZ_N_MATRICES]; /* a run's matrix results, made on first use (owned) */
  float *owned;           /* a matrix result's values: value-weighted (n_layer * n_head, rows, cols), or rollout / flow (rows, cols) */
  float **vw_max;         /* a long run's value-weighted overviews (n_layer * n_head), each (vw_rows, vw_cols), made by prepare */
  float **vw_mean;
  int vw_rows, vw_cols;
};

/* attnviz-result-matrix.c: frees what a run or a matrix result keeps of
 * its other matrices. */
void _attnviz_result_clear_matrices (AttnvizResult *self);
/* A long value-weighted head's overview (NULL: not made, or weights). */
const float *_attnviz_result_matrix_overview (AttnvizResult *self, int layer, int head, AttnvizPool pool,
                                              int *rows, int *cols);

/* Frees the overviews and the heads' largest weights found. */
void _attnviz_result_clear_overviews (AttnvizResult *self);

G_END_DECLS
