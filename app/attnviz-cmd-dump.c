/* attnviz dump MODEL ...: run a model and write every recorded attention
 *
 * An encoder-decoder reads --text (or --text-file, --ids) as its source;
 * its decoder reads BOS and --target, or the target it decodes greedily
 * for that source, and the dump adds the encoder's and the cross-attention.
 *
 * The output is opened before the run (attnviz_dump_open), so --logits all
 * streams into it while the run goes on, and every head is written band
 * by band after it: memory stays the run's own plus a band, whatever T.
 */
#define G_LOG_DOMAIN "attnviz-cmd-dump"
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"
#include "attnviz-dump.h"
#include "attnviz-fileutil.h"
#include "attnviz-measures-run.h"

/* "A-B" or "A": query rows A to B, both included, counted from 0. */
static gboolean
parse_rows (const char *spec, int *first, int *last, GError **error)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (spec));
  const char *dash = strchr (trimmed, '-');
  g_autofree char *a = g_strstrip (g_strndup (trimmed, dash ? (gsize) (dash - trimmed) : strlen (trimmed)));
  g_autofree char *b = dash ? g_strstrip (g_strdup (dash + 1)) : g_strdup (a);
  gint64 x, y;
  if (!g_ascii_string_to_signed (a, 10, 0, G_MAXINT32 - 1, &x, NULL)
      || !g_ascii_string_to_signed (b, 10, 0, G_MAXINT32 - 1, &y, NULL))
    {
      g_autofree char *quoted = attnviz_printable (spec);
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--rows %s: expected query rows FIRST-LAST (both included, from 0), like 100-199", quoted);
      return FALSE;
    }
  if (y < x)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--rows %d-%d: the first row is after the last", (int) x, (int) y);
      return FALSE;
    }
  *first = (int) x;
  *last = (int) y;
  return TRUE;
}

/* metrics.json and metrics.csv: the run's recorded heads, and for the
 * model as it is the positional comparisons (two more runs). */
static gboolean
add_metrics (AttnvizDump *dump, const AttnvizMeasuresAcc *acc, const AttnvizModel *model, const AttnvizCliInput *in,
             const AttnvizRunOptions *opt, const AttnvizVariant *variant, const AttnvizRecording *rec, GError **error)
{
  g_autoptr(AttnvizHeadMeasures) table = attnviz_head_measures_new (model->config.n_layer, model->config.n_head);
  attnviz_measures_acc_finish (acc, table);
  if (attnviz_variant_is_model (variant) && rec->attention
      && !attnviz_measures_add_positional (table, model, in->ids, in->T, opt, rec, error))
    return FALSE;
  g_autofree char *json = attnviz_head_measures_to_json (table, NULL);
  g_autofree char *csv = attnviz_head_measures_to_csv (table, NULL);
  attnviz_dump_add_file (dump, "metrics.json", json);
  attnviz_dump_add_file (dump, "metrics.csv", csv);
  return TRUE;
}

