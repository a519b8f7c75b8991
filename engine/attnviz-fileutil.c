#define G_LOG_DOMAIN "attnviz-fileutil"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-fileutil.h"

struct _AttnvizAtomicFile {
  char *path;
  char *tmp_path;
  FILE *stream;
};

AttnvizAtomicFile *
attnviz_atomic_file_open (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmpl = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  int fd = g_mkstemp (tmpl);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: cannot create a file in %s: %s", path, dir, g_strerror (saved));
      return NULL;
    }
  FILE *stream = fdopen (fd, "wb");
  if (stream == NULL)
    {
      int saved = errno;
      close (fd);
      g_unlink (tmpl);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: %s", path, g_strerror (saved));
      return NULL;
    }
  AttnvizAtomicFile *self = g_new0 (AttnvizAtomicFile, 1);
  self->path = g_strdup (path);
  self->tmp_path = g_steal_pointer (&tmpl);
  self->stream = stream;
  return self;
}

FILE *
attnviz_atomic_file_get_stream (AttnvizAtomicFile *self)
{
  return self->stream;
}

static void
atomic_file_free (AttnvizAtomicFile *self)
{
  g_free (self->path);
  g_free (self->tmp_path);
  g_free (self);
}

void
attnviz_atomic_file_abort (AttnvizAtomicFile *self)
{
  if (self == NULL)
    return;
  if (self->stream != NULL)
    fclose (self->stream);
  g_unlink (self->tmp_path);
  atomic_file_free (self);
}

gboolean
attnviz_atomic_file_commit (AttnvizAtomicFile *self, GError **error)
{
  int saved = 0;
  FILE *stream = g_steal_pointer (&self->stream);

  if (ferror (stream) || fflush (stream) != 0 || fsync (fileno (stream)) != 0)
    saved = errno ? errno : EIO;
  if (fclose (stream) != 0 && saved == 0)
    saved = errno ? errno : EIO;
  if (saved == 0 && g_rename (self->tmp_path, self->path) != 0)
    saved = errno;
  if (saved != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: cannot write: %s", self->path, g_strerror (saved));
      g_unlink (self->tmp_path);
      atomic_file_free (self);
      return FALSE;
    }
  /* mkstemp makes 0600 files; outputs are ordinary user files. */
  g_chmod (self->path, 0644);
  atomic_file_free (self);
  return TRUE;
}

gboolean
attnviz_file_set_contents (const char *path, const void *data, gsize len, GError **error)
{
  AttnvizAtomicFile *file = attnviz_atomic_file_open (path, error);
  if (file == NULL)
    return FALSE;
  if (len > 0 && fwrite (data, 1, len, file->stream) != len)
    {
      int saved = errno ? errno : EIO;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: cannot write: %s", path, g_strerror (saved));
      attnviz_atomic_file_abort (file);
      return FALSE;
    }
  return attnviz_atomic_file_commit (file, error);
}
