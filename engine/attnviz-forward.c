/* attnviz-forward.c: the forward pass, one generic transformer
 *
 * All matrix products run over the whole sequence at once through
 * cblas_sgemm (OpenBLAS brings its own threads).  The attention
 * probabilities are written straight into the recording when that layer
 * and head are recorded, into a scratch (T, T) matrix otherwise.
 *
 * What OpenBLAS does not run (softmax rows, activations, norms, the loss)
 * is split over the same number of threads by attnviz_parallel_for ()
 * (attnviz-parallel.h).
 */
#define G_LOG_DOMAIN "attnviz-forward"
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "attnviz-forward-private.h"
#include "attnviz-kernels.h"
#include "attnviz-parallel.h"

static gboolean
check_inputs (const AttnvizModel *m, const gint32 *ids, int T, const AttnvizRunOptions *o, GError **error)
{
  const AttnvizConfig *c = &m->config;
  if (T <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "nothing to run: no tokens");
      return FALSE;
    }
  if (T > attnviz_config_max_positions (c))
    {
      if (c->pos == ATTNVIZ_POS_LEARNED)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "%d tokens are more than the model's context of %d", T, c->n_ctx);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "%d tokens are more than the %d positions attnviz runs", T, attnviz_config_max_positions (c));
      return FALSE;
    }
  for (int t = 0; t < T; t++)
    {
      if (ids[t] < 0 || ids[t] >= c->vocab_size)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "token %d has id %d, outside the vocabulary of %d", t, ids[t], c->vocab_size);
          return FALSE;
        }
      if (o->positions && (o->positions[t] < 0 || (c->pos == ATTNVIZ_POS_LEARNED && o->positions[t] >= c->n_ctx)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "token %d has position %d, outside the model's %d positions", t, o->positions[t], c->n_ctx);
          return FALSE;
        }
      if (o->token_types && (o->token_types[t] < 0 || o->token_types[t] >= MAX (c->n_token_types, 1)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "token %d has type %d; the model has %d token types", t, o->token_types[t], c->n_token_types);
          return FALSE;
        }
    }
  for (int i = 0; i < o->n_layers && o->layers; i++)
    if (o->layers[i] < 0 || o->layers[i] >= c->n_layer)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "layer %d does not exist: the model has layers 0-%d", o->layers[i], c->n_layer - 1);
        return FALSE;
      }
  for (int i = 0; i < o->n_heads && o->heads; i++)
    if (o->heads[i] < 0 || o->heads[i] >= c->n_head)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "head %d does not exist: the model has heads 0-%d", o->heads[i], c->n_head - 1);
        return FALSE;
      }
  if (o->variant && !attnviz_variant_check (o->variant, c, error))
    return FALSE;
  return TRUE;
}

void
_attnviz_forward_effective_init (Effective *e, const AttnvizModel *m, const AttnvizRunOptions *o, int T)
{
  const AttnvizConfig *c = &m->config;
  static const AttnvizVariant model_variant = { 0 };
  const AttnvizVariant *v = o->variant ? o->variant : &model_variant;

  memset (e, 0, sizeof *e);
  e->config = c;
  e->variant = o->variant;
  switch (v->mask)
    {
    case ATTNVIZ_MASK_MODEL: e->causal = c->causal; break;
    case ATTNVIZ_MASK_CAUSAL: e->causal = TRUE; break;
    case ATTNVIZ_MASK_BIDIRECTIONAL: e->causal = FALSE; break;
    case ATTNVIZ_MASK_WINDOW:
    case ATTNVIZ_MASK_STRIDED:
    case ATTNVIZ_MASK_PATTERN: e->causal = c->causal; break;
    default: g_assert_not_reached ();
    }
  e->pattern = attnviz_variant_effective_pattern (v, &c->pattern);

  e->score = c->score;
  e->scale = c->score == ATTNVIZ_SCORE_DOT ? 1.0f : 1.0f / sqrtf ((float) c->head_dim);
  if (v->score == ATTNVIZ_SCORE_VARIANT_DOT)
    {
      e->score = ATTNVIZ_SCORE_DOT;
      e->scale = 1.0f;
    }
  else if (v->score == ATTNVIZ_SCORE_VARIANT_SCALE)
    {
      e->score = ATTNVIZ_SCORE_SCALED_DOT;
      e->scale = v->scale;
    }

  e->pos = c->pos;
  e->positions = o->positions;
  if (v->positions == ATTNVIZ_POSITIONS_NONE)
    e->pos = ATTNVIZ_POS_NONE;
  else if (v->positions == ATTNVIZ_POSITIONS_SINUSOIDAL)
    e->pos = ATTNVIZ_POS_SINUSOIDAL;
  /* pos=sinusoidal puts Vaswani's interleaved sinusoids in place of the
   * model's scheme; Marian's own are in halves */
  e->sin_halves = c->sin_halves && v->positions != ATTNVIZ_POSITIONS_SINUSOIDAL;
  /* a decoder's (or the one stack's) causal buckets; the seq2seq encoder
   * sets its own */
  if (e->pos == ATTNVIZ_POS_RELATIVE)
    e->rel_bias = m->rel_bias;

  if (o->key_mask || v->exclude_special || v->n_exclude)
    {
      e->key_mask = g_new (guint8, T);
      for (int t = 0; t < T; t++)
        e->key_mask[t] = o->key_mask ? o->key_mask[t] : 1;
      for (int t = 0; t < T && v->exclude_special && o->special; t++)
        if (o->special[t])
          e->key_mask[t] = 0;
      for (int i = 0; i < v->n_exclude; i++)
        if (v->exclude[i] < T)
          e->key_mask[v->exclude[i]] = 0;
    }
}

