#define G_LOG_DOMAIN "attnviz-gguf"
#include "config.h"

/* The GGUF writer: version 3, in the layout attnviz-gguf.c documents and
 * the order llama.cpp writes it: metadata in the order added, tensor infos
 * in the order added, zeros up to the alignment, then each tensor's bytes
 * followed by zeros up to the alignment.  Tensor offsets are therefore
 * packed in order, which llama.cpp's reader requires; names stay under
 * llama.cpp's 64-byte limit (GGML_MAX_NAME, NUL included). */

#include <stdio.h>
#include <string.h>
#include <gio/gio.h>

#include "attnviz-fileutil.h"
#include "attnviz-gguf-private.h"
#include "attnviz-quant.h"

#define LLAMA_CPP_MAX_NAME_BYTES 63

typedef struct {
  char *key;
  GByteArray *value;        /* the u32 value type then the value, as stored */
} WriterKv;

typedef struct {
  char *name;
  guint32 type;
  int n_dims;
  gint64 ne[ATTNVIZ_GGUF_MAX_DIMS];
  const void *data;
  gsize n_bytes;
  GDestroyNotify destroy;
  AttnvizGgufTensorFunc func;  /* or DATA: made at write time */
  gpointer func_data;
  GDestroyNotify func_data_destroy;
  guint64 offset;           /* in the data section; set by the write */
} WriterTensor;

struct _AttnvizGgufWriter {
  GPtrArray *kvs;           /* WriterKv*, in the order added */
  GHashTable *kv_index;     /* key -> WriterKv* */
  GPtrArray *tensors;       /* WriterTensor*, in the order added */
};

static void
writer_kv_free (gpointer data)
{
  WriterKv *kv = data;
  g_free (kv->key);
  g_byte_array_unref (kv->value);
  g_free (kv);
}

static void
writer_tensor_free (gpointer data)
{
  WriterTensor *t = data;
  if (t->destroy)
    t->destroy ((gpointer) t->data);
  if (t->func_data_destroy)
    t->func_data_destroy (t->func_data);
  g_free (t->name);
  g_free (t);
}

AttnvizGgufWriter *
attnviz_gguf_writer_new (void)
{
  AttnvizGgufWriter *w = g_new0 (AttnvizGgufWriter, 1);
  w->kvs = g_ptr_array_new_with_free_func (writer_kv_free);
  w->kv_index = g_hash_table_new (g_str_hash, g_str_equal);
  w->tensors = g_ptr_array_new_with_free_func (writer_tensor_free);
  return w;
}

void
attnviz_gguf_writer_free (AttnvizGgufWriter *w)
{
  if (w == NULL)
    return;
  g_hash_table_unref (w->kv_index);
  g_ptr_array_unref (w->kvs);
  g_ptr_array_unref (w->tensors);
  g_free (w);
}

/* ---- metadata ---------------------------------------------------------- */

static void
put_le (GByteArray *b, guint64 v, gsize size)
{
  guint8 bytes[8];
  for (gsize i = 0; i < size; i++)
    bytes[i] = (guint8) (v >> (8 * i));
  g_byte_array_append (b, bytes, (guint) size);
}

/* g_byte_array_append takes a guint length: go in pieces. */
static void
put_bytes (GByteArray *b, const void *data, gsize len)
{
  const guint8 *p = data;
  while (len > 0)
    {
      guint n = (guint) MIN (len, (gsize) G_MAXUINT / 2);
      g_byte_array_append (b, p, n);
      p += n;
      len -= n;
    }
}

static void
put_string (GByteArray *b, const char *s, gsize len)
{
  put_le (b, len, 8);
  put_bytes (b, s, len);
}

static GByteArray *
value_new (AttnvizGgufType type)
{
  GByteArray *b = g_byte_array_new ();
  put_le (b, type, 4);
  return b;
}

/* Takes VALUE; a key added again keeps its place and takes the new value. */
static void
add_value (AttnvizGgufWriter *w, const char *key, GByteArray *value)
{
  WriterKv *kv = g_hash_table_lookup (w->kv_index, key);
  if (kv != NULL)
    {
      g_byte_array_unref (kv->value);
      kv->value = value;
      return;
    }
  kv = g_new0 (WriterKv, 1);
  kv->key = g_strdup (key);
  kv->value = value;
  g_ptr_array_add (w->kvs, kv);
  g_hash_table_insert (w->kv_index, kv->key, kv);
}

static gboolean
key_ok (const char *key)
{
  return key != NULL && key[0] != '\0' && strlen (key) <= ATTNVIZ_GGUF_MAX_NAME_BYTES
         && attnviz_gguf_name_ok (key, strlen (key));
}

