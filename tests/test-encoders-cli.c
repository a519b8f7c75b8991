/* test-encoders-cli.c: RoBERTa and DistilBERT folders on the command line
 *
 * dump --text goes through the folder's tokenizer (<s> ... </s>, [CLS] ...
 * [SEP]) and writes the PyTorch reference's attention; variants run on the
 * learned positions (pos=none leaves an encoder that a permutation of its
 * tokens only permutes; an ablated head of the last layer leaves the first
 * untouched); render and heads run on both.
 */
#define G_LOG_DOMAIN "test-encoders-cli"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-test-util.h"

typedef struct {
  const char *fixture;
  const char *first;   /* the first and last token's text */
  const char *last;
} Case;

static const Case cases[] = {
  { "roberta-tiny", "<s>", "</s>" },
  { "roberta-tiny-bare", "<s>", "</s>" },
  { "distilbert-tiny", "[CLS]", "[SEP]" },
  { "distilbert-tiny-sinusoidal", "[CLS]", "[SEP]" },
};

static float *
load_npy (const char *dir, const char *name, gint64 *shape, gsize *n)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  int nd;
  float *f = attnviz_test_load_npy (path, shape, &nd, n);
  g_assert_nonnull (f);
  return f;
}

static char *
reference_text (const char *fixture)
{
  g_autofree char *path = attnviz_test_fixture_path (fixture, "reference", "inputs.json", NULL);
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_file (p, path, NULL));
  return g_strdup (json_object_get_string_member (json_node_get_object (json_parser_get_root (p)), "text"));
}

/* dump --text: the reference's text through the folder's tokenizer gives
 * the reference's attention, its specials first and last. */
static void
test_dump_text_matches_pytorch (gconstpointer data)
{
  const Case *k = data;
  g_autofree char *model = attnviz_test_fixture_path (k->fixture, NULL);
  g_autofree char *text = reference_text (k->fixture);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-enc-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "dump", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--text", text, "-o", out, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);

  gint64 s1[8], s2[8];
  gsize n1, n2;
  g_autofree float *mine = load_npy (out, "attentions.npy", s1, &n1);
  g_autofree char *ref_dir = attnviz_test_fixture_path (k->fixture, "reference", NULL);
  g_autofree float *ref = load_npy (ref_dir, "attentions.npy", s2, &n2);
  g_assert_cmpuint (n1, ==, n2);
  g_assert_true (attnviz_test_check_tensor (mine, ref, n1, 1e-4f, "attentions"));

  g_autofree char *meta = g_build_filename (out, "metadata.json", NULL);
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_file (p, meta, NULL));
  JsonArray *tokens = json_object_get_array_member (json_node_get_object (json_parser_get_root (p)), "tokens");
  guint T = json_array_get_length (tokens);
  g_assert_cmpint (T, ==, s2[2]);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (tokens, 0), "text"), ==, k->first);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (tokens, T - 1), "text"), ==, k->last);
  attnviz_test_remove_tree (tmp);
}

