/* Hostile input (issue 8): every place a file or an argument enters the
 * attnviz executable, tried as an attacker would.
 *
 * One table, one case per row: a setup that plants the hostile file or
 * option in a scratch folder (a copy of the gpt2-tiny fixture at @M, the
 * folder itself at @T), the command, and what must come back: the exit
 * status (1 a bad file, 2 a bad option), exactly one line on stderr naming
 * the file or option, no sanitizer report, no hang (a time limit), and
 * not one file in the scratch folder new or changed (a FIFO is still a
 * FIFO, a link still the same link, no temporary left behind).
 *
 * This program: the files and arguments attnviz reads (ids out of range,
 * empty lists, deep JSON, FIFOs and devices, .npy patterns).  The outputs,
 * overflowing weights and messages: test-hostile-outputs.c; the cases a
 * table does not fit (modes, the umask, folders written whole, signals,
 * valid JSON, the terminal, an address-space limit): test-hostile-writes.c.
 * What they share (the scratch folder, snapshots, runs with a time limit,
 * a row's run): tests/attnviz-test-hostile.c. */
#define G_LOG_DOMAIN "test-hostile"
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "attnviz-test-hostile.h"
#include "attnviz-test-util.h"

/* ---- the table ------------------------------------------------------------- */

/* What the .npy reader says (attnviz-npy.c) */
#define NPY_TRUNCATED "the header runs past the end of the file"
#define NPY_DTYPE "dtype '<c8' is not one of float32, float64, bool, uint8, int32, int64"
#define NPY_HUGE "a dimension of 4294967296 is too large"
#define NPY_WRONG_T "the pattern has shape (3, 3); the run needs (2, 2)"
#define NPY_SHORT "4 values do not fit in the file's 12 bytes: it is truncated"

/* class 1: ids out of range */
static void
added_token_minus_1 (AttnvizTestCtx *ctx)
{
  g_autofree char *j = attnviz_test_wordpiece_json ("[{\"id\": -1, \"content\": \"[X]\", \"special\": true}]");
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
}

static void
added_token_huge (AttnvizTestCtx *ctx)
{
  g_autofree char *j = attnviz_test_wordpiece_json ("[{\"id\": 99999999, \"content\": \"[X]\", \"special\": true}]");
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
}

static void
added_token_on_another_piece (AttnvizTestCtx *ctx)
{
  g_autofree char *j = attnviz_test_wordpiece_json ("[{\"id\": 3, \"content\": \"[X]\", \"special\": true}]");
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
}

static void
vocab_id_negative (AttnvizTestCtx *ctx)
{
  attnviz_test_put (ctx, "@M/tokenizer.json",
                    "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"a\": -5}}}");
}

static void
vocab_id_twice (AttnvizTestCtx *ctx)
{
  /* Two pieces for id 4: used to be blamed on sentencepiece_scores.json. */
  attnviz_test_put (ctx, "@M/tokenizer.json",
       "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"<unk>\": 0, \"\xe2\x96\x81" "a\": 4, \"a\": 4}, "
       "\"merges\": []}, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\xe2\x96\x81\"}}");
  attnviz_test_put (ctx, "@M/sentencepiece_scores.json",
       "{\"pieces\": [\"<unk>\", \"\xe2\x96\x81" "a\", \"a\"], \"scores\": [0, -1, -2]}");
}

static void
gpt2_vocab_id_negative (AttnvizTestCtx *ctx)
{
  attnviz_test_put (ctx, "@M/vocab.json", "{\"a\": 0, \"b\": -1}");
  attnviz_test_put (ctx, "@M/merges.txt", "#version: 0.2\n");
}

static void
tokenizer_config_bos_id_past_vocab (AttnvizTestCtx *ctx)
{
  g_autofree char *j = attnviz_test_wordpiece_json (NULL);
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
  attnviz_test_put (ctx, "@M/tokenizer_config.json", "{\"bos_token_id\": 1000}");
}

static void
tokenizer_config_decoder_minus_1 (AttnvizTestCtx *ctx)
{
  g_autofree char *j = attnviz_test_wordpiece_json (NULL);
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
  attnviz_test_put (ctx, "@M/tokenizer_config.json",
       "{\"added_tokens_decoder\": {\"-1\": {\"content\": \"[X]\", \"special\": true}}}");
}

