/* attnviz-model.c: locate, check and map a model's tensors
 *
 * Tensor names by family (HF = Hugging Face transformers):
 *   GPT-2 ("" or "transformer." prefix):
 *     wte.weight (V, d)  wpe.weight (n_ctx, d)  ln_f.{weight,bias} (d)
 *     h.L.ln_1.{weight,bias}  h.L.attn.c_attn.{weight (d, 3d), bias (3d)}
 *     h.L.attn.c_proj.{weight (d, d), bias}  h.L.ln_2.{weight,bias}
 *     h.L.mlp.c_fc.{weight (d, ff), bias}  h.L.mlp.c_proj.{weight (ff, d), bias}
 *     lm_head.weight (V, d), optional: tied to wte when absent.
 *     Conv1D weights are stored (in, out), everything else (out, in).
 *   BERT ("bert." or "" prefix; LayerNorm.gamma/beta = LayerNorm.weight/bias):
 *     embeddings.{word,position,token_type}_embeddings.weight, embeddings.LayerNorm
 *     encoder.layer.L.attention.self.{query,key,value}.{weight,bias}
 *     encoder.layer.L.attention.output.{dense,LayerNorm}
 *     encoder.layer.L.intermediate.dense  encoder.layer.L.output.{dense,LayerNorm}
 *     cls.predictions.transform.{dense,LayerNorm}, cls.predictions.bias (V),
 *     cls.predictions.decoder.weight, optional: tied to the word embeddings.
 *   LLaMA / Qwen2:
 *     model.embed_tokens.weight  model.norm.weight  lm_head.weight (untied)
 *     model.layers.L.{input_layernorm,post_attention_layernorm}.weight
 *     model.layers.L.self_attn.{q,k,v,o}_proj.weight (+ q/k/v bias in Qwen2)
 *     model.layers.L.mlp.{gate,up,down}_proj.weight
 *   RoBERTa ("roberta." or "" prefix): BERT's names, its MLM head and
 *     DistilBERT: attnviz-model-encoder.c
 *   T5, BART, Marian: attnviz-model-seq2seq.c
 *   attnviz's own ("AttnvizDecoder", "AttnvizSeq2Seq", written by `attnviz
 *   train`; config keys in attnviz-config.c), all float32, nn.Linear (out, in),
 *   dq = n_head * head_dim:
 *     tok_emb.weight (V, d), also the LM head (tied)
 *     pos_emb.weight (n_ctx, d), position "learned" only; shared by the
 *       encoder and the decoder, each counting from 0
 *     layers.L.attn_norm.{weight,bias} (d)
 *     layers.L.attn.{q,k,v}.weight (dq, d)  layers.L.attn.{q,k,v}.bias (dq)
 *     layers.L.attn.o.weight (d, dq)  layers.L.attn.o.bias (d)
 *     layers.L.attn.score_v (n_head, head_dim), score "additive" only:
 *       score(i, j) = v_h . tanh (q_i + k_j) over the head's head_dim
 *     layers.L.cross_norm.{weight,bias}, layers.L.cross_attn.{q,k,v,o}.{weight,bias}
 *       and layers.L.cross_attn.score_v: AttnvizSeq2Seq only; q from the
 *       decoder, k and v from the encoder's final-normed output
 *     layers.L.mlp_norm.{weight,bias} (d)
 *     layers.L.mlp.up.weight (d_ff, d), .bias (d_ff); layers.L.mlp.down.weight (d, d_ff), .bias (d)
 *     final_norm.{weight,bias} (d)
 *     encoder.layers.L.* as layers.L.* without the cross-attention, and
 *     encoder.final_norm.{weight,bias}: AttnvizSeq2Seq only.
 *   Each layer: x += attn (attn_norm (x)); [x += cross_attn (cross_norm (x), enc)];
 *   x += mlp (mlp_norm (x)).  RoPE rotates q and k of self-attention only (the
 *   cross-attention sees no positions but through its inputs).  The decoder
 *   starts from bos_token_id and stops at eos_token_id; the source is the
 *   tokenizer's encoding with add_special (its characters then eos).
 */
#define G_LOG_DOMAIN "attnviz-model"
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attnviz-fileutil.h"
#include "attnviz-model-private.h"

typedef AttnvizHfLoader Loader;


