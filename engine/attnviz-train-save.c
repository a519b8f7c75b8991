/* attnviz-train-save.c: a trained model as files attnviz opens
 *
 * config.json (the AttnvizConfig, the task and the options it was trained
 * with, and what the caller adds) and model.safetensors (the parameters,
 * F32, named and shaped as the Layout says), written atomically.
 */
#define G_LOG_DOMAIN "attnviz-train"
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-json.h"
#include "attnviz-safetensors.h"
#include "attnviz-train.h"
#include "attnviz-train-private.h"

/* ---------------------------------------------------------------- saving */

static const char *
activation_name (AttnvizActivation a)
{
  return a == ATTNVIZ_ACT_RELU ? "relu" : a == ATTNVIZ_ACT_GELU_ERF ? "gelu" : "gelu_new";
}

static char *
config_json (AttnvizTrainer *t, const AttnvizTask *task, GHashTable *extra)
{
  const AttnvizConfig *c = &t->config;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
#define INT(key, value) (json_builder_set_member_name (b, key), json_builder_add_int_value (b, value))
#define STR(key, value) (json_builder_set_member_name (b, key), json_builder_add_string_value (b, value))
#define DBL(key, value) (json_builder_set_member_name (b, key), json_builder_add_double_value (b, value))
  json_builder_set_member_name (b, "architectures");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, c->architecture);
  json_builder_end_array (b);
  STR ("model_type", "attnviz");
  INT ("d_model", c->d_model);
  INT ("n_layer", c->n_layer);
  if (c->encoder_decoder)
    INT ("n_enc_layer", c->n_enc_layer);
  INT ("n_head", c->n_head);
  INT ("head_dim", c->head_dim);
  INT ("d_ff", c->d_ff);
  INT ("vocab_size", c->vocab_size);
  INT ("n_ctx", c->n_ctx);
  STR ("position", attnviz_position_kind_to_string (c->pos));
  DBL ("rope_theta", c->rope_theta);
  g_autofree char *score = attnviz_config_score_to_string (c);
  STR ("score", score);
  g_autofree char *mask = attnviz_pattern_is_dense (&c->pattern) ? g_strdup ("causal")
                                                                  : attnviz_pattern_to_string (&c->pattern);
  STR ("mask", mask);
  STR ("activation", activation_name (c->act));
  DBL ("norm_eps", c->norm_eps);
  INT ("bos_token_id", ATTNVIZ_TASK_BOS);
  INT ("eos_token_id", ATTNVIZ_TASK_EOS);
  INT ("pad_token_id", ATTNVIZ_TASK_PAD);
  if (task != NULL)
    STR ("attnviz_task", attnviz_task_get_spec (task));
  INT ("attnviz_seed", (gint64) t->opt.seed);
  INT ("attnviz_step", t->step);
  INT ("attnviz_steps", t->opt.steps);
  INT ("attnviz_batch", t->opt.batch);
  DBL ("attnviz_lr", t->opt.lr);
  DBL ("attnviz_dropout", t->opt.dropout);
  STR ("attnviz_objective", t->opt.objective == ATTNVIZ_OBJECTIVE_PG ? "pg" : "ce");
  if (extra != NULL)
    {
      g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (extra), (GCompareFunc) strcmp);
      for (GList *l = keys; l; l = l->next)
        STR (l->data, g_hash_table_lookup (extra, l->data));
    }
#undef INT
#undef STR
#undef DBL
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return attnviz_json_to_data (root, TRUE, NULL);
}

gboolean
attnviz_trainer_save (AttnvizTrainer *t, const AttnvizTask *task, const char *path, GHashTable *extra,
                      GError **error)
{
  g_autofree char *dir = NULL, *weights = NULL;
  if (g_str_has_suffix (path, ".safetensors"))
    {
      dir = g_path_get_dirname (path);
      weights = g_strdup (path);
    }
  else
    {
      dir = g_strdup (path);
      weights = g_build_filename (path, "model.safetensors", NULL);
    }
  if (g_mkdir_with_parents (dir, 0777) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: cannot create the folder: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }

  guint n = t->lay.tensors->len;
  g_autofree AttnvizTensorOut *out = g_new0 (AttnvizTensorOut, n);
  for (guint i = 0; i < n; i++)
    {
      const ParamTensor *p = &g_array_index (t->lay.tensors, ParamTensor, i);
      out[i].name = p->name;
      out[i].dtype = ATTNVIZ_DTYPE_F32;
      out[i].n_dims = p->n_dims;
      out[i].shape[0] = p->shape[0];
      out[i].shape[1] = p->shape[1];
      out[i].data = t->params + p->offset;
    }
  g_autoptr(GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (meta, (char *) "format", (char *) "pt");
  g_hash_table_insert (meta, (char *) "producer", (char *) "attnviz train " PACKAGE_VERSION);
  if (!attnviz_safetensors_write (weights, out, n, meta, error))
    return FALSE;

  g_autofree char *config = config_json (t, task, extra);
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  if (!attnviz_file_set_contents (config_path, config, strlen (config), error))
    return FALSE;
  if (task != NULL)
    {
      g_autofree char *tok_path = g_build_filename (dir, "tokenizer.json", NULL);
      if (!attnviz_task_write_tokenizer (task, tok_path, t->config.encoder_decoder, error))
        return FALSE;
    }
  return TRUE;
}
