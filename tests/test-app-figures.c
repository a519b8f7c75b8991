/* test-app-figures.c: figures fit for a paper, from the window (issue 11)
 *
 * Every export is read back from its file: a grid exported while a head is
 * current carries no orange outline unless the export dialog keeps the
 * selection; the export dialog's choices (two columns, 150 dpi, transparent,
 * no title) reach the PNG (its size, its pHYs chunk, its clear corners) and
 * are remembered for the next export of the session.
 */
#define G_LOG_DOMAIN "test-app-figures"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "attnviz-export-dialog.h"
#include "attnviz-compare-view.h"
#include "attnviz-grid-view.h"
#include "attnviz-lines-view.h"
#include "attnviz-painter.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-window-private.h"

static char *induction;

typedef struct {
  AttnvizWindow *window;
  AttnvizTestWatch w;
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  memset (f, 0, sizeof *f);
  f->window = g_object_ref (attnviz_window_new (NULL));
  f->dir = g_dir_make_tmp ("attnviz-figures-XXXXXX", NULL);
  g_signal_connect (f->window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), &f->w);
  g_signal_connect (f->window, "exported", G_CALLBACK (attnviz_test_on_exported), &f->w);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 800);
  gtk_window_present (GTK_WINDOW (f->window));
  attnviz_window_open (f->window, induction);
  attnviz_test_wait_until (f->w.finished > 0 && !attnviz_window_get_busy (f->window), 120);
  g_assert_true (f->w.ok);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_assert_finalize_object (f->window);
  g_clear_error (&f->w.export_error);
  g_free (f->dir);
}

static char *
export_view (Fixture *f, const char *view, const char *name, const AttnvizCliFigure *fig)
{
  char *path = g_build_filename (f->dir, name, NULL);
  int before = f->w.exported;
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "view", g_variant_new_string (view));
  attnviz_window_export_figure (f->window, path, fig);
  attnviz_test_wait_until (f->w.exported > before, 60);
  g_assert_no_error (f->w.export_error);
  return path;
}

/* Pixels of the current head's orange (0.90, 0.33, 0.05) in the PNG at PATH. */
static int
count_orange (const char *path)
{
  cairo_surface_t *image = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  int w = cairo_image_surface_get_width (image), h = cairo_image_surface_get_height (image);
  int stride = cairo_image_surface_get_stride (image);
  const guint8 *data = cairo_image_surface_get_data (image);
  int n = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint32 p = *(const guint32 *) (data + (gsize) y * stride + (gsize) x * 4);
        int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
        n += abs (r - 230) <= 6 && abs (g - 84) <= 6 && abs (b - 13) <= 6;
      }
  cairo_surface_destroy (image);
  return n;
}

static void
test_exports_leave_out_the_current_head (Fixture *f, gconstpointer data)
{
  attnviz_view_state_set_layer (attnviz_window_get_state (f->window), 1);
  attnviz_view_state_set_head (attnviz_window_get_state (f->window), 1);
  AttnvizCliFigure plain = { .vmin = NAN, .vmax = NAN };
  AttnvizCliFigure keep = { .vmin = NAN, .vmax = NAN, .keep_selection = TRUE };

  g_autofree char *without = export_view (f, "grid", "grid.png", &plain);
  g_autofree char *with = export_view (f, "grid", "grid-selected.png", &keep);
  int orange_without = count_orange (without), orange_with = count_orange (with);
  g_test_message ("orange pixels: %d in the plain grid, %d when the selection is kept", orange_without,
                  orange_with);
  g_assert_cmpint (orange_without, ==, 0);
  g_assert_cmpint (orange_with, >, 100);
  /* win.export-to, the menu's path, writes the plain one too. */
  g_autofree char *menu = g_build_filename (f->dir, "grid-menu.png", NULL);
  int before = f->w.exported;
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "export-to", g_variant_new_string (menu));
  attnviz_test_wait_until (f->w.exported > before, 60);
  g_assert_cmpint (count_orange (menu), ==, 0);
}

/* The widget named NAME under ROOT. */
static GtkWidget *
find_named (GtkWidget *root, const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (root), name) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_named (c, name);
      if (found)
        return found;
    }
  return NULL;
}

