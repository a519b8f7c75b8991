/* attnviz-tokenizer-gguf.c: a tokenizer from a GGUF file's metadata
 *
 * The keys read, as llama.cpp's converter writes them and llama.cpp reads
 * them (src/llama-vocab.cpp); every one is checked, and a value that does
 * not fit is a one-line error naming the file and the key:
 *
 *   tokenizer.ggml.model        string, required: "llama" (SentencePiece BPE
 *                               with scores and "<0xNN>" byte fallback),
 *                               "gpt2" (byte-level BPE with merges) or
 *                               "bert" (WordPiece, word-initial pieces
 *                               stored with a "▁", continuations bare) or
 *                               "t5" (SentencePiece Unigram: Viterbi over
 *                               the scores, attnviz-tokenizer-unigram.c;
 *                               unused pieces, the converter's "[PAD…]"
 *                               fill, are never produced; user-defined
 *                               ones, the <extra_id_N> sentinels when the
 *                               converter had added_tokens.json, are cut
 *                               out of the text whole)
 *   tokenizer.ggml.pre          string: the pre-tokenizer of a "gpt2" model
 *                               (attnviz-tokenizer-pretok.c lists the names);
 *                               absent means llama.cpp's "default"
 *   tokenizer.ggml.tokens       [string], required, non-empty: piece of each
 *                               id; UTF-8 without NUL bytes, no piece twice;
 *                               an empty piece becomes "[EMPTY_<id>]" as in
 *                               llama.cpp
 *   tokenizer.ggml.scores       [f32] (or integers), as many as tokens:
 *                               SentencePiece merge priority (absent: 0)
 *   tokenizer.ggml.token_type   [i32], as many as tokens, each 0..6:
 *                               0 undefined, 1 normal, 2 unknown, 3 control,
 *                               4 user-defined, 5 unused, 6 byte.  Unknown,
 *                               control and user-defined pieces are special:
 *                               never merged into, shown as their piece;
 *                               user-defined ones are also cut out of the
 *                               text before it is tokenized (as llama.cpp
 *                               does without parse_special).  llama.cpp
 *                               makes some pieces control by their text
 *                               ("<|im_end|>", "</s>", ...): so does attnviz.
 *   tokenizer.ggml.merges       [string], "gpt2": "left right" (split at the
 *                               first space after the first byte), rank
 *                               order; left, right and left+right must
 *                               all be pieces
 *   tokenizer.ggml.bos_token_id, eos_token_id, unknown_token_id,
 *   seperator_token_id (sic), padding_token_id, cls_token_id,
 *   mask_token_id, eot_token_id, eom_token_id
 *                               integers: an id of the vocabulary, or
 *                               0xFFFFFFFF / -1 for none (what the
 *                               converter writes for a missing token).
 *                               Absent: llama.cpp's defaults, "llama" BOS 1,
 *                               EOS 2, UNK 0; "bert" [CLS] 101 (or
 *                               cls_token_id), [UNK] 100, [SEP] 102, [PAD] 0;
 *                               "gpt2" none (llama.cpp says 11, a plain
 *                               piece in most vocabularies)
 *   tokenizer.ggml.add_bos_token, add_eos_token
 *                               bools: what add_special adds ("llama": BOS
 *                               unless told otherwise; "gpt2": BOS for the
 *                               Llama 3 pre-tokenizers; "bert": always
 *                               [CLS] ... [SEP])
 *   tokenizer.ggml.precompiled_charsmap
 *                               [u8] (or [i8]), "t5": SentencePiece's
 *                               compiled normalization map, applied as
 *                               SentencePiece applies it (attnviz-
 *                               charsmap.c); absent or empty: none, the
 *                               text is segmented as typed (llama.cpp)
 *   tokenizer.ggml.add_space_prefix, remove_extra_whitespaces
 *                               bools, "t5" (default true): with a
 *                               charsmap, SentencePiece's add_dummy_prefix
 *                               and remove_extra_whitespaces; without
 *                               one, attnviz splits at white space and
 *                               puts "▁" before each word whatever they
 *                               say
 *   tokenizer.ggml.add_space_prefix
 *                               bool, "llama": put "▁" before the text and
 *                               after each special token cut out of it
 *                               (default true)
 *   tokenizer.ggml.normalizer.lowercase, .strip_accents
 *                               bools, "bert" (default true; strip_accents
 *                               follows lowercase)
 *   general.name, general.architecture
 *                               llama.cpp's per-model habits: Phi-3's
 *                               special tokens eat the white space after
 *                               them, some "<mask>" tokens the space before
 */
