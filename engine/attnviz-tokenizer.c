/* attnviz-tokenizer.c: text to token ids, each token keeping its byte span
 *
 * This file holds the accessors, the encode dispatch (and the plain
 * character tokenizer) and decode; the loaders and the encoding loops are
 * in the files attnviz-tokenizer-private.h lists, all sharing one struct.
 *
 * GGUF (tokenizer.ggml.*: model, pre, tokens, scores, token_type, merges,
 * the *_token_id keys, add_bos_token, add_eos_token, add_space_prefix,
 * normalizer.lowercase/strip_accents) is read field by field in
 * attnviz-tokenizer-gguf.c into the same struct
 * (attnviz-tokenizer-private.h).  Where llama.cpp encodes differently the
 * loops here branch, each branch commented: llama.cpp's pre-tokenizers
 * instead of the GRegex (attnviz-tokenizer-pretok.c), user-defined tokens
 * cut out of the text before encoding, and WordPiece with a "▁" on a
 * word's first piece (attnviz-tokenizer-llama.c).
 *
 * All three families come down to two loops: BPE (a linked list of symbols
 * and a heap of candidate pairs, shared by GPT-2 and SentencePiece,
 * attnviz-tokenizer-bpe.c) and WordPiece's greedy longest match
 * (attnviz-tokenizer-wordpiece.c).  Every symbol carries the byte span of
 * the original text it came from, so normalisation never loses offsets.
 *
 * A tokenizer is immutable once loaded: encode keeps its caches on the
 * stack, so one tokenizer may serve several threads at once.
 */
#define G_LOG_DOMAIN "attnviz-tokenizer"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "attnviz-fileutil.h"

#include "attnviz-tokenizer.h"
#include "attnviz-tokenizer-private.h"

/* ---------------------------------------------------------------- accessors */

AttnvizTokenizerKind
attnviz_tokenizer_get_kind (const AttnvizTokenizer *self)
{
  g_return_val_if_fail (self != NULL, ATTNVIZ_TOKENIZER_GPT2_BPE);
  return self->kind;
}

const char *
attnviz_tokenizer_get_file (const AttnvizTokenizer *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->file;
}

const char *
attnviz_tokenizer_get_kind_name (const AttnvizTokenizer *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  switch (self->kind)
    {
    case ATTNVIZ_TOKENIZER_GPT2_BPE:
      return "gpt2-bpe";
    case ATTNVIZ_TOKENIZER_WORDPIECE:
      return "wordpiece";
    case ATTNVIZ_TOKENIZER_SPM_BPE:
      return "sentencepiece-bpe";
    case ATTNVIZ_TOKENIZER_CHARS:
      return "chars";
    case ATTNVIZ_TOKENIZER_UNIGRAM:
      return "sentencepiece-unigram";
    default:
      g_assert_not_reached ();
    }
}

int
attnviz_tokenizer_get_vocab_size (const AttnvizTokenizer *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return (int) self->pieces->len;
}

int
attnviz_tokenizer_get_bos_id (const AttnvizTokenizer *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->bos_id;
}

int
attnviz_tokenizer_get_eos_id (const AttnvizTokenizer *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->eos_id;
}

int
attnviz_tokenizer_get_pad_id (const AttnvizTokenizer *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->pad_id;
}

int
attnviz_tokenizer_get_unk_id (const AttnvizTokenizer *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->unk_id;
}

const char *
attnviz_tokenizer_get_piece (const AttnvizTokenizer *self, int id)
{
  g_return_val_if_fail (self != NULL, NULL);
  if (id < 0 || (guint) id >= self->pieces->len)
    return NULL;
  return g_ptr_array_index (self->pieces, id);
}

/* ---------------------------------------------------------------- chars */

