/* test-measures.c: the per-head measures (attnviz-measures.h)
 *
 *   - each measure on small matrices whose answer is known by hand:
 *     uniform causal rows, the identity, all on the previous token, all on
 *     the first token, all on the induction target;
 *   - on real models, every measure the forward pass gathers (and the
 *     second pass over a recomputed attention source) against the same
 *     measure computed here from the dense matrices, to 1e-6;
 *   - TransformerLens's previous-token, duplicate-token and induction
 *     scores against tools/make-measure-fixtures.py's PyTorch computation;
 *   - the built-in induction model's roles found by --probe repeat;
 *   - the probe, the key classes and the .npy pattern reader.
 */
#define G_LOG_DOMAIN "attnviz-test-measures"
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-measures-run.h"
#include "attnviz-npy.h"
#include "attnviz-test-util.h"

#define EPS 1e-6

/* The measures of one head given whole: P (T, T) causal, through the
 * accumulator a block of 3 rows at a time (so blocks are crossed). */
static AttnvizHeadMeasures *
measure_matrix (const float *P, int T, const gint32 *ids, const guint8 *classes, const float *pattern)
{
  AttnvizMeasuresInput in = { .T = T, .ids = ids, .key_class = classes, .pattern = pattern };
  g_autoptr(AttnvizMeasuresAcc) acc = attnviz_measures_acc_new (1, 1, &in);
  for (int i0 = 0; i0 < T; i0 += 3)
    {
      int m = MIN (3, T - i0), visible[3];
      for (int r = 0; r < m; r++)
        visible[r] = i0 + r + 1;
      attnviz_measures_acc_add_rows (acc, 0, 0, i0, m, P + (gsize) i0 * T, T, MIN (i0 + m, T), visible);
    }
  AttnvizHeadMeasures *table = attnviz_head_measures_new (1, 1);
  attnviz_measures_acc_finish (acc, table);
  return table;
}

static double
value (const AttnvizHeadMeasures *t, AttnvizMeasure m)
{
  return attnviz_head_measures_at (t, 0, 0)[m];
}

#define T_HAND 6

static void
test_uniform_causal_rows (void)
{
  float P[T_HAND * T_HAND] = { 0 };
  for (int i = 0; i < T_HAND; i++)
    for (int j = 0; j <= i; j++)
      P[i * T_HAND + j] = 1.0f / (i + 1);
  g_autoptr(AttnvizHeadMeasures) t = measure_matrix (P, T_HAND, NULL, NULL, NULL);
  /* row i: entropy ln (i + 1), distance i / 2, weight 1 / (i + 1) on key 0,
   * on itself and (i >= 1) on its previous token */
  double ent = 0, dist = 0, inv = 0, inv_prev = 0;
  for (int i = 0; i < T_HAND; i++)
    {
      ent += log (i + 1.0);
      dist += i / 2.0;
      inv += 1.0 / (i + 1);
      inv_prev += i ? 1.0 / (i + 1) : 0.0;
    }
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_ENTROPY), ent / T_HAND, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_ENTROPY_NORM), 1.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_DISTANCE), dist / T_HAND, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SINK_FIRST), inv / T_HAND, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SELF), inv / T_HAND, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_PREV), inv_prev / (T_HAND - 1), EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_PREVIOUS_TOKEN), inv_prev / T_HAND, EPS);
}

static void
test_identity (void)
{
  float P[T_HAND * T_HAND] = { 0 };
  for (int i = 0; i < T_HAND; i++)
    P[i * T_HAND + i] = 1.0f;
  g_autoptr(AttnvizHeadMeasures) t = measure_matrix (P, T_HAND, NULL, NULL, NULL);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_ENTROPY), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_ENTROPY_NORM), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_DISTANCE), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SELF), 1.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_OFFSET_0), 1.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_PREV), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SINK_FIRST), 1.0 / T_HAND, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_PREVIOUS_TOKEN), 0.0, EPS);
}

static void
test_all_on_previous (void)
{
  float P[T_HAND * T_HAND] = { 0 };
  P[0] = 1.0f;   /* row 0 has only itself */
  for (int i = 1; i < T_HAND; i++)
    P[i * T_HAND + i - 1] = 1.0f;
  g_autoptr(AttnvizHeadMeasures) t = measure_matrix (P, T_HAND, NULL, NULL, NULL);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_PREV), 1.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_OFFSET_1), 1.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_OFFSET_2), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SELF), 1.0 / T_HAND, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_DISTANCE), (T_HAND - 1.0) / T_HAND, EPS);
  /* TransformerLens divides by all the attention, row 0's included */
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_PREVIOUS_TOKEN), (T_HAND - 1.0) / T_HAND, EPS);
}

