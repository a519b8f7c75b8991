#define G_LOG_DOMAIN "attnviz-attention"
#include "config.h"

/* The attention source: what a run keeps of each head, and how any part of
 * a head is computed again from it (attnviz-attention.h says why).
 *
 * Kept, per recorded layer l and head h of the stack, n_rows queries over
 * n_cols keys:
 *   dense runs:     dense[l][h] (n_rows, n_cols), as the forward pass wrote it
 *   recompute runs: q_in[l] (n_rows, d_model), k_in[l] (n_cols, d_model): the
 *                   inputs of the attention block (for self-attention one
 *                   buffer; for cross-attention k_in is the encoder output,
 *                   kept once); row_max[l][h], row_inv[l][h] (n_rows)
 *   both:           overviews ov_mean[l][h], ov_max[l][h] (ov_rows, ov_cols);
 *                   the inputs q_in, k_in (small beside dense matrices), so
 *                   every run can give a head's q and k; value norms
 *                   value_norms[l][h] (n_cols)
 *
 * Recomputing a head: q = q_in W_q[h]^T (+ b), k = k_in W_k[g]^T (+ b) for
 * its key/value group g, through the same attnviz_linear kernels as the
 * forward pass (on the head's slice of the weights), RoPE at the run's
 * positions, then _attnviz_scores () and p = e^(s - max) * inv by the
 * forward's own exponential.  A head's q and k are cached (LRU, within a
 * budget), so moving around one head costs only its scores.
 */

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "attnviz-attention-private.h"
#include "attnviz-kernels.h"
#include "attnviz-matmul.h"
#include "attnviz-parallel.h"

/* ---- building ---- */

static float *
try_alloc_floats (AttnvizAttention *self, guint64 n, GError **error)
{
  if (n == 0)
    return NULL;
  float *p = n > G_MAXSIZE / sizeof (float) ? NULL : g_try_new (float, n);
  if (p == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory keeping the attention (%.2f GiB more)",
                   n * 4.0 / 1073741824.0);
      return NULL;
    }
  self->bytes += n * sizeof (float);
  return p;
}

/* Overviews of SIDE x SIDE bins at most (as _attnviz_attention_new sizes
 * them), zeroed; FALSE when out of memory. */
static gboolean
alloc_overviews (AttnvizAttention *self, guint64 heads, guint64 budget, GError **error)
{
  int side = CLAMP (MAX (self->n_rows, self->n_cols) / 8, 32, 256);
  while (side > 8 && heads * 2 * (guint64) side * side * sizeof (float) > budget)
    side /= 2;
  self->ov_rows = MIN (self->n_rows, side);
  self->ov_cols = MIN (self->n_cols, side);
  self->ov_col_start = g_new (int, self->ov_cols + 1);
  for (int bc = 0; bc <= self->ov_cols; bc++)
    self->ov_col_start[bc] = attnviz_bin_start (bc, self->ov_cols, self->n_cols);
  guint64 ov = heads * self->ov_rows * self->ov_cols;
  if (ov == 0)
    return TRUE;
  if ((self->ov_mean = try_alloc_floats (self, ov, error)) == NULL
      || (self->ov_max = try_alloc_floats (self, ov, error)) == NULL)
    return FALSE;
  memset (self->ov_mean, 0, ov * sizeof (float));
  memset (self->ov_max, 0, ov * sizeof (float));
  return TRUE;
}

