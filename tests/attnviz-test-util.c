#define G_LOG_DOMAIN "attnviz-test"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "attnviz-test-util.h"

static char *
build_valist (const char *base, const char *first, va_list ap)
{
  GPtrArray *parts = g_ptr_array_new ();
  g_ptr_array_add (parts, (gpointer) base);
  for (const char *p = first; p != NULL; p = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  g_ptr_array_add (parts, NULL);
  char *path = g_build_filenamev ((char **) parts->pdata);
  g_ptr_array_unref (parts);
  return path;
}

char *
attnviz_test_shared_path (const char *first, ...)
{
  const char *env = g_getenv ("ATTNVIZ_SHARED_DIR");
  g_autofree char *data = g_build_filename (env ? env : "../shared", "data", NULL);
  if (!g_file_test (data, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *msg = g_strdup_printf ("%s is absent: skipping what needs ../shared", data);
      g_test_skip (msg);
      return NULL;
    }
  va_list ap;
  va_start (ap, first);
  char *path = build_valist (data, first, ap);
  va_end (ap);
  return path;
}

char *
attnviz_test_fixture_path (const char *first, ...)
{
  const char *env = g_getenv ("ATTNVIZ_FIXTURES_DIR");
  va_list ap;
  va_start (ap, first);
  char *path = build_valist (env ? env : "tests/fixtures", first, ap);
  va_end (ap);
  return path;
}

gboolean
attnviz_test_check_tensor (const float *a, const float *b, gsize n, float tol, const char *label)
{
  float maxdiff = 0.0f;
  gsize at = 0;
  gboolean ok = TRUE;
  for (gsize i = 0; i < n; i++)
    {
      float d = fabsf (a[i] - b[i]);
      if (!(d <= tol))
        ok = FALSE;
      if (d > maxdiff || isnan (d))
        {
          maxdiff = d;
          at = i;
        }
    }
  g_test_message ("%s: %zu values, max |diff| %.3g at %zu (%s)", label, n, maxdiff, at,
                  ok ? "ok" : "MISMATCH");
  return ok;
}

float *
attnviz_test_load_npy (const char *path, gint64 *shape, int *n_dims, gsize *n)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;
  if (!g_file_get_contents (path, &contents, &len, &error))
    g_error ("%s", error->message);
  g_assert_cmpuint (len, >=, 10);
  g_assert_cmpint (memcmp (contents, "\x93NUMPY", 6), ==, 0);
  guint8 major = (guint8) contents[6];
  gsize hlen, off;
  if (major == 1)
    {
      hlen = (guint8) contents[8] | ((guint8) contents[9] << 8);
      off = 10;
    }
  else
    {
      hlen = (guint8) contents[8] | ((guint8) contents[9] << 8) | ((gsize) (guint8) contents[10] << 16);
      off = 12;
    }
  g_autofree char *header = g_strndup (contents + off, hlen);
  const char *descr = strstr (header, "'descr': '") + 10;
  const char *sh = strchr (strstr (header, "'shape': ("), '(') + 1;
  int nd = 0;
  gsize count = 1;
  while (*sh && *sh != ')')
    {
      while (*sh == ' ' || *sh == ',')
        sh++;
      if (*sh == ')')
        break;
      char *end;
      gint64 v = g_ascii_strtoll (sh, &end, 10);
      shape[nd++] = v;
      count *= v;
      sh = end;
    }
  *n_dims = nd;
  *n = count;
  const guint8 *data = (const guint8 *) contents + off + hlen;
  float *out = g_new (float, count ? count : 1);
  if (g_str_has_prefix (descr, "<f4"))
    memcpy (out, data, count * 4);
  else if (g_str_has_prefix (descr, "<i8"))
    for (gsize i = 0; i < count; i++)
      {
        gint64 v;
        memcpy (&v, data + 8 * i, 8);
        out[i] = (float) v;
      }
  else if (g_str_has_prefix (descr, "<f8"))
    for (gsize i = 0; i < count; i++)
      {
        double v;
        memcpy (&v, data + 8 * i, 8);
        out[i] = (float) v;
      }
  else if (g_str_has_prefix (descr, "<i4"))
    for (gsize i = 0; i < count; i++)
      {
        gint32 v;
        memcpy (&v, data + 4 * i, 4);
        out[i] = (float) v;
      }
  else
    g_error ("%s: unsupported npy dtype %s", path, descr);
  return out;
}

void
attnviz_test_assert_npy_close (const char *path, const char *ref_path, float tol, const char *label)
{
  gint64 s1[8], s2[8];
  int d1, d2;
  gsize n1, n2;
  g_autofree float *mine = attnviz_test_load_npy (path, s1, &d1, &n1);
  g_autofree float *ref = attnviz_test_load_npy (ref_path, s2, &d2, &n2);
  g_assert_nonnull (mine);
  g_assert_nonnull (ref);
  g_assert_cmpint (d1, ==, d2);
  for (int i = 0; i < d1; i++)
    g_assert_cmpint (s1[i], ==, s2[i]);
  g_assert_true (attnviz_test_check_tensor (mine, ref, n1, tol, label));
}

void
attnviz_test_run_clear (AttnvizTestRun *r)
{
  g_free (r->out);
  g_free (r->err);
}

void
attnviz_test_run_attnvizv (AttnvizTestRun *r, const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *exe = g_getenv ("ATTNVIZ_EXE");
  g_assert_nonnull (exe);
  g_ptr_array_add (argv, (gpointer) exe);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv ((const char *const *) argv->pdata,
                                                G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                                &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (p));
  r->status = g_subprocess_get_exit_status (p);
  if (r->err && *r->err)
    g_test_message ("stderr: %s", r->err);
}

void
attnviz_test_run_attnviz (AttnvizTestRun *r, const char *first, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  attnviz_test_run_attnvizv (r, (const char *const *) args->pdata);
}

void
attnviz_test_assert_one_line_error (const AttnvizTestRun *r, int status, const char *needle)
{
  g_assert_cmpint (r->status, ==, status);
  g_assert_nonnull (r->err);
  g_assert_cmpuint (strlen (r->err), >, 0);
  /* exactly one line */
  g_assert_nonnull (strchr (r->err, '\n'));
  g_assert_cmpstr (strchr (r->err, '\n') + 1, ==, "");
  if (needle)
    g_assert_nonnull (strstr (r->err, needle));
}

void
attnviz_test_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)))
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          attnviz_test_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

gboolean
attnviz_test_have_llref (char **libdir)
{
  g_autofree char *dir = NULL;
  if (!g_file_test (LLREF, G_FILE_TEST_IS_EXECUTABLE) || !g_file_get_contents (LLREF_LIBDIR_FILE, &dir, NULL, NULL))
    return FALSE;
  *libdir = g_strdup (g_strstrip (dir));
  return TRUE;
}
