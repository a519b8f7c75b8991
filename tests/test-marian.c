/* test-marian.c: Marian (Helsinki-NLP opus-mt) from a Hugging Face folder
 *
 * The fixture (tests/fixtures/marian-tiny, tools/fixtures_marian.py) is a
 * random-weight MarianMTModel with real SentencePiece models trained by
 * python3-sentencepiece: its PyTorch reference (after transformers'
 * modeling_marian) gives encoder, decoder and cross-attention of every
 * layer and head and the logits, as the model is and with pos=none and
 * pos=shuffled:7; SentencePiece's own encode gives the ids of a set of
 * strings.
 */
#define G_LOG_DOMAIN "test-marian"
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "attnviz-forward.h"
#include "attnviz-model.h"
#include "attnviz-spm.h"
#include "attnviz-test-seq2seq.h"
#include "attnviz-test-util.h"
#include "attnviz-tokenizer.h"
#include "attnviz-variant.h"

#define FIXTURE "marian-tiny"

static AttnvizModel *
load_fixture (void)
{
  g_autofree char *dir = attnviz_test_fixture_path (FIXTURE, NULL);
  g_autoptr(GError) error = NULL;
  AttnvizModel *model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  return model;
}

/* The run of the reference's ids under VARIANT (NULL: the model as it is)
 * against the reference files ending in SUFFIX ("" or "-nopos"). */
static void
check_run (AttnvizModel *model, const char *variant, const char *suffix, gboolean logits)
{
  const AttnvizConfig *c = &model->config;
  int S, T, H = c->n_head, V = c->vocab_size;
  g_autofree gint32 *src = attnviz_test_load_ids (FIXTURE, "source_ids.npy", &S);
  g_autofree gint32 *tgt = attnviz_test_load_ids (FIXTURE, "target_ids.npy", &T);
  g_autofree char *enc_file = g_strdup_printf ("encoder_attentions%s.npy", suffix);
  g_autofree char *dec_file = g_strdup_printf ("attentions%s.npy", suffix);
  g_autofree char *cross_file = g_strdup_printf ("cross_attentions%s.npy", suffix);
  g_autofree float *enc = attnviz_test_load_reference (FIXTURE, enc_file, (gsize) c->n_enc_layer * H * S * S);
  g_autofree float *dec = attnviz_test_load_reference (FIXTURE, dec_file, (gsize) c->n_layer * H * T * T);
  g_autofree float *cross = attnviz_test_load_reference (FIXTURE, cross_file, (gsize) c->n_layer * H * T * S);
  g_autofree float *ref_logits = logits ? attnviz_test_load_reference (FIXTURE, "logits.npy", (gsize) T * V) : NULL;
  g_auto(AttnvizVariant) v = { 0 };
  g_autoptr(GError) error = NULL;
  if (variant)
    {
      g_assert_true (attnviz_variant_parse (&v, variant, &error));
      g_assert_no_error (error);
    }

  for (int storage = 0; storage < 2; storage++)
    {
      AttnvizRunOptions o = { .keep_logits = logits, .variant = variant ? &v : NULL,
                              .storage = storage ? ATTNVIZ_STORAGE_RECOMPUTE : ATTNVIZ_STORAGE_DENSE };
      g_autoptr(AttnvizRecording) rec = attnviz_forward_seq2seq (model, src, S, tgt, T, &o, &error);
      g_assert_no_error (error);
      g_test_message ("%s, %s attention", variant ? variant : "the model", storage ? "recomputed" : "dense");
      g_assert_true (attnviz_test_check_attention (rec->enc_attention, enc, c->n_enc_layer, H, S, S, "encoder"));
      g_assert_true (attnviz_test_check_attention (rec->attention, dec, c->n_layer, H, T, T, "decoder"));
      g_assert_true (attnviz_test_check_attention (rec->cross_attention, cross, c->n_layer, H, T, S, "cross"));
      if (logits)
        {
          g_assert_nonnull (rec->logits);
          g_assert_true (attnviz_test_check_tensor (rec->logits, ref_logits, (gsize) T * V, 1e-4f, "logits"));
        }
    }
}

