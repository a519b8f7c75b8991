/* attnviz-safetensors.h: read-only access to Hugging Face safetensors files
 *
 * File layout (https://huggingface.co/docs/safetensors):
 *   bytes [0, 8)        u64 little-endian N, the length of the header
 *   bytes [8, 8+N)      UTF-8 JSON object: for each tensor name
 *                       {"dtype": "F32"|"F16"|"BF16"|..., "shape": [d0, ...],
 *                        "data_offsets": [begin, end]}
 *                       and optionally "__metadata__": {string: string}
 *   bytes [8+N, EOF)    the data; offsets are relative to 8+N
 *
 * The file is mapped with GMappedFile.  Every tensor is checked when the file
 * is opened: known dtype, shape product * dtype size == end - begin, offsets
 * inside the data and no two tensors overlapping.  A sharded model
 * (`model.safetensors.index.json`) opens as one AttnvizSafetensors over all
 * shards.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_DTYPE_F32,
  ATTNVIZ_DTYPE_F16,
  ATTNVIZ_DTYPE_BF16,
  ATTNVIZ_DTYPE_F64,
  ATTNVIZ_DTYPE_I64,
  ATTNVIZ_DTYPE_I32,
  ATTNVIZ_DTYPE_I16,
  ATTNVIZ_DTYPE_I8,
  ATTNVIZ_DTYPE_U8,
  ATTNVIZ_DTYPE_BOOL,
} AttnvizDtype;

#define ATTNVIZ_MAX_DIMS 8

typedef struct {
  char *name;
  AttnvizDtype dtype;
  int n_dims;
  gint64 shape[ATTNVIZ_MAX_DIMS];
  gint64 n_elements;
  const guint8 *data;  /* n_elements * dtype size bytes, inside the mapping */
  gsize n_bytes;
  const char *file;    /* the shard this tensor lives in */
} AttnvizTensorInfo;

typedef struct _AttnvizSafetensors AttnvizSafetensors;

/* Opens PATH: a .safetensors file or a model.safetensors.index.json.
 * Errors (G_IO_ERROR_*) are one line, naming the file and the problem. */
AttnvizSafetensors *attnviz_safetensors_open (const char *path, GError **error);
/* Parses an in-memory image (the fuzz harness uses this).  FILENAME is only
 * used in error messages.  DATA must stay alive as long as the result. */
AttnvizSafetensors *attnviz_safetensors_open_bytes (const guint8 *data,
                                                    gsize size,
                                                    const char *filename,
                                                    GError **error);
void attnviz_safetensors_free (AttnvizSafetensors *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizSafetensors, attnviz_safetensors_free)

const char *attnviz_safetensors_get_path (const AttnvizSafetensors *self);
guint attnviz_safetensors_get_n_tensors (const AttnvizSafetensors *self);
const AttnvizTensorInfo *attnviz_safetensors_get_nth (const AttnvizSafetensors *self, guint i);
/* NULL when absent. */
const AttnvizTensorInfo *attnviz_safetensors_lookup (const AttnvizSafetensors *self, const char *name);
/* The __metadata__ value for KEY, or NULL. */
const char *attnviz_safetensors_get_metadata (const AttnvizSafetensors *self, const char *key);

const char *attnviz_dtype_to_string (AttnvizDtype dtype);
gsize attnviz_dtype_size (AttnvizDtype dtype);

/* Converts a floating tensor (F32, F16, BF16, F64) to float32 into OUT
 * (n_elements floats). */
void attnviz_tensor_to_f32 (const AttnvizTensorInfo *info, float *out);

/* Half-precision conversions, exact (round to nearest even on narrowing). */
float attnviz_f16_to_f32 (guint16 h);
float attnviz_bf16_to_f32 (guint16 h);
guint16 attnviz_f32_to_f16 (float f);

/* Writes a safetensors file atomically (temporary file + rename).  NAMES,
 * and per tensor DTYPES (F32 or I32/I64), SHAPES (n_dims entries, n_dims
 * in N_DIMS) and DATA (little-endian); METADATA may be NULL. */
typedef struct {
  const char *name;
  AttnvizDtype dtype;
  int n_dims;
  gint64 shape[ATTNVIZ_MAX_DIMS];
  const void *data;
} AttnvizTensorOut;

gboolean attnviz_safetensors_write (const char *path,
                                    const AttnvizTensorOut *tensors,
                                    guint n_tensors,
                                    GHashTable *metadata, /* char* -> char*, may be NULL */
                                    GError **error);

/* The same, streamed, for files larger than memory: open writes the header
 * of TENSORS (their data is not read; offsets follow their order) with
 * METADATA_ROOM spare bytes of header (spaces) so the metadata may be set
 * again later, larger, without moving the data.  Then write appends bytes
 * to tensor TENSOR, in pieces of any size, as they are computed: each
 * tensor is written at its own place, so several may fill at once (a
 * head's mean and max pooling) and in any order (the logits during the
 * run, the attention after).  set_metadata rewrites the header in place
 * (an error if it no longer fits the room); commit checks every byte of
 * every tensor was written, then fsyncs and renames; abort (or any
 * failure) leaves no file.  Through an AttnvizAtomicFile, so every output
 * rule holds. */
typedef struct _AttnvizSafetensorsWriter AttnvizSafetensorsWriter;

AttnvizSafetensorsWriter *attnviz_safetensors_writer_open (const char *path,
                                                           const AttnvizTensorOut *tensors,
                                                           guint n_tensors,
                                                           GHashTable *metadata,
                                                           gsize metadata_room,
                                                           GError **error);
gboolean attnviz_safetensors_writer_write (AttnvizSafetensorsWriter *self, guint tensor, const void *data,
                                           gsize n_bytes, GError **error);
gboolean attnviz_safetensors_writer_set_metadata (AttnvizSafetensorsWriter *self, GHashTable *metadata,
                                                  GError **error);
gboolean attnviz_safetensors_writer_commit (AttnvizSafetensorsWriter *self, GError **error);
void attnviz_safetensors_writer_abort (AttnvizSafetensorsWriter *self);

G_END_DECLS