static int *
index_range (int n)
{
  int *r = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++)
    r[i] = i;
  return r;
}

float *
_attnviz_forward_run_state_alloc (RunState *s, const AttnvizConfig *c, int T, int Tk, GError **error)
{
  int d = c->d_model, dq = c->n_head * c->head_dim, dkv = MAX (c->n_kv_head * c->head_dim, dq);
  int rows = MAX (T, Tk);
  gsize sizes[] = { (gsize) rows * d, (gsize) rows * d, (gsize) rows * dq, (gsize) rows * dkv, (gsize) rows * dkv,
                    (gsize) rows * dq, (gsize) rows * d, (gsize) rows * c->d_ff,
                    c->gated_mlp ? (gsize) rows * c->d_ff : 0, (gsize) c->head_dim };
  float **slots[] = { &s->x, &s->h, &s->q, &s->k, &s->v, &s->att, &s->tmp, &s->ff, &s->ff2, &s->inv_freq };
  gsize total = 0;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    total += sizes[i];
  float *mem = g_try_new (float, total);
  if (mem == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "out of memory: running %d tokens needs %.2f GiB of work space", T, total * 4.0 / 1073741824.0);
      return NULL;
    }
  attnviz_advise_huge_pages (mem, total * sizeof (float));
  float *p = mem;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      *slots[i] = sizes[i] ? p : NULL;
      p += sizes[i];
    }
  return mem;
}

/* Whether REUSE is a run of the same tokens under the model as it is,
 * with the residual stream kept, that this run can start from. */
static gboolean
can_reuse (const AttnvizRecording *reuse, const AttnvizModel *m, const gint32 *ids, int T)
{
  return reuse != NULL && reuse->residuals != NULL && reuse->T == T && reuse->d_model == m->config.d_model
         && reuse->n_layer == m->config.n_layer && g_strcmp0 (reuse->variant, "model") == 0
         && memcmp (reuse->ids, ids, sizeof (gint32) * T) == 0;
}

/* The attention of one stack of a run, dense or recomputed as the options
 * and its size say. */
