/* attnviz-heatmap-view.c: one head (or an aggregate) as an interactive heatmap
 *
 * The figure is painted by attnviz_paint_heatmap () into a render node that
 * is kept until the data, the size, the zoom, the pan or a setting changes
 * (sysprof's flame graph does the same); the hover crosshair is drawn on
 * top of it every frame.  Zooming paints a larger virtual figure, moved by
 * the pan offset and clipped to the widget: only what shows is drawn, and
 * the painter's label rule keeps the labels legible or hidden at any zoom.
 */
#define G_LOG_DOMAIN "attnviz-heatmap-view"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-heatmap-tiles.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-widgets-private.h"

#define ZOOM_STEP 1.25
#define SCROLL_WHEEL_PIXELS 48.0
#define SCREEN_FONT_SIZE 11.0
/* An export of a long run is pooled to at most this many bins a side. */
#define EXPORT_MAX_BINS 1024

struct _AttnvizHeatmapView
{
  GtkWidget parent_instance;

  AttnvizResult *result;
  int layer;
  int head;
  AttnvizAggregate aggregate;
  AttnvizColormap colormap;
  AttnvizScaleKind scale;
  int selected_token;
  int selected_key;       /* a column's token when the columns are other tokens (cross-attention) */
  double zoom;            /* 1: the figure fits the widget */
  double pan_x, pan_y;    /* the virtual figure's point at the widget's (0, 0) */

  char *label;
  double vmin, vmax;      /* equal: the data's range */
  char *title;
  char *subtitle;

  /* The cache: the painted figure and its layout, for the current size. */
  GskRenderNode *content;
  AttnvizHeatmapLayout layout;
  gboolean layout_valid;
  int cache_width, cache_height;

  AttnvizLabelCache *label_cache;   /* label widths, kept while the result stays */

  /* A long run (no dense matrix): painted by tiles; exported pooled */
  AttnvizHeatmapTiles *tiles;
  int bin;                /* cells a side of a bin on screen now (1: exact cells) */
  float *export_matrix;   /* the pooled picture get_spec () gave last */
  char **export_row_labels;
  char **export_col_labels;

  int hover_row, hover_col;
  double pointer_x, pointer_y;
  double drag_pan_x, drag_pan_y;
  gboolean dragging;
  double pinch_zoom;
};

