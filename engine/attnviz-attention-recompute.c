/* attnviz-attention-recompute.c: a head's probabilities computed again
 *
 * The score kernel the forward pass shares (scaled q k^T with the mask's
 * hidden keys at -inf, the visible counts, the softmax of a row), a head's
 * q and k projected from the kept inputs and cached, and every way of
 * reading a head (a rectangle, a row, a cell, the whole matrix, pooled
 * bins), from the dense matrices or recomputed block by block exactly as
 * the forward pass made them (attnviz-attention.c says how).
 */
#define G_LOG_DOMAIN "attnviz-attention"
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "attnviz-attention-private.h"
#include "attnviz-kernels.h"
#include "attnviz-matmul.h"
#include "attnviz-parallel.h"

/* Rows a recomputation takes at once: its scratch is ROW_BLOCK x n_cols. */
#define ROW_BLOCK 128

/* ---- the score kernel ---- */

#define visible _attnviz_mask_visible

void
_attnviz_scores (const AttnvizMask *mk, int head, const float *q, int ldq, int i0, int m,
                 const float *k, int ldk, int c0, int c1, int hd, float *S, gsize lds)
{
  int n = c1 - c0;
  if (m <= 0 || n <= 0)
    return;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, hd, mk->scale, q, ldq, k, ldk, 0.0f, S,
               (int) lds);
  for (int r = 0; r < m && mk->rel_bias; r++)
    {
      int i = i0 + r, pi = mk->positions ? mk->positions[i] : i;
      float *row = S + (gsize) r * lds;
      for (int j = c0; j < c1; j++)
        {
          int pj = mk->positions ? mk->positions[j] : j;
          int b = attnviz_relative_bucket (pj - pi, mk->rel_bidirectional, mk->rel_buckets, mk->rel_max_distance);
          row[j - c0] += mk->rel_bias[(gsize) b * mk->n_head + head];
        }
    }
  gboolean restricted = mk->key_mask || !attnviz_pattern_is_dense (&mk->pattern);
  for (int r = 0; r < m; r++)
    {
      int i = i0 + r;
      float *row = S + (gsize) r * lds;
      if (restricted)
        {
          for (int j = c0; j < c1; j++)
            if (!visible (mk, i, j))
              row[j - c0] = -INFINITY;
        }
      else if (mk->causal)
        for (int j = MAX (c0, i + 1); j < c1; j++)
          row[j - c0] = -INFINITY;
    }
}

void
_attnviz_mask_count_visible (const AttnvizMask *mk, int i0, int m, int n_cols, int *out)
{
  gboolean restricted = mk->key_mask || !attnviz_pattern_is_dense (&mk->pattern);
  for (int r = 0; r < m; r++)
    {
      int i = i0 + r, n = 0;
      if (!restricted)
        n = mk->causal ? MIN (i + 1, n_cols) : n_cols;
      else
        for (int j = 0; j < n_cols; j++)
          n += visible (mk, i, j);
      out[r] = n;
    }
}

void
_attnviz_softmax_row (float *row, int n, float *max, float *inv)
{
  float m = attnviz_max_of (row, n);
  if (m == -INFINITY && attnviz_first_nan (row, n) >= 0)
    {
      /* Scores that are all NaN are no mask: NaN carries on, so the
       * layer's output is NaN and the run stops naming it, rather than
       * recording a row of zeros. */
      for (int j = 0; j < n; j++)
        row[j] = NAN;
      *max = NAN;
      *inv = NAN;
      return;
    }
  if (m == -INFINITY)
    {
      /* Every key masked: the query reads nothing. */
      memset (row, 0, sizeof (float) * n);
      *max = -INFINITY;
      *inv = 0.0f;
      return;
    }
  float s = (float) (1.0 / attnviz_exp_shifted (row, n, m));
  attnviz_scale_array (row, n, s);
  *max = m;
  *inv = s;
}

/* ---- recomputing q and k ---- */

static const AttnvizLayerWeights *
stack_layer (const AttnvizAttention *self, int layer)
{
  return self->stack == ATTNVIZ_STACK_ENCODER ? &self->model->enc_layers[layer] : &self->model->layers[layer];
}

