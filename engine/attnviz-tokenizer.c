/* attnviz-tokenizer.c: text to token ids, each token keeping its byte span
 *
 * The files read, field by field:
 *
 * tokenizer.json (Hugging Face `tokenizers`)
 *   model.type         "BPE" or "WordPiece"
 *   model.vocab        { piece: id }
 *   model.merges       BPE only: ["a b", ...] or [["a", "b"], ...], rank = index
 *   model.unk_token    piece of the unknown token
 *   model.byte_fallback, model.fuse_unk, model.ignore_merges   BPE flags
 *   model.continuing_subword_prefix, model.max_input_chars_per_word  WordPiece
 *   added_tokens       [{ id, content, special }]: special ones are never
 *                      produced by merging and are skipped by decode
 *   normalizer         BertNormalizer {clean_text, handle_chinese_chars,
 *                      strip_accents, lowercase}; SentencePiece style
 *                      Sequence [Prepend "▁", Replace " " -> "▁"]
 *   pre_tokenizer      ByteLevel {add_prefix_space, use_regex}, possibly in a
 *                      Sequence after a Split {pattern: {Regex}}; Metaspace
 *                      {replacement, prepend_scheme, split}; BertPreTokenizer
 *   post_processor     TemplateProcessing {single: [SpecialToken | Sequence]},
 *                      BertProcessing {cls, sep}: what add_special inserts
 *
 * vocab.json + merges.txt (GPT-2)
 *   vocab.json         { piece: id }, pieces in the bytes-to-unicode alphabet
 *   merges.txt         "#version: ..." then one "a b" pair per line, rank order
 *
 * vocab.txt (BERT)     one piece per line, id = line number - 1
 *
 * tokenizer_config.json, special_tokens_map.json (optional)
 *   do_lower_case, strip_accents, tokenize_chinese_chars (WordPiece)
 *   add_bos_token, add_eos_token (SentencePiece)
 *   bos_token, eos_token, unk_token, pad_token, cls_token, sep_token: a
 *   string or an AddedToken object { content }
 *
 * sentencepiece_scores.json (optional, next to a SentencePiece tokenizer.json)
 *   { pieces: [piece, ...], scores: [float, ...] }: the SentencePiece
 *   scores.  When present, merging follows llama.cpp's SPM tokenizer: the
 *   adjacent pair whose concatenation is a piece with the highest score
 *   merges first (leftmost on ties); otherwise the merge ranks decide.
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
 * and a heap of candidate pairs, shared by GPT-2 and SentencePiece) and
 * WordPiece's greedy longest match.  Every symbol carries the byte span of
 * the original text it came from, so normalisation never loses offsets.
 *
 * A tokenizer is immutable once loaded: encode keeps its caches on the
 * stack, so one tokenizer may serve several threads at once.
 */
#define G_LOG_DOMAIN "attnviz-tokenizer"

#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "attnviz-fileutil.h"
#include "attnviz-json.h"
#include "attnviz-tokenizer.h"
#include "attnviz-tokenizer-private.h"

/* GPT-2's pre-tokenizer (openai/gpt-2 encoder.py). */
#define GPT2_PATTERN \
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/* merges.txt and vocab.txt: the size limit of a tokenizer file. */
#define MAX_TEXT_BYTES ((gsize) 256 << 20)
/* What loading gathers before the tokenizer is complete. */
typedef struct {
  const char *dir;
  GArray *merges; /* (n_merges, 3) gint32 left, right, merged, rank order */
  char *bos_name;
  char *eos_name;
  char *pad_name;
  char *unk_name;
  GPtrArray *prefix_names; /* from a post-processor template, or NULL */
  GPtrArray *suffix_names;
  int add_bos; /* -1 unknown, else the config's add_bos_token */
  int add_eos;
  int strip_accents; /* -1: follow lowercase */
} Loader;

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

static void
pair_table_init (PairTable *t, gsize expected)
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

static void pair_table_insert (PairTable *t, gint32 left, gint32 right,
                               double score, gint32 merged);

static void
pair_table_grow (PairTable *t)
{
  PairTable bigger;

  pair_table_init (&bigger, (t->mask + 1));
  for (gsize i = 0; i <= t->mask; i++)
    if (t->slots[i].key != PAIR_EMPTY)
      pair_table_insert (&bigger, (gint32) (t->slots[i].key >> 32),
                         (gint32) (t->slots[i].key & 0xffffffffu),
                         t->slots[i].score, t->slots[i].merged);
  g_free (t->slots);
  *t = bigger;
}

/* The first insertion of a pair wins, as the lowest rank should. */
static void
pair_table_insert (PairTable *t, gint32 left, gint32 right, double score, gint32 merged)
{
  guint64 key = pair_key (left, right);
  gsize i;

  if (t->slots == NULL)
    pair_table_init (t, 16);
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

/* ---------------------------------------------------------------- vocabulary */

static int
vocab_lookup (const AttnvizTokenizer *self, const char *piece)
{
  gpointer value;

  if (piece == NULL || !g_hash_table_lookup_extended (self->vocab, piece, NULL, &value))
    return -1;
  return GPOINTER_TO_INT (value);
}

/* Looks up LEN bytes of S without requiring a terminating NUL. */
static int
vocab_lookup_len (const AttnvizTokenizer *self, const char *s, gsize len)
{
  char buf[32];

  if (len < sizeof buf)
    {
      memcpy (buf, s, len);
      buf[len] = '\0';
      return vocab_lookup (self, buf);
    }
  else
    {
      g_autofree char *tmp = g_strndup (s, len);
      return vocab_lookup (self, tmp);
    }
}

/* Gives PIECE the id ID.  FIELD names where in PATH the pair comes from
 * ("model.vocab", "added_tokens[3]", "line 7") for errors: an id outside
 * [0, MAX_VOCAB_ID) or already given to another piece is a broken file. */
static gboolean
vocab_add (AttnvizTokenizer *self, const char *piece, gint64 id, const char *path, const char *field,
           GError **error)
{
  char *copy;

  if (id < 0 || id >= MAX_VOCAB_ID)
    {
      g_autofree char *quoted = attnviz_printable (piece);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: %s: piece “%s” has id %" G_GINT64_FORMAT ", outside 0..%d",
                   path, field, quoted, id, MAX_VOCAB_ID - 1);
      return FALSE;
    }
  if ((guint) id >= self->pieces->len)
    g_ptr_array_set_size (self->pieces, id + 1);
  if (g_ptr_array_index (self->pieces, id) != NULL)
    {
      /* Two pieces for one id: whichever wins, the other's id is wrong, and
       * every later file naming it would be blamed for it. */
      g_autofree char *quoted = attnviz_printable (piece);
      g_autofree char *other = attnviz_printable (g_ptr_array_index (self->pieces, id));
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: %s: id %" G_GINT64_FORMAT " is given to both “%s” and “%s”",
                   path, field, id, other, quoted);
      return FALSE;
    }
  copy = g_strdup (piece);
  g_ptr_array_index (self->pieces, id) = copy;
  /* A repeated piece maps to its last id, as in Hugging Face. */
  g_hash_table_replace (self->vocab, copy, GINT_TO_POINTER ((int) id));
  return TRUE;
}

