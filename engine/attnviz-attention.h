/* attnviz-attention.h: the attention of a run, any head, tile, row or cell
 * computed exactly when someone looks at it
 *
 * A run no longer keeps every head's T x T matrix (L x H x T^2 floats: 8 GiB
 * for a 1 B model at T = 2048).  For each layer it keeps what the model
 * itself held there, the input of the attention block (T, d_model) (and,
 * for cross-attention, the encoder's output), plus per head and query row
 * the softmax statistics of the forward pass (the row's largest score and
 * 1 / its sum of exponentials).  Any entry is then
 *
 *   p_ij = exp (s_ij - max_i) * inv_sum_i,  s_ij = scale * q_i . k_j
 *
 * with q and k recomputed from the kept input by the same kernels as the
 * forward pass (the head's rows of W_q and W_k, RoPE, the variant) and the
 * run's own mask: the same values as the forward pass, to float rounding.
 * Small runs keep the dense matrices instead, where that is cheaper
 * (ATTNVIZ_ATTENTION_DENSE_BYTES); additive-score models always do.
 *
 * The forward pass also leaves an overview of every head: its mean and its
 * largest weight over R x R bins (R <= 256, within a memory budget), for
 * the grid and a fit-to-window heatmap.  Exact tiles are cached (LRU,
 * within a budget).  Every consumer reads through this object: the views,
 * the painter, dump, render, comparisons and the metrics.
 *
 * Thread safety: after the run, the object is read-only but for its tile
 * cache, which has its own lock; any thread may ask for anything.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _AttnvizAttention AttnvizAttention;

/* Runs whose dense matrices take at most this many bytes keep them. */
#define ATTNVIZ_ATTENTION_DENSE_BYTES ((guint64) 64 << 20)
/* The default budget of the overviews of every head of a run. */
#define ATTNVIZ_ATTENTION_OVERVIEW_BYTES ((guint64) 512 << 20)
/* The default budget of the exact tile cache. */
#define ATTNVIZ_ATTENTION_CACHE_BYTES ((guint64) 256 << 20)

typedef enum {
  ATTNVIZ_POOL_MAX,    /* the largest of the bin's cells: thin diagonals stay visible */
  ATTNVIZ_POOL_MEAN,   /* their mean (masked cells count as zeros) */
} AttnvizPool;

/* A source over matrices made elsewhere, with no model behind it (a dump
 * or another framework's tensor opened again: attnviz-session.h).  DENSE
 * (n_rec_layers, n_rec_heads, n_rows, n_cols) is taken over (g_free), also
 * when it returns NULL (out of memory for the overviews: it is freed then);
 * REC_LAYERS / REC_HEADS give the model index of each recorded layer and
 * head, each in [0, n_layer) / [0, n_head) and none twice (the caller has
 * checked them).  The overviews are made from the matrices at once.  No
 * value norms and no q or k: the value-weighted and query-key questions
 * answer that the source has none (attnviz_attention_has_model ()).
 * CAUSAL says the matrices' future cells are masked (they are 0). */
AttnvizAttention *attnviz_attention_new_dense (float *dense,
                                               int n_layer,
                                               int n_head,
                                               const int *rec_layers,
                                               int n_rec_layers,
                                               const int *rec_heads,
                                               int n_rec_heads,
                                               int n_rows,
                                               int n_cols,
                                               gboolean causal,
                                               GError **error);
/* Whether a model stands behind the source (FALSE for
 * attnviz_attention_new_dense ()). */
gboolean attnviz_attention_has_model (const AttnvizAttention *self);

/* Rows (queries) and columns (keys) of every head; layers and heads as
 * recorded (attnviz_attention_has_head () says which). */
int attnviz_attention_get_n_rows (const AttnvizAttention *self);
int attnviz_attention_get_n_cols (const AttnvizAttention *self);
int attnviz_attention_get_n_layers (const AttnvizAttention *self);
int attnviz_attention_get_n_heads (const AttnvizAttention *self);
gboolean attnviz_attention_has_head (const AttnvizAttention *self, int layer, int head);
/* Whether the run kept dense matrices (small runs) or recomputes. */
gboolean attnviz_attention_is_dense (const AttnvizAttention *self);
/* Whether keys after the query are masked out (entries above the diagonal
 * are then exactly 0). */
gboolean attnviz_attention_is_causal (const AttnvizAttention *self);

/* OUT (r1 - r0) = how many keys the run's mask lets each of the rows
 * [r0, r1) see (its causal, window, strided and key masks). */
void attnviz_attention_count_visible (const AttnvizAttention *self, int r0, int r1, int *out);

/* OUT (r1 - r0, c1 - c0), rows LD floats apart = rows [r0, r1) and columns
 * [c0, c1) of the head. */
void attnviz_attention_get_rect (AttnvizAttention *self, int layer, int head,
                                 int r0, int r1, int c0, int c1, float *out, gsize ld);