static void
tokenizer_config_decoder_other_piece (AttnvizTestCtx *ctx)
{
  g_autofree char *j = attnviz_test_wordpiece_json (NULL);
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
  attnviz_test_put (ctx, "@M/special_tokens_map.json",
       "{\"added_tokens_decoder\": {\"3\": {\"content\": \"[MASK]\", \"special\": true}}}");
}

/* a tokenizer with more pieces than the model has rows of embeddings */
static void
tokenizer_past_the_models_vocabulary (AttnvizTestCtx *ctx)
{
  GString *j = g_string_new ("{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[UNK]\": 0");
  for (int i = 1; i < 200; i++)
    g_string_append_printf (j, ", \"w%d\": %d", i, i);
  g_string_append (j, "}}}");
  attnviz_test_put (ctx, "@M/tokenizer.json", j->str);
  g_string_free (j, TRUE);
}

static void
config_bos_past_vocab (AttnvizTestCtx *ctx)
{
  attnviz_test_config_set_raw (ctx, "bos_token_id", "97");
}

/* the encoders beside BERT: a missing key, too few positions for
 * RoBERTa's offset, a tensor of the wrong shape, a tokenizer file alone */
static void
distilbert_without_dim (AttnvizTestCtx *ctx)
{
  attnviz_test_copy_fixture (ctx, "distilbert-tiny");
  attnviz_test_config_set_raw (ctx, "dim", NULL);
}

static void
roberta_without_hidden_size (AttnvizTestCtx *ctx)
{
  attnviz_test_copy_fixture (ctx, "roberta-tiny");
  attnviz_test_config_set_raw (ctx, "hidden_size", NULL);
}

static void
roberta_positions_within_the_offset (AttnvizTestCtx *ctx)
{
  attnviz_test_copy_fixture (ctx, "roberta-tiny");
  attnviz_test_config_set_raw (ctx, "max_position_embeddings", "2");
}

static void
roberta_position_table_too_short (AttnvizTestCtx *ctx)
{
  attnviz_test_copy_fixture (ctx, "roberta-tiny");
  attnviz_test_config_set_raw (ctx, "max_position_embeddings", "40");
}

static void
distilbert_ffn_of_the_wrong_width (AttnvizTestCtx *ctx)
{
  attnviz_test_copy_fixture (ctx, "distilbert-tiny");
  attnviz_test_config_set_raw (ctx, "hidden_dim", "48");
}

static void
distilbert_untied_without_projector (AttnvizTestCtx *ctx)
{
  attnviz_test_copy_fixture (ctx, "distilbert-tiny");
  attnviz_test_config_set_raw (ctx, "tie_word_embeddings", "false");
}

static void
roberta_vocab_json_without_merges (AttnvizTestCtx *ctx)
{
  attnviz_test_copy_fixture (ctx, "roberta-tiny");
  attnviz_test_put (ctx, "@M/vocab.json", "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"a\": 3}");
}

static void
config_eos_minus_1 (AttnvizTestCtx *ctx)
{
  attnviz_test_config_set_raw (ctx, "eos_token_id", "-1");
}

static void
config_eos_list (AttnvizTestCtx *ctx)
{
  attnviz_test_config_set_raw (ctx, "eos_token_id", "[2, 100000]");
}

static void
config_pad_not_an_id (AttnvizTestCtx *ctx)
{
  attnviz_test_config_set_raw (ctx, "pad_token_id", "\"<pad>\"");
}

/* class 3: deep JSON, everywhere */
static void
deep_config (AttnvizTestCtx *ctx)
{
  g_autofree char *b = attnviz_test_brackets (100000);
  attnviz_test_put (ctx, "@M/config.json", b);
}

