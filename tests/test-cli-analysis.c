/* test-cli-analysis.c: dump --rollout --flow --value-weighted in every
 * format, heads --similarity, render's analysis views */
#define G_LOG_DOMAIN "attnviz-test-cli-analysis"
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-test-util.h"

#define IDS "1,7,7,45,3,90,12,7,45,3,90,12,64,7"

static char *
gpt2_tiny (void)
{
  return attnviz_test_fixture_path ("gpt2-tiny", NULL);
}

static float *
load (const char *dir, const char *name, gint64 *shape)
{
  g_autofree char *file = g_strconcat (name, ".npy", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  int n_dims;
  gsize n;
  float *v = attnviz_test_load_npy (path, shape, &n_dims, &n);
  g_assert_nonnull (v);
  return v;
}

/* The npy dump's rollout is the product of its own attentions' residual
 * head means; value_weighted / attentions is one f_j down each column. */
static void
test_dump_npy_adds_rollout_flow_and_value_weighted (void)
{
  g_autofree char *model = gpt2_tiny ();
  g_autofree char *dir = g_dir_make_tmp ("attnviz-cli-analysis-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "dump", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", IDS, "--rollout", "--flow", "--value-weighted", "-o", out,
                            "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  gint64 sa[4], sr[4], sf[4], sv[4];
  g_autofree float *att = load (out, "attentions", sa);
  g_autofree float *roll = load (out, "rollout", sr);
  g_autofree float *flow = load (out, "flow", sf);
  g_autofree float *vw = load (out, "value_weighted", sv);
  int L = (int) sa[0], H = (int) sa[1], T = (int) sa[2];
  g_assert_cmpmem (sv, sizeof (gint64) * 4, sa, sizeof (gint64) * 4);
  g_assert_cmpint (sr[0], ==, T);
  g_assert_cmpint (sf[1], ==, T);

  g_autofree double *R = g_new0 (double, T * T), *A = g_new (double, T * T), *tmp = g_new (double, T * T);
  for (int i = 0; i < T; i++)
    R[i * T + i] = 1.0;
  for (int l = 0; l < L; l++)
    {
      for (int i = 0; i < T; i++)
        {
          double s = 0.0;
          for (int j = 0; j < T; j++)
            {
              double m = 0.0;
              for (int h = 0; h < H; h++)
                m += att[(((gsize) l * H + h) * T + i) * T + j] / H;
              s += A[i * T + j] = 0.5 * m + 0.5 * (i == j);
            }
          for (int j = 0; j < T; j++)
            A[i * T + j] /= s;
        }
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++)
          {
            double s = 0.0;
            for (int k = 0; k < T; k++)
              s += A[i * T + k] * R[k * T + j];
            tmp[i * T + j] = s;
          }
      memcpy (R, tmp, sizeof (double) * T * T);
    }
  g_autofree float *Rf = g_new (float, T * T);
  for (int i = 0; i < T * T; i++)
    Rf[i] = (float) R[i];
  g_assert_true (attnviz_test_check_tensor (roll, Rf, (gsize) T * T, 1e-6f, "rollout vs the dumped attentions"));
  /* a flow never carries more than reaches the output token: 1 */
  for (int i = 0; i < T * T; i++)
    g_assert_cmpfloat (flow[i], <=, 1.0f + 1e-6f);

  for (int l = 0; l < L; l++)
    for (int h = 0; h < H; h++)
      for (int j = 0; j < T; j++)
        {
          const float *a = att + ((gsize) l * H + h) * T * T, *v = vw + ((gsize) l * H + h) * T * T;
          float f = v[(T - 1) * T + j] / a[(T - 1) * T + j];
          for (int i = j; i < T; i++)
            g_assert_cmpfloat_with_epsilon (v[i * T + j], a[i * T + j] * f, 1e-5 * MAX (1.0f, v[i * T + j]));
        }
  attnviz_test_remove_tree (dir);
}

static void
test_dump_other_formats_carry_the_same_arrays (void)
{
  g_autofree char *model = gpt2_tiny ();
  g_autofree char *dir = g_dir_make_tmp ("attnviz-cli-analysis-XXXXXX", NULL);
  g_autofree char *st = g_build_filename (dir, "d.safetensors", NULL);
  g_autofree char *js = g_build_filename (dir, "d.json", NULL);
  g_auto(AttnvizTestRun) a = { 0 }, b = { 0 };
  attnviz_test_run_attnviz (&a, "dump", model, "--ids", IDS, "--rollout", "--flow", "--value-weighted", "-o", st,
                            "-q", NULL);
  g_assert_cmpint (a.status, ==, 0);
  attnviz_test_run_attnviz (&b, "dump", model, "--ids", IDS, "--rollout", "--flow", "--value-weighted", "--rows",
                            "3-5", "-o", js, "-q", NULL);
  g_assert_cmpint (b.status, ==, 0);
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (st, &bytes, &len, NULL));
  /* the header after its 8-byte length */
  g_assert_nonnull (g_strstr_len (bytes + 8, MIN (len, 4096) - 8, "\"rollout\":{\"dtype\":\"F32\",\"shape\":[14,14]"));
  g_assert_nonnull (g_strstr_len (bytes + 8, MIN (len, 4096) - 8, "\"flow\":{\"dtype\":\"F32\",\"shape\":[14,14]"));
  g_assert_nonnull (g_strstr_len (bytes + 8, MIN (len, 4096) - 8, "\"value_weighted\":{\"dtype\":\"F32\",\"shape\":[3,4,14,14]"));

  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, js, NULL));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonArray *vw = json_object_get_array_member (root, "value_weighted");
  g_assert_cmpint (json_array_get_length (vw), ==, 3);
  JsonArray *head = json_array_get_array_element (json_array_get_array_element (vw, 0), 0);
  g_assert_cmpint (json_array_get_length (head), ==, 3);   /* rows 3-5 */
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (root, "rollout")), ==, 14);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (root, "flow")), ==, 14);
  attnviz_test_remove_tree (dir);
}

