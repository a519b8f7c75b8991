/* attnviz render MODEL ...: draw a head's attention as PNG, SVG or PDF
 * with the same painter the desktop app uses (attnviz-cmd-render-draw.c);
 * MODEL may also be a dump or another framework's attention tensor
 * (attnviz-session.h), drawn as the run it came from.
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
#include "attnviz-cli-figure.h"
#include "attnviz-fileutil.h"
#include "attnviz-metrics.h"
#include "attnviz-parallel.h"
#include "attnviz-painter.h"
#include "attnviz-cmd-render-private.h"
#include "attnviz-session.h"

/* Draws a dump or a foreign tensor at PATH as REQ asks: checks the
 * layer, head and attention asked for against what the file holds. */
static int
render_session (const char *path, const char *tokens, const char *source_tokens, gboolean kind_given,
                RenderAttention kind, RenderRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSession) s = attnviz_session_load (path, tokens, source_tokens, 0, &error);
  if (s == NULL)
    return attnviz_cli_fail_error (error);
  g_autofree char *rows_note = attnviz_session_describe_rows (s);
  if (rows_note != NULL && !req->quiet)
    g_printerr ("attnviz: warning: %s\n", rows_note);
  const AttnvizRecording *rec = s->rec;
  /* a foreign (L, H, T, S) tensor is a cross-attention alone; an
   * encoder-decoder's dump holds all three, as its run did */
  gboolean cross_only = rec->attention == NULL, seq2seq = rec->S > 0 && !cross_only;
  if (kind_given && cross_only && kind != ATTENTION_CROSS)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--attention: %s holds a cross-attention only (target rows, "
                             "source columns): --attention cross", path);
  if (kind_given && rec->S == 0 && kind != ATTENTION_SELF)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--attention: %s holds one self-attention", path);
  if (!kind_given)
    kind = cross_only ? ATTENTION_CROSS : ATTENTION_SELF;
  gboolean cross = kind != ATTENTION_SELF;
  AttnvizAttention *source = kind == ATTENTION_ENCODER ? rec->enc_attention
                           : kind == ATTENTION_CROSS ? rec->cross_attention : rec->attention;
  int n_layer = attnviz_attention_get_n_layers (source), n_head = attnviz_attention_get_n_heads (source);
  int the_layer = MAX (req->layer, 0), the_head = MAX (req->head, 0);
  if (req->layer >= n_layer || req->layer < -1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--layer %d: %s has layers 0 to %d", req->layer, path, n_layer - 1);
  if (req->head >= n_head || req->head < -1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--head %d: %s has heads 0 to %d", req->head, path, n_head - 1);
  /* A dump of some layers or heads draws only those: a grid or an
   * aggregate needs every one. */
  gboolean whole = cross || (rec->n_rec_layers == rec->n_layer && rec->n_rec_heads == rec->n_head);
  if (!whole && (req->view == VIEW_GRID || req->aggregate != AGGREGATE_NONE
                           || req->fig->range_mode == ATTNVIZ_RANGE_RUN))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s recorded %d of %d layers and %d of %d heads: a grid, an "
                             "--aggregate or --range-mode run needs every one", path, rec->n_rec_layers,
                             rec->n_layer, rec->n_rec_heads, rec->n_head);
  if (!attnviz_attention_has_head (source, the_layer, the_head) && req->view != VIEW_GRID
      && req->aggregate == AGGREGATE_NONE)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--layer %d --head %d: %s did not record that head", the_layer,
                             the_head, path);
  int rows = attnviz_attention_get_n_rows (source), cols = attnviz_attention_get_n_cols (source);
  if (req->view == VIEW_LINES && MAX (rows, cols) > RENDER_EXACT_MAX_TOKENS)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--view lines: %d tokens are too many to draw as lines "
                             "(at most %d); use --view heatmap or grid", MAX (rows, cols), RENDER_EXACT_MAX_TOKENS);
  g_autofree char *name = attnviz_session_display_name (s);
  RenderRun run = {
    .rec = rec, .kind = kind, .seq2seq = seq2seq || cross_only, .n_layer = n_layer, .n_head = n_head,
    .rows = rows, .cols = cols,
    .row_labels = (const char *const *) (kind == ATTENTION_ENCODER ? s->source_texts : s->token_texts),
    .col_labels = (const char *const *) (kind == ATTENTION_SELF ? s->token_texts : s->source_texts),
    .name = name,
    /* a dump names its model's type; a foreign tensor says what it is */
    .model_type = s->origin == ATTNVIZ_SESSION_DUMP ? s->model_type : "attention from a file",
  };
  return _attnviz_render_draw (&run, req);
}

