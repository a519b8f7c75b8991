/* attnviz-dump-private.h: what the files of a dump share: the plan, the
 * arrays laid out from it and the dump itself
 *
 * attnviz-dump.c opens, finishes and frees a dump; attnviz-dump-plan.c
 * plans it and lays out its arrays; attnviz-dump-arrays.c writes the
 * arrays (npy or safetensors), the attention head by head;
 * attnviz-dump-json.c builds the metadata and writes the json format.
 */
#pragma once

#include "attnviz-dump.h"
#include "attnviz-npy.h"
#include "attnviz-safetensors.h"
#include "attnviz-fileutil.h"

G_BEGIN_DECLS

/* ---- what a run records, known before it starts ---- */

typedef struct {
  int T, S;                 /* S > 0: an encoder-decoder run */
  int n_layer, n_head, n_enc_layer;
  int *rec_layers;          /* (n_rec_layers) */
  int n_rec_layers;
  int *rec_heads;           /* (n_rec_heads) */
  int n_rec_heads;
  int vocab_size;           /* 0: no output layer, no logits */
  int top_k;
  int lens_layers;          /* n_layer with the logit lens, else 0 */
  gboolean causal;          /* the model's own; the metadata takes the run's */
  char *score;              /* the model's score as config.json spells it; NULL: not known (a saved run) */
  guint8 *additive;         /* (rows >= n_layer, n_head) 1 where a hybrid model's head scores additively; NULL: not hybrid */
  char *mask;               /* a sparse model's own pattern ("window:4+global:2"); NULL: dense, or not known */
  const gint32 *ids;        /* (T) the caller's, for the metadata before the run */
  const gint32 *src_ids;    /* (S) */
} Plan;

/* A stack of attention and what of it is written. */
typedef enum {
  STACK_SELF,
  STACK_ENCODER,
  STACK_CROSS,
} StackKind;

typedef struct {
  StackKind kind;
  const char *name;         /* the array's name, and the prefix of the pooled ones */
  int n_layers, n_heads;
  const int *layers;        /* (n_layers) model indices */
  const int *heads;         /* (n_heads) */
  int n_rows, n_cols;       /* of a head */
  int r0, r1;               /* the query rows written, [r0, r1) */
  int bins_r, bins_c;       /* pooled: the bins */
} Stack;

typedef enum {
  ARRAY_LOGITS,
  ARRAY_ATTENTION,
  ARRAY_POOLED_MEAN,
  ARRAY_POOLED_MAX,
  ARRAY_INPUT_IDS,
  ARRAY_TOKEN_SPANS,
  ARRAY_LOSS,
  ARRAY_TOPK_IDS,
  ARRAY_TOPK_PROBS,
  ARRAY_NEXT_PROB,
  ARRAY_LENS_IDS,
  ARRAY_LENS_PROBS,
  ARRAY_LOGITS_LAST,
  ARRAY_LAYERS,
  ARRAY_HEADS,
  ARRAY_SOURCE_IDS,
  ARRAY_SOURCE_SPANS,
  ARRAY_VALUE_WEIGHTED,
  ARRAY_ROLLOUT,
  ARRAY_FLOW,
} ArrayKind;

typedef struct {
  char *name;
  ArrayKind kind;
  int stack;                /* index into stacks, for the attention arrays */
  AttnvizDtype dtype;       /* F32 or I32 */
  int n_dims;
  gint64 shape[4];
  AttnvizNpyWriter *npy;    /* npy: while it is being written */
} Array;

struct _AttnvizDump {
  char *path;
  AttnvizDumpOptions opt;
  const AttnvizDumpInfo *info;
  Plan plan;
  Stack stacks[3];
  int n_stacks;
  GArray *arrays;           /* of Array, in the order of the data */
  int *all_layers, *all_enc_layers, *all_heads;

  AttnvizAtomicDir *dir;          /* npy */
  AttnvizSafetensorsWriter *st;   /* safetensors */
  int logits_rows;                /* rows of logits written so far */
  gboolean failed;                /* a write during the run failed */
  GPtrArray *files;               /* name, contents, name, ...: attnviz_dump_add_file () */
};

/* ---- the plan and the layout: attnviz-dump-plan.c ---- */

void _attnviz_dump_plan_from_run (Plan *p, const AttnvizModel *model, const AttnvizRunOptions *run,
                                  const gint32 *ids, int T, const gint32 *src_ids, int S);
void _attnviz_dump_plan_from_recording (Plan *p, const AttnvizRecording *rec);
/* Whether REC is the run the dump was laid out for. */
gboolean _attnviz_dump_plan_matches (const Plan *p, const AttnvizRecording *rec);
/* What OPTIONS ask of a run laid out as P: a G_OPTION_ERROR naming the
 * option when it cannot be done. */
gboolean _attnviz_dump_check_options (const AttnvizDumpOptions *o, const Plan *p, GError **error);
/* The arrays, in the order of a safetensors file's data. */
void _attnviz_dump_lay_out (AttnvizDump *d);
Array *_attnviz_dump_array_at (AttnvizDump *d, guint a);
/* The index of the array of KIND (of stack STACK, else -1), or -1. */
int _attnviz_dump_find_array (AttnvizDump *d, ArrayKind kind, int stack);
gsize _attnviz_dump_array_elements (const Array *a);

/* ---- writing the arrays: attnviz-dump-arrays.c ---- */

/* An error about the npy folder's temporary names the folder asked for. */
void _attnviz_dump_name_the_output (AttnvizDump *d, GError **error);
gboolean _attnviz_dump_array_begin (AttnvizDump *d, guint a, GError **error);
/* AttnvizLogitsFunc: each block of logits rows into the file as the run
 * makes it. */
gboolean _attnviz_dump_logits (const float *logits, int t0, int n, int vocab_size, gpointer data, GError **error);
AttnvizAttention *_attnviz_dump_stack_source (const AttnvizRecording *rec, StackKind kind);
/* REC's next_prob (T), or for a recording made without one (a session
 * read from an older dump) exp (-loss), NaN where the loss is: a copy. */
float *_attnviz_dump_next_prob (const AttnvizRecording *rec);
/* Every array but the logits (written during the run), in their order. */
gboolean _attnviz_dump_write_arrays (AttnvizDump *d, const AttnvizRecording *rec, GError **error);
/* The logits rows the run did not hand over, from rec->logits. */
gboolean _attnviz_dump_finish_logits (AttnvizDump *d, const AttnvizRecording *rec, GError **error);
/* Rows [r0, r1) of value-weighted head HEAD of LAYER of the self stack S. */
float *_attnviz_dump_value_weighted_head (AttnvizAttention *source, const Stack *s, int layer, int head,
                                          GError **error);
/* The (T, T) analysis matrix of array kind KIND, computed from REC. */
float *_attnviz_dump_analysis_matrix (const AttnvizDump *d, const AttnvizRecording *rec, ArrayKind kind,
                                      GError **error);

/* ---- the metadata and json: attnviz-dump-json.c ---- */

/* The metadata object as json text; REC NULL before the run. */
char *_attnviz_dump_metadata_json (const AttnvizDump *d, const AttnvizRecording *rec, gboolean pretty);
/* A safetensors dump's __metadata__: "attnviz" (the metadata) and "format". */
GHashTable *_attnviz_dump_safetensors_metadata (const AttnvizDump *d, const AttnvizRecording *rec);
/* The whole dump as one json file. */
gboolean _attnviz_dump_write_json (AttnvizDump *d, const AttnvizRecording *rec, GError **error);

G_END_DECLS
