/* attnviz-train-batch.c: what a training run is fed
 *
 * The options' defaults and the parsing of their strings, the model config
 * and context a task needs, and batches: examples as padded rows of ids
 * (source, decoder input, target) with their lengths and weights.
 */
#define G_LOG_DOMAIN "attnviz-train"
#include "config.h"

#include <string.h>

#include "attnviz-train.h"
#include "attnviz-train-private.h"

/* ---------------------------------------------------------------- options */

void
attnviz_train_options_init (AttnvizTrainOptions *opt)
{
  *opt = (AttnvizTrainOptions) {
    .steps = 2000,
    .batch = 32,
    .lr = 1e-3,
    .warmup = 100,
    .min_lr = 0.1,
    .weight_decay = 0.01,
    .beta1 = 0.9,
    .beta2 = 0.98,
    .adam_eps = 1e-8,
    .grad_clip = 1.0,
    .dropout = 0.0,
    .seed = 1,
    .objective = ATTNVIZ_OBJECTIVE_CE,
    .reward = ATTNVIZ_REWARD_EXACT,
    .reward_mix = 0.5,
    .pg_sample = TRUE,
    .baseline = ATTNVIZ_BASELINE_GREEDY,
    .baseline_decay = 0.9,
    .pg_weight = 0.5,
    .pg_ramp = 0,
    .entropy = 0.0,
  };
}

/* ---------------------------------------------------------------- batches */

AttnvizBatch *
attnviz_batch_new (int cap_B, int cap_S, int cap_T)
{
  AttnvizBatch *b = g_new0 (AttnvizBatch, 1);
  b->cap_B = cap_B;
  b->cap_S = cap_S;
  b->cap_T = cap_T;
  b->src = g_new0 (gint32, (gsize) cap_B * MAX (cap_S, 1));
  b->src_len = g_new0 (int, cap_B);
  b->inp = g_new0 (gint32, (gsize) cap_B * cap_T);
  b->tgt = g_new0 (gint32, (gsize) cap_B * cap_T);
  b->weight = g_new0 (float, cap_B);
  return b;
}

void
attnviz_batch_free (AttnvizBatch *b)
{
  if (b == NULL)
    return;
  g_free (b->src);
  g_free (b->src_len);
  g_free (b->inp);
  g_free (b->tgt);
  g_free (b->weight);
  g_free (b);
}

static void
example_rows (const AttnvizTask *task, gboolean seq2seq, const AttnvizExample *ex, Rows *r)
{
  gint32 bos = ATTNVIZ_TASK_BOS, eos = ATTNVIZ_TASK_EOS, none = -1;
  g_array_set_size (r->src, 0);
  g_array_set_size (r->inp, 0);
  g_array_set_size (r->tgt, 0);
  g_autoptr(GArray) tgt = g_array_new (FALSE, FALSE, sizeof (gint32));
  attnviz_task_encode (task, ex->target, tgt);

  if (ex->source == NULL)
    {
      /* plain text: <bos> c0 .. c(n-2) predicts c0 .. c(n-1) */
      g_array_append_val (r->inp, bos);
      g_array_append_vals (r->inp, tgt->data, tgt->len - 1);
      g_array_append_vals (r->tgt, tgt->data, tgt->len);
      return;
    }
  g_autoptr(GArray) src = g_array_new (FALSE, FALSE, sizeof (gint32));
  attnviz_task_encode (task, ex->source, src);
  if (seq2seq)
    {
      g_array_append_vals (r->src, src->data, src->len);
      g_array_append_val (r->src, eos);
      g_array_append_val (r->inp, bos);
      g_array_append_vals (r->inp, tgt->data, tgt->len);
      g_array_append_vals (r->tgt, tgt->data, tgt->len);
      g_array_append_val (r->tgt, eos);
      return;
    }
  if (!attnviz_task_has_separator (task))
    {
      /* <bos> source target, the loss on the target: one running text */
      g_array_append_val (r->inp, bos);
      g_array_append_vals (r->inp, src->data, src->len);
      g_array_append_vals (r->inp, tgt->data, tgt->len);
      g_array_set_size (r->inp, r->inp->len - 1);
      for (guint i = 0; i < src->len; i++)
        g_array_append_val (r->tgt, none);
      g_array_append_vals (r->tgt, tgt->data, tgt->len);
      return;
    }
  /* <bos> source <eos> target <eos>: the loss on "target <eos>" */
  g_array_append_val (r->inp, bos);
  g_array_append_vals (r->inp, src->data, src->len);
  g_array_append_val (r->inp, eos);
  g_array_append_vals (r->inp, tgt->data, tgt->len);
  for (guint i = 0; i < src->len + 1; i++)
    g_array_append_val (r->tgt, none);
  g_array_append_vals (r->tgt, tgt->data, tgt->len);
  g_array_append_val (r->tgt, eos);
}

