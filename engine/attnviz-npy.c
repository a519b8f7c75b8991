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

gboolean
attnviz_npy_write (const char *path,
                   AttnvizNpyType type,
                   const gint64 *shape,
                   int n_dims,
                   const void *data,
                   GError **error)
{
  gsize elem;
  npy_descr (type, &elem);
  gsize n = 1;
  for (int i = 0; i < n_dims; i++)
    n *= (gsize) shape[i];

  g_autoptr(GBytes) header = attnviz_npy_header (type, shape, n_dims);
  AttnvizAtomicFile *file = attnviz_atomic_file_open (path, error);
  if (file == NULL)
    return FALSE;
  FILE *f = attnviz_atomic_file_get_stream (file);
  gsize hlen;
  const void *h = g_bytes_get_data (header, &hlen);
  if (fwrite (h, 1, hlen, f) != hlen || (n > 0 && fwrite (data, elem, n, f) != n))
    {
      int saved = errno ? errno : EIO;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: cannot write: %s", path,
                   g_strerror (saved));
      attnviz_atomic_file_abort (file);
      return FALSE;
    }
  return attnviz_atomic_file_commit (file, error);
}
