/* test-train.c: the trainer against finite differences, PyTorch and the engine */
#define G_LOG_DOMAIN "attnviz-test-train"
#include "config.h"

#include <cblas.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-task.h"
#include "attnviz-test-util.h"
#include "attnviz-train.h"

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

/* ---------------------------------------------------------------- tasks */

static void
test_dates_weekdays (void)
{
  static const char *const wdays[] = { "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday" };
  g_assert_cmpint (attnviz_weekday (2026, 11, 21), ==, 6); /* the "saturday 21 november 2026" */
  g_assert_cmpint (attnviz_weekday (2000, 1, 1), ==, 6);
  g_assert_cmpint (attnviz_weekday (1900, 3, 1), ==, 4);
  g_assert_cmpint (attnviz_weekday (2024, 2, 29), ==, 4);

  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("dates", 0, &error);
  g_assert_no_error (error);
  AttnvizRng rng;
  attnviz_rng_init (&rng, 11);
  int with_weekday = 0, forms_seen = 0;
  g_autoptr(GHashTable) shapes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < 4000; i++)
    {
      AttnvizExample ex = { 0 };
      attnviz_task_sample (task, &rng, &ex);
      int y, m, d;
      g_assert_cmpint (sscanf (ex.target, "%4d-%2d-%2d", &y, &m, &d), ==, 3);
      g_assert_cmpint (strlen (ex.target), ==, 10);
      g_assert_true (y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && d >= 1 && d <= 31);
      /* the year and day are in the source; a weekday, if any, is the true one */
      g_autofree char *year = g_strdup_printf ("%d", y);
      g_assert_nonnull (strstr (ex.source, year));
      const char *wd = wdays[attnviz_weekday (y, m, d)];
      for (int k = 0; k < 7; k++)
        {
          char abbr[4];
          g_strlcpy (abbr, wdays[k], sizeof abbr);
          if (g_str_has_prefix (ex.source, abbr))
            {
              char want[4];
              g_strlcpy (want, wd, sizeof want);
              g_assert_true (g_str_has_prefix (ex.source, want));
              with_weekday++;
            }
        }
      g_assert_false (attnviz_task_is_held_out (ex.source));
      /* the form: letters as a, digits as 9 */
      g_autofree char *shape = g_strdup (ex.source);
      for (char *p = shape; *p; p++)
        *p = g_ascii_isdigit (*p) ? '9' : g_ascii_isalpha (*p) ? 'a' : *p;
      g_hash_table_add (shapes, g_steal_pointer (&shape));
      attnviz_example_clear (&ex);
    }
  forms_seen = g_hash_table_size (shapes);
  g_test_message ("%d of 4000 dates name their weekday; %d surface shapes", with_weekday, forms_seen);
  g_assert_cmpint (with_weekday, >, 1000);
  g_assert_cmpint (forms_seen, >=, 8);
}

static void
test_held_out_split (void)
{
  static const char *const names[] = { "copy", "reverse", "sort", "dates", "repeat" };
  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(AttnvizTask) task = attnviz_task_new (names[k], 0, &error);
      g_assert_no_error (error);
      const GArray *test = attnviz_task_get_test_set (task);
      g_assert_cmpuint (test->len, >=, 500);
      g_autoptr(GHashTable) held = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < test->len; i++)
        {
          const AttnvizExample *ex = &g_array_index (test, AttnvizExample, i);
          g_assert_true (attnviz_task_is_held_out (ex->source));
          g_assert_false (g_hash_table_contains (held, ex->source));
          g_hash_table_add (held, ex->source);
        }
      AttnvizRng rng;
      attnviz_rng_init (&rng, 3);
      for (int i = 0; i < 3000; i++)
        {
          AttnvizExample ex = { 0 };
          attnviz_task_sample (task, &rng, &ex);
          g_assert_false (g_hash_table_contains (held, ex.source));
          attnviz_example_clear (&ex);
        }
    }
}