static void
stack_weights (const AttnvizAttention *self, int layer, const AttnvizLinear **wq, const AttnvizLinear **wk)
{
  const AttnvizLayerWeights *L = stack_layer (self, layer);
  *wq = self->stack == ATTNVIZ_STACK_CROSS ? &L->cq : &L->q;
  *wk = self->stack == ATTNVIZ_STACK_CROSS ? &L->ck : &L->k;
}

void
_attnviz_attention_cache_entry_free (CacheEntry *e)
{
  g_bytes_unref (e->data);
  g_free (e);
}

static guint64
projection_key (int li, int head, gboolean keys)
{
  return ((guint64) li << 33) | ((guint64) keys << 32) | (guint) head;
}

/* Caches BYTES under KEY unless another thread did first, then drops the
 * least recently used entries past the budget.  Called with the lock. */
static void
cache_insert (AttnvizAttention *self, guint64 key, GBytes *bytes)
{
  if (g_hash_table_lookup (self->cache, &key) != NULL)
    return;
  CacheEntry *e = g_new0 (CacheEntry, 1);
  e->key = key;
  e->data = g_bytes_ref (bytes);
  e->link.data = e;
  g_queue_push_head_link (&self->lru, &e->link);
  g_hash_table_insert (self->cache, &e->key, e);
  self->cache_bytes += g_bytes_get_size (bytes);
  while (self->cache_bytes > self->cache_budget && self->lru.length > 2)
    {
      GList *last = g_queue_pop_tail_link (&self->lru);
      CacheEntry *old = last->data;
      g_hash_table_remove (self->cache, &old->key);
      self->cache_bytes -= g_bytes_get_size (old->data);
      _attnviz_attention_cache_entry_free (old);
    }
}

/* q (n_rows, hd) of HEAD, or k (n_cols, hd) of key/value group HEAD, of
 * recorded layer LI: from the cache, or computed with the other heads of
 * its projection group (one product, as the forward pass made it) and all
 * of them cached.  A reference: g_bytes_unref () it. */
static GBytes *
projection (AttnvizAttention *self, int li, int head, gboolean keys)
{
  guint64 key = projection_key (li, head, keys);
  g_mutex_lock (&self->lock);
  CacheEntry *e = g_hash_table_lookup (self->cache, &key);
  if (e != NULL)
    {
      g_queue_unlink (&self->lru, &e->link);
      g_queue_push_head_link (&self->lru, &e->link);
      GBytes *hit = g_bytes_ref (e->data);
      g_mutex_unlock (&self->lock);
      return hit;
    }
  g_mutex_unlock (&self->lock);

  int layer = self->rec_layers[li], hd = self->hd;
  int n = keys ? self->n_cols : self->n_rows;
  int group = _attnviz_projection_group (hd), h0 = head / group * group;
  int n_group = MIN (group, (keys ? self->n_kv_head : self->n_head) - h0);
  const AttnvizLinear *wq, *wk;
  stack_weights (self, layer, &wq, &wk);
  AttnvizLinear slice = attnviz_linear_slice (keys ? wk : wq, h0 * hd, n_group * hd);
  g_autofree float *all = g_new (float, (gsize) n * n_group * hd);
  attnviz_blas_serial_begin ();
  attnviz_linear_serial_ld (all, n_group * hd, keys ? self->k_in[li] : self->q_in[li], &slice, n);
  attnviz_blas_serial_end ();

  GBytes *asked = NULL;
  for (int g = 0; g < n_group; g++)
    {
      float *out = g_new (float, (gsize) n * hd);
      for (int i = 0; i < n; i++)
        memcpy (out + (gsize) i * hd, all + ((gsize) i * n_group + g) * hd, sizeof (float) * hd);
      if (self->rope)
        attnviz_rope (out, n, 1, hd, self->n_rot, self->rope_style, self->positions, 0, self->inv_freq);
      GBytes *bytes = g_bytes_new_take (out, (gsize) n * hd * sizeof (float));
      g_mutex_lock (&self->lock);
      cache_insert (self, projection_key (li, h0 + g, keys), bytes);
      g_mutex_unlock (&self->lock);
      if (h0 + g == head)
        asked = bytes;
      else
        g_bytes_unref (bytes);
    }
  return asked;
}

