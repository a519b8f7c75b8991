#define G_LOG_DOMAIN "attnviz-npy"
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-npy.h"

static const char *
npy_descr (AttnvizNpyType type, gsize *elem)
{
  switch (type)
    {
    case ATTNVIZ_NPY_F32: *elem = 4; return "<f4";
    case ATTNVIZ_NPY_I32: *elem = 4; return "<i4";
    case ATTNVIZ_NPY_I64: *elem = 8; return "<i8";
    default: g_assert_not_reached ();
    }
}

GBytes *
attnviz_npy_header (AttnvizNpyType type, const gint64 *shape, int n_dims)
{
  gsize elem;
  GString *dict = g_string_new (NULL);
  g_string_append_printf (dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", npy_descr (type, &elem));
  for (int i = 0; i < n_dims; i++)
    g_string_append_printf (dict, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  if (n_dims == 1)
    g_string_append_c (dict, ',');   /* (5,) is a tuple, (5) is not */
  g_string_append (dict, "), }");
  gsize total = 10 + dict->len + 1;
  gsize padded = (total + 63) / 64 * 64;
  while (10 + dict->len + 1 < padded)
    g_string_append_c (dict, ' ');
  g_string_append_c (dict, '\n');

  GByteArray *out = g_byte_array_sized_new (padded);
  guint16 hlen = GUINT16_TO_LE ((guint16) dict->len);
  g_byte_array_append (out, (const guint8 *) "\x93NUMPY\x01\x00", 8);
  g_byte_array_append (out, (const guint8 *) &hlen, 2);
  g_byte_array_append (out, (const guint8 *) dict->str, dict->len);
  g_string_free (dict, TRUE);
  return g_byte_array_free_to_bytes (out);
}

struct _AttnvizNpyWriter {
  char *path;
  AttnvizAtomicFile *file;
  gsize elem;
  guint64 n_left;     /* elements still to write */
};

static void
npy_writer_free (AttnvizNpyWriter *self)
{
  g_free (self->path);
  g_free (self);
}

AttnvizNpyWriter *
attnviz_npy_writer_open (const char *path, AttnvizNpyType type, const gint64 *shape, int n_dims, GError **error)
{
  g_return_val_if_fail (path != NULL && (shape != NULL || n_dims == 0), NULL);
  AttnvizNpyWriter *self = g_new0 (AttnvizNpyWriter, 1);
  self->path = g_strdup (path);
  npy_descr (type, &self->elem);
  self->n_left = 1;
  for (int i = 0; i < n_dims; i++)
    {
      g_return_val_if_fail (shape[i] >= 0, NULL);
      self->n_left *= (guint64) shape[i];
    }

  g_autoptr(GBytes) header = attnviz_npy_header (type, shape, n_dims);
  self->file = attnviz_atomic_file_open (path, error);
  if (self->file == NULL)
    {
      npy_writer_free (self);
      return NULL;
    }
  gsize hlen;
  const void *h = g_bytes_get_data (header, &hlen);
  if (fwrite (h, 1, hlen, attnviz_atomic_file_get_stream (self->file)) != hlen)
    {
      int saved = errno ? errno : EIO;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: cannot write: %s", path,
                   g_strerror (saved));
      attnviz_npy_writer_abort (self);
      return NULL;
    }
  return self;
}

gboolean
attnviz_npy_writer_write (AttnvizNpyWriter *self, const void *data, gsize n_elements, GError **error)
{
  g_return_val_if_fail (self != NULL && (data != NULL || n_elements == 0), FALSE);
  g_return_val_if_fail (n_elements <= self->n_left, FALSE);
  if (n_elements == 0)
    return TRUE;
  errno = 0;
  if (fwrite (data, self->elem, n_elements, attnviz_atomic_file_get_stream (self->file)) != n_elements)
    {
      int saved = errno ? errno : EIO;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: cannot write: %s", self->path,
                   g_strerror (saved));
      return FALSE;
    }
  self->n_left -= n_elements;
  return TRUE;
}

gboolean
attnviz_npy_writer_commit (AttnvizNpyWriter *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (self->n_left != 0)
    {
      /* A caller's mistake, but never a file shorter than its header says. */
      g_critical ("%s: %" G_GUINT64_FORMAT " elements were never written", self->path, self->n_left);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: the array was not written whole", self->path);
      attnviz_npy_writer_abort (self);
      return FALSE;
    }
  gboolean ok = attnviz_atomic_file_commit (self->file, error);
  npy_writer_free (self);
  return ok;
}

void
attnviz_npy_writer_abort (AttnvizNpyWriter *self)
{
  if (self == NULL)
    return;
  attnviz_atomic_file_abort (self->file);
  npy_writer_free (self);
}

gboolean
attnviz_npy_write (const char *path,
                   AttnvizNpyType type,
                   const gint64 *shape,
                   int n_dims,
                   const void *data,
                   GError **error)
{
  gsize n = 1;
  for (int i = 0; i < n_dims; i++)
    n *= (gsize) shape[i];
  AttnvizNpyWriter *w = attnviz_npy_writer_open (path, type, shape, n_dims, error);
  if (w == NULL)
    return FALSE;
  if (!attnviz_npy_writer_write (w, data, n, error))
    {
      attnviz_npy_writer_abort (w);
      return FALSE;
    }
  return attnviz_npy_writer_commit (w, error);
}
