/* attnviz heads MODEL ...: one row per head, its measures (attnviz-measures.h)
 *
 * The tokens come from --text, --text-file, --ids or --probe repeat (a
 * random run of tokens, then the same run again: TransformerLens's
 * induction probe).  The table goes to stdout as aligned text, CSV or JSON,
 * sorted by one measure, largest first.
 */
#define G_LOG_DOMAIN "attnviz-cmd-heads"
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attnviz-cli.h"
#include "attnviz-fileutil.h"
#include "attnviz-measures-run.h"
#include "attnviz-similarity.h"

static void
show_progress (double fraction, gpointer data)
{
  fprintf (stderr, "\rattnviz: head importance %3.0f%%", 100.0 * fraction);
  fflush (stderr);
}

/* The names --sort takes, for its error message. */
static char *
measure_names (void)
{
  GString *s = g_string_new (NULL);
  for (int m = 0; m < ATTNVIZ_N_MEASURES; m++)
    g_string_append_printf (s, "%s%s", m ? ", " : "", attnviz_measure_get_name (m));
  return g_string_free (s, FALSE);
}

/* The probe's tokens as an input: ids, and their texts when the model has
 * a tokenizer. */
static gboolean
probe_load (AttnvizCliInput *in, const AttnvizModel *model, int length, guint32 seed, GError **error)
{
  memset (in, 0, sizeof *in);
  if (length == 0)
    {
      /* TransformerLens's usual 50, within the model's context */
      int n_ctx = model->config.n_ctx > 0 ? model->config.n_ctx : 101;
      length = MAX (1, MIN (50, (n_ctx - 1) / 2));
    }
  in->ids = attnviz_measures_probe_repeat (model, length, seed, &in->T, error);
  if (in->ids == NULL)
    return FALSE;
  in->source = g_strdup ("--probe repeat");
  in->token_texts = g_new0 (char *, in->T + 1);
  for (int t = 0; t < in->T && model->tokenizer; t++)
    in->token_texts[t] = attnviz_tokenizer_token_display_text (model->tokenizer, NULL, NULL, in->ids[t]);
  return TRUE;
}

/* --similarity: one more run recording every head, the Jensen-Shannon
 * distances of all pairs and their clustered order (attnviz-similarity.h)
 * as CSV into PATH. */
static gboolean
write_similarity (const char *path, const AttnvizModel *model, const gint32 *ids, int T, gboolean quiet,
                  GError **error)
{
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, NULL, error);
  if (rec == NULL)
    return FALSE;
  g_autoptr(AttnvizHeadSimilarity) sim = attnviz_head_similarity (rec->attention, 0, NULL, error);
  if (sim == NULL)
    return FALSE;
  g_autofree char *csv = attnviz_head_similarity_to_csv (sim);
  if (!attnviz_file_set_contents (path, csv, strlen (csv), error))
    return FALSE;
  if (!quiet)
    {
      g_autofree char *shown = attnviz_printable (path);
      fprintf (stderr, "attnviz: head similarity (Jensen-Shannon distance%s) of %d heads in clustered order to %s\n",
               sim->pooled ? ", on the pooled overviews: T is over the exact limit" : "", sim->n, shown);
    }
  return TRUE;
}

