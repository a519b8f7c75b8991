/* attnviz-gguf-private.h: what the GGUF reader (attnviz-gguf.c and
 * attnviz-gguf-tensors.c), its metadata accessors (attnviz-gguf-kv.c) and
 * the writer (attnviz-gguf-writer.c) share */
#pragma once

#include "attnviz-gguf.h"

G_BEGIN_DECLS

#define ATTNVIZ_GGUF_N_TYPES 13           /* value types 0 .. 12 */
#define ATTNVIZ_GGUF_DEFAULT_ALIGNMENT 32
#define ATTNVIZ_GGUF_MAX_NAME_BYTES 65535  /* keys and tensor names */
#define ATTNVIZ_GGUF_MAX_ARRAY_DEPTH 8     /* an array of arrays is depth 2 */

/* One metadata entry, parsed and checked at open. */
typedef struct {
  char *key;                  /* NUL-terminated UTF-8 */
  AttnvizGgufType type;
  AttnvizGgufType array_type; /* ARRAY: the element type */
  guint64 n;                  /* ARRAY: the element count */
  guint64 bits;               /* a scalar's bytes, read little-endian and
                               * zero-extended (sign handling is the reader's) */
  char *str;                  /* STRING: a NUL-terminated copy (no NUL inside) */
  gsize str_len;
  char **strs;                /* ARRAY of STRING: n pointers into BLOCK */
  gsize *lens;                /* ARRAY of STRING: n byte lengths */
  char *block;                /* ARRAY of STRING: every element, each NUL-terminated */
  const guint8 *elems;        /* ARRAY of a fixed-size type: n packed elements in the
                               * file (unaligned: read with memcpy) */
  const guint8 *raw;          /* the u32 value type and the value as stored */
  gsize raw_len;
} AttnvizGgufKv;

struct _AttnvizGguf {
  char *path;
  GMappedFile *mapped;        /* NULL for attnviz_gguf_open_bytes */
  const guint8 *base;         /* the whole file */
  gsize size;
  guint32 version;
  guint32 alignment;
  gsize data_offset;          /* where the data section starts in the file */
  gsize data_size;            /* bytes from there to the end of the file */
  GArray *kvs;                /* AttnvizGgufKv, in file order */
  GHashTable *kv_index;       /* key -> index + 1 */
  GArray *tensors;            /* AttnvizGgufTensor, in file order */
  GHashTable *tensor_index;   /* name -> index + 1 */
};

/* Bytes one value of TYPE takes: 0 for STRING, ARRAY and unknown types. */
gsize attnviz_gguf_type_size (guint32 type);
/* "uint32", "string", ...; "type 99" style text is the caller's job for
 * unknown ids (NULL here). */
const char *attnviz_gguf_type_name (guint32 type);

/* TRUE when the LEN bytes at S are UTF-8 without control characters (C0,
 * DEL, C1): what a key or a tensor name may hold. */
gboolean attnviz_gguf_name_ok (const char *s, gsize len);

/* The LEN bytes at S (any bytes, NUL included) fit for a one-line message
 * or a terminal: backslash, quote, control and other unprintable characters
 * escaped (\n, \x1b, \u{202e}), bytes that are not UTF-8 as \xNN.  Cut to
 * MAX_CHARS characters with "..." after when longer (0: no limit). */
char *attnviz_gguf_escape (const char *s, gsize len, gsize max_chars);

/* ---- the reader: attnviz-gguf.c, attnviz-gguf-tensors.c ---- */

/* Names in messages are cut to this many characters. */
#define MESSAGE_NAME_CHARS 80

typedef enum {
  AT_HEADER,
  AT_KEY_N,      /* before the key is known: "key 3" */
  AT_KEY,
  AT_TENSOR_N,
  AT_TENSOR,
} Where;

typedef struct {
  const guint8 *base;
  gsize size;
  gsize pos;
  const char *file;
  Where where;        /* what is being read, for messages */
  guint64 index;
  const char *name;
  GError **error;
} Reader;

#define INVALID G_IO_ERROR_INVALID_DATA

/* Sets R's error, CODE with the file, where it was and the problem; FALSE. */
gboolean _attnviz_gguf_fail (Reader *r, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);
gboolean _attnviz_gguf_truncated (Reader *r, const char *what);
gboolean _attnviz_gguf_take_u32 (Reader *r, guint32 *out, const char *what);
gboolean _attnviz_gguf_take_u64 (Reader *r, guint64 *out, const char *what);
/* A key or tensor name: 1 to ATTNVIZ_GGUF_MAX_NAME_BYTES of UTF-8 without
 * control characters, so a name can be printed as it is. */
gboolean _attnviz_gguf_take_name (Reader *r, char **out, const char *what);

/* Tensor info I, checked, into self->tensors. */
gboolean _attnviz_gguf_take_tensor (AttnvizGguf *self, Reader *r, guint64 i);
/* Every tensor inside the data section, no two overlapping. */
gboolean _attnviz_gguf_place_tensors (AttnvizGguf *self, Reader *r);

G_END_DECLS
