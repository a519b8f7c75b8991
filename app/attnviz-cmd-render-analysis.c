/* attnviz render --view rollout | flow | value-weighted | qk: figures of
 * what the attention carries, beyond one head's weights
 *
 *   rollout         the (T, T) attention rollout over every layer (attnviz-rollout.h)
 *   flow            the (T, T) attention flow, up to ATTNVIZ_FLOW_MAX_TOKENS
 *   value-weighted  one head's p_ij ||v_j W_O|| (attnviz-attention.h), its own colour range
 *   qk              one head's queries and keys in one plane (attnviz-qk.h)
 *
 * The first three are heatmaps, the last a scatter; all take the figure
 * options of every render (attnviz-cli-figure.h) and are written the same
 * way, atomically, the format by the extension. */
#define G_LOG_DOMAIN "attnviz-cmd-render"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"
#include "attnviz-cli-figure.h"
#include "attnviz-fileutil.h"
#include "attnviz-forward.h"
#include "attnviz-painter.h"
#include "attnviz-qk.h"
#include "attnviz-rollout.h"

typedef enum {
  ANALYSIS_ROLLOUT,
  ANALYSIS_FLOW,
  ANALYSIS_VALUE_WEIGHTED,
  ANALYSIS_QK,
} AnalysisView;

static const char *const view_names[] = {
  [ANALYSIS_ROLLOUT] = "rollout",
  [ANALYSIS_FLOW] = "flow",
  [ANALYSIS_VALUE_WEIGHTED] = "value-weighted",
  [ANALYSIS_QK] = "qk",
};

static gboolean
view_from_string (const char *s, AnalysisView *view)
{
  for (guint i = 0; s != NULL && i < G_N_ELEMENTS (view_names); i++)
    if (strcmp (s, view_names[i]) == 0)
      {
        *view = i;
        return TRUE;
      }
  return FALSE;
}

gboolean
attnviz_cmd_render_is_analysis (int argc, char **argv)
{
  AnalysisView view;
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        break;
      if (strcmp (argv[i], "--view") == 0 && i + 1 < argc)
        return view_from_string (argv[i + 1], &view);
      if (g_str_has_prefix (argv[i], "--view="))
        return view_from_string (argv[i] + strlen ("--view="), &view);
    }
  return FALSE;
}

/* The model folder's name, for titles. */
static char *
model_name (const AttnvizModel *model)
{
  g_autofree char *base = g_path_get_basename (model->dir ? model->dir : model->path);
  if (g_ascii_strcasecmp (base, "hf") == 0 || g_ascii_strcasecmp (base, "model") == 0)
    {
      g_autofree char *parent = g_path_get_dirname (model->dir ? model->dir : model->path);
      return g_path_get_basename (parent);
    }
  return g_steal_pointer (&base);
}

/* A matrix over more tokens than a figure can show cell by cell is drawn
 * as the mean of K x K tokens a cell. */
#define ANALYSIS_EXACT_MAX_TOKENS 1024

/* OUT (n, n) = M (T, T) pooled by the mean into bins of K tokens a side. */
static float *
pool_mean (const float *m, int T, int k, int *n_out)
{
  int n = (T + k - 1) / k;
  float *out = g_new0 (float, (gsize) n * n);
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++)
      out[(gsize) (i / k) * n + j / k] += m[(gsize) i * T + j];
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++)
      out[(gsize) a * n + b] /= (float) (MIN (k, T - a * k) * MIN (k, T - b * k));
  *n_out = n;
  return out;
}

/* Each bin's first token after its position ("128:␣the"). */
static char **
pooled_labels (const char *const *texts, int T, int k, int n)
{
  char **labels = g_new0 (char *, n + 1);
  for (int i = 0; i < n; i++)
    labels[i] = g_strdup_printf ("%d:%s", i * k, texts[i * k]);
  return labels;
}

typedef struct {
  AnalysisView view;
  const char *name;          /* the model's, for titles */
  const AttnvizRecording *rec;
  const AttnvizConfig *c;
  const char *const *labels; /* (T) */
  int T;
  int layer, head;
  AttnvizColormap colormap;
  AttnvizScaleKind scale_kind;
  double vmin, vmax;         /* NAN: the data's */
  const AttnvizCliFigure *fig;
  const char *out;
} Analysis;