static AttnvizExportDialog *
open_dialog (Fixture *f)
{
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "export", NULL);
  AttnvizExportDialog *dialog = NULL;
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels) && !dialog; i++)
    {
      g_autoptr(GObject) w = g_list_model_get_item (toplevels, i);
      if (ATTNVIZ_IS_EXPORT_DIALOG (w))
        dialog = ATTNVIZ_EXPORT_DIALOG (w);
    }
  g_assert_nonnull (dialog);
  attnviz_test_wait_until (gtk_widget_get_mapped (GTK_WIDGET (dialog)), 10);
  return dialog;
}

/* The pHYs chunk of the PNG at PATH: pixels per metre along x, or 0. */
static guint32
png_pixels_per_metre (const char *path)
{
  g_autofree guint8 *bytes = NULL;
  gsize n = 0;
  g_assert_true (g_file_get_contents (path, (char **) &bytes, &n, NULL));
  for (gsize i = 8; i + 12 <= n;)
    {
      guint32 len = (guint32) bytes[i] << 24 | bytes[i + 1] << 16 | bytes[i + 2] << 8 | bytes[i + 3];
      if (memcmp (bytes + i + 4, "pHYs", 4) == 0 && i + 16 <= n)
        return (guint32) bytes[i + 8] << 24 | bytes[i + 9] << 16 | bytes[i + 10] << 8 | bytes[i + 11];
      i += 12 + (gsize) len;
    }
  return 0;
}

static void
test_the_export_dialog_writes_its_choices (Fixture *f, gconstpointer data)
{
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "view", g_variant_new_string ("heatmap"));
  AttnvizExportDialog *dialog = open_dialog (f);
  GtkWidget *root = GTK_WIDGET (dialog);
  /* Enter exports: the focus starts on Export…, not Cancel. */
  g_assert_true (gtk_window_get_focus (GTK_WINDOW (dialog)) == find_named (root, "export"));
  /* Before any choice: the figure's own font size, said as "Auto". */
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_named (root, "font-size"))), ==, "Auto");
  adw_combo_row_set_selected (ADW_COMBO_ROW (find_named (root, "width-preset")), 2);   /* two columns */
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find_named (root, "font-size")), 8);
  gtk_switch_set_active (GTK_SWITCH (find_named (root, "title")), FALSE);
  gtk_switch_set_active (GTK_SWITCH (find_named (root, "transparent")), TRUE);
  gtk_editable_set_text (GTK_EDITABLE (find_named (root, "range-from")), "0");
  gtk_editable_set_text (GTK_EDITABLE (find_named (root, "range-to")), "1");
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find_named (root, "dpi")), 150);

  /* The choices are `attnviz render`'s options. */
  g_auto(AttnvizCliFigure) fig = { 0 };
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_export_dialog_get_figure (dialog, &fig, &error));
  g_assert_cmpfloat (fig.width_pt, ==, 504);
  g_assert_cmpfloat (fig.font_size, ==, 8);
  g_assert_true (fig.no_title && !fig.no_subtitle && fig.transparent);
  g_assert_cmpfloat (fig.vmin, ==, 0);
  g_assert_cmpfloat (fig.vmax, ==, 1);

  /* A bad range keeps the dialog open, naming the field. */
  gtk_editable_set_text (GTK_EDITABLE (find_named (root, "range-to")), "zero");
  g_assert_false (attnviz_export_dialog_export_to (dialog, "/nonexistent.png", &error));
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "Fixed range"));
  g_clear_error (&error);
  gtk_editable_set_text (GTK_EDITABLE (find_named (root, "range-to")), "1");

  g_autofree char *png = g_build_filename (f->dir, "heatmap.png", NULL);
  int before = f->w.exported;
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  g_assert_true (attnviz_export_dialog_export_to (dialog, png, &error));
  g_assert_no_error (error);
  attnviz_test_wait_until (f->w.exported > before && dialog == NULL, 60);
  g_assert_no_error (f->w.export_error);

  cairo_surface_t *image = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  int w = cairo_image_surface_get_width (image);
  g_test_message ("PNG %d x %d px, %u px/m", w, cairo_image_surface_get_height (image), png_pixels_per_metre (png));
  /* two columns, 7 in, at 150 dpi */
  g_assert_cmpint (w, ==, attnviz_png_pixels (504, 150));
  g_assert_cmpint (w, ==, 1050);
  g_assert_cmpuint (png_pixels_per_metre (png), ==, (guint32) round (150 / 0.0254));
  /* transparent: the corner is clear */
  const guint8 *px = cairo_image_surface_get_data (image);
  g_assert_cmpint (cairo_image_surface_get_format (image), ==, CAIRO_FORMAT_ARGB32);
  g_assert_cmpuint (((const guint32 *) px)[0] >> 24, ==, 0);
  cairo_surface_destroy (image);

  /* The same export is what the menu's re-export writes, and the next
   * dialog opens with these choices. */
  g_autofree char *again = g_build_filename (f->dir, "again.png", NULL);
  before = f->w.exported;
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "export-to", g_variant_new_string (again));
  attnviz_test_wait_until (f->w.exported > before, 60);
  image = cairo_image_surface_create_from_png (again);
  g_assert_cmpint (cairo_image_surface_get_width (image), ==, 1050);
  cairo_surface_destroy (image);
  dialog = open_dialog (f);
  root = GTK_WIDGET (dialog);
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (find_named (root, "width-preset"))), ==, 2);
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (find_named (root, "font-size"))), ==, 8);
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (find_named (root, "title"))));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_named (root, "range-to"))), ==, "1");
  if (g_getenv ("ATTNVIZ_SCREENSHOT_PAUSE"))
    attnviz_test_wait_until (FALSE, atoi (g_getenv ("ATTNVIZ_SCREENSHOT_PAUSE")));
  gtk_window_destroy (GTK_WINDOW (dialog));
}


