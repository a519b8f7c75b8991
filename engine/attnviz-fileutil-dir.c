/* attnviz-fileutil-dir.c: folders written as a whole
 *
 * An AttnvizAtomicDir is built in a temporary folder beside its path and
 * swapped into place on commit (renameat2 RENAME_EXCHANGE where it works),
 * so a reader sees the old folder or the new one, never a mix; replacing
 * an existing folder is allowed only when it holds nothing but the files
 * the caller names.
 */
#define G_LOG_DOMAIN "attnviz-fileutil"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-fileutil.h"
#include "attnviz-fileutil-private.h"

/* ---- folders written as a whole ------------------------------------------ */

struct _AttnvizAtomicDir {
  char *path;
  char *tmp_path;
  char **known;
  int slot;
};

/* Whether the folder PATH holds only names from KNOWN; else the first
 * other name in *STRANGER. */
static gboolean
dir_holds_only (const char *path, char **known, char **stranger, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GDir) d = g_dir_open (path, 0, &local);
  if (d == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot read the folder: %s", path, local->message);
      return FALSE;
    }
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    if (!g_strv_contains ((const char *const *) known, name))
      {
        *stranger = g_strdup (name);
        return FALSE;
      }
  return TRUE;
}

static gboolean
check_dir_target (const char *path, char **known, TargetKind *kind, struct stat *st, GError **error)
{
  if (!_attnviz_inspect_target (path, TRUE, kind, st, error))
    return FALSE;
  if (*kind == TARGET_DIR && known != NULL)
    {
      g_autofree char *stranger = NULL;
      if (!dir_holds_only (path, known, &stranger, error))
        {
          if (stranger != NULL)
            {
              g_autofree char *quoted = attnviz_printable (stranger);
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                           "%s: holds \"%s\", which attnviz did not write there; attnviz replaces a folder only "
                           "when it holds nothing but a previous output", path, quoted);
            }
          return FALSE;
        }
    }
  return TRUE;
}

/* Removes from DIR the files KNOWN names (every file when KNOWN is NULL:
 * a temporary folder of our own), then DIR.  Anything else someone put in
 * an old folder meanwhile keeps it, hidden but not lost. */
static void
remove_known_dir (const char *dir, char **known)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (known == NULL || g_strv_contains ((const char *const *) known, name))
      {
        g_autofree char *child = g_build_filename (dir, name, NULL);
        g_unlink (child);
      }
  g_rmdir (dir);
}

AttnvizAtomicDir *
attnviz_atomic_dir_open (const char *path, const char *const *known, GError **error)
{
  g_return_val_if_fail (known != NULL, NULL);
  TargetKind kind;
  struct stat st;
  g_auto(GStrv) names = g_strdupv ((char **) known);
  /* "out/" names the folder out, not something inside it. */
  g_autofree char *trimmed = g_strdup (path);
  for (gsize n = strlen (trimmed); n > 1 && trimmed[n - 1] == '/'; n--)
    trimmed[n - 1] = '\0';
  path = trimmed;
  if (!check_dir_target (path, names, &kind, &st, error))
    return NULL;

  g_autofree char *parent = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmpl = NULL;
  int slot = -1;
  /* 0777 & ~umask for a new folder; an existing one keeps its bits. */
  if (_attnviz_create_temp (parent, base, TRUE, kind == TARGET_DIR ? 0700 : 0777, &tmpl, &slot) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: cannot create a folder in %s: %s", path,
                   parent, g_strerror (saved));
      return NULL;
    }
  AttnvizAtomicDir *self = g_new0 (AttnvizAtomicDir, 1);
  self->slot = slot;
  if (kind == TARGET_DIR && chmod (tmpl, st.st_mode & 07777) != 0)
    g_debug ("%s: keeping the folder's permissions failed: %s", path, g_strerror (errno));
  self->path = g_strdup (path);
  self->tmp_path = g_steal_pointer (&tmpl);
  self->known = g_steal_pointer (&names);
  return self;
}

