#define G_LOG_DOMAIN "attnviz-dump"
#include "config.h"

/* How a dump is written (attnviz-dump.h says what it holds).
 *
 * Every array is laid out before the run starts: the shapes follow from
 * the model, the run's options and the number of tokens.  An npy dump
 * opens its folder's temporary (AttnvizAtomicDir) then; a safetensors dump
 * writes its header with every offset (and some spare room, so the
 * metadata can be written again when the mean loss is known), each tensor
 * then filled at its own place.  With --logits all the logits come first:
 * the forward pass hands every block of rows to dump_logits () as it
 * computes them, straight into logits.npy or the safetensors file.
 *
 * After the run, each stack of attention (self, encoder, cross) is read
 * through its AttnvizAttention: a dense run's matrices are written from
 * where they lie; a recomputing run's head is computed a band of
 * ROW_BLOCK-aligned rows per thread at a time and each band written as it
 * is done; pooled heads (attnviz_attention_pool_mean_max) a few at a time.
 * Nothing holds more than a band per thread, or a head's bins per thread.
 */

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-dump.h"
#include "attnviz-fileutil.h"
#include "attnviz-json.h"
#include "attnviz-npy.h"
#include "attnviz-parallel.h"
#include "attnviz-rollout.h"
#include "attnviz-safetensors.h"

/* The rows the attention source recomputes at once (attnviz-attention.c's
 * ROW_BLOCK): bands that start on a multiple of it compute no row twice. */
#define ROW_BLOCK 128
/* Pooled heads computed side by side only while their bins take at most
 * this much: a dump of bins as large as the heads holds one at a time. */
#define POOL_GROUP_BYTES ((gsize) 64 << 20)
/* Header room a safetensors dump keeps for the metadata written after the
 * run (the mean loss, the mask the run used: a few dozen bytes more). */
#define METADATA_ROOM 256

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

/* ---- what a run records, known before it starts ---- */

typedef struct {
  int T, S;                 /* S > 0: an encoder-decoder run */
  int n_layer, n_head, n_enc_layer;
  int *rec_layers;          /* (n_rec_layers) */
  int n_rec_layers;
  int *rec_heads;           /* (n_rec_heads) */
  int n_rec_heads;
  int vocab_size;           /* 0: no output layer, no logits */
  int top_k;
  gboolean causal;          /* the model's own; the metadata takes the run's */
  const gint32 *ids;        /* (T) the caller's, for the metadata before the run */
  const gint32 *src_ids;    /* (S) */
} Plan;

/* A stack of attention and what of it is written. */
typedef enum {
  STACK_SELF,
  STACK_ENCODER,
  STACK_CROSS,
} StackKind;

typedef struct {
  StackKind kind;
  const char *name;         /* the array's name, and the prefix of the pooled ones */
  int n_layers, n_heads;
  const int *layers;        /* (n_layers) model indices */
  const int *heads;         /* (n_heads) */
  int n_rows, n_cols;       /* of a head */
  int r0, r1;               /* the query rows written, [r0, r1) */
  int bins_r, bins_c;       /* pooled: the bins */
} Stack;

typedef enum {
  ARRAY_LOGITS,
  ARRAY_ATTENTION,
  ARRAY_POOLED_MEAN,
  ARRAY_POOLED_MAX,
  ARRAY_INPUT_IDS,
  ARRAY_TOKEN_SPANS,
  ARRAY_LOSS,
  ARRAY_TOPK_IDS,
  ARRAY_TOPK_PROBS,
  ARRAY_LOGITS_LAST,
  ARRAY_LAYERS,
  ARRAY_HEADS,
  ARRAY_SOURCE_IDS,
  ARRAY_SOURCE_SPANS,
  ARRAY_VALUE_WEIGHTED,
  ARRAY_ROLLOUT,
  ARRAY_FLOW,
} ArrayKind;

typedef struct {
  char *name;
  ArrayKind kind;
  int stack;                /* index into stacks, for the attention arrays */
  AttnvizDtype dtype;       /* F32 or I32 */
  int n_dims;
  gint64 shape[4];
  AttnvizNpyWriter *npy;    /* npy: while it is being written */
} Array;

struct _AttnvizDump {
  char *path;
  AttnvizDumpOptions opt;
  const AttnvizDumpInfo *info;
  Plan plan;
  Stack stacks[3];
  int n_stacks;
  GArray *arrays;           /* of Array, in the order of the data */
  int *all_layers, *all_enc_layers, *all_heads;

  AttnvizAtomicDir *dir;          /* npy */
  AttnvizSafetensorsWriter *st;   /* safetensors */
  int logits_rows;                /* rows of logits written so far */
  gboolean failed;                /* a write during the run failed */
  GPtrArray *files;               /* name, contents, name, ...: attnviz_dump_add_file () */
};

/* Every name a dump folder may hold: an existing folder with anything else
 * in it is not replaced. */
static const char *const npy_folder_names[] = {
  "attentions.npy", "attentions_pooled_mean.npy", "attentions_pooled_max.npy",
  "encoder_attentions.npy", "encoder_attentions_pooled_mean.npy", "encoder_attentions_pooled_max.npy",
  "cross_attentions.npy", "cross_attentions_pooled_mean.npy", "cross_attentions_pooled_max.npy",
  "input_ids.npy", "token_spans.npy", "loss.npy", "topk_ids.npy", "topk_probs.npy", "logits_last.npy",
  "logits.npy", "layers.npy", "heads.npy", "source_ids.npy", "source_spans.npy", "metadata.json",
  "metrics.json", "metrics.csv", "value_weighted.npy", "rollout.npy", "flow.npy", NULL
};

