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

/* nn.Linear's (out, in) weight W and bias B (or NULL) as an AttnvizLinear. */
AttnvizLinear _attnviz_linear_out_in (AttnvizMatrix w, const float *b, int n_in, int n_out);

G_END_DECLS
