/* attnviz render MODEL ...: draw a head's attention as PNG, SVG or PDF
 * with the same painter the desktop app uses
 *
 * An encoder-decoder reads --text as its source and BOS + --target (or its
 * greedy output) in the decoder; --attention picks the decoder's self-
 * attention (T, T), the encoder's (S, S) or the cross-attention (T, S):
 * target rows, source columns, not square. */
#define G_LOG_DOMAIN "attnviz-cmd-render"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"
#include "attnviz-metrics.h"
#include "attnviz-painter.h"

typedef enum {
  VIEW_HEATMAP,
  VIEW_GRID,
  VIEW_LINES,
} RenderView;

typedef enum {
  ATTENTION_SELF,     /* the decoder's (or the only) self-attention: (T, T) */
  ATTENTION_ENCODER,  /* (S, S) */
  ATTENTION_CROSS,    /* (T, S): rows targets, columns sources */
} RenderAttention;

static const char *const attention_names[] = {
  [ATTENTION_SELF] = "decoder self-attention",
  [ATTENTION_ENCODER] = "encoder self-attention",
  [ATTENTION_CROSS] = "cross-attention",
};

typedef enum {
  AGGREGATE_NONE,
  AGGREGATE_MEAN,
  AGGREGATE_MAX,
} RenderAggregate;

/* A short name for the subtitle: the model folder's name, or its parent's
 * when the folder is a generic "hf" or "model". */
static char *
model_display_name (const AttnvizModel *model)
{
  g_autofree char *base = g_path_get_basename (model->dir ? model->dir : model->path);
  static const char *generic[] = { "hf", "model", "models", "weights", "checkpoint", ".", "/" };
  for (guint i = 0; i < G_N_ELEMENTS (generic); i++)
    if (g_ascii_strcasecmp (base, generic[i]) == 0)
      {
        g_autofree char *parent = g_path_get_dirname (model->dir ? model->dir : model->path);
        return g_path_get_basename (parent);
      }
  return g_steal_pointer (&base);
}

/* The (ROWS, COLS) map of one layer and head of the attention KIND, or
 * NULL when it was not recorded. */
static const float *
kind_map (const AttnvizRecording *rec, RenderAttention kind, int layer, int head, int *rows, int *cols)
{
  switch (kind)
    {
    case ATTENTION_ENCODER:
      *rows = *cols = rec->S;
      return rec->enc_attn + ((gsize) layer * rec->n_head + head) * rec->S * rec->S;
    case ATTENTION_CROSS:
      *rows = rec->T;
      *cols = rec->S;
      return rec->cross_attn + ((gsize) layer * rec->n_head + head) * rec->T * rec->S;
    case ATTENTION_SELF:
    default:
      *rows = *cols = rec->T;
      return attnviz_recording_get_attention (rec, layer, head);
    }
}

/* OUT (rows, cols) = the mean or max over the layer's heads, as the app
 * computes it. */
static void
aggregate_heads (float *out, const AttnvizRecording *rec, RenderAttention kind, int layer, RenderAggregate how)
{
  int rows = 0, cols = 0;
  g_autofree const float **maps = g_new (const float *, rec->n_head);
  for (int h = 0; h < rec->n_head; h++)
    maps[h] = kind_map (rec, kind, layer, h, &rows, &cols);
  attnviz_combine_maps (out, maps, rec->n_head, (gsize) rows * cols, how == AGGREGATE_MAX);
}