static int *
index_range (int n)
{
  int *v = g_new (int, MAX (n, 1));
  for (int i = 0; i < n; i++)
    v[i] = i;
  return v;
}

static void
plan_from_run (Plan *p, const AttnvizModel *model, const AttnvizRunOptions *run, const gint32 *ids, int T,
               const gint32 *src_ids, int S)
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
  p->top_k = with_logits ? MIN (ATTNVIZ_TOP_K, c->vocab_size) : 0;
  p->causal = c->causal || c->encoder_decoder;
}

static void
plan_from_recording (Plan *p, const AttnvizRecording *rec)
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
  p->causal = rec->causal;
}

/* Whether REC is the run the dump was laid out for. */
static gboolean
plan_matches (const Plan *p, const AttnvizRecording *rec)
{
  return p->T == rec->T && p->S == rec->S && memcmp (p->ids, rec->ids, sizeof (gint32) * p->T) == 0
         && (p->S == 0 || memcmp (p->src_ids, rec->src_ids, sizeof (gint32) * p->S) == 0)
         && p->n_rec_layers == rec->n_rec_layers
         && p->n_rec_heads == rec->n_rec_heads
         && memcmp (p->rec_layers, rec->rec_layers, sizeof (int) * p->n_rec_layers) == 0
         && memcmp (p->rec_heads, rec->rec_heads, sizeof (int) * p->n_rec_heads) == 0
         && (p->vocab_size > 0) == (rec->last_logits != NULL) && p->top_k == (rec->last_logits ? rec->top_k : 0)
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
static gboolean
check_options (const AttnvizDumpOptions *o, const Plan *p, GError **error)
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
static void
lay_out (AttnvizDump *d)
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

static Array *
array_at (AttnvizDump *d, guint a)
{
  return &g_array_index (d->arrays, Array, a);
}

static int
find_array (AttnvizDump *d, ArrayKind kind, int stack)
{
  for (guint a = 0; a < d->arrays->len; a++)
    if (array_at (d, a)->kind == kind && array_at (d, a)->stack == stack)
      return (int) a;
  return -1;
}

static gsize
array_elements (const Array *a)
{
  gsize n = 1;
  for (int i = 0; i < a->n_dims; i++)
    n *= (gsize) a->shape[i];
  return n;
}

/* ---- the metadata ---- */

static void
add_int_array (JsonBuilder *b, const char *name, const int *v, int n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    json_builder_add_int_value (b, v[i]);
  json_builder_end_array (b);
}

static void
add_float (JsonBuilder *b, float v)
{
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

/* [{id, text, start, end, special}] for N tokens; TEXTS and TOKENS may be NULL. */
static void
add_tokens (JsonBuilder *b, const char *name, const gint32 *ids, int n, char **texts, const AttnvizToken *tokens)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (int t = 0; t < n; t++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, ids[t]);
      if (texts)
        {
          json_builder_set_member_name (b, "text");
          json_builder_add_string_value (b, texts[t]);
        }
      if (tokens)
        {
          json_builder_set_member_name (b, "start");
          json_builder_add_int_value (b, tokens[t].start);
          json_builder_set_member_name (b, "end");
          json_builder_add_int_value (b, tokens[t].end);
          json_builder_set_member_name (b, "special");
          json_builder_add_boolean_value (b, tokens[t].special);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

/* NAME_shape (and NAME_row_offset), or NAME_pooled_shape. */
static void
add_stack_shape (JsonBuilder *b, const AttnvizDump *d, const Stack *s)
{
  g_autofree char *key = NULL;
  if (d->opt.pool > 0)
    {
      key = g_strconcat (s->name, "_pooled_shape", NULL);
      int shape[] = { s->n_layers, s->n_heads, s->bins_r, s->bins_c };
      add_int_array (b, key, shape, 4);
      return;
    }
  key = g_strconcat (s->name, "_shape", NULL);
  int shape[] = { s->n_layers, s->n_heads, s->r1 - s->r0, s->n_cols };
  add_int_array (b, key, shape, 4);
  g_autofree char *offset = g_strconcat (s->name, "_row_offset", NULL);
  json_builder_set_member_name (b, offset);
  json_builder_add_int_value (b, s->r0);
}

/* The metadata object every format carries; REC is NULL before the run
 * (then the mean loss is null, and the mask the model's own). */
static void
build_metadata (JsonBuilder *b, const AttnvizDump *d, const AttnvizRecording *rec)
{
  const Plan *p = &d->plan;
  const AttnvizDumpInfo *info = d->info;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, info->model_path ? info->model_path : "");
  json_builder_set_member_name (b, "architecture");
  json_builder_add_string_value (b, info->architecture ? info->architecture : "");
  json_builder_set_member_name (b, "model_type");
  json_builder_add_string_value (b, info->model_type ? info->model_type : "");
  json_builder_set_member_name (b, "variant");
  json_builder_add_string_value (b, info->variant ? info->variant : "model");
  json_builder_set_member_name (b, "engine");
  json_builder_add_string_value (b, "attnviz " PACKAGE_VERSION);
  json_builder_set_member_name (b, "n_tokens");
  json_builder_add_int_value (b, p->T);
  json_builder_set_member_name (b, "n_layer");
  json_builder_add_int_value (b, p->n_layer);
  json_builder_set_member_name (b, "n_head");
  json_builder_add_int_value (b, p->n_head);
  json_builder_set_member_name (b, "causal");
  json_builder_add_boolean_value (b, rec ? rec->causal : p->causal);
  add_int_array (b, "layers", p->rec_layers, p->n_rec_layers);
  add_int_array (b, "heads", p->rec_heads, p->n_rec_heads);
  add_stack_shape (b, d, &d->stacks[0]);
  if (d->opt.pool > 0)
    {
      json_builder_set_member_name (b, "pool");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "bins");
      json_builder_add_int_value (b, d->opt.pool);
      json_builder_set_member_name (b, "statistics");
      json_builder_begin_array (b);
      json_builder_add_string_value (b, "mean");
      if (d->opt.pool_max)
        json_builder_add_string_value (b, "max");
      json_builder_end_array (b);
      /* which tokens a bin covers, in Python */
      json_builder_set_member_name (b, "bin_start");
      json_builder_add_string_value (b, "i * n_tokens // n_bins");
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "mean_loss");
  add_float (b, rec ? (float) attnviz_recording_mean_loss (rec) : NAN);
  json_builder_set_member_name (b, "logits");
  json_builder_add_string_value (b, p->vocab_size == 0 ? "none"
                                    : d->opt.logits == ATTNVIZ_DUMP_LOGITS_ALL ? "all" : "last");
  if (p->vocab_size > 0)
    {
      json_builder_set_member_name (b, "vocab_size");
      json_builder_add_int_value (b, p->vocab_size);
      json_builder_set_member_name (b, "top_k");
      json_builder_add_int_value (b, p->top_k);
    }

  add_tokens (b, "tokens", p->ids, p->T, info->token_texts, info->tokens);
  if (p->S > 0)
    {
      json_builder_set_member_name (b, "encoder_decoder");
      json_builder_add_boolean_value (b, TRUE);
      json_builder_set_member_name (b, "n_source_tokens");
      json_builder_add_int_value (b, p->S);
      json_builder_set_member_name (b, "n_enc_layer");
      json_builder_add_int_value (b, p->n_enc_layer);
      add_stack_shape (b, d, &d->stacks[1]);
      add_stack_shape (b, d, &d->stacks[2]);
      add_tokens (b, "source_tokens", p->src_ids, p->S, info->source_texts, info->source_tokens);
    }
  json_builder_end_object (b);
}

static char *
metadata_json (const AttnvizDump *d, const AttnvizRecording *rec, gboolean pretty)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  build_metadata (b, d, rec);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return attnviz_json_to_data (root, pretty, NULL);
}

