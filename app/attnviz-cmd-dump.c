/* attnviz dump MODEL ...: run a model and write every recorded attention
 *
 * An encoder-decoder reads --text (or --text-file, --ids) as its source;
 * its decoder reads BOS and --target, or the target it decodes greedily
 * for that source, and the dump adds the encoder's and the cross-attention.
 */
#define G_LOG_DOMAIN "attnviz-cmd-dump"
#include "config.h"

#include <stdio.h>

#include "attnviz-cli.h"
#include "attnviz-dump.h"

int
attnviz_cmd_dump (int argc, char **argv)
{
  g_autofree char *text = NULL, *text_file = NULL, *ids = NULL, *layers = NULL, *heads = NULL;
  g_autofree char *format_s = NULL, *out = NULL, *variant_s = NULL, *target_s = NULL;
  gboolean truncate = FALSE, quiet = FALSE;
  const GOptionEntry entries[] = {
    ATTNVIZ_CLI_INPUT_OPTION_ENTRIES (&text, &text_file, &ids, &target_s),
    { "layers", 'l', 0, G_OPTION_ARG_STRING, &layers, "Layers to record (default all)", "0,3-5" },
    { "heads", 'H', 0, G_OPTION_ARG_STRING, &heads, "Heads to record (default all)", "0-3" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_s, "npy (a folder), safetensors or json (default: from OUT's extension, else npy)", "FORMAT" },
    { "variant", 0, 0, G_OPTION_ARG_STRING, &variant_s,
      "Run the model changed: comma-separated mask=model|causal|bidirectional|window:W|strided:S, "
      "exclude=special|I+J, pos=model|none|sinusoidal|shuffled[:SEED]|reversed|rope-theta:X, "
      "score=model|dot|scale:S, ablate=L3H5+L4H0, ablate-mode=zero|mean", "SPEC" },
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
  g_autofree int *layer_list = NULL, *head_list = NULL;
  int n_layers = 0, n_heads = 0;
  if (layers && !(layer_list = attnviz_cli_parse_index_list (layers, &n_layers, &error)))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--layers: %s", error->message);
  if (heads && !(head_list = attnviz_cli_parse_index_list (heads, &n_heads, &error)))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--heads: %s", error->message);

  g_auto(AttnvizVariant) variant = { 0 };
  if (!attnviz_variant_parse (&variant, variant_s, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--variant: %s", error->message);

  g_autoptr(AttnvizModel) model = attnviz_model_load (argv[1], &error);
  if (model == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);

  gboolean seq2seq = model->config.encoder_decoder;
  if (target_s != NULL && !seq2seq)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--target: %s is not an encoder-decoder model", argv[1]);

  AttnvizCliInput input, target;
  if (!attnviz_cli_input_and_target_load (&input, &target, model, text, text_file, ids, target_s, truncate, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);

  /* The decoder's tokens: the input's, or an encoder-decoder's target. */
  AttnvizCliInput *dec = seq2seq ? &target : &input;
  g_autofree gboolean *special = attnviz_cli_input_special (dec);
  AttnvizRunOptions opt = {
    .layers = layer_list, .n_layers = n_layers,
    .heads = head_list, .n_heads = n_heads,
    .variant = &variant, .special = special,
  };
  g_autoptr(AttnvizRecording) rec = seq2seq
    ? attnviz_forward_seq2seq (model, input.ids, input.T, target.ids, target.T, &opt, &error)
    : attnviz_forward (model, input.ids, input.T, &opt, &error);
  if (rec == NULL)
    {
      attnviz_cli_input_clear (&input);
      attnviz_cli_input_clear (&target);
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", argv[1], error->message);
    }

  AttnvizDumpInfo info = {
    .model_path = argv[1],
    .architecture = model->config.architecture,
    .model_type = model->config.model_type,
    .variant = rec->variant,
    .tokens = dec->tokens ? (const AttnvizToken *) dec->tokens->data : NULL,
    .token_texts = dec->token_texts,
  };
  if (seq2seq)
    {
      info.source_tokens = input.tokens ? (const AttnvizToken *) input.tokens->data : NULL;
      info.source_texts = input.token_texts;
    }
  gboolean ok = attnviz_dump_write (rec, &info, format, out, &error);
  if (ok && seq2seq && !quiet)
    fprintf (stderr, "attnviz: target \"%s\" (%s)\n", target.text, target_s ? "--target" : "greedy");
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
        fprintf (stderr, "attnviz: wrote %d layers x %d heads x %d tokens to %s (%.3f s)\n",
                 rec->n_rec_layers, rec->n_rec_heads, rec->T, out, rec->seconds);
    }
  return ATTNVIZ_EXIT_OK;
}
