/* attnviz-convert.c: an opened model written as GGUF for llama.cpp
 *
 * What is written, by source:
 *
 *   Hugging Face folder: the tensors of the generic AttnvizModel under
 *   llama.cpp's names for the architecture (the table is the one
 *   attnviz-model-gguf.c reads; llama.cpp's src/models/ARCH.cpp wants the
 *   same), the ARCH.* keys from the config, tokenizer.ggml.* from the
 *   folder's tokenizer (attnviz-tokenizer-export.c).
 *     llama:  Q and K rows (and biases) permuted from Hugging Face's
 *             rotate-half order to llama.cpp's adjacent pairs, within each
 *             head: pair row 2j + s = half row s * head_dim / 2 + j, as
 *             llama.cpp's converter does (LlamaModel.permute).  Only a
 *             model whose config says ATTNVIZ_ROPE_HALVES is permuted.
 *     qwen2:  rows as they are (llama.cpp's qwen2 turns halves).
 *     gpt2:   Conv1D weights, stored (in, out), transposed to (out, in);
 *             c_attn becomes blk.N.attn_qkv (Q, K, V stacked as rows).
 *     bert:   token_types, token_embd_norm, attn_output_norm,
 *             layer_output_norm; the masked-LM head (cls.predictions) has
 *             no place in GGUF bert and is left out, as llama.cpp does.
 *   GGUF file: every tensor of the file, in its order, under its name and
 *   shape, and every metadata key but general.file_type and
 *   general.quantization_version, which describe the new file.
 *
 * Which type each tensor takes, for --type T:
 *   - vectors (norms, biases, rope_freqs) and any *_norm.weight: F32, as
 *     llama.cpp keeps them;
 *   - position_embd and token_types: F32, as llama.cpp's converter and
 *     quantizer keep them (its BERT adds a token_types row to F32
 *     activations, which ggml's CPU add does not do from F16);
 *   - the LM head (output.weight, or token_embd.weight when it is tied and
 *     so is the LM head too): Q8_0 when T is Q4_0 or Q4_K.  The head's
 *     error goes straight into every logit, and llama.cpp keeps it at Q6_K
 *     in its Q4 mixes; Q8_0 is the nearest type attnviz writes.  An untied
 *     token_embd is a lookup table whose error enters once: T;
 *   - every other matrix: T.
 * Fallbacks, one note line per kind:
 *   - rows not a multiple of the type's block: Q4_K -> Q8_0 (llama.cpp
 *     takes Q5_0, which attnviz does not write; Q8_0 is never less precise
 *     than asked), and Q8_0 or Q4_0 (or Q4_K's Q8_0) -> F16, as llama.cpp;
 *   - values beyond the type's range (F16 65504; the block types' f16
 *     scales overflow beyond about 5.2e5 for Q4_0, 4e6 for Q4_K, 8.3e6 for
 *     Q8_0): F32, where llama.cpp would write inf.  Found by a scan of the
 *     source before anything is written; non-finite values are refused.
 *   - a GGUF tensor already in the type it is to take is copied as it is:
 *     requantizing its dequantized values would only add error.
 *
 * Memory: the writer asks for each tensor's bytes only when it reaches it
 * (attnviz_gguf_writer_add_tensor_func): the tensor is then converted,
 * written and freed, so the conversion holds one tensor's output at a time
 * (and, for GPT-2's transposed matrices, one float32 copy of that matrix).
 * Rows are quantized on N threads, each its own chunk of rows: every row's
 * bytes are the same whatever the thread count.
 */
#define G_LOG_DOMAIN "attnviz-convert"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "attnviz-convert.h"
#include "attnviz-forward.h"
#include "attnviz-gguf.h"

/* general.quantization_version: the block layouts of ggml since 2023. */
#define QUANTIZATION_VERSION 2

typedef struct _Converter Converter;

/* One output tensor and where its values come from. */
typedef struct {
  Converter *cv;
  char *name;
  int n_dims;
  gint64 ne[ATTNVIZ_GGUF_MAX_DIMS]; /* output shape, ggml order */
  gint64 rows, cols;         /* output rows of COLS values */
  AttnvizWeightType type;    /* output type */
  gsize row_bytes;           /* of an output row */
  gsize n_bytes;

  /* the source: ROWS x COLS of it make the output, after the reordering */
  AttnvizMatrix src;         /* (src.rows, src.cols) as stored */
  guint32 src_type;          /* the stored type id (may be one attnviz cannot read) */
  gboolean transpose;        /* output row r = source column r (GPT-2 Conv1D) */
  int perm_heads;            /* > 0: LLaMA Q/K, halves -> pairs over this many heads */
  gboolean copy;             /* the source bytes are the output as they are */
  gboolean lm_head;
} Plan;

