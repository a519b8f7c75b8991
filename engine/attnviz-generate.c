/* attnviz-generate.c: decoding by running the whole sequence again for
 * every new token.  The models people open here are small or the outputs
 * short; a KV cache would be an optimisation, not a different answer. */
#define G_LOG_DOMAIN "attnviz-generate"
#include "config.h"

#include <math.h>

#include "attnviz-generate.h"

static int
pick (const float *logits, int n, double temperature, GRand *rand)
{
  int best = 0;
  for (int i = 1; i < n; i++)
    if (logits[i] > logits[best])
      best = i;
  if (temperature <= 0.0)
    return best;
  double max = logits[best], sum = 0.0;
  g_autofree double *p = g_new (double, n);
  for (int i = 0; i < n; i++)
    sum += p[i] = exp ((logits[i] - max) / temperature);
  double r = g_rand_double (rand) * sum;
  for (int i = 0; i < n; i++)
    if ((r -= p[i]) <= 0.0)
      return i;
  return n - 1;
}

gboolean
attnviz_generate (const AttnvizModel *model, GArray *ids, const AttnvizGenerateOptions *o, GError **error)
{
  const AttnvizConfig *c = &model->config;
  if (model->lm_head.w.data == NULL || !c->causal || c->encoder_decoder)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: generating needs a causal language model",
                   model->path);
      return FALSE;
    }
  g_autoptr(GRand) rand = g_rand_new_with_seed (o->seed);
  AttnvizRunOptions opt = { .record_none = TRUE, .cancellable = o->cancellable };
  /* A RoPE model writes on past the length it was trained at, as llama.cpp
   * lets it (stories260K's GGUF says 128 where llama2.c runs 512). */
  for (int step = 0; step < o->max_new && (int) ids->len < attnviz_config_max_positions (c); step++)
    {
      g_autoptr(AttnvizRecording) rec = attnviz_forward (model, (gint32 *) ids->data, ids->len, &opt, error);
      if (rec == NULL)
        return FALSE;
      gint32 next = pick (rec->last_logits, rec->vocab_size,
                          o->temperature, rand);
      if (next == o->eos_id || next == o->stop_id)
        break;
      g_array_append_val (ids, next);
      if (o->progress)
        o->progress (step + 1, MIN (o->max_new, attnviz_config_max_positions (c) - (int) ids->len + step + 1),
                     o->progress_data);
    }
  return TRUE;
}

GArray *
attnviz_generate_seq2seq (const AttnvizModel *model, const gint32 *src_ids, int S,
                          const AttnvizGenerateOptions *o, GError **error)
{
  const AttnvizConfig *c = &model->config;
  if (!c->encoder_decoder)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s is not an encoder-decoder model", model->path);
      return NULL;
    }
  gint32 bos = o->bos_id >= 0 ? o->bos_id : c->bos_id;
  if (bos < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: the model names no BOS token to start from",
                   model->path);
      return NULL;
    }
  g_autoptr(GArray) tgt = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_val (tgt, bos);
  g_autoptr(GRand) rand = g_rand_new_with_seed (o->seed);
  AttnvizRunOptions opt = { .record_none = TRUE, .cancellable = o->cancellable };
  int eos = o->eos_id >= 0 ? o->eos_id : c->eos_id;
  for (int step = 0; step < o->max_new && (int) tgt->len < c->n_ctx; step++)
    {
      g_autoptr(AttnvizRecording) rec = attnviz_forward_seq2seq (model, src_ids, S, (gint32 *) tgt->data, tgt->len,
                                                                 &opt, error);
      if (rec == NULL)
        return NULL;
      gint32 next = pick (rec->last_logits, rec->vocab_size,
                          o->temperature, rand);
      if (next == eos || next == o->stop_id)
        break;
      g_array_append_val (tgt, next);
      if (o->progress)
        o->progress (step + 1, MIN (o->max_new, c->n_ctx - (int) tgt->len + step + 1), o->progress_data);
    }
  return g_steal_pointer (&tgt);
}

GArray *
attnviz_generate_target_tokens (const AttnvizTokenizer *tokenizer, const gint32 *ids, int n, char **text)
{
  g_return_val_if_fail (tokenizer != NULL && text != NULL, NULL);

  GArray *tokens = g_array_sized_new (FALSE, FALSE, sizeof (AttnvizToken), MAX (n, 1));
  GString *out = g_string_new (NULL);
  int specials[] = { attnviz_tokenizer_get_bos_id (tokenizer), attnviz_tokenizer_get_eos_id (tokenizer),
                     attnviz_tokenizer_get_pad_id (tokenizer) };
  for (int i = 0; i < n; i++)
    {
      AttnvizToken tok = { .id = ids[i], .start = out->len, .end = out->len };
      for (guint k = 0; k < G_N_ELEMENTS (specials); k++)
        if (ids[i] == specials[k])
          tok.special = TRUE;
      if (!tok.special)
        {
          g_autoptr(GBytes) bytes = attnviz_tokenizer_decode_token (tokenizer, ids[i]);
          gsize len = 0;
          const char *data = bytes ? g_bytes_get_data (bytes, &len) : NULL;
          /* Each token on its own made valid: a span never cuts a character. */
          g_autofree char *valid = g_utf8_make_valid (data ? data : "", len);
          g_string_append (out, valid);
          tok.end = out->len;
        }
      g_array_append_val (tokens, tok);
    }
  *text = g_string_free (out, FALSE);
  return tokens;
}
