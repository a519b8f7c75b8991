/* test-train-reference.c: the trainer against PyTorch (fixtures made by
 * tools/make-train-fixture.py), and the engine's forward pass on what it trained */
#define G_LOG_DOMAIN "attnviz-test-train"
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>

#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-task.h"
#include "attnviz-test-util.h"
#include "attnviz-train.h"

/* ---------------------------------------------------------------- PyTorch */

static float *
load_fixture_npy (const char *fixture, const char *name, gsize *n)
{
  g_autofree char *path = attnviz_test_fixture_path (fixture, "reference", name, NULL);
  gint64 shape[8];
  int n_dims;
  float *data = attnviz_test_load_npy (path, shape, &n_dims, n);
  g_assert_nonnull (data);
  return data;
}

/* The loss and every gradient of tests/fixtures/FIXTURE (from
 * tools/make-train-fixture.py, PyTorch autograd in float64) against the
 * trainer's, in float32. */
static void
test_pytorch (gconstpointer data)
{
  const char *fixture = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = attnviz_test_fixture_path (fixture, NULL);
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  const AttnvizConfig *c = &model->config;

  gsize n_inp, n_tgt, n_w;
  g_autofree float *inp = load_fixture_npy (fixture, "inp.npy", &n_inp);
  g_autofree float *tgt = load_fixture_npy (fixture, "tgt.npy", &n_tgt);
  g_autofree float *weight = load_fixture_npy (fixture, "weight.npy", &n_w);
  int B = (int) n_w, T = (int) (n_inp / n_w), S = 0;
  g_autofree float *src = NULL, *src_len = NULL;
  if (c->encoder_decoder)
    {
      gsize n_src, n_len;
      src = load_fixture_npy (fixture, "src.npy", &n_src);
      src_len = load_fixture_npy (fixture, "src_len.npy", &n_len);
      S = (int) (n_src / B);
    }

  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = B;
  g_autoptr(AttnvizTrainer) t = attnviz_trainer_new (c, &opt, MAX (S, 1), T, &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_trainer_load_weights (t, model, &error));

  g_autoptr(AttnvizBatch) batch = attnviz_batch_new (B, MAX (S, 1), T);
  batch->B = B;
  batch->S = S;
  batch->T = T;
  for (int i = 0; i < B * T; i++)
    {
      batch->inp[i] = (gint32) inp[i];
      batch->tgt[i] = (gint32) tgt[i];
    }
  for (int b = 0; b < B; b++)
    {
      batch->weight[b] = weight[b];
      if (src_len)
        batch->src_len[b] = (int) src_len[b];
    }
  for (int i = 0; src && i < B * S; i++)
    batch->src[i] = (gint32) src[i];

  double loss = attnviz_trainer_forward_backward (t, batch);
  gsize n_loss;
  g_autofree float *ref_loss = load_fixture_npy (fixture, "loss.npy", &n_loss);
  g_test_message ("%s: loss %.7f, PyTorch %.7f, |diff| %.2e", fixture, loss, ref_loss[0], fabs (loss - ref_loss[0]));
  g_assert_cmpfloat (fabs (loss - ref_loss[0]), <=, 1e-4 * fabs (ref_loss[0]));

  const float *grads = attnviz_trainer_get_grads (t);
  gboolean ok = TRUE;
  double worst = 0.0;
  for (guint i = 0; i < attnviz_trainer_get_n_tensors (t); i++)
    {
      gsize offset, size;
      const char *name = attnviz_trainer_get_tensor (t, i, &offset, &size, NULL, NULL);
      g_autofree char *file = g_strconcat (name, ".npy", NULL);
      g_autofree char *rel = g_build_filename ("grads", file, NULL);
      gsize n;
      g_autofree float *ref = load_fixture_npy (fixture, rel, &n);
      g_assert_cmpuint (n, ==, size);
      /* 1e-4 of the tensor's largest gradient: relative, without dividing
       * by the entries that are zero or nearly so */
      float scale = 0.0f;
      for (gsize j = 0; j < n; j++)
        scale = MAX (scale, fabsf (ref[j]));
      float tol = 1e-4f * MAX (scale, 1e-3f);
      ok &= attnviz_test_check_tensor (grads + offset, ref, n, tol, name);
      for (gsize j = 0; j < n; j++)
        worst = MAX (worst, fabsf (grads[offset + j] - ref[j]) / MAX (scale, 1e-3f));
    }
  g_test_message ("%s: largest gradient difference %.2e of the tensor's scale", fixture, worst);
  g_assert_true (ok);
}

/* ---------------------------------------------------------------- the engine agrees */

typedef struct {
  const char *name;
  gboolean seq2seq;
  AttnvizPositionKind pos;
  const char *score;   /* as `train --score` spells it */
  const char *mask;    /* as `train --mask` spells it */
} EngineCase;

