/* test-train.c: the trainer against finite differences; a seed fixes its
 * result; policy gradient; saved models load; config.json's schema.
 * (Tasks: test-train-tasks.c; PyTorch and the engine:
 * test-train-reference.c.) */
#define G_LOG_DOMAIN "attnviz-test-train"
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "attnviz-model.h"
#include "attnviz-task.h"
#include "attnviz-test-util.h"
#include "attnviz-train.h"

/* A tiny model of the given kind for TASK. */
static void
tiny_config (AttnvizConfig *c, const AttnvizTask *task, gboolean seq2seq, AttnvizPositionKind pos,
             const char *score, AttnvizActivation act, const char *mask, int head_dim)
{
  memset (c, 0, sizeof *c);
  c->family = ATTNVIZ_FAMILY_ATTNVIZ;
  c->encoder_decoder = seq2seq;
  c->n_layer = 2;
  c->n_enc_layer = seq2seq ? 2 : 0;
  c->d_model = 8;
  c->n_head = 2;
  c->n_kv_head = 2;
  c->head_dim = head_dim;
  c->d_ff = 12;
  c->vocab_size = attnviz_task_get_vocab_size (task);
  c->n_ctx = 64;
  c->norm_eps = 1e-5f;
  c->rope_theta = 10000.0f;
  c->norm = ATTNVIZ_NORM_LAYERNORM;
  c->pre_norm = TRUE;
  c->final_norm = TRUE;
  c->act = act;
  c->pos = pos;
  c->causal = TRUE;
  g_assert_true (attnviz_config_parse_score (c, score, NULL));
  g_assert_true (attnviz_pattern_parse (&c->pattern, mask, NULL));
  c->qkv_bias = c->out_bias = c->mlp_bias = TRUE;
  c->tied_embeddings = TRUE;
  c->has_lm_head = TRUE;
  c->bos_id = ATTNVIZ_TASK_BOS;
  c->eos_id = ATTNVIZ_TASK_EOS;
  c->pad_id = ATTNVIZ_TASK_PAD;
}

/* ---------------------------------------------------------------- gradient check */

typedef struct {
  const char *name;
  const char *task;
  gboolean seq2seq;
  AttnvizPositionKind pos;
  const char *score;   /* as `train --score` spells it */
  AttnvizActivation act;
  const char *mask;    /* as `train --mask` spells it */
  int head_dim;
  double dropout;
} GradCase;

static const GradCase grad_cases[] = {
  { "decoder-scaled-learned-gelu", "repeat", FALSE, ATTNVIZ_POS_LEARNED, "scaled_dot", ATTNVIZ_ACT_GELU_ERF, "causal", 4, 0.0 },
  { "decoder-additive-rope-window", "reverse", FALSE, ATTNVIZ_POS_ROPE, "additive", ATTNVIZ_ACT_GELU_TANH, "window:3", 6, 0.0 },
  { "decoder-dot-sinusoidal-dropout", "copy", FALSE, ATTNVIZ_POS_SINUSOIDAL, "dot", ATTNVIZ_ACT_GELU_ERF, "causal", 3, 0.2 },
  { "seq2seq-additive-sinusoidal", "dates", TRUE, ATTNVIZ_POS_SINUSOIDAL, "additive", ATTNVIZ_ACT_GELU_ERF, "causal", 5, 0.0 },
  { "seq2seq-scaled-learned", "sort", TRUE, ATTNVIZ_POS_LEARNED, "scaled_dot", ATTNVIZ_ACT_GELU_TANH, "causal", 4, 0.0 },
  { "seq2seq-dot-rope-window-dropout", "reverse", TRUE, ATTNVIZ_POS_ROPE, "dot", ATTNVIZ_ACT_GELU_ERF, "window:2", 4, 0.1 },
  { "decoder-hybrid-per-head-rope", "reverse", FALSE, ATTNVIZ_POS_ROPE, "hybrid:heads=1", ATTNVIZ_ACT_GELU_ERF, "causal", 4, 0.0 },
  { "decoder-hybrid-per-layer-dropout", "copy", FALSE, ATTNVIZ_POS_LEARNED, "hybrid:additive=0", ATTNVIZ_ACT_RELU, "causal", 4, 0.1 },
  { "seq2seq-hybrid-per-head", "dates", TRUE, ATTNVIZ_POS_SINUSOIDAL, "hybrid:heads=1", ATTNVIZ_ACT_GELU_TANH, "causal", 3, 0.0 },
  { "seq2seq-hybrid-per-layer", "sort", TRUE, ATTNVIZ_POS_ROPE, "hybrid:additive=1", ATTNVIZ_ACT_GELU_ERF, "causal", 4, 0.0 },
  { "decoder-scaled-strided", "reverse", FALSE, ATTNVIZ_POS_LEARNED, "scaled_dot", ATTNVIZ_ACT_GELU_ERF, "strided:3", 4, 0.0 },
  { "decoder-additive-window-global", "copy", FALSE, ATTNVIZ_POS_SINUSOIDAL, "additive", ATTNVIZ_ACT_GELU_TANH, "window:2+global:2", 4, 0.0 },
  { "decoder-hybrid-block-dropout", "sort", FALSE, ATTNVIZ_POS_ROPE, "hybrid:heads=1", ATTNVIZ_ACT_RELU, "block:3", 4, 0.1 },
  { "seq2seq-dot-block", "reverse", TRUE, ATTNVIZ_POS_SINUSOIDAL, "dot", ATTNVIZ_ACT_GELU_ERF, "block:2", 4, 0.0 },
  { "seq2seq-scaled-none-relu", "copy", TRUE, ATTNVIZ_POS_NONE, "scaled_dot", ATTNVIZ_ACT_RELU, "causal", 4, 0.0 },
};