static const AttnvizTensorInfo *
loader_find (Loader *l, const char *const *names, char **found)
{
  for (; *names; names++)
    {
      g_autofree char *full = g_strconcat (l->prefix, *names, NULL);
      const AttnvizTensorInfo *info = attnviz_safetensors_lookup (l->model->st, full);
      if (info != NULL)
        {
          if (found)
            *found = g_steal_pointer (&full);
          return info;
        }
    }
  return NULL;
}

static char *
shape_to_string (int n_dims, const gint64 *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* The tensor under the first of NAMES that exists, checked to have shape
 * (d0) or (d0, d1) (d1 == 0 for a vector) and a floating dtype.  NULL when
 * absent and OPTIONAL; otherwise every problem sets the error. */
static const AttnvizTensorInfo *
loader_lookup (Loader *l, const char *const *names, gint64 d0, gint64 d1, gboolean optional,
               char **found)
{
  if (l->failed)
    return NULL;
  g_autofree char *name = NULL;
  const AttnvizTensorInfo *info = loader_find (l, names, &name);
  const char *file = attnviz_safetensors_get_path (l->model->st);
  if (info == NULL)
    {
      if (!optional)
        {
          g_set_error (l->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: missing tensor \"%s%s\" (a %s %s model needs it)", file, l->prefix,
                       names[0], l->model->config.architecture, attnviz_family_to_string (l->model->config.family));
          l->failed = TRUE;
        }
      return NULL;
    }
  file = info->file ? info->file : file;

  int want_dims = d1 > 0 ? 2 : 1;
  gint64 want[2] = { d0, d1 };
  if (info->n_dims != want_dims || info->shape[0] != d0 || (want_dims == 2 && info->shape[1] != d1))
    {
      g_autofree char *got = shape_to_string (info->n_dims, info->shape);
      g_autofree char *exp = shape_to_string (want_dims, want);
      g_set_error (l->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: tensor \"%s\" has shape %s, expected %s from config.json", file, name, got, exp);
      l->failed = TRUE;
      return NULL;
    }
  if (info->dtype != ATTNVIZ_DTYPE_F32 && info->dtype != ATTNVIZ_DTYPE_F16
      && info->dtype != ATTNVIZ_DTYPE_BF16)
    {
      g_set_error (l->error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: tensor \"%s\" has dtype %s; attnviz reads F32, F16 and BF16", file, name,
                   attnviz_dtype_to_string (info->dtype));
      l->failed = TRUE;
      return NULL;
    }
  *found = g_steal_pointer (&name);
  return info;
}

static void
loader_fail_non_finite (Loader *l, const AttnvizTensorInfo *info, const char *name, double value,
                        gint64 i)
{
  const char *file = info->file ? info->file : attnviz_safetensors_get_path (l->model->st);
  g_set_error (l->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               "%s: tensor \"%s\" holds a non-finite value (%g at element %" G_GINT64_FORMAT ")",
               file, name, value, i);
  l->failed = TRUE;
}

/* The first non-finite element of a tensor as stored, or -1 (F32, F16 and
 * BF16: the only dtypes a weight is taken in). */
static gint64
first_non_finite (const AttnvizTensorInfo *info, double *value)
{
  AttnvizWeightType type = info->dtype == ATTNVIZ_DTYPE_F32   ? ATTNVIZ_WEIGHT_F32
                           : info->dtype == ATTNVIZ_DTYPE_F16 ? ATTNVIZ_WEIGHT_F16
                                                              : ATTNVIZ_WEIGHT_BF16;
  g_return_val_if_fail (info->dtype == ATTNVIZ_DTYPE_F32 || info->dtype == ATTNVIZ_DTYPE_F16
                        || info->dtype == ATTNVIZ_DTYPE_BF16, -1);
  return attnviz_weight_first_non_finite (type, info->data, info->n_elements, value);
}

static void
loader_note_type (Loader *l, const AttnvizTensorInfo *info)
{
  const char *type = attnviz_dtype_to_string (info->dtype);
  AttnvizModel *m = l->model;
  if (m->type_name == NULL)
    m->type_name = g_strdup (type);
  else if (strcmp (m->type_name, type) != 0 && strcmp (m->type_name, "mixed") != 0)
    {
      g_free (m->type_name);
      m->type_name = g_strdup ("mixed");
    }
}

/* A tensor of any floating dtype as float32 (converted into an owned copy
 * unless it is F32 and aligned in the mapping): vectors, small tables. */
const float *
_attnviz_loader_get_names (Loader *l, const char *const *names, gint64 d0, gint64 d1, gboolean optional)
{
  g_autofree char *name = NULL;
  const AttnvizTensorInfo *info = loader_lookup (l, names, d0, d1, optional, &name);
  if (info == NULL)
    return NULL;
  double bad;
  gint64 at = first_non_finite (info, &bad);
  if (at >= 0)
    {
      loader_fail_non_finite (l, info, name, bad, at);
      return NULL;
    }
  if (info->dtype == ATTNVIZ_DTYPE_F32 && ((guintptr) info->data % sizeof (float)) == 0)
    return (const float *) info->data;   /* used in place, inside the mapping */

  float *copy = g_try_new (float, info->n_elements);
  if (copy == NULL)
    {
      g_set_error (l->error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "%s: out of memory converting tensor \"%s\"", info->file, name);
      l->failed = TRUE;
      return NULL;
    }
  attnviz_tensor_to_f32 (info, copy);
  g_ptr_array_add (l->model->owned, copy);
  return copy;
}

/* A (d0, d1) matrix kept in its stored type: F16 and BF16 in place in the
 * mapping, F32 too when aligned (a copy otherwise). */
AttnvizMatrix
_attnviz_loader_matrix_names (Loader *l, const char *const *names, gint64 d0, gint64 d1, gboolean optional)
{
  AttnvizMatrix m = { 0 };
  g_autofree char *name = NULL;
  const AttnvizTensorInfo *info = loader_lookup (l, names, d0, d1, optional, &name);
  if (info == NULL)
    return m;
  loader_note_type (l, info);
  if (info->dtype == ATTNVIZ_DTYPE_F32 && ((guintptr) info->data % sizeof (float)) != 0)
    {
      const float *copy = _attnviz_loader_get_names (l, NAMES (name), d0, d1, FALSE);
      return copy ? attnviz_matrix_f32 (copy, (int) d0, (int) d1, (int) d1) : m;
    }
  double bad;
  gint64 at = first_non_finite (info, &bad);
  if (at >= 0)
    {
      loader_fail_non_finite (l, info, name, bad, at);
      return m;
    }
  m.data = info->data;
  m.type = info->dtype == ATTNVIZ_DTYPE_F32 ? ATTNVIZ_WEIGHT_F32
           : info->dtype == ATTNVIZ_DTYPE_F16 ? ATTNVIZ_WEIGHT_F16 : ATTNVIZ_WEIGHT_BF16;
  m.rows = (int) d0;
  m.cols = (int) d1;
  m.row_bytes = (gsize) d1 * attnviz_dtype_size (info->dtype);
  return m;
}

/* A formatted single name, for per-layer tensors. */
const float *
_attnviz_loader_get (Loader *l, gint64 d0, gint64 d1, gboolean optional, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  return _attnviz_loader_get_names (l, NAMES (name), d0, d1, optional);
}

/* A formatted single name, for matrices. */
AttnvizMatrix
_attnviz_loader_matrix (Loader *l, gint64 d0, gint64 d1, gboolean optional, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *name = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  return _attnviz_loader_matrix_names (l, NAMES (name), d0, d1, optional);
}

/* A LayerNorm weight or bias under either spelling (weight/gamma, bias/beta). */
const float *
_attnviz_loader_norm (Loader *l, const char *base, gboolean bias, int d)
{
  g_autofree char *a = g_strconcat (base, bias ? ".bias" : ".weight", NULL);
  g_autofree char *b = g_strconcat (base, bias ? ".beta" : ".gamma", NULL);
  return _attnviz_loader_get_names (l, NAMES (a, b), d, 0, FALSE);
}

AttnvizLinear
_attnviz_linear_out_in (AttnvizMatrix w, const float *b, int n_in, int n_out)
{
  return (AttnvizLinear) { .w = w, .b = b, .n_in = n_in, .n_out = n_out, .in_out = FALSE };
}

/* GPT-2's Conv1D: W stored (n_in, n_out_total), the layer reads columns
 * [col0, col0 + n_out). */
static AttnvizLinear
linear_in_out (AttnvizMatrix w, const float *b, int n_in, int n_out, int col0)
{
  return (AttnvizLinear) { .w = w, .b = b, .n_in = n_in, .n_out = n_out, .col0 = col0, .in_out = TRUE };
}

/* nn.Linear "NAME.weight" (out, in) and optional "NAME.bias" (out). */
AttnvizLinear
_attnviz_loader_linear (Loader *l, const char *name, int n_in, int n_out, gboolean bias)
{
  AttnvizMatrix w = _attnviz_loader_matrix (l, n_out, n_in, FALSE, "%s.weight", name);
  const float *b = bias ? _attnviz_loader_get (l, n_out, 0, FALSE, "%s.bias", name) : NULL;
  return _attnviz_linear_out_in (w, b, n_in, n_out);
}

static void
load_gpt2 (Loader *l)
{
  AttnvizModel *m = l->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model, ff = c->d_ff;

  m->tok_emb = _attnviz_loader_matrix (l, c->vocab_size, d, FALSE, "wte.weight");
  m->pos_emb = _attnviz_loader_matrix (l, c->n_ctx, d, FALSE, "wpe.weight");
  for (int i = 0; i < c->n_layer && !l->failed; i++)
    {
      AttnvizLayerWeights *L = &m->layers[i];
      L->attn_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "h.%d.ln_1.weight", i);
      L->attn_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "h.%d.ln_1.bias", i);
      AttnvizMatrix qkv_w = _attnviz_loader_matrix (l, d, 3 * d, FALSE, "h.%d.attn.c_attn.weight", i);
      const float *qkv_b = _attnviz_loader_get (l, 3 * d, 0, FALSE, "h.%d.attn.c_attn.bias", i);
      if (l->failed)
        break;
      /* Q, K and V are the three column blocks of the (d, 3d) Conv1D weight. */
      L->q = linear_in_out (qkv_w, qkv_b, d, d, 0);
      L->k = linear_in_out (qkv_w, qkv_b + d, d, d, d);
      L->v = linear_in_out (qkv_w, qkv_b + 2 * d, d, d, 2 * d);
      L->o = linear_in_out (_attnviz_loader_matrix (l, d, d, FALSE, "h.%d.attn.c_proj.weight", i),
                            _attnviz_loader_get (l, d, 0, FALSE, "h.%d.attn.c_proj.bias", i), d, d, 0);
      L->mlp_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "h.%d.ln_2.weight", i);
      L->mlp_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "h.%d.ln_2.bias", i);
      L->up = linear_in_out (_attnviz_loader_matrix (l, d, ff, FALSE, "h.%d.mlp.c_fc.weight", i),
                             _attnviz_loader_get (l, ff, 0, FALSE, "h.%d.mlp.c_fc.bias", i), d, ff, 0);
      L->down = linear_in_out (_attnviz_loader_matrix (l, ff, d, FALSE, "h.%d.mlp.c_proj.weight", i),
                               _attnviz_loader_get (l, d, 0, FALSE, "h.%d.mlp.c_proj.bias", i), ff, d, 0);
    }
  m->final_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "ln_f.weight");
  m->final_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "ln_f.bias");

  if (c->has_lm_head && !l->failed)
    {
      /* lm_head sits outside the "transformer." prefix. */
      const char *prefix = l->prefix;
      l->prefix = "";
      AttnvizMatrix head = _attnviz_loader_matrix (l, c->vocab_size, d, TRUE, "lm_head.weight");
      l->prefix = prefix;
      m->lm_head = _attnviz_linear_out_in (head.data ? head : m->tok_emb, NULL, d, c->vocab_size);
    }
}

