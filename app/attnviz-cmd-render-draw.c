/* attnviz-cmd-render-draw.c: the figures of attnviz render, drawn from a
 * run's attention sources with the same painter the desktop app uses
 * (whatever made the run: a model, a dump, another framework's tensor) */
#define G_LOG_DOMAIN "attnviz-cmd-render"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"
#include "attnviz-cmd-render-private.h"
#include "attnviz-fileutil.h"
#include "attnviz-metrics.h"
#include "attnviz-parallel.h"

static const char *const attention_names[] = {
  [ATTENTION_SELF] = "decoder self-attention",
  [ATTENTION_ENCODER] = "encoder self-attention",
  [ATTENTION_CROSS] = "cross-attention",
};

/* The attention source of KIND: every figure reads through it. */
static AttnvizAttention *
kind_source (const AttnvizRecording *rec, RenderAttention kind)
{
  switch (kind)
    {
    case ATTENTION_ENCODER: return rec->enc_attention;
    case ATTENTION_CROSS: return rec->cross_attention;
    case ATTENTION_SELF:
    default: return rec->attention;
    }
}

/* What a heatmap or lines figure draws: one head, or the mean or max over
 * a layer's heads, of run A, minus the same of run B when comparing. */
typedef struct {
  AttnvizAttention *a, *b;  /* b NULL: A alone */
  int layer, head;          /* head -1: every head of the layer, combined */
  int n_head;
  RenderAggregate aggregate;
  int rows, cols;
} Drawn;

/* OUT (m, cols) = the heads of SOURCE combined over rows [i0, i0 + m) as
 * attnviz_combine_maps () combines whole maps (the app's aggregate), one
 * head at a time through SCRATCH (m, cols). */
static void
combined_rows (const Drawn *d, AttnvizAttention *source, int i0, int m, float *out, float *scratch)
{
  gsize n = (gsize) m * d->cols;
  if (d->head >= 0)
    {
      attnviz_attention_get_rect (source, d->layer, d->head, i0, i0 + m, 0, d->cols, out, d->cols);
      return;
    }
  attnviz_attention_get_rect (source, d->layer, 0, i0, i0 + m, 0, d->cols, out, d->cols);
  for (int h = 1; h < d->n_head; h++)
    {
      attnviz_attention_get_rect (source, d->layer, h, i0, i0 + m, 0, d->cols, scratch, d->cols);
      if (d->aggregate == AGGREGATE_MAX)
        for (gsize i = 0; i < n; i++)
          out[i] = MAX (out[i], scratch[i]);
      else
        for (gsize i = 0; i < n; i++)
          out[i] += scratch[i];
    }
  if (d->aggregate == AGGREGATE_MEAN && d->n_head > 1)
    {
      float k = 1.0f / d->n_head;
      for (gsize i = 0; i < n; i++)
        out[i] *= k;
    }
}

/* OUT (m, cols) = rows [i0, i0 + m) of the drawn matrix; SCRATCH holds
 * 2 (m, cols). */
static void
drawn_rows (const Drawn *d, int i0, int m, float *out, float *scratch)
{
  gsize n = (gsize) m * d->cols;
  combined_rows (d, d->a, i0, m, out, scratch);
  if (d->b == NULL)
    return;
  combined_rows (d, d->b, i0, m, scratch + n, scratch);
  for (gsize i = 0; i < n; i++)
    out[i] = out[i] - scratch[n + i];
}

/* Rows a figure reads at once: the attention source's recompute block. */
#define RENDER_ROW_BLOCK 128

/* The whole drawn matrix (rows, cols): for inputs a figure shows cell by
 * cell, the same values the dense matrices gave. */
static float *
drawn_matrix (const Drawn *d)
{
  gsize n = (gsize) d->rows * d->cols;
  float *out = g_new (float, MAX (n, 1));
  g_autofree float *scratch = d->b || d->head < 0 ? g_new (float, 2 * MAX (n, 1)) : NULL;
  drawn_rows (d, 0, d->rows, out, scratch);
  return out;
}

