#define G_LOG_DOMAIN "attnviz-attention"
#include "config.h"

/* Value-weighted attention (attnviz-attention.h gives the formula): the
 * value norms the forward pass computes, and the weights p_ij f_j read
 * through the attention source. */

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "attnviz-attention-private.h"
#include "attnviz-matmul.h"
#include "attnviz-parallel.h"

/* ---- the norms, during the forward pass ---- */

typedef struct {
  float *out;               /* (n_head, Tk) */
  const float *v;           /* (Tk, ldv), KV head g at column g * hd */
  int ldv, Tk;
  const float *w;           /* the output projection as floats */
  int ldw;
  gboolean in_out;          /* w (n_in, ...) rows = inputs; else (n_out, ...) rows = outputs */
  int n_out, group, hd;
} NormJob;

static void
norms_range (gpointer data, gsize start, gsize end)
{
  const NormJob *job = data;
  int hd = job->hd, Tk = job->Tk;
  float *G = g_new (float, (gsize) hd * hd + (gsize) Tk * hd);
  float *Y = G + (gsize) hd * hd;   /* (Tk, hd) */
  attnviz_blas_serial_begin ();
  for (gsize h = start; h < end; h++)
    {
      /* G (hd, hd) = W_O^h W_O^h^T, W_O^h the head's hd input rows */
      if (job->in_out)
        {
          const float *A = job->w + h * hd * (gsize) job->ldw;
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, hd, hd, job->n_out, 1.0f, A, job->ldw, A,
                       job->ldw, 0.0f, G, hd);
        }
      else
        {
          const float *A = job->w + h * hd;
          cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, hd, hd, job->n_out, 1.0f, A, job->ldw, A,
                       job->ldw, 0.0f, G, hd);
        }
      const float *V = job->v + (h / job->group) * hd;
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Tk, hd, hd, 1.0f, V, job->ldv, G, hd, 0.0f, Y, hd);
      float *f = job->out + h * (gsize) Tk;
      for (int j = 0; j < Tk; j++)
        {
          const float *vj = V + (gsize) j * job->ldv, *yj = Y + (gsize) j * hd;
          double s = 0.0;
          for (int c = 0; c < hd; c++)
            s += (double) vj[c] * yj[c];
          f[j] = (float) sqrt (MAX (s, 0.0));
        }
    }
  attnviz_blas_serial_end ();
  g_free (G);
}

void
_attnviz_value_norms (float *out, const float *v, int ldv, int Tk, const AttnvizLinear *o, int n_head, int group,
                      int hd)
{
  const AttnvizMatrix *w = &o->w;
  g_autofree float *copy = NULL;
  const float *wf;
  int ldw;
  if (w->type == ATTNVIZ_WEIGHT_F32)
    {
      ldw = (int) (w->row_bytes / sizeof (float));
      wf = (const float *) w->data + (o->in_out ? o->col0 : 0);
    }
  else
    {
      /* a quantized projection, dequantized once for the layer */
      copy = g_new (float, (gsize) w->rows * w->cols);
      for (int r = 0; r < w->rows; r++)
        attnviz_matrix_get_row (w, r, copy + (gsize) r * w->cols);
      ldw = w->cols;
      wf = copy + (o->in_out ? o->col0 : 0);
    }
  NormJob job = { out, v, ldv, Tk, wf, ldw, o->in_out, o->n_out, group, hd };
  attnviz_parallel_for (n_head, 1, norms_range, &job);
}

