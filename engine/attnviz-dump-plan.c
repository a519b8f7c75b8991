/* attnviz-dump-plan.c: what a dump holds, known before the run
 *
 * The format and logits option names; the plan of a run (from the run's
 * options before it starts, or from a recording made without the dump),
 * checked against the recording at the end; the dump options checked
 * against the plan; and the arrays laid out from it, in the order of a
 * safetensors file's data.
 */
#define G_LOG_DOMAIN "attnviz-dump"
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "attnviz-dump-private.h"
#include "attnviz-rollout.h"

gboolean
attnviz_dump_format_from_string (const char *s, AttnvizDumpFormat *format)
{
  if (g_strcmp0 (s, "npy") == 0)
    *format = ATTNVIZ_DUMP_NPY;
  else if (g_strcmp0 (s, "safetensors") == 0)
    *format = ATTNVIZ_DUMP_SAFETENSORS;
  else if (g_strcmp0 (s, "json") == 0)
    *format = ATTNVIZ_DUMP_JSON;
  else
    return FALSE;
  return TRUE;
}

gboolean
attnviz_dump_logits_from_string (const char *s, AttnvizDumpLogits *logits)
{
  if (g_strcmp0 (s, "last") == 0)
    *logits = ATTNVIZ_DUMP_LOGITS_LAST;
  else if (g_strcmp0 (s, "all") == 0)
    *logits = ATTNVIZ_DUMP_LOGITS_ALL;
  else
    return FALSE;
  return TRUE;
}

static int *
index_range (int n)
{
  int *v = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++)
    v[i] = i;
  return v;
}

void
_attnviz_dump_plan_from_run (Plan *p, const AttnvizModel *model, const AttnvizRunOptions *run, const gint32 *ids,
                             int T, const gint32 *src_ids, int S)
{
  const AttnvizConfig *c = &model->config;
  memset (p, 0, sizeof *p);
  p->T = T;
  p->S = S;
  p->ids = ids;
  p->src_ids = src_ids;
  p->n_layer = c->n_layer;
  p->n_head = c->n_head;
  p->n_enc_layer = S > 0 ? c->n_enc_layer : 0;
  /* As attnviz_forward () records them. */
  p->n_rec_layers = run->record_none ? 0 : run->layers ? run->n_layers : c->n_layer;
  p->n_rec_heads = run->record_none ? 0 : run->heads ? run->n_heads : c->n_head;
  p->rec_layers = run->layers ? g_memdup2 (run->layers, sizeof (int) * MAX (p->n_rec_layers, 1))
                              : index_range (p->n_rec_layers);
  p->rec_heads = run->heads ? g_memdup2 (run->heads, sizeof (int) * MAX (p->n_rec_heads, 1))
                            : index_range (p->n_rec_heads);
  gboolean with_logits = c->has_lm_head && model->lm_head.w.data != NULL && !run->skip_logits;
  p->vocab_size = with_logits ? c->vocab_size : 0;
  p->top_k = with_logits ? attnviz_run_options_top_k (run, c->vocab_size) : 0;
  p->lens_layers = with_logits && run->logit_lens ? c->n_layer : 0;
  p->causal = c->causal || c->encoder_decoder;
  p->score = attnviz_config_score_to_string (c);
  if (c->score == ATTNVIZ_SCORE_HYBRID)
    p->additive = attnviz_config_additive_mask (c);
  if (!attnviz_pattern_is_dense (&c->pattern))
    p->mask = attnviz_pattern_to_string (&c->pattern);
}