/* OUT (br, bc) = the drawn matrix pooled into BR x BC bins by their mean
 * (bins as attnviz_attention_pool () makes them), exactly, a band of rows
 * at a time. */
static void
drawn_pooled (const Drawn *d, int br, int bc, float *out)
{
  if (d->b == NULL && d->head >= 0)
    {
      attnviz_attention_pool (d->a, d->layer, d->head, br, bc, ATTNVIZ_POOL_MEAN, out, NULL);
      return;
    }
  gsize n = (gsize) RENDER_ROW_BLOCK * d->cols;
  g_autofree float *block = g_new (float, n);
  g_autofree float *scratch = g_new (float, 2 * n);
  memset (out, 0, sizeof (float) * br * bc);
  for (int i0 = 0; i0 < d->rows; i0 += RENDER_ROW_BLOCK)
    {
      int m = MIN (RENDER_ROW_BLOCK, d->rows - i0);
      drawn_rows (d, i0, m, block, scratch);
      for (int r = 0; r < m; r++)
        {
          const float *row = block + (gsize) r * d->cols;
          float *o = out + (gsize) attnviz_bin_of (i0 + r, br, d->rows) * bc;
          for (int j = 0; j < bc; j++)
            {
              int c0 = attnviz_bin_start (j, bc, d->cols), c1 = attnviz_bin_start (j + 1, bc, d->cols);
              float sum = o[j];
              for (int c = c0; c < c1; c++)
                sum += row[c];
              o[j] = sum;
            }
        }
    }
  for (int i = 0; i < br; i++)
    for (int j = 0; j < bc; j++)
      out[(gsize) i * bc + j] /= (float) (attnviz_bin_start (i + 1, br, d->rows) - attnviz_bin_start (i, br, d->rows))
                                 * (attnviz_bin_start (j + 1, bc, d->cols) - attnviz_bin_start (j, bc, d->cols));
}

/* The grid's thumbnails: every head of SOURCE pooled by its max into
 * (tr, tc) bins, side by side on the engine's threads. */
typedef struct {
  AttnvizAttention *source;
  int n_head;
  int tr, tc;
  float *thumbs;            /* (n_layer * n_head, tr, tc) */
  const float **maps;       /* (n_layer * n_head) pointers into thumbs */
} GridJob;

static void
grid_range (gpointer data, gsize start, gsize end)
{
  const GridJob *job = data;
  gsize bins = (gsize) job->tr * job->tc;
  for (gsize k = start; k < end; k++)
    {
      int layer = (int) k / job->n_head, head = (int) k % job->n_head;
      float *out = job->thumbs + k * bins;
      if (!attnviz_attention_has_head (job->source, layer, head))
        continue;
      attnviz_attention_pool (job->source, layer, head, job->tr, job->tc, ATTNVIZ_POOL_MAX, out, NULL);
      job->maps[k] = out;
    }
}

/* The largest weight of the heads of SOURCE in MODE's scope around LAYER
 * and HEAD (a layer's heads, every head), each the largest bin of its max
 * overview, which the forward pass leaves and which holds the head's
 * exact largest weight: no matrix is read. */
static double
source_range_max (AttnvizAttention *source, AttnvizRangeMode mode, int layer, int head)
{
  int n_layer = attnviz_attention_get_n_layers (source), n_head = attnviz_attention_get_n_heads (source);
  int l0 = mode == ATTNVIZ_RANGE_RUN ? 0 : layer, l1 = mode == ATTNVIZ_RANGE_RUN ? n_layer : layer + 1;
  int h0 = mode == ATTNVIZ_RANGE_HEAD ? head : 0, h1 = mode == ATTNVIZ_RANGE_HEAD ? head + 1 : n_head;
  double m = 0;
  for (int l = l0; l < l1; l++)
    for (int h = h0; h < h1; h++)
      {
        int r, c;
        const float *o = attnviz_attention_has_head (source, l, h)
          ? attnviz_attention_get_overview (source, l, h, ATTNVIZ_POOL_MAX, &r, &c) : NULL;
        for (gsize i = 0; o != NULL && i < (gsize) r * c; i++)
          m = MAX (m, o[i]);
      }
  return m;
}