int
attnviz_cmd_render (int argc, char **argv)
{
  g_autofree char *text = NULL, *text_file = NULL, *ids = NULL, *out = NULL;
  g_autofree char *view_s = NULL, *aggregate_s = NULL, *colormap_s = NULL, *scale_s = NULL;
  g_autofree char *variant_s = NULL, *vs_s = NULL, *attention_s = NULL, *target_s = NULL, *target_ids = NULL;
  g_autofree char *tokens = NULL, *source_tokens = NULL;
  int layer = -1, head = -1;
  double vmin = NAN, vmax = NAN;
  g_auto(AttnvizCliFigure) fig = { 0 };
  gboolean truncate = FALSE, quiet = FALSE;
  const GOptionEntry entries[] = {
    ATTNVIZ_CLI_INPUT_OPTION_ENTRIES (&text, &text_file, &ids, &target_s, &target_ids),
    { "attention", 'A', 0, G_OPTION_ARG_STRING, &attention_s,
      "Encoder-decoder models: self (the decoder's, default), encoder or cross (target rows x source columns)", "KIND" },
    { "layer", 'l', 0, G_OPTION_ARG_INT, &layer, "Layer to draw (default 0)", "L" },
    { "head", 'H', 0, G_OPTION_ARG_INT, &head, "Head to draw (default 0)", "H" },
    { "view", 0, 0, G_OPTION_ARG_STRING, &view_s, "heatmap (default), grid (every layer and head), lines; rollout, flow, value-weighted or qk (their own options: --view qk --help)", "VIEW" },
    { "aggregate", 'a', 0, G_OPTION_ARG_STRING, &aggregate_s, "Draw the mean or max over the layer's heads instead of one head (grid: a column of each layer's after its heads)", "mean|max" },
    { "colormap", 'c', 0, G_OPTION_ARG_STRING, &colormap_s, "viridis (default), magma, grey or rdbu", "MAP" },
    { "scale", 's', 0, G_OPTION_ARG_STRING, &scale_s, "linear (default), log (from 1e-4) or power (gamma 0.5)", "SCALE" },
    { "vmin", 0, 0, G_OPTION_ARG_DOUBLE, &vmin, "Value at the bottom of the colour map (default 0)", "V" },
    { "vmax", 0, 0, G_OPTION_ARG_DOUBLE, &vmax, "Value at the top (default: the largest weight)", "V" },
    ATTNVIZ_CLI_FIGURE_OPTION_ENTRIES (&fig),
    { "variant", 0, 0, G_OPTION_ARG_STRING, &variant_s, "Run the model changed (e.g. mask=window:8,pos=none); see attnviz dump --help", "SPEC" },
    { "vs", 0, 0, G_OPTION_ARG_STRING, &vs_s, "Draw the difference from a second variant B (A - B; grid: one TVD per head)", "SPEC" },
    { "truncate", 0, 0, G_OPTION_ARG_NONE, &truncate, "Cut a text longer than the model's context", NULL },
    { "tokens", 0, 0, G_OPTION_ARG_FILENAME, &tokens, "In place of MODEL, attention made elsewhere (.npy, .safetensors): its tokens, a JSON list or one per line", "FILE" },
    { "source-tokens", 0, 0, G_OPTION_ARG_FILENAME, &source_tokens, "The column tokens of a non-square (L, H, T, S) tensor", "FILE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The figure: .png, .svg or .pdf", "OUT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing on success", NULL },
    { NULL }
  };
  if (attnviz_cmd_render_is_analysis (argc, argv))
    return attnviz_cmd_render_analysis (argc, argv);
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL|DUMP|FILE - draw a head's attention as PNG, SVG or PDF");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean help;
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "render needs exactly one MODEL (see attnviz render --help)");
  if (out == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "render needs -o OUT (.png, .svg or .pdf)");
  if (*out == '\0')
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "-o: the output path is empty");
  gboolean session = attnviz_session_is_session_path (argv[1], TRUE);
  if (!session && (text != NULL) + (text_file != NULL) + (ids != NULL) != 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "render needs exactly one of --text, --text-file or --ids");
  if (!session && (tokens != NULL || source_tokens != NULL))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: %s labels attention made elsewhere (a .npy or .safetensors "
                             "in place of MODEL)", tokens ? "--tokens" : "--source-tokens", argv[1]);
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
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--view %s: expected heatmap, grid, lines, rollout, flow, value-weighted or qk",
                                 view_s);
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
      /* A grid draws every head and, after them, each layer's aggregate;
       * its --head only says which head --keep-selection outlines. */
      if (head >= 0 && view != VIEW_GRID)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--aggregate draws every head of the layer: leave out --head");
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
  g_autoptr(GError) error = NULL;
  if (!attnviz_cli_figure_check (&fig, vmin, vmax, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s", error->message);
  vmin = fig.vmin;
  vmax = fig.vmax;
  AttnvizRangeMode range_mode = fig.range_mode;
  if (view == VIEW_GRID && range_mode == ATTNVIZ_RANGE_LAYER)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--range-mode layer: a grid's thumbnails have each their own range "
                             "(head), one for every layer and head (run) or a fixed one (fixed)");
  g_autofree gint32 *id_list = NULL;
  int n_ids = 0;
  if (ids && !(id_list = attnviz_cli_parse_ids ("--ids", ids, &n_ids, &error)))
    return attnviz_cli_fail_error (error);
  if (!attnviz_output_check (out, &error))
    return attnviz_cli_fail_error (error);
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
  RenderRequest req = {
    .view = view, .aggregate = aggregate, .colormap = colormap, .colormap_given = colormap_s != NULL,
    .scale_kind = scale_kind, .vmin = vmin, .vmax = vmax, .fig = &fig, .layer = layer, .head = head, .out = out,
    .quiet = quiet,
  };
  if (session)
    {
      const char *given = text ? "--text" : text_file ? "--text-file" : ids ? "--ids" : target_s ? "--target"
                        : variant_s ? "--variant" : vs_s ? "--vs" : truncate ? "--truncate" : NULL;
      if (given != NULL)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: %s holds attention already made, with its tokens; "
                                 "render a model to run it", given, argv[1]);
      return render_session (argv[1], tokens, source_tokens, attention_s != NULL, kind, &req);
    }

  g_autoptr(AttnvizModel) model = attnviz_model_load (argv[1], &error);
  if (model == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  const AttnvizConfig *c = &model->config;
  gboolean seq2seq = c->encoder_decoder;
  if (!seq2seq && (kind != ATTENTION_SELF || target_s != NULL || target_ids != NULL))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: %s is not an encoder-decoder model",
                             target_s ? "--target" : target_ids ? "--target-ids" : "--attention", argv[1]);
  /* The layers of the attention drawn: the encoder's own count. */
  int n_layer = kind == ATTENTION_ENCODER ? c->n_enc_layer : c->n_layer;
  if (layer >= n_layer || layer < -1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--layer %d: %s has %slayers 0 to %d", layer, argv[1],
                             kind == ATTENTION_ENCODER ? "encoder " : "", n_layer - 1);
  if (head >= c->n_head || head < -1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--head %d: %s has heads 0 to %d", head, argv[1], c->n_head - 1);

  AttnvizCliInput input, target;
  if (!attnviz_cli_input_and_target_load (&input, &target, model, text, text_file, ids, target_s, target_ids, truncate, &error))
    return attnviz_cli_fail_error (error);
  /* The decoder's tokens: the input's, or an encoder-decoder's target. */
  AttnvizCliInput *dec = seq2seq ? &target : &input;

  /* The shape of the matrices drawn: (T, T), (S, S) or (T, S). */
  int rows = kind == ATTENTION_ENCODER ? input.T : dec->T;
  int cols = kind == ATTENTION_SELF ? dec->T : input.T;
  gboolean long_input = MAX (rows, cols) > RENDER_EXACT_MAX_TOKENS;
  if (view == VIEW_LINES && long_input)
    {
      attnviz_cli_input_clear (&input);
      attnviz_cli_input_clear (&target);
      return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--view lines: %d tokens are too many to draw as lines "
                               "(at most %d); use --view heatmap or grid", MAX (rows, cols), RENDER_EXACT_MAX_TOKENS);
    }

  /* Record only what the figure shows (an encoder-decoder records its
   * encoder and cross-attention whole). */
  int the_layer = MAX (layer, 0), the_head = MAX (head, 0);
  /* Figures read every head exactly: the run keeps its smallest overview. */
  AttnvizRunOptions opt = { .skip_logits = TRUE, .overview_bytes = 1 };
  if (view != VIEW_GRID && kind == ATTENTION_SELF && range_mode != ATTNVIZ_RANGE_RUN)
    {
      /* (a layer's range reads every head of the layer) */
      opt.layers = &the_layer;
      opt.n_layers = 1;
      if (aggregate == AGGREGATE_NONE && range_mode != ATTNVIZ_RANGE_LAYER)
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
  RenderRun run = {
    .rec = rec, .rec_b = rec_b, .kind = kind, .seq2seq = seq2seq, .n_layer = n_layer, .n_head = c->n_head,
    .rows = rows, .cols = cols, .model_type = c->model_type,
    .row_labels = (const char *const *) (kind == ATTENTION_ENCODER ? input.token_texts : dec->token_texts),
    .col_labels = (const char *const *) (kind == ATTENTION_SELF ? dec->token_texts : input.token_texts),
  };
  g_autofree char *name = attnviz_model_display_name (model->path);
  run.name = name;
  int status = _attnviz_render_draw (&run, &req);
  attnviz_cli_input_clear (&input);
  attnviz_cli_input_clear (&target);
  return status;
}
