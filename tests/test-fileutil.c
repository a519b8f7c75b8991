/* Writers go through a temporary file and a rename. */
#define G_LOG_DOMAIN "test-fileutil"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

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
  return g_test_run ();
}