/* A post-LN encoder layer (BERT's, DistilBERT's): PREFIX + each of NAMES,
 * every linear and norm with its bias. */
void
_attnviz_loader_post_ln_layer (Loader *l, AttnvizLayerWeights *L, const char *prefix, const AttnvizPostLnNames *names,
                               int d, int ff)
{
  g_autofree char *q = g_strconcat (prefix, names->q, NULL);
  g_autofree char *k = g_strconcat (prefix, names->k, NULL);
  g_autofree char *v = g_strconcat (prefix, names->v, NULL);
  g_autofree char *o = g_strconcat (prefix, names->o, NULL);
  g_autofree char *an = g_strconcat (prefix, names->attn_norm, NULL);
  g_autofree char *up = g_strconcat (prefix, names->up, NULL);
  g_autofree char *down = g_strconcat (prefix, names->down, NULL);
  g_autofree char *mn = g_strconcat (prefix, names->mlp_norm, NULL);
  L->q = _attnviz_loader_linear (l, q, d, d, TRUE);
  L->k = _attnviz_loader_linear (l, k, d, d, TRUE);
  L->v = _attnviz_loader_linear (l, v, d, d, TRUE);
  L->o = _attnviz_loader_linear (l, o, d, d, TRUE);
  L->attn_norm_w = _attnviz_loader_norm (l, an, FALSE, d);
  L->attn_norm_b = _attnviz_loader_norm (l, an, TRUE, d);
  L->up = _attnviz_loader_linear (l, up, d, ff, TRUE);
  L->down = _attnviz_loader_linear (l, down, ff, d, TRUE);
  L->mlp_norm_w = _attnviz_loader_norm (l, mn, FALSE, d);
  L->mlp_norm_b = _attnviz_loader_norm (l, mn, TRUE, d);
}

