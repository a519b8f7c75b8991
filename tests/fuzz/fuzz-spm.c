#define G_LOG_DOMAIN "attnviz-fuzz-spm"
#include "config.h"

/* libFuzzer harness: any byte string handed to the SentencePiece model
 * reader (a Marian folder's source.spm / target.spm) either gives pieces
 * that are non-empty UTF-8 with special ids among them, or fails with a
 * one-line GError; a Unigram model read as a tokenizer then encodes a text
 * into ids of its vocabulary with spans in order inside the text.  A
 * precompiled_charsmap (seed: unigram-charsmap.spm, a small real map) is
 * checked at load or bounded at use: normalizing any bytes with it gives
 * UTF-8 whose every byte points back into the text, in order. */

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
  g_assert (spm->has_charsmap == (spm->charsmap != NULL));
  if (spm->charsmap != NULL)
    {
      /* full-width, a ligature, U+3000, NBSP, a tab, U+200B, e + U+0301, then bytes that are not UTF-8 */
      static const char raw[] = "\xef\xbd\x86\xef\xac\x81\xe3\x80\x80\xc2\xa0\t\xe2\x80\x8b" "e\xcc\x81 \xff\xc3\xe2\x82";
      GArray *from = g_array_new (FALSE, FALSE, sizeof (guint32));
      GArray *to = g_array_new (FALSE, FALSE, sizeof (guint32));
      /* a 24-byte text cannot outgrow its 1 MiB bound with a 64 KiB input's strings */
      char *norm = attnviz_charsmap_normalize (spm->charsmap, raw, sizeof raw - 1, from, to, NULL);
      g_assert (norm != NULL);
      g_assert (from->len == to->len && strlen (norm) == from->len && g_utf8_validate (norm, from->len, NULL));
      for (guint i = 0; i < from->len; i++)
        {
          guint32 a = g_array_index (from, guint32, i), b = g_array_index (to, guint32, i);
          g_assert (a < b && b <= sizeof raw - 1);
          g_assert (i == 0 || a >= g_array_index (from, guint32, i - 1));
        }
      g_free (norm);
      g_array_unref (from);
      g_array_unref (to);
    }
  attnviz_spm_free (spm);

  AttnvizTokenizer *tok = attnviz_tokenizer_new_from_spm_data (data, size, "fuzz.spm", &error);
  if (tok == NULL)
    {
      assert_one_line (error);
      return 0;
    }
  static const char text[] = "  The cat sat \xe2\x96\x81 on w\xc3\xb6rld 123 \xe2\x98\xba\xe2\x98\xba. "
                             "\xef\xbd\x86\xef\xbd\x95\xef\xac\x81le\xe3\x80\x80\xe2\x91\xa0\te\xcc\x81\xe2\x80\x8b";
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
