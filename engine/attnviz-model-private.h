/* attnviz-model-private.h: what attnviz-model.c (folders),
 * attnviz-model-gguf.c (GGUF) and attnviz-model-new.c (lifetime, random
 * weights) share */
#pragma once

#include "attnviz-model.h"

G_BEGIN_DECLS

/* An empty model: owned list ready, everything else zero. */
AttnvizModel *_attnviz_model_new (void);

/* Fills M (whose path is set) from the GGUF file at M->path: config,
 * weights kept in their stored types, tokenizer. */
gboolean _attnviz_model_load_gguf (AttnvizModel *m, GError **error);

/* A model over GGUF, an open file it takes (freed with the model, or at
 * once on an error); for the fuzz harness, which opens bytes in memory. */
AttnvizModel *_attnviz_model_new_from_gguf (AttnvizGguf *gguf, GError **error);

/* A Hugging Face folder's tensors being read (attnviz-model.c): the first
 * failure is kept in ERROR and ends the load. */
typedef struct {
  AttnvizModel *model;
  const char *prefix;
  GError **error;
  gboolean failed;
} AttnvizHfLoader;

#define NAMES(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* A vector or small table of any floating dtype as float32, its shape (D0)
 * or (D0, D1) checked, every value finite; NULL when absent and OPTIONAL
 * (else an error naming the file, the tensor and the shape wanted). */
const float *_attnviz_loader_get_names (AttnvizHfLoader *l, const char *const *names, gint64 d0, gint64 d1, gboolean optional);
/* A (D0, D1) matrix kept in its stored type. */
AttnvizMatrix _attnviz_loader_matrix_names (AttnvizHfLoader *l, const char *const *names, gint64 d0, gint64 d1,
                                            gboolean optional);
/* The same under one formatted name. */
const float *_attnviz_loader_get (AttnvizHfLoader *l, gint64 d0, gint64 d1, gboolean optional, const char *fmt, ...)
  G_GNUC_PRINTF (5, 6);
AttnvizMatrix _attnviz_loader_matrix (AttnvizHfLoader *l, gint64 d0, gint64 d1, gboolean optional, const char *fmt, ...)
  G_GNUC_PRINTF (5, 6);
/* nn.Linear "NAME.weight" (out, in) and, with BIAS, "NAME.bias" (out). */
AttnvizLinear _attnviz_loader_linear (AttnvizHfLoader *l, const char *name, int n_in, int n_out, gboolean bias);

/* LayerNorm "BASE.weight" / "BASE.bias" (BIAS), or TensorFlow's
 * "BASE.gamma" / "BASE.beta", of D floats. */
const float *_attnviz_loader_norm (AttnvizHfLoader *l, const char *base, gboolean bias, int d);

/* The tensor names of a post-LN encoder layer, after its prefix. */
typedef struct {
  const char *q, *k, *v, *o; /* attention's linears */
  const char *attn_norm;     /* the LayerNorm after attention */
  const char *up, *down;     /* the feed-forward's linears */
  const char *mlp_norm;      /* the LayerNorm after the feed-forward */
} AttnvizPostLnNames;

/* A post-LN encoder layer's weights (BERT, RoBERTa, DistilBERT) into L:
 * PREFIX + each name, every linear and LayerNorm with its bias. */
void _attnviz_loader_post_ln_layer (AttnvizHfLoader *l, AttnvizLayerWeights *L, const char *prefix,
                                    const AttnvizPostLnNames *names, int d, int ff);

/* attnviz-model-encoder.c */
void _attnviz_model_load_roberta_head (AttnvizHfLoader *l);
void _attnviz_model_load_distilbert (AttnvizHfLoader *l);

/* attnviz-model-seq2seq.c */
void _attnviz_model_load_t5 (AttnvizHfLoader *l);
void _attnviz_model_load_bart (AttnvizHfLoader *l);

/* nn.Linear's (out, in) weight W and bias B (or NULL) as an AttnvizLinear. */
AttnvizLinear _attnviz_linear_out_in (AttnvizMatrix w, const float *b, int n_in, int n_out);

G_END_DECLS