/* BERT and RoBERTa (whose tensors are BERT's, its position table
 * pos_offset rows longer and its MLM head lm_head.*). */
static void
load_bert (Loader *l)
{
  AttnvizModel *m = l->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model, ff = c->d_ff;

  m->tok_emb = _attnviz_loader_matrix (l, c->vocab_size, d, FALSE, "embeddings.word_embeddings.weight");
  m->pos_emb = _attnviz_loader_matrix (l, c->n_ctx + c->pos_offset, d, FALSE, "embeddings.position_embeddings.weight");
  if (c->n_token_types > 0)
    m->type_emb = _attnviz_loader_matrix (l, c->n_token_types, d, FALSE, "embeddings.token_type_embeddings.weight");
  m->emb_norm_w = _attnviz_loader_norm (l, "embeddings.LayerNorm", FALSE, d);
  m->emb_norm_b = _attnviz_loader_norm (l, "embeddings.LayerNorm", TRUE, d);
  for (int i = 0; i < c->n_layer && !l->failed; i++)
    {
      AttnvizLayerWeights *L = &m->layers[i];
      g_autofree char *p = g_strdup_printf ("encoder.layer.%d.", i);
      static const AttnvizPostLnNames names = {
        "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
        "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm",
      };
      _attnviz_loader_post_ln_layer (l, L, p, &names, d, ff);
    }

  if (c->has_lm_head && !l->failed && c->family == ATTNVIZ_FAMILY_ROBERTA)
    _attnviz_model_load_roberta_head (l);
  else if (c->has_lm_head && !l->failed)
    {
      const char *prefix = l->prefix;
      l->prefix = "";
      m->mlm_dense = _attnviz_loader_linear (l, "cls.predictions.transform.dense", d, d, TRUE);
      m->mlm_norm_w = _attnviz_loader_norm (l, "cls.predictions.transform.LayerNorm", FALSE, d);
      m->mlm_norm_b = _attnviz_loader_norm (l, "cls.predictions.transform.LayerNorm", TRUE, d);
      AttnvizMatrix head = _attnviz_loader_matrix (l, c->vocab_size, d, TRUE, "cls.predictions.decoder.weight");
      const float *bias = _attnviz_loader_get_names (l, NAMES ("cls.predictions.bias", "cls.predictions.decoder.bias"),
                                           c->vocab_size, 0, FALSE);
      l->prefix = prefix;
      m->lm_head = _attnviz_linear_out_in (head.data ? head : m->tok_emb, bias, d, c->vocab_size);
    }
}

