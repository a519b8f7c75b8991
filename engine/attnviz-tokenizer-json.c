/* attnviz-tokenizer-json.c: Hugging Face's JSON files into the struct
 *
 * tokenizer.json (normalizer, pre-tokenizer, post-processor, model), then
 * the optional configs beside it.  The files read, field by field:
 *
 * tokenizer.json (Hugging Face `tokenizers`)
 *   model.type         "BPE", "WordPiece" or "Unigram" (attnviz-tokenizer-unigram.c)
 *   model.vocab        { piece: id }
 *   model.merges       BPE only: ["a b", ...] or [["a", "b"], ...], rank = index
 *   model.unk_token    piece of the unknown token
 *   model.byte_fallback, model.fuse_unk, model.ignore_merges   BPE flags
 *   model.continuing_subword_prefix, model.max_input_chars_per_word  WordPiece
 *   added_tokens       [{ id, content, special }]: special ones are never
 *                      produced by merging and are skipped by decode; a
 *                      Unigram model's are all cut out of the text first,
 *                      matched whole (T5's <extra_id_N> sentinels)
 *   normalizer         BertNormalizer {clean_text, handle_chinese_chars,
 *                      strip_accents, lowercase}; SentencePiece style
 *                      Sequence [Prepend "▁", Replace " " -> "▁"];
 *                      Precompiled {precompiled_charsmap: base64 of
 *                      SentencePiece's compiled map, applied as it is
 *                      (attnviz-charsmap.c)}; NFKC, or a Precompiled
 *                      without a map: GLib's NFKC (Unigram only)
 *   pre_tokenizer      ByteLevel {add_prefix_space, use_regex}, possibly in a
 *                      Sequence after a Split {pattern: {Regex}}; Metaspace
 *                      {replacement, prepend_scheme, split}; BertPreTokenizer
 *   post_processor     TemplateProcessing {single: [SpecialToken | Sequence]},
 *                      BertProcessing {cls, sep}: what add_special inserts
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
JsonNode *
_attnviz_tokenizer_read_json (const char *path, AttnvizJsonKind kind, GError **error)
{
  return attnviz_json_load (path, kind, error);
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
  else if (g_str_equal (type, "Precompiled") || g_str_equal (type, "NFKC"))
    self->nfkc = TRUE;   /* without a map (_attnviz_tokenizer_read_precompiled): NFKC */
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
  if (!_attnviz_tokenizer_vocab_from_object (self, vocab, path, "model.vocab", error))
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

gboolean
_attnviz_tokenizer_load_json (AttnvizTokenizer *self, Loader *loader, const char *path,
                              GError **error)
{
  g_autoptr(JsonNode) root_node = _attnviz_tokenizer_read_json (path, ATTNVIZ_JSON_TOKENIZER, error);
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
  if (vocab == NULL && !g_str_equal (type, "Unigram"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: model.vocab is not an object of piece: id", path);
      return FALSE;
    }

  if (g_str_equal (type, "attnviz-chars"))
    return load_chars (self, loader, model, vocab, path, error);
  if (g_str_equal (type, "Unigram"))
    {
      if (!_attnviz_tokenizer_load_unigram (self, loader, model, path, error))
        return FALSE;
      read_normalizer (self, loader, obj_object (root, "normalizer"));
      if (!_attnviz_tokenizer_read_precompiled (self, obj_object (root, "normalizer"), path, error))
        return FALSE;
    }
  else if (g_str_equal (type, "BPE"))
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
      if (!_attnviz_tokenizer_vocab_from_object (self, vocab, path, "model.vocab", error))
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
          if (!_attnviz_tokenizer_add_merge (self, loader, parts[0], parts[1], where, error))
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
      if (!_attnviz_tokenizer_vocab_from_object (self, vocab, path, "model.vocab", error))
        return FALSE;
    }
  else
    {
      g_autofree char *quoted = attnviz_printable (type);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: model type “%s” is not supported (BPE, WordPiece or Unigram)", path, quoted);
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
      /* The range first: -1 would equal _attnviz_tokenizer_vocab_lookup's "not found". */
      if (id < 0 || id >= MAX_VOCAB_ID)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: %s: id %" G_GINT64_FORMAT " is outside 0..%d", path, field, id, MAX_VOCAB_ID - 1);
          return FALSE;
        }
      if (_attnviz_tokenizer_vocab_lookup (self, content) != id
          && !_attnviz_tokenizer_vocab_add (self, content, id, path, field, error))
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
  if (self->kind == ATTNVIZ_TOKENIZER_UNIGRAM)
    {
      /* Hugging Face matches every added token whole in the text before
       * the model sees it: T5's <extra_id_N> sentinels. */
      g_autoptr(GArray) split = g_array_new (FALSE, FALSE, sizeof (gint32));
      for (guint i = 0; added != NULL && i < json_array_get_length (added); i++)
        {
          JsonObject *tok = json_node_get_object (json_array_get_element (added, i));
          gint64 id;
          if (obj_int (tok, "id", &id) && id >= 0 && (guint64) id < self->pieces->len)
            {
              gint32 id32 = (gint32) id;
              g_array_append_val (split, id32);
            }
        }
      _attnviz_tokenizer_set_split (self, split);
      _attnviz_tokenizer_unigram_finish (self);
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
gboolean
_attnviz_tokenizer_read_config (AttnvizTokenizer *self, Loader *loader, const char *name,
                                GError **error)
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
  root = _attnviz_tokenizer_read_json (path, ATTNVIZ_JSON_TOKENIZER_CONFIG, error);
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

gboolean
_attnviz_tokenizer_read_scores (AttnvizTokenizer *self, const char *path, GError **error)
{
  g_autoptr(JsonNode) root = _attnviz_tokenizer_read_json (path, ATTNVIZ_JSON_TOKENIZER, error);
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
      id = _attnviz_tokenizer_vocab_lookup (self, json_node_get_string (p));
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