void
_attnviz_dump_plan_from_recording (Plan *p, const AttnvizRecording *rec)
{
  memset (p, 0, sizeof *p);
  p->T = rec->T;
  p->S = rec->S;
  p->ids = rec->ids;
  p->src_ids = rec->src_ids;
  p->n_layer = rec->n_layer;
  p->n_head = rec->n_head;
  p->n_enc_layer = rec->S > 0 ? rec->n_enc_layer : 0;
  p->n_rec_layers = rec->n_rec_layers;
  p->n_rec_heads = rec->n_rec_heads;
  p->rec_layers = g_memdup2 (rec->rec_layers, sizeof (int) * MAX (p->n_rec_layers, 1));
  p->rec_heads = g_memdup2 (rec->rec_heads, sizeof (int) * MAX (p->n_rec_heads, 1));
  p->vocab_size = rec->last_logits ? rec->vocab_size : 0;
  p->top_k = rec->last_logits ? rec->top_k : 0;
  p->lens_layers = rec->last_logits ? rec->lens_layers : 0;
  p->causal = rec->causal;
}

/* Whether REC is the run the dump was laid out for. */
gboolean
_attnviz_dump_plan_matches (const Plan *p, const AttnvizRecording *rec)
{
  return p->T == rec->T && p->S == rec->S && memcmp (p->ids, rec->ids, sizeof (gint32) * p->T) == 0
         && (p->S == 0 || memcmp (p->src_ids, rec->src_ids, sizeof (gint32) * p->S) == 0)
         && p->n_rec_layers == rec->n_rec_layers
         && p->n_rec_heads == rec->n_rec_heads
         && memcmp (p->rec_layers, rec->rec_layers, sizeof (int) * p->n_rec_layers) == 0
         && memcmp (p->rec_heads, rec->rec_heads, sizeof (int) * p->n_rec_heads) == 0
         && (p->vocab_size > 0) == (rec->last_logits != NULL) && p->top_k == (rec->last_logits ? rec->top_k : 0)
         && p->lens_layers == (rec->last_logits ? rec->lens_layers : 0)
         && (p->S == 0 || p->n_enc_layer == rec->n_enc_layer);
}

static gboolean G_GNUC_PRINTF (2, 3)
option_error (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, msg);
  return FALSE;
}

/* What OPTIONS ask of a run laid out as P: a G_OPTION_ERROR naming the
 * option when it cannot be done. */
gboolean
_attnviz_dump_check_options (const AttnvizDumpOptions *o, const Plan *p, GError **error)
{
  g_return_val_if_fail (o->pool >= 0, FALSE);
  if (o->pool > 0 && o->row_last >= 0)
    return option_error (error, "--pool and --rows: choose one (a pooled head covers every row)");
  if (o->pool_max && o->pool == 0)
    return option_error (error, "--pool-max adds the bins' max to --pool N: give --pool N too");
  if (o->row_last >= 0 && (o->row_first < 0 || o->row_first > o->row_last))
    return option_error (error, "--rows %d-%d: expected FIRST-LAST with FIRST <= LAST", o->row_first, o->row_last);
  if (o->row_last >= p->T)
    return option_error (error, "--rows %d-%d: past the last of the %d tokens (rows 0-%d)", o->row_first,
                         o->row_last, p->T, p->T - 1);
  if (o->logits == ATTNVIZ_DUMP_LOGITS_ALL && p->vocab_size == 0)
    return option_error (error, "--logits all: the model has no output layer, so no logits");
  if (o->top_k < 0)
    return option_error (error, "--top-k %d: expected a number of candidates, 1 or more", o->top_k);
  if (o->top_k > 0 && p->vocab_size == 0)
    return option_error (error, "--top-k: the model has no output layer, so no candidates");
  if (o->top_k > p->vocab_size)
    return option_error (error, "--top-k %d: more than the %d tokens of the vocabulary", o->top_k, p->vocab_size);
  if (o->logit_lens && p->vocab_size == 0)
    return option_error (error, "--logit-lens: the model has no output layer to read the layers through");
  if ((o->rollout || o->flow || o->value_weighted) && p->S > 0)
    return option_error (error, "--rollout, --flow and --value-weighted: decoder-only and encoder models only");
  if (o->value_weighted && o->pool > 0)
    return option_error (error, "--value-weighted and --pool: choose one (the weighted heads are written whole)");
  if (o->flow && p->T > ATTNVIZ_FLOW_MAX_TOKENS)
    return option_error (error, "--flow: attention flow takes at most %d tokens, not %d (one max-flow per pair "
                         "of tokens); --rollout takes more", ATTNVIZ_FLOW_MAX_TOKENS, p->T);
  if (o->rollout && p->T > ATTNVIZ_ROLLOUT_MAX_TOKENS)
    return option_error (error, "--rollout: at most %d tokens, not %d", ATTNVIZ_ROLLOUT_MAX_TOKENS, p->T);
  if (o->format == ATTNVIZ_DUMP_JSON && MAX (p->T, p->S) > ATTNVIZ_DUMP_JSON_MAX_T)
    return option_error (error, "--format json: %d tokens are too many for json (at most %d); "
                         "use --format npy or safetensors", MAX (p->T, p->S), ATTNVIZ_DUMP_JSON_MAX_T);
  return TRUE;
}

