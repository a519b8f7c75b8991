/* attnviz-fileutil.c: files read and written safely
 *
 * Reading only regular files (a FIFO or a device never blocks a load),
 * removing half-written outputs on a fatal signal, writing a file through
 * a temporary beside it renamed into place, and names from files made fit
 * for a message.  Folders written as a whole are in
 * attnviz-fileutil-dir.c (attnviz-fileutil-private.h has what they share).
 */

#define G_LOG_DOMAIN "attnviz-fileutil"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-fileutil.h"
#include "attnviz-fileutil-private.h"

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
      int saved = errno;
      struct stat lst;
      if (saved == ENOENT && lstat (path, &lst) == 0 && S_ISLNK (lst.st_mode))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     "%s: is a symbolic link to a file that does not exist", path);
      else
        set_errno_error (error, path, saved);
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

gboolean
attnviz_path_present (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0;
}

/* ---- cleaning up on signals ------------------------------------------- */

#define MAX_CLEANUP 64

/* Published with an atomic pointer store after is_dir is set; the handler
 * only reads them. */
static char *volatile cleanup_paths[MAX_CLEANUP];
static volatile sig_atomic_t cleanup_is_dir[MAX_CLEANUP];

int
attnviz_cleanup_register (const char *path, gboolean is_dir)
{
  g_return_val_if_fail (path != NULL, -1);
  char *copy = g_strdup (path);
  for (int i = 0; i < MAX_CLEANUP; i++)
    if (cleanup_paths[i] == NULL)
      {
        cleanup_is_dir[i] = is_dir;
        if (g_atomic_pointer_compare_and_exchange ((gpointer *) &cleanup_paths[i], NULL, copy))
          return i;
      }
  g_free (copy);
  return -1;
}

void
attnviz_cleanup_unregister (int slot)
{
  if (slot < 0 || slot >= MAX_CLEANUP)
    return;
  char *path = g_atomic_pointer_exchange ((gpointer *) &cleanup_paths[slot], NULL);
  g_free (path);
}

/* Unlinks every entry of the folder PATH (not below: temporary folders
 * hold plain files), then the folder.  Only system calls: no malloc, no
 * stdio, nothing a signal handler may not call. */
static void
remove_dir_in_handler (const char *path)
{
  static char buf[4096] __attribute__ ((aligned (8)));
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0)
    {
      for (;;)
        {
          long n = syscall (SYS_getdents64, fd, buf, sizeof buf);
          if (n <= 0)
            break;
          for (long off = 0; off < n;)
            {
              /* struct linux_dirent64: d_ino 8, d_off 8, d_reclen 2, d_type 1, d_name */
              unsigned short reclen;
              memcpy (&reclen, buf + off + 16, sizeof reclen);
              const char *name = buf + off + 19;
              if (!(name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))))
                unlinkat (fd, name, 0);
              off += reclen;
            }
        }
      close (fd);
    }
  rmdir (path);
}

static void
on_fatal_signal (int sig)
{
  int saved_errno = errno;
  /* Files first, then folders (a folder's own files may be listed too). */
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < MAX_CLEANUP; i++)
      {
        const char *path = cleanup_paths[i];
        if (path == NULL || cleanup_is_dir[i] != pass)
          continue;
        if (pass == 0)
          unlink (path);
        else
          remove_dir_in_handler (path);
      }
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  sigemptyset (&dfl.sa_mask);
  sigaction (sig, &dfl, NULL);
  errno = saved_errno;
  raise (sig);
}

