/* attnviz-tokenizer-wordpiece.c: BERT's WordPiece encoding
 *
 * Hugging Face's BasicTokenizer (clean up, split Chinese characters,
 * lowercase, strip accents, split on white space and punctuation), then a
 * greedy longest match of each word against the vocabulary, "##" before
 * every piece but the first.  The longest match looks pieces up by a hash
 * of their bytes (the piece index, also used to build SentencePiece's
 * merge table from scores).
 */
#define G_LOG_DOMAIN "attnviz-tokenizer"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "attnviz-tokenizer.h"
#include "attnviz-tokenizer-private.h"

/* ---- pieces by the hash of their bytes ------------------------------------ */

/* Polynomial hashes modulo the prime 2^61 - 1, with a base drawn at random
 * for each tokenizer: from the prefix hashes of a string, the hash of any
 * substring follows in O(1), so finding which substrings are pieces takes
 * constant time each instead of the time to copy and hash them.  A string
 * lookup per candidate made the cut search of a piece quadratic in its
 * length (a file with one 4 MiB piece took minutes to open) and WordPiece's
 * longest match cubic in a word's length.  A hit is a piece of that length
 * with that hash; two different strings of length n share one with
 * probability below n / 2^61, and the base is not known to whoever wrote
 * the file. */
#define HASH_P ((G_GUINT64_CONSTANT (1) << 61) - 1)

static guint64
mul_mod (guint64 a, guint64 b)
{
  __extension__ typedef unsigned __int128 u128;
  u128 r = (u128) a * b;
  guint64 x = (guint64) (r & HASH_P) + (guint64) (r >> 61);

  while (x >= HASH_P)
    x -= HASH_P;
  return x;
}

static guint64
hash_step (guint64 h, guint64 base, guchar c)
{
  return (mul_mod (h, base) + c + 1) % HASH_P;
}

struct _AttnvizPieceIndexSlot {
  guint64 hash;
  gsize len;
  gint32 id; /* -1: empty */
};

static int
by_length_descending (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;

  return (x < y) - (x > y);
}

void
_attnviz_piece_index_init (AttnvizPieceIndex *ix, const AttnvizTokenizer *self)
{
  GHashTableIter iter;
  gpointer key, value;
  gsize cap = 16;
  g_autoptr(GHashTable) lengths = g_hash_table_new (NULL, NULL);

  ix->base = ((((guint64) g_random_int () << 32) | g_random_int ()) % (HASH_P - 512)) + 256;
  while (cap < (gsize) g_hash_table_size (self->vocab) * 2)
    cap <<= 1;
  ix->slots = g_new (AttnvizPieceIndexSlot, cap);
  ix->mask = cap - 1;
  for (gsize i = 0; i < cap; i++)
    ix->slots[i].id = -1;
  g_hash_table_iter_init (&iter, self->vocab);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *piece = key;
      guint64 h = 0;
      gsize len = 0, i;

      for (; piece[len] != '\0'; len++)
        h = hash_step (h, ix->base, (guchar) piece[len]);
      for (i = (h ^ len) & ix->mask; ix->slots[i].id >= 0; i = (i + 1) & ix->mask)
        ;
      ix->slots[i] = (AttnvizPieceIndexSlot) { h, len, GPOINTER_TO_INT (value) };
      g_hash_table_add (lengths, GSIZE_TO_POINTER (len));
    }
  /* At most sqrt (2 * bytes of all pieces) distinct lengths. */
  ix->n_lengths = g_hash_table_size (lengths);
  ix->lengths = g_new (guint32, MAX (ix->n_lengths, 1));
  g_hash_table_iter_init (&iter, lengths);
  for (guint i = 0; g_hash_table_iter_next (&iter, &key, NULL); i++)
    ix->lengths[i] = (guint32) GPOINTER_TO_SIZE (key);
  qsort (ix->lengths, ix->n_lengths, sizeof (guint32), by_length_descending);
}

void
_attnviz_piece_index_clear (AttnvizPieceIndex *ix)
{
  g_clear_pointer (&ix->slots, g_free);
  g_clear_pointer (&ix->lengths, g_free);
  ix->n_lengths = 0;
}

void
_attnviz_piece_index_prefixes (const AttnvizPieceIndex *ix, const char *s, gsize len, guint64 *pre,
                               guint64 *pow)
{
  pre[0] = 0;
  pow[0] = 1;
  for (gsize i = 0; i < len; i++)
    {
      pre[i + 1] = hash_step (pre[i], ix->base, (guchar) s[i]);
      pow[i + 1] = mul_mod (pow[i], ix->base);
    }
}

