/* attnviz-grid-view.c: the model view, one thumbnail per layer and head
 *
 * The thumbnails are painted once by attnviz_paint_grid () into a render
 * node kept until the data, the size or a setting changes; the current
 * head's outline and the hovered one are drawn over it each frame, so
 * stepping through heads costs nothing here.
 *
 * A result with an attention source is drawn from the overviews its
 * forward pass left (at most 256 x 256 bins a head), at any length: max
 * pooling, so that thin diagonals and single strong keys stay visible.  A
 * long run keeps no dense matrices at all; a small one's are read only
 * when a thumbnail has more pixels than its overview has bins.  A comparison (a difference
 * result) shows one number per head instead: how far B's rows are from
 * A's.  Pointer, keys, menu and tooltip are attnviz-grid-view-input.c's.
 */
#define G_LOG_DOMAIN "attnviz-grid-view"
#include "config.h"

#include <math.h>

#include "attnviz-difference.h"
#include "attnviz-grid-view-private.h"

/* On screen the labels grow with the thumbnails from the first size to
 * the second (a big window's grid is read from further away). */
#define SCREEN_FONT_SIZE 11.0
#define SCREEN_MAX_FONT_SIZE 18.0

G_DEFINE_FINAL_TYPE (AttnvizGridView, attnviz_grid_view, ATTNVIZ_TYPE_FIGURE_VIEW)