AttnvizAttention *
_attnviz_attention_new (const AttnvizAttentionSpec *spec, GError **error)
{
  const AttnvizConfig *c = &spec->model->config;
  AttnvizAttention *self = g_new0 (AttnvizAttention, 1);
  self->model = attnviz_model_ref (spec->model);
  self->stack = spec->stack;
  self->n_rows = spec->n_rows;
  self->n_cols = spec->n_cols;
  self->n_layer = spec->stack == ATTNVIZ_STACK_ENCODER ? c->n_enc_layer : c->n_layer;
  self->n_head = c->n_head;
  self->n_kv_head = spec->stack == ATTNVIZ_STACK_CROSS ? c->n_head : c->n_kv_head;
  self->hd = c->head_dim;
  self->d_model = c->d_model;
  self->n_rec_layers = spec->n_rec_layers;
  self->n_rec_heads = spec->n_rec_heads;
  self->rec_layers = g_memdup2 (spec->rec_layers, sizeof (int) * MAX (spec->n_rec_layers, 1));
  self->rec_heads = g_memdup2 (spec->rec_heads, sizeof (int) * MAX (spec->n_rec_heads, 1));
  self->layer_index = g_new (int, MAX (self->n_layer, 1));
  self->head_index = g_new (int, MAX (self->n_head, 1));
  for (int l = 0; l < self->n_layer; l++)
    self->layer_index[l] = -1;
  for (int h = 0; h < self->n_head; h++)
    self->head_index[h] = -1;
  for (int i = 0; i < spec->n_rec_layers; i++)
    self->layer_index[spec->rec_layers[i]] = i;
  for (int i = 0; i < spec->n_rec_heads; i++)
    self->head_index[spec->rec_heads[i]] = i;

  self->mask = spec->mask;
  self->mask.key_mask = spec->mask.key_mask ? g_memdup2 (spec->mask.key_mask, spec->n_cols) : NULL;
  self->score = spec->score;
  self->rope = spec->rope;
  self->n_rot = c->rope_dims > 0 ? c->rope_dims : c->head_dim;
  self->rope_style = c->rope_style;
  self->positions = spec->positions ? g_memdup2 (spec->positions, sizeof (gint32) * spec->n_rows) : NULL;
  self->mask.positions = self->positions;   /* the relative bias's (the model's rel_bias lives as long) */
  self->inv_freq = spec->inv_freq ? g_memdup2 (spec->inv_freq, sizeof (float) * (self->n_rot / 2)) : NULL;
  g_mutex_init (&self->lock);
  self->cache = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->cache_budget = ATTNVIZ_ATTENTION_CACHE_BYTES;

  guint64 heads = (guint64) spec->n_rec_layers * spec->n_rec_heads;
  guint64 cells = (guint64) spec->n_rows * spec->n_cols;
  gboolean ok = TRUE;
  self->q_in = g_new0 (float *, MAX (spec->n_rec_layers, 1));
  self->k_in = g_new0 (float *, MAX (spec->n_rec_layers, 1));
  if ((self->value_norms = try_alloc_floats (self, heads * spec->n_cols, error)) != NULL)
    for (gsize i = 0; i < heads * spec->n_cols; i++)
      self->value_norms[i] = NAN;
  if (spec->dense || spec->score == ATTNVIZ_SCORE_ADDITIVE || spec->score == ATTNVIZ_SCORE_HYBRID)
    ok = (self->dense = try_alloc_floats (self, heads * cells, error)) != NULL || heads * cells == 0;
  else
    {
      ok = ((self->row_max = try_alloc_floats (self, heads * spec->n_rows, error)) != NULL
            && (self->row_inv = try_alloc_floats (self, heads * spec->n_rows, error)) != NULL) || heads == 0;
    }

  /* Overviews: up to 256 x 256 bins a head, each at least 8 tokens a side
   * (no finer than 32 bins), fewer when the budget says so.  A bin of 8 x 8
   * keeps an overview at 1/64 of its head: GPT-2 at T = 1024 keeps 128 x 128
   * bins, 18 MiB for its 144 heads, where 256 x 256 would take 72 MiB, more
   * than the inputs the whole run is recomputed from. */
  guint64 budget = spec->overview_bytes ? spec->overview_bytes : ATTNVIZ_ATTENTION_OVERVIEW_BYTES;
  ok = ok && alloc_overviews (self, heads, budget, error);
  if (!ok)
    {
      attnviz_attention_free (self);
      return NULL;
    }
  if (self->dense)
    attnviz_advise_huge_pages (self->dense, heads * cells * sizeof (float));
  return self;
}