struct _Converter {
  const AttnvizModel *model;
  const AttnvizConvertOptions *opts;
  int n_threads;
  const char *arch;
  GPtrArray *plans;          /* Plan*, in file order; owned by the writer once added */
  GPtrArray *owned;          /* buffers the plans point into (permuted biases) */
  GHashTable *notes;         /* note text -> GPtrArray of tensor names */
  GPtrArray *note_order;     /* note texts in the order first seen */
  guint64 total_bytes;
  guint64 done_bytes;
  gboolean failed;
  GError *error;
};

static void
plan_free (gpointer data)
{
  Plan *p = data;
  g_free (p->name);
  g_free (p);
}

static void
converter_fail (Converter *cv, GQuark domain, int code, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static void
converter_fail (Converter *cv, GQuark domain, int code, const char *fmt, ...)
{
  if (cv->failed)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (&cv->error, domain, code, msg);
  cv->failed = TRUE;
}

/* Records that TENSOR took the choice NOTE; printed once per NOTE. */
static void
add_note (Converter *cv, const char *note, const char *tensor)
{
  GPtrArray *names = g_hash_table_lookup (cv->notes, note);
  if (names == NULL)
    {
      names = g_ptr_array_new_with_free_func (g_free);
      char *key = g_strdup (note);
      g_hash_table_insert (cv->notes, key, names);
      g_ptr_array_add (cv->note_order, key);
    }
  g_ptr_array_add (names, g_strdup (tensor));
}

static void
emit_notes (Converter *cv)
{
  for (guint i = 0; i < cv->note_order->len; i++)
    {
      const char *note = g_ptr_array_index (cv->note_order, i);
      GPtrArray *names = g_hash_table_lookup (cv->notes, note);
      g_autofree char *line = NULL;
      if (names->len == 1)
        line = g_strdup_printf ("%s: %s", (const char *) g_ptr_array_index (names, 0), note);
      else
        line = g_strdup_printf ("%u tensors (%s, ...): %s", names->len,
                                (const char *) g_ptr_array_index (names, 0), note);
      if (cv->opts->note)
        cv->opts->note (line, cv->opts->user_data);
      else
        g_debug ("%s", line);
    }
}

/* ---- types ---- */

gboolean
attnviz_convert_parse_type (const char *name, AttnvizWeightType *type)
{
  static const struct { const char *name; AttnvizWeightType type; } types[] = {
    { "f32", ATTNVIZ_WEIGHT_F32 }, { "f16", ATTNVIZ_WEIGHT_F16 }, { "bf16", ATTNVIZ_WEIGHT_BF16 },
    { "q8_0", ATTNVIZ_WEIGHT_Q8_0 }, { "q4_0", ATTNVIZ_WEIGHT_Q4_0 }, { "q4_k", ATTNVIZ_WEIGHT_Q4_K },
  };
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (types); i++)
    if (g_ascii_strcasecmp (name, types[i].name) == 0)
      {
        *type = types[i].type;
        return TRUE;
      }
  return FALSE;
}

guint32
attnviz_convert_file_type (AttnvizWeightType type)
{
  switch (type)
    {
    case ATTNVIZ_WEIGHT_F32: return 0;
    case ATTNVIZ_WEIGHT_F16: return 1;
    case ATTNVIZ_WEIGHT_Q4_0: return 2;
    case ATTNVIZ_WEIGHT_Q8_0: return 7;
    case ATTNVIZ_WEIGHT_Q4_K: return 14;
    case ATTNVIZ_WEIGHT_BF16: return 32;
    default: g_return_val_if_reached (0);
    }
}

static gboolean
is_block_type (AttnvizWeightType type)
{
  return type == ATTNVIZ_WEIGHT_Q8_0 || type == ATTNVIZ_WEIGHT_Q4_0 || type == ATTNVIZ_WEIGHT_Q4_K;
}

/* The largest magnitude TYPE stores without an f16 (scale) overflow; the
 * block types' limits are those attnviz-quant.h gives, with a margin. */
static double
type_limit (AttnvizWeightType type)
{
  switch (type)
    {
    case ATTNVIZ_WEIGHT_F16: return 65504.0;
    case ATTNVIZ_WEIGHT_Q8_0: return 8.0e6;
    case ATTNVIZ_WEIGHT_Q4_0: return 5.0e5;
    case ATTNVIZ_WEIGHT_Q4_K: return 3.9e6;
    default: return INFINITY;
    }
}

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
static gint64
source_index (const Plan *p, gint64 r)
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
        source_row (p, source_index (p, r), row);
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

