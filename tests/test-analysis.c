/* test-analysis.c: value-weighted attention, rollout and flow, head
 * similarity and the query-key picture, against hand-known cases and an
 * independent float64 numpy forward (tools/make-analysis-fixtures.py). */
#define G_LOG_DOMAIN "attnviz-test-analysis"
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-qk.h"
#include "attnviz-rollout.h"
#include "attnviz-similarity.h"
#include "attnviz-test-util.h"

typedef struct {
  JsonParser *parser;
  JsonObject *root;
  AttnvizModel *model;
  gint32 *ids;
  int T;
} Fixture;

static void
fixture_load (Fixture *f, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  g_autofree char *path = attnviz_test_fixture_path ("analysis", file, NULL);
  f->parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (f->parser, path, &error));
  f->root = json_node_get_object (json_parser_get_root (f->parser));
  g_autofree char *model = attnviz_test_fixture_path (json_object_get_string_member (f->root, "model") +
                                                      strlen ("tests/fixtures/"), NULL);
  f->model = attnviz_model_load (model, &error);
  g_assert_no_error (error);
  JsonArray *ids = json_object_get_array_member (f->root, "ids");
  f->T = json_array_get_length (ids);
  f->ids = g_new (gint32, f->T);
  for (int i = 0; i < f->T; i++)
    f->ids[i] = json_array_get_int_element (ids, i);
}

static void
fixture_clear (Fixture *f)
{
  g_object_unref (f->parser);
  attnviz_model_free (f->model);
  g_free (f->ids);
}

/* MEMBER of the fixture as floats, its nested arrays flattened. */
static void
flatten (JsonNode *node, GArray *out)
{
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        flatten (json_array_get_element (a, i), out);
    }
  else
    {
      float v = (float) json_node_get_double (node);
      g_array_append_val (out, v);
    }
}

static float *
fixture_floats (JsonObject *o, const char *member, gsize *n)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (float));
  flatten (json_object_get_member (o, member), a);
  *n = a->len;
  return (float *) g_array_free (a, FALSE);
}

static AttnvizRecording *
run (const Fixture *f, AttnvizStorage storage)
{
  g_autoptr(GError) error = NULL;
  AttnvizRunOptions opt = { .storage = storage };
  AttnvizRecording *rec = attnviz_forward (f->model, f->ids, f->T, &opt, &error);
  g_assert_no_error (error);
  return rec;
}

/* ---- value-weighted attention ---- */

static void
test_value_norms_match_numpy (gconstpointer data)
{
  Fixture f;
  fixture_load (&f, data);
  const AttnvizConfig *c = &f.model->config;
  gsize n;
  g_autofree float *want = fixture_floats (f.root, "value_norms", &n);
  g_autofree float *want_ratio = fixture_floats (f.root, "vw_ratio", &n);
  g_assert_cmpuint (n, ==, (gsize) c->n_layer * c->n_head);

  for (AttnvizStorage storage = ATTNVIZ_STORAGE_DENSE; storage <= ATTNVIZ_STORAGE_RECOMPUTE; storage++)
    {
      g_autoptr(AttnvizRecording) rec = run (&f, storage);
      g_autoptr(AttnvizMeasuresAcc) acc = NULL;
      for (int l = 0; l < c->n_layer; l++)
        for (int h = 0; h < c->n_head; h++)
          {
            const float *got = attnviz_attention_get_value_norms (rec->attention, l, h);
            g_assert_nonnull (got);
            const float *w = want + ((gsize) l * c->n_head + h) * f.T;
            for (int j = 0; j < f.T; j++)
              g_assert_cmpfloat_with_epsilon (got[j], w[j], 1e-4 * MAX (1.0f, w[j]));
            g_assert_cmpfloat_with_epsilon (attnviz_attention_value_weighted_ratio (rec->attention, l, h),
                                            want_ratio[l * c->n_head + h], 1e-4);

            /* the weighted matrix is p_ij f_j, a row of it the same */
            g_autofree float *P = attnviz_attention_dup_matrix (rec->attention, l, h);
            g_autofree float *W = attnviz_attention_dup_value_weighted (rec->attention, l, h);
            g_autofree float *row = g_new (float, f.T);
            g_assert_true (attnviz_attention_get_value_weighted_row (rec->attention, l, h, f.T - 1, row));
            for (int i = 0; i < f.T; i++)
              for (int j = 0; j < f.T; j++)
                g_assert_cmpfloat (W[i * f.T + j], ==, P[i * f.T + j] * got[j]);
            g_assert_cmpmem (row, sizeof (float) * f.T, W + (gsize) (f.T - 1) * f.T, sizeof (float) * f.T);
          }
    }
  fixture_clear (&f);
}

