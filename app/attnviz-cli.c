#define G_LOG_DOMAIN "attnviz-cli"
#include "config.h"

#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"
#include "attnviz-fileutil.h"
#include "attnviz-generate.h"

int
attnviz_cli_fail (int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  /* One line, and nothing a file put in the message (an ESC sequence, a
   * newline) reaches the terminal as it is. */
  g_strdelimit (msg, "\n", ' ');
  g_autofree char *line = attnviz_printable_line (msg);
  fprintf (stderr, "attnviz: %s\n", line);
  return code;
}

gboolean
attnviz_cli_parse (GOptionContext *context, int *argc, char ***argv, gboolean *help)
{
  g_autoptr(GError) error = NULL;
  *help = FALSE;
  for (int i = 1; i < *argc; i++)
    if (strcmp ((*argv)[i], "--help") == 0 || strcmp ((*argv)[i], "-h") == 0)
      {
        g_autofree char *text = g_option_context_get_help (context, TRUE, NULL);
        fputs (text, stdout);
        *help = TRUE;
        return FALSE;
      }
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      fprintf (stderr, "attnviz %s: %s (see attnviz %s --help)\n", (*argv)[0], error->message, (*argv)[0]);
      return FALSE;
    }
  return TRUE;
}

int
attnviz_cli_fail_error (const GError *error)
{
  return attnviz_cli_fail (error->domain == G_OPTION_ERROR ? ATTNVIZ_EXIT_USAGE : ATTNVIZ_EXIT_BAD_INPUT, "%s",
                           error->message);
}

static gboolean G_GNUC_PRINTF (3, 4)
usage_error (GError **error, const char *option, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: %s", option, msg);
  return FALSE;
}

gboolean
attnviz_cli_option_given (int argc, char **argv, const char *long_name, char short_name)
{
  gsize n = strlen (long_name);
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--") == 0)
        return FALSE;
      if (strncmp (a, long_name, n) == 0 && (a[n] == '\0' || a[n] == '='))
        return TRUE;
      if (short_name != 0 && a[0] == '-' && a[1] == short_name)
        return TRUE;
      /* an option's value is never an option of its own */
      if (a[0] == '-' && a[1] == '-' && strchr (a, '=') == NULL && i + 1 < argc && argv[i + 1][0] != '-')
        i++;
    }
  return FALSE;
}

char **
attnviz_cli_split_list (const char *option, const char *spec, GError **error)
{
  g_return_val_if_fail (option != NULL, NULL);
  g_autofree char *trimmed = g_strstrip (g_strdup (spec ? spec : ""));
  if (*trimmed == '\0')
    {
      usage_error (error, option, "the list is empty");
      return NULL;
    }
  g_auto(GStrv) items = g_strsplit (trimmed, ",", -1);
  for (int i = 0; items[i]; i++)
    if (*g_strstrip (items[i]) == '\0')
      {
        g_autofree char *quoted = attnviz_printable (spec);
        usage_error (error, option, "item %d of \"%s\" is empty", i + 1, quoted);
        return NULL;
      }
  return g_steal_pointer (&items);
}

int *
attnviz_cli_parse_index_list (const char *option, const char *spec, int *n, GError **error)
{
  g_auto(GStrv) items = attnviz_cli_split_list (option, spec, error);
  if (items == NULL)
    return NULL;
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (int));
  for (int i = 0; items[i]; i++)
    {
      const char *p = items[i];
      const char *dash = strchr (p + (p[0] == '-' ? 1 : 0), '-');
      g_autofree char *first = g_strstrip (g_strndup (p, dash ? (gsize) (dash - p) : strlen (p)));
      g_autofree char *last = dash ? g_strstrip (g_strdup (dash + 1)) : g_strdup (first);
      gint64 a, b;
      if (!g_ascii_string_to_signed (first, 10, 0, G_MAXINT32, &a, NULL)
          || !g_ascii_string_to_signed (last, 10, 0, G_MAXINT32, &b, NULL))
        {
          g_autofree char *quoted = attnviz_printable (p);
          usage_error (error, option, "\"%s\" is not an index or a range like 3-5", quoted);
          return NULL;
        }
      if (b < a || b - a > 1 << 20)
        {
          g_autofree char *quoted = attnviz_printable (p);
          usage_error (error, option, "\"%s\" is not a range from low to high", quoted);
          return NULL;
        }
      for (gint64 v = a; v <= b; v++)
        {
          int iv = (int) v;
          g_array_append_val (out, iv);
        }
    }
  *n = out->len;
  return (int *) g_array_free (g_steal_pointer (&out), FALSE);
}

