/* attnviz-convert-hf.c: a Hugging Face model's plan and keys for GGUF
 *
 * Which tensors of the generic AttnvizModel go out under which llama.cpp
 * names, per architecture (llama and qwen2, gpt2, bert; the reorderings
 * attnviz-convert.c lists), which GGUF architecture a model is, and its
 * ARCH.* keys from the config.
 */
#define G_LOG_DOMAIN "attnviz-convert"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-convert.h"
#include "attnviz-forward.h"
#include "attnviz-gguf.h"
#include "attnviz-convert-private.h"

/* ---- Hugging Face models ---- */

void
_attnviz_convert_plan_llama (Converter *cv, gboolean qwen2)
{
  const AttnvizModel *m = cv->model;
  const AttnvizConfig *c = &m->config;
  gboolean tied = m->lm_head.w.data == m->tok_emb.data;
  /* llama.cpp's llama turns adjacent pairs: Hugging Face's halves are permuted. */
  gboolean permute = !qwen2 && c->rope_style == ATTNVIZ_ROPE_HALVES;

  _attnviz_convert_plan_matrix (cv, "token_embd.weight", &m->tok_emb, FALSE, 0, tied);
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
      _attnviz_convert_plan_vector (cv, "rope_freqs.weight", factors, n, 0);
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

      _attnviz_convert_plan_vector (cv, attn_norm, L->attn_norm_w, c->d_model, 0);
      _attnviz_convert_plan_linear (cv, q, &L->q, permute ? c->n_head : 0);
      _attnviz_convert_plan_linear (cv, k, &L->k, permute ? c->n_kv_head : 0);
      _attnviz_convert_plan_linear (cv, v, &L->v, 0);
      _attnviz_convert_plan_linear (cv, o, &L->o, 0);
      _attnviz_convert_plan_vector (cv, ffn_norm, L->mlp_norm_w, c->d_model, 0);
      _attnviz_convert_plan_linear (cv, gate, &L->gate, 0);
      _attnviz_convert_plan_linear (cv, up, &L->up, 0);
      _attnviz_convert_plan_linear (cv, down, &L->down, 0);
    }
  _attnviz_convert_plan_vector (cv, "output_norm.weight", m->final_norm_w, c->d_model, 0);
  if (!tied)
    _attnviz_convert_plan_matrix (cv, "output.weight", &m->lm_head.w, FALSE, 0, TRUE);
}

void
_attnviz_convert_plan_gpt2 (Converter *cv)
{
  const AttnvizModel *m = cv->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;
  gboolean tied = !c->has_lm_head || m->lm_head.w.data == m->tok_emb.data;

  _attnviz_convert_plan_matrix (cv, "token_embd.weight", &m->tok_emb, FALSE, 0, tied && c->has_lm_head);
  _attnviz_convert_plan_matrix (cv, "position_embd.weight", &m->pos_emb, FALSE, 0, FALSE);
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

      _attnviz_convert_plan_vector (cv, n1w, L->attn_norm_w, d, 0);
      _attnviz_convert_plan_vector (cv, n1b, L->attn_norm_b, d, 0);
      /* Q, K and V: the three column blocks of one Conv1D (d, 3d) weight,
       * whose bias is 3d floats from Q's. */
      if (!(L->q.in_out && L->q.w.data == L->k.w.data && L->q.w.data == L->v.w.data && L->q.w.cols == 3 * d
            && L->q.col0 == 0 && L->k.b == L->q.b + d && L->v.b == L->q.b + 2 * d))
        {
          _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                          "%s: layer %d's Q, K and V are not one fused c_attn weight", m->path, i);
          return;
        }
      _attnviz_convert_plan_matrix (cv, qkvw, &L->q.w, TRUE, 0, FALSE);
      _attnviz_convert_plan_vector (cv, qkvb, L->q.b, 3 * d, 0);
      _attnviz_convert_plan_linear (cv, o, &L->o, 0);
      _attnviz_convert_plan_vector (cv, n2w, L->mlp_norm_w, d, 0);
      _attnviz_convert_plan_vector (cv, n2b, L->mlp_norm_b, d, 0);
      _attnviz_convert_plan_linear (cv, up, &L->up, 0);
      _attnviz_convert_plan_linear (cv, down, &L->down, 0);
    }
  _attnviz_convert_plan_vector (cv, "output_norm.weight", m->final_norm_w, d, 0);
  _attnviz_convert_plan_vector (cv, "output_norm.bias", m->final_norm_b, d, 0);
  if (!tied)
    _attnviz_convert_plan_matrix (cv, "output.weight", &m->lm_head.w, FALSE, 0, TRUE);
}