/* Attention (L, H, T, T) of a dump of IDS under VARIANT. */
static float *
dump_attention (const char *model, const char *ids, const char *variant, const char *tmp, gint64 *shape)
{
  g_autofree char *out = g_build_filename (tmp, variant, NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", ids, "--variant", variant, "-o", out, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  gsize n;
  float *att = load_npy (out, "attentions.npy", shape, &n);
  attnviz_test_remove_tree (out);
  return att;
}

/* Without positions an encoder sees a bag of tokens: reversing the tokens
 * reverses every head's rows and columns. */
static void
test_without_positions_a_permutation_only_permutes (gconstpointer data)
{
  const Case *k = data;
  g_autofree char *model = attnviz_test_fixture_path (k->fixture, NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-enc-cli-XXXXXX", NULL);
  static const int ids[] = { 3, 36, 37, 44, 38, 39, 36, 40, 6, 4 };
  int T = G_N_ELEMENTS (ids);
  GString *fwd = g_string_new (NULL), *rev = g_string_new (NULL);
  for (int t = 0; t < T; t++)
    {
      g_string_append_printf (fwd, "%s%d", t ? "," : "", ids[t]);
      g_string_append_printf (rev, "%s%d", t ? "," : "", ids[T - 1 - t]);
    }
  gint64 sa[4], sb[4], sc[4];
  g_autofree float *a = dump_attention (model, fwd->str, "pos=none", tmp, sa);
  g_autofree float *b = dump_attention (model, rev->str, "pos=none", tmp, sb);
  g_autofree float *with_pos = dump_attention (model, rev->str, "model", tmp, sc);
  gsize heads = (gsize) sa[0] * sa[1];
  double max_diff = 0.0, pos_diff = 0.0;
  for (gsize h = 0; h < heads; h++)
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++)
        {
          float x = a[(h * T + i) * T + j];
          float y = b[(h * T + (T - 1 - i)) * T + (T - 1 - j)];
          float z = with_pos[(h * T + (T - 1 - i)) * T + (T - 1 - j)];
          max_diff = MAX (max_diff, fabs (x - y));
          pos_diff = MAX (pos_diff, fabs (x - z));
        }
  g_test_message ("reversed without positions: max |diff| %.3g; with them: %.3g", max_diff, pos_diff);
  g_assert_cmpfloat (max_diff, <=, 1e-5);
  /* the positions were what made the difference */
  g_assert_cmpfloat (pos_diff, >, 1e-3);
  g_string_free (fwd, TRUE);
  g_string_free (rev, TRUE);
  attnviz_test_remove_tree (tmp);
}

/* Ablating heads of the last layer changes nothing before it; shuffled
 * positions change the first layer already. */
static void
test_ablation_and_shuffled_positions (gconstpointer data)
{
  const Case *k = data;
  g_autofree char *model = attnviz_test_fixture_path (k->fixture, NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-enc-cli-XXXXXX", NULL);
  const char *ids = "3,36,37,44,38,39,36,40,6,4";
  gint64 s[4];
  g_autofree float *base = dump_attention (model, ids, "model", tmp, s);
  g_autofree float *ablated = dump_attention (model, ids, "ablate=L1H0+L1H2", tmp, s);
  g_autofree float *shuffled = dump_attention (model, ids, "pos=shuffled:7", tmp, s);
  gsize per_layer = (gsize) s[1] * s[2] * s[3];
  g_assert_true (attnviz_test_check_tensor (ablated, base, per_layer, 0.0f, "layer 0, L1 heads ablated"));
  double moved = 0.0;
  for (gsize i = 0; i < per_layer; i++)
    moved = MAX (moved, fabs (shuffled[i] - base[i]));
  g_test_message ("layer 0 under pos=shuffled:7 moves by up to %.3g", moved);
  g_assert_cmpfloat (moved, >, 1e-3);
  attnviz_test_remove_tree (tmp);
}

/* render draws a head as PNG, heads measures every head. */
static void
test_render_and_heads_run (gconstpointer data)
{
  const Case *k = data;
  g_autofree char *model = attnviz_test_fixture_path (k->fixture, NULL);
  g_autofree char *tmp = g_dir_make_tmp ("attnviz-enc-cli-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (tmp, "head.png", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "render", model, "--text", "The cat sat on the mat.", "--layer", "1", "--head", "2",
                            "-o", png, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (png, &bytes, &len, NULL));
  g_assert_cmpuint (len, >, 1000);
  g_assert_cmpint (memcmp (bytes, "\x89PNG", 4), ==, 0);

  g_auto(AttnvizTestRun) h = { 0 };
  attnviz_test_run_attnviz (&h, "heads", model, "--text", "The cat sat on the mat.", NULL);
  g_assert_cmpint (h.status, ==, 0);
  g_auto(GStrv) lines = g_strsplit (h.out, "\n", -1);
  int rows = 0;
  for (int i = 0; lines[i]; i++)
    {
      int layer, head;
      if (sscanf (lines[i], " %d %d ", &layer, &head) == 2)
        rows++;
    }
  g_assert_cmpint (rows, ==, 2 * 4);
  attnviz_test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *a = g_strdup_printf ("/cli/encoders/%s/dump-text-matches-pytorch", cases[i].fixture);
      g_test_add_data_func (a, &cases[i], test_dump_text_matches_pytorch);
      g_autofree char *b = g_strdup_printf ("/cli/encoders/%s/without-positions-a-permutation-only-permutes",
                                            cases[i].fixture);
      g_test_add_data_func (b, &cases[i], test_without_positions_a_permutation_only_permutes);
      g_autofree char *c = g_strdup_printf ("/cli/encoders/%s/ablation-and-shuffled-positions", cases[i].fixture);
      g_test_add_data_func (c, &cases[i], test_ablation_and_shuffled_positions);
      g_autofree char *d = g_strdup_printf ("/cli/encoders/%s/render-and-heads-run", cases[i].fixture);
      g_test_add_data_func (d, &cases[i], test_render_and_heads_run);
    }
  return g_test_run ();
}