/* The PNG at PATH and its pixel at (X_PT, Y_PT) of a WIDTH_PT-wide figure. */
typedef struct {
  cairo_surface_t *image;
  double scale;          /* pixels per point */
} Png;

static Png
png_open (const char *path, double width_pt)
{
  Png png = { cairo_image_surface_create_from_png (path), 0 };
  g_assert_cmpint (cairo_surface_status (png.image), ==, CAIRO_STATUS_SUCCESS);
  png.scale = cairo_image_surface_get_width (png.image) / width_pt;
  return png;
}

/* Luminance 0..255 at (X, Y) points, over white where transparent. */
static double
png_lum (const Png *png, double x, double y)
{
  int w = cairo_image_surface_get_width (png->image), h = cairo_image_surface_get_height (png->image);
  int px = CLAMP ((int) (x * png->scale), 0, w - 1), py = CLAMP ((int) (y * png->scale), 0, h - 1);
  const guint8 *data = cairo_image_surface_get_data (png->image);
  guint32 p = *(const guint32 *) (data + (gsize) py * cairo_image_surface_get_stride (png->image) + (gsize) px * 4);
  double a = (p >> 24) / 255.0;
  /* premultiplied */
  double r = ((p >> 16) & 0xff) + 255 * (1 - a), g = ((p >> 8) & 0xff) + 255 * (1 - a), b = (p & 0xff) + 255 * (1 - a);
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/* The darkest luminance in RECT (points), sampled every half pixel. */
static double
png_darkest (const Png *png, const AttnvizRect *rect)
{
  double darkest = 255;
  double step = 0.5 / png->scale;
  for (double y = rect->y; y <= rect->y + rect->height; y += step)
    for (double x = rect->x; x <= rect->x + rect->width; x += step)
      darkest = MIN (darkest, png_lum (png, x, y));
  return darkest;
}

static void
test_grid_figures_have_a_colour_bar_and_separators (Fixture *f, gconstpointer data)
{
  AttnvizViewState *state = attnviz_window_get_state (f->window);
  attnviz_view_state_set_colormap (state, ATTNVIZ_COLORMAP_GREY);
  AttnvizCliFigure fig = { .vmin = NAN, .vmax = NAN, .width_pt = 400, .height_pt = 300 };
  g_autofree char *path = export_view (f, "grid", "grey-grid.png", &fig);

  /* The figure as exported: the view's spec, the same options, the same size. */
  AttnvizGridSpec spec;
  g_assert_true (attnviz_grid_view_get_spec (ATTNVIZ_GRID_VIEW (attnviz_window_get_view (f->window, "grid")), &spec));
  g_assert_cmpint (spec.colormap, ==, ATTNVIZ_COLORMAP_GREY);
  attnviz_cli_figure_apply (&fig, ATTNVIZ_FIGURE_GRID, &spec);
  AttnvizGridLayout layout;
  attnviz_grid_layout (&spec, 400, 300, &layout);
  g_assert_cmpfloat (layout.colorbar.width, >, 0);

  Png png = png_open (path, 400);
  /* Both ends of the bar are labelled: text right of its top and bottom. */
  const AttnvizRect *bar = &layout.colorbar;
  double lh = 1.4 * layout.font_size;
  AttnvizRect top = { bar->x + bar->width + 1, bar->y - lh / 2, 60, lh };
  AttnvizRect bottom = { bar->x + bar->width + 1, bar->y + bar->height - lh / 2, 60, lh };
  g_test_message ("colour bar %.0f x %.0f pt; darkest label pixel at its top %.0f, at its bottom %.0f",
                  bar->width, bar->height, png_darkest (&png, &top), png_darkest (&png, &bottom));
  g_assert_cmpfloat (png_darkest (&png, &top), <, 128);
  g_assert_cmpfloat (png_darkest (&png, &bottom), <, 128);

  /* Between every two neighbouring thumbnails a line darker than the page. */
  for (int l = 0; l < layout.n_layer; l++)
    for (int h = 0; h + 1 < layout.n_head; h++)
      {
        AttnvizRect a, b;
        attnviz_grid_layout_cell_rect (&layout, l, h, &a);
        attnviz_grid_layout_cell_rect (&layout, l, h + 1, &b);
        AttnvizRect gap = { a.x + a.width + 0.1, a.y + a.height / 2, b.x - a.x - a.width - 0.2, 0 };
        double darkest = png_darkest (&png, &gap);
        if (darkest >= 200)
          g_test_message ("gap right of layer %d head %d: darkest %.0f", l, h, darkest);
        g_assert_cmpfloat (darkest, <, 200);
      }
  cairo_surface_destroy (png.image);
}

static void
test_lines_have_headings_and_weak_lines_stay_visible (Fixture *f, gconstpointer data)
{
  AttnvizCliFigure fig = { .vmin = NAN, .vmax = NAN, .width_pt = 360, .height_pt = 480 };
  g_autofree char *path = export_view (f, "lines", "lines.png", &fig);
  AttnvizLinesSpec spec;
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_lines_view_get_spec (ATTNVIZ_LINES_VIEW (attnviz_window_get_view (f->window, "lines")),
                                              &spec, &error));
  attnviz_cli_figure_apply (&fig, ATTNVIZ_FIGURE_LINES, &spec);
  AttnvizLinesLayout layout;
  attnviz_lines_layout (&spec, 360, 480, &layout);
  Png png = png_open (path, 360);
  /* "query" right-aligned over the left column, "key" over the right one,
   * and the legend under them, all drawn. */
  g_assert_cmpfloat (layout.left_caption.height, >, 0);
  g_assert_cmpfloat (layout.left_caption.y + layout.left_caption.height, <=, layout.left.y);
  g_assert_cmpfloat (png_darkest (&png, &layout.left_caption), <, 128);
  g_assert_cmpfloat (png_darkest (&png, &layout.right_caption), <, 128);
  g_assert_cmpfloat (layout.legend.y, >=, layout.left.y + layout.left.height);
  g_assert_cmpfloat (png_darkest (&png, &layout.legend), <, 200);
  cairo_surface_destroy (png.image);
}