static const void *
produce_tensor (gpointer data, GDestroyNotify *destroy, GError **error)
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

/* ---- planning ---- */

static gboolean
name_has_suffix (const char *name, const char *const *suffixes)
{
  for (; *suffixes; suffixes++)
    if (g_str_has_suffix (name, *suffixes))
      return TRUE;
  return FALSE;
}

/* Chooses P's output type (see the top of the file). */
static void
choose_type (Converter *cv, Plan *p)
{
  AttnvizWeightType want = cv->opts->type;
  static const char *const vector_like[] = { "_norm.weight", "_norm.bias", NULL };
  static const char *const tables[] = { "position_embd.weight", "token_types.weight", NULL };

  if (p->n_dims < 2 || p->rows == 1 || name_has_suffix (p->name, vector_like))
    want = ATTNVIZ_WEIGHT_F32;
  else if (name_has_suffix (p->name, tables))
    want = ATTNVIZ_WEIGHT_F32;
  else if (p->lm_head && (want == ATTNVIZ_WEIGHT_Q4_0 || want == ATTNVIZ_WEIGHT_Q4_K))
    {
      want = ATTNVIZ_WEIGHT_Q8_0;
      add_note (cv, "the LM head is Q8_0 (its error reaches every logit; llama.cpp keeps it at Q6_K "
                "in its Q4 mixes)", p->name);
    }

  /* Rows the type's blocks do not divide. */
  if (p->cols % attnviz_weight_type_block_size (want) != 0)
    {
      AttnvizWeightType from = want;
      if (want == ATTNVIZ_WEIGHT_Q4_K && p->cols % 32 == 0)
        want = ATTNVIZ_WEIGHT_Q8_0;
      else
        want = ATTNVIZ_WEIGHT_F16;
      g_autofree char *note = g_strdup_printf ("%s instead of %s: rows of %" G_GINT64_FORMAT
                                               " values are not a multiple of %s's block of %d",
                                               attnviz_weight_type_name (want), attnviz_weight_type_name (from),
                                               p->cols, attnviz_weight_type_name (from),
                                               attnviz_weight_type_block_size (from));
      add_note (cv, note, p->name);
    }
  p->type = want;
}

static void
finish_plan (Converter *cv, Plan *p)
{
  gboolean ok = attnviz_weight_row_bytes (p->type, p->cols, &p->row_bytes);
  g_assert (ok);
  p->n_bytes = p->row_bytes * (gsize) p->rows;
  /* Copied as they are: the same type, no reordering, rows packed. */
  p->copy = p->src_type == (guint32) p->type && !p->transpose && p->perm_heads <= 0
            && p->src.row_bytes == p->row_bytes && p->src.rows == p->rows;
  if (p->copy && p->src_type != ATTNVIZ_WEIGHT_F32 && cv->model->gguf)
    add_note (cv, "copied as it is, already in the type it takes", p->name);
  cv->total_bytes += p->n_bytes;
  g_ptr_array_add (cv->plans, p);
}

static Plan *
plan_new (Converter *cv, const char *name, const AttnvizMatrix *m)
{
  Plan *p = g_new0 (Plan, 1);
  p->cv = cv;
  p->name = g_strdup (name);
  p->src = *m;
  p->src_type = m->type;
  p->rows = m->rows;
  p->cols = m->cols;
  p->n_dims = 2;
  p->ne[0] = m->cols;
  p->ne[1] = m->rows;
  p->ne[2] = p->ne[3] = 1;
  return p;
}

/* A matrix of the model: (rows, cols) as stored; TRANSPOSE for Conv1D's
 * (in, out); PERM_HEADS for LLaMA's Q and K. */
static void
plan_matrix (Converter *cv, const char *name, const AttnvizMatrix *m, gboolean transpose,
             int perm_heads, gboolean lm_head)
{
  if (cv->failed)
    return;
  Plan *p = plan_new (cv, name, m);
  if (transpose)
    {
      p->rows = m->cols;
      p->cols = m->rows;
      p->ne[0] = p->cols;
      p->ne[1] = p->rows;
    }
  p->transpose = transpose;
  p->perm_heads = perm_heads;
  p->lm_head = lm_head;
  if (perm_heads > 0 && (p->rows % perm_heads != 0 || (p->rows / perm_heads) % 2 != 0))
    {
      converter_fail (cv, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "tensor \"%s\": %" G_GINT64_FORMAT
                      " rows do not split into %d heads of an even size", name, p->rows, perm_heads);
      plan_free (p);
      return;
    }
  choose_type (cv, p);
  finish_plan (cv, p);
}

