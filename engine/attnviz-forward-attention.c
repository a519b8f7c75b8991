/* attnviz-forward-attention.c: the attention of a layer
 *
 * A layer's self-attention and a decoder's cross-attention: the q and k
 * projections a group of heads at a time, the value norms, then every head row
 * block by row block (dot-product or additive scores, softmax, the
 * recording's statistics and overview, the measures, P V), the heads over
 * the engine's threads, and a head's ablation.
 */
#define G_LOG_DOMAIN "attnviz-forward"
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnviz-forward-private.h"
#include "attnviz-kernels.h"
#include "attnviz-parallel.h"

/* One attention of a layer: Tq queries over Tk keys, every head. */
typedef struct {
  int Tq, Tk;
  int q0;                   /* the position of query row 0: 0, or a cached decoding step's first */
  const float *q; int ldq;  /* (Tq, ldq): head h at column h * head_dim */
  const float *k; int ldk;  /* (Tk, ldk): KV head g at column g * head_dim */
  const float *v; int ldv;
  float *out; int ldo;      /* (Tq, ldo) */
  int n_head, group, hd;
  AttnvizMask mask;
  AttnvizScoreKind score;   /* ATTNVIZ_SCORE_HYBRID: additive in the heads the config says */
  const AttnvizConfig *config; /* whose hybrid heads */
  const float *score_v;     /* (n_head, hd) additive scoring */
  AttnvizAttention *att;    /* where the layer is recorded, or NULL */
  int li;                   /* its index among the recorded layers, or -1 */
  int layer;
  const AttnvizVariant *variant; /* for head ablation, or NULL */
  AttnvizMeasuresAcc *measures;  /* self-attention: the run's measures, or NULL */
  const float *fnorm;       /* (n_head, Tk) value norms ||v_j W_O^h|| for the measures, or NULL */
  RunState *state;          /* self-attention: whose progress the heads move, or NULL */
  int tile;                 /* > 0: rows as a cached step's (attend_head_tiled); K and V have zero
                             * rows up to Tk rounded up to whole tiles */
} AttnArgs;

/* Query rows a head takes at once.  A causal block [i0, i1) only attends
 * to keys [0, i1): the blocks above the diagonal, all masked, are never
 * computed.  A recomputed head (attnviz-attention-recompute.c) uses the
 * same blocks. */
#define ROW_BLOCK 128

/* Bahdanau scores v_h . tanh (q_i + k_j) of rows [i0, i0 + m) over keys
 * [0, n_keys), masked as _attnviz_scores masks. */
static void
additive_scores (const AttnArgs *a, int head, int i0, int m, int n_keys, float *S, gsize lds)
{
  int hd = a->hd, kvh = head / a->group;
  const float *vh = a->score_v + (gsize) head * hd;
  const AttnvizMask *mk = &a->mask;
  for (int r = 0; r < m; r++)
    {
      int i = a->q0 + i0 + r;
      float *row = S + (gsize) r * lds;
      const float *qi = a->q + (gsize) (i0 + r) * a->ldq + (gsize) head * hd;
      for (int j = 0; j < n_keys; j++)
        {
          if (!_attnviz_mask_visible (mk, i, j))
            {
              row[j] = -INFINITY;
              continue;
            }
          const float *kj = a->k + (gsize) j * a->ldk + (gsize) kvh * hd;
          float e = 0.0f;
          for (int c = 0; c < hd; c++)
            e += vh[c] * tanhf (qi[c] + kj[c]);
          row[j] = e;
        }
    }
}

/* Switches off HEAD's output: zero, or its mean over the positions. */
static void
ablate_head (float *out, int ldo, int T, int head, int hd, AttnvizAblateMode mode)
{
  for (int c = 0; c < hd; c++)
    {
      double mean = 0.0;
      if (mode == ATTNVIZ_ABLATE_MEAN)
        {
          for (int t = 0; t < T; t++)
            mean += out[(gsize) t * ldo + head * hd + c];
          mean /= T;
        }
      for (int t = 0; t < T; t++)
        out[(gsize) t * ldo + head * hd + c] = (float) mean;
    }
}

