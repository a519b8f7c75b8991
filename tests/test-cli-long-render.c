/* attnviz render at any length: figures of long inputs drawn from the
 * exact pooled matrices within a memory limit a dense recording would
 * break, short ones the painter's own pixels of the dense matrices.
 * (dump: test-cli-long.c.) */
#define G_LOG_DOMAIN "test-cli-long"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-painter.h"
#include "attnviz-test-cli-long.h"
#include "attnviz-test-util.h"

/* ---- render ---------------------------------------------------------------------------- */

/* DATA: the view.  T = 4096 inside 1 GiB: the figure is drawn from the
 * exact pooled heads, and says so. */
static void
test_render_of_a_long_input_is_pooled_within_a_memory_limit (gconstpointer data)
{
  const char *view = data;
  const char *model = attnviz_test_long_model ();
  if (model == NULL)
    return;
  g_autofree char *ids = attnviz_test_some_ids (4096);
  g_autofree char *file = g_strdup_printf ("long-%s.png", view);
  g_autofree char *out = attnviz_test_out_path (file);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *base[] = { "render", model, "--ids", ids, "--view", view, "-o", out };
  for (guint i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (args, (gpointer) base[i]);
  if (g_str_equal (view, "heatmap"))
    {
      /* the mean of a layer's heads, minus a variant's: every path at once */
      const char *more[] = { "--layer", "1", "--aggregate", "mean", "--variant", "mask=window:64", "--vs", "model" };
      for (guint i = 0; i < G_N_ELEMENTS (more); i++)
        g_ptr_array_add (args, (gpointer) more[i]);
    }
  g_ptr_array_add (args, NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_limited (&r, (const char *const *) args->pdata,
                            attnviz_test_address_space_limits_work () ? LONG_RUN_AS : 0);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "of 4096 tokens ("));
  if (g_str_equal (view, "heatmap"))
    g_assert_nonnull (strstr (r.err, "tokens per cell)"));
  else
    g_assert_nonnull (strstr (r.err, "tokens per thumbnail pixel)"));
  g_assert_nonnull (strstr (r.err, g_str_equal (view, "heatmap") ? "(mean of " : "(max of "));
  g_autofree char *png = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (out, &png, &len, NULL));
  g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
  g_remove (out);

  if (g_str_equal (view, "heatmap"))
    {
      /* lines of 4096 tokens are not a figure */
      g_autofree char *lines = attnviz_test_out_path ("long-lines.png");
      g_auto(AttnvizTestRun) l = { 0 };
      attnviz_test_run_attnviz (&l, "render", model, "--ids", ids, "--view", "lines", "-o", lines, NULL);
      attnviz_test_assert_one_line_error (&l, 2, "--view lines: 4096 tokens are too many");
      g_assert_false (g_file_test (lines, G_FILE_TEST_EXISTS));
    }
}

/* The subtitle render writes: the model's type, the variant (none for the
 * model as it is), the tokens, what the colours are fitted to.  (The
 * model folder's name, its parent's for "hf", leads the title.) */
static char *
render_subtitle (const AttnvizModel *model, int T)
{
  return g_strdup_printf ("%s · %d tokens · colours: per head", model->config.model_type, T);
}

static gboolean
same_file (const char *a, const char *b)
{
  g_autofree char *da = NULL, *db = NULL;
  gsize la = 0, lb = 0;
  g_assert_true (g_file_get_contents (a, &da, &la, NULL));
  g_assert_true (g_file_get_contents (b, &db, &lb, NULL));
  return la == lb && memcmp (da, db, la) == 0;
}

/* Short inputs: render reads every head through its attention source now,
 * and pools the grid's thumbnails itself when the run recomputes; the
 * figures must be the very pixels the painter makes of the dense
 * matrices, as before.  DATA: the model and the tokens ("gpt2-tiny" on 6
 * ids; stories260K on 300, a dense run, or 700, a recomputing one whose
 * thumbnails render pools through the source). */
