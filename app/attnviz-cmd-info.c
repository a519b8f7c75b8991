/* attnviz info MODEL: what a model is, in a few lines */
#define G_LOG_DOMAIN "attnviz-cmd-info"
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "attnviz-cli.h"
#include "attnviz-fileutil.h"
#include "attnviz-json.h"

/* Per weight type: tensors and bytes as stored, over every tensor of a
 * GGUF file, in type-id order. */
typedef struct {
  guint32 type;
  guint n;
  guint64 bytes;
} TypeShare;

static GArray *
gguf_type_shares (const AttnvizGguf *g, guint64 *total)
{
  GArray *shares = g_array_new (FALSE, TRUE, sizeof (TypeShare));
  *total = 0;
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (g); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (g, i);
      TypeShare *share = NULL;
      for (guint j = 0; j < shares->len && share == NULL; j++)
        if (g_array_index (shares, TypeShare, j).type == t->type)
          share = &g_array_index (shares, TypeShare, j);
      if (share == NULL)
        {
          TypeShare fresh = { t->type, 0, 0 };
          guint at = 0;
          while (at < shares->len && g_array_index (shares, TypeShare, at).type < t->type)
            at++;
          g_array_insert_val (shares, at, fresh);
          share = &g_array_index (shares, TypeShare, at);
        }
      share->n++;
      share->bytes += t->n_bytes;
      *total += t->n_bytes;
    }
  return shares;
}

static const char *
type_label (guint32 type)
{
  const char *name = attnviz_weight_type_name (type);
  return name ? name : "unknown";
}

static void
add_gguf_json (JsonBuilder *b, const AttnvizGguf *g)
{
  guint64 total;
  g_autoptr(GArray) shares = gguf_type_shares (g, &total);
  json_builder_set_member_name (b, "gguf_version");
  json_builder_add_int_value (b, attnviz_gguf_get_version (g));
  json_builder_set_member_name (b, "file_bytes");
  json_builder_add_int_value (b, (gint64) attnviz_gguf_get_file_size (g));
  json_builder_set_member_name (b, "tensor_types");
  json_builder_begin_object (b);
  for (guint i = 0; i < shares->len; i++)
    {
      const TypeShare *s = &g_array_index (shares, TypeShare, i);
      json_builder_set_member_name (b, type_label (s->type));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "tensors");
      json_builder_add_int_value (b, s->n);
      json_builder_set_member_name (b, "bytes");
      json_builder_add_int_value (b, (gint64) s->bytes);
      json_builder_set_member_name (b, "share");
      json_builder_add_double_value (b, total ? (double) s->bytes / total : 0.0);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "metadata");
  json_builder_begin_object (b);
  for (guint i = 0; i < attnviz_gguf_get_n_kv (g); i++)
    {
      g_autofree char *value = attnviz_gguf_kv_to_string (g, i, 200);
      json_builder_set_member_name (b, attnviz_gguf_get_key (g, i));
      json_builder_add_string_value (b, value);
    }
  json_builder_end_object (b);
}

static void
print_gguf (const AttnvizGguf *g)
{
  guint64 total;
  g_autoptr(GArray) shares = gguf_type_shares (g, &total);
  g_autofree char *file = g_format_size (attnviz_gguf_get_file_size (g));
  printf ("file:           GGUF v%u, %s, %u tensors, %u metadata keys\n", attnviz_gguf_get_version (g), file,
          attnviz_gguf_get_n_tensors (g), attnviz_gguf_get_n_kv (g));
  printf ("tensor types:  ");
  for (guint i = 0; i < shares->len; i++)
    {
      const TypeShare *s = &g_array_index (shares, TypeShare, i);
      double share = total ? 100.0 * s->bytes / total : 0.0;
      g_autofree char *pct = share > 0.0 && share < 0.1 ? g_strdup ("<0.1%") : g_strdup_printf ("%.1f%%", share);
      printf ("%s %s %s of the bytes in %u tensor%s", i ? "," : "", type_label (s->type), pct, s->n,
              s->n == 1 ? "" : "s");
    }
  printf ("\nmetadata:\n");
  for (guint i = 0; i < attnviz_gguf_get_n_kv (g); i++)
    {
      g_autofree char *value = attnviz_gguf_kv_to_string (g, i, 60);
      printf ("  %-44s %s\n", attnviz_gguf_get_key (g, i), value);
    }
}

