/* attnviz-convert.h: write an opened model as a GGUF file llama.cpp loads
 *
 * The source is any AttnvizModel of a family llama.cpp has an architecture
 * for: a Hugging Face LLaMA, Qwen2, GPT-2 or BERT folder, or a GGUF file
 * (llama, qwen2, gpt2, bert).  attnviz's own trained models are refused.
 * The output is GGUF v3 with llama.cpp's tensor names and metadata for the
 * architecture, every 2-D weight matrix in the chosen type and every
 * vector in F32, written tensor by tensor (attnviz-convert.c says which
 * tensor takes which type, and why).
 */
#pragma once

#include <glib.h>

#include "attnviz-model.h"
#include "attnviz-quant.h"

G_BEGIN_DECLS

/* Called after each tensor with the fraction of the output bytes written
 * and the name of the tensor being converted. */
typedef void (*AttnvizConvertProgressFunc) (double fraction, const char *tensor, gpointer user_data);
/* One line about a choice the conversion made (a fallback type, a part of
 * the model GGUF has no place for), at most once per kind. */
typedef void (*AttnvizConvertNoteFunc) (const char *note, gpointer user_data);

typedef struct {
  AttnvizWeightType type;   /* of the weight matrices: F32, F16, BF16, Q8_0, Q4_0 or Q4_K */
  int n_threads;            /* threads quantizing rows; 0: the cores */
  AttnvizConvertProgressFunc progress;
  AttnvizConvertNoteFunc note;
  gpointer user_data;       /* for both */
} AttnvizConvertOptions;

typedef struct {
  guint64 file_bytes;       /* of the written file */
  guint n_tensors;
  guint32 file_type;        /* general.file_type written (llama_ftype) */
  double seconds;
} AttnvizConvertResult;

/* "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k" (any case) into *TYPE. */
gboolean attnviz_convert_parse_type (const char *name, AttnvizWeightType *type);

/* llama.cpp's llama_ftype for a file whose matrices are mostly TYPE: F32 0,
 * F16 1, Q4_0 2, Q8_0 7, Q4_K 14 (LLAMA_FTYPE_MOSTLY_Q4_K_S: "mostly
 * Q4_K", the name llama.cpp gives such a file), BF16 32. */
guint32 attnviz_convert_file_type (AttnvizWeightType type);

/* Writes MODEL to PATH (atomically: a failure leaves no file).  Errors:
 * G_IO_ERROR_NOT_SUPPORTED for a model llama.cpp has no architecture for
 * (one line naming the model), or for a tokenizer GGUF cannot express;
 * write errors name PATH. */
gboolean attnviz_convert_model (const AttnvizModel *model,
                                const char *path,
                                const AttnvizConvertOptions *options,
                                AttnvizConvertResult *result,
                                GError **error);

G_END_DECLS
