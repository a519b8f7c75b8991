/* attnviz-heatmap-view.c: one head (or an aggregate) as an interactive heatmap
 *
 * A figure view (attnviz-figure-view.h) of its state's result: the base
 * keeps the painted figure until the state, the size, the zoom, the pan
 * or a setting changes; the hover crosshair is drawn on top of it every
 * frame.  Zooming paints a larger virtual figure, moved by the pan offset
 * and clipped to the widget: only what shows is drawn, and the painter's
 * label rule keeps the labels legible or hidden at any zoom.  Pointer and
 * keys: attnviz-heatmap-view-input.c.
 */
#define G_LOG_DOMAIN "attnviz-heatmap-view"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-difference.h"
#include "attnviz-heatmap-view-private.h"

#define SCREEN_FONT_SIZE 11.0
/* An export of a long run is pooled to at most this many bins a side. */
#define EXPORT_MAX_BINS 1024

G_DEFINE_FINAL_TYPE (AttnvizHeatmapView, attnviz_heatmap_view, ATTNVIZ_TYPE_FIGURE_VIEW)

enum {
  PROP_0,
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

/* The colour range of the state's range mode (a range set on the view,
 * the compare view's A and B, stays), and what the colour bar and the
 * subtitle say of it.  Layer and run ranges come from the heads' overviews. */
static void
apply_range_mode (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec)
{
  AttnvizRangeMode mode = attnviz_view_state_get_range_mode (figure_state (self));
  gboolean shared = self->vmin != self->vmax;

  if (!shared && mode != ATTNVIZ_RANGE_HEAD)
    {
      double top = mode == ATTNVIZ_RANGE_FIXED
        ? 1.0 : attnviz_result_get_range_max (shown_result (self), mode, figure_layer (self), figure_head (self));
      if (!(top > 0))
        top = 1.0;
      spec->scale.vmin = attnviz_colormap_is_diverging (spec->colormap) ? -top : 0.0;
      spec->scale.vmax = top;
    }
  g_autofree char *what = attnviz_range_mode_describe (mode, &spec->scale);
  AttnvizMatrixKind matrix = attnviz_result_get_matrix_kind (shown_result (self));
  /* "Per head" of a layer's mean or max over heads, or of the run's one
   * rollout or flow, is that picture's own range. */
  gboolean whole_run_matrix = matrix == ATTNVIZ_MATRIX_ROLLOUT || matrix == ATTNVIZ_MATRIX_FLOW;
  if (mode == ATTNVIZ_RANGE_HEAD && (whole_run_matrix || figure_aggregate (self) != ATTNVIZ_AGGREGATE_HEAD))
    {
      g_free (what);
      what = g_strdup (whole_run_matrix ? "its own range"
                       : figure_aggregate (self) == ATTNVIZ_AGGREGATE_MEAN ? "this mean's own" : "this max's own");
    }
  if (matrix != ATTNVIZ_MATRIX_WEIGHTS)
    {
      /* The colour bar says what its numbers are. */
      char *with = g_strdup_printf ("%s · %s", attnviz_matrix_get_unit (matrix), what);
      g_free (what);
      what = with;
    }
  /* Interned: a few strings, valid as long as any copy of the spec. */
  spec->scale_caption = g_intern_string (what);
  char *sub = g_strdup_printf ("%s · colours: %s%s", self->subtitle, shared ? "A and B, " : "", what);
  g_free (self->subtitle);
  self->subtitle = sub;
  spec->subtitle = self->subtitle;
}

static void
fill_spec (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec, const float *matrix, int bin)
{
  attnviz_heatmap_spec_init (spec, matrix, n_tokens (self), n_cols (self));
  spec->row_labels = attnviz_result_get_labels (shown_result (self));
  spec->col_labels = attnviz_result_get_col_labels (shown_result (self));
  if (!is_square (self))
    {
      spec->row_caption = "target (query)";
      spec->col_caption = "source (key)";
    }
  g_autofree char *what = attnviz_result_describe (shown_result (self), figure_aggregate (self), figure_layer (self), figure_head (self));
  g_free (self->title);
  self->title = self->label ? g_strdup_printf ("%s · %s", self->label, what) : g_steal_pointer (&what);
  g_free (self->subtitle);
  /* Every figure says which variant of the model it shows (and an
   * encoder-decoder's which attention). */
  self->subtitle = attnviz_result_describe_details (shown_result (self));
  AttnvizMatrixKind kind = attnviz_result_get_matrix_kind (shown_result (self));
  if (kind != ATTNVIZ_MATRIX_WEIGHTS)
    {
      char *sub = kind == ATTNVIZ_MATRIX_VALUE_WEIGHTED
        ? g_strdup_printf ("%s (%s) · %s", attnviz_matrix_describe (kind), attnviz_matrix_get_unit (kind), self->subtitle)
        : g_strdup_printf ("%s of the whole run · %s", attnviz_matrix_describe (kind), self->subtitle);
      g_free (self->subtitle);
      self->subtitle = sub;
    }
  if (bin > 1)
    {
      /* A picture pooled for the screen or the file says so, as render does. */
      g_autofree char *note = attnviz_result_describe_pooling (shown_result (self), figure_aggregate (self), bin);
      char *sub = g_strdup_printf ("%s · %s", self->subtitle, note);
      g_free (self->subtitle);
      self->subtitle = sub;
    }
  spec->title = self->title;
  spec->subtitle = self->subtitle;
  spec->colormap = figure_colormap (self);
  spec->mask_future = is_square (self) && attnviz_result_get_causal (shown_result (self));
  /* A sparse pattern's left-out cells are no data too (cells, not bins). */
  const AttnvizRecording *rec = attnviz_result_get_recording (shown_result (self));
  if (bin == 1 && is_square (self) && rec != NULL && attnviz_result_get_kind (shown_result (self)) == ATTNVIZ_ATTENTION_SELF
      && (kind == ATTNVIZ_MATRIX_WEIGHTS || kind == ATTNVIZ_MATRIX_VALUE_WEIGHTED))
    spec->pattern = rec->pattern;
  attnviz_scale_init (&spec->scale, figure_scale (self), self->vmin, self->vmax);
  apply_range_mode (self, spec);
  spec->highlight_row = attnviz_view_state_get_row_token (figure_state (self));
  spec->highlight_col = is_square (self) ? attnviz_view_state_get_row_token (figure_state (self)) : attnviz_view_state_get_selected_source (figure_state (self));
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
    ? attnviz_result_get_rect (shown_result (self), figure_aggregate (self), figure_layer (self), figure_head (self), 0, rows, 0, cols,
                               self->export_matrix, cols)
    : attnviz_result_pool_tile (shown_result (self), figure_aggregate (self), figure_layer (self), figure_head (self), k, 0, br, 0, bc,
                                ATTNVIZ_POOL_MAX, self->export_matrix, NULL);
  if (!ok)
    return FALSE;
  fill_spec (self, spec, self->export_matrix, k);
  spec->rows = br;
  spec->cols = bc;
  if (k > 1)
    {
      self->export_row_labels = bin_labels (attnviz_result_get_labels (shown_result (self)), k, rows);
      self->export_col_labels = bin_labels (attnviz_result_get_col_labels (shown_result (self)), k, cols);
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
  attnviz_heatmap_tiles_set_result (self->tiles, shown_result (self));
  attnviz_heatmap_tiles_set_picture (self->tiles, figure_aggregate (self), figure_layer (self), figure_head (self));
  fill_spec (self, spec, NULL, self->bin);
  spec->paint_cells = paint_long_cells;
  spec->paint_cells_data = self;
  if (self->vmin == self->vmax && attnviz_view_state_get_range_mode (figure_state (self)) == ATTNVIZ_RANGE_HEAD)
    {
      int r = 0, c = 0;
      const float *o = attnviz_heatmap_tiles_get_overview (self->tiles, &r, &c);
      attnviz_scale_init (&spec->scale, figure_scale (self), 0, 0);
      if (o != NULL)
        attnviz_scale_fit (&spec->scale, o, (gsize) r * c, attnviz_colormap_is_diverging (figure_colormap (self)));
      /* The mean over heads' overview is of means, below the max-pooled
       * bins and the cells the tiles show: the scale reaches their bound. */
      float bound = attnviz_heatmap_tiles_get_upper_bound (self->tiles);
      if (attnviz_scale_has_range (&spec->scale) && bound > spec->scale.vmax)
        spec->scale.vmax = bound;
      /* A difference's overview is of means (A's − B's), its cells and
       * bins reach beyond; a bound of |A − B| (the larger weight) would
       * leave the picture blank: the colour bar says it clips. */
      spec->scale_clips = isnan (bound) && ATTNVIZ_IS_DIFFERENCE (shown_result (self));
      if (!attnviz_scale_has_range (&spec->scale))
        attnviz_scale_init (&spec->scale, figure_scale (self), 0, 1);
    }
  attnviz_heatmap_tiles_set_colors (self->tiles, figure_colormap (self), &spec->scale);
  return TRUE;
}

gboolean
attnviz_heatmap_view_get_spec (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);

  if (is_long (self))
    return long_export_spec (self, spec);
  const float *matrix = shown_result (self)
    ? attnviz_result_get_matrix (shown_result (self), figure_aggregate (self), figure_layer (self), figure_head (self)) : NULL;
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
  /* The painter fits an unset range to the whole matrix, four times a
   * frame (the cells and each pinned band): once a head is enough. */
  if (!is_long (self) && !attnviz_scale_has_range (&spec->scale) && spec->scale.vmin == spec->scale.vmax
      && spec->matrix != NULL)
    {
      if (!self->fitted_valid || self->fitted.kind != spec->scale.kind)
        {
          self->fitted = spec->scale;
          attnviz_scale_fit (&self->fitted, spec->matrix, (gsize) spec->rows * spec->cols,
                             attnviz_colormap_is_diverging (spec->colormap));
          self->fitted_valid = TRUE;
        }
      spec->scale = self->fitted;
    }
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

static GskRenderNode *
attnviz_heatmap_view_build_figure (AttnvizFigureView *view, int width, int height)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (view);
  AttnvizHeatmapSpec spec;

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
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!pinned_bands (self, &layout, width, height, &bands))
    {
      paint_clipped (cr, &spec, vw, vh, 0, 0, width, height, -self->pan_x, -self->pan_y);
      _attnviz_heatmap_view_paint_zoomed (self, cr, &spec, width, height);
      cairo_destroy (cr);
      return gtk_snapshot_free_to_node (snapshot);
    }

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
  _attnviz_heatmap_view_paint_zoomed (self, cr, &spec, width, height);
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
draw_crosshair (AttnvizFigureView *view, GtkSnapshot *snapshot)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (view);
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


static const char *
attnviz_heatmap_view_get_message (AttnvizFigureView *view)
{
  const char *message = _attnviz_heatmap_view_matrix_message (ATTNVIZ_HEATMAP_VIEW (view));
  if (message != NULL)
    return message;
  return ensure_layout (ATTNVIZ_HEATMAP_VIEW (view)) ? NULL : "This head was not recorded.";
}

static void
attnviz_heatmap_view_resized (AttnvizFigureView *view, int width, int height)
{
  clamp_pan (ATTNVIZ_HEATMAP_VIEW (view));
}

static void
attnviz_heatmap_view_invalidated (AttnvizFigureView *view)
{
  ATTNVIZ_HEATMAP_VIEW (view)->layout_valid = FALSE;
}

static gboolean heatmap_state_changed (AttnvizHeatmapView *self, GParamSpec *pspec);

/* Stepping heads under an aggregate, or moving the source selection of
 * a square result, leaves the figure as it is. */
static gboolean
attnviz_heatmap_view_state_changed (AttnvizFigureView *view, GParamSpec *pspec)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (view);
  gboolean stale = heatmap_state_changed (self, pspec);