G_DEFINE_FINAL_TYPE (AttnvizHeatmapView, attnviz_heatmap_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_RESULT,
  PROP_LAYER,
  PROP_HEAD,
  PROP_AGGREGATE,
  PROP_COLORMAP,
  PROP_SCALE,
  PROP_SELECTED_TOKEN,
  PROP_SELECTED_KEY,
  PROP_ZOOM,
  PROP_LABEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  HOVER_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
invalidate_content (AttnvizHeatmapView *self)
{
  g_clear_pointer (&self->content, gsk_render_node_unref);
  self->layout_valid = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static int
n_layers (AttnvizHeatmapView *self)
{
  return self->result ? attnviz_result_get_n_layers (self->result) : 0;
}

static int
n_heads (AttnvizHeatmapView *self)
{
  return self->result ? attnviz_result_get_n_heads (self->result) : 0;
}

static int
n_tokens (AttnvizHeatmapView *self)
{
  return self->result ? attnviz_result_get_n_tokens (self->result) : 0;
}

static int
n_cols (AttnvizHeatmapView *self)
{
  return self->result ? attnviz_result_get_n_cols (self->result) : 0;
}

static gboolean
is_square (AttnvizHeatmapView *self)
{
  return self->result == NULL || attnviz_result_is_square (self->result);
}

static void
virtual_size (AttnvizHeatmapView *self, double *vw, double *vh)
{
  *vw = gtk_widget_get_width (GTK_WIDGET (self)) * self->zoom;
  *vh = gtk_widget_get_height (GTK_WIDGET (self)) * self->zoom;
}

static void
clamp_pan (AttnvizHeatmapView *self)
{
  double vw, vh;
  virtual_size (self, &vw, &vh);
  self->pan_x = CLAMP (self->pan_x, 0, MAX (0, vw - gtk_widget_get_width (GTK_WIDGET (self))));
  self->pan_y = CLAMP (self->pan_y, 0, MAX (0, vh - gtk_widget_get_height (GTK_WIDGET (self))));
}

static void
fill_spec (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec, const float *matrix, int bin)
{
  attnviz_heatmap_spec_init (spec, matrix, n_tokens (self), n_cols (self));
  spec->row_labels = attnviz_result_get_labels (self->result);
  spec->col_labels = attnviz_result_get_col_labels (self->result);
  if (!is_square (self))
    {
      spec->row_caption = "target (query)";
      spec->col_caption = "source (key)";
    }
  g_autofree char *what = attnviz_result_describe (self->result, self->aggregate, self->layer, self->head);
  g_free (self->title);
  self->title = self->label ? g_strdup_printf ("%s · %s", self->label, what) : g_steal_pointer (&what);
  g_free (self->subtitle);
  /* Every figure says which variant of the model it shows (and an
   * encoder-decoder's which attention). */
  self->subtitle = attnviz_result_describe_run (self->result);
  if (bin > 1)
    {
      /* A picture pooled for the screen or the file says so, as render does. */
      g_autofree char *note = attnviz_result_describe_pooling (self->result, bin);
      char *sub = g_strdup_printf ("%s · %s", self->subtitle, note);
      g_free (self->subtitle);
      self->subtitle = sub;
    }
  spec->title = self->title;
  spec->subtitle = self->subtitle;
  spec->colormap = self->colormap;
  attnviz_scale_init (&spec->scale, self->scale, self->vmin, self->vmax);
  spec->highlight_row = self->selected_token;
  spec->highlight_col = is_square (self) ? self->selected_token : self->selected_key;
}

/* Whether the view shows a long run: no dense matrix, read by tiles. */
static gboolean
is_long (AttnvizHeatmapView *self)
{
  return self->result != NULL && attnviz_result_is_long (self->result)
         && attnviz_result_has_matrix (self->result, self->aggregate, self->layer, self->head);
}

/* Labels of BINS bins of K over TEXTS (LENGTH): each bin's first token
 * after its position ("2048:␣the"), as render labels a pooled axis. */
static char **
bin_labels (const char *const *texts, int k, int length)
{
  int bins = (length + k - 1) / k;
  char **labels = g_new0 (char *, bins + 1);
  for (int i = 0; i < bins; i++)
    labels[i] = g_strdup_printf ("%d:%s", i * k, texts[i * k]);
  return labels;
}

/* A long run's figure for a file: the exact picture pooled by its max into
 * at most EXPORT_MAX_BINS a side (the note in the subtitle), computed now. */
static gboolean
long_export_spec (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec)
{
  int rows = n_tokens (self), cols = n_cols (self);
  int k = MAX (1, (MAX (rows, cols) + EXPORT_MAX_BINS - 1) / EXPORT_MAX_BINS);
  int br = (rows + k - 1) / k, bc = (cols + k - 1) / k;
  g_clear_pointer (&self->export_matrix, g_free);
  g_clear_pointer (&self->export_row_labels, g_strfreev);
  g_clear_pointer (&self->export_col_labels, g_strfreev);
  self->export_matrix = g_new (float, (gsize) br * bc);
  gboolean ok = k == 1
    ? attnviz_result_get_rect (self->result, self->aggregate, self->layer, self->head, 0, rows, 0, cols,
                               self->export_matrix, cols)
    : attnviz_result_pool_tile (self->result, self->aggregate, self->layer, self->head, k, 0, br, 0, bc,
                                ATTNVIZ_POOL_MAX, self->export_matrix, NULL);
  if (!ok)
    return FALSE;
  fill_spec (self, spec, self->export_matrix, k);
  spec->rows = br;
  spec->cols = bc;
  if (k > 1)
    {
      self->export_row_labels = bin_labels (attnviz_result_get_labels (self->result), k, rows);
      self->export_col_labels = bin_labels (attnviz_result_get_col_labels (self->result), k, cols);
      spec->row_labels = (const char *const *) self->export_row_labels;
      spec->col_labels = (const char *const *) self->export_col_labels;
      spec->highlight_row = spec->highlight_row >= 0 ? spec->highlight_row / k : -1;
      spec->highlight_col = spec->highlight_col >= 0 ? spec->highlight_col / k : -1;
    }
  return TRUE;
}

static void
paint_long_cells (cairo_t *cr, const AttnvizRect *matrix, gpointer data)
{
  AttnvizHeatmapView *self = data;
  attnviz_heatmap_tiles_paint (self->tiles, cr, matrix, self->bin);
}

/* A long run's figure on screen: the tiles paint the cells, on the scale
 * of the overview (the exact max of a head), with the note of the bins
 * shown now. */
static gboolean
long_screen_spec (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec)
{
  attnviz_heatmap_tiles_set_result (self->tiles, self->result);
  attnviz_heatmap_tiles_set_picture (self->tiles, self->aggregate, self->layer, self->head);
  fill_spec (self, spec, NULL, self->bin);
  spec->paint_cells = paint_long_cells;
  spec->paint_cells_data = self;
  if (self->vmin == self->vmax)
    {
      int r = 0, c = 0;
      const float *o = attnviz_heatmap_tiles_get_overview (self->tiles, &r, &c);
      attnviz_scale_init (&spec->scale, self->scale, 0, 0);
      if (o != NULL)
        attnviz_scale_fit (&spec->scale, o, (gsize) r * c, attnviz_colormap_is_diverging (self->colormap));
      if (!attnviz_scale_has_range (&spec->scale))
        attnviz_scale_init (&spec->scale, self->scale, 0, 1);
    }
  attnviz_heatmap_tiles_set_colors (self->tiles, self->colormap, &spec->scale);
  return TRUE;
}

gboolean
attnviz_heatmap_view_get_spec (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);

  if (is_long (self))
    return long_export_spec (self, spec);
  const float *matrix = self->result
    ? attnviz_result_get_matrix (self->result, self->aggregate, self->layer, self->head) : NULL;
  if (matrix == NULL)
    return FALSE;
  fill_spec (self, spec, matrix, 1);
  return TRUE;
}

/* The spec drawn on screen: the export's, in the widget's colours. */
static gboolean
screen_spec (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec)
{
  if (is_long (self) ? !long_screen_spec (self, spec) : !attnviz_heatmap_view_get_spec (self, spec))
    return FALSE;
  spec->font_size = SCREEN_FONT_SIZE;
  spec->label_cache = self->label_cache;
  attnviz_widget_get_foreground (GTK_WIDGET (self), &spec->foreground);
  return TRUE;
}

static gboolean
ensure_layout (AttnvizHeatmapView *self)
{
  AttnvizHeatmapSpec spec;
  double vw, vh;

  if (self->layout_valid)
    return TRUE;
  if (!screen_spec (self, &spec))
    return FALSE;
  virtual_size (self, &vw, &vh);
  attnviz_heatmap_layout (&spec, vw, vh, &self->layout);
  self->layout_valid = TRUE;
  return TRUE;
}

/* Zoomed in, the row labels stay pinned to the left edge and the column
 * labels to the bottom one, so the cells in view keep their names: the
 * bands of the virtual figure that hold them, moved along their own axis
 * only. */
typedef struct {
  double left;      /* width of the row-label band pinned at the left; 0: not pinned */
  double left_x;    /* where that band starts in the virtual figure */
  double bottom;    /* height of the column-label band pinned at the bottom; 0: not pinned */
  double bottom_y;  /* where that band starts in the virtual figure */
} PinnedBands;

#define PIN_MARGIN 4.0

/* Pins an axis' labels when they have scrolled out of view. */
static gboolean
pinned_bands (AttnvizHeatmapView *self, const AttnvizHeatmapLayout *layout, double width, double height,
              PinnedBands *bands)
{
  const AttnvizRect *m = &layout->matrix;

  memset (bands, 0, sizeof *bands);
  if (self->zoom <= 1.0)
    return FALSE;

  double left_x = (layout->row_caption.height > 0 ? layout->row_caption.x : layout->row_labels.x) - PIN_MARGIN;
  if (layout->row_labels.width > 0 && self->pan_x > left_x && m->x - left_x < width / 3)
    {
      bands->left_x = left_x;
      bands->left = m->x - left_x;
    }
  double bottom_end = (layout->col_caption.height > 0 ? layout->col_caption.y + layout->col_caption.height
                                                      : layout->col_labels.y + layout->col_labels.height)
                      + PIN_MARGIN;
  bands->bottom_y = m->y + m->height;
  if (layout->col_labels.height > 0 && bottom_end > self->pan_y + height
      && bottom_end - bands->bottom_y < height / 3)
    bands->bottom = bottom_end - bands->bottom_y;
  return bands->left > 0 || bands->bottom > 0;
}

static void
paint_clipped (cairo_t *cr, const AttnvizHeatmapSpec *spec, double vw, double vh,
               double x, double y, double w, double h, double dx, double dy)
{
  cairo_save (cr);
  cairo_rectangle (cr, x, y, w, h);
  cairo_clip (cr);
  cairo_translate (cr, dx, dy);
  attnviz_paint_heatmap (cr, spec, vw, vh);
  cairo_restore (cr);
}

static GskRenderNode *build_node (AttnvizHeatmapView *self, int width, int height);

GskRenderNode *
attnviz_heatmap_view_build_node (AttnvizHeatmapView *self, int width, int height)
{
  AttnvizHeatmapSpec spec;

  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), NULL);

  if (width <= 0 || height <= 0)
    return NULL;
  if (is_long (self))
    {
      /* Bins of about a device pixel: the layout's cell decides them. */
      AttnvizHeatmapLayout l;
      if (!screen_spec (self, &spec))
        return NULL;
      attnviz_heatmap_layout (&spec, width * self->zoom, height * self->zoom, &l);
      self->bin = attnviz_heatmap_tiles_bin_for (l.cell * gtk_widget_get_scale_factor (GTK_WIDGET (self)));
      attnviz_heatmap_tiles_begin_frame (self->tiles);
      GskRenderNode *node = build_node (self, width, height);
      attnviz_heatmap_tiles_end_frame (self->tiles);
      return node;
    }
  return build_node (self, width, height);
}

