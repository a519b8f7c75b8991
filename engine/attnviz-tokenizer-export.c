/* attnviz-tokenizer-export.c: a tokenizer written as GGUF metadata
 *
 * The inverse of attnviz-tokenizer-gguf.c, for `attnviz convert`: the keys
 * llama.cpp's converter writes (convert_hf_to_gguf.py), chosen so that
 * llama.cpp and attnviz_tokenizer_new_from_gguf encode a text as the
 * tokenizer loaded from the Hugging Face folder does.
 *
 *   tokenizer.ggml.model         "llama" (SentencePiece BPE), "gpt2"
 *                                (byte-level BPE) or "bert" (WordPiece)
 *   tokenizer.ggml.pre           gpt2: llama.cpp's name for the folder's
 *                                splitting regex ("gpt-2", "llama-bpe",
 *                                "smaug-bpe", "qwen2"); bert, llama: "default"
 *   tokenizer.ggml.tokens        the pieces by id; ids with no piece, and
 *                                the ids past the tokenizer up to the
 *                                model's vocabulary, "[PADi]".  bert: the
 *                                converter's phantom-space spelling, "▁" +
 *                                a word-initial piece, a "##" piece bare,
 *                                special pieces as they are
 *   tokenizer.ggml.scores        llama: the SentencePiece scores when the
 *                                folder has them (sentencepiece_scores.json);
 *                                otherwise made from the merge ranks: a
 *                                piece scores minus the rank of the first
 *                                merge that makes it, so that llama.cpp's
 *                                highest-score-first merging takes the
 *                                merges in rank order; pieces no merge
 *                                makes score below every merge
 *   tokenizer.ggml.token_type    1 normal, 2 unknown (llama, the unknown
 *                                piece), 3 control (the special pieces),
 *                                4 user-defined (the pieces cut out of the
 *                                text before it is tokenized: only a
 *                                tokenizer read from GGUF has them; the
 *                                Hugging Face loader cuts none), 5 unused
 *                                (the padding), 6 byte (llama's "<0xNN>")
 *   tokenizer.ggml.merges        gpt2: "left right" in rank order
 *   tokenizer.ggml.bos/eos/unknown/padding_token_id (llama, gpt2; 0xFFFFFFFF
 *                                for llama's BOS, EOS or UNK when there is
 *                                none, so that llama.cpp's defaults 1, 2, 0
 *                                do not apply); bert: cls, seperator (sic),
 *                                unknown, padding and mask ids
 *   tokenizer.ggml.add_bos_token, add_eos_token
 *                                what add_special puts around the text
 *                                (llama, gpt2); bert always adds [CLS] and
 *                                [SEP]
 *   tokenizer.ggml.add_space_prefix   llama: the folder's "▁" prepend
 *   tokenizer.ggml.normalizer.lowercase, .strip_accents   bert
 */
#define G_LOG_DOMAIN "attnviz-tokenizer"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "attnviz-gguf.h"
#include "attnviz-tokenizer-private.h"

enum {
  TYPE_NORMAL = 1,
  TYPE_UNKNOWN = 2,
  TYPE_CONTROL = 3,
  TYPE_USER_DEFINED = 4,
  TYPE_UNUSED = 5,
  TYPE_BYTE = 6,
};

#define NO_TOKEN G_MAXUINT32

/* Hugging Face splitting regexes and the tokenizer.ggml.pre llama.cpp
 * splits the same way (attnviz-tokenizer-pretok.c). */
