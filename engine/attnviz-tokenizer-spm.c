/* attnviz-tokenizer-spm.c: Unigram tokenizers from SentencePiece model files
 *
 * A bare SentencePiece Unigram model (attnviz_tokenizer_new_from_spm): the
 * ids are the model's own (a piece's index), the scores its log
 * probabilities; CONTROL and UNKNOWN pieces are never chosen by the
 * segmentation, UNUSED ones neither; BYTE pieces decode to their byte.
 *
 * A Marian folder (Helsinki-NLP opus-mt, MarianTokenizer):
 *   source.spm   segments the source text (Viterbi over its pieces' scores,
 *                attnviz-tokenizer-unigram.c)
 *   target.spm   the target language's pieces: what generation decodes, and
 *                what segments a target text (attnviz_tokenizer_encode_target)
 *   vocab.json   { piece: id }, the model's ids for the pieces of both
 *   special_tokens_map.json / tokenizer_config.json: eos "</s>", unk
 *                "<unk>", pad "<pad>" (also the defaults)
 * The source is the source.spm segmentation, each piece given its
 * vocab.json id, then "</s>" (MarianTokenizer appends it).  The vocabulary
 * of the tokenizer is vocab.json's, so ids, labels and decoding are the
 * model's; a vocab.json piece that is not a piece of source.spm is never
 * chosen when segmenting the source, but a span source.spm does not know
 * (the unknown piece) whose text is a vocab.json piece (a target-language
 * piece) gets its id, as MarianTokenizer's lookup of the unknown's text in
 * vocab.json does.  A vocab.json that lacks a NORMAL
 * piece of either .spm, or the unknown piece, disagrees with it: refused,
 * rather than segmenting differently from SentencePiece (which would make
 * MarianTokenizer's unknown of it).
 *
 * Each .spm's normalizer_spec.precompiled_charsmap (nmt_nfkc's: full-width
 * letters, ligatures, compatibility characters, white space and controls)
 * is applied before segmenting, as SentencePiece's Normalizer does
 * (attnviz-charsmap.c); a model without one segments the text as written.
 * After it, the spec's white-space rules: add_dummy_prefix (a "▁" before
 * the text) and remove_extra_whitespaces (runs of spaces as one, none at
 * either end), both true in every opus-mt model.
 *
 * Not applied: USER_DEFINED pieces are segmented
 * as normal pieces (SentencePiece matches them first); byte_fallback
 * (an unknown character as its UTF-8 bytes' pieces: opus-mt has none) is
 * not applied, an unknown character is the unknown piece; separate source
 * and target vocabularies (a target_vocab.json) are not read.
 */
#define G_LOG_DOMAIN "attnviz-tokenizer"
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-spm.h"
#include "attnviz-tokenizer-private.h"

static gboolean
check_unigram (const AttnvizSpmModel *spm, const char *path, GError **error)
{
  if (spm->model_type != ATTNVIZ_SPM_MODEL_UNIGRAM)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: a SentencePiece %s model is not supported (attnviz reads Unigram models)", path,
                   attnviz_spm_model_type_to_string (spm->model_type));
      return FALSE;
    }
  return TRUE;
}

/* SPM's character map (moved to SELF) and its white-space flags, which
 * count after a map (attnviz-tokenizer-unigram.c) */
static void
take_normalizer (AttnvizTokenizer *self, AttnvizSpmModel *spm)
{
  self->charsmap = g_steal_pointer (&spm->charsmap);
  self->no_dummy_prefix = !spm->add_dummy_prefix;
  self->keep_extra_spaces = !spm->remove_extra_whitespaces;
}

static void
finish_unigram (AttnvizTokenizer *self)
{
  self->kind = ATTNVIZ_TOKENIZER_UNIGRAM;
  self->n_scores = self->pieces->len; /* scores has an entry for every piece */
  g_free (self->space);
  self->space = g_strdup (METASPACE);
  _attnviz_piece_index_init (&self->piece_index, self);
}

