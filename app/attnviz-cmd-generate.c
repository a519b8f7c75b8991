/* attnviz generate MODEL [--prompt TEXT] -n N: decode from a causal model
 *
 * Greedy by default (llama2.c's temperature 0), so the output of a model
 * can be compared with its reference implementation token for token.
 */
#define G_LOG_DOMAIN "attnviz-cmd-generate"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"

static int
argmax (const float *x, int n)
{
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best])
      best = i;
  return best;
}

static int
sample (const float *logits, int n, double temperature, GRand *rand)
{
  double max = logits[argmax (logits, n)], sum = 0.0;
  g_autofree double *p = g_new (double, n);
  for (int i = 0; i < n; i++)
    sum += p[i] = exp ((logits[i] - max) / temperature);
  double r = g_rand_double (rand) * sum;
  for (int i = 0; i < n; i++)
    if ((r -= p[i]) <= 0.0)
      return i;
  return n - 1;
}

int
attnviz_cmd_generate (int argc, char **argv)
{
  g_autofree char *prompt = NULL;
  int steps = 64;
  double temperature = 0.0;
  gint64 seed = 42;
  const GOptionEntry entries[] = {
    { "prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "Text to continue (default: start from BOS)", "TEXT" },
    { "steps", 'n', 0, G_OPTION_ARG_INT, &steps, "Tokens to generate (default 64)", "N" },
    { "temperature", 'T', 0, G_OPTION_ARG_DOUBLE, &temperature, "0 for greedy (default), else sample", "T" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed for sampling", "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL - generate text");
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
  if (!c->causal || model->lm_head.w == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: generate needs a causal language model", argv[1]);
  if (model->tokenizer == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", model->tokenizer_error);

  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  if (prompt != NULL && *prompt != '\0')
    {
      g_autoptr(GArray) toks = attnviz_tokenizer_encode (model->tokenizer, prompt, -1, TRUE, &error);
      if (toks == NULL)
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "--prompt: %s", error->message);
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
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "--prompt: %u tokens are more than the model's context of %d",
                             ids->len, c->n_ctx);

  /* Printed so far: decode(all) minus what is already on the screen, so
   * byte-fallback pieces appear once their character is complete. */
  g_autofree char *shown = attnviz_tokenizer_decode (model->tokenizer, (gint32 *) ids->data, ids->len);
  fputs (shown, stdout);
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);
  AttnvizRunOptions opt = { .record_none = TRUE };

  for (int step = 0; step < steps && (int) ids->len < c->n_ctx; step++)
    {
      g_autoptr(AttnvizRecording) rec = attnviz_forward (model, (gint32 *) ids->data, ids->len, &opt, &error);
      if (rec == NULL)
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", argv[1], error->message);
      const float *last = rec->logits + (gsize) (rec->T - 1) * rec->vocab_size;
      gint32 next = temperature > 0.0 ? sample (last, rec->vocab_size, temperature, rand)
                                      : argmax (last, rec->vocab_size);
      /* llama2.c stops at BOS, Hugging Face at EOS. */
      if (next == bos || next == eos)
        break;
      g_array_append_val (ids, next);
      g_autofree char *all = attnviz_tokenizer_decode (model->tokenizer, (gint32 *) ids->data, ids->len);
      if (g_utf8_validate (all, -1, NULL) && strlen (all) >= strlen (shown)
          && strncmp (all, shown, strlen (shown)) == 0)
        {
          fputs (all + strlen (shown), stdout);
          fflush (stdout);
          g_free (shown);
          shown = g_steal_pointer (&all);
        }
    }
  g_autofree char *final = attnviz_tokenizer_decode (model->tokenizer, (gint32 *) ids->data, ids->len);
  if (strncmp (final, shown, strlen (shown)) == 0)
    fputs (final + strlen (shown), stdout);
  fputc ('\n', stdout);
  return ATTNVIZ_EXIT_OK;
}