/* ---------------------------------------------------------------- JSON helpers */

static JsonNode *
obj_member (JsonObject *o, const char *name)
{
  if (o == NULL || !json_object_has_member (o, name))
    return NULL;
  return json_object_get_member (o, name);
}

static const char *
obj_string (JsonObject *o, const char *name)
{
  JsonNode *n = obj_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

/* -1 when absent or null, else 0 or 1. */
static int
obj_bool (JsonObject *o, const char *name)
{
  JsonNode *n = obj_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return -1;
  return json_node_get_boolean (n) ? 1 : 0;
}

static gboolean
obj_int (JsonObject *o, const char *name, gint64 *out)
{
  JsonNode *n = obj_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

static JsonObject *
obj_object (JsonObject *o, const char *name)
{
  JsonNode *n = obj_member (o, name);

  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonArray *
obj_array (JsonObject *o, const char *name)
{
  JsonNode *n = obj_member (o, name);

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

/* A special token's name in a config: "<s>" or { "content": "<s>" }. */
static const char *
token_name (JsonObject *o, const char *name)
{
  const char *s = obj_string (o, name);

  if (s == NULL)
    s = obj_string (obj_object (o, name), "content");
  return s;
}

/* Parses PATH, a regular file within KIND's size limit, as one JSON
 * object (attnviz_json_load: depth and lexing checked first); on failure
 * the error names the file. */
static JsonNode *
read_json (const char *path, AttnvizJsonKind kind, GError **error)
{
  return attnviz_json_load (path, kind, error);
}

typedef struct {
  AttnvizTokenizer *self;
  const char *path;
  const char *field;
  GError **error;
  gboolean ok;
} VocabWalk;

static void
vocab_member (JsonObject *o, const char *piece, JsonNode *node, gpointer data)
{
  VocabWalk *walk = data;

  if (!walk->ok)
    return;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_autofree char *quoted = attnviz_printable (piece);
      g_set_error (walk->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: %s: entry “%s” is not an integer id", walk->path, walk->field, quoted);
      walk->ok = FALSE;
      return;
    }
  walk->ok = vocab_add (walk->self, piece, json_node_get_int (node), walk->path, walk->field, walk->error);
}

static gboolean
vocab_from_object (AttnvizTokenizer *self, JsonObject *vocab, const char *path, const char *field, GError **error)
{
  VocabWalk walk = { self, path, field, error, TRUE };

  json_object_foreach_member (vocab, vocab_member, &walk);
  if (!walk.ok)
    return FALSE;
  if (self->pieces->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: empty vocabulary", path);
      return FALSE;
    }
  return TRUE;
}

/* Records the merge LEFT + RIGHT; WHERE names the file and line for errors. */
static gboolean
add_merge (AttnvizTokenizer *self, Loader *loader, const char *left, const char *right,
           const char *where, GError **error)
{
  g_autofree char *joined = g_strconcat (left, right, NULL);
  const char *missing = NULL;
  gint32 triple[3];

  triple[0] = vocab_lookup (self, left);
  triple[1] = vocab_lookup (self, right);
  triple[2] = vocab_lookup (self, joined);
  if (triple[0] < 0)
    missing = left;
  else if (triple[1] < 0)
    missing = right;
  else if (triple[2] < 0)
    missing = joined;
  if (missing != NULL)
    {
      g_autofree char *qleft = attnviz_printable (left);
      g_autofree char *qright = attnviz_printable (right);
      g_autofree char *qmissing = attnviz_printable (missing);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: merge “%s %s”: “%s” is not in the vocabulary",
                   where, qleft, qright, qmissing);
      return FALSE;
    }
  g_array_append_vals (loader->merges, triple, 3);
  return TRUE;
}

/* ---------------------------------------------------------------- loading */

static void
init_byte_level (AttnvizTokenizer *self)
{
  int n = 0;

  /* openai/gpt-2 bytes_to_unicode(): printable bytes stand for themselves,
   * the others for 256, 257, ... in byte order. */
  for (int b = 0; b < 256; b++)
    {
      gboolean printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
      self->byte_to_char[b] = printable ? (gunichar) b : (gunichar) (256 + n++);
    }
  for (gsize c = 0; c < G_N_ELEMENTS (self->char_to_byte); c++)
    self->char_to_byte[c] = -1;
  for (int b = 0; b < 256; b++)
    self->char_to_byte[self->byte_to_char[b]] = (gint16) b;
}

static gboolean
load_merges_txt (AttnvizTokenizer *self, Loader *loader, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!attnviz_read_regular (path, MAX_TEXT_BYTES, "a tokenizer file", &contents, NULL, error))
    return FALSE;
  lines = g_strsplit (contents, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      char *line = lines[i];
      gsize len = strlen (line);
      g_autofree char *where = NULL;
      char *space;

      if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
      if (len == 0 || (i == 0 && g_str_has_prefix (line, "#version")))
        continue;
      where = g_strdup_printf ("%s:%d", path, i + 1);
      space = strchr (line, ' ');
      if (space == NULL || space == line || space[1] == '\0' || strchr (space + 1, ' ') != NULL)
        {
          g_autofree char *quoted = attnviz_printable (line);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: expected two pieces separated by one space, got “%s”",
                       where, quoted);
          return FALSE;
        }
      *space = '\0';
      if (!add_merge (self, loader, line, space + 1, where, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
load_gpt2_files (AttnvizTokenizer *self, Loader *loader, const char *vocab_path,
                 const char *merges_path, GError **error)
{
  g_autoptr(JsonNode) root = read_json (vocab_path, ATTNVIZ_JSON_TOKENIZER, error);

  if (root == NULL)
    return FALSE;
  self->kind = ATTNVIZ_TOKENIZER_GPT2_BPE;
  if (!vocab_from_object (self, json_node_get_object (root), vocab_path, "the vocabulary", error))
    return FALSE;
  return load_merges_txt (self, loader, merges_path, error);
}

static gboolean
load_vocab_txt (AttnvizTokenizer *self, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  int n;

  if (!attnviz_read_regular (path, MAX_TEXT_BYTES, "a tokenizer file", &contents, NULL, error))
    return FALSE;
  self->kind = ATTNVIZ_TOKENIZER_WORDPIECE;
  lines = g_strsplit (contents, "\n", -1);
  n = g_strv_length (lines);
  if (n > 0 && lines[n - 1][0] == '\0')
    n--; /* the final newline */
  for (int i = 0; i < n; i++)
    {
      gsize len = strlen (lines[i]);

      g_autofree char *field = g_strdup_printf ("line %d", i + 1);

      if (len > 0 && lines[i][len - 1] == '\r')
        lines[i][len - 1] = '\0';
      if (!vocab_add (self, lines[i], i, path, field, error))
        return FALSE;
    }
  if (n == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: empty vocabulary", path);
      return FALSE;
    }
  return TRUE;
}

/* Collects the special tokens of a TemplateProcessing / BertProcessing /
 * RobertaProcessing post-processor (possibly inside a Sequence). */
static void
read_post_processor (Loader *loader, JsonObject *pp)
{
  const char *type = obj_string (pp, "type");

  if (type == NULL)
    return;
  if (g_str_equal (type, "Sequence"))
    {
      JsonArray *list = obj_array (pp, "processors");

      for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
        {
          JsonNode *n = json_array_get_element (list, i);

          if (JSON_NODE_HOLDS_OBJECT (n))
            read_post_processor (loader, json_node_get_object (n));
        }
    }
  else if (g_str_equal (type, "TemplateProcessing"))
    {
      JsonArray *single = obj_array (pp, "single");
      gboolean after = FALSE;

      if (single == NULL)
        return;
      g_clear_pointer (&loader->prefix_names, g_ptr_array_unref);
      g_clear_pointer (&loader->suffix_names, g_ptr_array_unref);
      loader->prefix_names = g_ptr_array_new_with_free_func (g_free);
      loader->suffix_names = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < json_array_get_length (single); i++)
        {
          JsonNode *n = json_array_get_element (single, i);
          JsonObject *item = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
          JsonObject *special = obj_object (item, "SpecialToken");
          const char *name = obj_string (special, "id");

          if (obj_object (item, "Sequence") != NULL)
            after = TRUE;
          else if (name != NULL)
            {
              /* The template names the token; special_tokens maps it to ids. */
              JsonObject *map = obj_object (obj_object (pp, "special_tokens"), name);
              JsonArray *tokens = obj_array (map, "tokens");
              const char *piece = name;

              if (tokens != NULL && json_array_get_length (tokens) == 1
                  && JSON_NODE_HOLDS_VALUE (json_array_get_element (tokens, 0)))
                piece = json_array_get_string_element (tokens, 0);
              g_ptr_array_add (after ? loader->suffix_names : loader->prefix_names,
                               g_strdup (piece));
            }
        }
    }
  else if (g_str_equal (type, "BertProcessing") || g_str_equal (type, "RobertaProcessing"))
    {
      JsonArray *cls = obj_array (pp, "cls");
      JsonArray *sep = obj_array (pp, "sep");

      g_clear_pointer (&loader->prefix_names, g_ptr_array_unref);
      g_clear_pointer (&loader->suffix_names, g_ptr_array_unref);
      loader->prefix_names = g_ptr_array_new_with_free_func (g_free);
      loader->suffix_names = g_ptr_array_new_with_free_func (g_free);
      if (cls != NULL && json_array_get_length (cls) >= 1
          && JSON_NODE_HOLDS_VALUE (json_array_get_element (cls, 0)))
        g_ptr_array_add (loader->prefix_names, g_strdup (json_array_get_string_element (cls, 0)));
      if (sep != NULL && json_array_get_length (sep) >= 1
          && JSON_NODE_HOLDS_VALUE (json_array_get_element (sep, 0)))
        g_ptr_array_add (loader->suffix_names, g_strdup (json_array_get_string_element (sep, 0)));
    }
}

/* Walks a normalizer (or a Sequence of them) for the settings we honour. */
static void
read_normalizer (AttnvizTokenizer *self, Loader *loader, JsonObject *norm)
{
  const char *type = obj_string (norm, "type");

  if (type == NULL)
    return;
  if (g_str_equal (type, "Sequence"))
    {
      JsonArray *list = obj_array (norm, "normalizers");

      for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
        {
          JsonNode *n = json_array_get_element (list, i);

          if (JSON_NODE_HOLDS_OBJECT (n))
            read_normalizer (self, loader, json_node_get_object (n));
        }
    }
  else if (g_str_equal (type, "Prepend"))
    {
      g_free (self->prepend);
      self->prepend = g_strdup (obj_string (norm, "prepend"));
    }
  else if (g_str_equal (type, "Replace"))
    {
      const char *from = obj_string (obj_object (norm, "pattern"), "String");
      const char *to = obj_string (norm, "content");

      if (from != NULL && to != NULL && g_str_equal (from, " "))
        {
          g_free (self->space);
          self->space = g_strdup (to);
        }
      else
        g_debug ("ignoring a Replace normalizer that does not replace ' '");
    }
  else if (g_str_equal (type, "BertNormalizer"))
    {
      /* Absent fields take the normalizer's defaults (all on). */
      self->clean_text = obj_bool (norm, "clean_text") != 0;
      self->chinese_chars = obj_bool (norm, "handle_chinese_chars") != 0;
      self->lowercase = obj_bool (norm, "lowercase") != 0;
      loader->strip_accents = obj_bool (norm, "strip_accents");
    }
  else if (g_str_equal (type, "Lowercase"))
    self->lowercase = TRUE;
  else if (g_str_equal (type, "StripAccents"))
    loader->strip_accents = 1;
  else
    g_debug ("ignoring normalizer %s", type);
}

typedef struct {
  gboolean byte_level;
  gboolean metaspace;
  const char *split_regex;
} PreTokenizerInfo;

static void
read_pre_tokenizer (AttnvizTokenizer *self, PreTokenizerInfo *info, JsonObject *pt)
{
  const char *type = obj_string (pt, "type");

  if (type == NULL)
    return;
  if (g_str_equal (type, "Sequence"))
    {
      JsonArray *list = obj_array (pt, "pretokenizers");

      for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
        {
          JsonNode *n = json_array_get_element (list, i);

          if (JSON_NODE_HOLDS_OBJECT (n))
            read_pre_tokenizer (self, info, json_node_get_object (n));
        }
    }
  else if (g_str_equal (type, "ByteLevel"))
    {
      info->byte_level = TRUE;
      self->add_prefix_space = obj_bool (pt, "add_prefix_space") == 1;
      if (obj_bool (pt, "use_regex") != 0 && info->split_regex == NULL)
        info->split_regex = GPT2_PATTERN;
    }
  else if (g_str_equal (type, "Split"))
    {
      const char *regex = obj_string (obj_object (pt, "pattern"), "Regex");

      if (regex != NULL)
        info->split_regex = regex;
    }
  else if (g_str_equal (type, "Metaspace"))
    {
      const char *repl = obj_string (pt, "replacement");
      const char *scheme = obj_string (pt, "prepend_scheme");

      info->metaspace = TRUE;
      g_free (self->space);
      self->space = g_strdup (repl != NULL ? repl : METASPACE);
      g_clear_pointer (&self->prepend, g_free);
      if ((scheme != NULL && !g_str_equal (scheme, "never"))
          || (scheme == NULL && obj_bool (pt, "add_prefix_space") != 0))
        self->prepend = g_strdup (self->space);
      self->split_on_space = obj_bool (pt, "split") == 1;
    }
  else
    g_debug ("ignoring pre-tokenizer %s", type);
}

/* model.type "attnviz-chars": one token per character (see the header). */
static gboolean
load_chars (AttnvizTokenizer *self, Loader *loader, JsonObject *model, JsonObject *vocab,
            const char *path, GError **error)
{
  static const struct {
    const char *key;
    gsize offset;
  } names[] = {
    { "bos_token", G_STRUCT_OFFSET (Loader, bos_name) },
    { "eos_token", G_STRUCT_OFFSET (Loader, eos_name) },
    { "pad_token", G_STRUCT_OFFSET (Loader, pad_name) },
    { "unk_token", G_STRUCT_OFFSET (Loader, unk_name) },
  };
  int v;

  self->kind = ATTNVIZ_TOKENIZER_CHARS;
  if (!vocab_from_object (self, vocab, path, "model.vocab", error))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      char **slot = G_STRUCT_MEMBER_P (loader, names[i].offset);
      const char *s = obj_string (model, names[i].key);

      if (s != NULL)
        {
          g_free (*slot);
          *slot = g_strdup (s);
        }
    }
  for (guint id = 0; id < self->pieces->len; id++)
    {
      const char *piece = g_ptr_array_index (self->pieces, id);
      gboolean special = FALSE;

      for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
        {
          char **slot = G_STRUCT_MEMBER_P (loader, names[i].offset);

          special |= piece != NULL && g_strcmp0 (*slot, piece) == 0;
        }
      if (piece != NULL && !special && g_utf8_strlen (piece, -1) != 1)
        {
          g_autofree char *quoted = attnviz_printable (piece);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: vocabulary entry “%s” (id %u) is not one character", path, quoted, id);
          return FALSE;
        }
    }
  if ((v = obj_bool (model, "add_bos_token")) >= 0)
    loader->add_bos = v;
  if ((v = obj_bool (model, "add_eos_token")) >= 0)
    loader->add_eos = v;
  self->flags = g_new0 (guint8, self->pieces->len);
  return TRUE;
}

static gboolean
load_tokenizer_json (AttnvizTokenizer *self, Loader *loader, const char *path, GError **error)
{
  g_autoptr(JsonNode) root_node = read_json (path, ATTNVIZ_JSON_TOKENIZER, error);
  JsonObject *root, *model, *vocab;
  JsonArray *added;
  const char *type;
  gint64 max_chars;

  if (root_node == NULL)
    return FALSE;
  root = json_node_get_object (root_node);
  model = obj_object (root, "model");
  if (model == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: no “model” object", path);
      return FALSE;
    }
  type = obj_string (model, "type");
  if (type == NULL)
    type = obj_member (model, "merges") != NULL ? "BPE" : "WordPiece";
  vocab = obj_object (model, "vocab");
  if (vocab == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: model.vocab is not an object of piece: id", path);
      return FALSE;
    }

  if (g_str_equal (type, "attnviz-chars"))
    return load_chars (self, loader, model, vocab, path, error);
  if (g_str_equal (type, "BPE"))
    {
      PreTokenizerInfo info = { 0 };
      JsonArray *merges = obj_array (model, "merges");

      read_normalizer (self, loader, obj_object (root, "normalizer"));
      read_pre_tokenizer (self, &info, obj_object (root, "pre_tokenizer"));
      self->byte_fallback = obj_bool (model, "byte_fallback") == 1;
      self->fuse_unk = obj_bool (model, "fuse_unk") == 1;
      self->ignore_merges = obj_bool (model, "ignore_merges") == 1;
      if (info.byte_level)
        {
          g_autoptr(GError) re_error = NULL;

          self->kind = ATTNVIZ_TOKENIZER_GPT2_BPE;
          self->pretokenizer = g_regex_new (info.split_regex ? info.split_regex : GPT2_PATTERN,
                                            G_REGEX_OPTIMIZE, 0, &re_error);
          if (self->pretokenizer == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s: pre-tokenizer pattern: %s", path, re_error->message);
              return FALSE;
            }
        }
      else if (info.metaspace || self->byte_fallback || self->prepend != NULL || self->space != NULL)
        self->kind = ATTNVIZ_TOKENIZER_SPM_BPE;
      else
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "%s: BPE without a ByteLevel pre-tokenizer or a “▁” normalizer is not supported",
                       path);
          return FALSE;
        }
      if (!vocab_from_object (self, vocab, path, "model.vocab", error))
        return FALSE;
      if (merges == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: model.merges is missing", path);
          return FALSE;
        }
      for (guint i = 0; i < json_array_get_length (merges); i++)
        {
          JsonNode *n = json_array_get_element (merges, i);
          g_autofree char *where = g_strdup_printf ("%s: merges[%u]", path, i);
          g_auto(GStrv) parts = NULL;

          if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
            parts = g_strsplit (json_node_get_string (n), " ", -1);
          else if (JSON_NODE_HOLDS_ARRAY (n) && json_array_get_length (json_node_get_array (n)) == 2)
            {
              JsonArray *pair = json_node_get_array (n);
              JsonNode *a = json_array_get_element (pair, 0);
              JsonNode *b = json_array_get_element (pair, 1);

              if (JSON_NODE_HOLDS_VALUE (a) && json_node_get_value_type (a) == G_TYPE_STRING
                  && JSON_NODE_HOLDS_VALUE (b) && json_node_get_value_type (b) == G_TYPE_STRING)
                {
                  parts = g_new0 (char *, 3);
                  parts[0] = g_strdup (json_node_get_string (a));
                  parts[1] = g_strdup (json_node_get_string (b));
                }
            }
          if (parts == NULL || g_strv_length (parts) != 2 || parts[0][0] == '\0' || parts[1][0] == '\0')
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s: expected \"left right\" or [left, right]", where);
              return FALSE;
            }
          if (!add_merge (self, loader, parts[0], parts[1], where, error))
            return FALSE;
        }
    }
  else if (g_str_equal (type, "WordPiece"))
    {
      const char *prefix = obj_string (model, "continuing_subword_prefix");

      self->kind = ATTNVIZ_TOKENIZER_WORDPIECE;
      /* Without a normalizer the text goes to WordPiece as it is. */
      self->clean_text = self->chinese_chars = self->lowercase = FALSE;
      read_normalizer (self, loader, obj_object (root, "normalizer"));
      if (prefix != NULL)
        {
          g_free (self->subword_prefix);
          self->subword_prefix = g_strdup (prefix);
        }
      if (obj_int (model, "max_input_chars_per_word", &max_chars) && max_chars > 0)
        self->max_word_chars = (int) MIN (max_chars, G_MAXINT);
      if (!vocab_from_object (self, vocab, path, "model.vocab", error))
        return FALSE;
    }
  else
    {
      g_autofree char *quoted = attnviz_printable (type);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: model type “%s” is not supported (BPE or WordPiece)", path, quoted);
      return FALSE;
    }

  if (obj_string (model, "unk_token") != NULL)
    {
      g_free (loader->unk_name);
      loader->unk_name = g_strdup (obj_string (model, "unk_token"));
    }

  added = obj_array (root, "added_tokens");
  for (guint i = 0; added != NULL && i < json_array_get_length (added); i++)
    {
      JsonNode *n = json_array_get_element (added, i);
      JsonObject *tok = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      const char *content = obj_string (tok, "content");
      gint64 id;

      g_autofree char *field = g_strdup_printf ("added_tokens[%u]", i);

      if (content == NULL || !obj_int (tok, "id", &id))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: %s lacks an id or a content", path, field);
          return FALSE;
        }
      /* The range first: -1 would equal vocab_lookup's "not found". */
      if (id < 0 || id >= MAX_VOCAB_ID)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: %s: id %" G_GINT64_FORMAT " is outside 0..%d", path, field, id, MAX_VOCAB_ID - 1);
          return FALSE;
        }
      if (vocab_lookup (self, content) != id && !vocab_add (self, content, id, path, field, error))
        return FALSE;
    }

  read_post_processor (loader, obj_object (root, "post_processor"));

  /* Flags need the final vocabulary size: mark the added specials now. */
  self->flags = g_new0 (guint8, self->pieces->len);
  for (guint i = 0; added != NULL && i < json_array_get_length (added); i++)
    {
      JsonObject *tok = json_node_get_object (json_array_get_element (added, i));
      gint64 id;

      /* Checked above: every id is a piece, within the flags. */
      if (obj_bool (tok, "special") == 1 && obj_int (tok, "id", &id) && id >= 0
          && (guint64) id < self->pieces->len)
        self->flags[id] |= PIECE_SPECIAL;
    }
  return TRUE;
}

