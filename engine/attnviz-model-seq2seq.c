/* attnviz-model-seq2seq.c: the tensors of pretrained encoder-decoders
 *
 * Tensor names (Hugging Face transformers):
 *   T5 (T5ForConditionalGeneration), S = encoder or decoder, dq = num_heads * d_kv:
 *     shared.weight (V, d), the embedding of both stacks
 *     S.block.L.layer.0.SelfAttention.{q,k,v}.weight (dq, d), .o.weight (d, dq)
 *     S.block.0.layer.0.SelfAttention.relative_attention_bias.weight (buckets, n_head),
 *       the first layer's only, used by every layer of the stack
 *     S.block.L.layer.0.layer_norm.weight (d)
 *     decoder.block.L.layer.1.EncDecAttention.{q,k,v,o}.weight, layer.1.layer_norm.weight
 *     S.block.L.layer.N.DenseReluDense.wi.weight (d_ff, d) (or gated: wi_0, the
 *       activated half, and wi_1), .wo.weight (d, d_ff), layer.N.layer_norm.weight,
 *       N = 1 in the encoder, 2 in the decoder
 *     S.final_layer_norm.weight (d); lm_head.weight (V, d) when untied
 *   BART (BartForConditionalGeneration), S = model.encoder or model.decoder:
 *     model.shared.weight (V, d) (S.embed_tokens.weight the same, tied)
 *     S.embed_positions.weight (n_ctx + 2, d): position p is row p + 2
 *     S.layernorm_embedding.{weight,bias} (d)
 *     S.layers.L.self_attn.{q,k,v,out}_proj.{weight (d, d), bias (d)}
 *     S.layers.L.self_attn_layer_norm.{weight,bias}
 *     model.decoder.layers.L.encoder_attn.{q,k,v,out}_proj, .encoder_attn_layer_norm
 *     S.layers.L.fc1.{weight (d_ff, d), bias}, .fc2.{weight (d, d_ff), bias},
 *     S.layers.L.final_layer_norm.{weight,bias}
 *     final_logits_bias (1, V), the LM head's bias; lm_head.weight (V, d) when untied
 *   Each BART layer (post-norm): x = norm (x + attn (x)); [x = norm (x +
 *   cross (x, enc))]; x = norm (x + fc2 (gelu (fc1 (x)))).
 *   Marian (MarianMTModel): BART's names and layers without
 *     S.embed_positions (sinusoids, computed; a saved table is not read) and
 *     without S.layernorm_embedding; the activation is opus-mt's swish.
 */
#define G_LOG_DOMAIN "attnviz-model"
#include "config.h"

#include <string.h>

#include "attnviz-model-private.h"

typedef AttnvizHfLoader Loader;

static void
load_t5_attention (Loader *l, const char *prefix, AttnvizLinear *q, AttnvizLinear *k, AttnvizLinear *v,
                   AttnvizLinear *o)
{
  const AttnvizConfig *c = &l->model->config;
  int d = c->d_model, dq = c->n_head * c->head_dim;
  g_autofree char *nq = g_strconcat (prefix, ".q", NULL);
  g_autofree char *nk = g_strconcat (prefix, ".k", NULL);
  g_autofree char *nv = g_strconcat (prefix, ".v", NULL);
  g_autofree char *no = g_strconcat (prefix, ".o", NULL);
  *q = _attnviz_loader_linear (l, nq, d, dq, FALSE);
  *k = _attnviz_loader_linear (l, nk, d, dq, FALSE);
  *v = _attnviz_loader_linear (l, nv, d, dq, FALSE);
  *o = _attnviz_loader_linear (l, no, dq, d, FALSE);
}

