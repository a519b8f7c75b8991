/* attnviz-forward.c: the forward pass, one generic transformer
 *
 * All matrix products run over the whole sequence at once through
 * cblas_sgemm (OpenBLAS brings its own threads).  The attention
 * probabilities are written straight into the recording when that layer
 * and head are recorded, into a scratch (T, T) matrix otherwise.
 */
#define G_LOG_DOMAIN "attnviz-forward"
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "attnviz-forward.h"

void
attnviz_layernorm (float *out, const float *x, const float *w, const float *b, int n, float eps)
{
  double mean = 0.0, var = 0.0;
  for (int i = 0; i < n; i++)
    mean += x[i];
  mean /= n;
  for (int i = 0; i < n; i++)
    var += (x[i] - mean) * (x[i] - mean);
  var /= n;
  float inv = (float) (1.0 / sqrt (var + eps));
  for (int i = 0; i < n; i++)
    out[i] = (float) (x[i] - mean) * inv * w[i] + (b ? b[i] : 0.0f);
}

void
attnviz_rmsnorm (float *out, const float *x, const float *w, int n, float eps)
{
  double ss = 0.0;
  for (int i = 0; i < n; i++)
    ss += (double) x[i] * x[i];
  float inv = (float) (1.0 / sqrt (ss / n + eps));
  for (int i = 0; i < n; i++)
    out[i] = w[i] * (x[i] * inv);
}

void
attnviz_softmax (float *x, int n)
{
  float max = -INFINITY;
  for (int i = 0; i < n; i++)
    max = x[i] > max ? x[i] : max;
  if (max == -INFINITY)
    {
      /* Every key masked: HF's additive mask gives a uniform row here. */
      for (int i = 0; i < n; i++)
        x[i] = 1.0f / n;
      return;
    }
  float sum = 0.0f;
  for (int i = 0; i < n; i++)
    {
      x[i] = expf (x[i] - max);
      sum += x[i];
    }
  float inv = 1.0f / sum;
  for (int i = 0; i < n; i++)
    x[i] *= inv;
}

void
attnviz_linear (float *out, const float *in, const AttnvizLinear *lin, int T)
{
  float beta = 0.0f;
  if (lin->b != NULL)
    {
      for (int t = 0; t < T; t++)
        memcpy (out + (gsize) t * lin->n_out, lin->b, sizeof (float) * lin->n_out);
      beta = 1.0f;
    }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, lin->in_out ? CblasNoTrans : CblasTrans,
               T, lin->n_out, lin->n_in, 1.0f, in, lin->n_in, lin->w, lin->ld, beta, out, lin->n_out);
}

static inline float
gelu_tanh (float x)
{
  const float k = 0.7978845608028654f; /* sqrt(2/pi) */
  return 0.5f * x * (1.0f + tanhf (k * (x + 0.044715f * x * x * x)));
}

