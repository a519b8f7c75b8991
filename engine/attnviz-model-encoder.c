/* attnviz-model-encoder.c: the tensors of the encoders beside BERT
 *
 * Tensor names (Hugging Face transformers), all nn.Linear (out, in):
 *   RoBERTa ("roberta." or "" prefix): BERT's (attnviz-model.c), with
 *     embeddings.position_embeddings.weight (max_position_embeddings, d):
 *       position p is row p + pad_token_id + 1
 *     embeddings.token_type_embeddings.weight (type_vocab_size, d)
 *     and, RobertaForMaskedLM, outside the prefix:
 *     lm_head.dense.{weight (d, d), bias}, lm_head.layer_norm.{weight,bias} (d),
 *     lm_head.decoder.weight (V, d), optional: tied to the word embeddings,
 *     lm_head.bias (V) (or lm_head.decoder.bias, the same tensor)
 *   DistilBERT ("distilbert." or "" prefix):
 *     embeddings.word_embeddings.weight (V, d)
 *     embeddings.position_embeddings.weight (max_position_embeddings, d);
 *       with sinusoidal_pos_embds, when absent, the sinusoids
 *       modeling_distilbert's create_sinusoidal_embeddings writes
 *     embeddings.LayerNorm.{weight,bias} (d)
 *     transformer.layer.L.attention.{q_lin,k_lin,v_lin,out_lin}.{weight (d, d), bias (d)}
 *     transformer.layer.L.sa_layer_norm.{weight,bias}
 *     transformer.layer.L.ffn.lin1.{weight (hidden_dim, d), bias}, ffn.lin2.{weight (d, hidden_dim), bias}
 *     transformer.layer.L.output_layer_norm.{weight,bias}
 *     and, DistilBertForMaskedLM, outside the prefix:
 *     vocab_transform.{weight (d, d), bias}, vocab_layer_norm.{weight,bias},
 *     vocab_projector.weight (V, d), optional: tied, vocab_projector.bias (V)
 *   Each layer of both (post-norm, as BERT's): x = norm (x + attn (x));
 *   x = norm (x + lin2 (act (lin1 (x)))).  The MLM head: norm (act (dense (x)))
 *   through the decoder.
 */
#define G_LOG_DOMAIN "attnviz-model"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-model-private.h"

typedef AttnvizHfLoader Loader;

/* An MLM head outside the prefix: the transform DENSE and NORM, the
 * decoder's weight DECODER (tied to the word embeddings when absent and the
 * config ties them) and its bias, the first of BIASES. */
static void
load_mlm_head (Loader *l, const char *dense, const char *norm, const char *decoder, const char *const *biases)
{
  AttnvizModel *m = l->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model;
  const char *prefix = l->prefix;
  l->prefix = "";
  m->mlm_dense = _attnviz_loader_linear (l, dense, d, d, TRUE);
  m->mlm_norm_w = _attnviz_loader_norm (l, norm, FALSE, d);
  m->mlm_norm_b = _attnviz_loader_norm (l, norm, TRUE, d);
  AttnvizMatrix head = _attnviz_loader_matrix (l, c->vocab_size, d, c->tied_embeddings, "%s.weight", decoder);
  const float *bias = _attnviz_loader_get_names (l, biases, c->vocab_size, 0, FALSE);
  l->prefix = prefix;
  m->lm_head = _attnviz_linear_out_in (head.data ? head : m->tok_emb, bias, d, c->vocab_size);
}

void
_attnviz_model_load_roberta_head (Loader *l)
{
  load_mlm_head (l, "lm_head.dense", "lm_head.layer_norm", "lm_head.decoder",
                 NAMES ("lm_head.bias", "lm_head.decoder.bias"));
}

/* modeling_distilbert's _create_sinusoidal_embeddings: row p, column j is
 * sin (p / 10000^(2 (j / 2) / d)) for even j, cos for odd, computed in
 * double and stored as float32.  (n_ctx, d) */
static AttnvizMatrix
sinusoid_table (AttnvizModel *m, int n_ctx, int d)
{
  float *t = g_new (float, (gsize) n_ctx * d);
  g_ptr_array_add (m->owned, t);
  for (int p = 0; p < n_ctx; p++)
    for (int j = 0; j < d; j++)
      {
        double angle = p / pow (10000.0, 2.0 * (j / 2) / d);
        t[(gsize) p * d + j] = (float) (j % 2 == 0 ? sin (angle) : cos (angle));
      }
  return attnviz_matrix_f32 (t, n_ctx, d, d);
}

void
_attnviz_model_load_distilbert (Loader *l)
{
  AttnvizModel *m = l->model;
  const AttnvizConfig *c = &m->config;
  int d = c->d_model, ff = c->d_ff;

  m->tok_emb = _attnviz_loader_matrix (l, c->vocab_size, d, FALSE, "embeddings.word_embeddings.weight");
  m->pos_emb = _attnviz_loader_matrix (l, c->n_ctx, d, c->sinusoidal_table, "embeddings.position_embeddings.weight");
  if (!l->failed && m->pos_emb.data == NULL)
    m->pos_emb = sinusoid_table (m, c->n_ctx, d);
  m->emb_norm_w = _attnviz_loader_norm (l, "embeddings.LayerNorm", FALSE, d);
  m->emb_norm_b = _attnviz_loader_norm (l, "embeddings.LayerNorm", TRUE, d);
  for (int i = 0; i < c->n_layer && !l->failed; i++)
    {
      AttnvizLayerWeights *L = &m->layers[i];
      g_autofree char *p = g_strdup_printf ("transformer.layer.%d.", i);
      static const AttnvizPostLnNames names = {
        "attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
        "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm",
      };
      _attnviz_loader_post_ln_layer (l, L, p, &names, d, ff);
    }
  if (c->has_lm_head && !l->failed)
    load_mlm_head (l, "vocab_transform", "vocab_layer_norm", "vocab_projector", NAMES ("vocab_projector.bias"));
}
