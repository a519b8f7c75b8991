/* Writers go through a temporary file and a rename. */
#define G_LOG_DOMAIN "test-fileutil"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attnviz-fileutil.h"
#include "attnviz-npy.h"

static guint
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (g_dir_read_name (d))
    n++;
  return n;
}

static void
test_writing_replaces_the_file_and_leaves_no_temporary (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-fileutil-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "out.txt", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_file_set_contents (path, "first", 5, &error));
  g_assert_true (attnviz_file_set_contents (path, "second", 6, &error));
  g_assert_no_error (error);
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "second");
  g_assert_cmpuint (count_entries (dir), ==, 1);
}

static void
test_an_aborted_write_keeps_the_old_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-fileutil-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "out.txt", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_file_set_contents (path, "old", 3, &error));
  AttnvizAtomicFile *f = attnviz_atomic_file_open (path, &error);
  g_assert_no_error (error);
  fputs ("half of the new", attnviz_atomic_file_get_stream (f));
  attnviz_atomic_file_abort (f);
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old");
  g_assert_cmpuint (count_entries (dir), ==, 1);
}

static void
test_a_missing_folder_is_an_error_naming_it (void)
{
  g_autoptr(GError) error = NULL;
  g_assert_false (attnviz_file_set_contents ("/nonexistent-dir/out.txt", "x", 1, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/nonexistent-dir/out.txt"));
}

static void
test_npy_header_is_64_byte_aligned (void)
{
  gint64 shape[] = { 12, 12, 1024, 1024 };
  g_autoptr(GBytes) h = attnviz_npy_header (ATTNVIZ_NPY_F32, shape, 4);
  gsize len;
  const char *data = g_bytes_get_data (h, &len);
  g_assert_cmpuint (len % 64, ==, 0);
  g_assert_cmpmem (data, 6, "\x93NUMPY", 6);
  g_assert_cmpint (data[len - 1], ==, '\n');
  g_autofree char *dict = g_strndup (data + 10, len - 10);
  g_assert_nonnull (strstr (dict, "'shape': (12, 12, 1024, 1024)"));
  g_assert_nonnull (strstr (dict, "'descr': '<f4'"));
  gint64 one[] = { 5 };
  g_autoptr(GBytes) h1 = attnviz_npy_header (ATTNVIZ_NPY_I32, one, 1);
  g_autofree char *dict1 = g_strndup ((const char *) g_bytes_get_data (h1, NULL) + 10, g_bytes_get_size (h1) - 10);
  /* a one-element tuple keeps its comma */
  g_assert_nonnull (strstr (dict1, "'shape': (5,)"));
}

static void
test_outputs_refuse_links_and_special_files (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-fileutil-XXXXXX", NULL);
  g_autofree char *target = g_build_filename (dir, "target", NULL);
  g_autofree char *link = g_build_filename (dir, "link", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
  g_assert_true (g_file_set_contents (target, "keep", 4, NULL));
  g_assert_cmpint (symlink (target, link), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  g_autoptr(GError) error = NULL;
  g_assert_false (attnviz_file_set_contents (link, "new", 3, &error));
  g_assert_nonnull (strstr (error->message, "is a symbolic link"));
  g_clear_error (&error);
  g_assert_false (attnviz_file_set_contents (fifo, "new", 3, &error));
  g_assert_nonnull (strstr (error->message, "is a FIFO"));
  g_clear_error (&error);
  g_assert_false (attnviz_file_set_contents (dir, "new", 3, &error));
  g_assert_nonnull (strstr (error->message, "is a folder"));
  g_clear_error (&error);

  struct stat st;
  g_assert_cmpint (lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpint (lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "keep");
  g_assert_cmpuint (count_entries (dir), ==, 3);
  g_unlink (link);
  g_unlink (fifo);
  g_unlink (target);
  g_rmdir (dir);
}

static void
test_replacing_keeps_the_mode_and_new_files_take_the_umask (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-fileutil-XXXXXX", NULL);
  g_autofree char *old = g_build_filename (dir, "old", NULL);
  g_autofree char *fresh = g_build_filename (dir, "new", NULL);
  g_assert_true (g_file_set_contents (old, "x", 1, NULL));
  g_assert_cmpint (g_chmod (old, 0600), ==, 0);
  mode_t saved = umask (027);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_file_set_contents (old, "y", 1, &error));
  g_assert_true (attnviz_file_set_contents (fresh, "z", 1, &error));
  umask (saved);
  g_assert_no_error (error);
  struct stat st;
  g_assert_cmpint (stat (old, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (stat (fresh, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0640);
  g_unlink (old);
  g_unlink (fresh);
  g_rmdir (dir);
}

static const char *const known[] = { "a.npy", "meta.json", NULL };

static void
write_dir (const char *path, const char *meta)
{
  g_autoptr(GError) error = NULL;
  AttnvizAtomicDir *d = attnviz_atomic_dir_open (path, known, &error);
  g_assert_no_error (error);
  g_autofree char *m = g_build_filename (attnviz_atomic_dir_get_path (d), "meta.json", NULL);
  g_assert_true (attnviz_file_set_contents (m, meta, strlen (meta), &error));
  /* nothing of the new folder is visible before the commit */
  g_autofree char *visible = g_build_filename (path, "meta.json", NULL);
  g_autofree char *before = NULL;
  if (g_file_get_contents (visible, &before, NULL, NULL))
    g_assert_cmpstr (before, !=, meta);
  g_assert_true (attnviz_atomic_dir_commit (d, &error));
  g_assert_no_error (error);
}

static void
test_a_folder_is_swapped_in_whole (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-fileutil-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "out", NULL);
  g_autofree char *meta = g_build_filename (out, "meta.json", NULL);
  write_dir (out, "first");
  write_dir (out, "second");
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (meta, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "second");
  /* only the folder: no temporary, no old copy */
  g_assert_cmpuint (count_entries (dir), ==, 1);
  g_assert_cmpuint (count_entries (out), ==, 1);

  /* an aborted write leaves the old folder */
  g_autoptr(GError) error = NULL;
  AttnvizAtomicDir *d = attnviz_atomic_dir_open (out, known, &error);
  g_autofree char *half = g_build_filename (attnviz_atomic_dir_get_path (d), "a.npy", NULL);
  g_assert_true (g_file_set_contents (half, "half", 4, NULL));
  attnviz_atomic_dir_abort (d);
  g_assert_cmpuint (count_entries (dir), ==, 1);
  g_assert_cmpuint (count_entries (out), ==, 1);

  /* a folder with someone else's file is not replaced */
  g_autofree char *notes = g_build_filename (out, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (notes, "mine", 4, NULL));
  g_assert_null (attnviz_atomic_dir_open (out, known, &error));
  g_assert_nonnull (strstr (error->message, "notes.txt"));
  g_assert_cmpuint (count_entries (dir), ==, 1);
  g_unlink (notes);
  g_unlink (meta);
  g_rmdir (out);
  g_rmdir (dir);
}

static void
test_printable_escapes_what_a_terminal_would_run (void)
{
  g_autofree char *a = attnviz_printable ("\x1b[31mred\x07 \"q\" \xc2\x9b caf\xc3\xa9 \xff");
  g_assert_cmpstr (a, ==, "\\x1b[31mred\\x07 \\\"q\\\" \\u009b caf\xc3\xa9 \\xff");
  g_autofree char *b = attnviz_printable_line ("path/\"x\"\nnext");
  g_assert_cmpstr (b, ==, "path/\"x\"\\nnext");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/fileutil/writing-replaces-the-file-and-leaves-no-temporary",
                   test_writing_replaces_the_file_and_leaves_no_temporary);
  g_test_add_func ("/engine/fileutil/an-aborted-write-keeps-the-old-file", test_an_aborted_write_keeps_the_old_file);
  g_test_add_func ("/engine/fileutil/a-missing-folder-is-an-error-naming-it",
                   test_a_missing_folder_is_an_error_naming_it);
  g_test_add_func ("/engine/npy/header-is-64-byte-aligned", test_npy_header_is_64_byte_aligned);
  g_test_add_func ("/engine/fileutil/outputs-refuse-links-and-special-files",
                   test_outputs_refuse_links_and_special_files);
  g_test_add_func ("/engine/fileutil/replacing-keeps-the-mode-and-new-files-take-the-umask",
                   test_replacing_keeps_the_mode_and_new_files_take_the_umask);
  g_test_add_func ("/engine/fileutil/a-folder-is-swapped-in-whole", test_a_folder_is_swapped_in_whole);
  g_test_add_func ("/engine/fileutil/printable-escapes-what-a-terminal-would-run",
                   test_printable_escapes_what_a_terminal_would_run);
  return g_test_run ();
}