/* A pooled figure never holds more bins than this a side (64 MiB). */
#define RENDER_MAX_BINS 4096

/* "8" for bins of 8 tokens, "5–6" when N over LENGTH bins are uneven. */
static char *
bin_size_text (int n, int length)
{
  int lo = length / n, hi = (length + n - 1) / n;
  return lo == hi ? g_strdup_printf ("%d", lo) : g_strdup_printf ("%d–%d", lo, hi);
}

/* "mean of 8 × 8 tokens per cell" for BR x BC bins over ROWS x COLS. */
static char *
pooling_note (const char *stat, int br, int bc, int rows, int cols, const char *per)
{
  g_autofree char *r = bin_size_text (br, rows);
  g_autofree char *c = bin_size_text (bc, cols);
  return g_strdup_printf ("%s of %s × %s tokens per %s", stat, r, c, per);
}

/* Labels of BINS bins over TEXTS (LENGTH): each bin's first token, after
 * its position ("2048:␣the"), so a long axis can be read. */
static char **
bin_labels (const char *const *texts, int bins, int length)
{
  if (texts == NULL)
    return NULL;
  char **labels = g_new0 (char *, bins + 1);
  for (int i = 0; i < bins; i++)
    {
      int t = attnviz_bin_start (i, bins, length);
      labels[i] = g_strdup_printf ("%d:%s", t, texts[t]);
    }
  return labels;
}

/* Device pixels per point of a figure of WIDTH_PT written to PATH: a PNG
 * is ceil (width * 300 / 72) whole pixels wide (attnviz_paint_to_file),
 * SVG and PDF thumbnails are pooled for 300 dpi (attnviz-painter-grid.c),
 * so a figure pooled here has the bins the painter would make. */
static double
pixels_per_point (const char *path, double width_pt, double dpi)
{
  double d = dpi > 0 ? dpi : ATTNVIZ_PAINTER_PNG_DPI;
  if (g_str_has_suffix (path, ".png") || g_str_has_suffix (path, ".PNG"))
    return attnviz_png_pixels (width_pt, d) / width_pt;
  return d / 72.0;
}

