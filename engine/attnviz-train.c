/* attnviz-train.c: train small transformers (see attnviz-train.h)
 *
 * Memory, as in llm.c: the parameters, their gradients and AdamW's two
 * moments are four (n_params) slices of one allocation, each in the same
 * layout (Layout: an offset per tensor, in the order the tensors are
 * saved); the activations of a batch of up to cap_B sequences are carved
 * out of one more (attnviz-train-net.inc).  Nothing is allocated per step
 * but the examples' strings.
 */
#define G_LOG_DOMAIN "attnviz-train"
#include "config.h"

#include <cblas.h>
#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attnviz-fileutil.h"
#include "attnviz-json.h"
#include "attnviz-safetensors.h"
#include "attnviz-train.h"

/* ---------------------------------------------------------------- GEMM timing */

static gboolean gemm_timing;
static gboolean gemm_paused;  /* while evaluating */
static gint64 gemm_ns;
static guint64 gemm_count;

static inline gint64
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
sgemm_timed (enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
             float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
  if (!gemm_timing || gemm_paused)
    {
      cblas_sgemm (order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      return;
    }
  gint64 t0 = now_ns ();
  cblas_sgemm (order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  gemm_ns += now_ns () - t0;
  gemm_count++;
}

static void
dgemm_plain (enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
             double alpha, const double *A, int lda, const double *B, int ldb, double beta, double *C, int ldc)
{
  cblas_dgemm (order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void
attnviz_train_gemm_timing (gboolean enable)
{
  gemm_timing = enable;
  gemm_ns = 0;
  gemm_count = 0;
}

double
attnviz_train_gemm_seconds (void)
{
  return gemm_ns / 1e9;
}

guint64
attnviz_train_gemm_calls (void)
{
  return gemm_count;
}

/* ---------------------------------------------------------------- layout */

typedef struct {
  gsize norm_w, norm_b;
  gsize wq, bq, wk, bk, wv, bv, wo, bo;
  gsize score_v;             /* additive scoring only */
} AttnOff;

typedef struct {
  AttnOff self;
  AttnOff cross;             /* decoder layers of encoder-decoders */
  gsize mlp_norm_w, mlp_norm_b;
  gsize w_up, b_up, w_down, b_down;
} LayerOff;

typedef struct {
  char *name;
  int n_dims;
  gint64 shape[2];
  gsize offset;
  gsize size;
  int init;                  /* INIT_* */
  gboolean decay;            /* AdamW decays it: matrices and embeddings */
} ParamTensor;

enum { INIT_NORMAL, INIT_EMBED, INIT_RESIDUAL, INIT_ZERO, INIT_ONE, INIT_SCORE_V };

typedef struct {
  gsize n_params;
  gsize tok_emb, pos_emb;
  gsize final_norm_w, final_norm_b;
  gsize enc_norm_w, enc_norm_b;
  LayerOff *dec;             /* (n_layer) */
  LayerOff *enc;             /* (n_enc_layer) */
  GArray *tensors;           /* ParamTensor, in file order */
} Layout;

static gsize
layout_add (Layout *lay, int init, gint64 d0, gint64 d1, const char *fmt, ...) G_GNUC_PRINTF (5, 6);

static gsize
layout_add (Layout *lay, int init, gint64 d0, gint64 d1, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  ParamTensor t = { g_strdup_vprintf (fmt, ap), d1 > 0 ? 2 : 1, { d0, d1 }, lay->n_params,
                    (gsize) d0 * (d1 > 0 ? d1 : 1), init, d1 > 0 && init != INIT_SCORE_V };
  va_end (ap);
  g_array_append_val (lay->tensors, t);
  lay->n_params += t.size;
  return t.offset;
}

static void
layout_attention (Layout *lay, const AttnvizConfig *c, AttnOff *o, const char *prefix)
{
  int d = c->d_model, dq = c->n_head * c->head_dim;
  o->wq = layout_add (lay, INIT_NORMAL, dq, d, "%s.q.weight", prefix);
  o->bq = layout_add (lay, INIT_ZERO, dq, 0, "%s.q.bias", prefix);
  o->wk = layout_add (lay, INIT_NORMAL, dq, d, "%s.k.weight", prefix);
  o->bk = layout_add (lay, INIT_ZERO, dq, 0, "%s.k.bias", prefix);
  o->wv = layout_add (lay, INIT_NORMAL, dq, d, "%s.v.weight", prefix);
  o->bv = layout_add (lay, INIT_ZERO, dq, 0, "%s.v.bias", prefix);
  o->wo = layout_add (lay, INIT_RESIDUAL, d, dq, "%s.o.weight", prefix);
  o->bo = layout_add (lay, INIT_ZERO, d, 0, "%s.o.bias", prefix);
  if (c->score == ATTNVIZ_SCORE_ADDITIVE)
    o->score_v = layout_add (lay, INIT_SCORE_V, c->n_head, c->head_dim, "%s.score_v", prefix);
}

static void
layout_layer (Layout *lay, const AttnvizConfig *c, LayerOff *L, const char *prefix, gboolean cross)
{
  int d = c->d_model;
  g_autofree char *attn = g_strconcat (prefix, "attn", NULL);
  g_autofree char *cross_attn = g_strconcat (prefix, "cross_attn", NULL);
  L->self.norm_w = layout_add (lay, INIT_ONE, d, 0, "%sattn_norm.weight", prefix);
  L->self.norm_b = layout_add (lay, INIT_ZERO, d, 0, "%sattn_norm.bias", prefix);
  layout_attention (lay, c, &L->self, attn);
  if (cross)
    {
      L->cross.norm_w = layout_add (lay, INIT_ONE, d, 0, "%scross_norm.weight", prefix);
      L->cross.norm_b = layout_add (lay, INIT_ZERO, d, 0, "%scross_norm.bias", prefix);
      layout_attention (lay, c, &L->cross, cross_attn);
    }
  L->mlp_norm_w = layout_add (lay, INIT_ONE, d, 0, "%smlp_norm.weight", prefix);
  L->mlp_norm_b = layout_add (lay, INIT_ZERO, d, 0, "%smlp_norm.bias", prefix);
  L->w_up = layout_add (lay, INIT_NORMAL, c->d_ff, d, "%smlp.up.weight", prefix);
  L->b_up = layout_add (lay, INIT_ZERO, c->d_ff, 0, "%smlp.up.bias", prefix);
  L->w_down = layout_add (lay, INIT_RESIDUAL, d, c->d_ff, "%smlp.down.weight", prefix);
  L->b_down = layout_add (lay, INIT_ZERO, d, 0, "%smlp.down.bias", prefix);
}

/* The tensors of an attnviz model, named as attnviz-model.c reads them. */
static void
layout_init (Layout *lay, const AttnvizConfig *c)
{
  int d = c->d_model;
  memset (lay, 0, sizeof *lay);
  lay->tensors = g_array_new (FALSE, FALSE, sizeof (ParamTensor));
  lay->tok_emb = layout_add (lay, INIT_EMBED, c->vocab_size, d, "tok_emb.weight");
  if (c->pos == ATTNVIZ_POS_LEARNED)
    lay->pos_emb = layout_add (lay, INIT_NORMAL, c->n_ctx, d, "pos_emb.weight");
  lay->dec = g_new0 (LayerOff, c->n_layer);
  for (int l = 0; l < c->n_layer; l++)
    {
      g_autofree char *prefix = g_strdup_printf ("layers.%d.", l);
      layout_layer (lay, c, &lay->dec[l], prefix, c->encoder_decoder);
    }
  lay->final_norm_w = layout_add (lay, INIT_ONE, d, 0, "final_norm.weight");
  lay->final_norm_b = layout_add (lay, INIT_ZERO, d, 0, "final_norm.bias");
  if (c->encoder_decoder)
    {
      lay->enc = g_new0 (LayerOff, c->n_enc_layer);
      for (int l = 0; l < c->n_enc_layer; l++)
        {
          g_autofree char *prefix = g_strdup_printf ("encoder.layers.%d.", l);
          layout_layer (lay, c, &lay->enc[l], prefix, FALSE);
        }
      lay->enc_norm_w = layout_add (lay, INIT_ONE, d, 0, "encoder.final_norm.weight");
      lay->enc_norm_b = layout_add (lay, INIT_ZERO, d, 0, "encoder.final_norm.bias");
    }
}

static void
layout_clear (Layout *lay)
{
  for (guint i = 0; lay->tensors && i < lay->tensors->len; i++)
    g_free (g_array_index (lay->tensors, ParamTensor, i).name);
  g_clear_pointer (&lay->tensors, g_array_unref);
  g_clear_pointer (&lay->dec, g_free);
  g_clear_pointer (&lay->enc, g_free);
}

/* ---------------------------------------------------------------- the network, twice */

/* Whether query I may attend to key J: keys past KLEN are padding; a
 * causal mask hides later keys, a window those WINDOW or more behind. */
static inline gboolean
key_allowed (int i, int j, int klen, gboolean causal, int window)
{
  return j < klen && (!causal || j <= i) && (window <= 0 || !causal || i - j < window);
}

#define REAL float
#define R(name) name##_f
#define GEMM sgemm_timed
#define R_EXP expf
#define R_LOG logf
#define R_TANH tanhf
#define R_ERF erff
#define R_SQRT sqrtf
#define R_COS cosf
#define R_SIN sinf
#define R_POW powf
#include "attnviz-train-net.inc"
#undef REAL
#undef R
#undef GEMM
#undef R_EXP
#undef R_LOG
#undef R_TANH
#undef R_ERF
#undef R_SQRT
#undef R_COS
#undef R_SIN
#undef R_POW

#define REAL double
#define R(name) name##_d
#define GEMM dgemm_plain
#define R_EXP exp
#define R_LOG log
#define R_TANH tanh
#define R_ERF erf
#define R_SQRT sqrt
#define R_COS cos
#define R_SIN sin
#define R_POW pow
#include "attnviz-train-net.inc"
#undef REAL
#undef R
#undef GEMM
#undef R_EXP
#undef R_LOG
#undef R_TANH
#undef R_ERF
#undef R_SQRT
#undef R_COS
#undef R_SIN
#undef R_POW

/* ---------------------------------------------------------------- options */

void
attnviz_train_options_init (AttnvizTrainOptions *opt)
{
  *opt = (AttnvizTrainOptions) {
    .steps = 2000,
    .batch = 32,
    .lr = 1e-3,
    .warmup = 100,
    .min_lr = 0.1,
    .weight_decay = 0.01,
    .beta1 = 0.9,
    .beta2 = 0.98,
    .adam_eps = 1e-8,
    .grad_clip = 1.0,
    .dropout = 0.0,
    .seed = 1,
    .objective = ATTNVIZ_OBJECTIVE_CE,
    .reward = ATTNVIZ_REWARD_EXACT,
    .pg_sample = TRUE,
    .baseline_decay = 0.9,
  };
}

/* ---------------------------------------------------------------- batches */

AttnvizBatch *
attnviz_batch_new (int cap_B, int cap_S, int cap_T)
{
  AttnvizBatch *b = g_new0 (AttnvizBatch, 1);
  b->cap_B = cap_B;
  b->cap_S = cap_S;
  b->cap_T = cap_T;
  b->src = g_new0 (gint32, (gsize) cap_B * MAX (cap_S, 1));
  b->src_len = g_new0 (int, cap_B);
  b->inp = g_new0 (gint32, (gsize) cap_B * cap_T);
  b->tgt = g_new0 (gint32, (gsize) cap_B * cap_T);
  b->weight = g_new0 (float, cap_B);
  return b;
}

void
attnviz_batch_free (AttnvizBatch *b)
{
  if (b == NULL)
    return;
  g_free (b->src);
  g_free (b->src_len);
  g_free (b->inp);
  g_free (b->tgt);
  g_free (b->weight);
  g_free (b);
}

/* One example's rows before padding. */
typedef struct {
  GArray *src;   /* gint32 */
  GArray *inp;
  GArray *tgt;
} Rows;

static void
example_rows (const AttnvizTask *task, gboolean seq2seq, const AttnvizExample *ex, Rows *r)
{
  gint32 bos = ATTNVIZ_TASK_BOS, eos = ATTNVIZ_TASK_EOS, none = -1;
  g_array_set_size (r->src, 0);
  g_array_set_size (r->inp, 0);
  g_array_set_size (r->tgt, 0);
  g_autoptr(GArray) tgt = g_array_new (FALSE, FALSE, sizeof (gint32));
  attnviz_task_encode (task, ex->target, tgt);

  if (ex->source == NULL)
    {
      /* plain text: <bos> c0 .. c(n-2) predicts c0 .. c(n-1) */
      g_array_append_val (r->inp, bos);
      g_array_append_vals (r->inp, tgt->data, tgt->len - 1);
      g_array_append_vals (r->tgt, tgt->data, tgt->len);
      return;
    }
  g_autoptr(GArray) src = g_array_new (FALSE, FALSE, sizeof (gint32));
  attnviz_task_encode (task, ex->source, src);
  if (seq2seq)
    {
      g_array_append_vals (r->src, src->data, src->len);
      g_array_append_val (r->src, eos);
      g_array_append_val (r->inp, bos);
      g_array_append_vals (r->inp, tgt->data, tgt->len);
      g_array_append_vals (r->tgt, tgt->data, tgt->len);
      g_array_append_val (r->tgt, eos);
      return;
    }
  if (!attnviz_task_has_separator (task))
    {
      /* <bos> source target, the loss on the target: one running text */
      g_array_append_val (r->inp, bos);
      g_array_append_vals (r->inp, src->data, src->len);
      g_array_append_vals (r->inp, tgt->data, tgt->len);
      g_array_set_size (r->inp, r->inp->len - 1);
      for (guint i = 0; i < src->len; i++)
        g_array_append_val (r->tgt, none);
      g_array_append_vals (r->tgt, tgt->data, tgt->len);
      return;
    }
  /* <bos> source <eos> target <eos>: the loss on "target <eos>" */
  g_array_append_val (r->inp, bos);
  g_array_append_vals (r->inp, src->data, src->len);
  g_array_append_val (r->inp, eos);
  g_array_append_vals (r->inp, tgt->data, tgt->len);
  for (guint i = 0; i < src->len + 1; i++)
    g_array_append_val (r->tgt, none);
  g_array_append_vals (r->tgt, tgt->data, tgt->len);
  g_array_append_val (r->tgt, eos);
}

static void
rows_init (Rows *r)
{
  r->src = g_array_new (FALSE, FALSE, sizeof (gint32));
  r->inp = g_array_new (FALSE, FALSE, sizeof (gint32));
  r->tgt = g_array_new (FALSE, FALSE, sizeof (gint32));
}

static void
rows_clear (Rows *r)
{
  g_array_unref (r->src);
  g_array_unref (r->inp);
  g_array_unref (r->tgt);
}

/* What the model is given before it decodes: the encoder's source and
 * the decoder's first tokens (<bos>; <bos> source <eos>; <bos> source). */
static void
example_prompt (const AttnvizTask *task, gboolean seq2seq, const char *source, GArray *src, GArray *prompt)
{
  gint32 bos = ATTNVIZ_TASK_BOS, eos = ATTNVIZ_TASK_EOS;
  g_array_set_size (src, 0);
  g_array_set_size (prompt, 0);
  g_array_append_val (prompt, bos);
  if (seq2seq)
    {
      attnviz_task_encode (task, source, src);
      g_array_append_val (src, eos);
      return;
    }
  attnviz_task_encode (task, source, prompt);
  if (attnviz_task_has_separator (task))
    g_array_append_val (prompt, eos);
}

gboolean
attnviz_batch_fill (AttnvizBatch *batch,
                    const AttnvizTask *task,
                    gboolean seq2seq,
                    const AttnvizExample *examples,
                    int n,
                    GError **error)
{
  g_return_val_if_fail (n > 0 && n <= batch->cap_B, FALSE);
  Rows r;
  rows_init (&r);
  int S = 0, T = 0;
  for (int b = 0; b < n; b++)
    {
      example_rows (task, seq2seq, &examples[b], &r);
      S = MAX (S, (int) r.src->len);
      T = MAX (T, (int) r.inp->len);
    }
  if (S > batch->cap_S || T > batch->cap_T)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "an example needs %d source and %d target positions; the model has %d and %d", S, T,
                   batch->cap_S, batch->cap_T);
      rows_clear (&r);
      return FALSE;
    }
  batch->B = n;
  batch->S = S;
  batch->T = T;
  for (int b = 0; b < n; b++)
    {
      example_rows (task, seq2seq, &examples[b], &r);
      for (int s = 0; s < S; s++)
        batch->src[(gsize) b * S + s] = s < (int) r.src->len ? g_array_index (r.src, gint32, s) : ATTNVIZ_TASK_PAD;
      batch->src_len[b] = r.src->len;
      for (int t = 0; t < T; t++)
        {
          gboolean in = t < (int) r.inp->len;
          batch->inp[(gsize) b * T + t] = in ? g_array_index (r.inp, gint32, t) : ATTNVIZ_TASK_PAD;
          batch->tgt[(gsize) b * T + t] = in ? g_array_index (r.tgt, gint32, t) : -1;
        }
      batch->weight[b] = 1.0f;
    }
  rows_clear (&r);
  return TRUE;
}

/* ---------------------------------------------------------------- the trainer */

struct _AttnvizTrainer
{
  AttnvizConfig config;
  AttnvizTrainOptions opt;
  Layout lay;
  int cap_S, cap_T;

  float *mem;            /* (4, n_params) */
  float *params;
  float *grads;
  float *m;              /* AdamW's first moment */
  float *v;              /* and second */

  Net_f net;
  AttnvizBatch *batch;   /* (opt.batch) sequences */
  AttnvizRng rng;        /* dropout seeds and PG sampling */
  int step;              /* optimizer steps taken */
  double baseline;       /* PG */
  gboolean have_baseline;
};

static double
normal (AttnvizRng *rng)
{
  double u1 = (attnviz_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0) + 1e-300;
  double u2 = attnviz_rng_uniform (rng);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

static void
init_weights (AttnvizTrainer *t)
{
  const AttnvizConfig *c = &t->config;
  AttnvizRng rng;
  attnviz_rng_init (&rng, t->opt.seed * 0x2545F4914F6CDD1Dull + 17);
  /* GPT-2's: normal 0.02, the projections into the residual stream scaled
   * down with depth; additive scoring's v like a row of a linear layer.
   * The token embedding is larger (1 / sqrt (d_model), as in Vaswani et
   * al.): at 0.02 the sinusoidal positions, of amplitude 1, drown the
   * tokens and training stalls for a thousand steps before it finds them. */
  double residual = 0.02 / sqrt (2.0 * (c->n_layer + c->n_enc_layer));
  double emb = 1.0 / sqrt ((double) c->d_model);
  for (guint i = 0; i < t->lay.tensors->len; i++)
    {
      const ParamTensor *p = &g_array_index (t->lay.tensors, ParamTensor, i);
      float *w = t->params + p->offset;
      for (gsize j = 0; j < p->size; j++)
        switch (p->init)
          {
          case INIT_NORMAL: w[j] = (float) (0.02 * normal (&rng)); break;
          case INIT_EMBED: w[j] = (float) (emb * normal (&rng)); break;
          case INIT_RESIDUAL: w[j] = (float) (residual * normal (&rng)); break;
          case INIT_ONE: w[j] = 1.0f; break;
          case INIT_SCORE_V: w[j] = (float) (normal (&rng) / sqrt ((double) c->head_dim)); break;
          default: w[j] = 0.0f; break;
          }
    }
}

static gboolean
check_config (const AttnvizConfig *c, GError **error)
{
  const char *why = NULL;
  if (c->family != ATTNVIZ_FAMILY_ATTNVIZ)
    why = "only attnviz's own models (AttnvizDecoder, AttnvizSeq2Seq) can be trained";
  else if (c->d_model < 1 || c->n_layer < 1 || c->n_head < 1 || c->head_dim < 1 || c->d_ff < 1
           || c->vocab_size < 1 || c->n_ctx < 1 || (c->encoder_decoder && c->n_enc_layer < 1))
    why = "every size must be at least 1";
  else if (c->pos == ATTNVIZ_POS_ROPE && c->head_dim % 2 != 0)
    why = "RoPE needs an even head dimension";
  else if (!c->causal)
    why = "the decoder must be causal";
  else if (c->act != ATTNVIZ_ACT_RELU && c->act != ATTNVIZ_ACT_GELU_ERF && c->act != ATTNVIZ_ACT_GELU_TANH)
    why = "the activation must be relu or gelu";
  else if (c->norm != ATTNVIZ_NORM_LAYERNORM || !c->pre_norm || c->gated_mlp || c->n_kv_head != c->n_head)
    why = "attnviz trains pre-norm LayerNorm models with a plain MLP and full multi-head attention";
  if (why != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s", why);
      return FALSE;
    }
  return TRUE;
}

AttnvizTrainer *
attnviz_trainer_new (const AttnvizConfig *config,
                     const AttnvizTrainOptions *opt,
                     int max_S,
                     int max_T,
                     GError **error)
{
  if (!check_config (config, error))
    return NULL;
  if (opt->batch < 1 || opt->steps < 0 || !(opt->lr > 0.0) || opt->dropout < 0.0 || opt->dropout >= 1.0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "bad training options: batch %d, steps %d, lr %g, dropout %g", opt->batch, opt->steps,
                   opt->lr, opt->dropout);
      return NULL;
    }
  if (max_T > config->n_ctx || max_S > config->n_ctx || max_T < 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "sequences of %d source and %d target positions do not fit a context of %d", max_S, max_T,
                   config->n_ctx);
      return NULL;
    }

  g_autoptr(AttnvizTrainer) t = g_new0 (AttnvizTrainer, 1);
  t->config = *config;
  t->config.architecture = g_strdup (config->encoder_decoder ? "AttnvizSeq2Seq" : "AttnvizDecoder");
  t->config.model_type = g_strdup ("attnviz");
  t->opt = *opt;
  t->cap_S = config->encoder_decoder ? MAX (max_S, 1) : 0;
  t->cap_T = max_T;
  layout_init (&t->lay, &t->config);

  gsize n = t->lay.n_params;
  t->mem = g_try_new0 (float, 4 * n);
  if (t->mem == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory for %" G_GSIZE_FORMAT " parameters", n);
      return NULL;
    }
  t->params = t->mem;
  t->grads = t->mem + n;
  t->m = t->mem + 2 * n;
  t->v = t->mem + 3 * n;
  init_weights (t);

  if (!net_init_f (&t->net, &t->config, &t->lay, opt->batch, t->cap_S, t->cap_T, opt->dropout))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory for the activations of %d sequences",
                   opt->batch);
      return NULL;
    }
  t->net.w = t->params;
  t->net.g = t->grads;
  t->batch = attnviz_batch_new (opt->batch, t->cap_S, t->cap_T);
  attnviz_rng_init (&t->rng, opt->seed ^ 0xD1B54A32D192ED03ull);
  return g_steal_pointer (&t);
}