void
_attnviz_train_rows_init (Rows *r)
{
  r->src = g_array_new (FALSE, FALSE, sizeof (gint32));
  r->inp = g_array_new (FALSE, FALSE, sizeof (gint32));
  r->tgt = g_array_new (FALSE, FALSE, sizeof (gint32));
}

void
_attnviz_train_rows_clear (Rows *r)
{
  g_array_unref (r->src);
  g_array_unref (r->inp);
  g_array_unref (r->tgt);
}

/* What the model is given before it decodes: the encoder's source and
 * the decoder's first tokens (<bos>; <bos> source <eos>; <bos> source). */
void
_attnviz_train_example_prompt (const AttnvizTask *task, gboolean seq2seq, const char *source,
                               GArray *src, GArray *prompt)
{
  gint32 bos = ATTNVIZ_TASK_BOS, eos = ATTNVIZ_TASK_EOS;
  g_array_set_size (src, 0);
  g_array_set_size (prompt, 0);
  g_array_append_val (prompt, bos);
  if (seq2seq)
    {
      attnviz_task_encode (task, source, src);
      g_array_append_val (src, eos);
      return;
    }
  attnviz_task_encode (task, source, prompt);
  if (attnviz_task_has_separator (task))
    g_array_append_val (prompt, eos);
}

gboolean
attnviz_batch_fill (AttnvizBatch *batch,
                    const AttnvizTask *task,
                    gboolean seq2seq,
                    const AttnvizExample *examples,
                    int n,
                    GError **error)
{
  g_return_val_if_fail (n > 0 && n <= batch->cap_B, FALSE);
  Rows r;
  _attnviz_train_rows_init (&r);
  int S = 0, T = 0;
  for (int b = 0; b < n; b++)
    {
      example_rows (task, seq2seq, &examples[b], &r);
      S = MAX (S, (int) r.src->len);
      T = MAX (T, (int) r.inp->len);
    }
  if (S > batch->cap_S || T > batch->cap_T)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "an example needs %d source and %d target positions; the model has %d and %d", S, T,
                   batch->cap_S, batch->cap_T);
      _attnviz_train_rows_clear (&r);
      return FALSE;
    }
  batch->B = n;
  batch->S = S;
  batch->T = T;
  batch->entropy = 0.0;
  for (int b = 0; b < n; b++)
    {
      example_rows (task, seq2seq, &examples[b], &r);
      for (int s = 0; s < S; s++)
        batch->src[(gsize) b * S + s] = s < (int) r.src->len ? g_array_index (r.src, gint32, s) : ATTNVIZ_TASK_PAD;
      batch->src_len[b] = r.src->len;
      for (int t = 0; t < T; t++)
        {
          gboolean in = t < (int) r.inp->len;
          batch->inp[(gsize) b * T + t] = in ? g_array_index (r.inp, gint32, t) : ATTNVIZ_TASK_PAD;
          batch->tgt[(gsize) b * T + t] = in ? g_array_index (r.tgt, gint32, t) : -1;
        }
      batch->weight[b] = 1.0f;
    }
  _attnviz_train_rows_clear (&r);
  return TRUE;
}

