/* attnviz-forward-logits.c: the end of the forward pass: logits and loss
 *
 * The final norm (and a masked LM's transform), the LM head a block of
 * vocabulary columns (or rows) at a time, each row's negative
 * log-likelihood, the probability of the token it predicts and its top-k
 * candidates over the engine's threads; the logit lens, each layer's
 * stream read the same way; and the check for inf and NaN that the run
 * makes after the embedding, every layer and the logits.
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

/* Folds the NB logits of ROW (ids V0 ..) into a running top K by
 * insertion (K is small): IDS and VALS hold the N best so far, the most
 * likely first, ties to the lower id, so the order is the same whatever
 * the block size. */
static void
topk_insert (const float *row, int nb, int v0, int n, int K, gint32 *ids, float *vals)
{
  if (K <= 0)
    return;
  for (int j = 0; j < nb; j++)
    {
      /* once full, skip to the next logit above the k-th (most are not) */
      if (n == K && (j += (int) attnviz_first_above (row + j, nb - j, vals[K - 1])) >= nb)
        break;
      int at = n < K ? n++ : K - 1;
      while (at > 0 && vals[at - 1] < row[j])
        {
          ids[at] = ids[at - 1];
          vals[at] = vals[at - 1];
          at--;
        }
      ids[at] = v0 + j;
      vals[at] = row[j];
    }
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
  g_autofree float *vals = g_new (float, MAX (K, 1));
  for (gsize r = start; r < end; r++)
    {
      int t = job->t0 + (int) r;
      const float *row = job->logits + r * V;
      float max = attnviz_max_of (row, V);
      double lse = log (attnviz_sum_exp_shifted (row, V, max)) + max;

      gint32 *ids = rec->topk_ids + (gsize) t * K;
      float *probs = rec->topk_probs + (gsize) t * K;
      topk_insert (row, V, 0, 0, K, ids, vals);
      for (int i = 0; i < K; i++)
        probs[i] = (float) exp (vals[i] - lse);

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

/* Weights that are finite can still overflow float32 on the way (3e38 *
 * 3e38): a run must not go on to record attention rows that sum to 0 and
 * NaN logits.  The residual stream after each layer carries whatever
 * attention or the MLP produced, so checking it finds the first layer. */
gboolean
_attnviz_forward_check_finite (const float *x, gsize n, const char *where, int layer, GError **error)
{
  /* one pass of integer operations over the exponent bits, vectorised:
   * a few microseconds for a (T, d_model) stream, so it can run after
   * every layer */
  if (!attnviz_has_non_finite (x, n))
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

/* The loss and top-k a vocabulary block at a time: all T rows' logits for
 * the columns v0 .. v0 + nb (one product that reads that slice of the LM
 * head once), folded into each row's running maximum, sum of exponentials
 * and top-k.  The block stays within VOCAB_BLOCK_BYTES, so memory does not
 * grow with the vocabulary, the scratch is reused from run to run rather
 * than paged in afresh, and each block is read back while it is in cache. */
#define VOCAB_BLOCK_BYTES ((gsize) 8 << 20)

typedef struct {
  const float *block;       /* (T, nb) logits of columns v0 .. v0 + nb */
  int v0, nb;
  int T, K;
  float *max;               /* (T) running maximum */
  double *sum;              /* (T) running sum of exp (logit - max) */
  float *topv;              /* (T, K) the top-k's logits */
  gint32 *topk_ids;         /* (T, K) the top-k's ids */
  float *target;            /* (T) the logit of the token each row predicts, NAN until seen */
  const int *target_id;     /* (T) that token, -1: none; NULL: no targets */
} VocabJob;

static void
vocab_fold_range (gpointer data, gsize start, gsize end)
{
  const VocabJob *job = data;
  int K = job->K, nb = job->nb, v0 = job->v0;
  for (gsize t = start; t < end; t++)
    {
      const float *row = job->block + t * nb;
      float m = attnviz_max_of (row, nb);
      if (v0 == 0)
        {
          job->max[t] = m;
          job->sum[t] = attnviz_sum_exp_shifted (row, nb, m);
        }
      else if (m > job->max[t])
        {
          job->sum[t] = job->sum[t] * exp ((double) job->max[t] - m) + attnviz_sum_exp_shifted (row, nb, m);
          job->max[t] = m;
        }
      else
        job->sum[t] += attnviz_sum_exp_shifted (row, nb, job->max[t]);

      topk_insert (row, nb, v0, MIN (K, v0), K, job->topk_ids + t * K, job->topv + t * K);
      int target = job->target_id ? job->target_id[t] : -1;
      if (target >= v0 && target < v0 + nb)
        job->target[t] = row[target - v0];
    }
}

/* What a fold over the vocabulary fills for T rows: each row's top K
 * (ids, probabilities), and with TARGET_ID (T, -1: none) the loss and the
 * probability of that token (NaN for none). */
typedef struct {
  int T, K;
  gint32 *topk_ids;         /* (T, K) */
  float *topk_probs;        /* (T, K) */
  const int *target_id;     /* (T) or NULL */
  float *loss;              /* (T) with target_id */
  float *next_prob;         /* (T) with target_id */
  float *last_logits;       /* (V) the last row's logits, or NULL */
} VocabFold;

/* H (T, d_model) through the LM head a block of vocabulary columns at a
 * time, folded into F; a non-finite logit is an error naming WHERE (and
 * LAYER when >= 0). */
static gboolean
fold_by_vocab (RunState *s, const float *h, const VocabFold *f, const char *where, int layer, GError **error)
{
  const AttnvizModel *m = s->model;
  const AttnvizRunOptions *o = s->opt;
  int T = f->T, V = m->config.vocab_size, K = f->K;

  int nb = (int) MIN ((gsize) V, MAX ((gsize) 512, VOCAB_BLOCK_BYTES / ((gsize) T * sizeof (float))));
  nb = nb < V ? (nb + 15) / 16 * 16 : V;
  if (o->vocab_block > 0)
    nb = MIN (o->vocab_block, V);
  float *block = g_try_new (float, (gsize) T * nb);
  attnviz_advise_huge_pages (block, (gsize) T * nb * sizeof (float));
  float *max = g_try_new (float, T);
  double *sum = g_try_new (double, T);
  float *topv = g_try_new (float, (gsize) T * K);
  float *target = g_try_new (float, T);
  gboolean ok = block && max && sum && topv && target;
  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory computing logits over %d columns", nb);
  for (int t = 0; ok && t < T; t++)
    target[t] = NAN;
  for (int v0 = 0; ok && v0 < V; v0 += nb)
    {
      int n = MIN (nb, V - v0);
      AttnvizLinear slice = attnviz_linear_slice (&m->lm_head, v0, n);
      attnviz_linear (block, h, &slice, T);
      ok = _attnviz_forward_check_finite (block, (gsize) T * n, where, layer, error);
      if (!ok)
        break;
      VocabJob job = { block, v0, n, T, K, max, sum, topv, f->topk_ids, target, f->target_id };
      attnviz_parallel_for (T, 16, vocab_fold_range, &job);
      for (int j = 0; j < n && f->last_logits; j++)
        f->last_logits[v0 + j] = block[(gsize) (T - 1) * n + j];
    }
  for (int t = 0; ok && t < T; t++)
    {
      double lse = log (sum[t]) + max[t];
      for (int i = 0; i < K; i++)
        f->topk_probs[(gsize) t * K + i] = (float) exp (topv[(gsize) t * K + i] - lse);
      if (f->target_id == NULL)
        continue;
      gboolean none = f->target_id[t] < 0;
      f->loss[t] = none ? NAN : (float) (lse - target[t]);
      f->next_prob[t] = none ? NAN : (float) exp (target[t] - lse);
    }
  g_free (block);
  g_free (max);
  g_free (sum);
  g_free (topv);
  g_free (target);
  return ok;
}

/* The loss, the next token's probability and the top-k, a vocabulary
 * block at a time. */
static gboolean
head_and_loss_by_vocab (RunState *s, AttnvizRecording *rec, const float *h, const gint32 *ids, GError **error)
{
  const AttnvizConfig *c = &s->model->config;
  const AttnvizRunOptions *o = s->opt;
  int T = s->T;
  gboolean causal = c->causal || c->encoder_decoder;
  g_autofree int *target_id = g_try_new (int, T);
  if (target_id == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory");
      return FALSE;
    }
  for (int t = 0; t < T; t++)
    {
      /* The loss follows the model's own reading direction, whatever mask
       * the variant used: a causal model predicts the next token.  A
       * masked token (padding) has no likelihood to speak of. */
      int at = causal ? t + 1 : t;
      int id = at < T ? ids[at] : -1;
      target_id[t] = id < 0 || (o->key_mask && !o->key_mask[at]) ? -1 : id;
    }
  VocabFold f = { T, rec->top_k, rec->topk_ids, rec->topk_probs, target_id, rec->loss, rec->next_prob,
                  rec->last_logits };
  return fold_by_vocab (s, h, &f, "the output layer (logits)", -1, error);
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
  if (c->head_scale > 0.0f)
    {
      /* T5 with a tied head rescales the final state by d_model^-0.5 */
      if (h != out)
        memcpy (out, h, (gsize) n * c->d_model * sizeof (float));
      for (gsize i = 0; i < (gsize) n * c->d_model; i++)
        out[i] *= c->head_scale;
      h = out;
    }
  if (c->mlm_transform)
    {
      attnviz_linear (tmp, h, &m->mlm_dense, n);
      attnviz_activate (tmp, (gsize) n * c->d_model, c->mlm_gelu ? ATTNVIZ_ACT_GELU_ERF : c->act);
      attnviz_norm_rows (c, out, tmp, m->mlm_norm_w, m->mlm_norm_b, n);
      h = out;
    }
  return h;
}

gboolean
_attnviz_forward_last_logits (RunState *s, float *logits, GError **error)
{
  const AttnvizModel *m = s->model;
  const float *last = s->x + (gsize) (s->T - 1) * m->config.d_model;
  const float *h = _attnviz_forward_head_input (m, last, 1, s->h, s->tmp);
  attnviz_linear (logits, h, &m->lm_head, 1);
  return _attnviz_forward_check_finite (logits, m->config.vocab_size, "the output layer (logits)", -1, error);
}

/* The lens after LAYER: the stream read as the output reads it when its
 * logits are neither kept nor streamed (the same fold), so the last
 * layer's equals the output's top-k then to the bit.  s->h and s->tmp are
 * free between layers. */
gboolean
_attnviz_forward_lens (RunState *s, AttnvizRecording *rec, int layer, GError **error)
{
  int T = s->T, K = rec->top_k;
  const float *h = _attnviz_forward_head_input (s->model, s->x, T, s->h, s->tmp);
  gsize at = (gsize) layer * T * K;
  VocabFold f = { T, K, rec->lens_topk_ids + at, rec->lens_topk_probs + at, NULL, NULL, NULL, NULL };
  return fold_by_vocab (s, h, &f, "the logit lens after layer", layer, error);
}

/* The final norm, the LM head and the loss: a block of vocabulary columns
 * at a time (head_and_loss_by_vocab), or, when the logits are kept or
 * streamed, a block of rows at a time:
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

  if (rec->logits == NULL && o->logits_func == NULL)
    return head_and_loss_by_vocab (s, rec, h, ids, error);

  int rows = (int) CLAMP (LOGITS_BLOCK_BYTES / ((gsize) V * sizeof (float)), 16, 4096);
  rows = MIN (rows, T);
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