/* Every parameter kind must be covered by the cases above. */
static const char *const param_kinds[] = {
  "tok_emb.weight", "pos_emb.weight", ".attn.q.weight", ".attn.q.bias", ".attn.k.weight", ".attn.v.weight",
  ".attn.o.weight", ".attn.o.bias", ".attn.score_v", ".cross_attn.q.weight", ".cross_attn.k.weight",
  ".cross_attn.v.weight", ".cross_attn.o.weight", ".cross_attn.score_v", "cross_norm.weight", "attn_norm.weight",
  "attn_norm.bias", "mlp_norm.weight", "mlp.up.weight", "mlp.up.bias", "mlp.down.weight", "mlp.down.bias",
  "final_norm.weight", "encoder.final_norm.bias", "encoder.layers.0.attn.k.bias",
};
static gboolean kinds_seen[G_N_ELEMENTS (param_kinds)];

static AttnvizBatch *
sample_batch (AttnvizTask *task, gboolean seq2seq, int B, guint64 seed, int cap)
{
  AttnvizRng rng;
  attnviz_rng_init (&rng, seed);
  g_autofree AttnvizExample *ex = g_new0 (AttnvizExample, B);
  for (int b = 0; b < B; b++)
    attnviz_task_sample (task, &rng, &ex[b]);
  AttnvizBatch *batch = attnviz_batch_new (B, cap, cap);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_batch_fill (batch, task, seq2seq, ex, B, &error));
  g_assert_no_error (error);
  for (int b = 0; b < B; b++)
    attnviz_example_clear (&ex[b]);
  return batch;
}