AttnvizAttention *
attnviz_attention_new_dense (float *dense, int n_layer, int n_head, const int *rec_layers, int n_rec_layers,
                             const int *rec_heads, int n_rec_heads, int n_rows, int n_cols, gboolean causal,
                             GError **error)
{
  g_return_val_if_fail (n_rows > 0 && n_cols > 0 && n_layer > 0 && n_head > 0, NULL);
  g_return_val_if_fail (n_rec_layers >= 0 && n_rec_layers <= n_layer && n_rec_heads >= 0 && n_rec_heads <= n_head,
                        NULL);
  AttnvizAttention *self = g_new0 (AttnvizAttention, 1);
  self->stack = ATTNVIZ_STACK_SELF;
  self->n_rows = n_rows;
  self->n_cols = n_cols;
  self->n_layer = n_layer;
  self->n_head = self->n_kv_head = n_head;
  self->n_rec_layers = n_rec_layers;
  self->n_rec_heads = n_rec_heads;
  self->rec_layers = g_memdup2 (rec_layers, sizeof (int) * MAX (n_rec_layers, 1));
  self->rec_heads = g_memdup2 (rec_heads, sizeof (int) * MAX (n_rec_heads, 1));
  self->layer_index = g_new (int, n_layer);
  self->head_index = g_new (int, n_head);
  for (int l = 0; l < n_layer; l++)
    self->layer_index[l] = -1;
  for (int h = 0; h < n_head; h++)
    self->head_index[h] = -1;
  for (int i = 0; i < n_rec_layers; i++)
    {
      g_return_val_if_fail (rec_layers[i] >= 0 && rec_layers[i] < n_layer, NULL);
      self->layer_index[rec_layers[i]] = i;
    }
  for (int i = 0; i < n_rec_heads; i++)
    {
      g_return_val_if_fail (rec_heads[i] >= 0 && rec_heads[i] < n_head, NULL);
      self->head_index[rec_heads[i]] = i;
    }
  self->mask.causal = causal;
  self->mask.scale = 1.0f;
  self->score = ATTNVIZ_SCORE_SCALED_DOT;
  g_mutex_init (&self->lock);
  self->cache = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->cache_budget = ATTNVIZ_ATTENTION_CACHE_BYTES;
  self->q_in = g_new0 (float *, MAX (n_rec_layers, 1));
  self->k_in = g_new0 (float *, MAX (n_rec_layers, 1));
  guint64 heads = (guint64) n_rec_layers * n_rec_heads;
  gsize cells = (gsize) n_rows * n_cols;
  self->dense = dense;
  self->bytes += heads * cells * sizeof (float);
  if (!alloc_overviews (self, heads, ATTNVIZ_ATTENTION_OVERVIEW_BYTES, error))
    {
      attnviz_attention_free (self);
      return NULL;
    }
  for (int li = 0; li < n_rec_layers; li++)
    for (int hi = 0; hi < n_rec_heads; hi++)
      _attnviz_attention_overview_add (self, li, hi, 0, n_rows, _attnviz_attention_dense (self, li, hi), n_cols,
                                       n_cols);
  _attnviz_attention_finish (self);
  return self;
}

gboolean
attnviz_attention_has_model (const AttnvizAttention *self)
{
  return self->model != NULL;
}

void
attnviz_attention_free (AttnvizAttention *self)
{
  if (self == NULL)
    return;
  if (self->q_in)
    for (int i = 0; i < self->n_rec_layers; i++)
      {
        if (self->k_in[i] != self->q_in[i] && self->k_in[i] != self->shared_k)
          g_free (self->k_in[i]);
        g_free (self->q_in[i]);
      }
  g_free (self->q_in);
  g_free (self->k_in);
  g_free (self->shared_k);
  g_free (self->dense);
  g_free (self->row_max);
  g_free (self->row_inv);
  g_free (self->value_norms);
  g_free (self->ov_mean);
  g_free (self->ov_max);
  g_free (self->ov_col_start);
  g_free (self->rec_layers);
  g_free (self->rec_heads);
  g_free (self->layer_index);
  g_free (self->head_index);
  g_free ((gpointer) self->mask.key_mask);
  g_free (self->positions);
  g_free (self->inv_freq);
  /* The queue's links live inside the entries: free the entries only. */
  GList *link;
  while ((link = g_queue_pop_head_link (&self->lru)) != NULL)
    _attnviz_attention_cache_entry_free (link->data);
  g_hash_table_unref (self->cache);
  g_mutex_clear (&self->lock);
  attnviz_model_free (self->model);
  g_free (self);
}

int
_attnviz_attention_layer_index (const AttnvizAttention *self, int layer)
{
  return layer >= 0 && layer < self->n_layer ? self->layer_index[layer] : -1;
}

int
_attnviz_attention_head_index (const AttnvizAttention *self, int head)
{
  return head >= 0 && head < self->n_head ? self->head_index[head] : -1;
}

static gsize
head_offset (const AttnvizAttention *self, int li, int hi)
{
  return (gsize) li * self->n_rec_heads + hi;
}

float *
_attnviz_attention_dense (AttnvizAttention *self, int li, int hi)
{
  g_return_val_if_fail (self->dense != NULL, NULL);
  return self->dense + head_offset (self, li, hi) * (gsize) self->n_rows * self->n_cols;
}

const AttnvizMask *
_attnviz_attention_mask (const AttnvizAttention *self)
{
  return &self->mask;
}

float *
_attnviz_attention_value_norms (AttnvizAttention *self, int li, int hi)
{
  return self->value_norms ? self->value_norms + head_offset (self, li, hi) * (gsize) self->n_cols : NULL;
}