int
attnviz_cmd_render (int argc, char **argv)
{
  g_autofree char *text = NULL, *text_file = NULL, *ids = NULL, *out = NULL;
  g_autofree char *view_s = NULL, *aggregate_s = NULL, *colormap_s = NULL, *scale_s = NULL;
  g_autofree char *variant_s = NULL, *vs_s = NULL, *attention_s = NULL, *target_s = NULL;
  int layer = -1, head = -1;
  double width = 0, height = 0, font_size = 0, vmin = NAN, vmax = NAN;
  gboolean truncate = FALSE, quiet = FALSE;
  const GOptionEntry entries[] = {
    ATTNVIZ_CLI_INPUT_OPTION_ENTRIES (&text, &text_file, &ids, &target_s),
    { "attention", 'A', 0, G_OPTION_ARG_STRING, &attention_s,
      "Encoder-decoder models: self (the decoder's, default), encoder or cross (target rows x source columns)", "KIND" },
    { "layer", 'l', 0, G_OPTION_ARG_INT, &layer, "Layer to draw (default 0)", "L" },
    { "head", 'H', 0, G_OPTION_ARG_INT, &head, "Head to draw (default 0)", "H" },
    { "view", 0, 0, G_OPTION_ARG_STRING, &view_s, "heatmap (default), grid (every layer and head) or lines", "VIEW" },
    { "aggregate", 'a', 0, G_OPTION_ARG_STRING, &aggregate_s, "Draw the mean or max over the layer's heads instead of one head", "mean|max" },
    { "colormap", 'c', 0, G_OPTION_ARG_STRING, &colormap_s, "viridis (default), magma, grey or rdbu", "MAP" },
    { "scale", 's', 0, G_OPTION_ARG_STRING, &scale_s, "linear (default), log (from 1e-4) or power (gamma 0.5)", "SCALE" },
    { "vmin", 0, 0, G_OPTION_ARG_DOUBLE, &vmin, "Value at the bottom of the colour map (default 0)", "V" },
    { "vmax", 0, 0, G_OPTION_ARG_DOUBLE, &vmax, "Value at the top (default: the largest weight)", "V" },
    { "width", 'W', 0, G_OPTION_ARG_DOUBLE, &width, "Figure width in points (PNG: 300 dpi)", "PT" },
    { "height", 0, 0, G_OPTION_ARG_DOUBLE, &height, "Figure height in points", "PT" },
    { "font-size", 0, 0, G_OPTION_ARG_DOUBLE, &font_size, "Label size in points (default 10)", "PT" },
    { "variant", 0, 0, G_OPTION_ARG_STRING, &variant_s, "Run the model changed (e.g. mask=window:8,pos=none); see attnviz dump --help", "SPEC" },
    { "vs", 0, 0, G_OPTION_ARG_STRING, &vs_s, "Draw the difference from a second variant B (A - B; grid: one TVD per head)", "SPEC" },
    { "truncate", 0, 0, G_OPTION_ARG_NONE, &truncate, "Cut a text longer than the model's context", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The figure: .png, .svg or .pdf", "OUT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing on success", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL - draw a head's attention as PNG, SVG or PDF");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean help;
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "render needs exactly one MODEL (see attnviz render --help)");
  if (out == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "render needs -o OUT (.png, .svg or .pdf)");
  if ((text != NULL) + (text_file != NULL) + (ids != NULL) != 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "render needs exactly one of --text, --text-file or --ids");
  if (!g_str_has_suffix (out, ".png") && !g_str_has_suffix (out, ".svg") && !g_str_has_suffix (out, ".pdf") &&
      !g_str_has_suffix (out, ".PNG") && !g_str_has_suffix (out, ".SVG") && !g_str_has_suffix (out, ".PDF"))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: the name should end in .png, .svg or .pdf", out);

  RenderView view = VIEW_HEATMAP;
  if (view_s != NULL)
    {
      if (strcmp (view_s, "heatmap") == 0)
        view = VIEW_HEATMAP;
      else if (strcmp (view_s, "grid") == 0)
        view = VIEW_GRID;
      else if (strcmp (view_s, "lines") == 0)
        view = VIEW_LINES;
      else
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--view %s: expected heatmap, grid or lines", view_s);
    }
  RenderAttention kind = ATTENTION_SELF;
  if (attention_s != NULL)
    {
      if (strcmp (attention_s, "self") == 0)
        kind = ATTENTION_SELF;
      else if (strcmp (attention_s, "encoder") == 0)
        kind = ATTENTION_ENCODER;
      else if (strcmp (attention_s, "cross") == 0)
        kind = ATTENTION_CROSS;
      else
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--attention %s: expected self, encoder or cross", attention_s);
    }
  RenderAggregate aggregate = AGGREGATE_NONE;
  if (aggregate_s != NULL)
    {
      if (strcmp (aggregate_s, "mean") == 0)
        aggregate = AGGREGATE_MEAN;
      else if (strcmp (aggregate_s, "max") == 0)
        aggregate = AGGREGATE_MAX;
      else
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--aggregate %s: expected mean or max", aggregate_s);
      if (head >= 0)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--aggregate draws every head of the layer: leave out --head");
      if (view == VIEW_GRID)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--aggregate does not apply to --view grid");
    }
  AttnvizColormap colormap = ATTNVIZ_COLORMAP_VIRIDIS;
  if (colormap_s != NULL && !attnviz_colormap_from_string (colormap_s, &colormap))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--colormap %s: expected viridis, magma, grey or rdbu", colormap_s);
  AttnvizScaleKind scale_kind = ATTNVIZ_SCALE_LINEAR;
  if (scale_s != NULL && !attnviz_scale_kind_from_string (scale_s, &scale_kind))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--scale %s: expected linear, log or power", scale_s);
  if ((!isnan (vmin) && !isfinite (vmin)) || (!isnan (vmax) && !isfinite (vmax)) ||
      (!isnan (vmin) && !isnan (vmax) && vmin >= vmax))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--vmin and --vmax: expected finite numbers with vmin < vmax");
  if (width < 0 || height < 0 || font_size < 0 || width > 10000 || height > 10000 || font_size > 200)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--width, --height and --font-size: expected sizes in points, up to 10000");

  g_autoptr(GError) error = NULL;
  g_auto(AttnvizVariant) variant_a = { 0 };
  g_auto(AttnvizVariant) variant_b = { 0 };
  if (!attnviz_variant_parse (&variant_a, variant_s, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--variant: %s", error->message);
  if (!attnviz_variant_parse (&variant_b, vs_s, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--vs: %s", error->message);
  gboolean compare = vs_s != NULL;
  if (compare && view == VIEW_LINES)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--vs draws a difference heatmap or grid, not lines");
  if (compare && colormap_s == NULL)
    colormap = ATTNVIZ_COLORMAP_RDBU;
  if (compare && kind != ATTENTION_SELF)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--vs compares self-attention only; leave out --attention %s",
                             attention_s);

  g_autoptr(AttnvizModel) model = attnviz_model_load (argv[1], &error);
  if (model == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  const AttnvizConfig *c = &model->config;
  gboolean seq2seq = c->encoder_decoder;
  if (!seq2seq && (kind != ATTENTION_SELF || target_s != NULL))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: %s is not an encoder-decoder model",
                             target_s ? "--target" : "--attention", argv[1]);
  /* The layers of the attention drawn: the encoder's own count. */
  int n_layer = kind == ATTENTION_ENCODER ? c->n_enc_layer : c->n_layer;
  if (layer >= n_layer || layer < -1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--layer %d: %s has %slayers 0 to %d", layer, argv[1],
                             kind == ATTENTION_ENCODER ? "encoder " : "", n_layer - 1);
  if (head >= c->n_head || head < -1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--head %d: %s has heads 0 to %d", head, argv[1], c->n_head - 1);

  AttnvizCliInput input, target;
  if (!attnviz_cli_input_and_target_load (&input, &target, model, text, text_file, ids, target_s, truncate, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  /* The decoder's tokens: the input's, or an encoder-decoder's target. */
  AttnvizCliInput *dec = seq2seq ? &target : &input;

  /* Record only what the figure shows (an encoder-decoder records its
   * encoder and cross-attention whole). */
  int the_layer = MAX (layer, 0), the_head = MAX (head, 0);
  AttnvizRunOptions opt = { .skip_logits = TRUE };
  if (view != VIEW_GRID && kind == ATTENTION_SELF)
    {
      opt.layers = &the_layer;
      opt.n_layers = 1;
      if (aggregate == AGGREGATE_NONE)
        {
          opt.heads = &the_head;
          opt.n_heads = 1;
        }
    }
  else if (kind != ATTENTION_SELF)
    opt.record_none = TRUE;
  g_autofree gboolean *special = attnviz_cli_input_special (dec);
  opt.special = special;
  opt.variant = &variant_a;
  g_autoptr(AttnvizRecording) rec = NULL;
  g_autoptr(AttnvizRecording) rec_b = NULL;
  for (int pass = 0; pass < (compare ? 2 : 1); pass++)
    {
      opt.variant = pass == 0 ? &variant_a : &variant_b;
      AttnvizRecording *r = seq2seq
        ? attnviz_forward_seq2seq (model, input.ids, input.T, target.ids, target.T, &opt, &error)
        : attnviz_forward (model, input.ids, input.T, &opt, &error);
      if (r == NULL)
        {
          attnviz_cli_input_clear (&input);
          attnviz_cli_input_clear (&target);
          return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", argv[1], error->message);
        }
      if (pass == 0)
        rec = r;
      else
        rec_b = r;
    }
  /* The shape of the matrices drawn: (T, T), (S, S) or (T, S). */
  int rows = kind == ATTENTION_ENCODER ? rec->S : rec->T;
  int cols = kind == ATTENTION_SELF ? rec->T : rec->S;
  const char *const *row_labels = (const char *const *) (kind == ATTENTION_ENCODER ? input.token_texts
                                                                                  : dec->token_texts);
  const char *const *col_labels = (const char *const *) (kind == ATTENTION_SELF ? dec->token_texts
                                                                               : input.token_texts);
  gsize n_cells = (gsize) rows * cols;

  /* The range: as given, else from the data below. */
  AttnvizScale scale;
  attnviz_scale_init (&scale, scale_kind, 0, 0);
  g_autofree char *name = model_display_name (model);
  /* An encoder-decoder's figures say which attention they show. */
  g_autofree char *what = seq2seq ? g_strdup_printf ("%s · ", attention_names[kind]) : g_strdup ("");
  g_autofree char *count = rows == cols ? g_strdup_printf ("%d tokens", rows)
                                        : g_strdup_printf ("%d target × %d source tokens", rows, cols);
  g_autofree char *subtitle = compare ? g_strdup_printf ("%s (%s) · %sA: %s − B: %s · %s", name, c->model_type,
                                                         what, rec->variant, rec_b->variant, count)
                                      : g_strdup_printf ("%s (%s) · %s%s · %s", name, c->model_type,
                                                         what, rec->variant, count);
  g_autofree char *title = NULL;
  g_autofree float *combined = NULL;
  const float *matrix = NULL;

  if (view != VIEW_GRID)
    {
      if (aggregate != AGGREGATE_NONE)
        {
          combined = g_new (float, MAX (n_cells, 1));
          aggregate_heads (combined, rec, kind, the_layer, aggregate);
          matrix = combined;
          title = g_strdup_printf ("layer %d · %s of %d heads", the_layer,
                                   aggregate == AGGREGATE_MEAN ? "mean" : "max", c->n_head);
        }
      else
        {
          int r, k;
          matrix = kind_map (rec, kind, the_layer, the_head, &r, &k);
          title = g_strdup_printf ("layer %d · head %d", the_layer, the_head);
        }
      if (compare)
        {
          /* A - B, on a diverging map centred on 0 */
          g_autofree float *b = g_new (float, MAX (n_cells, 1));
          if (aggregate != AGGREGATE_NONE)
            aggregate_heads (b, rec_b, kind, the_layer, aggregate);
          else
            memcpy (b, attnviz_recording_get_attention (rec_b, the_layer, the_head), sizeof (float) * n_cells);
          float *diff = g_new (float, MAX (n_cells, 1));
          attnviz_attention_difference (diff, matrix, b, rows);
          g_free (combined);
          combined = diff;
          matrix = diff;
          char *t = g_strdup_printf ("%s · A − B", title);
          g_free (title);
          title = t;
        }
      g_assert (matrix != NULL);
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
      if (attnviz_colormap_is_diverging (colormap) && isnan (vmin) && isnan (vmax))
        scale.vmin = -scale.vmax;
    }

  gboolean ok;
  if (view == VIEW_HEATMAP)
    {
      AttnvizHeatmapSpec spec;
      attnviz_heatmap_spec_init (&spec, matrix, rows, cols);
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
      spec.font_size = font_size;
      /* A square figure for a square matrix; a wider one when the matrix is. */
      double w = 480, h = 460;
      if (rows != cols)
        {
          double fs = font_size > 0 ? font_size : 10;
          double cell = CLAMP (360.0 / MAX (rows, cols), 1.2 * fs, 3.0 * fs);
          w = MIN (150 + cols * cell + 6 * fs, 1600);
          h = MIN (110 + rows * cell + 4 * fs, 1600);
        }
      ok = attnviz_paint_to_file (out, ATTNVIZ_FIGURE_HEATMAP, &spec,
                                  width > 0 ? width : w, height > 0 ? height : h, &error);
    }
  else if (view == VIEW_LINES)
    {
      AttnvizLinesSpec spec;
      attnviz_lines_spec_init (&spec, matrix, rows, cols);
      spec.row_labels = row_labels;
      spec.col_labels = col_labels;
      spec.title = title;
      spec.subtitle = subtitle;
      spec.font_size = font_size;
      double fs = font_size > 0 ? font_size : 10;
      ok = attnviz_paint_to_file (out, ATTNVIZ_FIGURE_LINES, &spec, width > 0 ? width : rows != cols ? 440 : 360,
                                  height > 0 ? height : CLAMP (4.5 * fs + MAX (rows, cols) * 1.5 * fs, 240, 2000),
                                  &error);
    }
  else
    {
      int n = n_layer * c->n_head;
      g_autofree const float **maps = g_new0 (const float *, MAX (n, 1));
      for (int l = 0; l < n_layer; l++)
        for (int h = 0; h < c->n_head; h++)
          {
            int r, k;
            maps[l * c->n_head + h] = kind_map (rec, kind, l, h, &r, &k);
          }
      AttnvizGridSpec spec;
      attnviz_grid_spec_init (&spec, n_layer, c->n_head, maps, rows, cols);
      spec.lower_triangular = rec->causal && kind == ATTENTION_SELF;
      spec.colormap = colormap;
      g_autofree double *tvd = NULL;
      if (compare)
        {
          /* one number per head: how far B's rows moved from A's */
          tvd = g_new (double, n);
          attnviz_recording_tvd_per_head (rec, rec_b, tvd);
          spec.scores = tvd;
          spec.colormap = colormap_s ? colormap : ATTNVIZ_COLORMAP_MAGMA;
        }
      if (!isnan (vmin) || !isnan (vmax))
        {
          /* A shared range was asked for; else each head shows its own. */
          scale.vmin = isnan (vmin) ? 0 : vmin;
          scale.vmax = isnan (vmax) ? 1 : vmax;
        }
      spec.scale = scale;
      spec.current_layer = layer;
      spec.current_head = head;
      spec.font_size = font_size;
      title = compare ? g_strdup_printf ("total variation distance A vs B, %d layers × %d heads", n_layer, c->n_head)
                      : g_strdup_printf ("%d layers × %d heads", n_layer, c->n_head);
      spec.title = title;
      spec.subtitle = subtitle;
      double w = width > 0 ? width : 560;
      double fs = font_size > 0 ? font_size : 10;
      double chrome = 8 * fs;
      double h = height > 0 ? height : CLAMP (chrome + (w - chrome) * n_layer / c->n_head, 200, 2000);
      ok = attnviz_paint_to_file (out, ATTNVIZ_FIGURE_GRID, &spec, w, h, &error);
    }
  attnviz_cli_input_clear (&input);
  attnviz_cli_input_clear (&target);
  if (!ok)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  if (!quiet)
    fprintf (stderr, "attnviz: drew %s%s of %s to %s\n", what,
             view == VIEW_GRID ? "every head" : title, count, out);
  return ATTNVIZ_EXIT_OK;
}
