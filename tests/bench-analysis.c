/* bench-analysis.c: what the analyses cost (meson test --benchmark
 * bench-analysis), on ../shared's random-weight tiny-llama (head_dim 64,
 * 2 layers x 4 heads) and stories260K (5 layers x 8 heads):
 *
 *   - the query-key picture of one head at T = 2048 (target: 200 ms);
 *   - rollout at T = 512 and 2048; head similarity at T = 256 (exact);
 *   - attention flow at T = 32, 64 and 128 (its limit).
 *
 * Timings only; test-analysis checks the values.
 */
#define G_LOG_DOMAIN "attnviz-bench-analysis"
#include "config.h"

#include <stdio.h>

#include "attnviz-forward.h"
#include "attnviz-qk.h"
#include "attnviz-rollout.h"
#include "attnviz-similarity.h"
#include "attnviz-test-util.h"

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static AttnvizRecording *
run (AttnvizModel *model, int T)
{
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int i = 0; i < T; i++)
    ids[i] = 3 + (i * 37) % (model->config.vocab_size - 3);
  g_autoptr(GError) error = NULL;
  AttnvizRecording *rec = attnviz_forward (model, ids, T, NULL, &error);
  g_assert_no_error (error);
  return rec;
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *llama = attnviz_test_shared_path ("models", "tiny-llama-gguf", "gguf", "tiny-f32.gguf", NULL);
  g_autofree char *stories = attnviz_test_shared_path ("models", "stories260K", "gguf", "stories260K-f32.gguf", NULL);
  if (llama == NULL || stories == NULL)
    {
      printf ("# ../shared is absent: nothing to measure\n");
      return 0;
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizModel) m1 = attnviz_model_load (llama, &error);
  g_assert_no_error (error);
  g_autoptr(AttnvizModel) m2 = attnviz_model_load (stories, &error);
  g_assert_no_error (error);

  {
    g_autoptr(AttnvizRecording) rec = run (m1, 2048);
    double t0 = now ();
    g_autoptr(AttnvizQkView) v = attnviz_qk_view (rec->attention, 1, 2, &error);
    double t1 = now ();
    g_autoptr(AttnvizQkView) w = attnviz_qk_view (rec->attention, 1, 2, &error);
    double t2 = now ();
    printf ("qk view, T = 2048, head_dim %d: %.1f ms (q, k recomputed), %.1f ms (cached); axes explain %.2f, %.2f\n",
            m1->config.head_dim, (t1 - t0) * 1e3, (t2 - t1) * 1e3, v->explained[0], v->explained[1]);
    t0 = now ();
    g_autofree float *R = attnviz_attention_rollout (rec->attention, NULL, &error);
    printf ("rollout, T = 2048, %d layers x %d heads: %.0f ms\n", m1->config.n_layer, m1->config.n_head,
            (now () - t0) * 1e3);
  }
  {
    g_autoptr(AttnvizRecording) rec = run (m2, 512);
    double t0 = now ();
    g_autofree float *R = attnviz_attention_rollout (rec->attention, NULL, &error);
    printf ("rollout, T = 512, 5 layers x 8 heads: %.0f ms\n", (now () - t0) * 1e3);
  }
  {
    g_autoptr(AttnvizRecording) rec = run (m2, 256);
    double t0 = now ();
    g_autoptr(AttnvizHeadSimilarity) s = attnviz_head_similarity (rec->attention, 0, NULL, &error);
    printf ("similarity, T = 256, 40 heads exact: %.0f ms\n", (now () - t0) * 1e3);
  }
  for (int T = 32; T <= ATTNVIZ_FLOW_MAX_TOKENS; T *= 2)
    {
      g_autoptr(AttnvizRecording) rec = run (m2, T);
      double t0 = now ();
      g_autofree float *F = attnviz_attention_flow (rec->attention, NULL, &error);
      g_assert_no_error (error);
      printf ("flow, T = %d, 5 layers: %.2f s\n", T, now () - t0);
    }
  return 0;
}