static GskRenderNode *
build_node (AttnvizHeatmapView *self, int width, int height)
{
  AttnvizHeatmapSpec spec;
  AttnvizHeatmapLayout layout;
  PinnedBands bands;

  if (!screen_spec (self, &spec))
    return NULL;
  double vw = width * self->zoom, vh = height * self->zoom;
  if (self->zoom <= 1.0)
    return attnviz_figure_node (ATTNVIZ_FIGURE_HEATMAP, &spec, width, height, vw, vh, 0, 0);

  attnviz_heatmap_layout (&spec, vw, vh, &layout);
  if (!pinned_bands (self, &layout, width, height, &bands))
    return attnviz_figure_node (ATTNVIZ_FIGURE_HEATMAP, &spec, width, height, vw, vh,
                                self->pan_x, self->pan_y);

  GtkSnapshot *snapshot = gtk_snapshot_new ();
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  double bottom_top = height - bands.bottom;
  /* The cells, right of and above the pinned bands. */
  paint_clipped (cr, &spec, vw, vh, bands.left, 0, width - bands.left, bottom_top, -self->pan_x, -self->pan_y);
  /* The row labels, moving with the rows only. */
  if (bands.left > 0)
    paint_clipped (cr, &spec, vw, vh, 0, 0, bands.left, bottom_top, -bands.left_x, -self->pan_y);
  /* The column labels, moving with the columns only. */
  if (bands.bottom > 0)
    paint_clipped (cr, &spec, vw, vh, bands.left, bottom_top, width - bands.left, bands.bottom,
                   -self->pan_x, bottom_top - bands.bottom_y);
  cairo_destroy (cr);
  return gtk_snapshot_free_to_node (snapshot);
}

gboolean
attnviz_heatmap_view_get_layout (AttnvizHeatmapView *self, AttnvizHeatmapLayout *layout,
                                 double *origin_x, double *origin_y)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), FALSE);

  if (!ensure_layout (self))
    return FALSE;
  if (layout)
    *layout = self->layout;
  if (origin_x)
    *origin_x = -self->pan_x;
  if (origin_y)
    *origin_y = -self->pan_y;
  return TRUE;
}