/* One stack of T5: "encoder" or "decoder" (with cross-attention). */
static void
load_t5_stack (Loader *l, const char *stack, AttnvizLayerWeights *layers, int n_layers, const float **rel_bias,
               const float **final_norm)
{
  const AttnvizConfig *c = &l->model->config;
  int d = c->d_model, ff = c->d_ff;
  gboolean decoder = strcmp (stack, "decoder") == 0;
  for (int i = 0; i < n_layers && !l->failed; i++)
    {
      AttnvizLayerWeights *L = &layers[i];
      g_autofree char *p = g_strdup_printf ("%s.block.%d.layer.", stack, i);
      g_autofree char *self = g_strconcat (p, "0.SelfAttention", NULL);
      g_autofree char *cross = g_strconcat (p, "1.EncDecAttention", NULL);
      int mlp = decoder ? 2 : 1;
      g_autofree char *wi = g_strdup_printf ("%s%d.DenseReluDense.wi", p, mlp);
      g_autofree char *wi0 = g_strdup_printf ("%s%d.DenseReluDense.wi_0", p, mlp);
      g_autofree char *wi1 = g_strdup_printf ("%s%d.DenseReluDense.wi_1", p, mlp);
      g_autofree char *wo = g_strdup_printf ("%s%d.DenseReluDense.wo", p, mlp);
      L->attn_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%s0.layer_norm.weight", p);
      load_t5_attention (l, self, &L->q, &L->k, &L->v, &L->o);
      if (decoder)
        {
          L->cross_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%s1.layer_norm.weight", p);
          load_t5_attention (l, cross, &L->cq, &L->ck, &L->cv, &L->co);
        }
      L->mlp_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%s%d.layer_norm.weight", p, mlp);
      if (c->gated_mlp)
        {
          L->gate = _attnviz_loader_linear (l, wi0, d, ff, FALSE);
          L->up = _attnviz_loader_linear (l, wi1, d, ff, FALSE);
        }
      else
        L->up = _attnviz_loader_linear (l, wi, d, ff, FALSE);
      L->down = _attnviz_loader_linear (l, wo, ff, d, FALSE);
    }
  *rel_bias = _attnviz_loader_get (l, c->rel_buckets, c->n_head, FALSE,
                          "%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight", stack);
  *final_norm = _attnviz_loader_get (l, d, 0, FALSE, "%s.final_layer_norm.weight", stack);
}

void
_attnviz_model_load_t5 (Loader *l)
{
  AttnvizModel *m = l->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;

  m->tok_emb = _attnviz_loader_matrix_names (l, NAMES ("shared.weight", "encoder.embed_tokens.weight"), c->vocab_size, d,
                                    FALSE);
  m->enc_layers = g_new0 (AttnvizLayerWeights, c->n_enc_layer);
  load_t5_stack (l, "encoder", m->enc_layers, c->n_enc_layer, &m->enc_rel_bias, &m->enc_final_norm_w);
  load_t5_stack (l, "decoder", m->layers, c->n_layer, &m->rel_bias, &m->final_norm_w);
  AttnvizMatrix head = _attnviz_loader_matrix (l, c->vocab_size, d, c->tied_embeddings, "lm_head.weight");
  m->lm_head = _attnviz_linear_out_in (head.data && !c->tied_embeddings ? head : m->tok_emb, NULL, d,
                                       c->vocab_size);
}

static void
load_bart_attention (Loader *l, const char *prefix, AttnvizLinear *q, AttnvizLinear *k, AttnvizLinear *v,
                     AttnvizLinear *o)
{
  int d = l->model->config.d_model, dq = l->model->config.n_head * l->model->config.head_dim;
  g_autofree char *nq = g_strconcat (prefix, ".q_proj", NULL);
  g_autofree char *nk = g_strconcat (prefix, ".k_proj", NULL);
  g_autofree char *nv = g_strconcat (prefix, ".v_proj", NULL);
  g_autofree char *no = g_strconcat (prefix, ".out_proj", NULL);
  *q = _attnviz_loader_linear (l, nq, d, dq, TRUE);
  *k = _attnviz_loader_linear (l, nk, d, dq, TRUE);
  *v = _attnviz_loader_linear (l, nv, d, dq, TRUE);
  *o = _attnviz_loader_linear (l, no, dq, d, TRUE);
}

