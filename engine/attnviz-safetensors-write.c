/* attnviz-safetensors-write.c: writing safetensors files
 *
 * The header (__metadata__ with its keys sorted, then the tensors in the
 * order given, padded with spaces so the data starts 8-aligned), then each
 * tensor's bytes, through an atomic file: a writer that takes tensors one
 * at a time, and attnviz_safetensors_write for a list held in memory.  The
 * layout is the one attnviz-safetensors.c documents and checks on reading.
 */
#define G_LOG_DOMAIN "attnviz-safetensors"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "attnviz-fileutil.h"
#include "attnviz-json.h"
#include "attnviz-safetensors.h"
#include "attnviz-safetensors-private.h"

/* ---- writing ------------------------------------------------------------- */

static int
compare_strings (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* S as a JSON string literal, escaped as every attnviz output is. */
static void
append_json_string (GString *out, const char *s)
{
  g_autofree char *text = attnviz_json_quote (s);
  g_string_append (out, text);
}

/* The header of TENSORS and METADATA into HEADER, padded with spaces to
 * a multiple of 8 at least MIN_LEN long, and each tensor's byte count into
 * SIZES (n_tensors). */
static gboolean
build_header (const char *path, const AttnvizTensorOut *tensors, guint n_tensors, GHashTable *metadata,
              gsize min_len, GString *header, guint64 *sizes, GError **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint64 offset = 0;

  g_string_assign (header, "{");
  if (metadata != NULL && g_hash_table_size (metadata) > 0)
    {
      /* Sorted, so the same input always gives the same bytes. */
      g_autofree gpointer *keys = g_hash_table_get_keys_as_array (metadata, NULL);
      guint n_keys = g_hash_table_size (metadata);
      g_qsort_with_data (keys, n_keys, sizeof (gpointer), compare_strings, NULL);
      g_string_append (header, "\"__metadata__\":{");
      for (guint i = 0; i < n_keys; i++)
        {
          if (i > 0)
            g_string_append_c (header, ',');
          append_json_string (header, keys[i]);
          g_string_append_c (header, ':');
          append_json_string (header, g_hash_table_lookup (metadata, keys[i]));
        }
      g_string_append_c (header, '}');
    }

  for (guint t = 0; t < n_tensors; t++)
    {
      const AttnvizTensorOut *tensor = &tensors[t];
      g_return_val_if_fail (tensor->name != NULL, FALSE);
      g_return_val_if_fail ((guint) tensor->dtype < ATTNVIZ_N_DTYPES, FALSE);
      g_return_val_if_fail (tensor->n_dims >= 0 && tensor->n_dims <= ATTNVIZ_MAX_DIMS, FALSE);

      g_autofree char *quoted = attnviz_quote_name (tensor->name);
      if (strcmp (tensor->name, "__metadata__") == 0 || g_hash_table_contains (seen, tensor->name))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s: tensor \"%s\": the name is %s", path, quoted,
                       strcmp (tensor->name, "__metadata__") == 0 ? "reserved" : "used twice");
          return FALSE;
        }
      g_hash_table_add (seen, (gpointer) tensor->name);

      guint64 n = 1;
      gboolean overflow = FALSE;
      for (int d = 0; d < tensor->n_dims; d++)
        if (tensor->shape[d] < 0 || !g_uint64_checked_mul (&n, n, (guint64) tensor->shape[d]))
          overflow = TRUE;
      guint64 n_bytes = 0;
      if (overflow || !g_uint64_checked_mul (&n_bytes, n, attnviz_dtype_size (tensor->dtype))
          || n_bytes > G_MAXSIZE || offset + n_bytes < offset)
        {
          g_autofree char *shape = attnviz_shape_string (tensor->shape, tensor->n_dims);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s: tensor \"%s\": shape %s is negative or too large", path, quoted, shape);
          return FALSE;
        }
      sizes[t] = n_bytes;

      if (header->len > 1)
        g_string_append_c (header, ',');
      append_json_string (header, tensor->name);
      g_string_append_printf (header, ":{\"dtype\":\"%s\",\"shape\":[",
                              attnviz_dtype_to_string (tensor->dtype));
      for (int d = 0; d < tensor->n_dims; d++)
        g_string_append_printf (header, "%s%" G_GINT64_FORMAT, d ? "," : "", tensor->shape[d]);
      g_string_append_printf (header, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%"
                              G_GUINT64_FORMAT "]}", offset, offset + n_bytes);
      offset += n_bytes;
    }
  g_string_append_c (header, '}');

  /* Pad with spaces so the data, at 8 + header->len, starts 8-aligned. */
  while (header->len < min_len || header->len % 8 != 0)
    g_string_append_c (header, ' ');
  return TRUE;
}