void
_attnviz_mask_visible_mean (const AttnvizMask *mk, const float *f, int i0, int m, int n_cols, float *out)
{
  gboolean restricted = mk->key_mask || !attnviz_pattern_is_dense (&mk->pattern);
  double prefix = 0.0;
  int upto = 0;   /* prefix = sum of f [0, upto) */
  if (!restricted && !mk->causal)
    for (; upto < n_cols; upto++)
      prefix += f[upto];
  for (int r = 0; r < m; r++)
    {
      int i = i0 + r, n = 0;
      double s = 0.0;
      if (!restricted)
        {
          int last = mk->causal ? MIN (i + 1, n_cols) : n_cols;
          for (; upto < last; upto++)
            prefix += f[upto];
          s = prefix;
          n = last;
        }
      else
        for (int j = 0; j < n_cols; j++)
          if (_attnviz_mask_visible (mk, i, j))
            {
              s += f[j];
              n++;
            }
      out[r] = n > 0 ? (float) (s / n) : 0.0f;
    }
}

/* ---- reading ---- */

const float *
attnviz_attention_get_value_norms (const AttnvizAttention *self, int layer, int head)
{
  int li = _attnviz_attention_layer_index (self, layer), hi = _attnviz_attention_head_index (self, head);
  if (li < 0 || hi < 0)
    return NULL;
  const float *f = _attnviz_attention_value_norms ((AttnvizAttention *) self, li, hi);
  return f && !isnan (f[0]) ? f : NULL;
}

gboolean
attnviz_attention_get_value_weighted_rect (AttnvizAttention *self, int layer, int head, int r0, int r1, int c0,
                                           int c1, float *out, gsize ld)
{
  const float *f = attnviz_attention_get_value_norms (self, layer, head);
  if (f == NULL)
    return FALSE;
  attnviz_attention_get_rect (self, layer, head, r0, r1, c0, c1, out, ld);
  for (int i = r0; i < r1; i++)
    {
      float *row = out + (gsize) (i - r0) * ld;
      for (int j = c0; j < c1; j++)
        row[j - c0] *= f[j];
    }
  return TRUE;
}

gboolean
attnviz_attention_get_value_weighted_row (AttnvizAttention *self, int layer, int head, int r, float *out)
{
  int n = attnviz_attention_get_n_cols (self);
  return attnviz_attention_get_value_weighted_rect (self, layer, head, r, r + 1, 0, n, out, n);
}

float *
attnviz_attention_dup_value_weighted (AttnvizAttention *self, int layer, int head)
{
  int R = attnviz_attention_get_n_rows (self), C = attnviz_attention_get_n_cols (self);
  float *out = g_new (float, (gsize) R * C);
  if (!attnviz_attention_get_value_weighted_rect (self, layer, head, 0, R, 0, C, out, C))
    g_clear_pointer (&out, g_free);
  return out;
}

void
attnviz_attention_visible_mean (const AttnvizAttention *self, const float *f, int r0, int r1, float *out)
{
  _attnviz_mask_visible_mean (_attnviz_attention_mask (self), f, r0, r1 - r0, attnviz_attention_get_n_cols (self),
                              out);
}

/* Rows a ratio reads at once. */
#define RATIO_ROWS 128

double
attnviz_attention_value_weighted_ratio (AttnvizAttention *self, int layer, int head)
{
  const float *f = attnviz_attention_get_value_norms (self, layer, head);
  if (f == NULL)
    return NAN;
  int R = attnviz_attention_get_n_rows (self), C = attnviz_attention_get_n_cols (self);
  g_autofree float *P = g_new (float, (gsize) MIN (RATIO_ROWS, R) * C);
  float mean[RATIO_ROWS];
  double sum = 0.0;
  int rows = 0;
  for (int i0 = 0; i0 < R; i0 += RATIO_ROWS)
    {
      int m = MIN (RATIO_ROWS, R - i0);
      attnviz_attention_get_rect (self, layer, head, i0, i0 + m, 0, C, P, C);
      attnviz_attention_visible_mean (self, f, i0, i0 + m, mean);
      for (int r = 0; r < m; r++)
        {
          if (!(mean[r] > 0.0f))
            continue;
          double s = 0.0;
          for (int j = 0; j < C; j++)
            s += (double) P[(gsize) r * C + j] * f[j];
          sum += s / mean[r];
          rows++;
        }
    }
  return rows ? sum / rows : NAN;
}