static void
test_reads_the_config_as_marian (void)
{
  g_autoptr(AttnvizModel) model = load_fixture ();
  const AttnvizConfig *c = &model->config;
  g_assert_cmpint (c->family, ==, ATTNVIZ_FAMILY_MARIAN);
  g_assert_true (c->encoder_decoder);
  g_assert_cmpint (c->pos, ==, ATTNVIZ_POS_SINUSOIDAL);
  g_assert_true (c->sin_halves);
  g_assert_false (c->pre_norm);
  g_assert_false (c->embedding_norm);
  g_assert_cmpint (c->act, ==, ATTNVIZ_ACT_SILU);                   /* "swish" */
  g_assert_cmpfloat_with_epsilon (c->emb_scale, sqrtf (32.0f), 1e-6);
  g_assert_cmpint (c->bos_id, ==, c->pad_id);                       /* the decoder starts from pad */
  g_assert_cmpint (c->pad_id, ==, c->vocab_size - 1);
  g_assert_cmpint (c->eos_id, ==, 0);
}

static void
test_matches_pytorch (void)
{
  g_autoptr(AttnvizModel) model = load_fixture ();
  check_run (model, NULL, "", TRUE);
}

static void
test_pos_none_removes_the_sinusoids (void)
{
  g_autoptr(AttnvizModel) model = load_fixture ();
  check_run (model, "pos=none", "-nopos", FALSE);
}

/* The reference permuted the positions as attnviz's shuffle does for seed
 * 7 (inputs.json says which); that shuffle must still be the same. */
