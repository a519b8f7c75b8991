/* attnviz generate and dump's predictions as a user meets them (issue 13):
 * each step's candidates, the dump of a generated sequence, sampling that
 * the cache does not change, dump --top-k and --logit-lens in every
 * format, and their numbers against dump --logits all. */
#define G_LOG_DOMAIN "test-cli-generate"
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnviz-safetensors.h"
#include "attnviz-session.h"
#include "attnviz-test-util.h"

typedef struct {
  float *data;
  gint64 shape[4];
  int n_dims;
  gsize n;
} Tensor;

static void
tensor_clear (Tensor *t)
{
  g_clear_pointer (&t->data, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Tensor, tensor_clear)

static void
load_npy (Tensor *t, const char *dir, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".npy", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  t->data = attnviz_test_load_npy (path, t->shape, &t->n_dims, &t->n);
}

/* A tensor of a safetensors file through the engine's reader, as floats. */
static void
load_safetensors (Tensor *t, const char *path, const char *name)
{
  g_autoptr(GError) error = NULL;
  AttnvizSafetensors *st = attnviz_safetensors_open (path, &error);
  g_assert_no_error (error);
  const AttnvizTensorInfo *info = attnviz_safetensors_lookup (st, name);
  g_assert_nonnull (info);
  t->n_dims = info->n_dims;
  memcpy (t->shape, info->shape, sizeof (gint64) * info->n_dims);
  t->n = info->n_elements;
  t->data = g_new (float, MAX (t->n, 1));
  for (gsize i = 0; i < t->n; i++)
    {
      if (info->dtype == ATTNVIZ_DTYPE_I32)
        {
          gint32 v;
          memcpy (&v, info->data + 4 * i, 4);
          t->data[i] = (float) v;
        }
      else
        memcpy (&t->data[i], info->data + 4 * i, 4);
    }
  attnviz_safetensors_free (st);
}

/* Nested JSON arrays flattened into floats (null: NaN). */
static void
flatten (JsonNode *node, GArray *out)
{
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        flatten (json_array_get_element (a, i), out);
      return;
    }
  float v = JSON_NODE_HOLDS_NULL (node) ? NAN : (float) json_node_get_double (node);
  g_array_append_val (out, v);
}