/* Rollout, flow or one head's value-weighted attention as a heatmap. */
static gboolean
draw_heatmap (const Analysis *a, char **described, GError **error)
{
  AttnvizAttention *source = a->rec->attention;
  g_autofree float *m = NULL;
  g_autofree char *title = NULL, *how = NULL;
  int n_layers = attnviz_attention_get_n_layers (source);
  switch (a->view)
    {
    case ANALYSIS_ROLLOUT:
      m = attnviz_attention_rollout (source, NULL, error);
      title = g_strdup_printf ("%s · attention rollout", a->name);
      how = g_strdup_printf ("Â = ½ mean of heads + ½ I per layer, product of %d layers (Abnar & Zuidema 2020)",
                             n_layers);
      break;
    case ANALYSIS_FLOW:
      m = attnviz_attention_flow (source, NULL, error);
      title = g_strdup_printf ("%s · attention flow", a->name);
      how = g_strdup_printf ("Â = ½ mean of heads + ½ I per layer, max flow through %d layers "
                             "(Abnar & Zuidema 2020)", n_layers);
      break;
    case ANALYSIS_VALUE_WEIGHTED:
    default:
      m = attnviz_attention_dup_value_weighted (source, a->layer, a->head);
      if (m == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "--view value-weighted: layer %d head %d of this run has no value norms", a->layer, a->head);
          return FALSE;
        }
      title = g_strdup_printf ("%s · layer %d · head %d · value-weighted ‖α·W_O v‖", a->name, a->layer, a->head);
      how = g_strdup ("w_ij = α_ij ‖v_j W_O‖ (Kobayashi et al. 2020)");
      break;
    }
  if (m == NULL)
    return FALSE;

  int n = a->T, k = 1;
  const char *const *labels = a->labels;
  g_autofree float *pooled = NULL;
  g_auto(GStrv) bin_labels = NULL;
  g_autofree char *pool_note = NULL;
  if (a->T > ANALYSIS_EXACT_MAX_TOKENS)
    {
      k = (a->T + ANALYSIS_EXACT_MAX_TOKENS - 1) / ANALYSIS_EXACT_MAX_TOKENS;
      pooled = pool_mean (m, a->T, k, &n);
      bin_labels = pooled_labels (a->labels, a->T, k, n);
      labels = (const char *const *) bin_labels;
      pool_note = g_strdup_printf (" · mean of %d × %d tokens per cell", k, k);
    }
  const float *drawn = pooled ? pooled : m;

  /* Its own range: from 0 (or --vmin) to the largest value (or --vmax). */
  float top = 0;
  for (gsize i = 0; i < (gsize) n * n; i++)
    top = MAX (top, drawn[i]);
  double lo = isnan (a->vmin) ? 0 : a->vmin;
  double hi = !isnan (a->vmax) ? a->vmax : top > lo ? top : lo + 1;
  g_autofree char *subtitle = g_strdup_printf ("%s · %d tokens%s · %s · colours: 0–%.3g of this figure",
                                               a->c->model_type, a->T, pool_note ? pool_note : "", how, hi);

  AttnvizHeatmapSpec spec;
  attnviz_heatmap_spec_init (&spec, drawn, n, n);
  spec.row_labels = labels;
  spec.col_labels = labels;
  if (a->view != ANALYSIS_VALUE_WEIGHTED)
    {
      spec.row_caption = "output token";
      spec.col_caption = "input token";
    }
  spec.title = title;
  spec.subtitle = subtitle;
  spec.colormap = a->colormap;
  attnviz_scale_init (&spec.scale, a->scale_kind, lo, hi);
  spec.scale_caption = "own range";
  /* a causal model's rollout and flow are lower-triangular too */
  spec.mask_future = a->rec->causal && (k == 1 || a->T % k == 0);
  attnviz_cli_figure_apply (a->fig, ATTNVIZ_FIGURE_HEATMAP, &spec);
  double w, h;
  attnviz_cli_figure_size (a->fig, 480, 460, &w, &h);
  AttnvizExportOptions eo = attnviz_cli_figure_export_options (a->fig, title);
  if (!attnviz_paint_to_file_full (a->out, ATTNVIZ_FIGURE_HEATMAP, &spec, w, h, &eo, error))
    return FALSE;
  *described = g_steal_pointer (&title);
  return TRUE;
}

