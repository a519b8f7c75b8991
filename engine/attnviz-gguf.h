/* attnviz-gguf.h: read-only access to GGUF files (llama.cpp's model format),
 * and a writer for `attnviz convert`
 *
 * The layout, every field checked by the reader, is documented at the top
 * of attnviz-gguf.c.  A file is mapped (GMappedFile over a descriptor opened
 * as a regular file only); metadata values are parsed and checked once at
 * open, strings copied out NUL-terminated; tensor data stays in the mapping.
 *
 * Errors are G_IO_ERROR_INVALID_DATA (or NOT_SUPPORTED), one line, naming
 * the file and the problem: "model.gguf: tensor \"blk.0.attn_q.weight\":
 * offset 123 is not a multiple of the alignment 32".
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Metadata value types (gguf.h's GGUF_TYPE_*). */
typedef enum {
  ATTNVIZ_GGUF_UINT8 = 0,
  ATTNVIZ_GGUF_INT8 = 1,
  ATTNVIZ_GGUF_UINT16 = 2,
  ATTNVIZ_GGUF_INT16 = 3,
  ATTNVIZ_GGUF_UINT32 = 4,
  ATTNVIZ_GGUF_INT32 = 5,
  ATTNVIZ_GGUF_FLOAT32 = 6,
  ATTNVIZ_GGUF_BOOL = 7,
  ATTNVIZ_GGUF_STRING = 8,
  ATTNVIZ_GGUF_ARRAY = 9,
  ATTNVIZ_GGUF_UINT64 = 10,
  ATTNVIZ_GGUF_INT64 = 11,
  ATTNVIZ_GGUF_FLOAT64 = 12,
} AttnvizGgufType;

#define ATTNVIZ_GGUF_MAX_DIMS 4

typedef struct {
  const char *name;          /* NUL-terminated, owned by the AttnvizGguf */
  guint32 type;              /* ggml type id: known (attnviz_weight_type_known), maybe
                              * not supported; the loader refuses what it cannot use */
  int n_dims;                /* 1 .. 4 */
  gint64 ne[ATTNVIZ_GGUF_MAX_DIMS]; /* ggml order: ne[0] values per row (contiguous),
                                     * ne[1] rows, ...; unused dims are 1 */
  gint64 n_elements;
  guint64 offset;            /* from the start of the data section */
  const guint8 *data;        /* inside the mapping */
  gsize n_bytes;             /* rows * row bytes */
  gsize row_bytes;           /* bytes of one row of ne[0] values */
} AttnvizGgufTensor;

typedef struct _AttnvizGguf AttnvizGguf;

/* Opens PATH as a GGUF file (v2 or v3).  The file must be a regular file;
 * anything else is refused before it is read. */
AttnvizGguf *attnviz_gguf_open (const char *path, GError **error);
/* Parses an in-memory image (the fuzz harness uses this).  FILENAME is only
 * used in messages.  DATA must outlive the result. */
AttnvizGguf *attnviz_gguf_open_bytes (const guint8 *data, gsize size, const char *filename,
                                      GError **error);
void attnviz_gguf_free (AttnvizGguf *self);

const char *attnviz_gguf_get_path (const AttnvizGguf *self);
guint32 attnviz_gguf_get_version (const AttnvizGguf *self);
guint32 attnviz_gguf_get_alignment (const AttnvizGguf *self);
gsize attnviz_gguf_get_file_size (const AttnvizGguf *self);

/* ---- metadata ---- */

guint attnviz_gguf_get_n_kv (const AttnvizGguf *self);
/* Keys and tensor names are UTF-8 without control characters (checked at
 * open): they can be printed as they are.  Values cannot: use
 * attnviz_gguf_kv_to_string. */
const char *attnviz_gguf_get_key (const AttnvizGguf *self, guint i);
AttnvizGgufType attnviz_gguf_get_kv_type (const AttnvizGguf *self, guint i);
/* For arrays: the element type and the number of elements (for other
 * values: the value's own type, and 0). */
AttnvizGgufType attnviz_gguf_get_array_type (const AttnvizGguf *self, guint i);
guint64 attnviz_gguf_get_array_length (const AttnvizGguf *self, guint i);
/* Index of KEY, or -1. */
int attnviz_gguf_find_key (const AttnvizGguf *self, const char *key);
/* The value as one line of text for `attnviz info`: numbers, strings
 * (escaped, cut to MAX_CHARS), "[32000 strings]" for arrays. */
char *attnviz_gguf_kv_to_string (const AttnvizGguf *self, guint i, gsize max_chars);

/* Typed reads with the file's own errors.  When KEY is absent they return
 * TRUE and leave *OUT alone unless REQUIRED (then an error "missing key
 * \"llama.block_count\"").  A value of the wrong type, or an integer
 * outside [LO, HI], is an error naming the key and the value. */
gboolean attnviz_gguf_read_int (const AttnvizGguf *self, const char *key, gboolean required,
                                gint64 lo, gint64 hi, gint64 *out, GError **error);
gboolean attnviz_gguf_read_float (const AttnvizGguf *self, const char *key, gboolean required,
                                  double *out, GError **error);   /* f32, f64 or an integer */
gboolean attnviz_gguf_read_bool (const AttnvizGguf *self, const char *key, gboolean required,
                                 gboolean *out, GError **error);
/* NUL-terminated (a metadata string value holding a NUL byte is refused at
 * open), owned by SELF; NULL with an error when REQUIRED and absent or not a string,
 * NULL without an error when absent and not REQUIRED. */
