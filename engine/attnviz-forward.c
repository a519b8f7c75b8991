/* attnviz-forward.c: the forward pass, one generic transformer
 *
 * All matrix products run over the whole sequence at once through
 * cblas_sgemm (OpenBLAS brings its own threads).  The attention
 * probabilities are written straight into the recording when that layer
 * and head are recorded, into a scratch (T, T) matrix otherwise.
 *
 * What OpenBLAS does not run (softmax rows, activations, norms, the loss)
 * is split over the same number of threads by attnviz_parallel_for ()
 * (attnviz-parallel.h).
 */
#define G_LOG_DOMAIN "attnviz-forward"
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "attnviz-attention-private.h"
#include "attnviz-forward.h"
#include "attnviz-kernels.h"
#include "attnviz-parallel.h"

/* What a run computes differently from the model as it is: the variant
 * resolved against the model's own description. */
typedef struct {
  gboolean causal;          /* self-attention mask */
  int window;               /* > 0: |i - j| < window */
  int stride;               /* > 0: |i - j| < stride or |i - j| % stride == 0 */
  AttnvizScoreKind score;
  float scale;              /* dot-product scores */
  AttnvizPositionKind pos;  /* how positions enter */
  const gint32 *positions;  /* (T) position ids, or NULL: 0 .. T-1 */
  guint8 *key_mask;         /* (T) owned, NULL: every key */
  const AttnvizVariant *variant;
} Effective;

typedef struct {
  const AttnvizModel *model;
  const AttnvizRunOptions *opt;
  const Effective *eff;
  int T;
  float *x;        /* (T, d_model) the residual stream */
  float *h;        /* (T, d_model) normed input of a block */
  float *q;        /* (T, n_head * head_dim) */
  float *k;        /* (max(T, S), n_kv_head * head_dim) */
  float *v;        /* (max(T, S), n_kv_head * head_dim) */
  float *att;      /* (T, n_head * head_dim) attention output before o-proj */
  float *tmp;      /* (T, d_model) */
  float *ff;       /* (T, d_ff) */
  float *ff2;      /* (T, d_ff) gate, gated MLPs only */
  float *inv_freq; /* (head_dim / 2) RoPE */
} RunState;

/* One attention of a layer: Tq queries over Tk keys, every head. */
typedef struct {
  int Tq, Tk;
  const float *q; int ldq;  /* (Tq, ldq): head h at column h * head_dim */
  const float *k; int ldk;  /* (Tk, ldk): KV head g at column g * head_dim */
  const float *v; int ldv;
  float *out; int ldo;      /* (Tq, ldo) */
  int n_head, group, hd;
  AttnvizMask mask;
  AttnvizScoreKind score;
  const float *score_v;     /* (n_head, hd) additive scoring */
  AttnvizAttention *att;    /* where the layer is recorded, or NULL */
  int li;                   /* its index among the recorded layers, or -1 */
  int layer;
  const AttnvizVariant *variant; /* for head ablation, or NULL */
  AttnvizMeasuresAcc *measures;  /* self-attention: the run's measures, or NULL */
  const float *fnorm;       /* (n_head, Tk) value norms ||v_j W_O^h|| for the measures, or NULL */
} AttnArgs;

