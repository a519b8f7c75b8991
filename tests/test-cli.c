/* The attnviz executable as a user meets it: exit codes, one-line errors
 * naming the file, outputs that other tools can read. */
#define G_LOG_DOMAIN "test-cli"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-test-util.h"

static char *
fixture (const char *name)
{
  return attnviz_test_fixture_path (name, NULL);
}

static char *
python3_with_numpy (void)
{
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    return NULL;
  g_autoptr(GSubprocess) p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                               NULL, "/usr/bin/python3", "-c", "import numpy", NULL);
  if (p == NULL || !g_subprocess_wait_check (p, NULL, NULL))
    return NULL;
  return g_strdup ("/usr/bin/python3");
}

/* --- generate ----------------------------------------------------------- */

/* DATA: the copy of stories260K under its folder ("hf", or the GGUF file). */
static void
test_greedy_stories260k_prints_llama2c_reference (gconstpointer data)
{
  g_autofree char *model = attnviz_test_shared_path ("models", "stories260K", (const char *) data, NULL);
  if (model == NULL)
    return;
  g_autofree char *ref_path = attnviz_test_shared_path ("models", "stories260K", "greedy-200.txt", NULL);
  g_autofree char *expected = NULL;
  g_assert_true (g_file_get_contents (ref_path, &expected, NULL, NULL));

  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "generate", model, "-n", "200", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_suffix (r.out, "\n"));
  r.out[strlen (r.out) - 1] = '\0';
  g_assert_cmpstr (r.out, ==, expected);
}

static void
test_aidreams260k_generates_text (void)
{
  g_autofree char *model = attnviz_test_shared_path ("models", "aidreams260K", "hf", NULL);
  if (model == NULL)
    return;
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "generate", model, "-n", "60", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_utf8_validate (r.out, -1, NULL));
  /* Sixty tokens of a 512-token vocabulary are words, not nothing. */
  g_assert_cmpuint (strlen (g_strstrip (r.out)), >, 60);
  g_assert_nonnull (strchr (r.out, ' '));
}

/* --- info --------------------------------------------------------------- */

static void
test_info_describes_a_model (gconstpointer data)
{
  g_autofree char *model = fixture (data);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "info", model, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "layers:"));
  g_assert_nonnull (strstr (r.out, "context:"));
  g_assert_nonnull (strstr (r.out, "tokenizer:"));
}

