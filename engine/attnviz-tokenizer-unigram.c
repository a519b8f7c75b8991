/* attnviz-tokenizer-unigram.c: SentencePiece's Unigram model
 *
 * T5's tokenizer.json ("model": {"type": "Unigram"}):
 *   model.vocab   [[piece, score], ...], the id is the index; scores are
 *                 log probabilities (finite, at most 0 in real files)
 *   model.unk_id  the id of the unknown piece
 *   model.byte_fallback  not supported (T5 has none): an error
 * The text is split at white space (T5's WhitespaceSplit pre-tokenizer)
 * and each word gets a "▁" in front (Metaspace, prepend_scheme "always");
 * the segmentation of "▁word" is the path through the word's characters
 * whose pieces have the highest total score (Viterbi), as SentencePiece
 * and Hugging Face's Unigram::encode find it.  A character no piece
 * starts with is the unknown piece, scored min_score - 10 (SentencePiece's
 * kUnkPenalty), and neighbouring unknowns fuse into one token.
 *
 * Normalization first, then the split into words:
 *   a precompiled character map (a .spm's normalizer_spec, T5's
 *   Precompiled normalizer, a GGUF's tokenizer.ggml.precompiled_charsmap):
 *     applied as SentencePiece's Normalizer applies it (attnviz-charsmap.c),
 *     then its white-space rules: words are split at ' ' only (the map
 *     has made tabs, newlines, NBSP, U+3000 and the like spaces), each
 *     space the "▁" of the word after it (escape_whitespaces); runs of
 *     spaces count once and none at either end (remove_extra_whitespaces,
 *     unless keep_extra_spaces: encode_chunks); the first word gets a "▁"
 *     too (add_dummy_prefix, unless no_dummy_prefix).  A .spm's and a
 *     GGUF's flags say which; tokenizer.json's T5 files have the defaults;
 *   no map, but a tokenizer.json normalizer that names NFKC (or a
 *     Precompiled one without precompiled_charsmap): GLib's NFKC stands in
 *     (normalize_nfkc below), words split at any white space;
 *   neither: the text as typed, split at any white space.
 * The tokens' spans point back into the text as typed, through the
 * normalizer's byte alignment.  Sentinels (<extra_id_N>) and other
 * added tokens are split out of the text before this sees it, whole.
 * GGUF's "t5" vocabulary (attnviz-tokenizer-gguf.c) comes here too.
 */
#define G_LOG_DOMAIN "attnviz-tokenizer"
#include "config.h"

#include <math.h>
#include <string.h>

#include <gio/gio.h>

#include "attnviz-fileutil.h"
#include "attnviz-tokenizer-private.h"

#define UNK_PENALTY 10.0

/* The piece spelt by bytes [a, b) of WORK (whose prefix hashes are PRE,
 * POW), or -1; a hash match is checked against the piece's bytes, so no
 * collision picks a wrong piece. */
static int
piece_at (const AttnvizTokenizer *self, const char *work, const guint64 *pre, const guint64 *pow, gsize a, gsize b)
{
  int id = _attnviz_piece_index_lookup (&self->piece_index, pre, pow, a, b);
  if (id < 0)
    return -1;
  const char *piece = g_ptr_array_index (self->pieces, id);
  return memcmp (piece, work + a, b - a) == 0 && piece[b - a] == '\0' ? id : -1;
}