static void
load_llama (Loader *l)
{
  AttnvizModel *m = l->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model, ff = c->d_ff;
  int dq = c->n_head * c->head_dim, dkv = c->n_kv_head * c->head_dim;

  m->tok_emb = _attnviz_loader_matrix (l, c->vocab_size, d, FALSE, "model.embed_tokens.weight");
  for (int i = 0; i < c->n_layer && !l->failed; i++)
    {
      AttnvizLayerWeights *L = &m->layers[i];
      g_autofree char *p = g_strdup_printf ("model.layers.%d.", i);
      g_autofree char *q = g_strconcat (p, "self_attn.q_proj", NULL);
      g_autofree char *k = g_strconcat (p, "self_attn.k_proj", NULL);
      g_autofree char *v = g_strconcat (p, "self_attn.v_proj", NULL);
      g_autofree char *o = g_strconcat (p, "self_attn.o_proj", NULL);
      g_autofree char *gate = g_strconcat (p, "mlp.gate_proj", NULL);
      g_autofree char *up = g_strconcat (p, "mlp.up_proj", NULL);
      g_autofree char *down = g_strconcat (p, "mlp.down_proj", NULL);
      L->attn_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%sinput_layernorm.weight", p);
      L->q = _attnviz_loader_linear (l, q, d, dq, c->qkv_bias);
      L->k = _attnviz_loader_linear (l, k, d, dkv, c->qkv_bias);
      L->v = _attnviz_loader_linear (l, v, d, dkv, c->qkv_bias);
      L->o = _attnviz_loader_linear (l, o, dq, d, c->out_bias);
      L->mlp_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%spost_attention_layernorm.weight", p);
      L->gate = _attnviz_loader_linear (l, gate, d, ff, c->mlp_bias);
      L->up = _attnviz_loader_linear (l, up, d, ff, c->mlp_bias);
      L->down = _attnviz_loader_linear (l, down, ff, d, c->mlp_bias);
    }
  m->final_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "model.norm.weight");
  AttnvizMatrix head = _attnviz_loader_matrix (l, c->vocab_size, d, c->tied_embeddings, "lm_head.weight");
  m->lm_head = _attnviz_linear_out_in (head.data ? head : m->tok_emb, NULL, d, c->vocab_size);
}