static GHashTable *
safetensors_metadata (const AttnvizDump *d, const AttnvizRecording *rec)
{
  GHashTable *meta = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (meta, "attnviz", metadata_json (d, rec, FALSE));
  g_hash_table_insert (meta, "format", g_strdup ("attnviz-dump"));
  return meta;
}

/* ---- writing arrays: into the npy folder, or the safetensors file ---- */

/* An error about the npy folder's temporary names the folder asked for. */
static void
name_the_output (AttnvizDump *d, GError **error)
{
  if (d->dir == NULL || error == NULL || *error == NULL)
    return;
  const char *tmp = attnviz_atomic_dir_get_path (d->dir);
  if (strstr ((*error)->message, tmp) == NULL)
    return;
  g_autoptr(GString) msg = g_string_new ((*error)->message);
  g_string_replace (msg, tmp, d->path, 0);
  g_free ((*error)->message);
  (*error)->message = g_strdup (msg->str);
}

static gboolean
array_begin (AttnvizDump *d, guint a, GError **error)
{
  Array *arr = array_at (d, a);
  if (d->dir == NULL)
    return TRUE;
  g_autofree char *file = g_strconcat (arr->name, ".npy", NULL);
  g_autofree char *path = g_build_filename (attnviz_atomic_dir_get_path (d->dir), file, NULL);
  arr->npy = attnviz_npy_writer_open (path, arr->dtype == ATTNVIZ_DTYPE_I32 ? ATTNVIZ_NPY_I32 : ATTNVIZ_NPY_F32,
                                      arr->shape, arr->n_dims, error);
  return arr->npy != NULL;
}

static gboolean
array_write (AttnvizDump *d, guint a, const void *data, gsize n, GError **error)
{
  Array *arr = array_at (d, a);
  if (d->dir != NULL)
    return attnviz_npy_writer_write (arr->npy, data, n, error);
  return attnviz_safetensors_writer_write (d->st, a, data, n * attnviz_dtype_size (arr->dtype), error);
}

static gboolean
array_end (AttnvizDump *d, guint a, GError **error)
{
  Array *arr = array_at (d, a);
  if (d->dir == NULL)
    return TRUE;
  AttnvizNpyWriter *w = g_steal_pointer (&arr->npy);
  return attnviz_npy_writer_commit (w, error);
}

static gboolean
array_write_all (AttnvizDump *d, guint a, const void *data, GError **error)
{
  return array_begin (d, a, error) && array_write (d, a, data, array_elements (array_at (d, a)), error)
         && array_end (d, a, error);
}

/* AttnvizLogitsFunc: each block of logits rows into the file as the run
 * makes it. */
