/* test-demos.c: every built-in demo model carries sample inputs that suit it
 *
 * The welcome page offers data/models' demos and fills the input box with
 * a demo's first sample; each sample must run on its model as it is (within
 * the context, every character known to the tokenizer), and a demo.json an
 * attacker wrote is a one-line error, not a crash. */
#define G_LOG_DOMAIN "test-demos"
#include "config.h"

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/stat.h>

#include "attnviz-demos.h"
#include "attnviz-model.h"
#include "attnviz-tokenizer.h"

static void
test_every_built_in_demo_has_samples_that_fit_its_model (void)
{
  g_autofree char *dir = g_build_filename (ATTNVIZ_SOURCE_DATADIR, "models", NULL);
  g_setenv ("ATTNVIZ_DEMO_DIR", dir, TRUE);
  g_autoptr(GPtrArray) demos = attnviz_demos_list ();
  g_assert_cmpuint (demos->len, ==, 2);
  for (guint i = 0; i < demos->len; i++)
    {
      AttnvizDemo *demo = demos->pdata[i];
      g_test_message ("%s: %s, %u samples", demo->path, demo->title, g_strv_length (demo->samples));
      g_autoptr(GError) error = NULL;
      /* each built-in demo says which inputs suit it */
      g_assert_nonnull (demo->inputs);
      g_autoptr(AttnvizModel) model = attnviz_model_load (demo->path, &error);
      g_assert_no_error (error);
      g_assert_nonnull (model->tokenizer);
      for (char **s = demo->samples; *s; s++)
        {
          g_autoptr(GArray) tokens = attnviz_tokenizer_encode (model->tokenizer, *s, -1, TRUE, &error);
          g_assert_no_error (error);
          g_assert_cmpint (tokens->len, >, 1);
          g_assert_cmpint (tokens->len, <=, model->config.n_ctx);
          for (guint t = 0; t < tokens->len; t++)
            g_assert_cmpint (g_array_index (tokens, AttnvizToken, t).id, !=, attnviz_tokenizer_get_unk_id (model->tokenizer));
        }
    }
  g_assert_cmpstr (((AttnvizDemo *) demos->pdata[0])->title, ==, "Dates");
  g_assert_cmpstr (attnviz_demo_get_sample (demos->pdata[0]), ==, "saturday 21 november 2026");
  g_assert_cmpstr (((AttnvizDemo *) demos->pdata[1])->title, ==, "Induction heads");
}

static void
test_a_hostile_demo_file_is_a_one_line_error (void)
{
  static const struct {
    const char *json;
    const char *expect;
  } bad[] = {
    { "[", "demo.json" },
    { "{\"title\": \"x\"}", "\"description\" should be a text" },
    { "{\"title\": \"\", \"description\": \"d\", \"samples\": [\"a\"]}", "\"title\" should be a text" },
    { "{\"title\": 3, \"description\": \"d\", \"samples\": [\"a\"]}", "\"title\" should be a text" },
    { "{\"title\": \"t\", \"description\": \"d\", \"samples\": []}", "\"samples\" should be a list of 1 to 32" },
    { "{\"title\": \"t\", \"description\": \"d\", \"samples\": \"a\"}", "\"samples\" should be a list" },
    { "{\"title\": \"t\", \"description\": \"d\", \"samples\": [\"a\", 7]}", "sample 1 should be a text" },
    { "{\"title\": \"t\", \"description\": \"d\", \"samples\": [\"\"]}", "sample 0 should be a text" },
    { "{\"title\": \"t\", \"description\": \"d\", \"inputs\": 3, \"samples\": [\"a\"]}", "\"inputs\" should be a text" },
    { "{\"title\": \"t\", \"description\": \"d\", \"inputs\": \"\", \"samples\": [\"a\"]}", "\"inputs\" should be a text" },
  };
  g_autofree char *dir = g_dir_make_tmp ("attnviz-demo-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "demo.json", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_true (g_file_set_contents (file, bad[i].json, -1, NULL));
      g_autoptr(GError) error = NULL;
      g_autoptr(AttnvizDemo) demo = attnviz_demo_load (dir, &error);
      g_assert_null (demo);
      g_assert_nonnull (error);
      g_test_message ("%s -> %s", bad[i].json, error->message);
      g_assert_nonnull (strstr (error->message, bad[i].expect));
      g_assert_null (strchr (error->message, '\n'));
    }
  /* A FIFO where demo.json should be is refused without blocking. */
  g_unlink (file);
  g_assert_cmpint (mkfifo (file, 0600), ==, 0);
  g_autoptr(GError) error = NULL;
  g_assert_null (attnviz_demo_load (dir, &error));
  g_assert_nonnull (error);
  g_unlink (file);
  /* No demo.json: not a demo, and no error. */
  g_clear_error (&error);
  g_assert_null (attnviz_demo_load (dir, &error));
  g_assert_no_error (error);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/demos/every-built-in-demo-has-samples-that-fit-its-model",
                   test_every_built_in_demo_has_samples_that_fit_its_model);
  g_test_add_func ("/app/demos/a-hostile-demo-file-is-a-one-line-error", test_a_hostile_demo_file_is_a_one_line_error);
  return g_test_run ();
}
