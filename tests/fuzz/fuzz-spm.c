#define G_LOG_DOMAIN "attnviz-fuzz-spm"
#include "config.h"

/* libFuzzer harness: any byte string handed to the SentencePiece model
 * reader (a Marian folder's source.spm / target.spm) either gives pieces
 * that are non-empty UTF-8 with special ids among them, or fails with a
 * one-line GError; a Unigram model read as a tokenizer then encodes a text
 * into ids of its vocabulary with spans in order inside the text. */

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "attnviz-spm.h"
#include "attnviz-tokenizer.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
assert_one_line (GError *error)
{
  g_assert (error != NULL && error->message != NULL && strchr (error->message, '\n') == NULL);
  g_error_free (error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  AttnvizSpmModel *spm = attnviz_spm_parse (data, size, "fuzz.spm", &error);
  if (spm == NULL)
    {
      assert_one_line (error);
      return 0;
    }
  g_assert (error == NULL && spm->n_pieces > 0);
  for (int i = 0; i < spm->n_pieces; i++)
    g_assert (spm->pieces[i].piece[0] != '\0' && g_utf8_validate (spm->pieces[i].piece, -1, NULL));
  g_assert (spm->unk_id >= 0 && spm->unk_id < spm->n_pieces);
  g_assert (spm->bos_id >= -1 && spm->bos_id < spm->n_pieces);
  g_assert (spm->eos_id >= -1 && spm->eos_id < spm->n_pieces);
  g_assert (spm->pad_id >= -1 && spm->pad_id < spm->n_pieces);
  attnviz_spm_free (spm);

  AttnvizTokenizer *tok = attnviz_tokenizer_new_from_spm_data (data, size, "fuzz.spm", &error);
  if (tok == NULL)
    {
      assert_one_line (error);
      return 0;
    }
  static const char text[] = "  The cat sat \xe2\x96\x81 on w\xc3\xb6rld 123 \xe2\x98\xba\xe2\x98\xba. ";
  GArray *tokens = attnviz_tokenizer_encode (tok, text, -1, TRUE, &error);
  g_assert (tokens != NULL && error == NULL);
  guint32 prev = 0;
  for (guint i = 0; i < tokens->len; i++)
    {
      const AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);
      g_assert (t->id >= 0 && t->id < attnviz_tokenizer_get_vocab_size (tok));
      g_assert (t->start <= t->end && t->end <= sizeof text - 1 && t->start >= prev);
      prev = t->end;
      g_free (attnviz_tokenizer_token_display_text (tok, text, t, t->id));
    }
  gint32 *ids = g_new (gint32, MAX (tokens->len, 1));
  for (guint i = 0; i < tokens->len; i++)
    ids[i] = g_array_index (tokens, AttnvizToken, i).id;
  g_free (attnviz_tokenizer_decode (tok, ids, tokens->len));
  g_free (ids);
  g_array_unref (tokens);
  attnviz_tokenizer_free (tok);
  return 0;
}