static void
add_scalar (AttnvizGgufWriter *w, const char *key, AttnvizGgufType type, guint64 bits)
{
  g_return_if_fail (w != NULL);
  g_return_if_fail (key_ok (key));
  GByteArray *b = value_new (type);
  put_le (b, bits, attnviz_gguf_type_size (type));
  add_value (w, key, b);
}

void
attnviz_gguf_writer_add_uint32 (AttnvizGgufWriter *w, const char *key, guint32 value)
{
  add_scalar (w, key, ATTNVIZ_GGUF_UINT32, value);
}

void
attnviz_gguf_writer_add_int32 (AttnvizGgufWriter *w, const char *key, gint32 value)
{
  add_scalar (w, key, ATTNVIZ_GGUF_INT32, (guint32) value);
}

void
attnviz_gguf_writer_add_uint64 (AttnvizGgufWriter *w, const char *key, guint64 value)
{
  add_scalar (w, key, ATTNVIZ_GGUF_UINT64, value);
}

void
attnviz_gguf_writer_add_float32 (AttnvizGgufWriter *w, const char *key, float value)
{
  guint32 bits;
  memcpy (&bits, &value, 4);
  add_scalar (w, key, ATTNVIZ_GGUF_FLOAT32, bits);
}

void
attnviz_gguf_writer_add_bool (AttnvizGgufWriter *w, const char *key, gboolean value)
{
  add_scalar (w, key, ATTNVIZ_GGUF_BOOL, value ? 1 : 0);
}

/* One value of SIZE bytes at P, in host order. */
static guint64
host_value (const guint8 *p, gsize size)
{
  switch (size)
    {
    case 1: return p[0];
    case 2: { guint16 x; memcpy (&x, p, 2); return x; }
    case 4: { guint32 x; memcpy (&x, p, 4); return x; }
    default: { guint64 x; memcpy (&x, p, 8); return x; }
    }
}

void
attnviz_gguf_writer_add_scalar (AttnvizGgufWriter *w, const char *key, AttnvizGgufType type,
                                const void *value)
{
  g_return_if_fail (attnviz_gguf_type_size (type) > 0);
  g_return_if_fail (value != NULL);
  add_scalar (w, key, type, host_value (value, attnviz_gguf_type_size (type)));
}

void
attnviz_gguf_writer_add_string (AttnvizGgufWriter *w, const char *key, const char *value)
{
  g_return_if_fail (w != NULL);
  g_return_if_fail (key_ok (key));
  g_return_if_fail (value != NULL);
  GByteArray *b = value_new (ATTNVIZ_GGUF_STRING);
  put_string (b, value, strlen (value));
  add_value (w, key, b);
}

void
attnviz_gguf_writer_add_string_array (AttnvizGgufWriter *w, const char *key,
                                      const char *const *values, gsize n)
{
  g_return_if_fail (w != NULL);
  g_return_if_fail (key_ok (key));
  g_return_if_fail (values != NULL || n == 0);
  GByteArray *b = value_new (ATTNVIZ_GGUF_ARRAY);
  put_le (b, ATTNVIZ_GGUF_STRING, 4);
  put_le (b, n, 8);
  for (gsize i = 0; i < n; i++)
    put_string (b, values[i], strlen (values[i]));
  add_value (w, key, b);
}

void
attnviz_gguf_writer_add_array (AttnvizGgufWriter *w, const char *key, AttnvizGgufType type,
                               const void *data, gsize n)
{
  g_return_if_fail (w != NULL);
  g_return_if_fail (key_ok (key));
  gsize size = attnviz_gguf_type_size (type);
  g_return_if_fail (size > 0);
  g_return_if_fail (data != NULL || n == 0);
  GByteArray *b = value_new (ATTNVIZ_GGUF_ARRAY);
  put_le (b, type, 4);
  put_le (b, n, 8);
  const guint8 *p = data;
  for (gsize i = 0; i < n; i++)
    put_le (b, host_value (p + i * size, size), size);
  add_value (w, key, b);
}

void
attnviz_gguf_writer_copy_kv (AttnvizGgufWriter *w, const AttnvizGguf *src,
                             gboolean (*skip) (const char *key, gpointer data), gpointer data)
{
  g_return_if_fail (w != NULL);
  g_return_if_fail (src != NULL);
  for (guint i = 0; i < src->kvs->len; i++)
    {
      const AttnvizGgufKv *kv = &g_array_index (src->kvs, AttnvizGgufKv, i);
      if (skip != NULL && skip (kv->key, data))
        continue;
      /* The reader checked the value: its bytes are copied as they are. */
      GByteArray *b = g_byte_array_new ();
      put_bytes (b, kv->raw, kv->raw_len);
      add_value (w, kv->key, b);
    }
}