static const struct {
  const char *regex;
  const char *pre;          /* with ignore_merges off */
  const char *pre_ignore;   /* with ignore_merges on, or NULL */
} known_regexes[] = {
  { "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", "gpt-2", NULL },
  { "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "smaug-bpe", "llama-bpe" },
  { "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "qwen2", NULL },
};

static gboolean
unsupported (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
unsupported (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "the tokenizer cannot be written as GGUF: %s", msg);
  return FALSE;
}

/* What the export gathers before it writes: N pieces and their types. */
typedef struct {
  const AttnvizTokenizer *tok;
  gsize n;
  char **pieces;   /* (n + 1) NULL-terminated */
  gint32 *types;   /* (n) */
} Vocab;

static void
vocab_clear (Vocab *v)
{
  g_strfreev (v->pieces);
  g_free (v->types);
}

static const char *
piece_of (const AttnvizTokenizer *tok, gsize id)
{
  return id < tok->pieces->len ? g_ptr_array_index (tok->pieces, id) : NULL;
}

/* Pieces by id, spelled by SPELL (NULL: as they are), padding named
 * "[PADi]"; no piece twice (llama.cpp refuses such a vocabulary). */
static gboolean
vocab_build (Vocab *v, const AttnvizTokenizer *tok, int n_vocab,
             char *(*spell) (const AttnvizTokenizer *tok, gsize id, const char *piece), GError **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  v->tok = tok;
  v->n = MAX ((gsize) MAX (n_vocab, 0), tok->pieces->len);
  v->pieces = g_new0 (char *, v->n + 1);
  v->types = g_new (gint32, v->n);
  for (gsize id = 0; id < v->n; id++)
    {
      const char *piece = piece_of (tok, id);
      gboolean special = piece != NULL && (tok->flags[id] & PIECE_SPECIAL);

      if (piece == NULL || piece[0] == '\0')
        {
          v->pieces[id] = g_strdup_printf ("[PAD%" G_GSIZE_FORMAT "]", id);
          v->types[id] = TYPE_UNUSED;
        }
      else
        {
          v->pieces[id] = spell != NULL ? spell (tok, id, piece) : g_strdup (piece);
          v->types[id] = special ? TYPE_CONTROL : TYPE_NORMAL;
        }
    }
  for (int i = 0; i < tok->n_split; i++)
    v->types[tok->split_ids[i]] = TYPE_USER_DEFINED;
  for (gsize id = 0; id < v->n; id++)
    {
      if (!g_hash_table_add (seen, v->pieces[id]))
        {
          g_autofree char *shown = g_strescape (v->pieces[id], NULL);
          return unsupported (error, "piece %" G_GSIZE_FORMAT " would be written as \"%s\" twice", id, shown);
        }
    }
  return TRUE;
}

static void
write_vocab (AttnvizGgufWriter *w, const Vocab *v)
{
  attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.tokens", (const char *const *) v->pieces, v->n);
}

static void
write_types (AttnvizGgufWriter *w, const Vocab *v)
{
  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.token_type", ATTNVIZ_GGUF_INT32, v->types, v->n);
}

static void
write_id (AttnvizGgufWriter *w, const char *name, int id, gboolean none_too)
{
  g_autofree char *key = g_strdup_printf ("tokenizer.ggml.%s_token_id", name);
  if (id >= 0)
    attnviz_gguf_writer_add_uint32 (w, key, (guint32) id);
  else if (none_too)
    attnviz_gguf_writer_add_uint32 (w, key, NO_TOKEN);
}

/* add_bos_token and add_eos_token from what add_special puts around the
 * text: GGUF says at most BOS before and EOS after. */
static gboolean
write_add_special (AttnvizGgufWriter *w, const AttnvizTokenizer *tok, GError **error)
{
  if (tok->n_prefix > 1 || (tok->n_prefix == 1 && tok->prefix[0] != tok->bos_id))
    return unsupported (error, "it puts %d tokens before the text, not BOS alone", tok->n_prefix);
  if (tok->n_suffix > 1 || (tok->n_suffix == 1 && tok->suffix[0] != tok->eos_id))
    return unsupported (error, "it puts %d tokens after the text, not EOS alone", tok->n_suffix);
  attnviz_gguf_writer_add_bool (w, "tokenizer.ggml.add_bos_token", tok->n_prefix == 1);
  attnviz_gguf_writer_add_bool (w, "tokenizer.ggml.add_eos_token", tok->n_suffix == 1);
  return TRUE;
}

/* The merges in rank order: (left, right, merged) triples from the pair
 * table, whose scores are minus the ranks. */
static int
by_score_desc (gconstpointer a, gconstpointer b)
{
  const PairSlot *x = *(const PairSlot *const *) a, *y = *(const PairSlot *const *) b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return (x->key > y->key) - (x->key < y->key);
}

static GPtrArray *
sorted_pairs (const AttnvizTokenizer *tok)
{
  GPtrArray *out = g_ptr_array_new ();
  for (gsize i = 0; tok->pairs.slots != NULL && i <= tok->pairs.mask; i++)
    if (tok->pairs.slots[i].key != PAIR_EMPTY)
      g_ptr_array_add (out, &tok->pairs.slots[i]);
  g_ptr_array_sort (out, by_score_desc);
  return out;
}

/* ---------------------------------------------------------------- llama (SentencePiece) */

static gboolean
write_spm (const AttnvizTokenizer *tok, AttnvizGgufWriter *w, int n_vocab, GError **error)
{
  Vocab v = { 0 };
  g_autofree float *scores = NULL;

  if (tok->space == NULL || !g_str_equal (tok->space, METASPACE))
    return unsupported (error, "SentencePiece without spaces as \"▁\"");
  if (tok->prepend != NULL && !g_str_equal (tok->prepend, METASPACE))
    return unsupported (error, "it puts \"%s\" before the text, where llama.cpp puts \"▁\"", tok->prepend);
  if (!vocab_build (&v, tok, n_vocab, NULL, error))
    {
      vocab_clear (&v);
      return FALSE;
    }

  scores = g_new (float, v.n);
  if (tok->scores != NULL)
    {
      for (gsize id = 0; id < v.n; id++)
        scores[id] = id < tok->pieces->len ? (float) tok->scores[id] : -1000.0f;
    }
  else
    {
      /* Merge by rank: a piece scores minus the rank of its first merge
       * (ranks count 0, 1, 2 ...; the pair table holds minus the rank). */
      g_autoptr(GPtrArray) pairs = sorted_pairs (tok);
      float floor = -(float) pairs->len - 1.0f;
      for (gsize id = 0; id < v.n; id++)
        scores[id] = floor;
      for (guint i = pairs->len; i-- > 0;)
        {
          const PairSlot *s = g_ptr_array_index (pairs, i);
          scores[s->merged] = (float) -i;
        }
      for (gsize id = tok->pieces->len; id < v.n; id++)
        scores[id] = -1000.0f + floor;
    }
  for (gsize id = 0; id < tok->pieces->len; id++)
    {
      if (tok->flags[id] & PIECE_BYTE)
        v.types[id] = TYPE_BYTE;
      if ((int) id == tok->unk_id)
        v.types[id] = TYPE_UNKNOWN;
    }

  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "llama");
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.pre", "default");
  write_vocab (w, &v);
  attnviz_gguf_writer_add_array (w, "tokenizer.ggml.scores", ATTNVIZ_GGUF_FLOAT32, scores, v.n);
  write_types (w, &v);
  write_id (w, "bos", tok->bos_id, TRUE);
  write_id (w, "eos", tok->eos_id, TRUE);
  write_id (w, "unknown", tok->unk_id, TRUE);
  write_id (w, "padding", tok->pad_id, FALSE);
  attnviz_gguf_writer_add_bool (w, "tokenizer.ggml.add_space_prefix", tok->prepend != NULL);
  vocab_clear (&v);
  return write_add_special (w, tok, error);
}

/* ---------------------------------------------------------------- gpt2 (byte-level BPE) */

static const char *
gpt2_pre (const AttnvizTokenizer *tok)
{
  if (tok->llama_pretok != NULL)
    return tok->llama_pretok->names[0];
  if (tok->pretokenizer == NULL)
    return NULL;
  const char *regex = g_regex_get_pattern (tok->pretokenizer);
  for (gsize i = 0; i < G_N_ELEMENTS (known_regexes); i++)
    if (g_str_equal (regex, known_regexes[i].regex))
      return tok->ignore_merges ? known_regexes[i].pre_ignore : known_regexes[i].pre;
  return NULL;
}

static gboolean
write_gpt2 (const AttnvizTokenizer *tok, AttnvizGgufWriter *w, int n_vocab, GError **error)
{
  Vocab v = { 0 };
  const char *pre = gpt2_pre (tok);

  if (pre == NULL)
    {
      g_autofree char *shown = tok->pretokenizer ? g_strescape (g_regex_get_pattern (tok->pretokenizer), NULL)
                                                 : g_strdup ("(none)");
      return unsupported (error, "llama.cpp has no pre-tokenizer for the splitting regex \"%s\"%s", shown,
                          tok->ignore_merges ? " with ignore_merges" : "");
    }
  if (tok->add_prefix_space)
    return unsupported (error, "llama.cpp's byte-level BPE has no add_prefix_space");
  if (!vocab_build (&v, tok, n_vocab, NULL, error))
    {
      vocab_clear (&v);
      return FALSE;
    }

  g_autoptr(GPtrArray) pairs = sorted_pairs (tok);
  char **merges = g_new0 (char *, pairs->len + 1);
  for (guint i = 0; i < pairs->len; i++)
    {
      const PairSlot *s = g_ptr_array_index (pairs, i);
      merges[i] = g_strdup_printf ("%s %s", piece_of (tok, (gsize) (s->key >> 32)),
                                   piece_of (tok, (gsize) (s->key & 0xffffffffu)));
    }

  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "gpt2");
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.pre", pre);
  write_vocab (w, &v);
  write_types (w, &v);
  attnviz_gguf_writer_add_string_array (w, "tokenizer.ggml.merges", (const char *const *) merges, pairs->len);
  write_id (w, "bos", tok->bos_id, FALSE);
  write_id (w, "eos", tok->eos_id, FALSE);
  write_id (w, "padding", tok->pad_id, FALSE);
  g_strfreev (merges);
  vocab_clear (&v);
  return write_add_special (w, tok, error);
}

