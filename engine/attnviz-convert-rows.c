/* attnviz-convert-rows.c: a tensor's rows converted, on threads
 *
 * Each output row from its source row (dequantized to float32, reordered:
 * LLaMA's Q/K heads permuted, GPT-2's Conv1D transposed) quantized to the
 * output type, rows split in chunks over N threads so the bytes are the
 * same whatever the thread count; the writer's callback that converts a
 * tensor when it reaches it; and the range scan that reads the tensors
 * whose values may not fit their type before anything is written.
 */
#define G_LOG_DOMAIN "attnviz-convert"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-convert.h"
#include "attnviz-forward.h"
#include "attnviz-gguf.h"
#include "attnviz-convert-private.h"

/* ---- threads ---- */

typedef struct {
  const Plan *p;
  gint64 n;                  /* items: output rows, or source rows for a scan */
  gint64 grain;
  int next;                  /* atomic: next chunk */
  guint8 *out;               /* output bytes (convert) */
  const float *tbuf;         /* (rows, cols) float32: a transposed source */
  /* scan */
  GMutex lock;
  double max_abs;
  gint64 bad_at;             /* first non-finite element found, or -1 */
  double bad_value;
} Job;

/* Row R of the source (before reordering) as float32 into DST (src.cols). */
static void
source_row (const Plan *p, gint64 r, float *dst)
{
  attnviz_dequantize_row (p->src.type, (const guint8 *) p->src.data + (gsize) r * p->src.row_bytes, dst,
                          p->src.cols);
}

/* The source row that becomes output row R (LLaMA's Q/K permutation). */
gint64
_attnviz_convert_source_index (const Plan *p, gint64 r)
{
  if (p->perm_heads <= 0)
    return r;
  gint64 hd = p->rows / p->perm_heads;
  gint64 h = r / hd, i = r % hd;
  return h * hd + (i % 2) * (hd / 2) + i / 2;
}

static void
convert_rows (Job *job, gint64 start, gint64 end, float *row)
{
  const Plan *p = job->p;
  for (gint64 r = start; r < end; r++)
    {
      const float *values = row;
      if (job->tbuf != NULL)
        values = job->tbuf + r * p->cols;
      else
        source_row (p, _attnviz_convert_source_index (p, r), row);
      attnviz_quantize_row (p->type, values, job->out + (gsize) r * p->row_bytes, p->cols);
    }
}

static void
scan_rows (Job *job, gint64 start, gint64 end, float *row)
{
  const Plan *p = job->p;
  double amax = 0.0;
  gint64 bad_at = -1;
  double bad = 0.0;
  for (gint64 r = start; r < end && bad_at < 0; r++)
    {
      source_row (p, r, row);
      for (gint64 j = 0; j < p->src.cols; j++)
        {
          if (!isfinite (row[j]))
            {
              bad_at = r * p->src.cols + j;
              bad = row[j];
              break;
            }
          amax = MAX (amax, fabs (row[j]));
        }
    }
  g_mutex_lock (&job->lock);
  job->max_abs = MAX (job->max_abs, amax);
  if (bad_at >= 0 && (job->bad_at < 0 || bad_at < job->bad_at))
    {
      job->bad_at = bad_at;
      job->bad_value = bad;
    }
  g_mutex_unlock (&job->lock);
}

typedef void (*RowFunc) (Job *job, gint64 start, gint64 end, float *row);

typedef struct {
  Job *job;
  RowFunc func;
  gint64 row_floats;
} Worker;

static gpointer
worker_run (gpointer data)
{
  Worker *w = data;
  Job *job = w->job;
  gint64 n_chunks = (job->n + job->grain - 1) / job->grain;
  g_autofree float *row = g_new (float, MAX (w->row_floats, 1));
  for (;;)
    {
      gint64 c = g_atomic_int_add (&job->next, 1);
      if (c >= n_chunks)
        break;
      gint64 start = c * job->grain;
      w->func (job, start, MIN (start + job->grain, job->n), row);
    }
  return NULL;
}

/* FUNC over the JOB's items, on the converter's threads: about 64 Ki
 * values a chunk, so the threads take turns often enough to end together. */
