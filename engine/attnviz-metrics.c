#define G_LOG_DOMAIN "attnviz-metrics"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-metrics.h"

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

gboolean
attnviz_recording_tvd_per_head (const AttnvizRecording *a, const AttnvizRecording *b, double *out)
{
  if (a->T != b->T || a->n_rec_layers != b->n_rec_layers || a->n_rec_heads != b->n_rec_heads)
    return FALSE;
  gsize nn = (gsize) a->T * a->T;
  for (int l = 0; l < a->n_rec_layers; l++)
    for (int h = 0; h < a->n_rec_heads; h++)
      {
        gsize at = ((gsize) l * a->n_rec_heads + h);
        out[at] = attnviz_total_variation (a->attn + at * nn, b->attn + at * nn, a->T, a->T);
      }
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