static void
activate (float *x, gsize n, AttnvizActivation act)
{
  switch (act)
    {
    case ATTNVIZ_ACT_GELU_TANH:
      for (gsize i = 0; i < n; i++)
        x[i] = gelu_tanh (x[i]);
      break;
    case ATTNVIZ_ACT_GELU_ERF:
      for (gsize i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff (x[i] * (float) M_SQRT1_2));
      break;
    case ATTNVIZ_ACT_SILU:
      for (gsize i = 0; i < n; i++)
        x[i] = x[i] / (1.0f + expf (-x[i]));
      break;
    case ATTNVIZ_ACT_RELU:
      for (gsize i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
norm_rows (const AttnvizConfig *c, float *out, const float *x, const float *w, const float *b, int T)
{
  int d = c->d_model;
  for (int t = 0; t < T; t++)
    {
      if (c->norm == ATTNVIZ_NORM_RMSNORM)
        attnviz_rmsnorm (out + (gsize) t * d, x + (gsize) t * d, w, d, c->norm_eps);
      else
        attnviz_layernorm (out + (gsize) t * d, x + (gsize) t * d, w, b, d, c->norm_eps);
    }
}

/* Hugging Face rotate-half RoPE over the N_HEADS heads of each row of X
 * (T, n_heads * head_dim), in place. */
static void
rope (float *x, int T, int n_heads, int head_dim, const gint32 *positions, const float *inv_freq)
{
  int half = head_dim / 2;
  for (int t = 0; t < T; t++)
    {
      float pos = (float) (positions ? positions[t] : t);
      for (int i = 0; i < half; i++)
        {
          float angle = pos * inv_freq[i];
          float c = cosf (angle), s = sinf (angle);
          for (int h = 0; h < n_heads; h++)
            {
              float *v = x + (gsize) t * n_heads * head_dim + (gsize) h * head_dim;
              float a = v[i], b = v[i + half];
              v[i] = a * c - b * s;
              v[i + half] = b * c + a * s;
            }
        }
    }
}

typedef struct {
  const AttnvizModel *model;
  const AttnvizRunOptions *opt;
  int T;
  float *x;        /* (T, d_model) the residual stream */
  float *h;        /* (T, d_model) normed input of a block */
  float *q;        /* (T, n_head * head_dim) */
  float *k;        /* (T, n_kv_head * head_dim) */
  float *v;        /* (T, n_kv_head * head_dim) */
  float *att;      /* (T, n_head * head_dim) attention output before o-proj */
  float *tmp;      /* (T, d_model) */
  float *ff;       /* (T, d_ff) */
  float *ff2;      /* (T, d_ff) gate, gated MLPs only */
  float *scratch;  /* (T, T) probabilities of a head not recorded */
  float *inv_freq; /* (head_dim / 2) RoPE */
} RunState;

static void
attention_block (RunState *s, const AttnvizLayerWeights *L, AttnvizRecording *rec, int layer)
{
  const AttnvizConfig *c = &s->model->config;
  int T = s->T, hd = c->head_dim;
  int dq = c->n_head * hd, dkv = c->n_kv_head * hd;
  int group = c->n_head / c->n_kv_head;
  float scale = 1.0f / sqrtf ((float) hd);

  attnviz_linear (s->q, s->h, &L->q, T);
  attnviz_linear (s->k, s->h, &L->k, T);
  attnviz_linear (s->v, s->h, &L->v, T);
  if (c->pos == ATTNVIZ_POS_ROPE)
    {
      rope (s->q, T, c->n_head, hd, s->opt->positions, s->inv_freq);
      rope (s->k, T, c->n_kv_head, hd, s->opt->positions, s->inv_freq);
    }

  for (int head = 0; head < c->n_head; head++)
    {
      int kvh = head / group;
      float *P = rec ? attnviz_recording_get_attention (rec, layer, head) : NULL;
      if (P == NULL)
        P = s->scratch;

      /* P (T, T) = scale * Q_h (T, hd) K_h^T (hd, T) */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, scale,
                   s->q + head * hd, dq, s->k + kvh * hd, dkv, 0.0f, P, T);
      for (int i = 0; i < T; i++)
        {
          float *row = P + (gsize) i * T;
          int n = c->causal ? i + 1 : T;
          if (s->opt->key_mask)
            for (int j = 0; j < n; j++)
              if (!s->opt->key_mask[j])
                row[j] = -INFINITY;
          attnviz_softmax (row, n);
          for (int j = n; j < T; j++)
            row[j] = 0.0f;
        }
      /* out_h (T, hd) = P (T, T) V_h (T, hd) */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f,
                   P, T, s->v + kvh * hd, dkv, 0.0f, s->att + head * hd, dq);
    }
  attnviz_linear (s->tmp, s->att, &L->o, T);
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
      activate (s->ff2, n, c->act);
      for (gsize i = 0; i < n; i++)
        s->ff[i] *= s->ff2[i];
    }
  else
    activate (s->ff, n, c->act);
  attnviz_linear (s->tmp, s->ff, &L->down, T);
}

static void
add_into (float *x, const float *y, gsize n)
{
  for (gsize i = 0; i < n; i++)
    x[i] += y[i];
}

static void
embed (RunState *s, const gint32 *ids)
{
  const AttnvizModel *m = s->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;
  for (int t = 0; t < s->T; t++)
    {
      float *x = s->x + (gsize) t * d;
      memcpy (x, m->tok_emb + (gsize) ids[t] * d, sizeof (float) * d);
      int pos = s->opt->positions ? s->opt->positions[t] : t;
      if (c->pos == ATTNVIZ_POS_LEARNED && m->pos_emb)
        add_into (x, m->pos_emb + (gsize) pos * d, d);
      else if (c->pos == ATTNVIZ_POS_SINUSOIDAL)
        for (int i = 0; i < d / 2; i++)
          {
            double angle = pos / pow (10000.0, 2.0 * i / d);
            x[2 * i] += (float) sin (angle);
            x[2 * i + 1] += (float) cos (angle);
          }
      if (m->type_emb)
        add_into (x, m->type_emb + (gsize) (s->opt->token_types ? s->opt->token_types[t] : 0) * d, d);
    }
  if (c->embedding_norm)
    norm_rows (c, s->x, s->x, m->emb_norm_w, m->emb_norm_b, s->T);
}

static void
head_and_loss (RunState *s, AttnvizRecording *rec, const gint32 *ids)
{
  const AttnvizModel *m = s->model;
  const AttnvizConfig *c = &m->config;
  int T = s->T, d = c->d_model, V = c->vocab_size;
  const float *h = s->x;

  if (c->final_norm)
    {
      norm_rows (c, s->h, s->x, m->final_norm_w, m->final_norm_b, T);
      h = s->h;
    }
  if (c->mlm_transform)
    {
      attnviz_linear (s->tmp, h, &m->mlm_dense, T);
      activate (s->tmp, (gsize) T * d, c->act);
      norm_rows (c, s->h, s->tmp, m->mlm_norm_w, m->mlm_norm_b, T);
      h = s->h;
    }
  attnviz_linear (rec->logits, h, &m->lm_head, T);

  for (int t = 0; t < T; t++)
    {
      int at = c->causal ? t + 1 : t;
      int target = at < T ? ids[at] : -1;
      /* A masked token (padding) has no likelihood to speak of. */
      if (target < 0 || (s->opt->key_mask && !s->opt->key_mask[at]))
        {
          rec->loss[t] = NAN;
          continue;
        }
      const float *row = rec->logits + (gsize) t * V;
      float max = -INFINITY;
      for (int i = 0; i < V; i++)
        max = row[i] > max ? row[i] : max;
      double sum = 0.0;
      for (int i = 0; i < V; i++)
        sum += exp ((double) row[i] - max);
      rec->loss[t] = (float) (log (sum) + max - row[target]);
    }
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
  if (T > c->n_ctx)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%d tokens are more than the model's context of %d", T, c->n_ctx);
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
  return TRUE;
}