struct _AttnvizSafetensorsWriter {
  char *path;
  AttnvizAtomicFile *file;
  int fd;                     /* of the file: every write is a pwrite at its place */
  AttnvizTensorOut *tensors;  /* (n_tensors) the layout, data unused */
  guint n_tensors;
  guint64 *begin;             /* (n_tensors) where each tensor's bytes start, from the data's start */
  guint64 *size;              /* (n_tensors) how many there are */
  guint64 *written;           /* (n_tensors) how many were written */
  gsize header_len;           /* fixed once written: the data's offsets hang on it */
};

static void
writer_free (AttnvizSafetensorsWriter *self)
{
  g_free (self->path);
  g_free (self->tensors);
  g_free (self->begin);
  g_free (self->size);
  g_free (self->written);
  g_free (self);
}

static gboolean
writer_failed (AttnvizSafetensorsWriter *self, int saved, GError **error)
{
  saved = saved ? saved : EIO;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: cannot write: %s", self->path,
               g_strerror (saved));
  return FALSE;
}

/* N bytes of DATA at OFFSET of the file, whatever pwrite () takes at once. */
static gboolean
write_at (AttnvizSafetensorsWriter *self, guint64 offset, const void *data, gsize n, GError **error)
{
  const guint8 *p = data;
  while (n > 0)
    {
      ssize_t k = pwrite (self->fd, p, MIN (n, (gsize) 1 << 30), (off_t) offset);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return writer_failed (self, k < 0 ? errno : EIO, error);
      p += k;
      n -= (gsize) k;
      offset += (guint64) k;
    }
  return TRUE;
}