void
attnviz_trainer_free (AttnvizTrainer *t)
{
  if (t == NULL)
    return;
  net_clear_f (&t->net);
  layout_clear (&t->lay);
  attnviz_config_clear (&t->config);
  attnviz_batch_free (t->batch);
  g_free (t->mem);
  g_free (t);
}

gboolean
attnviz_trainer_load_weights (AttnvizTrainer *t, const AttnvizModel *model, GError **error)
{
  const AttnvizConfig *a = &t->config, *b = &model->config;
  if (b->family != ATTNVIZ_FAMILY_ATTNVIZ || model->st == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: not a model attnviz trained", model->path);
      return FALSE;
    }
  if (a->encoder_decoder != b->encoder_decoder || a->n_layer != b->n_layer || a->n_enc_layer != b->n_enc_layer
      || a->d_model != b->d_model || a->n_head != b->n_head || a->head_dim != b->head_dim || a->d_ff != b->d_ff
      || a->vocab_size != b->vocab_size || a->n_ctx != b->n_ctx || a->pos != b->pos || a->score != b->score)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: its shape (layers, sizes, position, score, vocabulary) differs from the model being trained",
                   model->path);
      return FALSE;
    }
  for (guint i = 0; i < t->lay.tensors->len; i++)
    {
      const ParamTensor *p = &g_array_index (t->lay.tensors, ParamTensor, i);
      const AttnvizTensorInfo *info = attnviz_safetensors_lookup (model->st, p->name);
      if (info == NULL || (gsize) info->n_elements != p->size)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: tensor \"%s\" is missing or of another size",
                       model->path, p->name);
          return FALSE;
        }
      attnviz_tensor_to_f32 (info, t->params + p->offset);
    }
  return TRUE;
}

