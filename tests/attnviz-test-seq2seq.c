/* attnviz-test-seq2seq.c: what the encoder-decoder fixture tests share */
#include "config.h"

#include "attnviz-test-seq2seq.h"
#include "attnviz-test-util.h"

gint32 *
attnviz_test_load_ids (const char *fixture, const char *file, int *n)
{
  g_autofree char *path = attnviz_test_fixture_path (fixture, "reference", file, NULL);
  gint64 shape[4];
  int nd;
  gsize count;
  g_autofree float *f = attnviz_test_load_npy (path, shape, &nd, &count);
  g_assert_nonnull (f);
  gint32 *ids = g_new (gint32, count);
  for (gsize i = 0; i < count; i++)
    ids[i] = (gint32) f[i];
  *n = (int) count;
  return ids;
}

float *
attnviz_test_load_reference (const char *fixture, const char *file, gsize want)
{
  g_autofree char *path = attnviz_test_fixture_path (fixture, "reference", file, NULL);
  gint64 shape[4];
  int nd;
  gsize n;
  float *f = attnviz_test_load_npy (path, shape, &nd, &n);
  g_assert_nonnull (f);
  g_assert_cmpuint (n, ==, want);
  return f;
}

/* Every attention of the recording against the reference, read through
 * the attention objects (so a recomputed run is checked as well). */
gboolean
attnviz_test_check_attention (AttnvizAttention *att, const float *ref, int n_layer, int H, int rows, int cols,
                 const char *label)
{
  gboolean ok = TRUE;
  g_autofree float *mine = g_new (float, (gsize) rows * cols);
  for (int l = 0; l < n_layer; l++)
    for (int h = 0; h < H; h++)
      {
        attnviz_attention_get_rect (att, l, h, 0, rows, 0, cols, mine, cols);
        g_autofree char *what = g_strdup_printf ("%s layer %d head %d", label, l, h);
        ok &= attnviz_test_check_tensor (mine, ref + ((gsize) l * H + h) * rows * cols, (gsize) rows * cols, 1e-4f,
                                         what);
      }
  return ok;
}
