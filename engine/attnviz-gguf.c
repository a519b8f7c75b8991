#define G_LOG_DOMAIN "attnviz-gguf"
#include "config.h"

/* The GGUF layout, as this reader checks it (llama.cpp's ggml/include/gguf.h;
 * versions 2 and 3 share it).  Numbers are little-endian.  A "string" is a
 * u64 byte length then that many bytes, not NUL-terminated.  Every count and
 * length is checked against the bytes left in the file before anything is
 * allocated for it, with overflow-checked arithmetic, so a count of 2^63 is
 * a quick one-line error.
 *
 *   offset 0   4 bytes  magic "GGUF"
 *   offset 4   u32      version: 2 or 3.  1 (32-bit counts) and anything
 *                       newer are refused; a big-endian file reads as
 *                       0x03000000 and is refused by its number.
 *   offset 8   u64      n_tensors: at most what the rest of the file can
 *                       hold at TENSOR_MIN_BYTES per tensor info.
 *   offset 16  u64      n_kv: at most what the rest can hold at KV_MIN_BYTES
 *                       per entry.
 *   offset 24  n_kv metadata entries, each:
 *     string   key: 1 to 65535 bytes of UTF-8 without control characters
 *              (NUL, ESC, DEL, U+0080..U+009F; a name prints as it is), unique.
 *     u32      value type (AttnvizGgufType, 0 to 12; anything else refused).
 *     value    u8, i8, u16, i16, u32, i32, f32, bool, u64, i64, f64: 1, 1,
 *              2, 2, 4, 4, 4, 1, 8, 8, 8 bytes (a bool byte other than 0 is
 *              true, as in llama.cpp);
 *              string: no NUL byte inside (it is handed out as a C string;
 *              other bytes are kept as they are and escaped when shown);
 *              array: u32 element type, u64 count, then the elements back
 *              to back.  Elements may be strings (NUL bytes allowed there:
 *              a vocabulary is taken as it is) or arrays again, nested at
 *              most ATTNVIZ_GGUF_MAX_ARRAY_DEPTH deep (llama.cpp refuses any
 *              nesting; this reader only walks over it).  The count is
 *              checked against the bytes left at the element's smallest
 *              size (8 for a string, 12 for an array) first.
 *              general.alignment, when present, must be a u32 power of two
 *              (default 32).
 *   then n_tensors tensor infos, each:
 *     string   name: 1 to 65535 bytes of UTF-8 without control characters,
 *              unique.
 *     u32      n_dims: 1 to 4.
 *     u64      ne[n_dims], ggml order (ne[0] values per row, contiguous):
 *              each in [0, 2^63).  0 is allowed as llama.cpp allows it (an
 *              empty tensor has no bytes and overlaps nothing); the rows
 *              ne[1] * ne[2] * ne[3] and the element count must stay below
 *              2^63.
 *     u32      ggml type id: one attnviz_weight_type_known knows (an
 *              unknown id is refused naming the tensor; a known type
 *              attnviz cannot compute with is left to the model loader).
 *              ne[0] is a multiple of its block size and rows * row bytes
 *              fits in 64 bits.
 *     u64      offset from the start of the data section: a multiple of
 *              the alignment.
 *   padding    up to the next multiple of the alignment, counted from the
 *              start of the file (not checked to be zeros).  A file without
 *              tensors may end inside it (llama.cpp's vocabulary files do);
 *              with tensors, the file must reach past it.
 *   data       the data section, to the end of the file: every tensor's
 *              rows * row bytes lie inside it and no two tensors overlap.
 *              llama.cpp also wants them packed in order; this reader does
 *              not.
 */

#include <stdarg.h>
#include <string.h>
#include <gio/gio.h>

#include "attnviz-fileutil.h"
#include "attnviz-gguf-private.h"
#include "attnviz-quant.h"

/* The smallest a metadata entry can be: a 1-byte key with its length, the
 * value type and a 1-byte value; a tensor info: a 1-byte name with its
 * length, n_dims, one dimension, the type and the offset. */
