#define G_LOG_DOMAIN "attnviz-rollout"
#include "config.h"

/* Attention rollout and attention flow (attnviz-rollout.h has the
 * formulas): the head means of each layer read through the attention
 * source, a chain of sgemm for the rollout, one Dinic max-flow per (input,
 * output) pair for the flow, the pairs spread over the engine's threads. */

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "attnviz-parallel.h"
#include "attnviz-rollout.h"

/* Rows of a head read at once. */
#define ROWS 128

static gboolean
check_source (AttnvizAttention *source, int max_T, const char *what, GError **error)
{
  int T = attnviz_attention_get_n_rows (source);
  if (T != attnviz_attention_get_n_cols (source))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s needs self-attention (%d queries over %d keys)", what, T,
                   attnviz_attention_get_n_cols (source));
      return FALSE;
    }
  if (T > max_T)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s takes at most %d tokens, not %d (its cost grows as T^%d)", what, max_T, T,
                   max_T == ATTNVIZ_FLOW_MAX_TOKENS ? 4 : 3);
      return FALSE;
    }
  return TRUE;
}

gboolean
attnviz_attention_residual_mean (AttnvizAttention *source, int layer, float *out, GError **error)
{
  int T = attnviz_attention_get_n_rows (source), H = attnviz_attention_get_n_heads (source);
  g_return_val_if_fail (T == attnviz_attention_get_n_cols (source), FALSE);
  /* the recorded heads: all of the model's in a run that records them all */
  g_autofree int *heads = g_new (int, MAX (H, 1));
  int n_head = 0;
  for (int h = 0; h < H; h++)
    if (attnviz_attention_has_head (source, layer, h))
      heads[n_head++] = h;
  if (n_head == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "layer %d was not recorded", layer);
      return FALSE;
    }
  memset (out, 0, sizeof (float) * T * T);
  g_autofree float *buf = g_new (float, (gsize) MIN (ROWS, T) * T);
  for (int h = 0; h < n_head; h++)
    for (int i0 = 0; i0 < T; i0 += ROWS)
      {
        int m = MIN (ROWS, T - i0);
        attnviz_attention_get_rect (source, layer, heads[h], i0, i0 + m, 0, T, buf, T);
        cblas_saxpy (m * T, 1.0f / n_head, buf, 1, out + (gsize) i0 * T, 1);
      }
  for (int i = 0; i < T; i++)
    {
      float *row = out + (gsize) i * T;
      double sum = 0.0;
      for (int j = 0; j < T; j++)
        {
          row[j] *= 0.5f;
          sum += row[j];
        }
      row[i] += 0.5f;
      sum += 0.5;
      for (int j = 0; j < T; j++)
        row[j] = (float) (row[j] / sum);
    }
  return TRUE;
}

/* Â of every recorded layer of SOURCE in order, (*n_layers) newly
 * allocated (T, T). */
static float **
mixed_layers (AttnvizAttention *source, int *n_layers, GCancellable *cancellable, GError **error)
{
  int T = attnviz_attention_get_n_rows (source), L = attnviz_attention_get_n_layers (source);
  int H = attnviz_attention_get_n_heads (source);
  float **mixed = g_new0 (float *, L + 1);
  int n = 0;
  for (int layer = 0; layer < L; layer++)
    {
      gboolean any = FALSE;
      for (int h = 0; h < H && !any; h++)
        any = attnviz_attention_has_head (source, layer, h);
      if (!any)
        continue;
      mixed[n] = g_try_new (float, (gsize) T * T);
      if (mixed[n] == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory for %d x %d matrices", T, T);
          goto failed;
        }
      if (!attnviz_attention_residual_mean (source, layer, mixed[n++], error)
          || g_cancellable_set_error_if_cancelled (cancellable, error))
        goto failed;
    }
  if (n > 0)
    {
      *n_layers = n;
      return mixed;
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "the run recorded no layer");
failed:
  for (int i = 0; i < n; i++)
    g_free (mixed[i]);
  g_free (mixed);
  return NULL;
}

static void
free_layers (float **mixed, int n)
{
  for (int i = 0; i < n; i++)
    g_free (mixed[i]);
  g_free (mixed);
}

float *
attnviz_rollout_of (const float *const *mixed, int n_layers, int T)
{
  float *R = g_new (float, (gsize) T * T);
  g_autofree float *tmp = g_new (float, (gsize) T * T);
  memcpy (R, mixed[0], sizeof (float) * T * T);
  for (int l = 1; l < n_layers; l++)
    {
      /* R <- Â_l R: the later layer reads what the earlier ones produced */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, T, T, T, 1.0f, mixed[l], T, R, T, 0.0f, tmp, T);
      memcpy (R, tmp, sizeof (float) * T * T);
    }
  return R;
}

float *
attnviz_attention_rollout (AttnvizAttention *source, GCancellable *cancellable, GError **error)
{
  if (!check_source (source, ATTNVIZ_ROLLOUT_MAX_TOKENS, "attention rollout", error))
    return NULL;
  int L;
  float **mixed = mixed_layers (source, &L, cancellable, error);
  if (mixed == NULL)
    return NULL;
  float *R = attnviz_rollout_of ((const float *const *) mixed, L, attnviz_attention_get_n_rows (source));
  free_layers (mixed, L);
  return R;
}

/* ---- attention flow: Dinic on the layered graph ---- */

typedef struct {
  int n_nodes, n_edges;
  int *first;               /* (n_nodes + 1) CSR: edges of node u are [first[u], first[u + 1]) */
  int *to;                  /* (n_edges) */
  int *rev;                 /* (n_edges) the paired reverse edge */
  double *cap;              /* (n_edges) capacities (reverse edges 0) */
  int T, L;
  const float *const *mixed;
  float *out;
  GCancellable *cancellable;
} Graph;