gboolean
_attnviz_tokenizer_load_unigram (AttnvizTokenizer *self, Loader *loader, JsonObject *model, const char *path,
                                 GError **error)
{
  JsonNode *vocab_node = json_object_has_member (model, "vocab") ? json_object_get_member (model, "vocab") : NULL;
  if (vocab_node == NULL || !JSON_NODE_HOLDS_ARRAY (vocab_node))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: model.vocab of a Unigram model is not a list of [piece, score]", path);
      return FALSE;
    }
  JsonArray *vocab = json_node_get_array (vocab_node);
  guint n = json_array_get_length (vocab);
  if (n == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: the Unigram vocabulary has no pieces", path);
      return FALSE;
    }
  if (n > MAX_VOCAB_ID)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %u Unigram pieces are too many", path, n);
      return FALSE;
    }
  JsonNode *fallback = json_object_has_member (model, "byte_fallback")
                         ? json_object_get_member (model, "byte_fallback") : NULL;
  if (fallback && JSON_NODE_HOLDS_VALUE (fallback) && json_node_get_value_type (fallback) == G_TYPE_BOOLEAN
      && json_node_get_boolean (fallback))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: a Unigram model with byte_fallback is not supported", path);
      return FALSE;
    }

  self->kind = ATTNVIZ_TOKENIZER_UNIGRAM;
  self->scores = g_new (double, n);
  self->n_scores = n;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (vocab, i);
      JsonArray *pair = JSON_NODE_HOLDS_ARRAY (e) ? json_node_get_array (e) : NULL;
      JsonNode *p = pair && json_array_get_length (pair) == 2 ? json_array_get_element (pair, 0) : NULL;
      JsonNode *s = pair && json_array_get_length (pair) == 2 ? json_array_get_element (pair, 1) : NULL;
      if (p == NULL || !JSON_NODE_HOLDS_VALUE (p) || json_node_get_value_type (p) != G_TYPE_STRING
          || !JSON_NODE_HOLDS_VALUE (s)
          || (json_node_get_value_type (s) != G_TYPE_DOUBLE && json_node_get_value_type (s) != G_TYPE_INT64)
          || !isfinite (json_node_get_double (s)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: model.vocab[%u] is not [piece, finite score]", path, i);
          return FALSE;
        }
      const char *piece = json_node_get_string (p);
      if (piece[0] == '\0')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: model.vocab[%u] is an empty piece", path, i);
          return FALSE;
        }
      if (!_attnviz_tokenizer_vocab_add (self, piece, i, path, "model.vocab", error))
        return FALSE;
      self->scores[i] = json_node_get_double (s);
    }

  JsonNode *unk = json_object_has_member (model, "unk_id") ? json_object_get_member (model, "unk_id") : NULL;
  if (unk != NULL && !JSON_NODE_HOLDS_NULL (unk))
    {
      gint64 id = JSON_NODE_HOLDS_VALUE (unk) && json_node_get_value_type (unk) == G_TYPE_INT64
                    ? json_node_get_int (unk) : -1;
      if (id < 0 || id >= n)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: model.unk_id is not an id of the %u pieces", path, n);
          return FALSE;
        }
      g_free (loader->unk_name);
      loader->unk_name = g_strdup (g_ptr_array_index (self->pieces, id));
    }
  return TRUE;
}

gboolean
_attnviz_tokenizer_read_precompiled (AttnvizTokenizer *self, JsonObject *norm, const char *path, GError **error)
{
  JsonNode *t = norm && json_object_has_member (norm, "type") ? json_object_get_member (norm, "type") : NULL;
  const char *type = t && JSON_NODE_HOLDS_VALUE (t) && json_node_get_value_type (t) == G_TYPE_STRING
                       ? json_node_get_string (t) : "";

  if (g_str_equal (type, "Sequence"))
    {
      JsonNode *l = json_object_get_member (norm, "normalizers");
      JsonArray *list = l && JSON_NODE_HOLDS_ARRAY (l) ? json_node_get_array (l) : NULL;
      for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
        {
          JsonNode *n = json_array_get_element (list, i);
          if (JSON_NODE_HOLDS_OBJECT (n)
              && !_attnviz_tokenizer_read_precompiled (self, json_node_get_object (n), path, error))
            return FALSE;
        }
      return TRUE;
    }
  JsonNode *map = g_str_equal (type, "Precompiled") && json_object_has_member (norm, "precompiled_charsmap")
                    ? json_object_get_member (norm, "precompiled_charsmap") : NULL;
  if (map == NULL || JSON_NODE_HOLDS_NULL (map))
    return TRUE;
  const char *b64 = JSON_NODE_HOLDS_VALUE (map) && json_node_get_value_type (map) == G_TYPE_STRING
                      ? json_node_get_string (map) : NULL;
  if (b64 != NULL && b64[0] == '\0')
    return TRUE;
  attnviz_charsmap_free (self->charsmap);
  self->charsmap = attnviz_charsmap_new_from_base64 (b64, path, error);
  return self->charsmap != NULL;
}