static void
test_file_task (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("attnviz-task-XXXXXX", &error);
  g_autofree char *pairs = g_build_filename (dir, "pairs.tsv", NULL);
  g_autofree char *text = g_build_filename (dir, "text.txt", NULL);
  GString *p = g_string_new (NULL), *t = g_string_new (NULL);
  for (int i = 0; i < 200; i++)
    {
      g_string_append_printf (p, "%d plus %d\t%d\n", i, i % 7, i + i % 7);
      g_string_append_printf (t, "line %d: the quick brown fox jumps over the lazy dog, %d times.\n", i, i * 3);
    }
  g_assert_true (g_file_set_contents (pairs, p->str, -1, NULL));
  g_assert_true (g_file_set_contents (text, t->str, -1, NULL));
  g_string_free (p, TRUE);
  g_string_free (t, TRUE);

  g_autofree char *spec = g_strconcat ("file:", pairs, NULL);
  g_autoptr(AttnvizTask) task = attnviz_task_new (spec, 0, &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_task_has_source (task));
  g_assert_true (attnviz_task_prefers_seq2seq (task));
  const GArray *test = attnviz_task_get_test_set (task);
  g_assert_cmpuint (test->len, >, 5);
  for (guint i = 0; i < test->len; i++)
    g_assert_true (attnviz_task_is_held_out (g_array_index (test, AttnvizExample, i).source));

  g_autofree char *spec2 = g_strconcat ("file:", text, NULL);
  g_autoptr(AttnvizTask) task2 = attnviz_task_new (spec2, 32, &error);
  g_assert_no_error (error);
  g_assert_false (attnviz_task_has_source (task2));
  AttnvizRng rng;
  attnviz_rng_init (&rng, 1);
  AttnvizExample ex = { 0 };
  attnviz_task_sample (task2, &rng, &ex);
  g_assert_null (ex.source);
  g_assert_cmpint (g_utf8_strlen (ex.target, -1), ==, 32);
  attnviz_example_clear (&ex);

  /* a short plain-text model trains on it and saves */
  AttnvizConfig c;
  attnviz_train_config_init (&c, task2, FALSE);
  c.d_model = 16;
  c.head_dim = 4;
  c.d_ff = 32;
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 4;
  opt.steps = 3;
  int max_S, max_T;
  attnviz_train_context_for (task2, FALSE, &max_S, &max_T);
  g_autoptr(AttnvizTrainer) tr = attnviz_trainer_new (&c, &opt, max_S, max_T, &error);
  g_assert_no_error (error);
  AttnvizTrainLoop loop = { .eval_examples = 8 };
  AttnvizEvalResult res;
  g_assert_true (attnviz_trainer_run (tr, task2, &loop, &res, &error));
  g_assert_cmpint (res.n, >, 0);

  g_assert_null (attnviz_task_new ("file:/nonexistent/file", 0, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (attnviz_task_new ("nonsense", 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_remove (pairs);
  g_remove (text);
  g_rmdir (dir);
}

/* The chars tokenizer, as written for a trained model and read back. */
static void
test_chars_tokenizer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("dates", 0, &error);
  g_autofree char *dir = g_dir_make_tmp ("attnviz-tok-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  for (int seq2seq = 0; seq2seq < 2; seq2seq++)
    {
      g_assert_true (attnviz_task_write_tokenizer (task, path, seq2seq, &error));
      AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
      g_assert_no_error (error);
      g_assert_cmpint (attnviz_tokenizer_get_kind (tok), ==, ATTNVIZ_TOKENIZER_CHARS);
      g_assert_cmpint (attnviz_tokenizer_get_vocab_size (tok), ==, attnviz_task_get_vocab_size (task));
      g_assert_cmpint (attnviz_tokenizer_get_bos_id (tok), ==, ATTNVIZ_TASK_BOS);
      g_assert_cmpint (attnviz_tokenizer_get_eos_id (tok), ==, ATTNVIZ_TASK_EOS);
      g_assert_cmpint (attnviz_tokenizer_get_pad_id (tok), ==, ATTNVIZ_TASK_PAD);
      g_assert_cmpint (attnviz_tokenizer_get_unk_id (tok), ==, ATTNVIZ_TASK_UNK);

      const char *text = "21 nov, 2026é";
      g_autoptr(GArray) toks = attnviz_tokenizer_encode (tok, text, -1, TRUE, &error);
      g_assert_no_error (error);
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
      attnviz_task_encode (task, text, ids);
      /* seq2seq: the characters then <eos>; decoder: <bos> first */
      g_assert_cmpuint (toks->len, ==, ids->len + 1);
      int first = seq2seq ? 0 : 1;
      AttnvizToken *t0 = &g_array_index (toks, AttnvizToken, seq2seq ? toks->len - 1 : 0);
      g_assert_cmpint (t0->id, ==, seq2seq ? ATTNVIZ_TASK_EOS : ATTNVIZ_TASK_BOS);
      g_assert_true (t0->special);
      for (guint i = 0; i < ids->len; i++)
        {
          AttnvizToken *t = &g_array_index (toks, AttnvizToken, first + i);
          g_assert_cmpint (t->id, ==, g_array_index (ids, gint32, i));
        }
      /* é is two bytes and unknown */
      AttnvizToken *last = &g_array_index (toks, AttnvizToken, first + ids->len - 1);
      g_assert_cmpint (last->id, ==, ATTNVIZ_TASK_UNK);
      g_assert_cmpuint (last->start, ==, strlen (text) - 2);
      g_assert_cmpuint (last->end, ==, strlen (text));
      g_autofree char *back = attnviz_tokenizer_decode (tok, (gint32 *) ids->data, ids->len - 1);
      g_assert_cmpstr (back, ==, "21 nov, 2026");
      attnviz_tokenizer_free (tok);
    }
  g_remove (path);
  g_rmdir (dir);
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
  g_assert_cmpint (c.window, ==, 4);
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
  g_test_add_func ("/train/deterministic-for-a-seed", test_deterministic);
  g_test_add_func ("/train/config-schema", test_config_schema);
  g_test_add_func ("/train/save-load-round-trip", test_save_load_round_trip);
  g_test_add_data_func ("/train/policy-gradient/seq2seq", "reverse", test_policy_gradient);
  g_test_add_data_func ("/train/policy-gradient/decoder-without-separator", "repeat", test_policy_gradient);
  g_test_add_func ("/task/dates/weekdays-are-true", test_dates_weekdays);
  g_test_add_func ("/task/held-out-split-is-disjoint", test_held_out_split);
  g_test_add_func ("/task/file", test_file_task);
  g_test_add_func ("/task/chars-tokenizer", test_chars_tokenizer);
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