/* The forward pass's vw-ratio column and the second pass's equal the
 * numpy reference. */
static void
test_vw_ratio_column_matches_numpy (gconstpointer data)
{
  Fixture f;
  fixture_load (&f, data);
  const AttnvizConfig *c = &f.model->config;
  gsize n;
  g_autofree float *want = fixture_floats (f.root, "vw_ratio", &n);
  AttnvizMeasuresInput in = { .T = f.T };
  g_autoptr(AttnvizMeasuresAcc) during = attnviz_measures_acc_new (c->n_layer, c->n_head, &in);
  g_autoptr(AttnvizMeasuresAcc) after = attnviz_measures_acc_new (c->n_layer, c->n_head, &in);
  AttnvizRunOptions opt = { .measures = during, .storage = ATTNVIZ_STORAGE_RECOMPUTE };
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizRecording) rec = attnviz_forward (f.model, f.ids, f.T, &opt, &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_measures_acc_add_attention (after, rec->attention, NULL));
  g_autoptr(AttnvizHeadMeasures) a = attnviz_head_measures_new (c->n_layer, c->n_head);
  g_autoptr(AttnvizHeadMeasures) b = attnviz_head_measures_new (c->n_layer, c->n_head);
  attnviz_measures_acc_finish (during, a);
  attnviz_measures_acc_finish (after, b);
  g_assert_true (a->has[ATTNVIZ_MEASURE_VW_RATIO] && b->has[ATTNVIZ_MEASURE_VW_RATIO]);
  for (int l = 0; l < c->n_layer; l++)
    for (int h = 0; h < c->n_head; h++)
      {
        double w = want[l * c->n_head + h];
        g_assert_cmpfloat_with_epsilon (attnviz_head_measures_at (a, l, h)[ATTNVIZ_MEASURE_VW_RATIO], w, 1e-4);
        g_assert_cmpfloat_with_epsilon (attnviz_head_measures_at (b, l, h)[ATTNVIZ_MEASURE_VW_RATIO], w, 1e-4);
      }
  fixture_clear (&f);
}

/* A run with every score 0 (score=scale:1e-30, scores q.k / 1e30 that round to 0) attends uniformly over the
 * visible keys: its vw-ratio is exactly the definition's 1. */
static AttnvizRecording *
uniform_run (const Fixture *f, const int *layers, int n_layers, AttnvizMeasuresAcc *acc)
{
  g_autoptr(GError) error = NULL;
  AttnvizVariant variant;
  attnviz_variant_init (&variant);
  g_assert_true (attnviz_variant_parse (&variant, "score=scale:1e-30", &error));
  g_assert_no_error (error);
  AttnvizRunOptions opt = { .variant = &variant, .layers = layers, .n_layers = n_layers, .measures = acc };
  AttnvizRecording *rec = attnviz_forward (f->model, f->ids, f->T, &opt, &error);
  g_assert_no_error (error);
  attnviz_variant_clear (&variant);
  return rec;
}