static void
test_all_on_first (void)
{
  float P[T_HAND * T_HAND] = { 0 };
  for (int i = 0; i < T_HAND; i++)
    P[i * T_HAND] = 1.0f;
  /* keys 2 and 4 a separator and punctuation: nothing lands there */
  guint8 classes[T_HAND] = { 0, 0, ATTNVIZ_KEY_SEPARATOR, 0, ATTNVIZ_KEY_PUNCT, 0 };
  g_autoptr(AttnvizHeadMeasures) t = measure_matrix (P, T_HAND, NULL, classes, NULL);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SINK_FIRST), 1.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SINK_SEP), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SINK_PUNCT), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_ENTROPY), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_DISTANCE), (T_HAND - 1.0) / 2.0, EPS);
  g_assert_true (t->has[ATTNVIZ_MEASURE_SINK_SEP]);
  g_assert_false (t->has[ATTNVIZ_MEASURE_INDUCTION]);
}

static void
test_all_on_separators_and_punctuation (void)
{
  /* rows 0-1 on key 0; rows 2-3 on the separator at 2; rows 4-5 on the
   * punctuation at 4 */
  float P[T_HAND * T_HAND] = { 0 };
  int target[T_HAND] = { 0, 0, 2, 2, 4, 4 };
  for (int i = 0; i < T_HAND; i++)
    P[i * T_HAND + target[i]] = 1.0f;
  guint8 classes[T_HAND] = { 0, 0, ATTNVIZ_KEY_SEPARATOR, 0, ATTNVIZ_KEY_PUNCT, 0 };
  g_autoptr(AttnvizHeadMeasures) t = measure_matrix (P, T_HAND, NULL, classes, NULL);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SINK_FIRST), 2.0 / T_HAND, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SINK_SEP), 2.0 / T_HAND, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SINK_PUNCT), 2.0 / T_HAND, EPS);
}

static void
test_all_on_the_induction_target (void)
{
  /* BOS a b c a b c: from the second a (4) to the first b (2), from the
   * second b (5) to the first c (3), from the second c (6) to the second
   * a (4); the first half on BOS */
  enum { T = 7 };
  const gint32 ids[T] = { 1, 10, 11, 12, 10, 11, 12 };
  int target[T] = { 0, 0, 0, 0, 2, 3, 4 };
  float P[T * T] = { 0 };
  for (int i = 0; i < T; i++)
    P[i * T + target[i]] = 1.0f;
  /* the user's pattern: the induction mask itself */
  float pattern[T * T] = { 0 };
  pattern[4 * T + 2] = pattern[5 * T + 3] = pattern[6 * T + 4] = 1.0f;
  g_autoptr(AttnvizHeadMeasures) t = measure_matrix (P, T, ids, NULL, pattern);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_INDUCTION), 3.0 / T, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_PATTERN), 3.0 / T, EPS);
  /* none of it on an earlier copy of the query's own token */
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_DUPLICATE_TOKEN), 0.0, EPS);
  g_assert_cmpfloat_with_epsilon (value (t, ATTNVIZ_MEASURE_SINK_FIRST), 4.0 / T, EPS);
}

/* ---- real models, against the dense matrices ---- */

/* Every measure of one head from its dense causal matrix P (T, T), in
 * double, as attnviz-measures.h defines it. */
