/* attnviz-test-convert.c: what the attnviz convert test programs share */
#include "config.h"

#include <glib/gstdio.h>

#include "attnviz-test-convert.h"
#include "attnviz-test-util.h"

char *attnviz_test_tmp_dir;

/* ---- sources ---- */

const AttnvizTestSource attnviz_test_sources[5] = {
  { "stories260K", FALSE, "stories260K", "hf", TRUE },
  { "tiny-llama", FALSE, "tiny-llama-gguf", "hf", FALSE },
  { "tiny-qwen2", FALSE, "tiny-qwen2-gguf", "hf", FALSE },
  { "gpt2-tiny", TRUE, "gpt2-tiny", NULL, FALSE },
  { "bert-tiny", TRUE, "bert-tiny", NULL, FALSE },
};

/* The source's path, or NULL (after g_test_skip) when ../shared is absent. */
char *
attnviz_test_source_path (const AttnvizTestSource *s)
{
  if (s->fixture)
    return attnviz_test_fixture_path (s->dir, NULL);
  return attnviz_test_shared_path ("models", s->dir, s->sub, NULL);
}

static void
log_note (const char *note, gpointer data)
{
  g_test_message ("note: %s", note);
}

/* MODEL converted to a new file in the temporary folder, named after LABEL. */
char *
attnviz_test_convert (const AttnvizModel *model, const char *label, AttnvizWeightType type, int threads)
{
  g_autofree char *name = g_strdup_printf ("%s-%s-%d.gguf", label, attnviz_weight_type_name (type), threads);
  char *out = g_build_filename (attnviz_test_tmp_dir, name, NULL);
  AttnvizConvertOptions opts = { .type = type, .n_threads = threads, .note = log_note };
  AttnvizConvertResult res;
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_convert_model (model, out, &opts, &res, &error));
  g_assert_no_error (error);
  g_test_message ("%s: %" G_GUINT64_FORMAT " bytes, %u tensors, %.2f s", name, res.file_bytes, res.n_tensors,
                  res.seconds);
  return out;
}

AttnvizModel *
attnviz_test_load (const char *path)
{
  g_autoptr(GError) error = NULL;
  AttnvizModel *m = attnviz_model_load (path, &error);
  g_assert_no_error (error);
  return m;
}

/* T ids spread over the vocabulary (BOS first when the model has one). */
gint32 *
attnviz_test_spread_ids (const AttnvizModel *m, int T)
{
  gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = (gint32) ((t * 7919 + 3) % m->config.vocab_size);
  if (m->config.bos_id >= 0)
    ids[0] = m->config.bos_id;
  return ids;
}

AttnvizRecording *
attnviz_test_forward (const AttnvizModel *m, const gint32 *ids, int T)
{
  g_autoptr(GError) error = NULL;
  AttnvizRecording *rec = attnviz_forward (m, ids, T, NULL, &error);
  g_assert_no_error (error);
  return rec;
}

void
attnviz_test_convert_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  g_autoptr(GError) error = NULL;
  attnviz_test_tmp_dir = g_dir_make_tmp ("attnviz-convert-XXXXXX", &error);
  g_assert_no_error (error);
}

int
attnviz_test_convert_run (void)
{
  int status = g_test_run ();
  attnviz_test_remove_tree (attnviz_test_tmp_dir);
  g_free (attnviz_test_tmp_dir);
  return status;
}