enum {
  PROP_0,
  PROP_MENU_MODEL,
  PROP_SHOW_SCORES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

guint _attnviz_grid_view_signals[N_GRID_VIEW_SIGNALS];

static void
clear_overviews (AttnvizGridView *self)
{
  g_clear_pointer (&self->overviews, g_free);
  g_clear_pointer (&self->diff, g_free);
  self->ov_rows = self->ov_cols = 0;
  self->diff_range = 0;
}

static void
invalidate_content (AttnvizGridView *self)
{
  attnviz_figure_view_invalidate (ATTNVIZ_FIGURE_VIEW (self));
}

/* The overviews of SOURCE's heads, as the grid lays them out, into
 * OUT (n_layer * n_head); FALSE when it has none. */
static gboolean
find_overviews (AttnvizGridView *self, AttnvizAttention *source, AttnvizPool pool, const float **out,
                int *rows, int *cols)
{
  int L = n_layers (self), H = n_heads (self), any = 0;

  *rows = *cols = 0;
  if (source == NULL || attnviz_attention_get_n_layers (source) < L || attnviz_attention_get_n_heads (source) < H)
    return FALSE;
  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      {
        int r = 0, c = 0;
        out[l * H + h] = attnviz_attention_has_head (source, l, h)
                         ? attnviz_attention_get_overview (source, l, h, pool, &r, &c) : NULL;
        if (out[l * H + h] == NULL)
          continue;
        if (any++ == 0)
          *rows = r, *cols = c;
        else if (r != *rows || c != *cols)
          return FALSE;
      }
  return any > 0;
}

/* A difference's thumbnails: A's mean overview minus B's, bin by bin (a
 * bin's mean of A − B is exactly the difference of the means; maxima do
 * not subtract). */
static void
ensure_difference_overviews (AttnvizGridView *self, gsize n)
{
  AttnvizAttention *sa = attnviz_result_get_source (attnviz_difference_get_a (ATTNVIZ_DIFFERENCE (figure_result (self))));
  AttnvizAttention *sb = attnviz_result_get_source (attnviz_difference_get_b (ATTNVIZ_DIFFERENCE (figure_result (self))));
  g_autofree const float **oa = g_new0 (const float *, n);
  g_autofree const float **ob = g_new0 (const float *, n);
  int ra, ca, rb, cb;

  if (!find_overviews (self, sa, ATTNVIZ_POOL_MEAN, oa, &ra, &ca)
      || !find_overviews (self, sb, ATTNVIZ_POOL_MEAN, ob, &rb, &cb) || ra != rb || ca != cb)
    return;
  gsize bins = (gsize) ra * ca;
  self->diff = g_try_new (float, n * bins);
  if (self->diff == NULL)
    return;
  for (gsize k = 0; k < n; k++)
    {
      float *d = self->diff + k * bins;
      if (oa[k] == NULL || ob[k] == NULL)
        continue;
      for (gsize i = 0; i < bins; i++)
        {
          d[i] = oa[k][i] - ob[k][i];
          self->diff_range = MAX (self->diff_range, fabsf (d[i]));
        }
      self->overviews[k] = d;
    }
  self->ov_rows = ra;
  self->ov_cols = ca;
}

static void
ensure_overviews (AttnvizGridView *self)
{
  gsize n = (gsize) n_layers (self) * n_heads (self);

  if (self->overviews != NULL || figure_result (self) == NULL || n == 0)
    return;
  self->overviews = g_new0 (const float *, n);
  if (ATTNVIZ_IS_DIFFERENCE (figure_result (self)))
    ensure_difference_overviews (self, n);
  else if (!find_overviews (self, attnviz_result_get_source (figure_result (self)), ATTNVIZ_POOL_MAX,
                            self->overviews, &self->ov_rows, &self->ov_cols))
    self->ov_rows = self->ov_cols = 0;
  if (self->ov_rows == 0)
    g_clear_pointer (&self->overviews, g_free);
}

/* " · max of ≥ 32 × 32 tokens per pixel" (the wording of render --grid)
 * when a pixel holds more than one token, else "": an overview's bin at
 * least, or more on a thumbnail of PIXELS a side (0: any size) that has
 * fewer pixels than the overview has bins. */
static char *
pooling_note (AttnvizGridView *self, const char *what, double pixels)
{
  int rows = attnviz_result_get_n_tokens (figure_result (self)), cols = attnviz_result_get_n_cols (figure_result (self));
  int br = (rows + self->ov_rows - 1) / self->ov_rows, bc = (cols + self->ov_cols - 1) / self->ov_cols;
  if (pixels >= 1)
    {
      br = MAX (br, (int) floor (rows / pixels));
      bc = MAX (bc, (int) floor (cols / pixels));
    }
  if (br <= 1 && bc <= 1)
    return g_strdup ("");
  return g_strdup_printf (" · %s of ≥ %d × %d tokens per pixel", what, br, bc);
}

/* A hybrid (or additive) model's additive heads: chipped "a", and the
 * subtitle says so.  After the overlays, which may reorder the heads. */
static void
mark_additive_heads (AttnvizGridView *self, AttnvizGridSpec *spec)
{
  const AttnvizRecording *rec = attnviz_result_get_recording (figure_result (self));
  int L = spec->n_layer, H = spec->n_head;

  g_clear_pointer (&self->additive, g_free);
  /* (A − B keeps the marks only where A and B score alike: attnviz-difference.c) */
  if (rec == NULL || rec->head_additive == NULL)
    return;
  self->additive = g_new0 (guint8, (gsize) L * H);
  for (int l = 0; l < L; l++)
    for (int c = 0; c < H; c++)
      {
        int head = spec->cell_head_index ? spec->cell_head_index[l * H + c] : c;
        self->additive[l * H + c] = attnviz_recording_head_additive (rec, l, head);
      }
  spec->marks = self->additive;
  spec->mark_label = "a";
  char *subtitle = g_strconcat (spec->subtitle ? spec->subtitle : "", " · a: additive head", NULL);
  g_free (self->subtitle);
  self->subtitle = subtitle;
  spec->subtitle = self->subtitle;
}

gboolean
attnviz_grid_view_get_spec (AttnvizGridView *self, AttnvizGridSpec *spec)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);

  if (figure_result (self) == NULL)
    return FALSE;
  g_clear_pointer (&self->range_caption, g_free);
  const double *tvd = ATTNVIZ_IS_DIFFERENCE (figure_result (self))
                      ? attnviz_difference_get_tvd (ATTNVIZ_DIFFERENCE (figure_result (self))) : NULL;
  AttnvizAttention *source = attnviz_result_get_source (figure_result (self));
  /* A long run's dense maps are not kept: all its entries are NULL. */
  const float *const *maps = source == NULL || attnviz_attention_is_dense (source)
                             ? attnviz_result_get_maps (figure_result (self)) : NULL;
  gboolean difference = ATTNVIZ_IS_DIFFERENCE (figure_result (self));
  if (difference)
    maps = NULL;
  if (!difference || !self->show_scores)
    ensure_overviews (self);
  if (maps == NULL && self->overviews == NULL)
    maps = attnviz_result_get_maps (figure_result (self));   /* no overviews: heads without data */
  attnviz_grid_spec_init (spec, n_layers (self), n_heads (self), maps,
                          attnviz_result_get_n_tokens (figure_result (self)), attnviz_result_get_n_cols (figure_result (self)));
  if (!difference || !self->show_scores)
    spec->overviews = (const float *const *) self->overviews;
  spec->ov_rows = self->ov_rows;
  spec->ov_cols = self->ov_cols;
  spec->lower_triangular = attnviz_result_get_causal (figure_result (self));
  spec->pooling = ATTNVIZ_POOL_MAX;
  /* A comparison's distances keep their own map (magma): they are not
   * weights. */
  spec->colormap = difference ? ATTNVIZ_COLORMAP_MAGMA : figure_colormap (self);
  attnviz_scale_init (&spec->scale, difference ? ATTNVIZ_SCALE_LINEAR : figure_scale (self), 0, 0);
  spec->current_layer = figure_layer (self);
  spec->current_head = figure_head (self);
  spec->aggregate = figure_aggregate (self) == ATTNVIZ_AGGREGATE_MEAN ? ATTNVIZ_GRID_AGGREGATE_MEAN
                  : figure_aggregate (self) == ATTNVIZ_AGGREGATE_MAX ? ATTNVIZ_GRID_AGGREGATE_MAX
                  : ATTNVIZ_GRID_AGGREGATE_NONE;
  const char *with = spec->aggregate == ATTNVIZ_GRID_AGGREGATE_MEAN ? ", and each layer’s mean"
                   : spec->aggregate == ATTNVIZ_GRID_AGGREGATE_MAX ? ", and each layer’s max" : "";
  g_free (self->title);
  if (self->overviews != NULL && difference && !self->show_scores)
    {
      g_autofree char *note = pooling_note (self, "mean", 0);
      self->title = g_strdup_printf ("A − B of every layer and head%s%s", with, note);
    }
  else if (self->overviews != NULL && maps == NULL)
    {
      g_autofree char *note = pooling_note (self, "max", 0);
      self->title = g_strdup_printf ("attention of every layer and head%s%s", with, note);
    }
  else
    self->title = g_strdup_printf ("attention of every layer and head%s", with);
  spec->title = self->title;
  if (difference && !self->show_scores && self->overviews != NULL)
    {
      /* A − B on the difference's diverging map, one range for all heads
       * symmetric about 0, so that the heads that change most stand out. */
      spec->pooling = ATTNVIZ_POOL_MEAN;
      spec->colormap = ATTNVIZ_COLORMAP_RDBU;
      float top = self->diff_range > 0 ? self->diff_range : 1;
      attnviz_scale_init (&spec->scale, ATTNVIZ_SCALE_LINEAR, -top, top);
    }
  else if (tvd != NULL)
    {
      /* From 0 (unchanged) to the largest change, so that the heads the
       * variant moves most stand out. */
      double top = 0;
      for (int i = 0; i < n_layers (self) * n_heads (self); i++)
        top = MAX (top, tvd[i]);
      spec->scores = tvd;
      attnviz_scale_init (&spec->scale, ATTNVIZ_SCALE_LINEAR, 0, top > 0 ? top : 1);
      spec->title = "total variation distance between A’s and B’s attention";
    }
  else
    {
      /* The whole run's range or a fixed one: one bar for every thumbnail,
       * that says so; per head (and per layer, which a grid of one bar
       * cannot show) each thumbnail its own. */
      AttnvizRangeMode mode = attnviz_view_state_get_range_mode (figure_state (self));
      double top = mode == ATTNVIZ_RANGE_RUN ? attnviz_result_get_range_max (figure_result (self), mode, 0, 0)
                 : mode == ATTNVIZ_RANGE_FIXED ? 1.0 : NAN;
      if (top > 0)
        {
          attnviz_scale_init (&spec->scale, figure_scale (self), 0, top);
          self->range_caption = attnviz_range_mode_describe (mode, &spec->scale);
          spec->scale_caption = self->range_caption;
        }
      else if (mode == ATTNVIZ_RANGE_LAYER)
        /* One bar cannot hold a range a layer: each thumbnail its own,
         * and the subtitle says that the heatmap has the layer's. */
        self->range_caption = g_strdup ("per head (per layer: in the heatmap)");
    }
  g_free (self->subtitle);
  g_autofree char *run = attnviz_result_describe_run (figure_result (self));
  self->subtitle = self->range_caption != NULL ? g_strdup_printf ("%s · colours: %s", run, self->range_caption)
                                               : g_steal_pointer (&run);
  spec->subtitle = self->subtitle;
  _attnviz_grid_view_apply_overlays (self, spec);
  mark_additive_heads (self, spec);
  return TRUE;
}

