/* attnviz-config.h: one generic transformer description for every family
 *
 * GPT-2, BERT and the LLaMA family (LLaMA, Qwen2) differ in a handful of
 * choices: where the norm sits and what kind it is, the activation, how
 * positions enter, the attention shape and which projections carry biases.
 * config.json is read into this struct and the forward pass only ever looks
 * at these fields, never at the architecture name.
 */
#pragma once

#include <glib.h>

#include "attnviz-pattern.h"

G_BEGIN_DECLS

/* Sizes beyond these are refused, from any file: a hostile file must not
 * make attnviz allocate terabytes or overflow an int product. */
#define ATTNVIZ_CONFIG_MAX_DIM   (1 << 16)
#define ATTNVIZ_CONFIG_MAX_LAYER 1024
#define ATTNVIZ_CONFIG_MAX_HEAD  1024
#define ATTNVIZ_CONFIG_MAX_VOCAB (1 << 22)
#define ATTNVIZ_CONFIG_MAX_CTX   (1 << 20)

typedef enum {
  ATTNVIZ_FAMILY_GPT2,
  ATTNVIZ_FAMILY_BERT,
  ATTNVIZ_FAMILY_LLAMA,
  ATTNVIZ_FAMILY_ATTNVIZ,  /* trained by attnviz itself: AttnvizDecoder, AttnvizSeq2Seq */
  ATTNVIZ_FAMILY_T5,       /* T5ForConditionalGeneration (T5, Flan-T5) */
  ATTNVIZ_FAMILY_BART,     /* BartForConditionalGeneration */
  ATTNVIZ_FAMILY_MARIAN,   /* MarianMTModel (Helsinki-NLP opus-mt) */
  ATTNVIZ_FAMILY_ROBERTA,  /* RobertaModel, RobertaForMaskedLM */
  ATTNVIZ_FAMILY_DISTILBERT, /* DistilBertModel, DistilBertForMaskedLM */
} AttnvizFamily;

typedef enum {
  ATTNVIZ_NORM_LAYERNORM,  /* (x - mean) / sqrt(var + eps) * w + b */
  ATTNVIZ_NORM_RMSNORM,    /* x / sqrt(mean(x^2) + eps) * w */
} AttnvizNormKind;

typedef enum {
  ATTNVIZ_ACT_GELU_TANH,   /* GPT-2's "gelu_new" */
  ATTNVIZ_ACT_GELU_ERF,    /* BERT's "gelu" */
  ATTNVIZ_ACT_SILU,
  ATTNVIZ_ACT_RELU,
} AttnvizActivation;

typedef enum {
  ATTNVIZ_POS_NONE,
  ATTNVIZ_POS_LEARNED,     /* a (n_ctx, d_model) table added to the embeddings */
  ATTNVIZ_POS_SINUSOIDAL,  /* Vaswani et al. sin/cos added to the embeddings (interleaved,
                            * or in halves: sin_halves) */
  ATTNVIZ_POS_ROPE,        /* rotary, Hugging Face rotate-half order */
  ATTNVIZ_POS_RELATIVE,    /* T5: a learned bias per head and bucketed distance added to the
                            * scores (rel_buckets, rel_max_distance; attnviz_relative_bucket) */
} AttnvizPositionKind;

/* Which dimensions of a head RoPE rotates together.  The same weights give
 * the same attention either way once their Q/K rows are ordered to match:
 * llama.cpp's converter permutes LLaMA's rows so that GGUF `llama` rotates
 * adjacent pairs where the Hugging Face layout rotates halves. */
typedef enum {
  ATTNVIZ_ROPE_HALVES,     /* dimension i with i + n/2 (Hugging Face rotate-half, GPT-NeoX, Qwen2 GGUF) */
  ATTNVIZ_ROPE_PAIRS,      /* dimension 2i with 2i + 1 (GPT-J, llama.cpp's LLaMA) */
} AttnvizRopeStyle;

typedef enum {
  ATTNVIZ_SCORE_SCALED_DOT, /* q.k / sqrt(head_dim) */
  ATTNVIZ_SCORE_DOT,        /* q.k, unscaled */
  ATTNVIZ_SCORE_ADDITIVE,   /* Bahdanau: v_h . tanh(q + k), v_h (head_dim) learned per head */
  ATTNVIZ_SCORE_HYBRID,     /* additive in some heads (additive_layers, additive_heads), scaled dot elsewhere */
} AttnvizScoreKind;