static AttnvizAttention *
attention_for (const AttnvizModel *model, AttnvizStack stack, int n_rows, int n_cols, const int *layers,
               int n_layers, const int *heads, int n_heads, const Effective *e, AttnvizMask mask,
               const float *inv_freq, const AttnvizRunOptions *o, GError **error)
{
  const AttnvizConfig *c = &model->config;
  guint64 limit = o->max_record_bytes ? o->max_record_bytes : ATTNVIZ_DEFAULT_MAX_RECORD_BYTES;
  guint64 dense_bytes = attnviz_recording_attention_bytes (n_layers, n_heads, 1) * n_rows * n_cols;
  guint64 kept_bytes = (guint64) n_layers * ((guint64) n_rows * (c->d_model + 2 * n_heads)
                                             + (stack == ATTNVIZ_STACK_CROSS ? 0 : 0)) * sizeof (float)
                       + (stack == ATTNVIZ_STACK_CROSS ? (guint64) n_cols * c->d_model * sizeof (float) : 0);
  gboolean dense;
  switch (o->storage)
    {
    case ATTNVIZ_STORAGE_DENSE: dense = TRUE; break;
    case ATTNVIZ_STORAGE_RECOMPUTE: dense = FALSE; break;
    default: dense = dense_bytes <= MIN (ATTNVIZ_ATTENTION_DENSE_BYTES, limit); break;
    }
  if (e->score == ATTNVIZ_SCORE_ADDITIVE || e->score == ATTNVIZ_SCORE_HYBRID)
    dense = TRUE;   /* no q.k product to recompute an additive head from */
  guint64 need = dense ? dense_bytes : kept_bytes;
  if (need > limit)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "keeping the attention of %d layers x %d heads at %d x %d tokens needs %.2f GiB, "
                   "over the %.2f GiB limit", n_layers, n_heads, n_rows, n_cols, need / 1073741824.0,
                   limit / 1073741824.0);
      return NULL;
    }
  AttnvizAttentionSpec spec = {
    .model = (AttnvizModel *) model, .stack = stack, .n_rows = n_rows, .n_cols = n_cols,
    .rec_layers = layers, .n_rec_layers = n_layers, .rec_heads = heads, .n_rec_heads = n_heads,
    .mask = mask, .score = e->score,
    .rope = stack != ATTNVIZ_STACK_CROSS && e->pos == ATTNVIZ_POS_ROPE,
    .positions = stack == ATTNVIZ_STACK_CROSS ? NULL : e->positions, .inv_freq = inv_freq,
    .dense = dense, .overview_bytes = o->overview_bytes,
  };
  return _attnviz_attention_new (&spec, error);
}

/* A recording of T tokens: its attention (NULL for record_none), the
 * logits it keeps, the residual stream when asked. */
