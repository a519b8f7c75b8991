/* test-seq2seq-cli.c: the command line on an encoder-decoder model
 *
 * A small dates model is trained for the test (attnviz train, 30 steps, a
 * few seconds).  dump writes the cross-attention (layers, heads, target,
 * source) whose rows each sum to 1, the encoder's (S x S), the source ids
 * and the source tokens in the metadata, in each of the three formats;
 * --target teacher-forces the decoder; render --attention cross draws a
 * PNG; generate decodes; the options are refused on a decoder-only model.
 */
#define G_LOG_DOMAIN "test-seq2seq-cli"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-safetensors.h"
#include "attnviz-test-util.h"

#define SOURCE "saturday 21 november 2026"

static char *model_dir;

/* Every row of the (N, ROWS, COLS) block M sums to 1. */
static void
assert_rows_sum_to_one (const float *m, gsize n_maps, int rows, int cols, const char *what)
{
  double worst = 0;
  for (gsize k = 0; k < n_maps * rows; k++)
    {
      double sum = 0;
      for (int j = 0; j < cols; j++)
        {
          g_assert_true (isfinite (m[k * cols + j]) && m[k * cols + j] >= 0);
          sum += m[k * cols + j];
        }
      worst = MAX (worst, fabs (sum - 1));
    }
  g_test_message ("%s: rows sum to 1 within %.2g", what, worst);
  g_assert_cmpfloat (worst, <, 1e-4);
}

static JsonObject *
load_json (JsonParser *parser, const char *path)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* The metadata's source tokens: S of them, with id, text and span, their
 * texts spelling the source (the specials aside). */
static void
check_source_tokens (JsonObject *meta, int S, const gint32 *source_ids)
{
  g_assert_true (json_object_get_boolean_member (meta, "encoder_decoder"));
  g_assert_cmpint (json_object_get_int_member (meta, "n_source_tokens"), ==, S);
  JsonArray *tokens = json_object_get_array_member (meta, "source_tokens");
  g_assert_cmpint (json_array_get_length (tokens), ==, S);
  g_autoptr(GString) spelled = g_string_new (NULL);
  for (int s = 0; s < S; s++)
    {
      JsonObject *t = json_array_get_object_element (tokens, s);
      if (source_ids)
        g_assert_cmpint (json_object_get_int_member (t, "id"), ==, source_ids[s]);
      g_assert_true (json_object_has_member (t, "text"));
      gint64 start = json_object_get_int_member (t, "start"), end = json_object_get_int_member (t, "end");
      g_assert_cmpint (start, <=, end);
      if (!json_object_get_boolean_member (t, "special"))
        {
          g_assert_cmpint (start, ==, (gint64) spelled->len);
          g_string_append (spelled, json_object_get_string_member (t, "text"));
        }
    }
  g_assert_cmpstr (spelled->str, ==, SOURCE);
}

static void
test_dump_npy (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-s2s-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "dump", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model_dir, "--text", SOURCE, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);

  gint64 shape[8];
  int n_dims;
  gsize n;
  g_autofree char *cross_path = g_build_filename (out, "cross_attentions.npy", NULL);
  g_autofree char *enc_path = g_build_filename (out, "encoder_attentions.npy", NULL);
  g_autofree char *self_path = g_build_filename (out, "attentions.npy", NULL);
  g_autofree char *src_path = g_build_filename (out, "source_ids.npy", NULL);
  g_autofree char *ids_path = g_build_filename (out, "input_ids.npy", NULL);
  g_autofree char *meta_path = g_build_filename (out, "metadata.json", NULL);

  g_autofree float *src = attnviz_test_load_npy (src_path, shape, &n_dims, &n);
  int S = (int) shape[0];
  g_autofree float *ids = attnviz_test_load_npy (ids_path, shape, &n_dims, &n);
  int T = (int) shape[0];
  /* The source is the text's characters and <eos>; the target starts with <bos>. */
  g_assert_cmpint (S, ==, (int) strlen (SOURCE) + 1);
  g_assert_cmpint (T, >=, 1);

  g_autofree float *cross = attnviz_test_load_npy (cross_path, shape, &n_dims, &n);
  g_assert_cmpint (n_dims, ==, 4);
  g_assert_cmpint (shape[0], ==, 2);  /* decoder layers */
  g_assert_cmpint (shape[1], ==, 4);  /* heads */
  g_assert_cmpint (shape[2], ==, T);
  g_assert_cmpint (shape[3], ==, S);
  assert_rows_sum_to_one (cross, 2 * 4, T, S, "cross_attentions");

  g_autofree float *enc = attnviz_test_load_npy (enc_path, shape, &n_dims, &n);
  g_assert_cmpint (n_dims, ==, 4);
  g_assert_cmpint (shape[0], ==, 2);  /* encoder layers */
  g_assert_cmpint (shape[1], ==, 4);
  g_assert_cmpint (shape[2], ==, S);
  g_assert_cmpint (shape[3], ==, S);
  assert_rows_sum_to_one (enc, 2 * 4, S, S, "encoder_attentions");

  g_autofree float *self_attn = attnviz_test_load_npy (self_path, shape, &n_dims, &n);
  g_assert_cmpint (shape[2], ==, T);
  g_assert_cmpint (shape[3], ==, T);
  assert_rows_sum_to_one (self_attn, 2 * 4, T, T, "attentions");

  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *meta = load_json (parser, meta_path);
  g_autofree gint32 *src_ids = g_new (gint32, S);
  for (int s = 0; s < S; s++)
    src_ids[s] = (gint32) src[s];
  check_source_tokens (meta, S, src_ids);
  JsonArray *cross_shape = json_object_get_array_member (meta, "cross_attentions_shape");
  g_assert_cmpint (json_array_get_int_element (cross_shape, 2), ==, T);
  g_assert_cmpint (json_array_get_int_element (cross_shape, 3), ==, S);
  JsonArray *tokens = json_object_get_array_member (meta, "tokens");
  g_assert_cmpint (json_array_get_length (tokens), ==, T);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (tokens, 0), "text"), ==, "<bos>");
  attnviz_test_remove_tree (dir);
}