/* A 2 x 2 head whose only weak weight is 0.02: its line is still drawn at
 * the least opacity, 10%. */
static void
test_a_weak_line_is_drawn_at_the_least_opacity (void)
{
  static const float m[4] = { 0.98f, 0.02f, 0.0f, 0.0f };
  static const char *const labels[2] = { "a", "b" };
  AttnvizLinesSpec spec;
  attnviz_lines_spec_init (&spec, m, 2, 2);
  spec.row_labels = spec.col_labels = labels;
  g_autofree char *dir = g_dir_make_tmp ("attnviz-lines-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "weak.png", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_paint_to_file (path, ATTNVIZ_FIGURE_LINES, &spec, 200, 160, &error));
  AttnvizLinesLayout layout;
  attnviz_lines_layout (&spec, 200, 160, &layout);
  /* The middle of the line from query 0 to key 1 (no other line is near). */
  double x1 = layout.left.x + layout.left.width, x2 = layout.right.x;
  double y1 = layout.left.y + 0.5 * layout.left_pitch, y2 = layout.right.y + 1.5 * layout.right_pitch;
  double t = 0.75;
  Png png = png_open (path, 200);
  double lum = png_lum (&png, x1 + t * (x2 - x1), y1 + t * (y2 - y1));
  g_test_message ("weak line's luminance: %.0f (white 255; 2%% blue would be about 251)", lum);
  g_assert_cmpfloat (lum, <, 240);
  cairo_surface_destroy (png.image);
  g_unlink (path);
  g_rmdir (dir);
}

/* A | B | A − B: the whole row two columns wide (7 in), not 26 inches, each
 * panel's matrix a fair share of its third. */
static void
test_a_comparison_is_exported_two_columns_wide (Fixture *f, gconstpointer data)
{
  g_assert_true (attnviz_variant_editor_set_spec (attnviz_window_get_variant_editor (f->window, 0),
                                                  "mask=bidirectional", NULL));
  g_assert_true (attnviz_variant_editor_set_spec (attnviz_window_get_variant_editor (f->window, 1), "model", NULL));
  int before = f->w.finished;
  g_action_group_change_action_state (G_ACTION_GROUP (f->window), "compare", g_variant_new_boolean (TRUE));
  attnviz_test_wait_until (f->w.finished > before && !attnviz_window_get_busy (f->window), 120);
  g_assert_nonnull (attnviz_window_get_comparison (f->window));
  g_action_group_activate_action (G_ACTION_GROUP (f->window), "view", g_variant_new_string ("compare"));
  g_action_group_change_action_state (G_ACTION_GROUP (f->window), "compare-mode", g_variant_new_string ("all"));

  AttnvizCliFigure fig = { .vmin = NAN, .vmax = NAN };
  g_autofree char *path = export_view (f, "compare", "compare.png", &fig);
  cairo_surface_t *image = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  int w = cairo_image_surface_get_width (image), h = cairo_image_surface_get_height (image);
  g_test_message ("A | B | A − B: %d x %d px at 300 dpi (%.2f x %.2f in)", w, h, w / 300.0, h / 300.0);
  g_assert_cmpint (w, ==, attnviz_png_pixels (504, 0));
  g_assert_cmpint (h, <, w);
  cairo_surface_destroy (image);

  /* Each panel's matrix gets at least 45% of its third (81 pt of 168 at 7 pt text). */
  AttnvizHeatmapRowSpec row;
  g_assert_true (attnviz_compare_view_get_figure (ATTNVIZ_COMPARE_VIEW (attnviz_window_get_view (f->window, "compare")),
                                                  &row));
  attnviz_cli_figure_apply (&fig, ATTNVIZ_FIGURE_HEATMAP_ROW, &row);
  for (int i = 0; i < row.n_panels; i++)
    row.panels[i].font_size = 7;   /* a row's export text unless a size is chosen */
  double height_pt = h * 72.0 / 300.0;
  for (int i = 0; i < row.n_panels; i++)
    {
      AttnvizHeatmapLayout layout;
      attnviz_heatmap_layout (&row.panels[i], 504.0 / row.n_panels, height_pt, &layout);
      g_test_message ("panel %d: matrix %.0f x %.0f pt", i, layout.matrix.width, layout.matrix.height);
      g_assert_cmpfloat (layout.matrix.width, >=, 0.45 * 504.0 / row.n_panels);
    }
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-figures-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_autofree char *models = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", NULL);
  g_autofree char *models_abs = g_canonicalize_filename (models, NULL);
  g_setenv ("ATTNVIZ_DEMO_DIR", models_abs, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  induction = g_build_filename (models_abs, "induction-decoder", NULL);

#define ADD(path, func) g_test_add ("/ui/figures/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("exports-leave-out-the-current-head-unless-asked", test_exports_leave_out_the_current_head);
  ADD ("the-export-dialog-writes-its-choices-and-remembers-them", test_the_export_dialog_writes_its_choices);
  ADD ("grid-figures-have-a-colour-bar-and-separators-in-grey", test_grid_figures_have_a_colour_bar_and_separators);
  ADD ("lines-have-query-and-key-headings-and-a-legend", test_lines_have_headings_and_weak_lines_stay_visible);
  ADD ("a-comparison-is-exported-two-columns-wide", test_a_comparison_is_exported_two_columns_wide);
  g_test_add_func ("/ui/figures/a-weak-line-is-drawn-at-the-least-opacity", test_a_weak_line_is_drawn_at_the_least_opacity);
  int status = g_test_run ();
  g_free (induction);
  return status;
}