/* Query rows a head takes at once.  A causal block [i0, i1) only attends
 * to keys [0, i1): the blocks above the diagonal, all masked, are never
 * computed.  A recomputed head (attnviz-attention.c) uses the same blocks. */
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
      int i = i0 + r;
      float *row = S + (gsize) r * lds;
      const float *qi = a->q + (gsize) i * a->ldq + (gsize) head * hd;
      for (int j = 0; j < n_keys; j++)
        {
          if ((mk->causal && j > i) || (mk->key_mask && !mk->key_mask[j])
              || (mk->window > 0 && abs (i - j) >= mk->window)
              || (mk->stride > 0 && abs (i - j) >= mk->stride && abs (i - j) % mk->stride != 0))
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

/* One head, row block by row block: scores, softmax (keeping each row's
 * statistics when recorded), the overview, and the block's share of the
 * output, P (m, keys) V_h (keys, hd).  No (Tq, Tk) buffer but the dense
 * recording of a small run. */
static void
attend_head (const AttnArgs *a, int head)
{
  int hd = a->hd, kvh = head / a->group, Tq = a->Tq, Tk = a->Tk;
  int hi = a->li >= 0 ? _attnviz_attention_head_index (a->att, head) : -1;
  float *dense = hi >= 0 && attnviz_attention_is_dense (a->att) ? _attnviz_attention_dense (a->att, a->li, hi) : NULL;
  float *row_max = NULL, *row_inv = NULL;
  if (hi >= 0)
    _attnviz_attention_stats (a->att, a->li, hi, &row_max, &row_inv);
  float *scratch = dense ? NULL : attnviz_thread_scratch (ATTNVIZ_SCRATCH_SCORES, (gsize) ROW_BLOCK * Tk);

  for (int i0 = 0; i0 < Tq; i0 += ROW_BLOCK)
    {
      int m = MIN (ROW_BLOCK, Tq - i0);
      int keys = a->mask.causal ? MIN (i0 + m, Tk) : Tk;
      gsize lds = dense ? (gsize) Tk : (gsize) keys;
      float *S = dense ? dense + (gsize) i0 * Tk : scratch;
      if (a->score == ATTNVIZ_SCORE_ADDITIVE)
        additive_scores (a, head, i0, m, keys, S, lds);
      else
        _attnviz_scores (&a->mask, a->q + (gsize) i0 * a->ldq + (gsize) head * hd, a->ldq, i0, m,
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

static void
heads_range (gpointer data, gsize start, gsize end)
{
  attnviz_blas_serial_begin ();
  for (gsize head = start; head < end; head++)
    attend_head (data, (int) head);
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
  int T, hd;
} ProjectJob;

static void
project_range (gpointer data, gsize start, gsize end)
{
  const ProjectJob *job = data;
  attnviz_blas_serial_begin ();
  for (gsize h = start; h < end; h++)
    {
      AttnvizLinear slice = attnviz_linear_slice (job->lin, (int) h * job->hd, job->hd);
      attnviz_linear_serial_ld (job->out + h * job->hd, job->ldo, job->in, &slice, job->T);
    }
  attnviz_blas_serial_end ();
}

/* OUT (T, n_heads * hd) = IN through LIN one head at a time, the heads over
 * the engine's threads: the very products a recomputed head makes
 * (attnviz-attention.c), so both get the same bits whatever OpenBLAS does
 * for small matrices. */
static void
project_heads (float *out, const float *in, const AttnvizLinear *lin, int T, int n_heads, int hd)
{
  ProjectJob job = { out, n_heads * hd, in, lin, T, hd };
  attnviz_parallel_for (n_heads, 1, project_range, &job);
}

static AttnvizMask
self_mask (const Effective *e)
{
  return (AttnvizMask) { .causal = e->causal, .window = e->window, .stride = e->stride,
                         .key_mask = e->key_mask, .scale = e->scale };
}

static gboolean
attention_block (RunState *s, const AttnvizLayerWeights *L, AttnvizAttention *att, int layer, GError **error)
{
  const AttnvizConfig *c = &s->model->config;
  const Effective *e = s->eff;
  int T = s->T, hd = c->head_dim;
  int dq = c->n_head * hd, dkv = c->n_kv_head * hd;
  int li = att ? _attnviz_attention_layer_index (att, layer) : -1;

  if (li >= 0 && !_attnviz_attention_keep_inputs (att, li, s->h, s->h, error))
    return FALSE;
  project_heads (s->q, s->h, &L->q, T, c->n_head, hd);
  project_heads (s->k, s->h, &L->k, T, c->n_kv_head, hd);
  attnviz_linear (s->v, s->h, &L->v, T);
  if (e->pos == ATTNVIZ_POS_ROPE)
    {
      int n_rot = c->rope_dims > 0 ? c->rope_dims : hd;
      attnviz_rope (s->q, T, c->n_head, hd, n_rot, c->rope_style, e->positions, 0, s->inv_freq);
      attnviz_rope (s->k, T, c->n_kv_head, hd, n_rot, c->rope_style, e->positions, 0, s->inv_freq);
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
    .Tq = T, .Tk = T,
    .q = s->q, .ldq = dq, .k = s->k, .ldk = dkv, .v = s->v, .ldv = dkv,
    .out = s->att, .ldo = dq,
    .n_head = c->n_head, .group = c->n_head / c->n_kv_head, .hd = hd,
    .mask = self_mask (e), .score = e->score, .score_v = L->score_v,
    .att = att, .li = li, .layer = layer, .variant = e->variant, .measures = s->opt->measures,
    .fnorm = s->opt->measures ? fnorm : NULL,
  };
  attend (&a);
  attnviz_linear (s->tmp, s->att, &L->o, T);
  return TRUE;
}

/* Decoder layer LAYER attending to the encoder output ENC (S, d_model). */
static gboolean
cross_attention_block (RunState *s, const AttnvizLayerWeights *L, AttnvizAttention *att, int layer,
                       const float *enc, int S, const guint8 *src_mask, GError **error)
{
  const AttnvizConfig *c = &s->model->config;
  int T = s->T, hd = c->head_dim, dq = c->n_head * hd;
  int li = att ? _attnviz_attention_layer_index (att, layer) : -1;

  if (li >= 0 && !_attnviz_attention_keep_inputs (att, li, s->h, enc, error))
    return FALSE;
  project_heads (s->q, s->h, &L->cq, T, c->n_head, hd);
  project_heads (s->k, enc, &L->ck, S, c->n_head, hd);
  attnviz_linear (s->v, enc, &L->cv, S);
  AttnArgs a = {
    .Tq = T, .Tk = S,
    .q = s->q, .ldq = dq, .k = s->k, .ldk = dq, .v = s->v, .ldv = dq,
    .out = s->att, .ldo = dq,
    .n_head = c->n_head, .group = 1, .hd = hd,
    .mask = { .key_mask = src_mask, .scale = s->eff->scale },
    .score = s->eff->score, .score_v = L->cross_score_v,
    .att = att, .li = li, .layer = layer,
  };
  attend (&a);
  attnviz_linear (s->tmp, s->att, &L->co, T);
  return TRUE;
}

static void
mlp_block (RunState *s, const AttnvizLayerWeights *L)
{
  const AttnvizConfig *c = &s->model->config;
  int T = s->T;
  gsize n = (gsize) T * c->d_ff;

  attnviz_linear (s->ff, s->h, &L->up, T);
  if (c->gated_mlp)
    {
      attnviz_linear (s->ff2, s->h, &L->gate, T);
      attnviz_activate (s->ff2, n, c->act);
      for (gsize i = 0; i < n; i++)
        s->ff[i] *= s->ff2[i];
    }
  else
    attnviz_activate (s->ff, n, c->act);
  attnviz_linear (s->tmp, s->ff, &L->down, T);
}

static void
add_into (float *x, const float *y, gsize n)
{
  for (gsize i = 0; i < n; i++)
    x[i] += y[i];
}

/* Vaswani et al.: x[2i] += sin (pos / 10000^(2i/d)), x[2i+1] += cos (...). */
static void
add_sinusoidal (float *x, int pos, int d)
{
  for (int i = 0; i < d / 2; i++)
    {
      double angle = pos / pow (10000.0, 2.0 * i / d);
      x[2 * i] += (float) sin (angle);
      x[2 * i + 1] += (float) cos (angle);
    }
}

static void
embed (RunState *s, const gint32 *ids)
{
  const AttnvizModel *m = s->model;
  const AttnvizConfig *c = &m->config;
  const Effective *e = s->eff;
  int d = c->d_model;
  for (int t = 0; t < s->T; t++)
    {
      float *x = s->x + (gsize) t * d;
      attnviz_matrix_get_row (&m->tok_emb, ids[t], x);
      int pos = e->positions ? e->positions[t] : t;
      if (e->pos == ATTNVIZ_POS_LEARNED && m->pos_emb.data)
        {
          attnviz_matrix_get_row (&m->pos_emb, pos, s->tmp);
          add_into (x, s->tmp, d);
        }
      else if (e->pos == ATTNVIZ_POS_SINUSOIDAL)
        add_sinusoidal (x, pos, d);
      if (m->type_emb.data)
        {
          attnviz_matrix_get_row (&m->type_emb, s->opt->token_types ? s->opt->token_types[t] : 0, s->tmp);
          add_into (x, s->tmp, d);
        }
    }
  if (c->embedding_norm)
    attnviz_norm_rows (c, s->x, s->x, m->emb_norm_w, m->emb_norm_b, s->T);
}

/* Rows of logits computed at once: their scratch (rows, V) stays within
 * LOGITS_BLOCK_BYTES (a 128k vocabulary takes 0.5 MiB a row), and a
 * quantized LM head is dequantized once per block. */
#define LOGITS_BLOCK_BYTES ((gsize) 256 << 20)

typedef struct {
  const float *logits;      /* (n, V) rows t0 .. t0 + n */
  int t0;
  const gint32 *ids;        /* (T) */
  const guint8 *key_mask;   /* (T) or NULL */
  int T;
  int V;
  gboolean causal;
  AttnvizRecording *rec;
} LossJob;

/* For each row in [start, end) of a block: the negative log-likelihood of
 * the token it predicts (a log-softmax over the vocabulary, in double) and
 * its top-k candidates with their probabilities. */
static void
loss_range (gpointer data, gsize start, gsize end)
{
  const LossJob *job = data;
  AttnvizRecording *rec = job->rec;
  int T = job->T, V = job->V, K = rec->top_k;
  for (gsize r = start; r < end; r++)
    {
      int t = job->t0 + (int) r;
      const float *row = job->logits + r * V;
      float max = attnviz_max_of (row, V);
      double lse = log (attnviz_sum_exp_shifted (row, V, max)) + max;

      /* top-k by insertion: K is small */
      gint32 *ids = rec->topk_ids + (gsize) t * K;
      float *probs = rec->topk_probs + (gsize) t * K;
      int n = 0;
      for (int j = 0; j < V; j++)
        {
          if (n == K && row[j] <= row[ids[K - 1]])
            continue;
          int at = n < K ? n++ : K - 1;
          while (at > 0 && row[ids[at - 1]] < row[j])
            {
              ids[at] = ids[at - 1];
              at--;
            }
          ids[at] = j;
        }
      for (int i = 0; i < K; i++)
        probs[i] = (float) exp (row[ids[i]] - lse);

      int at = job->causal ? t + 1 : t;
      int target = at < T ? job->ids[at] : -1;
      /* A masked token (padding) has no likelihood to speak of. */
      if (target < 0 || (job->key_mask && !job->key_mask[at]))
        rec->loss[t] = NAN;
      else
        rec->loss[t] = (float) (lse - row[target]);
    }
}

/* Whether any of the N floats of X is an infinity or a NaN: one pass of
 * integer ops over the exponent bits (vectorised, a few microseconds for
 * a (T, d_model) stream), so it can run after every layer. */
static gboolean
has_non_finite (const float *x, gsize n)
{
  guint32 acc = 0;
  for (gsize i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, x + i, sizeof bits);
      /* an all-ones exponent carries into bit 31 */
      acc |= (bits & 0x7f800000u) + 0x00800000u;
    }
  return (acc & 0x80000000u) != 0;
}

/* Weights that are finite can still overflow float32 on the way (3e38 *
 * 3e38): a run must not go on to record attention rows that sum to 0 and
 * NaN logits.  The residual stream after each layer carries whatever
 * attention or the MLP produced, so checking it finds the first layer. */
static gboolean
check_finite (const float *x, gsize n, const char *where, int layer, GError **error)
{
  if (!has_non_finite (x, n))
    return TRUE;
  if (layer >= 0)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "%s %d produced a non-finite value (inf or NaN in its output): an activation overflows float32",
                 where, layer);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "%s produced a non-finite value (inf or NaN): an activation overflows float32", where);
  return FALSE;
}

/* The final norm, the LM head and the loss, a block of rows at a time:
 * each block's logits go to the loss and top-k, to rec->logits when kept,
 * to the options' logits_func, and the last row to rec->last_logits. */
static gboolean
head_and_loss (RunState *s, AttnvizRecording *rec, const gint32 *ids, GError **error)
{
  const AttnvizModel *m = s->model;
  const AttnvizConfig *c = &m->config;
  const AttnvizRunOptions *o = s->opt;
  int T = s->T, d = c->d_model, V = c->vocab_size;
  const float *h = s->x;

  if (c->final_norm)
    {
      attnviz_norm_rows (c, s->h, s->x, m->final_norm_w, m->final_norm_b, T);
      h = s->h;
    }
  if (c->mlm_transform)
    {
      attnviz_linear (s->tmp, h, &m->mlm_dense, T);
      attnviz_activate (s->tmp, (gsize) T * d, c->act);
      attnviz_norm_rows (c, s->h, s->tmp, m->mlm_norm_w, m->mlm_norm_b, T);
      h = s->h;
    }

  int rows = (int) CLAMP (LOGITS_BLOCK_BYTES / ((gsize) V * sizeof (float)), 16, 4096);
  rows = MIN (rows, T);
  float *block = rec->logits ? NULL : g_try_new (float, (gsize) rows * V);
  if (rec->logits == NULL && block == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory computing %d rows of logits", rows);
      return FALSE;
    }
  gboolean ok = TRUE;
  for (int t0 = 0; t0 < T && ok; t0 += rows)
    {
      int n = MIN (rows, T - t0);
      float *out = rec->logits ? rec->logits + (gsize) t0 * V : block;
      attnviz_linear (out, h + (gsize) t0 * d, &m->lm_head, n);
      ok = check_finite (out, (gsize) n * V, "the output layer (logits)", -1, error);
      if (!ok)
        break;
      /* The loss follows the model's own reading direction, whatever mask
       * the variant used: a causal model predicts the next token. */
      LossJob job = { out, t0, ids, o->key_mask, T, V, c->causal || c->encoder_decoder, rec };
      attnviz_parallel_for (n, 1, loss_range, &job);
      if (t0 + n == T)
        memcpy (rec->last_logits, out + (gsize) (n - 1) * V, sizeof (float) * V);
      if (o->logits_func)
        ok = o->logits_func (out, t0, n, V, o->logits_data, error);
    }
  g_free (block);
  return ok;
}

static gboolean
check_inputs (const AttnvizModel *m, const gint32 *ids, int T, const AttnvizRunOptions *o, GError **error)
{
  const AttnvizConfig *c = &m->config;
  if (T <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "nothing to run: no tokens");
      return FALSE;
    }
  if (T > attnviz_config_max_positions (c))
    {
      if (c->pos == ATTNVIZ_POS_LEARNED)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "%d tokens are more than the model's context of %d", T, c->n_ctx);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "%d tokens are more than the %d positions attnviz runs", T, attnviz_config_max_positions (c));
      return FALSE;
    }
  for (int t = 0; t < T; t++)
    {
      if (ids[t] < 0 || ids[t] >= c->vocab_size)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "token %d has id %d, outside the vocabulary of %d", t, ids[t], c->vocab_size);
          return FALSE;
        }
      if (o->positions && (o->positions[t] < 0 || (c->pos == ATTNVIZ_POS_LEARNED && o->positions[t] >= c->n_ctx)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "token %d has position %d, outside the model's %d positions", t, o->positions[t], c->n_ctx);
          return FALSE;
        }
      if (o->token_types && (o->token_types[t] < 0 || o->token_types[t] >= MAX (c->n_token_types, 1)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "token %d has type %d; the model has %d token types", t, o->token_types[t], c->n_token_types);
          return FALSE;
        }
    }
  for (int i = 0; i < o->n_layers && o->layers; i++)
    if (o->layers[i] < 0 || o->layers[i] >= c->n_layer)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "layer %d does not exist: the model has layers 0-%d", o->layers[i], c->n_layer - 1);
        return FALSE;
      }
  for (int i = 0; i < o->n_heads && o->heads; i++)
    if (o->heads[i] < 0 || o->heads[i] >= c->n_head)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "head %d does not exist: the model has heads 0-%d", o->heads[i], c->n_head - 1);
        return FALSE;
      }
  if (o->variant && !attnviz_variant_check (o->variant, c, error))
    return FALSE;
  return TRUE;
}