static void
test_pos_shuffled_permutes_the_sinusoids (void)
{
  g_autofree char *path = attnviz_test_fixture_path (FIXTURE, "reference", "inputs.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  JsonObject *inputs = json_node_get_object (json_parser_get_root (parser));
  g_auto(AttnvizVariant) v = { 0 };
  g_assert_true (attnviz_variant_parse (&v, "pos=shuffled:7", &error));
  const char *keys[] = { "shuffled_7_source_positions", "shuffled_7_target_positions" };
  for (int k = 0; k < 2; k++)
    {
      JsonArray *want = json_object_get_array_member (inputs, keys[k]);
      int n = (int) json_array_get_length (want);
      g_autofree gint32 *pos = attnviz_variant_positions (&v, n);
      for (int i = 0; i < n; i++)
        g_assert_cmpint (pos[i], ==, json_array_get_int_element (want, i));
    }

  g_autoptr(AttnvizModel) model = load_fixture ();
  check_run (model, "pos=shuffled:7", "-shuffled7", FALSE);
}

static void
test_spm_reader_reads_pieces_scores_and_types (void)
{
  g_autofree char *path = attnviz_test_fixture_path (FIXTURE, "source.spm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSpmModel) spm = attnviz_spm_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (spm->n_pieces, ==, 120);
  g_assert_cmpint (spm->model_type, ==, ATTNVIZ_SPM_MODEL_UNIGRAM);
  g_assert_cmpint (spm->unk_id, ==, 0);
  g_assert_cmpint (spm->bos_id, ==, 1);
  g_assert_cmpint (spm->eos_id, ==, 2);
  g_assert_cmpint (spm->pad_id, ==, -1);
  g_assert_cmpstr (spm->normalizer_name, ==, "nmt_nfkc");
  g_assert_true (spm->has_charsmap);
  g_assert_nonnull (spm->charsmap);
  g_assert_cmpstr (spm->pieces[0].piece, ==, "<unk>");
  g_assert_cmpint (spm->pieces[0].type, ==, ATTNVIZ_SPM_UNKNOWN);
  g_assert_cmpstr (spm->pieces[2].piece, ==, "</s>");
  g_assert_cmpint (spm->pieces[2].type, ==, ATTNVIZ_SPM_CONTROL);
  /* the normal pieces: log probabilities, not increasing after the specials */
  for (int i = 3; i < spm->n_pieces; i++)
    {
      g_assert_cmpint (spm->pieces[i].type, ==, ATTNVIZ_SPM_NORMAL);
      g_assert_cmpfloat (spm->pieces[i].score, <=, 0.0f);
      if (i > 3)
        g_assert_cmpfloat (spm->pieces[i].score, <=, spm->pieces[i - 1].score);
    }
}

/* Hostile .spm bytes, each a one-line error naming the file and what is wrong. */
static const struct {
  const char *name;
  const char *bytes;
  gsize len;
  const char *message;
} bad_spm[] = {
  { "empty", "", 0, "x.spm: the SentencePiece model has no pieces" },
  { "a-varint-of-eleven-bytes", "\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12,
    "x.spm: not a SentencePiece model: a varint is longer than 10 bytes" },
  { "a-varint-cut-off", "\x30\xff", 2, "x.spm: not a SentencePiece model: a varint runs past the end of its message" },
  { "a-group", "\x33", 1, "x.spm: not a SentencePiece model: field 6 has wire type 3, which ModelProto does not use" },
  { "pieces-as-a-varint", "\x08\x01", 2, "x.spm: not a SentencePiece model: pieces (field 1) has wire type 0, expected 2" },
  { "a-piece-longer-than-the-file", "\x0a\x7f\x0a", 3,
    "x.spm: not a SentencePiece model: a length of 127 bytes runs past the end of its message" },
  { "a-piece-longer-than-its-message", "\x0a\x02\x0a\x05" "hello", 9,
    "x.spm: not a SentencePiece model: a length of 5 bytes runs past the end of its message" },
  { "an-empty-piece", "\x0a\x02\x0a\x00", 4, "x.spm: not a SentencePiece model: piece 0 is empty" },
  { "a-piece-not-utf8", "\x0a\x03\x0a\x01\xff", 5, "x.spm: not a SentencePiece model: a piece is not UTF-8 text" },
  { "a-piece-with-nul", "\x0a\x04\x0a\x02" "a\x00", 6, "x.spm: not a SentencePiece model: a piece is not UTF-8 text" },
  { "a-nan-score", "\x0a\x08\x0a\x01" "a\x15\x00\x00\xc0\x7f", 10,
    "x.spm: not a SentencePiece model: piece 0 has a score that is not a finite number" },
  { "a-score-cut-off", "\x0a\x05\x0a\x01" "a\x15\x00", 7,
    "x.spm: not a SentencePiece model: piece 0's score runs past its end" },
  { "a-type-out-of-range", "\x0a\x05\x0a\x01" "a\x18\x09", 7,
    "x.spm: not a SentencePiece model: piece 0 has type 9 (expected 1 to 6)" },
  { "an-unknown-id-beyond-the-pieces", "\x0a\x03\x0a\x01" "a\x12\x03\xc0\x02\x05", 10,
    "x.spm: not a SentencePiece model: trainer_spec.unk_id = 5 is not one of the 1 pieces" },
  { "no-unknown-piece", "\x0a\x03\x0a\x01" "a\x12\x0c\xc0\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 19,
    "x.spm: not a SentencePiece model: it names no unknown piece (trainer_spec.unk_id)" },
  { "a-model-type-out-of-range", "\x12\x02\x18\x07", 4,
    "x.spm: not a SentencePiece model: trainer_spec.model_type is 7 (expected 1 to 4)" },
  /* normalizer_spec (3) { precompiled_charsmap (2): the blob } */
  { "a-charsmap-as-a-varint", "\x1a\x02\x10\x01", 4,
    "x.spm: not a SentencePiece model: normalizer_spec.precompiled_charsmap (field 2) has wire type 0, expected 2" },
  { "a-charsmap-longer-than-its-message", "\x1a\x02\x12\x09", 4,
    "x.spm: not a SentencePiece model: a length of 9 bytes runs past the end of its message" },
  { "a-truncated-charsmap", "\x1a\x04\x12\x02\x04\x00", 6,
    "x.spm: precompiled_charsmap is 2 bytes, too short for its trie's size" },
  { "a-charsmap-trie-past-its-end", "\x1a\x0a\x12\x08\x10\x00\x00\x00" "abcd", 12,
    "x.spm: precompiled_charsmap says its trie is 16 bytes, past its end (4 bytes)" },
  { "a-charsmap-trie-of-partial-units", "\x1a\x0a\x12\x08\x02\x00\x00\x00" "ab" "X\x00", 12,
    "x.spm: precompiled_charsmap has a trie of 2 bytes, not a whole number of 4-byte units" },
  { "a-charsmap-string-without-nul", "\x1a\x0c\x12\x0a\x04\x00\x00\x00" "\x00\x04\x00\x00" "XY", 14,
    "x.spm: precompiled_charsmap has a last replacement string without its NUL" },
};

static void
test_spm_reader_refuses (gconstpointer data)
{
  const guint i = GPOINTER_TO_UINT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSpmModel) spm = attnviz_spm_parse ((const guint8 *) bad_spm[i].bytes, bad_spm[i].len, "x.spm",
                                                      &error);
  g_assert_null (spm);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, bad_spm[i].message);
}