/* ID (from FIELD of PATH) as a piece of the loaded vocabulary, or FALSE
 * with an error naming the file, the field and the id. */
static gboolean
check_config_id (AttnvizTokenizer *self, gint64 id, const char *path, const char *field, GError **error)
{
  if (id < 0 || (guint64) id >= self->pieces->len || g_ptr_array_index (self->pieces, id) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: %s: id %" G_GINT64_FORMAT " is not in the vocabulary (0..%d)",
                   path, field, id, (int) self->pieces->len - 1);
      return FALSE;
    }
  return TRUE;
}

/* The ids a tokenizer_config.json may give: bos_token_id and the like, and
 * added_tokens_decoder { "ID": { content, special } }.  Each must name a
 * piece of the vocabulary, with the same content; the special ones are
 * marked so. */
static gboolean
read_config_ids (AttnvizTokenizer *self, Loader *loader, JsonObject *o, const char *path, GError **error)
{
  static const struct {
    const char *key;
    gsize offset;
  } ids[] = {
    { "bos_token_id", G_STRUCT_OFFSET (Loader, bos_name) },
    { "eos_token_id", G_STRUCT_OFFSET (Loader, eos_name) },
    { "pad_token_id", G_STRUCT_OFFSET (Loader, pad_name) },
    { "unk_token_id", G_STRUCT_OFFSET (Loader, unk_name) },
  };
  JsonObject *decoder = obj_object (o, "added_tokens_decoder");

  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      JsonNode *n = obj_member (o, ids[i].key);
      char **slot = G_STRUCT_MEMBER_P (loader, ids[i].offset);
      gint64 id;

      if (n == NULL || JSON_NODE_HOLDS_NULL (n))
        continue;
      if (!obj_int (o, ids[i].key, &id))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: %s is not a token id (an integer)", path, ids[i].key);
          return FALSE;
        }
      if (!check_config_id (self, id, path, ids[i].key, error))
        return FALSE;
      g_free (*slot);
      *slot = g_strdup (g_ptr_array_index (self->pieces, id));
    }

  if (decoder == NULL && obj_member (o, "added_tokens_decoder") != NULL
      && !JSON_NODE_HOLDS_NULL (obj_member (o, "added_tokens_decoder")))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: added_tokens_decoder is not an object of id: token", path);
      return FALSE;
    }
  if (decoder != NULL)
    {
      g_autoptr(GList) keys = json_object_get_members (decoder);

      for (GList *l = keys; l != NULL; l = l->next)
        {
          g_autofree char *quoted_key = attnviz_printable (l->data);
          g_autofree char *field = g_strdup_printf ("added_tokens_decoder[\"%s\"]", quoted_key);
          JsonNode *n = json_object_get_member (decoder, l->data);
          JsonObject *tok = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
          const char *content = obj_string (tok, "content");
          gint64 id;

          if (!g_ascii_string_to_signed (l->data, 10, G_MININT64, G_MAXINT64, &id, NULL))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s: %s: \"%s\" is not a token id", path, field, quoted_key);
              return FALSE;
            }
          if (!check_config_id (self, id, path, field, error))
            return FALSE;
          if (content == NULL || strcmp (content, g_ptr_array_index (self->pieces, id)) != 0)
            {
              g_autofree char *qcontent = attnviz_printable (content ? content : "(none)");
              g_autofree char *qpiece = attnviz_printable (g_ptr_array_index (self->pieces, id));
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s: %s: id %" G_GINT64_FORMAT " is “%s” here but “%s” in the vocabulary",
                           path, field, id, qcontent, qpiece);
              return FALSE;
            }
          if (obj_bool (tok, "special") == 1)
            self->flags[id] |= PIECE_SPECIAL;
        }
    }
  return TRUE;
}

