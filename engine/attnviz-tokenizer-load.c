/* attnviz-tokenizer-load.c: a tokenizer folder into the struct
 *
 * Which files a folder has decides how it is read (attnviz_tokenizer_load_dir):
 * tokenizer.json (attnviz-tokenizer-json.c), else Marian's source.spm +
 * target.spm + vocab.json (attnviz-tokenizer-spm.c), else the GPT-2 pair, else
 * BERT's vocab.txt; then the optional configs, and loading finishes the
 * struct: special ids, what add_special inserts, the byte ids and the merge
 * table.  Also the vocabulary itself (piece <-> id) and the merges as the
 * files name them, which the JSON reader shares.
 *
 * The plain-text files read here, field by field:
 *
 * vocab.json + merges.txt (GPT-2)
 *   vocab.json         { piece: id }, pieces in the bytes-to-unicode alphabet
 *   merges.txt         "#version: ..." then one "a b" pair per line, rank order
 *   A vocabulary with "<s>" and "</s>" is RoBERTa's (and BART's): add_special
 *   wraps the text in them.
 *
 * vocab.txt (BERT)     one piece per line, id = line number - 1
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

/* merges.txt and vocab.txt: the size limit of a tokenizer file. */
#define MAX_TEXT_BYTES ((gsize) 256 << 20)

/* ---------------------------------------------------------------- vocabulary */

int
_attnviz_tokenizer_vocab_lookup (const AttnvizTokenizer *self, const char *piece)
{
  gpointer value;

  if (piece == NULL || !g_hash_table_lookup_extended (self->vocab, piece, NULL, &value))
    return -1;
  return GPOINTER_TO_INT (value);
}

/* Looks up LEN bytes of S without requiring a terminating NUL. */
int
_attnviz_tokenizer_vocab_lookup_len (const AttnvizTokenizer *self, const char *s, gsize len)
{
  char buf[32];

  if (len < sizeof buf)
    {
      memcpy (buf, s, len);
      buf[len] = '\0';
      return _attnviz_tokenizer_vocab_lookup (self, buf);
    }
  else
    {
      g_autofree char *tmp = g_strndup (s, len);
      return _attnviz_tokenizer_vocab_lookup (self, tmp);
    }
}

/* Gives PIECE the id ID.  FIELD names where in PATH the pair comes from
 * ("model.vocab", "added_tokens[3]", "line 7") for errors: an id outside
 * [0, MAX_VOCAB_ID) or already given to another piece is a broken file. */
gboolean
_attnviz_tokenizer_vocab_add (AttnvizTokenizer *self, const char *piece, gint64 id,
                              const char *path, const char *field,
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
  walk->ok = _attnviz_tokenizer_vocab_add (walk->self, piece, json_node_get_int (node), walk->path,
                                           walk->field, walk->error);
}