static void
encode_chars (const AttnvizTokenizer *self, const char *text, gsize len, GArray *tokens)
{
  for (const char *p = text; p < text + len; )
    {
      const char *next = g_utf8_next_char (p);
      int id = _attnviz_tokenizer_vocab_lookup_len (self, p, next - p);

      /* Without an unk token an unknown character has no id: it is left out. */
      if (id < 0)
        id = self->unk_id;
      if (id >= 0)
        _attnviz_tokenizer_push_token (tokens, id, (guint32) (p - text), (guint32) (next - text), FALSE);
      p = next;
    }
}

/* ---------------------------------------------------------------- encode */

static gboolean
validate_utf8 (const char *text, gsize len, GError **error)
{
  const char *p = text;
  const char *end = text + len;

  /* Unlike g_utf8_validate(), a NUL byte inside LEN is a valid U+0000. */
  while (p < end)
    {
      const char *stop;

      if (g_utf8_validate_len (p, end - p, &stop))
        return TRUE;
      if (stop < end && *stop == '\0')
        {
          p = stop + 1;
          continue;
        }
      g_set_error (error, G_CONVERT_ERROR, G_CONVERT_ERROR_ILLEGAL_SEQUENCE,
                   "invalid UTF-8 at byte %" G_GSIZE_FORMAT, (gsize) (stop - text));
      return FALSE;
    }
  return TRUE;
}

static gboolean
encode_text (const AttnvizTokenizer *self, const char *text, gsize n, GArray *tokens, GError **error)
{
  switch (self->kind)
    {
    case ATTNVIZ_TOKENIZER_GPT2_BPE:
      return _attnviz_tokenizer_encode_gpt2 (self, text, n, tokens, error);
    case ATTNVIZ_TOKENIZER_SPM_BPE:
      _attnviz_tokenizer_encode_spm (self, text, n, tokens);
      return TRUE;
    case ATTNVIZ_TOKENIZER_WORDPIECE:
      if (self->phantom_space)
        _attnviz_tokenizer_encode_wpm_phantom (self, text, n, tokens);
      else
        _attnviz_tokenizer_encode_wordpiece (self, text, n, tokens);
      return TRUE;
    case ATTNVIZ_TOKENIZER_CHARS:
      encode_chars (self, text, n, tokens);
      return TRUE;
    case ATTNVIZ_TOKENIZER_UNIGRAM:
      return _attnviz_tokenizer_encode_unigram (self, text, n, tokens, error);
    default:
      g_assert_not_reached ();
    }
}

/* A GGUF vocabulary's user-defined tokens are split out of the text first,
 * as llama.cpp does; each run of text between them is encoded on its own
 * (SentencePiece puts its "▁" before each run, as llama.cpp does after a
 * special token) and its spans moved to where the run starts. */
static gboolean
encode_fragments (const AttnvizTokenizer *self, const char *text, gsize n, GArray *tokens, GError **error)
{
  g_autoptr(GArray) frags = _attnviz_tokenizer_split_specials (self, text, n);

  for (guint f = 0; f < frags->len; f++)
    {
      const AttnvizFragment *fr = &g_array_index (frags, AttnvizFragment, f);
      guint first = tokens->len;

      if (fr->id >= 0)
        {
          _attnviz_tokenizer_push_token (tokens, fr->id, fr->start, fr->end, TRUE);
          continue;
        }
      if (!encode_text (self, text + fr->start, fr->end - fr->start, tokens, error))
        return FALSE;
      for (guint i = first; i < tokens->len; i++)
        {
          AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);

          t->start += fr->start;
          t->end += fr->start;
        }
    }
  return TRUE;
}