/* OUT (n_cols) = row R. */
void attnviz_attention_get_row (AttnvizAttention *self, int layer, int head, int r, float *out);
float attnviz_attention_get_cell (AttnvizAttention *self, int layer, int head, int r, int c);
/* The whole (n_rows, n_cols) matrix, newly allocated (g_free): only for
 * sizes a caller can hold. */
float *attnviz_attention_dup_matrix (AttnvizAttention *self, int layer, int head);
/* The dense matrix of a dense run (a pointer into it), NULL otherwise. */
const float *attnviz_attention_peek_dense (const AttnvizAttention *self, int layer, int head);

/* Bin i of N over L items is [floor (i L / N), floor ((i + 1) L / N)). */
static inline int
attnviz_bin_start (int i, int n_bins, int length)
{
  return (int) ((gint64) i * length / n_bins);
}

/* The bin item I of L falls in: the last bin starting at or before I. */
static inline int
attnviz_bin_of (int i, int n_bins, int length)
{
  return (int) (((gint64) (i + 1) * n_bins - 1) / length);
}

/* OUT (rows, cols) = the head pooled exactly into ROWS x COLS bins (each at
 * most the head's size), computed from exact row blocks with bounded memory.
 * GCancellable: FALSE when cancelled. */
gboolean attnviz_attention_pool (AttnvizAttention *self, int layer, int head, int rows, int cols,
                                 AttnvizPool pool, float *out, GCancellable *cancellable);
/* Both poolings from one pass over the head: MEAN and MAX (rows, cols),
 * either may be NULL; the same values as two attnviz_attention_pool ()
 * calls, for half the work. */
gboolean attnviz_attention_pool_mean_max (AttnvizAttention *self, int layer, int head, int rows, int cols,
                                          float *mean, float *max, GCancellable *cancellable);

/* The overview the forward pass left: (*rows, *cols) bins of the head's
 * mean or max, owned by SELF.  NULL when the head was not recorded. */
const float *attnviz_attention_get_overview (const AttnvizAttention *self, int layer, int head,
                                             AttnvizPool pool, int *rows, int *cols);

/* ---- value-weighted attention (attnviz-attention-values.c) ----
 *
 * Kobayashi et al. 2020, "Attention is not only a weight": what key j
 * adds to query i's output through head h is p_ij v_j W_O^h, where v_j is
 * the head's value vector of key j and W_O^h (head_dim, d_model) the rows of
 * the output projection that read the head (no bias).  Its size
 *
 *   w_ij = p_ij f_j,   f_j = || v_j W_O^h ||_2
 *
 * is the value-weighted attention.  The forward pass computes f (n_cols
 * floats a head) as it goes (via the Gram matrix W_O^h W_O^h^T, head_dim^2 a
 * key).  Heads of a run without them (cross-attention) answer NULL / FALSE.
 *
 * The head's "vw-ratio" (attnviz-measures.h) is
 *
 *   vw-ratio = mean_i ( sum_j p_ij f_j ) / ( mean_{j visible to i} f_j )
 *
 * over the rows that see some key with f > 0: 1 for uniform attention; < 1
 * when the head puts its weight on keys with small vectors (a sink whose
 * value is near zero, Kobayashi's [CLS]/[SEP] finding); > 1 on large ones. */

/* F (n_cols) of a head, owned by SELF, or NULL when the run has none. */
const float *attnviz_attention_get_value_norms (const AttnvizAttention *self, int layer, int head);
/* OUT (r1 - r0, c1 - c0), rows LD apart = p_ij f_j; FALSE (OUT untouched)
 * when the run has no value norms for the head. */
gboolean attnviz_attention_get_value_weighted_rect (AttnvizAttention *self, int layer, int head, int r0, int r1,
                                                    int c0, int c1, float *out, gsize ld);
gboolean attnviz_attention_get_value_weighted_row (AttnvizAttention *self, int layer, int head, int r, float *out);
/* The whole (n_rows, n_cols) value-weighted matrix (g_free), or NULL. */
float *attnviz_attention_dup_value_weighted (AttnvizAttention *self, int layer, int head);
/* OUT (r1 - r0) = mean of F (n_cols) over the keys each row may see. */
void attnviz_attention_visible_mean (const AttnvizAttention *self, const float *f, int r0, int r1, float *out);
/* The head's vw-ratio from its rows through SELF (row blocks, no (T, T)
 * buffer); NaN without value norms. */
double attnviz_attention_value_weighted_ratio (AttnvizAttention *self, int layer, int head);

/* Bytes SELF keeps (kept inputs, statistics, overviews, dense matrices,
 * cache), for benchmarks. */
guint64 attnviz_attention_get_bytes (const AttnvizAttention *self);

void attnviz_attention_free (AttnvizAttention *self);

G_END_DECLS