const AttnvizConfig *
attnviz_trainer_get_config (const AttnvizTrainer *t)
{
  return &t->config;
}

const AttnvizTrainOptions *
attnviz_trainer_get_options (const AttnvizTrainer *t)
{
  return &t->opt;
}

int
attnviz_trainer_get_step (const AttnvizTrainer *t)
{
  return t->step;
}

float *
attnviz_trainer_get_params (AttnvizTrainer *t, gsize *n_params)
{
  if (n_params)
    *n_params = t->lay.n_params;
  return t->params;
}

const float *
attnviz_trainer_get_grads (const AttnvizTrainer *t)
{
  return t->grads;
}

guint
attnviz_trainer_get_n_tensors (const AttnvizTrainer *t)
{
  return t->lay.tensors->len;
}

const char *
attnviz_trainer_get_tensor (const AttnvizTrainer *t, guint i, gsize *offset, gsize *size, int *n_dims, gint64 *shape)
{
  g_return_val_if_fail (i < t->lay.tensors->len, NULL);
  const ParamTensor *p = &g_array_index (t->lay.tensors, ParamTensor, i);
  if (offset)
    *offset = p->offset;
  if (size)
    *size = p->size;
  if (n_dims)
    *n_dims = p->n_dims;
  if (shape)
    {
      shape[0] = p->shape[0];
      shape[1] = p->shape[1];
    }
  return p->name;
}

