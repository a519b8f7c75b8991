/* test-train-pg.c: policy gradient in the trainer
 *
 * The PG surrogate (decoded outputs as weighted targets, with the entropy
 * bonus) has the gradient finite differences of it give for the same
 * fixed outputs; the self-critical advantage is zero exactly where the
 * sample is the greedy output; rewards parse; CE+PG ramps its lambda and
 * trains.
 */
#define G_LOG_DOMAIN "attnviz-test-train-pg"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-task.h"
#include "attnviz-train.h"

#define CAP 64

static AttnvizTrainer *
tiny_trainer (const AttnvizTask *task, gboolean seq2seq, const AttnvizTrainOptions *opt)
{
  AttnvizConfig c;
  attnviz_train_config_init (&c, task, seq2seq);
  c.n_layer = 2;
  c.n_enc_layer = seq2seq ? 1 : 0;
  c.d_model = 8;
  c.n_head = c.n_kv_head = 2;
  c.head_dim = 4;
  c.d_ff = 12;
  c.n_ctx = CAP;
  g_autoptr(GError) error = NULL;
  AttnvizTrainer *t = attnviz_trainer_new (&c, opt, CAP, CAP, &error);
  g_assert_no_error (error);
  /* Weights off their initial values: a fresh model's outputs are all
   * alike and its norms sit where some gradients vanish. */
  gsize n;
  float *w = attnviz_trainer_get_params (t, &n);
  AttnvizRng rng;
  attnviz_rng_init (&rng, 99);
  for (gsize i = 0; i < n; i++)
    w[i] += (float) (0.6 * (attnviz_rng_uniform (&rng) - 0.5));
  return t;
}

static AttnvizExample *
sample_examples (AttnvizTask *task, int n, guint64 seed)
{
  AttnvizRng rng;
  attnviz_rng_init (&rng, seed);
  AttnvizExample *ex = g_new0 (AttnvizExample, n);
  for (int b = 0; b < n; b++)
    attnviz_task_sample (task, &rng, &ex[b]);
  return ex;
}

static void
free_examples (AttnvizExample *ex, int n)
{
  for (int b = 0; b < n; b++)
    attnviz_example_clear (&ex[b]);
  g_free (ex);
}

/* ---------------------------------------------------------------- the surrogate's gradient */

typedef struct {
  const char *name;
  const char *task;
  gboolean seq2seq;
  AttnvizBaseline baseline;
  double entropy;
} SurrogateCase;

static const SurrogateCase surrogate_cases[] = {
  { "seq2seq-self-critical-entropy", "sort", TRUE, ATTNVIZ_BASELINE_GREEDY, 0.05 },
  { "seq2seq-moving-average", "reverse", TRUE, ATTNVIZ_BASELINE_AVERAGE, 0.0 },
  { "decoder-self-critical-entropy", "copy", FALSE, ATTNVIZ_BASELINE_GREEDY, 0.1 },
};

static void
test_surrogate_gradient (gconstpointer data)
{
  const SurrogateCase *sc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new (sc->task, 0, &error);
  g_assert_no_error (error);
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 4;
  opt.objective = ATTNVIZ_OBJECTIVE_PG;
  opt.reward = ATTNVIZ_REWARD_MIX;
  opt.reward_mix = 0.5;
  opt.baseline = sc->baseline;
  opt.entropy = sc->entropy;
  opt.seed = 5;
  g_autoptr(AttnvizTrainer) t = tiny_trainer (task, sc->seq2seq, &opt);

  AttnvizExample *ex = sample_examples (task, 4, 11);
  g_autoptr(AttnvizBatch) batch = attnviz_batch_new (4, CAP, CAP);
  AttnvizPgRow rows[4];
  /* An average baseline starts at the first batch's mean reward: the
   * second batch (other examples) is measured against that. */
  if (sc->baseline == ATTNVIZ_BASELINE_AVERAGE)
    {
      AttnvizExample *first = sample_examples (task, 4, 12);
      attnviz_trainer_pg_batch (t, task, first, 4, 1.0, batch, rows);
      free_examples (first, 4);
    }
  attnviz_trainer_pg_batch (t, task, ex, 4, 1.0, batch, rows);
  free_examples (ex, 4);
  for (int b = 0; b < 4; b++)
    g_test_message ("row %d: reward %.3f baseline %.3f", b, rows[b].reward, rows[b].baseline);

  /* The outputs are fixed in BATCH now; their advantages are its weights. */
  int moving = 0;
  for (int b = 0; b < 4; b++)
    {
      g_assert_cmpfloat_with_epsilon (batch->weight[b], rows[b].reward - rows[b].baseline, 1e-6);
      moving += batch->weight[b] != 0.0f;
    }
  g_assert_cmpint (moving, >, 0);
  g_assert_cmpfloat (batch->entropy, ==, sc->entropy);

  g_autoptr(GArray) res = attnviz_trainer_gradcheck (t, batch, 1e-5, 30);
  gboolean nonzero = FALSE;
  for (guint i = 0; i < res->len; i++)
    {
      AttnvizGradcheck *r = &g_array_index (res, AttnvizGradcheck, i);
      g_test_message ("%-32s max rel %.2e  max abs %.2e  (|g| <= %.2e, %d checked)", r->name, r->max_rel,
                      r->max_abs, r->max_grad, r->n_checked);
      g_assert_cmpfloat (r->max_rel, <, 1e-5);
      nonzero |= r->max_grad > 1e-6;
      g_free (r->name);
    }
  g_assert_true (nonzero);
}