static void
test_gradcheck (gconstpointer data)
{
  const GradCase *gc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new (gc->task, 0, &error);
  g_assert_no_error (error);
  AttnvizConfig c;
  tiny_config (&c, task, gc->seq2seq, gc->pos, gc->score, gc->act, gc->mask, gc->head_dim);
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 3;
  opt.dropout = gc->dropout;
  opt.seed = 7;
  g_autoptr(AttnvizTrainer) t = attnviz_trainer_new (&c, &opt, 64, 64, &error);
  g_assert_no_error (error);
  /* Weights off their initial values, so that norms and biases are not
   * at the symmetric points where some gradients vanish. */
  gsize n;
  float *w = attnviz_trainer_get_params (t, &n);
  AttnvizRng rng;
  attnviz_rng_init (&rng, 99);
  for (gsize i = 0; i < n; i++)
    w[i] += (float) (0.3 * (attnviz_rng_uniform (&rng) - 0.5));

  g_autoptr(AttnvizBatch) batch = sample_batch (task, gc->seq2seq, 3, 5, 64);
  g_autoptr(GArray) res = attnviz_trainer_gradcheck (t, batch, 1e-5, 40);
  double worst = 0.0;
  for (guint i = 0; i < res->len; i++)
    {
      AttnvizGradcheck *r = &g_array_index (res, AttnvizGradcheck, i);
      g_test_message ("%-32s max rel %.2e  max abs %.2e  (|g| <= %.2e, %d checked)", r->name, r->max_rel,
                      r->max_abs, r->max_grad, r->n_checked);
      worst = MAX (worst, r->max_rel);
      for (guint k = 0; k < G_N_ELEMENTS (param_kinds); k++)
        if (strstr (r->name, param_kinds[k]) != NULL && r->max_grad > 0.0)
          kinds_seen[k] = TRUE;
      /* A tensor whose gradient is all zero would check nothing. */
      if (g_str_has_suffix (r->name, "weight") && !g_str_has_prefix (r->name, "pos_emb"))
        g_assert_cmpfloat (r->max_grad, >, 0.0);
      g_assert_cmpfloat (r->max_rel, <, 1e-5);
      g_free (r->name);
    }
  g_test_message ("%s: worst relative error %.2e", gc->name, worst);
}

static void
test_gradcheck_covers_every_kind (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (param_kinds); k++)
    if (!kinds_seen[k])
      g_error ("no gradient check covered \"%s\"", param_kinds[k]);
}

/* ---------------------------------------------------------------- determinism */

static float *
train_copy (guint64 seed, int steps, gsize *n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("dates", 0, &error);
  AttnvizConfig c;
  attnviz_train_config_init (&c, task, TRUE);
  c.d_model = 32;
  c.head_dim = 8;
  c.d_ff = 64;
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 8;
  opt.seed = seed;
  opt.dropout = 0.1;
  int max_S, max_T;
  attnviz_train_context_for (task, TRUE, &max_S, &max_T);
  g_autoptr(AttnvizTrainer) t = attnviz_trainer_new (&c, &opt, max_S, max_T, &error);
  g_assert_no_error (error);
  AttnvizRng rng;
  attnviz_rng_init (&rng, seed);
  for (int i = 0; i < steps; i++)
    attnviz_trainer_train_step (t, task, &rng, NULL);
  float *w = attnviz_trainer_get_params (t, n);
  return g_memdup2 (w, *n * sizeof (float));
}

static void
test_deterministic (void)
{
  gsize n1, n2, n3;
  g_autofree float *a = train_copy (5, 25, &n1);
  g_autofree float *b = train_copy (5, 25, &n2);
  g_autofree float *c = train_copy (6, 25, &n3);
  g_assert_cmpuint (n1, ==, n2);
  /* bit for bit */
  g_assert_cmpmem (a, n1 * sizeof (float), b, n2 * sizeof (float));
  g_assert_true (memcmp (a, c, n1 * sizeof (float)) != 0);
}

/* attnviz_trainer_new is the engine's door for configs and options from
 * outside (train, sweep, a program of its own): what cannot train is an
 * error there, before any allocation, not an overflow or an abort. */