GArray *
attnviz_tokenizer_encode (const AttnvizTokenizer *self,
                          const char *text,
                          gssize len,
                          gboolean add_special,
                          GError **error)
{
  g_autoptr(GArray) tokens = NULL;
  gsize n;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (text != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (text == NULL)
    text = "";
  n = len < 0 ? strlen (text) : (gsize) len;
  if (n > G_MAXUINT32 - 8)
    {
      g_set_error (error, G_CONVERT_ERROR, G_CONVERT_ERROR_FAILED,
                   "text of %" G_GSIZE_FORMAT " bytes is too long to tokenize", n);
      return NULL;
    }
  if (!validate_utf8 (text, n, error))
    return NULL;

  tokens = g_array_sized_new (FALSE, FALSE, sizeof (AttnvizToken), n / 3 + 8);
  if (add_special)
    for (int i = 0; i < self->n_prefix; i++)
      _attnviz_tokenizer_push_token (tokens, self->prefix[i], 0, 0, TRUE);

  if (!(self->n_split > 0 ? encode_fragments (self, text, n, tokens, error)
                          : encode_text (self, text, n, tokens, error)))
    return NULL;

  if (add_special)
    for (int i = 0; i < self->n_suffix; i++)
      _attnviz_tokenizer_push_token (tokens, self->suffix[i], (guint32) n, (guint32) n, TRUE);
  return g_steal_pointer (&tokens);
}

/* ---------------------------------------------------------------- decode */

static int
spm_byte_piece (const char *piece)
{
  if (strlen (piece) == 6 && g_str_has_prefix (piece, "<0x") && piece[5] == '>'
      && g_ascii_isxdigit (piece[3]) && g_ascii_isxdigit (piece[4]))
    return g_ascii_xdigit_value (piece[3]) * 16 + g_ascii_xdigit_value (piece[4]);
  return -1;
}

static void
append_token_bytes (const AttnvizTokenizer *self, int id, GByteArray *out)
{
  const char *piece = g_ptr_array_index (self->pieces, id);

  if (self->flags[id] & PIECE_SPECIAL)
    {
      g_byte_array_append (out, (const guint8 *) piece, strlen (piece));
      return;
    }
  switch (self->kind)
    {
    case ATTNVIZ_TOKENIZER_GPT2_BPE:
      for (const char *p = piece; *p != '\0'; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);

          if (c < G_N_ELEMENTS (self->char_to_byte) && self->char_to_byte[c] >= 0)
            {
              guint8 b = (guint8) self->char_to_byte[c];

              g_byte_array_append (out, &b, 1);
            }
          else
            g_byte_array_append (out, (const guint8 *) p, g_utf8_next_char (p) - p);
        }
      break;

    case ATTNVIZ_TOKENIZER_SPM_BPE:
    case ATTNVIZ_TOKENIZER_UNIGRAM:
      if (self->flags[id] & PIECE_BYTE)
        {
          guint8 b = (guint8) spm_byte_piece (piece);

          g_byte_array_append (out, &b, 1);
        }
      else
        {
          const char *space = self->space != NULL ? self->space : METASPACE;
          gsize sl = strlen (space);

          for (const char *p = piece; *p != '\0'; )
            if (strncmp (p, space, sl) == 0)
              {
                g_byte_array_append (out, (const guint8 *) " ", 1);
                p += sl;
              }
            else
              {
                g_byte_array_append (out, (const guint8 *) p, 1);
                p++;
              }
        }
      break;

    case ATTNVIZ_TOKENIZER_WORDPIECE:
      /* llama.cpp's WordPiece marks a word's start ("▁") instead of its
       * continuations ("##"): either way the mark is not text. */
      if (self->phantom_space && g_str_has_prefix (piece, METASPACE))
        piece += strlen (METASPACE);
      else if (!self->phantom_space && g_str_has_prefix (piece, self->subword_prefix))
        piece += strlen (self->subword_prefix);
      g_byte_array_append (out, (const guint8 *) piece, strlen (piece));
      break;

    case ATTNVIZ_TOKENIZER_CHARS:
      g_byte_array_append (out, (const guint8 *) piece, strlen (piece));
      break;

    default:
      g_assert_not_reached ();
    }
}