/* The head's queries and keys as AttentionViz draws them. */
static gboolean
draw_qk (const Analysis *a, int token, char **described, GError **error)
{
  g_autoptr(AttnvizQkView) qk = attnviz_qk_view (a->rec->attention, a->layer, a->head, error);
  if (qk == NULL)
    return FALSE;
  g_autofree char *title = g_strdup_printf ("%s · layer %d · head %d · queries and keys", a->name, a->layer,
                                            a->head);
  g_autofree char *subtitle = g_strdup_printf ("%s · %d tokens · AttentionViz scaling and centring, "
                                               "one PCA of queries and keys", a->c->model_type, a->T);
  AttnvizScatterSpec spec;
  attnviz_scatter_spec_init (&spec, qk->points, qk->n_q, qk->n_k);
  spec.query_labels = a->labels;
  spec.key_labels = a->labels;
  spec.explained[0] = qk->explained[0];
  spec.explained[1] = qk->explained[1];
  spec.title = title;
  spec.subtitle = subtitle;
  attnviz_cli_figure_apply (a->fig, ATTNVIZ_FIGURE_SCATTER, &spec);
  /* --token is asked for on the command line: it stays */
  spec.highlight_query = spec.highlight_key = token;
  double w, h;
  attnviz_cli_figure_size (a->fig, 480, 460, &w, &h);
  AttnvizExportOptions eo = attnviz_cli_figure_export_options (a->fig, title);
  if (!attnviz_paint_to_file_full (a->out, ATTNVIZ_FIGURE_SCATTER, &spec, w, h, &eo, error))
    return FALSE;
  *described = g_steal_pointer (&title);
  return TRUE;
}

