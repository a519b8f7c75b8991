/* attnviz-session-private.h: what the files of a session share
 *
 * attnviz-session.c opens a file (a dump or a foreign tensor), checks the
 * values, labels the rows and makes the recording; attnviz-session-dump.c
 * reads a dump's arrays (from an npy folder, a safetensors file or a json
 * file, through one call) and its metadata.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "attnviz-safetensors.h"
#include "attnviz-session.h"

G_BEGIN_DECLS

/* The largest attention a session may describe, beyond any real model:
 * layers, heads, and tokens on either side (a foreign tensor's labels are
 * made one per token: 2^29 of them once asked for tens of GiB). */
#define SESSION_MAX_LAYERS 4096
#define SESSION_MAX_HEADS 4096
#define SESSION_MAX_TOKENS (1 << 24)

/* The arrays of one file, whatever its format. */
typedef struct {
  const char *path;         /* for messages */
  AttnvizDumpFormat format;
  const char *dir;          /* npy: the folder */
  AttnvizSafetensors *st;   /* safetensors */
  JsonObject *json;         /* json: the root */
  guint64 max_values;       /* the attention's budget in float32 values */
} SessionFile;

/* Array NAME as float32 (integers converted: ids and indices below 2^24
 * are exact), SHAPE (*n_dims <= 5) filled; NULL without an error when the
 * file has no such array, NULL with one (naming the file and the array)
 * when it is there but unreadable, of another shape rank, or over the
 * budget. */
float *_attnviz_session_array (const SessionFile *f, const char *name, gint64 *shape, int *n_dims, GError **error);

/* Reads a dump from F whose metadata is META into SELF (path and format
 * set): the recording, tokens, model and variant. */
gboolean _attnviz_session_read_dump (AttnvizSession *self, const SessionFile *f, JsonObject *meta, GError **error);

/* Makes SELF->rec around DENSE (L, H, T, S) (taken over), with LAYERS and
 * HEADS the model indices (NULL: 0 .. L - 1 / H - 1) of N_LAYER / N_HEAD;
 * S != T makes a cross-attention.  Checks every value (NaN, infinity,
 * negative: an error naming the cell) and counts the rows off 1. */
gboolean _attnviz_session_make_recording (AttnvizSession *self, float *dense, int L, int H, int T, int S,
                                          const int *layers, int n_layer, const int *heads, int n_head,
                                          gboolean causal, GError **error);

/* A dense source over DENSE (L, H, T, S) (taken over) of every layer and
 * head of L / H, its values checked as above but not counted: an
 * encoder-decoder dump's encoder and cross-attention. */
AttnvizAttention *_attnviz_session_dense_source (AttnvizSession *self, const char *name, float *dense, int L, int H,
                                                 int T, int S, GError **error);

/* One-line error about SELF's file. */
gboolean _attnviz_session_fail (GError **error, const char *path, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

G_END_DECLS