AttnvizSafetensorsWriter *
attnviz_safetensors_writer_open (const char *path,
                                 const AttnvizTensorOut *tensors,
                                 guint n_tensors,
                                 GHashTable *metadata,
                                 gsize metadata_room,
                                 GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (tensors != NULL || n_tensors == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(GString) header = g_string_new (NULL);
  g_autofree guint64 *sizes = g_new0 (guint64, n_tensors + 1);
  if (!build_header (path, tensors, n_tensors, metadata, 0, header, sizes, error))
    return NULL;
  if (metadata_room > 0)
    {
      gsize want = header->len + metadata_room;
      while (header->len < want || header->len % 8 != 0)
        g_string_append_c (header, ' ');
    }

  AttnvizSafetensorsWriter *self = g_new0 (AttnvizSafetensorsWriter, 1);
  self->path = g_strdup (path);
  self->tensors = g_memdup2 (tensors, sizeof (AttnvizTensorOut) * MAX (n_tensors, 1));
  self->n_tensors = n_tensors;
  self->header_len = header->len;
  self->begin = g_new0 (guint64, n_tensors + 1);
  self->size = g_steal_pointer (&sizes);
  self->written = g_new0 (guint64, n_tensors + 1);
  for (guint t = 1; t < n_tensors; t++)
    self->begin[t] = self->begin[t - 1] + self->size[t - 1];

  self->file = attnviz_atomic_file_open (path, error);
  if (self->file == NULL)
    {
      writer_free (self);
      return NULL;
    }
  FILE *stream = attnviz_atomic_file_get_stream (self->file);
  if (fflush (stream) != 0)
    {
      writer_failed (self, errno, error);
      attnviz_safetensors_writer_abort (self);
      return NULL;
    }
  self->fd = fileno (stream);
  guint64 len_le = GUINT64_TO_LE ((guint64) header->len);
  if (!write_at (self, 0, &len_le, 8, error) || !write_at (self, 8, header->str, header->len, error))
    {
      attnviz_safetensors_writer_abort (self);
      return NULL;
    }
  return self;
}

gboolean
attnviz_safetensors_writer_write (AttnvizSafetensorsWriter *self, guint tensor, const void *data, gsize n_bytes,
                                  GError **error)
{
  g_return_val_if_fail (self != NULL && tensor < self->n_tensors, FALSE);
  g_return_val_if_fail (data != NULL || n_bytes == 0, FALSE);
  g_return_val_if_fail (n_bytes <= self->size[tensor] - self->written[tensor], FALSE);
  if (!write_at (self, 8 + self->header_len + self->begin[tensor] + self->written[tensor], data, n_bytes, error))
    return FALSE;
  self->written[tensor] += n_bytes;
  return TRUE;
}

gboolean
attnviz_safetensors_writer_set_metadata (AttnvizSafetensorsWriter *self, GHashTable *metadata, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_autoptr(GString) header = g_string_new (NULL);
  g_autofree guint64 *sizes = g_new0 (guint64, self->n_tensors + 1);
  if (!build_header (self->path, self->tensors, self->n_tensors, metadata, self->header_len, header, sizes, error))
    return FALSE;
  if (header->len != self->header_len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s: the metadata (%" G_GSIZE_FORMAT " bytes of header) outgrew the room kept for it (%"
                   G_GSIZE_FORMAT ")", self->path, header->len, self->header_len);
      return FALSE;
    }
  return write_at (self, 8, header->str, header->len, error);
}

gboolean
attnviz_safetensors_writer_commit (AttnvizSafetensorsWriter *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  for (guint t = 0; t < self->n_tensors; t++)
    if (self->written[t] != self->size[t])
      {
        g_critical ("%s: tensor %s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes written", self->path,
                    self->tensors[t].name, self->written[t], self->size[t]);
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: the tensors were not written whole", self->path);
        attnviz_safetensors_writer_abort (self);
        return FALSE;
      }
  gboolean ok = attnviz_atomic_file_commit (self->file, error);
  writer_free (self);
  return ok;
}

void
attnviz_safetensors_writer_abort (AttnvizSafetensorsWriter *self)
{
  if (self == NULL)
    return;
  attnviz_atomic_file_abort (self->file);
  writer_free (self);
}

gboolean
attnviz_safetensors_write (const char *path,
                           const AttnvizTensorOut *tensors,
                           guint n_tensors,
                           GHashTable *metadata,
                           GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (tensors != NULL || n_tensors == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  AttnvizSafetensorsWriter *w = attnviz_safetensors_writer_open (path, tensors, n_tensors, metadata, 0, error);
  if (w == NULL)
    return FALSE;
  for (guint t = 0; t < n_tensors; t++)
    {
      gsize n_bytes = 1;
      for (int d = 0; d < tensors[t].n_dims; d++)
        n_bytes *= (gsize) tensors[t].shape[d];
      n_bytes *= attnviz_dtype_size (tensors[t].dtype);
      if (n_bytes > 0 && tensors[t].data == NULL)
        {
          attnviz_safetensors_writer_abort (w);
          g_return_val_if_reached (FALSE);
        }
      if (!attnviz_safetensors_writer_write (w, t, tensors[t].data, n_bytes, error))
        {
          attnviz_safetensors_writer_abort (w);
          return FALSE;
        }
    }
  return attnviz_safetensors_writer_commit (w, error);
}
