/* test-app-e2e.c: the real app, end to end, on stories260K
 *
 * Starts AttnvizApplication in this process as `attnviz MODEL --text TEXT`
 * would, waits for the run, switches to the heatmap and exports it as PNG
 * and SVG through the window's own win.export-to action (the menu's code
 * path), then checks the files: the PNG's matrix is not blank and shows the
 * causal triangle (every cell above the diagonal has the colour map's zero
 * colour, found from attnviz_heatmap_layout () with the export's own spec
 * and size), and the SVG parses.  On the way it checks that a second run
 * replaces a first one still in flight, that a text longer than the
 * context it was trained at runs (RoPE), and that Cancel leaves the window
 * idle with its result.
 */
#define G_LOG_DOMAIN "test-app-e2e"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "attnviz-application.h"
#include "attnviz-window.h"

#define TEXT "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
#define TEXT_B "The cat sat on the mat."

typedef struct {
  GApplication *app;
  AttnvizWindow *window;
  char *png;
  char *svg;
  int stage;
  int n_finished;
  char *failure;

  /* The exported heatmap, as the window made it */
  AttnvizHeatmapLayout layout;
  double width_pt, height_pt;
  AttnvizColormap colormap;
  int T;
  AttnvizResult *first_result;
} E2E;

static void
fail (E2E *e, const char *message)
{
  if (e->failure == NULL)
    e->failure = g_strdup (message);
  g_application_quit (e->app);
}

static void
finish (E2E *e)
{
  gtk_window_destroy (GTK_WINDOW (e->window));
  g_application_quit (e->app);
}

static void
activate (E2E *e, const char *action, GVariant *parameter)
{
  g_action_group_activate_action (G_ACTION_GROUP (e->window), action, parameter);
}

static void
on_exported (AttnvizWindow *window, const char *path, const GError *error, E2E *e)
{
  if (error != NULL)
    {
      g_autofree char *m = g_strdup_printf ("export of %s failed: %s", path, error->message);
      fail (e, m);
      return;
    }
  if (e->stage == 1 && g_str_equal (path, e->png))
    {
      e->stage = 2;
      activate (e, "export-to", g_variant_new_string (e->svg));
    }
  else if (e->stage == 2 && g_str_equal (path, e->svg))
    {
      /* A second run while the first is in flight replaces it. */
      e->stage = 3;
      e->n_finished = 0;
      attnviz_window_set_text (window, TEXT " " TEXT " " TEXT);
      attnviz_window_run (window);
      attnviz_window_set_text (window, TEXT_B);
      attnviz_window_run (window);
    }
}

static gboolean
on_cancel_settled (gpointer data)
{
  E2E *e = data;

  if (e->failure == NULL && attnviz_window_get_result (e->window) != e->first_result)
    fail (e, "a cancelled run replaced the result");
  else if (e->failure == NULL)
    finish (e);
  return G_SOURCE_REMOVE;
}