/* A float32 vector of the model (N values), permuted for LLaMA's Q/K biases. */
static void
plan_vector (Converter *cv, const char *name, const float *v, gint64 n, int perm_heads)
{
  if (cv->failed || v == NULL)
    return;
  if (perm_heads > 0)
    {
      Plan tmp = { .rows = n, .perm_heads = perm_heads };
      float *copy = g_new (float, n);
      for (gint64 r = 0; r < n; r++)
        copy[r] = v[source_index (&tmp, r)];
      g_ptr_array_add (cv->owned, copy);
      v = copy;
    }
  AttnvizMatrix m = attnviz_matrix_f32 (v, 1, (int) n, (int) n);
  Plan *p = plan_new (cv, name, &m);
  p->n_dims = 1;
  p->ne[1] = 1;
  choose_type (cv, p);
  finish_plan (cv, p);
}

/* PREFIX.weight and, when the layer has one, PREFIX.bias. */
static void
plan_linear (Converter *cv, const char *prefix, const AttnvizLinear *lin, int perm_heads)
{
  g_autofree char *w = g_strconcat (prefix, ".weight", NULL);
  g_autofree char *b = g_strconcat (prefix, ".bias", NULL);
  if (lin->in_out && (lin->col0 != 0 || lin->n_out != lin->w.cols))
    {
      converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "tensor \"%s\": a slice of a Conv1D weight", w);
      return;
    }
  plan_matrix (cv, w, &lin->w, lin->in_out, perm_heads, FALSE);
  plan_vector (cv, b, lin->b, lin->n_out, perm_heads);
}

/* ---- Hugging Face models ---- */

static void
plan_llama (Converter *cv, gboolean qwen2)
{
  const AttnvizModel *m = cv->model;
  const AttnvizConfig *c = &m->config;
  gboolean tied = m->lm_head.w.data == m->tok_emb.data;
  /* llama.cpp's llama turns adjacent pairs: Hugging Face's halves are permuted. */
  gboolean permute = !qwen2 && c->rope_style == ATTNVIZ_ROPE_HALVES;

  plan_matrix (cv, "token_embd.weight", &m->tok_emb, FALSE, 0, tied);
  if (c->rope_llama3)
    {
      /* llama.cpp takes Llama 3's scaling as factors dividing each pair's
       * frequency (rope_freqs), as its own converter writes them. */
      int n = (c->rope_dims > 0 ? c->rope_dims : c->head_dim) / 2;
      float *factors = g_new (float, n);
      attnviz_rope_frequencies (factors, m, NULL);
      for (int i = 0; i < n; i++)
        factors[i] = (1.0f / powf (c->rope_theta, (float) (2 * i) / (float) (2 * n))) / factors[i];
      g_ptr_array_add (cv->owned, factors);
      plan_vector (cv, "rope_freqs.weight", factors, n, 0);
    }
  for (int i = 0; i < c->n_layer; i++)
    {
      const AttnvizLayerWeights *L = &m->layers[i];
      g_autofree char *p = g_strdup_printf ("blk.%d.", i);
      g_autofree char *attn_norm = g_strconcat (p, "attn_norm.weight", NULL);
      g_autofree char *q = g_strconcat (p, "attn_q", NULL);
      g_autofree char *k = g_strconcat (p, "attn_k", NULL);
      g_autofree char *v = g_strconcat (p, "attn_v", NULL);
      g_autofree char *o = g_strconcat (p, "attn_output", NULL);
      g_autofree char *ffn_norm = g_strconcat (p, "ffn_norm.weight", NULL);
      g_autofree char *gate = g_strconcat (p, "ffn_gate", NULL);
      g_autofree char *up = g_strconcat (p, "ffn_up", NULL);
      g_autofree char *down = g_strconcat (p, "ffn_down", NULL);

      plan_vector (cv, attn_norm, L->attn_norm_w, c->d_model, 0);
      plan_linear (cv, q, &L->q, permute ? c->n_head : 0);
      plan_linear (cv, k, &L->k, permute ? c->n_kv_head : 0);
      plan_linear (cv, v, &L->v, 0);
      plan_linear (cv, o, &L->o, 0);
      plan_vector (cv, ffn_norm, L->mlp_norm_w, c->d_model, 0);
      plan_linear (cv, gate, &L->gate, 0);
      plan_linear (cv, up, &L->up, 0);
      plan_linear (cv, down, &L->down, 0);
    }
  plan_vector (cv, "output_norm.weight", m->final_norm_w, c->d_model, 0);
  if (!tied)
    plan_matrix (cv, "output.weight", &m->lm_head.w, FALSE, 0, TRUE);
}