#define KV_MIN_BYTES (8 + 1 + 4 + 1)
#define TENSOR_MIN_BYTES (8 + 1 + 4 + 8 + 4 + 8)
#define NESTED_ARRAY_MIN_BYTES (4 + 8)

/* ---- reading with bounds ------------------------------------------------- */

gboolean G_GNUC_PRINTF (3, 4)
_attnviz_gguf_fail (Reader *r, int code, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *problem = g_strdup_vprintf (format, ap);
  va_end (ap);

  g_autofree char *where = NULL;
  g_autofree char *quoted = NULL;
  switch (r->where)
    {
    case AT_KEY_N:
      where = g_strdup_printf ("key %" G_GUINT64_FORMAT ": ", r->index);
      break;
    case AT_TENSOR_N:
      where = g_strdup_printf ("tensor %" G_GUINT64_FORMAT ": ", r->index);
      break;
    case AT_KEY:
    case AT_TENSOR:
      quoted = attnviz_gguf_escape (r->name, strlen (r->name), MESSAGE_NAME_CHARS);
      where = g_strdup_printf ("%s \"%s\": ", r->where == AT_KEY ? "key" : "tensor", quoted);
      break;
    case AT_HEADER:
    default:
      where = g_strdup ("");
      break;
    }
  g_set_error (r->error, G_IO_ERROR, code, "%s: %s%s", r->file, where, problem);
  return FALSE;
}

gboolean
_attnviz_gguf_truncated (Reader *r, const char *what)
{
  return _attnviz_gguf_fail (r, INVALID, "the file is truncated: %s at byte %zu runs past the end of the %zu-byte file",
               what, r->pos, r->size);
}

static gboolean
take (Reader *r, gsize n, const guint8 **out, const char *what)
{
  if (n > r->size - r->pos)
    return _attnviz_gguf_truncated (r, what);
  *out = r->base + r->pos;
  r->pos += n;
  return TRUE;
}

static guint64
load_le (const guint8 *p, gsize size)
{
  guint64 v = 0;
  for (gsize i = 0; i < size; i++)
    v |= (guint64) p[i] << (8 * i);
  return v;
}

gboolean
_attnviz_gguf_take_u32 (Reader *r, guint32 *out, const char *what)
{
  const guint8 *p = NULL;
  if (!take (r, 4, &p, what))
    return FALSE;
  *out = (guint32) load_le (p, 4);
  return TRUE;
}

gboolean
_attnviz_gguf_take_u64 (Reader *r, guint64 *out, const char *what)
{
  const guint8 *p = NULL;
  if (!take (r, 8, &p, what))
    return FALSE;
  *out = load_le (p, 8);
  return TRUE;
}

/* A string: its u64 length (at most MAX), then its bytes, left in place. */
static gboolean
take_string (Reader *r, guint64 max, const guint8 **s, gsize *len, const char *what)
{
  if (r->size - r->pos < 8)
    return _attnviz_gguf_fail (r, INVALID, "the length of %s at byte %zu runs past the end of the "
                 "%zu-byte file", what, r->pos, r->size);
  guint64 n = load_le (r->base + r->pos, 8);
  r->pos += 8;
  if (n > max)
    return _attnviz_gguf_fail (r, INVALID, "%s is %" G_GUINT64_FORMAT " bytes long, more than the %"
                 G_GUINT64_FORMAT " allowed", what, n, max);
  if (n > r->size - r->pos)
    return _attnviz_gguf_fail (r, INVALID, "%s (%" G_GUINT64_FORMAT " bytes at byte %zu) runs past "
                 "the end of the %zu-byte file", what, n, r->pos, r->size);
  *s = r->base + r->pos;
  *len = (gsize) n;
  r->pos += (gsize) n;
  return TRUE;
}

/* A key or tensor name: 1 to ATTNVIZ_GGUF_MAX_NAME_BYTES of UTF-8 without
 * control characters, so a name can be printed as it is. */
