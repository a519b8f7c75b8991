/* test-train.c: the trainer against finite differences, PyTorch and the engine */
#define G_LOG_DOMAIN "attnviz-test-train"
#include "config.h"

#include <cblas.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-task.h"
#include "attnviz-test-util.h"
#include "attnviz-train.h"

/* Declared weak so that this test builds before the engine has an
 * encoder-decoder forward pass, and checks it as soon as it has one. */
AttnvizRecording *attnviz_forward_seq2seq (const AttnvizModel *model,
                                           const gint32 *src_ids,
                                           int S,
                                           const gint32 *tgt_ids,
                                           int T,
                                           const AttnvizRunOptions *options,
                                           GError **error) __attribute__ ((weak));

/* A tiny model of the given kind for TASK. */
static void
tiny_config (AttnvizConfig *c, const AttnvizTask *task, gboolean seq2seq, AttnvizPositionKind pos,
             AttnvizScoreKind score, AttnvizActivation act, int window, int head_dim)
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
  c->window = window;
  c->score = score;
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
  AttnvizScoreKind score;
  AttnvizActivation act;
  int window;
  int head_dim;
  double dropout;
} GradCase;

static const GradCase grad_cases[] = {
  { "decoder-scaled-learned-gelu", "repeat", FALSE, ATTNVIZ_POS_LEARNED, ATTNVIZ_SCORE_SCALED_DOT, ATTNVIZ_ACT_GELU_ERF, 0, 4, 0.0 },
  { "decoder-additive-rope-window", "reverse", FALSE, ATTNVIZ_POS_ROPE, ATTNVIZ_SCORE_ADDITIVE, ATTNVIZ_ACT_GELU_TANH, 3, 6, 0.0 },
  { "decoder-dot-sinusoidal-dropout", "copy", FALSE, ATTNVIZ_POS_SINUSOIDAL, ATTNVIZ_SCORE_DOT, ATTNVIZ_ACT_GELU_ERF, 0, 3, 0.2 },
  { "seq2seq-additive-sinusoidal", "dates", TRUE, ATTNVIZ_POS_SINUSOIDAL, ATTNVIZ_SCORE_ADDITIVE, ATTNVIZ_ACT_GELU_ERF, 0, 5, 0.0 },
  { "seq2seq-scaled-learned", "sort", TRUE, ATTNVIZ_POS_LEARNED, ATTNVIZ_SCORE_SCALED_DOT, ATTNVIZ_ACT_GELU_TANH, 0, 4, 0.0 },
  { "seq2seq-dot-rope-window-dropout", "reverse", TRUE, ATTNVIZ_POS_ROPE, ATTNVIZ_SCORE_DOT, ATTNVIZ_ACT_GELU_ERF, 2, 4, 0.1 },
  { "seq2seq-scaled-none-relu", "copy", TRUE, ATTNVIZ_POS_NONE, ATTNVIZ_SCORE_SCALED_DOT, ATTNVIZ_ACT_RELU, 0, 4, 0.0 },
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
  tiny_config (&c, task, gc->seq2seq, gc->pos, gc->score, gc->act, gc->window, gc->head_dim);
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

/* ---------------------------------------------------------------- the engine agrees */

typedef struct {
  const char *name;
  gboolean seq2seq;
  AttnvizPositionKind pos;
  AttnvizScoreKind score;
  int window;
} EngineCase;

static const EngineCase engine_cases[] = {
  { "decoder-scaled-learned", FALSE, ATTNVIZ_POS_LEARNED, ATTNVIZ_SCORE_SCALED_DOT, 0 },
  { "decoder-scaled-rope", FALSE, ATTNVIZ_POS_ROPE, ATTNVIZ_SCORE_SCALED_DOT, 0 },
  { "decoder-scaled-sinusoidal", FALSE, ATTNVIZ_POS_SINUSOIDAL, ATTNVIZ_SCORE_SCALED_DOT, 0 },
  { "decoder-scaled-none", FALSE, ATTNVIZ_POS_NONE, ATTNVIZ_SCORE_SCALED_DOT, 0 },
  { "decoder-dot-window", FALSE, ATTNVIZ_POS_LEARNED, ATTNVIZ_SCORE_DOT, 3 },
  { "decoder-additive", FALSE, ATTNVIZ_POS_SINUSOIDAL, ATTNVIZ_SCORE_ADDITIVE, 0 },
  { "seq2seq-scaled-sinusoidal", TRUE, ATTNVIZ_POS_SINUSOIDAL, ATTNVIZ_SCORE_SCALED_DOT, 0 },
  { "seq2seq-additive-rope", TRUE, ATTNVIZ_POS_ROPE, ATTNVIZ_SCORE_ADDITIVE, 0 },
  { "seq2seq-dot-learned-window", TRUE, ATTNVIZ_POS_LEARNED, ATTNVIZ_SCORE_DOT, 2 },
};

/* Whether the engine's forward implements the features of CONFIG yet; the
 * lead is adding additive and unscaled scoring and windows. */
static gboolean
engine_supports (const AttnvizConfig *c)
{
  if (c->encoder_decoder)
    return attnviz_forward_seq2seq != NULL;
  return c->score == ATTNVIZ_SCORE_SCALED_DOT && c->window == 0;
}

static void
test_engine_agrees (gconstpointer data)
{
  const EngineCase *ec = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("reverse", 0, &error);
  AttnvizConfig c;
  attnviz_train_config_init (&c, task, ec->seq2seq);
  c.d_model = 32;
  c.n_head = c.n_kv_head = 4;
  c.head_dim = 6;
  c.d_ff = 48;
  c.pos = ec->pos;
  c.score = ec->score;
  c.window = ec->window;
  c.act = ATTNVIZ_ACT_GELU_ERF;
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 4;
  opt.seed = 3;
  int max_S, max_T;
  attnviz_train_context_for (task, ec->seq2seq, &max_S, &max_T);
  g_autoptr(AttnvizTrainer) t = attnviz_trainer_new (&c, &opt, max_S, max_T, &error);
  g_assert_no_error (error);
  /* a few steps, so the weights are not the symmetric initial ones */
  AttnvizRng rng;
  attnviz_rng_init (&rng, 1);
  for (int i = 0; i < 20; i++)
    attnviz_trainer_train_step (t, task, &rng, NULL);

  g_autofree char *dir = g_dir_make_tmp ("attnviz-train-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_trainer_save (t, task, dir, NULL, &error));
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model->tokenizer);
  g_assert_cmpstr (attnviz_tokenizer_get_kind_name (model->tokenizer), ==, "chars");

  /* "kqbzv" -> "vzbqk" */
  g_autoptr(GArray) src = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GArray) tgt = g_array_new (FALSE, FALSE, sizeof (gint32));
  gint32 bos = ATTNVIZ_TASK_BOS, eos = ATTNVIZ_TASK_EOS;
  if (ec->seq2seq)
    {
      attnviz_task_encode (task, "kqbzvt", src);
      g_array_append_val (src, eos);
      g_array_append_val (tgt, bos);
      attnviz_task_encode (task, "tvzbqk", tgt);
    }
  else
    {
      g_array_append_val (tgt, bos);
      attnviz_task_encode (task, "kqbzvt", tgt);
      g_array_append_val (tgt, eos);
      attnviz_task_encode (task, "tvzbqk", tgt);
    }
  int S = src->len, T = tgt->len;
  g_autoptr(AttnvizRecording) mine = attnviz_trainer_record (t, (gint32 *) src->data, S, (gint32 *) tgt->data, T,
                                                             &error);
  g_assert_no_error (error);

  if (!engine_supports (&c))
    {
      g_test_skip ("the engine has no attnviz_forward_seq2seq yet");
      return;
    }
  g_autoptr(AttnvizRecording) rec = NULL;
  if (ec->seq2seq)
    rec = attnviz_forward_seq2seq (model, (gint32 *) src->data, S, (gint32 *) tgt->data, T, NULL, &error);
  else
    rec = attnviz_forward (model, (gint32 *) tgt->data, T, NULL, &error);
  g_assert_no_error (error);

  int V = c.vocab_size, H = c.n_head;
  gboolean ok = TRUE;
  ok &= attnviz_test_check_tensor (rec->logits, mine->logits, (gsize) T * V, 1e-5f, "logits");
  for (int l = 0; l < c.n_layer; l++)
    {
      g_autofree char *label = g_strdup_printf ("layer %d self-attention", l);
      ok &= attnviz_test_check_tensor (attnviz_recording_get_attention (rec, l, 0),
                                       attnviz_recording_get_attention (mine, l, 0), (gsize) H * T * T, 1e-5f, label);
    }
  if (ec->seq2seq)
    {
      g_assert_cmpint (rec->S, ==, S);
      ok &= attnviz_test_check_tensor (rec->enc_attn, mine->enc_attn, (gsize) c.n_enc_layer * H * S * S, 1e-5f,
                                       "encoder self-attention");
      ok &= attnviz_test_check_tensor (rec->cross_attn, mine->cross_attn, (gsize) c.n_layer * H * T * S, 1e-5f,
                                       "cross-attention");
    }
  g_assert_true (ok);

  /* clean up the folder */
  const char *names[] = { "model.safetensors", "config.json", "tokenizer.json" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *p = g_build_filename (dir, names[i], NULL);
      g_remove (p);
    }
  g_rmdir (dir);
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
  for (guint i = 0; i < G_N_ELEMENTS (engine_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/train/engine-agrees/%s", engine_cases[i].name);
      g_test_add_data_func (path, &engine_cases[i], test_engine_agrees);
    }
  return g_test_run ();
}