static gboolean
dump_logits (const float *logits, int t0, int n, int vocab_size, gpointer data, GError **error)
{
  AttnvizDump *d = data;
  int a = find_array (d, ARRAY_LOGITS, -1);
  if (a < 0 || t0 != d->logits_rows || vocab_size != d->plan.vocab_size)
    {
      g_critical ("logits rows %d-%d of %d arrived out of order, or not planned", t0, t0 + n, vocab_size);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: the logits came out of order", d->path);
      d->failed = TRUE;
      return FALSE;
    }
  if (!array_write (d, a, logits, (gsize) n * vocab_size, error))
    {
      d->failed = TRUE;
      name_the_output (d, error);
      return FALSE;
    }
  d->logits_rows += n;
  return TRUE;
}

/* ---- the attention, head by head ---- */

static AttnvizAttention *
stack_source (const AttnvizRecording *rec, StackKind kind)
{
  switch (kind)
    {
    case STACK_ENCODER: return rec->enc_attention;
    case STACK_CROSS: return rec->cross_attention;
    case STACK_SELF:
    default: return rec->attention;
    }
}

typedef struct {
  AttnvizAttention *source;
  int layer, head;
  int r0, r1;               /* the rows of this chunk */
  int n_cols;
  float *out;               /* (r1 - r0, n_cols) */
} BandJob;

/* Items: the ROW_BLOCK-aligned blocks the chunk's rows fall in. */
static void
band_range (gpointer data, gsize start, gsize end)
{
  const BandJob *job = data;
  int base = job->r0 / ROW_BLOCK * ROW_BLOCK;
  for (gsize k = start; k < end; k++)
    {
      int a = MAX (job->r0, base + (int) k * ROW_BLOCK);
      int b = MIN (job->r1, base + ((int) k + 1) * ROW_BLOCK);
      if (a < b)
        attnviz_attention_get_rect (job->source, job->layer, job->head, a, b, 0, job->n_cols,
                                    job->out + (gsize) (a - job->r0) * job->n_cols, job->n_cols);
    }
}

/* Rows [r0, r1) of every head of stack S into array A, a chunk of
 * ROW_BLOCK rows per thread at a time. */
static gboolean
write_stack_rows (AttnvizDump *d, AttnvizAttention *source, const Stack *s, guint a, GError **error)
{
  int n_threads = MAX (1, attnviz_n_compute_threads ());
  int rows = s->r1 - s->r0, cols = s->n_cols;
  g_autofree float *chunk = NULL;

  if (!array_begin (d, a, error))
    return FALSE;
  for (int l = 0; l < s->n_layers; l++)
    for (int h = 0; h < s->n_heads; h++)
      {
        int layer = s->layers[l], head = s->heads[h];
        const float *dense = attnviz_attention_peek_dense (source, layer, head);
        if (dense != NULL)
          {
            if (!array_write (d, a, dense + (gsize) s->r0 * cols, (gsize) rows * cols, error))
              return FALSE;
            continue;
          }
        if (chunk == NULL)
          {
            gsize n = (gsize) n_threads * ROW_BLOCK * MAX (cols, 1);
            chunk = g_try_new (float, n);
            if (chunk == NULL)
              {
                g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                             "%s: out of memory computing %d rows of %d keys (%.2f GiB)", d->path,
                             n_threads * ROW_BLOCK, cols, n * 4.0 / 1073741824.0);
                return FALSE;
              }
          }
        /* One row on this thread first: the head's q and k are then cached
         * for the helpers instead of computed by each. */
        if (rows > 0)
          attnviz_attention_get_rect (source, layer, head, s->r0, s->r0 + 1, 0, MIN (cols, 1), chunk, 1);
        for (int c0 = s->r0; c0 < s->r1;)
          {
            int c1 = MIN (s->r1, c0 / ROW_BLOCK * ROW_BLOCK + n_threads * ROW_BLOCK);
            BandJob job = { source, layer, head, c0, c1, cols, chunk };
            int n_blocks = (c1 - 1) / ROW_BLOCK - c0 / ROW_BLOCK + 1;
            attnviz_parallel_for (n_blocks, 1, band_range, &job);
            if (!array_write (d, a, chunk, (gsize) (c1 - c0) * cols, error))
              return FALSE;
            c0 = c1;
          }
      }
  return array_end (d, a, error);
}

typedef struct {
  AttnvizAttention *source;
  const Stack *stack;
  int first;                /* flat index l * n_heads + h of the group's first head */
  float *mean, *max;        /* (group, bins_r, bins_c); max may be NULL */
} PoolJob;

static void
pool_range (gpointer data, gsize start, gsize end)
{
  const PoolJob *job = data;
  const Stack *s = job->stack;
  gsize bins = (gsize) s->bins_r * s->bins_c;
  for (gsize k = start; k < end; k++)
    {
      int flat = job->first + (int) k;
      attnviz_attention_pool_mean_max (job->source, s->layers[flat / s->n_heads], s->heads[flat % s->n_heads],
                                       s->bins_r, s->bins_c, job->mean + k * bins,
                                       job->max ? job->max + k * bins : NULL, NULL);
    }
}

/* Every head of stack S pooled into its bins, into arrays MEAN and MAX
 * (-1: not written), a group of heads at a time. */