static void
on_run_finished (AttnvizWindow *window, gboolean ok, E2E *e)
{
  AttnvizResult *result = attnviz_window_get_result (window);

  e->n_finished++;
  if (e->stage == 0)
    {
      if (!ok || result == NULL)
        {
          fail (e, attnviz_window_get_error (window) ? attnviz_window_get_error (window) : "the run failed");
          return;
        }
      g_autoptr(GVariant) view = g_action_group_get_action_state (G_ACTION_GROUP (window), "view");
      if (!g_str_equal (g_variant_get_string (view, NULL), "grid"))
        {
          fail (e, "the grid is not the first view after a run");
          return;
        }
      e->T = attnviz_result_get_n_tokens (result);
      e->first_result = g_object_ref (result);
      if (!attnviz_result_get_causal (result) || e->T < 10)
        {
          fail (e, "expected a causal run of at least 10 tokens");
          return;
        }

      activate (e, "view", g_variant_new_string ("heatmap"));
      AttnvizHeatmapSpec spec;
      if (!attnviz_window_get_export_heatmap (window, &spec, &e->width_pt, &e->height_pt))
        {
          fail (e, "no heatmap to export");
          return;
        }
      if (spec.highlight_row != -1)
        {
          fail (e, "a token is selected");
          return;
        }
      attnviz_heatmap_layout (&spec, e->width_pt, e->height_pt, &e->layout);
      e->colormap = spec.colormap;
      e->stage = 1;
      activate (e, "export-to", g_variant_new_string (e->png));
    }
  else if (e->stage == 3)
    {
      /* Only the newer run reports. */
      if (!ok || e->n_finished != 1 || result == NULL
          || g_strcmp0 (attnviz_result_get_text (result), TEXT_B) != 0)
        {
          fail (e, "the second run did not replace the first");
          return;
        }
      g_clear_object (&e->first_result);
      e->first_result = g_object_ref (result);

      /* Longer than the context it was trained at (512): a RoPE model
       * runs past it (a learned position table cannot: test-app-long.c). */
      e->stage = 4;
      GString *text = g_string_new (NULL);
      for (int i = 0; i < 40; i++)
        g_string_append (text, TEXT " ");
      attnviz_window_set_text (window, text->str);
      g_string_free (text, TRUE);
      attnviz_window_run (window);
    }
  else if (e->stage == 4)
    {
      if (!ok || attnviz_window_get_error (window) != NULL || result == NULL
          || attnviz_result_get_n_tokens (result) <= 512)
        fail (e, "a RoPE model did not run past the context it was trained at");
      else
        {
          g_clear_object (&e->first_result);
          e->first_result = g_object_ref (result);
          /* Cancel: the window is idle at once, and the run never reports. */
          e->stage = 5;
          attnviz_window_set_text (window, TEXT);
          attnviz_window_run (window);
          activate (e, "cancel", NULL);
          if (attnviz_window_get_busy (window))
            fail (e, "still busy after Cancel");
          else
            g_timeout_add (500, on_cancel_settled, e);
        }
    }
  else if (e->stage == 5)
    fail (e, "a cancelled run reported");
}

static void
on_window_added (GtkApplication *app, GtkWindow *window, E2E *e)
{
  if (!ATTNVIZ_IS_WINDOW (window) || e->window != NULL)
    return;
  e->window = ATTNVIZ_WINDOW (window);
  g_signal_connect (window, "run-finished", G_CALLBACK (on_run_finished), e);
  g_signal_connect (window, "exported", G_CALLBACK (on_exported), e);
}

static gboolean
on_timeout (gpointer data)
{
  fail (data, "timed out");
  return G_SOURCE_REMOVE;
}

static void
check_png (E2E *e)
{
  cairo_surface_t *image = cairo_image_surface_create_from_png (e->png);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);

  int w = cairo_image_surface_get_width (image), h = cairo_image_surface_get_height (image);
  int stride = cairo_image_surface_get_stride (image);
  const guint8 *data = cairo_image_surface_get_data (image);
  /* 300 dpi: each point is 300/72 pixels. */
  g_assert_cmpint (w, ==, (int) ceil (e->width_pt * ATTNVIZ_PAINTER_PNG_DPI / 72.0));
  g_assert_cmpint (h, ==, (int) ceil (e->height_pt * ATTNVIZ_PAINTER_PNG_DPI / 72.0));
  double sx = w / e->width_pt, sy = h / e->height_pt;

  double zero[3], nodata[3];
  attnviz_colormap_lookup (e->colormap, 0.0, zero);
  attnviz_colormap_nodata (e->colormap, nodata);
  const AttnvizHeatmapLayout *l = &e->layout;
  g_assert_cmpint (l->rows, ==, e->T);

  int above = 0, above_nodata = 0, coloured = 0;
  GHashTable *colours = g_hash_table_new (NULL, NULL);
  for (int r = 0; r < e->T; r++)
    for (int c = 0; c < e->T; c++)
      {
        int x = (int) ((l->matrix.x + (c + 0.5) * l->cell) * sx);
        int y = (int) ((l->matrix.y + (r + 0.5) * l->cell) * sy);
        g_assert_true (x >= 0 && x < w && y >= 0 && y < h);
        guint32 p = *(const guint32 *) (data + (gsize) y * stride + (gsize) x * 4);
        double rgb[3] = { ((p >> 16) & 0xff) / 255.0, ((p >> 8) & 0xff) / 255.0, (p & 0xff) / 255.0 };
        double d = MAX (fabs (rgb[0] - zero[0]), MAX (fabs (rgb[1] - zero[1]), fabs (rgb[2] - zero[2])));
        g_hash_table_add (colours, GUINT_TO_POINTER (p & 0xffffff));
        if (c > r)
          {
            double n = MAX (fabs (rgb[0] - nodata[0]), MAX (fabs (rgb[1] - nodata[1]), fabs (rgb[2] - nodata[2])));
            above++;
            above_nodata += n <= 3.0 / 255;
          }
        else
          coloured += d > 10.0 / 255;
      }
  g_test_message ("PNG %d x %d: %d of %d cells above the diagonal have the no-data colour; "
                  "%d cells on or below it are coloured; %u colours",
                  w, h, above_nodata, above, coloured, g_hash_table_size (colours));
  /* The causal triangle: above the diagonal the masked cells, no data. */
  g_assert_cmpint (above_nodata, ==, above);
  /* Not blank: the lower triangle carries the weights. */
  g_assert_cmpint (coloured, >=, e->T);
  g_assert_cmpuint (g_hash_table_size (colours), >=, 8);
  g_hash_table_unref (colours);
  cairo_surface_destroy (image);
}