/* One attention block of an attnviz model: "PREFIX.{q,k,v,o}" and, for
 * additive scoring, "PREFIX.score_v". */
static void
load_attnviz_attention (Loader *l, const char *prefix, AttnvizLinear *q, AttnvizLinear *k,
                        AttnvizLinear *v, AttnvizLinear *o, const float **score_v)
{
  const AttnvizConfig *c = &l->model->config;
  int d = c->d_model, dq = c->n_head * c->head_dim;
  g_autofree char *nq = g_strconcat (prefix, ".q", NULL);
  g_autofree char *nk = g_strconcat (prefix, ".k", NULL);
  g_autofree char *nv = g_strconcat (prefix, ".v", NULL);
  g_autofree char *no = g_strconcat (prefix, ".o", NULL);
  *q = _attnviz_loader_linear (l, nq, d, dq, TRUE);
  *k = _attnviz_loader_linear (l, nk, d, dq, TRUE);
  *v = _attnviz_loader_linear (l, nv, d, dq, TRUE);
  *o = _attnviz_loader_linear (l, no, dq, d, TRUE);
  if (attnviz_config_has_score_v (c))
    *score_v = _attnviz_loader_get (l, c->n_head, c->head_dim, FALSE, "%s.score_v", prefix);
}

static void
load_attnviz_layer (Loader *l, AttnvizLayerWeights *L, const char *prefix, gboolean cross)
{
  const AttnvizConfig *c = &l->model->config;
  int d = c->d_model, ff = c->d_ff;
  g_autofree char *attn = g_strconcat (prefix, "attn", NULL);
  g_autofree char *cross_attn = g_strconcat (prefix, "cross_attn", NULL);
  g_autofree char *up = g_strconcat (prefix, "mlp.up", NULL);
  g_autofree char *down = g_strconcat (prefix, "mlp.down", NULL);

  L->attn_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%sattn_norm.weight", prefix);
  L->attn_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "%sattn_norm.bias", prefix);
  load_attnviz_attention (l, attn, &L->q, &L->k, &L->v, &L->o, &L->score_v);
  if (cross)
    {
      L->cross_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%scross_norm.weight", prefix);
      L->cross_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "%scross_norm.bias", prefix);
      load_attnviz_attention (l, cross_attn, &L->cq, &L->ck, &L->cv, &L->co, &L->cross_score_v);
    }
  L->mlp_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%smlp_norm.weight", prefix);
  L->mlp_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "%smlp_norm.bias", prefix);
  L->up = _attnviz_loader_linear (l, up, d, ff, TRUE);
  L->down = _attnviz_loader_linear (l, down, ff, d, TRUE);
}

