/* attnviz-model-private.h: what attnviz-model.c and attnviz-model-gguf.c share */
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

/* A name from a file, made fit for a one-line message (control characters
 * and quotes escaped, UTF-8 kept). */
char *_attnviz_model_quote (const char *name);

G_END_DECLS
