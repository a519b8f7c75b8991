/* attnviz generate MODEL [--prompt TEXT] -n N: decode from a causal model
 *
 * Greedy by default (llama2.c's temperature 0), so the output of a model
 * can be compared with its reference implementation token for token;
 * sampled with --temperature, --sample-top-k, --top-p and --seed.  A
 * decoder-only model keeps the keys and values of earlier positions
 * (attnviz-kv-decoder.h; --no-cache runs the whole sequence each step).
 * --top-k N prints each step's N most likely tokens before the text;
 * --dump OUT runs the whole sequence once more afterwards and writes its
 * attention as attnviz dump would.
 * An encoder-decoder (attnviz's AttnvizSeq2Seq) reads --prompt as its
 * source and decodes the target: attnviz generate dates-model -p "21 nov 2026".
 * Both go through the engine's decoders (attnviz-generate.h), the ones the
 * desktop app uses.
 */
#define G_LOG_DOMAIN "attnviz-cmd-generate"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"
#include "attnviz-dump.h"
#include "attnviz-fileutil.h"
#include "attnviz-generate.h"

/* --top-k N: each step's candidates, as a line on stdout. */
typedef struct {
  const AttnvizTokenizer *tokenizer;
  int k;
} Candidates;

static char *
quoted_token (const AttnvizTokenizer *tokenizer, gint32 id)
{
  g_autofree char *text = attnviz_tokenizer_token_display_text (tokenizer, NULL, NULL, id);
  g_autofree char *shown = attnviz_printable (text);
  return g_strdup_printf ("\"%s\"", shown);
}

/* "step 3: "cat" | "cat" 0.8123 "dog" 0.0712 ...": the token picked, then
 * the K most likely with their probabilities (softmax of the logits, at
 * temperature 1, whatever --temperature samples with). */
static void
print_candidates (int step, const float *logits, int V, gint32 picked, gpointer data)
{
  const Candidates *c = data;
  int K = MIN (c->k, V);
  g_autofree gint32 *top = g_new (gint32, K);
  int n = 0;
  float max = logits[0];
  for (int j = 0; j < V; j++)
    {
      max = MAX (max, logits[j]);
      if (n == K && logits[j] <= logits[top[K - 1]])
        continue;
      int at = n < K ? n++ : K - 1;
      while (at > 0 && logits[top[at - 1]] < logits[j])
        {
          top[at] = top[at - 1];
          at--;
        }
      top[at] = j;
    }
  double sum = 0.0;
  for (int j = 0; j < V; j++)
    sum += exp ((double) logits[j] - max);
  g_autofree char *chosen = quoted_token (c->tokenizer, picked);
  g_autoptr(GString) line = g_string_new (NULL);
  g_string_append_printf (line, "step %d: %s |", step + 1, chosen);
  for (int i = 0; i < K; i++)
    {
      g_autofree char *tok = quoted_token (c->tokenizer, top[i]);
      g_string_append_printf (line, " %s %.4f", tok, exp ((double) logits[top[i]] - max) / sum);
    }
  printf ("%s\n", line->str);
  fflush (stdout);
}

/* --dump OUT: the whole generated sequence run once more, every layer and
 * head recorded, written as attnviz dump writes it. */
