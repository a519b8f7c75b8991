/* test-t5-cli.c: a T5 (and a BART) folder on the command line
 *
 * dump with the fixture's source (--ids) and target (--target-ids) writes
 * the PyTorch reference's three attentions; --text goes through the
 * Unigram tokenizer and a greedy target; render draws the cross-attention;
 * generate decodes as PyTorch's greedy loop does; bad --target-ids are
 * one-line errors.
 */
#define G_LOG_DOMAIN "test-t5-cli"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "attnviz-test-util.h"

static char *
ids_list (const char *fixture, const char *file)
{
  g_autofree char *path = attnviz_test_fixture_path (fixture, "reference", file, NULL);
  gint64 shape[4];
  int nd;
  gsize n;
  g_autofree float *f = attnviz_test_load_npy (path, shape, &nd, &n);
  g_assert_nonnull (f);
  GString *s = g_string_new (NULL);
  for (gsize i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i ? "," : "", (int) f[i]);
  return g_string_free (s, FALSE);
}

static void
assert_npy_matches (const char *dump_dir, const char *name, const char *fixture, const char *ref_name)
{
  g_autofree char *mine_path = g_build_filename (dump_dir, name, NULL);
  g_autofree char *ref_path = attnviz_test_fixture_path (fixture, "reference", ref_name, NULL);
  attnviz_test_assert_npy_close (mine_path, ref_path, 1e-4f, name);
}

static void
test_dump_with_target_ids_matches_pytorch (gconstpointer data)
{
  const char *fixture = data;
  g_autofree char *model = attnviz_test_fixture_path (fixture, NULL);
  g_autofree char *src = ids_list (fixture, "source_ids.npy");
  g_autofree char *tgt = ids_list (fixture, "target_ids.npy");
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-t5-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "dump", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", src, "--target-ids", tgt, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "(--target-ids)"));
  assert_npy_matches (out, "encoder_attentions.npy", fixture, "encoder_attentions.npy");
  assert_npy_matches (out, "attentions.npy", fixture, "attentions.npy");
  assert_npy_matches (out, "cross_attentions.npy", fixture, "cross_attentions.npy");
  attnviz_test_remove_tree (tmp);
}

/* --text: the source through the Unigram tokenizer (SentencePiece's ids,
 * then </s>), the target decoded greedily; labels in the metadata. */
static void
test_dump_text_labels_source_and_target (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("flan-t5-tiny", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-t5-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "dump", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--text", "The quick brown fox", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);

  g_autofree char *meta_path = g_build_filename (out, "metadata.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, meta_path, NULL));
  JsonObject *meta = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_get_boolean_member (meta, "encoder_decoder"));
  JsonArray *src = json_object_get_array_member (meta, "source_tokens");
  /* SentencePiece: "The quick brown fox" is 17 35 3 25 10 48 27 36 76 11 68 9 44, then </s> (1) */
  static const int want[] = { 17, 35, 3, 25, 10, 48, 27, 36, 76, 11, 68, 9, 44, 1 };
  g_assert_cmpuint (json_array_get_length (src), ==, G_N_ELEMENTS (want));
  g_autoptr(GString) spelled = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      JsonObject *t = json_array_get_object_element (src, i);
      g_assert_cmpint (json_object_get_int_member (t, "id"), ==, want[i]);
      if (!json_object_get_boolean_member (t, "special"))
        g_string_append (spelled, json_object_get_string_member (t, "text"));
    }
  g_assert_cmpstr (spelled->str, ==, "The quick brown fox");
  /* the greedy target starts from decoder_start_token_id (pad, 0) */
  JsonArray *tgt = json_object_get_array_member (meta, "tokens");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (tgt, 0), "id"), ==, 0);
  /* random weights seldom write </s>: the target stops at its budget for
   * 14 source tokens (at least 64 new tokens, twice the source and 16),
   * not at the context of 512 */
  g_assert_cmpuint (json_array_get_length (tgt), <=, 1 + 64);
  attnviz_test_remove_tree (tmp);
}