static void
run_job (Converter *cv, Job *job, RowFunc func, gint64 row_floats)
{
  job->grain = MAX (1, 65536 / MAX (row_floats, 1));
  gint64 n_chunks = (job->n + job->grain - 1) / job->grain;
  int n_threads = (int) MIN ((gint64) cv->n_threads, n_chunks);
  Worker w = { job, func, row_floats };
  GThread *threads[64];
  int n_started = 0;
  for (int i = 1; i < MIN (n_threads, 64); i++)
    threads[n_started++] = g_thread_new ("attnviz-convert", worker_run, &w);
  worker_run (&w);
  for (int i = 0; i < n_started; i++)
    g_thread_join (threads[i]);
}

/* ---- the bytes of one tensor, when the writer reaches it ---- */

const void *
_attnviz_convert_produce_tensor (gpointer data, GDestroyNotify *destroy, GError **error)
{
  Plan *p = data;
  Converter *cv = p->cv;

  if (cv->opts->progress)
    cv->opts->progress ((double) cv->done_bytes / MAX (cv->total_bytes, 1), p->name, cv->opts->user_data);
  cv->done_bytes += p->n_bytes;

  if (p->copy)
    return p->src.data;

  guint8 *out = g_try_malloc (MAX (p->n_bytes, 1));
  if (out == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory converting tensor \"%s\" (%"
                   G_GSIZE_FORMAT " bytes)", p->name, p->n_bytes);
      return NULL;
    }
  Job job = { .p = p, .n = p->rows, .out = out };
  g_autofree float *tbuf = NULL;
  if (p->transpose)
    {
      /* One float32 copy of this matrix, source row i spread over column i. */
      tbuf = g_try_new (float, p->rows * p->cols);
      g_autofree float *row = g_new (float, p->src.cols);
      if (tbuf == NULL)
        {
          g_free (out);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "out of memory transposing tensor \"%s\"",
                       p->name);
          return NULL;
        }
      for (gint64 i = 0; i < p->src.rows; i++)
        {
          source_row (p, i, row);
          for (gint64 j = 0; j < p->src.cols; j++)
            tbuf[j * p->cols + i] = row[j];
        }
      job.tbuf = tbuf;
    }
  run_job (cv, &job, convert_rows, p->cols);
  *destroy = g_free;
  return out;
}

/* ---- the range scan ---- */

/* Tensors whose values may not fit their type are read once first: a
 * value beyond the type's range makes the tensor F32, a non-finite one is
 * an error. */
void
_attnviz_convert_scan_ranges (Converter *cv)
{
  for (guint i = 0; i < cv->plans->len && !cv->failed; i++)
    {
      Plan *p = g_ptr_array_index (cv->plans, i);
      double limit = _attnviz_convert_type_limit (p->type);
      if (p->copy || isinf (limit) || p->src.type == ATTNVIZ_WEIGHT_F16)
        continue;
      Job job = { .p = p, .n = p->src.rows, .bad_at = -1 };
      g_mutex_init (&job.lock);
      run_job (cv, &job, scan_rows, p->src.cols);
      g_mutex_clear (&job.lock);
      if (job.bad_at >= 0)
        {
          _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                          "%s: tensor \"%s\" holds a non-finite value (%g at element %" G_GINT64_FORMAT ")",
                          cv->model->path, p->name, job.bad_value, job.bad_at);
          return;
        }
      if (job.max_abs > limit)
        {
          g_autofree char *note = g_strdup_printf ("F32 instead of %s: values up to %.3g are beyond its range",
                                                   attnviz_weight_type_name (p->type), job.max_abs);
          _attnviz_converter_add_note (cv, note, p->name);
          cv->total_bytes -= p->n_bytes;
          p->type = ATTNVIZ_WEIGHT_F32;
          attnviz_weight_row_bytes (p->type, p->cols, &p->row_bytes);
          p->n_bytes = p->row_bytes * (gsize) p->rows;
          p->copy = p->src_type == ATTNVIZ_WEIGHT_F32 && !p->transpose && p->perm_heads <= 0
                    && p->src.row_bytes == p->row_bytes;
          cv->total_bytes += p->n_bytes;
        }
    }
}