/* On screen the current head is outlined by the widget, over the cache;
 * the title is left out, and the subtitle says how thumbnails drawn from
 * the overviews are pooled at the widget's size, as the export's title. */
static gboolean
screen_spec (AttnvizGridView *self, AttnvizGridSpec *spec)
{
  if (!attnviz_grid_view_get_spec (self, spec))
    return FALSE;
  spec->current_layer = -1;
  spec->current_head = -1;
  spec->title = NULL;
  spec->font_size = SCREEN_FONT_SIZE;
  spec->max_font_size = SCREEN_MAX_FONT_SIZE;
  attnviz_widget_get_foreground (GTK_WIDGET (self), &spec->foreground);
  g_clear_pointer (&self->screen_subtitle, g_free);
  if (spec->overviews != NULL && spec->maps == NULL && spec->scores == NULL)
    {
      AttnvizGridLayout l;
      attnviz_grid_layout (spec, gtk_widget_get_width (GTK_WIDGET (self)), gtk_widget_get_height (GTK_WIDGET (self)),
                           &l);
      g_autofree char *note = pooling_note (self, spec->pooling == ATTNVIZ_POOL_MEAN ? "mean" : "max",
                                            l.thumb * gtk_widget_get_scale_factor (GTK_WIDGET (self)));
      self->screen_subtitle = g_strconcat (spec->subtitle ? spec->subtitle : "", note, NULL);
      spec->subtitle = self->screen_subtitle;
    }
  return TRUE;
}