/* ---- tensors ------------------------------------------------------------- */

static WriterTensor *
tensor_new (AttnvizGgufWriter *w, const char *name, guint32 type, int n_dims, const gint64 *ne,
            gsize n_bytes)
{
  WriterTensor *t = g_new0 (WriterTensor, 1);
  t->name = g_strdup (name);
  t->type = type;
  t->n_dims = n_dims;
  for (int d = 0; d < ATTNVIZ_GGUF_MAX_DIMS; d++)
    t->ne[d] = d < n_dims ? ne[d] : 1;
  t->n_bytes = n_bytes;
  g_ptr_array_add (w->tensors, t);
  return t;
}

void
attnviz_gguf_writer_add_tensor (AttnvizGgufWriter *w, const char *name, guint32 type,
                                int n_dims, const gint64 *ne, const void *data,
                                gsize n_bytes, GDestroyNotify destroy)
{
  g_return_if_fail (w != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (n_dims >= 1 && n_dims <= ATTNVIZ_GGUF_MAX_DIMS);
  g_return_if_fail (ne != NULL);
  g_return_if_fail (data != NULL || n_bytes == 0);

  WriterTensor *t = tensor_new (w, name, type, n_dims, ne, n_bytes);
  t->data = data;
  t->destroy = destroy;
}

void
attnviz_gguf_writer_add_tensor_func (AttnvizGgufWriter *w, const char *name, guint32 type,
                                     int n_dims, const gint64 *ne, gsize n_bytes,
                                     AttnvizGgufTensorFunc func, gpointer user_data,
                                     GDestroyNotify user_data_destroy)
{
  g_return_if_fail (w != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (n_dims >= 1 && n_dims <= ATTNVIZ_GGUF_MAX_DIMS);
  g_return_if_fail (ne != NULL);
  g_return_if_fail (func != NULL);

  WriterTensor *t = tensor_new (w, name, type, n_dims, ne, n_bytes);
  t->func = func;
  t->func_data = user_data;
  t->func_data_destroy = user_data_destroy;
}

/* ---- the file ------------------------------------------------------------ */

static gboolean G_GNUC_PRINTF (4, 5)
tensor_error (GError **error, const char *path, const WriterTensor *t, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *problem = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_autofree char *quoted = attnviz_gguf_escape (t->name, strlen (t->name), 80);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: tensor \"%s\": %s", path,
               quoted, problem);
  return FALSE;
}

/* The alignment the file will use, from general.alignment when it is set. */
static gboolean
writer_alignment (AttnvizGgufWriter *w, const char *path, guint32 *out, GError **error)
{
  *out = ATTNVIZ_GGUF_DEFAULT_ALIGNMENT;
  WriterKv *kv = g_hash_table_lookup (w->kv_index, "general.alignment");
  if (kv == NULL)
    return TRUE;
  const guint8 *v = kv->value->data;
  guint32 type = v[0] | v[1] << 8 | (guint32) v[2] << 16 | (guint32) v[3] << 24;
  guint32 a = 0;
  if (type == ATTNVIZ_GGUF_UINT32)
    a = v[4] | v[5] << 8 | (guint32) v[6] << 16 | (guint32) v[7] << 24;
  if (a == 0 || (a & (a - 1)) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: general.alignment must be a uint32 power of two", path);
      return FALSE;
    }
  *out = a;
  return TRUE;
}

/* Checks every tensor and gives each its offset in the data section. */
static gboolean
place_tensors (AttnvizGgufWriter *w, const char *path, guint32 alignment, GError **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint64 offset = 0;

  for (guint i = 0; i < w->tensors->len; i++)
    {
      WriterTensor *t = g_ptr_array_index (w->tensors, i);
      const char *type_name;
      int block_size;
      gsize block_bytes, row_bytes;
      guint64 rows = 1, n_bytes;

      if (t->name[0] == '\0' || strlen (t->name) > LLAMA_CPP_MAX_NAME_BYTES)
        return tensor_error (error, path, t, "a name of %zu bytes (llama.cpp reads 1 to %d)",
                             strlen (t->name), LLAMA_CPP_MAX_NAME_BYTES);
      if (!attnviz_gguf_name_ok (t->name, strlen (t->name)))
        return tensor_error (error, path, t, "the name is not UTF-8 without control characters");
      if (!g_hash_table_add (seen, t->name))
        return tensor_error (error, path, t, "added twice");
      if (!attnviz_weight_type_known (t->type, &type_name, &block_size, &block_bytes))
        return tensor_error (error, path, t, "unknown type id %u", t->type);
      for (int d = 1; d < ATTNVIZ_GGUF_MAX_DIMS; d++)
        if (t->ne[d] < 0 || !g_uint64_checked_mul (&rows, rows, (guint64) t->ne[d]))
          return tensor_error (error, path, t, "dimension %d is %" G_GINT64_FORMAT, d, t->ne[d]);
      if (t->ne[0] < 0 || !attnviz_weight_row_bytes ((AttnvizWeightType) t->type, t->ne[0],
                                                       &row_bytes))
        return tensor_error (error, path, t, "%" G_GINT64_FORMAT " values per row do not fit "
                             "in %s blocks of %d", t->ne[0], type_name, block_size);
      if (!g_uint64_checked_mul (&n_bytes, rows, row_bytes) || n_bytes != t->n_bytes)
        return tensor_error (error, path, t, "%zu bytes given for %" G_GUINT64_FORMAT " rows "
                             "of %zu bytes", t->n_bytes, rows, row_bytes);
      t->offset = offset;
      if (!g_uint64_checked_add (&offset, offset, n_bytes)
          || !g_uint64_checked_add (&offset, offset, alignment - 1))
        return tensor_error (error, path, t, "the data passes 2^64 bytes");
      offset &= ~(guint64) (alignment - 1);
    }
  return TRUE;
}

typedef struct {
  FILE *f;
  guint64 written;
} Out;

static void
emit (Out *o, const void *data, gsize len)
{
  if (len > 0 && fwrite (data, 1, len, o->f) != len)
    return;  /* ferror is checked at the end */
  o->written += len;
}

static void
emit_le (Out *o, guint64 v, gsize size)
{
  guint8 bytes[8];
  for (gsize i = 0; i < size; i++)
    bytes[i] = (guint8) (v >> (8 * i));
  emit (o, bytes, size);
}

static void
emit_padding (Out *o, guint32 alignment)
{
  static const guint8 zeros[64];
  gsize pad = (gsize) ((alignment - o->written % alignment) % alignment);
  while (pad > 0)
    {
      gsize n = MIN (pad, sizeof zeros);
      emit (o, zeros, n);
      pad -= n;
    }
}

gboolean
attnviz_gguf_writer_write (AttnvizGgufWriter *w, const char *path, GError **error)
{
  g_return_val_if_fail (w != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  guint32 alignment;
  if (!writer_alignment (w, path, &alignment, error)
      || !place_tensors (w, path, alignment, error))
    return FALSE;

  AttnvizAtomicFile *file = attnviz_atomic_file_open (path, error);
  if (file == NULL)
    return FALSE;
  Out o = { attnviz_atomic_file_get_stream (file), 0 };

  emit (&o, "GGUF", 4);
  emit_le (&o, 3, 4);
  emit_le (&o, w->tensors->len, 8);
  emit_le (&o, w->kvs->len, 8);
  for (guint i = 0; i < w->kvs->len; i++)
    {
      const WriterKv *kv = g_ptr_array_index (w->kvs, i);
      emit_le (&o, strlen (kv->key), 8);
      emit (&o, kv->key, strlen (kv->key));
      emit (&o, kv->value->data, kv->value->len);
    }
  for (guint i = 0; i < w->tensors->len; i++)
    {
      const WriterTensor *t = g_ptr_array_index (w->tensors, i);
      emit_le (&o, strlen (t->name), 8);
      emit (&o, t->name, strlen (t->name));
      emit_le (&o, (guint32) t->n_dims, 4);
      for (int d = 0; d < t->n_dims; d++)
        emit_le (&o, (guint64) t->ne[d], 8);
      emit_le (&o, t->type, 4);
      emit_le (&o, t->offset, 8);
    }
  emit_padding (&o, alignment);
  guint64 data_start = o.written;
  for (guint i = 0; i < w->tensors->len && !ferror (o.f); i++)
    {
      const WriterTensor *t = g_ptr_array_index (w->tensors, i);
      g_assert (o.written - data_start == t->offset || ferror (o.f));
      if (t->func != NULL)
        {
          GDestroyNotify destroy = NULL;
          const void *data = t->func (t->func_data, &destroy, error);
          if (data == NULL && t->n_bytes > 0)
            {
              attnviz_atomic_file_abort (file);
              return FALSE;
            }
          emit (&o, data, t->n_bytes);
          if (destroy != NULL)
            destroy ((gpointer) data);
        }
      else
        emit (&o, t->data, t->n_bytes);
      emit_padding (&o, alignment);
    }
  return attnviz_atomic_file_commit (file, error);
}