gboolean
attnviz_heatmap_view_hit (AttnvizHeatmapView *self, double x, double y, int *row, int *col)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), FALSE);

  if (!ensure_layout (self))
    {
      if (row)
        *row = -1;
      if (col)
        *col = -1;
      return FALSE;
    }
  PinnedBands bands;
  int width = gtk_widget_get_width (GTK_WIDGET (self)), height = gtk_widget_get_height (GTK_WIDGET (self));
  if (pinned_bands (self, &self->layout, width, height, &bands))
    {
      const AttnvizHeatmapLayout *l = &self->layout;
      double bottom_top = height - bands.bottom;
      int r = -1, c = -1;
      if (x < bands.left && y < bottom_top)
        {
          /* A pinned row label: the row at this height. */
          attnviz_heatmap_layout_hit (l, l->matrix.x + l->cell / 2, y + self->pan_y, &r, NULL);
          if (row)
            *row = r;
          if (col)
            *col = -1;
          return r >= 0 && x + bands.left_x >= l->row_labels.x;
        }
      if (bands.bottom > 0 && y >= bottom_top)
        {
          double vy = y - bottom_top + bands.bottom_y;
          if (x >= bands.left && vy < l->col_labels.y + l->col_labels.height)
            attnviz_heatmap_layout_hit (l, x + self->pan_x, l->matrix.y + l->cell / 2, NULL, &c);
          if (row)
            *row = -1;
          if (col)
            *col = c;
          return c >= 0;
        }
    }
  return attnviz_heatmap_layout_hit (&self->layout, x + self->pan_x, y + self->pan_y, row, col);
}

/* ---- Drawing -------------------------------------------------------------- */

static void
draw_crosshair (AttnvizHeatmapView *self, GtkSnapshot *snapshot)
{
  const AttnvizHeatmapLayout *l = &self->layout;
  const AttnvizRect *m = &l->matrix;
  double ox = -self->pan_x, oy = -self->pan_y;
  double band = MAX (l->cell, 1.0);
  static const GdkRGBA wash = { 1, 1, 1, 0.22 };
  static const GdkRGBA edge = { 1, 1, 1, 0.9 };

  if (self->hover_row >= 0)
    {
      double y = oy + m->y + self->hover_row * l->cell + (l->cell - band) / 2;
      /* From the row labels across the matrix. */
      gtk_snapshot_append_color (snapshot, &wash,
                                 &GRAPHENE_RECT_INIT (ox + l->row_labels.x, y,
                                                      m->x - l->row_labels.x + m->width, band));
    }
  if (self->hover_col >= 0)
    {
      double x = ox + m->x + self->hover_col * l->cell + (l->cell - band) / 2;
      gtk_snapshot_append_color (snapshot, &wash,
                                 &GRAPHENE_RECT_INIT (x, oy + m->y, band,
                                                      l->col_labels.y + l->col_labels.height - m->y));
    }
  if (self->hover_row >= 0 && self->hover_col >= 0)
    {
      graphene_rect_t cell = GRAPHENE_RECT_INIT (ox + m->x + self->hover_col * l->cell,
                                                 oy + m->y + self->hover_row * l->cell,
                                                 l->cell, l->cell);
      if (l->cell < 6)
        graphene_rect_inset (&cell, -(6 - l->cell) / 2, -(6 - l->cell) / 2);
      attnviz_snapshot_outline (snapshot, &cell, &edge);
    }
}

static void
attnviz_heatmap_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);

  if (self->result == NULL || width <= 0 || height <= 0)
    return;
  if (!ensure_layout (self))
    {
      attnviz_snapshot_message (widget, snapshot, "This head was not recorded.");
      return;
    }

  if (self->content == NULL || self->cache_width != width || self->cache_height != height)
    {
      g_clear_pointer (&self->content, gsk_render_node_unref);
      self->content = attnviz_heatmap_view_build_node (self, width, height);
      self->cache_width = width;
      self->cache_height = height;
    }

  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (self->content)
    gtk_snapshot_append_node (snapshot, self->content);
  draw_crosshair (self, snapshot);
  gtk_snapshot_pop (snapshot);
}

static void
attnviz_heatmap_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                              int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = 160;
  *natural = 480;
}

static void
attnviz_heatmap_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (widget);

  if (width != self->cache_width || height != self->cache_height)
    {
      clamp_pan (self);
      invalidate_content (self);
    }
}

static void
attnviz_heatmap_view_css_changed (GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (attnviz_heatmap_view_parent_class)->css_changed (widget, change);
  /* The labels take the CSS colour: a light/dark switch repaints. */
  invalidate_content (ATTNVIZ_HEATMAP_VIEW (widget));
}

/* ---- Zoom and pan --------------------------------------------------------- */