#define G_LOG_DOMAIN "attnviz-tokenizer"

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "attnviz-gguf.h"
#include "attnviz-tokenizer-private.h"

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum {
  TYPE_UNDEFINED = 0,
  TYPE_NORMAL = 1,
  TYPE_UNKNOWN = 2,
  TYPE_CONTROL = 3,
  TYPE_USER_DEFINED = 4,
  TYPE_UNUSED = 5,
  TYPE_BYTE = 6,
};

/* Pieces llama.cpp makes control tokens by their text whatever their type:
 * end-of-generation and fill-in-the-middle markers. */
static const char *const control_by_text[] = {
  "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
  "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
  "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
  "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "[e~[",
  "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>",
  "<PRE>", "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>",
  "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>",
  "<SUF>", "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>",
  "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>",
  "<MID>", "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>",
  "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
  "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>",
  NULL
};

/* ... and the ones it makes user-defined (gpt-oss's channel markers). */
static const char *const user_defined_by_text[] = {
  "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL
};

typedef struct {
  const AttnvizGguf *gguf;
  const char *path;
  AttnvizTokenizer *self;
  guint8 *types; /* (n) token types after llama.cpp's corrections */
  gsize n;
} GgufLoad;

static gboolean
fail (GError **error, GgufLoad *ld, const char *key, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError **error, GgufLoad *ld, const char *key, const char *fmt, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: key \"%s\": %s", ld->path, key, msg);
  return FALSE;
}

/* A piece as it may appear in a one-line message. */
static char *
shown (const char *piece)
{
  return g_strescape (piece, NULL);
}

/* ---------------------------------------------------------------- pieces */

static gboolean
read_pieces (GgufLoad *ld, GError **error)
{
  const char *key = "tokenizer.ggml.tokens";
  const gsize *lens = NULL;
  const char *const *tokens;
  gsize n = 0;

  tokens = attnviz_gguf_read_string_array (ld->gguf, key, TRUE, &n, &lens, error);
  if (tokens == NULL)
    return FALSE;
  if (n == 0)
    return fail (error, ld, key, "the vocabulary is empty");
  if (n > MAX_VOCAB_ID)
    return fail (error, ld, key, "%" G_GSIZE_FORMAT " pieces are more than attnviz takes (%d)",
                 n, MAX_VOCAB_ID);
  ld->n = n;
  for (gsize i = 0; i < n; i++)
    {
      gsize len = lens != NULL ? lens[i] : strlen (tokens[i]);
      g_autofree char *empty = NULL;
      const char *piece = tokens[i];
      char *copy;

      if (memchr (piece, '\0', len) != NULL)
        return fail (error, ld, key, "piece %" G_GSIZE_FORMAT " holds a NUL byte", i);
      /* GGUF strings are UTF-8, and every loop over a piece relies on it. */
      if (!g_utf8_validate_len (piece, len, NULL))
        return fail (error, ld, key, "piece %" G_GSIZE_FORMAT " is not UTF-8", i);
      if (len == 0)
        piece = empty = g_strdup_printf ("[EMPTY_%" G_GSIZE_FORMAT "]", i);
      /* llama.cpp refuses a vocabulary with a piece twice (it could not
       * tell which id the text means). */
      if (_attnviz_tokenizer_vocab_lookup (ld->self, piece) >= 0)
        {
          g_autofree char *s = shown (piece);

          return fail (error, ld, key, "piece %" G_GSIZE_FORMAT " \"%s\" is also piece %d", i, s,
                       _attnviz_tokenizer_vocab_lookup (ld->self, piece));
        }
      /* Ids are the positions: the pieces go in in order. */
      copy = g_strdup (piece);
      g_ptr_array_add (ld->self->pieces, copy);
      g_hash_table_insert (ld->self->vocab, copy, GINT_TO_POINTER ((int) i));
    }
  return TRUE;
}

static gboolean
read_types (GgufLoad *ld, GError **error)
{
  const char *key = "tokenizer.ggml.token_type";
  g_autoptr(GError) local = NULL;
  g_autofree gint64 *types = NULL;
  gsize n = 0;

  ld->types = g_new (guint8, ld->n);
  memset (ld->types, TYPE_NORMAL, ld->n);
  types = attnviz_gguf_dup_int_array (ld->gguf, key, FALSE, &n, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (types != NULL && n != ld->n)
    return fail (error, ld, key, "%" G_GSIZE_FORMAT " types for %" G_GSIZE_FORMAT " pieces", n, ld->n);
  for (gsize i = 0; types != NULL && i < n; i++)
    {
      if (types[i] < TYPE_UNDEFINED || types[i] > TYPE_BYTE)
        return fail (error, ld, key, "piece %" G_GSIZE_FORMAT " has type %" G_GINT64_FORMAT
                     " (0 to 6)", i, types[i]);
      ld->types[i] = (guint8) types[i];
    }

  /* llama.cpp's corrections by text. */
  for (gsize i = 0; i < ld->n; i++)
    {
      const char *piece = g_ptr_array_index (ld->self->pieces, i);

      if (g_strv_contains (control_by_text, piece))
        ld->types[i] = TYPE_CONTROL;
      else if (g_strv_contains (user_defined_by_text, piece))
        ld->types[i] = TYPE_USER_DEFINED;
    }
  return TRUE;
}

static gboolean
read_scores (GgufLoad *ld, GError **error)
{
  const char *key = "tokenizer.ggml.scores";
  int k = attnviz_gguf_find_key (ld->gguf, key);
  gsize n = 0;

  if (k < 0)
    return TRUE;
  ld->self->scores = g_new0 (double, ld->n);
  if (attnviz_gguf_get_kv_type (ld->gguf, k) == ATTNVIZ_GGUF_ARRAY
      && attnviz_gguf_get_array_type (ld->gguf, k) != ATTNVIZ_GGUF_FLOAT32
      && attnviz_gguf_get_array_type (ld->gguf, k) != ATTNVIZ_GGUF_FLOAT64)
    {
      /* llama.cpp takes integer scores too. */
      g_autofree gint64 *scores = attnviz_gguf_dup_int_array (ld->gguf, key, TRUE, &n, error);

      if (scores == NULL)
        return FALSE;
      if (n != ld->n)
        return fail (error, ld, key, "%" G_GSIZE_FORMAT " scores for %" G_GSIZE_FORMAT " pieces", n, ld->n);
      for (gsize i = 0; i < n; i++)
        ld->self->scores[i] = (double) scores[i];
    }
  else
    {
      g_autofree float *scores = attnviz_gguf_dup_float_array (ld->gguf, key, TRUE, &n, error);

      if (scores == NULL)
        return FALSE;
      if (n != ld->n)
        return fail (error, ld, key, "%" G_GSIZE_FORMAT " scores for %" G_GSIZE_FORMAT " pieces", n, ld->n);
      for (gsize i = 0; i < n; i++)
        ld->self->scores[i] = scores[i];
    }
  return TRUE;
}

/* ---------------------------------------------------------------- special ids */

/* Reads KEY into *ID: an id of the vocabulary, or -1 for 0xFFFFFFFF / -1.
 * Leaves *ID alone when KEY is absent. */
static gboolean
read_id (GgufLoad *ld, const char *key, int *id, GError **error)
{
  gint64 v;

  if (attnviz_gguf_find_key (ld->gguf, key) < 0)
    return TRUE;
  if (!attnviz_gguf_read_int (ld->gguf, key, TRUE, G_MININT64, G_MAXINT64, &v, error))
    return FALSE;
  if (v == -1 || v == G_MAXUINT32)
    *id = -1;
  else if (v < 0 || (guint64) v >= ld->n)
    return fail (error, ld, key, "id %" G_GINT64_FORMAT " is outside the vocabulary of %"
                 G_GSIZE_FORMAT " pieces", v, ld->n);
  else
    *id = (int) v;
  return TRUE;
}

static gboolean
read_bool (GgufLoad *ld, const char *key, gboolean *out, GError **error)
{
  return attnviz_gguf_read_bool (ld->gguf, key, FALSE, out, error);
}

static gboolean
read_specials (GgufLoad *ld, GError **error)
{
  AttnvizTokenizer *self = ld->self;
  int sep = -1, cls = -1;
  int mask = -1, eot = -1, eom = -1; /* only checked: attnviz has no use for them */
  gboolean add_bos = FALSE, add_eos = FALSE;
  const char *add_bos_key = "tokenizer.ggml.add_bos_token";

  switch (self->kind)
    {
    case ATTNVIZ_TOKENIZER_SPM_BPE:
      self->bos_id = 1;
      self->eos_id = 2;
      self->unk_id = 0;
      add_bos = TRUE;
      break;
    case ATTNVIZ_TOKENIZER_WORDPIECE:
      self->bos_id = 101;
      self->unk_id = 100;
      sep = 102;
      self->pad_id = 0;
      break;
    case ATTNVIZ_TOKENIZER_GPT2_BPE:
      add_bos = self->llama_pretok->add_bos;
      break;
    case ATTNVIZ_TOKENIZER_UNIGRAM:
      /* llama.cpp's "t5": no BOS, </s> after the text */
      self->eos_id = 1;
      self->unk_id = 2;
      self->pad_id = 0;
      add_eos = TRUE;
      break;
    default:
      g_assert_not_reached ();
    }
  /* llama.cpp drops a default that the vocabulary is too small for. */
  {
    int *defaults[] = { &self->bos_id, &self->eos_id, &self->unk_id, &self->pad_id, &sep };

    for (gsize i = 0; i < G_N_ELEMENTS (defaults); i++)
      if (*defaults[i] >= (int) ld->n)
        *defaults[i] = -1;
  }
  if (!read_id (ld, "tokenizer.ggml.cls_token_id", &cls, error)
      || !read_id (ld, "tokenizer.ggml.bos_token_id", &self->bos_id, error)
      || !read_id (ld, "tokenizer.ggml.eos_token_id", &self->eos_id, error)
      || !read_id (ld, "tokenizer.ggml.unknown_token_id", &self->unk_id, error)
      || !read_id (ld, "tokenizer.ggml.seperator_token_id", &sep, error)
      || !read_id (ld, "tokenizer.ggml.padding_token_id", &self->pad_id, error)
      || !read_id (ld, "tokenizer.ggml.mask_token_id", &mask, error)
      || !read_id (ld, "tokenizer.ggml.eot_token_id", &eot, error)
      || !read_id (ld, "tokenizer.ggml.eom_token_id", &eom, error)
      || !read_bool (ld, add_bos_key, &add_bos, error)
      || !read_bool (ld, "tokenizer.ggml.add_eos_token", &add_eos, error))
    return FALSE;

  if (self->kind == ATTNVIZ_TOKENIZER_WORDPIECE)
    {
      /* BERT's sequence markers: [CLS] text [SEP], whatever add_bos says. */
      if (cls >= 0 && attnviz_gguf_find_key (ld->gguf, "tokenizer.ggml.bos_token_id") < 0)
        self->bos_id = cls;
      if (self->eos_id < 0)
        self->eos_id = sep;
      if (self->bos_id < 0 || sep < 0)
        return fail (error, ld, self->bos_id < 0 ? "tokenizer.ggml.bos_token_id" : "tokenizer.ggml.seperator_token_id",
                     "a WordPiece vocabulary needs [CLS] and [SEP] tokens");
      self->prefix[self->n_prefix++] = self->bos_id;
      self->suffix[self->n_suffix++] = sep;
      return TRUE;
    }
  if (add_bos && self->bos_id < 0)
    return fail (error, ld, add_bos_key, "BOS is to be added but there is no BOS token");
  if (add_eos && self->eos_id < 0)
    return fail (error, ld, "tokenizer.ggml.add_eos_token", "EOS is to be added but there is no EOS token");
  if (add_bos)
    self->prefix[self->n_prefix++] = self->bos_id;
  if (add_eos)
    self->suffix[self->n_suffix++] = self->eos_id;
  return TRUE;
}

/* ---------------------------------------------------------------- flags */

static gboolean
name_has (const char *value, const char *const *parts)
{
  g_autofree char *lower = value != NULL ? g_ascii_strdown (value, -1) : NULL;

  for (int i = 0; lower != NULL && parts[i] != NULL; i++)
    if (strstr (lower, parts[i]) != NULL)
      return TRUE;
  return FALSE;
}

static const char *
optional_string (GgufLoad *ld, const char *key)
{
  g_autoptr(GError) ignored = NULL;

  return attnviz_gguf_read_string (ld->gguf, key, FALSE, &ignored);
}

static void
set_flags (GgufLoad *ld)
{
  AttnvizTokenizer *self = ld->self;
  g_autoptr(GArray) split = g_array_new (FALSE, FALSE, sizeof (gint32));
  static const char *const phi3[] = { "phi-3", "phi3", NULL };
  static const char *const jina_pre[] = { "jina-v2-de", "jina-v2-es", "jina-v2-code", NULL };
  static const char *const mask_arch[] = { "nomic-bert-moe", "jina-bert-v3", NULL };
  static const char *const modern_bert[] = { "modern-bert", NULL };
  const char *name = optional_string (ld, "general.name");
  const char *pre = optional_string (ld, "tokenizer.ggml.pre");
  const char *arch = optional_string (ld, "general.architecture");
  const char *lstrip_mask = NULL;
  gboolean is_phi3 = name_has (name, phi3);

  self->flags = g_new0 (guint8, ld->n);
  for (gsize i = 0; i < ld->n; i++)
    {
      const char *piece = g_ptr_array_index (self->pieces, i);

      switch (ld->types[i])
        {
        case TYPE_USER_DEFINED:
          {
            gint32 id = (gint32) i;

            g_array_append_val (split, id);
          }
          G_GNUC_FALLTHROUGH;
        case TYPE_CONTROL:
        case TYPE_UNKNOWN:
          self->flags[i] |= PIECE_SPECIAL;
          if (is_phi3)
            self->flags[i] |= PIECE_RSTRIP;
          break;
        default:
          break;
        }
      if (is_phi3 && (g_str_equal (piece, "<unk>") || g_str_equal (piece, "<s>")
                      || g_str_equal (piece, "<|endoftext|>")))
        self->flags[i] &= ~PIECE_RSTRIP;
      if (is_phi3 && g_str_equal (piece, "</s>"))
        self->flags[i] |= PIECE_RSTRIP;
    }
  if (name_has (pre, jina_pre) || name_has (arch, mask_arch))
    lstrip_mask = "<mask>";
  else if (name_has (name, modern_bert))
    lstrip_mask = "[MASK]";
  if (lstrip_mask != NULL && _attnviz_tokenizer_vocab_lookup (self, lstrip_mask) >= 0)
    self->flags[_attnviz_tokenizer_vocab_lookup (self, lstrip_mask)] |= PIECE_LSTRIP;

  _attnviz_tokenizer_set_split (self, split);
}

/* ---------------------------------------------------------------- families */

static gboolean
load_merges (GgufLoad *ld, GError **error)
{
  const char *key = "tokenizer.ggml.merges";
  AttnvizTokenizer *self = ld->self;
  const char *const *merges;
  const gsize *lens = NULL;
  g_autoptr(GString) joined = g_string_new (NULL);
  gsize n = 0;

  merges = attnviz_gguf_read_string_array (ld->gguf, key, TRUE, &n, &lens, error);
  if (merges == NULL)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      const char *m = merges[i];
      const char *space = m[0] != '\0' ? strchr (m + 1, ' ') : NULL;
      g_autofree char *left = NULL;
      const char *right, *missing = NULL;
      int l, r, j;

      if (space == NULL || space[1] == '\0' || (lens != NULL && lens[i] != strlen (m)))
        {
          g_autofree char *s = shown (m);

          return fail (error, ld, key, "merge %" G_GSIZE_FORMAT " \"%s\" is not two pieces "
                       "separated by a space", i, s);
        }
      left = g_strndup (m, space - m);
      right = space + 1;
      g_string_assign (joined, left);
      g_string_append (joined, right);
      l = _attnviz_tokenizer_vocab_lookup (self, left);
      r = _attnviz_tokenizer_vocab_lookup (self, right);
      j = _attnviz_tokenizer_vocab_lookup (self, joined->str);
      if (l < 0)
        missing = left;
      else if (r < 0)
        missing = right;
      else if (j < 0)
        missing = joined->str;
      if (missing != NULL)
        {
          g_autofree char *s = shown (m);
          g_autofree char *p = shown (missing);

          return fail (error, ld, key, "merge %" G_GSIZE_FORMAT " \"%s\": \"%s\" is not a piece", i, s, p);
        }
      _attnviz_tokenizer_pair_insert (self, l, r, -(double) i, j);
    }
  return TRUE;
}

static gboolean
load_gpt2 (GgufLoad *ld, GError **error)
{
  AttnvizTokenizer *self = ld->self;

  for (int b = 0; b < 256; b++)
    {
      char name[8];

      name[g_unichar_to_utf8 (self->byte_to_char[b], name)] = '\0';
      self->byte_ids[b] = _attnviz_tokenizer_vocab_lookup (self, name);
    }
  self->ignore_merges = self->llama_pretok->ignore_merges;
  return load_merges (ld, error);
}

static void
load_spm (GgufLoad *ld, gboolean add_space_prefix)
{
  AttnvizTokenizer *self = ld->self;

  self->space = g_strdup (METASPACE);
  self->prepend = add_space_prefix ? g_strdup (METASPACE) : NULL;
  self->byte_fallback = TRUE;
  for (int b = 0; b < 256; b++)
    {
      char name[8];

      g_snprintf (name, sizeof name, "<0x%02X>", b);
      self->byte_ids[b] = _attnviz_tokenizer_vocab_lookup (self, name);
      if (self->byte_ids[b] >= 0)
        self->flags[self->byte_ids[b]] |= PIECE_BYTE;
    }
  /* Without scores every merge ties, and the leftmost goes first. */
  if (self->scores == NULL)
    self->scores = g_new0 (double, ld->n);
  _attnviz_tokenizer_build_score_pairs (self);
}

/* llama.cpp's UGM ("t5"); ADD_SPACE_PREFIX: the file's (or true). */
static gboolean
load_ugm (GgufLoad *ld, gboolean add_space_prefix, GError **error)
{
  gboolean remove_extra = TRUE;
  AttnvizTokenizer *self = ld->self;
  const char *charsmap = "tokenizer.ggml.precompiled_charsmap";
  int k = attnviz_gguf_find_key (ld->gguf, charsmap);

  if (self->scores == NULL)
    return fail (error, ld, "tokenizer.ggml.scores", "a t5 (Unigram) vocabulary needs its pieces' scores");
  for (gsize i = 0; i < ld->n; i++)
    if (!isfinite (self->scores[i]))
      return fail (error, ld, "tokenizer.ggml.scores", "piece %" G_GSIZE_FORMAT " has the score %g", i,
                   self->scores[i]);
  if (self->unk_id < 0)
    return fail (error, ld, "tokenizer.ggml.unknown_token_id", "a t5 (Unigram) vocabulary needs an unknown piece");
  if (k >= 0 && (attnviz_gguf_get_kv_type (ld->gguf, k) != ATTNVIZ_GGUF_ARRAY
                 || (attnviz_gguf_get_array_type (ld->gguf, k) != ATTNVIZ_GGUF_UINT8
                     && attnviz_gguf_get_array_type (ld->gguf, k) != ATTNVIZ_GGUF_INT8)))
    return fail (error, ld, charsmap, "is not an array of bytes");
  if (!read_bool (ld, "tokenizer.ggml.remove_extra_whitespaces", &remove_extra, error))
    return FALSE;
  self->no_dummy_prefix = !add_space_prefix;
  self->keep_extra_spaces = !remove_extra;
  if (k >= 0 && attnviz_gguf_get_array_length (ld->gguf, k) > 0)
    {
      gsize n = 0;
      /* int8 or uint8: the bytes either way, read where they lie (a
       * gint64 per byte made a 64 MB map cost over half a gigabyte) */
      const guint8 *blob = attnviz_gguf_get_byte_array (ld->gguf, (guint) k, &n);
      if ((self->charsmap = attnviz_charsmap_new (blob, n, ld->path, error)) == NULL)
        return FALSE;
    }
  for (gsize i = 0; i < ld->n; i++)
    if (ld->types[i] == TYPE_UNUSED)
      self->flags[i] |= PIECE_SPECIAL;
  self->n_scores = (guint) ld->n;
  _attnviz_tokenizer_unigram_finish (self);
  return TRUE;
}

AttnvizTokenizer *
attnviz_tokenizer_new_from_gguf (const AttnvizGguf *gguf, GError **error)
{
  GgufLoad ld = { gguf, NULL, NULL, NULL, 0 };
  g_autoptr(GError) local = NULL;
  const char *model, *pre;
  gboolean add_space_prefix = TRUE;
  gboolean lowercase = TRUE, strip_accents;
  gboolean ok;

  g_return_val_if_fail (gguf != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ld.path = attnviz_gguf_get_path (gguf);
  model = attnviz_gguf_read_string (gguf, "tokenizer.ggml.model", TRUE, error);
  if (model == NULL)
    return NULL;
  pre = attnviz_gguf_read_string (gguf, "tokenizer.ggml.pre", FALSE, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }

  ld.self = _attnviz_tokenizer_new ();
  if (g_str_equal (model, "llama"))
    ld.self->kind = ATTNVIZ_TOKENIZER_SPM_BPE;
  else if (g_str_equal (model, "gpt2"))
    {
      ld.self->kind = ATTNVIZ_TOKENIZER_GPT2_BPE;
      ld.self->llama_pretok = _attnviz_pretok_lookup (pre);
      if (ld.self->llama_pretok == NULL)
        {
          g_autofree char *name = shown (pre);

          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "%s: key \"tokenizer.ggml.pre\": pre-tokenizer \"%s\" is not supported",
                       ld.path, name);
          attnviz_tokenizer_free (ld.self);
          return NULL;
        }
    }
  else if (g_str_equal (model, "bert"))
    {
      ld.self->kind = ATTNVIZ_TOKENIZER_WORDPIECE;
      ld.self->phantom_space = TRUE;
    }
  else if (g_str_equal (model, "t5"))
    ld.self->kind = ATTNVIZ_TOKENIZER_UNIGRAM;
  else
    {
      g_autofree char *name = shown (model);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: key \"tokenizer.ggml.model\": tokenizer \"%s\" is not supported (llama, gpt2, bert or t5)",
                   ld.path, name);
      attnviz_tokenizer_free (ld.self);
      return NULL;
    }

  ok = read_pieces (&ld, error) && read_types (&ld, error) && read_scores (&ld, error)
    && read_specials (&ld, error)
    && read_bool (&ld, "tokenizer.ggml.add_space_prefix", &add_space_prefix, error)
    && read_bool (&ld, "tokenizer.ggml.normalizer.lowercase", &lowercase, error);
  strip_accents = lowercase;
  ok = ok && read_bool (&ld, "tokenizer.ggml.normalizer.strip_accents", &strip_accents, error);
  if (ok)
    {
      set_flags (&ld);
      switch (ld.self->kind)
        {
        case ATTNVIZ_TOKENIZER_SPM_BPE:
          load_spm (&ld, add_space_prefix);
          break;
        case ATTNVIZ_TOKENIZER_GPT2_BPE:
          ok = load_gpt2 (&ld, error);
          break;
        case ATTNVIZ_TOKENIZER_UNIGRAM:
          ok = load_ugm (&ld, add_space_prefix, error);
          break;
        case ATTNVIZ_TOKENIZER_WORDPIECE:
          ld.self->lowercase = lowercase;
          ld.self->strip_accents = strip_accents;
          _attnviz_piece_index_init (&ld.self->piece_index, ld.self);
          break;
        default:
          g_assert_not_reached ();
        }
    }
  g_free (ld.types);
  if (!ok)
    {
      attnviz_tokenizer_free (ld.self);
      return NULL;
    }
  g_debug ("%s: %s tokenizer from GGUF, %" G_GSIZE_FORMAT " pieces, %d split out of text",
           ld.path, attnviz_tokenizer_get_kind_name (ld.self), ld.n, ld.self->n_split);
  return ld.self;
}