/* The vw-ratio's share of rows [i0, i0 + m) of HEAD (attnviz-attention.h). */
static void
value_ratio_rows (const AttnArgs *a, int head, int i0, int m, const float *P, gsize ldp, int keys)
{
  const float *f = a->fnorm + (gsize) head * a->Tk;
  float weighted[ROW_BLOCK], mean[ROW_BLOCK];
  _attnviz_mask_visible_mean (&a->mask, f, i0, m, a->Tk, mean);
  for (int r = 0; r < m; r++)
    weighted[r] = cblas_sdot (keys, P + (gsize) r * ldp, 1, f, 1);
  attnviz_measures_acc_add_value_rows (a->measures, a->layer, head, i0, m, weighted, mean);
}

/* One head of a run whose rows must come out the same however many run
 * together (generation, attnviz_linear_rows ()): blocks of a tile of
 * query rows by position, each block over the keys up to its end (masked
 * past a row's own), so a row's products have the same shape and its place
 * in them whether it comes in a whole run or as a cached step's one row;
 * the block's other rows are zeros.  Records nothing. */
static void
attend_head_tiled (const AttnArgs *a, int head)
{
  int hd = a->hd, kvh = head / a->group, tile = a->tile;
  int first = a->q0, last = a->q0 + a->Tq;
  g_assert (a->li < 0 && a->measures == NULL && a->mask.causal && a->mask.key_mask == NULL
            && a->mask.positions == NULL && a->mask.rel_bias == NULL);
  gboolean additive = a->score == ATTNVIZ_SCORE_ADDITIVE
                      || (a->score == ATTNVIZ_SCORE_HYBRID && attnviz_config_head_additive (a->config, a->layer, head));
  int max_keys = (last + tile - 1) / tile * tile;
  float *Q = attnviz_thread_scratch (ATTNVIZ_SCRATCH_TILE_IN, (gsize) tile * hd);
  float *O = attnviz_thread_scratch (ATTNVIZ_SCRATCH_TILE_OUT, (gsize) tile * hd);
  float *S = attnviz_thread_scratch (ATTNVIZ_SCRATCH_SCORES, (gsize) tile * max_keys);
  for (int b0 = first - first % tile; b0 < last; b0 += tile)
    {
      int r0 = MAX (b0, first), r1 = MIN (b0 + tile, last), keys = b0 + tile;
      memset (Q, 0, sizeof (float) * tile * hd);
      for (int i = r0; i < r1; i++)
        memcpy (Q + (gsize) (i - b0) * hd, a->q + (gsize) (i - first) * a->ldq + (gsize) head * hd,
                sizeof (float) * hd);
      if (additive)   /* element by element: the same bits in any block */
        additive_scores (a, head, r0 - first, r1 - r0, keys, S + (gsize) (r0 - b0) * keys, keys);
      else
        _attnviz_scores (&a->mask, head, Q, hd, b0, tile, a->k + (gsize) kvh * hd, a->ldk, 0, keys, hd, S, keys);
      for (int r = 0; r < tile; r++)
        {
          float mx, inv, *row = S + (gsize) r * keys;
          if (b0 + r >= r0 && b0 + r < r1)
            _attnviz_softmax_row (row, keys, &mx, &inv);
          else
            memset (row, 0, sizeof (float) * keys);
        }
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, tile, hd, keys, 1.0f, S, keys,
                   a->v + (gsize) kvh * hd, a->ldv, 0.0f, O, hd);
      for (int i = r0; i < r1; i++)
        memcpy (a->out + (gsize) (i - first) * a->ldo + (gsize) head * hd, O + (gsize) (i - b0) * hd,
                sizeof (float) * hd);
    }
}

/* One head, row block by row block: scores, softmax (keeping each row's
 * statistics when recorded), the overview, and the block's share of the
 * output, P (m, keys) V_h (keys, hd).  No (Tq, Tk) buffer but the dense
 * recording of a small run.  Rows are counted from a->q0 in the mask (a
 * cached step's queries come after the keys it sees); such a step records
 * nothing. */