gboolean
_attnviz_gguf_take_name (Reader *r, char **out, const char *what)
{
  const guint8 *s;
  gsize len;
  if (!take_string (r, ATTNVIZ_GGUF_MAX_NAME_BYTES, &s, &len, what))
    return FALSE;
  if (len == 0)
    return _attnviz_gguf_fail (r, INVALID, "%s is empty", what);
  const char *text = (const char *) s;
  g_autofree char *quoted = NULL;
  /* With an explicit length, g_utf8_validate refuses NUL bytes too. */
  if (!g_utf8_validate (text, (gssize) len, NULL))
    {
      quoted = attnviz_gguf_escape (text, len, MESSAGE_NAME_CHARS);
      return _attnviz_gguf_fail (r, INVALID, "%s \"%s\" is not valid UTF-8", what, quoted);
    }
  if (!attnviz_gguf_name_ok (text, len))
    {
      quoted = attnviz_gguf_escape (text, len, MESSAGE_NAME_CHARS);
      return _attnviz_gguf_fail (r, INVALID, "%s \"%s\" holds a control character", what, quoted);
    }
  *out = g_strndup (text, len);
  return TRUE;
}

/* ---- metadata values ------------------------------------------------------- */

static const char *
type_or_number (guint32 type, char buf[32])
{
  const char *name = attnviz_gguf_type_name (type);
  if (name)
    return name;
  g_snprintf (buf, 32, "type %u", type);
  return buf;
}

/* Reads an array's element type and count and checks that COUNT elements
 * can fit in what is left of the file; the elements are not read. */
static gboolean
take_array_head (Reader *r, int depth, guint32 *type_out, guint64 *n_out)
{
  if (depth > ATTNVIZ_GGUF_MAX_ARRAY_DEPTH)
    return _attnviz_gguf_fail (r, INVALID, "arrays nest more than %d deep at byte %zu",
                 ATTNVIZ_GGUF_MAX_ARRAY_DEPTH, r->pos);
  guint32 type;
  guint64 n;
  if (!_attnviz_gguf_take_u32 (r, &type, "the element type of an array")
      || !_attnviz_gguf_take_u64 (r, &n, "the length of an array"))
    return FALSE;
  gsize min;
  if (type == ATTNVIZ_GGUF_STRING)
    min = 8;
  else if (type == ATTNVIZ_GGUF_ARRAY)
    min = NESTED_ARRAY_MIN_BYTES;
  else if ((min = attnviz_gguf_type_size (type)) == 0)
    return _attnviz_gguf_fail (r, INVALID, "unknown array element type %u", type);
  gsize left = r->size - r->pos;
  if (n > left / min)
    {
      char buf[32];
      return _attnviz_gguf_fail (r, INVALID, "an array of %" G_GUINT64_FORMAT " %s elements cannot fit in "
                   "the %zu bytes left at byte %zu", n, type_or_number (type, buf), left,
                   r->pos);
    }
  *type_out = type;
  *n_out = n;
  return TRUE;
}

/* Walks over the elements of an array whose head was just read.  Nested
 * arrays recurse, at most ATTNVIZ_GGUF_MAX_ARRAY_DEPTH deep; every element
 * takes at least one byte, so the walk is linear in the file size. */
static gboolean
skip_elements (Reader *r, guint32 type, guint64 n, int depth)
{
  const guint8 *s;
  gsize len;

  switch (type)
    {
    case ATTNVIZ_GGUF_STRING:
      for (guint64 i = 0; i < n; i++)
        if (!take_string (r, G_MAXUINT64, &s, &len, "a string in an array"))
          return FALSE;
      return TRUE;
    case ATTNVIZ_GGUF_ARRAY:
      for (guint64 i = 0; i < n; i++)
        {
          guint32 inner_type;
          guint64 inner_n;
          if (!take_array_head (r, depth + 1, &inner_type, &inner_n)
              || !skip_elements (r, inner_type, inner_n, depth + 1))
            return FALSE;
        }
      return TRUE;
    default:
      /* take_array_head checked that n * size fits in what is left. */
      return take (r, (gsize) n * attnviz_gguf_type_size (type), &s, "an array");
    }
}

/* A top-level array of strings: every element copied NUL-terminated into one
 * block, in two passes (sizes, then copies) so nothing grows. */
