/* attnviz-measures.h: numbers that describe each head of a run
 *
 * Read off the attention P (T, T) of every head, row by row (rows queries
 * i, columns keys j; n_i = the keys row i may see under the run's mask):
 *
 *   entropy        mean_i H_i, H_i = -sum_j p_ij ln p_ij (nats)
 *   entropy-norm   mean_i H_i / ln n_i over the rows with n_i >= 2 (1: uniform)
 *   distance       mean_i sum_j p_ij |i - j| (tokens)
 *   sink-first     mean_i p_i0: the first token (BOS, [CLS])
 *   sink-sep       mean_i sum_{j a separator} p_ij ([SEP], </s> inside the text)
 *   sink-punct     mean_i sum_{j punctuation} p_ij
 *   self           mean_i p_ii
 *   prev           mean_{i >= 1} p_{i,i-1}
 *   offset-K       mean_{i >= K} p_{i,i-K}, K = 0 .. ATTNVIZ_MEASURE_MAX_OFFSET
 *
 * TransformerLens's head detector (transformer_lens/head_detector.py,
 * detect_head with its default error_measure="mul", exclude_bos and
 * exclude_current_token off): score = sum_ij p_ij M_ij / sum_ij p_ij for a
 * 0/1 mask M, over the whole matrix (rows without a 1 count in the
 * denominator only):
 *
 *   previous-token   M_ij = [j == i - 1]
 *   duplicate-token  M_ij = [ids_j == ids_i and j < i]
 *   induction        M_ij = [ids_{j-1} == ids_i and j - 1 < i and 1 <= j <= i]
 *                    (the duplicate pattern moved one column right, then tril)
 *   pattern          M given by the user (a (T, T) .npy)
 *
 * Kobayashi et al. 2020's value-weighted view (attnviz-attention.h), with
 * f_j = ||v_j W_O^h|| the size of key j's value through the head's output:
 *
 *   vw-ratio       mean_i (sum_j p_ij f_j) / (mean_{j visible to i} f_j):
 *                  1 for uniform attention, < 1 when the head looks at
 *                  keys with small vectors (a sink that writes nothing)
 *
 * From further runs of the same tokens (attnviz-measures-run.c):
 *
 *   pos-none       mean_i TVD (P_i, P'_i), P' the run under pos=none
 *   pos-shuffled   the same under pos=shuffled
 *   importance     mean loss with the head ablated - the model's mean loss
 *
 * An accumulator gathers the first two groups from blocks of rows: the
 * forward pass feeds it as it computes each head (AttnvizRunOptions.measures,
 * no second look at anything), or attnviz_measures_acc_add_attention ()
 * reads a recorded run's attention source a row block at a time.  Neither
 * holds a (T, T) matrix.
 */
#pragma once

#include <glib-object.h>

#include "attnviz-attention.h"

G_BEGIN_DECLS

#define ATTNVIZ_MEASURE_MAX_OFFSET 8

/* The columns of a measures table; the nicks ("entropy-norm") name them in
 * options and files. */
typedef enum {
  ATTNVIZ_MEASURE_ENTROPY,
  ATTNVIZ_MEASURE_ENTROPY_NORM,
  ATTNVIZ_MEASURE_DISTANCE,
  ATTNVIZ_MEASURE_SINK_FIRST,
  ATTNVIZ_MEASURE_SINK_SEP,
  ATTNVIZ_MEASURE_SINK_PUNCT,
  ATTNVIZ_MEASURE_SELF,
  ATTNVIZ_MEASURE_PREV,
  ATTNVIZ_MEASURE_OFFSET_0,
  ATTNVIZ_MEASURE_OFFSET_1,
  ATTNVIZ_MEASURE_OFFSET_2,
  ATTNVIZ_MEASURE_OFFSET_3,
  ATTNVIZ_MEASURE_OFFSET_4,
  ATTNVIZ_MEASURE_OFFSET_5,
  ATTNVIZ_MEASURE_OFFSET_6,
  ATTNVIZ_MEASURE_OFFSET_7,
  ATTNVIZ_MEASURE_OFFSET_8,
  ATTNVIZ_MEASURE_PREVIOUS_TOKEN,
  ATTNVIZ_MEASURE_DUPLICATE_TOKEN,
  ATTNVIZ_MEASURE_INDUCTION,
  ATTNVIZ_MEASURE_PATTERN,
  ATTNVIZ_MEASURE_VW_RATIO,
  ATTNVIZ_MEASURE_POS_NONE,
  ATTNVIZ_MEASURE_POS_SHUFFLED,
  ATTNVIZ_MEASURE_IMPORTANCE,
  ATTNVIZ_N_MEASURES,
} AttnvizMeasure;

GType attnviz_measure_get_type (void) G_GNUC_CONST;
#define ATTNVIZ_TYPE_MEASURE (attnviz_measure_get_type ())