static AttnvizRecording *
recording_for (const AttnvizModel *model, const AttnvizRunOptions *o, const Effective *e, const float *inv_freq,
               int T, GError **error)
{
  const AttnvizConfig *c = &model->config;
  g_autofree int *all_layers = index_range (c->n_layer);
  g_autofree int *all_heads = index_range (c->n_head);
  const int *layers = o->layers ? o->layers : all_layers;
  const int *heads = o->heads ? o->heads : all_heads;
  int n_layers = o->record_none ? 0 : o->layers ? o->n_layers : c->n_layer;
  int n_heads = o->record_none ? 0 : o->heads ? o->n_heads : c->n_head;
  gboolean with_logits = c->has_lm_head && model->lm_head.w.data != NULL && !o->skip_logits;

  AttnvizRecording *rec = g_new0 (AttnvizRecording, 1);
  rec->T = T;
  rec->n_layer = c->n_layer;
  rec->n_head = c->n_head;
  rec->vocab_size = c->vocab_size;
  rec->ids = g_new0 (gint32, T);
  rec->n_rec_layers = n_layers;
  rec->n_rec_heads = n_heads;
  rec->rec_layers = g_memdup2 (layers, sizeof (int) * MAX (n_layers, 1));
  rec->rec_heads = g_memdup2 (heads, sizeof (int) * MAX (n_heads, 1));
  rec->loss = g_new (float, T);
  rec->d_model = c->d_model;
  rec->variant = o->variant ? attnviz_variant_to_string (o->variant) : g_strdup ("model");
  for (int t = 0; t < T; t++)
    rec->loss[t] = NAN;
  /* which heads the views mark additive (e->score is the model's own here) */
  if (e->score == ATTNVIZ_SCORE_ADDITIVE || e->score == ATTNVIZ_SCORE_HYBRID)
    rec->head_additive = attnviz_config_additive_mask (c);

  if (n_layers > 0 && n_heads > 0)
    {
      rec->attention = attention_for (model, ATTNVIZ_STACK_SELF, T, T, layers, n_layers, heads, n_heads, e,
                                      _attnviz_forward_self_mask (e), inv_freq, o, error);
      if (rec->attention == NULL)
        {
          attnviz_recording_free (rec);
          return NULL;
        }
      rec->attn = attnviz_attention_is_dense (rec->attention) && n_layers > 0 && n_heads > 0
                    ? _attnviz_attention_dense (rec->attention, 0, 0) : NULL;
    }
  guint64 limit = o->max_record_bytes ? o->max_record_bytes : ATTNVIZ_DEFAULT_MAX_RECORD_BYTES;
  guint64 logits_bytes = (guint64) T * c->vocab_size * sizeof (float);
  if (with_logits)
    {
      rec->top_k = attnviz_run_options_top_k (o, c->vocab_size);
      rec->topk_ids = g_try_new0 (gint32, (gsize) T * rec->top_k);
      rec->topk_probs = g_try_new0 (float, (gsize) T * rec->top_k);
      rec->next_prob = g_new (float, T);
      rec->last_logits = g_new0 (float, c->vocab_size);
      for (int t = 0; t < T; t++)
        rec->next_prob[t] = NAN;
      /* The lens keeps top_k candidates per layer and position, never a
       * layer's logits. */
      guint64 topk_bytes = (guint64) T * rec->top_k * (sizeof (gint32) + sizeof (float));
      guint64 lens_bytes = o->logit_lens ? (guint64) c->n_layer * topk_bytes : 0;
      if (rec->topk_ids == NULL || rec->topk_probs == NULL || topk_bytes + lens_bytes > limit)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                       "keeping %d candidates of %d tokens%s needs %.2f GiB, over the %.2f GiB limit", rec->top_k, T,
                       o->logit_lens ? " at every layer" : "", (topk_bytes + lens_bytes) / 1073741824.0,
                       limit / 1073741824.0);
          attnviz_recording_free (rec);
          return NULL;
        }
      if (o->logit_lens)
        {
          rec->lens_layers = c->n_layer;
          rec->lens_topk_ids = g_try_new0 (gint32, (gsize) c->n_layer * T * rec->top_k);
          rec->lens_topk_probs = g_try_new0 (float, (gsize) c->n_layer * T * rec->top_k);
          if (rec->lens_topk_ids == NULL || rec->lens_topk_probs == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory keeping the logit lens");
              attnviz_recording_free (rec);
              return NULL;
            }
        }
      if ((o->keep_logits && logits_bytes <= limit) || (!o->drop_logits && logits_bytes <= ATTNVIZ_KEEP_LOGITS_BYTES))
        {
          rec->logits = g_try_malloc (logits_bytes);
          if (rec->logits == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory keeping %.2f GiB of logits",
                           logits_bytes / 1073741824.0);
              attnviz_recording_free (rec);
              return NULL;
            }
          attnviz_advise_huge_pages (rec->logits, logits_bytes);
        }
      else if (o->keep_logits)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                       "keeping every logit of %d tokens needs %.2f GiB, over the %.2f GiB limit", T,
                       logits_bytes / 1073741824.0, limit / 1073741824.0);
          attnviz_recording_free (rec);
          return NULL;
        }
    }
  if (o->keep_residuals)
    {
      rec->residuals = g_try_new (float, (gsize) (c->n_layer + 1) * T * c->d_model);
      if (rec->residuals == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory keeping the residual stream");
          attnviz_recording_free (rec);
          return NULL;
        }
    }
  return rec;
}

/* Runs the attention objects of REC to their end and fills the time. */
static void
recording_finish (AttnvizRecording *rec, gint64 t0)
{
  if (rec->attention)
    _attnviz_attention_finish (rec->attention);
  if (rec->enc_attention)
    _attnviz_attention_finish (rec->enc_attention);
  if (rec->cross_attention)
    _attnviz_attention_finish (rec->cross_attention);
  rec->seconds = (g_get_monotonic_time () - t0) / 1e6;
}