static void
plan_gpt2 (Converter *cv)
{
  const AttnvizModel *m = cv->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;
  gboolean tied = !c->has_lm_head || m->lm_head.w.data == m->tok_emb.data;

  plan_matrix (cv, "token_embd.weight", &m->tok_emb, FALSE, 0, tied && c->has_lm_head);
  plan_matrix (cv, "position_embd.weight", &m->pos_emb, FALSE, 0, FALSE);
  for (int i = 0; i < c->n_layer && !cv->failed; i++)
    {
      const AttnvizLayerWeights *L = &m->layers[i];
      g_autofree char *p = g_strdup_printf ("blk.%d.", i);
      g_autofree char *n1w = g_strconcat (p, "attn_norm.weight", NULL);
      g_autofree char *n1b = g_strconcat (p, "attn_norm.bias", NULL);
      g_autofree char *qkvw = g_strconcat (p, "attn_qkv.weight", NULL);
      g_autofree char *qkvb = g_strconcat (p, "attn_qkv.bias", NULL);
      g_autofree char *o = g_strconcat (p, "attn_output", NULL);
      g_autofree char *n2w = g_strconcat (p, "ffn_norm.weight", NULL);
      g_autofree char *n2b = g_strconcat (p, "ffn_norm.bias", NULL);
      g_autofree char *up = g_strconcat (p, "ffn_up", NULL);
      g_autofree char *down = g_strconcat (p, "ffn_down", NULL);

      plan_vector (cv, n1w, L->attn_norm_w, d, 0);
      plan_vector (cv, n1b, L->attn_norm_b, d, 0);
      /* Q, K and V: the three column blocks of one Conv1D (d, 3d) weight,
       * whose bias is 3d floats from Q's. */
      if (!(L->q.in_out && L->q.w.data == L->k.w.data && L->q.w.data == L->v.w.data && L->q.w.cols == 3 * d
            && L->q.col0 == 0 && L->k.b == L->q.b + d && L->v.b == L->q.b + 2 * d))
        {
          converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                          "%s: layer %d's Q, K and V are not one fused c_attn weight", m->path, i);
          return;
        }
      plan_matrix (cv, qkvw, &L->q.w, TRUE, 0, FALSE);
      plan_vector (cv, qkvb, L->q.b, 3 * d, 0);
      plan_linear (cv, o, &L->o, 0);
      plan_vector (cv, n2w, L->mlp_norm_w, d, 0);
      plan_vector (cv, n2b, L->mlp_norm_b, d, 0);
      plan_linear (cv, up, &L->up, 0);
      plan_linear (cv, down, &L->down, 0);
    }
  plan_vector (cv, "output_norm.weight", m->final_norm_w, d, 0);
  plan_vector (cv, "output_norm.bias", m->final_norm_b, d, 0);
  if (!tied)
    plan_matrix (cv, "output.weight", &m->lm_head.w, FALSE, 0, TRUE);
}

static void
plan_bert (Converter *cv)
{
  const AttnvizModel *m = cv->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;

  plan_matrix (cv, "token_embd.weight", &m->tok_emb, FALSE, 0, FALSE);
  if (m->type_emb.data != NULL)
    plan_matrix (cv, "token_types.weight", &m->type_emb, FALSE, 0, FALSE);
  plan_matrix (cv, "position_embd.weight", &m->pos_emb, FALSE, 0, FALSE);
  plan_vector (cv, "token_embd_norm.weight", m->emb_norm_w, d, 0);
  plan_vector (cv, "token_embd_norm.bias", m->emb_norm_b, d, 0);
  for (int i = 0; i < c->n_layer; i++)
    {
      const AttnvizLayerWeights *L = &m->layers[i];
      g_autofree char *p = g_strdup_printf ("blk.%d.", i);
      g_autofree char *q = g_strconcat (p, "attn_q", NULL);
      g_autofree char *k = g_strconcat (p, "attn_k", NULL);
      g_autofree char *v = g_strconcat (p, "attn_v", NULL);
      g_autofree char *o = g_strconcat (p, "attn_output", NULL);
      g_autofree char *n1w = g_strconcat (p, "attn_output_norm.weight", NULL);
      g_autofree char *n1b = g_strconcat (p, "attn_output_norm.bias", NULL);
      g_autofree char *up = g_strconcat (p, "ffn_up", NULL);
      g_autofree char *down = g_strconcat (p, "ffn_down", NULL);
      g_autofree char *n2w = g_strconcat (p, "layer_output_norm.weight", NULL);
      g_autofree char *n2b = g_strconcat (p, "layer_output_norm.bias", NULL);

      plan_linear (cv, q, &L->q, 0);
      plan_linear (cv, k, &L->k, 0);
      plan_linear (cv, v, &L->v, 0);
      plan_linear (cv, o, &L->o, 0);
      plan_vector (cv, n1w, L->attn_norm_w, d, 0);
      plan_vector (cv, n1b, L->attn_norm_b, d, 0);
      plan_linear (cv, up, &L->up, 0);
      plan_linear (cv, down, &L->down, 0);
      plan_vector (cv, n2w, L->mlp_norm_w, d, 0);
      plan_vector (cv, n2b, L->mlp_norm_b, d, 0);
    }
  if (c->has_lm_head)
    add_note (cv, "left out: GGUF bert has no masked-LM head (cls.predictions), as in llama.cpp's converter",
              "cls.predictions");
}