void
_attnviz_tokenizer_unigram_finish (AttnvizTokenizer *self)
{
  /* An unknown costs 10 less than the least likely piece that can be
   * produced (llama.cpp counts normal pieces only; HF's T5 files give
   * their specials a score of 0, so the two agree). */
  self->min_score = 0.0;
  for (guint i = 0; i < self->n_scores; i++)
    if (!(self->flags[i] & PIECE_SPECIAL))
      self->min_score = MIN (self->min_score, self->scores[i]);
  g_free (self->space);
  self->space = g_strdup (METASPACE);
  _attnviz_piece_index_init (&self->piece_index, self);
}

/* One word [ws, we) of TEXT: the best segmentation of "▁" + word (of
 * the word alone without PREFIX).  The "▁" stands for the white-space
 * character [ps, ws) before the word, as a space is its "▁" in
 * SentencePiece BPE (empty at the text's start). */
static void
encode_word (const AttnvizTokenizer *self, const char *text, gsize ps, gsize ws, gsize we, gboolean prefix,
             GArray *tokens)
{
  /* work: "▁" then the word */
  gsize ml = prefix ? strlen (METASPACE) : 0, wl = ml + (we - ws);
  g_autofree char *work = g_malloc (wl + 1);
  memcpy (work, METASPACE, ml);
  memcpy (work + ml, text + ws, we - ws);
  work[wl] = '\0';

  /* char_at[b]: the index of the character starting at byte b of work, -1
   * inside a character; off[c]: where character c starts */
  g_autofree int *char_at = g_new (int, wl + 1);
  g_autoptr(GArray) at = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (gsize b = 0; b <= wl; b++)
    char_at[b] = -1;
  for (const char *p = work; p < work + wl; p = g_utf8_next_char (p))
    {
      guint32 o = (guint32) (p - work);
      char_at[o] = (int) at->len;
      g_array_append_val (at, o);
    }
  guint32 endo = (guint32) wl;
  char_at[wl] = (int) at->len;
  g_array_append_val (at, endo);
  int nc = (int) at->len - 1;
  const guint32 *off = (const guint32 *) at->data;

  /* whether bytes [a, b) of work are a piece: O(1) from prefix hashes, over
   * the vocabulary's distinct piece lengths only (a hostile 4 MiB piece
   * costs nothing per character) */
  const AttnvizPieceIndex *ix = &self->piece_index;
  g_autofree guint64 *pre = g_new (guint64, wl + 1);
  g_autofree guint64 *pow = g_new (guint64, wl + 1);
  _attnviz_piece_index_prefixes (ix, work, wl, pre, pow);

  /* best[i]: the best score of the first i characters, from[i] where its
   * last piece starts (-1: not reached yet), piece[i] that piece (-1:
   * unknown).  Reached is from[i], not the score: finite scores of -1e308
   * add up to -inf on a path that is there all the same. */
  g_autofree double *best = g_new (double, nc + 1);
  g_autofree int *from = g_new (int, nc + 1);
  g_autofree gint32 *piece = g_new (gint32, nc + 1);
  best[0] = 0.0;
  from[0] = 0;
  for (int i = 1; i <= nc; i++)
    best[i] = -INFINITY, from[i] = -1;
  double unk_score = self->min_score - UNK_PENALTY;
  for (int s = 0; s < nc; s++)
    {
      if (from[s] < 0)
        continue;
      gboolean single = FALSE;
      for (guint k = 0; k < ix->n_lengths; k++)
        {
          gsize end = off[s] + (gsize) ix->lengths[k];
          if (end > wl || char_at[end] < 0)
            continue;
          int e = char_at[end];
          int id = piece_at (self, work, pre, pow, off[s], end);
          if (id < 0 || (guint) id >= self->n_scores || (self->flags[id] & (PIECE_SPECIAL | PIECE_UNUSED))
              || id == self->unk_id)
            continue;
          single |= e == s + 1;
          double sc = best[s] + self->scores[id];
          if (from[e] < 0 || sc > best[e])
            {
              best[e] = sc;
              from[e] = s;
              piece[e] = id;
            }
        }
      if (!single && (from[s + 1] < 0 || best[s] + unk_score > best[s + 1]))
        {
          best[s + 1] = best[s] + unk_score;
          from[s + 1] = s;
          piece[s + 1] = -1;
        }
    }

  /* back from the end, then out in order, unknowns fused */
  g_autoptr(GArray) path = g_array_new (FALSE, FALSE, sizeof (int));
  for (int e = nc; e > 0; e = from[e])
    g_array_append_val (path, e);
  for (int k = (int) path->len - 1; k >= 0; k--)
    {
      int e = g_array_index (path, int, k), s = from[e];
      guint32 start = (guint32) (off[s] < ml ? ps : ws + off[s] - ml);
      guint32 end = (guint32) (ws + (off[e] < ml ? 0 : off[e] - ml));
      gint32 id = piece[e] >= 0 ? piece[e] : self->unk_id;
      if (piece[e] < 0 && tokens->len > 0 && k < (int) path->len - 1
          && piece[g_array_index (path, int, k + 1)] < 0)
        {
          g_array_index (tokens, AttnvizToken, tokens->len - 1).end = end;
          continue;
        }
      _attnviz_tokenizer_push_token (tokens, id, start, end, FALSE);
    }
}