void
attnviz_cleanup_install_handlers (void)
{
  static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    {
      struct sigaction old;
      if (sigaction (signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
        continue;
      struct sigaction sa = { .sa_handler = on_fatal_signal };
      sigemptyset (&sa.sa_mask);
      for (guint j = 0; j < G_N_ELEMENTS (signals); j++)
        sigaddset (&sa.sa_mask, signals[j]);
      sigaction (signals[i], &sa, NULL);
    }
}

/* ---- writing ------------------------------------------------------------ */

/* The output policy (see the header): FALSE with an error for a link or
 * anything but a regular file (or, with WANT_DIR, a folder).  ST gets the
 * lstat of an existing target. */
gboolean
_attnviz_inspect_target (const char *path, gboolean want_dir, TargetKind *kind, struct stat *st,
                         GError **error)
{
  if (path == NULL || *path == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "the output path is empty");
      return FALSE;
    }
  if (lstat (path, st) != 0)
    {
      int saved = errno;
      if (saved == ENOENT)
        {
          *kind = TARGET_ABSENT;
          return TRUE;
        }
      set_errno_error (error, path, saved);
      return FALSE;
    }
  if (S_ISLNK (st->st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   "%s: is a symbolic link; attnviz does not write through links (give the path it points to)",
                   path);
      return FALSE;
    }
  if (want_dir ? S_ISDIR (st->st_mode) : S_ISREG (st->st_mode))
    {
      *kind = want_dir ? TARGET_DIR : TARGET_REGULAR;
      return TRUE;
    }
  if (want_dir && S_ISREG (st->st_mode))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                 "%s: is a file, not a folder; attnviz writes this output as a folder", path);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                 "%s: is %s; attnviz replaces only %s", path, file_kind (st->st_mode),
                 want_dir ? "folders it wrote" : "regular files");
  return FALSE;
}

gboolean
attnviz_output_check (const char *path, GError **error)
{
  TargetKind kind;
  struct stat st;
  return _attnviz_inspect_target (path, FALSE, &kind, &st, error);
}

/* DIR/.BASE.XXXXXXXXXXXX: twelve random letters and digits (62^12 names, so
 * a clash with an existing file is not a practical event). */
char *
_attnviz_temp_name (const char *dir, const char *base)
{
  static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  char suffix[13];
  for (int i = 0; i < 12; i++)
    suffix[i] = chars[g_random_int_range (0, sizeof chars - 1)];
  suffix[12] = '\0';
  return g_strdup_printf ("%s/.%s.%s", dir, base, suffix);
}

/* Creates a temporary file (returns its descriptor) or folder (returns 0)
 * beside the output, with MODE (the umask applies).  The name is entered in
 * the signal cleanup table before the file exists, so no signal can come
 * between the two and leave it behind.  -1 with errno on failure. */
int
_attnviz_create_temp (const char *dir, const char *base, gboolean is_dir, int mode,
                      char **path_out, int *slot_out)
{
  for (int attempt = 0; attempt < 16; attempt++)
    {
      char *path = _attnviz_temp_name (dir, base);
      int slot = attnviz_cleanup_register (path, is_dir);
      int fd = is_dir ? (mkdir (path, (mode_t) mode) == 0 ? 0 : -1)
                      : open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
      if (fd >= 0)
        {
          *path_out = path;
          *slot_out = slot;
          return fd;
        }
      int saved = errno;
      attnviz_cleanup_unregister (slot);
      g_free (path);
      if (saved != EEXIST)
        {
          errno = saved;
          return -1;
        }
    }
  errno = EEXIST;
  return -1;
}

/* Renames the finished temporary TMP onto PATH, refusing again (the
 * target may have changed since open) anything the policy refuses.  When
 * PATH was absent it must still be absent: RENAME_NOREPLACE. */
static int
rename_into_place (const char *tmp, const char *path, gboolean want_dir, GError **error)
{
  /* A second try when something appeared at PATH meanwhile: it is then
   * inspected like any existing target. */
  for (int attempt = 0; attempt < 2; attempt++)
    {
      TargetKind kind;
      struct stat st;
      if (!_attnviz_inspect_target (path, want_dir, &kind, &st, error))
        return -1;
      if (kind != TARGET_ABSENT)
        break;
      if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
      if (errno == EINVAL || errno == ENOSYS)
        break;  /* a filesystem without renameat2 flags: a plain rename */
      if (errno != EEXIST)
        return errno;
    }
  return rename (tmp, path) == 0 ? 0 : errno;
}

struct _AttnvizAtomicFile {
  char *path;
  char *tmp_path;
  FILE *stream;
  int slot;   /* in the signal cleanup table */
};