const char *
attnviz_grid_view_get_screen_subtitle (AttnvizGridView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), NULL);

  AttnvizGridSpec spec;
  if (!screen_spec (self, &spec))
    return NULL;
  return spec.subtitle;
}

gboolean
_attnviz_grid_view_ensure_layout (AttnvizGridView *self)
{
  AttnvizGridSpec spec;

  if (self->layout_valid)
    return TRUE;
  if (!screen_spec (self, &spec))
    return FALSE;
  attnviz_grid_layout (&spec, gtk_widget_get_width (GTK_WIDGET (self)),
                       gtk_widget_get_height (GTK_WIDGET (self)), &self->layout);
  self->layout_valid = TRUE;
  return TRUE;
}

static GskRenderNode *
attnviz_grid_view_build_figure (AttnvizFigureView *view, int width, int height)
{
  AttnvizGridSpec spec;

  if (!screen_spec (ATTNVIZ_GRID_VIEW (view), &spec))
    return NULL;
  return attnviz_figure_node (ATTNVIZ_FIGURE_GRID, &spec, width, height, width, height, 0, 0);
}

GskRenderNode *
attnviz_grid_view_build_node (AttnvizGridView *self, int width, int height)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), NULL);
  return attnviz_figure_view_build_node (ATTNVIZ_FIGURE_VIEW (self), width, height);
}

gboolean
attnviz_grid_view_hit (AttnvizGridView *self, double x, double y, int *layer, int *head)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), FALSE);

  if (!_attnviz_grid_view_ensure_layout (self) || !attnviz_grid_layout_hit (&self->layout, x, y, layer, head))
    return FALSE;
  /* A column of a layer ordered by similarity shows another head. */
  if (layer != NULL && head != NULL)
    *head = _attnviz_grid_view_head_at (self, *layer, *head);
  return TRUE;
}

gboolean
_attnviz_grid_view_hit_cell (AttnvizGridView *self, double x, double y, int *layer, int *head)
{
  if (attnviz_grid_view_hit (self, x, y, layer, head))
    return TRUE;
  if (!_attnviz_grid_view_ensure_layout (self) || !attnviz_grid_layout_hit_aggregate (&self->layout, x, y, layer))
    return FALSE;
  *head = n_heads (self);
  return TRUE;
}