/* White space between words: only ' ' after a character map (what
 * SentencePiece's Normalizer treats as one), any white space otherwise. */
static inline gboolean
is_space (const char *p, gboolean space_only)
{
  return space_only ? *p == ' ' : g_unichar_isspace (g_utf8_get_char (p));
}

/* After a map whose spec keeps extra white space (remove_extra_whitespaces
 * false): every ' ' is a "▁" that starts a chunk, the non-space text
 * after it its word (so "a  b" is "▁a" "▁" "▁b"); the text's first word
 * gets the dummy "▁" (empty, at 0) when DUMMY, alone when the text starts
 * with a space or the map removed all of it (TYPED: the text as typed was
 * not empty).  As SentencePiece segments "▁a▁▁b" when no piece holds a
 * "▁" past its start (split_by_whitespace, the trainer's default). */
static void
encode_chunks (const AttnvizTokenizer *self, const char *text, gsize len, gboolean typed, gboolean dummy,
               GArray *tokens)
{
  gsize i = 0;
  while (i < len && text[i] != ' ')
    i = g_utf8_next_char (text + i) - text;
  if (i > 0 || (typed && dummy))
    encode_word (self, text, 0, 0, i, dummy, tokens);
  while (i < len)
    {
      gsize ps = i++, ws = i;
      while (i < len && text[i] != ' ')
        i = g_utf8_next_char (text + i) - text;
      encode_word (self, text, ps, ws, i, TRUE, tokens);
    }
}

/* The words of TEXT (LEN bytes); SPACE_ONLY after a map (which has left
 * LEN bytes of a text TYPED bytes long). */
static void
encode_words (const AttnvizTokenizer *self, const char *text, gsize len, gboolean space_only, gsize typed,
              GArray *tokens)
{
  gsize i = 0, ps = 0;
  guint first = tokens->len;
  /* the spec's white-space flags count after a map only (space_only) */
  gboolean dummy = !(space_only && self->no_dummy_prefix);
  if (space_only && self->keep_extra_spaces)
    {
      encode_chunks (self, text, len, typed > 0, dummy, tokens);
      i = len;
    }
  while (i < len)
    {
      while (i < len && is_space (text + i, space_only))
        {
          ps = i;
          i = g_utf8_next_char (text + i) - text;
        }
      gsize ws = i;
      if (ws == 0)
        ps = 0;
      while (i < len && !is_space (text + i, space_only))
        i = g_utf8_next_char (text + i) - text;
      if (i > ws)
        encode_word (self, text, ps, ws, i, dummy || tokens->len > first, tokens);
    }
  for (guint k = first; self->unk_by_surface && k < tokens->len; k++)
    {
      AttnvizToken *t = &g_array_index (tokens, AttnvizToken, k);
      int id = t->id == self->unk_id ? _attnviz_tokenizer_vocab_lookup_len (self, text + t->start, t->end - t->start)
                                     : -1;
      if (id >= 0)
        t->id = id;
    }
}