void
_attnviz_attention_stats (AttnvizAttention *self, int li, int hi, float **max, float **inv)
{
  if (self->row_max == NULL)
    {
      *max = *inv = NULL;
      return;
    }
  gsize at = head_offset (self, li, hi) * (gsize) self->n_rows;
  *max = self->row_max + at;
  *inv = self->row_inv + at;
}

gboolean
_attnviz_attention_keep_inputs (AttnvizAttention *self, int li, const float *q_in, const float *k_in,
                                GError **error)
{
  gsize d = self->d_model;
  float *q = try_alloc_floats (self, (guint64) self->n_rows * d, error);
  if (q == NULL)
    return FALSE;
  memcpy (q, q_in, sizeof (float) * self->n_rows * d);
  self->q_in[li] = q;
  if (self->stack == ATTNVIZ_STACK_CROSS)
    {
      if (self->shared_k == NULL)
        {
          self->shared_k = try_alloc_floats (self, (guint64) self->n_cols * d, error);
          if (self->shared_k == NULL)
            return FALSE;
          memcpy (self->shared_k, k_in, sizeof (float) * self->n_cols * d);
        }
      self->k_in[li] = self->shared_k;
    }
  else
    self->k_in[li] = q;
  return TRUE;
}

void
_attnviz_attention_overview_add (AttnvizAttention *self, int li, int hi, int i0, int m, const float *P,
                                 gsize ldp, int n_keys)
{
  if (self->ov_mean == NULL || m <= 0 || n_keys <= 0)
    return;
  gsize at = head_offset (self, li, hi) * (gsize) self->ov_rows * self->ov_cols;
  float *mean = self->ov_mean + at, *mx = self->ov_max + at;
  int R = self->ov_rows, C = self->ov_cols;
  const int *cols = self->ov_col_start;   /* (C + 1) */
  g_autofree float *sum = g_new (float, 2 * (gsize) n_keys);
  float *best = sum + n_keys;

  /* The rows of one row bin are folded first (sums and maxima, column by
   * column), so each bin of columns is read once per row bin, not per row. */
  for (int r = 0; r < m;)
    {
      int br = attnviz_bin_of (i0 + r, R, self->n_rows);
      int r_end = MIN (m, attnviz_bin_start (br + 1, R, self->n_rows) - i0);
      const float *row = P + (gsize) r * ldp;
      memcpy (sum, row, sizeof (float) * n_keys);
      memcpy (best, row, sizeof (float) * n_keys);
      for (int rr = r + 1; rr < r_end; rr++)
        attnviz_sum_max_into (sum, best, P + (gsize) rr * ldp, n_keys);
      float *ms = mean + (gsize) br * C, *mm = mx + (gsize) br * C;
      for (int bc = 0; bc < C && cols[bc] < n_keys; bc++)
        {
          int j1 = MIN (cols[bc + 1], n_keys);
          float s = 0.0f, b = mm[bc];
          for (int j = cols[bc]; j < j1; j++)
            {
              s += sum[j];
              b = best[j] > b ? best[j] : b;
            }
          ms[bc] += s;
          mm[bc] = b;
        }
      r = r_end;
    }
}

void
_attnviz_attention_finish (AttnvizAttention *self)
{
  if (self->ov_mean == NULL)
    return;
  int R = self->ov_rows, C = self->ov_cols;
  for (gsize h = 0; h < (gsize) self->n_rec_layers * self->n_rec_heads; h++)
    for (int br = 0; br < R; br++)
      {
        int rows = attnviz_bin_start (br + 1, R, self->n_rows) - attnviz_bin_start (br, R, self->n_rows);
        for (int bc = 0; bc < C; bc++)
          {
            int cols = attnviz_bin_start (bc + 1, C, self->n_cols) - attnviz_bin_start (bc, C, self->n_cols);
            self->ov_mean[(h * R + br) * C + bc] /= (float) rows * cols;
          }
      }
}

