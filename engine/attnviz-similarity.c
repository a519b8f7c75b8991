#define G_LOG_DOMAIN "attnviz-similarity"
#include "config.h"

/* Head similarity by Jensen-Shannon distance and average-linkage order
 * (attnviz-similarity.h has the definitions and costs). */

#include <math.h>
#include <string.h>

#include "attnviz-parallel.h"
#include "attnviz-similarity.h"

/* Memory a block of rows of every head may take. */
#define BLOCK_BYTES ((gsize) 128 << 20)

/* sum_j x log2 x over the N values */
static double
neg_entropy (const float *p, int n)
{
  double s = 0.0;
  for (int j = 0; j < n; j++)
    if (p[j] > 0.0f)
      s += (double) p[j] * log2 (p[j]);
  return s;
}

/* JS (p, q) = 1/2 sum_j [p log2 p + q log2 q - (p + q) log2 ((p + q) / 2)],
 * the first two sums given. */
static double
js_divergence (const float *p, const float *q, int n, double np, double nq)
{
  double s = 0.0;
  for (int j = 0; j < n; j++)
    {
      float t = p[j] + q[j];
      if (t > 0.0f)
        s += (double) t * (log2 (t) - 1.0);
    }
  return MAX (0.0, 0.5 * (np + nq - s));
}

double
attnviz_jsd (const float *p, const float *q, int n)
{
  return sqrt (MIN (1.0, js_divergence (p, q, n, neg_entropy (p, n), neg_entropy (q, n))));
}

/* ---- comparing every pair on blocks of rows ---- */

typedef struct {
  int n;                    /* heads */
  int m, keys;              /* rows in the block, keys each */
  const float *rows;        /* (n, m, keys) */
  const double *ne;         /* (n, m) sum p log2 p of each row */
  const gboolean *live;     /* (n, m) row has mass */
  double *sum;              /* (n, n) upper triangle: sum of JSD over rows */
  int *count;               /* (n, n) rows compared */
} PairJob;

static void
pairs_range (gpointer data, gsize start, gsize end)
{
  const PairJob *job = data;
  int n = job->n, m = job->m, K = job->keys;
  for (gsize a = start; a < end; a++)
    for (int b = (int) a + 1; b < n; b++)
      {
        double s = 0.0;
        int c = 0;
        for (int r = 0; r < m; r++)
          {
            gsize ra = a * m + r, rb = (gsize) b * m + r;
            if (!job->live[ra] || !job->live[rb])
              continue;
            double js = js_divergence (job->rows + ra * K, job->rows + rb * K, K, job->ne[ra], job->ne[rb]);
            s += sqrt (MIN (1.0, js));
            c++;
          }
        job->sum[a * n + b] += s;
        job->count[a * n + b] += c;
      }
}

typedef struct {
  AttnvizAttention *source;
  const int *layers, *heads;
  int i0, m, keys;
  float *rows;
  double *ne;
  gboolean *live;
} FetchJob;

static void
fetch_range (gpointer data, gsize start, gsize end)
{
  const FetchJob *job = data;
  for (gsize k = start; k < end; k++)
    {
      float *dst = job->rows + k * job->m * (gsize) job->keys;
      attnviz_attention_get_rect (job->source, job->layers[k], job->heads[k], job->i0, job->i0 + job->m, 0,
                                  job->keys, dst, job->keys);
      for (int r = 0; r < job->m; r++)
        {
          const float *row = dst + (gsize) r * job->keys;
          double mass = 0.0;
          for (int j = 0; j < job->keys; j++)
            mass += row[j];
          job->live[k * job->m + r] = mass > 0.5;
          job->ne[k * job->m + r] = neg_entropy (row, job->keys);
        }
    }
}