static void
test_vw_ratio_of_uniform_attention_is_one (void)
{
  Fixture f;
  fixture_load (&f, "gpt2-tiny");
  const AttnvizConfig *c = &f.model->config;
  AttnvizMeasuresInput in = { .T = f.T };
  g_autoptr(AttnvizMeasuresAcc) acc = attnviz_measures_acc_new (c->n_layer, c->n_head, &in);
  g_autoptr(AttnvizRecording) rec = uniform_run (&f, NULL, 0, acc);
  g_autoptr(AttnvizHeadMeasures) t = attnviz_head_measures_new (c->n_layer, c->n_head);
  attnviz_measures_acc_finish (acc, t);
  for (int l = 0; l < c->n_layer; l++)
    for (int h = 0; h < c->n_head; h++)
      {
        g_assert_cmpfloat_with_epsilon (attnviz_head_measures_at (t, l, h)[ATTNVIZ_MEASURE_VW_RATIO], 1.0, 1e-5);
        g_assert_cmpfloat_with_epsilon (attnviz_attention_value_weighted_ratio (rec->attention, l, h), 1.0, 1e-5);
      }
  fixture_clear (&f);
}

/* ---- rollout and flow ---- */

static void
test_rollout_of_one_uniform_layer_is_closed_form (void)
{
  Fixture f;
  fixture_load (&f, "gpt2-tiny");
  int first = 0;
  g_autoptr(AttnvizRecording) rec = uniform_run (&f, &first, 1, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree float *R = attnviz_attention_rollout (rec->attention, NULL, &error);
  g_assert_no_error (error);
  /* Â = 0.5 uniform causal + 0.5 I: 0.5 / (i + 1) below the diagonal,
   * 0.5 / (i + 1) + 0.5 on it, 0 above */
  for (int i = 0; i < f.T; i++)
    for (int j = 0; j < f.T; j++)
      {
        double want = j > i ? 0.0 : 0.5 / (i + 1) + (i == j ? 0.5 : 0.0);
        g_assert_cmpfloat_with_epsilon (R[i * f.T + j], want, 1e-6);
      }
  /* one layer's flow is its capacities: an edge is the only path */
  g_autofree float *F = attnviz_attention_flow (rec->attention, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_test_check_tensor (F, R, (gsize) f.T * f.T, 1e-6f, "one-layer flow vs Â"));
  fixture_clear (&f);
}

static void
test_rollout_matches_numpy (gconstpointer data)
{
  Fixture f;
  fixture_load (&f, data);
  gsize n;
  g_autofree float *want = fixture_floats (f.root, "rollout", &n);
  for (AttnvizStorage storage = ATTNVIZ_STORAGE_DENSE; storage <= ATTNVIZ_STORAGE_RECOMPUTE; storage++)
    {
      g_autoptr(AttnvizRecording) rec = run (&f, storage);
      g_autoptr(GError) error = NULL;
      g_autofree float *R = attnviz_attention_rollout (rec->attention, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (attnviz_test_check_tensor (R, want, n, 1e-5f, "rollout vs numpy"));
      for (int i = 0; i < f.T; i++)
        {
          double s = 0.0;
          for (int j = 0; j < f.T; j++)
            s += R[i * f.T + j];
          g_assert_cmpfloat_with_epsilon (s, 1.0, 1e-5);
        }
    }
  fixture_clear (&f);
}

/* Two layers over two tokens a, b, worked by hand:
 *
 *   Â_1 = [[1, 0], [.5, .5]]   a0 -> a1 (1), a0 -> b1 (.5), b0 -> b1 (.5)
 *   Â_2 = [[.5, .5], [0, 1]]   a1 -> a2 (.5), b1 -> a2 (.5), b1 -> b2 (1)
 *
 * a0 reaches a2 by a1 (.5) and by b1 (.5): 1; b0 only through b1 -> a2:
 * .5; b2 gets at most b1's .5 from either input.  The rollout Â_2 Â_1
 * says [[.75, .25], [.5, .5]] instead. */
static void
test_flow_of_hand_graph (void)
{
  const float a1[] = { 1, 0, .5f, .5f }, a2[] = { .5f, .5f, 0, 1 };
  const float *const mixed[] = { a1, a2 };
  float F[4];
  g_assert_true (attnviz_flow_of (mixed, 2, 2, F, NULL));
  const float want[] = { 1, .5f, .5f, .5f };
  g_assert_true (attnviz_test_check_tensor (F, want, 4, 1e-6f, "flow"));
  g_autofree float *R = attnviz_rollout_of (mixed, 2, 2);
  const float rollout[] = { .75f, .25f, .5f, .5f };
  g_assert_true (attnviz_test_check_tensor (R, rollout, 4, 1e-6f, "rollout"));
}

/* A graph where the first path found blocks the second unless the flow
 * is sent back along an edge (Dinic's second phase): capacities 1 on
 *
 *   a0 -> a1, a0 -> b1;  a1 -> a2, b1 -> a2, a1 -> b2;  a2 -> a3, b2 -> a3
 *
 * a0 -> a1 -> a2 -> a3 first leaves b1 stuck at a2; the max flow, 2,
 * moves a1's unit over to b2.  (Capacities, not attention rows.) */
static void
test_flow_sends_back_along_an_edge (void)
{
  const float l1[] = { 1, 0, 1, 0 }, l2[] = { 1, 1, 1, 0 }, l3[] = { 1, 1, 0, 0 };
  const float *const graph[] = { l1, l2, l3 };
  float F[4];
  g_assert_true (attnviz_flow_of (graph, 3, 2, F, NULL));
  const float want[] = { 2, 0, 0, 0 };
  g_assert_true (attnviz_test_check_tensor (F, want, 4, 0.0f, "flow"));
}

static void
test_flow_refuses_long_inputs (void)
{
  Fixture f;
  fixture_load (&f, "llama-gqa-tiny");
  int T = ATTNVIZ_FLOW_MAX_TOKENS + 1;
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int i = 0; i < T; i++)
    ids[i] = 3 + i % 90;
  g_autoptr(GError) error = NULL;
  int first = 0;
  AttnvizRunOptions opt = { .layers = &first, .n_layers = 1 };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (f.model, ids, T, &opt, &error);
  g_assert_no_error (error);
  g_assert_null (attnviz_attention_flow (rec->attention, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "at most 128 tokens"));
  fixture_clear (&f);
}

/* ---- similarity ---- */

static void
test_similarity_matches_numpy (gconstpointer data)
{
  Fixture f;
  fixture_load (&f, data);
  gsize n;
  g_autofree float *want = fixture_floats (f.root, "jsd", &n);
  g_autoptr(AttnvizRecording) rec = run (&f, ATTNVIZ_STORAGE_RECOMPUTE);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizHeadSimilarity) s = attnviz_head_similarity (rec->attention, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (s->pooled);
  g_assert_cmpuint ((gsize) s->n * s->n, ==, n);
  g_assert_true (attnviz_test_check_tensor (s->distance, want, n, 1e-5f, "JSD vs numpy"));
  g_autofree gboolean *seen = g_new0 (gboolean, s->n);
  for (int i = 0; i < s->n; i++)
    {
      g_assert_false (seen[s->order[i]]);
      seen[s->order[i]] = TRUE;
    }
  fixture_clear (&f);
}

/* Four heads, two pairs of twins: {0, 2} at 0.1, {1, 3} at 0.2, 0.9
 * between.  UPGMA joins 0 and 2, then 1 and 3, then both at 0.9. */
static void
test_clustering_puts_twins_together (void)
{
  const float D[] = { 0, .9f, .1f, .9f, .9f, 0, .9f, .2f, .1f, .9f, 0, .9f, .9f, .2f, .9f, 0 };
  int order[4], a[3], b[3];
  float h[3];
  attnviz_cluster_average (D, 4, order, a, b, h);
  const int want[] = { 0, 2, 1, 3 };
  g_assert_cmpmem (order, sizeof order, want, sizeof want);
  g_assert_cmpint (a[0], ==, 0);
  g_assert_cmpint (b[0], ==, 2);
  g_assert_cmpint (a[1], ==, 1);
  g_assert_cmpint (b[1], ==, 3);
  g_assert_cmpint (a[2], ==, 4);
  g_assert_cmpint (b[2], ==, 5);
  g_assert_cmpfloat_with_epsilon (h[0], .1, 1e-7);
  g_assert_cmpfloat_with_epsilon (h[1], .2, 1e-7);
  g_assert_cmpfloat_with_epsilon (h[2], .9, 1e-7);
}

static void
test_jsd_of_disjoint_rows_is_one (void)
{
  const float p[] = { .5f, .5f, 0, 0 }, q[] = { 0, 0, .25f, .75f };
  g_assert_cmpfloat_with_epsilon (attnviz_jsd (p, q, 4), 1.0, 1e-7);
  g_assert_cmpfloat_with_epsilon (attnviz_jsd (p, p, 4), 0.0, 1e-7);
  /* p = (1, 0), q = (.5, .5): JS = 1/2 (log2 (4/3)) + 1/2 (1/2 log2 (2/3) + 1/2 log2 2) */
  const float r[] = { 1, 0 }, s[] = { .5f, .5f };
  double js = 0.5 * log2 (4.0 / 3.0) + 0.5 * (0.5 * log2 (2.0 / 3.0) + 0.5);
  g_assert_cmpfloat_with_epsilon (attnviz_jsd (r, s, 2), sqrt (js), 1e-7);
}

/* Above the exact limit the heads are compared on the overviews: each row
 * bin a distribution over the column bins. */
static void
test_similarity_pools_long_inputs (void)
{
  Fixture f;
  fixture_load (&f, "gpt2-tiny");
  g_autoptr(AttnvizRecording) rec = run (&f, ATTNVIZ_STORAGE_RECOMPUTE);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizHeadSimilarity) s = attnviz_head_similarity (rec->attention, 8, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (s->pooled);
  int R, C;
  const float *ov0 = attnviz_attention_get_overview (rec->attention, 0, 0, ATTNVIZ_POOL_MEAN, &R, &C);
  const float *ov1 = attnviz_attention_get_overview (rec->attention, 0, 1, ATTNVIZ_POOL_MEAN, &R, &C);
  g_autofree float *p = g_new (float, C), *q = g_new (float, C);
  double sum = 0.0;
  for (int br = 0; br < R; br++)
    {
      double sp = 0.0, sq = 0.0;
      for (int bc = 0; bc < C; bc++)
        {
          int width = attnviz_bin_start (bc + 1, C, f.T) - attnviz_bin_start (bc, C, f.T);
          sp += p[bc] = ov0[br * C + bc] * width;
          sq += q[bc] = ov1[br * C + bc] * width;
        }
      for (int bc = 0; bc < C; bc++)
        {
          p[bc] /= sp;
          q[bc] /= sq;
        }
      sum += attnviz_jsd (p, q, C);
    }
  g_assert_cmpfloat_with_epsilon (s->distance[1], sum / R, 1e-5);
  fixture_clear (&f);
}

/* ---- the query-key picture ---- */

static void
test_qk_pca_matches_numpy (gconstpointer data)
{
  Fixture f;
  fixture_load (&f, data);
  JsonObject *qk = json_object_get_object_member (f.root, "qk");
  int layer = json_object_get_int_member (qk, "layer"), head = json_object_get_int_member (qk, "head");
  gsize n;
  g_autofree float *want = fixture_floats (qk, "points", &n);
  g_autofree float *explained = fixture_floats (qk, "explained", &n);
  for (AttnvizStorage storage = ATTNVIZ_STORAGE_DENSE; storage <= ATTNVIZ_STORAGE_RECOMPUTE; storage++)
    {
      g_autoptr(AttnvizRecording) rec = run (&f, storage);
      g_autoptr(GError) error = NULL;
      g_autoptr(AttnvizQkView) view = attnviz_qk_view (rec->attention, layer, head, &error);
      g_assert_no_error (error);
      g_assert_cmpint (view->n_q, ==, f.T);
      g_assert_true (attnviz_qk_view_is_query (view, f.T - 1) && !attnviz_qk_view_is_query (view, f.T));
      g_assert_true (attnviz_test_check_tensor (view->points, want, (gsize) 4 * f.T, 1e-4f, "qk PCA vs numpy"));
      g_assert_cmpfloat_with_epsilon (view->explained[0], explained[0], 1e-4);
      g_assert_cmpfloat_with_epsilon (view->explained[1], explained[1], 1e-4);
      g_assert_cmpfloat_with_epsilon (view->scale, json_object_get_double_member (qk, "scale"), 1e-5);
    }
  fixture_clear (&f);
}

/* AttentionViz's changes move each query's scores by one constant: the
 * softmax of every row is what it was. */
static void
test_qk_normalization_keeps_each_softmax (void)
{
  enum { NQ = 5, NK = 7, D = 3 };
  float q[NQ * D], k[NK * D], q2[NQ * D], k2[NK * D];
  for (int i = 0; i < NQ * D; i++)
    q[i] = sinf (i * 1.7f) * 3.0f + 1.0f;
  for (int i = 0; i < NK * D; i++)
    k[i] = cosf (i * 0.9f) * 0.5f - 2.0f;
  memcpy (q2, q, sizeof q);
  memcpy (k2, k, sizeof k);
  float c = attnviz_qk_normalize (q2, NQ, k2, NK, D);
  g_assert_cmpfloat (c, >, 0.0f);
  double mq = 0, mk = 0;
  for (int i = 0; i < NQ; i++)
    {
      double before[NK], after[NK], sb = 0, sa = 0;
      for (int j = 0; j < NK; j++)
        {
          double b = 0, a = 0;
          for (int x = 0; x < D; x++)
            {
              b += q[i * D + x] * k[j * D + x];
              a += q2[i * D + x] * k2[j * D + x];
            }
          sb += before[j] = exp (b);
          sa += after[j] = exp (a);
        }
      for (int j = 0; j < NK; j++)
        g_assert_cmpfloat_with_epsilon (before[j] / sb, after[j] / sa, 1e-5);
    }
  for (int x = 0; x < D; x++)
    {
      mq = mk = 0;
      for (int i = 0; i < NQ; i++)
        mq += q2[i * D + x] / NQ;
      for (int j = 0; j < NK; j++)
        mk += k2[j * D + x] / NK;
      g_assert_cmpfloat_with_epsilon (mq, mk, 1e-5);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *const models[] = { "gpt2-tiny", "llama-gqa-tiny" };
  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autofree char *a = g_strdup_printf ("/analysis/value-norms/%s/match-numpy-and-weight-each-entry", models[i]);
      g_autofree char *b = g_strdup_printf ("/analysis/vw-ratio/%s/forward-and-second-pass-match-numpy", models[i]);
      g_autofree char *c = g_strdup_printf ("/analysis/rollout/%s/matches-numpy", models[i]);
      g_autofree char *d = g_strdup_printf ("/analysis/similarity/%s/jsd-matches-numpy", models[i]);
      g_autofree char *e = g_strdup_printf ("/analysis/qk/%s/pca-matches-numpy", models[i]);
      g_test_add_data_func (a, models[i], test_value_norms_match_numpy);
      g_test_add_data_func (b, models[i], test_vw_ratio_column_matches_numpy);
      g_test_add_data_func (c, models[i], test_rollout_matches_numpy);
      g_test_add_data_func (d, models[i], test_similarity_matches_numpy);
      g_test_add_data_func (e, models[i], test_qk_pca_matches_numpy);
    }
  g_test_add_func ("/analysis/vw-ratio/uniform-attention-is-one", test_vw_ratio_of_uniform_attention_is_one);
  g_test_add_func ("/analysis/rollout/one-uniform-layer-is-closed-form",
                   test_rollout_of_one_uniform_layer_is_closed_form);
  g_test_add_func ("/analysis/flow/hand-graph", test_flow_of_hand_graph);
  g_test_add_func ("/analysis/flow/sends-back-along-an-edge", test_flow_sends_back_along_an_edge);
  g_test_add_func ("/analysis/flow/refuses-long-inputs", test_flow_refuses_long_inputs);
  g_test_add_func ("/analysis/similarity/clustering-puts-twins-together", test_clustering_puts_twins_together);
  g_test_add_func ("/analysis/similarity/jsd-of-disjoint-rows-is-one", test_jsd_of_disjoint_rows_is_one);
  g_test_add_func ("/analysis/similarity/pools-long-inputs", test_similarity_pools_long_inputs);
  g_test_add_func ("/analysis/qk/normalization-keeps-each-softmax", test_qk_normalization_keeps_each_softmax);
  return g_test_run ();
}