static void
svg_start (GMarkupParseContext *context, const char *element, const char **names, const char **values,
           gpointer user_data, GError **error)
{
  int *n = user_data;
  if (*n == 0 && !g_str_equal (element, "svg"))
    g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, "root element <%s>", element);
  (*n)++;
}

static void
check_svg (E2E *e)
{
  g_autofree char *contents = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;
  int n_elements = 0;
  static const GMarkupParser parser = { svg_start, NULL, NULL, NULL, NULL };

  g_assert_true (g_file_get_contents (e->svg, &contents, &len, &error));
  /* GMarkup reads XML without a DTD; skip the prolog it does not know. */
  const char *start = strstr (contents, "<svg");
  g_assert_nonnull (start);
  GMarkupParseContext *context = g_markup_parse_context_new (&parser, 0, &n_elements, NULL);
  gboolean ok = g_markup_parse_context_parse (context, start, len - (start - contents), &error)
                && g_markup_parse_context_end_parse (context, &error);
  g_markup_parse_context_free (context);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (n_elements, >, 10);

  g_autofree char *xmllint = g_find_program_in_path ("xmllint");
  if (xmllint != NULL)
    {
      const char *argv[] = { xmllint, "--noout", e->svg, NULL };
      int status;
      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                                   &status, &error));
      g_assert_no_error (error);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
    }
}

static void
test_app_end_to_end (gconstpointer model)
{
  E2E e = { 0 };
  g_autofree char *dir = g_dir_make_tmp ("attnviz-e2e-XXXXXX", NULL);
  g_autofree char *text_arg = g_strdup ("--text=" TEXT);
  char *argv[] = { "attnviz", (char *) model, text_arg, NULL };

  g_assert_nonnull (dir);
  e.png = g_build_filename (dir, "heatmap.png", NULL);
  e.svg = g_build_filename (dir, "heatmap.svg", NULL);
  e.app = G_APPLICATION (attnviz_application_new (G_APPLICATION_NON_UNIQUE));
  g_signal_connect (e.app, "window-added", G_CALLBACK (on_window_added), &e);
  guint timeout = g_timeout_add_seconds (240, on_timeout, &e);

  int status = g_application_run (e.app, 3, argv);
  g_source_remove (timeout);
  if (e.failure)
    g_error ("%s", e.failure);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpint (e.stage, ==, 5);

  check_png (&e);
  check_svg (&e);

  g_clear_object (&e.first_result);
  g_assert_finalize_object (e.app);
  g_unlink (e.png);
  g_unlink (e.svg);
  g_rmdir (dir);
  g_free (e.png);
  g_free (e.svg);
}

/* ---- a run that overflows float32 is an error in the window (issue 8) ---- */

typedef struct {
  GApplication *app;
  gboolean finished;
  gboolean ok;
  char *error;
} Overflow;

static void
overflow_run_finished (AttnvizWindow *window, gboolean ok, Overflow *o)
{
  o->finished = TRUE;
  o->ok = ok;
  o->error = g_strdup (attnviz_window_get_error (window));
  gtk_window_destroy (GTK_WINDOW (window));
  g_application_quit (o->app);
}

static void
overflow_window_added (GtkApplication *app, GtkWindow *window, Overflow *o)
{
  if (ATTNVIZ_IS_WINDOW (window))
    g_signal_connect (window, "run-finished", G_CALLBACK (overflow_run_finished), o);
}

