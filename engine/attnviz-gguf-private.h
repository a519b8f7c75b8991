/* attnviz-gguf-private.h: what the GGUF reader (attnviz-gguf.c), its
 * metadata accessors (attnviz-gguf-kv.c) and the writer
 * (attnviz-gguf-writer.c) share */
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

G_END_DECLS