AttnvizRecording *
attnviz_forward (const AttnvizModel *model,
                 const gint32 *ids,
                 int T,
                 const AttnvizRunOptions *options,
                 GError **error)
{
  static const AttnvizRunOptions defaults = { 0 };
  const AttnvizRunOptions *o = options ? options : &defaults;
  const AttnvizConfig *c = &model->config;

  g_return_val_if_fail (model != NULL, NULL);
  if (c->encoder_decoder)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s is an encoder-decoder model: give it a source and a target", model->path);
      return NULL;
    }
  if (!check_inputs (model, ids, T, o, error))
    return NULL;
  if (o->row_tiles && (!o->record_none || o->variant || !c->causal || o->key_mask || o->positions || o->measures
                       || o->logit_lens || o->keep_logits || o->logits_func || o->keep_residuals || o->reuse))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "rows in whole tiles are for a causal model as it is, recording nothing");
      return NULL;
    }

  gint64 t0 = g_get_monotonic_time ();
  Effective eff;
  _attnviz_forward_effective_init (&eff, model, o, T);
  g_autofree gint32 *variant_positions = o->variant ? attnviz_variant_positions (o->variant, T) : NULL;
  if (variant_positions)
    eff.positions = variant_positions;

  RunState s = { .model = model, .opt = o, .eff = &eff, .T = T };
  int tile = o->row_tiles ? attnviz_row_tile () : 1;
  g_autofree float *mem = _attnviz_forward_run_state_alloc (&s, c, T, (T + tile - 1) / tile * tile, error);
  if (mem == NULL)
    {
      g_free (eff.key_mask);
      return NULL;
    }
  attnviz_rope_frequencies (s.inv_freq, model, o->variant);

  AttnvizRecording *rec = recording_for (model, o, &eff, s.inv_freq, T, error);
  if (rec == NULL)
    {
      g_free (eff.key_mask);
      return NULL;
    }
  memcpy (rec->ids, ids, sizeof (gint32) * T);
  rec->causal = eff.causal;
  rec->pattern = eff.pattern;

  gsize n = (gsize) T * c->d_model;
  int first = 0;
  /* A run recording nothing (an ablation's loss) needs only the stream. */
  /* The lens reads every layer's stream: a reused run kept only its input. */
  if (!o->logit_lens && can_reuse (o->reuse, model, ids, T)
      && (rec->attention == NULL
          || (o->reuse->attention
              && attnviz_attention_is_dense (rec->attention) == attnviz_attention_is_dense (o->reuse->attention))))
    {
      /* Everything before the first layer the variant changes is the
       * model's own: take the stream entering that layer and the attention
       * of the layers before it from the earlier run. */
      static const AttnvizVariant model_variant = { 0 };
      first = attnviz_variant_first_changed_layer (o->variant ? o->variant : &model_variant, c);
      for (int l = 0; l < first && rec->attention; l++)
        {
          gboolean mine = _attnviz_attention_layer_index (rec->attention, l) >= 0;
          gboolean theirs = _attnviz_attention_layer_index (o->reuse->attention, l) >= 0;
          for (int i = 0; i < rec->n_rec_heads && theirs; i++)
            theirs = _attnviz_attention_head_index (o->reuse->attention, rec->rec_heads[i]) >= 0;
          if (mine && !theirs)
            first = 0;   /* the earlier run did not record it: compute everything */
        }
      for (int l = 0; l < first && rec->attention; l++)
        if (_attnviz_attention_layer_index (rec->attention, l) >= 0)
          _attnviz_attention_copy_layer (rec->attention, o->reuse->attention, l);
      if (first > 0)
        memcpy (s.x, o->reuse->residuals + (gsize) first * n, n * sizeof (float));
      rec->reused_layers = first;
      if (rec->residuals)
        memcpy (rec->residuals, o->reuse->residuals, (gsize) first * n * sizeof (float));
    }
  if (first == 0)
    _attnviz_forward_embed (&s, ids);

  if (first == 0 && !_attnviz_forward_check_finite (s.x, n, "the embedding", -1, error))
    goto failed;
  for (int layer = first; layer < c->n_layer; layer++)
    {
      if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
        goto failed;
      if (rec->residuals)
        memcpy (rec->residuals + (gsize) layer * n, s.x, n * sizeof (float));
      s.progress_at = layer / (c->n_layer + 1.0);
      s.progress_span = 1.0 / (c->n_layer + 1.0);
      if (!_attnviz_forward_layer (&s, &model->layers[layer], rec->attention, NULL, layer, NULL, 0, NULL, error))
        goto failed;
      if (!_attnviz_forward_check_finite (s.x, n, "layer", layer, error))
        goto failed;
      if (rec->lens_layers > 0 && !_attnviz_forward_lens (&s, rec, layer, error))
        goto failed;
      if (o->progress)
        o->progress ((layer + 1.0) / (c->n_layer + 1.0), o->progress_data);
    }
  if (rec->residuals)
    memcpy (rec->residuals + (gsize) c->n_layer * n, s.x, n * sizeof (float));

  /* in whole tiles, the last row's logits alone, as a cached step's */
  if (rec->last_logits
      && !(o->row_tiles ? _attnviz_forward_last_logits (&s, rec->last_logits, error)
                        : _attnviz_forward_head_and_loss (&s, rec, ids, error)))
    goto failed;
  if (o->progress)
    o->progress (1.0, o->progress_data);
  g_free (eff.key_mask);
  recording_finish (rec, t0);
  return rec;