static gboolean
overflow_timeout (gpointer data)
{
  g_application_quit (((Overflow *) data)->app);
  return G_SOURCE_REMOVE;
}

/* The gpt2-tiny fixture with a WordPiece tokenizer and the Q/K/V weights
 * of layer 1 at 3e38: finite, so the model loads, but Q K^T overflows. */
static char *
make_overflowing_model (void)
{
  const char *fixtures = g_getenv ("ATTNVIZ_FIXTURES_DIR");
  g_autofree char *src = g_build_filename (fixtures ? fixtures : "tests/fixtures", "gpt2-tiny", NULL);
  char *dir = g_dir_make_tmp ("attnviz-overflow-XXXXXX", NULL);
  static const char *const files[] = { "config.json", "model.safetensors" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_build_filename (src, files[i], NULL);
      g_autofree char *to = g_build_filename (dir, files[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (from, &data, &len, NULL));
      if (i == 1)
        {
          guint64 hlen;
          memcpy (&hlen, data, 8);
          hlen = GUINT64_FROM_LE (hlen);
          g_autoptr(JsonParser) p = json_parser_new ();
          g_assert_true (json_parser_load_from_data (p, data + 8, (gssize) hlen, NULL));
          JsonObject *t = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)),
                                                         "h.1.attn.c_attn.weight");
          JsonArray *off = json_object_get_array_member (t, "data_offsets");
          float big = 3e38f;
          for (gint64 at = json_array_get_int_element (off, 0); at < json_array_get_int_element (off, 1); at += 4)
            memcpy (data + 8 + hlen + at, &big, 4);
        }
      g_assert_true (g_file_set_contents (to, data, (gssize) len, NULL));
    }
  g_autofree char *tok = g_build_filename (dir, "tokenizer.json", NULL);
  g_assert_true (g_file_set_contents (tok, "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
                                      "\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"a\": 3, \"b\": 4}}}", -1,
                                      NULL));
  return dir;
}

static void
test_a_run_that_overflows_is_an_error (void)
{
  g_autofree char *model = make_overflowing_model ();
  Overflow o = { 0 };
  char *argv[] = { "attnviz", model, "--text=a b a b", NULL };
  o.app = G_APPLICATION (attnviz_application_new (G_APPLICATION_NON_UNIQUE));
  g_signal_connect (o.app, "window-added", G_CALLBACK (overflow_window_added), &o);
  guint timeout = g_timeout_add_seconds (120, overflow_timeout, &o);
  g_application_run (o.app, 3, argv);
  g_source_remove (timeout);
  g_assert_true (o.finished);
  g_assert_false (o.ok);
  g_test_message ("the window says: %s", o.error);
  g_assert_nonnull (o.error);
  g_assert_nonnull (strstr (o.error, "layer 1 produced a non-finite value"));
  g_free (o.error);
  g_assert_finalize_object (o.app);
  static const char *const files[] = { "config.json", "model.safetensors", "tokenizer.json" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (model, files[i], NULL);
      g_unlink (path);
    }
  g_rmdir (model);
}

int
main (int argc, char **argv)
{
  /* The recent-models list goes to a scratch folder, not the user's.
   * (G_TEST_OPTION_ISOLATE_DIRS would hide the system's GSettings schemas
   * that GTK looks up.) */
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-e2e-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_test_init (&argc, &argv, NULL);

  const char *shared = g_getenv ("ATTNVIZ_SHARED_DIR");
  g_autofree char *model = g_build_filename (shared ? shared : "../shared", "data", "models",
                                             "stories260K", "hf", NULL);
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  if (!g_file_test (model, G_FILE_TEST_IS_DIR))
    {
      printf ("1..0 # SKIP %s is absent (set ATTNVIZ_SHARED_DIR)\n", model);
      return 0;
    }
  gtk_init ();
  adw_init ();

  g_test_add_data_func ("/ui/app/runs-exports-png-and-svg-and-keeps-results-on-errors", model,
                        test_app_end_to_end);
  g_test_add_func ("/ui/app/a-run-that-overflows-float32-is-an-error", test_a_run_that_overflows_is_an_error);
  int status = g_test_run ();
  g_autofree char *recent = g_build_filename (data_home, "attnviz", "recent", NULL);
  g_autofree char *recent_dir = g_path_get_dirname (recent);
  g_unlink (recent);
  g_rmdir (recent_dir);
  g_rmdir (data_home);
  return status;
}