typedef struct {
  char *architecture;      /* "GPT2LMHeadModel", "BertForMaskedLM", ... */
  char *model_type;        /* "gpt2", "bert", "llama", "qwen2" */
  AttnvizFamily family;

  int n_layer;
  int d_model;
  int n_head;
  int n_kv_head;           /* == n_head unless grouped-query attention */
  int head_dim;            /* usually d_model / n_head */
  int d_ff;                /* MLP hidden width */
  int vocab_size;
  int n_ctx;               /* longest sequence the positions allow */
  int n_token_types;       /* BERT segment embeddings, else 0 */

  float norm_eps;
  float rope_theta;
  AttnvizRopeStyle rope_style;
  int rope_dims;           /* dimensions of each head RoPE rotates (the first ones); 0: head_dim */
  float rope_scale;        /* linear RoPE scaling: positions divided by it (0 or 1: none) */
  gboolean rope_llama3;    /* Llama 3's scaling of the low frequencies (Hugging Face's "llama3") */
  float rope_llama3_factor, rope_llama3_low, rope_llama3_high;
  int rope_llama3_original;/* original_max_position_embeddings */

  AttnvizNormKind norm;
  gboolean pre_norm;       /* GPT-2/LLaMA: x + f(norm(x)); BERT: norm(x + f(x)) */
  gboolean embedding_norm; /* BERT normalises the summed embeddings */
  gboolean final_norm;     /* a norm after the last layer (GPT-2 ln_f, LLaMA norm) */
  AttnvizActivation act;
  gboolean gated_mlp;      /* SwiGLU: down(act(gate(x)) * up(x)) */
  AttnvizPositionKind pos;
  gboolean causal;

  gboolean qkv_bias;
  gboolean out_bias;       /* attention output projection */
  gboolean mlp_bias;
  gboolean tied_embeddings;
  gboolean has_lm_head;    /* FALSE for a bare BertModel: no logits */
  gboolean mlm_transform;  /* BERT: dense + act + LayerNorm before the decoder */
  gboolean mlm_gelu;       /* the transform's act is GELU (erf) whatever act is (RoBERTa's lm_head) */

  AttnvizScoreKind score;  /* compatibility function of every attention */
  /* ATTNVIZ_SCORE_HYBRID: which heads are additive.  Per layer: every
   * head of the layers whose bit is set; per head: heads [0, additive_heads)
   * of every layer.  Layer l of each stack (an encoder-decoder's encoder
   * and decoder, its self- and cross-attention alike). */
  guint64 additive_layers; /* bit l: layer l (layers < 64) */
  int additive_heads;      /* -1: half the heads (plain "hybrid"), resolved by attnviz_config_check_score */
  AttnvizPattern pattern;  /* the causal self-attention's sparse pattern (attnviz-pattern.h); dense: none */

  /* Encoder-decoder models (attnviz's own "AttnvizSeq2Seq"): n_layer is the
   * decoder's depth; every decoder layer also cross-attends to the encoder's
   * output.  The encoder is bidirectional and shares the token embedding. */
  gboolean encoder_decoder;
  int n_enc_layer;

  /* T5's relative position bias (pos == ATTNVIZ_POS_RELATIVE): buckets of
   * the distance j - i, bidirectional in the encoder, causal in the decoder */
  int rel_buckets;         /* relative_attention_num_buckets */
  int rel_max_distance;    /* relative_attention_max_distance */
  float head_scale;        /* the final hidden state times this before the LM head; 0: none
                            * (T5 with a tied head: d_model^-0.5) */
  int pos_offset;          /* learned positions: row pos + pos_offset of the table (BART: 2,
                            * RoBERTa: pad_token_id + 1); the table has n_ctx + pos_offset rows */
  gboolean sinusoidal_table; /* DistilBERT's sinusoidal_pos_embds: the learned table holds Vaswani's
                            * sinusoids (written at load when the folder has no table) */
  gboolean pad_positions;  /* RoBERTa: a pad token (pad_id) reads row pad_id and the tokens after
                            * it count their positions without it (create_position_ids_from_input_ids) */
  float emb_scale;         /* token embeddings times this; 0: none (BART's scale_embedding: sqrt d) */
  gboolean sin_halves;     /* the model's sinusoids: sin in the first d/2 dimensions, cos in the
                            * second (Marian), not sin/cos interleaved */

  int bos_id;              /* -1 when unknown; a seq2seq decoder's first token (T5's
                            * decoder_start_token_id) */
  int eos_id;
  int pad_id;
} AttnvizConfig;