int
_attnviz_render_draw (const RenderRun *run, const RenderRequest *req)
{
  const AttnvizRecording *rec = run->rec, *rec_b = run->rec_b;
  RenderAttention kind = run->kind;
  RenderView view = req->view;
  RenderAggregate aggregate = req->aggregate;
  AttnvizColormap colormap = req->colormap;
  AttnvizScaleKind scale_kind = req->scale_kind;
  AttnvizCliFigure *fig = req->fig;
  AttnvizRangeMode range_mode = fig->range_mode;
  double vmin = req->vmin, vmax = req->vmax;
  double width = fig->width_pt, height = fig->height_pt, font_size = fig->font_size;
  const gboolean colorbar = !fig->no_colorbar;
  const gboolean compare = rec_b != NULL, seq2seq = run->seq2seq, quiet = req->quiet;
  const char *out = req->out;
  int layer = req->layer, head = req->head;
  int the_layer = MAX (layer, 0), the_head = MAX (head, 0);
  int n_layer = run->n_layer, n_head = run->n_head;
  int rows = run->rows, cols = run->cols;
  gboolean long_input = MAX (rows, cols) > RENDER_EXACT_MAX_TOKENS;
  const char *const *row_labels = run->row_labels;
  const char *const *col_labels = run->col_labels;
  g_autoptr(GError) error = NULL;

  /* The range: as given, else from the data below. */
  AttnvizScale scale;
  attnviz_scale_init (&scale, scale_kind, 0, 0);
  const char *name = run->name;
  /* An encoder-decoder's figures say which attention they show. */
  g_autofree char *what = seq2seq ? g_strdup_printf ("%s · ", attention_names[kind]) : g_strdup ("");
  g_autofree char *count = rows == cols ? g_strdup_printf ("%d tokens", rows)
                                        : g_strdup_printf ("%d target × %d source tokens", rows, cols);
  /* The title names the model and the head; the subtitle its type, the
   * variant (only when it is not the model as it is) and the size. */
  g_autofree char *variant = compare ? g_strdup_printf ("A: %s − B: %s · ", rec->variant, rec_b->variant)
                             : g_strcmp0 (rec->variant, "model") != 0 ? g_strdup_printf ("%s · ", rec->variant)
                             : g_strdup ("");
  g_autofree char *subtitle = g_strdup_printf ("%s · %s%s%s", run->model_type, what, variant, count);
  g_autofree char *title = NULL;
  g_autofree char *pool_note = NULL;   /* how a long input was pooled, or NULL */
  g_autofree float *matrix = NULL;
  g_auto(GStrv) pooled_row_labels = NULL;
  g_auto(GStrv) pooled_col_labels = NULL;
  /* The matrix drawn: the input's rows and columns, or fewer bins. */
  int draw_rows = rows, draw_cols = cols;
  double fig_w = 0, fig_h = 0;

  if (view != VIEW_GRID)
    {
      Drawn drawn = {
        .a = kind_source (rec, kind), .b = compare ? kind_source (rec_b, kind) : NULL,
        .layer = the_layer, .head = aggregate != AGGREGATE_NONE ? -1 : the_head, .n_head = n_head,
        .aggregate = aggregate, .rows = rows, .cols = cols,
      };
      if (aggregate != AGGREGATE_NONE)
        title = g_strdup_printf ("%s · layer %d · %s of %d heads", name, the_layer,
                                 aggregate == AGGREGATE_MEAN ? "mean" : "max", n_head);
      else
        title = g_strdup_printf ("%s · layer %d · head %d", name, the_layer, the_head);
      if (compare)
        {
          char *t = g_strdup_printf ("%s · A − B", title);
          g_free (title);
          title = t;
        }

      /* A square figure for a square matrix; a wider one when the matrix is. */
      double fs = font_size > 0 ? font_size : 10;
      fig_w = 480;
      fig_h = 460;
      if (rows != cols)
        {
          double cell = CLAMP (360.0 / MAX (rows, cols), 1.2 * fs, 3.0 * fs);
          fig_w = MIN (150 + cols * cell + 6 * fs, 1600);
          fig_h = MIN (110 + rows * cell + 4 * fs, 1600);
        }
      if (view == VIEW_LINES)
        {
          fig_w = rows != cols ? 440 : 360;
          fig_h = CLAMP (4.5 * fs + MAX (rows, cols) * 1.5 * fs, 240, 2000);
        }
      /* A width alone keeps the figure's proportions. */
      attnviz_cli_figure_size (fig, fig_w, fig_h, &fig_w, &fig_h);

      /* A long input on a heatmap: K x K tokens a cell, K the fewest that
       * fit the pixels the matrix gets (the layout depends a little on the
       * bins' labels, so it is found again until it holds). */
      int k = 1;
      g_autofree char *note = NULL;
      if (view == VIEW_HEATMAP && long_input)
        {
          k = MAX (1, (MAX (rows, cols) + RENDER_MAX_BINS - 1) / RENDER_MAX_BINS);
          for (int round = 0; round < 4; round++)
            {
              int br = (rows + k - 1) / k, bc = (cols + k - 1) / k;
              g_auto(GStrv) rl = bin_labels (row_labels, br, rows);
              g_auto(GStrv) cl = bin_labels (col_labels, bc, cols);
              AttnvizHeatmapSpec probe;
              attnviz_heatmap_spec_init (&probe, NULL, br, bc);
              probe.row_labels = (const char *const *) rl;
              probe.col_labels = (const char *const *) cl;
              probe.title = fig->no_title ? NULL : title;
              probe.subtitle = fig->no_subtitle ? NULL : subtitle;   /* one line, whatever its text */
              probe.colorbar = colorbar;
              probe.font_size = font_size;
              attnviz_scale_init (&probe.scale, scale_kind, 0, 1);
              if (kind == ATTENTION_CROSS)
                {
                  probe.row_caption = "target (query)";
                  probe.col_caption = "source (key)";
                }
              AttnvizHeatmapLayout layout;
              attnviz_heatmap_layout (&probe, fig_w, fig_h, &layout);
              double ppp = pixels_per_point (out, fig_w, fig->dpi);
              int px_r = MAX (1, (int) floor (layout.matrix.height * ppp));
              int px_c = MAX (1, (int) floor (layout.matrix.width * ppp));
              /* bins of the same K tokens both ways keep cells square */
              int want = MAX (MAX ((rows + px_r - 1) / px_r, (cols + px_c - 1) / px_c), 1);
              want = MAX (want, (MAX (rows, cols) + RENDER_MAX_BINS - 1) / RENDER_MAX_BINS);
              if (want == k)
                break;
              k = want;
            }
        }
      if (k > 1)
        {
          draw_rows = (rows + k - 1) / k;
          draw_cols = (cols + k - 1) / k;
          g_free (note);
          note = pooling_note ("mean", draw_rows, draw_cols, rows, cols, "cell");
          matrix = g_new (float, (gsize) draw_rows * draw_cols);
          drawn_pooled (&drawn, draw_rows, draw_cols, matrix);
          pooled_row_labels = bin_labels (row_labels, draw_rows, rows);
          pooled_col_labels = bin_labels (col_labels, draw_cols, cols);
          row_labels = (const char *const *) pooled_row_labels;
          col_labels = (const char *const *) pooled_col_labels;
          char *sub = g_strdup_printf ("%s · %s", subtitle, note);
          g_free (subtitle);
          subtitle = sub;
          pool_note = g_steal_pointer (&note);
        }
      else
        matrix = drawn_matrix (&drawn);

      gsize n_cells = (gsize) draw_rows * draw_cols;
      /* Attention weights start at 0; the top is the largest one unless given. */
      scale.vmin = isnan (vmin) ? 0 : vmin;
      if (!isnan (vmax))
        scale.vmax = vmax;
      else
        {
          float m = 0;
          for (gsize i = 0; i < n_cells; i++)
            m = MAX (m, matrix[i]);
          scale.vmax = m > scale.vmin ? m : scale.vmin + 1;
        }
      if (compare && isnan (vmax))
        {
          float m = 0;
          for (gsize i = 0; i < n_cells; i++)
            m = MAX (m, fabsf (matrix[i]));
          scale.vmax = m > 0 ? m : 1;
        }
      if (isnan (vmin) && isnan (vmax) && range_mode != ATTNVIZ_RANGE_HEAD)
        {
          /* One range for the layer or the run (a difference: bounded by
           * the larger weight of A and B), or fixed. */
          double top = 1;
          if (range_mode != ATTNVIZ_RANGE_FIXED)
            {
              top = source_range_max (drawn.a, range_mode, the_layer, the_head);
              if (drawn.b != NULL)
                top = MAX (top, source_range_max (drawn.b, range_mode, the_layer, the_head));
            }
          scale.vmin = 0;
          scale.vmax = top > 0 ? top : 1;
        }
      if (attnviz_colormap_is_diverging (colormap) && isnan (vmin) && isnan (vmax))
        scale.vmin = -scale.vmax;
    }
  if (view == VIEW_GRID && !compare)
    {
      /* A grid shares one range when one is given, for the run, or fixed;
       * else each thumbnail shows its own. */
      if (!isnan (vmin) || !isnan (vmax))
        attnviz_scale_init (&scale, scale_kind, isnan (vmin) ? 0 : vmin, isnan (vmax) ? 1 : vmax);
      else if (range_mode == ATTNVIZ_RANGE_RUN)
        attnviz_scale_init (&scale, scale_kind, 0,
                            MAX (source_range_max (kind_source (rec, kind), ATTNVIZ_RANGE_RUN, 0, 0), 1e-6));
      else if (range_mode == ATTNVIZ_RANGE_FIXED)
        attnviz_scale_init (&scale, scale_kind, 0, 1);
    }
  /* What the colours mean, under the bar and in the subtitle. */
  g_autofree char *range_caption = attnviz_range_mode_describe (range_mode, &scale);
  if (view != VIEW_LINES)
    {
      char *sub = g_strdup_printf ("%s · colours: %s", subtitle, range_caption);
      g_free (subtitle);
      subtitle = sub;
    }

  gboolean ok;
  if (view == VIEW_HEATMAP)
    {
      AttnvizHeatmapSpec spec;
      attnviz_heatmap_spec_init (&spec, matrix, draw_rows, draw_cols);
      spec.row_labels = row_labels;
      spec.col_labels = col_labels;
      if (kind == ATTENTION_CROSS)
        {
          spec.row_caption = "target (query)";
          spec.col_caption = "source (key)";
        }
      spec.title = title;
      spec.subtitle = subtitle;
      spec.colormap = colormap;
      spec.scale = scale;
      spec.scale_caption = range_caption;
      spec.mask_future = rec->causal && kind == ATTENTION_SELF;
      if (kind == ATTENTION_SELF && draw_rows == rows && draw_cols == cols)
        spec.pattern = rec->pattern;   /* its left-out cells: no data, not weight 0 */
      attnviz_cli_figure_apply (fig, ATTNVIZ_FIGURE_HEATMAP, &spec);
      AttnvizExportOptions eo = attnviz_cli_figure_export_options (fig, title);
      ok = attnviz_paint_to_file_full (out, ATTNVIZ_FIGURE_HEATMAP, &spec, fig_w, fig_h, &eo, &error);
    }
  else if (view == VIEW_LINES)
    {
      AttnvizLinesSpec spec;
      attnviz_lines_spec_init (&spec, matrix, rows, cols);
      spec.row_labels = row_labels;
      spec.col_labels = col_labels;
      spec.title = title;
      spec.subtitle = subtitle;
      if (kind == ATTENTION_CROSS)
        {
          spec.left_caption = "target";
          spec.right_caption = "source";
        }
      attnviz_cli_figure_apply (fig, ATTNVIZ_FIGURE_LINES, &spec);
      AttnvizExportOptions eo = attnviz_cli_figure_export_options (fig, title);
      ok = attnviz_paint_to_file_full (out, ATTNVIZ_FIGURE_LINES, &spec, fig_w, fig_h, &eo, &error);
    }
  else
    {
      AttnvizAttention *source = kind_source (rec, kind);
      int n = n_layer * n_head;
      double w = width > 0 ? width : 560;
      double fs = font_size > 0 ? font_size : 10;
      double chrome = 8 * fs;
      double h = height > 0 ? height : CLAMP (chrome + (w - chrome) * n_layer / n_head, 200, 2000);
      const char *with = aggregate == AGGREGATE_MEAN ? ", and each layer’s mean"
                       : aggregate == AGGREGATE_MAX ? ", and each layer’s max" : "";
      const char *layers = n_layer == 1 ? "layer" : "layers", *heads = n_head == 1 ? "head" : "heads";
      title = compare ? g_strdup_printf ("%s · total variation distance A vs B, %d %s × %d %s%s", name, n_layer,
                                         layers, n_head, heads, with)
                      : g_strdup_printf ("%s · %d %s × %d %s%s", name, n_layer, layers, n_head, heads, with);
      g_autofree const float **maps = g_new0 (const float *, MAX (n, 1));
      AttnvizGridSpec spec;
      attnviz_grid_spec_init (&spec, n_layer, n_head, maps, rows, cols);
      spec.lower_triangular = rec->causal && kind == ATTENTION_SELF;
      spec.aggregate = aggregate == AGGREGATE_MEAN ? ATTNVIZ_GRID_AGGREGATE_MEAN
                     : aggregate == AGGREGATE_MAX ? ATTNVIZ_GRID_AGGREGATE_MAX : ATTNVIZ_GRID_AGGREGATE_NONE;
      spec.colormap = colormap;
      spec.title = fig->no_title ? NULL : title;
      spec.subtitle = fig->no_subtitle ? NULL : subtitle;
      spec.current_layer = layer;
      spec.current_head = head;
      spec.font_size = font_size;
      /* (shared when given, for the run or fixed: above) */
      spec.scale = scale;
      /* a hybrid model's additive heads chipped "a", as in the app's grid
       * (every layer and head drawn: the grid's cells are the model's) */
      g_autofree guint8 *additive = NULL;
      if (!compare && rec->head_additive != NULL && n_head == rec->n_head
          && n_layer == (kind == ATTENTION_ENCODER ? rec->n_enc_layer : rec->n_layer))
        {
          additive = g_new0 (guint8, MAX (n, 1));
          for (int k = 0; k < n; k++)
            additive[k] = attnviz_recording_head_additive (rec, k / n_head, k % n_head);
          spec.marks = additive;
          spec.mark_label = "a";
          char *sub = g_strdup_printf ("%s · a: additive head", subtitle);
          g_free (subtitle);
          subtitle = sub;
        }

      g_autofree double *tvd = NULL;
      g_autofree float *thumbs = NULL;
      if (compare)
        {
          /* one number per head: how far B's rows moved from A's */
          tvd = g_new (double, MAX (n, 1));
          attnviz_recording_tvd_per_head (rec, rec_b, tvd);
          spec.scores = tvd;
          spec.colormap = req->colormap_given ? colormap : ATTNVIZ_COLORMAP_MAGMA;
        }
      else if (!long_input && attnviz_attention_is_dense (source))
        {
          /* The dense matrices: the painter pools them itself, as always. */
          for (int k = 0; k < n; k++)
            maps[k] = attnviz_attention_peek_dense (source, k / n_head, k % n_head);
        }
      else
        {
          /* Each thumbnail pixel is the largest weight it covers: every head
           * pooled exactly at the thumbnails' resolution through its
           * source, with the bins the painter would use on the whole
           * matrices (so the same pixels), no matrix ever held whole. */
          AttnvizGridLayout layout;
          attnviz_grid_layout (&spec, w, h, &layout);
          int px = (int) ceil (layout.thumb * pixels_per_point (out, w, fig->dpi));
          int tr = CLAMP (px, 1, rows), tc = CLAMP (px, 1, cols);
          gsize bins = (gsize) tr * tc;
          thumbs = g_new (float, MAX (n, 1) * bins);
          GridJob job = { source, n_head, tr, tc, thumbs, maps };
          attnviz_parallel_for (n, 1, grid_range, &job);
          spec.rows = tr;
          spec.cols = tc;
          /* already pooled: the painter's own pooling is the identity;
           * bins of the same tokens both ways keep the future masked */
          spec.lower_triangular = spec.lower_triangular && tr == tc && rows == cols;
          if (long_input && (tr < rows || tc < cols))
            {
              pool_note = pooling_note ("max", tr, tc, rows, cols, "thumbnail pixel");
              char *sub = g_strdup_printf ("%s · %s", subtitle, pool_note);
              g_free (subtitle);
              subtitle = sub;
              spec.subtitle = fig->no_subtitle ? NULL : subtitle;
            }
        }
      spec.title = title;
      spec.subtitle = subtitle;
      spec.colorbar = TRUE;   /* drawn when the range is shared */
      spec.scale_caption = range_caption;
      attnviz_cli_figure_apply (fig, ATTNVIZ_FIGURE_GRID, &spec);
      AttnvizExportOptions eo = attnviz_cli_figure_export_options (fig, title);
      ok = attnviz_paint_to_file_full (out, ATTNVIZ_FIGURE_GRID, &spec, w, h, &eo, &error);
    }
  if (!ok)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  if (!quiet)
    fprintf (stderr, "attnviz: drew %s%s of %s%s%s%s to %s\n", what, view == VIEW_GRID ? "every head" : title, count,
             pool_note ? " (" : "", pool_note ? pool_note : "", pool_note ? ")" : "", out);
  return ATTNVIZ_EXIT_OK;
}