static void
load_attnviz (Loader *l)
{
  AttnvizModel *m = l->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;

  m->tok_emb = _attnviz_loader_matrix (l, c->vocab_size, d, FALSE, "tok_emb.weight");
  if (c->pos == ATTNVIZ_POS_LEARNED)
    m->pos_emb = _attnviz_loader_matrix (l, c->n_ctx, d, FALSE, "pos_emb.weight");
  for (int i = 0; i < c->n_layer && !l->failed; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("layers.%d.", i);
      load_attnviz_layer (l, &m->layers[i], prefix, c->encoder_decoder);
    }
  m->final_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "final_norm.weight");
  m->final_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "final_norm.bias");
  if (c->encoder_decoder)
    {
      m->enc_layers = g_new0 (AttnvizLayerWeights, c->n_enc_layer);
      for (int i = 0; i < c->n_enc_layer && !l->failed; i++)
        {
          g_autofree char *prefix = g_strdup_printf ("encoder.layers.%d.", i);
          load_attnviz_layer (l, &m->enc_layers[i], prefix, FALSE);
        }
      m->enc_final_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "encoder.final_norm.weight");
      m->enc_final_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "encoder.final_norm.bias");
    }
  m->lm_head = _attnviz_linear_out_in (m->tok_emb, NULL, d, c->vocab_size);
}

/* Files count as there when anything is at their path (a dangling link, a
 * loop, a FIFO): reading them then says what is wrong with them, rather
 * than "no config.json in this folder". */
static gboolean
find_weights (const char *path, char **dir_out, char **weights_out, GError **error)
{
  struct stat st;
  if (stat (path, &st) != 0)
    {
      int saved = errno;
      struct stat lst;
      if (lstat (path, &lst) == 0)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: %s", path,
                     saved == ELOOP ? "too many levels of symbolic links"
                                    : saved == ENOENT ? "is a symbolic link to a file that does not exist"
                                                      : g_strerror (saved));
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: %s", path,
                     saved == ENOENT ? "no such file or folder" : g_strerror (saved));
      return FALSE;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_autofree char *single = g_build_filename (path, "model.safetensors", NULL);
      g_autofree char *index = g_build_filename (path, "model.safetensors.index.json", NULL);
      g_autofree char *config = g_build_filename (path, "config.json", NULL);
      if (!attnviz_path_present (config))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no config.json in this folder", path);
          return FALSE;
        }
      if (attnviz_path_present (single))
        *weights_out = g_steal_pointer (&single);
      else if (attnviz_path_present (index))
        *weights_out = g_steal_pointer (&index);
      else
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "%s: no model.safetensors or model.safetensors.index.json in this folder", path);
          return FALSE;
        }
      *dir_out = g_strdup (path);
      return TRUE;
    }
  if (!g_str_has_suffix (path, ".safetensors") && !g_str_has_suffix (path, ".index.json"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: not a model (expected a folder, a .gguf file, a .safetensors file or a .safetensors.index.json)", path);
      return FALSE;
    }
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  if (!attnviz_path_present (config))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no config.json beside it in %s", path, dir);
      return FALSE;
    }
  *dir_out = g_steal_pointer (&dir);
  *weights_out = g_strdup (path);
  return TRUE;
}

/* A model may come without a tokenizer, or with one of a kind attnviz does
 * not read (then --ids still runs it); any other failure is a broken file. */
static gboolean
tokenizer_error_is_fatal (const char *dir, const GError *error)
{
  /* the files that make a tokenizer (a tokenizer_config.json alone, as
   * beside a SentencePiece tokenizer.model, does not) */
  static const char *const files[] = { "tokenizer.json", "vocab.json", "vocab.txt" };
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (dir, files[i], NULL);
      if (attnviz_path_present (path))
        return TRUE;
    }
  return FALSE;
}

/* A GGUF file: named .gguf, or any regular file that starts with "GGUF",
 * whatever its name says (a GGUF renamed .safetensors is still GGUF). */
static gboolean
is_gguf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return FALSE;
  if (g_str_has_suffix (path, ".gguf") || g_str_has_suffix (path, ".GGUF"))
    return TRUE;
  int fd = attnviz_open_regular (path, NULL);
  if (fd < 0)
    return FALSE;
  char magic[4];
  gboolean gguf = read (fd, magic, 4) == 4 && memcmp (magic, "GGUF", 4) == 0;
  close (fd);
  return gguf;
}