static int
dump_sequence (const AttnvizModel *model, const char *model_path, const GArray *ids, const char *out,
               AttnvizDumpFormat format, int top_k)
{
  g_autoptr(GError) error = NULL;
  const gint32 *v = (const gint32 *) ids->data;
  int T = ids->len;
  g_autofree char *text = NULL;
  g_autoptr(GArray) tokens = attnviz_generate_target_tokens (model->tokenizer, v, T, &text);
  g_auto(GStrv) texts = g_new0 (char *, T + 1);
  for (int t = 0; t < T; t++)
    texts[t] = attnviz_tokenizer_token_display_text (model->tokenizer, text,
                                                     &g_array_index (tokens, AttnvizToken, t), v[t]);
  AttnvizDumpOptions dump_opt = ATTNVIZ_DUMP_OPTIONS_INIT;
  dump_opt.format = format;
  dump_opt.top_k = top_k;
  AttnvizRunOptions opt = { 0 };
  AttnvizDumpInfo info = {
    .model_path = model_path,
    .architecture = model->config.architecture,
    .model_type = model->config.model_type,
    .variant = "model",
    .tokens = (const AttnvizToken *) tokens->data,
    .token_texts = texts,
  };
  AttnvizDump *dump = attnviz_dump_open (out, &dump_opt, model, &opt, v, T, NULL, 0, &info, &error);
  if (dump == NULL)
    return attnviz_cli_fail_error (error);
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, v, T, &opt, &error);
  if (rec == NULL)
    {
      gboolean writing = attnviz_dump_failed (dump);
      attnviz_dump_abort (dump);
      if (writing)
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", model_path, error->message);
    }
  if (!attnviz_dump_finish (dump, rec, &error))
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  return ATTNVIZ_EXIT_OK;
}

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
  g_autofree char *prompt = NULL, *dump_out = NULL, *format_s = NULL;
  int steps = 64, top_k = 0, sample_top_k = 0;
  double temperature = 0.0, top_p = 1.0;
  gint64 seed = 42;
  gboolean no_cache = FALSE;
  const GOptionEntry entries[] = {
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt,
      "Text to continue (default: start from BOS); an encoder-decoder's source", "TEXT" },
    { "steps", 'n', 0, G_OPTION_ARG_INT, &steps, "Tokens to generate at most (default 64)", "N" },
    { "temperature", 'T', 0, G_OPTION_ARG_DOUBLE, &temperature, "0 for greedy (default), else sample", "T" },
    { "sample-top-k", 0, 0, G_OPTION_ARG_INT, &sample_top_k,
      "Sampling: draw only from the K most likely tokens (default 0: all)", "K" },
    { "top-p", 0, 0, G_OPTION_ARG_DOUBLE, &top_p,
      "Sampling: draw only from the most likely tokens that together reach probability P (default 1: all)", "P" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed for sampling (default 42)", "S" },
    { "top-k", 'k', 0, G_OPTION_ARG_INT, &top_k,
      "Print each step's N most likely tokens and their probabilities, a line a step, before the text", "N" },
    { "dump", 0, 0, G_OPTION_ARG_FILENAME, &dump_out,
      "Then write the attention of the whole sequence (prompt and output) as attnviz dump does", "OUT" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format_s,
      "--dump's format: npy (a folder), safetensors or json (default: from OUT's extension, else npy)", "FORMAT" },
    { "no-cache", 0, 0, G_OPTION_ARG_NONE, &no_cache,
      "Run the whole sequence again for every token instead of keeping earlier keys and values (slower; "
      "the same tokens)", NULL },
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
  if (!isfinite (temperature))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--temperature: expected a finite number");
  if (sample_top_k < 0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--sample-top-k %d: expected 0 (all) or a number of tokens",
                             sample_top_k);
  if (!(top_p > 0.0 && top_p <= 1.0))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--top-p: expected a probability above 0, at most 1");
  if (top_k < 0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--top-k %d: expected a number of candidates, 1 or more", top_k);
  if ((sample_top_k > 0 || top_p < 1.0) && temperature == 0.0)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--sample-top-k and --top-p shape sampling: give --temperature "
                             "above 0 too (0 is greedy)");
  AttnvizDumpFormat format = ATTNVIZ_DUMP_NPY;
  if (format_s != NULL && dump_out == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--format is --dump's: give --dump OUT too");
  if (format_s != NULL)
    {
      if (!attnviz_dump_format_from_string (format_s, &format))
        {
          g_autofree char *quoted = attnviz_printable (format_s);
          return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--format %s: expected npy, safetensors or json", quoted);
        }
    }
  else if (dump_out != NULL && g_str_has_suffix (dump_out, ".safetensors"))
    format = ATTNVIZ_DUMP_SAFETENSORS;
  else if (dump_out != NULL && g_str_has_suffix (dump_out, ".json"))
    format = ATTNVIZ_DUMP_JSON;
  g_autoptr(GError) check_error = NULL;
  if (dump_out != NULL && *dump_out == '\0')
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--dump: the output path is empty");
  /* A FIFO, a device or a link at --dump is refused before any work. */
  if (dump_out != NULL && !attnviz_dump_check_output (format, dump_out, &check_error))
    return attnviz_cli_fail_error (check_error);

  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (argv[1], &error);
  if (model == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  const AttnvizConfig *c = &model->config;
  if (top_k > c->vocab_size)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--top-k %d: more than the %d tokens of the vocabulary", top_k,
                             c->vocab_size);
  Candidates candidates = { model->tokenizer, top_k };
  AttnvizGenerateOptions options = {
    .max_new = steps,
    .temperature = temperature,
    .top_k = sample_top_k,
    .top_p = top_p,
    .seed = (guint32) seed,
    .bos_id = -1,
    .eos_id = -1,
    .stop_id = -1,
    .no_cache = no_cache,
    .step_func = top_k > 0 ? print_candidates : NULL,
    .step_data = &candidates,
  };
  if (c->encoder_decoder)
    {
      if (dump_out != NULL)
        return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--dump: %s is an encoder-decoder model; attnviz dump "
                                 "--text SOURCE records its greedy target", argv[1]);
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
  fflush (stdout);
  if (dump_out != NULL)
    return dump_sequence (model, argv[1], ids, dump_out, format, top_k);
  return ATTNVIZ_EXIT_OK;
}