gboolean
_attnviz_grid_view_cell_rect (AttnvizGridView *self, int layer, int head, AttnvizRect *rect)
{
  if (!_attnviz_grid_view_ensure_layout (self))
    return FALSE;
  if (head == n_heads (self))
    return attnviz_grid_layout_aggregate_rect (&self->layout, layer, rect);
  return attnviz_grid_layout_cell_rect (&self->layout, layer, _attnviz_grid_view_column_of (self, layer, head), rect);
}

gboolean
attnviz_grid_view_get_layout (AttnvizGridView *self, AttnvizGridLayout *layout)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), FALSE);

  if (!_attnviz_grid_view_ensure_layout (self))
    return FALSE;
  *layout = self->layout;
  return TRUE;
}

gboolean
attnviz_grid_view_get_aggregate_rect (AttnvizGridView *self, int layer, graphene_rect_t *rect)
{
  AttnvizRect r;

  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), FALSE);

  if (!_attnviz_grid_view_ensure_layout (self) || !attnviz_grid_layout_aggregate_rect (&self->layout, layer, &r))
    return FALSE;
  graphene_rect_init (rect, r.x, r.y, r.width, r.height);
  return TRUE;
}

gboolean
attnviz_grid_view_get_thumbnail_rect (AttnvizGridView *self, int layer, int head, graphene_rect_t *rect)
{
  AttnvizRect r;

  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), FALSE);

  if (!_attnviz_grid_view_ensure_layout (self)
      || !attnviz_grid_layout_cell_rect (&self->layout, layer, _attnviz_grid_view_column_of (self, layer, head), &r))
    return FALSE;
  graphene_rect_init (rect, r.x, r.y, r.width, r.height);
  return TRUE;
}

static void
outline_thumbnail (AttnvizGridView *self, GtkSnapshot *snapshot, int layer, int head, const GdkRGBA *color)
{
  AttnvizRect r;

  if (!_attnviz_grid_view_cell_rect (self, layer, head, &r))
    return;
  graphene_rect_t rect = GRAPHENE_RECT_INIT (r.x, r.y, r.width, r.height);
  attnviz_snapshot_outline (snapshot, &rect, color);
}

/* A round badge with a letter at the top right of a thumbnail: heads
 * switched off in A (red) or B (blue), the colours of the difference's
 * ends. */
static void
draw_badge (AttnvizGridView *self, GtkSnapshot *snapshot, const AttnvizRect *r, int slot, const char *letter,
            const GdkRGBA *fill)
{
  double d = CLAMP (r->width / 4, 8, 18);
  double x = r->x + r->width - (slot + 1) * (d + 2), y = r->y + 2;
  graphene_rect_t box = GRAPHENE_RECT_INIT (x, y, d, d);
  GskRoundedRect round;
  static const GdkRGBA white = { 1, 1, 1, 1 };
  static const GdkRGBA edge = { 1, 1, 1, 0.9 };

  gsk_rounded_rect_init_from_rect (&round, &box, d / 2);
  gtk_snapshot_push_rounded_clip (snapshot, &round);
  gtk_snapshot_append_color (snapshot, fill, &box);
  gtk_snapshot_pop (snapshot);
  gtk_snapshot_append_border (snapshot, &round, (float[4]) { 1, 1, 1, 1 }, (GdkRGBA[4]) { edge, edge, edge, edge });
  if (d >= 12)
    {
      PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), letter);
      PangoAttrList *attrs = pango_attr_list_new ();
      int lw, lh;
      pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
      pango_attr_list_insert (attrs, pango_attr_size_new_absolute ((int) (d * 0.62 * PANGO_SCALE)));
      pango_layout_set_attributes (layout, attrs);
      pango_attr_list_unref (attrs);
      pango_layout_get_pixel_size (layout, &lw, &lh);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x + (d - lw) / 2, y + (d - lh) / 2));
      gtk_snapshot_append_layout (snapshot, layout, &white);
      gtk_snapshot_restore (snapshot);
      g_object_unref (layout);
    }
}

