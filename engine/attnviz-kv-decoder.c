/* attnviz-kv-decoder.c: a decoder-only model fed a few tokens at a time,
 * attending to the keys and values it kept (attnviz-kv-decoder.h)
 *
 * A feed of n tokens is a run of the forward pass's layers over n rows
 * (RunState.T = n) whose positions start at the cache's length
 * (RunState.pos0): the embedding takes those positions, RoPE turns q and k
 * by them, and the attention block appends the rows' k and v to each
 * layer's cache and attends to all of it (attnviz-forward-attention.c).
 * Only the last row goes through the final norm and the LM head.
 */
#define G_LOG_DOMAIN "attnviz-kv-decoder"
#include "config.h"

#include <string.h>

#include "attnviz-kv-decoder.h"
#include "attnviz-forward-private.h"

struct _AttnvizKvDecoder {
  const AttnvizModel *model;
  AttnvizRunOptions opt;   /* the model as it is, nothing recorded, rows in whole tiles */
  Effective eff;
  RunState s;              /* work space for up to rows tokens */
  float *mem;              /* owns the work space */
  int rows;
  KvCache cache;           /* cache.capacity: the positions allocated so far */
  int limit;               /* the most it may hold */
  float *kv;               /* owns cache.k and cache.v */
};

/* Positions allocated at first: a generation that stops early (at EOS)
 * never pays for the whole limit; past them the cache doubles. */
#define FIRST_CAPACITY 256

/* Room for N positions at least (within the limit): the cache moved into
 * a larger allocation, layer by layer. */
static gboolean
ensure_capacity (AttnvizKvDecoder *self, int n, GError **error)
{
  KvCache *cache = &self->cache;
  if (n <= cache->capacity)
    return TRUE;
  int capacity = (int) MIN ((gint64) self->limit, MAX ((gint64) n, 2 * (gint64) cache->capacity));
  /* whole tiles of zeros past the positions filled (attend_head_tiled) */
  int tile = attnviz_row_tile ();
  capacity = (capacity + tile - 1) / tile * tile;
  int L = self->model->config.n_layer, dkv = cache->dkv;
  gsize size = (gsize) L * capacity * dkv;
  float *kv = g_try_new0 (float, 2 * size);
  if (kv == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory: keys and values of %d positions need %.2f GiB",
                   capacity, 2.0 * size * sizeof (float) / 1073741824.0);
      return FALSE;
    }
  for (int l = 0; l < L && cache->len > 0; l++)
    {
      memcpy (kv + (gsize) l * capacity * dkv, cache->k + (gsize) l * cache->capacity * dkv,
              sizeof (float) * cache->len * dkv);
      memcpy (kv + size + (gsize) l * capacity * dkv, cache->v + (gsize) l * cache->capacity * dkv,
              sizeof (float) * cache->len * dkv);
    }
  g_free (self->kv);
  self->kv = kv;
  cache->k = kv;
  cache->v = kv + size;
  cache->capacity = capacity;
  return TRUE;
}

AttnvizKvDecoder *
attnviz_kv_decoder_new (const AttnvizModel *model, int capacity, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  const AttnvizConfig *c = &model->config;
  if (model->lm_head.w.data == NULL || !c->causal || c->encoder_decoder || c->mlm_transform)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: decoding needs a causal language model",
                   model->path);
      return NULL;
    }
  if (capacity < 1 || capacity > attnviz_config_max_positions (c))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a cache of %d positions: the model runs 1 to %d", capacity, attnviz_config_max_positions (c));
      return NULL;
    }
  AttnvizKvDecoder *self = g_new0 (AttnvizKvDecoder, 1);
  self->model = model;
  self->opt.record_none = TRUE;
  self->opt.row_tiles = TRUE;
  self->limit = capacity;
  self->cache = (KvCache) { .capacity = 0, .len = 0, .dkv = c->n_kv_head * c->head_dim };
  _attnviz_forward_effective_init (&self->eff, model, &self->opt, capacity);
  if (!ensure_capacity (self, MIN (capacity, FIRST_CAPACITY), error))
    {
      attnviz_kv_decoder_free (self);
      return NULL;
    }
  return self;
}