static void
test_dump_target_safetensors_and_json (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-s2s-XXXXXX", NULL);
  g_autofree char *st = g_build_filename (dir, "dump.safetensors", NULL);
  g_autofree char *js = g_build_filename (dir, "dump.json", NULL);
  int S = strlen (SOURCE) + 1, T = 1 + strlen ("2026-11-21");

  /* --target: BOS and the target, teacher-forced. */
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model_dir, "--text", SOURCE, "--target", "2026-11-21", "-o", st, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(GError) error = NULL;
  AttnvizSafetensors *f = attnviz_safetensors_open (st, &error);
  g_assert_no_error (error);
  const AttnvizTensorInfo *cross = attnviz_safetensors_lookup (f, "cross_attentions");
  const AttnvizTensorInfo *enc = attnviz_safetensors_lookup (f, "encoder_attentions");
  const AttnvizTensorInfo *src = attnviz_safetensors_lookup (f, "source_ids");
  g_assert_nonnull (cross);
  g_assert_nonnull (enc);
  g_assert_nonnull (src);
  g_assert_cmpint (cross->n_dims, ==, 4);
  g_assert_cmpint (cross->shape[2], ==, T);
  g_assert_cmpint (cross->shape[3], ==, S);
  g_assert_cmpint (enc->shape[2], ==, S);
  g_assert_cmpint (enc->shape[3], ==, S);
  g_assert_cmpint (src->shape[0], ==, S);
  g_autofree float *m = g_new (float, cross->shape[0] * cross->shape[1] * T * S);
  attnviz_tensor_to_f32 (cross, m);
  assert_rows_sum_to_one (m, cross->shape[0] * cross->shape[1], T, S, "safetensors cross_attentions");
  g_autoptr(JsonParser) st_parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (st_parser, attnviz_safetensors_get_metadata (f, "attnviz"), -1, NULL));
  check_source_tokens (json_node_get_object (json_parser_get_root (st_parser)), S, NULL);
  attnviz_safetensors_free (f);

  g_auto(AttnvizTestRun) r2 = { 0 };
  attnviz_test_run_attnviz (&r2, "dump", model_dir, "--text", SOURCE, "--target", "2026-11-21", "-o", js, NULL);
  g_assert_cmpint (r2.status, ==, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root = load_json (parser, js);
  JsonObject *meta = json_object_get_object_member (root, "metadata");
  check_source_tokens (meta, S, NULL);
  /* The target tokens: <bos> then the characters of --target. */
  JsonArray *tokens = json_object_get_array_member (meta, "tokens");
  g_assert_cmpint (json_array_get_length (tokens), ==, T);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (tokens, 1), "text"), ==, "2");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (tokens, 5), "text"), ==, "-");
  JsonArray *layers = json_object_get_array_member (root, "cross_attentions");
  g_assert_cmpint (json_array_get_length (layers), ==, 2);
  JsonArray *heads = json_array_get_array_element (layers, 1);
  g_assert_cmpint (json_array_get_length (heads), ==, 4);
  JsonArray *rows = json_array_get_array_element (heads, 3);
  g_assert_cmpint (json_array_get_length (rows), ==, T);
  for (int t = 0; t < T; t++)
    {
      JsonArray *row = json_array_get_array_element (rows, t);
      g_assert_cmpint (json_array_get_length (row), ==, S);
      double sum = 0;
      for (int s = 0; s < S; s++)
        sum += json_array_get_double_element (row, s);
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
    }
  JsonArray *enc_layers = json_object_get_array_member (root, "encoder_attentions");
  JsonArray *enc_rows = json_array_get_array_element (json_array_get_array_element (enc_layers, 0), 0);
  g_assert_cmpint (json_array_get_length (enc_rows), ==, S);
  g_assert_cmpint (json_array_get_length (json_array_get_array_element (enc_rows, 0)), ==, S);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (root, "source_ids")), ==, S);
  attnviz_test_remove_tree (dir);
}