static void
test_info_of_stories260k_names_its_tokenizer (void)
{
  g_autofree char *model = attnviz_test_shared_path ("models", "stories260K", "hf", NULL);
  if (model == NULL)
    return;
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "info", model, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, r.out, -1, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (o, "n_layer"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (o, "n_head"), ==, 8);
  g_assert_cmpint (json_object_get_int_member (o, "n_kv_head"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (o, "n_ctx"), ==, 512);
  g_assert_cmpstr (json_object_get_string_member (o, "tokenizer"), ==, "sentencepiece-bpe");
  g_assert_cmpstr (json_object_get_string_member (o, "dtype"), ==, "F32");
}

/* --- dump --------------------------------------------------------------- */

/* DATA: "npy" or "safetensors", then " pooled" for a dump of 4 x 4 bins
 * (mean and max) and every position's logits. */
static void
test_dump_is_readable_by_numpy_and_a_safetensors_reader (gconstpointer data)
{
  g_auto(GStrv) words = g_strsplit (data, " ", 2);
  const char *format = words[0];
  gboolean pooled = words[1] != NULL;
  g_autofree char *python = python3_with_numpy ();
  if (python == NULL)
    {
      g_test_skip ("/usr/bin/python3 with numpy is absent");
      return;
    }
  g_autofree char *model = fixture ("gpt2-tiny");
  g_autofree char *ref = attnviz_test_fixture_path ("gpt2-tiny", "reference", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, g_str_equal (format, "npy") ? "dump" : "dump.safetensors", NULL);
  const char *ids = "37,65,65,25,33,95,68,17,46,93,75"; /* the fixture's own input */

  g_auto(AttnvizTestRun) r = { 0 };
  if (pooled)
    attnviz_test_run_attnviz (&r, "dump", model, "--ids", ids, "--format", format, "--pool", "4", "--pool-max",
                              "--logits", "all", "-o", out, NULL);
  else
    attnviz_test_run_attnviz (&r, "dump", model, "--ids", ids, "--format", format, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);

  g_autofree char *script = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "cli", "check-dump.py", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDERR_MERGE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                               &error, python, script, format, out, ref,
                                               pooled ? "pooled" : "whole", NULL);
  g_assert_no_error (error);
  g_autofree char *output = NULL;
  g_subprocess_communicate_utf8 (p, NULL, NULL, &output, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("check-dump.py: %s", output);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
  g_assert_nonnull (strstr (output, "OK"));
}

static JsonObject *
load_json_file (JsonParser *parser, const char *path)
{
  g_autoptr(GError) error = NULL;
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_dump_json_carries_tokens_spans_and_shapes (void)
{
  g_autofree char *model = attnviz_test_shared_path ("models", "stories260K", "hf", NULL);
  if (model == NULL)
    return;
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "dump.json", NULL);
  const char *text = "Once upon a time, Lily\nsaw a ball.";
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--text", text, "--layers", "0,3-4", "--heads", "1-2", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);

  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root = load_json_file (parser, out);
  JsonObject *meta = json_object_get_object_member (root, "metadata");
  g_assert_cmpstr (json_object_get_string_member (meta, "variant"), ==, "model");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (meta, "engine"), "attnviz "));
  JsonArray *tokens = json_object_get_array_member (meta, "tokens");
  int T = json_array_get_length (tokens);
  g_assert_cmpint (T, ==, json_object_get_int_member (meta, "n_tokens"));
  /* The tokenizer config adds BOS: an empty span at the start. */
  JsonObject *bos = json_array_get_object_element (tokens, 0);
  g_assert_cmpint (json_object_get_int_member (bos, "id"), ==, 1);
  g_assert_true (json_object_get_boolean_member (bos, "special"));
  g_assert_cmpint (json_object_get_int_member (bos, "start"), ==, json_object_get_int_member (bos, "end"));
  /* Every other token's text is exactly its span of the input. */
  for (int t = 1; t < T; t++)
    {
      JsonObject *tok = json_array_get_object_element (tokens, t);
      gint64 s = json_object_get_int_member (tok, "start"), e = json_object_get_int_member (tok, "end");
      g_assert_cmpint (s, <=, e);
      g_assert_cmpint (e, <=, strlen (text));
      g_autofree char *span = g_strndup (text + s, e - s);
      g_assert_cmpstr (json_object_get_string_member (tok, "text"), ==, span);
    }
  JsonArray *layers = json_object_get_array_member (meta, "layers");
  g_assert_cmpint (json_array_get_length (layers), ==, 3);
  g_assert_cmpint (json_array_get_int_element (layers, 1), ==, 3);
  JsonArray *att = json_object_get_array_member (root, "attentions");
  g_assert_cmpint (json_array_get_length (att), ==, 3);
  JsonArray *head = json_array_get_array_element (json_array_get_array_element (att, 0), 0);
  g_assert_cmpint (json_array_get_length (head), ==, T);
  /* Causal: the first query sees only itself. */
  JsonArray *row0 = json_array_get_array_element (head, 0);
  g_assert_cmpfloat (json_array_get_double_element (row0, 0), ==, 1.0);
  g_assert_cmpfloat (json_array_get_double_element (row0, 1), ==, 0.0);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (root, "logits_last")), ==, 512);
  JsonArray *loss = json_object_get_array_member (root, "loss");
  g_assert_true (JSON_NODE_HOLDS_NULL (json_array_get_element (loss, T - 1)));
  g_assert_cmpfloat (json_array_get_double_element (loss, 0), >, 0.0);
}

static void
test_ids_are_used_exactly_as_given (void)
{
  g_autofree char *model = attnviz_test_shared_path ("models", "stories260K", "hf", NULL);
  if (model == NULL)
    return;
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "dump.json", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", "403,407,261", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *meta = json_object_get_object_member (load_json_file (parser, out), "metadata");
  JsonArray *tokens = json_object_get_array_member (meta, "tokens");
  g_assert_cmpint (json_array_get_length (tokens), ==, 3);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (tokens, 0), "id"), ==, 403);
}