static void
depth_65_config (AttnvizTestCtx *ctx)
{
  g_autofree char *b = attnviz_test_brackets (64);
  g_autofree char *v = g_strdup_printf ("%s%s", b, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
  attnviz_test_config_set_raw (ctx, "deep", v);
}

static void
deep_tokenizer (AttnvizTestCtx *ctx)
{
  g_autofree char *b = attnviz_test_brackets (100000);
  g_autofree char *j = g_strdup_printf ("{\"model\": %s", b);
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
}

static void
deep_tokenizer_config (AttnvizTestCtx *ctx)
{
  g_autofree char *j = attnviz_test_wordpiece_json (NULL);
  g_autofree char *b = attnviz_test_brackets (100000);
  g_autofree char *c = g_strdup_printf ("{\"bos_token\": %s", b);
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
  attnviz_test_put (ctx, "@M/tokenizer_config.json", c);
}

static void
deep_scores (AttnvizTestCtx *ctx)
{
  g_autofree char *b = attnviz_test_brackets (100000);
  g_autofree char *c = g_strdup_printf ("{\"pieces\": %s", b);
  attnviz_test_put (ctx, "@M/tokenizer.json", SPM_JSON);
  attnviz_test_put (ctx, "@M/sentencepiece_scores.json", c);
}

static void
deep_vocab_json (AttnvizTestCtx *ctx)
{
  g_autofree char *b = attnviz_test_brackets (100000);
  attnviz_test_put (ctx, "@M/vocab.json", b);
  attnviz_test_put (ctx, "@M/merges.txt", "#version: 0.2\n");
}

/* A safetensors header whose brackets hide in a comment json-glib skips. */
static void
header_comment_bypass (AttnvizTestCtx *ctx)
{
  GString *h = g_string_new ("{\"a\": /* ");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (h, ']');
  g_string_append (h, " */ ");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (h, '[');
  while (h->len % 8)
    g_string_append_c (h, ' ');
  guint64 len = GUINT64_TO_LE ((guint64) h->len);
  g_string_prepend_len (h, (const char *) &len, 8);
  attnviz_test_put_bytes (ctx, "@M/model.safetensors", h->str, h->len);
  g_string_free (h, TRUE);
}

/* An index whose brackets hide after a single-quoted '"'. */
static void
index_quote_bypass (AttnvizTestCtx *ctx)
{
  g_autofree char *b = attnviz_test_brackets (100000);
  g_autofree char *j = g_strdup_printf ("{\"weight_map\": ['\"', %s]}", b);
  g_autofree char *st = attnviz_test_expand (ctx, "@M/model.safetensors");
  g_unlink (st);
  attnviz_test_put (ctx, "@M/model.safetensors.index.json", j);
}

static void
config_too_large (AttnvizTestCtx *ctx)
{
  gsize n = (gsize) 17 << 20;
  g_autofree char *big = g_malloc (n);
  memset (big, ' ', n);
  big[0] = '{';
  big[n - 1] = '}';
  attnviz_test_put_bytes (ctx, "@M/config.json", big, n);
}

/* class 4: special files where a file should be */
static void
fifo_weights (AttnvizTestCtx *ctx)
{
  attnviz_test_put_fifo (ctx, "@M/model.safetensors");
}

static void
fifo_config (AttnvizTestCtx *ctx)
{
  attnviz_test_put_fifo (ctx, "@M/config.json");
}

static void
fifo_tokenizer (AttnvizTestCtx *ctx)
{
  attnviz_test_put_fifo (ctx, "@M/tokenizer.json");
}

static void
fifo_tokenizer_config (AttnvizTestCtx *ctx)
{
  g_autofree char *j = attnviz_test_wordpiece_json (NULL);
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
  attnviz_test_put_fifo (ctx, "@M/tokenizer_config.json");
}

static void
fifo_scores (AttnvizTestCtx *ctx)
{
  attnviz_test_put (ctx, "@M/tokenizer.json", SPM_JSON);
  attnviz_test_put_fifo (ctx, "@M/sentencepiece_scores.json");
}

static void
fifo_shard (AttnvizTestCtx *ctx)
{
  g_autofree char *st = attnviz_test_expand (ctx, "@M/model.safetensors");
  g_unlink (st);
  attnviz_test_put (ctx, "@M/model.safetensors.index.json",
                    "{\"weight_map\": {\"wte.weight\": \"shard-1.safetensors\"}}");
  attnviz_test_put_fifo (ctx, "@M/shard-1.safetensors");
}

static void
fifo_text (AttnvizTestCtx *ctx)
{
  attnviz_test_put_fifo (ctx, "@T/text.txt");
  g_autofree char *j = attnviz_test_wordpiece_json (NULL);
  attnviz_test_put (ctx, "@M/tokenizer.json", j);
}

static void
fifo_task (AttnvizTestCtx *ctx)
{
  attnviz_test_put_fifo (ctx, "@T/task.tsv");
}

static void
weights_link_to_dev_zero (AttnvizTestCtx *ctx)
{
  attnviz_test_put_link (ctx, "@M/model.safetensors", "/dev/zero");
}

static void
config_link_to_dev_null (AttnvizTestCtx *ctx)
{
  attnviz_test_put_link (ctx, "@M/config.json", "/dev/null");
}

static void
config_is_a_folder (AttnvizTestCtx *ctx)
{
  g_autofree char *path = attnviz_test_expand (ctx, "@M/config.json");
  g_unlink (path);
  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
}

/* ---- .npy patterns (heads --pattern) ---- */

/* A version 1.0 .npy header for the dict literal HEADER, then DATA. */
static void
put_npy (const AttnvizTestCtx *ctx, const char *header, const void *data, gsize len)
{
  gsize h = strlen (header) + 1, pad = (64 - (10 + h) % 64) % 64;
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_byte_array_append (b, (const guint8 *) "\x93NUMPY\x01\x00", 8);
  guint16 n = GUINT16_TO_LE ((guint16) (h + pad));
  g_byte_array_append (b, (const guint8 *) &n, 2);
  g_byte_array_append (b, (const guint8 *) header, strlen (header));
  for (gsize i = 0; i < pad; i++)
    g_byte_array_append (b, (const guint8 *) " ", 1);
  g_byte_array_append (b, (const guint8 *) "\n", 1);
  g_byte_array_append (b, data, len);
  attnviz_test_put_bytes (ctx, "@T/p.npy", (const char *) b->data, b->len);
}

static void
npy_truncated_header (AttnvizTestCtx *ctx)
{
  attnviz_test_put_bytes (ctx, "@T/p.npy", "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortr", 32);
}

static void
npy_bad_dtype (AttnvizTestCtx *ctx)
{
  const float z[8] = { 0 };
  put_npy (ctx, "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", z, sizeof z);
}

static void
npy_huge_shape (AttnvizTestCtx *ctx)
{
  const float z[4] = { 0 };
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", z, sizeof z);
}

static void
npy_wrong_t (AttnvizTestCtx *ctx)
{
  const float z[9] = { 0 };
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", z, sizeof z);
}

static void
npy_short_data (AttnvizTestCtx *ctx)
{
  const float z[3] = { 0 };
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", z, sizeof z);
}

/* The fuzzer's first find: a header whose descr value is the end of it
 * (the dtype message read past the string). */
static void
npy_descr_at_the_end (AttnvizTestCtx *ctx)
{
  put_npy (ctx, "{'shape': (1,), 'fortran_order': False, 'descr':", NULL, 0);
}

/* ---- sessions (issue 13): dumps and foreign attention opened again ---- */

static void
session_fifo_npy (AttnvizTestCtx *ctx)
{
  attnviz_test_put_fifo (ctx, "@T/a.npy");
}

static void
session_fifo_tokens (AttnvizTestCtx *ctx)
{
  float v[4] = { 0.5f, 0.5f, 0.25f, 0.75f };
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", v, sizeof v);
  attnviz_test_put_fifo (ctx, "@T/tokens.txt");
}

static void
session_deep_json_dump (AttnvizTestCtx *ctx)
{
  g_autofree char *b = attnviz_test_brackets (100000);
  g_autofree char *dump = g_strdup_printf ("{\"metadata\": {}, \"attentions\": %s", b);
  attnviz_test_put (ctx, "@T/d.json", dump);
}

static void
session_huge_npy_shape (AttnvizTestCtx *ctx)
{
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536), }", NULL, 0);
}