static void
draw_marks (AttnvizGridView *self, GtkSnapshot *snapshot)
{
  static const GdkRGBA red = { 0.698, 0.094, 0.169, 1 };
  static const GdkRGBA blue = { 0.129, 0.4, 0.675, 1 };
  int H = n_heads (self);

  if (self->marks == NULL || self->marks->len != (guint) (n_layers (self) * H))
    return;
  for (int l = 0; l < n_layers (self); l++)
    for (int h = 0; h < H; h++)
      {
        guint8 m = self->marks->data[l * H + h];
        AttnvizRect r;
        if (m == 0 || !attnviz_grid_layout_cell_rect (&self->layout, l, _attnviz_grid_view_column_of (self, l, h), &r))
          continue;
        int slot = 0;
        if (m & 2)
          draw_badge (self, snapshot, &r, slot++, "B", &blue);
        if (m & 1)
          draw_badge (self, snapshot, &r, slot++, "A", &red);
      }
}

void
attnviz_grid_view_set_marks (AttnvizGridView *self, const guint8 *marks, int n)
{
  g_return_if_fail (ATTNVIZ_IS_GRID_VIEW (self));

  gboolean any = FALSE;
  for (int i = 0; marks != NULL && i < n; i++)
    any |= marks[i] != 0;
  if (!any && self->marks == NULL)
    return;
  g_clear_pointer (&self->marks, g_byte_array_unref);
  if (any)
    {
      self->marks = g_byte_array_sized_new (n);
      g_byte_array_append (self->marks, marks, n);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static const char *
attnviz_grid_view_get_message (AttnvizFigureView *view)
{
  return _attnviz_grid_view_ensure_layout (ATTNVIZ_GRID_VIEW (view)) ? NULL : "";
}

/* The badges, the hovered thumbnail and the current one, over the cache. */
static void
attnviz_grid_view_snapshot_overlay (AttnvizFigureView *view, GtkSnapshot *snapshot)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (view);
  static const GdkRGBA hover = { 1, 1, 1, 0.6 };
  static const GdkRGBA current = { 1, 1, 1, 1 };
  int layer = figure_layer (self), head = figure_head (self);

  /* Under an aggregate the other views show the current layer's. */
  if (figure_aggregate (self) != ATTNVIZ_AGGREGATE_HEAD && self->layout.aggregate.width > 0)
    head = n_heads (self);
  draw_marks (self, snapshot);
  if (self->hover_layer >= 0 && (self->hover_layer != layer || self->hover_head != head))
    outline_thumbnail (self, snapshot, self->hover_layer, self->hover_head, &hover);
  outline_thumbnail (self, snapshot, layer, head, &current);
}

static void
attnviz_grid_view_resized (AttnvizFigureView *view, int width, int height)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (view);

  if (self->menu != NULL)
    gtk_popover_present (GTK_POPOVER (self->menu));
}

static void
attnviz_grid_view_invalidated (AttnvizFigureView *view)
{
  ATTNVIZ_GRID_VIEW (view)->layout_valid = FALSE;
}

/* Stepping heads only moves the outline: the thumbnails stay. */
static gboolean
attnviz_grid_view_state_changed (AttnvizFigureView *view, GParamSpec *pspec)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (view);

  if (pspec == NULL)
    {
      self->hover_layer = self->hover_head = -1;
      clear_overviews (self);
      _attnviz_grid_view_clear_order (self);
      return TRUE;
    }
  return g_str_equal (pspec->name, "colormap") || g_str_equal (pspec->name, "scale")
         || g_str_equal (pspec->name, "head-colour") || g_str_equal (pspec->name, "order-heads")
         || g_str_equal (pspec->name, "aggregate") || g_str_equal (pspec->name, "range-mode");
}

/* ---- GObject -------------------------------------------------------------- */

static void
attnviz_grid_view_dispose (GObject *object)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (object);

  g_clear_pointer (&self->menu, gtk_widget_unparent);
  g_clear_object (&self->menu_model);
  g_clear_pointer (&self->marks, g_byte_array_unref);
  clear_overviews (self);
  _attnviz_grid_view_clear_order (self);
  G_OBJECT_CLASS (attnviz_grid_view_parent_class)->dispose (object);
}

