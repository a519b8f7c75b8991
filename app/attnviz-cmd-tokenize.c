/* attnviz tokenize MODEL (--text T | --text-file F) [--no-special] [--json]
 *
 * The token ids a model's tokenizer gives a text, on one line; with --json
 * each token's piece and the byte span of the text it came from.  MODEL is
 * a GGUF file (its tokenizer.ggml.* metadata: a vocabulary-only file is
 * enough, no tensor is read) or a Hugging Face model folder (or a
 * .safetensors file in one), or a SentencePiece Unigram model (.spm,
 * .model: its own ids, as SentencePiece's EncodeAsIds).  The ids of a
 * GGUF file are llama.cpp's (llama_tokenize with parse_special off).
 */
#define G_LOG_DOMAIN "attnviz-cmd-tokenize"
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "attnviz-cli.h"
#include "attnviz-fileutil.h"
#include "attnviz-gguf.h"
#include "attnviz-tokenizer.h"

/* A text file may be long, but not unbounded. */
#define MAX_TEXT_BYTES (256u << 20)

static AttnvizTokenizer *
open_tokenizer (const char *model, GError **error)
{
  AttnvizGguf *gguf;
  AttnvizTokenizer *tok;

  if (g_file_test (model, G_FILE_TEST_IS_DIR))
    return attnviz_tokenizer_load_dir (model, error);
  /* A .safetensors file, as the other commands take it: its folder. */
  if (g_str_has_suffix (model, ".safetensors"))
    {
      g_autofree char *dir = g_path_get_dirname (model);

      return attnviz_tokenizer_load_dir (dir, error);
    }
  if (g_str_has_suffix (model, ".spm") || g_str_has_suffix (model, ".model"))
    return attnviz_tokenizer_new_from_spm (model, error);
  gguf = attnviz_gguf_open (model, error);
  if (gguf == NULL)
    return NULL;
  tok = attnviz_tokenizer_new_from_gguf (gguf, error);
  attnviz_gguf_free (gguf);
  return tok;
}

static void
print_json (const char *model, const AttnvizTokenizer *tok, const char *text, GArray *tokens,
            gboolean add_special)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *out = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "tokenizer");
  json_builder_add_string_value (b, attnviz_tokenizer_get_kind_name (tok));
  json_builder_set_member_name (b, "vocab_size");
  json_builder_add_int_value (b, attnviz_tokenizer_get_vocab_size (tok));
  json_builder_set_member_name (b, "add_special");
  json_builder_add_boolean_value (b, add_special);
  json_builder_set_member_name (b, "ids");
  json_builder_begin_array (b);
  for (guint i = 0; i < tokens->len; i++)
    json_builder_add_int_value (b, g_array_index (tokens, AttnvizToken, i).id);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "tokens");
  json_builder_begin_array (b);
  for (guint i = 0; i < tokens->len; i++)
    {
      const AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);
      const char *piece = attnviz_tokenizer_get_piece (tok, t->id);
      /* JSON strings are UTF-8: a piece or span that is not (a byte of a
       * character) shows U+FFFD. */
      g_autofree char *valid_piece = g_utf8_make_valid (piece != NULL ? piece : "", -1);
      g_autofree char *span = g_utf8_make_valid (text + t->start, t->end - t->start);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, t->id);
      json_builder_set_member_name (b, "piece");
      json_builder_add_string_value (b, valid_piece);
      json_builder_set_member_name (b, "start");
      json_builder_add_int_value (b, t->start);
      json_builder_set_member_name (b, "end");
      json_builder_add_int_value (b, t->end);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, span);
      json_builder_set_member_name (b, "special");
      json_builder_add_boolean_value (b, t->special);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  out = json_to_string (root, FALSE);
  printf ("%s\n", out);
}

int
attnviz_cmd_tokenize (int argc, char **argv)
{
  g_autofree char *text_arg = NULL;
  g_autofree char *text_file = NULL;
  gboolean no_special = FALSE;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "text", 't', 0, G_OPTION_ARG_STRING, &text_arg, "Text to tokenize", "TEXT" },
    { "text-file", 'f', 0, G_OPTION_ARG_FILENAME, &text_file, "Read the text from a file", "FILE" },
    { "no-special", 0, 0, G_OPTION_ARG_NONE, &no_special,
      "Add no special tokens (BOS, [CLS] ... [SEP]) around the text", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON: ids, and each token's piece and byte span", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL - print the token ids of a text");
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GArray) tokens = NULL;
  AttnvizTokenizer *tok;
  const char *source;
  gsize len;
  gboolean help;

  g_option_context_set_summary (ctx, "MODEL is a GGUF file (a vocabulary-only one will do), a Hugging Face "
                                     "model folder or a SentencePiece Unigram model (.spm, .model).");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "tokenize needs exactly one MODEL (see attnviz tokenize --help)");
  if ((text_arg != NULL) == (text_file != NULL))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "give exactly one of --text or --text-file");

  if (text_file != NULL)
    {
      source = text_file;
      if (!attnviz_read_regular (text_file, MAX_TEXT_BYTES, "a text file", &text, &len, &error))
        return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
    }
  else
    {
      source = "--text";
      text = g_strdup (text_arg);
      len = strlen (text);
    }

  tok = open_tokenizer (argv[1], &error);
  if (tok == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
  tokens = attnviz_tokenizer_encode (tok, text, len, !no_special, &error);
  if (tokens == NULL)
    {
      attnviz_tokenizer_free (tok);
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: %s", source, error->message);
    }

  if (json)
    print_json (argv[1], tok, text, tokens, !no_special);
  else
    {
      for (guint i = 0; i < tokens->len; i++)
        printf (i ? " %d" : "%d", g_array_index (tokens, AttnvizToken, i).id);
      printf ("\n");
    }
  attnviz_tokenizer_free (tok);
  return ATTNVIZ_EXIT_OK;
}