static void
test_dump_records_the_variant_it_ran (void)
{
  g_autofree char *model = fixture ("gpt2-tiny");
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "dump.json", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", "5,17,33,2,90,41", "--variant", "pos=none, mask=window:2", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root = load_json_file (parser, out);
  JsonObject *meta = json_object_get_object_member (root, "metadata");
  /* the canonical spec, keys in a fixed order */
  g_assert_cmpstr (json_object_get_string_member (meta, "variant"), ==, "mask=window:2,pos=none");
  /* window 2 on a causal model: row 3 sees keys 2 and 3 only */
  JsonArray *row = json_array_get_array_element (json_array_get_array_element (
    json_array_get_array_element (json_object_get_array_member (root, "attentions"), 0), 0), 3);
  g_assert_cmpfloat (json_array_get_double_element (row, 0), ==, 0.0);
  g_assert_cmpfloat (json_array_get_double_element (row, 1), ==, 0.0);
  g_assert_cmpfloat (json_array_get_double_element (row, 2), >, 0.0);

  g_auto(AttnvizTestRun) bad = { 0 };
  attnviz_test_run_attnviz (&bad, "dump", model, "--ids", "5,17", "--variant", "mask=sideways", "-o", out, NULL);
  attnviz_test_assert_one_line_error (&bad, 2, "mask=sideways");
  g_auto(AttnvizTestRun) rope = { 0 };
  attnviz_test_run_attnviz (&rope, "dump", model, "--ids", "5,17", "--variant", "pos=rope-theta:500", "-o", out, NULL);
  attnviz_test_assert_one_line_error (&rope, 1, "RoPE");
}

static void
test_render_draws_a_difference_of_two_variants (gconstpointer data)
{
  const char *view = data;
  g_autofree char *model = fixture ("gpt2-tiny");
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "diff.png", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "render", model, "--ids", "5,17,33,2,90,41", "--view", view, "--layer", "1", "--head", "2",
                            "--variant", "mask=bidirectional", "--vs", "model", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autofree char *png = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (out, &png, &len, NULL));
  g_assert_cmpuint (len, >, 1000);
  g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
}

/* --- bad input ----------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *needle;        /* what the one-line error must say */
} BadModel;

