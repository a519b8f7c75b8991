/* attnviz-tokenizer-llama.c: llama.cpp's ways with a GGUF vocabulary that the
 * Hugging Face files do not share
 *
 * - Special tokens in the text.  Before tokenizing, llama.cpp cuts the text
 *   at every occurrence of a special token's piece, longest piece first;
 *   when it does not parse specials (as attnviz always does not) only the
 *   user-defined ones are cut out, control and unknown ones stay text.  A
 *   piece may eat the white space before it (lstrip) or after it (rstrip).
 * - WordPiece (WPM).  The converter stores BERT's vocabulary with a "▁" on
 *   every word-initial piece and no "##" on the others; llama.cpp splits the
 *   text into words its own way (below) and spells "▁" + word greedily,
 *   longest piece first, a word it cannot spell whole being one unknown.
 */
#define G_LOG_DOMAIN "attnviz-tokenizer"

#include "config.h"

#include <string.h>

#include "attnviz-tokenizer-private.h"

/* ---------------------------------------------------------------- special tokens */

static const char *
find_bytes (const char *hay, gsize n, const char *needle, gsize m)
{
  const char *end = hay + n;

  if (m == 0 || m > n)
    return NULL;
  for (const char *p = hay; p + m <= end; p++)
    {
      p = memchr (p, needle[0], (end - m + 1) - p);
      if (p == NULL)
        return NULL;
      if (memcmp (p, needle, m) == 0)
        return p;
    }
  return NULL;
}

/* C's isspace () in the "C" locale, which llama.cpp strips with (unlike
 * g_ascii_isspace () it counts the vertical tab). */
static inline gboolean
c_isspace (char c)
{
  return c == ' ' || (c >= '\t' && c <= '\r');
}

static void
add_fragment (GArray *frags, gsize start, gsize end, gint32 id)
{
  AttnvizFragment f = { (guint32) start, (guint32) end, id };

  g_array_append_val (frags, f);
}

GArray *
_attnviz_tokenizer_split_specials (const AttnvizTokenizer *self, const char *text, gsize len)
{
  GArray *frags = g_array_new (FALSE, FALSE, sizeof (AttnvizFragment));
  g_autoptr(GArray) next = g_array_new (FALSE, FALSE, sizeof (AttnvizFragment));

  if (len > 0)
    add_fragment (frags, 0, len, -1);
  for (int s = 0; s < self->n_split; s++)
    {
      gint32 id = self->split_ids[s];
      const char *piece = g_ptr_array_index (self->pieces, id);
      gsize plen = strlen (piece);
      guint8 flags = self->flags[id];

      /* Most pieces are not in the text at all. */
      if (find_bytes (text, len, piece, plen) == NULL)
        continue;
      g_array_set_size (next, 0);
      for (guint f = 0; f < frags->len; f++)
        {
          AttnvizFragment fr = g_array_index (frags, AttnvizFragment, f);
          gsize at = fr.start;
          const char *hit;

          if (fr.id >= 0)
            {
              g_array_append_val (next, fr);
              continue;
            }
          while (at < fr.end && (hit = find_bytes (text + at, fr.end - at, piece, plen)) != NULL)
            {
              gsize m = hit - text;
              gsize left_end = m;

              if (flags & PIECE_LSTRIP)
                while (left_end > at && c_isspace (text[left_end - 1]))
                  left_end--;
              if (left_end > at)
                add_fragment (next, at, left_end, -1);
              add_fragment (next, m, m + plen, id);
              at = m + plen;
              if (flags & PIECE_RSTRIP)
                while (at < fr.end && c_isspace (text[at]))
                  at++;
            }
          if (at < fr.end)
            add_fragment (next, at, fr.end, -1);
        }
      g_array_set_size (frags, 0);
      g_array_append_vals (frags, next->data, next->len);
    }
  return frags;
}