gboolean
_attnviz_tokenizer_vocab_from_object (AttnvizTokenizer *self, JsonObject *vocab, const char *path,
                                      const char *field, GError **error)
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
gboolean
_attnviz_tokenizer_add_merge (AttnvizTokenizer *self, Loader *loader, const char *left,
                              const char *right,
           const char *where, GError **error)
{
  g_autofree char *joined = g_strconcat (left, right, NULL);
  const char *missing = NULL;
  gint32 triple[3];

  triple[0] = _attnviz_tokenizer_vocab_lookup (self, left);
  triple[1] = _attnviz_tokenizer_vocab_lookup (self, right);
  triple[2] = _attnviz_tokenizer_vocab_lookup (self, joined);
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
      if (!_attnviz_tokenizer_add_merge (self, loader, line, space + 1, where, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
load_gpt2_files (AttnvizTokenizer *self, Loader *loader, const char *vocab_path,
                 const char *merges_path, GError **error)
{
  g_autoptr(JsonNode) root = _attnviz_tokenizer_read_json (vocab_path, ATTNVIZ_JSON_TOKENIZER, error);

  if (root == NULL)
    return FALSE;
  self->kind = ATTNVIZ_TOKENIZER_GPT2_BPE;
  if (!_attnviz_tokenizer_vocab_from_object (self, json_node_get_object (root), vocab_path,
                                             "the vocabulary", error))
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
      if (!_attnviz_tokenizer_vocab_add (self, lines[i], i, path, field, error))
        return FALSE;
    }
  if (n == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: empty vocabulary", path);
      return FALSE;
    }
  return TRUE;
}

static int
resolve_name (AttnvizTokenizer *self, const char *name, const char *fallback)
{
  int id = _attnviz_tokenizer_vocab_lookup (self, name);

  return id >= 0 ? id : _attnviz_tokenizer_vocab_lookup (self, fallback);
}

static void
set_special_list (AttnvizTokenizer *self, GPtrArray *names, int *ids, int *n_ids)
{
  *n_ids = 0;
  for (guint i = 0; names != NULL && i < names->len && *n_ids < 4; i++)
    {
      int id = _attnviz_tokenizer_vocab_lookup (self, g_ptr_array_index (names, i));

      if (id >= 0)
        ids[(*n_ids)++] = id;
    }
}

/* RobertaTokenizer: <s> before the text and </s> after it.  Like every
 * attnviz tokenizer (and llama.cpp without parse_special), specials typed
 * in the text stay text. */
static void
roberta_specials (AttnvizTokenizer *self)
{
  if (self->bos_id >= 0)
    self->prefix[self->n_prefix++] = self->bos_id;
  if (self->eos_id >= 0)
    self->suffix[self->n_suffix++] = self->eos_id;
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
    [ATTNVIZ_TOKENIZER_UNIGRAM] = { NULL, "</s>", "<pad>", "<unk>" },   /* T5: no BOS */
  };
  /* RoBERTa's (and BART's) byte-level BPE: GPT-2's merges with fairseq's
   * specials, which wrap the text as <s> ... </s> */
  static const char *const roberta[4] = { "<s>", "</s>", "<pad>", "<unk>" };
  gboolean is_roberta = self->kind == ATTNVIZ_TOKENIZER_GPT2_BPE && loader->prefix_names == NULL
                        && _attnviz_tokenizer_vocab_lookup (self, "<s>") >= 0
                        && _attnviz_tokenizer_vocab_lookup (self, "</s>") >= 0;
  const char *const *def = is_roberta ? roberta : defaults[self->kind];
  int *special_ids[] = { &self->bos_id, &self->eos_id, &self->pad_id, &self->unk_id };
  g_autofree char *scores_path = NULL;

  if (self->flags == NULL)
    self->flags = g_new0 (guint8, self->pieces->len);

  if (!_attnviz_tokenizer_read_config (self, loader, "special_tokens_map.json", error)
      || !_attnviz_tokenizer_read_config (self, loader, "tokenizer_config.json", error))
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

  if (is_roberta)
    roberta_specials (self);

  if (self->kind == ATTNVIZ_TOKENIZER_WORDPIECE)
    {
      self->strip_accents = loader->strip_accents < 0 ? self->lowercase : loader->strip_accents;
      return TRUE;
    }
  if (self->kind == ATTNVIZ_TOKENIZER_UNIGRAM)
    {
      if (self->unk_id < 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: the Unigram model names no unknown piece (model.unk_id)", loader->dir);
          return FALSE;
        }
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
      self->byte_ids[b] = _attnviz_tokenizer_vocab_lookup (self, name);
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
      if (!_attnviz_tokenizer_read_scores (self, scores_path, error))
        return FALSE;
      _attnviz_tokenizer_build_score_pairs (self);
    }
  else
    {
      guint n = loader->merges->len / 3;
      const gint32 *m = (const gint32 *) loader->merges->data;

      _attnviz_pair_table_init (&self->pairs, n);
      for (guint i = 0; i < n; i++)
        _attnviz_pair_table_insert (&self->pairs, m[3 * i], m[3 * i + 1], -(double) i, m[3 * i + 2]);
    }
  return TRUE;
}

AttnvizTokenizer *
_attnviz_tokenizer_new (void)
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
  g_autofree char *source_spm = NULL;
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
  source_spm = g_build_filename (dir, "source.spm", NULL);

  self = _attnviz_tokenizer_new ();
  loader.dir = dir;
  loader.merges = g_array_new (FALSE, FALSE, sizeof (gint32));
  loader.add_bos = loader.add_eos = loader.strip_accents = -1;

  /* Present (even as a dangling link or a FIFO) is what decides which
   * files are read; reading then refuses what is not a regular file. */
  /* the file whose pieces it holds, for messages (Marian's: vocab.json beside the .spm) */
  const char *file = NULL;
  if (attnviz_path_present (json_path))
    {
      file = json_path;
      ok = _attnviz_tokenizer_load_json (self, &loader, json_path, error);
    }
  else if (attnviz_path_present (source_spm))
    {
      ok = _attnviz_tokenizer_load_marian (self, &loader, source_spm, error);
      file = vocab_json;
    }
  else if (attnviz_path_present (vocab_json))
    {
      if (attnviz_path_present (merges_txt))
        {
          file = vocab_json;
          ok = load_gpt2_files (self, &loader, vocab_json, merges_txt, error);
        }
      else
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "%s: a GPT-2 vocabulary needs merges.txt beside it", vocab_json);
          ok = FALSE;
        }
    }
  else if (attnviz_path_present (vocab_txt))
    {
      file = vocab_txt;
      ok = load_vocab_txt (self, vocab_txt, error);
    }
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "%s: no tokenizer (tokenizer.json, source.spm + vocab.json, vocab.json + merges.txt or vocab.txt)", dir);
      ok = FALSE;
    }

  if (ok)
    ok = finish_loading (self, &loader, error);
  if (ok)
    self->file = g_strdup (file);

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
  g_free (self->file);
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
  attnviz_charsmap_free (self->charsmap);
  attnviz_tokenizer_free (self->target);
  g_free (self);
}