static void
test_render_of_a_short_input_is_the_painters_picture_of_the_dense_matrices (gconstpointer data)
{
  gboolean stories = g_str_has_prefix (data, "stories260K");
  g_autofree char *path = stories ? attnviz_test_shared_path ("models", "stories260K", "hf", NULL)
                                  : attnviz_test_fixture_path ("gpt2-tiny", NULL);
  if (path == NULL)
    return;
  int T = !stories ? 6 : g_str_has_suffix (data, "700") ? 700 : 300;
  if (T == 700)
    {
      /* 40 heads of 700 x 700 are more than a run keeps dense: render
       * recomputes them (the stories260K context is 512: the long copy) */
      g_free (path);
      path = g_strdup (attnviz_test_long_model ());
    }
  g_autofree gint32 *ids = g_new (gint32, T);
  GString *spec = g_string_new (NULL);
  for (int t = 0; t < T; t++)
    {
      ids[t] = stories ? (t == 0 ? 1 : 3 + (t * 7 + t / 13) % 509) : 1 + (t * 13) % 90;
      g_string_append_printf (spec, "%s%d", t ? "," : "", ids[t]);
    }
  g_autofree char *id_spec = g_string_free (spec, FALSE);

  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (path, &error);
  g_assert_no_error (error);
  AttnvizRunOptions opt = { .skip_logits = TRUE, .storage = ATTNVIZ_STORAGE_DENSE };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &opt, &error);
  g_assert_no_error (error);
  g_assert_nonnull (rec->attn);
  const AttnvizConfig *c = &model->config;
  g_auto(GStrv) labels = g_new0 (char *, T + 1);
  for (int t = 0; t < T; t++)
    labels[t] = attnviz_tokenizer_token_display_text (model->tokenizer, NULL, NULL, ids[t]);
  const char *name = T == 700 ? "s8k" : stories ? "stories260K/hf" : "gpt2-tiny";
  g_autofree char *subtitle = render_subtitle (model, T);
  g_autofree char *head_title = g_strdup_printf ("%s · layer 1 · head 2", name);

  /* the heatmap of layer 1, head 2 */
  g_autofree char *cli = attnviz_test_out_path ("short-heatmap-cli.png");
  g_autofree char *ref = attnviz_test_out_path ("short-heatmap-painter.png");
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "render", path, "--ids", id_spec, "--layer", "1", "--head", "2", "-o", cli, "-q",
                            NULL);
  g_assert_cmpint (r.status, ==, 0);
  const float *m = attnviz_recording_get_attention (rec, 1, 2);
  AttnvizHeatmapSpec hs;
  attnviz_heatmap_spec_init (&hs, m, T, T);
  hs.row_labels = hs.col_labels = (const char *const *) labels;
  hs.title = head_title;
  hs.scale_caption = "per head";
  hs.subtitle = subtitle;
  hs.mask_future = rec->causal;
  attnviz_scale_init (&hs.scale, ATTNVIZ_SCALE_LINEAR, 0, 0);
  float vmax = 0;
  for (gsize i = 0; i < (gsize) T * T; i++)
    vmax = MAX (vmax, m[i]);
  hs.scale.vmin = 0;
  hs.scale.vmax = vmax;
  g_assert_true (attnviz_paint_to_file (ref, ATTNVIZ_FIGURE_HEATMAP, &hs, 480, 460, &error));
  g_assert_no_error (error);
  g_assert_true (same_file (cli, ref));

  /* the grid of every head: the painter pools the whole matrices itself */
  g_autofree char *gcli = attnviz_test_out_path ("short-grid-cli.png");
  g_autofree char *gref = attnviz_test_out_path ("short-grid-painter.png");
  g_auto(AttnvizTestRun) g = { 0 };
  attnviz_test_run_attnviz (&g, "render", path, "--ids", id_spec, "--view", "grid", "-o", gcli, "-q", NULL);
  g_assert_cmpint (g.status, ==, 0);
  int n = c->n_layer * c->n_head;
  g_autofree const float **maps = g_new (const float *, n);
  for (int l = 0; l < c->n_layer; l++)
    for (int h = 0; h < c->n_head; h++)
      maps[l * c->n_head + h] = attnviz_recording_get_attention (rec, l, h);
  AttnvizGridSpec gs;
  attnviz_grid_spec_init (&gs, c->n_layer, c->n_head, maps, T, T);
  gs.lower_triangular = rec->causal;
  g_autofree char *title = g_strdup_printf ("%s · %d layers × %d heads", name, c->n_layer, c->n_head);
  gs.title = title;
  gs.subtitle = subtitle;
  double w = 560, chrome = 80;
  double h = CLAMP (chrome + (w - chrome) * c->n_layer / c->n_head, 200, 2000);
  g_assert_true (attnviz_paint_to_file (gref, ATTNVIZ_FIGURE_GRID, &gs, w, h, &error));
  g_assert_no_error (error);
  g_assert_true (same_file (gcli, gref));
  g_remove (cli);
  g_remove (ref);
  g_remove (gcli);
  g_remove (gref);
}

int
main (int argc, char *argv[])
{
  attnviz_test_cli_long_init (&argc, &argv);

  g_test_add_data_func ("/cli-long/render/a-long-heatmap-is-pooled-within-a-memory-limit", "heatmap",
                        test_render_of_a_long_input_is_pooled_within_a_memory_limit);
  g_test_add_data_func ("/cli-long/render/a-long-grid-is-pooled-within-a-memory-limit", "grid",
                        test_render_of_a_long_input_is_pooled_within_a_memory_limit);
  g_test_add_data_func ("/cli-long/render/a-short-input-is-the-painters-picture/gpt2-tiny", "gpt2-tiny",
                        test_render_of_a_short_input_is_the_painters_picture_of_the_dense_matrices);
  g_test_add_data_func ("/cli-long/render/a-short-input-is-the-painters-picture/stories260K", "stories260K",
                        test_render_of_a_short_input_is_the_painters_picture_of_the_dense_matrices);
  g_test_add_data_func ("/cli-long/render/a-short-input-is-the-painters-picture/stories260K-recomputed",
                        "stories260K-700", test_render_of_a_short_input_is_the_painters_picture_of_the_dense_matrices);

  return attnviz_test_cli_long_run ();
}