static void
dense_measures (const float *P, int T, const gint32 *ids, const guint8 *classes, const float *pattern, double *v)
{
  for (int m = 0; m < ATTNVIZ_N_MEASURES; m++)
    v[m] = 0.0;
  double total = 0, norm_rows = 0, prev_tl = 0;
  double offset[ATTNVIZ_MEASURE_MAX_OFFSET + 1] = { 0 };
  for (int i = 0; i < T; i++)
    {
      double h = 0;
      for (int j = 0; j < T; j++)
        {
          double p = P[(gsize) i * T + j];
          total += p;
          if (p > 0)
            h -= p * log (p);
          v[ATTNVIZ_MEASURE_DISTANCE] += p * abs (i - j);
          if (j > 0 && classes[j] == ATTNVIZ_KEY_SEPARATOR)
            v[ATTNVIZ_MEASURE_SINK_SEP] += p;
          if (classes[j] == ATTNVIZ_KEY_PUNCT)
            v[ATTNVIZ_MEASURE_SINK_PUNCT] += p;
          if (j < i && ids[j] == ids[i])
            v[ATTNVIZ_MEASURE_DUPLICATE_TOKEN] += p;
          if (j >= 1 && j <= i && ids[j - 1] == ids[i] && j - 1 < i)
            v[ATTNVIZ_MEASURE_INDUCTION] += p;
          v[ATTNVIZ_MEASURE_PATTERN] += p * pattern[(gsize) i * T + j];
          if (i - j >= 0 && i - j <= ATTNVIZ_MEASURE_MAX_OFFSET)
            offset[i - j] += p;
          if (j == i - 1)
            prev_tl += p;
        }
      v[ATTNVIZ_MEASURE_ENTROPY] += h;
      if (i >= 1)
        {
          v[ATTNVIZ_MEASURE_ENTROPY_NORM] += h / log (i + 1.0);
          norm_rows++;
        }
      v[ATTNVIZ_MEASURE_SINK_FIRST] += P[(gsize) i * T];
    }
  v[ATTNVIZ_MEASURE_ENTROPY] /= T;
  v[ATTNVIZ_MEASURE_ENTROPY_NORM] /= norm_rows;
  v[ATTNVIZ_MEASURE_DISTANCE] /= T;
  v[ATTNVIZ_MEASURE_SINK_FIRST] /= T;
  v[ATTNVIZ_MEASURE_SINK_SEP] /= T;
  v[ATTNVIZ_MEASURE_SINK_PUNCT] /= T;
  for (int k = 0; k <= ATTNVIZ_MEASURE_MAX_OFFSET; k++)
    v[ATTNVIZ_MEASURE_OFFSET_0 + k] = offset[k] / (T - k);
  v[ATTNVIZ_MEASURE_SELF] = v[ATTNVIZ_MEASURE_OFFSET_0];
  v[ATTNVIZ_MEASURE_PREV] = v[ATTNVIZ_MEASURE_OFFSET_1];
  v[ATTNVIZ_MEASURE_PREVIOUS_TOKEN] = prev_tl / total;
  v[ATTNVIZ_MEASURE_DUPLICATE_TOKEN] /= total;
  v[ATTNVIZ_MEASURE_INDUCTION] /= total;
  v[ATTNVIZ_MEASURE_PATTERN] /= total;
}

static void
check_model_against_dense (AttnvizModel *model, int T)
{
  /* ids with repeats, key classes and a 0/1 pattern made here */
  g_autofree gint32 *ids = g_new (gint32, T);
  g_autofree guint8 *classes = g_new0 (guint8, T);
  g_autofree float *pattern = g_new0 (float, (gsize) T * T);
  GRand *rng = g_rand_new_with_seed (7);
  for (int i = 0; i < T; i++)
    {
      ids[i] = g_rand_int_range (rng, 3, MIN (model->config.vocab_size, 40));
      classes[i] = i % 7 == 3 ? ATTNVIZ_KEY_SEPARATOR : i % 5 == 2 ? ATTNVIZ_KEY_PUNCT : ATTNVIZ_KEY_ORDINARY;
      for (int j = 0; j <= i; j++)
        pattern[(gsize) i * T + j] = g_rand_boolean (rng);
    }
  g_rand_free (rng);
  const AttnvizConfig *c = &model->config;
  AttnvizMeasuresInput in = { .T = T, .ids = ids, .key_class = classes, .pattern = pattern };
  g_autoptr(AttnvizMeasuresAcc) during = attnviz_measures_acc_new (c->n_layer, c->n_head, &in);
  g_autoptr(AttnvizMeasuresAcc) after = attnviz_measures_acc_new (c->n_layer, c->n_head, &in);
  g_autoptr(GError) error = NULL;
  /* recomputed storage: the second pass reads row blocks it recomputes */
  AttnvizRunOptions opt = { .storage = ATTNVIZ_STORAGE_RECOMPUTE, .measures = during };
  g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &opt, &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_measures_acc_add_attention (after, rec->attention, NULL));
  g_autoptr(AttnvizHeadMeasures) a = attnviz_head_measures_new (c->n_layer, c->n_head);
  g_autoptr(AttnvizHeadMeasures) b = attnviz_head_measures_new (c->n_layer, c->n_head);
  attnviz_measures_acc_finish (during, a);
  attnviz_measures_acc_finish (after, b);

  double worst = 0.0;
  for (int l = 0; l < c->n_layer; l++)
    for (int h = 0; h < c->n_head; h++)
      {
        g_autofree float *P = attnviz_attention_dup_matrix (rec->attention, l, h);
        double want[ATTNVIZ_N_MEASURES];
        dense_measures (P, T, ids, classes, pattern, want);
        for (int m = 0; m <= ATTNVIZ_MEASURE_PATTERN; m++)
          {
            double x = attnviz_head_measures_at (a, l, h)[m], y = attnviz_head_measures_at (b, l, h)[m];
            worst = MAX (worst, MAX (fabs (x - want[m]), fabs (y - want[m])));
            if (fabs (x - want[m]) > EPS || fabs (y - want[m]) > EPS)
              g_error ("layer %d head %d %s: forward %.9g, second pass %.9g, dense %.9g", l, h,
                       attnviz_measure_get_name (m), x, y, want[m]);
          }
      }
  g_test_message ("%d x %d heads at T = %d: largest difference from the dense matrices %.3g", c->n_layer,
                  c->n_head, T, worst);
}