/* special_tokens_map.json and tokenizer_config.json: names and options. */
static gboolean
read_config (AttnvizTokenizer *self, Loader *loader, const char *name, GError **error)
{
  g_autofree char *path = g_build_filename (loader->dir, name, NULL);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *o;
  const char *s;
  int v;
  static const struct {
    const char *key;
    gsize offset;
  } names[] = {
    { "bos_token", G_STRUCT_OFFSET (Loader, bos_name) },
    { "eos_token", G_STRUCT_OFFSET (Loader, eos_name) },
    { "pad_token", G_STRUCT_OFFSET (Loader, pad_name) },
    { "unk_token", G_STRUCT_OFFSET (Loader, unk_name) },
  };

  if (!attnviz_path_present (path))
    return TRUE;
  root = read_json (path, ATTNVIZ_JSON_TOKENIZER_CONFIG, error);
  if (root == NULL)
    return FALSE;
  o = json_node_get_object (root);

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      char **slot = G_STRUCT_MEMBER_P (loader, names[i].offset);

      if ((s = token_name (o, names[i].key)) != NULL)
        {
          g_free (*slot);
          *slot = g_strdup (s);
        }
    }
  /* BERT calls its sequence markers cls and sep. */
  if (self->kind == ATTNVIZ_TOKENIZER_WORDPIECE)
    {
      if ((s = token_name (o, "cls_token")) != NULL)
        {
          g_free (loader->bos_name);
          loader->bos_name = g_strdup (s);
        }
      if ((s = token_name (o, "sep_token")) != NULL)
        {
          g_free (loader->eos_name);
          loader->eos_name = g_strdup (s);
        }
      if ((v = obj_bool (o, "do_lower_case")) >= 0)
        self->lowercase = v;
      if (obj_member (o, "strip_accents") != NULL)
        loader->strip_accents = obj_bool (o, "strip_accents");
      if ((v = obj_bool (o, "tokenize_chinese_chars")) >= 0)
        self->chinese_chars = v;
    }
  if ((v = obj_bool (o, "add_bos_token")) >= 0)
    loader->add_bos = v;
  if ((v = obj_bool (o, "add_eos_token")) >= 0)
    loader->add_eos = v;
  return read_config_ids (self, loader, o, path, error);
}