/* ---------------------------------------------------------------- descriptions */

int
attnviz_train_context_for (const AttnvizTask *task, gboolean seq2seq, int *max_S, int *max_T)
{
  int ls = attnviz_task_get_max_source (task), lt = attnviz_task_get_max_target (task);
  int S = 0, T;
  if (!attnviz_task_has_source (task))
    T = lt;                    /* <bos> text minus its last character */
  else if (seq2seq)
    {
      S = ls + 1;              /* source <eos> */
      T = lt + 1;              /* <bos> target */
    }
  else if (attnviz_task_has_separator (task))
    T = ls + lt + 2;           /* <bos> source <eos> target */
  else
    T = ls + lt;               /* <bos> source target, minus the last */
  if (max_S)
    *max_S = S;
  if (max_T)
    *max_T = T;
  return MAX (S, T);
}

void
attnviz_train_config_init (AttnvizConfig *c, const AttnvizTask *task, gboolean seq2seq)
{
  memset (c, 0, sizeof *c);
  c->family = ATTNVIZ_FAMILY_ATTNVIZ;
  c->encoder_decoder = seq2seq;
  c->n_layer = 2;
  c->n_enc_layer = seq2seq ? 2 : 0;
  c->d_model = 64;
  c->n_head = 4;
  c->n_kv_head = 4;
  c->head_dim = 16;
  c->d_ff = 256;
  c->vocab_size = attnviz_task_get_vocab_size (task);
  /* Room for every training sequence and its last token (a recording of a
   * whole example), rounded up to a multiple of 8. */
  c->n_ctx = (attnviz_train_context_for (task, seq2seq, NULL, NULL) + 1 + 7) / 8 * 8;
  c->norm_eps = 1e-5f;
  c->rope_theta = 10000.0f;
  c->norm = ATTNVIZ_NORM_LAYERNORM;
  c->pre_norm = TRUE;
  c->final_norm = TRUE;
  c->act = ATTNVIZ_ACT_RELU;
  c->pos = ATTNVIZ_POS_SINUSOIDAL;
  c->causal = TRUE;
  c->score = ATTNVIZ_SCORE_SCALED_DOT;
  c->qkv_bias = c->out_bias = c->mlp_bias = TRUE;
  c->tied_embeddings = TRUE;
  c->has_lm_head = TRUE;
  c->bos_id = ATTNVIZ_TASK_BOS;
  c->eos_id = ATTNVIZ_TASK_EOS;
  c->pad_id = ATTNVIZ_TASK_PAD;
}

gboolean
attnviz_train_parse_position (const char *s, AttnvizPositionKind *pos, GError **error)
{
  static const AttnvizPositionKind all[] = { ATTNVIZ_POS_SINUSOIDAL, ATTNVIZ_POS_LEARNED, ATTNVIZ_POS_ROPE,
                                             ATTNVIZ_POS_NONE };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    if (g_strcmp0 (s, attnviz_position_kind_to_string (all[i])) == 0)
      {
        *pos = all[i];
        return TRUE;
      }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "unknown positional encoding \"%s\" (sinusoidal, learned, rope or none)", s);
  return FALSE;
}

gboolean
attnviz_train_parse_activation (const char *s, AttnvizActivation *act, GError **error)
{
  if (g_strcmp0 (s, "relu") == 0)
    *act = ATTNVIZ_ACT_RELU;
  else if (g_strcmp0 (s, "gelu") == 0)
    *act = ATTNVIZ_ACT_GELU_ERF;
  else if (g_strcmp0 (s, "gelu_new") == 0 || g_strcmp0 (s, "gelu-tanh") == 0)
    *act = ATTNVIZ_ACT_GELU_TANH;
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown activation \"%s\" (relu or gelu)", s);
      return FALSE;
    }
  return TRUE;
}