AttnvizModel *
attnviz_model_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr(AttnvizModel) m = _attnviz_model_new ();
  m->path = g_strdup (path);
  if (is_gguf (path))
    return _attnviz_model_load_gguf (m, error) ? g_steal_pointer (&m) : NULL;
  if (!find_weights (path, &m->dir, &m->weights_path, error))
    return NULL;

  g_autofree char *config_path = g_build_filename (m->dir, "config.json", NULL);
  if (!attnviz_config_load (&m->config, config_path, error))
    return NULL;

  m->st = attnviz_safetensors_open (m->weights_path, error);
  if (m->st == NULL)
    return NULL;

  Loader l = { m, "", error, FALSE };
  const AttnvizConfig *c = &m->config;
  m->layers = g_new0 (AttnvizLayerWeights, c->n_layer);

  /* The prefix is whatever makes the embedding table appear. */
  static const struct { AttnvizFamily family; const char *probe; const char *prefixes[3]; } prefixes[] = {
    { ATTNVIZ_FAMILY_GPT2, "wte.weight", { "", "transformer.", NULL } },
    { ATTNVIZ_FAMILY_BERT, "embeddings.word_embeddings.weight", { "bert.", "", NULL } },
    { ATTNVIZ_FAMILY_ROBERTA, "embeddings.word_embeddings.weight", { "roberta.", "", NULL } },
    { ATTNVIZ_FAMILY_DISTILBERT, "embeddings.word_embeddings.weight", { "distilbert.", "", NULL } },
    { ATTNVIZ_FAMILY_LLAMA, "model.embed_tokens.weight", { "", NULL, NULL } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    if (prefixes[i].family == c->family)
      {
        l.prefix = prefixes[i].prefixes[0];
        for (const char *const *p = prefixes[i].prefixes; *p; p++)
          {
            g_autofree char *probe = g_strconcat (*p, prefixes[i].probe, NULL);
            if (attnviz_safetensors_lookup (m->st, probe))
              {
                l.prefix = *p;
                break;
              }
          }
      }

  switch (c->family)
    {
    case ATTNVIZ_FAMILY_GPT2: load_gpt2 (&l); break;
    case ATTNVIZ_FAMILY_BERT:
    case ATTNVIZ_FAMILY_ROBERTA: load_bert (&l); break;
    case ATTNVIZ_FAMILY_DISTILBERT: _attnviz_model_load_distilbert (&l); break;
    case ATTNVIZ_FAMILY_LLAMA: load_llama (&l); break;
    case ATTNVIZ_FAMILY_ATTNVIZ: load_attnviz (&l); break;
    case ATTNVIZ_FAMILY_T5: _attnviz_model_load_t5 (&l); break;
    case ATTNVIZ_FAMILY_BART:
    case ATTNVIZ_FAMILY_MARIAN: _attnviz_model_load_bart (&l); break;
    default: g_assert_not_reached ();
    }
  if (l.failed)
    return NULL;
  for (guint i = 0; i < attnviz_safetensors_get_n_tensors (m->st); i++)
    m->weight_bytes += attnviz_safetensors_get_nth (m->st, i)->n_bytes;

  g_autoptr(GError) tok_error = NULL;
  m->tokenizer = attnviz_tokenizer_load_dir (m->dir, &tok_error);
  if (m->tokenizer == NULL && !tokenizer_error_is_fatal (m->dir, tok_error))
    m->tokenizer_error = g_strdup (tok_error->message);
  else if (m->tokenizer == NULL)
    {
      /* A tokenizer file that is there but broken (or hostile) is a broken
       * model, not a model without a tokenizer. */
      g_propagate_error (error, g_steal_pointer (&tok_error));
      return NULL;
    }
  else if (attnviz_tokenizer_get_vocab_size (m->tokenizer) > c->vocab_size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: %d tokens, but the model's vocabulary has only %d",
                   attnviz_tokenizer_get_file (m->tokenizer) ? attnviz_tokenizer_get_file (m->tokenizer) : m->dir,
                   attnviz_tokenizer_get_vocab_size (m->tokenizer), c->vocab_size);
      return NULL;
    }

  return g_steal_pointer (&m);
}

/* xoshiro-style generator and Box-Muller: fast and the same on every machine. */