/* Zooms to ZOOM keeping the figure's point under the widget's (X, Y) there. */
static void
zoom_at (AttnvizHeatmapView *self, double zoom, double x, double y)
{
  zoom = CLAMP (zoom, 1.0, ATTNVIZ_HEATMAP_VIEW_MAX_ZOOM);
  if (zoom == self->zoom)
    return;
  double k = zoom / self->zoom;
  self->pan_x = (x + self->pan_x) * k - x;
  self->pan_y = (y + self->pan_y) * k - y;
  self->zoom = zoom;
  clamp_pan (self);
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

static void
zoom_at_centre (AttnvizHeatmapView *self, double zoom)
{
  zoom_at (self, zoom, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
           gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

static void
pan_to (AttnvizHeatmapView *self, double pan_x, double pan_y)
{
  double old_x = self->pan_x, old_y = self->pan_y;
  self->pan_x = pan_x;
  self->pan_y = pan_y;
  clamp_pan (self);
  if (self->pan_x != old_x || self->pan_y != old_y)
    {
      /* The content is painted for one offset: moving repaints only what
       * shows, which the painter does in a few milliseconds. */
      invalidate_content (self);
    }
}

static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, AttnvizHeatmapView *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  gboolean wheel = gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL;

  if (state & GDK_CONTROL_MASK)
    {
      double factor = wheel ? pow (ZOOM_STEP, -dy) : exp (-dy * 0.01);
      zoom_at (self, self->zoom * factor, self->pointer_x, self->pointer_y);
      return TRUE;
    }
  if (self->zoom <= 1.0)
    return FALSE;
  double k = wheel ? SCROLL_WHEEL_PIXELS : 1.0;
  if (state & GDK_SHIFT_MASK)
    pan_to (self, self->pan_x + dy * k, self->pan_y + dx * k);
  else
    pan_to (self, self->pan_x + dx * k, self->pan_y + dy * k);
  return TRUE;
}

static void
on_zoom_begin (GtkGesture *gesture, GdkEventSequence *sequence, AttnvizHeatmapView *self)
{
  self->pinch_zoom = self->zoom;
}

static void
on_zoom_scale_changed (GtkGestureZoom *gesture, double scale, AttnvizHeatmapView *self)
{
  double x, y;
  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    {
      x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
    }
  zoom_at (self, self->pinch_zoom * scale, x, y);
}

/* ---- Pointer -------------------------------------------------------------- */

static void
set_hover (AttnvizHeatmapView *self, int row, int col)
{
  if (row == self->hover_row && col == self->hover_col)
    return;
  self->hover_row = row;
  self->hover_col = col;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[HOVER_CHANGED], 0, row, col);
}

void
attnviz_heatmap_view_set_hover (AttnvizHeatmapView *self, int row, int col)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  set_hover (self, row >= 0 && row < n_tokens (self) ? row : -1, col >= 0 && col < n_cols (self) ? col : -1);
}

static void
on_motion (GtkEventControllerMotion *controller, double x, double y, AttnvizHeatmapView *self)
{
  int row = -1, col = -1;

  self->pointer_x = x;
  self->pointer_y = y;
  if (self->dragging)
    return;
  attnviz_heatmap_view_hit (self, x, y, &row, &col);
  set_hover (self, row, col);
}