/* One stack of BART or Marian: "model.encoder" or "model.decoder" (with cross-attention). */
static void
load_bart_stack (Loader *l, const char *stack, AttnvizLayerWeights *layers, int n_layers, AttnvizMatrix *pos,
                 const float **norm_w, const float **norm_b)
{
  const AttnvizConfig *c = &l->model->config;
  int d = c->d_model, ff = c->d_ff;
  gboolean decoder = g_str_has_suffix (stack, "decoder");
  /* Marian: sinusoids (a table HF may have saved is not read) and no embedding norm */
  if (c->pos == ATTNVIZ_POS_LEARNED)
    *pos = _attnviz_loader_matrix (l, c->n_ctx + c->pos_offset, d, FALSE, "%s.embed_positions.weight", stack);
  if (c->embedding_norm)
    {
      *norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%s.layernorm_embedding.weight", stack);
      *norm_b = _attnviz_loader_get (l, d, 0, FALSE, "%s.layernorm_embedding.bias", stack);
    }
  for (int i = 0; i < n_layers && !l->failed; i++)
    {
      AttnvizLayerWeights *L = &layers[i];
      g_autofree char *p = g_strdup_printf ("%s.layers.%d.", stack, i);
      g_autofree char *self = g_strconcat (p, "self_attn", NULL);
      g_autofree char *cross = g_strconcat (p, "encoder_attn", NULL);
      g_autofree char *fc1 = g_strconcat (p, "fc1", NULL);
      g_autofree char *fc2 = g_strconcat (p, "fc2", NULL);
      load_bart_attention (l, self, &L->q, &L->k, &L->v, &L->o);
      L->attn_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%sself_attn_layer_norm.weight", p);
      L->attn_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "%sself_attn_layer_norm.bias", p);
      if (decoder)
        {
          load_bart_attention (l, cross, &L->cq, &L->ck, &L->cv, &L->co);
          L->cross_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%sencoder_attn_layer_norm.weight", p);
          L->cross_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "%sencoder_attn_layer_norm.bias", p);
        }
      L->up = _attnviz_loader_linear (l, fc1, d, ff, TRUE);
      L->down = _attnviz_loader_linear (l, fc2, ff, d, TRUE);
      L->mlp_norm_w = _attnviz_loader_get (l, d, 0, FALSE, "%sfinal_layer_norm.weight", p);
      L->mlp_norm_b = _attnviz_loader_get (l, d, 0, FALSE, "%sfinal_layer_norm.bias", p);
    }
}

/* BART, and Marian (the same tensors but for positions and embedding norms) */
void
_attnviz_model_load_bart (Loader *l)
{
  AttnvizModel *m = l->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;

  m->tok_emb = _attnviz_loader_matrix_names (l, NAMES ("model.shared.weight", "model.encoder.embed_tokens.weight"),
                                             c->vocab_size, d, FALSE);
  m->enc_layers = g_new0 (AttnvizLayerWeights, c->n_enc_layer);
  load_bart_stack (l, "model.encoder", m->enc_layers, c->n_enc_layer, &m->enc_pos_emb, &m->enc_emb_norm_w,
                   &m->enc_emb_norm_b);
  load_bart_stack (l, "model.decoder", m->layers, c->n_layer, &m->pos_emb, &m->emb_norm_w, &m->emb_norm_b);
  const float *bias = _attnviz_loader_get (l, 1, c->vocab_size, TRUE, "final_logits_bias");
  AttnvizMatrix head = _attnviz_loader_matrix (l, c->vocab_size, d, c->tied_embeddings, "lm_head.weight");
  m->lm_head = _attnviz_linear_out_in (head.data && !c->tied_embeddings ? head : m->tok_emb, bias, d, c->vocab_size);
}
