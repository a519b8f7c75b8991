/* attnviz-model.h: a transformer's weights, in one generic layout
 *
 * Every family, from a Hugging Face folder or a GGUF file, is loaded into
 * the same AttnvizModel; the forward pass reads nothing but AttnvizConfig
 * and these pointers.  Matrices (AttnvizMatrix, attnviz-matmul.h) stay in
 * the mapped file in their stored type, F32, F16, BF16 or a GGUF block
 * type, and are turned into float32 a panel at a time when a product needs
 * them; vectors (norms, biases) are float32, converted at load when stored
 * otherwise.
 */
#pragma once

#include <glib.h>

#include "attnviz-config.h"
#include "attnviz-gguf.h"
#include "attnviz-matmul.h"
#include "attnviz-safetensors.h"
#include "attnviz-tokenizer.h"

G_BEGIN_DECLS

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
  char *dir;                 /* the folder holding config.json, or the GGUF file's */
  char *weights_path;        /* the safetensors file or index, or the .gguf */
  gboolean gguf;             /* opened from a GGUF file */
  char *type_name;           /* how the weights are stored: "F32", "BF16", "Q4_K_M" (GGUF's
                              * general.file_type), "mixed" */
  guint64 weight_bytes;      /* bytes of every tensor as stored */

  AttnvizMatrix tok_emb;     /* (vocab_size, d_model) */
  AttnvizMatrix pos_emb;     /* (n_ctx, d_model), learned positions only; data NULL otherwise */
  AttnvizMatrix type_emb;    /* (n_token_types, d_model), BERT; data NULL otherwise */
  const float *emb_norm_w;   /* (d_model), BERT */
  const float *emb_norm_b;
  AttnvizLayerWeights *layers; /* (n_layer) the decoder's, for encoder-decoder models */
  AttnvizLayerWeights *enc_layers; /* (n_enc_layer) encoder-decoder only */
  const float *enc_final_norm_w;   /* (d_model) encoder-decoder only */
  const float *enc_final_norm_b;
  const float *rel_bias;     /* (rel_buckets, n_head) T5: the decoder's relative position bias,
                              * its first layer's, shared by every layer */
  const float *enc_rel_bias; /* (rel_buckets, n_head) the encoder's */
  AttnvizMatrix enc_pos_emb; /* (n_ctx + pos_offset, d_model) BART: the encoder's own positions
                              * (pos_emb is then the decoder's) */
  const float *enc_emb_norm_w; /* (d_model) BART: the encoder's layernorm_embedding */
  const float *enc_emb_norm_b;
  const float *final_norm_w; /* (d_model) */
  const float *final_norm_b;
  AttnvizLinear mlm_dense;   /* BERT MLM transform: d_model -> d_model */
  const float *mlm_norm_w;
  const float *mlm_norm_b;
  AttnvizLinear lm_head;     /* d_model -> vocab_size; w.data == NULL without a head */
  const float *rope_freq_factors; /* (rope_dims / 2) or NULL: RoPE frequency i is divided by
                                   * factor i (Llama 3's rope_freqs) */

  AttnvizTokenizer *tokenizer; /* NULL when the folder has none */
  char *tokenizer_error;       /* why it is NULL */

  /* private */
  AttnvizSafetensors *st;
  AttnvizGguf *gguf_file;
  GPtrArray *owned;          /* converted and generated tensors (g_free) */
} AttnvizModel;

/* Opens a model: a folder with config.json and model.safetensors (or a
 * sharded model.safetensors.index.json), a .safetensors file with its
 * config.json beside it, or a .gguf file (attnviz-model-gguf.c).  Every tensor the description needs is checked for
 * presence, shape, dtype and finite values; errors name the file, the
 * tensor and what was expected.  A missing tokenizer is not an error here
 * (the model can still run on ids): see tokenizer_error. */
AttnvizModel *attnviz_model_load (const char *path, GError **error);

/* A model with the given description and random weights (normal, std
 * 0.02, LayerNorm weights 1), for benchmarks and tests.  No tokenizer. */
AttnvizModel *attnviz_model_new_random (const AttnvizConfig *config, guint64 seed);

/* Models are reference counted: a recording that recomputes attention on
 * demand keeps its model (attnviz-attention.h).  attnviz_model_free ()
 * drops one reference, the model goes with the last. */
AttnvizModel *attnviz_model_ref (AttnvizModel *model);
void attnviz_model_free (AttnvizModel *model);

/* How the model is stored, for titles and `info`: the format, the weight
 * type and the parameter count, as "GGUF · Q4_K_M · 1.2 B" or
 * "safetensors · BF16 · 124 M". */
char *attnviz_model_describe_storage (const AttnvizModel *model);

/* A parameter count the way people say it: "1.2 B", "124 M", "260 K". */
char *attnviz_format_params (gint64 n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizModel, attnviz_model_free)

/* A short name for a model at PATH (a folder or a file): the folder or
 * file name, with its parent's for a generic "hf" or "model". */
char *attnviz_model_display_name (const char *path);

G_END_DECLS