/* The variant, the model and the options, resolved into what the run does. */
static void
effective_init (Effective *e, const AttnvizModel *m, const AttnvizRunOptions *o, int T)
{
  const AttnvizConfig *c = &m->config;
  static const AttnvizVariant model_variant = { 0 };
  const AttnvizVariant *v = o->variant ? o->variant : &model_variant;

  memset (e, 0, sizeof *e);
  e->variant = o->variant;
  switch (v->mask)
    {
    case ATTNVIZ_MASK_MODEL: e->causal = c->causal; e->window = c->window; break;
    case ATTNVIZ_MASK_CAUSAL: e->causal = TRUE; break;
    case ATTNVIZ_MASK_BIDIRECTIONAL: e->causal = FALSE; break;
    case ATTNVIZ_MASK_WINDOW: e->causal = c->causal; e->window = v->window; break;
    case ATTNVIZ_MASK_STRIDED: e->causal = c->causal; e->stride = v->stride; break;
    default: g_assert_not_reached ();
    }

  e->score = c->score;
  e->scale = c->score == ATTNVIZ_SCORE_DOT ? 1.0f : 1.0f / sqrtf ((float) c->head_dim);
  if (v->score == ATTNVIZ_SCORE_VARIANT_DOT)
    {
      e->score = ATTNVIZ_SCORE_DOT;
      e->scale = 1.0f;
    }
  else if (v->score == ATTNVIZ_SCORE_VARIANT_SCALE)
    {
      e->score = ATTNVIZ_SCORE_SCALED_DOT;
      e->scale = v->scale;
    }

  e->pos = c->pos;
  e->positions = o->positions;
  if (v->positions == ATTNVIZ_POSITIONS_NONE)
    e->pos = ATTNVIZ_POS_NONE;
  else if (v->positions == ATTNVIZ_POSITIONS_SINUSOIDAL)
    e->pos = ATTNVIZ_POS_SINUSOIDAL;

  if (o->key_mask || v->exclude_special || v->n_exclude)
    {
      e->key_mask = g_new (guint8, T);
      for (int t = 0; t < T; t++)
        e->key_mask[t] = o->key_mask ? o->key_mask[t] : 1;
      for (int t = 0; t < T && v->exclude_special && o->special; t++)
        if (o->special[t])
          e->key_mask[t] = 0;
      for (int i = 0; i < v->n_exclude; i++)
        if (v->exclude[i] < T)
          e->key_mask[v->exclude[i]] = 0;
    }
}