static int
by_length_then_id (gconstpointer a, gconstpointer b, gpointer data)
{
  GPtrArray *pieces = data;
  gint32 ia = *(const gint32 *) a, ib = *(const gint32 *) b;
  gsize la = strlen (g_ptr_array_index (pieces, ia));
  gsize lb = strlen (g_ptr_array_index (pieces, ib));

  if (la != lb)
    return la > lb ? -1 : 1;
  return (ia > ib) - (ia < ib);
}

void
_attnviz_tokenizer_set_split (AttnvizTokenizer *self, GArray *ids)
{
  g_array_sort_with_data (ids, by_length_then_id, self->pieces);
  g_free (self->split_ids);
  self->n_split = (int) ids->len;
  self->split_ids = self->n_split > 0 ? g_memdup2 (ids->data, ids->len * sizeof (gint32)) : NULL;
}

/* ---------------------------------------------------------------- WordPiece */

/* One character of a word and the bytes of the text it came from. */
typedef struct {
  gunichar c;
  guint32 start;
  guint32 end;
} WpmChar;

/* BERT's CJK ideograph blocks as llama.cpp lists them (its Extension E
 * range starts at 0x2B920, as Hugging Face's Rust code does). */
static gboolean
wpm_is_chinese (gunichar c)
{
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF)
    || (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F)
    || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF)
    || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* A word on its own: punctuation, ASCII symbols, CJK ideographs. */
static gboolean
wpm_is_lone (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONNECT_PUNCTUATION:
    case G_UNICODE_DASH_PUNCTUATION:
    case G_UNICODE_OPEN_PUNCTUATION:
    case G_UNICODE_CLOSE_PUNCTUATION:
    case G_UNICODE_INITIAL_PUNCTUATION:
    case G_UNICODE_FINAL_PUNCTUATION:
    case G_UNICODE_OTHER_PUNCTUATION:
      return TRUE;
    case G_UNICODE_CURRENCY_SYMBOL:
    case G_UNICODE_MODIFIER_SYMBOL:
    case G_UNICODE_MATH_SYMBOL:
    case G_UNICODE_OTHER_SYMBOL:
      return c < 0x7F;
    default:
      return wpm_is_chinese (c);
    }
}

static gboolean
wpm_is_control (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SURROGATE:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
wpm_is_mark (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
      return TRUE;
    default:
      return FALSE;
    }
}

typedef struct {
  GArray *word;    /* WpmChar */
  GString *spelt;  /* METASPACE + the word */
  GArray *offsets; /* guint32: where each char of SPELT starts, and its length */
  GArray *hashes;  /* guint64: SPELT's prefix hashes, then the powers (piece_index) */
} WpmState;

/* The J in (LO, HI] with OFF[J] == BYTE (OFF increasing), or 0. */
static guint
char_at_byte (const guint32 *off, guint lo, guint hi, gsize byte)
{
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2 + 1;

      if (off[mid] == byte)
        return mid;
      if (off[mid] < byte)
        lo = mid;
      else
        hi = mid - 1;
    }
  return 0;
}

static void
push (GArray *tokens, gint32 id, guint32 start, guint32 end)
{
  AttnvizToken t = { id, start, end, FALSE };

  g_array_append_val (tokens, t);
}

/* Spells "▁" + the gathered word, which it empties.  Char 0 of SPELT is the
 * "▁", with no bytes of the text: a piece starting there starts where the
 * word does. */