/* Rows [r0, r1) x columns [c0, c1) of a recompute run's head.  The scores
 * come block by block exactly as the forward pass made them (the same
 * ROW_BLOCK rows over the same keys, by the same sgemm call), then
 * p = e^(s - max) * inv: the forward's own values, bit for bit. */
static void
recompute_rect (AttnvizAttention *self, int li, int hi, int r0, int r1, int c0, int c1, float *out, gsize ld)
{
  int head = self->rec_heads[hi], hd = self->hd;
  int group = self->n_head / self->n_kv_head;
  g_autoptr(GBytes) q = projection (self, li, head, FALSE);
  g_autoptr(GBytes) k = projection (self, li, head / group, TRUE);
  const float *qd = g_bytes_get_data (q, NULL), *kd = g_bytes_get_data (k, NULL);
  float *max, *inv;
  _attnviz_attention_stats (self, li, hi, &max, &inv);
  float *S = g_new (float, (gsize) ROW_BLOCK * self->n_cols);

  attnviz_blas_serial_begin ();
  for (int b0 = r0 / ROW_BLOCK * ROW_BLOCK; b0 < r1; b0 += ROW_BLOCK)
    {
      int m = MIN (ROW_BLOCK, self->n_rows - b0);
      int keys = self->mask.causal ? MIN (b0 + m, self->n_cols) : self->n_cols;
      _attnviz_scores (&self->mask, head, qd + (gsize) b0 * hd, hd, b0, m, kd, hd, 0, keys, hd, S, keys);
      int j1 = MIN (c1, keys);
      for (int i = MAX (b0, r0); i < MIN (b0 + m, r1); i++)
        {
          float *dst = out + (gsize) (i - r0) * ld;
          if (j1 > c0 && max[i] != -INFINITY)
            {
              memcpy (dst, S + (gsize) (i - b0) * keys + c0, sizeof (float) * (j1 - c0));
              attnviz_exp_shifted (dst, j1 - c0, max[i]);
              attnviz_scale_array (dst, j1 - c0, inv[i]);
            }
          else if (j1 > c0)
            memset (dst, 0, sizeof (float) * (j1 - c0));
          /* Keys after a causal block's last query were never computed: 0. */
          if (c1 > MAX (j1, c0))
            memset (dst + MAX (j1, c0) - c0, 0, sizeof (float) * (c1 - MAX (j1, c0)));
        }
    }
  attnviz_blas_serial_end ();
  g_free (S);
}

void
_attnviz_attention_projections (AttnvizAttention *self, int layer, int head, GBytes **q, GBytes **k)
{
  int li = _attnviz_attention_layer_index (self, layer);
  g_return_if_fail (li >= 0 && self->q_in[li] != NULL && head >= 0 && head < self->n_head);
  *q = projection (self, li, head, FALSE);
  *k = projection (self, li, head / (self->n_head / self->n_kv_head), TRUE);
}

void
attnviz_attention_count_visible (const AttnvizAttention *self, int r0, int r1, int *out)
{
  g_return_if_fail (0 <= r0 && r0 <= r1 && r1 <= self->n_rows);
  _attnviz_mask_count_visible (&self->mask, r0, r1 - r0, self->n_cols, out);
}

void
attnviz_attention_get_rect (AttnvizAttention *self, int layer, int head, int r0, int r1, int c0, int c1,
                            float *out, gsize ld)
{
  int li = _attnviz_attention_layer_index (self, layer), hi = _attnviz_attention_head_index (self, head);
  g_return_if_fail (li >= 0 && hi >= 0);
  g_return_if_fail (0 <= r0 && r0 <= r1 && r1 <= self->n_rows && 0 <= c0 && c0 <= c1 && c1 <= self->n_cols);
  g_return_if_fail (ld >= (gsize) (c1 - c0));
  if (r0 == r1 || c0 == c1)
    return;
  if (self->dense)
    {
      const float *d = _attnviz_attention_dense (self, li, hi);
      for (int i = r0; i < r1; i++)
        memcpy (out + (gsize) (i - r0) * ld, d + (gsize) i * self->n_cols + c0, sizeof (float) * (c1 - c0));
      return;
    }
  recompute_rect (self, li, hi, r0, r1, c0, c1, out, ld);
}