static AttnvizTokenizer *
new_from_spm_model (AttnvizSpmModel *spm, const char *path, GError **error)
{
  if (!check_unigram (spm, path, error))
    return NULL;
  AttnvizTokenizer *self = _attnviz_tokenizer_new ();
  self->scores = g_new0 (double, spm->n_pieces);
  self->flags = g_new0 (guint8, spm->n_pieces);
  self->min_score = 0.0;
  for (int i = 0; i < spm->n_pieces; i++)
    {
      const AttnvizSpmPiece *p = &spm->pieces[i];
      g_autofree char *field = g_strdup_printf ("piece %d", i);
      if (g_hash_table_contains (self->vocab, p->piece))
        {
          g_autofree char *quoted = attnviz_printable (p->piece);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: piece %d “%s” is there twice", path, i,
                       quoted);
          attnviz_tokenizer_free (self);
          return NULL;
        }
      if (!_attnviz_tokenizer_vocab_add (self, p->piece, i, path, field, error))
        {
          attnviz_tokenizer_free (self);
          return NULL;
        }
      self->scores[i] = p->score;
      switch (p->type)
        {
        case ATTNVIZ_SPM_NORMAL:
        case ATTNVIZ_SPM_USER_DEFINED:
          self->min_score = MIN (self->min_score, p->score);
          break;
        case ATTNVIZ_SPM_BYTE: self->flags[i] = PIECE_BYTE | PIECE_UNUSED; break;
        case ATTNVIZ_SPM_UNUSED: self->flags[i] = PIECE_UNUSED; break;
        default: self->flags[i] = PIECE_SPECIAL; break;
        }
    }
  self->unk_id = spm->unk_id;
  self->bos_id = spm->bos_id;
  self->eos_id = spm->eos_id;
  self->pad_id = spm->pad_id;
  take_normalizer (self, spm);
  finish_unigram (self);
  return self;
}

AttnvizTokenizer *
attnviz_tokenizer_new_from_spm (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(AttnvizSpmModel) spm = attnviz_spm_load (path, error);
  return spm ? new_from_spm_model (spm, path, error) : NULL;
}

AttnvizTokenizer *
attnviz_tokenizer_new_from_spm_data (const guint8 *data, gsize len, const char *filename, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(AttnvizSpmModel) spm = attnviz_spm_parse (data, len, filename, error);
  return spm ? new_from_spm_model (spm, filename, error) : NULL;
}

/* Every NORMAL piece of SPM (read from PATH) must be in vocab.json
 * (VOCAB_PATH); a BYTE piece there is marked so it decodes to its byte. */
static gboolean
check_pieces_in_vocab (AttnvizTokenizer *self, const AttnvizSpmModel *spm, const char *path, const char *vocab_path,
                       GError **error)
{
  for (int i = 0; i < spm->n_pieces; i++)
    {
      const AttnvizSpmPiece *p = &spm->pieces[i];
      int id = _attnviz_tokenizer_vocab_lookup (self, p->piece);
      if (id < 0 && (p->type == ATTNVIZ_SPM_NORMAL || p->type == ATTNVIZ_SPM_UNKNOWN))
        {
          g_autofree char *quoted = attnviz_printable (p->piece);
          g_autofree char *base = g_path_get_basename (path);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: disagrees with %s: %s's piece %d “%s” has no id", vocab_path, base, base, i, quoted);
          return FALSE;
        }
      if (id >= 0 && p->type == ATTNVIZ_SPM_BYTE)
        self->flags[id] |= PIECE_BYTE;
    }
  return TRUE;
}

/* SELF's vocabulary from vocab.json (ROOT, read from VOCAB_PATH), scored
 * by SPM's pieces: the others are never chosen when segmenting. */