failed:
  g_free (eff.key_mask);
  attnviz_recording_free (rec);
  return NULL;
}

AttnvizRecording *
attnviz_forward_seq2seq (const AttnvizModel *model,
                         const gint32 *src_ids,
                         int S,
                         const gint32 *tgt_ids,
                         int T,
                         const AttnvizRunOptions *options,
                         GError **error)
{
  static const AttnvizRunOptions defaults = { 0 };
  const AttnvizRunOptions *o = options ? options : &defaults;
  const AttnvizConfig *c = &model->config;

  g_return_val_if_fail (model != NULL, NULL);
  if (!c->encoder_decoder)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s is not an encoder-decoder model", model->path);
      return NULL;
    }
  if (o->reuse || o->key_mask || o->positions || o->token_types || o->measures)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "encoder-decoder runs take no reuse, key mask, positions, token types or measures");
      return NULL;
    }
  /* The source and the target each must fit the context. */
  AttnvizRunOptions src_opt = *o;
  src_opt.layers = NULL;
  src_opt.heads = NULL;
  if (!check_inputs (model, src_ids, S, &src_opt, error) || !check_inputs (model, tgt_ids, T, o, error))
    return NULL;

  gint64 t0 = g_get_monotonic_time ();
  /* The encoder: bidirectional over the source, every head recorded. */
  Effective enc_eff;
  _attnviz_forward_effective_init (&enc_eff, model, &defaults, S);
  enc_eff.causal = FALSE;
  memset (&enc_eff.pattern, 0, sizeof enc_eff.pattern);
  Effective dec_eff;
  _attnviz_forward_effective_init (&dec_eff, model, o, T);
  if (o->variant)
    {
      /* score and position changes apply to both sides */
      enc_eff.score = dec_eff.score;
      enc_eff.scale = dec_eff.scale;
      enc_eff.pos = dec_eff.pos;
    }
  enc_eff.rel_bias = enc_eff.pos == ATTNVIZ_POS_RELATIVE ? model->enc_rel_bias : NULL;
  enc_eff.rel_bidirectional = TRUE;
  /* pos=shuffled / reversed: each side's own positions, in the embeddings,
   * RoPE or the relative bias alike */
  g_autofree gint32 *enc_positions = o->variant ? attnviz_variant_positions (o->variant, S) : NULL;
  g_autofree gint32 *dec_positions = o->variant ? attnviz_variant_positions (o->variant, T) : NULL;
  if (enc_positions)
    enc_eff.positions = enc_positions;
  if (dec_positions)
    dec_eff.positions = dec_positions;

  RunState enc = { .model = model, .opt = &defaults, .eff = &enc_eff, .encoder = TRUE, .T = S };
  RunState dec = { .model = model, .opt = o, .eff = &dec_eff, .T = T };
  g_autofree float *enc_mem = _attnviz_forward_run_state_alloc (&enc, c, S, S, error);
  g_autofree float *dec_mem = enc_mem ? _attnviz_forward_run_state_alloc (&dec, c, T, S, error) : NULL;
  g_autofree float *enc_out = g_try_new (float, (gsize) S * c->d_model);
  AttnvizRecording *rec = NULL;
  if (enc_mem == NULL || dec_mem == NULL || enc_out == NULL)
    {
      if (enc_out == NULL && enc_mem && dec_mem)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory");
      goto failed;
    }
  attnviz_rope_frequencies (enc.inv_freq, model, o->variant);
  attnviz_rope_frequencies (dec.inv_freq, model, o->variant);

  rec = recording_for (model, o, &dec_eff, dec.inv_freq, T, error);
  if (rec == NULL)
    goto failed;
  memcpy (rec->ids, tgt_ids, sizeof (gint32) * T);
  rec->S = S;
  rec->n_enc_layer = c->n_enc_layer;
  rec->src_ids = g_memdup2 (src_ids, sizeof (gint32) * S);
  rec->causal = dec_eff.causal;
  rec->pattern = dec_eff.pattern;
  {
    g_autofree int *enc_layers = index_range (c->n_enc_layer);
    g_autofree int *dec_layers = index_range (c->n_layer);
    g_autofree int *all_heads = index_range (c->n_head);
    rec->enc_attention = attention_for (model, ATTNVIZ_STACK_ENCODER, S, S, enc_layers, c->n_enc_layer, all_heads,
                                        c->n_head, &enc_eff, _attnviz_forward_self_mask (&enc_eff), enc.inv_freq, o,
                                        error);
    if (rec->enc_attention == NULL)
      goto failed;
    AttnvizMask cross_mask = { .scale = dec_eff.scale };
    rec->cross_attention = attention_for (model, ATTNVIZ_STACK_CROSS, T, S, dec_layers, c->n_layer, all_heads,
                                          c->n_head, &dec_eff, cross_mask, NULL, o, error);
    if (rec->cross_attention == NULL)
      goto failed;
    if (attnviz_attention_is_dense (rec->enc_attention))
      rec->enc_attn = _attnviz_attention_dense (rec->enc_attention, 0, 0);
    if (attnviz_attention_is_dense (rec->cross_attention))
      rec->cross_attn = _attnviz_attention_dense (rec->cross_attention, 0, 0);
  }

  int total_layers = c->n_enc_layer + c->n_layer;
  _attnviz_forward_embed (&enc, src_ids);
  if (!_attnviz_forward_check_finite (enc.x, (gsize) S * c->d_model, "the encoder's embedding", -1, error))
    goto failed;
  for (int layer = 0; layer < c->n_enc_layer; layer++)
    {
      if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
        goto failed;
      if (!_attnviz_forward_layer (&enc, &model->enc_layers[layer], rec->enc_attention, NULL, layer, NULL, 0, NULL,
                                   error)
          || !_attnviz_forward_check_finite (enc.x, (gsize) S * c->d_model, "encoder layer", layer, error))
        goto failed;
      if (o->progress)
        o->progress ((layer + 1.0) / (total_layers + 1.0), o->progress_data);
    }
  if (model->enc_final_norm_w)
    attnviz_norm_rows (c, enc_out, enc.x, model->enc_final_norm_w, model->enc_final_norm_b, S);
  else
    memcpy (enc_out, enc.x, (gsize) S * c->d_model * sizeof (float));

  _attnviz_forward_embed (&dec, tgt_ids);
  if (!_attnviz_forward_check_finite (enc_out, (gsize) S * c->d_model, "the encoder's final norm", -1, error)
      || !_attnviz_forward_check_finite (dec.x, (gsize) T * c->d_model, "the decoder's embedding", -1, error))
    goto failed;
  for (int layer = 0; layer < c->n_layer; layer++)
    {
      if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
        goto failed;
      if (!_attnviz_forward_layer (&dec, &model->layers[layer], rec->attention, rec->cross_attention, layer, enc_out, S,
                                   NULL, error)
          || !_attnviz_forward_check_finite (dec.x, (gsize) T * c->d_model, "decoder layer", layer, error)
          || (rec->lens_layers > 0 && !_attnviz_forward_lens (&dec, rec, layer, error)))
        goto failed;
      if (o->progress)
        o->progress ((c->n_enc_layer + layer + 1.0) / (total_layers + 1.0), o->progress_data);
    }

  if (rec->last_logits && !_attnviz_forward_head_and_loss (&dec, rec, tgt_ids, error))
    goto failed;
  if (o->progress)
    o->progress (1.0, o->progress_data);
  g_free (dec_eff.key_mask);
  g_free (enc_eff.key_mask);
  recording_finish (rec, t0);
  return rec;

failed:
  g_free (dec_eff.key_mask);
  g_free (enc_eff.key_mask);
  attnviz_recording_free (rec);
  return NULL;
}