int
_attnviz_piece_index_lookup (const AttnvizPieceIndex *ix, const guint64 *pre, const guint64 *pow,
                             gsize start, gsize end)
{
  guint64 hash = (pre[end] + HASH_P - mul_mod (pre[start], pow[end - start])) % HASH_P;
  gsize len = end - start;

  for (gsize i = (hash ^ len) & ix->mask; ix->slots[i].id >= 0; i = (i + 1) & ix->mask)
    if (ix->slots[i].hash == hash && ix->slots[i].len == len)
      return ix->slots[i].id;
  return -1;
}

/* ---------------------------------------------------------------- WordPiece */

/* One character of BERT's normalised text and the source bytes it came from. */
typedef struct {
  gunichar c;
  guint32 start;
  guint32 end;
} WpChar;

/* Hugging Face BasicTokenizer's character classes. */
static gboolean
wp_is_control (gunichar c)
{
  if (c == '\t' || c == '\n' || c == '\r')
    return FALSE;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SURROGATE:
      return TRUE;
    default:
      return FALSE;
    }
}

/* " \t\n\r" and Zs as _is_whitespace, plus what str.split() splits on. */
static gboolean
wp_is_whitespace (gunichar c)
{
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
    return TRUE;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_SPACE_SEPARATOR:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
wp_is_punctuation (gunichar c)
{
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
    return TRUE;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONNECT_PUNCTUATION:
    case G_UNICODE_DASH_PUNCTUATION:
    case G_UNICODE_CLOSE_PUNCTUATION:
    case G_UNICODE_FINAL_PUNCTUATION:
    case G_UNICODE_INITIAL_PUNCTUATION:
    case G_UNICODE_OTHER_PUNCTUATION:
    case G_UNICODE_OPEN_PUNCTUATION:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
wp_is_chinese (gunichar c)
{
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF)
    || (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F)
    || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF)
    || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static gboolean
is_cased (gunichar c)
{
  return g_unichar_isupper (c) || g_unichar_islower (c) || g_unichar_istitle (c);
}

static gboolean
is_case_ignorable (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_FORMAT:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_MODIFIER_SYMBOL:
      return TRUE;
    default:
      return c == '\'' || c == '.' || c == ':' || c == 0xB7 || c == 0x2018 || c == 0x2019
        || c == 0x2024 || c == 0x2027;
    }
}

/* Python's str.lower() maps a capital sigma to final sigma at the end of a
 * cased word: preceded by a cased letter, not followed by one (skipping
 * case-ignorable characters), within the whitespace-separated token. */
static gboolean
is_final_sigma (const char *text, gsize len, const char *at)
{
  gboolean before = FALSE;
  const char *p;

  for (p = at; p > text; )
    {
      gunichar c;

      p = g_utf8_prev_char (p);
      c = g_utf8_get_char (p);
      if (wp_is_whitespace (c))
        break;
      if (!is_case_ignorable (c))
        {
          before = is_cased (c);
          break;
        }
    }
  if (!before)
    return FALSE;
  for (p = g_utf8_next_char (at); p < text + len; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (wp_is_whitespace (c))
        break;
      if (!is_case_ignorable (c))
        return !is_cased (c);
    }
  return TRUE;
}

/* Appends the normalised form of the character at P (lowercased, accents
 * stripped as configured) to WORD, every output char keeping P's span. */
static void
wp_normalize_char (const AttnvizTokenizer *self, const char *text, gsize len,
                   const char *p, gunichar c, GArray *word)
{
  guint32 start = (guint32) (p - text);
  guint32 end = (guint32) (g_utf8_next_char (p) - text);
  g_autofree char *lower = NULL;
  g_autofree char *nfd = NULL;
  const char *s;
  WpChar out;

  if (c < 0x80)
    {
      out.c = self->lowercase ? (gunichar) g_ascii_tolower ((char) c) : c;
      out.start = start;
      out.end = end;
      g_array_append_val (word, out);
      return;
    }
  if (self->lowercase)
    {
      if (c == 0x3A3)
        lower = g_strdup (is_final_sigma (text, len, p) ? "\xcf\x82" : "\xcf\x83");
      else
        lower = g_utf8_strdown (p, end - start);
    }
  else
    lower = g_strndup (p, end - start);
  if (self->strip_accents)
    nfd = g_utf8_normalize (lower, -1, G_NORMALIZE_NFD);
  for (s = nfd != NULL ? nfd : lower; *s != '\0'; s = g_utf8_next_char (s))
    {
      out.c = g_utf8_get_char (s);
      out.start = start;
      out.end = end;
      if (self->strip_accents && g_unichar_type (out.c) == G_UNICODE_NON_SPACING_MARK)
        continue;
      g_array_append_val (word, out);
    }
}

