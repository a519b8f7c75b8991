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

/* Rows a recomputation takes at once: its scratch is ROW_BLOCK x n_cols. */
#define ROW_BLOCK 128

struct _AttnvizAttention {
  AttnvizModel *model;
  AttnvizStack stack;
  int n_rows, n_cols;
  int n_layer;              /* layers of the stack in the model */
  int n_head, n_kv_head, hd, d_model;
  int n_rec_layers, n_rec_heads;
  int *rec_layers, *rec_heads;
  int *layer_index;         /* (n_layer) -> recorded index or -1 */
  int *head_index;          /* (n_head) */

  AttnvizMask mask;         /* key_mask owned */
  AttnvizScoreKind score;
  gboolean rope;
  int n_rot;
  AttnvizRopeStyle rope_style;
  gint32 *positions;        /* (n_rows) or NULL */
  float *inv_freq;          /* (n_rot / 2) */

  float *dense;             /* (n_rec_layers, n_rec_heads, n_rows, n_cols) or NULL */
  float **q_in;             /* (n_rec_layers) of (n_rows, d_model) */
  float **k_in;             /* (n_rec_layers) of (n_cols, d_model); may alias q_in or shared_k */
  float *shared_k;          /* cross: the encoder output, once */
  float *row_max, *row_inv; /* (n_rec_layers, n_rec_heads, n_rows) */
  float *value_norms;       /* (n_rec_layers, n_rec_heads, n_cols) ||v_j W_O^h||, NaN until written */

  int ov_rows, ov_cols;
  int *ov_col_start;        /* (ov_cols + 1) first column of each column bin, then n_cols */
  float *ov_mean, *ov_max;  /* (n_rec_layers, n_rec_heads, ov_rows, ov_cols) */
  guint64 bytes;

  /* cached q (n_rows, hd) and k (n_cols, hd) of recent heads */
  GMutex lock;
  GHashTable *cache;        /* key -> CacheEntry */
  GQueue lru;               /* of CacheEntry, most recent first */
  guint64 cache_bytes, cache_budget;
};

typedef struct {
  guint64 key;
  GBytes *data;
  GList link;
} CacheEntry;

/* ---- the score kernel ---- */

#define visible _attnviz_mask_visible

void
_attnviz_scores (const AttnvizMask *mk, const float *q, int ldq, int i0, int m,
                 const float *k, int ldk, int c0, int c1, int hd, float *S, gsize lds)
{
  int n = c1 - c0;
  if (m <= 0 || n <= 0)
    return;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, hd, mk->scale, q, ldq, k, ldk, 0.0f, S,
               (int) lds);
  gboolean restricted = mk->key_mask || mk->window > 0 || mk->stride > 0;
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
  gboolean restricted = mk->key_mask || mk->window > 0 || mk->stride > 0;
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

/* ---- building ---- */

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
  if (spec->dense || spec->score == ATTNVIZ_SCORE_ADDITIVE)
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
  int side = CLAMP (MAX (spec->n_rows, spec->n_cols) / 8, 32, 256);
  while (side > 8 && heads * 2 * (guint64) side * side * sizeof (float) > budget)
    side /= 2;
  self->ov_rows = MIN (spec->n_rows, side);
  self->ov_cols = MIN (spec->n_cols, side);
  self->ov_col_start = g_new (int, self->ov_cols + 1);
  for (int bc = 0; bc <= self->ov_cols; bc++)
    self->ov_col_start[bc] = attnviz_bin_start (bc, self->ov_cols, spec->n_cols);
  guint64 ov = heads * self->ov_rows * self->ov_cols;
  if (ok && ov > 0)
    {
      ok = (self->ov_mean = try_alloc_floats (self, ov, error)) != NULL
           && (self->ov_max = try_alloc_floats (self, ov, error)) != NULL;
      if (ok)
        {
          memset (self->ov_mean, 0, ov * sizeof (float));
          memset (self->ov_max, 0, ov * sizeof (float));
        }
    }
  if (!ok)
    {
      attnviz_attention_free (self);
      return NULL;
    }
  if (self->dense)
    attnviz_advise_huge_pages (self->dense, heads * cells * sizeof (float));
  return self;
}

static void
cache_entry_free (CacheEntry *e)
{
  g_bytes_unref (e->data);
  g_free (e);
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
    cache_entry_free (link->data);
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
        {
          row = P + (gsize) rr * ldp;
          for (int j = 0; j < n_keys; j++)
            {
              sum[j] += row[j];
              best[j] = row[j] > best[j] ? row[j] : best[j];
            }
        }
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

/* ---- recomputing q and k ---- */

/* q (n_rows, hd) of HEAD, or k (n_cols, hd) of key/value group HEAD, of
 * recorded layer LI: from the cache, or computed and cached.  A reference:
 * g_bytes_unref () it. */
static GBytes *
projection (AttnvizAttention *self, int li, int head, gboolean keys)
{
  guint64 key = ((guint64) li << 33) | ((guint64) keys << 32) | (guint) head;
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
  const AttnvizLinear *wq, *wk;
  stack_weights (self, layer, &wq, &wk);
  AttnvizLinear slice = attnviz_linear_slice (keys ? wk : wq, head * hd, hd);
  float *out = g_new (float, (gsize) n * hd);
  attnviz_blas_serial_begin ();
  attnviz_linear_serial_ld (out, hd, keys ? self->k_in[li] : self->q_in[li], &slice, n);
  attnviz_blas_serial_end ();
  if (self->rope)
    attnviz_rope (out, n, 1, hd, self->n_rot, self->rope_style, self->positions, 0, self->inv_freq);
  GBytes *bytes = g_bytes_new_take (out, (gsize) n * hd * sizeof (float));

  g_mutex_lock (&self->lock);
  if (g_hash_table_lookup (self->cache, &key) == NULL)
    {
      e = g_new0 (CacheEntry, 1);
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
          cache_entry_free (old);
        }
    }
  g_mutex_unlock (&self->lock);
  return bytes;
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
      _attnviz_scores (&self->mask, qd + (gsize) b0 * hd, hd, b0, m, kd, hd, 0, keys, hd, S, keys);
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