static void
test_gpt2_fixture_matches_dense (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  check_model_against_dense (model, 64);
}

static void
test_stories260k_matches_dense (void)
{
  g_autofree char *path = attnviz_test_shared_path ("models", "stories260K", "gguf", "stories260K-f32.gguf", NULL);
  if (path == NULL)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (path, &error);
  g_assert_no_error (error);
  /* past one 128-row block of the forward pass */
  check_model_against_dense (model, 300);
}

/* ---- TransformerLens's scores, from PyTorch ---- */

static void
test_head_detector_matches_pytorch (gconstpointer data)
{
  const char *name = data;
  g_autofree char *file = g_strdup_printf ("%s.json", name);
  g_autofree char *path = attnviz_test_fixture_path ("measures", file, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_autofree char *model_path = g_test_build_filename (G_TEST_DIST, "..", json_object_get_string_member (root, "model"),
                                                       NULL);
  g_autoptr(AttnvizModel) model = attnviz_model_load (model_path, &error);
  g_assert_no_error (error);
  JsonArray *jids = json_object_get_array_member (root, "ids");
  int T = json_array_get_length (jids);
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int i = 0; i < T; i++)
    ids[i] = json_array_get_int_element (jids, i);

  AttnvizMeasuresOptions opt = { 0 };
  g_autoptr(AttnvizHeadMeasures) table = attnviz_measures_run (model, ids, T, &opt, NULL, &error);
  g_assert_no_error (error);
  static const struct { const char *key; AttnvizMeasure m; } scores[] = {
    { "previous_token", ATTNVIZ_MEASURE_PREVIOUS_TOKEN },
    { "duplicate_token", ATTNVIZ_MEASURE_DUPLICATE_TOKEN },
    { "induction", ATTNVIZ_MEASURE_INDUCTION },
  };
  for (guint s = 0; s < G_N_ELEMENTS (scores); s++)
    {
      JsonArray *layers = json_object_get_array_member (root, scores[s].key);
      g_assert_cmpint (json_array_get_length (layers), ==, table->n_layer);
      double worst = 0.0;
      for (int l = 0; l < table->n_layer; l++)
        {
          JsonArray *heads = json_array_get_array_element (layers, l);
          g_assert_cmpint (json_array_get_length (heads), ==, table->n_head);
          for (int h = 0; h < table->n_head; h++)
            {
              double want = json_array_get_double_element (heads, h);
              double got = attnviz_head_measures_at (table, l, h)[scores[s].m];
              worst = MAX (worst, fabs (got - want));
              g_assert_cmpfloat_with_epsilon (got, want, EPS);
            }
        }
      g_test_message ("%s %s: largest difference from PyTorch %.3g", name, scores[s].key, worst);
    }
}

/* ---- the induction model's roles ---- */

static AttnvizModel *
load_induction_model (void)
{
  g_autofree char *path = g_build_filename (ATTNVIZ_SOURCE_DATADIR, "models", "induction-decoder", NULL);
  g_autoptr(GError) error = NULL;
  AttnvizModel *model = attnviz_model_load (path, &error);
  g_assert_no_error (error);
  return model;
}

/* The measure M of head K (layer * n_head + head), as sort () numbers them. */
static double
ranked (const AttnvizHeadMeasures *t, int k, AttnvizMeasure m)
{
  return attnviz_head_measures_at (t, k / t->n_head, k % t->n_head)[m];
}

