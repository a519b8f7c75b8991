/* attnviz-train.c: train small transformers (see attnviz-train.h)
 *
 * Memory, as in llm.c: the parameters, their gradients and AdamW's two
 * moments are four (n_params) slices of one allocation, each in the same
 * layout (Layout: an offset per tensor, in the order the tensors are
 * saved); the activations of a batch of up to cap_B sequences are carved
 * out of one more (attnviz-train-net.inc).  Nothing is allocated per step
 * but the examples' strings.
 *
 * This file holds the layout, the network (compiled in float and in
 * double), the trainer's lifetime, forward, backward and AdamW update,
 * and the gradient check; the rest is split by job (attnviz-train-private.h
 * has what the files share):
 *   attnviz-train-batch.c  options, the config for a task, batches
 *   attnviz-train-loop.c   decoding, evaluation, a step, the loop, recording
 *   attnviz-train-save.c   config.json + model.safetensors
 */
#define G_LOG_DOMAIN "attnviz-train"
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attnviz-train.h"
#include "attnviz-train-private.h"

/* ---------------------------------------------------------------- GEMM timing */

static gboolean gemm_timing;
gboolean _attnviz_train_gemm_paused;  /* while evaluating */
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
  if (!gemm_timing || _attnviz_train_gemm_paused)
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
  /* a hybrid model's too, a row per head (the scaled-dot heads' rows
   * stay unused: their gradient is 0) */
  if (attnviz_config_has_score_v (c))
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

/* The most a trainer asks for, in bytes: half the machine's memory.
 * Past it an allocation fails, or (overcommitted) succeeds and the pages
 * are killed for when touched, on a machine others share. */
static gsize
memory_budget (void)
{
  long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGESIZE);
  return pages > 0 && page > 0 ? (gsize) pages * (gsize) page / 2 : G_MAXSIZE / 4;
}

/* ---------------------------------------------------------------- the network, twice */

/* Whether query I may attend to key J: keys past KLEN are padding; a
 * causal mask hides later keys, and a causal self-attention's PATTERN
 * (NULL: dense) those it leaves out, as the engine's AttnvizMask does. */
static inline gboolean
key_allowed (int i, int j, int klen, gboolean causal, const AttnvizPattern *pattern)
{
  return j < klen && (!causal || (j <= i && (pattern == NULL || attnviz_pattern_allows (pattern, i, j))));
}

/* Net_f and its activations: attnviz-train-private.h. */
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
#include "attnviz-train-net-types.inc"
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

/* The forward pass in float, for attnviz-train-loop.c. */
void
_attnviz_train_net_forward (Net_f *net, const AttnvizBatch *batch, gboolean reuse_encoder)
{
  net_forward_f (net, batch, reuse_encoder);
}
/* ---------------------------------------------------------------- the trainer */

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

#define MAX_SIZE (1 << 16)