AttnvizAtomicFile *
attnviz_atomic_file_open (const char *path, GError **error)
{
  TargetKind kind;
  struct stat st;
  if (!_attnviz_inspect_target (path, FALSE, &kind, &st, error))
    return NULL;

  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmpl = NULL;
  int slot = -1;
  /* A new file gets 0666 & ~umask from open () itself; a replacement is
   * made private first and given the old file's bits before any byte is
   * written, so it is never readable by more people than the old one. */
  int fd = _attnviz_create_temp (dir, base, FALSE, kind == TARGET_REGULAR ? 0600 : 0666, &tmpl, &slot);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: cannot create a file in %s: %s", path, dir, g_strerror (saved));
      return NULL;
    }
  if (kind == TARGET_REGULAR)
    {
      /* Another owner's file (when run as root) stays theirs; failing that
       * is harmless. */
      if (fchown (fd, st.st_uid, st.st_gid) != 0)
        g_debug ("%s: keeping the owner failed: %s", path, g_strerror (errno));
      if (fchmod (fd, st.st_mode & 07777) != 0)
        {
          int saved = errno;
          close (fd);
          g_unlink (tmpl);
          attnviz_cleanup_unregister (slot);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "%s: cannot keep the file's permissions: %s", path, g_strerror (saved));
          return NULL;
        }
    }
  FILE *stream = fdopen (fd, "wb");
  if (stream == NULL)
    {
      int saved = errno;
      close (fd);
      g_unlink (tmpl);
      attnviz_cleanup_unregister (slot);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: %s", path, g_strerror (saved));
      return NULL;
    }
  AttnvizAtomicFile *self = g_new0 (AttnvizAtomicFile, 1);
  self->path = g_strdup (path);
  self->tmp_path = g_steal_pointer (&tmpl);
  self->stream = stream;
  self->slot = slot;
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
  attnviz_cleanup_unregister (self->slot);
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
  if (saved == 0)
    {
      GError *local = NULL;
      saved = rename_into_place (self->tmp_path, self->path, FALSE, &local);
      if (saved < 0)
        {
          g_propagate_error (error, local);
          g_unlink (self->tmp_path);
          atomic_file_free (self);
          return FALSE;
        }
    }
  if (saved != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: cannot write: %s", self->path, g_strerror (saved));
      g_unlink (self->tmp_path);
      atomic_file_free (self);
      return FALSE;
    }
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

/* ---- messages ----------------------------------------------------------- */

typedef enum {
  ESCAPE_LINE,   /* one line: a newline too */
  ESCAPE_QUOTED, /* one line, and '"' and '\\' for a value inside quotes */
  ESCAPE_TEXT,   /* many lines: newline and tab kept */
} EscapeMode;

static char *
escape_controls (const char *s, EscapeMode mode)
{
  gboolean quotes = mode == ESCAPE_QUOTED;
  if (s == NULL)
    return g_strdup ("(null)");
  GString *out = g_string_sized_new (strlen (s) + 8);
  const char *p = s;
  while (*p)
    {
      gunichar c = g_utf8_get_char_validated (p, -1);
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      const char *next = g_utf8_next_char (p);
      if (mode == ESCAPE_TEXT && (c == '\n' || c == '\t'))
        g_string_append_c (out, (char) c);
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02x", (guint) c);
      else if (c >= 0x80 && c < 0xa0)
        g_string_append_printf (out, "\\u%04x", (guint) c);
      else if (quotes && (c == '"' || c == '\\'))
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
      else
        g_string_append_len (out, p, next - p);
      p = next;
    }
  return g_string_free (out, FALSE);
}

char *
attnviz_printable (const char *s)
{
  return escape_controls (s, ESCAPE_QUOTED);
}

char *
attnviz_printable_line (const char *s)
{
  return escape_controls (s, ESCAPE_LINE);
}

char *
attnviz_printable_text (const char *s)
{
  return escape_controls (s, ESCAPE_TEXT);
}

char *
attnviz_quote_name (const char *name)
{
  char high[129];

  for (int i = 0; i < 128; i++)
    high[i] = (char) (0x80 + i);
  high[128] = '\0';
  return g_strescape (name, high);
}

char *
attnviz_shape_string (const gint64 *shape, int n_dims)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}