/* A BPE model is read, but is no Unigram tokenizer. */
static void
test_spm_tokenizer_refuses_bpe (void)
{
  static const guint8 bpe[] = { 0x0a, 0x07, 0x0a, 0x05, '<', 'u', 'n', 'k', '>',   /* <unk>, <s>, </s>: the default ids */
                                0x0a, 0x05, 0x0a, 0x03, '<', 's', '>',
                                0x0a, 0x06, 0x0a, 0x04, '<', '/', 's', '>',
                                0x12, 0x02, 0x18, 0x02 };                       /* model_type BPE */
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSpmModel) spm = attnviz_spm_parse (bpe, sizeof bpe, "bpe.spm", &error);
  g_assert_no_error (error);
  g_assert_cmpint (spm->model_type, ==, ATTNVIZ_SPM_MODEL_BPE);
  AttnvizTokenizer *tok = attnviz_tokenizer_new_from_spm_data (bpe, sizeof bpe, "bpe.spm", &error);
  g_assert_null (tok);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_cmpstr (error->message, ==, "bpe.spm: a SentencePiece bpe model is not supported (attnviz reads Unigram models)");
}

/* Every token's span lies in the text, after the previous one's, and
 * starts and ends between characters of the text as typed (not inside a
 * full-width letter or a ligature the map rewrote). */
static void
assert_spans_in_order (const char *text, GArray *tokens, gsize len)
{
  guint32 prev = 0;
  for (guint i = 0; i < tokens->len; i++)
    {
      const AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);
      g_assert_cmpuint (t->start, <=, t->end);
      g_assert_cmpuint (t->end, <=, len);
      g_assert_cmpuint (t->start, >=, prev);
      g_assert_true (t->start == len || (text[t->start] & 0xc0) != 0x80);
      g_assert_true (t->end == len || (text[t->end] & 0xc0) != 0x80);
      prev = t->end;
    }
}

static void
assert_ids (const AttnvizTokenizer *tok, const char *text, gboolean add_special, JsonArray *want, const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) tokens = attnviz_tokenizer_encode (tok, text, -1, add_special, &error);
  g_assert_no_error (error);
  g_autoptr(GString) got = g_string_new (NULL), expected = g_string_new (NULL);
  for (guint i = 0; i < tokens->len; i++)
    g_string_append_printf (got, "%d ", g_array_index (tokens, AttnvizToken, i).id);
  for (guint i = 0; i < json_array_get_length (want); i++)
    g_string_append_printf (expected, "%d ", (int) json_array_get_int_element (want, i));
  g_test_message ("%s \"%s\": %s", what, text, got->str);
  g_assert_cmpstr (got->str, ==, expected->str);
  assert_spans_in_order (text, tokens, strlen (text));
}

/* Through nmt_nfkc's map, "ｆｕｌｌ" U+3000 "ﬁ" is SentencePiece's "▁f" "u"
 * "ll" "▁f" "i" (python3-sentencepiece on source.spm): each token spans
 * the characters it came from, the second word's "▁" its ideographic
 * space, and the ligature, cut between "▁f" and "i", belongs to the
 * first, the "i" left empty after it. */
static void
test_spans_point_back_through_the_map (void)
{
  g_autofree char *path = attnviz_test_fixture_path (FIXTURE, "source.spm", NULL);
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_new_from_spm (path, &error);
  g_assert_no_error (error);
  const char *text = "\xef\xbd\x86\xef\xbd\x95\xef\xbd\x8c\xef\xbd\x8c\xe3\x80\x80\xef\xac\x81";
  static const char *const want[] = { "\xef\xbd\x86", "\xef\xbd\x95", "\xef\xbd\x8c\xef\xbd\x8c",
                                      "\xe3\x80\x80\xef\xac\x81", "" };
  static const char *const pieces[] = { "\xe2\x96\x81" "f", "u", "ll", "\xe2\x96\x81" "f", "i" };
  g_autoptr(GArray) tokens = attnviz_tokenizer_encode (tok, text, -1, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tokens->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < tokens->len; i++)
    {
      const AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);
      g_autofree char *span = g_strndup (text + t->start, t->end - t->start);
      g_assert_cmpstr (span, ==, want[i]);
      g_assert_cmpstr (attnviz_tokenizer_get_piece (tok, t->id), ==, pieces[i]);
    }
  assert_spans_in_order (text, tokens, strlen (text));
  attnviz_tokenizer_free (tok);
}