/* A dump folder missing one of its two files is still a dump to render,
 * whose error says what is missing (it was taken for a model, and render
 * asked for --text). */
static void
session_folder_without_attentions (AttnvizTestCtx *ctx)
{
  g_autofree char *dir = attnviz_test_expand (ctx, "@T/run");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  attnviz_test_put (ctx, "@T/run/metadata.json", "{\"n_tokens\": 2, \"n_layer\": 1, \"n_head\": 1}");
}

static void
session_folder_without_metadata (AttnvizTestCtx *ctx)
{
  g_autofree char *dir = attnviz_test_expand (ctx, "@T/run");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  float v[4] = { 0.5f, 0.5f, 0.25f, 0.75f };
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 2), }", v, sizeof v);
  g_autofree char *from = attnviz_test_expand (ctx, "@T/p.npy");
  g_autofree char *to = attnviz_test_expand (ctx, "@T/run/attentions.npy");
  g_assert_cmpint (g_rename (from, to), ==, 0);
}

/* numpy keeps a key's last value, the reader its first: refused */
static void
session_npy_descr_twice (AttnvizTestCtx *ctx)
{
  float v[4] = { 0.5f, 0.5f, 0.25f, 0.75f };
  put_npy (ctx, "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", v, sizeof v);
}

static void
session_plain_npy (AttnvizTestCtx *ctx)
{
  float v[4] = { 0.5f, 0.5f, 0.25f, 0.75f };
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", v, sizeof v);
}