static void
attend_head (const AttnArgs *a, int head)
{
  int hd = a->hd, kvh = head / a->group, Tq = a->Tq, Tk = a->Tk;
  g_assert (a->q0 == 0 || (a->li < 0 && a->measures == NULL));
  if (a->tile > 0)
    {
      attend_head_tiled (a, head);
      return;
    }
  int hi = a->li >= 0 ? _attnviz_attention_head_index (a->att, head) : -1;
  float *dense = hi >= 0 && attnviz_attention_is_dense (a->att) ? _attnviz_attention_dense (a->att, a->li, hi) : NULL;
  float *row_max = NULL, *row_inv = NULL;
  if (hi >= 0)
    _attnviz_attention_stats (a->att, a->li, hi, &row_max, &row_inv);
  float *scratch = dense ? NULL : attnviz_thread_scratch (ATTNVIZ_SCRATCH_SCORES, (gsize) ROW_BLOCK * Tk);

  for (int i0 = 0; i0 < Tq; i0 += ROW_BLOCK)
    {
      int m = MIN (ROW_BLOCK, Tq - i0);
      int keys = a->mask.causal ? MIN (a->q0 + i0 + m, Tk) : Tk;
      gsize lds = dense ? (gsize) Tk : (gsize) keys;
      float *S = dense ? dense + (gsize) i0 * Tk : scratch;
      if (a->score == ATTNVIZ_SCORE_ADDITIVE
          || (a->score == ATTNVIZ_SCORE_HYBRID && attnviz_config_head_additive (a->config, a->layer, head)))
        additive_scores (a, head, i0, m, keys, S, lds);
      else
        _attnviz_scores (&a->mask, head, a->q + (gsize) i0 * a->ldq + (gsize) head * hd, a->ldq, a->q0 + i0, m,
                         a->k + (gsize) kvh * hd, a->ldk, 0, keys, hd, S, lds);
      for (int r = 0; r < m; r++)
        {
          float mx, inv;
          float *row = S + (gsize) r * lds;
          _attnviz_softmax_row (row, keys, &mx, &inv);
          if (row_max)
            {
              row_max[i0 + r] = mx;
              row_inv[i0 + r] = inv;
            }
          if (dense)
            memset (row + keys, 0, sizeof (float) * (Tk - keys));
        }
      if (hi >= 0)
        _attnviz_attention_overview_add (a->att, a->li, hi, i0, m, S, lds, keys);
      if (a->measures)
        {
          int visible[ROW_BLOCK];
          _attnviz_mask_count_visible (&a->mask, i0, m, Tk, visible);
          attnviz_measures_acc_add_rows (a->measures, a->layer, head, i0, m, S, lds, keys, visible);
          if (a->fnorm)
            value_ratio_rows (a, head, i0, m, S, lds, keys);
        }
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hd, keys, 1.0f, S, (int) lds,
                   a->v + (gsize) kvh * hd, a->ldv, 0.0f, a->out + (gsize) i0 * a->ldo + (gsize) head * hd, a->ldo);
    }
  if (a->variant && attnviz_variant_head_ablated (a->variant, a->layer, head))
    ablate_head (a->out, a->ldo, Tq, head, hd, a->variant->ablate_mode);
}

G_LOCK_DEFINE_STATIC (head_progress);

static void
heads_range (gpointer data, gsize start, gsize end)
{
  const AttnArgs *a = data;
  attnviz_blas_serial_begin ();
  for (gsize head = start; head < end; head++)
    {
      attend_head (a, (int) head);
      /* The attention is most of a long run's layer: say how far it is. */
      RunState *s = a->state;
      if (s != NULL && s->opt->progress != NULL && s->progress_span > 0)
        {
          G_LOCK (head_progress);
          int done = ++s->heads_done;
          s->opt->progress (s->progress_at + 0.9 * s->progress_span * done / a->n_head, s->opt->progress_data);
          G_UNLOCK (head_progress);
        }
    }
  attnviz_blas_serial_end ();
}

