/* attnviz-tokenizer-bpe.c: byte-level BPE (GPT-2) and SentencePiece encoding
 *
 * The merge table ((left, right) -> merged piece, by rank or by
 * SentencePiece score) and the loop both families share: a word as a
 * linked list of symbols and a heap of candidate pairs, the best pair
 * merging first.  GPT-2 first splits the text into words (a GRegex or
 * llama.cpp's pre-tokenizers) and maps bytes to its stand-in characters;
 * SentencePiece puts "▁" for spaces and falls back to "<0xNN>" bytes.
 */
#define G_LOG_DOMAIN "attnviz-tokenizer"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "attnviz-tokenizer.h"
#include "attnviz-tokenizer-private.h"

/* ---------------------------------------------------------------- pairs */

static inline guint64
pair_key (gint32 left, gint32 right)
{
  return ((guint64) (guint32) left << 32) | (guint32) right;
}

static inline gsize
pair_hash (guint64 k)
{
  k ^= k >> 33;
  k *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  k ^= k >> 33;
  return (gsize) k;
}

void
_attnviz_pair_table_init (PairTable *t, gsize expected)
{
  gsize cap = 16;

  while (cap < expected * 2)
    cap <<= 1;
  t->slots = g_new (PairSlot, cap);
  for (gsize i = 0; i < cap; i++)
    t->slots[i].key = PAIR_EMPTY;
  t->mask = cap - 1;
  t->n = 0;
}

static void
pair_table_grow (PairTable *t)
{
  PairTable bigger;

  _attnviz_pair_table_init (&bigger, (t->mask + 1));
  for (gsize i = 0; i <= t->mask; i++)
    if (t->slots[i].key != PAIR_EMPTY)
      _attnviz_pair_table_insert (&bigger, (gint32) (t->slots[i].key >> 32),
                         (gint32) (t->slots[i].key & 0xffffffffu),
                         t->slots[i].score, t->slots[i].merged);
  g_free (t->slots);
  *t = bigger;
}

/* The first insertion of a pair wins, as the lowest rank should. */
void
_attnviz_pair_table_insert (PairTable *t, gint32 left, gint32 right, double score, gint32 merged)
{
  guint64 key = pair_key (left, right);
  gsize i;

  if (t->slots == NULL)
    _attnviz_pair_table_init (t, 16);
  if ((t->n + 1) * 2 > t->mask + 1)
    pair_table_grow (t);
  for (i = pair_hash (key) & t->mask; t->slots[i].key != PAIR_EMPTY; i = (i + 1) & t->mask)
    if (t->slots[i].key == key)
      return;
  t->slots[i].key = key;
  t->slots[i].score = score;
  t->slots[i].merged = merged;
  t->n++;
}

static const PairSlot *
pair_table_lookup (const PairTable *t, gint32 left, gint32 right)
{
  guint64 key = pair_key (left, right);

  if (t->slots == NULL)
    return NULL;
  for (gsize i = pair_hash (key) & t->mask; t->slots[i].key != PAIR_EMPTY; i = (i + 1) & t->mask)
    if (t->slots[i].key == key)
      return &t->slots[i];
  return NULL;
}

void
_attnviz_tokenizer_pair_insert (AttnvizTokenizer *self, gint32 left, gint32 right,
                                double score, gint32 merged)
{
  _attnviz_pair_table_insert (&self->pairs, left, right, score, merged);
}
/* SentencePiece merging: every piece that splits into two pieces is a merge
 * of those two, with the piece's score as priority. */

/* Every merge (left, right) -> piece, from the ways to cut each piece in
 * two: linear in the pieces' lengths. */