static gboolean
write_stack_pooled (AttnvizDump *d, AttnvizAttention *source, const Stack *s, int mean_a, int max_a, GError **error)
{
  gsize bins = (gsize) s->bins_r * s->bins_c;
  int n_heads = s->n_layers * s->n_heads;
  int group = MAX (1, attnviz_n_compute_threads ());
  while (group > 1 && (gsize) group * bins * sizeof (float) * 2 > POOL_GROUP_BYTES)
    group--;
  g_autofree float *mean = g_try_new (float, (gsize) group * bins);
  g_autofree float *max = max_a >= 0 ? g_try_new (float, (gsize) group * bins) : NULL;
  if (mean == NULL || (max_a >= 0 && max == NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "%s: out of memory pooling a head into %d x %d bins (%.2f GiB); use a smaller --pool", d->path,
                   s->bins_r, s->bins_c, (max_a >= 0 ? 2 : 1) * bins * 4.0 / 1073741824.0);
      return FALSE;
    }

  if (!array_begin (d, mean_a, error) || (max_a >= 0 && !array_begin (d, max_a, error)))
    return FALSE;
  for (int first = 0; first < n_heads; first += group)
    {
      int n = MIN (group, n_heads - first);
      PoolJob job = { source, s, first, mean, max };
      attnviz_parallel_for (n, 1, pool_range, &job);
      for (int k = 0; k < n; k++)
        if (!array_write (d, mean_a, mean + k * bins, bins, error)
            || (max_a >= 0 && !array_write (d, max_a, max + k * bins, bins, error)))
          return FALSE;
    }
  return array_end (d, mean_a, error) && (max_a < 0 || array_end (d, max_a, error));
}

/* ---- the small arrays ---- */

/* (N, 2) start and end of each token, zeros when TOKENS is NULL. */
static gint32 *
spans_of (const AttnvizToken *tokens, int n)
{
  gint32 *spans = g_new0 (gint32, 2 * MAX (n, 1));
  for (int t = 0; t < n && tokens; t++)
    {
      spans[2 * t] = tokens[t].start;
      spans[2 * t + 1] = tokens[t].end;
    }
  return spans;
}

static gint32 *
ints_of (const int *v, int n)
{
  gint32 *out = g_new (gint32, MAX (n, 1));
  for (int i = 0; i < n; i++)
    out[i] = v[i];
  return out;
}

static gboolean
write_small_array (AttnvizDump *d, const AttnvizRecording *rec, guint a, GError **error)
{
  const Array *arr = array_at (d, a);
  g_autofree gint32 *owned = NULL;
  const void *data = NULL;
  switch (arr->kind)
    {
    case ARRAY_INPUT_IDS: data = rec->ids; break;
    case ARRAY_TOKEN_SPANS: data = owned = spans_of (d->info->tokens, rec->T); break;
    case ARRAY_LOSS: data = rec->loss; break;
    case ARRAY_TOPK_IDS: data = rec->topk_ids; break;
    case ARRAY_TOPK_PROBS: data = rec->topk_probs; break;
    case ARRAY_LOGITS_LAST: data = rec->last_logits; break;
    case ARRAY_LAYERS: data = owned = ints_of (rec->rec_layers, rec->n_rec_layers); break;
    case ARRAY_HEADS: data = owned = ints_of (rec->rec_heads, rec->n_rec_heads); break;
    case ARRAY_SOURCE_IDS: data = rec->src_ids; break;
    case ARRAY_SOURCE_SPANS: data = owned = spans_of (d->info->source_tokens, rec->S); break;
    case ARRAY_LOGITS:
    case ARRAY_ATTENTION:
    case ARRAY_POOLED_MEAN:
    case ARRAY_POOLED_MAX:
    default:
      g_assert_not_reached ();
    }
  g_return_val_if_fail (data != NULL || array_elements (arr) == 0, FALSE);
  return array_write_all (d, a, data, error);
}

/* The value-weighted heads of the self stack, rows [r0, r1) of each, a
 * block of rows at a time. */
static float *
value_weighted_head (AttnvizAttention *source, const Stack *s, int layer, int head, GError **error)
{
  int rows = s->r1 - s->r0;
  float *m = g_try_new (float, MAX ((gsize) rows * s->n_cols, 1));
  if (m == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory weighting a head");
  else if (!attnviz_attention_get_value_weighted_rect (source, layer, head, s->r0, s->r1, 0, s->n_cols, m,
                                                       s->n_cols))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "layer %d head %d has no value norms", layer, head);
      g_clear_pointer (&m, g_free);
    }
  return m;
}