/* The overview rows of every head as distributions over column bins. */
static void
pooled_rows (AttnvizAttention *source, const int *layers, const int *heads, int n, float **rows, int *R, int *C)
{
  int T = attnviz_attention_get_n_cols (source);
  attnviz_attention_get_overview (source, layers[0], heads[0], ATTNVIZ_POOL_MEAN, R, C);
  *rows = g_new (float, (gsize) n * *R * *C);
  for (int k = 0; k < n; k++)
    {
      int r, c;
      const float *ov = attnviz_attention_get_overview (source, layers[k], heads[k], ATTNVIZ_POOL_MEAN, &r, &c);
      g_assert (r == *R && c == *C);
      for (int br = 0; br < r; br++)
        {
          float *dst = *rows + ((gsize) k * r + br) * c;
          double sum = 0.0;
          for (int bc = 0; bc < c; bc++)
            {
              int width = attnviz_bin_start (bc + 1, c, T) - attnviz_bin_start (bc, c, T);
              dst[bc] = ov[(gsize) br * c + bc] * width;
              sum += dst[bc];
            }
          for (int bc = 0; bc < c && sum > 0.0; bc++)
            dst[bc] = (float) (dst[bc] / sum);
        }
    }
}

AttnvizHeadSimilarity *
attnviz_head_similarity (AttnvizAttention *source, int exact_max_tokens, GCancellable *cancellable, GError **error)
{
  int T = attnviz_attention_get_n_rows (source), n_cols = attnviz_attention_get_n_cols (source);
  int L = attnviz_attention_get_n_layers (source), H = attnviz_attention_get_n_heads (source);
  g_autoptr(AttnvizHeadSimilarity) self = g_new0 (AttnvizHeadSimilarity, 1);
  self->layers = g_new (int, MAX (L * H, 1));
  self->heads = g_new (int, MAX (L * H, 1));
  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      if (attnviz_attention_has_head (source, l, h))
        {
          self->layers[self->n] = l;
          self->heads[self->n++] = h;
        }
  int n = self->n;
  self->distance = g_new0 (float, MAX ((gsize) n * n, 1));
  self->order = g_new (int, MAX (n, 1));
  self->merge_a = g_new (int, MAX (n, 1));
  self->merge_b = g_new (int, MAX (n, 1));
  self->height = g_new (float, MAX (n, 1));
  g_autofree double *sum = g_new0 (double, MAX ((gsize) n * n, 1));
  g_autofree int *count = g_new0 (int, MAX ((gsize) n * n, 1));

  self->pooled = T > (exact_max_tokens > 0 ? exact_max_tokens : ATTNVIZ_SIMILARITY_EXACT_TOKENS);
  if (self->pooled && n > 0)
    {
      g_autofree float *rows = NULL;
      int R, C;
      pooled_rows (source, self->layers, self->heads, n, &rows, &R, &C);
      g_autofree double *ne = g_new (double, (gsize) n * R);
      g_autofree gboolean *live = g_new (gboolean, (gsize) n * R);
      for (gsize k = 0; k < (gsize) n * R; k++)
        {
          double mass = 0.0;
          for (int bc = 0; bc < C; bc++)
            mass += rows[k * C + bc];
          ne[k] = neg_entropy (rows + k * C, C);
          live[k] = mass > 0.5;
        }
      PairJob job = { n, R, C, rows, ne, live, sum, count };
      attnviz_parallel_for (n, 1, pairs_range, &job);
    }
  else if (n > 0)
    {
      gboolean causal = attnviz_attention_is_causal (source);
      int m = (int) CLAMP (BLOCK_BYTES / ((gsize) n * n_cols * sizeof (float)), 1, 128);
      g_autofree float *rows = g_try_new (float, (gsize) n * m * n_cols);
      if (rows == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory comparing %d heads", n);
          return NULL;
        }
      g_autofree double *ne = g_new (double, (gsize) n * m);
      g_autofree gboolean *live = g_new (gboolean, (gsize) n * m);
      for (int i0 = 0; i0 < T; i0 += m)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return NULL;
          int mm = MIN (m, T - i0);
          int keys = causal ? MIN (i0 + mm, n_cols) : n_cols;
          FetchJob fetch = { source, self->layers, self->heads, i0, mm, keys, rows, ne, live };
          attnviz_parallel_for (n, 1, fetch_range, &fetch);
          PairJob job = { n, mm, keys, rows, ne, live, sum, count };
          attnviz_parallel_for (n, 1, pairs_range, &job);
        }
    }
  for (int a = 0; a < n; a++)
    for (int b = a + 1; b < n; b++)
      {
        float d = count[a * n + b] ? (float) (sum[a * n + b] / count[a * n + b]) : 0.0f;
        self->distance[a * n + b] = self->distance[b * n + a] = d;
      }
  if (n > 0)
    attnviz_cluster_average (self->distance, n, self->order, self->merge_a, self->merge_b, self->height);
  return g_steal_pointer (&self);
}