static gboolean
read_scores (AttnvizTokenizer *self, const char *path, GError **error)
{
  g_autoptr(JsonNode) root = read_json (path, ATTNVIZ_JSON_TOKENIZER, error);
  JsonObject *o;
  JsonArray *pieces, *scores;

  if (root == NULL)
    return FALSE;
  o = json_node_get_object (root);
  pieces = obj_array (o, "pieces");
  scores = obj_array (o, "scores");
  if (pieces == NULL || scores == NULL || json_array_get_length (pieces) != json_array_get_length (scores))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: expected arrays “pieces” and “scores” of equal length", path);
      return FALSE;
    }
  self->scores = g_new0 (double, self->pieces->len);
  for (guint i = 0; i < json_array_get_length (pieces); i++)
    {
      JsonNode *p = json_array_get_element (pieces, i);
      JsonNode *s = json_array_get_element (scores, i);
      int id;

      if (!JSON_NODE_HOLDS_VALUE (p) || json_node_get_value_type (p) != G_TYPE_STRING
          || !JSON_NODE_HOLDS_VALUE (s)
          || (json_node_get_value_type (s) != G_TYPE_DOUBLE && json_node_get_value_type (s) != G_TYPE_INT64))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: entry %u is not a piece with a numeric score", path, i);
          return FALSE;
        }
      id = vocab_lookup (self, json_node_get_string (p));
      if (id < 0)
        {
          g_autofree char *quoted = attnviz_printable (json_node_get_string (p));
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: pieces[%u]: “%s” is not in the tokenizer's vocabulary",
                       path, i, quoted);
          return FALSE;
        }
      self->scores[id] = json_node_get_double (s);
    }
  return TRUE;
}