static void
attnviz_grid_view_finalize (GObject *object)
{
  g_free (ATTNVIZ_GRID_VIEW (object)->subtitle);
  g_free (ATTNVIZ_GRID_VIEW (object)->range_caption);
  g_free (ATTNVIZ_GRID_VIEW (object)->title);
  g_free (ATTNVIZ_GRID_VIEW (object)->screen_subtitle);
  g_free (ATTNVIZ_GRID_VIEW (object)->measure_scores);
  g_free (ATTNVIZ_GRID_VIEW (object)->ordered_maps);
  g_free (ATTNVIZ_GRID_VIEW (object)->ordered_overviews);
  g_free (ATTNVIZ_GRID_VIEW (object)->ordered_scores);
  g_free (ATTNVIZ_GRID_VIEW (object)->additive);
  G_OBJECT_CLASS (attnviz_grid_view_parent_class)->finalize (object);
}

static void
attnviz_grid_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (object);

  switch (prop_id)
    {
    case PROP_MENU_MODEL:
      g_value_set_object (value, self->menu_model);
      break;
    case PROP_SHOW_SCORES:
      g_value_set_boolean (value, self->show_scores);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_grid_view_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AttnvizGridView *self = ATTNVIZ_GRID_VIEW (object);

  switch (prop_id)
    {
    case PROP_MENU_MODEL:
      attnviz_grid_view_set_menu_model (self, g_value_get_object (value));
      break;
    case PROP_SHOW_SCORES:
      attnviz_grid_view_set_show_scores (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
attnviz_grid_view_class_init (AttnvizGridViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  AttnvizFigureViewClass *figure_class = ATTNVIZ_FIGURE_VIEW_CLASS (klass);

  object_class->dispose = attnviz_grid_view_dispose;
  object_class->finalize = attnviz_grid_view_finalize;
  object_class->get_property = attnviz_grid_view_get_property;
  object_class->set_property = attnviz_grid_view_set_property;

  figure_class->build_node = attnviz_grid_view_build_figure;
  figure_class->get_message = attnviz_grid_view_get_message;
  figure_class->snapshot_overlay = attnviz_grid_view_snapshot_overlay;
  figure_class->state_changed = attnviz_grid_view_state_changed;
  figure_class->resized = attnviz_grid_view_resized;
  figure_class->invalidated = attnviz_grid_view_invalidated;

  properties[PROP_MENU_MODEL] =
    g_param_spec_object ("menu-model", NULL, NULL, G_TYPE_MENU_MODEL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_SCORES] =
    g_param_spec_boolean ("show-scores", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A thumbnail was clicked, or Enter pressed on the current one. */
  _attnviz_grid_view_signals[HEAD_ACTIVATED] =
    g_signal_new ("head-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);
  /* A thumbnail was Ctrl+clicked (with these modifiers): switch that head
   * off, or back on, in a variant. */
  _attnviz_grid_view_signals[HEAD_TOGGLED] =
    g_signal_new ("head-toggled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_INT, GDK_TYPE_MODIFIER_TYPE);

  _attnviz_grid_view_class_init_input (widget_class);

  gtk_widget_class_set_css_name (widget_class, "gridview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
attnviz_grid_view_init (AttnvizGridView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);

  self->hover_layer = self->hover_head = -1;
  self->show_scores = TRUE;

  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Attention of every layer and head", -1);
  _attnviz_grid_view_init_input (self);
}

GtkWidget *
attnviz_grid_view_new (void)
{
  return g_object_new (ATTNVIZ_TYPE_GRID_VIEW, NULL);
}

GMenuModel *
attnviz_grid_view_get_menu_model (AttnvizGridView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), NULL);
  return self->menu_model;
}

void
attnviz_grid_view_set_menu_model (AttnvizGridView *self, GMenuModel *model)
{
  g_return_if_fail (ATTNVIZ_IS_GRID_VIEW (self));
  g_return_if_fail (model == NULL || G_IS_MENU_MODEL (model));

  if (!g_set_object (&self->menu_model, model))
    return;
  g_clear_pointer (&self->menu, gtk_widget_unparent);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MENU_MODEL]);
}

gboolean
attnviz_grid_view_get_show_scores (AttnvizGridView *self)
{
  g_return_val_if_fail (ATTNVIZ_IS_GRID_VIEW (self), TRUE);
  return self->show_scores;
}

void
attnviz_grid_view_set_show_scores (AttnvizGridView *self, gboolean show_scores)
{
  g_return_if_fail (ATTNVIZ_IS_GRID_VIEW (self));

  show_scores = !!show_scores;
  if (show_scores == self->show_scores)
    return;
  self->show_scores = show_scores;
  invalidate_content (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_SCORES]);
}
