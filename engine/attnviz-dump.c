#define G_LOG_DOMAIN "attnviz-dump"
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-dump.h"
#include "attnviz-fileutil.h"
#include "attnviz-npy.h"
#include "attnviz-safetensors.h"

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

static void
build_metadata (JsonBuilder *b, const AttnvizRecording *rec, const AttnvizDumpInfo *info)
{
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
  json_builder_add_int_value (b, rec->T);
  json_builder_set_member_name (b, "n_layer");
  json_builder_add_int_value (b, rec->n_layer);
  json_builder_set_member_name (b, "n_head");
  json_builder_add_int_value (b, rec->n_head);
  json_builder_set_member_name (b, "causal");
  json_builder_add_boolean_value (b, rec->causal);
  add_int_array (b, "layers", rec->rec_layers, rec->n_rec_layers);
  add_int_array (b, "heads", rec->rec_heads, rec->n_rec_heads);
  json_builder_set_member_name (b, "attentions_shape");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, rec->n_rec_layers);
  json_builder_add_int_value (b, rec->n_rec_heads);
  json_builder_add_int_value (b, rec->T);
  json_builder_add_int_value (b, rec->T);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "mean_loss");
  add_float (b, (float) attnviz_recording_mean_loss (rec));

  add_tokens (b, "tokens", rec->ids, rec->T, info->token_texts, info->tokens);
  if (rec->S > 0)
    {
      json_builder_set_member_name (b, "encoder_decoder");
      json_builder_add_boolean_value (b, TRUE);
      json_builder_set_member_name (b, "n_source_tokens");
      json_builder_add_int_value (b, rec->S);
      json_builder_set_member_name (b, "n_enc_layer");
      json_builder_add_int_value (b, rec->n_enc_layer);
      int enc_shape[] = { rec->n_enc_layer, rec->n_head, rec->S, rec->S };
      int cross_shape[] = { rec->n_layer, rec->n_head, rec->T, rec->S };
      add_int_array (b, "encoder_attentions_shape", enc_shape, 4);
      add_int_array (b, "cross_attentions_shape", cross_shape, 4);
      add_tokens (b, "source_tokens", rec->src_ids, rec->S, info->source_texts, info->source_tokens);
    }
  json_builder_end_object (b);
}

static char *
builder_to_string (JsonBuilder *b, gboolean pretty)
{
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, pretty);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

char *
attnviz_dump_metadata_json (const AttnvizRecording *rec, const AttnvizDumpInfo *info, gboolean pretty)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  build_metadata (b, rec, info);
  return builder_to_string (b, pretty);
}

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
token_spans (const AttnvizRecording *rec, const AttnvizDumpInfo *info)
{
  return spans_of (info->tokens, rec->T);
}

static const float *
last_logits (const AttnvizRecording *rec)
{
  return rec->logits ? rec->logits + (gsize) (rec->T - 1) * rec->vocab_size : NULL;
}