/* The entropy bonus alone (every advantage 0) is checked as well: its
 * gradient is not the cross-entropy's. */
static void
test_entropy_gradient (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("sort", 0, &error);
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 3;
  g_autoptr(AttnvizTrainer) t = tiny_trainer (task, TRUE, &opt);
  AttnvizExample *ex = sample_examples (task, 3, 4);
  g_autoptr(AttnvizBatch) batch = attnviz_batch_new (3, CAP, CAP);
  g_assert_true (attnviz_batch_fill (batch, task, TRUE, ex, 3, &error));
  free_examples (ex, 3);
  for (int b = 0; b < 3; b++)
    batch->weight[b] = 0.0f;
  batch->entropy = 0.3;
  double loss = attnviz_trainer_forward (t, batch);
  /* -beta * mean entropy: negative, and at most beta * log V in size */
  g_assert_cmpfloat (loss, <, 0.0);
  g_assert_cmpfloat (loss, >=, -0.3 * log (attnviz_task_get_vocab_size (task)) - 1e-6);

  g_autoptr(GArray) res = attnviz_trainer_gradcheck (t, batch, 1e-5, 30);
  double largest = 0.0;
  for (guint i = 0; i < res->len; i++)
    {
      AttnvizGradcheck *r = &g_array_index (res, AttnvizGradcheck, i);
      g_assert_cmpfloat (r->max_rel, <, 1e-5);
      largest = MAX (largest, r->max_grad);
      g_free (r->name);
    }
  g_assert_cmpfloat (largest, >, 1e-4);
}

/* ---------------------------------------------------------------- self-critical advantage */

static void
test_scst_advantage_zero_when_sample_is_greedy (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("reverse", 0, &error);
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 8;
  opt.objective = ATTNVIZ_OBJECTIVE_PG;
  opt.reward = ATTNVIZ_REWARD_TOKENS;
  opt.baseline = ATTNVIZ_BASELINE_GREEDY;
  g_autoptr(AttnvizTrainer) t = tiny_trainer (task, TRUE, &opt);
  AttnvizExample *ex = sample_examples (task, 8, 3);
  g_autoptr(AttnvizBatch) batch = attnviz_batch_new (8, CAP, CAP);
  AttnvizPgRow rows[8];

  /* Sampled outputs: where one is the greedy output its advantage is 0;
   * elsewhere it is the difference of the two rewards. */
  attnviz_trainer_pg_batch (t, task, ex, 8, 1.0, batch, rows);
  int differ = 0;
  for (int b = 0; b < 8; b++)
    {
      if (rows[b].same_as_greedy)
        g_assert_cmpfloat (batch->weight[b], ==, 0.0f);
      else
        differ++;
      g_assert_cmpfloat_with_epsilon (batch->weight[b], rows[b].reward - rows[b].baseline, 1e-6);
    }
  g_assert_cmpint (differ, >, 0);

  /* Greedy "samples" are the greedy output: every advantage is 0 and the
   * surrogate has no gradient. */
  t = (attnviz_trainer_free (t), NULL);
  opt.pg_sample = FALSE;
  t = tiny_trainer (task, TRUE, &opt);
  attnviz_trainer_pg_batch (t, task, ex, 8, 1.0, batch, rows);
  for (int b = 0; b < 8; b++)
    {
      g_assert_true (rows[b].same_as_greedy);
      g_assert_cmpfloat (rows[b].reward, ==, rows[b].baseline);
      g_assert_cmpfloat (batch->weight[b], ==, 0.0f);
    }
  attnviz_trainer_forward_backward (t, batch);
  gsize n;
  attnviz_trainer_get_params (t, &n);
  const float *g = attnviz_trainer_get_grads (t);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (g[i], ==, 0.0f);
  free_examples (ex, 8);
}