int
attnviz_cmd_heads (int argc, char **argv)
{
  g_autofree char *text = NULL, *text_file = NULL, *ids = NULL, *probe = NULL, *sort_s = NULL;
  g_autofree char *pattern_path = NULL, *ablate_mode_s = NULL, *similarity = NULL;
  gboolean csv = FALSE, json = FALSE, importance = FALSE, no_positional = FALSE, truncate = FALSE, quiet = FALSE;
  int probe_length = 0, seed = 0;
  const GOptionEntry entries[] = {
    { "text", 't', 0, G_OPTION_ARG_STRING, &text, "Text to run (special tokens added as the model's tokenizer says)",
      "TEXT" },
    { "text-file", 'f', 0, G_OPTION_ARG_FILENAME, &text_file, "Read the text from a file", "FILE" },
    { "ids", 0, 0, G_OPTION_ARG_STRING, &ids, "Token ids, used exactly as given", "1,2,3" },
    { "probe", 0, 0, G_OPTION_ARG_STRING, &probe,
      "repeat: BOS, N random tokens, the same N again (TransformerLens's induction probe)", "repeat" },
    { "probe-length", 0, 0, G_OPTION_ARG_INT, &probe_length,
      "N, the random tokens of the probe (default 50, or what the context holds)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "The probe's random seed (default 0)", "S" },
    { "sort", 's', 0, G_OPTION_ARG_STRING, &sort_s, "Sort by this measure, largest first (default: layer order)",
      "MEASURE" },
    { "csv", 0, 0, G_OPTION_ARG_NONE, &csv, "Write CSV", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Write JSON", NULL },
    { "pattern", 0, 0, G_OPTION_ARG_FILENAME, &pattern_path,
      "Score every head against a (T, T) 0/1 mask in a .npy file, as TransformerLens does", "FILE.npy" },
    { "importance", 0, 0, G_OPTION_ARG_NONE, &importance,
      "Add each head's importance: the change in mean loss with it ablated (one run per head)", NULL },
    { "ablate-mode", 0, 0, G_OPTION_ARG_STRING, &ablate_mode_s, "With --importance: zero (default) or mean", "MODE" },
    { "no-positional", 0, 0, G_OPTION_ARG_NONE, &no_positional,
      "Leave out pos-none and pos-shuffled (two runs without positions and with them shuffled)", NULL },
    { "similarity", 0, 0, G_OPTION_ARG_FILENAME, &similarity,
      "Also write every pair of heads' Jensen-Shannon distance, heads in clustered order, as CSV", "FILE.csv" },
    { "truncate", 0, 0, G_OPTION_ARG_NONE, &truncate, "Cut a text longer than the model's context", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress on stderr", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL - measure every head: entropy, distance, sinks, roles");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean help;
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "heads needs exactly one MODEL (see attnviz heads --help)");
  if ((text != NULL) + (text_file != NULL) + (ids != NULL) + (probe != NULL) != 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "heads needs exactly one of --text, --text-file, --ids or --probe");
  if (probe != NULL && strcmp (probe, "repeat") != 0)
    {
      g_autofree char *quoted = attnviz_printable (probe);
      return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--probe %s: expected repeat", quoted);
    }
  if ((probe_length != 0 || seed != 0) && probe == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--probe-length and --seed go with --probe repeat");
  if (probe_length < 0 || seed < 0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--probe-length and --seed take numbers from 0 up");
  if (csv && json)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--csv and --json: choose one");
  AttnvizMeasure sort = ATTNVIZ_MEASURE_ENTROPY;
  if (sort_s != NULL && !attnviz_measure_from_name (sort_s, &sort))
    {
      g_autofree char *quoted = attnviz_printable (sort_s);
      g_autofree char *names = measure_names ();
      return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--sort %s: expected one of %s", quoted, names);
    }
  if (sort_s != NULL && sort == ATTNVIZ_MEASURE_IMPORTANCE && !importance)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--sort importance needs --importance");
  if (sort_s != NULL && sort == ATTNVIZ_MEASURE_PATTERN && pattern_path == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--sort pattern needs --pattern FILE.npy");
  if (sort_s != NULL && (sort == ATTNVIZ_MEASURE_POS_NONE || sort == ATTNVIZ_MEASURE_POS_SHUFFLED) && no_positional)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--sort %s and --no-positional: choose one", sort_s);
  AttnvizAblateMode mode = ATTNVIZ_ABLATE_ZERO;
  if (ablate_mode_s != NULL)
    {
      if (!importance)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--ablate-mode goes with --importance");
      if (strcmp (ablate_mode_s, "mean") == 0)
        mode = ATTNVIZ_ABLATE_MEAN;
      else if (strcmp (ablate_mode_s, "zero") != 0)
        {
          g_autofree char *quoted = attnviz_printable (ablate_mode_s);
          return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--ablate-mode %s: expected zero or mean", quoted);
        }
    }

  g_autoptr(GError) error = NULL;
  if (similarity && !attnviz_output_check (similarity, &error))
    return attnviz_cli_fail_error (error);
  g_autofree gint32 *id_list = NULL;
  int n_ids = 0;
  if (ids && !(id_list = attnviz_cli_parse_ids ("--ids", ids, &n_ids, &error)))
    return attnviz_cli_fail_error (error);

  g_autoptr(AttnvizModel) model = attnviz_model_load (argv[1], &error);
  if (model == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  if (model->config.encoder_decoder)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: heads measures decoder-only and encoder models, "
                             "not encoder-decoder ones", argv[1]);

  AttnvizCliInput input;
  gboolean loaded = probe ? probe_load (&input, model, probe_length, (guint32) seed, &error)
                          : attnviz_cli_input_load (&input, model, text, text_file, ids, truncate, &error);
  if (!loaded)
    return attnviz_cli_fail_error (error);
  g_autofree float *pattern = NULL;
  if (pattern_path && !(pattern = attnviz_measures_load_pattern (pattern_path, input.T, &error)))
    {
      attnviz_cli_input_clear (&input);
      return attnviz_cli_fail_error (error);
    }
  g_autofree gboolean *special = input.tokens ? attnviz_cli_input_special (&input) : NULL;
  g_autofree guint8 *classes = attnviz_measures_key_classes (model, input.ids, input.T, special,
                                                             model->tokenizer ? input.token_texts : NULL);
  gboolean progress = importance && !quiet && isatty (fileno (stderr));
  AttnvizMeasuresOptions opt = {
    .key_class = classes, .pattern = pattern, .special = special,
    .positional = !no_positional, .importance = importance, .ablate_mode = mode,
    .progress = progress ? show_progress : NULL,
  };
  double loss;
  g_autoptr(AttnvizHeadMeasures) table = attnviz_measures_run (model, input.ids, input.T, &opt, &loss, &error);
  if (progress)
    fputc ('\n', stderr);
  int T = input.T;
  gboolean similar = table == NULL || similarity == NULL
                     || write_similarity (similarity, model, input.ids, input.T, quiet, &error);
  attnviz_cli_input_clear (&input);
  if (table == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", argv[1], error->message);
  if (!similar)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "--similarity: %s", error->message);

  g_autofree int *order = NULL;
  if (sort_s != NULL)
    {
      order = g_new (int, MAX (table->n_layer * table->n_head, 1));
      attnviz_head_measures_sort (table, sort, order);
    }
  g_autofree char *out = csv ? attnviz_head_measures_to_csv (table, order)
                       : json ? attnviz_head_measures_to_json (table, order)
                              : attnviz_head_measures_to_text (table, order);
  fputs (out, stdout);
  if (!quiet && !csv && !json)
    fprintf (stderr, "attnviz: %d layers x %d heads over %d tokens; mean loss %.4f nats\n", table->n_layer,
             table->n_head, T, loss);
  return ATTNVIZ_EXIT_OK;
}
