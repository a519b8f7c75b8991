/* attnviz-forward-logits.c: the end of the forward pass: logits and loss
 *
 * The final norm (and a masked LM's transform), the LM head a block of rows
 * at a time, each row's negative log-likelihood and top-k candidates over
 * the engine's threads; and the check for inf and NaN that the run makes
 * after the embedding, every layer and the logits.
 */
#define G_LOG_DOMAIN "attnviz-forward"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-forward-private.h"
#include "attnviz-kernels.h"
#include "attnviz-parallel.h"

/* Rows of logits computed at once: their scratch (rows, V) stays within
 * LOGITS_BLOCK_BYTES (a 128k vocabulary takes 0.5 MiB a row), and a
 * quantized LM head is dequantized once per block. */
#define LOGITS_BLOCK_BYTES ((gsize) 256 << 20)

typedef struct {
  const float *logits;      /* (n, V) rows t0 .. t0 + n */
  int t0;
  const gint32 *ids;        /* (T) */
  const guint8 *key_mask;   /* (T) or NULL */
  int T;
  int V;
  gboolean causal;
  AttnvizRecording *rec;
} LossJob;

/* The log of the sum of exponentials of ROW (V), in double. */
static double
log_sum_exp (const float *row, int V)
{
  float max = attnviz_max_of (row, V);
  return log (attnviz_sum_exp_shifted (row, V, max)) + max;
}

/* IDS (K) = the K largest of ROW (V), largest first (the lower id first
 * among equals), PROBS (K) their probabilities given the row's LSE.
 * Insertion: K is small beside V. */
static void
top_k_of_row (const float *row, int V, double lse, int K, gint32 *ids, float *probs)
{
  int n = 0;
  for (int j = 0; j < V; j++)
    {
      if (n == K && row[j] <= row[ids[K - 1]])
        continue;
      int at = n < K ? n++ : K - 1;
      while (at > 0 && row[ids[at - 1]] < row[j])
        {
          ids[at] = ids[at - 1];
          at--;
        }
      ids[at] = j;
    }
  for (int i = 0; i < K; i++)
    probs[i] = (float) exp (row[ids[i]] - lse);
}

/* For each row in [start, end) of a block: the negative log-likelihood of
 * the token it predicts (a log-softmax over the vocabulary, in double),
 * that token's probability, and the row's top-k candidates with their
 * probabilities. */
static void
loss_range (gpointer data, gsize start, gsize end)
{
  const LossJob *job = data;
  AttnvizRecording *rec = job->rec;
  int T = job->T, V = job->V, K = rec->top_k;
  for (gsize r = start; r < end; r++)
    {
      int t = job->t0 + (int) r;
      const float *row = job->logits + r * V;
      double lse = log_sum_exp (row, V);
      top_k_of_row (row, V, lse, K, rec->topk_ids + (gsize) t * K, rec->topk_probs + (gsize) t * K);

      int at = job->causal ? t + 1 : t;
      int target = at < T ? job->ids[at] : -1;
      /* A masked token (padding) has no likelihood to speak of. */
      if (target < 0 || (job->key_mask && !job->key_mask[at]))
        rec->loss[t] = rec->next_prob[t] = NAN;
      else
        {
          rec->loss[t] = (float) (lse - row[target]);
          rec->next_prob[t] = (float) exp (row[target] - lse);
        }
    }
}

typedef struct {
  const float *logits;      /* (n, V) rows t0 .. t0 + n */
  int t0, V, K;
  gint32 *ids;              /* (T, K) */
  float *probs;             /* (T, K) */
} TopKJob;

static void
top_k_range (gpointer data, gsize start, gsize end)
{
  const TopKJob *job = data;
  for (gsize r = start; r < end; r++)
    {
      const float *row = job->logits + r * job->V;
      gsize at = (gsize) (job->t0 + (int) r) * job->K;
      top_k_of_row (row, job->V, log_sum_exp (row, job->V), job->K, job->ids + at, job->probs + at);
    }
}

/* Whether any of the N floats of X is an infinity or a NaN: one pass of
 * integer ops over the exponent bits (vectorised, a few microseconds for
 * a (T, d_model) stream), so it can run after every layer. */
static gboolean
has_non_finite (const float *x, gsize n)
{
  guint32 acc = 0;
  for (gsize i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, x + i, sizeof bits);
      /* an all-ones exponent carries into bit 31 */
      acc |= (bits & 0x7f800000u) + 0x00800000u;
    }
  return (acc & 0x80000000u) != 0;
}

/* Weights that are finite can still overflow float32 on the way (3e38 *
 * 3e38): a run must not go on to record attention rows that sum to 0 and
 * NaN logits.  The residual stream after each layer carries whatever
 * attention or the MLP produced, so checking it finds the first layer. */