static char *
tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("attnviz-cli-generate-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static char *
stories260k (void)
{
  return attnviz_test_shared_path ("models", "stories260K", "hf", NULL);
}

/* --top-k 3: a line a step, "step N: "picked" | "a" p "b" q "c" r", the
 * probabilities falling, the greedy pick the first candidate; then the
 * text, the same as without --top-k. */
static void
test_top_k_prints_each_steps_candidates (void)
{
  g_autofree char *model = stories260k ();
  if (model == NULL)
    return;
  g_auto(AttnvizTestRun) plain = { 0 };
  attnviz_test_run_attnviz (&plain, "generate", model, "-n", "6", NULL);
  g_assert_cmpint (plain.status, ==, 0);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "generate", model, "-n", "6", "--top-k", "3", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_auto(GStrv) lines = g_strsplit (r.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 6 + 2);   /* six steps, the text, "" after its newline */
  g_autoptr(GRegex) re = g_regex_new ("^step ([0-9]+): (\"[^\"]*\") \\| (\"[^\"]*\") ([0-9.]+) \"[^\"]*\" ([0-9.]+) "
                                      "\"[^\"]*\" ([0-9.]+)$", 0, 0, NULL);
  for (int i = 0; i < 6; i++)
    {
      g_autoptr(GMatchInfo) m = NULL;
      g_assert_true (g_regex_match (re, lines[i], 0, &m));
      g_autofree char *step = g_match_info_fetch (m, 1);
      g_assert_cmpint (atoi (step), ==, i + 1);
      g_autofree char *picked = g_match_info_fetch (m, 2);
      g_autofree char *first = g_match_info_fetch (m, 3);
      g_assert_cmpstr (picked, ==, first);
      double p[3];
      for (int k = 0; k < 3; k++)
        {
          g_autofree char *s = g_match_info_fetch (m, 4 + k);
          p[k] = g_ascii_strtod (s, NULL);
        }
      g_assert_cmpfloat (p[0], >=, p[1]);
      g_assert_cmpfloat (p[1], >=, p[2]);
      g_assert_cmpfloat (p[0] + p[1] + p[2], <=, 1.0001);
    }
  g_assert_cmpstr (lines[6], ==, g_strstrip (plain.out));
}

/* --dump: the whole sequence (BOS and the 12 tokens written) as dump
 * writes it, K = --top-k candidates; greedy, every token written is its
 * position's most likely next token, and its probability next_prob. */
static void
test_dump_writes_the_generated_sequence (void)
{
  g_autofree char *model = stories260k ();
  if (model == NULL)
    return;
  g_autofree char *dir = tmp_dir ();
  g_autofree char *out = g_build_filename (dir, "gen", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "generate", model, "-n", "12", "--top-k", "4", "--dump", out, NULL);
  g_assert_cmpint (r.status, ==, 0);

  g_auto(Tensor) ids = { 0 }, topk = { 0 }, probs = { 0 }, next = { 0 }, att = { 0 };
  load_npy (&ids, out, "input_ids");
  load_npy (&topk, out, "topk_ids");
  load_npy (&probs, out, "topk_probs");
  load_npy (&next, out, "next_prob");
  load_npy (&att, out, "attentions");
  int T = (int) ids.n;
  g_assert_cmpint (T, ==, 13);
  g_assert_cmpfloat (ids.data[0], ==, 1);   /* BOS */
  g_assert_cmpint (topk.n_dims, ==, 2);
  g_assert_cmpint (topk.shape[1], ==, 4);
  g_assert_cmpint (att.shape[2], ==, T);
  for (int t = 0; t + 1 < T; t++)
    {
      g_assert_cmpfloat (topk.data[t * 4], ==, ids.data[t + 1]);
      g_assert_cmpfloat_with_epsilon (next.data[t], probs.data[t * 4], 1e-6);
    }
  g_assert_true (isnan (next.data[T - 1]));
  attnviz_test_remove_tree (dir);
}

/* Sampled with a temperature, top-k and top-p from one seed, the cache
 * writes the text running everything again writes. */
static void
test_sampling_writes_the_same_text_without_the_cache (void)
{
  g_autofree char *model = stories260k ();
  if (model == NULL)
    return;
  const char *args[] = { "generate", model, "-n", "120", "-T", "0.9", "--sample-top-k", "20", "--top-p", "0.95",
                         "-s", "7", NULL, NULL };
  g_auto(AttnvizTestRun) cached = { 0 };
  attnviz_test_run_attnvizv (&cached, args);
  g_assert_cmpint (cached.status, ==, 0);
  args[12] = "--no-cache";
  g_auto(AttnvizTestRun) recomputed = { 0 };
  attnviz_test_run_attnvizv (&recomputed, args);
  g_assert_cmpint (recomputed.status, ==, 0);
  g_assert_cmpstr (cached.out, ==, recomputed.out);
  g_assert_cmpuint (strlen (cached.out), >, 200);
}

/* An encoder-decoder's steps print their candidates too, before the
 * target it decodes (the built-in dates model). */
static void
test_an_encoder_decoder_prints_its_candidates_too (void)
{
  g_autofree char *model = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", "dates-seq2seq",
                                             NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "generate", model, "-p", "saturday 21 november 2026", "--top-k", "2", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_auto(GStrv) lines = g_strsplit (g_strstrip (r.out), "\n", -1);
  guint n = g_strv_length (lines);
  g_assert_cmpuint (n, ==, 10 + 1 + 1);   /* ten characters, <eos>, the text */
  g_assert_true (g_str_has_prefix (lines[0], "step 1: \"2\" | \"2\" "));
  g_assert_true (g_str_has_prefix (lines[10], "step 11: "));
  g_assert_cmpstr (lines[n - 1], ==, "2026-11-21");
}

static const char *FIXTURE_IDS = "5,17,33,2,90,41,8,8,64,12,3,77,50,9,21,44";

/* dump --top-k 6 --logits all: each position's six most likely tokens,
 * their probabilities and the probability of the next token, as computed
 * here from the logits in the same dump. */
static void
test_predictions_follow_from_logits_all (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autofree char *dir = tmp_dir ();
  g_autofree char *out = g_build_filename (dir, "d", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", FIXTURE_IDS, "--top-k", "6", "--logits", "all", "-o", out,
                            "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_auto(Tensor) logits = { 0 }, topk = { 0 }, probs = { 0 }, next = { 0 }, ids = { 0 };
  load_npy (&logits, out, "logits");
  load_npy (&topk, out, "topk_ids");
  load_npy (&probs, out, "topk_probs");
  load_npy (&next, out, "next_prob");
  load_npy (&ids, out, "input_ids");
  int T = (int) logits.shape[0], V = (int) logits.shape[1], K = 6;
  g_assert_cmpint (topk.shape[1], ==, K);
  for (int t = 0; t < T; t++)
    {
      const float *row = logits.data + (gsize) t * V;
      double max = row[0], sum = 0.0;
      for (int j = 0; j < V; j++)
        max = MAX (max, row[j]);
      for (int j = 0; j < V; j++)
        sum += exp (row[j] - max);
      for (int i = 0; i < K; i++)
        {
          int id = (int) topk.data[t * K + i];
          int above = 0;
          for (int j = 0; j < V; j++)
            above += row[j] > row[id];
          g_assert_cmpint (above, ==, i);
          g_assert_cmpfloat_with_epsilon (probs.data[t * K + i], exp (row[id] - max) / sum, 1e-6);
        }
      if (t + 1 < T)
        g_assert_cmpfloat_with_epsilon (next.data[t], exp (row[(int) ids.data[t + 1]] - max) / sum, 1e-6);
    }
  attnviz_test_remove_tree (dir);
}

/* --logit-lens in npy, safetensors and json: the same (n_layer, T, K)
 * arrays, whose last layer is the output's own top-k. */
static void
test_logit_lens_is_the_same_in_every_format (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("llama-gqa-tiny", NULL);
  g_autofree char *dir = tmp_dir ();
  g_autofree char *npy = g_build_filename (dir, "lens", NULL);
  g_autofree char *st = g_build_filename (dir, "lens.safetensors", NULL);
  g_autofree char *json = g_build_filename (dir, "lens.json", NULL);
  const char *outs[] = { npy, st, json };
  for (guint i = 0; i < G_N_ELEMENTS (outs); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_attnviz (&r, "dump", model, "--ids", FIXTURE_IDS, "--top-k", "3", "--logit-lens", "-o",
                                outs[i], "-q", NULL);
      g_assert_cmpint (r.status, ==, 0);
    }
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, json, NULL));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (root, "metadata"), "logit_lens"));
  const char *names[] = { "lens_topk_ids", "lens_topk_probs", "topk_ids", "next_prob" };
  int T = 16, K = 3, L = 2;
  g_auto(Tensor) lens = { 0 }, top = { 0 };
  load_npy (&lens, npy, "lens_topk_ids");
  load_npy (&top, npy, "topk_ids");
  g_assert_cmpint (lens.n_dims, ==, 3);
  g_assert_cmpint (lens.shape[0], ==, L);
  g_assert_cmpint (lens.shape[1], ==, T);
  g_assert_cmpint (lens.shape[2], ==, K);
  g_assert_cmpmem (lens.data + (gsize) (L - 1) * T * K, T * K * sizeof (float), top.data, T * K * sizeof (float));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_auto(Tensor) a = { 0 }, b = { 0 };
      load_npy (&a, npy, names[i]);
      load_safetensors (&b, st, names[i]);
      g_autoptr(GArray) c = g_array_new (FALSE, FALSE, sizeof (float));
      flatten (json_object_get_member (root, names[i]), c);
      g_assert_cmpuint (a.n, ==, b.n);
      g_assert_cmpuint (a.n, ==, c->len);
      for (gsize j = 0; j < a.n; j++)
        {
          if (isnan (a.data[j]))
            {
              g_assert_true (isnan (b.data[j]) && isnan (g_array_index (c, float, j)));
              continue;
            }
          g_assert_cmpfloat (a.data[j], ==, b.data[j]);
          g_assert_cmpfloat_with_epsilon (a.data[j], g_array_index (c, float, j), 1e-6);
        }
    }
  attnviz_test_remove_tree (dir);
}