static const AttnvizTestHostileCase cases[] = {
  /* 1. ids out of range in every tokenizer file and config.json */
  { "/hostile/ids/added-token-id-minus-1", added_token_minus_1, { "info", "@M" }, 1,
    "@M/tokenizer.json", "added_tokens[0]: id -1 is outside" },
  { "/hostile/ids/added-token-id-too-large", added_token_huge, { "info", "@M" }, 1,
    "@M/tokenizer.json", "added_tokens[0]: id 99999999 is outside" },
  { "/hostile/ids/added-token-on-another-piece", added_token_on_another_piece, { "info", "@M" }, 1,
    "@M/tokenizer.json", "added_tokens[0]: id 3 is given to both" },
  { "/hostile/ids/vocab-id-negative", vocab_id_negative, { "info", "@M" }, 1,
    "@M/tokenizer.json", "model.vocab: piece “a” has id -5" },
  { "/hostile/ids/vocab-id-given-twice", vocab_id_twice, { "info", "@M" }, 1,
    "@M/tokenizer.json", "model.vocab: id 4 is given to both" },
  { "/hostile/ids/vocab-json-id-negative", gpt2_vocab_id_negative, { "info", "@M" }, 1,
    "@M/vocab.json", "has id -1" },
  { "/hostile/ids/tokenizer-config-bos-id-past-the-vocabulary", tokenizer_config_bos_id_past_vocab,
    { "info", "@M" }, 1, "@M/tokenizer_config.json", "bos_token_id: id 1000 is not in the vocabulary (0..4)" },
  { "/hostile/ids/tokenizer-config-decoder-id-minus-1", tokenizer_config_decoder_minus_1, { "info", "@M" }, 1,
    "@M/tokenizer_config.json", "added_tokens_decoder[\"-1\"]: id -1" },
  { "/hostile/ids/special-tokens-map-names-another-piece", tokenizer_config_decoder_other_piece,
    { "info", "@M" }, 1, "@M/special_tokens_map.json", "id 3 is “[MASK]” here but “a”" },
  { "/hostile/ids/tokenizer-past-the-models-vocabulary", tokenizer_past_the_models_vocabulary, { "info", "@M" }, 1,
    "@M/tokenizer.json", "200 tokens, but the model's vocabulary has only 97" },
  { "/hostile/ids/config-bos-id-past-the-vocabulary", config_bos_past_vocab, { "info", "@M" }, 1,
    "@M/config.json", "\"bos_token_id\" = 97 is outside the vocabulary (0..96)" },
  { "/hostile/ids/config-eos-id-minus-1", config_eos_minus_1, { "info", "@M" }, 1,
    "@M/config.json", "\"eos_token_id\" = -1 is outside" },
  { "/hostile/ids/config-eos-id-list", config_eos_list, { "info", "@M" }, 1,
    "@M/config.json", "\"eos_token_id\"[1] = 100000 is outside" },
  { "/hostile/ids/config-pad-id-not-an-id", config_pad_not_an_id, { "info", "@M" }, 1,
    "@M/config.json", "\"pad_token_id\" is not a token id" },

  { "/hostile/encoders/distilbert-without-dim", distilbert_without_dim, { "info", "@M" }, 1,
    "@M/config.json", "missing \"dim\"" },
  { "/hostile/encoders/roberta-without-hidden-size", roberta_without_hidden_size, { "info", "@M" }, 1,
    "@M/config.json", "missing \"hidden_size\"" },
  { "/hostile/encoders/roberta-positions-within-the-offset", roberta_positions_within_the_offset,
    { "info", "@M" }, 1, "@M/config.json",
    "\"max_position_embeddings\" = 2 leaves no position: RoBERTa's positions start at pad_token_id + 1 = 2" },
  { "/hostile/encoders/roberta-position-table-too-short", roberta_position_table_too_short, { "info", "@M" }, 1,
    "@M/model.safetensors",
    "tensor \"roberta.embeddings.position_embeddings.weight\" has shape [34, 32], expected [40, 32]" },
  { "/hostile/encoders/distilbert-ffn-of-the-wrong-width", distilbert_ffn_of_the_wrong_width, { "info", "@M" }, 1,
    "@M/model.safetensors", "tensor \"distilbert.transformer.layer.0.ffn.lin1.weight\" has shape [64, 32], "
    "expected [48, 32]" },
  { "/hostile/encoders/distilbert-untied-without-projector", distilbert_untied_without_projector,
    { "info", "@M" }, 1, "@M/model.safetensors", "missing tensor \"vocab_projector.weight\"" },
  { "/hostile/encoders/roberta-vocab-json-without-merges", roberta_vocab_json_without_merges, { "info", "@M" }, 1,
    "@M/vocab.json", "a GPT-2 vocabulary needs merges.txt beside it" },

  /* 2. empty lists and empty items: usage errors naming the option */
  { "/hostile/lists/dump-ids-empty", NULL, { "dump", "@M", "--ids", "", "-o", "@T/o.json" }, 2, "--ids", "empty" },
  { "/hostile/lists/dump-ids-only-commas", NULL, { "dump", "@M", "--ids", ",,,", "-o", "@T/o.json" }, 2, "--ids",
    "item 1 of \",,,\" is empty" },
  { "/hostile/lists/dump-ids-empty-item", NULL, { "dump", "@M", "--ids", "1,,2", "-o", "@T/o.json" }, 2, "--ids",
    "item 2 of \"1,,2\" is empty" },
  { "/hostile/lists/dump-ids-trailing-comma", NULL, { "dump", "@M", "--ids", "1,2,", "-o", "@T/o.json" }, 2,
    "--ids", "item 3" },
  { "/hostile/lists/dump-layers-empty", NULL, { "dump", "@M", "--ids", "1,2", "--layers", "", "-o", "@T/o.json" },
    2, "--layers", "empty" },
  { "/hostile/lists/dump-heads-empty", NULL, { "dump", "@M", "--ids", "1,2", "--heads", "", "-o", "@T/o.json" },
    2, "--heads", "empty" },
  { "/hostile/lists/dump-heads-empty-item", NULL,
    { "dump", "@M", "--ids", "1,2", "--heads", "0,,1", "-o", "@T/o.json" }, 2, "--heads", "item 2" },
  { "/hostile/lists/dump-variant-empty-item", NULL,
    { "dump", "@M", "--ids", "1,2", "--variant", "mask=causal,,pos=none", "-o", "@T/o.json" }, 2, "--variant",
    "item 2" },
  { "/hostile/lists/render-ids-empty", NULL, { "render", "@M", "--ids", "", "-o", "@T/o.png" }, 2, "--ids",
    "empty" },
  { "/hostile/lists/bench-sizes-empty", NULL, { "bench", "--sizes", "" }, 2, "--sizes", "empty" },
  { "/hostile/lists/bench-sizes-empty-item", NULL, { "bench", "--sizes", "64,,128" }, 2, "--sizes", "item 2" },
  { "/hostile/lists/sweep-heads-empty", NULL, { "sweep", "--task", "copy", "--heads", "" }, 2, "--heads",
    "empty" },
  { "/hostile/lists/sweep-pos-empty-item", NULL, { "sweep", "--task", "copy", "--pos", "rope,,none" }, 2, "--pos",
    "item 2" },
  { "/hostile/lists/sweep-seeds-bad-value", NULL, { "sweep", "--task", "copy", "--seeds", "1,x" }, 2, "--seeds",
    "\"x\"" },
  /* text for a model without a tokenizer: refused, nothing of the input
   * left behind (a sanitizer build fails on a leak) */
  { "/hostile/lists/heads-text-without-a-tokenizer", NULL, { "heads", "@M", "--text", "ab" }, 1, "@M",
    "no tokenizer" },
  { "/hostile/lists/render-rollout-text-without-a-tokenizer", NULL,
    { "render", "@M", "--text", "ab", "--view", "rollout", "-o", "@T/o.png" }, 1, "@M", "no tokenizer" },

  /* 3. deep JSON in every JSON file, and the bypasses of a naive count */
  { "/hostile/json/deep-config", deep_config, { "info", "@M" }, 1, "@M/config.json", "nests deeper than 64" },
  { "/hostile/json/config-65-deep", depth_65_config, { "info", "@M" }, 1, "@M/config.json",
    "nests deeper than 64" },
  { "/hostile/json/deep-tokenizer", deep_tokenizer, { "info", "@M" }, 1, "@M/tokenizer.json", "nests deeper" },
  { "/hostile/json/deep-tokenizer-config", deep_tokenizer_config, { "info", "@M" }, 1,
    "@M/tokenizer_config.json", "nests deeper" },
  { "/hostile/json/deep-sentencepiece-scores", deep_scores, { "info", "@M" }, 1,
    "@M/sentencepiece_scores.json", "nests deeper" },
  { "/hostile/json/deep-vocab-json", deep_vocab_json, { "info", "@M" }, 1, "@M/vocab.json", "nests deeper" },
  { "/hostile/json/safetensors-header-brackets-in-a-comment", header_comment_bypass, { "info", "@M" }, 1,
    "@M/model.safetensors", "comments are not JSON" },
  { "/hostile/json/index-brackets-after-a-single-quoted-string", index_quote_bypass, { "info", "@M" }, 1,
    "@M/model.safetensors.index.json", "double quotes" },
  { "/hostile/json/config-too-large", config_too_large, { "info", "@M" }, 1, "@M/config.json",
    "too large for a config.json" },

  /* 4. FIFOs and devices where a file should be: refused, not read */
  { "/hostile/special-files/weights-fifo", fifo_weights, { "info", "@M" }, 1, "@M/model.safetensors",
    "is a FIFO, not a regular file" },
  { "/hostile/special-files/config-fifo", fifo_config, { "info", "@M" }, 1, "@M/config.json", "is a FIFO" },
  { "/hostile/special-files/tokenizer-fifo", fifo_tokenizer, { "info", "@M" }, 1, "@M/tokenizer.json",
    "is a FIFO" },
  { "/hostile/special-files/tokenizer-config-fifo", fifo_tokenizer_config, { "info", "@M" }, 1,
    "@M/tokenizer_config.json", "is a FIFO" },
  { "/hostile/special-files/scores-fifo", fifo_scores, { "info", "@M" }, 1, "@M/sentencepiece_scores.json",
    "is a FIFO" },
  { "/hostile/special-files/shard-fifo", fifo_shard, { "info", "@M" }, 1, "@M/shard-1.safetensors", "is a FIFO" },
  { "/hostile/special-files/text-file-fifo", fifo_text,
    { "dump", "@M", "--text-file", "@T/text.txt", "-o", "@T/o.json" }, 1, "@T/text.txt", "is a FIFO" },
  { "/hostile/special-files/task-file-fifo", fifo_task,
    { "train", "--task", "file:@T/task.tsv", "--steps", "1" }, 1, "@T/task.tsv", "is a FIFO" },
  { "/hostile/special-files/weights-link-to-dev-zero", weights_link_to_dev_zero, { "info", "@M" }, 1,
    "@M/model.safetensors", "is a character device, not a regular file" },
  { "/hostile/special-files/config-link-to-dev-null", config_link_to_dev_null, { "info", "@M" }, 1,
    "@M/config.json", "is a character device" },
  { "/hostile/special-files/config-is-a-folder", config_is_a_folder, { "info", "@M" }, 1, "@M/config.json",
    "is a folder" },

  /* .npy patterns: every broken file is one line naming it */
  { "/hostile/npy/truncated-header", npy_truncated_header,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", NPY_TRUNCATED },
  { "/hostile/npy/bad-dtype", npy_bad_dtype,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", NPY_DTYPE },
  { "/hostile/npy/huge-shape", npy_huge_shape,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", NPY_HUGE },
  { "/hostile/npy/wrong-t", npy_wrong_t,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", NPY_WRONG_T },
  { "/hostile/npy/short-data", npy_short_data,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", NPY_SHORT },
  { "/hostile/npy/descr-at-the-end", npy_descr_at_the_end,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", "the header lacks" },
  /* sessions: view and render on dumps and foreign attention */
  { "/hostile/session/view-a-fifo-npy", session_fifo_npy, { "view", "@T/a.npy", "--info" }, 1, "@T/a.npy", "FIFO" },
  { "/hostile/session/view-a-fifo-token-file", session_fifo_tokens,
    { "view", "@T/p.npy", "--tokens", "@T/tokens.txt", "--info" }, 1, "@T/tokens.txt", "FIFO" },
  { "/hostile/session/render-a-deep-json-dump", session_deep_json_dump, { "render", "@T/d.json", "-o", "@T/o.png" },
    1, "@T/d.json", "nests deeper" },
  { "/hostile/session/view-a-shape-past-any-memory", session_huge_npy_shape, { "view", "@T/p.npy", "--info" }, 1,
    "@T/p.npy", "truncated" },
  { "/hostile/session/render-a-dump-folder-without-attentions", session_folder_without_attentions,
    { "render", "@T/run", "-o", "@T/o.png" }, 1, "@T/run", "a dump without attentions" },
  { "/hostile/session/render-a-dump-folder-without-metadata", session_folder_without_metadata,
    { "render", "@T/run", "-o", "@T/o.png" }, 1, "@T/run", "a folder without metadata.json" },
  { "/hostile/session/view-an-npy-giving-descr-twice", session_npy_descr_twice, { "view", "@T/p.npy", "--info" }, 1,
    "@T/p.npy", "the header gives 'descr' twice" },
  { "/hostile/session/view-with-an-empty-tokens-path", session_plain_npy,
    { "view", "@T/p.npy", "--tokens", "", "--info" }, 2, "--tokens", "the path is empty" },
};

/* What is not hostile stays usable: a tokenizer_config.json without a
 * tokenizer (as beside a SentencePiece tokenizer.model) leaves a model that
 * runs on --ids, as before. */
static void
test_a_tokenizer_config_alone_is_no_tokenizer (void)
{
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  attnviz_test_put (&ctx, "@M/tokenizer_config.json", "{\"bos_token\": \"<s>\", \"add_bos_token\": true}");
  const char *info[] = { "info", ctx.model, NULL };
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_with_limits (&r, info, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "tokenizer:      none"));
  g_autofree char *out = attnviz_test_expand (&ctx, "@T/o.json");
  const char *dump[] = { "dump", ctx.model, "--ids", "1,2,3", "-o", out, "-q", NULL };
  g_auto(AttnvizTestRun) d = { 0 };
  attnviz_test_run_with_limits (&d, dump, NULL);
  g_assert_cmpint (d.status, ==, 0);
  attnviz_test_ctx_clear (&ctx);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_test_add_data_func (cases[i].path, &cases[i], attnviz_test_hostile_case);
  g_test_add_func ("/hostile/ids/a-tokenizer-config-alone-is-no-tokenizer", test_a_tokenizer_config_alone_is_no_tokenizer);
  return g_test_run ();
}
