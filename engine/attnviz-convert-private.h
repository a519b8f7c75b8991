/* attnviz-convert-private.h: what the converter's files share
 *
 *   attnviz-convert.c       what is written and in which type; notes,
 *                           planning, GGUF sources, the whole file
 *   attnviz-convert-hf.c    a Hugging Face model's tensors and keys
 *   attnviz-convert-rows.c  rows converted on threads, the range scan
 */
#pragma once

#include <glib.h>

#include "attnviz-convert.h"
#include "attnviz-forward.h"
#include "attnviz-gguf.h"

G_BEGIN_DECLS

typedef struct _Converter Converter;

/* One output tensor and where its values come from. */
typedef struct {
  Converter *cv;
  char *name;
  int n_dims;
  gint64 ne[ATTNVIZ_GGUF_MAX_DIMS]; /* output shape, ggml order */
  gint64 rows, cols;         /* output rows of COLS values */
  AttnvizWeightType type;    /* output type */
  gsize row_bytes;           /* of an output row */
  gsize n_bytes;

  /* the source: ROWS x COLS of it make the output, after the reordering */
  AttnvizMatrix src;         /* (src.rows, src.cols) as stored */
  guint32 src_type;          /* the stored type id (may be one attnviz cannot read) */
  gboolean transpose;        /* output row r = source column r (GPT-2 Conv1D) */
  int perm_heads;            /* > 0: LLaMA Q/K, halves -> pairs over this many heads */
  gboolean copy;             /* the source bytes are the output as they are */
  gboolean lm_head;
} Plan;

struct _Converter {
  const AttnvizModel *model;
  const AttnvizConvertOptions *opts;
  int n_threads;
  const char *arch;
  GPtrArray *plans;          /* Plan*, in file order; owned by the writer once added */
  GPtrArray *owned;          /* buffers the plans point into (permuted biases) */
  GHashTable *notes;         /* note text -> GPtrArray of tensor names */
  GPtrArray *note_order;     /* note texts in the order first seen */
  guint64 total_bytes;
  guint64 done_bytes;
  gboolean failed;
  GError *error;
};

/* ---- attnviz-convert.c ---- */

void _attnviz_converter_fail (Converter *cv, GQuark domain, int code, const char *fmt, ...) G_GNUC_PRINTF (4, 5);
/* Records that TENSOR took the choice NOTE; printed once per NOTE. */
void _attnviz_converter_add_note (Converter *cv, const char *note, const char *tensor);
/* The largest magnitude TYPE stores without an f16 (scale) overflow. */
double _attnviz_convert_type_limit (AttnvizWeightType type);
void _attnviz_convert_plan_matrix (Converter *cv, const char *name, const AttnvizMatrix *m, gboolean transpose,
                                   int perm_heads, gboolean lm_head);
void _attnviz_convert_plan_vector (Converter *cv, const char *name, const float *v, gint64 n, int perm_heads);
void _attnviz_convert_plan_linear (Converter *cv, const char *prefix, const AttnvizLinear *lin, int perm_heads);

/* ---- attnviz-convert-hf.c ---- */

void _attnviz_convert_plan_llama (Converter *cv, gboolean qwen2);
void _attnviz_convert_plan_gpt2 (Converter *cv);
void _attnviz_convert_plan_bert (Converter *cv);
/* The GGUF architecture a Hugging Face model becomes, or NULL with an error. */
const char *_attnviz_convert_hf_architecture (Converter *cv);
void _attnviz_convert_write_hf_metadata (Converter *cv, AttnvizGgufWriter *w, const char *arch);

/* ---- attnviz-convert-rows.c ---- */

/* The source row that becomes output row R (LLaMA's Q/K permutation). */
gint64 _attnviz_convert_source_index (const Plan *p, gint64 r);
/* The writer's callback: the bytes of one tensor (a Plan) when it reaches it. */
const void *_attnviz_convert_produce_tensor (gpointer data, GDestroyNotify *destroy, GError **error);
void _attnviz_convert_scan_ranges (Converter *cv);

G_END_DECLS