int
attnviz_cmd_info (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL - describe a model");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean help;
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "info needs exactly one MODEL (see attnviz info --help)");

  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (argv[1], &error);
  if (m == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  const AttnvizConfig *c = &m->config;

  const char *tok = m->tokenizer ? attnviz_tokenizer_get_kind_name (m->tokenizer) : "none";
  if (json)
    {
      /* json-glib escapes what a path or a config string may hold */
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
#define STR(k, v) (json_builder_set_member_name (b, k), json_builder_add_string_value (b, v))
#define INT(k, v) (json_builder_set_member_name (b, k), json_builder_add_int_value (b, v))
#define BOOL(k, v) (json_builder_set_member_name (b, k), json_builder_add_boolean_value (b, v))
      STR ("model", m->path);
      STR ("architecture", c->architecture);
      STR ("model_type", c->model_type);
      STR ("family", attnviz_family_to_string (c->family));
      INT ("n_layer", c->n_layer);
      INT ("n_head", c->n_head);
      INT ("n_kv_head", c->n_kv_head);
      INT ("d_model", c->d_model);
      INT ("head_dim", c->head_dim);
      INT ("d_ff", c->d_ff);
      INT ("vocab_size", c->vocab_size);
      INT ("n_ctx", c->n_ctx);
      INT ("n_params", attnviz_config_n_params (c));
      BOOL ("encoder_decoder", c->encoder_decoder);
      INT ("n_enc_layer", c->n_enc_layer);
      INT ("window", c->pattern.window);
      g_autofree char *pattern = attnviz_pattern_to_string (&c->pattern);
      STR ("mask_pattern", pattern);
      g_autofree char *score = attnviz_config_score_to_string (c);
      STR ("score", score);
      STR ("dtype", m->type_name);
      g_autofree char *storage = attnviz_model_describe_storage (m);
      STR ("storage", storage);
      STR ("format", m->gguf ? "gguf" : "safetensors");
      INT ("weight_bytes", (gint64) m->weight_bytes);
      if (m->gguf_file)
        add_gguf_json (b, m->gguf_file);
      STR ("tokenizer", tok);
      BOOL ("causal", c->causal);
      STR ("positions", attnviz_position_kind_to_string (c->pos));
#undef STR
#undef INT
#undef BOOL
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      g_autofree char *text = attnviz_json_to_data (root, FALSE, NULL);
      printf ("%s\n", text);
      return ATTNVIZ_EXIT_OK;
    }

  /* Strings from the files, escaped: an ESC sequence in config.json must
   * not reach the terminal. */
  g_autofree char *path = attnviz_printable_line (m->path);
  g_autofree char *arch = attnviz_printable_line (c->architecture);
  g_autofree char *model_type = attnviz_printable_line (c->model_type);
  printf ("model:          %s\n", path);
  printf ("architecture:   %s (%s)\n", arch, model_type);
  if (c->encoder_decoder)
    printf ("layers:         %d encoder + %d decoder (cross-attention in every decoder layer)\n",
            c->n_enc_layer, c->n_layer);
  else
    printf ("layers:         %d\n", c->n_layer);
  printf ("heads:          %d query, %d key/value%s, head dim %d\n", c->n_head, c->n_kv_head,
          c->n_kv_head != c->n_head ? " (grouped-query)" : "", c->head_dim);
  printf ("width:          d_model %d, MLP %d (%s%s)\n", c->d_model, c->d_ff,
          attnviz_activation_to_string (c->act), c->gated_mlp ? ", gated" : "");
  printf ("norm:           %s, %s\n", attnviz_norm_kind_to_string (c->norm), c->pre_norm ? "pre-norm" : "post-norm");
  printf ("positions:      %s", attnviz_position_kind_to_string (c->pos));
  if (c->pos == ATTNVIZ_POS_ROPE)
    printf (" (theta %g)", c->rope_theta);
  else if (c->pos == ATTNVIZ_POS_RELATIVE)
    printf (" (a learned bias per head: %d buckets, log-spaced up to %d)", c->rel_buckets, c->rel_max_distance);
  else if (c->pos == ATTNVIZ_POS_SINUSOIDAL && c->sin_halves)
    printf (" (sin in the first half of the dimensions, cos in the second)");
  else if (c->sinusoidal_table)
    printf (" (a table of sinusoids: sinusoidal_pos_embds)");
  else if (c->pos_offset > 0)
    printf (" (counted from row %d of the table%s)", c->pos_offset,
            c->pad_positions ? "; pad tokens read the padding row" : "");
  if (c->emb_scale > 0.0f)
    printf (", token embeddings times %g", c->emb_scale);
  printf ("\n");
  static const char *const scores[] = { "scaled dot product", "unscaled dot product", "additive (Bahdanau)",
                                        "hybrid" };
  printf ("attention:      %s", c->causal ? "causal" : "bidirectional");
  if (c->pattern.window > 0 && c->pattern.stride == 0 && c->pattern.block == 0 && c->pattern.global == 0)
    printf (", sliding window of %d", c->pattern.window);
  else if (!attnviz_pattern_is_dense (&c->pattern))
    {
      g_autofree char *pattern = attnviz_pattern_to_string (&c->pattern);
      printf (", sparse %s", pattern);
    }
  g_autofree char *hybrid = attnviz_config_describe_hybrid (c);
  printf (", %s%s%s%s\n", scores[c->score], hybrid ? " (" : "", hybrid ? hybrid : "", hybrid ? ")" : "");
  printf ("vocabulary:     %d\n", c->vocab_size);
  printf ("context:        %d tokens\n", c->n_ctx);
  g_autofree char *params = attnviz_format_params (attnviz_config_n_params (c));
  printf ("parameters:     %s\n", params);
  g_autofree char *storage = attnviz_model_describe_storage (m);
  g_autofree char *weights = g_format_size (m->weight_bytes);
  printf ("storage:        %s, %s of weights\n", storage, weights);
  printf ("output:         %s\n", m->lm_head.w.data ? (c->tied_embeddings ? "LM head (tied to embeddings)" : "LM head")
                                                 : "none (hidden states only)");
  if (m->tokenizer)
    printf ("tokenizer:      %s, %d tokens\n", tok, attnviz_tokenizer_get_vocab_size (m->tokenizer));
  else
    {
      g_autofree char *why = attnviz_printable_line (m->tokenizer_error);
      printf ("tokenizer:      none (%s)\n", why);
    }
  if (m->gguf_file)
    print_gguf (m->gguf_file);
  return ATTNVIZ_EXIT_OK;
}