/* PyTorch's greedy loop on the same source (tools/fixtures_t5.py's
 * forward): 0, 13, 13, 44, 44, 13, 22, 8, 38 = "ppxxpead.c". */
static void
test_generate_decodes_as_pytorch (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("flan-t5-tiny", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "generate", model, "-p", "The quick brown fox", "-n", "8", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (g_strstrip (r.out), ==, "ppxxpead.c");
}

static void
test_render_draws_the_cross_attention (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("flan-t5-tiny", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-t5-cli-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (tmp, "cross.png", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "render", model, "--text", "The quick brown fox", "--target-ids", "0,13,13,44,44",
                            "--attention", "cross", "-o", png, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (png, &bytes, &len, NULL));
  g_assert_cmpuint (len, >, 1000);
  g_assert_cmpmem (bytes, 8, "\x89PNG\r\n\x1a\n", 8);
  attnviz_test_remove_tree (tmp);
}

static void
test_bad_target_ids_are_one_line_errors (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("t5-tiny", NULL);
  g_autofree char *gpt2 = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  static const struct { const char *ids, *target, *needle; } cases[] = {
    { "0,96", NULL, "--target-ids: 96 is outside the vocabulary (0..95)" },
    { "0,x", NULL, "--target-ids" },
    { "", NULL, "--target-ids" },
    { "0,1", "hello", "give at most one of --target or --target-ids" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      if (cases[i].target)
        attnviz_test_run_attnviz (&r, "dump", model, "--ids", "5,6", "--target-ids", cases[i].ids, "--target",
                                  cases[i].target, "-o", "/nonexistent/never", NULL);
      else
        attnviz_test_run_attnviz (&r, "dump", model, "--ids", "5,6", "--target-ids", cases[i].ids, "-o",
                                  "/nonexistent/never", NULL);
      attnviz_test_assert_one_line_error (&r, 2, cases[i].needle);
    }
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", gpt2, "--ids", "5,6", "--target-ids", "0,1", "-o", "/nonexistent/never", NULL);
  attnviz_test_assert_one_line_error (&r, 2, "is not an encoder-decoder model");
}

/* info says what T5 is: two stacks, relative positions, unscaled scores,
 * the Unigram tokenizer. */
static void
test_info_describes_t5 (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("t5-tiny", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "info", model, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "T5ForConditionalGeneration (t5)"));
  g_assert_nonnull (strstr (r.out, "2 encoder + 2 decoder"));
  g_assert_nonnull (strstr (r.out, "relative (a learned bias per head: 8 buckets, log-spaced up to 20)"));
  g_assert_nonnull (strstr (r.out, "unscaled dot product"));
  g_assert_nonnull (strstr (r.out, "sentencepiece-unigram, 96 tokens"));
}

/* What T5 does not have yet is said in one line: a GGUF copy. */
static void
test_convert_refuses_t5 (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("t5-tiny", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-t5-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "t5.gguf", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "convert", model, "-o", out, NULL);
  attnviz_test_assert_one_line_error (&r, 1, "attnviz does not write T5");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  attnviz_test_remove_tree (tmp);
}

/* A T5 GGUF (llama.cpp's layout) on the command line: dump with the
 * fixture's ids writes the PyTorch reference's attentions, as the folder
 * does; --text goes through the file's own "t5" tokenizer, sentinel and
 * full-width letters included (SentencePiece's ids). */
static void
test_dump_of_a_t5_gguf_matches_pytorch (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("t5-gguf-tiny", "model-f32.gguf", NULL);
  g_autofree char *src = ids_list ("t5-gguf-tiny", "source_ids.npy");
  g_autofree char *tgt = ids_list ("t5-gguf-tiny", "target_ids.npy");
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-t5-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "dump", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", src, "--target-ids", tgt, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_npy_matches (out, "encoder_attentions.npy", "t5-gguf-tiny", "encoder_attentions.npy");
  assert_npy_matches (out, "attentions.npy", "t5-gguf-tiny", "attentions.npy");
  assert_npy_matches (out, "cross_attentions.npy", "t5-gguf-tiny", "cross_attentions.npy");

  g_autofree char *out2 = g_build_filename (tmp, "dump-text", NULL);
  g_auto(AttnvizTestRun) r2 = { 0 };
  attnviz_test_run_attnviz (&r2, "dump", model, "--text", "<extra_id_3>the<extra_id_2> end", "-o", out2, NULL);
  g_assert_cmpint (r2.status, ==, 0);
  g_autofree char *meta_path = g_build_filename (out2, "metadata.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, meta_path, NULL));
  JsonArray *toks = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                                  "source_tokens");
  /* tokenization.json: SentencePiece between the sentinels 96 and 97 */
  static const int want[] = { 96, 3, 6, 97, 3, 5, 11, 12, 1 };
  g_assert_cmpuint (json_array_get_length (toks), ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (toks, i), "id"), ==, want[i]);
  attnviz_test_remove_tree (tmp);
}

/* The fixture with its encoder's bias renamed away (same length, so the
 * file stays valid GGUF): one line naming the file and the tensor. */
static void
test_a_t5_gguf_without_its_bias_is_one_line (void)
{
  g_autofree char *src = attnviz_test_fixture_path ("t5-gguf-tiny", "model-f32.gguf", NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  static const char name[] = "enc.blk.0.attn_rel_b";
  char *at = memmem (data, len, name, strlen (name));
  g_assert_nonnull (at);
  at[strlen (name) - 1] = 'X';
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-t5-cli-XXXXXX", NULL);
  g_autofree char *bad = g_build_filename (tmp, "no-bias.gguf", NULL);
  g_assert_true (g_file_set_contents (bad, data, (gssize) len, NULL));
  g_autofree char *out = g_build_filename (tmp, "dump", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", bad, "--text", "the house", "-o", out, NULL);
  attnviz_test_assert_one_line_error (&r, 1, "missing tensor \"enc.blk.0.attn_rel_b.weight\"");
  g_assert_nonnull (strstr (r.err, bad));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  attnviz_test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/cli/t5/dump/target-ids/t5-tiny-matches-pytorch", "t5-tiny",
                        test_dump_with_target_ids_matches_pytorch);
  g_test_add_data_func ("/cli/t5/dump/target-ids/flan-t5-tiny-matches-pytorch", "flan-t5-tiny",
                        test_dump_with_target_ids_matches_pytorch);
  g_test_add_data_func ("/cli/bart/dump/target-ids/bart-tiny-matches-pytorch", "bart-tiny",
                        test_dump_with_target_ids_matches_pytorch);
  g_test_add_func ("/cli/t5/dump/text-labels-the-source-and-the-greedy-target", test_dump_text_labels_source_and_target);
  g_test_add_func ("/cli/t5/generate/decodes-as-pytorch", test_generate_decodes_as_pytorch);
  g_test_add_func ("/cli/t5/render/draws-the-cross-attention", test_render_draws_the_cross_attention);
  g_test_add_func ("/cli/t5/dump/bad-target-ids-are-one-line-errors", test_bad_target_ids_are_one_line_errors);
  g_test_add_func ("/cli/t5/convert/refuses-t5-in-one-line", test_convert_refuses_t5);
  g_test_add_func ("/cli/t5/dump/a-gguf-matches-pytorch", test_dump_of_a_t5_gguf_matches_pytorch);
  g_test_add_func ("/cli/t5/dump/a-gguf-without-its-bias-is-one-line", test_a_t5_gguf_without_its_bias_is_one_line);
  g_test_add_func ("/cli/t5/info/describes-the-relative-bias-and-the-tokenizer", test_info_describes_t5);
  return g_test_run ();
}