static int *
index_range (int n)
{
  int *r = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++)
    r[i] = i;
  return r;
}

/* The work space of a run over T tokens attending to at most TK keys,
 * one allocation carved into the run state; NULL when out of memory. */
static float *
run_state_alloc (RunState *s, const AttnvizConfig *c, int T, int Tk, GError **error)
{
  int d = c->d_model, dq = c->n_head * c->head_dim, dkv = MAX (c->n_kv_head * c->head_dim, dq);
  int rows = MAX (T, Tk);
  gsize sizes[] = { (gsize) rows * d, (gsize) rows * d, (gsize) rows * dq, (gsize) rows * dkv, (gsize) rows * dkv,
                    (gsize) rows * dq, (gsize) rows * d, (gsize) rows * c->d_ff,
                    c->gated_mlp ? (gsize) rows * c->d_ff : 0, (gsize) c->head_dim };
  float **slots[] = { &s->x, &s->h, &s->q, &s->k, &s->v, &s->att, &s->tmp, &s->ff, &s->ff2, &s->inv_freq };
  gsize total = 0;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    total += sizes[i];
  float *mem = g_try_new (float, total);
  if (mem == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "out of memory: running %d tokens needs %.2f GiB of work space", T, total * 4.0 / 1073741824.0);
      return NULL;
    }
  attnviz_advise_huge_pages (mem, total * sizeof (float));
  float *p = mem;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      *slots[i] = sizes[i] ? p : NULL;
      p += sizes[i];
    }
  return mem;
}