static gboolean
take_string_array (Reader *r, AttnvizGgufKv *kv)
{
  gsize start = r->pos, total = 0;
  const guint8 *s;
  gsize len;

  for (guint64 i = 0; i < kv->n; i++)
    {
      if (!take_string (r, G_MAXUINT64, &s, &len, "a string in the array"))
        return FALSE;
      total += len + 1;  /* at most the file size plus n: no overflow */
    }
  kv->strs = g_new (char *, kv->n + 1);
  kv->lens = g_new (gsize, kv->n + 1);
  kv->block = g_malloc (MAX (total, 1));
  r->pos = start;
  char *at = kv->block;
  for (guint64 i = 0; i < kv->n; i++)
    {
      take_string (r, G_MAXUINT64, &s, &len, "a string in the array");
      memcpy (at, s, len);
      at[len] = '\0';
      kv->strs[i] = at;
      kv->lens[i] = len;
      at += len + 1;
    }
  kv->strs[kv->n] = NULL;
  kv->lens[kv->n] = 0;
  return TRUE;
}

static gboolean
take_value (Reader *r, AttnvizGgufKv *kv)
{
  const guint8 *p = NULL;
  gsize len;

  switch (kv->type)
    {
    case ATTNVIZ_GGUF_STRING:
      {
        if (!take_string (r, G_MAXUINT64, &p, &len, "the string value"))
          return FALSE;
        const guint8 *nul = memchr (p, '\0', len);
        if (nul != NULL)
          return _attnviz_gguf_fail (r, INVALID, "the string value holds a NUL byte (byte %zu of the file)",
                       (gsize) (nul - r->base));
        kv->str = g_malloc (len + 1);
        memcpy (kv->str, p, len);
        kv->str[len] = '\0';
        kv->str_len = len;
        return TRUE;
      }

    case ATTNVIZ_GGUF_ARRAY:
      {
        guint32 type;
        if (!take_array_head (r, 1, &type, &kv->n))
          return FALSE;
        kv->array_type = (AttnvizGgufType) type;
        if (type == ATTNVIZ_GGUF_STRING)
          return take_string_array (r, kv);
        if (type != ATTNVIZ_GGUF_ARRAY)
          kv->elems = r->base + r->pos;
        return skip_elements (r, type, kv->n, 1);
      }

    default:
      len = attnviz_gguf_type_size (kv->type);
      if (len == 0)
        return _attnviz_gguf_fail (r, INVALID, "unknown value type %u", (guint32) kv->type);
      if (!take (r, len, &p, "the value"))
        return FALSE;
      kv->bits = load_le (p, len);
      return TRUE;
    }
}

static void
kv_clear (gpointer data)
{
  AttnvizGgufKv *kv = data;
  g_free (kv->key);
  g_free (kv->str);
  g_free (kv->strs);
  g_free (kv->lens);
  g_free (kv->block);
}

static gboolean
take_kvs (AttnvizGguf *self, Reader *r, guint64 n_kv)
{
  for (guint64 i = 0; i < n_kv; i++)
    {
      r->where = AT_KEY_N;
      r->index = i;
      AttnvizGgufKv kv = { 0 };
      if (!_attnviz_gguf_take_name (r, &kv.key, "the key"))
        return FALSE;
      /* Owned by the array from here, so a failure below frees it. */
      g_array_append_val (self->kvs, kv);
      AttnvizGgufKv *at = &g_array_index (self->kvs, AttnvizGgufKv, self->kvs->len - 1);
      r->where = AT_KEY;
      r->name = at->key;

      guint first = GPOINTER_TO_UINT (g_hash_table_lookup (self->kv_index, at->key));
      if (first != 0)
        return _attnviz_gguf_fail (r, INVALID, "appears twice (entries %u and %" G_GUINT64_FORMAT ")",
                     first - 1, i);

      at->raw = r->base + r->pos;
      guint32 type;
      if (!_attnviz_gguf_take_u32 (r, &type, "the value type"))
        return FALSE;
      if (type >= ATTNVIZ_GGUF_N_TYPES)
        return _attnviz_gguf_fail (r, INVALID, "unknown value type %u", type);
      at->type = (AttnvizGgufType) type;
      if (!take_value (r, at))
        return FALSE;
      at->raw_len = (gsize) (r->base + r->pos - at->raw);
      g_hash_table_insert (self->kv_index, at->key, GUINT_TO_POINTER (self->kvs->len));
    }
  return TRUE;
}