/* The nick of MEASURE, and the measure a nick names (FALSE for none). */
const char *attnviz_measure_get_name (AttnvizMeasure measure);
gboolean attnviz_measure_from_name (const char *name, AttnvizMeasure *measure);

/* What a key is, for the sink measures: position 0 is always "first". */
typedef enum {
  ATTNVIZ_KEY_ORDINARY,
  ATTNVIZ_KEY_SEPARATOR,    /* a special token other than the first: [SEP], </s> */
  ATTNVIZ_KEY_PUNCT,        /* a token whose text is punctuation (and blanks) only */
} AttnvizKeyClass;

/* One row per head of a run. */
typedef struct {
  int n_layer, n_head;
  double *values;           /* (n_layer, n_head, ATTNVIZ_N_MEASURES); NaN where not computed */
  gboolean has[ATTNVIZ_N_MEASURES]; /* which columns the table has */
  guint8 *additive;         /* (rows >= n_layer, n_head) a hybrid model's: 1 where the head scores additively,
                             * a "score" column (additive or dot) after the head; NULL: one score, no column */
} AttnvizHeadMeasures;

AttnvizHeadMeasures *attnviz_head_measures_new (int n_layer, int n_head);
void attnviz_head_measures_free (AttnvizHeadMeasures *self);

static inline double *
attnviz_head_measures_at (const AttnvizHeadMeasures *self, int layer, int head)
{
  return self->values + ((gsize) layer * self->n_head + head) * ATTNVIZ_N_MEASURES;
}

/* ORDER (n_layer * n_head) = head indices (layer * n_head + head) sorted by
 * MEASURE, largest first, NaN last, ties in (layer, head) order. */
void attnviz_head_measures_sort (const AttnvizHeadMeasures *self, AttnvizMeasure measure, int *order);

/* The table as text: aligned columns for a terminal, CSV (a header row of
 * names, then layer,head,values; NaN as an empty field) or JSON ({"columns":
 * [...], "heads": [{"layer": 0, "head": 1, "entropy": 1.2, ...}], NaN as
 * null}), rows in ORDER (NULL: layer by layer). */
char *attnviz_head_measures_to_text (const AttnvizHeadMeasures *self, const int *order);
char *attnviz_head_measures_to_csv (const AttnvizHeadMeasures *self, const int *order);
char *attnviz_head_measures_to_json (const AttnvizHeadMeasures *self, const int *order);

/* What the accumulator needs beside the attention, borrowed until it is
 * freed. */
typedef struct {
  int T;                    /* rows and keys */
  const gint32 *ids;        /* (T) for the duplicate and induction scores; NULL: left out */
  const guint8 *key_class;  /* (T) AttnvizKeyClass; NULL: sink-sep and sink-punct left out */
  const float *pattern;     /* (T, T) the user's mask; NULL: left out */
} AttnvizMeasuresInput;

typedef struct _AttnvizMeasuresAcc AttnvizMeasuresAcc;

AttnvizMeasuresAcc *attnviz_measures_acc_new (int n_layer, int n_head, const AttnvizMeasuresInput *input);
void attnviz_measures_acc_free (AttnvizMeasuresAcc *self);

/* Adds rows [i0, i0 + m) of head HEAD of layer LAYER: P (m, n_keys) rows LDP
 * apart (keys from n_keys on are 0), N_VISIBLE (m) the keys each row may
 * see.  Blocks of a head come in order, from one thread at a time; heads
 * may go on in parallel. */
void attnviz_measures_acc_add_rows (AttnvizMeasuresAcc *self, int layer, int head, int i0, int m,
                                    const float *P, gsize ldp, int n_keys, const int *n_visible);

/* The vw-ratio's rows [i0, i0 + m) of a head: WEIGHTED (m) = sum_j p_ij
 * f_j, VISIBLE_MEAN (m) = the mean of f over the keys the row sees (rows
 * with 0 there are left out).  Same threading rules as add_rows. */
void attnviz_measures_acc_add_value_rows (AttnvizMeasuresAcc *self, int layer, int head, int i0, int m,
                                          const float *weighted, const float *visible_mean);

/* Every recorded head of ATTENTION, a row block at a time (on the engine's
 * threads).  FALSE when cancelled. */
gboolean attnviz_measures_acc_add_attention (AttnvizMeasuresAcc *self, AttnvizAttention *attention,
                                             GCancellable *cancellable);

/* The means into OUT (the same n_layer, n_head): the columns this
 * accumulator computes; heads it never saw stay NaN. */
void attnviz_measures_acc_finish (const AttnvizMeasuresAcc *self, AttnvizHeadMeasures *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizHeadMeasures, attnviz_head_measures_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizMeasuresAcc, attnviz_measures_acc_free)

G_END_DECLS
