/* attnviz-model.h: a transformer's weights, in one generic layout
 *
 * Every family is loaded into the same AttnvizModel; the forward pass reads
 * nothing but AttnvizConfig and these pointers.  F32 tensors point straight
 * into the mapped safetensors file (no copy); F16/BF16 tensors are converted
 * into one owned allocation.
 */
#pragma once

#include <glib.h>

#include "attnviz-config.h"
#include "attnviz-safetensors.h"
#include "attnviz-tokenizer.h"

G_BEGIN_DECLS

/* y = x W^T + b for Hugging Face nn.Linear weights stored (n_out, n_in),
 * or y = x W + b for GPT-2 Conv1D weights stored (n_in, n_out).  LD is the
 * row stride of the stored matrix (GPT-2's fused c_attn is read as three
 * column blocks of one (d, 3d) matrix). */
typedef struct {
  const float *w;
  const float *b;        /* (n_out) or NULL */
  int n_in;
  int n_out;
  int ld;
  gboolean in_out;       /* TRUE: stored (n_in, n_out) */
} AttnvizLinear;

typedef struct {
  const float *attn_norm_w;  /* (d_model); pre-LN: before attention; post-LN: after it */
  const float *attn_norm_b;  /* (d_model) or NULL */
  AttnvizLinear q;           /* d_model -> n_head * head_dim */
  AttnvizLinear k;           /* d_model -> n_kv_head * head_dim */
  AttnvizLinear v;           /* d_model -> n_kv_head * head_dim */
  AttnvizLinear o;           /* n_head * head_dim -> d_model */
  const float *mlp_norm_w;   /* (d_model) */
  const float *mlp_norm_b;
  AttnvizLinear up;          /* d_model -> d_ff */
  AttnvizLinear gate;        /* d_model -> d_ff, gated MLPs only */
  AttnvizLinear down;        /* d_ff -> d_model */
  const float *score_v;      /* (n_head, head_dim) additive scoring only */

  /* decoder layers of encoder-decoder models: cross-attention to the
   * encoder output, between self-attention and the MLP */
  const float *cross_norm_w; /* (d_model) */
  const float *cross_norm_b;
  AttnvizLinear cq;          /* d_model -> n_head * head_dim, from the decoder */
  AttnvizLinear ck;          /* d_model -> n_head * head_dim, from the encoder output */
  AttnvizLinear cv;
  AttnvizLinear co;          /* n_head * head_dim -> d_model */
  const float *cross_score_v; /* (n_head, head_dim) additive scoring only */
} AttnvizLayerWeights;

typedef struct {
  AttnvizConfig config;
  char *path;                /* what the user opened */
  char *dir;                 /* the folder holding config.json */
  char *weights_path;        /* the safetensors file or index */
  AttnvizDtype dtype;        /* of the weight matrices as stored */

  const float *tok_emb;      /* (vocab_size, d_model) */
  const float *pos_emb;      /* (n_ctx, d_model), learned positions only */
  const float *type_emb;     /* (n_token_types, d_model), BERT */
  const float *emb_norm_w;   /* (d_model), BERT */
  const float *emb_norm_b;
  AttnvizLayerWeights *layers; /* (n_layer) the decoder's, for encoder-decoder models */
  AttnvizLayerWeights *enc_layers; /* (n_enc_layer) encoder-decoder only */
  const float *enc_final_norm_w;   /* (d_model) encoder-decoder only */
  const float *enc_final_norm_b;
  const float *final_norm_w; /* (d_model) */
  const float *final_norm_b;
  AttnvizLinear mlm_dense;   /* BERT MLM transform: d_model -> d_model */
  const float *mlm_norm_w;
  const float *mlm_norm_b;
  AttnvizLinear lm_head;     /* d_model -> vocab_size; w == NULL without a head */

  AttnvizTokenizer *tokenizer; /* NULL when the folder has none */
  char *tokenizer_error;       /* why it is NULL */

  /* private */
  AttnvizSafetensors *st;
  GPtrArray *owned;          /* converted and generated tensors (g_free) */
} AttnvizModel;

/* Opens a model: a folder with config.json and model.safetensors (or a
 * sharded model.safetensors.index.json), or a .safetensors file with its
 * config.json beside it.  Every tensor the description needs is checked for
 * presence, shape, dtype and finite values; errors name the file, the
 * tensor and what was expected.  A missing tokenizer is not an error here
 * (the model can still run on ids): see tokenizer_error. */
AttnvizModel *attnviz_model_load (const char *path, GError **error);

/* A model with the given description and random weights (normal, std
 * 0.02, LayerNorm weights 1), for benchmarks and tests.  No tokenizer. */
AttnvizModel *attnviz_model_new_random (const AttnvizConfig *config, guint64 seed);

void attnviz_model_free (AttnvizModel *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizModel, attnviz_model_free)

G_END_DECLS