/* ---------------------------------------------------------------- rewards, lambda, a step */

static void
test_rewards_parse (void)
{
  AttnvizReward r;
  double mix = -1.0;
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_train_parse_reward ("exact", &r, &mix, NULL));
  g_assert_cmpint (r, ==, ATTNVIZ_REWARD_EXACT);
  g_assert_true (attnviz_train_parse_reward ("token", &r, &mix, NULL));
  g_assert_cmpint (r, ==, ATTNVIZ_REWARD_TOKENS);
  g_assert_true (attnviz_train_parse_reward ("mix:0.25", &r, &mix, NULL));
  g_assert_cmpint (r, ==, ATTNVIZ_REWARD_MIX);
  g_assert_cmpfloat (mix, ==, 0.25);
  const char *bad[] = { "mix:", "mix:1.5", "mix:-0.1", "mix:0.5x", "mix:nan", "bleu", "" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (attnviz_train_parse_reward (bad[i], &r, &mix, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
}

static void
test_lambda_ramps (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("copy", 0, &error);
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.objective = ATTNVIZ_OBJECTIVE_CE_PG;
  opt.pg_weight = 0.8;
  opt.pg_ramp = 100;
  g_autoptr(AttnvizTrainer) t = tiny_trainer (task, TRUE, &opt);
  g_assert_cmpfloat (attnviz_trainer_pg_weight (t, 0), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (attnviz_trainer_pg_weight (t, 50), 0.4, 1e-12);
  g_assert_cmpfloat_with_epsilon (attnviz_trainer_pg_weight (t, 100), 0.8, 1e-12);
  g_assert_cmpfloat_with_epsilon (attnviz_trainer_pg_weight (t, 5000), 0.8, 1e-12);
}

static void
test_ce_pg_step_trains (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("sort", 0, &error);
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 6;
  opt.objective = ATTNVIZ_OBJECTIVE_CE_PG;
  opt.reward = ATTNVIZ_REWARD_MIX;
  opt.pg_weight = 0.5;
  opt.pg_ramp = 2;
  opt.entropy = 0.01;
  g_autoptr(AttnvizTrainer) t = tiny_trainer (task, TRUE, &opt);
  gsize n;
  float *w = attnviz_trainer_get_params (t, &n);
  g_autofree float *before = g_memdup2 (w, n * sizeof (float));
  AttnvizRng rng;
  attnviz_rng_init (&rng, 2);
  for (int i = 0; i < 3; i++)
    {
      double exact = -1.0;
      double reward = attnviz_trainer_train_step (t, task, &rng, &exact);
      g_assert_cmpfloat (reward, >=, 0.0);
      g_assert_cmpfloat (reward, <=, 1.0);
      g_assert_cmpfloat (exact, >=, 0.0);
      g_assert_cmpfloat (exact, <=, 1.0);
    }
  g_assert_cmpint (attnviz_trainer_get_step (t), ==, 3);
  gboolean changed = FALSE;
  for (gsize i = 0; i < n; i++)
    {
      g_assert_true (isfinite (w[i]));
      changed |= w[i] != before[i];
    }
  g_assert_true (changed);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (surrogate_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/train/pg/surrogate-gradient-is-finite-differences/%s",
                                               surrogate_cases[i].name);
      g_test_add_data_func (path, &surrogate_cases[i], test_surrogate_gradient);
    }
  g_test_add_func ("/train/pg/entropy-bonus-gradient-is-finite-differences", test_entropy_gradient);
  g_test_add_func ("/train/pg/self-critical-advantage-is-zero-when-the-sample-is-greedy",
                   test_scst_advantage_zero_when_sample_is_greedy);
  g_test_add_func ("/train/pg/rewards-parse", test_rewards_parse);
  g_test_add_func ("/train/pg/lambda-ramps-to-pg-weight", test_lambda_ramps);
  g_test_add_func ("/train/pg/ce-plus-pg-step-trains", test_ce_pg_step_trains);
  return g_test_run ();
}