/* SentencePiece merging: every piece that splits into two pieces is a merge
 * of those two, with the piece's score as priority. */
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

/* Every merge (left, right) -> piece, from the ways to cut each piece in
 * two: linear in the pieces' lengths. */
static void
build_score_pairs (AttnvizTokenizer *self)
{
  AttnvizPieceIndex ix = { 0 };
  guint64 *pre = NULL, *pow = NULL; /* (len + 1) prefix hashes, powers of the base */
  gsize cap = 0;

  _attnviz_piece_index_init (&ix, self);
  pair_table_init (&self->pairs, self->pieces->len * 4);
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
            pair_table_insert (&self->pairs, left, right, self->scores[id], (gint32) id);
        }
    }
  g_free (pre);
  g_free (pow);
  _attnviz_piece_index_clear (&ix);
}

static int
resolve_name (AttnvizTokenizer *self, const char *name, const char *fallback)
{
  int id = vocab_lookup (self, name);

  return id >= 0 ? id : vocab_lookup (self, fallback);
}

static void
set_special_list (AttnvizTokenizer *self, GPtrArray *names, int *ids, int *n_ids)
{
  *n_ids = 0;
  for (guint i = 0; names != NULL && i < names->len && *n_ids < 4; i++)
    {
      int id = vocab_lookup (self, g_ptr_array_index (names, i));

      if (id >= 0)
        ids[(*n_ids)++] = id;
    }
}

