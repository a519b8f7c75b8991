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
 *
 * This file holds the notes, the types, the planning and the whole file;
 * attnviz-convert-hf.c plans a Hugging Face model's tensors and keys,
 * attnviz-convert-rows.c converts rows on threads and scans value ranges
 * (attnviz-convert-private.h has what they share).
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

#include "attnviz-convert-private.h"
/* general.quantization_version: the block layouts of ggml since 2023. */
#define QUANTIZATION_VERSION 2

static void
plan_free (gpointer data)
{
  Plan *p = data;
  g_free (p->name);
  g_free (p);
}

void
_attnviz_converter_fail (Converter *cv, GQuark domain, int code, const char *fmt, ...)
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
void
_attnviz_converter_add_note (Converter *cv, const char *note, const char *tensor)
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
double
_attnviz_convert_type_limit (AttnvizWeightType type)
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
      _attnviz_converter_add_note (cv, "the LM head is Q8_0 (its error reaches every logit; llama.cpp keeps it at Q6_K "
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
      _attnviz_converter_add_note (cv, note, p->name);
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
    _attnviz_converter_add_note (cv, "copied as it is, already in the type it takes", p->name);
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
void
_attnviz_convert_plan_matrix (Converter *cv, const char *name, const AttnvizMatrix *m, gboolean transpose,
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
      _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "tensor \"%s\": %" G_GINT64_FORMAT
                      " rows do not split into %d heads of an even size", name, p->rows, perm_heads);
      plan_free (p);
      return;
    }
  choose_type (cv, p);
  finish_plan (cv, p);
}

/* A float32 vector of the model (N values), permuted for LLaMA's Q/K biases. */
void
_attnviz_convert_plan_vector (Converter *cv, const char *name, const float *v, gint64 n,
                              int perm_heads)
{
  if (cv->failed || v == NULL)
    return;
  if (perm_heads > 0)
    {
      Plan tmp = { .rows = n, .perm_heads = perm_heads };
      float *copy = g_new (float, n);
      for (gint64 r = 0; r < n; r++)
        copy[r] = v[_attnviz_convert_source_index (&tmp, r)];
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
void
_attnviz_convert_plan_linear (Converter *cv, const char *prefix, const AttnvizLinear *lin,
                              int perm_heads)
{
  g_autofree char *w = g_strconcat (prefix, ".weight", NULL);
  g_autofree char *b = g_strconcat (prefix, ".bias", NULL);
  if (lin->in_out && (lin->col0 != 0 || lin->n_out != lin->w.cols))
    {
      _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "tensor \"%s\": a slice of a Conv1D weight", w);
      return;
    }
  _attnviz_convert_plan_matrix (cv, w, &lin->w, lin->in_out, perm_heads, FALSE);
  _attnviz_convert_plan_vector (cv, b, lin->b, lin->n_out, perm_heads);
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
          _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: tensor \"%s\" is too large",
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
          _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                          "%s: tensor \"%s\" is %s, which attnviz cannot convert to %s",
                          attnviz_gguf_get_path (g), t->name, type ? type : "of an unknown type",
                          attnviz_weight_type_name (p->type));
          plan_free (p);
          return;
        }
      finish_plan (cv, p);
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
  else if ((cv.arch = _attnviz_convert_hf_architecture (&cv)) != NULL)
    {
      _attnviz_convert_write_hf_metadata (&cv, w, cv.arch);
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
          _attnviz_converter_add_note (&cv, "none: the file runs on token ids only", "tokenizer");
        }
      if (model->config.family == ATTNVIZ_FAMILY_LLAMA)
        _attnviz_convert_plan_llama (&cv, g_str_equal (cv.arch, "qwen2"));
      else if (model->config.family == ATTNVIZ_FAMILY_GPT2)
        _attnviz_convert_plan_gpt2 (&cv);
      else
        _attnviz_convert_plan_bert (&cv);
    }

  if (!cv.failed)
    _attnviz_convert_scan_ranges (&cv);
  if (!cv.failed)
    {
      emit_notes (&cv);
      for (guint i = 0; i < cv.plans->len; i++)
        {
          Plan *p = g_ptr_array_index (cv.plans, i);
          attnviz_gguf_writer_add_tensor_func (w, p->name, p->type, p->n_dims, p->ne, p->n_bytes,
                                               _attnviz_convert_produce_tensor, p, plan_free);
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