int
attnviz_cmd_render_analysis (int argc, char **argv)
{
  g_autofree char *text = NULL, *text_file = NULL, *ids = NULL, *out = NULL, *target_s = NULL, *target_ids = NULL;
  g_autofree char *view_s = NULL, *colormap_s = NULL, *scale_s = NULL, *variant_s = NULL;
  g_autofree char *aggregate_s = NULL, *vs_s = NULL, *attention_s = NULL;
  int layer = 0, head = 0, token = -1;
  double vmin = NAN, vmax = NAN;
  g_auto(AttnvizCliFigure) fig = { 0 };
  gboolean truncate = FALSE, quiet = FALSE;
  const GOptionEntry entries[] = {
    ATTNVIZ_CLI_INPUT_OPTION_ENTRIES (&text, &text_file, &ids, &target_s, &target_ids),
    { "view", 0, 0, G_OPTION_ARG_STRING, &view_s, "rollout, flow, value-weighted or qk", "VIEW" },
    { "layer", 'l', 0, G_OPTION_ARG_INT, &layer, "Layer (value-weighted, qk; default 0)", "L" },
    { "head", 'H', 0, G_OPTION_ARG_INT, &head, "Head (value-weighted, qk; default 0)", "H" },
    { "token", 0, 0, G_OPTION_ARG_INT, &token, "qk: the token whose query and key are drawn larger, labelled", "T" },
    { "colormap", 'c', 0, G_OPTION_ARG_STRING, &colormap_s, "viridis (default), magma or grey", "MAP" },
    { "scale", 's', 0, G_OPTION_ARG_STRING, &scale_s, "linear (default), log or power", "SCALE" },
    { "vmin", 0, 0, G_OPTION_ARG_DOUBLE, &vmin, "Value at the bottom of the colour map (default 0)", "V" },
    { "vmax", 0, 0, G_OPTION_ARG_DOUBLE, &vmax, "Value at the top (default: the largest)", "V" },
    ATTNVIZ_CLI_FIGURE_OPTION_ENTRIES (&fig),
    { "variant", 0, 0, G_OPTION_ARG_STRING, &variant_s, "Run the model changed (see attnviz dump --help)", "SPEC" },
    { "truncate", 0, 0, G_OPTION_ARG_NONE, &truncate, "Cut a text longer than the model's context", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The figure: .png, .svg or .pdf", "OUT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing on success", NULL },
    /* taken only to say that they do not apply */
    { "aggregate", 'a', G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &aggregate_s, NULL, NULL },
    { "vs", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &vs_s, NULL, NULL },
    { "attention", 'A', G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &attention_s, NULL, NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL - draw rollout, flow, value-weighted attention "
                                                        "or a head's queries and keys");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean help;
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  AnalysisView view;
  if (!view_from_string (view_s, &view))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--view %s: expected rollout, flow, value-weighted or qk", view_s);
  if (argc != 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "render needs exactly one MODEL (see attnviz render --help)");
  if (out == NULL || *out == '\0')
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "render needs -o OUT (.png, .svg or .pdf)");
  if ((text != NULL) + (text_file != NULL) + (ids != NULL) != 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "render needs exactly one of --text, --text-file or --ids");
  g_autofree char *lower = g_ascii_strdown (out, -1);
  if (!g_str_has_suffix (lower, ".png") && !g_str_has_suffix (lower, ".svg") && !g_str_has_suffix (lower, ".pdf"))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: the name should end in .png, .svg or .pdf", out);
  if (aggregate_s != NULL || vs_s != NULL || attention_s != NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--view %s: %s applies to the heatmap, grid and lines views only",
                             view_s, aggregate_s ? "--aggregate" : vs_s ? "--vs" : "--attention");
  if (token >= 0 && view != ANALYSIS_QK)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--token: only --view qk highlights a token");
  AttnvizColormap colormap = ATTNVIZ_COLORMAP_VIRIDIS;
  if (colormap_s != NULL && (!attnviz_colormap_from_string (colormap_s, &colormap)
                             || attnviz_colormap_is_diverging (colormap)))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--colormap %s: expected viridis, magma or grey", colormap_s);
  AttnvizScaleKind scale_kind = ATTNVIZ_SCALE_LINEAR;
  if (scale_s != NULL && !attnviz_scale_kind_from_string (scale_s, &scale_kind))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--scale %s: expected linear, log or power", scale_s);
  if ((!isnan (vmin) && !isfinite (vmin)) || (!isnan (vmax) && !isfinite (vmax))
      || (!isnan (vmin) && !isnan (vmax) && vmin >= vmax))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--vmin and --vmax: expected finite numbers with vmin < vmax");
  g_autoptr(GError) error = NULL;
  if (!attnviz_cli_figure_check (&fig, vmin, vmax, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s", error->message);
  if (fig.range_mode == ATTNVIZ_RANGE_LAYER || fig.range_mode == ATTNVIZ_RANGE_RUN)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--range-mode: --view %s has its own range; use --range to fix it",
                             view_s);
  if (!attnviz_output_check (out, &error))
    return attnviz_cli_fail_error (error);
  g_auto(AttnvizVariant) variant = { 0 };
  if (!attnviz_variant_parse (&variant, variant_s, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--variant: %s", error->message);

  g_autoptr(AttnvizModel) model = attnviz_model_load (argv[1], &error);
  if (model == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  const AttnvizConfig *c = &model->config;
  if (c->encoder_decoder)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "--view %s: %s is an encoder-decoder model; this view takes "
                             "decoder-only and encoder models", view_s, argv[1]);
  if (layer < 0 || layer >= c->n_layer)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--layer %d: %s has layers 0 to %d", layer, argv[1], c->n_layer - 1);
  if (head < 0 || head >= c->n_head)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--head %d: %s has heads 0 to %d", head, argv[1], c->n_head - 1);
  AttnvizCliInput input;
  if (!attnviz_cli_input_load (&input, model, text, text_file, ids, truncate, &error))
    return attnviz_cli_fail_error (error);
  int limit = view == ANALYSIS_FLOW ? ATTNVIZ_FLOW_MAX_TOKENS
            : view == ANALYSIS_ROLLOUT ? ATTNVIZ_ROLLOUT_MAX_TOKENS : G_MAXINT;
  if (input.T > limit)
    {
      int T = input.T;
      attnviz_cli_input_clear (&input);
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "--view %s: %d tokens are too many (at most %d)%s", view_s, T,
                               limit, view == ANALYSIS_FLOW ? "; --view rollout takes more" : "");
    }
  if (token >= input.T)
    {
      int T = input.T;
      attnviz_cli_input_clear (&input);
      return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--token %d: the input has tokens 0 to %d", token, T - 1);
    }

  /* Rollout and flow read every head of every layer; the others one. */
  AttnvizRunOptions opt = { .skip_logits = TRUE, .overview_bytes = 1, .variant = &variant };
  if (view == ANALYSIS_VALUE_WEIGHTED || view == ANALYSIS_QK)
    {
      opt.layers = &layer;
      opt.n_layers = 1;
      opt.heads = &head;
      opt.n_heads = 1;
    }
  g_autofree gboolean *special = attnviz_cli_input_special (&input);
  opt.special = special;
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, input.ids, input.T, &opt, &error);
  if (rec == NULL)
    {
      attnviz_cli_input_clear (&input);
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", argv[1], error->message);
    }
  g_autofree char *name = model_name (model);
  Analysis a = {
    .view = view, .name = name, .rec = rec, .c = c, .labels = (const char *const *) input.token_texts,
    .T = input.T, .layer = layer, .head = head, .colormap = colormap, .scale_kind = scale_kind,
    .vmin = fig.vmin, .vmax = fig.vmax, .fig = &fig, .out = out,
  };
  g_autofree char *described = NULL;
  gboolean ok = view == ANALYSIS_QK ? draw_qk (&a, token, &described, &error)
                                    : draw_heatmap (&a, &described, &error);
  int T = input.T;
  attnviz_cli_input_clear (&input);
  if (!ok)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  if (!quiet)
    fprintf (stderr, "attnviz: drew %s of %d tokens to %s\n", described, T, out);
  return ATTNVIZ_EXIT_OK;
}