static gboolean
finish_loading (AttnvizTokenizer *self, Loader *loader, GError **error)
{
  static const char *const defaults[][4] = {
    /* bos, eos, pad, unk */
    [ATTNVIZ_TOKENIZER_GPT2_BPE] = { "<|endoftext|>", "<|endoftext|>", NULL, "<|endoftext|>" },
    [ATTNVIZ_TOKENIZER_WORDPIECE] = { "[CLS]", "[SEP]", "[PAD]", "[UNK]" },
    [ATTNVIZ_TOKENIZER_SPM_BPE] = { "<s>", "</s>", NULL, "<unk>" },
    [ATTNVIZ_TOKENIZER_CHARS] = { "<bos>", "<eos>", "<pad>", "<unk>" },
  };
  const char *const *def = defaults[self->kind];
  int *special_ids[] = { &self->bos_id, &self->eos_id, &self->pad_id, &self->unk_id };
  g_autofree char *scores_path = NULL;

  if (self->flags == NULL)
    self->flags = g_new0 (guint8, self->pieces->len);

  if (!read_config (self, loader, "special_tokens_map.json", error)
      || !read_config (self, loader, "tokenizer_config.json", error))
    return FALSE;

  self->bos_id = resolve_name (self, loader->bos_name, def[0]);
  self->eos_id = resolve_name (self, loader->eos_name, def[1]);
  self->pad_id = resolve_name (self, loader->pad_name, def[2]);
  self->unk_id = resolve_name (self, loader->unk_name, def[3]);
  for (gsize i = 0; i < G_N_ELEMENTS (special_ids); i++)
    if (*special_ids[i] >= 0)
      self->flags[*special_ids[i]] |= PIECE_SPECIAL;

  /* What add_special inserts: a template wins, then tokenizer_config's
   * add_bos_token/add_eos_token (LLaMA), then the family's habit. */
  if (loader->prefix_names != NULL)
    {
      set_special_list (self, loader->prefix_names, self->prefix, &self->n_prefix);
      set_special_list (self, loader->suffix_names, self->suffix, &self->n_suffix);
    }
  else if (self->kind == ATTNVIZ_TOKENIZER_WORDPIECE)
    {
      if (self->bos_id >= 0)
        self->prefix[self->n_prefix++] = self->bos_id;
      if (self->eos_id >= 0)
        self->suffix[self->n_suffix++] = self->eos_id;
    }
  else if (self->kind == ATTNVIZ_TOKENIZER_SPM_BPE)
    {
      if (loader->add_bos != 0 && self->bos_id >= 0)
        self->prefix[self->n_prefix++] = self->bos_id;
    }
  if (self->kind == ATTNVIZ_TOKENIZER_SPM_BPE)
    {
      if (loader->add_bos >= 0)
        {
          self->n_prefix = 0;
          if (loader->add_bos && self->bos_id >= 0)
            self->prefix[self->n_prefix++] = self->bos_id;
        }
      if (loader->add_eos >= 0)
        {
          self->n_suffix = 0;
          if (loader->add_eos && self->eos_id >= 0)
            self->suffix[self->n_suffix++] = self->eos_id;
        }
    }

  if (self->kind == ATTNVIZ_TOKENIZER_WORDPIECE)
    {
      self->strip_accents = loader->strip_accents < 0 ? self->lowercase : loader->strip_accents;
      return TRUE;
    }
  if (self->kind == ATTNVIZ_TOKENIZER_CHARS)
    {
      self->n_prefix = self->n_suffix = 0;
      if (loader->add_bos > 0 && self->bos_id >= 0)
        self->prefix[self->n_prefix++] = self->bos_id;
      if (loader->add_eos > 0 && self->eos_id >= 0)
        self->suffix[self->n_suffix++] = self->eos_id;
      return TRUE;
    }

  /* BPE: bytes, then the merge table. */
  for (int b = 0; b < 256; b++)
    {
      char name[8];

      if (self->kind == ATTNVIZ_TOKENIZER_GPT2_BPE)
        name[g_unichar_to_utf8 (self->byte_to_char[b], name)] = '\0';
      else
        g_snprintf (name, sizeof name, "<0x%02X>", b);
      self->byte_ids[b] = vocab_lookup (self, name);
      if (self->kind == ATTNVIZ_TOKENIZER_SPM_BPE && self->byte_ids[b] >= 0)
        self->flags[self->byte_ids[b]] |= PIECE_BYTE;
    }

  if (self->kind == ATTNVIZ_TOKENIZER_GPT2_BPE)
    {
      if (self->pretokenizer == NULL)
        self->pretokenizer = g_regex_new (GPT2_PATTERN, G_REGEX_OPTIMIZE, 0, NULL);
      g_assert (self->pretokenizer != NULL);
      /* GRegex JIT-compiles on its first match, writing into the GRegex:
       * match once now so that encodes on several threads only read it. */
      g_regex_match (self->pretokenizer, "warm up", 0, NULL);
    }

  scores_path = g_build_filename (loader->dir, "sentencepiece_scores.json", NULL);
  if (self->kind == ATTNVIZ_TOKENIZER_SPM_BPE && attnviz_path_present (scores_path))
    {
      if (!read_scores (self, scores_path, error))
        return FALSE;
      build_score_pairs (self);
    }
  else
    {
      guint n = loader->merges->len / 3;
      const gint32 *m = (const gint32 *) loader->merges->data;

      pair_table_init (&self->pairs, n);
      for (guint i = 0; i < n; i++)
        pair_table_insert (&self->pairs, m[3 * i], m[3 * i + 1], -(double) i, m[3 * i + 2]);
    }
  return TRUE;
}

static AttnvizTokenizer *
tokenizer_new (void)
{
  AttnvizTokenizer *self = g_new0 (AttnvizTokenizer, 1);

  self->pieces = g_ptr_array_new_with_free_func (g_free);
  self->vocab = g_hash_table_new (g_str_hash, g_str_equal);
  self->bos_id = self->eos_id = self->pad_id = self->unk_id = -1;
  self->clean_text = TRUE;
  self->chinese_chars = TRUE;
  self->lowercase = TRUE;
  self->subword_prefix = g_strdup ("##");
  self->max_word_chars = 100;
  init_byte_level (self);
  return self;
}

AttnvizTokenizer *
attnviz_tokenizer_load_dir (const char *dir, GError **error)
{
  g_autofree char *json_path = NULL;
  g_autofree char *vocab_json = NULL;
  g_autofree char *merges_txt = NULL;
  g_autofree char *vocab_txt = NULL;
  AttnvizTokenizer *self;
  Loader loader = { 0 };
  gboolean ok;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no such folder", dir);
      return NULL;
    }
  json_path = g_build_filename (dir, "tokenizer.json", NULL);
  vocab_json = g_build_filename (dir, "vocab.json", NULL);
  merges_txt = g_build_filename (dir, "merges.txt", NULL);
  vocab_txt = g_build_filename (dir, "vocab.txt", NULL);

  self = tokenizer_new ();
  loader.dir = dir;
  loader.merges = g_array_new (FALSE, FALSE, sizeof (gint32));
  loader.add_bos = loader.add_eos = loader.strip_accents = -1;

  /* Present (even as a dangling link or a FIFO) is what decides which
   * files are read; reading then refuses what is not a regular file. */
  if (attnviz_path_present (json_path))
    ok = load_tokenizer_json (self, &loader, json_path, error);
  else if (attnviz_path_present (vocab_json))
    {
      if (attnviz_path_present (merges_txt))
        ok = load_gpt2_files (self, &loader, vocab_json, merges_txt, error);
      else
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "%s: vocab.json needs merges.txt beside it", dir);
          ok = FALSE;
        }
    }
  else if (attnviz_path_present (vocab_txt))
    ok = load_vocab_txt (self, vocab_txt, error);
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "%s: no tokenizer (tokenizer.json, vocab.json + merges.txt or vocab.txt)", dir);
      ok = FALSE;
    }

  if (ok)
    ok = finish_loading (self, &loader, error);

  g_array_unref (loader.merges);
  g_free (loader.bos_name);
  g_free (loader.eos_name);
  g_free (loader.pad_name);
  g_free (loader.unk_name);
  g_clear_pointer (&loader.prefix_names, g_ptr_array_unref);
  g_clear_pointer (&loader.suffix_names, g_ptr_array_unref);

  if (!ok)
    {
      attnviz_tokenizer_free (self);
      return NULL;
    }
  g_debug ("%s: %s tokenizer, %u pieces", dir, attnviz_tokenizer_get_kind_name (self),
           self->pieces->len);
  return self;
}

