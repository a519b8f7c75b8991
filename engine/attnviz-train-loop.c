/* attnviz-train-loop.c: running the trainer
 *
 * Greedy or sampled decoding of a batch of prompts, evaluation against a
 * task's targets, one training step (cross-entropy on the examples here,
 * policy gradient in attnviz-train-pg.c), the loop with its evaluations and
 * checkpoints, and a recording of the trained network's attention for
 * one input.
 */
#define G_LOG_DOMAIN "attnviz-train"
#include "config.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "attnviz-train.h"
#include "attnviz-train-private.h"

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

void
_attnviz_train_decode_batch (AttnvizTrainer *t, const AttnvizTask *task, const AttnvizExample *ex, int n, int max_new,
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
      _attnviz_train_example_prompt (task, seq2seq, ex[b].source, src, prompt);
      S = MAX (S, MIN ((int) src->len, t->cap_S));
    }
  for (int b = 0; b < n; b++)
    {
      _attnviz_train_example_prompt (task, seq2seq, ex[b].source, src, prompt);
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
      _attnviz_train_net_forward (&t->net, batch, seq2seq && step > 0);
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
int
_attnviz_train_max_new_tokens (const AttnvizTrainer *t, const AttnvizTask *task)
{
  gboolean sep = t->config.encoder_decoder || attnviz_task_has_separator (task);
  return attnviz_task_get_max_target (task) + (sep ? 1 : 0);
}

/* Without a separator the output is as long as the target is. */
void
_attnviz_train_cut_to_target (const AttnvizTrainer *t, const AttnvizTask *task, GArray *out, gboolean *ended, const GArray *want)
{
  if (t->config.encoder_decoder || attnviz_task_has_separator (task))
    return;
  if (out->len > want->len)
    g_array_set_size (out, want->len);
  *ended = out->len == want->len;
}

double
_attnviz_train_token_accuracy (const GArray *out, const GArray *want)
{
  if (want->len == 0)
    return out->len == 0;
  int right = 0;
  for (guint i = 0; i < want->len && i < out->len; i++)
    right += g_array_index (out, gint32, i) == g_array_index (want, gint32, i);
  return (double) right / MAX (want->len, out->len);
}

gboolean
_attnviz_train_exact_match (const GArray *out, gboolean ended, const GArray *want)
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
      _attnviz_train_decode_batch (t, task, examples + i, m, _attnviz_train_max_new_tokens (t, task), NULL, out, ended);
      for (int b = 0; b < m; b++)
        {
          g_array_set_size (want, 0);
          attnviz_task_encode (task, examples[i + b].target, want);
          _attnviz_train_cut_to_target (t, task, out[b], &ended[b], want);
          exact += _attnviz_train_exact_match (out[b], ended[b], want);
          tokens += _attnviz_train_token_accuracy (out[b], want);
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
      _attnviz_train_decode_batch (t, task, ex, m, t->cap_T, NULL, out, ended);
      for (int b = 0; b < m; b++)
        texts[i + b] = attnviz_task_decode (task, (gint32 *) out[b]->data, out[b]->len);
    }
  for (int b = 0; b < B; b++)
    g_array_unref (out[b]);
  return texts;
}

/* ---------------------------------------------------------------- a step */

double
_attnviz_train_ce_gradients (AttnvizTrainer *t, const AttnvizExample *ex, int n, const AttnvizTask *task,
                             double weight, gboolean accumulate, double *accuracy)
{
  g_autoptr(GError) error = NULL;
  if (!attnviz_batch_fill (t->batch, task, t->config.encoder_decoder, ex, n, &error))
    g_error ("%s", error->message); /* the caps come from the task: a bug */
  for (int b = 0; b < n; b++)
    t->batch->weight[b] = (float) weight;
  t->batch->entropy = 0.0;
  double loss = accumulate ? _attnviz_trainer_accumulate (t, t->batch) : attnviz_trainer_forward_backward (t, t->batch);
  if (accuracy)
    *accuracy = attnviz_trainer_batch_accuracy (t, t->batch);
  return loss;
}

static double
ce_step (AttnvizTrainer *t, AttnvizTask *task, AttnvizRng *rng, double *accuracy)
{
  int B = t->opt.batch;
  g_autofree AttnvizExample *ex = g_new0 (AttnvizExample, B);
  for (int b = 0; b < B; b++)
    attnviz_task_sample (task, rng, &ex[b]);
  double loss = _attnviz_train_ce_gradients (t, ex, B, task, 1.0, FALSE, accuracy);
  for (int b = 0; b < B; b++)
    attnviz_example_clear (&ex[b]);
  attnviz_trainer_update (t);
  return loss;
}