/* theta^(-2i / n_rot) for each rotated pair, divided by the model's
 * frequency factors when it has them (Llama 3's rope_freqs). */
void
attnviz_rope_frequencies (float *inv_freq, const AttnvizModel *m, const AttnvizVariant *v)
{
  const AttnvizConfig *c = &m->config;
  int n_rot = c->rope_dims > 0 ? c->rope_dims : c->head_dim;
  float theta = v && v->positions == ATTNVIZ_POSITIONS_ROPE_THETA ? v->rope_theta : c->rope_theta;
  for (int i = 0; i < n_rot / 2; i++)
    {
      inv_freq[i] = 1.0f / powf (theta, (float) (2 * i) / (float) n_rot);
      if (m->rope_freq_factors)
        inv_freq[i] /= m->rope_freq_factors[i];
      if (c->rope_scale > 1.0f)
        inv_freq[i] /= c->rope_scale;
      if (c->rope_llama3)
        {
          /* Hugging Face's _compute_llama3_parameters: long wavelengths
           * divided by the factor, short ones kept, a blend between. */
          float low_wavelen = c->rope_llama3_original / c->rope_llama3_low;
          float high_wavelen = c->rope_llama3_original / c->rope_llama3_high;
          float wavelen = 2.0f * (float) G_PI / inv_freq[i];
          if (wavelen > low_wavelen)
            inv_freq[i] /= c->rope_llama3_factor;
          else if (wavelen >= high_wavelen)
            {
              float smooth = (c->rope_llama3_original / wavelen - c->rope_llama3_low)
                             / (c->rope_llama3_high - c->rope_llama3_low);
              inv_freq[i] = (1.0f - smooth) * inv_freq[i] / c->rope_llama3_factor + smooth * inv_freq[i];
            }
        }
    }
}

/* One layer of a stack: pre-norm (GPT-2, LLaMA) or post-norm (BERT), with
 * cross-attention between self-attention and the MLP in decoder layers of
 * encoder-decoder models (ENC != NULL). */
static gboolean
layer_forward (RunState *s, const AttnvizLayerWeights *L, AttnvizAttention *att, AttnvizAttention *cross,
               int layer, const float *enc, int S, const guint8 *src_mask, GError **error)
{
  const AttnvizConfig *c = &s->model->config;
  int T = s->T;
  gsize n = (gsize) T * c->d_model;
  if (c->pre_norm)
    {
      attnviz_norm_rows (c, s->h, s->x, L->attn_norm_w, L->attn_norm_b, T);
      if (!attention_block (s, L, att, layer, error))
        return FALSE;
      add_into (s->x, s->tmp, n);
      if (enc)
        {
          attnviz_norm_rows (c, s->h, s->x, L->cross_norm_w, L->cross_norm_b, T);
          if (!cross_attention_block (s, L, cross, layer, enc, S, src_mask, error))
            return FALSE;
          add_into (s->x, s->tmp, n);
        }
      attnviz_norm_rows (c, s->h, s->x, L->mlp_norm_w, L->mlp_norm_b, T);
      mlp_block (s, L);
      add_into (s->x, s->tmp, n);
    }
  else
    {
      memcpy (s->h, s->x, n * sizeof (float));
      if (!attention_block (s, L, att, layer, error))
        return FALSE;
      add_into (s->x, s->tmp, n);
      attnviz_norm_rows (c, s->x, s->x, L->attn_norm_w, L->attn_norm_b, T);
      memcpy (s->h, s->x, n * sizeof (float));
      mlp_block (s, L);
      add_into (s->x, s->tmp, n);
      attnviz_norm_rows (c, s->x, s->x, L->mlp_norm_w, L->mlp_norm_b, T);
    }
  return TRUE;
}

/* Whether REUSE is a run of the same tokens under the model as it is,
 * with the residual stream kept, that this run can start from. */
static gboolean
can_reuse (const AttnvizRecording *reuse, const AttnvizModel *m, const gint32 *ids, int T)
{
  return reuse != NULL && reuse->residuals != NULL && reuse->T == T && reuse->d_model == m->config.d_model
         && reuse->n_layer == m->config.n_layer && g_strcmp0 (reuse->variant, "model") == 0
         && memcmp (reuse->ids, ids, sizeof (gint32) * T) == 0;
}

/* The attention of one stack of a run, dense or recomputed as the options
 * and its size say. */