gint32 *
attnviz_cli_parse_ids (const char *option, const char *spec, int *n, GError **error)
{
  g_auto(GStrv) items = attnviz_cli_split_list (option, spec, error);
  if (items == NULL)
    return NULL;
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (gint32));
  for (int i = 0; items[i]; i++)
    {
      gint64 v;
      if (!g_ascii_string_to_signed (items[i], 10, 0, G_MAXINT32, &v, NULL))
        {
          g_autofree char *quoted = attnviz_printable (items[i]);
          usage_error (error, option, "\"%s\" is not a token id (a non-negative integer)", quoted);
          return NULL;
        }
      gint32 id = (gint32) v;
      g_array_append_val (out, id);
    }
  *n = out->len;
  return (gint32 *) g_array_free (g_steal_pointer (&out), FALSE);
}

gboolean
attnviz_cli_check_indices (const char *option, const int *v, int n, int count, const char *what, GError **error)
{
  for (int i = 0; i < n; i++)
    if (v[i] < 0 || v[i] >= count)
      return usage_error (error, option, "%d is %s the model's %d %s (0-%d)", v[i], v[i] < 0 ? "not one of" : "past",
                          count, what, count - 1);
  return TRUE;
}

gboolean
attnviz_cli_check_output (const char *option, const char *path, GError **error)
{
  if (path == NULL || *path == '\0')
    return usage_error (error, option, "the output path is empty");
  return attnviz_output_check (path, error);
}

char *
attnviz_cli_tokenizer_file (const AttnvizModel *model)
{
  static const char *const names[] = { "tokenizer.json", "vocab.json", "vocab.txt" };
  for (guint i = 0; model->dir != NULL && i < G_N_ELEMENTS (names); i++)
    {
      char *path = g_build_filename (model->dir, names[i], NULL);
      if (attnviz_path_present (path))
        return path;
      g_free (path);
    }
  return g_strdup (model->dir ? model->dir : model->path);
}

static gboolean
input_fill (AttnvizCliInput *in,
            const AttnvizModel *model,
            const char *text,
            const char *text_file,
            const char *ids,
            gboolean truncate,
            GError **error)
{
  int given = (text != NULL) + (text_file != NULL) + (ids != NULL);
  if (given != 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "give exactly one of --text, --text-file or --ids");
      return FALSE;
    }
  int n_ctx = model->config.n_ctx;
  /* A problem with an option's value is a usage error (exit 2) naming the
   * option; one with a file (--text-file, the model's) names the file. */
  GQuark domain = text_file != NULL ? G_IO_ERROR : G_OPTION_ERROR;
  int code = text_file != NULL ? G_IO_ERROR_INVALID_DATA : G_OPTION_ERROR_BAD_VALUE;

  if (ids != NULL)
    {
      in->source = g_strdup ("--ids");
      in->ids = attnviz_cli_parse_ids ("--ids", ids, &in->T, error);
      if (in->ids == NULL)
        return FALSE;
      for (int t = 0; t < in->T; t++)
        if (in->ids[t] >= model->config.vocab_size)
          {
            g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "--ids: %d is outside the vocabulary (0..%d)", in->ids[t], model->config.vocab_size - 1);
            return FALSE;
          }
    }
  else
    {
      if (text_file != NULL)
        {
          in->source = g_strdup (text_file);
          if (!attnviz_read_regular (text_file, ATTNVIZ_CLI_MAX_TEXT_BYTES, "a text file", &in->text, &in->text_len,
                                     error))
            return FALSE;
        }
      else
        {
          in->source = g_strdup ("--text");
          in->text = g_strdup (text);
          in->text_len = strlen (text);
        }
      if (in->text_len == 0)
        {
          g_set_error (error, domain, code, "%s: the text is empty", in->source);
          return FALSE;
        }
      if (model->tokenizer == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s (use --ids to run on token ids)",
                       model->tokenizer_error);
          return FALSE;
        }
      g_autoptr(GError) local = NULL;
      in->tokens = attnviz_tokenizer_encode (model->tokenizer, in->text, in->text_len, TRUE, &local);
      if (in->tokens == NULL && local->domain == G_REGEX_ERROR)
        {
          /* The tokenizer's own pattern failed: its file is at fault. */
          g_autofree char *file = attnviz_cli_tokenizer_file (model);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s (%s)", file, local->message, in->source);
          return FALSE;
        }
      if (in->tokens == NULL)
        {
          g_set_error (error, domain, code, "%s: %s", in->source, local->message);
          return FALSE;
        }
      in->T = in->tokens->len;
      in->ids = g_new (gint32, MAX (in->T, 1));
      for (int t = 0; t < in->T; t++)
        in->ids[t] = g_array_index (in->tokens, AttnvizToken, t).id;
    }

  if (in->T == 0)
    {
      g_set_error (error, domain, code, "%s: no tokens to run", in->source);
      return FALSE;
    }
  /* As the app does: a learned position table stops at n_ctx; rotary and
   * the other positions run on past the length a model was trained at
   * (as llama.cpp does), said in a note, unless --truncate cuts there. */
  int limit = truncate ? n_ctx : attnviz_config_max_positions (&model->config);
  if (in->T > limit)
    {
      if (!truncate)
        {
          g_set_error (error, domain, code,
                       "%s: %d tokens are more than the model's context of %d (--truncate cuts the rest)",
                       in->source, in->T, limit);
          return FALSE;
        }
      in->T = n_ctx;
      if (in->tokens)
        g_array_set_size (in->tokens, n_ctx);
    }
  else if (in->T > n_ctx)
    fprintf (stderr, "attnviz: note: %s: %d tokens run past the model's trained context of %d "
             "(its positions go on; --truncate cuts there)\n", in->source, in->T, n_ctx);

  in->token_texts = g_new0 (char *, in->T + 1);
  for (int t = 0; t < in->T; t++)
    in->token_texts[t] = attnviz_tokenizer_token_display_text (model->tokenizer, in->text,
                                                               in->tokens ? &g_array_index (in->tokens, AttnvizToken, t)
                                                                          : NULL,
                                                               in->ids[t]);
  return TRUE;
}