/* The (T, T) analysis matrix of array kind KIND, computed from REC. */
static float *
analysis_matrix (const AttnvizDump *d, const AttnvizRecording *rec, ArrayKind kind, GError **error)
{
  g_autoptr(GError) local = NULL;
  float *m = kind == ARRAY_ROLLOUT ? attnviz_attention_rollout (rec->attention, NULL, &local)
                                   : attnviz_attention_flow (rec->attention, NULL, &local);
  if (m == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", d->path, local->message);
  return m;
}

static gboolean
write_analysis_array (AttnvizDump *d, const AttnvizRecording *rec, guint a, GError **error)
{
  const Array *arr = array_at (d, a);
  if (arr->kind != ARRAY_VALUE_WEIGHTED)
    {
      g_autofree float *m = analysis_matrix (d, rec, arr->kind, error);
      return m != NULL && array_write_all (d, a, m, error);
    }
  const Stack *s = &d->stacks[arr->stack];
  if (!array_begin (d, a, error))
    return FALSE;
  for (int l = 0; l < s->n_layers; l++)
    for (int h = 0; h < s->n_heads; h++)
      {
        g_autofree float *m = value_weighted_head (rec->attention, s, s->layers[l], s->heads[h], error);
        if (m == NULL || !array_write (d, a, m, (gsize) (s->r1 - s->r0) * s->n_cols, error))
          return FALSE;
      }
  return array_end (d, a, error);
}

/* Every array but the logits (written during the run), in their order. */
static gboolean
write_arrays (AttnvizDump *d, const AttnvizRecording *rec, GError **error)
{
  for (guint a = 0; a < d->arrays->len; a++)
    {
      const Array *arr = array_at (d, a);
      switch (arr->kind)
        {
        case ARRAY_LOGITS:
          break;
        case ARRAY_ATTENTION:
          if (!write_stack_rows (d, stack_source (rec, d->stacks[arr->stack].kind), &d->stacks[arr->stack], a, error))
            return FALSE;
          break;
        case ARRAY_POOLED_MEAN:
          if (!write_stack_pooled (d, stack_source (rec, d->stacks[arr->stack].kind), &d->stacks[arr->stack], a,
                                   find_array (d, ARRAY_POOLED_MAX, arr->stack), error))
            return FALSE;
          break;
        case ARRAY_POOLED_MAX:
          break;   /* with the mean */
        case ARRAY_VALUE_WEIGHTED:
        case ARRAY_ROLLOUT:
        case ARRAY_FLOW:
          if (!write_analysis_array (d, rec, a, error))
            return FALSE;
          break;
        default:
          if (!write_small_array (d, rec, a, error))
            return FALSE;
          break;
        }
    }
  return TRUE;
}

/* The logits rows the run did not hand over (a recording made without the
 * dump: attnviz_dump_write), from rec->logits. */
static gboolean
finish_logits (AttnvizDump *d, const AttnvizRecording *rec, GError **error)
{
  int a = find_array (d, ARRAY_LOGITS, -1);
  if (a < 0)
    return TRUE;
  if (d->logits_rows < rec->T)
    {
      g_return_val_if_fail (d->logits_rows == 0, FALSE);
      if (rec->logits == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "%s: the run kept no logits to write (--logits all needs them)", d->path);
          return FALSE;
        }
      if (!array_write (d, a, rec->logits, (gsize) rec->T * rec->vocab_size, error))
        return FALSE;
      d->logits_rows = rec->T;
    }
  return array_end (d, a, error);
}

/* ---- json: small inputs, everything inline ---- */