static void
check_batch (const AttnvizTrainer *t, const AttnvizBatch *batch)
{
  g_assert (batch->B >= 1 && batch->B <= t->opt.batch);
  g_assert (batch->T >= 1 && batch->T <= t->cap_T);
  g_assert (!t->config.encoder_decoder || (batch->S >= 1 && batch->S <= t->cap_S));
}

double
attnviz_trainer_forward (AttnvizTrainer *t, const AttnvizBatch *batch)
{
  check_batch (t, batch);
  t->net.train = FALSE;
  net_forward_f (&t->net, batch, FALSE);
  return net_loss_f (&t->net, batch);
}

double
attnviz_trainer_forward_backward (AttnvizTrainer *t, const AttnvizBatch *batch)
{
  check_batch (t, batch);
  t->net.train = t->opt.dropout > 0.0;
  t->net.drop_seed = attnviz_rng_next (&t->rng);
  memset (t->grads, 0, sizeof (float) * t->lay.n_params);
  net_forward_f (&t->net, batch, FALSE);
  double loss = net_loss_f (&t->net, batch);
  net_backward_f (&t->net, batch);
  t->net.train = FALSE;
  return loss;
}

double
attnviz_trainer_batch_accuracy (const AttnvizTrainer *t, const AttnvizBatch *batch)
{
  return t->net.loss_tokens > 0 ? t->net.loss_correct / t->net.loss_tokens : 0.0;
}

static double
learning_rate (const AttnvizTrainer *t, int step)
{
  const AttnvizTrainOptions *o = &t->opt;
  if (step <= o->warmup)
    return o->lr * step / MAX (o->warmup, 1);
  double progress = o->steps > o->warmup ? (double) (step - o->warmup) / (o->steps - o->warmup) : 1.0;
  progress = CLAMP (progress, 0.0, 1.0);
  return o->lr * (o->min_lr + (1.0 - o->min_lr) * 0.5 * (1.0 + cos (G_PI * progress)));
}

double
attnviz_trainer_update (AttnvizTrainer *t)
{
  const AttnvizTrainOptions *o = &t->opt;
  gsize n = t->lay.n_params;
  double norm2 = 0.0;
  for (gsize i = 0; i < n; i++)
    norm2 += (double) t->grads[i] * t->grads[i];
  double norm = sqrt (norm2);
  float clip = o->grad_clip > 0.0 && norm > o->grad_clip ? (float) (o->grad_clip / norm) : 1.0f;

  t->step++;
  float lr = (float) learning_rate (t, t->step);
  float b1 = (float) o->beta1, b2 = (float) o->beta2;
  float c1 = (float) (1.0 - pow (o->beta1, t->step)), c2 = (float) (1.0 - pow (o->beta2, t->step));
  for (guint k = 0; k < t->lay.tensors->len; k++)
    {
      const ParamTensor *p = &g_array_index (t->lay.tensors, ParamTensor, k);
      float wd = p->decay ? (float) o->weight_decay : 0.0f;
      for (gsize i = p->offset; i < p->offset + p->size; i++)
        {
          float g = t->grads[i] * clip;
          t->m[i] = b1 * t->m[i] + (1.0f - b1) * g;
          t->v[i] = b2 * t->v[i] + (1.0f - b2) * g * g;
          float mh = t->m[i] / c1, vh = t->v[i] / c2;
          t->params[i] -= lr * (mh / (sqrtf (vh) + (float) o->adam_eps) + wd * t->params[i]);
        }
    }
  return norm;
}

/* ---------------------------------------------------------------- decoding */

static int
argmax_f (const float *x, int n)
{
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best])
      best = i;
  return best;
}

static int
sample_f (const float *logits, int n, AttnvizRng *rng)
{
  float max = logits[argmax_f (logits, n)];
  double sum = 0.0;
  for (int i = 0; i < n; i++)
    sum += exp (logits[i] - max);
  double r = attnviz_rng_uniform (rng) * sum;
  for (int i = 0; i < n; i++)
    if ((r -= exp (logits[i] - max)) <= 0.0)
      return i;
  return n - 1;
}

/* Decodes up to t->opt.batch examples at once.  OUT[b] gets the tokens
 * produced (without the final <eos>), ENDED[b] whether <eos> came.  RNG
 * samples; NULL decodes greedily. */