static void
test_probe_ranks_the_induction_models_roles (void)
{
  g_autoptr(AttnvizModel) model = load_induction_model ();
  int T;
  g_autoptr(GError) error = NULL;
  g_autofree gint32 *ids = attnviz_measures_probe_repeat (model, 20, 0, &T, &error);
  g_assert_no_error (error);
  AttnvizMeasuresOptions opt = { 0 };
  g_autoptr(AttnvizHeadMeasures) table = attnviz_measures_run (model, ids, T, &opt, NULL, &error);
  g_assert_no_error (error);
  int order[8];
  g_assert_cmpint (table->n_layer * table->n_head, ==, 8);
  /* README: two induction heads in layer 1, two previous-token heads in layer 0 */
  attnviz_head_measures_sort (table, ATTNVIZ_MEASURE_INDUCTION, order);
  g_assert_cmpint (order[0] / table->n_head, ==, 1);
  g_assert_cmpint (order[1] / table->n_head, ==, 1);
  /* TransformerLens's score counts the first copy's rows too: at most
   * about half of all attention can be on an induction target */
  g_assert_cmpfloat (ranked (table, order[1], ATTNVIZ_MEASURE_INDUCTION), >, 0.4);
  g_assert_cmpfloat (ranked (table, order[2], ATTNVIZ_MEASURE_INDUCTION), <, 0.1);
  attnviz_head_measures_sort (table, ATTNVIZ_MEASURE_PREVIOUS_TOKEN, order);
  g_assert_cmpint (order[0] / table->n_head, ==, 0);
  g_assert_cmpint (order[1] / table->n_head, ==, 0);
  g_assert_cmpfloat (ranked (table, order[1], ATTNVIZ_MEASURE_PREVIOUS_TOKEN), >, 0.5);
  g_assert_cmpfloat (ranked (table, order[2], ATTNVIZ_MEASURE_PREVIOUS_TOKEN), <, 0.1);
}

static void
test_probe_repeats_distinct_tokens_after_bos (void)
{
  g_autoptr(AttnvizModel) model = load_induction_model ();
  int T, T2;
  g_autoptr(GError) error = NULL;
  g_autofree gint32 *ids = attnviz_measures_probe_repeat (model, 12, 5, &T, &error);
  g_autofree gint32 *again = attnviz_measures_probe_repeat (model, 12, 5, &T2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (T, ==, 25);
  g_assert_cmpmem (ids, T * sizeof (gint32), again, T2 * sizeof (gint32));
  g_assert_cmpint (ids[0], ==, model->config.bos_id);
  for (int i = 1; i <= 12; i++)
    {
      g_assert_cmpint (ids[i], ==, ids[i + 12]);
      g_assert_cmpint (ids[i], >, 3);   /* no <pad>, <bos>, <eos>, <unk> */
      for (int j = 1; j < i; j++)
        g_assert_cmpint (ids[i], !=, ids[j]);
    }
  g_autofree gint32 *too_long = attnviz_measures_probe_repeat (model, G_MAXINT / 2, 5, &T, &error);
  g_assert_null (too_long);
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
}

static void
test_key_classes_from_token_texts (void)
{
  g_autoptr(AttnvizModel) model = load_induction_model ();
  const gint32 ids[] = { 1, 17, 5, 4, 6, 2 };
  const gboolean special[] = { TRUE, FALSE, FALSE, FALSE, FALSE, TRUE };
  char *texts[] = { "<bos>", "a", ",", " ", ". ", "<eos>", NULL };
  g_autofree guint8 *c = attnviz_measures_key_classes (model, ids, 6, special, texts);
  const guint8 want[] = { ATTNVIZ_KEY_ORDINARY, ATTNVIZ_KEY_ORDINARY, ATTNVIZ_KEY_PUNCT, ATTNVIZ_KEY_ORDINARY,
                          ATTNVIZ_KEY_PUNCT, ATTNVIZ_KEY_SEPARATOR };
  g_assert_cmpmem (c, 6, want, 6);
}

static void
test_pattern_file_of_the_wrong_shape_is_refused (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-measures-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "p.npy", NULL);
  gint64 shape[2] = { 3, 4 };
  float data[12] = { 0 };
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_npy_write (path, ATTNVIZ_NPY_F32, shape, 2, data, &error));
  g_autofree float *p = attnviz_measures_load_pattern (path, 3, &error);
  g_assert_null (p);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "(3, 4)"));
  g_clear_error (&error);
  shape[1] = 3;
  g_assert_true (attnviz_npy_write (path, ATTNVIZ_NPY_F32, shape, 2, data, &error));
  g_autofree float *q = attnviz_measures_load_pattern (path, 3, &error);
  g_assert_no_error (error);
  g_assert_nonnull (q);
  attnviz_test_remove_tree (dir);
}