void
attnviz_tokenizer_free (AttnvizTokenizer *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->vocab);
  g_ptr_array_unref (self->pieces);
  g_free (self->flags);
  g_free (self->pairs.slots);
  g_clear_pointer (&self->pretokenizer, g_regex_unref);
  g_free (self->prepend);
  g_free (self->space);
  g_free (self->scores);
  g_free (self->subword_prefix);
  g_free (self->split_ids);
  _attnviz_piece_index_clear (&self->piece_index);
  g_free (self);
}

/* ---------------------------------------------------------------- accessors */

AttnvizTokenizerKind
attnviz_tokenizer_get_kind (const AttnvizTokenizer *self)
{
  g_return_val_if_fail (self != NULL, ATTNVIZ_TOKENIZER_GPT2_BPE);
  return self->kind;
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

static inline void
push_token (GArray *tokens, gint32 id, guint32 start, guint32 end, gboolean special)
{
  AttnvizToken t = { id, start, end, special };

  g_array_append_val (tokens, t);
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
      id = vocab_lookup (self, mapped->str);
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

/* Per-call state of encode_gpt2: a word cache and scratch buffers. */
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

      push_token (tokens, t->id, MAX (s, shift) - shift, MAX (e, shift) - shift, FALSE);
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

static gboolean
encode_gpt2 (const AttnvizTokenizer *self, const char *text, gsize len, GArray *tokens, GError **error)
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
            push_token (tokens, self->byte_ids[(guint8) work[b]], s->start, s->end, FALSE);
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
  push_token (tokens, self->unk_id, s->start, s->end, FALSE);
  *last_unk = TRUE;
}

static void
encode_spm (const AttnvizTokenizer *self, const char *text, gsize len, GArray *tokens)
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
      syms[i].id = vocab_lookup_len (self, unit, ulen);
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
          push_token (tokens, syms[i].id, syms[i].start, syms[i].end, FALSE);
          last_unk = FALSE;
        }
      else
        emit_fallback (self, work->str, &syms[i], tokens, &last_unk);
    }
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

/* Scratch buffers of one encode_wordpiece call. */
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
          found = vocab_lookup (self, st->cand->str);
          if (found >= 0)
            break;
        }
      if (found < 0)
        {
          g_array_set_size (tokens, first);
          goto unknown;
        }
      push_token (tokens, found, chars[start].start, chars[end - 1].end, FALSE);
      start = end;
    }
  g_array_set_size (st->word, 0);
  return;

unknown:
  if (self->unk_id >= 0)
    push_token (tokens, self->unk_id, chars[0].start, chars[n - 1].end, FALSE);
  g_array_set_size (st->word, 0);
}

/* Hugging Face BasicTokenizer then WordPiece: clean the text, isolate CJK
 * characters, split on whitespace, lowercase and strip accents, split off
 * punctuation, then spell each word with pieces. */
static void
encode_wordpiece (const AttnvizTokenizer *self, const char *text, gsize len, GArray *tokens)
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

/* ---------------------------------------------------------------- chars */

static void
encode_chars (const AttnvizTokenizer *self, const char *text, gsize len, GArray *tokens)
{
  for (const char *p = text; p < text + len; )
    {
      const char *next = g_utf8_next_char (p);
      int id = vocab_lookup_len (self, p, next - p);

      /* Without an unk token an unknown character has no id: it is left out. */
      if (id < 0)
        id = self->unk_id;
      if (id >= 0)
        push_token (tokens, id, (guint32) (p - text), (guint32) (next - text), FALSE);
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
      return encode_gpt2 (self, text, n, tokens, error);
    case ATTNVIZ_TOKENIZER_SPM_BPE:
      encode_spm (self, text, n, tokens);
      return TRUE;
    case ATTNVIZ_TOKENIZER_WORDPIECE:
      if (self->phantom_space)
        _attnviz_tokenizer_encode_wpm_phantom (self, text, n, tokens);
      else
        encode_wordpiece (self, text, n, tokens);
      return TRUE;
    case ATTNVIZ_TOKENIZER_CHARS:
      encode_chars (self, text, n, tokens);
      return TRUE;
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
          push_token (tokens, fr->id, fr->start, fr->end, TRUE);
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
      push_token (tokens, self->prefix[i], 0, 0, TRUE);

  if (!(self->n_split > 0 ? encode_fragments (self, text, n, tokens, error)
                          : encode_text (self, text, n, tokens, error)))
    return NULL;

  if (add_special)
    for (int i = 0; i < self->n_suffix; i++)
      push_token (tokens, self->suffix[i], (guint32) n, (guint32) n, TRUE);
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
      prev = id;
    }

  /* Partial byte sequences (a cut-off character) decode as U+FFFD. */
  text = g_utf8_make_valid (out->len > 0 ? (const char *) out->data : "", out->len);
  if (self->kind == ATTNVIZ_TOKENIZER_WORDPIECE)
    text = wordpiece_cleanup (text);
  return text;
}

/* ---------------------------------------------------------------- for the other loaders */

AttnvizTokenizer *
_attnviz_tokenizer_new (void)
{
  return tokenizer_new ();
}

int
_attnviz_tokenizer_vocab_lookup (const AttnvizTokenizer *self, const char *piece)
{
  return vocab_lookup (self, piece);
}

void
_attnviz_tokenizer_pair_insert (AttnvizTokenizer *self, gint32 left, gint32 right,
                                double score, gint32 merged)
{
  pair_table_insert (&self->pairs, left, right, score, merged);
}

void
_attnviz_tokenizer_build_score_pairs (AttnvizTokenizer *self)
{
  build_score_pairs (self);
}
