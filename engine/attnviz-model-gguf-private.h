/* attnviz-model-gguf-private.h: what the GGUF loaders share
 *
 * attnviz-model-gguf.c reads the decoder-only and encoder architectures
 * (llama, qwen2, gpt2, bert) and owns the checks of every tensor;
 * attnviz-model-gguf-t5.c reads llama.cpp's encoder-decoder `t5` with the
 * same checks.  The first failure is kept in the loader's error and every
 * later call returns at once, so a loader reads straight on and looks at
 * `failed` once at the end.
 */
#pragma once

#include "attnviz-model-private.h"

G_BEGIN_DECLS

typedef enum { ARCH_LLAMA, ARCH_QWEN2, ARCH_GPT2, ARCH_BERT, ARCH_T5 } Arch;

typedef struct {
  AttnvizModel *m;
  const AttnvizGguf *g;
  const char *file;
  const char *arch;   /* general.architecture */
  GError **error;
  gboolean failed;
} Loader;

/* Sets the loader's error to "FILE: message" unless it already failed. */
void _attnviz_gguf_loader_fail (Loader *l, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* ARCH.SUFFIX as an integer in [LO, HI]; FALLBACK when absent (G_MININT:
 * required). */
int _attnviz_gguf_loader_int (Loader *l, const char *suffix, int fallback, int lo, int hi);
/* ARCH.SUFFIX as a number; FALLBACK when absent. */
double _attnviz_gguf_loader_float (Loader *l, const char *suffix, double fallback);
/* tokenizer.ggml.NAME_token_id, -1 when absent or 0xffffffff. */
int _attnviz_gguf_loader_token_id (Loader *l, const char *name, int vocab_size);
/* general.file_type's name, or the type most bytes are in. */
char *_attnviz_gguf_loader_file_type (Loader *l);

/* NAME checked to be (ne0) or, with NE1 > 0, (ne0, ne1) in ggml order, of a
 * type attnviz reads.  NULL when absent and OPTIONAL. */
const AttnvizGgufTensor *_attnviz_gguf_loader_tensor (Loader *l, gboolean optional, gint64 ne0, gint64 ne1,
                                                      const char *name);
/* A vector of N values as float32 (in place or converted), all finite. */
const float *_attnviz_gguf_loader_vector (Loader *l, gboolean optional, gint64 n, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);
/* A matrix of ROWS rows of COLS values, in place in its stored type. */
AttnvizMatrix _attnviz_gguf_loader_matrix (Loader *l, gboolean optional, gint64 cols, gint64 rows,
                                           const char *fmt, ...) G_GNUC_PRINTF (5, 6);
/* NAME.weight (n_out rows of n_in) and, with BIAS, NAME.bias (n_out). */
AttnvizLinear _attnviz_gguf_loader_linear (Loader *l, int n_in, int n_out, gboolean bias, const char *name);

/* attnviz-model-gguf-t5.c: the description (t5.*) and every tensor of a
 * `t5` file into L->m. */
gboolean _attnviz_gguf_load_t5 (Loader *l);

G_END_DECLS