static AttnvizAttention *
attention_for (const AttnvizModel *model, AttnvizStack stack, int n_rows, int n_cols, const int *layers,
               int n_layers, const int *heads, int n_heads, const Effective *e, AttnvizMask mask,
               const float *inv_freq, const AttnvizRunOptions *o, GError **error)
{
  const AttnvizConfig *c = &model->config;
  guint64 limit = o->max_record_bytes ? o->max_record_bytes : ATTNVIZ_DEFAULT_MAX_RECORD_BYTES;
  guint64 dense_bytes = attnviz_recording_attention_bytes (n_layers, n_heads, 1) * n_rows * n_cols;
  guint64 kept_bytes = (guint64) n_layers * ((guint64) n_rows * (c->d_model + 2 * n_heads)
                                             + (stack == ATTNVIZ_STACK_CROSS ? 0 : 0)) * sizeof (float)
                       + (stack == ATTNVIZ_STACK_CROSS ? (guint64) n_cols * c->d_model * sizeof (float) : 0);
  gboolean dense;
  switch (o->storage)
    {
    case ATTNVIZ_STORAGE_DENSE: dense = TRUE; break;
    case ATTNVIZ_STORAGE_RECOMPUTE: dense = FALSE; break;
    default: dense = dense_bytes <= MIN (ATTNVIZ_ATTENTION_DENSE_BYTES, limit); break;
    }
  if (e->score == ATTNVIZ_SCORE_ADDITIVE)
    dense = TRUE;
  guint64 need = dense ? dense_bytes : kept_bytes;
  if (need > limit)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "keeping the attention of %d layers x %d heads at %d x %d tokens needs %.2f GiB, "
                   "over the %.2f GiB limit", n_layers, n_heads, n_rows, n_cols, need / 1073741824.0,
                   limit / 1073741824.0);
      return NULL;
    }
  AttnvizAttentionSpec spec = {
    .model = (AttnvizModel *) model, .stack = stack, .n_rows = n_rows, .n_cols = n_cols,
    .rec_layers = layers, .n_rec_layers = n_layers, .rec_heads = heads, .n_rec_heads = n_heads,
    .mask = mask, .score = e->score,
    .rope = stack != ATTNVIZ_STACK_CROSS && e->pos == ATTNVIZ_POS_ROPE,
    .positions = stack == ATTNVIZ_STACK_CROSS ? NULL : e->positions, .inv_freq = inv_freq,
    .dense = dense, .overview_bytes = o->overview_bytes,
  };
  return _attnviz_attention_new (&spec, error);
}

/* A recording of T tokens: its attention (NULL for record_none), the
 * logits it keeps, the residual stream when asked. */
static AttnvizRecording *
recording_for (const AttnvizModel *model, const AttnvizRunOptions *o, const Effective *e, const float *inv_freq,
               int T, GError **error)
{
  const AttnvizConfig *c = &model->config;
  g_autofree int *all_layers = index_range (c->n_layer);
  g_autofree int *all_heads = index_range (c->n_head);
  const int *layers = o->layers ? o->layers : all_layers;
  const int *heads = o->heads ? o->heads : all_heads;
  int n_layers = o->record_none ? 0 : o->layers ? o->n_layers : c->n_layer;
  int n_heads = o->record_none ? 0 : o->heads ? o->n_heads : c->n_head;
  gboolean with_logits = c->has_lm_head && model->lm_head.w.data != NULL && !o->skip_logits;

  AttnvizRecording *rec = g_new0 (AttnvizRecording, 1);
  rec->T = T;
  rec->n_layer = c->n_layer;
  rec->n_head = c->n_head;
  rec->vocab_size = c->vocab_size;
  rec->ids = g_new0 (gint32, T);
  rec->n_rec_layers = n_layers;
  rec->n_rec_heads = n_heads;
  rec->rec_layers = g_memdup2 (layers, sizeof (int) * MAX (n_layers, 1));
  rec->rec_heads = g_memdup2 (heads, sizeof (int) * MAX (n_heads, 1));
  rec->loss = g_new (float, T);
  rec->d_model = c->d_model;
  rec->variant = o->variant ? attnviz_variant_to_string (o->variant) : g_strdup ("model");
  for (int t = 0; t < T; t++)
    rec->loss[t] = NAN;

  if (n_layers > 0 && n_heads > 0)
    {
      rec->attention = attention_for (model, ATTNVIZ_STACK_SELF, T, T, layers, n_layers, heads, n_heads, e,
                                      self_mask (e), inv_freq, o, error);
      if (rec->attention == NULL)
        {
          attnviz_recording_free (rec);
          return NULL;
        }
      rec->attn = attnviz_attention_is_dense (rec->attention) && n_layers > 0 && n_heads > 0
                    ? _attnviz_attention_dense (rec->attention, 0, 0) : NULL;
    }
  guint64 limit = o->max_record_bytes ? o->max_record_bytes : ATTNVIZ_DEFAULT_MAX_RECORD_BYTES;
  guint64 logits_bytes = (guint64) T * c->vocab_size * sizeof (float);
  if (with_logits)
    {
      rec->top_k = MIN (ATTNVIZ_TOP_K, c->vocab_size);
      rec->topk_ids = g_new0 (gint32, (gsize) T * rec->top_k);
      rec->topk_probs = g_new0 (float, (gsize) T * rec->top_k);
      rec->last_logits = g_new0 (float, c->vocab_size);
      if ((o->keep_logits && logits_bytes <= limit) || logits_bytes <= ATTNVIZ_KEEP_LOGITS_BYTES)
        {
          rec->logits = g_try_malloc (logits_bytes);
          if (rec->logits == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory keeping %.2f GiB of logits",
                           logits_bytes / 1073741824.0);
              attnviz_recording_free (rec);
              return NULL;
            }
          attnviz_advise_huge_pages (rec->logits, logits_bytes);
        }
      else if (o->keep_logits)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                       "keeping every logit of %d tokens needs %.2f GiB, over the %.2f GiB limit", T,
                       logits_bytes / 1073741824.0, limit / 1073741824.0);
          attnviz_recording_free (rec);
          return NULL;
        }
    }
  if (o->keep_residuals)
    {
      rec->residuals = g_try_new (float, (gsize) (c->n_layer + 1) * T * c->d_model);
      if (rec->residuals == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory keeping the residual stream");
          attnviz_recording_free (rec);
          return NULL;
        }
    }
  return rec;
}