static int *
index_range (int n)
{
  int *r = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++)
    r[i] = i;
  return r;
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
  if (!check_inputs (model, ids, T, o, error))
    return NULL;

  gint64 t0 = g_get_monotonic_time ();
  g_autofree int *all_layers = index_range (c->n_layer);
  g_autofree int *all_heads = index_range (c->n_head);
  const int *layers = o->layers ? o->layers : all_layers;
  const int *heads = o->heads ? o->heads : all_heads;
  int n_layers = o->record_none ? 0 : o->layers ? o->n_layers : c->n_layer;
  int n_heads = o->record_none ? 0 : o->heads ? o->n_heads : c->n_head;
  gboolean with_logits = c->has_lm_head && model->lm_head.w != NULL && !o->skip_logits;

  AttnvizRecording *rec = attnviz_recording_new (T, c->n_layer, c->n_head, c->vocab_size,
                                                 layers, n_layers, heads, n_heads, with_logits,
                                                 o->max_record_bytes ? o->max_record_bytes
                                                                     : ATTNVIZ_DEFAULT_MAX_RECORD_BYTES,
                                                 error);
  if (rec == NULL)
    return NULL;
  memcpy (rec->ids, ids, sizeof (gint32) * T);
  rec->causal = c->causal;
  for (int t = 0; t < T; t++)
    rec->loss[t] = NAN;

  int d = c->d_model, dq = c->n_head * c->head_dim, dkv = c->n_kv_head * c->head_dim;
  RunState s = { .model = model, .opt = o, .T = T };
  /* One allocation carved into the run state. */
  gsize sizes[] = { (gsize) T * d, (gsize) T * d, (gsize) T * dq, (gsize) T * dkv, (gsize) T * dkv,
                    (gsize) T * dq, (gsize) T * d, (gsize) T * c->d_ff,
                    c->gated_mlp ? (gsize) T * c->d_ff : 0, (gsize) T * T, (gsize) c->head_dim };
  float **slots[] = { &s.x, &s.h, &s.q, &s.k, &s.v, &s.att, &s.tmp, &s.ff, &s.ff2, &s.scratch, &s.inv_freq };
  gsize total = 0;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    total += sizes[i];
  g_autofree float *mem = g_try_new (float, total);
  if (mem == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "out of memory: running %d tokens needs %.2f GiB of work space", T, total * 4.0 / 1073741824.0);
      attnviz_recording_free (rec);
      return NULL;
    }
  float *p = mem;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      *slots[i] = sizes[i] ? p : NULL;
      p += sizes[i];
    }
  for (int i = 0; i < c->head_dim / 2; i++)
    s.inv_freq[i] = 1.0f / powf (c->rope_theta, (float) (2 * i) / (float) c->head_dim);

  embed (&s, ids);

  gsize n = (gsize) T * d;
  for (int layer = 0; layer < c->n_layer; layer++)
    {
      const AttnvizLayerWeights *L = &model->layers[layer];
      if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
        {
          attnviz_recording_free (rec);
          return NULL;
        }
      if (c->pre_norm)
        {
          norm_rows (c, s.h, s.x, L->attn_norm_w, L->attn_norm_b, T);
          attention_block (&s, L, rec, layer);
          add_into (s.x, s.tmp, n);
          norm_rows (c, s.h, s.x, L->mlp_norm_w, L->mlp_norm_b, T);
          mlp_block (&s, L);
          add_into (s.x, s.tmp, n);
        }
      else
        {
          memcpy (s.h, s.x, n * sizeof (float));
          attention_block (&s, L, rec, layer);
          add_into (s.x, s.tmp, n);
          norm_rows (c, s.x, s.x, L->attn_norm_w, L->attn_norm_b, T);
          memcpy (s.h, s.x, n * sizeof (float));
          mlp_block (&s, L);
          add_into (s.x, s.tmp, n);
          norm_rows (c, s.x, s.x, L->mlp_norm_w, L->mlp_norm_b, T);
        }
      if (o->progress)
        o->progress ((layer + 1.0) / (c->n_layer + 1.0), o->progress_data);
    }

  if (with_logits)
    head_and_loss (&s, rec, ids);
  if (o->progress)
    o->progress (1.0, o->progress_data);

  rec->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return rec;
}
