/* attnviz-generate.c: decoding, greedy or sampled
 *
 * A decoder-only model decodes through an AttnvizKvDecoder
 * (attnviz-kv-decoder.c): the prompt runs once, then each new token alone against
 * the keys and values of the positions before it.  no_cache runs the
 * whole sequence again for every token instead, the reference the cache
 * is tested and timed against.  An encoder-decoder's target still runs
 * whole each step (its cross-attention would want a cache of its own;
 * the targets it writes here are short).
 */
#define G_LOG_DOMAIN "attnviz-generate"
#include "config.h"

#include <math.h>

#include "attnviz-kv-decoder.h"
#include "attnviz-generate.h"

typedef struct {
  const double *p;
} ByProb;

/* Descending probability, the lower id first among equals. */
static int
compare_prob (gconstpointer a, gconstpointer b, gpointer data)
{
  const double *p = ((const ByProb *) data)->p;
  gint32 i = *(const gint32 *) a, j = *(const gint32 *) b;
  if (p[i] != p[j])
    return p[i] < p[j] ? 1 : -1;
  return (i > j) - (i < j);
}

/* The next token from LOGITS (N): the most likely one at temperature 0,
 * else a draw from softmax (logits / temperature) restricted to the top_k
 * most likely tokens and then to the smallest head of them whose
 * probability reaches top_p of what is left. */
static int
pick (const float *logits, int n, const AttnvizGenerateOptions *o, GRand *rand)
{
  int best = 0;
  for (int i = 1; i < n; i++)
    if (logits[i] > logits[best])
      best = i;
  if (o->temperature <= 0.0)
    return best;
  double max = logits[best], sum = 0.0;
  g_autofree double *p = g_new (double, n);
  for (int i = 0; i < n; i++)
    sum += p[i] = exp ((logits[i] - max) / o->temperature);
  gboolean cut_k = o->top_k > 0 && o->top_k < n, cut_p = o->top_p > 0.0 && o->top_p < 1.0;
  if (!cut_k && !cut_p)
    {
      double r = g_rand_double (rand) * sum;
      for (int i = 0; i < n; i++)
        if ((r -= p[i]) <= 0.0)
          return i;
      return n - 1;
    }
  g_autofree gint32 *order = g_new (gint32, n);
  for (int i = 0; i < n; i++)
    order[i] = i;
  ByProb by = { p };
  g_qsort_with_data (order, n, sizeof (gint32), compare_prob, &by);
  int keep = cut_k ? o->top_k : n;
  double kept = 0.0;
  for (int r = 0; r < keep; r++)
    kept += p[order[r]];
  if (cut_p)
    {
      double cum = 0.0;
      for (int r = 0; r < keep; r++)
        if ((cum += p[order[r]]) >= o->top_p * kept)
          {
            keep = r + 1;
            kept = cum;
            break;
          }
    }
  double r = g_rand_double (rand) * kept;
  for (int i = 0; i < keep; i++)
    if ((r -= p[order[i]]) <= 0.0)
      return order[i];
  return order[keep - 1];
}

static void
report (const AttnvizGenerateOptions *o, int done, int most)
{
  if (o->progress)
    o->progress (done, most, o->progress_data);
}

/* Each step runs the whole sequence again. */
static gboolean
generate_uncached (const AttnvizModel *model, GArray *ids, const AttnvizGenerateOptions *o, GRand *rand,
                   GError **error)
{
  const AttnvizConfig *c = &model->config;
  /* Rows in whole tiles, as the cache's steps run them: the same bits. */
  AttnvizRunOptions opt = { .record_none = TRUE, .row_tiles = TRUE, .cancellable = o->cancellable };
  /* A RoPE model writes on past the length it was trained at, as llama.cpp
   * lets it (stories260K's GGUF says 128 where llama2.c runs 512). */
  for (int step = 0; step < o->max_new && (int) ids->len < attnviz_config_max_positions (c); step++)
    {
      g_autoptr(AttnvizRecording) rec = attnviz_forward (model, (gint32 *) ids->data, ids->len, &opt, error);
      if (rec == NULL)
        return FALSE;
      gint32 next = pick (rec->last_logits, rec->vocab_size, o, rand);
      if (o->step_func)
        o->step_func (step, rec->last_logits, rec->vocab_size, next, o->step_data);
      if (next == o->eos_id || next == o->stop_id)
        break;
      g_array_append_val (ids, next);
      report (o, step + 1, MIN (o->max_new, attnviz_config_max_positions (c) - (int) ids->len + step + 1));
    }
  return TRUE;
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
  if (o->no_cache)
    return generate_uncached (model, ids, o, rand, error);

  int max_pos = attnviz_config_max_positions (c);
  int start = ids->len;
  if (o->max_new <= 0 || start >= max_pos)
    return TRUE;
  /* the prompt checked as a whole run checks it */
  if (start == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "nothing to run: no tokens");
      return FALSE;
    }
  /* Room for every token but the last, which is picked and never fed. */
  int capacity = (int) MIN ((gint64) start + o->max_new - 1, (gint64) max_pos);
  capacity = MAX (capacity, start);
  int most = MIN (o->max_new, max_pos - start);
  g_autoptr(AttnvizKvDecoder) dec = attnviz_kv_decoder_new (model, capacity, error);
  if (dec == NULL)
    return FALSE;
  g_autofree float *logits = g_new (float, c->vocab_size);
  if (!attnviz_kv_decoder_feed (dec, (gint32 *) ids->data, start, logits, o->cancellable, error))
    return FALSE;
  for (int step = 0; step < most; step++)
    {
      gint32 next = pick (logits, c->vocab_size, o, rand);
      if (o->step_func)
        o->step_func (step, logits, c->vocab_size, next, o->step_data);
      if (next == o->eos_id || next == o->stop_id)
        break;
      g_array_append_val (ids, next);
      report (o, step + 1, most);
      if (step + 1 < most && !attnviz_kv_decoder_feed (dec, &next, 1, logits, o->cancellable, error))
        return FALSE;
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
      gint32 next = pick (rec->last_logits, rec->vocab_size, o, rand);
      if (o->step_func)
        o->step_func (step, rec->last_logits, rec->vocab_size, next, o->step_data);
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