/* Runs the attention objects of REC to their end and fills the time. */
static void
recording_finish (AttnvizRecording *rec, gint64 t0)
{
  if (rec->attention)
    _attnviz_attention_finish (rec->attention);
  if (rec->enc_attention)
    _attnviz_attention_finish (rec->enc_attention);
  if (rec->cross_attention)
    _attnviz_attention_finish (rec->cross_attention);
  rec->seconds = (g_get_monotonic_time () - t0) / 1e6;
}

AttnvizRecording *
attnviz_forward (const AttnvizModel *model,
                 const gint32 *ids,
                 int T,
                 const AttnvizRunOptions *options,
                 GError **error)
{
  static const AttnvizRunOptions defaults = { 0 };
  const AttnvizRunOptions *o = options ? options : &defaults;
  const AttnvizConfig *c = &model->config;

  g_return_val_if_fail (model != NULL, NULL);
  if (c->encoder_decoder)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s is an encoder-decoder model: give it a source and a target", model->path);
      return NULL;
    }
  if (!check_inputs (model, ids, T, o, error))
    return NULL;

  gint64 t0 = g_get_monotonic_time ();
  Effective eff;
  effective_init (&eff, model, o, T);
  g_autofree gint32 *variant_positions = o->variant ? attnviz_variant_positions (o->variant, T) : NULL;
  if (variant_positions)
    eff.positions = variant_positions;

  RunState s = { .model = model, .opt = o, .eff = &eff, .T = T };
  g_autofree float *mem = run_state_alloc (&s, c, T, T, error);
  if (mem == NULL)
    {
      g_free (eff.key_mask);
      return NULL;
    }
  attnviz_rope_frequencies (s.inv_freq, model, o->variant);

  AttnvizRecording *rec = recording_for (model, o, &eff, s.inv_freq, T, error);
  if (rec == NULL)
    {
      g_free (eff.key_mask);
      return NULL;
    }
  memcpy (rec->ids, ids, sizeof (gint32) * T);
  rec->causal = eff.causal;

  gsize n = (gsize) T * c->d_model;
  int first = 0;
  /* A run recording nothing (an ablation's loss) needs only the stream. */
  if (can_reuse (o->reuse, model, ids, T)
      && (rec->attention == NULL
          || (o->reuse->attention
              && attnviz_attention_is_dense (rec->attention) == attnviz_attention_is_dense (o->reuse->attention))))
    {
      /* Everything before the first layer the variant changes is the
       * model's own: take the stream entering that layer and the attention
       * of the layers before it from the earlier run. */
      static const AttnvizVariant model_variant = { 0 };
      first = attnviz_variant_first_changed_layer (o->variant ? o->variant : &model_variant, c);
      for (int l = 0; l < first && rec->attention; l++)
        {
          gboolean mine = _attnviz_attention_layer_index (rec->attention, l) >= 0;
          gboolean theirs = _attnviz_attention_layer_index (o->reuse->attention, l) >= 0;
          for (int i = 0; i < rec->n_rec_heads && theirs; i++)
            theirs = _attnviz_attention_head_index (o->reuse->attention, rec->rec_heads[i]) >= 0;
          if (mine && !theirs)
            first = 0;   /* the earlier run did not record it: compute everything */
        }
      for (int l = 0; l < first && rec->attention; l++)
        if (_attnviz_attention_layer_index (rec->attention, l) >= 0)
          _attnviz_attention_copy_layer (rec->attention, o->reuse->attention, l);
      if (first > 0)
        memcpy (s.x, o->reuse->residuals + (gsize) first * n, n * sizeof (float));
      rec->reused_layers = first;
      if (rec->residuals)
        memcpy (rec->residuals, o->reuse->residuals, (gsize) first * n * sizeof (float));
    }
  if (first == 0)
    embed (&s, ids);

  if (first == 0 && !check_finite (s.x, n, "the embedding", -1, error))
    goto failed;
  for (int layer = first; layer < c->n_layer; layer++)
    {
      if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
        goto failed;
      if (rec->residuals)
        memcpy (rec->residuals + (gsize) layer * n, s.x, n * sizeof (float));
      if (!layer_forward (&s, &model->layers[layer], rec->attention, NULL, layer, NULL, 0, NULL, error))
        goto failed;
      if (!check_finite (s.x, n, "layer", layer, error))
        goto failed;
      if (o->progress)
        o->progress ((layer + 1.0) / (c->n_layer + 1.0), o->progress_data);
    }
  if (rec->residuals)
    memcpy (rec->residuals + (gsize) c->n_layer * n, s.x, n * sizeof (float));

  if (rec->last_logits && !head_and_loss (&s, rec, ids, error))
    goto failed;
  if (o->progress)
    o->progress (1.0, o->progress_data);
  g_free (eff.key_mask);
  recording_finish (rec, t0);
  return rec;

failed:
  g_free (eff.key_mask);
  attnviz_recording_free (rec);
  return NULL;
}