void
_attnviz_tokenizer_build_score_pairs (AttnvizTokenizer *self)
{
  AttnvizPieceIndex ix = { 0 };
  guint64 *pre = NULL, *pow = NULL; /* (len + 1) prefix hashes, powers of the base */
  gsize cap = 0;

  _attnviz_piece_index_init (&ix, self);
  _attnviz_pair_table_init (&self->pairs, self->pieces->len * 4);
  for (guint id = 0; id < self->pieces->len; id++)
    {
      const char *piece = g_ptr_array_index (self->pieces, id);
      gsize n;

      if (piece == NULL || (self->flags[id] & (PIECE_SPECIAL | PIECE_BYTE)))
        continue;
      n = strlen (piece);
      if (n + 1 > cap)
        {
          cap = n + 1;
          pre = g_renew (guint64, pre, cap);
          pow = g_renew (guint64, pow, cap);
        }
      _attnviz_piece_index_prefixes (&ix, piece, n, pre, pow);
      for (const char *cut = g_utf8_next_char (piece); *cut != '\0'; cut = g_utf8_next_char (cut))
        {
          gsize c = (gsize) (cut - piece);
          int left = _attnviz_piece_index_lookup (&ix, pre, pow, 0, c);
          int right = left >= 0 ? _attnviz_piece_index_lookup (&ix, pre, pow, c, n) : -1;

          if (left >= 0 && right >= 0)
            _attnviz_pair_table_insert (&self->pairs, left, right, self->scores[id], (gint32) id);
        }
    }
  g_free (pre);
  g_free (pow);
  _attnviz_piece_index_clear (&ix);
}

/* ---------------------------------------------------------------- BPE */

/* One symbol of a word being merged: a doubly linked list in an array. */
typedef struct {
  gint32 id;     /* vocabulary id, -1 for a unit the vocabulary lacks */
  int prev;      /* neighbours, -1 at the ends of a word */
  int next;
  guint32 start; /* byte span in the original text */
  guint32 end;
  guint32 wstart; /* byte span in the working string (for byte fallback) */
  guint32 wend;
  gboolean alive;
} Sym;

/* A candidate merge of syms[left] and syms[right]. */
typedef struct {
  double score;
  int left;
  int right;
  gint32 left_id;
  gint32 right_id;
  gint32 merged;
} Bigram;

