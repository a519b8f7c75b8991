#define G_LOG_DOMAIN "attnviz-fileutil"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-fileutil.h"

/* ---- reading ------------------------------------------------------------ */

static const char *
file_kind (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a folder";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  if (S_ISSOCK (mode))
    return "a socket";
  return "not a plain file";
}

static void
set_errno_error (GError **error, const char *path, int saved)
{
  const char *why;
  switch (saved)
    {
    case ENOENT: why = "no such file"; break;
    case ELOOP: why = "too many levels of symbolic links"; break;
    case ENOTDIR: why = "a part of the path is not a folder"; break;
    default: why = g_strerror (saved); break;
    }
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path, why);
}

int
attnviz_open_regular (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, -1);

  int fd = open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    {
      set_errno_error (error, path, errno);
      return -1;
    }
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      int saved = errno;
      close (fd);
      set_errno_error (error, path, saved);
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, G_IO_ERROR,
                   S_ISDIR (st.st_mode) ? G_IO_ERROR_IS_DIRECTORY : G_IO_ERROR_NOT_REGULAR_FILE,
                   "%s: is %s, not a regular file", path, file_kind (st.st_mode));
      return -1;
    }
  /* Reads from a regular file never block; clear the flag all the same so
   * the descriptor behaves like any other. */
  int flags = fcntl (fd, F_GETFL);
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

GMappedFile *
attnviz_map_regular (const char *path, GError **error)
{
  int fd = attnviz_open_regular (path, error);
  if (fd < 0)
    return NULL;
  GError *local = NULL;
  GMappedFile *mapped = g_mapped_file_new_from_fd (fd, FALSE, &local);
  close (fd);
  if (mapped == NULL)
    {
      /* GMappedFile's message repeats the path with stray quotes: keep
       * only its last part ("mmap() failed: Cannot allocate memory"). */
      const char *why = strstr (local->message, "mmap()");
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot map the file: %s", path,
                   why ? why : local->message);
      g_error_free (local);
      return NULL;
    }
  return mapped;
}

gboolean
attnviz_read_regular (const char *path,
                      gsize max_bytes,
                      const char *what,
                      char **contents,
                      gsize *length,
                      GError **error)
{
  g_return_val_if_fail (contents != NULL, FALSE);

  int fd = attnviz_open_regular (path, error);
  if (fd < 0)
    return FALSE;
  struct stat st;
  if (fstat (fd, &st) != 0 || st.st_size < 0)
    {
      int saved = errno ? errno : EIO;
      close (fd);
      set_errno_error (error, path, saved);
      return FALSE;
    }
  if ((guint64) st.st_size > max_bytes)
    {
      close (fd);
      g_autofree char *size = g_format_size ((guint64) st.st_size);
      g_autofree char *limit = g_format_size (max_bytes);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: %s is too large for %s (at most %s)", path, size, what, limit);
      return FALSE;
    }

  /* The size may change under us: read until EOF, never past MAX_BYTES. */
  gsize cap = (gsize) st.st_size + 1, len = 0;
  char *buf = g_try_malloc (cap + 1);
  if (buf == NULL)
    {
      close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "%s: out of memory reading it", path);
      return FALSE;
    }
  for (;;)
    {
      if (len == cap)
        {
          if (cap > max_bytes)
            {
              g_free (buf);
              close (fd);
              g_autofree char *limit = g_format_size (max_bytes);
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s: too large for %s (at most %s)", path, what, limit);
              return FALSE;
            }
          gsize bigger = MIN (cap * 2, max_bytes + 1);
          char *grown = g_try_realloc (buf, bigger + 1);
          if (grown == NULL)
            {
              g_free (buf);
              close (fd);
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "%s: out of memory reading it", path);
              return FALSE;
            }
          buf = grown;
          cap = bigger;
        }
      gssize n = read (fd, buf + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_free (buf);
          close (fd);
          set_errno_error (error, path, saved);
          return FALSE;
        }
      if (n == 0)
        break;
      len += (gsize) n;
    }
  close (fd);
  if (len > max_bytes)
    {
      g_free (buf);
      g_autofree char *limit = g_format_size (max_bytes);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: too large for %s (at most %s)", path, what, limit);
      return FALSE;
    }
  buf[len] = '\0';
  *contents = buf;
  if (length)
    *length = len;
  return TRUE;
}

/* ---- writing ------------------------------------------------------------ */

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