double
attnviz_trainer_train_step (AttnvizTrainer *t, AttnvizTask *task, AttnvizRng *rng, double *accuracy)
{
  if (t->opt.objective != ATTNVIZ_OBJECTIVE_CE)
    return _attnviz_train_pg_step (t, task, rng, accuracy);
  return ce_step (t, task, rng, accuracy);
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
  _attnviz_train_net_forward (&t->net, batch, FALSE);

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
/* ---------------------------------------------------------------- the loop */

/* CPU seconds the process has used, all its threads. */
static double
process_cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

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
  double train_cpu = 0.0;

  g_autofree char *base_dir = loop->out_path == NULL ? NULL
                              : g_str_has_suffix (loop->out_path, ".safetensors")
                                  ? g_path_get_dirname (loop->out_path)
                                  : g_strdup (loop->out_path);

  if (loop->eval_first && loop->report != NULL)
    {
      AttnvizEvalResult first;
      _attnviz_train_gemm_paused = TRUE;
      attnviz_trainer_evaluate (t, task, test_ex, n_quick, &first);
      _attnviz_train_gemm_paused = FALSE;
      AttnvizTrainReport rep = { .step = t->step, .steps = t->opt.steps, .pg_better = -1.0, .pg_worse = -1.0,
                                 .heldout_exact = first.exact,
                                 .heldout_tokens = first.tokens, .lr = _attnviz_trainer_learning_rate (t, t->step),
                                 .seconds = (g_get_monotonic_time () - t0) / 1e6 };
      loop->report (&rep, loop->report_data);
    }

  while (t->step < t->opt.steps && !stopped)
    {
      if (g_cancellable_set_error_if_cancelled (loop->cancellable, error))
        return FALSE;
      double acc = 0.0;
      gint64 s0 = g_get_monotonic_time ();
      double c0 = process_cpu_seconds ();
      sum_loss += attnviz_trainer_train_step (t, task, &rng, &acc);
      train_cpu += process_cpu_seconds () - c0;
      train_us += g_get_monotonic_time () - s0;
      sum_acc += acc;
      n_sum++;
      int step = t->step;
      gboolean last = step == t->opt.steps;

      AttnvizTrainReport rep = { .step = step, .steps = t->opt.steps, .heldout_exact = -1.0, .heldout_tokens = -1.0,
                                 .pg_better = -1.0, .pg_worse = -1.0 };
      gboolean report = loop->report_every > 0 && (step % loop->report_every == 0 || last);
      if (loop->eval_every > 0 && step % loop->eval_every == 0 && !last)
        {
          AttnvizEvalResult quick;
          _attnviz_train_gemm_paused = TRUE;
          attnviz_trainer_evaluate (t, task, test_ex, n_quick, &quick);
          if (loop->stop_at > 0.0 && quick.exact >= loop->stop_at && n_quick < n_test)
            attnviz_trainer_evaluate (t, task, test_ex, n_test, &quick);
          _attnviz_train_gemm_paused = FALSE;
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
          rep.lr = _attnviz_trainer_learning_rate (t, step);
          rep.seconds = (g_get_monotonic_time () - t0) / 1e6;
          rep.train_seconds = train_us / 1e6;
          rep.train_cpu_seconds = train_cpu;
          if (t->pg_rows > 0)
            {
              rep.pg_better = (double) t->pg_better / t->pg_rows;
              rep.pg_worse = (double) t->pg_worse / t->pg_rows;
            }
          loop->report (&rep, loop->report_data);
          sum_loss = sum_acc = 0.0;
          n_sum = 0;
          t->pg_rows = t->pg_better = t->pg_worse = 0;
        }
    }

  _attnviz_train_gemm_paused = TRUE;
  attnviz_trainer_evaluate (t, task, test_ex, n_test, result);
  _attnviz_train_gemm_paused = FALSE;
  if (loop->out_path != NULL && !attnviz_trainer_save (t, task, loop->out_path, loop->extra, error))
    return FALSE;
  if (loop->report != NULL)
    {
      AttnvizTrainReport rep = { .step = t->step, .steps = t->opt.steps, .loss = sum_loss / MAX (n_sum, 1),
                                 .accuracy = sum_acc / MAX (n_sum, 1),
                                 .lr = _attnviz_trainer_learning_rate (t, t->step),
                                 .seconds = (g_get_monotonic_time () - t0) / 1e6,
                                 .train_seconds = train_us / 1e6, .train_cpu_seconds = train_cpu,
                                 .heldout_exact = result->exact, .heldout_tokens = result->tokens, .final = TRUE,
                                 .pg_better = -1.0, .pg_worse = -1.0 };
      loop->report (&rep, loop->report_data);
    }
  return TRUE;
}
