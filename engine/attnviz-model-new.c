/* attnviz-model-new.c: a model's lifetime
 *
 * The empty model every loader fills, a model of random weights for a
 * config (the benchmarks and tests: no file needed), references and
 * freeing, and the descriptions of its size and storage.  Loading from a
 * folder is in attnviz-model.c, from GGUF in attnviz-model-gguf.c.
 */
#define G_LOG_DOMAIN "attnviz-model"
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>

#include "attnviz-model-private.h"
#include "attnviz-task.h"

AttnvizModel *
_attnviz_model_new (void)
{
  AttnvizModel *m = g_atomic_rc_box_new0 (AttnvizModel);
  m->owned = g_ptr_array_new_with_free_func (g_free);
  return m;
}

static float *
random_tensor (AttnvizModel *m, guint64 *state, gsize n, float mean, float std)
{
  float *t = g_new (float, n);
  for (gsize i = 0; i < n; i += 2)
    {
      double u1 = ((attnviz_splitmix64 (state) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
      double u2 = (attnviz_splitmix64 (state) >> 11) * (1.0 / 9007199254740992.0);
      double r = sqrt (-2.0 * log (u1));
      t[i] = mean + std * (float) (r * cos (2 * G_PI * u2));
      if (i + 1 < n)
        t[i + 1] = mean + std * (float) (r * sin (2 * G_PI * u2));
    }
  g_ptr_array_add (m->owned, t);
  m->weight_bytes += n * sizeof (float);
  return t;
}

static AttnvizMatrix
random_matrix (AttnvizModel *m, guint64 *s, int rows, int cols, float mean, float std)
{
  return attnviz_matrix_f32 (random_tensor (m, s, (gsize) rows * cols, mean, std), rows, cols, cols);
}

static AttnvizLinear
random_linear (AttnvizModel *m, guint64 *s, int n_in, int n_out, gboolean bias)
{
  return _attnviz_linear_out_in (random_matrix (m, s, n_out, n_in, 0.0f, 0.02f),
                        bias ? random_tensor (m, s, n_out, 0.0f, 0.02f) : NULL, n_in, n_out);
}

/* The self-attention and MLP of one block (decoder or encoder), drawn in
 * this order from the generator S so that a seed gives the same model. */
static void
random_block (AttnvizModel *m, guint64 *s, AttnvizLayerWeights *L)
{
  const AttnvizConfig *c = &m->config;
  int d = c->d_model, ff = c->d_ff;
  int dq = c->n_head * c->head_dim, dkv = c->n_kv_head * c->head_dim;
  gboolean ln = c->norm == ATTNVIZ_NORM_LAYERNORM;

  L->attn_norm_w = random_tensor (m, s, d, 1.0f, 0.0f);
  L->attn_norm_b = ln ? random_tensor (m, s, d, 0.0f, 0.0f) : NULL;
  L->q = random_linear (m, s, d, dq, c->qkv_bias);
  L->k = random_linear (m, s, d, dkv, c->qkv_bias);
  L->v = random_linear (m, s, d, dkv, c->qkv_bias);
  L->o = random_linear (m, s, dq, d, c->out_bias);
  L->mlp_norm_w = random_tensor (m, s, d, 1.0f, 0.0f);
  L->mlp_norm_b = ln ? random_tensor (m, s, d, 0.0f, 0.0f) : NULL;
  L->up = random_linear (m, s, d, ff, c->mlp_bias);
  if (c->gated_mlp)
    L->gate = random_linear (m, s, d, ff, c->mlp_bias);
  L->down = random_linear (m, s, ff, d, c->mlp_bias);
  if (attnviz_config_has_score_v (c))
    L->score_v = random_tensor (m, s, (gsize) c->n_head * c->head_dim, 0.0f, 0.3f);
}

AttnvizModel *
attnviz_model_new_random (const AttnvizConfig *config, guint64 seed)
{
  AttnvizModel *m = _attnviz_model_new ();
  AttnvizConfig *c = &m->config;
  guint64 s = seed;

  *c = *config;
  c->architecture = g_strdup (config->architecture ? config->architecture : "random");
  c->model_type = g_strdup (config->model_type ? config->model_type : "random");
  m->path = g_strdup ("(random weights)");
  m->type_name = g_strdup ("F32");
  m->tokenizer_error = g_strdup ("a random model has no tokenizer");

  int d = c->d_model;
  int dq = c->n_head * c->head_dim;
  gboolean ln = c->norm == ATTNVIZ_NORM_LAYERNORM;

  m->tok_emb = random_matrix (m, &s, c->vocab_size, d, 0.0f, 0.02f);
  if (c->pos == ATTNVIZ_POS_LEARNED)
    m->pos_emb = random_matrix (m, &s, c->n_ctx + c->pos_offset, d, 0.0f, 0.01f);
  if (c->n_token_types > 0)
    m->type_emb = random_matrix (m, &s, c->n_token_types, d, 0.0f, 0.02f);
  if (c->embedding_norm)
    {
      m->emb_norm_w = random_tensor (m, &s, d, 1.0f, 0.0f);
      m->emb_norm_b = random_tensor (m, &s, d, 0.0f, 0.0f);
    }
  m->layers = g_new0 (AttnvizLayerWeights, c->n_layer);
  for (int i = 0; i < c->n_layer; i++)
    {
      AttnvizLayerWeights *L = &m->layers[i];
      random_block (m, &s, L);
      if (c->encoder_decoder)
        {
          L->cross_norm_w = random_tensor (m, &s, d, 1.0f, 0.0f);
          L->cross_norm_b = ln ? random_tensor (m, &s, d, 0.0f, 0.0f) : NULL;
          L->cq = random_linear (m, &s, d, dq, c->qkv_bias);
          L->ck = random_linear (m, &s, d, dq, c->qkv_bias);
          L->cv = random_linear (m, &s, d, dq, c->qkv_bias);
          L->co = random_linear (m, &s, dq, d, c->out_bias);
          if (attnviz_config_has_score_v (c))
            L->cross_score_v = random_tensor (m, &s, (gsize) c->n_head * c->head_dim, 0.0f, 0.3f);
        }
    }
  if (c->encoder_decoder)
    {
      /* The encoder: the same blocks, bidirectional, without cross-attention. */
      m->enc_layers = g_new0 (AttnvizLayerWeights, c->n_enc_layer);
      for (int i = 0; i < c->n_enc_layer; i++)
        {
          random_block (m, &s, &m->enc_layers[i]);
        }
      m->enc_final_norm_w = random_tensor (m, &s, d, 1.0f, 0.0f);
      m->enc_final_norm_b = ln ? random_tensor (m, &s, d, 0.0f, 0.0f) : NULL;
    }
  if (c->final_norm)
    {
      m->final_norm_w = random_tensor (m, &s, d, 1.0f, 0.0f);
      m->final_norm_b = ln ? random_tensor (m, &s, d, 0.0f, 0.0f) : NULL;
    }
  if (c->mlm_transform)
    {
      m->mlm_dense = random_linear (m, &s, d, d, TRUE);
      m->mlm_norm_w = random_tensor (m, &s, d, 1.0f, 0.0f);
      m->mlm_norm_b = random_tensor (m, &s, d, 0.0f, 0.0f);
    }
  if (c->has_lm_head)
    m->lm_head = c->tied_embeddings ? _attnviz_linear_out_in (m->tok_emb, NULL, d, c->vocab_size)
                                    : random_linear (m, &s, d, c->vocab_size, FALSE);
  return m;
}

static void
model_clear (gpointer data)
{
  AttnvizModel *m = data;
  attnviz_config_clear (&m->config);
  g_free (m->path);
  g_free (m->dir);
  g_free (m->weights_path);
  g_free (m->type_name);
  g_free (m->layers);
  g_free (m->enc_layers);
  g_clear_pointer (&m->tokenizer, attnviz_tokenizer_free);
  g_free (m->tokenizer_error);
  g_clear_pointer (&m->owned, g_ptr_array_unref);
  g_clear_pointer (&m->st, attnviz_safetensors_free);
  g_clear_pointer (&m->gguf_file, attnviz_gguf_free);
}

AttnvizModel *
attnviz_model_ref (AttnvizModel *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return g_atomic_rc_box_acquire (m);
}

void
attnviz_model_free (AttnvizModel *m)
{
  if (m == NULL)
    return;
  g_atomic_rc_box_release_full (m, model_clear);
}

char *
attnviz_format_params (gint64 n)
{
  if (n >= 1000000000)
    return g_strdup_printf ("%.1f B", n / 1e9);
  if (n >= 10000000)
    return g_strdup_printf ("%.0f M", n / 1e6);
  if (n >= 1000000)
    return g_strdup_printf ("%.1f M", n / 1e6);
  return g_strdup_printf ("%.0f K", n / 1e3);
}

char *
attnviz_model_describe_storage (const AttnvizModel *model)
{
  g_autofree char *params = attnviz_format_params (attnviz_config_n_params (&model->config));
  const char *format = model->gguf ? "GGUF" : model->st ? "safetensors" : "in memory";
  return g_strdup_printf ("%s · %s · %s", format, model->type_name ? model->type_name : "F32", params);
}

char *
attnviz_model_display_name (const char *path)
{
  static const char *const generic[] = {
    "hf", "model", "models", "weights", "checkpoint", "snapshot", "main", "model.safetensors", NULL,
  };
  g_autofree char *clean = g_canonicalize_filename (path, NULL);   /* absolute, no trailing slash */

  /* A checkpoint attnviz train left (MODEL/checkpoints/step-000250): the
   * model's name; the step is shown apart.  The pairs are cut in place
   * from the end, each scanned once: a dump's "model" may repeat them
   * 60000 times, which took minutes when each cut measured the whole
   * path again. */
  gsize len = strlen (clean);
  static const char checkpoints[] = "checkpoints";
  while (len > 1)
    {
      gsize s1 = len;   /* the last slash: the path is absolute, so there is one */
      while (s1 > 0 && clean[s1 - 1] != '/')
        s1--;
      if (s1 < 2 || !g_str_has_prefix (clean + s1, "step-"))
        break;
      gsize s2 = s1 - 1;   /* the slash before the parent */
      while (s2 > 0 && clean[s2 - 1] != '/')
        s2--;
      if (s1 - 1 - s2 != strlen (checkpoints) || strncmp (clean + s2, checkpoints, strlen (checkpoints)) != 0)
        break;
      len = s2 > 1 ? s2 - 1 : 1;   /* the model's folder ("/" when checkpoints/ is at the root) */
      clean[len] = '\0';
    }
  g_autofree char *base = g_path_get_basename (clean);
  g_autofree char *dir = g_path_get_dirname (clean);
  g_autofree char *parent = g_path_get_basename (dir);
  if (g_str_has_suffix (base, ".safetensors") && !g_str_equal (base, "model.safetensors"))
    base[strlen (base) - strlen (".safetensors")] = '\0';
  if (g_strv_contains (generic, base) && !g_str_equal (parent, "/") && !g_str_equal (parent, "."))
    {
      if (g_str_equal (base, "model.safetensors"))
        return g_steal_pointer (&parent);
      return g_strdup_printf ("%s/%s", parent, base);
    }
  return g_steal_pointer (&base);
}