/* A decoder's T target tokens against its positions, as a source's are
 * (attnviz_cli_input_load): a learned table refuses past its rows; relative
 * or sinusoidal positions go on past the trained context, with a note. */
static gboolean
target_length_ok (const AttnvizConfig *c, const char *source, int T, GQuark domain, int code, GError **error)
{
  int limit = attnviz_config_max_positions (c);
  if (T > limit)
    {
      g_set_error (error, domain, code, "%s: %d target tokens are more than the model's context of %d", source, T,
                   limit);
      return FALSE;
    }
  if (T > c->n_ctx)
    fprintf (stderr, "attnviz: note: %s: %d target tokens run past the model's trained context of %d "
             "(its positions go on)\n", source, T, c->n_ctx);
  return TRUE;
}

gboolean
attnviz_cli_target_load (AttnvizCliInput *target,
                         const AttnvizModel *model,
                         const AttnvizCliInput *source,
                         const char *target_text,
                         const char *target_ids,
                         GError **error)
{
  const AttnvizConfig *c = &model->config;
  memset (target, 0, sizeof *target);
  g_return_val_if_fail (c->encoder_decoder, FALSE);
  if (target_text != NULL && target_ids != NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "give at most one of --target or --target-ids");
      return FALSE;
    }
  if (target_ids != NULL)
    {
      /* The decoder's ids as given, as --ids are the source's. */
      target->source = g_strdup ("--target-ids");
      target->ids = attnviz_cli_parse_ids ("--target-ids", target_ids, &target->T, error);
      if (target->ids == NULL)
        return FALSE;
      for (int t = 0; t < target->T; t++)
        if (target->ids[t] >= c->vocab_size)
          {
            g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--target-ids: %d is outside the vocabulary (0..%d)",
                         target->ids[t], c->vocab_size - 1);
            return FALSE;
          }
      if (!target_length_ok (c, "--target-ids", target->T, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, error))
        return FALSE;
      if (model->tokenizer)
        {
          target->tokens = attnviz_generate_target_tokens (model->tokenizer, target->ids, target->T, &target->text);
          target->text_len = strlen (target->text);
        }
      target->token_texts = g_new0 (char *, target->T + 1);
      for (int t = 0; t < target->T; t++)
        target->token_texts[t] = attnviz_tokenizer_token_display_text (
          model->tokenizer, target->text, target->tokens ? &g_array_index (target->tokens, AttnvizToken, t) : NULL,
          target->ids[t]);
      return TRUE;
    }
  if (model->tokenizer == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s", model->tokenizer_error);
      return FALSE;
    }
  gint32 bos = c->bos_id >= 0 ? c->bos_id : attnviz_tokenizer_get_bos_id (model->tokenizer);
  if (bos < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: the model names no BOS token to start the target",
                   model->path);
      return FALSE;
    }

  g_autoptr(GArray) ids = NULL;
  if (target_text != NULL)
    {
      target->source = g_strdup ("--target");
      g_autoptr(GError) local = NULL;
      g_autoptr(GArray) toks = attnviz_tokenizer_encode_target (model->tokenizer, target_text, -1, &local);
      if (toks == NULL)
        {
          /* the text's fault (exit 2), or the tokenizer file's */
          g_autofree char *file = local->domain == G_REGEX_ERROR ? attnviz_cli_tokenizer_file (model) : NULL;
          if (file != NULL)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s (--target)", file, local->message);
          else
            g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--target: %s", local->message);
          return FALSE;
        }
      ids = g_array_new (FALSE, FALSE, sizeof (gint32));
      g_array_append_val (ids, bos);
      for (guint i = 0; i < toks->len; i++)
        g_array_append_val (ids, g_array_index (toks, AttnvizToken, i).id);
    }
  else
    {
      target->source = g_strdup ("the decoded target");
      AttnvizGenerateOptions o = {
        .max_new = attnviz_generate_seq2seq_budget (c, source->T),
        .bos_id = bos,
        .eos_id = c->eos_id >= 0 ? c->eos_id : attnviz_tokenizer_get_eos_id (model->tokenizer),
        .stop_id = -1,
      };
      ids = attnviz_generate_seq2seq (model, source->ids, source->T, &o, error);
      if (ids == NULL)
        return FALSE;
    }
  if (!target_length_ok (c, target->source, (int) ids->len, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, error))
    return FALSE;

  /* Spans into the target's own text, as the source's are into --text. */
  target->T = ids->len;
  target->ids = g_memdup2 (ids->data, sizeof (gint32) * ids->len);
  target->tokens = attnviz_generate_target_tokens (model->tokenizer, target->ids, target->T, &target->text);
  target->text_len = strlen (target->text);
  target->token_texts = g_new0 (char *, target->T + 1);
  for (int t = 0; t < target->T; t++)
    target->token_texts[t] = attnviz_tokenizer_token_display_text (model->tokenizer, target->text,
                                                                   &g_array_index (target->tokens, AttnvizToken, t),
                                                                   target->ids[t]);
  return TRUE;
}

