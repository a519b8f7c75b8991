/* test-marian-cli.c: a Marian (opus-mt) folder on the command line
 *
 * dump with a source text and a target text (--target, segmented by
 * target.spm) writes the PyTorch reference's attention for the reference's
 * ids; generate decodes greedily as transformers does, to text through
 * target.spm; render draws the cross-attention; info names what Marian is;
 * a broken .spm, a vocab.json that disagrees with it and a config.json
 * without a size are one-line errors naming the file.
 */
#define G_LOG_DOMAIN "test-marian-cli"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "attnviz-test-util.h"

#define FIXTURE "marian-tiny"
#define SOURCE "The children play in the garden."
#define TARGET "Die Kinder spielen im Garten."

static JsonObject *
read_object (JsonParser *parser, const char *path)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* The ids of the tokens listed under KEY of the dump's metadata equal the
 * reference's list WANT_KEY of inputs.json. */
static void
assert_token_ids (JsonObject *meta, const char *key, JsonObject *inputs, const char *want_key)
{
  JsonArray *tokens = json_object_get_array_member (meta, key);
  JsonArray *want = json_object_get_array_member (inputs, want_key);
  g_assert_cmpuint (json_array_get_length (tokens), ==, json_array_get_length (want));
  for (guint i = 0; i < json_array_get_length (want); i++)
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (tokens, i), "id"), ==,
                     json_array_get_int_element (want, i));
}

static void
assert_npy_matches_reference (const char *dump_dir, const char *name)
{
  g_autofree char *mine_path = g_build_filename (dump_dir, name, NULL);
  g_autofree char *ref_path = attnviz_test_fixture_path (FIXTURE, "reference", name, NULL);
  attnviz_test_assert_npy_close (mine_path, ref_path, 1e-4f, name);
}

static void
test_dump_of_texts_matches_pytorch (void)
{
  g_autofree char *model = attnviz_test_fixture_path (FIXTURE, NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-marian-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "dump", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--text", SOURCE, "--target", TARGET, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);

  g_autofree char *inputs_path = attnviz_test_fixture_path (FIXTURE, "reference", "inputs.json", NULL);
  g_autofree char *meta_path = g_build_filename (out, "metadata.json", NULL);
  g_autoptr(JsonParser) p1 = json_parser_new ();
  g_autoptr(JsonParser) p2 = json_parser_new ();
  JsonObject *inputs = read_object (p1, inputs_path);
  JsonObject *meta = read_object (p2, meta_path);
  g_assert_true (json_object_get_boolean_member (meta, "encoder_decoder"));
  /* the source's pieces and "</s>"; the start (pad) token and target.spm's pieces */
  assert_token_ids (meta, "source_tokens", inputs, "source_ids");
  assert_token_ids (meta, "tokens", inputs, "target_ids");
  assert_npy_matches_reference (out, "encoder_attentions.npy");
  assert_npy_matches_reference (out, "attentions.npy");
  assert_npy_matches_reference (out, "cross_attentions.npy");
  attnviz_test_remove_tree (tmp);
}

static void
test_generate_decodes_as_pytorch (void)
{
  g_autofree char *model = attnviz_test_fixture_path (FIXTURE, NULL);
  g_autofree char *inputs_path = attnviz_test_fixture_path (FIXTURE, "reference", "inputs.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *inputs = read_object (parser, inputs_path);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "generate", model, "-p", SOURCE, "-n", "8", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (g_strstrip (r.out), ==, json_object_get_string_member (inputs, "greedy_text"));
}

static void
test_render_draws_the_cross_attention (void)
{
  g_autofree char *model = attnviz_test_fixture_path (FIXTURE, NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-marian-cli-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (tmp, "cross.png", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "render", model, "--text", SOURCE, "--target", TARGET, "--attention", "cross",
                            "--aggregate", "mean", "-o", png, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "cross-attention"));
  g_assert_nonnull (strstr (r.err, "14 target × 16 source tokens"));
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (png, &bytes, &len, NULL));
  g_assert_cmpuint (len, >, 1000);
  g_assert_cmpmem (bytes, 8, "\x89PNG\r\n\x1a\n", 8);
  attnviz_test_remove_tree (tmp);
}

static void
test_info_describes_marian (void)
{
  g_autofree char *model = attnviz_test_fixture_path (FIXTURE, NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "info", model, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "MarianMTModel (marian)"));
  g_assert_nonnull (strstr (r.out, "2 encoder + 2 decoder"));
  g_assert_nonnull (strstr (r.out, "sinusoidal (sin in the first half of the dimensions, cos in the second)"));
  g_assert_nonnull (strstr (r.out, "silu"));
  g_assert_nonnull (strstr (r.out, "post-norm"));
  g_assert_nonnull (strstr (r.out, "sentencepiece-unigram, 186 tokens"));
}