static void
test_importance_equals_ablated_runs_from_scratch (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("gpt2-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) model = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  const gint32 ids[] = { 1, 7, 7, 45, 3, 90, 12, 7, 45, 3, 90, 12, 64, 7, 7, 45 };
  int T = G_N_ELEMENTS (ids);
  AttnvizMeasuresOptions opt = { .importance = TRUE, .ablate_mode = ATTNVIZ_ABLATE_MEAN };
  double base;
  g_autoptr(AttnvizHeadMeasures) table = attnviz_measures_run (model, ids, T, &opt, &base, &error);
  g_assert_no_error (error);
  for (int l = 0; l < table->n_layer; l++)
    for (int h = 0; h < table->n_head; h++)
      {
        g_autofree char *spec = g_strdup_printf ("ablate=L%dH%d,ablate-mode=mean", l, h);
        g_auto(AttnvizVariant) v = { 0 };
        g_assert_true (attnviz_variant_parse (&v, spec, &error));
        AttnvizRunOptions run = { .variant = &v };
        g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &run, &error);
        g_assert_no_error (error);
        double want = attnviz_recording_mean_loss (rec) - base;
        g_assert_cmpfloat_with_epsilon (attnviz_head_measures_at (table, l, h)[ATTNVIZ_MEASURE_IMPORTANCE], want, EPS);
      }
}

static void
test_sort_puts_the_largest_first_and_nan_last (void)
{
  g_autoptr(AttnvizHeadMeasures) t = attnviz_head_measures_new (2, 2);
  double v[4] = { 0.5, NAN, 0.9, 0.5 };
  for (int k = 0; k < 4; k++)
    attnviz_head_measures_at (t, k / 2, k % 2)[ATTNVIZ_MEASURE_DISTANCE] = v[k];
  int order[4];
  attnviz_head_measures_sort (t, ATTNVIZ_MEASURE_DISTANCE, order);
  const int want[4] = { 2, 0, 3, 1 };
  g_assert_cmpmem (order, sizeof order, want, sizeof want);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/measures/uniform-causal-rows-have-log-n-entropy", test_uniform_causal_rows);
  g_test_add_func ("/engine/measures/identity-is-all-self", test_identity);
  g_test_add_func ("/engine/measures/all-on-previous-is-a-previous-token-head", test_all_on_previous);
  g_test_add_func ("/engine/measures/all-on-first-is-a-sink", test_all_on_first);
  g_test_add_func ("/engine/measures/separator-and-punctuation-sinks-count-their-keys",
                   test_all_on_separators_and_punctuation);
  g_test_add_func ("/engine/measures/all-on-the-induction-target-scores-induction", test_all_on_the_induction_target);
  g_test_add_func ("/engine/measures/gpt2-fixture-equals-the-dense-matrices", test_gpt2_fixture_matches_dense);
  g_test_add_func ("/engine/measures/stories260k-equals-the-dense-matrices", test_stories260k_matches_dense);
  g_test_add_data_func ("/engine/measures/head-detector-equals-pytorch/induction-decoder", "induction-decoder",
                        test_head_detector_matches_pytorch);
  g_test_add_data_func ("/engine/measures/head-detector-equals-pytorch/gpt2-tiny", "gpt2-tiny",
                        test_head_detector_matches_pytorch);
  g_test_add_func ("/engine/measures/probe-ranks-the-induction-models-roles", test_probe_ranks_the_induction_models_roles);
  g_test_add_func ("/engine/measures/probe-repeats-distinct-tokens-after-bos", test_probe_repeats_distinct_tokens_after_bos);
  g_test_add_func ("/engine/measures/key-classes-come-from-token-texts", test_key_classes_from_token_texts);
  g_test_add_func ("/engine/measures/pattern-of-the-wrong-shape-is-refused",
                   test_pattern_file_of_the_wrong_shape_is_refused);
  g_test_add_func ("/engine/measures/importance-equals-ablated-runs-from-scratch",
                   test_importance_equals_ablated_runs_from_scratch);
  g_test_add_func ("/engine/measures/sort-puts-the-largest-first-and-nan-last", test_sort_puts_the_largest_first_and_nan_last);
  return g_test_run ();
}
