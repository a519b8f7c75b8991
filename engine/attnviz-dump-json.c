/* attnviz-dump-json.c: a dump's metadata, and the json format
 *
 * The metadata object every format carries (metadata.json of an npy
 * folder, the "attnviz" entry of a safetensors file's __metadata__, the
 * "metadata" member of a json dump), and the json format itself: for small
 * inputs, every array inline as nested arrays.
 */
#define G_LOG_DOMAIN "attnviz-dump"
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>

#include "attnviz-dump-private.h"
#include "attnviz-json.h"

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
  if (p->score != NULL)
    {
      json_builder_set_member_name (b, "score");
      json_builder_add_string_value (b, p->score);
    }
  if (p->additive != NULL)
    {
      /* per layer, the heads that score additively (of every stack alike) */
      json_builder_set_member_name (b, "additive_heads");
      json_builder_begin_array (b);
      for (int l = 0; l < p->n_layer; l++)
        {
          json_builder_begin_array (b);
          for (int h = 0; h < p->n_head; h++)
            if (p->additive[l * p->n_head + h])
              json_builder_add_int_value (b, h);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
    }
  if (p->mask != NULL)
    {
      /* the sparse pattern the model was trained with: its keys outside it
       * hold 0 by construction, not by what the model learned */
      json_builder_set_member_name (b, "mask");
      json_builder_add_string_value (b, p->mask);
    }
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
      json_builder_set_member_name (b, "logit_lens");
      json_builder_add_boolean_value (b, p->lens_layers > 0);
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

char *
_attnviz_dump_metadata_json (const AttnvizDump *d, const AttnvizRecording *rec, gboolean pretty)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  build_metadata (b, d, rec);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return attnviz_json_to_data (root, pretty, NULL);
}

GHashTable *
_attnviz_dump_safetensors_metadata (const AttnvizDump *d, const AttnvizRecording *rec)
{
  GHashTable *meta = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (meta, "attnviz", _attnviz_dump_metadata_json (d, rec, FALSE));
  g_hash_table_insert (meta, "format", g_strdup ("attnviz-dump"));
  return meta;
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
  AttnvizAttention *source = _attnviz_dump_stack_source (rec, s->kind);
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

gboolean
_attnviz_dump_write_json (AttnvizDump *d, const AttnvizRecording *rec, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "metadata");
  build_metadata (b, d, rec);
  for (guint a = 0; a < d->arrays->len; a++)
    {
      const Array *arr = _attnviz_dump_array_at (d, a);
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
                    g_autofree float *m = _attnviz_dump_value_weighted_head (rec->attention, s, s->layers[l],
                                                                             s->heads[h], error);
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
            g_autofree float *m = _attnviz_dump_analysis_matrix (d, rec, arr->kind, error);
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
        case ARRAY_NEXT_PROB:
          {
            g_autofree float *p = _attnviz_dump_next_prob (rec);
            add_vector (b, "next_prob", p, rec->T);
          }
          break;
        case ARRAY_LENS_IDS:
          json_builder_set_member_name (b, "lens_topk_ids");
          json_builder_begin_array (b);
          for (int l = 0; l < rec->lens_layers; l++)
            add_int_matrix (b, rec->lens_topk_ids + (gsize) l * rec->T * rec->top_k, rec->T, rec->top_k);
          json_builder_end_array (b);
          break;
        case ARRAY_LENS_PROBS:
          json_builder_set_member_name (b, "lens_topk_probs");
          json_builder_begin_array (b);
          for (int l = 0; l < rec->lens_layers; l++)
            add_matrix (b, rec->lens_topk_probs + (gsize) l * rec->T * rec->top_k, rec->T, rec->top_k);
          json_builder_end_array (b);
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