  if (stale)
    self->fitted_valid = FALSE;
  return stale;
}

static gboolean
heatmap_state_changed (AttnvizHeatmapView *self, GParamSpec *pspec)
{
  if (pspec == NULL)
    {
      self->run_serial++;
      AttnvizResult *result = shown_result (self);
      self->hover_row = self->hover_col = -1;
      attnviz_label_cache_reset (self->label_cache);
      attnviz_heatmap_tiles_set_result (self->tiles, result);
      _attnviz_heatmap_view_take_focus (self);
      return TRUE;
    }
  /* Rollout and flow are one matrix of the run: stepping leaves them. */
  AttnvizMatrixKind matrix = attnviz_view_state_get_matrix (figure_state (self));
  gboolean whole_run = matrix == ATTNVIZ_MATRIX_ROLLOUT || matrix == ATTNVIZ_MATRIX_FLOW;
  if (g_str_equal (pspec->name, "head"))
    return figure_aggregate (self) == ATTNVIZ_AGGREGATE_HEAD && !whole_run;
  if (g_str_equal (pspec->name, "layer") || g_str_equal (pspec->name, "aggregate"))
    return !whole_run;
  if (g_str_equal (pspec->name, "head-colour") || g_str_equal (pspec->name, "order-heads"))
    return FALSE;
  if (g_str_equal (pspec->name, "selected-source"))
    return !is_square (self) || attnviz_view_state_get_attention (figure_state (self)) == ATTNVIZ_ATTENTION_ENCODER;
  if (g_str_equal (pspec->name, "selected-token"))
    return attnviz_view_state_get_attention (figure_state (self)) != ATTNVIZ_ATTENTION_ENCODER;
  return TRUE;
}