void
_attnviz_convert_plan_bert (Converter *cv)
{
  const AttnvizModel *m = cv->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;

  _attnviz_convert_plan_matrix (cv, "token_embd.weight", &m->tok_emb, FALSE, 0, FALSE);
  if (m->type_emb.data != NULL)
    _attnviz_convert_plan_matrix (cv, "token_types.weight", &m->type_emb, FALSE, 0, FALSE);
  _attnviz_convert_plan_matrix (cv, "position_embd.weight", &m->pos_emb, FALSE, 0, FALSE);
  _attnviz_convert_plan_vector (cv, "token_embd_norm.weight", m->emb_norm_w, d, 0);
  _attnviz_convert_plan_vector (cv, "token_embd_norm.bias", m->emb_norm_b, d, 0);
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

      _attnviz_convert_plan_linear (cv, q, &L->q, 0);
      _attnviz_convert_plan_linear (cv, k, &L->k, 0);
      _attnviz_convert_plan_linear (cv, v, &L->v, 0);
      _attnviz_convert_plan_linear (cv, o, &L->o, 0);
      _attnviz_convert_plan_vector (cv, n1w, L->attn_norm_w, d, 0);
      _attnviz_convert_plan_vector (cv, n1b, L->attn_norm_b, d, 0);
      _attnviz_convert_plan_linear (cv, up, &L->up, 0);
      _attnviz_convert_plan_linear (cv, down, &L->down, 0);
      _attnviz_convert_plan_vector (cv, n2w, L->mlp_norm_w, d, 0);
      _attnviz_convert_plan_vector (cv, n2b, L->mlp_norm_b, d, 0);
    }
  if (c->has_lm_head)
    _attnviz_converter_add_note (cv, "left out: GGUF bert has no masked-LM head (cls.predictions), as in llama.cpp's converter",
              "cls.predictions");
}

/* The GGUF architecture a Hugging Face model becomes, or NULL with an error. */
const char *
_attnviz_convert_hf_architecture (Converter *cv)
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
    case ATTNVIZ_FAMILY_T5:
      _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                      "%s: attnviz does not write T5 (llama.cpp's t5 architecture) yet "
                      "(convert writes LLaMA, Qwen2, GPT-2 and BERT models)", m->path);
      return NULL;
    case ATTNVIZ_FAMILY_BART:
    case ATTNVIZ_FAMILY_MARIAN:
      _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                      "%s: llama.cpp has no %s architecture "
                      "(convert writes LLaMA, Qwen2, GPT-2 and BERT models)", m->path,
                      c->family == ATTNVIZ_FAMILY_BART ? "BART" : "Marian");
      return NULL;
    case ATTNVIZ_FAMILY_ROBERTA:
    case ATTNVIZ_FAMILY_DISTILBERT:
      _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                      "%s: attnviz does not write %s to GGUF "
                      "(convert writes LLaMA, Qwen2, GPT-2 and BERT models)", m->path, c->architecture);
      return NULL;
    default:
      _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                      "%s: %s is attnviz's own architecture, which llama.cpp has none for "
                      "(convert writes LLaMA, Qwen2, GPT-2 and BERT models)",
                      m->path, c->architecture);
      return NULL;
    }
  if (c->act != act)
    _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "%s: activation %s: GGUF %s computes %s", m->path, attnviz_activation_to_string (c->act),
                    arch, attnviz_activation_to_string (act));
  else if (c->family == ATTNVIZ_FAMILY_LLAMA && c->mlp_bias)
    _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "%s: MLP biases (mlp_bias) have no place in GGUF %s", m->path, arch);
  else if (g_str_equal (arch, "llama") && c->rope_dims != 0 && c->rope_dims != c->head_dim)
    _attnviz_converter_fail (cv, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
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
void
_attnviz_convert_write_hf_metadata (Converter *cv, AttnvizGgufWriter *w, const char *arch)
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