static void
decode_batch (AttnvizTrainer *t, const AttnvizTask *task, const AttnvizExample *ex, int n, int max_new,
              AttnvizRng *rng, GArray **out, gboolean *ended)
{
  const AttnvizConfig *c = &t->config;
  AttnvizBatch *batch = t->batch;
  int V = c->vocab_size;
  gboolean seq2seq = c->encoder_decoder;
  t->net.train = FALSE;

  /* Each row's prefix so far. */
  g_autofree GArray **seq = g_new0 (GArray *, n);
  g_autoptr(GArray) src = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GArray) prompt = g_array_new (FALSE, FALSE, sizeof (gint32));
  int S = 0;
  for (int b = 0; b < n; b++)
    {
      example_prompt (task, seq2seq, ex[b].source, src, prompt);
      S = MAX (S, MIN ((int) src->len, t->cap_S));
    }
  for (int b = 0; b < n; b++)
    {
      example_prompt (task, seq2seq, ex[b].source, src, prompt);
      seq[b] = g_array_new (FALSE, FALSE, sizeof (gint32));
      g_array_append_vals (seq[b], prompt->data, MIN ((int) prompt->len, t->cap_T));
      if (seq2seq)
        {
          int len = MIN ((int) src->len, t->cap_S);
          for (int s = 0; s < S; s++)
            batch->src[(gsize) b * S + s] = s < len ? g_array_index (src, gint32, s) : ATTNVIZ_TASK_PAD;
          batch->src_len[b] = len;
        }
      g_array_set_size (out[b], 0);
      ended[b] = FALSE;
    }
  batch->B = n;
  batch->S = S;

  /* A row is done at <eos>, or when its prefix fills the context (the
   * token predicted there is kept, but cannot be fed back). */
  g_autofree gboolean *done = g_new0 (gboolean, n);
  for (int step = 0; step < max_new; step++)
    {
      int T = 0, alive = 0;
      for (int b = 0; b < n; b++)
        {
          T = MAX (T, (int) seq[b]->len);
          alive += !done[b];
        }
      if (alive == 0)
        break;
      batch->T = T;
      for (int b = 0; b < n; b++)
        for (int i = 0; i < T; i++)
          {
            batch->inp[(gsize) b * T + i] = i < (int) seq[b]->len ? g_array_index (seq[b], gint32, i)
                                                                  : ATTNVIZ_TASK_PAD;
            batch->tgt[(gsize) b * T + i] = -1;
          }
      net_forward_f (&t->net, batch, seq2seq && step > 0);
      for (int b = 0; b < n; b++)
        {
          if (done[b])
            continue;
          const float *logits = t->net.logits + ((gsize) b * T + seq[b]->len - 1) * V;
          gint32 next = rng ? sample_f (logits, V, rng) : argmax_f (logits, V);
          if (next == ATTNVIZ_TASK_EOS)
            {
              ended[b] = done[b] = TRUE;
              continue;
            }
          g_array_append_val (out[b], next);
          if ((int) seq[b]->len < t->cap_T)
            g_array_append_val (seq[b], next);
          else
            done[b] = TRUE;
        }
    }
  for (int b = 0; b < n; b++)
    g_array_unref (seq[b]);
}

/* Tokens to decode: the target and its <eos>, or without a separator
 * just the target (such a model never says <eos>). */
static int
max_new_tokens (const AttnvizTrainer *t, const AttnvizTask *task)
{
  gboolean sep = t->config.encoder_decoder || attnviz_task_has_separator (task);
  return attnviz_task_get_max_target (task) + (sep ? 1 : 0);
}

/* Without a separator the output is as long as the target is. */
static void
cut_to_target (const AttnvizTrainer *t, const AttnvizTask *task, GArray *out, gboolean *ended, const GArray *want)
{
  if (t->config.encoder_decoder || attnviz_task_has_separator (task))
    return;
  if (out->len > want->len)
    g_array_set_size (out, want->len);
  *ended = out->len == want->len;
}

static double
token_accuracy (const GArray *out, const GArray *want)
{
  if (want->len == 0)
    return out->len == 0;
  int right = 0;
  for (guint i = 0; i < want->len && i < out->len; i++)
    right += g_array_index (out, gint32, i) == g_array_index (want, gint32, i);
  return (double) right / MAX (want->len, out->len);
}

static gboolean
exact_match (const GArray *out, gboolean ended, const GArray *want)
{
  return ended && out->len == want->len && memcmp (out->data, want->data, sizeof (gint32) * want->len) == 0;
}

void
attnviz_trainer_evaluate (AttnvizTrainer *t,
                          const AttnvizTask *task,
                          const AttnvizExample *examples,
                          int n,
                          AttnvizEvalResult *result)
{
  double exact = 0.0, tokens = 0.0;
  int B = t->opt.batch;
  memset (result, 0, sizeof *result);
  if (n <= 0)
    return;

  if (examples[0].source == NULL)
    {
      /* plain text: teacher-forced next-character accuracy */
      double right = 0.0, total = 0.0;
      for (int i = 0; i < n; i += B)
        {
          int m = MIN (B, n - i);
          if (!attnviz_batch_fill (t->batch, task, FALSE, examples + i, m, NULL))
            continue;
          attnviz_trainer_forward (t, t->batch);
          right += t->net.loss_correct;
          total += t->net.loss_tokens;
        }
      result->exact = result->tokens = total > 0 ? right / total : 0.0;
      result->n = n;
      return;
    }

  g_autofree GArray **out = g_new0 (GArray *, B);
  g_autofree gboolean *ended = g_new0 (gboolean, B);
  for (int b = 0; b < B; b++)
    out[b] = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GArray) want = g_array_new (FALSE, FALSE, sizeof (gint32));
  for (int i = 0; i < n; i += B)
    {
      int m = MIN (B, n - i);
      decode_batch (t, task, examples + i, m, max_new_tokens (t, task), NULL, out, ended);
      for (int b = 0; b < m; b++)
        {
          g_array_set_size (want, 0);
          attnviz_task_encode (task, examples[i + b].target, want);
          cut_to_target (t, task, out[b], &ended[b], want);
          exact += exact_match (out[b], ended[b], want);
          tokens += token_accuracy (out[b], want);
        }
    }
  for (int b = 0; b < B; b++)
    g_array_unref (out[b]);
  result->exact = exact / n;
  result->tokens = tokens / n;
  result->n = n;
}

char **
attnviz_trainer_decode (AttnvizTrainer *t, const AttnvizTask *task, const char *const *sources, int n)
{
  int B = t->opt.batch;
  char **texts = g_new0 (char *, n + 1);
  g_autofree GArray **out = g_new0 (GArray *, B);
  g_autofree gboolean *ended = g_new0 (gboolean, B);
  g_autofree AttnvizExample *ex = g_new0 (AttnvizExample, B);
  for (int b = 0; b < B; b++)
    out[b] = g_array_new (FALSE, FALSE, sizeof (gint32));
  for (int i = 0; i < n; i += B)
    {
      int m = MIN (B, n - i);
      for (int b = 0; b < m; b++)
        ex[b].source = (char *) sources[i + b];
      decode_batch (t, task, ex, m, t->cap_T, NULL, out, ended);
      for (int b = 0; b < m; b++)
        texts[i + b] = attnviz_task_decode (task, (gint32 *) out[b]->data, out[b]->len);
    }
  for (int b = 0; b < B; b++)
    g_array_unref (out[b]);
  return texts;
}

/* ---------------------------------------------------------------- a step */

static double
ce_step (AttnvizTrainer *t, AttnvizTask *task, AttnvizRng *rng, double *accuracy)
{
  int B = t->opt.batch;
  g_autofree AttnvizExample *ex = g_new0 (AttnvizExample, B);
  for (int b = 0; b < B; b++)
    attnviz_task_sample (task, rng, &ex[b]);
  g_autoptr(GError) error = NULL;
  gboolean ok = attnviz_batch_fill (t->batch, task, t->config.encoder_decoder, ex, B, &error);
  for (int b = 0; b < B; b++)
    attnviz_example_clear (&ex[b]);
  if (!ok)
    g_error ("%s", error->message); /* the caps come from the task: a bug */
  double loss = attnviz_trainer_forward_backward (t, t->batch);
  if (accuracy)
    *accuracy = attnviz_trainer_batch_accuracy (t, t->batch);
  attnviz_trainer_update (t);
  return loss;
}

/* REINFORCE: decode, reward against the target, and raise the
 * log-likelihood of each output in proportion to its reward above the
 * baseline. */