static gboolean
is_png (const char *path)
{
  g_autofree char *data = NULL;
  gsize len;
  return g_file_get_contents (path, &data, &len, NULL) && len > 1000 && memcmp (data, "\x89PNG", 4) == 0;
}

static void
test_render_cross (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-s2s-XXXXXX", NULL);
  g_autofree char *heatmap = g_build_filename (dir, "cross.png", NULL);
  g_autofree char *grid = g_build_filename (dir, "encoder-grid.png", NULL);
  g_autofree char *lines = g_build_filename (dir, "cross-lines.svg", NULL);

  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "render", model_dir, "--text", SOURCE, "--attention", "cross", "--layer", "1", "--head", "2",
                            "-o", heatmap, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (is_png (heatmap));
  g_assert_nonnull (strstr (r.err, "cross-attention"));
  g_assert_nonnull (strstr (r.err, "source tokens"));

  g_auto(AttnvizTestRun) r2 = { 0 };
  attnviz_test_run_attnviz (&r2, "render", model_dir, "--text", SOURCE, "--attention", "encoder", "--view", "grid", "-o", grid, NULL);
  g_assert_cmpint (r2.status, ==, 0);
  g_assert_true (is_png (grid));

  g_auto(AttnvizTestRun) r3 = { 0 };
  attnviz_test_run_attnviz (&r3, "render", model_dir, "--text", SOURCE, "--target", "2026-11-21", "--attention", "cross",
                            "--view", "lines", "--aggregate", "mean", "-o", lines, NULL);
  g_assert_cmpint (r3.status, ==, 0);
  g_autofree char *svg = NULL;
  g_assert_true (g_file_get_contents (lines, &svg, NULL, NULL));
  g_assert_nonnull (strstr (svg, "<svg"));

  /* The encoder has its own layers; --vs compares self-attention only. */
  g_auto(AttnvizTestRun) r4 = { 0 };
  attnviz_test_run_attnviz (&r4, "render", model_dir, "--text", SOURCE, "--attention", "encoder", "--layer", "2", "-o", heatmap, NULL);
  g_assert_cmpint (r4.status, ==, 2);
  g_assert_nonnull (strstr (r4.err, "encoder layers 0 to 1"));
  g_auto(AttnvizTestRun) r5 = { 0 };
  attnviz_test_run_attnviz (&r5, "render", model_dir, "--text", SOURCE, "--attention", "cross", "--vs", "model", "-o", heatmap, NULL);
  g_assert_cmpint (r5.status, ==, 2);
  attnviz_test_remove_tree (dir);
}

static void
test_generate (void)
{
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "generate", model_dir, "--prompt", SOURCE, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_suffix (r.out, "\n"));
  g_assert_null (strstr (r.out, "<bos>"));

  /* An encoder-decoder decodes from a source. */
  g_auto(AttnvizTestRun) r2 = { 0 };
  attnviz_test_run_attnviz (&r2, "generate", model_dir, NULL);
  g_assert_cmpint (r2.status, ==, 2);
  g_assert_nonnull (strstr (r2.err, "--prompt"));
}

static void
test_decoder_only_refuses (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autofree char *dir = g_dir_make_tmp ("attnviz-s2s-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "x.png", NULL);

  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "render", model, "--ids", "1,2,3", "--attention", "cross", "-o", png, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "not an encoder-decoder"));
  g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));
  g_auto(AttnvizTestRun) r2 = { 0 };
  attnviz_test_run_attnviz (&r2, "dump", model, "--ids", "1,2,3", "--target", "x", "-o", dir, NULL);
  g_assert_cmpint (r2.status, ==, 2);
  attnviz_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  /* A small model with checkpoints, trained for these tests. */
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-s2s-model-XXXXXX", NULL);
  model_dir = g_build_filename (tmp, "dates", NULL);
  g_auto(AttnvizTestRun) train = { 0 };
  attnviz_test_run_attnviz (&train, "train", "--task", "dates", "--steps", "30", "--checkpoint-every", "10", "-q", "-o", model_dir, NULL);
  if (train.status != 0)
    g_error ("could not train the test model: %s", train.err);

  g_test_add_func ("/cli/seq2seq/dump-npy-has-cross-and-encoder-attention-and-source-tokens", test_dump_npy);
  g_test_add_func ("/cli/seq2seq/dump-target-safetensors-and-json", test_dump_target_safetensors_and_json);
  g_test_add_func ("/cli/seq2seq/render-cross-attention-writes-a-png", test_render_cross);
  g_test_add_func ("/cli/seq2seq/generate-decodes-the-prompt", test_generate);
  g_test_add_func ("/cli/seq2seq/decoder-only-models-refuse-the-options", test_decoder_only_refuses);
  int status = g_test_run ();
  attnviz_test_remove_tree (tmp);
  g_free (model_dir);
  return status;
}