static void
test_dump_flow_refuses_long_inputs (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("llama-gqa-tiny", NULL);
  GString *ids = g_string_new ("1");
  for (int i = 1; i < 129 + 1; i++)
    g_string_append_printf (ids, ",%d", 3 + i % 90);
  g_autofree char *dir = g_dir_make_tmp ("attnviz-cli-analysis-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "dump", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--ids", ids->str, "--flow", "-o", out, NULL);
  /* (after a note that the ids run past the trained context) */
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "attnviz: --flow: attention flow takes at most 128 tokens, not 130"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_string_free (ids, TRUE);
  attnviz_test_remove_tree (dir);
}

/* The CSV is square, its rows in the order of its columns, symmetric with
 * a zero diagonal. */
static void
test_heads_similarity_writes_the_clustered_matrix (void)
{
  g_autofree char *model = gpt2_tiny ();
  g_autofree char *dir = g_dir_make_tmp ("attnviz-cli-analysis-XXXXXX", NULL);
  g_autofree char *csv_path = g_build_filename (dir, "sim.csv", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "heads", model, "--ids", IDS, "--no-positional", "--similarity", csv_path, "--csv",
                            NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, ",vw-ratio"));
  g_autofree char *csv = NULL;
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (csv, "\n", -1);
  g_auto(GStrv) header = g_strsplit (lines[0], ",", -1);
  int n = g_strv_length (header) - 2;
  g_assert_cmpint (n, ==, 12);
  g_autofree double *D = g_new (double, n * n);
  for (int r0 = 0; r0 < n; r0++)
    {
      g_auto(GStrv) f = g_strsplit (lines[1 + r0], ",", -1);
      g_autofree char *name = g_strdup_printf ("L%sH%s", f[0], f[1]);
      g_assert_cmpstr (name, ==, header[2 + r0]);
      for (int c = 0; c < n; c++)
        D[r0 * n + c] = g_ascii_strtod (f[2 + c], NULL);
    }
  for (int a = 0; a < n; a++)
    {
      g_assert_cmpfloat (D[a * n + a], ==, 0.0);
      for (int b = 0; b < n; b++)
        {
          g_assert_cmpfloat (D[a * n + b], ==, D[b * n + a]);
          g_assert_cmpfloat (D[a * n + b], <=, 1.0);
        }
    }
  g_assert_null (lines[1 + n] && *lines[1 + n] ? lines[1 + n] : NULL);
  attnviz_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/dump/npy-adds-rollout-flow-and-value-weighted",
                   test_dump_npy_adds_rollout_flow_and_value_weighted);
  g_test_add_func ("/cli/dump/other-formats-carry-the-same-arrays", test_dump_other_formats_carry_the_same_arrays);
  g_test_add_func ("/cli/dump/flow-refuses-long-inputs", test_dump_flow_refuses_long_inputs);
  g_test_add_func ("/cli/heads/similarity-writes-the-clustered-matrix",
                   test_heads_similarity_writes_the_clustered_matrix);
  return g_test_run ();
}