static void
test_tokenizes_as_sentencepiece (void)
{
  g_autofree char *path = attnviz_test_fixture_path (FIXTURE, "reference", "tokenization.json", NULL);
  g_autofree char *source_path = attnviz_test_fixture_path (FIXTURE, "source.spm", NULL);
  g_autofree char *target_path = attnviz_test_fixture_path (FIXTURE, "target.spm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  AttnvizTokenizer *source = attnviz_tokenizer_new_from_spm (source_path, &error);
  g_assert_no_error (error);
  AttnvizTokenizer *target = attnviz_tokenizer_new_from_spm (target_path, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) model = load_fixture ();
  g_assert_nonnull (model->tokenizer);
  g_assert_cmpint (attnviz_tokenizer_get_kind (model->tokenizer), ==, ATTNVIZ_TOKENIZER_UNIGRAM);

  JsonArray *cases = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (cases), >=, 10);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *o = json_array_get_object_element (cases, i);
      const char *text = json_object_get_string_member (o, "text");
      assert_ids (source, text, FALSE, json_object_get_array_member (o, "source_spm_ids"), "source.spm");
      assert_ids (target, text, FALSE, json_object_get_array_member (o, "target_spm_ids"), "target.spm");
      assert_ids (model->tokenizer, text, TRUE, json_object_get_array_member (o, "marian_ids"), "MarianTokenizer");
    }
  attnviz_tokenizer_free (source);
  attnviz_tokenizer_free (target);
}

/* A target text goes through target.spm: the reference's target ids after
 * the start token. */
static void
test_segments_a_target_text_with_target_spm (void)
{
  g_autoptr(AttnvizModel) model = load_fixture ();
  int T;
  g_autofree gint32 *tgt = attnviz_test_load_ids (FIXTURE, "target_ids.npy", &T);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) tokens = attnviz_tokenizer_encode_target (model->tokenizer, "Die Kinder spielen im Garten.", -1,
                                                              &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tokens->len, ==, T - 1);
  for (int t = 1; t < T; t++)
    g_assert_cmpint (g_array_index (tokens, AttnvizToken, t - 1).id, ==, tgt[t]);
  /* the source side segments it otherwise */
  g_autoptr(GArray) as_source = attnviz_tokenizer_encode (model->tokenizer, "Die Kinder spielen im Garten.", -1, FALSE,
                                                          &error);
  g_assert_cmpuint (as_source->len, !=, tokens->len);
}

/* The decoder's pieces back to text: "▁" as spaces, the first one dropped,
 * the start (pad) and end tokens standing for nothing. */
static void
test_decodes_target_pieces_to_text (void)
{
  g_autoptr(AttnvizModel) model = load_fixture ();
  int T;
  g_autofree gint32 *tgt = attnviz_test_load_ids (FIXTURE, "target_ids.npy", &T);
  g_autofree char *text = attnviz_tokenizer_decode (model->tokenizer, tgt, T);
  g_assert_cmpstr (text, ==, "Die Kinder spielen im Garten.");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/marian/config/reads-marian-mt-model", test_reads_the_config_as_marian);
  g_test_add_func ("/engine/marian/marian-tiny/matches-pytorch", test_matches_pytorch);
  g_test_add_func ("/engine/marian/pos-none/removes-the-sinusoids", test_pos_none_removes_the_sinusoids);
  g_test_add_func ("/engine/marian/pos-shuffled/permutes-the-sinusoids", test_pos_shuffled_permutes_the_sinusoids);
  g_test_add_func ("/engine/marian/spm/reads-pieces-scores-and-types", test_spm_reader_reads_pieces_scores_and_types);
  for (guint i = 0; i < G_N_ELEMENTS (bad_spm); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/marian/spm/refuses/%s", bad_spm[i].name);
      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_spm_reader_refuses);
    }
  g_test_add_func ("/engine/marian/spm/tokenizer-refuses-bpe", test_spm_tokenizer_refuses_bpe);
  g_test_add_func ("/engine/marian/tokenizer/segments-as-sentencepiece", test_tokenizes_as_sentencepiece);
  g_test_add_func ("/engine/marian/tokenizer/spans-point-back-through-the-map", test_spans_point_back_through_the_map);
  g_test_add_func ("/engine/marian/tokenizer/decodes-target-pieces-to-text", test_decodes_target_pieces_to_text);
  g_test_add_func ("/engine/marian/tokenizer/segments-a-target-text-with-target-spm",
                   test_segments_a_target_text_with_target_spm);
  return g_test_run ();
}