GskRenderNode *
attnviz_heatmap_view_build_node (AttnvizHeatmapView *self, int width, int height)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), NULL);
  return attnviz_figure_view_build_node (ATTNVIZ_FIGURE_VIEW (self), width, height);
}

/* ---- GObject -------------------------------------------------------------- */

static void
attnviz_heatmap_view_dispose (GObject *object)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (object);

  _attnviz_heatmap_view_cancel_matrix (self);
  if (self->tiles != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->tiles, self);
      attnviz_heatmap_tiles_set_result (self->tiles, NULL);
      g_clear_object (&self->tiles);
    }
  G_OBJECT_CLASS (attnviz_heatmap_view_parent_class)->dispose (object);
}

static void
attnviz_heatmap_view_finalize (GObject *object)
{
  AttnvizHeatmapView *self = ATTNVIZ_HEATMAP_VIEW (object);

  g_free (self->label);
  g_free (self->matrix_message);
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
  AttnvizFigureViewClass *figure_class = ATTNVIZ_FIGURE_VIEW_CLASS (klass);

  object_class->dispose = attnviz_heatmap_view_dispose;
  object_class->finalize = attnviz_heatmap_view_finalize;
  object_class->get_property = attnviz_heatmap_view_get_property;
  object_class->set_property = attnviz_heatmap_view_set_property;

  figure_class->build_node = attnviz_heatmap_view_build_figure;
  figure_class->get_message = attnviz_heatmap_view_get_message;
  figure_class->snapshot_overlay = draw_crosshair;
  figure_class->state_changed = attnviz_heatmap_view_state_changed;
  figure_class->resized = attnviz_heatmap_view_resized;
  figure_class->invalidated = attnviz_heatmap_view_invalidated;

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

  _attnviz_heatmap_view_class_init_input (widget_class);
  gtk_widget_class_set_css_name (widget_class, "heatmapview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

/* A tile or a hover value arrived: the same figure, more of it exact. */
static void
on_tiles_changed (AttnvizHeatmapView *self)
{
  attnviz_figure_view_invalidate (ATTNVIZ_FIGURE_VIEW (self));
  if (self->hover_row >= 0 && self->hover_col >= 0)
    gtk_widget_trigger_tooltip_query (GTK_WIDGET (self));
}

static void
attnviz_heatmap_view_init (AttnvizHeatmapView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);

  self->zoom = 1.0;
  self->label_cache = attnviz_label_cache_new ();
  self->bin = 1;
  self->tiles = attnviz_heatmap_tiles_new ();
  g_signal_connect_swapped (self->tiles, "changed", G_CALLBACK (on_tiles_changed), self);
  self->hover_row = -1;
  self->hover_col = -1;

  gtk_widget_set_focusable (widget, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Attention heatmap of one head", -1);
  gtk_widget_set_overflow (widget, GTK_OVERFLOW_HIDDEN);
  _attnviz_heatmap_view_init_input (self);
}

GtkWidget *
attnviz_heatmap_view_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_HEATMAP_VIEW, NULL);
}

void
_attnviz_heatmap_view_notify_zoom (AttnvizHeatmapView *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

/* ---- Properties ----------------------------------------------------------- */

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
  _attnviz_heatmap_view_zoom_at_centre (self, zoom);
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


gboolean
attnviz_heatmap_view_get_screen_spec (AttnvizHeatmapView *self, AttnvizHeatmapSpec *spec)
{
  g_return_val_if_fail (ATTNVIZ_IS_HEATMAP_VIEW (self), FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);
  return screen_spec (self, spec);
}
