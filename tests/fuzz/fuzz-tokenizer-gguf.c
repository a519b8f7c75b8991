#define G_LOG_DOMAIN "attnviz-fuzz-tokenizer-gguf"
#include "config.h"

/* libFuzzer harness: any byte string that opens as a GGUF file either gives
 * a tokenizer or fails with a one-line GError.  A tokenizer outlives the
 * file it came from, and encodes a few fixed texts and the text of its own
 * first pieces (so user-defined pieces are found in it) to ids inside its
 * vocabulary with spans inside the text; those decode to valid UTF-8. */

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "attnviz-gguf.h"
#include "attnviz-tokenizer.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
drop_error (GError **error)
{
  g_assert (*error != NULL);
  g_assert (strchr ((*error)->message, '\n') == NULL);
  g_clear_error (error);
}

static void
check_encoding (const AttnvizTokenizer *tok, const char *text, gsize len)
{
  int n_vocab = attnviz_tokenizer_get_vocab_size (tok);

  for (int add_special = 0; add_special <= 1; add_special++)
    {
      GError *error = NULL;
      GArray *tokens = attnviz_tokenizer_encode (tok, text, len, add_special, &error);
      gint32 *ids;
      char *back;

      if (tokens == NULL)
        {
          drop_error (&error);
          continue;
        }
      ids = g_new (gint32, tokens->len + 1);
      for (guint i = 0; i < tokens->len; i++)
        {
          const AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);
          char *shown;

          g_assert (t->id >= 0 && t->id < n_vocab);
          g_assert (t->start <= t->end && t->end <= len);
          ids[i] = t->id;
          shown = attnviz_tokenizer_token_display_text (tok, text, t, t->id);
          g_assert (g_utf8_validate (shown, -1, NULL));
          g_free (shown);
        }
      back = attnviz_tokenizer_decode (tok, ids, tokens->len);
      g_assert (g_utf8_validate (back, -1, NULL));
      g_free (back);
      g_free (ids);
      g_array_unref (tokens);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const texts[] = {
    "", " ", "Hello, world! It's 12345 o'clock.", "  two\tspaces\n\nand lines\r\n",
    "Zo\xc3\xab caf\xc3\xa9 \xe3\x81\x93\xe3\x82\x93 \xf0\x9f\x99\x82 \xe4\xb8\xad\xe6\x96\x87",
    "<s></s><unk>[CLS][SEP]<|endoftext|>", "ab a b aab \xc4\xa0" "a",
  };
  GError *error = NULL;
  AttnvizGguf *gguf = attnviz_gguf_open_bytes (data, size, "fuzz.gguf", &error);
  AttnvizTokenizer *tok;
  GString *own;

  if (gguf == NULL)
    {
      drop_error (&error);
      return 0;
    }
  tok = attnviz_tokenizer_new_from_gguf (gguf, &error);
  attnviz_gguf_free (gguf);
  if (tok == NULL)
    {
      drop_error (&error);
      return 0;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    check_encoding (tok, texts[i], strlen (texts[i]));
  own = g_string_new (NULL);
  for (int id = 0; id < attnviz_tokenizer_get_vocab_size (tok) && id < 64; id++)
    {
      const char *piece = attnviz_tokenizer_get_piece (tok, id);

      if (piece != NULL && g_utf8_validate (piece, -1, NULL))
        g_string_append_printf (own, "%s%s", piece, id % 3 == 0 ? " " : "");
    }
  check_encoding (tok, own->str, own->len);
  g_string_free (own, TRUE);
  attnviz_tokenizer_free (tok);
  return 0;
}