gboolean
_attnviz_forward_check_finite (const float *x, gsize n, const char *where, int layer, GError **error)
{
  if (!has_non_finite (x, n))
    return TRUE;
  if (layer >= 0)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "%s %d produced a non-finite value (inf or NaN in its output): an activation overflows float32",
                 where, layer);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "%s produced a non-finite value (inf or NaN): an activation overflows float32", where);
  return FALSE;
}

const float *
_attnviz_forward_head_input (const AttnvizModel *m, const float *x, int n, float *out, float *tmp)
{
  const AttnvizConfig *c = &m->config;
  const float *h = x;
  if (c->final_norm)
    {
      attnviz_norm_rows (c, out, x, m->final_norm_w, m->final_norm_b, n);
      h = out;
    }
  if (c->mlm_transform)
    {
      attnviz_linear (tmp, h, &m->mlm_dense, n);
      attnviz_activate (tmp, (gsize) n * c->d_model, c->act);
      attnviz_norm_rows (c, out, tmp, m->mlm_norm_w, m->mlm_norm_b, n);
      h = out;
    }
  return h;
}

/* Rows of logits a block holds for a vocabulary of V. */
static int
logits_block_rows (int V, int T)
{
  int rows = (int) CLAMP (LOGITS_BLOCK_BYTES / ((gsize) V * sizeof (float)), 16, 4096);
  return MIN (rows, T);
}

gboolean
_attnviz_forward_lens (RunState *s, AttnvizRecording *rec, int layer, GError **error)
{
  const AttnvizModel *m = s->model;
  int T = s->T, d = m->config.d_model, V = m->config.vocab_size, K = rec->top_k;
  /* s->h and s->tmp are free between layers */
  const float *h = _attnviz_forward_head_input (m, s->x, T, s->h, s->tmp);
  int rows = logits_block_rows (V, T);
  g_autofree float *block = g_try_new (float, (gsize) rows * V);
  if (block == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory computing %d rows of logits", rows);
      return FALSE;
    }
  gsize at = (gsize) layer * T * K;
  for (int t0 = 0; t0 < T; t0 += rows)
    {
      int n = MIN (rows, T - t0);
      attnviz_linear (block, h + (gsize) t0 * d, &m->lm_head, n);
      if (!_attnviz_forward_check_finite (block, (gsize) n * V, "the logit lens after layer", layer, error))
        return FALSE;
      TopKJob job = { block, t0, V, K, rec->lens_topk_ids + at, rec->lens_topk_probs + at };
      attnviz_parallel_for (n, 1, top_k_range, &job);
    }
  return TRUE;
}

/* The final norm, the LM head and the loss, a block of rows at a time:
 * each block's logits go to the loss and top-k, to rec->logits when kept,
 * to the options' logits_func, and the last row to rec->last_logits. */
gboolean
_attnviz_forward_head_and_loss (RunState *s, AttnvizRecording *rec, const gint32 *ids, GError **error)
{
  const AttnvizModel *m = s->model;
  const AttnvizConfig *c = &m->config;
  const AttnvizRunOptions *o = s->opt;
  int T = s->T, d = c->d_model, V = c->vocab_size;
  const float *h = _attnviz_forward_head_input (m, s->x, T, s->h, s->tmp);
  int rows = logits_block_rows (V, T);
  float *block = rec->logits ? NULL : g_try_new (float, (gsize) rows * V);
  if (rec->logits == NULL && block == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory computing %d rows of logits", rows);
      return FALSE;
    }
  gboolean ok = TRUE;
  for (int t0 = 0; t0 < T && ok; t0 += rows)
    {
      int n = MIN (rows, T - t0);
      float *out = rec->logits ? rec->logits + (gsize) t0 * V : block;
      attnviz_linear (out, h + (gsize) t0 * d, &m->lm_head, n);
      ok = _attnviz_forward_check_finite (out, (gsize) n * V, "the output layer (logits)", -1, error);
      if (!ok)
        break;
      /* The loss follows the model's own reading direction, whatever mask
       * the variant used: a causal model predicts the next token. */
      LossJob job = { out, t0, ids, o->key_mask, T, V, c->causal || c->encoder_decoder, rec };
      attnviz_parallel_for (n, 1, loss_range, &job);
      if (t0 + n == T)
        memcpy (rec->last_logits, out + (gsize) (n - 1) * V, sizeof (float) * V);
      if (o->logits_func)
        ok = o->logits_func (out, t0, n, V, o->logits_data, error);
    }
  g_free (block);
  return ok;
}
