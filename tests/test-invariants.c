/* Properties that need no reference implementation. */
#define G_LOG_DOMAIN "test-invariants"
#include "config.h"

#include <math.h>

#include "attnviz-forward.h"
#include "attnviz-test-util.h"

/* In a bidirectional model with no position signal (bert-nopos: position
 * embeddings all zero, one token type), attention is a function of the
 * set of tokens: permuting the input permutes every layer's attention rows
 * and columns the same way.  A[perm[i], perm[j]] (permuted run) equals
 * A[i, j]... precisely: input' = input[perm], so A'[i][j] = A[perm[i]][perm[j]]. */
static void
test_permuting_tokens_permutes_attention (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("bert-nopos", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  g_assert_false (m->config.causal);

  gint32 ids[] = { 12, 45, 7, 88, 45, 3, 60, 21, 9 };
  int perm[] = { 4, 0, 8, 2, 6, 1, 7, 3, 5 };
  int T = G_N_ELEMENTS (ids);
  gint32 permuted[G_N_ELEMENTS (ids)];
  for (int i = 0; i < T; i++)
    permuted[i] = ids[perm[i]];

  g_autoptr(AttnvizRecording) a = attnviz_forward (m, ids, T, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) b = attnviz_forward (m, permuted, T, NULL, &error);
  g_assert_no_error (error);

  float maxdiff = 0.0f;
  gboolean changed_something = FALSE;
  for (int l = 0; l < m->config.n_layer; l++)
    for (int h = 0; h < m->config.n_head; h++)
      {
        const float *A = attnviz_recording_get_attention (a, l, h);
        const float *B = attnviz_recording_get_attention (b, l, h);
        for (int i = 0; i < T; i++)
          for (int j = 0; j < T; j++)
            {
              maxdiff = fmaxf (maxdiff, fabsf (B[i * T + j] - A[perm[i] * T + perm[j]]));
              changed_something |= B[i * T + j] != A[i * T + j];
            }
      }
  g_test_message ("max |A'[i,j] - A[perm i, perm j]| = %.3g", maxdiff);
  g_assert_cmpfloat (maxdiff, <=, 1e-6f);
  /* and the permutation really moved things */
  g_assert_true (changed_something);
}

/* The same with learned positions present is NOT invariant: the test above
 * would be vacuous if it were. */
static void
test_positions_break_the_permutation_symmetry (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("bert-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  gint32 ids[] = { 12, 45, 7, 88, 45, 3 };
  int perm[] = { 5, 3, 1, 0, 2, 4 };
  int T = G_N_ELEMENTS (ids);
  gint32 permuted[G_N_ELEMENTS (ids)];
  for (int i = 0; i < T; i++)
    permuted[i] = ids[perm[i]];
  g_autoptr(AttnvizRecording) a = attnviz_forward (m, ids, T, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizRecording) b = attnviz_forward (m, permuted, T, NULL, &error);
  g_assert_no_error (error);
  float maxdiff = 0.0f;
  const float *A = attnviz_recording_get_attention (a, 0, 0), *B = attnviz_recording_get_attention (b, 0, 0);
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++)
      maxdiff = fmaxf (maxdiff, fabsf (B[i * T + j] - A[perm[i] * T + perm[j]]));
  g_assert_cmpfloat (maxdiff, >, 1e-3f);
}

/* Causal models: nothing above the diagonal, every row a distribution. */
static void
test_causal_rows_are_distributions_over_the_past (void)
{
  g_autofree char *dir = attnviz_test_fixture_path ("llama-gqa-tiny", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m = attnviz_model_load (dir, &error);
  g_assert_no_error (error);
  gint32 ids[] = { 1, 40, 41, 42, 40, 41, 96, 5 };
  int T = G_N_ELEMENTS (ids);
  g_autoptr(AttnvizRecording) r = attnviz_forward (m, ids, T, NULL, &error);
  g_assert_no_error (error);
  for (int l = 0; l < m->config.n_layer; l++)
    for (int h = 0; h < m->config.n_head; h++)
      {
        const float *A = attnviz_recording_get_attention (r, l, h);
        for (int i = 0; i < T; i++)
          {
            double sum = 0.0;
            for (int j = 0; j < T; j++)
              {
                if (j > i)
                  g_assert_cmpfloat (A[i * T + j], ==, 0.0f);
                sum += A[i * T + j];
              }
            g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-6);
          }
      }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/invariants/without-positions-permuting-tokens-permutes-attention",
                   test_permuting_tokens_permutes_attention);
  g_test_add_func ("/engine/invariants/learned-positions-break-that-symmetry",
                   test_positions_break_the_permutation_symmetry);
  g_test_add_func ("/engine/invariants/causal-rows-are-distributions-over-the-past",
                   test_causal_rows_are_distributions_over_the_past);
  return g_test_run ();
}