gboolean
attnviz_cli_input_and_target_load (AttnvizCliInput *input,
                                   AttnvizCliInput *target,
                                   const AttnvizModel *model,
                                   const char *text,
                                   const char *text_file,
                                   const char *ids,
                                   const char *target_text,
                                   const char *target_ids,
                                   gboolean truncate,
                                   GError **error)
{
  memset (target, 0, sizeof *target);
  if (attnviz_cli_input_load (input, model, text, text_file, ids, truncate, error)
      && (!model->config.encoder_decoder || attnviz_cli_target_load (target, model, input, target_text, target_ids, error)))
    return TRUE;
  attnviz_cli_input_clear (input);
  attnviz_cli_input_clear (target);
  return FALSE;
}

gboolean
attnviz_cli_input_load (AttnvizCliInput *in,
                        const AttnvizModel *model,
                        const char *text,
                        const char *text_file,
                        const char *ids,
                        gboolean truncate,
                        GError **error)
{
  memset (in, 0, sizeof *in);
  /* A refusal leaves nothing for the caller to free. */
  if (input_fill (in, model, text, text_file, ids, truncate, error))
    return TRUE;
  attnviz_cli_input_clear (in);
  return FALSE;
}

void
attnviz_cli_input_clear (AttnvizCliInput *in)
{
  g_clear_pointer (&in->text, g_free);
  g_clear_pointer (&in->source, g_free);
  g_clear_pointer (&in->tokens, g_array_unref);
  g_clear_pointer (&in->ids, g_free);
  g_clear_pointer (&in->token_texts, g_strfreev);
}

gboolean *
attnviz_cli_input_special (const AttnvizCliInput *in)
{
  gboolean *special = g_new0 (gboolean, MAX (in->T, 1));
  for (int t = 0; t < in->T && in->tokens; t++)
    special[t] = g_array_index (in->tokens, AttnvizToken, t).special;
  return special;
}