static double
pg_step (AttnvizTrainer *t, AttnvizTask *task, AttnvizRng *rng, double *accuracy)
{
  const AttnvizConfig *c = &t->config;
  int B = t->opt.batch;
  g_autofree AttnvizExample *ex = g_new0 (AttnvizExample, B);
  g_autofree GArray **out = g_new0 (GArray *, B);
  g_autofree gboolean *ended = g_new0 (gboolean, B);
  g_autofree double *reward = g_new0 (double, B);
  g_autoptr(GArray) want = g_array_new (FALSE, FALSE, sizeof (gint32));
  for (int b = 0; b < B; b++)
    {
      attnviz_task_sample (task, rng, &ex[b]);
      out[b] = g_array_new (FALSE, FALSE, sizeof (gint32));
    }
  decode_batch (t, task, ex, B, max_new_tokens (t, task), t->opt.pg_sample ? &t->rng : NULL, out, ended);

  double mean = 0.0, exact = 0.0;
  gboolean sep = c->encoder_decoder || attnviz_task_has_separator (task);
  for (int b = 0; b < B; b++)
    {
      g_array_set_size (want, 0);
      attnviz_task_encode (task, ex[b].target, want);
      cut_to_target (t, task, out[b], &ended[b], want);
      gboolean hit = exact_match (out[b], ended[b], want);
      reward[b] = t->opt.reward == ATTNVIZ_REWARD_EXACT ? hit : token_accuracy (out[b], want);
      mean += reward[b];
      exact += hit;
    }
  mean /= B;
  if (!t->have_baseline)
    {
      t->baseline = mean;
      t->have_baseline = TRUE;
    }

  /* The outputs as teacher-forced targets, weighted by the advantage:
   * each row is its prompt, then the tokens decoded (built from the ids:
   * an untrained model may say <unk> or <pad>), predicting them and <eos>
   * when it came. */
  AttnvizBatch *batch = t->batch;
  g_autofree Rows *rows = g_new0 (Rows, B);
  int S = 0, T = 0;
  for (int b = 0; b < B; b++)
    {
      Rows *r = &rows[b];
      rows_init (r);
      example_prompt (task, c->encoder_decoder, ex[b].source, r->src, r->inp);
      int prompt = r->inp->len;
      gint32 last = ended[b] && sep ? ATTNVIZ_TASK_EOS : -1;
      g_array_append_vals (r->inp, out[b]->data, out[b]->len);
      for (int i = 0; i < prompt - 1; i++)
        {
          gint32 none = -1;
          g_array_append_val (r->tgt, none);
        }
      g_array_append_vals (r->tgt, out[b]->data, out[b]->len);
      g_array_append_val (r->tgt, last);
      if (!sep)
        {
          /* the last token was not fed back: nothing predicts after it */
          g_array_set_size (r->inp, r->inp->len - 1);
          g_array_set_size (r->tgt, r->tgt->len - 1);
        }
      /* An output that filled the context: its last token was never fed back. */
      if ((int) r->inp->len > t->cap_T)
        {
          g_array_set_size (r->inp, t->cap_T);
          g_array_set_size (r->tgt, t->cap_T);
        }
      S = MAX (S, (int) r->src->len);
      T = MAX (T, (int) r->inp->len);
    }
  g_assert (T <= t->cap_T && S <= MAX (t->cap_S, 0));
  batch->B = B;
  batch->S = S;
  batch->T = T;
  for (int b = 0; b < B; b++)
    {
      Rows *r = &rows[b];
      for (int s = 0; s < S; s++)
        batch->src[(gsize) b * S + s] = s < (int) r->src->len ? g_array_index (r->src, gint32, s) : ATTNVIZ_TASK_PAD;
      batch->src_len[b] = r->src->len;
      for (int i = 0; i < T; i++)
        {
          gboolean in = i < (int) r->inp->len;
          batch->inp[(gsize) b * T + i] = in ? g_array_index (r->inp, gint32, i) : ATTNVIZ_TASK_PAD;
          batch->tgt[(gsize) b * T + i] = in ? g_array_index (r->tgt, gint32, i) : -1;
        }
      batch->weight[b] = (float) (reward[b] - t->baseline);
      rows_clear (r);
    }
  t->baseline = t->opt.baseline_decay * t->baseline + (1.0 - t->opt.baseline_decay) * mean;

  attnviz_trainer_forward_backward (t, batch);
  attnviz_trainer_update (t);
  for (int b = 0; b < B; b++)
    {
      attnviz_example_clear (&ex[b]);
      g_array_unref (out[b]);
    }
  if (accuracy)
    *accuracy = exact / B;
  return mean;
}

double
attnviz_trainer_train_step (AttnvizTrainer *t, AttnvizTask *task, AttnvizRng *rng, double *accuracy)
{
  if (t->opt.objective == ATTNVIZ_OBJECTIVE_PG)
    return pg_step (t, task, rng, accuracy);
  return ce_step (t, task, rng, accuracy);
}

/* ---------------------------------------------------------------- saving */

const char *
attnviz_train_score_to_string (AttnvizScoreKind s)
{
  return s == ATTNVIZ_SCORE_ADDITIVE ? "additive" : s == ATTNVIZ_SCORE_DOT ? "dot" : "scaled_dot";
}

static const char *
activation_name (AttnvizActivation a)
{
  return a == ATTNVIZ_ACT_RELU ? "relu" : a == ATTNVIZ_ACT_GELU_ERF ? "gelu" : "gelu_new";
}

static char *
config_json (AttnvizTrainer *t, const AttnvizTask *task, GHashTable *extra)
{
  const AttnvizConfig *c = &t->config;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
#define INT(key, value) (json_builder_set_member_name (b, key), json_builder_add_int_value (b, value))
#define STR(key, value) (json_builder_set_member_name (b, key), json_builder_add_string_value (b, value))
#define DBL(key, value) (json_builder_set_member_name (b, key), json_builder_add_double_value (b, value))
  json_builder_set_member_name (b, "architectures");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, c->architecture);
  json_builder_end_array (b);
  STR ("model_type", "attnviz");
  INT ("d_model", c->d_model);
  INT ("n_layer", c->n_layer);
  if (c->encoder_decoder)
    INT ("n_enc_layer", c->n_enc_layer);
  INT ("n_head", c->n_head);
  INT ("head_dim", c->head_dim);
  INT ("d_ff", c->d_ff);
  INT ("vocab_size", c->vocab_size);
  INT ("n_ctx", c->n_ctx);
  STR ("position", attnviz_position_kind_to_string (c->pos));
  DBL ("rope_theta", c->rope_theta);
  STR ("score", attnviz_train_score_to_string (c->score));
  g_autofree char *mask = c->window > 0 ? g_strdup_printf ("window:%d", c->window) : g_strdup ("causal");
  STR ("mask", mask);
  STR ("activation", activation_name (c->act));
  DBL ("norm_eps", c->norm_eps);
  INT ("bos_token_id", ATTNVIZ_TASK_BOS);
  INT ("eos_token_id", ATTNVIZ_TASK_EOS);
  INT ("pad_token_id", ATTNVIZ_TASK_PAD);
  if (task != NULL)
    STR ("attnviz_task", attnviz_task_get_spec (task));
  INT ("attnviz_seed", (gint64) t->opt.seed);
  INT ("attnviz_step", t->step);
  INT ("attnviz_steps", t->opt.steps);
  INT ("attnviz_batch", t->opt.batch);
  DBL ("attnviz_lr", t->opt.lr);
  DBL ("attnviz_dropout", t->opt.dropout);
  STR ("attnviz_objective", t->opt.objective == ATTNVIZ_OBJECTIVE_PG ? "pg" : "ce");
  if (extra != NULL)
    {
      g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (extra), (GCompareFunc) strcmp);
      for (GList *l = keys; l; l = l->next)
        STR (l->data, g_hash_table_lookup (extra, l->data));
    }
#undef INT
#undef STR
#undef DBL
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return attnviz_json_to_data (root, TRUE, NULL);
}