static gboolean
check_alignment (AttnvizGguf *self, Reader *r)
{
  guint at = GPOINTER_TO_UINT (g_hash_table_lookup (self->kv_index, "general.alignment"));
  self->alignment = ATTNVIZ_GGUF_DEFAULT_ALIGNMENT;
  if (at == 0)
    return TRUE;
  const AttnvizGgufKv *kv = &g_array_index (self->kvs, AttnvizGgufKv, at - 1);
  r->where = AT_KEY;
  r->name = kv->key;
  if (kv->type != ATTNVIZ_GGUF_UINT32)
    return _attnviz_gguf_fail (r, INVALID, "has type %s, not uint32", attnviz_gguf_type_name (kv->type));
  guint32 a = (guint32) kv->bits;
  if (a == 0 || (a & (a - 1)) != 0)
    return _attnviz_gguf_fail (r, INVALID, "%u is not a power of two", a);
  self->alignment = a;
  return TRUE;
}

/* ---- the file ------------------------------------------------------------- */

static gboolean
parse (AttnvizGguf *self, GError **error)
{
  static const guint8 empty[1];
  Reader r = {
    .base = self->base ? self->base : empty,
    .size = self->size,
    .file = self->path,
    .where = AT_HEADER,
    .error = error,
  };
  const guint8 *magic;

  if (r.size < 4)
    return _attnviz_gguf_fail (&r, INVALID, "not a GGUF file: a %zu-byte file is too short", r.size);
  take (&r, 4, &magic, "the magic");
  if (memcmp (magic, "GGUF", 4) != 0)
    {
      g_autofree char *quoted = attnviz_gguf_escape ((const char *) magic, 4, 0);
      return _attnviz_gguf_fail (&r, INVALID, "not a GGUF file (it starts with \"%s\", not \"GGUF\")",
                   quoted);
    }

  guint32 version;
  if (!_attnviz_gguf_take_u32 (&r, &version, "the version"))
    return FALSE;
  if (version != 2 && version != 3)
    return _attnviz_gguf_fail (&r, G_IO_ERROR_NOT_SUPPORTED, "GGUF version %u is not supported (only 2 "
                 "and 3)%s", version,
                 version > 3 && (version & 0xffff) == 0 ? "; a big-endian file?" : "");
  self->version = version;

  guint64 n_tensors, n_kv;
  if (!_attnviz_gguf_take_u64 (&r, &n_tensors, "the tensor count")
      || !_attnviz_gguf_take_u64 (&r, &n_kv, "the key count"))
    return FALSE;
  gsize left = r.size - r.pos;
  if (n_kv > left / KV_MIN_BYTES)
    return _attnviz_gguf_fail (&r, INVALID, "key count %" G_GUINT64_FORMAT " cannot fit in the %zu bytes "
                 "that follow the header", n_kv, left);
  if (n_tensors > left / TENSOR_MIN_BYTES)
    return _attnviz_gguf_fail (&r, INVALID, "tensor count %" G_GUINT64_FORMAT " cannot fit in the %zu "
                 "bytes that follow the header", n_tensors, left);
  if (n_kv > G_MAXINT || n_tensors > G_MAXINT)
    return _attnviz_gguf_fail (&r, INVALID, "more than %d keys or tensors", G_MAXINT);

  if (!take_kvs (self, &r, n_kv) || !check_alignment (self, &r))
    return FALSE;

  r.where = AT_HEADER;
  left = r.size - r.pos;
  if (n_tensors > left / TENSOR_MIN_BYTES)
    return _attnviz_gguf_fail (&r, INVALID, "tensor count %" G_GUINT64_FORMAT " cannot fit in the %zu "
                 "bytes left after the metadata", n_tensors, left);
  for (guint64 i = 0; i < n_tensors; i++)
    if (!_attnviz_gguf_take_tensor (self, &r, i))
      return FALSE;

  /* pos <= size < 2^64 - 2^32, so adding alignment - 1 cannot wrap. */
  r.where = AT_HEADER;
  guint64 start = ((guint64) r.pos + self->alignment - 1) & ~(guint64) (self->alignment - 1);
  if (start > r.size)
    {
      if (n_tensors > 0)
        return _attnviz_gguf_fail (&r, INVALID, "the data section would start at offset %" G_GUINT64_FORMAT
                     " (the header ends at %zu, padded to a multiple of %u) but the file "
                     "has only %zu bytes", start, r.pos, self->alignment, r.size);
      start = r.size;
    }
  self->data_offset = (gsize) start;
  self->data_size = r.size - self->data_offset;
  return _attnviz_gguf_place_tensors (self, &r);
}