/* A tokenizer.json that names NFKC but carries no precompiled map: GLib's
 * NFKC, cluster by cluster: a character and the combining marks after it
 * go through NFKC together (so "e" + U+0301 becomes "é", "ﬁ" "fi",
 * full-width letters ASCII), a control character that is not white space
 * is dropped.  FROM[b], TO[b]: the span of TEXT that byte b of the result
 * came from.  This only approximates SentencePiece's nmt_nfkc (which
 * differs on white space, controls and some compatibility characters):
 * with a map, the map is applied instead (attnviz-charsmap.c). */
static char *
normalize_nfkc (const char *text, gsize len, GArray *from, GArray *to)
{
  GString *out = g_string_sized_new (len + 8);
  const char *end = text + len;
  for (const char *p = text; p < end; )
    {
      const char *q = g_utf8_next_char (p);
      while (q < end)
        {
          GUnicodeType t = g_unichar_type (g_utf8_get_char (q));
          if (t != G_UNICODE_NON_SPACING_MARK && t != G_UNICODE_SPACING_MARK && t != G_UNICODE_ENCLOSING_MARK)
            break;
          q = g_utf8_next_char (q);
        }
      gunichar c = g_utf8_get_char (p);
      gsize before = out->len;
      gboolean alone = q == g_utf8_next_char (p);
      if (alone && c >= 0x20 && c < 0x7f)
        g_string_append_c (out, (char) c);   /* ASCII stays itself: no allocation per letter */
      else if (alone && g_unichar_type (c) == G_UNICODE_CONTROL && !g_unichar_isspace (c))
        ;
      else
        {
          g_autofree char *n = g_utf8_normalize (p, q - p, G_NORMALIZE_NFKC);
          if (n != NULL)
            g_string_append (out, n);
          else
            g_string_append_len (out, p, q - p);
        }
      guint32 a = (guint32) (p - text), b = (guint32) (q - text);
      for (gsize k = before; k < out->len; k++)
        {
          g_array_append_val (from, a);
          g_array_append_val (to, b);
        }
      p = q;
    }
  return g_string_free (out, FALSE);
}

gboolean
_attnviz_tokenizer_encode_unigram (const AttnvizTokenizer *self, const char *text, gsize len, GArray *tokens,
                                   GError **error)
{
  if (self->charsmap == NULL && !self->nfkc)
    {
      encode_words (self, text, len, FALSE, len, tokens);
      return TRUE;
    }
  g_autoptr(GArray) from = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) to = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autofree char *norm = self->charsmap ? attnviz_charsmap_normalize (self->charsmap, text, len, from, to, error)
                                         : normalize_nfkc (text, len, from, to);
  if (norm == NULL)
    return FALSE;   /* the map lengthens the text too much */
  guint first = tokens->len;
  encode_words (self, norm, from->len, self->charsmap != NULL, len, tokens);
  /* spans back onto the text as typed: a token covers every character
   * any of its bytes came from, but a character whose replacement is cut
   * between tokens ("ﬁ" as "▁f" "i") belongs to the first of them, and
   * the others start after it (empty when they lie within it), so spans
   * stay in order and do not overlap */
  const guint32 *fr = (const guint32 *) from->data, *tr = (const guint32 *) to->data;
  for (guint i = first; i < tokens->len; i++)
    {
      AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);
      guint32 s = t->start, e = t->end;
      if (s >= from->len)
        t->start = (guint32) len;
      else
        t->start = s > 0 && fr[s - 1] == fr[s] ? tr[s] : fr[s];
      t->end = e > s ? MAX (tr[e - 1], t->start) : t->start;
    }
  return TRUE;
}