static const EngineCase engine_cases[] = {
  { "decoder-scaled-learned", FALSE, ATTNVIZ_POS_LEARNED, "scaled_dot", "causal" },
  { "decoder-scaled-rope", FALSE, ATTNVIZ_POS_ROPE, "scaled_dot", "causal" },
  { "decoder-scaled-sinusoidal", FALSE, ATTNVIZ_POS_SINUSOIDAL, "scaled_dot", "causal" },
  { "decoder-scaled-none", FALSE, ATTNVIZ_POS_NONE, "scaled_dot", "causal" },
  { "decoder-dot-window", FALSE, ATTNVIZ_POS_LEARNED, "dot", "window:3" },
  { "decoder-additive", FALSE, ATTNVIZ_POS_SINUSOIDAL, "additive", "causal" },
  { "decoder-hybrid-per-head-rope", FALSE, ATTNVIZ_POS_ROPE, "hybrid:heads=2", "causal" },
  { "decoder-hybrid-per-layer", FALSE, ATTNVIZ_POS_SINUSOIDAL, "hybrid:additive=1", "causal" },
  { "decoder-scaled-strided", FALSE, ATTNVIZ_POS_LEARNED, "scaled_dot", "strided:3" },
  { "decoder-scaled-window-global", FALSE, ATTNVIZ_POS_SINUSOIDAL, "scaled_dot", "window:2+global:2" },
  { "decoder-hybrid-block", FALSE, ATTNVIZ_POS_ROPE, "hybrid:heads=1", "block:4" },
  { "seq2seq-scaled-sinusoidal", TRUE, ATTNVIZ_POS_SINUSOIDAL, "scaled_dot", "causal" },
  { "seq2seq-additive-rope", TRUE, ATTNVIZ_POS_ROPE, "additive", "causal" },
  { "seq2seq-dot-learned-window", TRUE, ATTNVIZ_POS_LEARNED, "dot", "window:2" },
  { "seq2seq-hybrid-per-layer-block", TRUE, ATTNVIZ_POS_SINUSOIDAL, "hybrid:additive=0", "block:3" },
};

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
  g_assert_true (attnviz_config_parse_score (&c, ec->score, &error));
  g_assert_true (attnviz_pattern_parse (&c.pattern, ec->mask, &error));
  g_assert_no_error (error);
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
  /* it reopens with the score of every head and the mask it was trained with */
  g_autofree char *score = attnviz_config_score_to_string (&model->config);
  g_autofree char *mask = attnviz_pattern_to_string (&model->config.pattern);
  g_assert_cmpstr (score, ==, ec->score);
  g_assert_cmpstr (mask, ==, strcmp (ec->mask, "causal") == 0 ? "dense" : ec->mask);
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

  g_autoptr(AttnvizRecording) rec = NULL;
  if (ec->seq2seq)
    rec = attnviz_forward_seq2seq (model, (gint32 *) src->data, S, (gint32 *) tgt->data, T, NULL, &error);
  else
    rec = attnviz_forward (model, (gint32 *) tgt->data, T, NULL, &error);
  g_assert_no_error (error);

  int V = c.vocab_size, H = c.n_head;
  gboolean ok = TRUE;
  ok &= attnviz_test_check_tensor (rec->logits, mine->logits, (gsize) T * V, 1e-5f, "logits");
  /* the run says which heads scored additively, as the model's config does */
  g_assert_true ((rec->head_additive != NULL) == attnviz_config_has_score_v (&model->config));
  for (int l = 0; l < c.n_layer; l++)
    for (int h = 0; h < c.n_head; h++)
      g_assert_cmpint (attnviz_recording_head_additive (rec, l, h), ==,
                       attnviz_config_head_additive (&model->config, l, h));
  /* the decoder's self-attention sees exactly the keys its pattern allows */
  for (int l = 0; l < c.n_layer; l++)
    for (int h = 0; h < H; h++)
      {
        const float *P = attnviz_recording_get_attention (rec, l, 0) + (gsize) h * T * T;
        for (int i = 0; i < T; i++)
          for (int j = 0; j < T; j++)
            if (j <= i && attnviz_pattern_allows (&c.pattern, i, j))
              g_assert_cmpfloat (P[(gsize) i * T + j], >, 0.0f);
            else
              g_assert_cmpfloat (P[(gsize) i * T + j], ==, 0.0f);
      }
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
  static const char *const fixtures[] = { "train-decoder-rope", "train-decoder-learned", "train-seq2seq-additive" };
  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *path = g_strdup_printf ("/train/pytorch/%s", fixtures[i]);
      g_test_add_data_func (path, fixtures[i], test_pytorch);
    }
  for (guint i = 0; i < G_N_ELEMENTS (engine_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/train/engine-agrees/%s", engine_cases[i].name);
      g_test_add_data_func (path, &engine_cases[i], test_engine_agrees);
    }
  return g_test_run ();
}