static AttnvizGguf *
gguf_new (const char *path)
{
  AttnvizGguf *self = g_new0 (AttnvizGguf, 1);
  self->path = g_strdup (path);
  self->kvs = g_array_new (FALSE, TRUE, sizeof (AttnvizGgufKv));
  g_array_set_clear_func (self->kvs, kv_clear);
  self->kv_index = g_hash_table_new (g_str_hash, g_str_equal);
  self->tensors = g_array_new (FALSE, TRUE, sizeof (AttnvizGgufTensor));
  self->tensor_index = g_hash_table_new (g_str_hash, g_str_equal);
  self->alignment = ATTNVIZ_GGUF_DEFAULT_ALIGNMENT;
  return self;
}

void
attnviz_gguf_free (AttnvizGguf *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->kv_index);
  g_hash_table_unref (self->tensor_index);
  g_array_unref (self->kvs);
  for (guint i = 0; i < self->tensors->len; i++)
    g_free ((char *) g_array_index (self->tensors, AttnvizGgufTensor, i).name);
  g_array_unref (self->tensors);
  g_clear_pointer (&self->mapped, g_mapped_file_unref);
  g_free (self->path);
  g_free (self);
}

AttnvizGguf *
attnviz_gguf_open_bytes (const guint8 *data, gsize size, const char *filename, GError **error)
{
  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  AttnvizGguf *self = gguf_new (filename ? filename : "<memory>");
  self->base = data;
  self->size = size;
  if (!parse (self, error))
    {
      attnviz_gguf_free (self);
      return NULL;
    }
  return self;
}

AttnvizGguf *
attnviz_gguf_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  GMappedFile *mapped = attnviz_map_regular (path, error);
  if (mapped == NULL)
    return NULL;
  AttnvizGguf *self = gguf_new (path);
  self->mapped = mapped;
  self->base = (const guint8 *) g_mapped_file_get_contents (mapped);
  self->size = g_mapped_file_get_length (mapped);
  if (!parse (self, error))
    {
      attnviz_gguf_free (self);
      return NULL;
    }
  return self;
}

const char *
attnviz_gguf_get_path (const AttnvizGguf *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->path;
}

guint32
attnviz_gguf_get_version (const AttnvizGguf *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->version;
}

guint32
attnviz_gguf_get_alignment (const AttnvizGguf *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->alignment;
}

gsize
attnviz_gguf_get_file_size (const AttnvizGguf *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->size;
}

guint
attnviz_gguf_get_n_tensors (const AttnvizGguf *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->tensors->len;
}

const AttnvizGgufTensor *
attnviz_gguf_get_tensor (const AttnvizGguf *self, guint i)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (i < self->tensors->len, NULL);
  return &g_array_index (self->tensors, AttnvizGgufTensor, i);
}

const AttnvizGgufTensor *
attnviz_gguf_lookup (const AttnvizGguf *self, const char *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  guint at = GPOINTER_TO_UINT (g_hash_table_lookup (self->tensor_index, name));
  return at ? &g_array_index (self->tensors, AttnvizGgufTensor, at - 1) : NULL;
}