static void
test_trainer_refuses_what_cannot_train (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("copy", 0, &error);
  g_assert_no_error (error);
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  AttnvizConfig c;

  /* n_head * head_dim past int's range, each alone within it */
  tiny_config (&c, task, TRUE, ATTNVIZ_POS_SINUSOIDAL, "dot", ATTNVIZ_ACT_RELU, "dense", 4);
  c.n_head = c.n_kv_head = 1 << 16;
  c.head_dim = 1 << 16;
  g_assert_null (attnviz_trainer_new (&c, &opt, 16, 16, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* within every bound, but some terabytes of parameters: refused, not
   * handed to malloc (which a sanitizer aborts on, and an overcommitting
   * kernel grants until the pages are touched) */
  tiny_config (&c, task, TRUE, ATTNVIZ_POS_SINUSOIDAL, "dot", ATTNVIZ_ACT_RELU, "dense", 4);
  c.n_layer = c.n_enc_layer = 4096;
  c.d_model = 4096;
  c.d_ff = 16384;
  g_assert_null (attnviz_trainer_new (&c, &opt, 16, 16, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_clear_error (&error);

  /* the activations of a batch that large */
  tiny_config (&c, task, TRUE, ATTNVIZ_POS_SINUSOIDAL, "dot", ATTNVIZ_ACT_RELU, "dense", 4);
  opt.batch = G_MAXINT;
  g_assert_null (attnviz_trainer_new (&c, &opt, 16, 16, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_clear_error (&error);

  /* options that are no numbers to train with: NaN fails every comparison */
  static const struct { const char *what; double lr, min_lr, weight_decay, grad_clip, pg_weight, entropy; } bad[] = {
    { "lr inf", INFINITY, 0.1, 0.01, 1.0, 0.5, 0.0 },
    { "min_lr nan", 1e-3, NAN, 0.01, 1.0, 0.5, 0.0 },
    { "min_lr above 1", 1e-3, 2.0, 0.01, 1.0, 0.5, 0.0 },
    { "weight decay nan", 1e-3, 0.1, NAN, 1.0, 0.5, 0.0 },
    { "negative clip", 1e-3, 0.1, 0.01, -1.0, 0.5, 0.0 },
    { "pg weight nan", 1e-3, 0.1, 0.01, 1.0, NAN, 0.0 },
    { "entropy inf", 1e-3, 0.1, 0.01, 1.0, 0.5, INFINITY },
  };
  tiny_config (&c, task, TRUE, ATTNVIZ_POS_SINUSOIDAL, "dot", ATTNVIZ_ACT_RELU, "dense", 4);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      attnviz_train_options_init (&opt);
      opt.lr = bad[i].lr;
      opt.min_lr = bad[i].min_lr;
      opt.weight_decay = bad[i].weight_decay;
      opt.grad_clip = bad[i].grad_clip;
      opt.pg_weight = bad[i].pg_weight;
      opt.entropy = bad[i].entropy;
      g_test_message ("%s", bad[i].what);
      g_assert_null (attnviz_trainer_new (&c, &opt, 16, 16, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  /* and the same tiny model with the defaults trains */
  attnviz_train_options_init (&opt);
  g_autoptr(AttnvizTrainer) t = attnviz_trainer_new (&c, &opt, 16, 16, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t);
}

/* ---------------------------------------------------------------- policy gradient */

static void
test_policy_gradient (gconstpointer data)
{
  const char *task_name = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new (task_name, 0, &error);
  gboolean seq2seq = attnviz_task_prefers_seq2seq (task);
  AttnvizConfig c;
  attnviz_train_config_init (&c, task, seq2seq);
  c.d_model = 16;
  c.head_dim = 4;
  c.d_ff = 32;
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 6;
  opt.objective = ATTNVIZ_OBJECTIVE_PG;
  opt.reward = ATTNVIZ_REWARD_TOKENS;
  int max_S, max_T;
  attnviz_train_context_for (task, seq2seq, &max_S, &max_T);
  g_autoptr(AttnvizTrainer) t = attnviz_trainer_new (&c, &opt, max_S, max_T, &error);
  g_assert_no_error (error);
  gsize n;
  float *w = attnviz_trainer_get_params (t, &n);
  g_autofree float *before = g_memdup2 (w, n * sizeof (float));
  AttnvizRng rng;
  attnviz_rng_init (&rng, 2);
  for (int i = 0; i < 4; i++)
    {
      double exact = -1.0;
      double reward = attnviz_trainer_train_step (t, task, &rng, &exact);
      g_assert_cmpfloat (reward, >=, 0.0);
      g_assert_cmpfloat (reward, <=, 1.0);
      g_assert_cmpfloat (exact, >=, 0.0);
      g_assert_cmpfloat (exact, <=, reward + 1e-9);
    }
  g_assert_cmpint (attnviz_trainer_get_step (t), ==, 4);
  gboolean changed = FALSE;
  for (gsize i = 0; i < n; i++)
    {
      g_assert_true (isfinite (w[i]));
      changed |= w[i] != before[i];
    }
  g_assert_true (changed);
}

/* A hybrid model's scaled-dot heads never touch their row of score_v: its
 * gradient is zero there and not in the additive heads' rows. */
static void
test_hybrid_only_additive_heads_use_score_v (gconstpointer data)
{
  const char *spec = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("reverse", 0, &error);
  AttnvizConfig c;
  tiny_config (&c, task, FALSE, ATTNVIZ_POS_SINUSOIDAL, spec, ATTNVIZ_ACT_RELU, "causal", 4);
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 3;
  g_autoptr(AttnvizTrainer) t = attnviz_trainer_new (&c, &opt, 64, 64, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizBatch) batch = sample_batch (task, FALSE, 3, 5, 64);
  attnviz_trainer_forward_backward (t, batch);
  const float *g = attnviz_trainer_get_grads (t);
  const AttnvizConfig *tc = attnviz_trainer_get_config (t);
  int n_additive = 0;
  for (int l = 0; l < tc->n_layer; l++)
    {
      g_autofree char *name = g_strdup_printf ("layers.%d.attn.score_v", l);
      gsize offset = 0, size = 0;
      for (guint i = 0; i < attnviz_trainer_get_n_tensors (t); i++)
        if (g_strcmp0 (attnviz_trainer_get_tensor (t, i, &offset, &size, NULL, NULL), name) == 0)
          break;
      g_assert_cmpuint (size, ==, (gsize) tc->n_head * tc->head_dim);
      for (int h = 0; h < tc->n_head; h++)
        {
          double norm = 0.0;
          for (int e = 0; e < tc->head_dim; e++)
            norm += fabs (g[offset + (gsize) h * tc->head_dim + e]);
          if (attnviz_config_head_additive (tc, l, h))
            {
              g_assert_cmpfloat (norm, >, 0.0);
              n_additive++;
            }
          else
            g_assert_cmpfloat (norm, ==, 0.0);
        }
    }
  /* tiny_config has 2 layers of 2 heads: one additive head in each layer, or
   * both heads of layer 1 */
  g_assert_cmpint (n_additive, ==, 2);
}

/* Saved, loaded back by the engine's loader and into a trainer: the same
 * parameters, bit for bit. */
static void
test_save_load_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("sort", 0, &error);
  AttnvizConfig c;
  attnviz_train_config_init (&c, task, TRUE);
  c.d_model = 16;
  c.head_dim = 6;
  c.d_ff = 20;
  c.pos = ATTNVIZ_POS_LEARNED;
  c.score = ATTNVIZ_SCORE_ADDITIVE;
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 4;
  opt.seed = 9;
  int max_S, max_T;
  attnviz_train_context_for (task, TRUE, &max_S, &max_T);
  g_autoptr(AttnvizTrainer) a = attnviz_trainer_new (&c, &opt, max_S, max_T, &error);
  opt.seed = 10;
  g_autoptr(AttnvizTrainer) b = attnviz_trainer_new (&c, &opt, max_S, max_T, &error);
  g_autofree char *dir = g_dir_make_tmp ("attnviz-rt-XXXXXX", &error);
  g_autofree char *file = g_build_filename (dir, "weights.safetensors", NULL);
  g_assert_true (attnviz_trainer_save (a, task, file, NULL, &error));
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) model = attnviz_model_load (file, &error);
  g_assert_no_error (error);
  g_assert_true (model->config.encoder_decoder);
  g_assert_nonnull (model->enc_layers[0].q.w.data);
  g_assert_nonnull (model->layers[1].cross_score_v);
  g_assert_nonnull (model->pos_emb.data);
  g_assert_true (attnviz_trainer_load_weights (b, model, &error));
  gsize na, nb;
  float *wa = attnviz_trainer_get_params (a, &na);
  float *wb = attnviz_trainer_get_params (b, &nb);
  g_assert_cmpmem (wa, na * sizeof (float), wb, nb * sizeof (float));
  const char *names[] = { "weights.safetensors", "config.json", "tokenizer.json" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *p = g_build_filename (dir, names[i], NULL);
      g_remove (p);
    }
  g_rmdir (dir);
}

/* ---------------------------------------------------------------- config.json */

static void
test_config_schema (void)
{
  const char *json = "{\"architectures\": [\"AttnvizSeq2Seq\"], \"model_type\": \"attnviz\", \"d_model\": 48, "
                     "\"n_layer\": 3, \"n_enc_layer\": 2, \"n_head\": 6, \"head_dim\": 5, \"d_ff\": 100, "
                     "\"vocab_size\": 40, \"n_ctx\": 30, \"position\": \"learned\", \"score\": \"additive\", "
                     "\"mask\": \"window:4\", \"activation\": \"gelu\", \"bos_token_id\": 1, \"eos_token_id\": 2, "
                     "\"pad_token_id\": 0, \"attnviz_task\": \"dates\", \"attnviz_seed\": 7, \"attnviz_step\": 10}";
  AttnvizConfig c;
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_config_parse (&c, json, strlen (json), "config.json", &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.family, ==, ATTNVIZ_FAMILY_ATTNVIZ);
  g_assert_true (c.encoder_decoder);
  g_assert_cmpint (c.n_layer, ==, 3);
  g_assert_cmpint (c.n_enc_layer, ==, 2);
  g_assert_cmpint (c.d_model, ==, 48);
  g_assert_cmpint (c.n_head, ==, 6);
  g_assert_cmpint (c.head_dim, ==, 5);
  g_assert_cmpint (c.d_ff, ==, 100);
  g_assert_cmpint (c.pos, ==, ATTNVIZ_POS_LEARNED);
  g_assert_cmpint (c.score, ==, ATTNVIZ_SCORE_ADDITIVE);
  g_assert_cmpint (c.pattern.window, ==, 4);
  g_assert_true (c.causal);
  g_assert_cmpint (c.act, ==, ATTNVIZ_ACT_GELU_ERF);
  g_assert_true (c.pre_norm && c.final_norm && c.tied_embeddings && c.has_lm_head);
  g_assert_cmpint (c.norm, ==, ATTNVIZ_NORM_LAYERNORM);
  g_assert_cmpint (c.eos_id, ==, 2);
  attnviz_config_clear (&c);

  static const struct { const char *fragment; const char *needle; } bad[] = {
    { "\"position\": \"spiral\"", "position" },
    { "\"score\": \"cosine\"", "score" },
    { "\"mask\": \"window:0\"", "mask" },
    { "\"mask\": \"bidirectional\"", "mask" },
    { "\"activation\": \"silu\"", "activation" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"architectures\": [\"AttnvizDecoder\"], \"d_model\": 8, \"n_layer\": 1, "
                                               "\"n_head\": 2, \"vocab_size\": 10, \"n_ctx\": 8, %s}", bad[i].fragment);
      g_clear_error (&error);
      g_assert_false (attnviz_config_parse (&c, text, strlen (text), "config.json", &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, bad[i].needle));
    }
  /* an encoder-decoder must say how deep its encoder is */
  const char *no_enc = "{\"architectures\": [\"AttnvizSeq2Seq\"], \"d_model\": 8, \"n_layer\": 1, \"n_head\": 2, "
                       "\"vocab_size\": 10, \"n_ctx\": 8}";
  g_clear_error (&error);
  g_assert_false (attnviz_config_parse (&c, no_enc, strlen (no_enc), "config.json", &error));
  g_assert_nonnull (strstr (error->message, "n_enc_layer"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (grad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/train/gradcheck/%s", grad_cases[i].name);
      g_test_add_data_func (path, &grad_cases[i], test_gradcheck);
    }
  g_test_add_func ("/train/gradcheck/covers-every-parameter-kind", test_gradcheck_covers_every_kind);
  g_test_add_func ("/train/deterministic-for-a-seed", test_deterministic);
  g_test_add_func ("/train/refuses-what-cannot-train", test_trainer_refuses_what_cannot_train);
  g_test_add_data_func ("/train/hybrid/per-head/only-additive-heads-use-score-v", "hybrid:heads=1",
                        test_hybrid_only_additive_heads_use_score_v);
  g_test_add_data_func ("/train/hybrid/per-layer/only-additive-heads-use-score-v", "hybrid:additive=1",
                        test_hybrid_only_additive_heads_use_score_v);
  g_test_add_func ("/train/config-schema", test_config_schema);
  g_test_add_func ("/train/save-load-round-trip", test_save_load_round_trip);
  g_test_add_data_func ("/train/policy-gradient/seq2seq", "reverse", test_policy_gradient);
  g_test_add_data_func ("/train/policy-gradient/decoder-without-separator", "repeat", test_policy_gradient);
  return g_test_run ();
}