static inline gboolean
bigram_before (const Bigram *a, const Bigram *b)
{
  return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void
heap_push (GArray *heap, const Bigram *b)
{
  Bigram *h;
  guint i;

  g_array_append_vals (heap, b, 1);
  h = (Bigram *) heap->data;
  for (i = heap->len - 1; i > 0; )
    {
      guint parent = (i - 1) / 2;
      Bigram tmp;

      if (!bigram_before (&h[i], &h[parent]))
        break;
      tmp = h[i];
      h[i] = h[parent];
      h[parent] = tmp;
      i = parent;
    }
}

static Bigram
heap_pop (GArray *heap)
{
  Bigram *h = (Bigram *) heap->data;
  Bigram top = h[0];
  guint n = heap->len - 1;
  guint i = 0;

  h[0] = h[n];
  g_array_set_size (heap, n);
  for (;;)
    {
      guint l = 2 * i + 1, r = l + 1, best = i;
      Bigram tmp;

      if (l < n && bigram_before (&h[l], &h[best]))
        best = l;
      if (r < n && bigram_before (&h[r], &h[best]))
        best = r;
      if (best == i)
        break;
      tmp = h[i];
      h[i] = h[best];
      h[best] = tmp;
      i = best;
    }
  return top;
}

static void
try_bigram (const AttnvizTokenizer *self, const Sym *syms, int left, GArray *heap)
{
  const PairSlot *slot;
  Bigram b;
  int right;

  if (left < 0 || (right = syms[left].next) < 0)
    return;
  if (syms[left].id < 0 || syms[right].id < 0)
    return;
  slot = pair_table_lookup (&self->pairs, syms[left].id, syms[right].id);
  if (slot == NULL)
    return;
  b.score = slot->score;
  b.left = left;
  b.right = right;
  b.left_id = syms[left].id;
  b.right_id = syms[right].id;
  b.merged = slot->merged;
  heap_push (heap, &b);
}

/* Merges the N linked symbols in place, best pair first: a merge keeps the
 * left symbol and kills the right one, so live symbols stay in index order. */
static void
bpe_merge (const AttnvizTokenizer *self, Sym *syms, int n, GArray *heap)
{
  g_array_set_size (heap, 0);
  for (int i = 0; i < n; i++)
    try_bigram (self, syms, i, heap);
  while (heap->len > 0)
    {
      Bigram b = heap_pop (heap);
      Sym *l = &syms[b.left];
      Sym *r = &syms[b.right];

      /* Stale candidates: one side merged since it was queued. */
      if (!l->alive || !r->alive || l->next != b.right || l->id != b.left_id || r->id != b.right_id)
        continue;
      l->id = b.merged;
      l->end = r->end;
      l->wend = r->wend;
      l->next = r->next;
      if (r->next >= 0)
        syms[r->next].prev = b.left;
      r->alive = FALSE;
      try_bigram (self, syms, l->prev, heap);
      try_bigram (self, syms, b.left, heap);
    }
}

/* A GPT-2 word's tokens, spans relative to the word. */
typedef struct {
  gint32 id;
  guint32 start;
  guint32 end;
} WordToken;

static void
gpt2_encode_word (const AttnvizTokenizer *self, const guint8 *word, gsize n,
                  GArray *out, GArray *sym_buf, GArray *heap)
{
  Sym *syms;

  if (self->ignore_merges)
    {
      GString *mapped = g_string_sized_new (n * 2);
      int id;

      for (gsize i = 0; i < n; i++)
        g_string_append_unichar (mapped, self->byte_to_char[word[i]]);
      id = _attnviz_tokenizer_vocab_lookup (self, mapped->str);
      g_string_free (mapped, TRUE);
      if (id >= 0)
        {
          WordToken t = { id, 0, (guint32) n };

          g_array_append_val (out, t);
          return;
        }
    }

  g_array_set_size (sym_buf, n);
  syms = (Sym *) sym_buf->data;
  for (gsize i = 0; i < n; i++)
    {
      syms[i].id = self->byte_ids[word[i]];
      syms[i].prev = (int) i - 1;
      syms[i].next = i + 1 < n ? (int) i + 1 : -1;
      syms[i].start = syms[i].wstart = (guint32) i;
      syms[i].end = syms[i].wend = (guint32) i + 1;
      syms[i].alive = TRUE;
    }
  bpe_merge (self, syms, (int) n, heap);
  for (int i = 0; n > 0 && i >= 0; i = syms[i].next)
    {
      WordToken t = { syms[i].id >= 0 ? syms[i].id : self->unk_id, syms[i].start, syms[i].end };

      if (t.id >= 0)
        g_array_append_val (out, t);
    }
}

static void
word_tokens_free (gpointer data)
{
  g_array_unref (data);
}

/* Per-call state of _attnviz_tokenizer_encode_gpt2: a word cache and scratch buffers. */
typedef struct {
  GHashTable *cache; /* word bytes -> GArray of WordToken */
  GArray *sym_buf;
  GArray *heap;
  GArray *scratch;
} Gpt2State;

/* Encodes WORK[ws, we) as one pre-tokenized word; SHIFT is how many
 * working bytes precede the original text (an added prefix space). */
static void
gpt2_emit_word (const AttnvizTokenizer *self, Gpt2State *st, const char *work,
                gsize ws, gsize we, guint32 shift, GArray *tokens)
{
  const guint8 *word = (const guint8 *) work + ws;
  gsize n = we - ws;
  g_autoptr(GArray) uncached = NULL;
  GArray *pieces = NULL;
  char *key = NULL;

  /* A word with a NUL byte cannot be a string key: it skips the cache. */
  if (memchr (word, '\0', n) == NULL)
    {
      key = g_strndup ((const char *) word, n);
      pieces = g_hash_table_lookup (st->cache, key);
    }
  if (pieces == NULL)
    {
      g_array_set_size (st->scratch, 0);
      gpt2_encode_word (self, word, n, st->scratch, st->sym_buf, st->heap);
      pieces = g_array_copy (st->scratch);
      if (key != NULL)
        g_hash_table_insert (st->cache, g_steal_pointer (&key), pieces);
      else
        uncached = pieces;
    }
  g_free (key);

  for (guint i = 0; i < pieces->len; i++)
    {
      const WordToken *t = &g_array_index (pieces, WordToken, i);
      guint32 s = (guint32) ws + t->start;
      guint32 e = (guint32) ws + t->end;

      _attnviz_tokenizer_push_token (tokens, t->id, MAX (s, shift) - shift, MAX (e, shift) - shift,
                                     FALSE);
    }
}

/* Encodes every word of llama.cpp's pre-tokenizer; returns WLEN. */
static gsize
emit_llama_words (const AttnvizTokenizer *self, Gpt2State *st, const char *work, gsize wlen,
                  guint32 shift, GArray *tokens)
{
  g_autoptr(GArray) ends = g_array_new (FALSE, FALSE, sizeof (guint32));
  gsize done = 0;

  _attnviz_pretok_split (self->llama_pretok, work, wlen, ends);
  for (guint i = 0; i < ends->len; i++)
    {
      gsize end = g_array_index (ends, guint32, i);

      gpt2_emit_word (self, st, work, done, end, shift, tokens);
      done = end;
    }
  return wlen;
}

gboolean
_attnviz_tokenizer_encode_gpt2 (const AttnvizTokenizer *self, const char *text, gsize len,
                                GArray *tokens, GError **error)
{
  Gpt2State st;
  g_autoptr(GMatchInfo) match = NULL;
  g_autoptr(GError) re_error = NULL;
  g_autofree char *prefixed = NULL;
  const char *work = text;
  gsize wlen = len;
  guint32 shift = 0;
  gsize done = 0;

  if (len == 0)
    return TRUE;
  if (self->add_prefix_space && text[0] != ' ')
    {
      prefixed = g_malloc (len + 2);
      prefixed[0] = ' ';
      memcpy (prefixed + 1, text, len);
      prefixed[len + 1] = '\0';
      work = prefixed;
      wlen = len + 1;
      shift = 1;
    }

  st.cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, word_tokens_free);
  st.sym_buf = g_array_new (FALSE, FALSE, sizeof (Sym));
  st.heap = g_array_new (FALSE, FALSE, sizeof (Bigram));
  st.scratch = g_array_new (FALSE, FALSE, sizeof (WordToken));

  /* Each match is a word; text between matches (a Split pattern's gaps)
   * is a word too.  A GGUF vocabulary splits as llama.cpp does instead
   * (attnviz-tokenizer-pretok.c): its words cover the whole text. */
  if (self->llama_pretok != NULL)
    done = emit_llama_words (self, &st, work, wlen, shift, tokens);
  else
    g_regex_match_full (self->pretokenizer, work, wlen, 0, 0, &match, &re_error);
  while (re_error == NULL && match != NULL && g_match_info_matches (match))
    {
      int ms, me;

      g_match_info_fetch_pos (match, 0, &ms, &me);
      if ((gsize) ms > done)
        gpt2_emit_word (self, &st, work, done, ms, shift, tokens);
      if (me > ms)
        gpt2_emit_word (self, &st, work, ms, me, shift, tokens);
      done = MAX (done, (gsize) me);
      g_match_info_next (match, &re_error);
    }
  if (re_error == NULL && done < wlen)
    gpt2_emit_word (self, &st, work, done, wlen, shift, tokens);

  g_hash_table_unref (st.cache);
  g_array_unref (st.sym_buf);
  g_array_unref (st.heap);
  g_array_unref (st.scratch);

  if (re_error != NULL)
    {
      /* The pattern comes from the tokenizer's file, not from the text:
       * G_REGEX_ERROR tells callers to blame that file. */
      g_set_error (error, G_REGEX_ERROR, re_error->domain == G_REGEX_ERROR ? re_error->code : G_REGEX_ERROR_MATCH,
                   "the pre-tokenizer's split pattern failed on this text: %s", re_error->message);
      return FALSE;
    }
  return TRUE;
}

