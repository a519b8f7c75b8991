#define G_LOG_DOMAIN "attnviz-cli"
#include "config.h"

#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"
#include "attnviz-generate.h"

int
attnviz_cli_fail (int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  /* One line: newlines inside the message would split it. */
  g_strdelimit (msg, "\n", ' ');
  fprintf (stderr, "attnviz: %s\n", msg);
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

static gboolean
parse_int (const char *s, const char *end, gint64 *out)
{
  g_autofree char *tmp = g_strstrip (g_strndup (s, end - s));
  if (*tmp == '\0')
    return FALSE;
  return g_ascii_string_to_signed (tmp, 10, G_MININT32, G_MAXINT32, out, NULL);
}

int *
attnviz_cli_parse_index_list (const char *spec, int *n, GError **error)
{
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (int));
  g_auto(GStrv) parts = g_strsplit (spec, ",", -1);
  for (int i = 0; parts[i]; i++)
    {
      const char *p = parts[i];
      const char *dash = strchr (p + (p[0] == '-' ? 1 : 0), '-');
      gint64 a, b;
      if (dash ? !(parse_int (p, dash, &a) && parse_int (dash + 1, dash + strlen (dash), &b))
               : !parse_int (p, p + strlen (p), &a))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "\"%s\" is not a list of indices like 0,3-5", spec);
          return NULL;
        }
      if (!dash)
        b = a;
      if (a < 0 || b < a || b - a > 1 << 20)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "\"%s\": bad range \"%s\"", spec, p);
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
attnviz_cli_parse_ids (const char *spec, int *n, GError **error)
{
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_auto(GStrv) parts = g_strsplit_set (spec, ", \t\n", -1);
  for (int i = 0; parts[i]; i++)
    {
      if (*parts[i] == '\0')
        continue;
      gint64 v;
      if (!g_ascii_string_to_signed (parts[i], 10, 0, G_MAXINT32, &v, NULL))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--ids: \"%s\" is not a token id (a non-negative integer)", parts[i]);
          return NULL;
        }
      gint32 id = (gint32) v;
      g_array_append_val (out, id);
    }
  *n = out->len;
  return (gint32 *) g_array_free (g_steal_pointer (&out), FALSE);
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
  int given = (text != NULL) + (text_file != NULL) + (ids != NULL);
  if (given != 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "give exactly one of --text, --text-file or --ids");
      return FALSE;
    }
  int n_ctx = model->config.n_ctx;

  if (ids != NULL)
    {
      in->source = g_strdup ("--ids");
      in->ids = attnviz_cli_parse_ids (ids, &in->T, error);
      if (in->ids == NULL)
        return FALSE;
    }
  else
    {
      if (text_file != NULL)
        {
          in->source = g_strdup (text_file);
          g_autoptr(GError) local = NULL;
          if (!g_file_get_contents (text_file, &in->text, &in->text_len, &local))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", local->message);
              return FALSE;
            }
        }
      else
        {
          in->source = g_strdup ("--text");
          in->text = g_strdup (text);
          in->text_len = strlen (text);
        }
      if (in->text_len == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: the text is empty", in->source);
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
      if (in->tokens == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", in->source, local->message);
          return FALSE;
        }
      in->T = in->tokens->len;
      in->ids = g_new (gint32, MAX (in->T, 1));
      for (int t = 0; t < in->T; t++)
        in->ids[t] = g_array_index (in->tokens, AttnvizToken, t).id;
    }

  if (in->T == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: no tokens to run", in->source);
      return FALSE;
    }
  if (in->T > n_ctx)
    {
      if (!truncate)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s: %d tokens are more than the model's context of %d (--truncate cuts the rest)",
                       in->source, in->T, n_ctx);
          return FALSE;
        }
      in->T = n_ctx;
      if (in->tokens)
        g_array_set_size (in->tokens, n_ctx);
    }

  in->token_texts = g_new0 (char *, in->T + 1);
  for (int t = 0; t < in->T; t++)
    in->token_texts[t] = attnviz_tokenizer_token_display_text (model->tokenizer, in->text,
                                                               in->tokens ? &g_array_index (in->tokens, AttnvizToken, t)
                                                                          : NULL,
                                                               in->ids[t]);
  return TRUE;
}

gboolean
attnviz_cli_target_load (AttnvizCliInput *target,
                         const AttnvizModel *model,
                         const AttnvizCliInput *source,
                         const char *target_text,
                         GError **error)
{
  const AttnvizConfig *c = &model->config;
  memset (target, 0, sizeof *target);
  g_return_val_if_fail (c->encoder_decoder, FALSE);
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
      g_autoptr(GArray) toks = attnviz_tokenizer_encode (model->tokenizer, target_text, -1, FALSE, error);
      if (toks == NULL)
        {
          g_prefix_error (error, "--target: ");
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
        .max_new = c->n_ctx,
        .bos_id = bos,
        .eos_id = c->eos_id >= 0 ? c->eos_id : attnviz_tokenizer_get_eos_id (model->tokenizer),
        .stop_id = -1,
      };
      ids = attnviz_generate_seq2seq (model, source->ids, source->T, &o, error);
      if (ids == NULL)
        return FALSE;
    }
  if ((int) ids->len > c->n_ctx)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: %u tokens with BOS are more than the model's context of %d", target->source, ids->len, c->n_ctx);
      return FALSE;
    }

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
                                   gboolean truncate,
                                   GError **error)
{
  memset (target, 0, sizeof *target);
  if (attnviz_cli_input_load (input, model, text, text_file, ids, truncate, error)
      && (!model->config.encoder_decoder || attnviz_cli_target_load (target, model, input, target_text, error)))
    return TRUE;
  attnviz_cli_input_clear (input);
  attnviz_cli_input_clear (target);
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