static void
add_matrix (JsonBuilder *b, const float *m, int rows, int cols)
{
  json_builder_begin_array (b);
  for (int i = 0; i < rows; i++)
    {
      json_builder_begin_array (b);
      for (int j = 0; j < cols; j++)
        add_float (b, m[(gsize) i * cols + j]);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
}

static void
add_int_matrix (JsonBuilder *b, const gint32 *m, int rows, int cols)
{
  json_builder_begin_array (b);
  for (int i = 0; i < rows; i++)
    {
      json_builder_begin_array (b);
      for (int j = 0; j < cols; j++)
        json_builder_add_int_value (b, m[(gsize) i * cols + j]);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
}

static void
add_vector (JsonBuilder *b, const char *name, const float *v, int n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    add_float (b, v[i]);
  json_builder_end_array (b);
}

/* Array A (an attention array of stack S) as (layers, heads, rows, cols)
 * nested arrays. */
static void
add_stack_json (JsonBuilder *b, const AttnvizDump *d, const AttnvizRecording *rec, const Array *arr)
{
  const Stack *s = &d->stacks[arr->stack];
  AttnvizAttention *source = stack_source (rec, s->kind);
  int rows = (int) arr->shape[2], cols = (int) arr->shape[3];
  g_autofree float *m = g_new (float, MAX ((gsize) rows * cols, 1));
  json_builder_set_member_name (b, arr->name);
  json_builder_begin_array (b);
  for (int l = 0; l < s->n_layers; l++)
    {
      json_builder_begin_array (b);
      for (int h = 0; h < s->n_heads; h++)
        {
          if (arr->kind == ARRAY_ATTENTION)
            attnviz_attention_get_rect (source, s->layers[l], s->heads[h], s->r0, s->r1, 0, s->n_cols, m, s->n_cols);
          else
            attnviz_attention_pool (source, s->layers[l], s->heads[h], rows, cols,
                                    arr->kind == ARRAY_POOLED_MAX ? ATTNVIZ_POOL_MAX : ATTNVIZ_POOL_MEAN, m, NULL);
          add_matrix (b, m, rows, cols);
        }
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
}

static gboolean
write_json (AttnvizDump *d, const AttnvizRecording *rec, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "metadata");
  build_metadata (b, d, rec);
  for (guint a = 0; a < d->arrays->len; a++)
    {
      const Array *arr = array_at (d, a);
      switch (arr->kind)
        {
        case ARRAY_ATTENTION:
        case ARRAY_POOLED_MEAN:
        case ARRAY_POOLED_MAX:
          add_stack_json (b, d, rec, arr);
          break;
        case ARRAY_VALUE_WEIGHTED:
          {
            const Stack *s = &d->stacks[arr->stack];
            json_builder_set_member_name (b, arr->name);
            json_builder_begin_array (b);
            for (int l = 0; l < s->n_layers; l++)
              {
                json_builder_begin_array (b);
                for (int h = 0; h < s->n_heads; h++)
                  {
                    g_autofree float *m = value_weighted_head (rec->attention, s, s->layers[l], s->heads[h], error);
                    if (m == NULL)
                      return FALSE;
                    add_matrix (b, m, s->r1 - s->r0, s->n_cols);
                  }
                json_builder_end_array (b);
              }
            json_builder_end_array (b);
          }
          break;
        case ARRAY_ROLLOUT:
        case ARRAY_FLOW:
          {
            g_autofree float *m = analysis_matrix (d, rec, arr->kind, error);
            if (m == NULL)
              return FALSE;
            json_builder_set_member_name (b, arr->name);
            add_matrix (b, m, rec->T, rec->T);
          }
          break;
        case ARRAY_SOURCE_IDS:
          json_builder_set_member_name (b, "source_ids");
          json_builder_begin_array (b);
          for (int i = 0; i < rec->S; i++)
            json_builder_add_int_value (b, rec->src_ids[i]);
          json_builder_end_array (b);
          break;
        case ARRAY_LOSS:
          add_vector (b, "loss", rec->loss, rec->T);
          break;
        case ARRAY_LOGITS_LAST:
          add_vector (b, "logits_last", rec->last_logits, rec->vocab_size);
          break;
        case ARRAY_TOPK_IDS:
          json_builder_set_member_name (b, "topk_ids");
          add_int_matrix (b, rec->topk_ids, rec->T, rec->top_k);
          break;
        case ARRAY_TOPK_PROBS:
          json_builder_set_member_name (b, "topk_probs");
          add_matrix (b, rec->topk_probs, rec->T, rec->top_k);
          break;
        case ARRAY_LOGITS:
          if (rec->logits == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "%s: the run kept no logits to write (--logits all needs them)", d->path);
              return FALSE;
            }
          json_builder_set_member_name (b, "logits");
          add_matrix (b, rec->logits, rec->T, rec->vocab_size);
          break;
        default:
          /* ids, spans, layers and heads are in the metadata */
          break;
        }
    }
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return attnviz_json_write (d->path, root, FALSE, error);
}

/* ---- the dump ---- */

gboolean
attnviz_dump_check_output (AttnvizDumpFormat format, const char *path, GError **error)
{
  if (format == ATTNVIZ_DUMP_NPY)
    return attnviz_output_check_dir (path, npy_folder_names, error);
  return attnviz_output_check (path, error);
}

static void
dump_free (AttnvizDump *d)
{
  if (d->arrays != NULL)
    {
      for (guint a = 0; a < d->arrays->len; a++)
        {
          Array *arr = array_at (d, a);
          g_clear_pointer (&arr->npy, attnviz_npy_writer_abort);
          g_free (arr->name);
        }
      g_array_unref (d->arrays);
    }
  g_clear_pointer (&d->files, g_ptr_array_unref);
  g_clear_pointer (&d->st, attnviz_safetensors_writer_abort);
  g_clear_pointer (&d->dir, attnviz_atomic_dir_abort);
  g_free (d->plan.rec_layers);
  g_free (d->plan.rec_heads);
  g_free (d->all_layers);
  g_free (d->all_enc_layers);
  g_free (d->all_heads);
  g_free (d->path);
  g_free (d);
}

void
attnviz_dump_abort (AttnvizDump *self)
{
  if (self != NULL)
    dump_free (self);
}

gboolean
attnviz_dump_failed (const AttnvizDump *self)
{
  return self != NULL && self->failed;
}

/* A dump of plan P (owned by it from now) into PATH: the output created. */
static AttnvizDump *
dump_new (const char *path, const AttnvizDumpOptions *options, Plan *p, const AttnvizDumpInfo *info,
          GError **error)
{
  AttnvizDump *d = g_new0 (AttnvizDump, 1);
  d->path = g_strdup (path);
  d->opt = *options;
  d->info = info;
  d->plan = *p;
  memset (p, 0, sizeof *p);
  if (!check_options (options, &d->plan, error))
    {
      dump_free (d);
      return NULL;
    }
  lay_out (d);

  if (options->format == ATTNVIZ_DUMP_NPY)
    {
      /* The folder is built under a temporary name beside PATH and swapped
       * into place whole (attnviz_atomic_dir_*): a reader, a second dump
       * or a full disk never leaves new arrays beside old metadata. */
      g_autofree char *parent = g_path_get_dirname (path);
      if (g_mkdir_with_parents (parent, 0777) != 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: cannot create the folder %s: %s", path,
                       parent, g_strerror (saved));
          dump_free (d);
          return NULL;
        }
      d->dir = attnviz_atomic_dir_open (path, npy_folder_names, error);
      int logits = find_array (d, ARRAY_LOGITS, -1);
      if (d->dir == NULL || (logits >= 0 && !array_begin (d, logits, error)))
        {
          name_the_output (d, error);
          dump_free (d);
          return NULL;
        }
    }
  else if (options->format == ATTNVIZ_DUMP_SAFETENSORS)
    {
      g_autofree AttnvizTensorOut *t = g_new0 (AttnvizTensorOut, MAX (d->arrays->len, 1));
      for (guint a = 0; a < d->arrays->len; a++)
        {
          const Array *arr = array_at (d, a);
          t[a].name = arr->name;
          t[a].dtype = arr->dtype;
          t[a].n_dims = arr->n_dims;
          memcpy (t[a].shape, arr->shape, sizeof arr->shape);
        }
      g_autoptr(GHashTable) meta = safetensors_metadata (d, NULL);
      d->st = attnviz_safetensors_writer_open (path, t, d->arrays->len, meta, METADATA_ROOM, error);
      if (d->st == NULL)
        {
          dump_free (d);
          return NULL;
        }
    }
  return d;
}

