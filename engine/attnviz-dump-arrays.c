/* attnviz-dump-arrays.c: a dump's arrays, written into the npy folder or
 * the safetensors file
 *
 * Each array begun, written and ended through one door whatever the
 * format; the logits as the run hands them over; the attention of each
 * stack head by head, a band of rows per thread for a recomputing run, or
 * pooled a group of heads at a time; the small arrays (ids, spans, loss,
 * top-k, layers, heads) and the analysis arrays (value-weighted heads,
 * rollout, flow).
 */
#define G_LOG_DOMAIN "attnviz-dump"
#include "config.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "attnviz-dump-private.h"
#include "attnviz-parallel.h"
#include "attnviz-rollout.h"

/* The rows the attention source recomputes at once
 * (attnviz-attention-recompute.c's ROW_BLOCK): bands that start on a multiple of it compute no row twice. */
#define ROW_BLOCK 128
/* Pooled heads computed side by side only while their bins take at most
 * this much: a dump of bins as large as the heads holds one at a time. */
#define POOL_GROUP_BYTES ((gsize) 64 << 20)

/* ---- writing arrays: into the npy folder, or the safetensors file ---- */

/* An error about the npy folder's temporary names the folder asked for. */
void
_attnviz_dump_name_the_output (AttnvizDump *d, GError **error)
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

gboolean
_attnviz_dump_array_begin (AttnvizDump *d, guint a, GError **error)
{
  Array *arr = _attnviz_dump_array_at (d, a);
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
  Array *arr = _attnviz_dump_array_at (d, a);
  if (d->dir != NULL)
    return attnviz_npy_writer_write (arr->npy, data, n, error);
  return attnviz_safetensors_writer_write (d->st, a, data, n * attnviz_dtype_size (arr->dtype), error);
}

static gboolean
array_end (AttnvizDump *d, guint a, GError **error)
{
  Array *arr = _attnviz_dump_array_at (d, a);
  if (d->dir == NULL)
    return TRUE;
  AttnvizNpyWriter *w = g_steal_pointer (&arr->npy);
  return attnviz_npy_writer_commit (w, error);
}

static gboolean
array_write_all (AttnvizDump *d, guint a, const void *data, GError **error)
{
  return _attnviz_dump_array_begin (d, a, error)
         && array_write (d, a, data, _attnviz_dump_array_elements (_attnviz_dump_array_at (d, a)), error)
         && array_end (d, a, error);
}

/* AttnvizLogitsFunc: each block of logits rows into the file as the run
 * makes it. */
gboolean
_attnviz_dump_logits (const float *logits, int t0, int n, int vocab_size, gpointer data, GError **error)
{
  AttnvizDump *d = data;
  int a = _attnviz_dump_find_array (d, ARRAY_LOGITS, -1);
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
      _attnviz_dump_name_the_output (d, error);
      return FALSE;
    }
  d->logits_rows += n;
  return TRUE;
}

/* ---- the attention, head by head ---- */

AttnvizAttention *
_attnviz_dump_stack_source (const AttnvizRecording *rec, StackKind kind)
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

  if (!_attnviz_dump_array_begin (d, a, error))
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

  if (!_attnviz_dump_array_begin (d, mean_a, error) || (max_a >= 0 && !_attnviz_dump_array_begin (d, max_a, error)))
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

float *
_attnviz_dump_next_prob (const AttnvizRecording *rec)
{
  if (rec->next_prob != NULL)
    return g_memdup2 (rec->next_prob, sizeof (float) * MAX (rec->T, 1));
  float *p = g_new (float, MAX (rec->T, 1));
  for (int t = 0; t < rec->T; t++)
    p[t] = rec->loss ? expf (-rec->loss[t]) : NAN;
  return p;
}

static gboolean
write_small_array (AttnvizDump *d, const AttnvizRecording *rec, guint a, GError **error)
{
  const Array *arr = _attnviz_dump_array_at (d, a);
  g_autofree gint32 *owned = NULL;
  g_autofree float *owned_f = NULL;
  const void *data = NULL;
  switch (arr->kind)
    {
    case ARRAY_INPUT_IDS: data = rec->ids; break;
    case ARRAY_TOKEN_SPANS: data = owned = spans_of (d->info->tokens, rec->T); break;
    case ARRAY_LOSS: data = rec->loss; break;
    case ARRAY_TOPK_IDS: data = rec->topk_ids; break;
    case ARRAY_TOPK_PROBS: data = rec->topk_probs; break;
    case ARRAY_NEXT_PROB: data = owned_f = _attnviz_dump_next_prob (rec); break;
    case ARRAY_LENS_IDS: data = rec->lens_topk_ids; break;
    case ARRAY_LENS_PROBS: data = rec->lens_topk_probs; break;
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
  g_return_val_if_fail (data != NULL || _attnviz_dump_array_elements (arr) == 0, FALSE);
  return array_write_all (d, a, data, error);
}

/* The value-weighted heads of the self stack, rows [r0, r1) of each, a
 * block of rows at a time. */
float *
_attnviz_dump_value_weighted_head (AttnvizAttention *source, const Stack *s, int layer, int head, GError **error)
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
float *
_attnviz_dump_analysis_matrix (const AttnvizDump *d, const AttnvizRecording *rec, ArrayKind kind, GError **error)
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
  const Array *arr = _attnviz_dump_array_at (d, a);
  if (arr->kind != ARRAY_VALUE_WEIGHTED)
    {
      g_autofree float *m = _attnviz_dump_analysis_matrix (d, rec, arr->kind, error);
      return m != NULL && array_write_all (d, a, m, error);
    }
  const Stack *s = &d->stacks[arr->stack];
  if (!_attnviz_dump_array_begin (d, a, error))
    return FALSE;
  for (int l = 0; l < s->n_layers; l++)
    for (int h = 0; h < s->n_heads; h++)
      {
        g_autofree float *m = _attnviz_dump_value_weighted_head (rec->attention, s, s->layers[l], s->heads[h], error);
        if (m == NULL || !array_write (d, a, m, (gsize) (s->r1 - s->r0) * s->n_cols, error))
          return FALSE;
      }
  return array_end (d, a, error);
}

/* Every array but the logits (written during the run), in their order. */
gboolean
_attnviz_dump_write_arrays (AttnvizDump *d, const AttnvizRecording *rec, GError **error)
{
  for (guint a = 0; a < d->arrays->len; a++)
    {
      const Array *arr = _attnviz_dump_array_at (d, a);
      switch (arr->kind)
        {
        case ARRAY_LOGITS:
          break;
        case ARRAY_ATTENTION:
          if (!write_stack_rows (d, _attnviz_dump_stack_source (rec, d->stacks[arr->stack].kind),
                                 &d->stacks[arr->stack], a, error))
            return FALSE;
          break;
        case ARRAY_POOLED_MEAN:
          if (!write_stack_pooled (d, _attnviz_dump_stack_source (rec, d->stacks[arr->stack].kind),
                                   &d->stacks[arr->stack], a,
                                   _attnviz_dump_find_array (d, ARRAY_POOLED_MAX, arr->stack), error))
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
gboolean
_attnviz_dump_finish_logits (AttnvizDump *d, const AttnvizRecording *rec, GError **error)
{
  int a = _attnviz_dump_find_array (d, ARRAY_LOGITS, -1);
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