static void
add_array (AttnvizDump *d, const char *name, ArrayKind kind, int stack, AttnvizDtype dtype, int n_dims,
           gint64 d0, gint64 d1, gint64 d2, gint64 d3)
{
  Array a = { g_strdup (name), kind, stack, dtype, n_dims, { d0, d1, d2, d3 }, NULL };
  g_array_append_val (d->arrays, a);
}

static void
add_stack (AttnvizDump *d, StackKind kind, const char *name, int n_layers, const int *layers, int n_heads,
           const int *heads, int n_rows, int n_cols, gboolean band)
{
  const AttnvizDumpOptions *o = &d->opt;
  Stack *s = &d->stacks[d->n_stacks];
  *s = (Stack) {
    .kind = kind, .name = name, .n_layers = n_layers, .n_heads = n_heads, .layers = layers, .heads = heads,
    .n_rows = n_rows, .n_cols = n_cols, .r0 = 0, .r1 = n_rows,
  };
  if (band && o->row_last >= 0)
    {
      s->r0 = o->row_first;
      s->r1 = o->row_last + 1;
    }
  int i = d->n_stacks++;
  if (o->pool > 0)
    {
      s->bins_r = MAX (1, MIN (o->pool, n_rows));
      s->bins_c = MAX (1, MIN (o->pool, n_cols));
      g_autofree char *mean = g_strconcat (name, "_pooled_mean", NULL);
      g_autofree char *max = g_strconcat (name, "_pooled_max", NULL);
      add_array (d, mean, ARRAY_POOLED_MEAN, i, ATTNVIZ_DTYPE_F32, 4, n_layers, n_heads, s->bins_r, s->bins_c);
      if (o->pool_max)
        add_array (d, max, ARRAY_POOLED_MAX, i, ATTNVIZ_DTYPE_F32, 4, n_layers, n_heads, s->bins_r, s->bins_c);
    }
  else
    add_array (d, name, ARRAY_ATTENTION, i, ATTNVIZ_DTYPE_F32, 4, n_layers, n_heads, s->r1 - s->r0, n_cols);
}

/* The arrays, in the order of a safetensors file's data: the logits first,
 * so the run can write them while it goes on. */