void
attnviz_head_similarity_free (AttnvizHeadSimilarity *self)
{
  if (self == NULL)
    return;
  g_free (self->layers);
  g_free (self->heads);
  g_free (self->distance);
  g_free (self->order);
  g_free (self->merge_a);
  g_free (self->merge_b);
  g_free (self->height);
  g_free (self);
}

/* ---- average linkage ---- */

void
attnviz_cluster_average (const float *D, int n, int *order, int *merge_a, int *merge_b, float *height)
{
  g_return_if_fail (n > 0);
  g_autofree double *d = g_new (double, (gsize) n * n);
  g_autofree int *size = g_new (int, n), *id = g_new (int, n), *least = g_new (int, n);
  g_autofree int *left = g_new (int, MAX (n - 1, 1)), *right = g_new (int, MAX (n - 1, 1));
  g_autofree gboolean *active = g_new (gboolean, n);
  for (gsize k = 0; k < (gsize) n * n; k++)
    d[k] = D[k];
  for (int i = 0; i < n; i++)
    {
      size[i] = 1;
      id[i] = i;        /* slot i holds cluster id[i] (< n a leaf, n + k merge k) */
      least[i] = i;
      active[i] = TRUE;
    }
  for (int step = 0; step < n - 1; step++)
    {
      int a = -1, b = -1;
      double best = G_MAXDOUBLE;
      for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n && active[i]; j++)
          if (active[j] && d[(gsize) i * n + j] < best)
            {
              best = d[(gsize) i * n + j];
              a = i;
              b = j;
            }
      /* the child with the smaller head first, so the order is stable */
      gboolean swap = least[b] < least[a];
      left[step] = swap ? id[b] : id[a];
      right[step] = swap ? id[a] : id[b];
      if (merge_a)
        {
          merge_a[step] = MIN (id[a], id[b]);
          merge_b[step] = MAX (id[a], id[b]);
          height[step] = (float) best;
        }
      /* Lance-Williams: the new cluster, in slot a, is the size-weighted mean */
      for (int k = 0; k < n; k++)
        if (active[k] && k != a && k != b)
          {
            double v = (size[a] * d[(gsize) a * n + k] + size[b] * d[(gsize) b * n + k]) / (size[a] + size[b]);
            d[(gsize) a * n + k] = d[(gsize) k * n + a] = v;
          }
      size[a] += size[b];
      least[a] = MIN (least[a], least[b]);
      id[a] = n + step;
      active[b] = FALSE;
    }
  /* leaves left to right: a stack walk from the root */
  g_autofree int *stack = g_new (int, 2 * n);
  int top = 0, at = 0;
  stack[top++] = n > 1 ? 2 * n - 2 : 0;
  while (top > 0)
    {
      int c = stack[--top];
      if (c < n)
        order[at++] = c;
      else
        {
          stack[top++] = right[c - n];
          stack[top++] = left[c - n];
        }
    }
}

char *
attnviz_head_similarity_to_csv (const AttnvizHeadSimilarity *self)
{
  GString *s = g_string_new ("layer,head");
  for (int c = 0; c < self->n; c++)
    g_string_append_printf (s, ",L%dH%d", self->layers[self->order[c]], self->heads[self->order[c]]);
  g_string_append_c (s, '\n');
  for (int r = 0; r < self->n; r++)
    {
      int a = self->order[r];
      g_string_append_printf (s, "%d,%d", self->layers[a], self->heads[a]);
      for (int c = 0; c < self->n; c++)
        g_string_append_printf (s, ",%.6g", self->distance[(gsize) a * self->n + self->order[c]]);
      g_string_append_c (s, '\n');
    }
  return g_string_free (s, FALSE);
}