const char *attnviz_gguf_read_string (const AttnvizGguf *self, const char *key, gboolean required,
                                      GError **error);

/* Arrays.  Each returns NULL (with an error) when KEY is absent and
 * REQUIRED, or the elements are not of a fitting type; NULL without an
 * error when absent and not REQUIRED.  N_OUT gets the length. */
/* Strings, owned by SELF, each NUL-terminated; LENS_OUT (may be NULL) gets
 * their byte lengths, owned by SELF too (an element may hold a NUL byte:
 * a vocabulary is taken as it is, and the tokenizer decides). */
const char *const *attnviz_gguf_read_string_array (const AttnvizGguf *self, const char *key,
                                                    gboolean required, gsize *n_out,
                                                    const gsize **lens_out, GError **error);
/* Float elements (f32 or f64), as a new float array (g_free). */
float *attnviz_gguf_dup_float_array (const AttnvizGguf *self, const char *key, gboolean required,
                                     gsize *n_out, GError **error);
/* Integer elements of any width, as a new gint64 array (g_free); a u64
 * above G_MAXINT64 is an error. */
gint64 *attnviz_gguf_dup_int_array (const AttnvizGguf *self, const char *key, gboolean required,
                                    gsize *n_out, GError **error);
/* KV entry I's elements as they lie in the file, when it is an array of
 * uint8 or int8 (owned by SELF; N_OUT gets their number); else NULL.  A
 * blob (a precompiled_charsmap) is read without a gint64 per byte. */
const guint8 *attnviz_gguf_get_byte_array (const AttnvizGguf *self, guint i, gsize *n_out);

/* ---- tensors ---- */

guint attnviz_gguf_get_n_tensors (const AttnvizGguf *self);
/* In file order. */
const AttnvizGgufTensor *attnviz_gguf_get_tensor (const AttnvizGguf *self, guint i);
/* NULL when absent. */
const AttnvizGgufTensor *attnviz_gguf_lookup (const AttnvizGguf *self, const char *name);

/* ---- writing ---- */

typedef struct _AttnvizGgufWriter AttnvizGgufWriter;

AttnvizGgufWriter *attnviz_gguf_writer_new (void);
void attnviz_gguf_writer_free (AttnvizGgufWriter *w);

/* Metadata, in the order added (a key added twice: the second replaces the
 * first, keeping its place).  Strings are copied. */
void attnviz_gguf_writer_add_uint32 (AttnvizGgufWriter *w, const char *key, guint32 value);
void attnviz_gguf_writer_add_int32 (AttnvizGgufWriter *w, const char *key, gint32 value);
void attnviz_gguf_writer_add_uint64 (AttnvizGgufWriter *w, const char *key, guint64 value);
void attnviz_gguf_writer_add_float32 (AttnvizGgufWriter *w, const char *key, float value);
void attnviz_gguf_writer_add_bool (AttnvizGgufWriter *w, const char *key, gboolean value);
/* Any fixed-size scalar TYPE (not STRING or ARRAY), from VALUE in host
 * order (a BOOL is one byte, as in add_array). */
void attnviz_gguf_writer_add_scalar (AttnvizGgufWriter *w, const char *key, AttnvizGgufType type,
                                     const void *value);
void attnviz_gguf_writer_add_string (AttnvizGgufWriter *w, const char *key, const char *value);
void attnviz_gguf_writer_add_string_array (AttnvizGgufWriter *w, const char *key,
                                           const char *const *values, gsize n);
/* An array of a fixed-size element type (not STRING or ARRAY): N elements
 * at DATA in host order, each of the size the file gives it (a BOOL
 * element is one byte, 0 or 1, not a gboolean). */
void attnviz_gguf_writer_add_array (AttnvizGgufWriter *w, const char *key, AttnvizGgufType type,
                                    const void *data, gsize n);
/* Copies every key of SRC but those for which SKIP returns TRUE (SKIP may
 * be NULL). */
void attnviz_gguf_writer_copy_kv (AttnvizGgufWriter *w, const AttnvizGguf *src,
                                  gboolean (*skip) (const char *key, gpointer data), gpointer data);

/* A tensor of ggml TYPE and shape NE (ggml order, N_DIMS entries), its
 * N_BYTES of DATA (which must stay valid until the write; the writer
 * frees it with DESTROY when given). */
void attnviz_gguf_writer_add_tensor (AttnvizGgufWriter *w, const char *name, guint32 type,
                                     int n_dims, const gint64 *ne, const void *data,
                                     gsize n_bytes, GDestroyNotify destroy);

/* A tensor whose bytes are made when the write reaches it, so that a
 * converter holds one tensor's output at a time: FUNC (USER_DATA, &destroy,
 * error) returns exactly N_BYTES (freed with *destroy when it sets one),
 * or NULL with an error, which stops the write and leaves no file.
 * USER_DATA_DESTROY frees USER_DATA with the writer. */
typedef const void *(*AttnvizGgufTensorFunc) (gpointer user_data, GDestroyNotify *destroy,
                                              GError **error);
void attnviz_gguf_writer_add_tensor_func (AttnvizGgufWriter *w, const char *name, guint32 type,
                                          int n_dims, const gint64 *ne, gsize n_bytes,
                                          AttnvizGgufTensorFunc func, gpointer user_data,
                                          GDestroyNotify user_data_destroy);

/* Writes GGUF v3 with general.alignment 32 (or the value set under that
 * key), atomically (attnviz-fileutil.h).  Errors name PATH. */
gboolean attnviz_gguf_writer_write (AttnvizGgufWriter *w, const char *path, GError **error);

G_END_DECLS
