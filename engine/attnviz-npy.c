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

/* ---- reading ---- */

static gboolean G_GNUC_PRINTF (3, 4)
npy_bad (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_autofree char *shown = attnviz_printable (path);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", shown, msg);
  return FALSE;
}

/* The value of KEY ('descr': '<f4') in a header dict, as the text after
 * its colon. */
static const char *
dict_value (const char *dict, const char *key)
{
  const char *at = strstr (dict, key);
  if (at == NULL)
    return NULL;
  at = strchr (at + strlen (key), ':');
  if (at == NULL)
    return NULL;
  at++;
  while (*at == ' ')
    at++;
  return at;
}

float *
attnviz_npy_read_floats (const char *path, gint64 *shape, int max_dims, int *n_dims, GError **error)
{
  g_autoptr(GMappedFile) map = attnviz_map_regular (path, error);
  if (map == NULL)
    return NULL;
  return attnviz_npy_read_floats_bytes ((const guint8 *) g_mapped_file_get_contents (map),
                                        g_mapped_file_get_length (map), path, shape, max_dims, n_dims, error);
}

float *
attnviz_npy_read_floats_bytes (const guint8 *data, gsize len, const char *path, gint64 *shape, int max_dims,
                               int *n_dims, GError **error)
{
  return attnviz_npy_read_floats_max (data, len, path, shape, max_dims, n_dims, G_MAXUINT64, error);
}

float *
attnviz_npy_read_floats_max (const guint8 *data, gsize len, const char *path, gint64 *shape, int max_dims,
                             int *n_dims, guint64 max_values, GError **error)
{
  if (len < 10 || memcmp (data, "\x93NUMPY", 6) != 0)
    return npy_bad (error, path, "not a .npy file (no \\x93NUMPY magic)"), NULL;
  gsize hlen, start;
  if (data[6] == 1)
    hlen = data[8] | (data[9] << 8), start = 10;
  else if ((data[6] == 2 || data[6] == 3) && len >= 12)
    hlen = (gsize) data[8] | ((gsize) data[9] << 8) | ((gsize) data[10] << 16) | ((gsize) data[11] << 24), start = 12;
  else
    return npy_bad (error, path, "npy format version %d is not known", data[6]), NULL;
  if (hlen > len - start || hlen > 65536)
    return npy_bad (error, path, "the header runs past the end of the file"), NULL;
  g_autofree char *dict = g_strndup ((const char *) data + start, hlen);

  const char *descr = dict_value (dict, "'descr'");
  const char *fortran = dict_value (dict, "'fortran_order'");
  const char *sh = dict_value (dict, "'shape'");
  if (descr == NULL || *descr != '\'' || fortran == NULL || sh == NULL || *sh != '(')
    return npy_bad (error, path, "the header lacks descr, fortran_order or shape"), NULL;
  /* numpy's dict keeps a key's last value, this reader its first: a key
   * given twice would be read as two different arrays */
  static const char *const keys[] = { "'descr'", "'fortran_order'", "'shape'" };
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    if (strstr (strstr (dict, keys[k]) + strlen (keys[k]), keys[k]) != NULL)
      return npy_bad (error, path, "the header gives %s twice", keys[k]), NULL;
  if (!g_str_has_prefix (fortran, "False"))
    return npy_bad (error, path, "Fortran order is not supported: save it with np.ascontiguousarray"), NULL;
  static const struct { const char *descr; gsize size; } types[] = {
    { "'<f4'", 4 }, { "'<f8'", 8 }, { "'|b1'", 1 }, { "'|u1'", 1 }, { "'<i4'", 4 }, { "'<i8'", 8 },
  };
  int type = -1;
  for (guint t = 0; t < G_N_ELEMENTS (types); t++)
    if (g_str_has_prefix (descr, types[t].descr))
      type = t;
  if (type < 0)
    {
      /* the quoted dtype alone ('<c8'), at most a few printable bytes */
      int q = descr[0] != '\0';   /* past the opening quote, if there is one */
      while (q < 12 && descr[q] && descr[q] != '\'' && g_ascii_isprint (descr[q]))
        q++;
      return npy_bad (error, path, "dtype %.*s is not one of float32, float64, bool, uint8, int32, int64",
                      q + (descr[q] == '\''), descr), NULL;
    }

  *n_dims = 0;
  guint64 n = 1;
  const char *p = sh + 1;
  while (TRUE)
    {
      while (*p == ' ' || *p == ',')
        p++;
      if (*p == ')')
        break;
      char *end;
      guint64 d = g_ascii_strtoull (p, &end, 10);
      if (end == p || *n_dims >= max_dims)
        return npy_bad (error, path, "the shape is not one of at most %d dimensions", max_dims), NULL;
      if (d > G_MAXINT32)
        return npy_bad (error, path, "a dimension of %" G_GUINT64_FORMAT " is too large", d), NULL;
      shape[(*n_dims)++] = (gint64) d;
      if (d != 0 && n > G_MAXUINT64 / d)
        return npy_bad (error, path, "the shape is too large"), NULL;
      n *= d;
      p = end;
    }
  gsize body = start + hlen;
  gsize size = types[type].size;
  if (n > (len - body) / size)
    return npy_bad (error, path, "%" G_GUINT64_FORMAT " values do not fit in the file's %" G_GSIZE_FORMAT
                    " bytes: it is truncated", n, len - body), NULL;
  if (n > max_values)
    {
      g_autofree char *need = g_format_size (n * sizeof (float));
      g_autofree char *limit = g_format_size (max_values * sizeof (float));
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "%s: %" G_GUINT64_FORMAT " values take %s as float32, over the %s this reader may use", path, n,
                   need, limit);
      return NULL;
    }
  float *out = g_try_new (float, MAX (n, 1));
  if (out == NULL)
    return npy_bad (error, path, "out of memory for %" G_GUINT64_FORMAT " values", n), NULL;
  const guint8 *v = data + body;
  for (guint64 i = 0; i < n; i++, v += size)
    switch (type)
      {
      case 0: { float f; memcpy (&f, v, 4); out[i] = f; break; }
      case 1: { double d; memcpy (&d, v, 8); out[i] = (float) d; break; }
      case 2: case 3: out[i] = v[0]; break;
      case 4: { gint32 x; memcpy (&x, v, 4); out[i] = (float) GINT32_FROM_LE (x); break; }
      default: { gint64 x; memcpy (&x, v, 8); out[i] = (float) GINT64_FROM_LE (x); break; }
      }
  return out;
}