void
attnviz_attention_get_row (AttnvizAttention *self, int layer, int head, int r, float *out)
{
  attnviz_attention_get_rect (self, layer, head, r, r + 1, 0, self->n_cols, out, self->n_cols);
}

float
attnviz_attention_get_cell (AttnvizAttention *self, int layer, int head, int r, int c)
{
  float v = 0.0f;
  attnviz_attention_get_rect (self, layer, head, r, r + 1, c, c + 1, &v, 1);
  return v;
}

float *
attnviz_attention_dup_matrix (AttnvizAttention *self, int layer, int head)
{
  g_return_val_if_fail (attnviz_attention_has_head (self, layer, head), NULL);
  float *m = g_new (float, (gsize) self->n_rows * self->n_cols);
  attnviz_attention_get_rect (self, layer, head, 0, self->n_rows, 0, self->n_cols, m, self->n_cols);
  return m;
}

gboolean
attnviz_attention_pool (AttnvizAttention *self, int layer, int head, int rows, int cols, AttnvizPool pool,
                        float *out, GCancellable *cancellable)
{
  return attnviz_attention_pool_mean_max (self, layer, head, rows, cols, pool == ATTNVIZ_POOL_MEAN ? out : NULL,
                                          pool == ATTNVIZ_POOL_MAX ? out : NULL, cancellable);
}

gboolean
attnviz_attention_pool_mean_max (AttnvizAttention *self, int layer, int head, int rows, int cols, float *mean,
                                 float *max, GCancellable *cancellable)
{
  g_return_val_if_fail (attnviz_attention_has_head (self, layer, head), FALSE);
  g_return_val_if_fail (rows >= 1 && rows <= self->n_rows && cols >= 1 && cols <= self->n_cols, FALSE);
  if (mean != NULL)
    memset (mean, 0, sizeof (float) * rows * cols);
  if (max != NULL)
    memset (max, 0, sizeof (float) * rows * cols);
  int n_cols = self->n_cols;
  g_autofree float *block = g_new (float, (gsize) ROW_BLOCK * n_cols);
  for (int i0 = 0; i0 < self->n_rows; i0 += ROW_BLOCK)
    {
      if (g_cancellable_is_cancelled (cancellable))
        return FALSE;
      int m = MIN (ROW_BLOCK, self->n_rows - i0);
      /* Past the diagonal of a causal head every entry is 0: no need to
       * compute it. */
      int keys = self->mask.causal ? MIN (i0 + m, n_cols) : n_cols;
      attnviz_attention_get_rect (self, layer, head, i0, i0 + m, 0, keys, block, n_cols);
      for (int r = 0; r < m; r++)
        {
          int i = i0 + r, br = attnviz_bin_of (i, rows, self->n_rows);
          const float *row = block + (gsize) r * n_cols;
          for (int bc = 0; bc < cols; bc++)
            {
              int j0 = attnviz_bin_start (bc, cols, n_cols), j1 = MIN (attnviz_bin_start (bc + 1, cols, n_cols), keys);
              gsize at = (gsize) br * cols + bc;
              if (max != NULL)
                {
                  float best = max[at];
                  for (int j = j0; j < j1; j++)
                    best = row[j] > best ? row[j] : best;
                  max[at] = best;
                }
              if (mean != NULL)
                {
                  float sum = mean[at];
                  for (int j = j0; j < j1; j++)
                    sum += row[j];
                  mean[at] = sum;
                }
            }
        }
    }
  if (mean != NULL)
    for (int br = 0; br < rows; br++)
      for (int bc = 0; bc < cols; bc++)
        mean[(gsize) br * cols + bc] /= (float) (attnviz_bin_start (br + 1, rows, self->n_rows)
                                                 - attnviz_bin_start (br, rows, self->n_rows))
                                        * (attnviz_bin_start (bc + 1, cols, n_cols) - attnviz_bin_start (bc, cols, n_cols));
  return TRUE;
}