/* The GGUF architecture a Hugging Face model becomes, or NULL with an error. */
static const char *
hf_architecture (Converter *cv)
{
  const AttnvizModel *m = cv->model;
  const AttnvizConfig *c = &m->config;
  const char *arch = NULL;
  AttnvizActivation act = ATTNVIZ_ACT_SILU;

  switch (c->family)
    {
    case ATTNVIZ_FAMILY_LLAMA:
      arch = g_strcmp0 (c->model_type, "qwen2") == 0 ? "qwen2" : "llama";
      act = ATTNVIZ_ACT_SILU;
      break;
    case ATTNVIZ_FAMILY_GPT2:
      arch = "gpt2";
      act = ATTNVIZ_ACT_GELU_TANH;
      break;
    case ATTNVIZ_FAMILY_BERT:
      arch = "bert";
      act = ATTNVIZ_ACT_GELU_ERF;
      break;
    default:
      converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                      "%s: %s is attnviz's own architecture, which llama.cpp has none for "
                      "(convert writes LLaMA, Qwen2, GPT-2 and BERT models)",
                      m->path, c->architecture);
      return NULL;
    }
  if (c->act != act)
    converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "%s: activation %s: GGUF %s computes %s", m->path, attnviz_activation_to_string (c->act),
                    arch, attnviz_activation_to_string (act));
  else if (c->family == ATTNVIZ_FAMILY_LLAMA && c->mlp_bias)
    converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "%s: MLP biases (mlp_bias) have no place in GGUF %s", m->path, arch);
  else if (g_str_equal (arch, "llama") && c->rope_dims != 0 && c->rope_dims != c->head_dim)
    converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "%s: RoPE over %d of %d dimensions: llama.cpp's llama turns them all", m->path,
                    c->rope_dims, c->head_dim);
  return cv->failed ? NULL : arch;
}

static void
add_arch_u32 (AttnvizGgufWriter *w, const char *arch, const char *suffix, guint32 v)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", arch, suffix);
  attnviz_gguf_writer_add_uint32 (w, key, v);
}

static void
add_arch_f32 (AttnvizGgufWriter *w, const char *arch, const char *suffix, float v)
{
  g_autofree char *key = g_strdup_printf ("%s.%s", arch, suffix);
  attnviz_gguf_writer_add_float32 (w, key, v);
}