int
attnviz_cmd_dump (int argc, char **argv)
{
  g_autofree char *text = NULL, *text_file = NULL, *ids = NULL, *layers = NULL, *heads = NULL;
  g_autofree char *format_s = NULL, *out = NULL, *variant_s = NULL, *target_s = NULL, *target_ids = NULL;
  g_autofree char *logits_s = NULL, *rows_s = NULL;
  gboolean truncate = FALSE, quiet = FALSE, pool_max = FALSE, metrics = FALSE;
  gboolean rollout = FALSE, flow = FALSE, value_weighted = FALSE, logit_lens = FALSE;
  int pool = -1, top_k = -1;
  const GOptionEntry entries[] = {
    ATTNVIZ_CLI_INPUT_OPTION_ENTRIES (&text, &text_file, &ids, &target_s, &target_ids),
    { "layers", 'l', 0, G_OPTION_ARG_STRING, &layers, "Layers to record (default all)", "0,3-5" },
    { "heads", 'H', 0, G_OPTION_ARG_STRING, &heads, "Heads to record (default all)", "0-3" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_s, "npy (a folder), safetensors or json (default: from OUT's extension, else npy)", "FORMAT" },
    { "variant", 0, 0, G_OPTION_ARG_STRING, &variant_s,
      "Run the model changed: comma-separated mask=model|causal|bidirectional|window:W|strided:S, "
      "exclude=special|I+J, pos=model|none|sinusoidal|shuffled[:SEED]|reversed|rope-theta:X, "
      "score=model|dot|scale:S, ablate=L3H5+L4H0, ablate-mode=zero|mean", "SPEC" },
    { "pool", 0, 0, G_OPTION_ARG_INT, &pool,
      "Write each head as N x N bins (their mean: attentions_pooled_mean), not whole; for long inputs", "N" },
    { "pool-max", 0, 0, G_OPTION_ARG_NONE, &pool_max, "With --pool: the bins' max too (attentions_pooled_max)", NULL },
    { "rows", 0, 0, G_OPTION_ARG_STRING, &rows_s,
      "Write only query rows FIRST to LAST (both included, from 0) of every head", "FIRST-LAST" },
    { "logits", 0, 0, G_OPTION_ARG_STRING, &logits_s,
      "last (default: logits_last, the last position's) or all (logits, every position's, streamed)", "WHICH" },
    { "top-k", 'k', 0, G_OPTION_ARG_INT, &top_k,
      "Candidates kept per position: topk_ids and topk_probs (T, K), and the lens's (default 10)", "K" },
    { "logit-lens", 0, 0, G_OPTION_ARG_NONE, &logit_lens,
      "Add lens_topk_ids and lens_topk_probs (n_layer, T, K): each layer's residual stream read through the "
      "final norm and the LM head", NULL },
    { "metrics", 0, 0, G_OPTION_ARG_NONE, &metrics,
      "Write every recorded head's measures (attnviz heads' table) as metrics.json and metrics.csv beside the "
      "tensors", NULL },
    { "rollout", 0, 0, G_OPTION_ARG_NONE, &rollout,
      "Add rollout (T, T): attention rollout over the recorded layers (Abnar & Zuidema)", NULL },
    { "flow", 0, 0, G_OPTION_ARG_NONE, &flow,
      "Add flow (T, T): attention flow, the max flow through the layers (T <= 128)", NULL },
    { "value-weighted", 0, 0, G_OPTION_ARG_NONE, &value_weighted,
      "Add value_weighted, shaped as attentions: p_ij ||v_j W_O^h|| (Kobayashi et al.)", NULL },
    { "truncate", 0, 0, G_OPTION_ARG_NONE, &truncate, "Cut a text longer than the model's context", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Where to write", "OUT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing on success", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL - record every head's attention and write it");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean help;
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "dump needs exactly one MODEL (see attnviz dump --help)");
  if (out == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "dump needs -o OUT");
  if (*out == '\0')
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "-o: the output path is empty");
  if ((text != NULL) + (text_file != NULL) + (ids != NULL) != 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "dump needs exactly one of --text, --text-file or --ids");

  AttnvizDumpFormat format = ATTNVIZ_DUMP_NPY;
  if (format_s != NULL)
    {
      if (!attnviz_dump_format_from_string (format_s, &format))
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--format %s: expected npy, safetensors or json", format_s);
    }
  else if (g_str_has_suffix (out, ".safetensors"))
    format = ATTNVIZ_DUMP_SAFETENSORS;
  else if (g_str_has_suffix (out, ".json"))
    format = ATTNVIZ_DUMP_JSON;

  g_autoptr(GError) error = NULL;
  AttnvizDumpOptions dump_opt = ATTNVIZ_DUMP_OPTIONS_INIT;
  dump_opt.format = format;
  if (logits_s != NULL && !attnviz_dump_logits_from_string (logits_s, &dump_opt.logits))
    {
      g_autofree char *quoted = attnviz_printable (logits_s);
      return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--logits %s: expected last or all", quoted);
    }
  if (pool != -1 && pool < 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--pool %d: expected a number of bins, 1 or more", pool);
  dump_opt.pool = MAX (pool, 0);
  if (top_k != -1 && top_k < 1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--top-k %d: expected a number of candidates, 1 or more", top_k);
  dump_opt.top_k = MAX (top_k, 0);
  dump_opt.logit_lens = logit_lens;
  dump_opt.rollout = rollout;
  dump_opt.flow = flow;
  dump_opt.value_weighted = value_weighted;
  dump_opt.pool_max = pool_max;
  if (rows_s != NULL && !parse_rows (rows_s, &dump_opt.row_first, &dump_opt.row_last, &error))
    return attnviz_cli_fail_error (error);
  if (pool_max && pool == -1)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--pool-max adds the bins' max to --pool N: give --pool N too");
  if (pool != -1 && rows_s != NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--pool and --rows: choose one (a pooled head covers every row)");

  g_autofree int *layer_list = NULL, *head_list = NULL;
  g_autofree gint32 *id_list = NULL;
  int n_layers = 0, n_heads = 0, n_ids = 0;
  if ((layers && !(layer_list = attnviz_cli_parse_index_list ("--layers", layers, &n_layers, &error)))
      || (heads && !(head_list = attnviz_cli_parse_index_list ("--heads", heads, &n_heads, &error)))
      || (ids && !(id_list = attnviz_cli_parse_ids ("--ids", ids, &n_ids, &error))))
    return attnviz_cli_fail_error (error);
  /* A FIFO, a device or a link at -o is refused before any work. */
  if (!attnviz_dump_check_output (format, out, &error))
    return attnviz_cli_fail_error (error);

  g_auto(AttnvizVariant) variant = { 0 };
  if (!attnviz_variant_parse (&variant, variant_s, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--variant: %s", error->message);

  g_autoptr(AttnvizModel) model = attnviz_model_load (argv[1], &error);
  if (model == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  if (!attnviz_cli_check_indices ("--layers", layer_list, n_layers, model->config.n_layer, "layers", &error)
      || !attnviz_cli_check_indices ("--heads", head_list, n_heads, model->config.n_head, "heads", &error))
    return attnviz_cli_fail_error (error);

  gboolean seq2seq = model->config.encoder_decoder;
  if (metrics && seq2seq)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--metrics: %s is an encoder-decoder model (measured: decoder-only "
                             "and encoder models)", argv[1]);
  if ((target_s != NULL || target_ids != NULL) && !seq2seq)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: %s is not an encoder-decoder model",
                             target_s ? "--target" : "--target-ids", argv[1]);

  AttnvizCliInput input, target;
  if (!attnviz_cli_input_and_target_load (&input, &target, model, text, text_file, ids, target_s, target_ids, truncate, &error))
    return attnviz_cli_fail_error (error);

  /* The decoder's tokens: the input's, or an encoder-decoder's target. */
  AttnvizCliInput *dec = seq2seq ? &target : &input;
  g_autofree gboolean *special = attnviz_cli_input_special (dec);
  AttnvizRunOptions opt = {
    .layers = layer_list, .n_layers = n_layers,
    .heads = head_list, .n_heads = n_heads,
    .variant = &variant, .special = special,
  };
  g_autofree char *variant_spec = attnviz_variant_to_string (&variant);
  AttnvizDumpInfo info = {
    .model_path = argv[1],
    .architecture = model->config.architecture,
    .model_type = model->config.model_type,
    .variant = variant_spec,
    .tokens = dec->tokens ? (const AttnvizToken *) dec->tokens->data : NULL,
    .token_texts = dec->token_texts,
  };
  if (seq2seq)
    {
      info.source_tokens = input.tokens ? (const AttnvizToken *) input.tokens->data : NULL;
      info.source_texts = input.token_texts;
    }
  /* Opened before the run: the options checked against its length, and
   * the logits streamed into the output as they come. */
  AttnvizDump *dump = attnviz_dump_open (out, &dump_opt, model, &opt, dec->ids, dec->T, seq2seq ? input.ids : NULL,
                                         seq2seq ? input.T : 0, &info, &error);
  if (dump == NULL)
    {
      attnviz_cli_input_clear (&input);
      attnviz_cli_input_clear (&target);
      return attnviz_cli_fail_error (error);
    }
  /* The measures come from the run as it computes each head. */
  g_autofree guint8 *classes = NULL;
  g_autoptr(AttnvizMeasuresAcc) acc = NULL;
  if (metrics)
    {
      classes = attnviz_measures_key_classes (model, dec->ids, dec->T, special,
                                              model->tokenizer ? dec->token_texts : NULL);
      AttnvizMeasuresInput min = { .T = dec->T, .ids = dec->ids, .key_class = classes };
      acc = attnviz_measures_acc_new (model->config.n_layer, model->config.n_head, &min);
      opt.measures = acc;
    }
  g_autoptr(AttnvizRecording) rec = seq2seq
    ? attnviz_forward_seq2seq (model, input.ids, input.T, target.ids, target.T, &opt, &error)
    : attnviz_forward (model, input.ids, input.T, &opt, &error);
  if (rec == NULL)
    {
      /* A failed write names the output; anything else is the run's. */
      gboolean writing = attnviz_dump_failed (dump);
      attnviz_dump_abort (dump);
      attnviz_cli_input_clear (&input);
      attnviz_cli_input_clear (&target);
      if (writing)
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", argv[1], error->message);
    }
  if (metrics && !add_metrics (dump, acc, model, dec, &opt, &variant, rec, &error))
    {
      attnviz_dump_abort (dump);
      attnviz_cli_input_clear (&input);
      attnviz_cli_input_clear (&target);
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: --metrics: %s", argv[1], error->message);
    }
  gboolean ok = attnviz_dump_finish (dump, rec, &error);
  if (ok && seq2seq && !quiet)
    {
      /* decoded by the model's tokenizer: escaped for the terminal */
      g_autofree char *shown = attnviz_printable (target.text ? target.text : "");
      fprintf (stderr, "attnviz: target \"%s\" (%s)\n", shown,
               target_s ? "--target" : target_ids ? "--target-ids" : "greedy");
    }
  attnviz_cli_input_clear (&input);
  attnviz_cli_input_clear (&target);
  if (!ok)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  if (!quiet)
    {
      if (rec->S > 0)
        fprintf (stderr, "attnviz: wrote %d decoder layers x %d heads x %d target tokens, %d encoder layers, "
                 "%d source tokens to %s (%.3f s)\n", rec->n_rec_layers, rec->n_rec_heads, rec->T, rec->n_enc_layer,
                 rec->S, out, rec->seconds);
      else
        fprintf (stderr, "attnviz: wrote %d layers x %d heads x %d tokens%s to %s (%.3f s)\n",
                 rec->n_rec_layers, rec->n_rec_heads, rec->T, dump_opt.pool > 0 ? " pooled" : "", out, rec->seconds);
    }
  return ATTNVIZ_EXIT_OK;
}