static void
on_leave (GtkEventControllerMotion *controller, AttnvizHeatmapView *self)
{
  set_hover (self, -1, -1);
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, AttnvizHeatmapView *self)
{
  self->drag_pan_x = self->pan_x;
  self->drag_pan_y = self->pan_y;
  self->dragging = FALSE;
  if (gtk_widget_get_focusable (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, AttnvizHeatmapView *self)
{
  double x, y;

  gtk_gesture_drag_get_start_point (gesture, &x, &y);
  if (!self->dragging && !gtk_drag_check_threshold (GTK_WIDGET (self), x, y, x + dx, y + dy))
    return;
  if (!self->dragging)
    {
      self->dragging = TRUE;
      set_hover (self, -1, -1);
      gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
    }
  pan_to (self, self->drag_pan_x - dx, self->drag_pan_y - dy);
}

static void
on_drag_end (GtkGestureDrag *gesture, double dx, double dy, AttnvizHeatmapView *self)
{
  double x, y;
  int row, col;

  if (self->dragging)
    {
      self->dragging = FALSE;
      gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
      return;
    }
  /* A click: a cell selects its query, a label its token; again clears. */
  gtk_gesture_drag_get_start_point (gesture, &x, &y);
  if (!attnviz_heatmap_view_hit (self, x, y, &row, &col))
    return;
  if (row < 0 && !is_square (self))
    {
      /* A source token's label, across the columns of the cross-attention. */
      attnviz_heatmap_view_set_selected_key (self, col == self->selected_key ? -1 : col);
      return;
    }
  int token = row >= 0 ? row : col;
  attnviz_heatmap_view_set_selected_token (self, token == self->selected_token ? -1 : token);
}

static char *
token_markup (AttnvizHeatmapView *self, AttnvizAxis axis, int index)
{
  const char *label = axis == ATTNVIZ_AXIS_ROWS ? attnviz_result_get_label (self->result, index)
                                                : attnviz_result_get_col_label (self->result, index);
  g_autofree char *shown = attnviz_painter_display_text (label);
  g_autofree char *escaped = g_markup_escape_text (shown, -1);
  return g_strdup_printf ("%d “%s”", index, escaped);
}

/* A long run's cell: its exact value, from an exact tile or computed off
 * the main loop (the tooltip is asked again when it arrives). */
static char *
long_cell_markup (AttnvizHeatmapView *self, int row, int col)
{
  float v, a, b;
  g_autofree char *q = token_markup (self, ATTNVIZ_AXIS_ROWS, row);
  g_autofree char *k = token_markup (self, ATTNVIZ_AXIS_COLS, col);
  const char *qn = is_square (self) ? "query" : "target", *kn = is_square (self) ? "key" : "source";
  if (!attnviz_heatmap_tiles_get_value (self->tiles, row, col, &v, &a, &b))
    return g_strdup_printf ("<b>%s</b> %s\n<b>%s</b> %s\n<b>weight</b> …", qn, q, kn, k);
  if (attnviz_result_is_difference (self->result))
    return g_strdup_printf ("<b>%s</b> %s\n<b>%s</b> %s\n<b>A − B</b> %+.4g\n<b>A</b> %.4g · <b>B</b> %.4g",
                            qn, q, kn, k, v, a, b);
  return g_strdup_printf ("<b>%s</b> %s\n<b>%s</b> %s\n<b>weight</b> %.4g", qn, q, kn, k, v);
}

static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (widget);
  int row, col;

  if (keyboard || !attnviz_heatmap_view_hit (self, x, y, &row, &col))
    return FALSE;

  g_autofree char *markup = NULL;
  if (row >= 0 && col >= 0 && is_long (self))
    markup = long_cell_markup (self, row, col);
  else if (row >= 0 && col >= 0)
    {
      const float *m = attnviz_result_get_matrix (self->result, self->aggregate, self->layer, self->head);
      g_autofree char *q = token_markup (self, ATTNVIZ_AXIS_ROWS, row);
      g_autofree char *k = token_markup (self, ATTNVIZ_AXIS_COLS, col);
      gsize at = (gsize) row * n_cols (self) + col;
      AttnvizResult *a = attnviz_result_get_a (self->result);
      if (a != NULL)
        {
          const float *ma = attnviz_result_get_matrix (a, self->aggregate, self->layer, self->head);
          const float *mb = attnviz_result_get_matrix (attnviz_result_get_b (self->result), self->aggregate,
                                                       self->layer, self->head);
          markup = g_strdup_printf ("<b>query</b> %s\n<b>key</b> %s\n<b>A − B</b> %+.4g\n"
                                    "<b>A</b> %.4g · <b>B</b> %.4g",
                                    q, k, m[at], ma[at], mb[at]);
        }
      else if (!is_square (self))
        {
          /* The decoder reads target token ROW to write the next one:
           * the weight is that step's look at the source. */
          g_autofree char *next = NULL;
          if (row + 1 < n_tokens (self))
            {
              g_autofree char *shown = attnviz_painter_display_text (attnviz_result_get_label (self->result, row + 1));
              g_autofree char *escaped = g_markup_escape_text (shown, -1);
              next = g_strdup_printf (" → “%s”", escaped);
            }
          markup = g_strdup_printf ("<b>target</b> %s%s\n<b>source</b> %s\n<b>weight</b> %.4g", q,
                                    next ? next : "", k, m[at]);
        }
      else
        markup = g_strdup_printf ("<b>query</b> %s\n<b>key</b> %s\n<b>weight</b> %.4g", q, k, m[at]);
    }
  else
    {
      AttnvizAxis axis = row >= 0 ? ATTNVIZ_AXIS_ROWS : ATTNVIZ_AXIS_COLS;
      int index = row >= 0 ? row : col;
      g_autofree char *t = token_markup (self, axis, index);
      const char *name = is_square (self) ? (row >= 0 ? "query" : "key") : (row >= 0 ? "target" : "source");
      markup = g_strdup_printf ("<b>%s</b> %s\nid %d · click to highlight", name, t,
                                row >= 0 ? attnviz_result_get_token_id (self->result, index)
                                         : attnviz_result_get_col_token_id (self->result, index));
    }
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

/* ---- Actions -------------------------------------------------------------- */

static void
step_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (widget);

  if (g_str_equal (action_name, "heatmap.next-head"))
    attnviz_heatmap_view_set_head (self, self->head + 1);
  else if (g_str_equal (action_name, "heatmap.previous-head"))
    attnviz_heatmap_view_set_head (self, self->head - 1);
  else if (g_str_equal (action_name, "heatmap.next-layer"))
    attnviz_heatmap_view_set_layer (self, self->layer + 1);
  else if (g_str_equal (action_name, "heatmap.previous-layer"))
    attnviz_heatmap_view_set_layer (self, self->layer - 1);
  else if (g_str_equal (action_name, "heatmap.zoom-in"))
    zoom_at_centre (self, self->zoom * ZOOM_STEP);
  else if (g_str_equal (action_name, "heatmap.zoom-out"))
    zoom_at_centre (self, self->zoom / ZOOM_STEP);
  else if (g_str_equal (action_name, "heatmap.zoom-fit"))
    attnviz_heatmap_view_set_zoom (self, 1.0);
}

/* ---- GObject -------------------------------------------------------------- */

static void
attnviz_heatmap_view_dispose (GObject *object)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (object);

  g_clear_pointer (&self->content, gsk_render_node_unref);
  if (self->tiles != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->tiles, self);
      attnviz_heatmap_tiles_set_result (self->tiles, NULL);
      g_clear_object (&self->tiles);
    }
  g_clear_object (&self->result);
  G_OBJECT_CLASS (attnviz_heatmap_view_parent_class)->dispose (object);
}

static void
attnviz_heatmap_view_finalize (GObject *object)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (object);

  g_free (self->label);
  attnviz_label_cache_free (self->label_cache);
  g_free (self->export_matrix);
  g_strfreev (self->export_row_labels);
  g_strfreev (self->export_col_labels);
  g_free (self->title);
  g_free (self->subtitle);
  G_OBJECT_CLASS (attnviz_heatmap_view_parent_class)->finalize (object);
}