void
attnviz_kv_decoder_free (AttnvizKvDecoder *self)
{
  if (self == NULL)
    return;
  g_free (self->eff.key_mask);
  g_free (self->mem);
  g_free (self->kv);
  g_free (self);
}

int
attnviz_kv_decoder_get_length (const AttnvizKvDecoder *self)
{
  return self->cache.len;
}

/* Work space for N rows: kept from the last feed when large enough. */
static gboolean
ensure_rows (AttnvizKvDecoder *self, int n, GError **error)
{
  if (n <= self->rows)
    return TRUE;
  g_clear_pointer (&self->mem, g_free);
  self->rows = 0;
  self->s = (RunState) { .model = self->model, .opt = &self->opt, .eff = &self->eff, .cache = &self->cache };
  self->mem = _attnviz_forward_run_state_alloc (&self->s, &self->model->config, n, n, error);
  if (self->mem == NULL)
    return FALSE;
  attnviz_rope_frequencies (self->s.inv_freq, self->model, NULL);
  self->rows = n;
  return TRUE;
}

/* A failed feed's N rows past the cache's length back to zeros, in every
 * layer; FALSE, for the caller to return. */
static gboolean
forget_rows (AttnvizKvDecoder *self, int n)
{
  KvCache *cache = &self->cache;
  for (int l = 0; l < self->model->config.n_layer; l++)
    {
      gsize at = ((gsize) l * cache->capacity + cache->len) * cache->dkv;
      memset (cache->k + at, 0, sizeof (float) * n * cache->dkv);
      memset (cache->v + at, 0, sizeof (float) * n * cache->dkv);
    }
  return FALSE;
}

gboolean
attnviz_kv_decoder_feed (AttnvizKvDecoder *self, const gint32 *ids, int n, float *logits, GCancellable *cancellable,
                         GError **error)
{
  g_return_val_if_fail (self != NULL && (ids != NULL || n == 0), FALSE);
  const AttnvizModel *m = self->model;
  const AttnvizConfig *c = &m->config;
  KvCache *cache = &self->cache;
  if (n <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "nothing to run: no tokens");
      return FALSE;
    }
  if (n > self->limit - cache->len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%d more tokens after %d pass the cache's %d positions", n, cache->len, self->limit);
      return FALSE;
    }
  for (int t = 0; t < n; t++)
    if (ids[t] < 0 || ids[t] >= c->vocab_size)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "token %d has id %d, outside the vocabulary of %d", cache->len + t, ids[t], c->vocab_size);
        return FALSE;
      }
  if (!ensure_rows (self, n, error) || !ensure_capacity (self, cache->len + n, error))
    return FALSE;

  /* The rows written into the cache count only once every layer ran: a
   * failed feed leaves the cache's length, and zeros in place of what it
   * wrote (a tiled head reads the keys and values to the end of its tile,
   * weighting the rows past its own by zero, and 0 * inf is NaN). */
  RunState *s = &self->s;
  s->T = n;
  s->pos0 = cache->len;
  gsize size = (gsize) n * c->d_model;
  _attnviz_forward_embed (s, ids);
  if (!_attnviz_forward_check_finite (s->x, size, "the embedding", -1, error))
    return FALSE;
  for (int layer = 0; layer < c->n_layer; layer++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return forget_rows (self, n);
      if (!_attnviz_forward_layer (s, &m->layers[layer], NULL, NULL, layer, NULL, 0, NULL, error)
          || !_attnviz_forward_check_finite (s->x, size, "layer", layer, error))
        return forget_rows (self, n);
    }
  if (logits != NULL && !_attnviz_forward_last_logits (s, logits, error))
    return forget_rows (self, n);
  cache->len += n;
  return TRUE;
}