/* Every head of one attention, the heads spread over the engine's threads. */
static void
attend (const AttnArgs *a)
{
  attnviz_parallel_for (a->n_head, 1, heads_range, (gpointer) a);
}

typedef struct {
  float *out;
  int ldo;
  const float *in;
  const AttnvizLinear *lin;
  int T, hd, n_heads, group;
  int row0;         /* as attnviz_linear_rows () takes it */
} ProjectJob;

static void
project_range (gpointer data, gsize start, gsize end)
{
  const ProjectJob *job = data;
  attnviz_blas_serial_begin ();
  for (gsize g = start; g < end; g++)
    {
      int h0 = (int) g * job->group, n = MIN (job->group, job->n_heads - h0);
      AttnvizLinear slice = attnviz_linear_slice (job->lin, h0 * job->hd, n * job->hd);
      attnviz_linear_serial_rows (job->out + (gsize) h0 * job->hd, job->ldo, job->in, &slice, job->T, job->row0);
    }
  attnviz_blas_serial_end ();
}

/* OUT (T, n_heads * hd) = IN through LIN a group of heads at a time
 * (_attnviz_projection_group), the groups over the engine's threads: the
 * very products a recomputed head makes (attnviz-attention-recompute.c),
 * so both get the same bits whatever OpenBLAS does for small matrices. */
static void
project_heads (float *out, const float *in, const AttnvizLinear *lin, int T, int n_heads, int hd, int row0)
{
  int group = _attnviz_projection_group (hd);
  ProjectJob job = { out, n_heads * hd, in, lin, T, hd, n_heads, group, row0 };
  attnviz_parallel_for ((n_heads + group - 1) / group, 1, project_range, &job);
}

AttnvizMask
_attnviz_forward_self_mask (const Effective *e)
{
  const AttnvizConfig *c = e->config;
  return (AttnvizMask) { .causal = e->causal, .pattern = e->pattern,
                         .key_mask = e->key_mask, .scale = e->scale,
                         .rel_bias = e->rel_bias, .rel_buckets = c->rel_buckets,
                         .rel_max_distance = c->rel_max_distance, .n_head = c->n_head,
                         .rel_bidirectional = e->rel_bidirectional, .positions = e->positions };
}