AttnvizRecording *
attnviz_forward_seq2seq (const AttnvizModel *model,
                         const gint32 *src_ids,
                         int S,
                         const gint32 *tgt_ids,
                         int T,
                         const AttnvizRunOptions *options,
                         GError **error)
{
  static const AttnvizRunOptions defaults = { 0 };
  const AttnvizRunOptions *o = options ? options : &defaults;
  const AttnvizConfig *c = &model->config;

  g_return_val_if_fail (model != NULL, NULL);
  if (!c->encoder_decoder)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s is not an encoder-decoder model", model->path);
      return NULL;
    }
  if (o->reuse || o->key_mask || o->positions || o->token_types || o->measures)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "encoder-decoder runs take no reuse, key mask, positions, token types or measures");
      return NULL;
    }
  /* The source and the target each must fit the context. */
  AttnvizRunOptions src_opt = *o;
  src_opt.layers = NULL;
  src_opt.heads = NULL;
  if (!check_inputs (model, src_ids, S, &src_opt, error) || !check_inputs (model, tgt_ids, T, o, error))
    return NULL;

  gint64 t0 = g_get_monotonic_time ();
  /* The encoder: bidirectional over the source, every head recorded. */
  Effective enc_eff;
  effective_init (&enc_eff, model, &defaults, S);
  enc_eff.causal = FALSE;
  enc_eff.window = 0;
  Effective dec_eff;
  effective_init (&dec_eff, model, o, T);
  if (o->variant)
    {
      /* score and position changes apply to both sides */
      enc_eff.score = dec_eff.score;
      enc_eff.scale = dec_eff.scale;
      enc_eff.pos = dec_eff.pos;
    }

  RunState enc = { .model = model, .opt = &defaults, .eff = &enc_eff, .T = S };
  RunState dec = { .model = model, .opt = o, .eff = &dec_eff, .T = T };
  g_autofree float *enc_mem = run_state_alloc (&enc, c, S, S, error);
  g_autofree float *dec_mem = enc_mem ? run_state_alloc (&dec, c, T, S, error) : NULL;
  g_autofree float *enc_out = g_try_new (float, (gsize) S * c->d_model);
  AttnvizRecording *rec = NULL;
  if (enc_mem == NULL || dec_mem == NULL || enc_out == NULL)
    {
      if (enc_out == NULL && enc_mem && dec_mem)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory");
      goto failed;
    }
  attnviz_rope_frequencies (enc.inv_freq, model, o->variant);
  attnviz_rope_frequencies (dec.inv_freq, model, o->variant);

  rec = recording_for (model, o, &dec_eff, dec.inv_freq, T, error);
  if (rec == NULL)
    goto failed;
  memcpy (rec->ids, tgt_ids, sizeof (gint32) * T);
  rec->S = S;
  rec->n_enc_layer = c->n_enc_layer;
  rec->src_ids = g_memdup2 (src_ids, sizeof (gint32) * S);
  rec->causal = dec_eff.causal;
  {
    g_autofree int *enc_layers = index_range (c->n_enc_layer);
    g_autofree int *dec_layers = index_range (c->n_layer);
    g_autofree int *all_heads = index_range (c->n_head);
    rec->enc_attention = attention_for (model, ATTNVIZ_STACK_ENCODER, S, S, enc_layers, c->n_enc_layer, all_heads,
                                        c->n_head, &enc_eff, self_mask (&enc_eff), enc.inv_freq, o, error);
    if (rec->enc_attention == NULL)
      goto failed;
    AttnvizMask cross_mask = { .scale = dec_eff.scale };
    rec->cross_attention = attention_for (model, ATTNVIZ_STACK_CROSS, T, S, dec_layers, c->n_layer, all_heads,
                                          c->n_head, &dec_eff, cross_mask, NULL, o, error);
    if (rec->cross_attention == NULL)
      goto failed;
    if (attnviz_attention_is_dense (rec->enc_attention))
      rec->enc_attn = _attnviz_attention_dense (rec->enc_attention, 0, 0);
    if (attnviz_attention_is_dense (rec->cross_attention))
      rec->cross_attn = _attnviz_attention_dense (rec->cross_attention, 0, 0);
  }

  int total_layers = c->n_enc_layer + c->n_layer;
  embed (&enc, src_ids);
  if (!check_finite (enc.x, (gsize) S * c->d_model, "the encoder's embedding", -1, error))
    goto failed;
  for (int layer = 0; layer < c->n_enc_layer; layer++)
    {
      if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
        goto failed;
      if (!layer_forward (&enc, &model->enc_layers[layer], rec->enc_attention, NULL, layer, NULL, 0, NULL, error)
          || !check_finite (enc.x, (gsize) S * c->d_model, "encoder layer", layer, error))
        goto failed;
      if (o->progress)
        o->progress ((layer + 1.0) / (total_layers + 1.0), o->progress_data);
    }
  if (model->enc_final_norm_w)
    attnviz_norm_rows (c, enc_out, enc.x, model->enc_final_norm_w, model->enc_final_norm_b, S);
  else
    memcpy (enc_out, enc.x, (gsize) S * c->d_model * sizeof (float));

  embed (&dec, tgt_ids);
  if (!check_finite (enc_out, (gsize) S * c->d_model, "the encoder's final norm", -1, error)
      || !check_finite (dec.x, (gsize) T * c->d_model, "the decoder's embedding", -1, error))
    goto failed;
  for (int layer = 0; layer < c->n_layer; layer++)
    {
      if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
        goto failed;
      if (!layer_forward (&dec, &model->layers[layer], rec->attention, rec->cross_attention, layer, enc_out, S,
                          NULL, error)
          || !check_finite (dec.x, (gsize) T * c->d_model, "decoder layer", layer, error))
        goto failed;
      if (o->progress)
        o->progress ((c->n_enc_layer + layer + 1.0) / (total_layers + 1.0), o->progress_data);
    }

  if (rec->last_logits && !head_and_loss (&dec, rec, tgt_ids, error))
    goto failed;
  if (o->progress)
    o->progress (1.0, o->progress_data);
  g_free (dec_eff.key_mask);
  g_free (enc_eff.key_mask);
  recording_finish (rec, t0);
  return rec;

failed:
  g_free (dec_eff.key_mask);
  g_free (enc_eff.key_mask);
  attnviz_recording_free (rec);
  return NULL;
}