/* The ARCH.* keys attnviz-model-gguf.c and llama.cpp read. */
static void
write_hf_metadata (Converter *cv, AttnvizGgufWriter *w, const char *arch)
{
  const AttnvizModel *m = cv->model;
  const AttnvizConfig *c = &m->config;
  gboolean rope = c->pos == ATTNVIZ_POS_ROPE;
  g_autofree char *name = g_path_get_basename (m->dir);

  attnviz_gguf_writer_add_string (w, "general.architecture", arch);
  attnviz_gguf_writer_add_string (w, "general.name", name);
  add_arch_u32 (w, arch, "context_length", c->n_ctx);
  add_arch_u32 (w, arch, "embedding_length", c->d_model);
  add_arch_u32 (w, arch, "block_count", c->n_layer);
  add_arch_u32 (w, arch, "feed_forward_length", c->d_ff);
  add_arch_u32 (w, arch, "attention.head_count", c->n_head);
  add_arch_u32 (w, arch, "attention.head_count_kv", c->n_kv_head);
  if (c->head_dim * c->n_head != c->d_model)
    {
      add_arch_u32 (w, arch, "attention.key_length", c->head_dim);
      add_arch_u32 (w, arch, "attention.value_length", c->head_dim);
    }
  if (c->norm == ATTNVIZ_NORM_RMSNORM)
    add_arch_f32 (w, arch, "attention.layer_norm_rms_epsilon", c->norm_eps);
  else
    add_arch_f32 (w, arch, "attention.layer_norm_epsilon", c->norm_eps);
  if (rope)
    {
      add_arch_f32 (w, arch, "rope.freq_base", c->rope_theta);
      add_arch_u32 (w, arch, "rope.dimension_count", c->rope_dims > 0 ? c->rope_dims : c->head_dim);
      if (c->rope_scale > 1.0f)
        {
          g_autofree char *key = g_strdup_printf ("%s.rope.scaling.type", arch);
          attnviz_gguf_writer_add_string (w, key, "linear");
          add_arch_f32 (w, arch, "rope.scaling.factor", c->rope_scale);
        }
    }
  if (c->family == ATTNVIZ_FAMILY_BERT)
    {
      g_autofree char *key = g_strdup_printf ("%s.attention.causal", arch);
      attnviz_gguf_writer_add_bool (w, key, c->causal);
    }
  add_arch_u32 (w, arch, "vocab_size", c->vocab_size);
}

/* ---- GGUF files ---- */

static gboolean
skip_regenerated (const char *key, gpointer data)
{
  const Converter *cv = data;
  /* general.file_type is replaced in its place; the quantization version
   * only describes block-quantized files. */
  return g_str_equal (key, "general.quantization_version") && !is_block_type (cv->opts->type);
}

static void
plan_gguf (Converter *cv)
{
  const AttnvizGguf *g = cv->model->gguf_file;
  gboolean has_output = attnviz_gguf_lookup (g, "output.weight") != NULL;
  gboolean has_head = cv->model->config.has_lm_head;

  for (guint i = 0; i < attnviz_gguf_get_n_tensors (g) && !cv->failed; i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (g, i);
      AttnvizMatrix m = {
        .data = t->data, .type = t->type, .rows = 1, .cols = (int) t->ne[0], .row_bytes = t->row_bytes,
      };
      gint64 rows = t->ne[0] > 0 ? t->n_elements / t->ne[0] : 0;
      if (rows > G_MAXINT || t->ne[0] > G_MAXINT)
        {
          converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: tensor \"%s\" is too large",
                          attnviz_gguf_get_path (g), t->name);
          return;
        }
      m.rows = (int) rows;
      Plan *p = plan_new (cv, t->name, &m);
      p->n_dims = t->n_dims;
      for (int d = 0; d < ATTNVIZ_GGUF_MAX_DIMS; d++)
        p->ne[d] = t->ne[d];
      p->lm_head = has_head && (g_str_equal (t->name, "output.weight")
                                || (!has_output && g_str_equal (t->name, "token_embd.weight")));
      choose_type (cv, p);
      if (!attnviz_weight_type_supported (t->type) && t->type != (guint32) p->type)
        {
          const char *type = attnviz_weight_type_name (t->type);
          converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                          "%s: tensor \"%s\" is %s, which attnviz cannot convert to %s",
                          attnviz_gguf_get_path (g), t->name, type ? type : "of an unknown type",
                          attnviz_weight_type_name (p->type));
          plan_free (p);
          return;
        }
      finish_plan (cv, p);
    }
}

/* ---- the range scan ---- */

/* Tensors whose values may not fit their type are read once first: a
 * value beyond the type's range makes the tensor F32, a non-finite one is
 * an error. */