gboolean
attnviz_output_check_dir (const char *path, const char *const *known, GError **error)
{
  TargetKind kind;
  struct stat st;
  g_auto(GStrv) names = g_strdupv ((char **) known);
  g_autofree char *trimmed = g_strdup (path ? path : "");
  for (gsize n = strlen (trimmed); n > 1 && trimmed[n - 1] == '/'; n--)
    trimmed[n - 1] = '\0';
  return check_dir_target (trimmed, names, &kind, &st, error);
}

const char *
attnviz_atomic_dir_get_path (AttnvizAtomicDir *self)
{
  return self->tmp_path;
}

static void
atomic_dir_free (AttnvizAtomicDir *self)
{
  attnviz_cleanup_unregister (self->slot);
  g_free (self->path);
  g_free (self->tmp_path);
  g_strfreev (self->known);
  g_free (self);
}

void
attnviz_atomic_dir_abort (AttnvizAtomicDir *self)
{
  if (self == NULL)
    return;
  remove_known_dir (self->tmp_path, NULL);
  atomic_dir_free (self);
}

/* fsync of every file in DIR and of DIR itself, so the rename publishes
 * data that is on disk. */
static int
sync_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);
      int fd = open (child, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return errno;
      int rc = fsync (fd) == 0 ? 0 : errno;
      close (fd);
      if (rc != 0)
        return rc;
    }
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
  return 0;
}

/* Moves the old folder at PATH aside and the new one in, on a filesystem
 * without RENAME_EXCHANGE: for a moment PATH is absent, never mixed.  The
 * old one is entered for cleanup only once the new one is in place, so a
 * signal in between leaves it hidden, not removed. */
static int
swap_without_exchange (AttnvizAtomicDir *self)
{
  g_autofree char *parent = g_path_get_dirname (self->path);
  g_autofree char *base = g_path_get_basename (self->path);
  g_autofree char *old = _attnviz_temp_name (parent, base);
  if (renameat2 (AT_FDCWD, self->path, AT_FDCWD, old, RENAME_NOREPLACE) != 0
      && !((errno == EINVAL || errno == ENOSYS) && rename (self->path, old) == 0))
    return errno;
  if (rename (self->tmp_path, self->path) != 0)
    {
      int saved = errno;
      rename (old, self->path);
      return saved;
    }
  int old_slot = attnviz_cleanup_register (old, TRUE);
  remove_known_dir (old, self->known);
  attnviz_cleanup_unregister (old_slot);
  return 0;
}

gboolean
attnviz_atomic_dir_commit (AttnvizAtomicDir *self, GError **error)
{
  int saved = sync_dir (self->tmp_path);
  /* A second round when another writer put a folder at PATH meanwhile:
   * it is then checked and swapped like any existing one. */
  for (int attempt = 0; saved == 0 && attempt < 3; attempt++)
    {
      TargetKind kind = TARGET_ABSENT;
      struct stat st;
      if (!check_dir_target (self->path, self->known, &kind, &st, error))
        {
          attnviz_atomic_dir_abort (self);
          return FALSE;
        }
      if (kind == TARGET_ABSENT)
        {
          if (renameat2 (AT_FDCWD, self->tmp_path, AT_FDCWD, self->path, RENAME_NOREPLACE) == 0
              || ((errno == EINVAL || errno == ENOSYS) && rename (self->tmp_path, self->path) == 0))
            {
              atomic_dir_free (self);
              return TRUE;
            }
          saved = errno == EEXIST || errno == ENOTEMPTY ? 0 : errno;
          continue;
        }
      /* Swap the two folders in one step; tmp_path then holds the old one,
       * still registered for cleanup while it is removed. */
      if (renameat2 (AT_FDCWD, self->tmp_path, AT_FDCWD, self->path, RENAME_EXCHANGE) == 0)
        {
          remove_known_dir (self->tmp_path, self->known);
          atomic_dir_free (self);
          return TRUE;
        }
      saved = errno;
      if (saved == ENOENT)
        saved = 0;  /* removed meanwhile: try again as absent */
      else if (saved == EINVAL || saved == ENOSYS)
        {
          saved = swap_without_exchange (self);
          if (saved == 0)
            {
              atomic_dir_free (self);
              return TRUE;
            }
        }
    }
  if (saved == 0)
    saved = EBUSY;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: cannot write the folder: %s", self->path,
               g_strerror (saved));
  attnviz_atomic_dir_abort (self);
  return FALSE;
}
