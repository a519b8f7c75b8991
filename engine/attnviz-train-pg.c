/* attnviz-train-pg.c: policy gradient for the trainer
 *
 * REINFORCE on decoded outputs, as a weighted cross-entropy: each output
 * becomes a teacher-forced row whose loss weight is its advantage, so
 * that the gradient of the batch's loss is
 *
 *   -1/N sum_b (r_b - baseline_b) sum_t grad log p (y_bt | y_b<t, x_b)
 *
 * (N the output positions in the batch, as the cross-entropy averages
 * them), minus beta times the gradient of the mean entropy of the
 * predicted distributions there.  The baseline is self-critical (Rennie
 * et al. 2017, "Self-critical sequence training for image captioning"):
 * the reward of the model's own greedy output for the same input, so only
 * samples that beat what the user would see are reinforced, and those
 * worse are pushed down; or the older moving average of the mean reward.
 *
 * CE_PG adds the cross-entropy of the same examples' targets:
 * lambda * PG + (1 - lambda) * CE, lambda ramped from 0 over pg_ramp
 * steps, both gradients summed before one AdamW step.
 */
#define G_LOG_DOMAIN "attnviz-train"
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attnviz-train.h"
#include "attnviz-train-private.h"

gboolean
attnviz_train_parse_reward (const char *s, AttnvizReward *reward, double *mix, GError **error)
{
  if (g_strcmp0 (s, "exact") == 0)
    *reward = ATTNVIZ_REWARD_EXACT;
  else if (g_strcmp0 (s, "token") == 0 || g_strcmp0 (s, "tokens") == 0)
    *reward = ATTNVIZ_REWARD_TOKENS;
  else if (s != NULL && g_str_has_prefix (s, "mix:"))
    {
      char *end = NULL;
      double a = g_ascii_strtod (s + 4, &end);
      if (end == s + 4 || *end != '\0' || !(a >= 0.0 && a <= 1.0))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "reward \"%s\": mix:A needs A, the weight of exact match, in [0, 1]", s);
          return FALSE;
        }
      *reward = ATTNVIZ_REWARD_MIX;
      *mix = a;
    }
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown reward \"%s\" (exact, token or mix:A)",
                   s ? s : "");
      return FALSE;
    }
  return TRUE;
}

double
attnviz_trainer_pg_weight (const AttnvizTrainer *t, int step)
{
  const AttnvizTrainOptions *o = &t->opt;
  if (o->objective == ATTNVIZ_OBJECTIVE_PG)
    return 1.0;
  if (o->objective == ATTNVIZ_OBJECTIVE_CE)
    return 0.0;
  double ramp = o->pg_ramp > 0 ? MIN (1.0, (double) step / o->pg_ramp) : 1.0;
  return o->pg_weight * ramp;
}

static double
reward_of (const AttnvizTrainer *t, const GArray *out, gboolean ended, const GArray *want, gboolean *exact)
{
  gboolean hit = _attnviz_train_exact_match (out, ended, want);
  double tokens = _attnviz_train_token_accuracy (out, want);
  if (exact)
    *exact = hit;
  switch (t->opt.reward)
    {
    case ATTNVIZ_REWARD_EXACT:
      return hit;
    case ATTNVIZ_REWARD_TOKENS:
      return tokens;
    case ATTNVIZ_REWARD_MIX:
    default:
      return t->opt.reward_mix * hit + (1.0 - t->opt.reward_mix) * tokens;
    }
}

static gboolean
same_output (const GArray *a, gboolean a_ended, const GArray *b, gboolean b_ended)
{
  return a_ended == b_ended && a->len == b->len && memcmp (a->data, b->data, sizeof (gint32) * a->len) == 0;
}

/* Each example's output as a teacher-forced row: its prompt, then the
 * tokens decoded (built from the ids: an untrained model may say <unk>
 * or <pad>), predicting them and <eos> when it came. */
static void
output_rows (const AttnvizTrainer *t, const AttnvizTask *task, const AttnvizExample *ex, int n, GArray **out,
             const gboolean *ended, AttnvizBatch *batch, const double *weight)
{
  const AttnvizConfig *c = &t->config;
  gboolean sep = c->encoder_decoder || attnviz_task_has_separator (task);
  g_autofree Rows *rows = g_new0 (Rows, n);
  int S = 0, T = 0;
  for (int b = 0; b < n; b++)
    {
      Rows *r = &rows[b];
      _attnviz_train_rows_init (r);
      _attnviz_train_example_prompt (task, c->encoder_decoder, ex[b].source, r->src, r->inp);
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
  g_assert (T <= batch->cap_T && S <= MAX (batch->cap_S, 0) && n <= batch->cap_B);
  batch->B = n;
  batch->S = S;
  batch->T = T;
  for (int b = 0; b < n; b++)
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
      batch->weight[b] = (float) weight[b];
      _attnviz_train_rows_clear (r);
    }
}