gboolean
attnviz_trainer_save (AttnvizTrainer *t, const AttnvizTask *task, const char *path, GHashTable *extra,
                      GError **error)
{
  g_autofree char *dir = NULL, *weights = NULL;
  if (g_str_has_suffix (path, ".safetensors"))
    {
      dir = g_path_get_dirname (path);
      weights = g_strdup (path);
    }
  else
    {
      dir = g_strdup (path);
      weights = g_build_filename (path, "model.safetensors", NULL);
    }
  if (g_mkdir_with_parents (dir, 0777) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: cannot create the folder: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }

  guint n = t->lay.tensors->len;
  g_autofree AttnvizTensorOut *out = g_new0 (AttnvizTensorOut, n);
  for (guint i = 0; i < n; i++)
    {
      const ParamTensor *p = &g_array_index (t->lay.tensors, ParamTensor, i);
      out[i].name = p->name;
      out[i].dtype = ATTNVIZ_DTYPE_F32;
      out[i].n_dims = p->n_dims;
      out[i].shape[0] = p->shape[0];
      out[i].shape[1] = p->shape[1];
      out[i].data = t->params + p->offset;
    }
  g_autoptr(GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (meta, (char *) "format", (char *) "pt");
  g_hash_table_insert (meta, (char *) "producer", (char *) "attnviz train " PACKAGE_VERSION);
  if (!attnviz_safetensors_write (weights, out, n, meta, error))
    return FALSE;

  g_autofree char *config = config_json (t, task, extra);
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  if (!attnviz_file_set_contents (config_path, config, strlen (config), error))
    return FALSE;
  if (task != NULL)
    {
      g_autofree char *tok_path = g_build_filename (dir, "tokenizer.json", NULL);
      if (!attnviz_task_write_tokenizer (task, tok_path, t->config.encoder_decoder, error))
        return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------- recording */

AttnvizRecording *
attnviz_trainer_record (AttnvizTrainer *t, const gint32 *src_ids, int S, const gint32 *ids, int T, GError **error)
{
  const AttnvizConfig *c = &t->config;
  int V = c->vocab_size, H = c->n_head;
  if (T < 1 || T > t->cap_T || (c->encoder_decoder && (S < 1 || S > t->cap_S)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%d source and %d target tokens do not fit the trainer's %d and %d", S, T, t->cap_S, t->cap_T);
      return NULL;
    }
  for (int i = 0; i < T + (c->encoder_decoder ? S : 0); i++)
    {
      gint32 id = i < T ? ids[i] : src_ids[i - T];
      if (id < 0 || id >= V)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "token id %d is outside the vocabulary of %d",
                       id, V);
          return NULL;
        }
    }
  g_autofree int *layers = g_new (int, c->n_layer);
  g_autofree int *heads = g_new (int, H);
  for (int i = 0; i < c->n_layer; i++)
    layers[i] = i;
  for (int i = 0; i < H; i++)
    heads[i] = i;
  AttnvizRecording *rec = attnviz_recording_new (T, c->n_layer, H, V, layers, c->n_layer, heads, H, TRUE,
                                                 (guint64) 4 << 30, error);
  if (rec == NULL)
    return NULL;
  gint64 t0 = g_get_monotonic_time ();
  memcpy (rec->ids, ids, sizeof (gint32) * T);
  rec->causal = TRUE;

  AttnvizBatch *batch = t->batch;
  batch->B = 1;
  batch->S = c->encoder_decoder ? S : 0;
  batch->T = T;
  if (c->encoder_decoder)
    {
      memcpy (batch->src, src_ids, sizeof (gint32) * S);
      batch->src_len[0] = S;
    }
  memcpy (batch->inp, ids, sizeof (gint32) * T);
  for (int i = 0; i < T; i++)
    batch->tgt[i] = -1;
  batch->weight[0] = 1.0f;
  t->net.train = FALSE;
  net_forward_f (&t->net, batch, FALSE);

  memcpy (rec->logits, t->net.logits, sizeof (float) * T * V);
  for (int i = 0; i < T; i++)
    {
      const float *row = rec->logits + (gsize) i * V;
      if (i + 1 >= T)
        {
          rec->loss[i] = NAN;
          continue;
        }
      float max = row[argmax_f (row, V)];
      double sum = 0.0;
      for (int j = 0; j < V; j++)
        sum += expf (row[j] - max);
      rec->loss[i] = (float) (log (sum) + max - row[ids[i + 1]]);
    }
  for (int l = 0; l < c->n_layer; l++)
    memcpy (attnviz_recording_get_attention (rec, l, 0), t->net.dec.layers[l].self.p, sizeof (float) * H * T * T);
  if (c->encoder_decoder)
    {
      rec->S = S;
      rec->n_enc_layer = c->n_enc_layer;
      rec->src_ids = g_memdup2 (src_ids, sizeof (gint32) * S);
      rec->enc_attn = g_new (float, (gsize) c->n_enc_layer * H * S * S);
      rec->cross_attn = g_new (float, (gsize) c->n_layer * H * T * S);
      for (int l = 0; l < c->n_enc_layer; l++)
        memcpy (rec->enc_attn + (gsize) l * H * S * S, t->net.enc.layers[l].self.p, sizeof (float) * H * S * S);
      for (int l = 0; l < c->n_layer; l++)
        memcpy (rec->cross_attn + (gsize) l * H * T * S, t->net.dec.layers[l].cross.p, sizeof (float) * H * T * S);
    }
  rec->seconds = (g_get_monotonic_time () - t0) / 1e6;
  return rec;
}

/* ---------------------------------------------------------------- gradient check */

GArray *
attnviz_trainer_gradcheck (AttnvizTrainer *t, const AttnvizBatch *batch, double eps, int max_per_tensor)
{
  check_batch (t, batch);
  gsize n = t->lay.n_params;
  Net_d net;
  if (!net_init_d (&net, &t->config, &t->lay, batch->B, MAX (batch->S, 1), batch->T, t->opt.dropout))
    g_error ("out of memory for the gradient check");
  g_autofree double *w = g_new (double, n);
  g_autofree double *g = g_new0 (double, n);
  for (gsize i = 0; i < n; i++)
    w[i] = t->params[i];
  net.w = w;
  net.g = g;
  net.train = t->opt.dropout > 0.0;
  net.drop_seed = 12345;

  net_forward_d (&net, batch, FALSE);
  net_loss_d (&net, batch);
  net_backward_d (&net, batch);

  GArray *results = g_array_new (FALSE, TRUE, sizeof (AttnvizGradcheck));
  for (guint k = 0; k < t->lay.tensors->len; k++)
    {
      const ParamTensor *p = &g_array_index (t->lay.tensors, ParamTensor, k);
      AttnvizGradcheck r = { g_strdup (p->name), 0.0, 0.0, 0.0, 0 };
      gsize stride = MAX (p->size / MAX (max_per_tensor, 1), 1);
      for (gsize j = 0; j < p->size; j += stride)
        {
          gsize i = p->offset + j;
          double saved = w[i];
          w[i] = saved + eps;
          net_forward_d (&net, batch, FALSE);
          double up = net_loss_d (&net, batch);
          w[i] = saved - eps;
          net_forward_d (&net, batch, FALSE);
          double down = net_loss_d (&net, batch);
          w[i] = saved;
          double num = (up - down) / (2.0 * eps), ana = g[i];
          double abs_err = fabs (num - ana);
          r.max_abs = MAX (r.max_abs, abs_err);
          r.max_rel = MAX (r.max_rel, abs_err / MAX (fabs (num) + fabs (ana), 1e-4));
          r.max_grad = MAX (r.max_grad, fabs (ana));
          r.n_checked++;
        }
      g_array_append_val (results, r);
    }
  net_clear_d (&net);
  return results;
}

/* ---------------------------------------------------------------- the loop */

gboolean
attnviz_trainer_run (AttnvizTrainer *t,
                     AttnvizTask *task,
                     const AttnvizTrainLoop *loop,
                     AttnvizEvalResult *result,
                     GError **error)
{
  const GArray *test = attnviz_task_get_test_set (task);
  const AttnvizExample *test_ex = (const AttnvizExample *) test->data;
  int n_test = test->len;
  int n_quick = loop->eval_examples > 0 ? MIN (loop->eval_examples, n_test) : n_test;
  AttnvizRng rng;
  attnviz_rng_init (&rng, t->opt.seed);
  gint64 t0 = g_get_monotonic_time ();
  double sum_loss = 0.0, sum_acc = 0.0;
  int n_sum = 0;
  gboolean stopped = FALSE;
  gint64 train_us = 0;

  g_autofree char *base_dir = loop->out_path == NULL ? NULL
                              : g_str_has_suffix (loop->out_path, ".safetensors")
                                  ? g_path_get_dirname (loop->out_path)
                                  : g_strdup (loop->out_path);

  while (t->step < t->opt.steps && !stopped)
    {
      if (g_cancellable_set_error_if_cancelled (loop->cancellable, error))
        return FALSE;
      double acc = 0.0;
      gint64 s0 = g_get_monotonic_time ();
      sum_loss += attnviz_trainer_train_step (t, task, &rng, &acc);
      train_us += g_get_monotonic_time () - s0;
      sum_acc += acc;
      n_sum++;
      int step = t->step;
      gboolean last = step == t->opt.steps;

      AttnvizTrainReport rep = { .step = step, .steps = t->opt.steps, .heldout_exact = -1.0, .heldout_tokens = -1.0 };
      gboolean report = loop->report_every > 0 && (step % loop->report_every == 0 || last);
      if (loop->eval_every > 0 && step % loop->eval_every == 0 && !last)
        {
          AttnvizEvalResult quick;
          gemm_paused = TRUE;
          attnviz_trainer_evaluate (t, task, test_ex, n_quick, &quick);
          if (loop->stop_at > 0.0 && quick.exact >= loop->stop_at && n_quick < n_test)
            attnviz_trainer_evaluate (t, task, test_ex, n_test, &quick);
          gemm_paused = FALSE;
          rep.heldout_exact = quick.exact;
          rep.heldout_tokens = quick.tokens;
          stopped = loop->stop_at > 0.0 && quick.exact >= loop->stop_at;
          report = TRUE;
        }
      g_autofree char *ckpt = NULL;
      /* The last step's checkpoint would be the model itself. */
      if (loop->checkpoint_every > 0 && base_dir != NULL && step % loop->checkpoint_every == 0 && !last && !stopped)
        {
          g_autofree char *name = g_strdup_printf ("step-%06d", step);
          ckpt = g_build_filename (base_dir, "checkpoints", name, NULL);
          if (!attnviz_trainer_save (t, task, ckpt, loop->extra, error))
            return FALSE;
          rep.checkpoint = ckpt;
          report = TRUE;
        }
      if (report && loop->report != NULL)
        {
          rep.loss = sum_loss / MAX (n_sum, 1);
          rep.accuracy = sum_acc / MAX (n_sum, 1);
          rep.lr = learning_rate (t, step);
          rep.seconds = (g_get_monotonic_time () - t0) / 1e6;
          rep.train_seconds = train_us / 1e6;
          loop->report (&rep, loop->report_data);
          sum_loss = sum_acc = 0.0;
          n_sum = 0;
        }
    }

  gemm_paused = TRUE;
  attnviz_trainer_evaluate (t, task, test_ex, n_test, result);
  gemm_paused = FALSE;
  if (loop->out_path != NULL && !attnviz_trainer_save (t, task, loop->out_path, loop->extra, error))
    return FALSE;
  if (loop->report != NULL)
    {
      AttnvizTrainReport rep = { .step = t->step, .steps = t->opt.steps, .loss = sum_loss / MAX (n_sum, 1),
                                 .accuracy = sum_acc / MAX (n_sum, 1), .lr = learning_rate (t, t->step),
                                 .seconds = (g_get_monotonic_time () - t0) / 1e6,
                                 .train_seconds = train_us / 1e6,
                                 .heldout_exact = result->exact, .heldout_tokens = result->tokens, .final = TRUE };
      loop->report (&rep, loop->report_data);
    }
  return TRUE;
}

/* ---------------------------------------------------------------- descriptions */

int
attnviz_train_context_for (const AttnvizTask *task, gboolean seq2seq, int *max_S, int *max_T)
{
  int ls = attnviz_task_get_max_source (task), lt = attnviz_task_get_max_target (task);
  int S = 0, T;
  if (!attnviz_task_has_source (task))
    T = lt;                    /* <bos> text minus its last character */
  else if (seq2seq)
    {
      S = ls + 1;              /* source <eos> */
      T = lt + 1;              /* <bos> target */
    }
  else if (attnviz_task_has_separator (task))
    T = ls + lt + 2;           /* <bos> source <eos> target */
  else
    T = ls + lt;               /* <bos> source target, minus the last */
  if (max_S)
    *max_S = S;
  if (max_T)
    *max_T = T;
  return MAX (S, T);
}

void
attnviz_train_config_init (AttnvizConfig *c, const AttnvizTask *task, gboolean seq2seq)
{
  memset (c, 0, sizeof *c);
  c->family = ATTNVIZ_FAMILY_ATTNVIZ;
  c->encoder_decoder = seq2seq;
  c->n_layer = 2;
  c->n_enc_layer = seq2seq ? 2 : 0;
  c->d_model = 64;
  c->n_head = 4;
  c->n_kv_head = 4;
  c->head_dim = 16;
  c->d_ff = 256;
  c->vocab_size = attnviz_task_get_vocab_size (task);
  /* Room for every training sequence and its last token (a recording of a
   * whole example), rounded up to a multiple of 8. */
  c->n_ctx = (attnviz_train_context_for (task, seq2seq, NULL, NULL) + 1 + 7) / 8 * 8;
  c->norm_eps = 1e-5f;
  c->rope_theta = 10000.0f;
  c->norm = ATTNVIZ_NORM_LAYERNORM;
  c->pre_norm = TRUE;
  c->final_norm = TRUE;
  c->act = ATTNVIZ_ACT_RELU;
  c->pos = ATTNVIZ_POS_SINUSOIDAL;
  c->causal = TRUE;
  c->score = ATTNVIZ_SCORE_SCALED_DOT;
  c->qkv_bias = c->out_bias = c->mlp_bias = TRUE;
  c->tied_embeddings = TRUE;
  c->has_lm_head = TRUE;
  c->bos_id = ATTNVIZ_TASK_BOS;
  c->eos_id = ATTNVIZ_TASK_EOS;
  c->pad_id = ATTNVIZ_TASK_PAD;
}

gboolean
attnviz_train_parse_position (const char *s, AttnvizPositionKind *pos, GError **error)
{
  static const AttnvizPositionKind all[] = { ATTNVIZ_POS_SINUSOIDAL, ATTNVIZ_POS_LEARNED, ATTNVIZ_POS_ROPE,
                                             ATTNVIZ_POS_NONE };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    if (g_strcmp0 (s, attnviz_position_kind_to_string (all[i])) == 0)
      {
        *pos = all[i];
        return TRUE;
      }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "unknown positional encoding \"%s\" (sinusoidal, learned, rope or none)", s);
  return FALSE;
}

gboolean
attnviz_train_parse_score (const char *s, AttnvizScoreKind *score, GError **error)
{
  if (g_strcmp0 (s, "scaled_dot") == 0 || g_strcmp0 (s, "scaled-dot") == 0 || g_strcmp0 (s, "scaled") == 0)
    *score = ATTNVIZ_SCORE_SCALED_DOT;
  else if (g_strcmp0 (s, "dot") == 0)
    *score = ATTNVIZ_SCORE_DOT;
  else if (g_strcmp0 (s, "additive") == 0)
    *score = ATTNVIZ_SCORE_ADDITIVE;
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "unknown compatibility function \"%s\" (scaled_dot, dot or additive)", s);
      return FALSE;
    }
  return TRUE;
}

gboolean
attnviz_train_parse_mask (const char *s, int *window, GError **error)
{
  gint64 w = 0;
  if (g_strcmp0 (s, "causal") == 0)
    {
      *window = 0;
      return TRUE;
    }
  if (s != NULL && g_str_has_prefix (s, "window:")
      && g_ascii_string_to_signed (s + strlen ("window:"), 10, 1, 1 << 20, &w, NULL))
    {
      *window = (int) w;
      return TRUE;
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown mask \"%s\" (causal or window:W)", s);
  return FALSE;
}

gboolean
attnviz_train_parse_activation (const char *s, AttnvizActivation *act, GError **error)
{
  if (g_strcmp0 (s, "relu") == 0)
    *act = ATTNVIZ_ACT_RELU;
  else if (g_strcmp0 (s, "gelu") == 0)
    *act = ATTNVIZ_ACT_GELU_ERF;
  else if (g_strcmp0 (s, "gelu_new") == 0 || g_strcmp0 (s, "gelu-tanh") == 0)
    *act = ATTNVIZ_ACT_GELU_TANH;
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown activation \"%s\" (relu or gelu)", s);
      return FALSE;
    }
  return TRUE;
}