static gboolean
check_config (const AttnvizConfig *c, GError **error)
{
  const char *why = NULL;
  if (c->family != ATTNVIZ_FAMILY_ATTNVIZ)
    why = "only attnviz's own models (AttnvizDecoder, AttnvizSeq2Seq) can be trained";
  else if (c->d_model < 1 || c->n_layer < 1 || c->n_head < 1 || c->head_dim < 1 || c->d_ff < 1
           || c->vocab_size < 1 || c->n_ctx < 1 || (c->encoder_decoder && c->n_enc_layer < 1))
    why = "every size must be at least 1";
  /* The layout multiplies sizes in int (n_head * head_dim, ...): far below
   * where that overflows, and far past any model that fits in memory. */
  else if (c->d_model > MAX_SIZE || c->n_layer > MAX_SIZE || c->n_enc_layer > MAX_SIZE || c->n_head > MAX_SIZE
           || c->head_dim > MAX_SIZE || c->d_ff > 4 * MAX_SIZE || c->vocab_size > MAX_SIZE * 64
           || c->n_ctx > MAX_SIZE * 16 || (gint64) c->n_head * c->head_dim > MAX_SIZE)
    why = "a size is past what attnviz trains (65536, d_ff 262144, vocabulary 4194304, context 1048576, "
          "heads * head_dim 65536)";
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
  AttnvizConfig checked = *config;
  if (!check_config (config, error) || !attnviz_config_check_score (&checked, error))
    return NULL;
  /* NaN fails every comparison, so each test says what is allowed. */
  if (opt->batch < 1 || opt->steps < 0 || opt->warmup < 0 || !(opt->lr > 0.0 && isfinite (opt->lr))
      || !(opt->min_lr >= 0.0 && opt->min_lr <= 1.0) || !(opt->dropout >= 0.0 && opt->dropout < 1.0)
      || !(opt->weight_decay >= 0.0 && isfinite (opt->weight_decay))
      || !(opt->grad_clip >= 0.0 && isfinite (opt->grad_clip)) || !(opt->pg_weight >= 0.0 && opt->pg_weight <= 1.0)
      || !(opt->entropy >= 0.0 && isfinite (opt->entropy)) || opt->pg_ramp < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "bad training options: batch %d, steps %d, warm-up %d, lr %g (final %g of it), dropout %g, "
                   "weight decay %g, clip %g, pg weight %g, entropy %g, pg ramp %d", opt->batch, opt->steps,
                   opt->warmup, opt->lr, opt->min_lr, opt->dropout, opt->weight_decay, opt->grad_clip,
                   opt->pg_weight, opt->entropy, opt->pg_ramp);
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
  t->config = checked;
  t->config.architecture = g_strdup (config->encoder_decoder ? "AttnvizSeq2Seq" : "AttnvizDecoder");
  t->config.model_type = g_strdup ("attnviz");
  t->opt = *opt;
  t->cap_S = config->encoder_decoder ? MAX (max_S, 1) : 0;
  t->cap_T = max_T;
  layout_init (&t->lay, &t->config);

  gsize n = t->lay.n_params, budget = memory_budget ();
  /* the parameters, their gradients and Adam's two moments */
  t->mem = 4 * n * sizeof (float) <= budget ? g_try_new0 (float, 4 * n) : NULL;
  if (t->mem == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "%" G_GSIZE_FORMAT " parameters need %.1f GB to train, more than this machine gives (%.1f GB)", n,
                   4.0 * n * sizeof (float) / 1e9, budget / 1e9);
      return NULL;
    }
  t->params = t->mem;
  t->grads = t->mem + n;
  t->m = t->mem + 2 * n;
  t->v = t->mem + 3 * n;
  init_weights (t);

  if (!net_init_f (&t->net, &t->config, &t->lay, opt->batch, t->cap_S, t->cap_T, opt->dropout,
                   budget - 4 * n * sizeof (float)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "the activations of %d sequences do not fit in the memory this machine gives (%.1f GB)",
                   opt->batch, budget / 1e9);
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
  memset (t->grads, 0, sizeof (float) * t->lay.n_params);
  return _attnviz_trainer_accumulate (t, batch);
}

double
_attnviz_trainer_accumulate (AttnvizTrainer *t, const AttnvizBatch *batch)
{
  check_batch (t, batch);
  t->net.train = t->opt.dropout > 0.0;
  t->net.drop_seed = attnviz_rng_next (&t->rng);
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

double
_attnviz_trainer_learning_rate (const AttnvizTrainer *t, int step)
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
  float lr = (float) _attnviz_trainer_learning_rate (t, t->step);
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

/* ---------------------------------------------------------------- gradient check */

GArray *
attnviz_trainer_gradcheck (AttnvizTrainer *t, const AttnvizBatch *batch, double eps, int max_per_tensor)
{
  check_batch (t, batch);
  gsize n = t->lay.n_params;
  Net_d net;
  if (!net_init_d (&net, &t->config, &t->lay, batch->B, MAX (batch->S, 1), batch->T, t->opt.dropout,
                   G_MAXSIZE))
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