static void
attnviz_heatmap_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (object);

  switch (prop_id)
    {
    case PROP_RESULT:
      g_value_set_object (value, self->result);
      break;
    case PROP_LAYER:
      g_value_set_int (value, self->layer);
      break;
    case PROP_HEAD:
      g_value_set_int (value, self->head);
      break;
    case PROP_AGGREGATE:
      g_value_set_enum (value, self->aggregate);
      break;
    case PROP_COLORMAP:
      g_value_set_enum (value, self->colormap);
      break;
    case PROP_SCALE:
      g_value_set_enum (value, self->scale);
      break;
    case PROP_SELECTED_TOKEN:
      g_value_set_int (value, self->selected_token);
      break;
    case PROP_SELECTED_KEY:
      g_value_set_int (value, self->selected_key);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_heatmap_view_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (object);

  switch (prop_id)
    {
    case PROP_RESULT:
      attnviz_heatmap_view_set_result (self, g_value_get_object (value));
      break;
    case PROP_LAYER:
      attnviz_heatmap_view_set_layer (self, g_value_get_int (value));
      break;
    case PROP_HEAD:
      attnviz_heatmap_view_set_head (self, g_value_get_int (value));
      break;
    case PROP_AGGREGATE:
      attnviz_heatmap_view_set_aggregate (self, g_value_get_enum (value));
      break;
    case PROP_COLORMAP:
      attnviz_heatmap_view_set_colormap (self, g_value_get_enum (value));
      break;
    case PROP_SCALE:
      attnviz_heatmap_view_set_scale (self, g_value_get_enum (value));
      break;
    case PROP_SELECTED_TOKEN:
      attnviz_heatmap_view_set_selected_token (self, g_value_get_int (value));
      break;
    case PROP_SELECTED_KEY:
      attnviz_heatmap_view_set_selected_key (self, g_value_get_int (value));
      break;
    case PROP_ZOOM:
      attnviz_heatmap_view_set_zoom (self, g_value_get_double (value));
      break;
    case PROP_LABEL:
      attnviz_heatmap_view_set_label (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_heatmap_view_class_init (AttnvizHeatmapViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = attnviz_heatmap_view_dispose;
  object_class->finalize = attnviz_heatmap_view_finalize;
  object_class->get_property = attnviz_heatmap_view_get_property;
  object_class->set_property = attnviz_heatmap_view_set_property;

  widget_class->snapshot = attnviz_heatmap_view_snapshot;
  widget_class->measure = attnviz_heatmap_view_measure;
  widget_class->size_allocate = attnviz_heatmap_view_size_allocate;
  widget_class->css_changed = attnviz_heatmap_view_css_changed;

  properties[PROP_RESULT] =
    g_param_spec_object ("result", NULL, NULL, ATTNVIZ_TYPE_RESULT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LAYER] =
    g_param_spec_int ("layer", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HEAD] =
    g_param_spec_int ("head", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_AGGREGATE] =
    g_param_spec_enum ("aggregate", NULL, NULL, ATTNVIZ_TYPE_AGGREGATE, ATTNVIZ_AGGREGATE_HEAD,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COLORMAP] =
    g_param_spec_enum ("colormap", NULL, NULL, ATTNVIZ_TYPE_COLORMAP, ATTNVIZ_COLORMAP_VIRIDIS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SCALE] =
    g_param_spec_enum ("scale", NULL, NULL, ATTNVIZ_TYPE_SCALE_KIND, ATTNVIZ_SCALE_LINEAR,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED_TOKEN] =
    g_param_spec_int ("selected-token", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The source token highlighted across a cross-attention's columns. */
  properties[PROP_SELECTED_KEY] =
    g_param_spec_int ("selected-key", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM] =
    g_param_spec_double ("zoom", NULL, NULL, 1.0, ATTNVIZ_HEATMAP_VIEW_MAX_ZOOM, 1.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LABEL] =
    g_param_spec_string ("label", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The crosshair moved to (row, col), -1 for none: views side by side
   * show it at the same cell. */
  signals[HOVER_CHANGED] =
    g_signal_new ("hover-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);

  gtk_widget_class_install_action (widget_class, "heatmap.next-head", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "heatmap.previous-head", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "heatmap.next-layer", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "heatmap.previous-layer", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "heatmap.zoom-in", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "heatmap.zoom-out", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "heatmap.zoom-fit", NULL, step_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "heatmap.next-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Right, 0, "heatmap.next-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "heatmap.previous-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Left, 0, "heatmap.previous-head", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, 0, "heatmap.next-layer", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Down, 0, "heatmap.next-layer", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, 0, "heatmap.previous-layer", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Up, 0, "heatmap.previous-layer", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "heatmap.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "heatmap.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, 0, "heatmap.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "heatmap.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, 0, "heatmap.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "heatmap.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0, 0, "heatmap.zoom-fit", NULL);

  gtk_widget_class_set_css_name (widget_class, "heatmapview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

/* A tile or a hover value arrived: the same figure, more of it exact. */
static void
on_tiles_changed (AttnvizHeatmapView *self)
{
  g_clear_pointer (&self->content, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (self->hover_row >= 0 && self->hover_col >= 0)
    gtk_widget_trigger_tooltip_query (GTK_WIDGET (self));
}

static void
attnviz_heatmap_view_init (AttnvizHeatmapView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *controller;
  GtkGesture *gesture;

  self->selected_token = -1;
  self->selected_key = -1;
  self->zoom = 1.0;
  self->label_cache = attnviz_label_cache_new ();
  self->bin = 1;
  self->tiles = attnviz_heatmap_tiles_new ();
  g_signal_connect_swapped (self->tiles, "changed", G_CALLBACK (on_tiles_changed), self);
  self->hover_row = -1;
  self->hover_col = -1;
  self->colormap = ATTNVIZ_COLORMAP_VIRIDIS;
  self->scale = ATTNVIZ_SCALE_LINEAR;

  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_has_tooltip (widget, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Attention heatmap of one head", -1);
  gtk_widget_set_overflow (widget, GTK_OVERFLOW_HIDDEN);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "enter", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (widget, controller);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (controller, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (widget, controller);

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (on_zoom_begin), self);
  g_signal_connect (gesture, "scale-changed", G_CALLBACK (on_zoom_scale_changed), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (gesture));
}

GtkWidget *
attnviz_heatmap_view_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_HEATMAP_VIEW, NULL);
}

/* ---- Properties ----------------------------------------------------------- */

AttnvizResult *
attnviz_heatmap_view_get_result (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), NULL);
  return self->result;
}

void
attnviz_heatmap_view_set_result (AttnvizHeatmapView *self, AttnvizResult *result)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));
  g_return_if_fail (result == NULL || ATTNVIZ_IS_RESULT (result));

  if (!g_set_object (&self->result, result))
    return;

  g_object_freeze_notify (G_OBJECT (self));
  /* Keep the layer and head when the new run has them. */
  if (self->layer >= n_layers (self))
    attnviz_heatmap_view_set_layer (self, MAX (0, n_layers (self) - 1));
  if (self->head >= n_heads (self))
    attnviz_heatmap_view_set_head (self, MAX (0, n_heads (self) - 1));
  if (self->selected_token >= n_tokens (self))
    attnviz_heatmap_view_set_selected_token (self, -1);
  if (!is_square (self) && self->selected_key >= n_cols (self))
    attnviz_heatmap_view_set_selected_key (self, -1);
  self->hover_row = self->hover_col = -1;
  attnviz_label_cache_reset (self->label_cache);
  attnviz_heatmap_tiles_set_result (self->tiles, result);
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT]);
  g_object_thaw_notify (G_OBJECT (self));
}

int
attnviz_heatmap_view_get_layer (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), 0);
  return self->layer;
}

