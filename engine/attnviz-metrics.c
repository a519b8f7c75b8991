#define G_LOG_DOMAIN "attnviz-metrics"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-metrics.h"
#include "attnviz-parallel.h"

double
attnviz_total_variation (const float *a, const float *b, int rows, int cols)
{
  double total = 0.0;
  for (int i = 0; i < rows; i++)
    {
      double d = 0.0;
      for (int j = 0; j < cols; j++)
        d += fabs ((double) a[(gsize) i * cols + j] - b[(gsize) i * cols + j]);
      total += 0.5 * d;
    }
  return rows ? total / rows : 0.0;
}

/* Rows a comparison reads at once: the attention source's recompute block. */
#define TVD_ROW_BLOCK 128

double
attnviz_attention_total_variation (AttnvizAttention *a, AttnvizAttention *b, int layer, int head)
{
  int rows = attnviz_attention_get_n_rows (a), cols = attnviz_attention_get_n_cols (a);
  g_return_val_if_fail (rows == attnviz_attention_get_n_rows (b) && cols == attnviz_attention_get_n_cols (b), NAN);
  const float *da = attnviz_attention_peek_dense (a, layer, head), *db = attnviz_attention_peek_dense (b, layer, head);
  if (da != NULL && db != NULL)
    return attnviz_total_variation (da, db, rows, cols);

  /* A band of rows of each at a time, summed exactly as
   * attnviz_total_variation () sums the whole matrices. */
  int block = MIN (TVD_ROW_BLOCK, MAX (rows, 1));
  g_autofree float *ba = g_new (float, (gsize) block * MAX (cols, 1));
  g_autofree float *bb = g_new (float, (gsize) block * MAX (cols, 1));
  double total = 0.0;
  for (int i0 = 0; i0 < rows; i0 += block)
    {
      int m = MIN (block, rows - i0);
      attnviz_attention_get_rect (a, layer, head, i0, i0 + m, 0, cols, ba, cols);
      attnviz_attention_get_rect (b, layer, head, i0, i0 + m, 0, cols, bb, cols);
      for (int i = 0; i < m; i++)
        {
          double d = 0.0;
          for (int j = 0; j < cols; j++)
            d += fabs ((double) ba[(gsize) i * cols + j] - bb[(gsize) i * cols + j]);
          total += 0.5 * d;
        }
    }
  return rows ? total / rows : 0.0;
}

typedef struct {
  const AttnvizRecording *a, *b;
  double *out;
} TvdJob;

static void
tvd_range (gpointer data, gsize start, gsize end)
{
  const TvdJob *job = data;
  const AttnvizRecording *a = job->a;
  for (gsize k = start; k < end; k++)
    job->out[k] = attnviz_attention_total_variation (a->attention, job->b->attention,
                                                     a->rec_layers[k / a->n_rec_heads],
                                                     a->rec_heads[k % a->n_rec_heads]);
}

gboolean
attnviz_recording_tvd_per_head (const AttnvizRecording *a, const AttnvizRecording *b, double *out)
{
  if (a->T != b->T || a->n_rec_layers != b->n_rec_layers || a->n_rec_heads != b->n_rec_heads)
    return FALSE;
  gsize n = (gsize) a->n_rec_layers * a->n_rec_heads;
  if (n == 0)
    return TRUE;
  if (a->attention == NULL || b->attention == NULL)
    {
      /* Recordings with their own dense buffer and no source (the
       * trainer's, attnviz_recording_new ()). */
      if (a->attn == NULL || b->attn == NULL)
        return FALSE;
      gsize nn = (gsize) a->T * a->T;
      for (gsize k = 0; k < n; k++)
        out[k] = attnviz_total_variation (a->attn + k * nn, b->attn + k * nn, a->T, a->T);
      return TRUE;
    }
  if (memcmp (a->rec_layers, b->rec_layers, sizeof (int) * a->n_rec_layers) != 0
      || memcmp (a->rec_heads, b->rec_heads, sizeof (int) * a->n_rec_heads) != 0)
    return FALSE;
  /* Heads on the engine's threads; each is summed the same way on any. */
  TvdJob job = { a, b, out };
  attnviz_parallel_for (n, 1, tvd_range, &job);
  return TRUE;
}

int
attnviz_combine_maps (float *out, const float *const *maps, int n_maps, gsize n, gboolean take_max)
{
  int used = 0;
  for (int k = 0; k < n_maps; k++)
    {
      const float *m = maps[k];
      if (m == NULL)
        continue;
      if (used == 0)
        memcpy (out, m, n * sizeof (float));
      else if (take_max)
        for (gsize i = 0; i < n; i++)
          out[i] = MAX (out[i], m[i]);
      else
        for (gsize i = 0; i < n; i++)
          out[i] += m[i];
      used++;
    }
  if (!take_max && used > 1)
    {
      float k = 1.0f / used;
      for (gsize i = 0; i < n; i++)
        out[i] *= k;
    }
  return used;
}

void
attnviz_attention_difference (float *out, const float *a, const float *b, int n)
{
  for (gsize i = 0; i < (gsize) n * n; i++)
    out[i] = a[i] - b[i];
}

double
attnviz_induction_score (const float *attn, const gint32 *ids, int T)
{
  double sum = 0.0;
  int n = 0;
  for (int i = 1; i < T; i++)
    {
      /* the first earlier occurrence of ids[i] whose successor precedes i */
      for (int p = 0; p + 1 < i; p++)
        if (ids[p] == ids[i])
          {
            sum += attn[(gsize) i * T + p + 1];
            n++;
            break;
          }
    }
  return n ? sum / n : NAN;
}

double
attnviz_previous_token_score (const float *attn, int T)
{
  double sum = 0.0;
  for (int i = 1; i < T; i++)
    sum += attn[(gsize) i * T + i - 1];
  return T > 1 ? sum / (T - 1) : NAN;
}