/* Writes a broken copy of the gpt2-tiny fixture into a fresh folder. */
static char *
make_bad_model (const char *name)
{
  g_autofree char *src = fixture ("gpt2-tiny");
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-bad-XXXXXX", NULL);
  g_autofree char *config_src = g_build_filename (src, "config.json", NULL);
  g_autofree char *st_src = g_build_filename (src, "model.safetensors", NULL);
  g_autofree char *config = NULL, *st = NULL;
  gsize config_len, st_len;
  g_assert_true (g_file_get_contents (config_src, &config, &config_len, NULL));
  g_assert_true (g_file_get_contents (st_src, &st, &st_len, NULL));
  guint64 hlen;
  memcpy (&hlen, st, 8);
  hlen = GUINT64_FROM_LE (hlen);
  g_autofree char *header = g_strndup (st + 8, hlen);
  GString *out = g_string_new_len (st, st_len);

  if (g_str_equal (name, "truncated"))
    g_string_truncate (out, st_len / 2);
  else if (g_str_equal (name, "header-past-end"))
    {
      guint64 big = GUINT64_TO_LE ((guint64) st_len * 4);
      memcpy (out->str, &big, 8);
    }
  else if (g_str_equal (name, "header-not-json"))
    memset (out->str + 8, '#', 16);
  else if (g_str_equal (name, "offsets-out-of-range") || g_str_equal (name, "offsets-overlapping")
           || g_str_equal (name, "wrong-shape") || g_str_equal (name, "unsupported-dtype"))
    {
      /* Edit the first tensor entry of the header in place, keeping its length. */
      g_autoptr(JsonParser) p = json_parser_new ();
      g_assert_true (json_parser_load_from_data (p, header, hlen, NULL));
      JsonObject *o = json_node_get_object (json_parser_get_root (p));
      JsonObject *wpe = json_object_get_object_member (o, "wpe.weight");
      JsonArray *off = json_object_get_array_member (wpe, "data_offsets");
      gint64 begin = json_array_get_int_element (off, 0), end = json_array_get_int_element (off, 1);
      if (g_str_equal (name, "offsets-out-of-range"))
        {
          json_array_remove_element (off, 1);
          json_array_remove_element (off, 0);
          json_array_add_int_element (off, (gint64) st_len * 8);
          json_array_add_int_element (off, (gint64) st_len * 8 + (end - begin));
        }
      else if (g_str_equal (name, "offsets-overlapping"))
        {
          JsonObject *wte = json_object_get_object_member (o, "wte.weight");
          JsonArray *woff = json_object_get_array_member (wte, "data_offsets");
          gint64 wbegin = json_array_get_int_element (woff, 0);
          json_array_remove_element (off, 1);
          json_array_remove_element (off, 0);
          json_array_add_int_element (off, wbegin + 4);
          json_array_add_int_element (off, wbegin + 4 + (end - begin));
        }
      else if (g_str_equal (name, "wrong-shape"))
        {
          JsonArray *shape = json_object_get_array_member (wpe, "shape");
          gint64 a = json_array_get_int_element (shape, 0), b = json_array_get_int_element (shape, 1);
          json_array_remove_element (shape, 1);
          json_array_remove_element (shape, 0);
          json_array_add_int_element (shape, b);
          json_array_add_int_element (shape, a);
        }
      else
        {
          json_object_set_string_member (wpe, "dtype", "I32");
        }
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      json_generator_set_root (gen, json_parser_get_root (p));
      g_autofree char *nh = json_generator_to_data (gen, NULL);
      GString *padded = g_string_new (nh);
      while (padded->len % 8)
        g_string_append_c (padded, ' ');
      guint64 nlen = GUINT64_TO_LE (padded->len);
      g_string_erase (out, 0, 8 + hlen);
      g_string_prepend_len (out, padded->str, padded->len);
      g_string_prepend_len (out, (const char *) &nlen, 8);
      g_string_free (padded, TRUE);
    }
  else if (g_str_equal (name, "nan-weights"))
    {
      float nan = NAN;
      memcpy (out->str + 8 + hlen + 40, &nan, 4);
    }
  else if (g_str_equal (name, "unknown-architecture"))
    {
      g_autofree char *c2 = NULL;
      GRegex *re = g_regex_new ("GPT2LMHeadModel", 0, 0, NULL);
      c2 = g_regex_replace_literal (re, config, -1, 0, "MambaForCausalLM", 0, NULL);
      g_regex_unref (re);
      g_free (config);
      config = g_steal_pointer (&c2);
      config_len = strlen (config);
    }
  else if (g_str_equal (name, "missing-tensor"))
    {
      /* Renaming a tensor keeps the file valid but loses ln_f. */
      char *at = strstr (out->str + 8, "\"ln_f.weight\"");
      g_assert_nonnull (at);
      memcpy (at + 1, "ln_x", 4);
    }
  else if (!g_str_equal (name, "no-tokenizer"))
    g_assert_not_reached ();

  g_autofree char *config_dst = g_build_filename (tmp, "config.json", NULL);
  g_autofree char *st_dst = g_build_filename (tmp, "model.safetensors", NULL);
  g_assert_true (g_file_set_contents (config_dst, config, config_len, NULL));
  g_assert_true (g_file_set_contents (st_dst, out->str, out->len, NULL));
  g_string_free (out, TRUE);
  return g_steal_pointer (&tmp);
}