/* Reads config.json at PATH.  Unknown architectures, missing or absurd
 * sizes are errors naming the file and the field. */
gboolean attnviz_config_load (AttnvizConfig *config, const char *path, GError **error);
/* The same from memory (the fuzz harness uses this). */
gboolean attnviz_config_parse (AttnvizConfig *config,
                               const char *data,
                               gsize len,
                               const char *filename,
                               GError **error);
void attnviz_config_clear (AttnvizConfig *config);

const char *attnviz_family_to_string (AttnvizFamily family);
const char *attnviz_position_kind_to_string (AttnvizPositionKind pos);
const char *attnviz_activation_to_string (AttnvizActivation act);
const char *attnviz_norm_kind_to_string (AttnvizNormKind norm);

/* The longest sequence the model can run at all: its context for learned
 * positions (a table of that many rows), else ATTNVIZ_CONFIG_MAX_CTX, since
 * RoPE, sinusoids and no positions extend past the length a model was
 * trained at (n_ctx), as llama.cpp lets them. */
int attnviz_config_max_positions (const AttnvizConfig *config);

/* GPT-2 (124M)'s shape: 12 layers of 12 heads of 64, d_model 768, d_ff
 * 3072, 50257 tokens, context 1024 (for benchmarks with random weights). */
void attnviz_config_init_gpt2_small (AttnvizConfig *config);

/* The score of head HEAD of layer LAYER (of any stack): additive or not. */
static inline gboolean
attnviz_config_head_additive (const AttnvizConfig *c, int layer, int head)
{
  if (c->score == ATTNVIZ_SCORE_ADDITIVE)
    return TRUE;
  if (c->score != ATTNVIZ_SCORE_HYBRID)
    return FALSE;
  return (layer < 64 && (c->additive_layers >> layer) & 1) || head < c->additive_heads;
}

/* Whether the model's attention blocks carry score_v: additive or hybrid. */
static inline gboolean
attnviz_config_has_score_v (const AttnvizConfig *c)
{
  return c->score == ATTNVIZ_SCORE_ADDITIVE || c->score == ATTNVIZ_SCORE_HYBRID;
}

/* attnviz-config-score.c: the compatibility function as `train --score`
 * and config.json spell it: "scaled_dot" (or "scaled-dot", "scaled"),
 * "dot", "additive", "hybrid" (half the heads of each layer additive),
 * "hybrid:heads=K" (the first K heads of each layer additive) or
 * "hybrid:additive=L1,L2,..." (every head of the listed layers additive,
 * scaled dot elsewhere).  Sets score, additive_layers and additive_heads. */
gboolean attnviz_config_parse_score (AttnvizConfig *config, const char *s, GError **error);
/* The canonical spelling of the config's score. */
char *attnviz_config_score_to_string (const AttnvizConfig *config);
/* Checks a hybrid score against the sizes (heads exist, layers exist,
 * at least one head additive), resolving plain "hybrid" to half the heads. */
gboolean attnviz_config_check_score (AttnvizConfig *config, GError **error);
/* "additive heads 0-1 of every layer", "additive layers 0, 2", or NULL
 * when the model is not hybrid: for captions. */
char *attnviz_config_describe_hybrid (const AttnvizConfig *config);
/* (rows, n_head), rows the deeper stack's layers (an encoder-decoder's
 * encoder may have more): 1 where head h of layer l scores additively, for
 * recordings, tables and dumps; NULL when no head does. */
guint8 *attnviz_config_additive_mask (const AttnvizConfig *config);

/* Number of parameters the description implies. */
gint64 attnviz_config_n_params (const AttnvizConfig *config);

G_END_DECLS