void
_attnviz_dump_lay_out (AttnvizDump *d)
{
  const Plan *p = &d->plan;
  d->arrays = g_array_new (FALSE, TRUE, sizeof (Array));
  d->all_layers = index_range (p->n_layer);
  d->all_enc_layers = index_range (p->n_enc_layer);
  d->all_heads = index_range (p->n_head);

  if (p->vocab_size > 0 && d->opt.logits == ATTNVIZ_DUMP_LOGITS_ALL)
    add_array (d, "logits", ARRAY_LOGITS, -1, ATTNVIZ_DTYPE_F32, 2, p->T, p->vocab_size, 0, 0);
  add_stack (d, STACK_SELF, "attentions", p->n_rec_layers, p->rec_layers, p->n_rec_heads, p->rec_heads, p->T, p->T,
             TRUE);
  if (p->S > 0)
    {
      add_stack (d, STACK_ENCODER, "encoder_attentions", p->n_enc_layer, d->all_enc_layers, p->n_head, d->all_heads,
                 p->S, p->S, FALSE);
      add_stack (d, STACK_CROSS, "cross_attentions", p->n_layer, d->all_layers, p->n_head, d->all_heads, p->T, p->S,
                 TRUE);
    }
  const Stack *self_stack = &d->stacks[0];
  if (d->opt.value_weighted)
    add_array (d, "value_weighted", ARRAY_VALUE_WEIGHTED, 0, ATTNVIZ_DTYPE_F32, 4, p->n_rec_layers, p->n_rec_heads,
               self_stack->r1 - self_stack->r0, p->T);
  if (d->opt.rollout)
    add_array (d, "rollout", ARRAY_ROLLOUT, -1, ATTNVIZ_DTYPE_F32, 2, p->T, p->T, 0, 0);
  if (d->opt.flow)
    add_array (d, "flow", ARRAY_FLOW, -1, ATTNVIZ_DTYPE_F32, 2, p->T, p->T, 0, 0);
  add_array (d, "input_ids", ARRAY_INPUT_IDS, -1, ATTNVIZ_DTYPE_I32, 1, p->T, 0, 0, 0);
  add_array (d, "token_spans", ARRAY_TOKEN_SPANS, -1, ATTNVIZ_DTYPE_I32, 2, p->T, 2, 0, 0);
  add_array (d, "loss", ARRAY_LOSS, -1, ATTNVIZ_DTYPE_F32, 1, p->T, 0, 0, 0);
  if (p->vocab_size > 0)
    {
      add_array (d, "topk_ids", ARRAY_TOPK_IDS, -1, ATTNVIZ_DTYPE_I32, 2, p->T, p->top_k, 0, 0);
      add_array (d, "topk_probs", ARRAY_TOPK_PROBS, -1, ATTNVIZ_DTYPE_F32, 2, p->T, p->top_k, 0, 0);
      add_array (d, "next_prob", ARRAY_NEXT_PROB, -1, ATTNVIZ_DTYPE_F32, 1, p->T, 0, 0, 0);
      if (p->lens_layers > 0)
        {
          add_array (d, "lens_topk_ids", ARRAY_LENS_IDS, -1, ATTNVIZ_DTYPE_I32, 3, p->lens_layers, p->T, p->top_k, 0);
          add_array (d, "lens_topk_probs", ARRAY_LENS_PROBS, -1, ATTNVIZ_DTYPE_F32, 3, p->lens_layers, p->T,
                     p->top_k, 0);
        }
      add_array (d, "logits_last", ARRAY_LOGITS_LAST, -1, ATTNVIZ_DTYPE_F32, 1, p->vocab_size, 0, 0, 0);
    }
  add_array (d, "layers", ARRAY_LAYERS, -1, ATTNVIZ_DTYPE_I32, 1, p->n_rec_layers, 0, 0, 0);
  add_array (d, "heads", ARRAY_HEADS, -1, ATTNVIZ_DTYPE_I32, 1, p->n_rec_heads, 0, 0, 0);
  if (p->S > 0)
    {
      add_array (d, "source_ids", ARRAY_SOURCE_IDS, -1, ATTNVIZ_DTYPE_I32, 1, p->S, 0, 0, 0);
      add_array (d, "source_spans", ARRAY_SOURCE_SPANS, -1, ATTNVIZ_DTYPE_I32, 2, p->S, 2, 0, 0);
    }
}

Array *
_attnviz_dump_array_at (AttnvizDump *d, guint a)
{
  return &g_array_index (d->arrays, Array, a);
}

int
_attnviz_dump_find_array (AttnvizDump *d, ArrayKind kind, int stack)
{
  for (guint a = 0; a < d->arrays->len; a++)
    if (_attnviz_dump_array_at (d, a)->kind == kind && _attnviz_dump_array_at (d, a)->stack == stack)
      return (int) a;
  return -1;
}

gsize
_attnviz_dump_array_elements (const Array *a)
{
  gsize n = 1;
  for (int i = 0; i < a->n_dims; i++)
    n *= (gsize) a->shape[i];
  return n;
}