/* A dump with --top-k and the lens opens as a session (attnviz view) with
 * its candidates and next_prob; one written before next_prob existed gets
 * exp (-loss), and either saves again with next_prob in it. */
static void
test_a_dump_with_predictions_opens_and_saves_as_a_session (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autofree char *dir = tmp_dir ();
  g_autofree char *npy = g_build_filename (dir, "d", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", FIXTURE_IDS, "--top-k", "3", "--logit-lens", "-o", npy,
                            "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_auto(Tensor) next = { 0 }, loss = { 0 };
  load_npy (&next, npy, "next_prob");
  load_npy (&loss, npy, "loss");
  g_autoptr(GError) error = NULL;
  for (int older = 0; older < 2; older++)
    {
      if (older)
        {
          g_autofree char *file = g_build_filename (npy, "next_prob.npy", NULL);
          g_assert_cmpint (g_unlink (file), ==, 0);
        }
      g_autoptr(AttnvizSession) session = attnviz_session_load (npy, NULL, NULL, 0, &error);
      g_assert_no_error (error);
      const AttnvizRecording *rec = session->rec;
      g_assert_cmpint (rec->top_k, ==, 3);
      g_assert_nonnull (rec->next_prob);
      for (int t = 0; t < rec->T; t++)
        {
          if (isnan (next.data[t]))
            g_assert_true (isnan (rec->next_prob[t]));
          else if (older)
            g_assert_cmpfloat_with_epsilon (rec->next_prob[t], expf (-loss.data[t]), 1e-6);
          else
            g_assert_cmpfloat (rec->next_prob[t], ==, next.data[t]);
        }
      g_autofree char *saved = g_build_filename (dir, older ? "older.safetensors" : "saved.safetensors", NULL);
      g_assert_true (attnviz_session_save (session, ATTNVIZ_DUMP_SAFETENSORS, saved, &error));
      g_assert_no_error (error);
      g_auto(Tensor) again = { 0 };
      load_safetensors (&again, saved, "next_prob");
      g_assert_cmpuint (again.n, ==, (gsize) rec->T);
      g_assert_true (attnviz_test_check_tensor (again.data, next.data, rec->T - 1, 1e-6f, "next_prob saved"));
    }
  attnviz_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/generate/top-k-prints-each-steps-candidates", test_top_k_prints_each_steps_candidates);
  g_test_add_func ("/cli/generate/dump-writes-the-generated-sequence", test_dump_writes_the_generated_sequence);
  g_test_add_func ("/cli/generate/sampling-writes-the-same-text-without-the-cache",
                   test_sampling_writes_the_same_text_without_the_cache);
  g_test_add_func ("/cli/generate/an-encoder-decoder-prints-its-candidates-too",
                   test_an_encoder_decoder_prints_its_candidates_too);
  g_test_add_func ("/cli/dump/predictions-follow-from-logits-all", test_predictions_follow_from_logits_all);
  g_test_add_func ("/cli/dump/logit-lens-is-the-same-in-every-format", test_logit_lens_is_the_same_in_every_format);
  g_test_add_func ("/cli/dump/a-dump-with-predictions-opens-and-saves-as-a-session",
                   test_a_dump_with_predictions_opens_and_saves_as_a_session);
  return g_test_run ();
}