/* Special tokens ("<s>", "[CLS]") give their piece as it is written. */
GBytes *
attnviz_tokenizer_decode_token (const AttnvizTokenizer *self, int id)
{
  GByteArray *out;

  g_return_val_if_fail (self != NULL, NULL);
  if (attnviz_tokenizer_get_piece (self, id) == NULL)
    return NULL;
  out = g_byte_array_new ();
  append_token_bytes (self, id, out);
  return g_byte_array_free_to_bytes (out);
}

char *
attnviz_tokenizer_token_display_text (const AttnvizTokenizer *self,
                                      const char *text,
                                      const AttnvizToken *token,
                                      gint32 id)
{
  if (text != NULL && token != NULL && !token->special)
    return g_utf8_make_valid (text + token->start, token->end - token->start);
  if (self == NULL)
    return g_strdup_printf ("%d", id);
  if (token != NULL && token->special)
    {
      const char *piece = attnviz_tokenizer_get_piece (self, id);
      return g_strdup (piece ? piece : "");
    }
  g_autoptr(GBytes) bytes = attnviz_tokenizer_decode_token (self, id);
  if (bytes == NULL)
    return g_strdup_printf ("%d", id);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  return g_utf8_make_valid (data ? data : "", len);
}

/* Whether WordPiece token ID begins a word (decode puts a space before it). */
static gboolean
wordpiece_starts_word (const AttnvizTokenizer *self, int id)
{
  const char *piece = g_ptr_array_index (self->pieces, id);

  if (!self->phantom_space)
    return !g_str_has_prefix (piece, self->subword_prefix);
  return (self->flags[id] & PIECE_SPECIAL) || g_str_has_prefix (piece, METASPACE);
}

/* Hugging Face's clean_up_tokenization for WordPiece text. */
static char *
wordpiece_cleanup (char *text)
{
  static const char *const pairs[][2] = {
    { " .", "." }, { " ?", "?" }, { " !", "!" }, { " ,", "," }, { " ' ", "'" },
    { " n't", "n't" }, { " 'm", "'m" }, { " 's", "'s" }, { " 've", "'ve" }, { " 're", "'re" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_auto(GStrv) parts = g_strsplit (text, pairs[i][0], -1);

      g_free (text);
      text = g_strjoinv (pairs[i][1], parts);
    }
  return text;
}

char *
attnviz_tokenizer_decode (const AttnvizTokenizer *self,
                          const gint32 *ids,
                          gsize n_ids)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  int prev = -1;
  char *text;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (ids != NULL || n_ids == 0, NULL);

  for (gsize i = 0; i < n_ids; i++)
    {
      int id = ids[i];
      guint mark = out->len;

      if (attnviz_tokenizer_get_piece (self, id) == NULL)
        continue;
      /* Sequence markers (BOS, EOS, [CLS], [SEP], padding) stand for no text. */
      if (id == self->bos_id || id == self->eos_id || id == self->pad_id)
        {
          prev = id;
          continue;
        }
      if (self->kind == ATTNVIZ_TOKENIZER_WORDPIECE && out->len > 0 && wordpiece_starts_word (self, id))
        g_byte_array_append (out, (const guint8 *) " ", 1);
      append_token_bytes (self, id, out);
      /* llama2.c: the space SentencePiece put before the first word goes. */
      if (self->kind == ATTNVIZ_TOKENIZER_SPM_BPE && prev == self->bos_id && prev >= 0
          && out->len > mark && out->data[mark] == ' ')
        g_byte_array_remove_index (out, mark);
      /* Unigram (T5): the "▁" of the text's first word is no space either. */
      if (self->kind == ATTNVIZ_TOKENIZER_UNIGRAM && mark == 0 && out->len > 0 && out->data[0] == ' ')
        g_byte_array_remove_index (out, 0);
      prev = id;
    }

  /* Partial byte sequences (a cut-off character) decode as U+FFFD. */
  text = g_utf8_make_valid (out->len > 0 ? (const char *) out->data : "", out->len);
  if (self->kind == ATTNVIZ_TOKENIZER_WORDPIECE)
    text = wordpiece_cleanup (text);
  return text;
}