void
attnviz_trainer_pg_batch (AttnvizTrainer *t,
                          const AttnvizTask *task,
                          const AttnvizExample *ex,
                          int n,
                          double weight,
                          AttnvizBatch *batch,
                          AttnvizPgRow *rows)
{
  g_return_if_fail (n >= 1 && n <= t->opt.batch);
  gboolean scst = t->opt.baseline == ATTNVIZ_BASELINE_GREEDY;
  int max_new = _attnviz_train_max_new_tokens (t, task);
  g_autofree GArray **out = g_new0 (GArray *, n);
  g_autofree GArray **greedy = g_new0 (GArray *, n);
  g_autofree gboolean *ended = g_new0 (gboolean, n);
  g_autofree gboolean *g_ended = g_new0 (gboolean, n);
  g_autofree double *adv = g_new0 (double, n);
  g_autoptr(GArray) want = g_array_new (FALSE, FALSE, sizeof (gint32));
  for (int b = 0; b < n; b++)
    {
      out[b] = g_array_new (FALSE, FALSE, sizeof (gint32));
      greedy[b] = g_array_new (FALSE, FALSE, sizeof (gint32));
    }
  _attnviz_train_decode_batch (t, task, ex, n, max_new, t->opt.pg_sample ? &t->rng : NULL, out, ended);
  if (scst)
    _attnviz_train_decode_batch (t, task, ex, n, max_new, NULL, greedy, g_ended);

  double mean = 0.0;
  for (int b = 0; b < n; b++)
    {
      AttnvizPgRow *row = &rows[b];
      g_array_set_size (want, 0);
      attnviz_task_encode (task, ex[b].target, want);
      _attnviz_train_cut_to_target (t, task, out[b], &ended[b], want);
      row->reward = reward_of (t, out[b], ended[b], want, &row->exact);
      row->same_as_greedy = FALSE;
      if (scst)
        {
          _attnviz_train_cut_to_target (t, task, greedy[b], &g_ended[b], want);
          row->same_as_greedy = same_output (out[b], ended[b], greedy[b], g_ended[b]);
          /* The same output gets the same reward: its advantage is 0 exactly. */
          row->baseline = row->same_as_greedy ? row->reward : reward_of (t, greedy[b], g_ended[b], want, NULL);
        }
      mean += row->reward;
    }
  mean /= n;
  if (!scst)
    {
      if (!t->have_baseline)
        {
          t->baseline = mean;
          t->have_baseline = TRUE;
        }
      for (int b = 0; b < n; b++)
        rows[b].baseline = t->baseline;
      t->baseline = t->opt.baseline_decay * t->baseline + (1.0 - t->opt.baseline_decay) * mean;
    }
  for (int b = 0; b < n; b++)
    adv[b] = weight * (rows[b].reward - rows[b].baseline);

  output_rows (t, task, ex, n, out, ended, batch, adv);
  batch->entropy = t->opt.entropy;
  for (int b = 0; b < n; b++)
    {
      g_array_unref (out[b]);
      g_array_unref (greedy[b]);
    }
}

/* One PG or CE+PG step: the outputs' surrogate (and the targets'
 * cross-entropy), one update.  Returns the mean reward. */
double
_attnviz_train_pg_step (AttnvizTrainer *t, AttnvizTask *task, AttnvizRng *rng, double *accuracy)
{
  int B = t->opt.batch;
  g_autofree AttnvizExample *ex = g_new0 (AttnvizExample, B);
  g_autofree AttnvizPgRow *rows = g_new0 (AttnvizPgRow, B);
  for (int b = 0; b < B; b++)
    attnviz_task_sample (task, rng, &ex[b]);
  double lambda = attnviz_trainer_pg_weight (t, t->step + 1);

  /* The cross-entropy first: the PG batch overwrites t->batch. */
  gboolean have = FALSE;
  if (t->opt.objective == ATTNVIZ_OBJECTIVE_CE_PG && lambda < 1.0)
    {
      _attnviz_train_ce_gradients (t, ex, B, task, 1.0 - lambda, FALSE, NULL);
      have = TRUE;
    }
  attnviz_trainer_pg_batch (t, task, ex, B, lambda, t->batch, rows);
  if (lambda > 0.0 || t->opt.entropy != 0.0)
    {
      if (have)
        _attnviz_trainer_accumulate (t, t->batch);
      else
        attnviz_trainer_forward_backward (t, t->batch);
      have = TRUE;
    }
  if (!have)
    memset (t->grads, 0, sizeof (float) * t->lay.n_params);
  attnviz_trainer_update (t);

  double mean = 0.0, exact = 0.0;
  for (int b = 0; b < B; b++)
    {
      mean += rows[b].reward;
      exact += rows[b].exact;
      t->pg_rows++;
      t->pg_better += rows[b].reward > rows[b].baseline;
      t->pg_worse += rows[b].reward < rows[b].baseline;
      attnviz_example_clear (&ex[b]);
    }
  if (accuracy)
    *accuracy = exact / B;
  return mean / B;
}