static void
test_bad_model_is_a_one_line_error (gconstpointer data)
{
  const BadModel *bad = data;
  g_autofree char *dir = make_bad_model (bad->name);
  g_autofree char *st = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-out-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "out.json", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", dir, "--ids", "1,2,3", "-o", out, NULL);
  attnviz_test_assert_one_line_error (&r, 1, bad->needle);
  /* The error names the file (or, for config problems, config.json). */
  g_assert_true (strstr (r.err, st) != NULL || strstr (r.err, "config.json") != NULL);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static void
test_text_without_a_tokenizer_is_an_error (void)
{
  g_autofree char *model = fixture ("gpt2-tiny");
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-out-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "out.json", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--text", "hello", "-o", out, NULL);
  attnviz_test_assert_one_line_error (&r, 1, "tokenizer");
  g_assert_nonnull (strstr (r.err, "gpt2-tiny"));
}

static void
test_text_errors (gconstpointer data)
{
  const char *which = data;
  g_autofree char *model = attnviz_test_shared_path ("models", "stories260K", "hf", NULL);
  if (model == NULL)
    return;
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-out-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "out.json", NULL);
  g_autofree char *file = g_build_filename (tmp, "input.txt", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  if (g_str_equal (which, "empty"))
    {
      g_assert_true (g_file_set_contents (file, "", 0, NULL));
      attnviz_test_run_attnviz (&r, "dump", model, "--text-file", file, "-o", out, NULL);
      attnviz_test_assert_one_line_error (&r, 1, "empty");
      g_assert_nonnull (strstr (r.err, file));
    }
  else if (g_str_equal (which, "invalid-utf8"))
    {
      g_assert_true (g_file_set_contents (file, "caf\xc3\x28 au lait", -1, NULL));
      attnviz_test_run_attnviz (&r, "dump", model, "--text-file", file, "-o", out, NULL);
      attnviz_test_assert_one_line_error (&r, 1, "UTF-8");
      g_assert_nonnull (strstr (r.err, file));
    }
  else if (g_str_equal (which, "longer-than-context"))
    {
      /* stories260K has rotary positions: it runs on past the 512 tokens
       * it was trained at, as the app and llama.cpp do, and says so. */
      GString *s = g_string_new (NULL);
      for (int i = 0; i < 400; i++)
        g_string_append (s, "the cat sat. ");
      g_assert_true (g_file_set_contents (file, s->str, s->len, NULL));
      attnviz_test_run_attnviz (&r, "dump", model, "--text-file", file, "--layers", "0", "--heads", "0",
                                "--format", "safetensors", "-o", out, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_nonnull (strstr (r.err, "past the model's trained context of 512"));
      g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
      g_remove (out);
      /* --truncate cuts it to the context instead, without a note. */
      g_auto(AttnvizTestRun) r2 = { 0 };
      attnviz_test_run_attnviz (&r2, "dump", model, "--text-file", file, "--truncate", "--layers", "0", "--heads", "0",
                                "--format", "safetensors", "-o", out, NULL);
      g_assert_cmpint (r2.status, ==, 0);
      g_assert_null (strstr (r2.err, "note"));
      g_string_free (s, TRUE);

      /* A learned position table ends where it ends: gpt2-tiny has 64. */
      g_autofree char *gpt2 = fixture ("gpt2-tiny");
      GString *ids = g_string_new ("1");
      for (int i = 1; i < 65; i++)
        g_string_append (ids, ",1");
      g_remove (out);
      g_auto(AttnvizTestRun) r3 = { 0 };
      attnviz_test_run_attnviz (&r3, "dump", gpt2, "--ids", ids->str, "-o", out, NULL);
      attnviz_test_assert_one_line_error (&r3, 2, "context of 64");
      g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
      g_string_free (ids, TRUE);
    }
  else
    g_assert_not_reached ();
}

static void
test_missing_model_is_a_one_line_error (void)
{
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "info", "/nonexistent/model", NULL);
  attnviz_test_assert_one_line_error (&r, 1, "/nonexistent/model");
}

/* --- usage ---------------------------------------------------------------- */

static void
test_usage_errors_exit_with_2 (void)
{
  g_autofree char *model = fixture ("gpt2-tiny");
  g_auto(AttnvizTestRun) a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, e = { 0 };
  attnviz_test_run_attnviz (&a, "dump", model, "--ids", "1,2", NULL);                          /* no -o */
  g_assert_cmpint (a.status, ==, 2);
  attnviz_test_run_attnviz (&b, "dump", model, "--ids", "1,2", "--layers", "x-", "-o", "o", NULL);
  g_assert_cmpint (b.status, ==, 2);
  attnviz_test_run_attnviz (&c, "dump", model, "--no-such-option", NULL);
  g_assert_cmpint (c.status, ==, 2);
  attnviz_test_run_attnviz (&d, "dump", model, "--ids", "1,2", "--text", "x", "-o", "o", NULL);
  g_assert_cmpint (d.status, ==, 2);
  attnviz_test_run_attnviz (&e, "dump", "--help", NULL);
  g_assert_cmpint (e.status, ==, 0);
  g_assert_nonnull (strstr (e.out, "--layers"));
}

static void
test_layers_outside_the_model_are_a_usage_error (void)
{
  g_autofree char *model = fixture ("gpt2-tiny");
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-out-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "out.json", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", "1,2", "--layers", "7", "-o", out, NULL);
  /* a bad option value: exit 2, the option named, not the model */
  attnviz_test_assert_one_line_error (&r, 2, "--layers: 7 is past the model's 3 layers");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static const BadModel bad_models[] = {
  { "truncated", "the file is truncated" },
  { "header-past-end", NULL },
  { "header-not-json", "JSON" },
  { "offsets-out-of-range", "wpe.weight" },
  { "offsets-overlapping", NULL },
  { "wrong-shape", "wpe.weight" },
  { "unsupported-dtype", "wpe.weight" },
  { "nan-weights", "non-finite" },
  { "unknown-architecture", "MambaForCausalLM" },
  { "missing-tensor", "ln_f.weight" },
};

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/cli/generate/stories260K-greedy-200-prints-llama2c-reference", "hf",
                        test_greedy_stories260k_prints_llama2c_reference);
  g_test_add_data_func ("/cli/generate/stories260K-gguf-greedy-200-prints-llama2c-reference",
                        "gguf/stories260K-f32.gguf", test_greedy_stories260k_prints_llama2c_reference);
  g_test_add_func ("/cli/generate/aidreams260K-generates-text", test_aidreams260k_generates_text);
  static const char *fixtures[] = { "gpt2-tiny", "bert-tiny", "bert-tiny-modern", "llama-gqa-tiny-bf16", "qwen2-tiny" };
  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cli/info/describes-%s", fixtures[i]);
      g_test_add_data_func (path, fixtures[i], test_info_describes_a_model);
    }
  g_test_add_func ("/cli/info/stories260K-reports-sizes-and-tokenizer", test_info_of_stories260k_names_its_tokenizer);
  g_test_add_data_func ("/cli/dump/npy-folder-opens-with-numpy-and-matches-pytorch", "npy",
                        test_dump_is_readable_by_numpy_and_a_safetensors_reader);
  g_test_add_data_func ("/cli/dump/safetensors-opens-with-an-independent-reader-and-matches-pytorch", "safetensors",
                        test_dump_is_readable_by_numpy_and_a_safetensors_reader);
  g_test_add_data_func ("/cli/dump/npy-pooled-with-all-logits-matches-numpy-pooling-of-pytorch", "npy pooled",
                        test_dump_is_readable_by_numpy_and_a_safetensors_reader);
  g_test_add_data_func ("/cli/dump/safetensors-pooled-with-all-logits-matches-numpy-pooling-of-pytorch",
                        "safetensors pooled", test_dump_is_readable_by_numpy_and_a_safetensors_reader);
  g_test_add_func ("/cli/dump/json-carries-tokens-spans-and-shapes", test_dump_json_carries_tokens_spans_and_shapes);
  g_test_add_func ("/cli/dump/ids-are-used-exactly-as-given", test_ids_are_used_exactly_as_given);
  g_test_add_func ("/cli/dump/records-the-variant-it-ran", test_dump_records_the_variant_it_ran);
  g_test_add_data_func ("/cli/render/draws-a-difference-heatmap-of-two-variants", "heatmap",
                        test_render_draws_a_difference_of_two_variants);
  g_test_add_data_func ("/cli/render/draws-a-per-head-difference-grid", "grid",
                        test_render_draws_a_difference_of_two_variants);
  for (guint i = 0; i < G_N_ELEMENTS (bad_models); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cli/bad-input/%s-model-is-a-one-line-error", bad_models[i].name);
      g_test_add_data_func (path, &bad_models[i], test_bad_model_is_a_one_line_error);
    }
  g_test_add_func ("/cli/bad-input/text-without-a-tokenizer-is-an-error", test_text_without_a_tokenizer_is_an_error);
  g_test_add_data_func ("/cli/bad-input/empty-text-is-an-error", "empty", test_text_errors);
  g_test_add_data_func ("/cli/bad-input/invalid-utf8-is-an-error", "invalid-utf8", test_text_errors);
  g_test_add_data_func ("/cli/bad-input/text-past-the-context-runs-on-rotary-positions-only", "longer-than-context",
                        test_text_errors);
  g_test_add_func ("/cli/bad-input/missing-model-is-a-one-line-error", test_missing_model_is_a_one_line_error);
  g_test_add_func ("/cli/usage/layers-outside-the-model", test_layers_outside_the_model_are_a_usage_error);
  g_test_add_func ("/cli/usage/errors-exit-with-2", test_usage_errors_exit_with_2);

  return g_test_run ();
}