static gboolean
fill_from_vocab (AttnvizTokenizer *self, JsonNode *root, const AttnvizSpmModel *spm, const char *vocab_path,
                 GError **error)
{
  if (!_attnviz_tokenizer_vocab_from_object (self, json_node_get_object (root), vocab_path, "vocab", error))
    return FALSE;
  guint n = self->pieces->len;
  self->scores = g_new0 (double, n);
  self->flags = g_new0 (guint8, n);
  for (guint i = 0; i < n; i++)
    self->flags[i] = PIECE_UNUSED;   /* until the .spm gives the piece a score */
  self->min_score = 0.0;
  for (int i = 0; i < spm->n_pieces; i++)
    {
      const AttnvizSpmPiece *p = &spm->pieces[i];
      int id = _attnviz_tokenizer_vocab_lookup (self, p->piece);
      if (id < 0 || (p->type != ATTNVIZ_SPM_NORMAL && p->type != ATTNVIZ_SPM_USER_DEFINED))
        continue;
      self->flags[id] &= ~PIECE_UNUSED;
      self->scores[id] = p->score;
      self->min_score = MIN (self->min_score, p->score);
    }
  self->unk_id = _attnviz_tokenizer_vocab_lookup (self, spm->pieces[spm->unk_id].piece);
  self->unk_by_surface = TRUE;
  finish_unigram (self);
  return TRUE;
}

gboolean
_attnviz_tokenizer_load_marian (AttnvizTokenizer *self, Loader *loader, const char *source_path, GError **error)
{
  g_autofree char *target_path = g_build_filename (loader->dir, "target.spm", NULL);
  g_autofree char *vocab_path = g_build_filename (loader->dir, "vocab.json", NULL);
  if (!attnviz_path_present (vocab_path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: source.spm needs vocab.json beside it",
                   loader->dir);
      return FALSE;
    }
  g_autoptr(AttnvizSpmModel) source = attnviz_spm_load (source_path, error);
  if (source == NULL || !check_unigram (source, source_path, error))
    return FALSE;
  g_autoptr(AttnvizSpmModel) target = NULL;
  if (attnviz_path_present (target_path))
    {
      target = attnviz_spm_load (target_path, error);
      if (target == NULL || !check_unigram (target, target_path, error))
        return FALSE;
    }

  g_autoptr(JsonNode) root = _attnviz_tokenizer_read_json (vocab_path, ATTNVIZ_JSON_TOKENIZER, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a { piece: id } object", vocab_path);
      return FALSE;
    }
  if (!fill_from_vocab (self, root, source, vocab_path, error))
    return FALSE;
  take_normalizer (self, source);
  if (!check_pieces_in_vocab (self, source, source_path, vocab_path, error)
      || (target && !check_pieces_in_vocab (self, target, target_path, vocab_path, error)))
    return FALSE;
  if (target)
    {
      /* the target text (--target) is segmented by target.spm, over the same ids */
      self->target = _attnviz_tokenizer_new ();
      if (!fill_from_vocab (self->target, root, target, vocab_path, error))
        return FALSE;
      take_normalizer (self->target, target);
    }

  /* the names finish_loading resolves (the config files may rename them);
   * MarianTokenizer's source: the pieces, then "</s>" */
  g_free (loader->unk_name);
  loader->unk_name = g_strdup (source->pieces[source->unk_id].piece);
  g_clear_pointer (&loader->prefix_names, g_ptr_array_unref);
  g_clear_pointer (&loader->suffix_names, g_ptr_array_unref);
  loader->prefix_names = g_ptr_array_new_with_free_func (g_free);
  loader->suffix_names = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (loader->suffix_names, g_strdup ("</s>"));
  g_debug ("%s: Marian tokenizer, %u ids, source.spm %d pieces (normalizer %s%s)", loader->dir,
           self->pieces->len, source->n_pieces, source->normalizer_name ? source->normalizer_name : "none",
           source->has_charsmap ? ", its character map applied" : "");
  return TRUE;
}

GArray *
attnviz_tokenizer_encode_target (const AttnvizTokenizer *self, const char *text, gssize len, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  return attnviz_tokenizer_encode (self->target ? self->target : self, text, len, FALSE, error);
}