gboolean
_attnviz_forward_attention_block (RunState *s, const AttnvizLayerWeights *L, AttnvizAttention *att, int layer,
                                  GError **error)
{
  const AttnvizConfig *c = &s->model->config;
  const Effective *e = s->eff;
  int T = s->T, hd = c->head_dim;
  int dq = c->n_head * hd, dkv = c->n_kv_head * hd;
  int li = att ? _attnviz_attention_layer_index (att, layer) : -1;
  KvCache *cache = s->cache;
  g_assert (cache == NULL || (li < 0 && s->opt->measures == NULL && e->positions == NULL));

  if (li >= 0 && !_attnviz_attention_keep_inputs (att, li, s->h, s->h, error))
    return FALSE;
  int row0 = _attnviz_run_row0 (s), tile = row0 >= 0 ? attnviz_row_tile () : 0;
  project_heads (s->q, s->h, &L->q, T, c->n_head, hd, row0);
  project_heads (s->k, s->h, &L->k, T, c->n_kv_head, hd, row0);
  attnviz_linear_rows (s->v, s->h, &L->v, T, row0);
  if (e->pos == ATTNVIZ_POS_ROPE)
    {
      int n_rot = c->rope_dims > 0 ? c->rope_dims : hd;
      attnviz_rope (s->q, T, c->n_head, hd, n_rot, c->rope_style, e->positions, s->pos0, s->inv_freq);
      attnviz_rope (s->k, T, c->n_kv_head, hd, n_rot, c->rope_style, e->positions, s->pos0, s->inv_freq);
    }
  /* A cached step appends its keys and values to the earlier ones and
   * attends to all of them. */
  const float *keys = s->k, *values = s->v;
  int Tk = T;
  if (cache)
    {
      gsize at = (gsize) layer * cache->capacity * dkv;
      memcpy (cache->k + at + (gsize) s->pos0 * dkv, s->k, sizeof (float) * T * dkv);
      memcpy (cache->v + at + (gsize) s->pos0 * dkv, s->v, sizeof (float) * T * dkv);
      keys = cache->k + at;
      values = cache->v + at;
      Tk = s->pos0 + T;
      g_assert (tile == 0 || cache->capacity % tile == 0);
    }
  else if (tile > 0)
    {
      /* the rows of the last tile past the run: zero keys and values */
      int pad = (T + tile - 1) / tile * tile - T;
      memset (s->k + (gsize) T * dkv, 0, sizeof (float) * pad * dkv);
      memset (s->v + (gsize) T * dkv, 0, sizeof (float) * pad * dkv);
    }

  /* Kobayashi's value norms: kept with the recorded heads, and for the
   * measures' vw-ratio */
  g_autofree float *fnorm = NULL;
  if (li >= 0 || s->opt->measures)
    {
      fnorm = g_new (float, (gsize) c->n_head * T);
      _attnviz_value_norms (fnorm, s->v, dkv, T, &L->o, c->n_head, c->n_head / c->n_kv_head, hd);
      for (int h = 0; h < c->n_head && li >= 0; h++)
        {
          int hi = _attnviz_attention_head_index (att, h);
          float *dst = hi >= 0 ? _attnviz_attention_value_norms (att, li, hi) : NULL;
          if (dst)
            memcpy (dst, fnorm + (gsize) h * T, sizeof (float) * T);
        }
    }

  AttnArgs a = {
    .Tq = T, .Tk = Tk, .q0 = s->pos0,
    .q = s->q, .ldq = dq, .k = keys, .ldk = dkv, .v = values, .ldv = dkv,
    .out = s->att, .ldo = dq,
    .n_head = c->n_head, .group = c->n_head / c->n_kv_head, .hd = hd,
    .mask = _attnviz_forward_self_mask (e), .score = e->score, .config = c, .score_v = L->score_v,
    .att = att, .li = li, .layer = layer, .variant = e->variant, .measures = s->opt->measures,
    .fnorm = s->opt->measures ? fnorm : NULL, .state = cache ? NULL : s, .tile = tile,
  };
  s->heads_done = 0;   /* no head runs between layers */
  attend (&a);
  attnviz_linear_rows (s->tmp, s->att, &L->o, T, row0);
  return TRUE;
}

/* Decoder layer LAYER attending to the encoder output ENC (S, d_model). */
gboolean
_attnviz_forward_cross_attention_block (RunState *s, const AttnvizLayerWeights *L, AttnvizAttention *att,
                                        int layer, const float *enc, int S, const guint8 *src_mask,
                                        GError **error)
{
  const AttnvizConfig *c = &s->model->config;
  int T = s->T, hd = c->head_dim, dq = c->n_head * hd;
  int li = att ? _attnviz_attention_layer_index (att, layer) : -1;

  if (li >= 0 && !_attnviz_attention_keep_inputs (att, li, s->h, enc, error))
    return FALSE;
  project_heads (s->q, s->h, &L->cq, T, c->n_head, hd, -1);
  project_heads (s->k, enc, &L->ck, S, c->n_head, hd, -1);
  attnviz_linear (s->v, enc, &L->cv, S);
  AttnArgs a = {
    .Tq = T, .Tk = S,
    .q = s->q, .ldq = dq, .k = s->k, .ldk = dq, .v = s->v, .ldv = dq,
    .out = s->att, .ldo = dq,
    .n_head = c->n_head, .group = 1, .hd = hd,
    .mask = { .key_mask = src_mask, .scale = s->eff->scale },
    .score = s->eff->score, .config = c, .score_v = L->cross_score_v,
    .att = att, .li = li, .layer = layer,
  };
  attend (&a);
  attnviz_linear (s->tmp, s->att, &L->co, T);
  return TRUE;
}