static void
emit_fallback (const AttnvizTokenizer *self, const char *work, const Sym *s, GArray *tokens,
               gboolean *last_unk)
{
  if (self->byte_fallback)
    {
      gboolean all = TRUE;

      for (guint32 b = s->wstart; b < s->wend; b++)
        all = all && self->byte_ids[(guint8) work[b]] >= 0;
      if (all)
        {
          /* Every byte of the character shares its span. */
          for (guint32 b = s->wstart; b < s->wend; b++)
            _attnviz_tokenizer_push_token (tokens, self->byte_ids[(guint8) work[b]], s->start, s->end,
                                           FALSE);
          *last_unk = FALSE;
          return;
        }
    }
  if (self->unk_id < 0)
    return;
  if (self->fuse_unk && *last_unk)
    {
      g_array_index (tokens, AttnvizToken, tokens->len - 1).end = s->end;
      return;
    }
  _attnviz_tokenizer_push_token (tokens, self->unk_id, s->start, s->end, FALSE);
  *last_unk = TRUE;
}

void
_attnviz_tokenizer_encode_spm (const AttnvizTokenizer *self, const char *text, gsize len,
                               GArray *tokens)
{
  g_autoptr(GArray) sym_buf = g_array_new (FALSE, FALSE, sizeof (Sym));
  g_autoptr(GArray) heap = g_array_new (FALSE, FALSE, sizeof (Bigram));
  g_autoptr(GString) work = g_string_sized_new (len + len / 4 + 8);
  gboolean last_unk = FALSE;
  Sym *syms;
  int n;

  if (len == 0)
    return;

  /* One symbol per character of the normalised text ("▁" + text with
   * ' ' -> "▁"); the prepended "▁" has no source and an empty span at 0. */
  if (self->prepend != NULL && self->prepend[0] != '\0')
    {
      Sym s = { -1, 0, 0, 0, 0, 0, 0, TRUE };

      s.wstart = work->len;
      g_string_append (work, self->prepend);
      s.wend = work->len;
      g_array_append_val (sym_buf, s);
    }
  for (const char *p = text; p < text + len; p = g_utf8_next_char (p))
    {
      gsize clen = g_utf8_next_char (p) - p;
      Sym s = { -1, 0, 0, 0, 0, 0, 0, TRUE };

      s.start = (guint32) (p - text);
      s.end = (guint32) (p - text + clen);
      s.wstart = work->len;
      if (*p == ' ' && self->space != NULL)
        g_string_append (work, self->space);
      else
        g_string_append_len (work, p, clen);
      s.wend = work->len;
      g_array_append_val (sym_buf, s);
    }

  syms = (Sym *) sym_buf->data;
  n = (int) sym_buf->len;
  for (int i = 0; i < n; i++)
    {
      const char *unit = work->str + syms[i].wstart;
      gsize ulen = syms[i].wend - syms[i].wstart;
      /* Metaspace split: a "▁" starts a new word, merges stay inside words. */
      gboolean starts_word = i == 0;
      gboolean next_starts_word = i + 1 == n;

      if (self->split_on_space && self->space != NULL)
        {
          gsize sl = strlen (self->space);

          starts_word = starts_word || (ulen == sl && memcmp (unit, self->space, sl) == 0);
          if (i + 1 < n)
            next_starts_word = syms[i + 1].wend - syms[i + 1].wstart == sl
              && memcmp (work->str + syms[i + 1].wstart, self->space, sl) == 0;
        }
      syms[i].prev = starts_word ? -1 : i - 1;
      syms[i].next = next_starts_word ? -1 : i + 1;
      syms[i].id = _attnviz_tokenizer_vocab_lookup_len (self, unit, ulen);
      if (syms[i].id >= 0 && (self->flags[syms[i].id] & PIECE_SPECIAL))
        syms[i].id = -1; /* text never spells a control token */
    }

  bpe_merge (self, syms, n, heap);

  for (int i = 0; i < n; i++)
    {
      if (!syms[i].alive)
        continue;
      if (syms[i].id >= 0)
        {
          _attnviz_tokenizer_push_token (tokens, syms[i].id, syms[i].start, syms[i].end, FALSE);
          last_unk = FALSE;
        }
      else
        emit_fallback (self, work->str, &syms[i], tokens, &last_unk);
    }
}