void
_attnviz_attention_copy_layer (AttnvizAttention *self, const AttnvizAttention *src, int layer)
{
  int li = _attnviz_attention_layer_index (self, layer), si = _attnviz_attention_layer_index (src, layer);
  g_return_if_fail (li >= 0 && si >= 0 && self->n_rows == src->n_rows && self->n_cols == src->n_cols);
  gsize cells = (gsize) self->n_rows * self->n_cols, ov = (gsize) self->ov_rows * self->ov_cols;
  for (int hi = 0; hi < self->n_rec_heads; hi++)
    {
      int shi = _attnviz_attention_head_index (src, self->rec_heads[hi]);
      g_return_if_fail (shi >= 0);
      if (self->dense && src->dense)
        memcpy (_attnviz_attention_dense (self, li, hi),
                src->dense + head_offset (src, si, shi) * cells, sizeof (float) * cells);
      if (self->value_norms && src->value_norms)
        memcpy (_attnviz_attention_value_norms (self, li, hi),
                src->value_norms + head_offset (src, si, shi) * src->n_cols, sizeof (float) * self->n_cols);
      if (self->row_max && src->row_max)
        {
          memcpy (self->row_max + head_offset (self, li, hi) * self->n_rows,
                  src->row_max + head_offset (src, si, shi) * src->n_rows, sizeof (float) * self->n_rows);
          memcpy (self->row_inv + head_offset (self, li, hi) * self->n_rows,
                  src->row_inv + head_offset (src, si, shi) * src->n_rows, sizeof (float) * self->n_rows);
        }
      if (self->ov_mean && src->ov_mean && self->ov_rows == src->ov_rows && self->ov_cols == src->ov_cols)
        {
          /* Sums, not yet means: the source has finished, so multiply back. */
          const float *sm = src->ov_mean + head_offset (src, si, shi) * ov;
          float *dm = self->ov_mean + head_offset (self, li, hi) * ov;
          for (int br = 0; br < self->ov_rows; br++)
            for (int bc = 0; bc < self->ov_cols; bc++)
              {
                int rows = attnviz_bin_start (br + 1, self->ov_rows, self->n_rows)
                           - attnviz_bin_start (br, self->ov_rows, self->n_rows);
                int cols = attnviz_bin_start (bc + 1, self->ov_cols, self->n_cols)
                           - attnviz_bin_start (bc, self->ov_cols, self->n_cols);
                dm[br * self->ov_cols + bc] = sm[br * self->ov_cols + bc] * ((float) rows * cols);
              }
          memcpy (self->ov_max + head_offset (self, li, hi) * ov, src->ov_max + head_offset (src, si, shi) * ov,
                  sizeof (float) * ov);
        }
    }
  if (self->q_in && src->q_in && src->q_in[si])
    {
      g_autoptr(GError) error = NULL;
      _attnviz_attention_keep_inputs (self, li, src->q_in[si], src->k_in[si], &error);
    }
}

/* ---- questions ---- */

int
attnviz_attention_get_n_rows (const AttnvizAttention *self)
{
  return self->n_rows;
}

int
attnviz_attention_get_n_cols (const AttnvizAttention *self)
{
  return self->n_cols;
}

int
attnviz_attention_get_n_layers (const AttnvizAttention *self)
{
  return self->n_layer;
}

int
attnviz_attention_get_n_heads (const AttnvizAttention *self)
{
  return self->n_head;
}

gboolean
attnviz_attention_has_head (const AttnvizAttention *self, int layer, int head)
{
  return _attnviz_attention_layer_index (self, layer) >= 0 && _attnviz_attention_head_index (self, head) >= 0;
}

gboolean
attnviz_attention_is_dense (const AttnvizAttention *self)
{
  return self->dense != NULL;
}

gboolean
attnviz_attention_is_causal (const AttnvizAttention *self)
{
  return self->mask.causal;
}

guint64
attnviz_attention_get_bytes (const AttnvizAttention *self)
{
  return self->bytes + self->cache_bytes;
}

const float *
attnviz_attention_peek_dense (const AttnvizAttention *self, int layer, int head)
{
  int li = _attnviz_attention_layer_index (self, layer), hi = _attnviz_attention_head_index (self, head);
  if (self->dense == NULL || li < 0 || hi < 0)
    return NULL;
  return self->dense + head_offset (self, li, hi) * (gsize) self->n_rows * self->n_cols;
}

const float *
attnviz_attention_get_overview (const AttnvizAttention *self, int layer, int head, AttnvizPool pool,
                                int *rows, int *cols)
{
  int li = _attnviz_attention_layer_index (self, layer), hi = _attnviz_attention_head_index (self, head);
  if (li < 0 || hi < 0 || self->ov_mean == NULL)
    return NULL;
  *rows = self->ov_rows;
  *cols = self->ov_cols;
  return (pool == ATTNVIZ_POOL_MAX ? self->ov_max : self->ov_mean)
         + head_offset (self, li, hi) * (gsize) self->ov_rows * self->ov_cols;
}