/* Scratch buffers of one _attnviz_tokenizer_encode_wordpiece call. */
typedef struct {
  GArray *word;    /* WpChar: the word being gathered */
  GArray *norm;    /* WpChar: one source char, normalised */
  GArray *offsets; /* gsize: byte offset of each char of the word in text */
  GString *text;   /* the word as UTF-8 */
  GString *cand;   /* a candidate piece */
} WpState;

/* Greedy longest-match-first WordPiece over the gathered word, which it
 * empties; a word it cannot spell entirely becomes one unknown token. */
static void
wordpiece_flush (const AttnvizTokenizer *self, WpState *st, GArray *tokens)
{
  const WpChar *chars = (const WpChar *) st->word->data;
  guint n = st->word->len;
  guint first = tokens->len;
  guint start = 0;
  gsize *off;

  if (n == 0)
    return;
  if (n > (guint) self->max_word_chars)
    goto unknown;

  g_string_truncate (st->text, 0);
  g_array_set_size (st->offsets, n + 1);
  off = (gsize *) st->offsets->data;
  for (guint i = 0; i < n; i++)
    {
      off[i] = st->text->len;
      g_string_append_unichar (st->text, chars[i].c);
    }
  off[n] = st->text->len;

  while (start < n)
    {
      int found = -1;
      guint end;

      for (end = n; end > start; end--)
        {
          /* Pieces after the first carry the "##" prefix. */
          g_string_assign (st->cand, start > 0 ? self->subword_prefix : "");
          g_string_append_len (st->cand, st->text->str + off[start], off[end] - off[start]);
          found = _attnviz_tokenizer_vocab_lookup (self, st->cand->str);
          if (found >= 0)
            break;
        }
      if (found < 0)
        {
          g_array_set_size (tokens, first);
          goto unknown;
        }
      _attnviz_tokenizer_push_token (tokens, found, chars[start].start, chars[end - 1].end, FALSE);
      start = end;
    }
  g_array_set_size (st->word, 0);
  return;

unknown:
  if (self->unk_id >= 0)
    _attnviz_tokenizer_push_token (tokens, self->unk_id, chars[0].start, chars[n - 1].end, FALSE);
  g_array_set_size (st->word, 0);
}

/* Hugging Face BasicTokenizer then WordPiece: clean the text, isolate CJK
 * characters, split on whitespace, lowercase and strip accents, split off
 * punctuation, then spell each word with pieces. */
void
_attnviz_tokenizer_encode_wordpiece (const AttnvizTokenizer *self, const char *text, gsize len,
                                     GArray *tokens)
{
  WpState st;

  st.word = g_array_new (FALSE, FALSE, sizeof (WpChar));
  st.norm = g_array_new (FALSE, FALSE, sizeof (WpChar));
  st.offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  st.text = g_string_new (NULL);
  st.cand = g_string_new (NULL);

  for (const char *p = text; p < text + len; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean cjk;

      if (self->clean_text && (c == 0 || c == 0xFFFD || wp_is_control (c)))
        continue;
      if (wp_is_whitespace (c))
        {
          wordpiece_flush (self, &st, tokens);
          continue;
        }
      cjk = self->chinese_chars && wp_is_chinese (c);
      if (cjk)
        wordpiece_flush (self, &st, tokens);

      g_array_set_size (st.norm, 0);
      wp_normalize_char (self, text, len, p, c, st.norm);
      for (guint i = 0; i < st.norm->len; i++)
        {
          WpChar wc = g_array_index (st.norm, WpChar, i);

          if (wp_is_whitespace (wc.c))
            wordpiece_flush (self, &st, tokens);
          else if (wp_is_punctuation (wc.c))
            {
              /* Each punctuation character is a word of its own. */
              wordpiece_flush (self, &st, tokens);
              g_array_append_val (st.word, wc);
              wordpiece_flush (self, &st, tokens);
            }
          else
            g_array_append_val (st.word, wc);
        }

      if (cjk)
        wordpiece_flush (self, &st, tokens);
    }
  wordpiece_flush (self, &st, tokens);

  g_array_unref (st.word);
  g_array_unref (st.norm);
  g_array_unref (st.offsets);
  g_string_free (st.text, TRUE);
  g_string_free (st.cand, TRUE);
}