void
attnviz_heatmap_view_set_layer (AttnvizHeatmapView *self, int layer)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  if (self->result != NULL)
    layer = CLAMP (layer, 0, MAX (0, n_layers (self) - 1));
  layer = MAX (layer, 0);
  if (layer == self->layer)
    return;
  self->layer = layer;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAYER]);
}

int
attnviz_heatmap_view_get_head (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), 0);
  return self->head;
}

void
attnviz_heatmap_view_set_head (AttnvizHeatmapView *self, int head)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  if (self->result != NULL)
    head = CLAMP (head, 0, MAX (0, n_heads (self) - 1));
  head = MAX (head, 0);
  if (head == self->head)
    return;
  self->head = head;
  if (self->aggregate == ATTNVIZ_AGGREGATE_HEAD)
    invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEAD]);
}

AttnvizAggregate
attnviz_heatmap_view_get_aggregate (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), ATTNVIZ_AGGREGATE_HEAD);
  return self->aggregate;
}

void
attnviz_heatmap_view_set_aggregate (AttnvizHeatmapView *self, AttnvizAggregate aggregate)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  if (aggregate == self->aggregate)
    return;
  self->aggregate = aggregate;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AGGREGATE]);
}

AttnvizColormap
attnviz_heatmap_view_get_colormap (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), ATTNVIZ_COLORMAP_VIRIDIS);
  return self->colormap;
}

void
attnviz_heatmap_view_set_colormap (AttnvizHeatmapView *self, AttnvizColormap colormap)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  if (colormap == self->colormap)
    return;
  self->colormap = colormap;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COLORMAP]);
}

AttnvizScaleKind
attnviz_heatmap_view_get_scale (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), ATTNVIZ_SCALE_LINEAR);
  return self->scale;
}

void
attnviz_heatmap_view_set_scale (AttnvizHeatmapView *self, AttnvizScaleKind scale)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  if (scale == self->scale)
    return;
  self->scale = scale;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SCALE]);
}

int
attnviz_heatmap_view_get_selected_token (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), -1);
  return self->selected_token;
}

void
attnviz_heatmap_view_set_selected_token (AttnvizHeatmapView *self, int token)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  if (token < 0 || (self->result != NULL && token >= n_tokens (self)))
    token = -1;
  if (token == self->selected_token)
    return;
  self->selected_token = token;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_TOKEN]);
}

int
attnviz_heatmap_view_get_selected_key (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), -1);
  return self->selected_key;
}

void
attnviz_heatmap_view_set_selected_key (AttnvizHeatmapView *self, int key)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  /* Kept as it is while the columns are the rows' tokens (it is not used
   * then): a window binds it to a source token whatever it shows. */
  if (key < 0 || (self->result != NULL && !is_square (self) && key >= n_cols (self)))
    key = -1;
  if (key == self->selected_key)
    return;
  self->selected_key = key;
  if (!is_square (self))
    invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_KEY]);
}

double
attnviz_heatmap_view_get_zoom (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), 1.0);
  return self->zoom;
}

void
attnviz_heatmap_view_set_zoom (AttnvizHeatmapView *self, double zoom)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  zoom = CLAMP (zoom, 1.0, ATTNVIZ_HEATMAP_VIEW_MAX_ZOOM);
  if (zoom == 1.0)
    {
      /* Fit: back to the whole figure. */
      self->pan_x = self->pan_y = 0;
      if (self->zoom != 1.0)
        {
          self->zoom = 1.0;
          invalidate_content (self);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
        }
      return;
    }
  zoom_at_centre (self, zoom);
}

const char *
attnviz_heatmap_view_get_label (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), NULL);
  return self->label;
}

void
attnviz_heatmap_view_set_label (AttnvizHeatmapView *self, const char *label)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  if (g_strcmp0 (label, self->label) == 0)
    return;
  g_free (self->label);
  self->label = g_strdup (label);
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LABEL]);
}

void
attnviz_heatmap_view_set_range (AttnvizHeatmapView *self, double vmin, double vmax)
{
  g_return_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self));

  if (!(vmin < vmax))
    vmin = vmax = 0;
  if (vmin == self->vmin && vmax == self->vmax)
    return;
  self->vmin = vmin;
  self->vmax = vmax;
  invalidate_content (self);
}

struct _AttnvizHeatmapTiles *
attnviz_heatmap_view_get_tiles (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), NULL);
  return self->tiles;
}

int
attnviz_heatmap_view_get_bin (AttnvizHeatmapView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), 1);
  return self->bin;
}
