/* attnviz info MODEL: what a model is, in a few lines */
#define G_LOG_DOMAIN "attnviz-cmd-info"
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "attnviz-cli.h"

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
      INT ("window", c->window);
      STR ("dtype", attnviz_dtype_to_string (m->dtype));
      STR ("tokenizer", tok);
      BOOL ("causal", c->causal);
      STR ("positions", attnviz_position_kind_to_string (c->pos));
#undef STR
#undef INT
#undef BOOL
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      g_autofree char *text = json_to_string (root, FALSE);
      printf ("%s\n", text);
      return ATTNVIZ_EXIT_OK;
    }

  printf ("model:          %s\n", m->path);
  printf ("architecture:   %s (%s)\n", c->architecture, c->model_type);
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
  printf ("\n");
  static const char *const scores[] = { "scaled dot product", "unscaled dot product", "additive (Bahdanau)" };
  printf ("attention:      %s", c->causal ? "causal" : "bidirectional");
  if (c->window > 0)
    printf (", sliding window of %d", c->window);
  printf (", %s\n", scores[c->score]);
  printf ("vocabulary:     %d\n", c->vocab_size);
  printf ("context:        %d tokens\n", c->n_ctx);
  printf ("parameters:     %.3g M\n", attnviz_config_n_params (c) / 1e6);
  printf ("dtype:          %s\n", attnviz_dtype_to_string (m->dtype));
  printf ("output:         %s\n", m->lm_head.w ? (c->tied_embeddings ? "LM head (tied to embeddings)" : "LM head")
                                                 : "none (hidden states only)");
  if (m->tokenizer)
    printf ("tokenizer:      %s, %d tokens\n", tok, attnviz_tokenizer_get_vocab_size (m->tokenizer));
  else
    printf ("tokenizer:      none (%s)\n", m->tokenizer_error);
  return ATTNVIZ_EXIT_OK;
}
