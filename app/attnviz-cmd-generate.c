/* attnviz generate MODEL [--prompt TEXT] -n N: decode from a causal model
 *
 * Greedy by default (llama2.c's temperature 0), so the output of a model
 * can be compared with its reference implementation token for token.
 * An encoder-decoder (attnviz's AttnvizSeq2Seq) reads --prompt as its
 * source and decodes the target: attnviz generate dates-model -p "21 nov 2026".
 * Both go through the engine's decoders (attnviz-generate.h), the ones the
 * desktop app uses.
 */
#define G_LOG_DOMAIN "attnviz-cmd-generate"
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"
#include "attnviz-fileutil.h"
#include "attnviz-generate.h"

/* A prompt the tokenizer could not encode: invalid UTF-8 is the option's
 * fault (exit 2), a split pattern that failed is the tokenizer file's. */
static int
prompt_error (const AttnvizModel *model, const GError *error)
{
  if (error->domain == G_REGEX_ERROR)
    {
      g_autofree char *file = attnviz_cli_tokenizer_file (model);
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s (--prompt)", file, error->message);
    }
  return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--prompt: %s", error->message);
}

/* An encoder-decoder: PROMPT is the source; the target is decoded from
 * <bos> until <eos> (neither printed). */
static int
generate_seq2seq (const AttnvizModel *model, const char *path, const char *prompt,
                  const AttnvizGenerateOptions *options)
{
  const AttnvizConfig *c = &model->config;
  g_autoptr(GError) error = NULL;
  if (prompt == NULL || *prompt == '\0')
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "%s: an encoder-decoder needs --prompt, the source to decode from", path);
  g_autoptr(GArray) toks = attnviz_tokenizer_encode (model->tokenizer, prompt, -1, TRUE, &error);
  if (toks == NULL)
    return prompt_error (model, error);
  if (toks->len == 0 || (int) toks->len > c->n_ctx)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--prompt: %u tokens; the model's context is %d", toks->len,
                             c->n_ctx);
  g_autofree gint32 *src = g_new (gint32, toks->len);
  for (guint i = 0; i < toks->len; i++)
    src[i] = g_array_index (toks, AttnvizToken, i).id;

  AttnvizGenerateOptions o = *options;
  o.bos_id = c->bos_id >= 0 ? c->bos_id : attnviz_tokenizer_get_bos_id (model->tokenizer);
  o.eos_id = c->eos_id >= 0 ? c->eos_id : attnviz_tokenizer_get_eos_id (model->tokenizer);
  g_autoptr(GArray) tgt = attnviz_generate_seq2seq (model, src, toks->len, &o, &error);
  if (tgt == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", path, error->message);
  /* The target without its leading <bos>. */
  g_autofree char *text = attnviz_tokenizer_decode (model->tokenizer, (gint32 *) tgt->data + 1, tgt->len - 1);
  g_autofree char *shown = attnviz_printable_text (text);
  printf ("%s\n", shown);
  return ATTNVIZ_EXIT_OK;
}

int
attnviz_cmd_generate (int argc, char **argv)
{
  g_autofree char *prompt = NULL;
  int steps = 64;
  double temperature = 0.0;
  gint64 seed = 42;
  const GOptionEntry entries[] = {
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt,
      "Text to continue (default: start from BOS); an encoder-decoder's source", "TEXT" },
    { "steps", 'n', 0, G_OPTION_ARG_INT, &steps, "Tokens to generate at most (default 64)", "N" },
    { "temperature", 'T', 0, G_OPTION_ARG_DOUBLE, &temperature, "0 for greedy (default), else sample", "T" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed for sampling", "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL - generate text (an encoder-decoder: from --prompt)");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean help;
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "generate needs exactly one MODEL (see attnviz generate --help)");
  if (steps < 0 || temperature < 0.0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "-n and --temperature must not be negative");

  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (argv[1], &error);
  if (model == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  const AttnvizConfig *c = &model->config;
  AttnvizGenerateOptions options = {
    .max_new = steps,
    .temperature = temperature,
    .seed = (guint32) seed,
    .bos_id = -1,
    .eos_id = -1,
    .stop_id = -1,
  };
  if (c->encoder_decoder)
    {
      if (model->tokenizer == NULL)
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", model->tokenizer_error);
      return generate_seq2seq (model, argv[1], prompt, &options);
    }
  if (!c->causal || model->lm_head.w.data == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: generate needs a causal language model", argv[1]);
  if (model->tokenizer == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", model->tokenizer_error);

  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  if (prompt != NULL && *prompt != '\0')
    {
      g_autoptr(GArray) toks = attnviz_tokenizer_encode (model->tokenizer, prompt, -1, TRUE, &error);
      if (toks == NULL)
        return prompt_error (model, error);
      for (guint i = 0; i < toks->len; i++)
        g_array_append_val (ids, g_array_index (toks, AttnvizToken, i).id);
    }
  int bos = attnviz_tokenizer_get_bos_id (model->tokenizer);
  int eos = attnviz_tokenizer_get_eos_id (model->tokenizer);
  if (ids->len == 0)
    {
      if (bos < 0)
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: the tokenizer has no BOS token; give --prompt", argv[1]);
      gint32 b = bos;
      g_array_append_val (ids, b);
    }
  if ((int) ids->len > c->n_ctx)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--prompt: %u tokens are more than the model's context of %d",
                             ids->len, c->n_ctx);

  /* llama2.c stops at BOS, Hugging Face at EOS. */
  options.eos_id = eos;
  options.stop_id = bos;
  if (!attnviz_generate (model, ids, &options, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", argv[1], error->message);
  g_autofree char *text = attnviz_tokenizer_decode (model->tokenizer, (gint32 *) ids->data, ids->len);
  g_autofree char *shown = attnviz_printable_text (text);
  printf ("%s\n", shown);
  return ATTNVIZ_EXIT_OK;
}