/* ---------------------------------------------------------------- bert (WordPiece) */

/* llama.cpp's phantom space: "▁" + a word-initial piece, a continuation
 * without its "##", special pieces as they are. */
static char *
phantom (const AttnvizTokenizer *tok, gsize id, const char *piece)
{
  if (tok->flags[id] & PIECE_SPECIAL)
    return g_strdup (piece);
  if (g_str_has_prefix (piece, tok->subword_prefix) && piece[strlen (tok->subword_prefix)] != '\0')
    return g_strdup (piece + strlen (tok->subword_prefix));
  return g_strconcat (METASPACE, piece, NULL);
}

static gboolean
write_wordpiece (const AttnvizTokenizer *tok, AttnvizGgufWriter *w, int n_vocab, GError **error)
{
  Vocab v = { 0 };

  if (tok->phantom_space)
    return unsupported (error, "it was read from GGUF (copy its keys instead)");
  if (tok->subword_prefix == NULL || !g_str_equal (tok->subword_prefix, "##"))
    return unsupported (error, "continuation pieces start with \"%s\", where llama.cpp expects \"##\"",
                        tok->subword_prefix ? tok->subword_prefix : "");
  if (tok->bos_id < 0 || tok->eos_id < 0 || tok->n_prefix != 1 || tok->prefix[0] != tok->bos_id
      || tok->n_suffix != 1 || tok->suffix[0] != tok->eos_id)
    return unsupported (error, "llama.cpp's WordPiece puts [CLS] before the text and [SEP] after it");
  if (!vocab_build (&v, tok, n_vocab, phantom, error))
    {
      vocab_clear (&v);
      return FALSE;
    }

  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.model", "bert");
  attnviz_gguf_writer_add_string (w, "tokenizer.ggml.pre", "default");
  write_vocab (w, &v);
  write_types (w, &v);
  write_id (w, "unknown", tok->unk_id, FALSE);
  write_id (w, "seperator", tok->eos_id, FALSE);
  write_id (w, "padding", tok->pad_id, FALSE);
  write_id (w, "cls", tok->bos_id, FALSE);
  write_id (w, "mask", _attnviz_tokenizer_vocab_lookup (tok, "[MASK]"), FALSE);
  attnviz_gguf_writer_add_bool (w, "tokenizer.ggml.normalizer.lowercase", tok->lowercase);
  attnviz_gguf_writer_add_bool (w, "tokenizer.ggml.normalizer.strip_accents", tok->strip_accents);
  vocab_clear (&v);
  return TRUE;
}

gboolean
attnviz_tokenizer_write_gguf (const AttnvizTokenizer *self, AttnvizGgufWriter *w, int n_vocab,
                              GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (w != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  switch (self->kind)
    {
    case ATTNVIZ_TOKENIZER_SPM_BPE:
      return write_spm (self, w, n_vocab, error);
    case ATTNVIZ_TOKENIZER_GPT2_BPE:
      return write_gpt2 (self, w, n_vocab, error);
    case ATTNVIZ_TOKENIZER_WORDPIECE:
      return write_wordpiece (self, w, n_vocab, error);
    case ATTNVIZ_TOKENIZER_UNIGRAM:
      return unsupported (error, "attnviz does not write SentencePiece Unigram vocabularies to GGUF yet");
    case ATTNVIZ_TOKENIZER_CHARS:
    default:
      return unsupported (error, "llama.cpp has no character tokenizer");
    }
}