/* Residual capacities below this are spent (weights are floats near 1). */
#define FLOW_EPS 1e-12

typedef struct {
  const Graph *g;
  double *res;              /* (n_edges) */
  int *level, *iter, *queue;  /* (n_nodes) */
} Dinic;

static gboolean
dinic_bfs (Dinic *d, int s, int t)
{
  const Graph *g = d->g;
  for (int u = 0; u < g->n_nodes; u++)
    d->level[u] = -1;
  int head = 0, tail = 0;
  d->level[s] = 0;
  d->queue[tail++] = s;
  while (head < tail)
    {
      int u = d->queue[head++];
      for (int e = g->first[u]; e < g->first[u + 1]; e++)
        if (d->res[e] > FLOW_EPS && d->level[g->to[e]] < 0)
          {
            d->level[g->to[e]] = d->level[u] + 1;
            d->queue[tail++] = g->to[e];
          }
    }
  return d->level[t] >= 0;
}

static double
dinic_dfs (Dinic *d, int u, int t, double pushed)
{
  if (u == t)
    return pushed;
  const Graph *g = d->g;
  for (; d->iter[u] < g->first[u + 1]; d->iter[u]++)
    {
      int e = d->iter[u], v = g->to[e];
      if (d->res[e] <= FLOW_EPS || d->level[v] != d->level[u] + 1)
        continue;
      double got = dinic_dfs (d, v, t, MIN (pushed, d->res[e]));
      if (got > 0.0)
        {
          d->res[e] -= got;
          d->res[g->rev[e]] += got;
          return got;
        }
    }
  return 0.0;
}

static double
max_flow (Dinic *d, int s, int t)
{
  const Graph *g = d->g;
  memcpy (d->res, g->cap, sizeof (double) * g->n_edges);
  double total = 0.0;
  while (dinic_bfs (d, s, t))
    {
      memcpy (d->iter, g->first, sizeof (int) * g->n_nodes);
      double f;
      while ((f = dinic_dfs (d, s, t, G_MAXDOUBLE)) > 0.0)
        total += f;
    }
  return total;
}

static void
flow_range (gpointer data, gsize start, gsize end)
{
  const Graph *g = data;
  int T = g->T, L = g->L;
  Dinic d = { g, g_new (double, g->n_edges), g_new (int, g->n_nodes), g_new (int, g->n_nodes),
              g_new (int, g->n_nodes) };
  for (gsize j = start; j < end; j++)
    for (int i = 0; i < T; i++)
      {
        if (g_cancellable_is_cancelled (g->cancellable))
          goto done;
        g->out[(gsize) i * T + j] = (float) max_flow (&d, (int) j, L * T + i);
      }
done:
  g_free (d.res);
  g_free (d.level);
  g_free (d.iter);
  g_free (d.queue);
}

gboolean
attnviz_flow_of (const float *const *mixed, int L, int T, float *out, GCancellable *cancellable)
{
  Graph g = { .n_nodes = (L + 1) * T, .T = T, .L = L, .mixed = mixed, .out = out, .cancellable = cancellable };
  /* each positive weight gives an edge (l - 1, j) -> (l, i) and its reverse */
  g_autofree int *degree = g_new0 (int, g.n_nodes + 1);
  for (int l = 1; l <= L; l++)
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++)
        if (mixed[l - 1][(gsize) i * T + j] > 0.0f)
          {
            degree[(l - 1) * T + j]++;
            degree[l * T + i]++;
          }
  g.first = g_new (int, g.n_nodes + 1);
  g.first[0] = 0;
  for (int u = 0; u < g.n_nodes; u++)
    g.first[u + 1] = g.first[u] + degree[u];
  g.n_edges = g.first[g.n_nodes];
  g.to = g_new (int, MAX (g.n_edges, 1));
  g.rev = g_new (int, MAX (g.n_edges, 1));
  g.cap = g_new (double, MAX (g.n_edges, 1));
  g_autofree int *fill = g_memdup2 (g.first, sizeof (int) * g.n_nodes);
  for (int l = 1; l <= L; l++)
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++)
        {
          float w = mixed[l - 1][(gsize) i * T + j];
          if (w <= 0.0f)
            continue;
          int u = (l - 1) * T + j, v = l * T + i;
          int a = fill[u]++, b = fill[v]++;
          g.to[a] = v, g.cap[a] = w, g.rev[a] = b;
          g.to[b] = u, g.cap[b] = 0.0, g.rev[b] = a;
        }
  attnviz_parallel_for (T, 1, flow_range, &g);
  g_free (g.first);
  g_free (g.to);
  g_free (g.rev);
  g_free (g.cap);
  return !g_cancellable_is_cancelled (cancellable);
}

float *
attnviz_attention_flow (AttnvizAttention *source, GCancellable *cancellable, GError **error)
{
  if (!check_source (source, ATTNVIZ_FLOW_MAX_TOKENS, "attention flow", error))
    return NULL;
  int L, T = attnviz_attention_get_n_rows (source);
  float **mixed = mixed_layers (source, &L, cancellable, error);
  if (mixed == NULL)
    return NULL;
  float *F = g_new (float, (gsize) T * T);
  gboolean ok = attnviz_flow_of ((const float *const *) mixed, L, T, F, cancellable);
  free_layers (mixed, L);
  if (!ok)
    {
      g_free (F);
      g_cancellable_set_error_if_cancelled (cancellable, error);
      return NULL;
    }
  return F;
}