static void
wpm_flush (const AttnvizTokenizer *self, WpmState *st, GArray *tokens)
{
  const WpmChar *w = (const WpmChar *) st->word->data;
  guint n = st->word->len + 1; /* chars of SPELT */
  guint first = tokens->len;
  guint32 *off; /* (n + 1) where each char of SPELT starts */

  if (st->word->len == 0)
    return;
  g_string_assign (st->spelt, METASPACE);
  g_array_set_size (st->offsets, n + 1);
  off = (guint32 *) st->offsets->data;
  off[0] = 0;
  for (guint k = 1; k < n; k++)
    {
      off[k] = (guint32) st->spelt->len;
      g_string_append_unichar (st->spelt, w[k - 1].c);
    }
  off[n] = (guint32) st->spelt->len;

  /* The longest piece starting at each char: only the lengths some piece
   * has are tried, each in O(1) by its hash, so a long word costs its
   * length times the number of distinct lengths.  (Trying every end and
   * looking the bytes up was cubic in the word once a hostile vocabulary
   * held a long piece.) */
  const AttnvizPieceIndex *ix = &self->piece_index;
  gsize bytes = off[n];
  g_array_set_size (st->hashes, 2 * (bytes + 1));
  guint64 *pre = (guint64 *) st->hashes->data, *pow = pre + bytes + 1;
  _attnviz_piece_index_prefixes (ix, st->spelt->str, bytes, pre, pow);
  for (guint i = 0; i < n; )
    {
      int found = -1;
      guint j = 0;

      for (guint k = 0; k < ix->n_lengths && found < 0; k++)
        {
          gsize end = off[i] + ix->lengths[k];
          int id;

          if (ix->lengths[k] == 0 || end > bytes || (j = char_at_byte (off, i, n, end)) == 0)
            continue;
          id = _attnviz_piece_index_lookup (ix, pre, pow, off[i], end);
          if (id >= 0 && memcmp (g_ptr_array_index (self->pieces, id), st->spelt->str + off[i],
                                 ix->lengths[k]) == 0)
            found = id;
        }
      if (found < 0)
        {
          g_array_set_size (tokens, first);
          break;
        }
      push (tokens, found, i == 0 ? w[0].start : w[i - 1].start, j == 1 ? w[0].start : w[j - 2].end);
      i = j;
    }
  if (tokens->len == first && self->unk_id >= 0)
    push (tokens, self->unk_id, w[0].start, w[st->word->len - 1].end);
  g_array_set_size (st->word, 0);
}

void
_attnviz_tokenizer_encode_wpm_phantom (const AttnvizTokenizer *self, const char *text, gsize len,
                                       GArray *tokens)
{
  WpmState st;

  st.word = g_array_new (FALSE, FALSE, sizeof (WpmChar));
  st.spelt = g_string_new (NULL);
  st.offsets = g_array_new (FALSE, FALSE, sizeof (guint32));
  st.hashes = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (const char *p = text; p < text + len; p = g_utf8_next_char (p))
    {
      WpmChar wc = { g_utf8_get_char (p), (guint32) (p - text), (guint32) (g_utf8_next_char (p) - text) };

      /* Stripping accents keeps the first code point of the character's
       * canonical decomposition (what llama.cpp's NFD table holds). */
      if (self->strip_accents)
        {
          gunichar d[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];

          if (g_unichar_fully_decompose (wc.c, FALSE, d, G_N_ELEMENTS (d)) > 0)
            wc.c = d[0];
        }
      if (_attnviz_tokenizer_is_white_space (wc.c))
        {
          wpm_flush (self, &st, tokens);
          continue;
        }
      if (wc.c == 0 || wc.c == 0xFFFD || wpm_is_control (wc.c))
        continue;
      if (self->strip_accents && wpm_is_mark (wc.c))
        continue;
      if (wpm_is_lone (wc.c))
        {
          wpm_flush (self, &st, tokens);
          if (self->lowercase)
            wc.c = g_unichar_tolower (wc.c);
          g_array_append_val (st.word, wc);
          wpm_flush (self, &st, tokens);
          continue;
        }
      if (self->lowercase)
        wc.c = g_unichar_tolower (wc.c);
      g_array_append_val (st.word, wc);
    }
  wpm_flush (self, &st, tokens);

  g_array_unref (st.word);
  g_string_free (st.spelt, TRUE);
  g_array_unref (st.offsets);
  g_array_unref (st.hashes);
}
