#define G_LOG_DOMAIN "attnviz-qk"
#include "config.h"

/* The query-key picture of one head (attnviz-qk.h). */

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "attnviz-attention-private.h"
#include "attnviz-qk.h"

float
attnviz_qk_normalize (float *q, int n_q, float *k, int n_k, int d)
{
  double nq = 0.0, nk = 0.0;
  for (int i = 0; i < n_q; i++)
    nq += cblas_snrm2 (d, q + (gsize) i * d, 1);
  for (int j = 0; j < n_k; j++)
    nk += cblas_snrm2 (d, k + (gsize) j * d, 1);
  nq /= MAX (n_q, 1);
  nk /= MAX (n_k, 1);
  float c = nq > 0.0 && nk > 0.0 ? (float) sqrt (nk / nq) : 1.0f;
  cblas_sscal (n_q * d, c, q, 1);
  cblas_sscal (n_k * d, 1.0f / c, k, 1);
  g_autofree double *shift = g_new0 (double, d);
  for (int i = 0; i < n_q; i++)
    for (int a = 0; a < d; a++)
      shift[a] += (double) q[(gsize) i * d + a] / n_q;
  for (int j = 0; j < n_k; j++)
    for (int a = 0; a < d; a++)
      shift[a] -= (double) k[(gsize) j * d + a] / n_k;
  for (int j = 0; j < n_k; j++)
    for (int a = 0; a < d; a++)
      k[(gsize) j * d + a] += (float) shift[a];
  return c;
}

/* Eigenvalues W (d) and eigenvectors, the columns of V (d, d), of the
 * symmetric A (d, d) (destroyed): cyclic Jacobi rotations. */
static void
jacobi_eigen (double *A, int d, double *w, double *V)
{
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++)
      V[i * d + j] = i == j;
  for (int sweep = 0; sweep < 100; sweep++)
    {
      double off = 0.0, diag = 0.0;
      for (int i = 0; i < d; i++)
        {
          diag += A[i * d + i] * A[i * d + i];
          for (int j = i + 1; j < d; j++)
            off += A[i * d + j] * A[i * d + j];
        }
      if (off <= 1e-30 * MAX (diag, 1e-300))
        break;
      for (int p = 0; p < d; p++)
        for (int r = p + 1; r < d; r++)
          {
            double apr = A[p * d + r];
            if (fabs (apr) < 1e-300)
              continue;
            double theta = (A[r * d + r] - A[p * d + p]) / (2.0 * apr);
            double t = (theta >= 0 ? 1.0 : -1.0) / (fabs (theta) + sqrt (theta * theta + 1.0));
            double c = 1.0 / sqrt (t * t + 1.0), s = t * c;
            for (int k = 0; k < d; k++)
              {
                double akp = A[k * d + p], akr = A[k * d + r];
                A[k * d + p] = c * akp - s * akr;
                A[k * d + r] = s * akp + c * akr;
              }
            for (int k = 0; k < d; k++)
              {
                double apk = A[p * d + k], ark = A[r * d + k];
                A[p * d + k] = c * apk - s * ark;
                A[r * d + k] = s * apk + c * ark;
              }
            for (int k = 0; k < d; k++)
              {
                double vkp = V[k * d + p], vkr = V[k * d + r];
                V[k * d + p] = c * vkp - s * vkr;
                V[k * d + r] = s * vkp + c * vkr;
              }
          }
    }
  for (int i = 0; i < d; i++)
    w[i] = A[i * d + i];
}

void
attnviz_pca2 (const float *X, int n, int d, float *out, float *explained)
{
  g_autofree double *mean = g_new0 (double, d);
  g_autofree double *Xc = g_new (double, (gsize) n * d);
  g_autofree double *C = g_new0 (double, (gsize) d * d);
  g_autofree double *V = g_new (double, (gsize) d * d);
  g_autofree double *w = g_new (double, d);
  for (int i = 0; i < n; i++)
    for (int a = 0; a < d; a++)
      mean[a] += X[(gsize) i * d + a];
  for (int a = 0; a < d; a++)
    mean[a] /= MAX (n, 1);
  for (int i = 0; i < n; i++)
    for (int a = 0; a < d; a++)
      Xc[(gsize) i * d + a] = X[(gsize) i * d + a] - mean[a];
  cblas_dsyrk (CblasRowMajor, CblasUpper, CblasTrans, d, n, 1.0 / MAX (n - 1, 1), Xc, d, 0.0, C, d);
  for (int i = 0; i < d; i++)
    for (int j = 0; j < i; j++)
      C[i * d + j] = C[j * d + i];
  double total = 0.0;
  for (int i = 0; i < d; i++)
    total += C[i * d + i];
  jacobi_eigen (C, d, w, V);

  /* the two largest eigenvalues */
  int first = 0, second = d > 1 ? 1 : 0;
  for (int i = 0; i < d; i++)
    if (w[i] > w[first])
      first = i;
  if (d > 1)
    {
      second = first == 0 ? 1 : 0;
      for (int i = 0; i < d; i++)
        if (i != first && w[i] > w[second])
          second = i;
    }
  int axes[2] = { first, second };
  for (int c = 0; c < 2; c++)
    {
      int a = axes[c], big = 0;
      for (int i = 0; i < d; i++)
        if (fabs (V[i * d + a]) > fabs (V[big * d + a]))
          big = i;
      double sign = V[big * d + a] < 0 ? -1.0 : 1.0;
      for (int p = 0; p < n; p++)
        {
          double s = 0.0;
          for (int i = 0; i < d; i++)
            s += Xc[(gsize) p * d + i] * V[i * d + a];
          out[(gsize) p * 2 + c] = d > 1 || c == 0 ? (float) (sign * s) : 0.0f;
        }
      if (explained)
        explained[c] = total > 0.0 && (d > 1 || c == 0) ? (float) (w[a] / total) : 0.0f;
    }
}

AttnvizQkView *
attnviz_qk_view (AttnvizAttention *source, int layer, int head, GError **error)
{
  if (!attnviz_attention_has_head (source, layer, head))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "layer %d head %d was not recorded", layer, head);
      return NULL;
    }
  if (!attnviz_attention_has_model (source))
    {
      /* matrices opened from a file keep no query or key vectors */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "no model behind this attention: queries and keys need the model that made it");
      return NULL;
    }
  g_autoptr(GBytes) qb = NULL, kb = NULL;
  _attnviz_attention_projections (source, layer, head, &qb, &kb);
  gsize q_bytes, k_bytes;
  const float *q0 = g_bytes_get_data (qb, &q_bytes), *k0 = g_bytes_get_data (kb, &k_bytes);
  int n_q = attnviz_attention_get_n_rows (source), n_k = attnviz_attention_get_n_cols (source);
  int d = (int) (q_bytes / sizeof (float) / n_q);

  /* one (n_q + n_k, d) array: queries, then keys */
  g_autofree float *X = g_new (float, (gsize) (n_q + n_k) * d);
  memcpy (X, q0, q_bytes);
  memcpy (X + (gsize) n_q * d, k0, k_bytes);
  AttnvizQkView *self = g_new0 (AttnvizQkView, 1);
  self->n_q = n_q;
  self->n_k = n_k;
  self->scale = attnviz_qk_normalize (X, n_q, X + (gsize) n_q * d, n_k, d);
  self->points = g_new (float, (gsize) (n_q + n_k) * 2);
  attnviz_pca2 (X, n_q + n_k, d, self->points, self->explained);
  return self;
}

void
attnviz_qk_view_free (AttnvizQkView *self)
{
  if (self == NULL)
    return;
  g_free (self->points);
  g_free (self);
}