static void
scan_ranges (Converter *cv)
{
  for (guint i = 0; i < cv->plans->len && !cv->failed; i++)
    {
      Plan *p = g_ptr_array_index (cv->plans, i);
      double limit = type_limit (p->type);
      if (p->copy || isinf (limit) || p->src.type == ATTNVIZ_WEIGHT_F16)
        continue;
      Job job = { .p = p, .n = p->src.rows, .bad_at = -1 };
      g_mutex_init (&job.lock);
      run_job (cv, &job, scan_rows, p->src.cols);
      g_mutex_clear (&job.lock);
      if (job.bad_at >= 0)
        {
          converter_fail (cv, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                          "%s: tensor \"%s\" holds a non-finite value (%g at element %" G_GINT64_FORMAT ")",
                          cv->model->path, p->name, job.bad_value, job.bad_at);
          return;
        }
      if (job.max_abs > limit)
        {
          g_autofree char *note = g_strdup_printf ("F32 instead of %s: values up to %.3g are beyond its range",
                                                   attnviz_weight_type_name (p->type), job.max_abs);
          add_note (cv, note, p->name);
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

/* ---- the whole file ---- */

gboolean
attnviz_convert_model (const AttnvizModel *model, const char *path, const AttnvizConvertOptions *options,
                       AttnvizConvertResult *result, GError **error)
{
  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (options != NULL, FALSE);
  g_return_val_if_fail (attnviz_weight_type_can_quantize (options->type), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  gint64 t0 = g_get_monotonic_time ();
  Converter cv = {
    .model = model,
    .opts = options,
    .n_threads = CLAMP (options->n_threads > 0 ? options->n_threads : (int) g_get_num_processors (), 1, 64),
    .plans = g_ptr_array_new (),
    .owned = g_ptr_array_new_with_free_func (g_free),
    .notes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref),
    .note_order = g_ptr_array_new (),
  };
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  gboolean quantized = is_block_type (options->type);
  guint32 file_type = attnviz_convert_file_type (options->type);
  guint n_tensors = 0;

  if (model->gguf)
    {
      cv.arch = attnviz_gguf_read_string (model->gguf_file, "general.architecture", TRUE, NULL);
      attnviz_gguf_writer_copy_kv (w, model->gguf_file, skip_regenerated, &cv);
      attnviz_gguf_writer_add_uint32 (w, "general.file_type", file_type);
      if (quantized)
        attnviz_gguf_writer_add_uint32 (w, "general.quantization_version", QUANTIZATION_VERSION);
      plan_gguf (&cv);
    }
  else if ((cv.arch = hf_architecture (&cv)) != NULL)
    {
      write_hf_metadata (&cv, w, cv.arch);
      attnviz_gguf_writer_add_uint32 (w, "general.file_type", file_type);
      if (quantized)
        attnviz_gguf_writer_add_uint32 (w, "general.quantization_version", QUANTIZATION_VERSION);
      if (model->config.family == ATTNVIZ_FAMILY_BERT)
        attnviz_gguf_writer_add_uint32 (w, "tokenizer.ggml.token_type_count", model->config.n_token_types);
      if (model->tokenizer != NULL)
        {
          if (!attnviz_tokenizer_write_gguf (model->tokenizer, w, model->config.vocab_size, &cv.error))
            {
              g_prefix_error (&cv.error, "%s: ", model->dir);
              cv.failed = TRUE;
            }
        }
      else
        {
          /* llama.cpp runs such a file on token ids (its "none" vocabulary
           * of ARCH.vocab_size tokens); so does attnviz. */
          attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "none");
          add_note (&cv, "none: the file runs on token ids only", "tokenizer");
        }
      if (model->config.family == ATTNVIZ_FAMILY_LLAMA)
        plan_llama (&cv, g_str_equal (cv.arch, "qwen2"));
      else if (model->config.family == ATTNVIZ_FAMILY_GPT2)
        plan_gpt2 (&cv);
      else
        plan_bert (&cv);
    }

  if (!cv.failed)
    scan_ranges (&cv);
  if (!cv.failed)
    {
      emit_notes (&cv);
      for (guint i = 0; i < cv.plans->len; i++)
        {
          Plan *p = g_ptr_array_index (cv.plans, i);
          attnviz_gguf_writer_add_tensor_func (w, p->name, p->type, p->n_dims, p->ne, p->n_bytes,
                                               produce_tensor, p, plan_free);
        }
      n_tensors = cv.plans->len;
      g_ptr_array_set_size (cv.plans, 0);   /* the writer owns them now */
      if (!attnviz_gguf_writer_write (w, path, &cv.error))
        cv.failed = TRUE;
    }
  for (guint i = 0; i < cv.plans->len; i++)
    plan_free (g_ptr_array_index (cv.plans, i));
  attnviz_gguf_writer_free (w);

  if (!cv.failed && options->progress)
    options->progress (1.0, NULL, options->user_data);
  if (!cv.failed && result != NULL)
    {
      GStatBuf st;
      *result = (AttnvizConvertResult) { 0 };
      result->file_bytes = g_stat (path, &st) == 0 ? (guint64) st.st_size : cv.total_bytes;
      result->n_tensors = n_tensors;
      result->file_type = file_type;
      result->seconds = (g_get_monotonic_time () - t0) / 1e6;
    }
  g_ptr_array_unref (cv.plans);
  g_ptr_array_unref (cv.owned);
  g_hash_table_unref (cv.notes);
  g_ptr_array_unref (cv.note_order);
  if (cv.failed)
    {
      g_propagate_error (error, cv.error);
      return FALSE;
    }
  return TRUE;
}