AttnvizDump *
attnviz_dump_open (const char *path,
                   const AttnvizDumpOptions *options,
                   const AttnvizModel *model,
                   AttnvizRunOptions *run,
                   const gint32 *ids,
                   int T,
                   const gint32 *src_ids,
                   int S,
                   const AttnvizDumpInfo *info,
                   GError **error)
{
  g_return_val_if_fail (path != NULL && options != NULL && model != NULL && run != NULL && info != NULL, NULL);
  g_return_val_if_fail (ids != NULL && T > 0 && S >= 0 && (src_ids != NULL || S == 0), NULL);
  Plan p;
  plan_from_run (&p, model, run, ids, T, src_ids, S);
  AttnvizDump *d = dump_new (path, options, &p, info, error);
  if (d == NULL)
    return NULL;
  if (find_array (d, ARRAY_LOGITS, -1) >= 0)
    {
      if (options->format == ATTNVIZ_DUMP_JSON)
        run->keep_logits = TRUE;
      else
        {
          run->logits_func = dump_logits;
          run->logits_data = d;
        }
    }
  /* The dump reads every head exactly: the overview the run would leave
   * for the views (up to 512 MiB) is kept at its smallest. */
  run->overview_bytes = 1;
  return d;
}

void
attnviz_dump_add_file (AttnvizDump *self, const char *name, const char *contents)
{
  g_return_if_fail (self->opt.format != ATTNVIZ_DUMP_NPY || g_strv_contains (npy_folder_names, name));
  if (self->files == NULL)
    self->files = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->files, g_strdup (name));
  g_ptr_array_add (self->files, g_strdup (contents));
}

/* The added files into FOLDER (an npy dump's temporary folder), or beside
 * PATH. */
static gboolean
write_added_files (AttnvizDump *d, const char *folder, GError **error)
{
  for (guint i = 0; d->files && i < d->files->len; i += 2)
    {
      const char *name = d->files->pdata[i], *contents = d->files->pdata[i + 1];
      g_autofree char *path = NULL;
      if (folder)
        path = g_build_filename (folder, name, NULL);
      else
        {
          const char *dot = strrchr (d->path, '.'), *slash = strrchr (d->path, G_DIR_SEPARATOR);
          gsize stem = dot && (!slash || dot > slash) ? (gsize) (dot - d->path) : strlen (d->path);
          path = g_strdup_printf ("%.*s.%s", (int) stem, d->path, name);
          if (!attnviz_output_check (path, error))
            return FALSE;
        }
      if (!attnviz_file_set_contents (path, contents, strlen (contents), error))
        return FALSE;
    }
  return TRUE;
}

gboolean
attnviz_dump_finish (AttnvizDump *self, const AttnvizRecording *rec, GError **error)
{
  g_return_val_if_fail (self != NULL && rec != NULL, FALSE);
  if (!plan_matches (&self->plan, rec))
    {
      dump_free (self);
      g_return_val_if_reached (FALSE);
    }
  for (int i = 0; i < self->n_stacks; i++)
    if (self->stacks[i].n_layers * self->stacks[i].n_heads > 0 && stack_source (rec, self->stacks[i].kind) == NULL)
      {
        /* a recording with dense buffers of its own (the trainer's) */
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: the recording has no attention source to read",
                     self->path);
        dump_free (self);
        return FALSE;
      }
  gboolean ok;
  if (self->opt.format == ATTNVIZ_DUMP_JSON)
    ok = write_json (self, rec, error) && write_added_files (self, NULL, error);
  else
    {
      ok = finish_logits (self, rec, error) && write_arrays (self, rec, error);
      if (ok && self->dir != NULL)
        {
          g_autofree char *json = metadata_json (self, rec, TRUE);
          g_autofree char *meta = g_build_filename (attnviz_atomic_dir_get_path (self->dir), "metadata.json", NULL);
          ok = attnviz_file_set_contents (meta, json, strlen (json), error)
               && write_added_files (self, attnviz_atomic_dir_get_path (self->dir), error);
          if (ok)
            ok = attnviz_atomic_dir_commit (g_steal_pointer (&self->dir), error);
        }
      else if (ok)
        {
          g_autoptr(GHashTable) meta = safetensors_metadata (self, rec);
          ok = attnviz_safetensors_writer_set_metadata (self->st, meta, error)
               && attnviz_safetensors_writer_commit (g_steal_pointer (&self->st), error)
               && write_added_files (self, NULL, error);
        }
      if (!ok)
        name_the_output (self, error);
    }
  dump_free (self);
  return ok;
}

gboolean
attnviz_dump_write (const AttnvizRecording *rec,
                    const AttnvizDumpInfo *info,
                    const AttnvizDumpOptions *options,
                    const char *path,
                    GError **error)
{
  Plan p;
  plan_from_recording (&p, rec);
  AttnvizDump *d = dump_new (path, options, &p, info, error);
  if (d == NULL)
    return FALSE;
  return attnviz_dump_finish (d, rec, error);
}