static gboolean
write_npy_folder (const AttnvizRecording *rec, const AttnvizDumpInfo *info, const char *dir, GError **error)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: cannot create the folder: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  g_autofree char *att = g_build_filename (dir, "attentions.npy", NULL);
  g_autofree char *ids = g_build_filename (dir, "input_ids.npy", NULL);
  g_autofree char *spans_path = g_build_filename (dir, "token_spans.npy", NULL);
  g_autofree char *logits = g_build_filename (dir, "logits_last.npy", NULL);
  g_autofree char *loss = g_build_filename (dir, "loss.npy", NULL);
  g_autofree char *layers = g_build_filename (dir, "layers.npy", NULL);
  g_autofree char *heads = g_build_filename (dir, "heads.npy", NULL);
  g_autofree char *meta = g_build_filename (dir, "metadata.json", NULL);
  g_autofree gint32 *spans = token_spans (rec, info);
  g_autofree gint32 *layer_idx = g_new (gint32, MAX (rec->n_rec_layers, 1));
  g_autofree gint32 *head_idx = g_new (gint32, MAX (rec->n_rec_heads, 1));
  for (int i = 0; i < rec->n_rec_layers; i++)
    layer_idx[i] = rec->rec_layers[i];
  for (int i = 0; i < rec->n_rec_heads; i++)
    head_idx[i] = rec->rec_heads[i];

  gint64 att_shape[] = { rec->n_rec_layers, rec->n_rec_heads, rec->T, rec->T };
  gint64 t_shape[] = { rec->T };
  gint64 span_shape[] = { rec->T, 2 };
  gint64 v_shape[] = { rec->vocab_size };
  gint64 l_shape[] = { rec->n_rec_layers };
  gint64 h_shape[] = { rec->n_rec_heads };
  g_autofree char *json = attnviz_dump_metadata_json (rec, info, TRUE);

  if (!attnviz_npy_write (att, ATTNVIZ_NPY_F32, att_shape, 4, rec->attn, error)
      || !attnviz_npy_write (ids, ATTNVIZ_NPY_I32, t_shape, 1, rec->ids, error)
      || !attnviz_npy_write (spans_path, ATTNVIZ_NPY_I32, span_shape, 2, spans, error)
      || !attnviz_npy_write (loss, ATTNVIZ_NPY_F32, t_shape, 1, rec->loss, error)
      || !attnviz_npy_write (layers, ATTNVIZ_NPY_I32, l_shape, 1, layer_idx, error)
      || !attnviz_npy_write (heads, ATTNVIZ_NPY_I32, h_shape, 1, head_idx, error)
      || (rec->logits && !attnviz_npy_write (logits, ATTNVIZ_NPY_F32, v_shape, 1, last_logits (rec), error))
      || !attnviz_file_set_contents (meta, json, strlen (json), error))
    return FALSE;

  if (rec->S > 0)
    {
      g_autofree char *enc = g_build_filename (dir, "encoder_attentions.npy", NULL);
      g_autofree char *cross = g_build_filename (dir, "cross_attentions.npy", NULL);
      g_autofree char *src = g_build_filename (dir, "source_ids.npy", NULL);
      g_autofree char *src_spans_path = g_build_filename (dir, "source_spans.npy", NULL);
      g_autofree gint32 *src_spans = spans_of (info->source_tokens, rec->S);
      gint64 enc_shape[] = { rec->n_enc_layer, rec->n_head, rec->S, rec->S };
      gint64 cross_shape[] = { rec->n_layer, rec->n_head, rec->T, rec->S };
      gint64 s_shape[] = { rec->S };
      gint64 s_span_shape[] = { rec->S, 2 };
      if (!attnviz_npy_write (enc, ATTNVIZ_NPY_F32, enc_shape, 4, rec->enc_attn, error)
          || !attnviz_npy_write (cross, ATTNVIZ_NPY_F32, cross_shape, 4, rec->cross_attn, error)
          || !attnviz_npy_write (src, ATTNVIZ_NPY_I32, s_shape, 1, rec->src_ids, error)
          || !attnviz_npy_write (src_spans_path, ATTNVIZ_NPY_I32, s_span_shape, 2, src_spans, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
write_safetensors (const AttnvizRecording *rec, const AttnvizDumpInfo *info, const char *path, GError **error)
{
  g_autofree gint32 *spans = token_spans (rec, info);
  g_autofree gint32 *layer_idx = g_new (gint32, MAX (rec->n_rec_layers, 1));
  g_autofree gint32 *head_idx = g_new (gint32, MAX (rec->n_rec_heads, 1));
  for (int i = 0; i < rec->n_rec_layers; i++)
    layer_idx[i] = rec->rec_layers[i];
  for (int i = 0; i < rec->n_rec_heads; i++)
    head_idx[i] = rec->rec_heads[i];

  g_autofree gint32 *src_spans = spans_of (info->source_tokens, rec->S);
  AttnvizTensorOut t[11];
  guint n = 0;
  t[n++] = (AttnvizTensorOut) { "attentions", ATTNVIZ_DTYPE_F32, 4,
                                { rec->n_rec_layers, rec->n_rec_heads, rec->T, rec->T }, rec->attn };
  t[n++] = (AttnvizTensorOut) { "input_ids", ATTNVIZ_DTYPE_I32, 1, { rec->T }, rec->ids };
  t[n++] = (AttnvizTensorOut) { "token_spans", ATTNVIZ_DTYPE_I32, 2, { rec->T, 2 }, spans };
  t[n++] = (AttnvizTensorOut) { "loss", ATTNVIZ_DTYPE_F32, 1, { rec->T }, rec->loss };
  t[n++] = (AttnvizTensorOut) { "layers", ATTNVIZ_DTYPE_I32, 1, { rec->n_rec_layers }, layer_idx };
  t[n++] = (AttnvizTensorOut) { "heads", ATTNVIZ_DTYPE_I32, 1, { rec->n_rec_heads }, head_idx };
  if (rec->logits)
    t[n++] = (AttnvizTensorOut) { "logits_last", ATTNVIZ_DTYPE_F32, 1, { rec->vocab_size }, last_logits (rec) };
  if (rec->S > 0)
    {
      t[n++] = (AttnvizTensorOut) { "encoder_attentions", ATTNVIZ_DTYPE_F32, 4,
                                    { rec->n_enc_layer, rec->n_head, rec->S, rec->S }, rec->enc_attn };
      t[n++] = (AttnvizTensorOut) { "cross_attentions", ATTNVIZ_DTYPE_F32, 4,
                                    { rec->n_layer, rec->n_head, rec->T, rec->S }, rec->cross_attn };
      t[n++] = (AttnvizTensorOut) { "source_ids", ATTNVIZ_DTYPE_I32, 1, { rec->S }, rec->src_ids };
      t[n++] = (AttnvizTensorOut) { "source_spans", ATTNVIZ_DTYPE_I32, 2, { rec->S, 2 }, src_spans };
    }

  g_autoptr(GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (meta, "attnviz", attnviz_dump_metadata_json (rec, info, FALSE));
  g_hash_table_insert (meta, "format", g_strdup ("attnviz-dump"));
  return attnviz_safetensors_write (path, t, n, meta, error);
}

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

/* A (N_LAYER, N_HEAD, ROWS, COLS) block as nested arrays. */
static void
add_stack (JsonBuilder *b, const float *m, int n_layer, int n_head, int rows, int cols)
{
  json_builder_begin_array (b);
  for (int l = 0; l < n_layer; l++)
    {
      json_builder_begin_array (b);
      for (int h = 0; h < n_head; h++)
        add_matrix (b, m + ((gsize) l * n_head + h) * rows * cols, rows, cols);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
}

static gboolean
write_json (const AttnvizRecording *rec, const AttnvizDumpInfo *info, const char *path, GError **error)
{
  if (rec->T > ATTNVIZ_DUMP_JSON_MAX_T || rec->S > ATTNVIZ_DUMP_JSON_MAX_T)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: %d tokens are too many for json (at most %d); use --format npy or safetensors",
                   path, MAX (rec->T, rec->S), ATTNVIZ_DUMP_JSON_MAX_T);
      return FALSE;
    }
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "metadata");
  build_metadata (b, rec, info);
  json_builder_set_member_name (b, "attentions");
  json_builder_begin_array (b);
  for (int l = 0; l < rec->n_rec_layers; l++)
    {
      json_builder_begin_array (b);
      for (int h = 0; h < rec->n_rec_heads; h++)
        add_matrix (b, rec->attn + ((gsize) l * rec->n_rec_heads + h) * rec->T * rec->T, rec->T, rec->T);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  if (rec->S > 0)
    {
      /* (n_enc_layer, H, S, S) and (L, H, T, S) */
      json_builder_set_member_name (b, "encoder_attentions");
      add_stack (b, rec->enc_attn, rec->n_enc_layer, rec->n_head, rec->S, rec->S);
      json_builder_set_member_name (b, "cross_attentions");
      add_stack (b, rec->cross_attn, rec->n_layer, rec->n_head, rec->T, rec->S);
      json_builder_set_member_name (b, "source_ids");
      json_builder_begin_array (b);
      for (int i = 0; i < rec->S; i++)
        json_builder_add_int_value (b, rec->src_ids[i]);
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "loss");
  json_builder_begin_array (b);
  for (int t = 0; t < rec->T; t++)
    add_float (b, rec->loss[t]);
  json_builder_end_array (b);
  if (rec->logits)
    {
      json_builder_set_member_name (b, "logits_last");
      json_builder_begin_array (b);
      const float *last = last_logits (rec);
      for (int v = 0; v < rec->vocab_size; v++)
        add_float (b, last[v]);
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  g_autofree char *data = builder_to_string (b, FALSE);
  return attnviz_file_set_contents (path, data, strlen (data), error);
}

gboolean
attnviz_dump_write (const AttnvizRecording *rec,
                    const AttnvizDumpInfo *info,
                    AttnvizDumpFormat format,
                    const char *path,
                    GError **error)
{
  switch (format)
    {
    case ATTNVIZ_DUMP_NPY: return write_npy_folder (rec, info, path, error);
    case ATTNVIZ_DUMP_SAFETENSORS: return write_safetensors (rec, info, path, error);
    case ATTNVIZ_DUMP_JSON: return write_json (rec, info, path, error);
    default: g_assert_not_reached ();
    }
}