/* tokenize on a bare .spm gives SentencePiece's own ids (no </s>); on the
 * folder, MarianTokenizer's. */
static void
test_tokenize_reads_an_spm_file (void)
{
  g_autofree char *spm = attnviz_test_fixture_path (FIXTURE, "source.spm", NULL);
  g_autofree char *model = attnviz_test_fixture_path (FIXTURE, NULL);
  g_autofree char *path = attnviz_test_fixture_path (FIXTURE, "reference", "tokenization.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  JsonObject *first = json_array_get_object_element (json_node_get_array (json_parser_get_root (parser)), 0);
  const char *text = json_object_get_string_member (first, "text");
  const char *keys[] = { "source_spm_ids", "marian_ids" };
  const char *models[] = { spm, model };
  for (int k = 0; k < 2; k++)
    {
      JsonArray *want = json_object_get_array_member (first, keys[k]);
      g_autoptr(GString) line = g_string_new (NULL);
      for (guint i = 0; i < json_array_get_length (want); i++)
        g_string_append_printf (line, "%s%d", i ? " " : "", (int) json_array_get_int_element (want, i));
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_attnviz (&r, "tokenize", models[k], "--text", text, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_cmpstr (g_strstrip (r.out), ==, line->str);
    }
}

/* A copy of the fixture in a new folder: every file linked but NAME, which
 * holds CONTENTS (LEN bytes). */
static char *
fixture_with (const char *name, const char *contents, gssize len)
{
  static const char *const files[] = { "config.json", "model.safetensors", "source.spm", "target.spm", "vocab.json",
                                       "special_tokens_map.json", "tokenizer_config.json" };
  char *tmp = g_dir_make_tmp ("attnviz-marian-cli-XXXXXX", NULL);
  g_assert_nonnull (tmp);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *dest = g_build_filename (tmp, files[i], NULL);
      if (strcmp (files[i], name) == 0)
        g_assert_true (g_file_set_contents (dest, contents, len, NULL));
      else
        {
          g_autofree char *src = attnviz_test_fixture_path (FIXTURE, files[i], NULL);
          g_assert_cmpint (symlink (src, dest), ==, 0);
        }
    }
  return tmp;
}

static char *
fixture_text (const char *name)
{
  g_autofree char *path = attnviz_test_fixture_path (FIXTURE, name, NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* The fixture with NAME's text changed once, FROM to TO (asserted). */
static char *
fixture_with_edit (const char *name, const char *from, const char *to)
{
  g_autofree char *text = fixture_text (name);
  g_autoptr(GString) s = g_string_new (text);
  g_assert_cmpuint (g_string_replace (s, from, to, 1), ==, 1);
  return fixture_with (name, s->str, -1);
}

static void
assert_info_fails (const char *dir, const char *needle)
{
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "info", dir, NULL);
  attnviz_test_assert_one_line_error (&r, 1, needle);
}

static void
test_refuses_a_source_spm_that_is_not_sentencepiece (void)
{
  /* JSON, as a tokenizer.json renamed would be: '{' is field 15 of wire type 3 */
  g_autofree char *dir = fixture_with ("source.spm", "{\"model\": {}}", -1);
  g_autofree char *want = g_strdup_printf ("%s/source.spm: not a SentencePiece model: field 15 has wire type 3", dir);
  assert_info_fails (dir, want);
  attnviz_test_remove_tree (dir);

  /* a piece's length running past the end of the file */
  static const char cut[] = { 0x0a, 0x20, 0x0a, 0x03, 'a', 'b', 'c' };
  g_autofree char *dir2 = fixture_with ("source.spm", cut, sizeof cut);
  g_autofree char *want2 = g_strdup_printf ("%s/source.spm: not a SentencePiece model: "
                                            "a length of 32 bytes runs past the end of its message", dir2);
  assert_info_fails (dir2, want2);
  attnviz_test_remove_tree (dir2);
}

static void
test_refuses_an_spm_with_no_pieces (void)
{
  /* only a trainer spec (model_type unigram) */
  static const char no_pieces[] = { 0x12, 0x02, 0x18, 0x01 };
  g_autofree char *dir = fixture_with ("target.spm", no_pieces, sizeof no_pieces);
  g_autofree char *want = g_strdup_printf ("%s/target.spm: the SentencePiece model has no pieces", dir);
  assert_info_fails (dir, want);
  attnviz_test_remove_tree (dir);
}

static void
test_refuses_a_vocab_json_that_disagrees (void)
{
  /* "▁garden" renamed: source.spm's piece has no id */
  g_autofree char *dir = fixture_with_edit ("vocab.json", "\"\\u2581garden\"", "\"\\u2581gardens\"");
  g_autofree char *want = g_strdup_printf ("%s/vocab.json: disagrees with source.spm: source.spm's piece", dir);
  assert_info_fails (dir, want);
  attnviz_test_remove_tree (dir);
}

static void
test_refuses_a_config_without_its_sizes (void)
{
  static const char *const keys[] = { "\"d_model\": 32,", "\"encoder_layers\": 2,", ",\n  \"vocab_size\": 186" };
  static const char *const names[] = { "d_model", "encoder_layers", "vocab_size" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *dir = fixture_with_edit ("config.json", keys[i], "");
      g_autofree char *file = g_build_filename (dir, "config.json", NULL);
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_attnviz (&r, "info", dir, NULL);
      attnviz_test_assert_one_line_error (&r, 1, file);
      g_assert_nonnull (strstr (r.err, names[i]));
      attnviz_test_remove_tree (dir);
    }
}

/* The decoder's sinusoids go on past max_position_embeddings as the
 * encoder's do: a target longer than it runs, with a note as the source
 * gets, and its attention is the one a config with room for it gives. */
static void
test_runs_a_target_past_the_trained_context (void)
{
  g_autofree char *dir = fixture_with_edit ("config.json", "\"max_position_embeddings\": 64",
                                            "\"max_position_embeddings\": 2");
  g_autofree char *model = attnviz_test_fixture_path (FIXTURE, NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-marian-cli-XXXXXX", NULL);
  g_autofree char *short_out = g_build_filename (tmp, "short", NULL);
  g_autofree char *full_out = g_build_filename (tmp, "full", NULL);

  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", dir, "--ids", "5,6,7", "--target-ids", "185,8,9,10", "-o", short_out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "--target-ids: 4 target tokens run past the model's trained context of 2"));
  g_auto(AttnvizTestRun) full = { 0 };
  attnviz_test_run_attnviz (&full, "dump", model, "--ids", "5,6,7", "--target-ids", "185,8,9,10", "-o", full_out,
                            NULL);
  g_assert_cmpint (full.status, ==, 0);
  static const char *const names[] = { "attentions.npy", "cross_attentions.npy", "encoder_attentions.npy" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *mine = g_build_filename (short_out, names[i], NULL);
      g_autofree char *want = g_build_filename (full_out, names[i], NULL);
      attnviz_test_assert_npy_close (mine, want, 0.0f, names[i]);
    }
  attnviz_test_remove_tree (dir);
  attnviz_test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/marian/dump/texts-match-pytorch", test_dump_of_texts_matches_pytorch);
  g_test_add_func ("/cli/marian/generate/decodes-as-pytorch", test_generate_decodes_as_pytorch);
  g_test_add_func ("/cli/marian/render/draws-the-cross-attention", test_render_draws_the_cross_attention);
  g_test_add_func ("/cli/marian/info/describes-marian", test_info_describes_marian);
  g_test_add_func ("/cli/marian/tokenize/reads-an-spm-file-and-the-folder", test_tokenize_reads_an_spm_file);
  g_test_add_func ("/cli/marian/refuses/a-source-spm-that-is-not-sentencepiece",
                   test_refuses_a_source_spm_that_is_not_sentencepiece);
  g_test_add_func ("/cli/marian/refuses/an-spm-with-no-pieces", test_refuses_an_spm_with_no_pieces);
  g_test_add_func ("/cli/marian/refuses/a-vocab-json-that-disagrees", test_refuses_a_vocab_json_that_disagrees);
  g_test_add_func ("/cli/marian/refuses/a-config-without-its-sizes", test_refuses_a_config_without_its_sizes);
  g_test_add_func ("/cli/marian/dump/runs-a-target-past-the-trained-context", test_runs_a_target_past_the_trained_context);
  return g_test_run ();
}
