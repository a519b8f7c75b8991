/* bench-measures.c: what the per-head measures cost on a GPT-2-124M-shaped
 * model with random weights (meson test --benchmark bench-measures)
 *
 *   - T = 512: the forward pass alone, the forward pass gathering every
 *     measure as it goes, and the second pass over a recorded run's
 *     attention source, all in the same run (target: the measures within
 *     10% of the forward pass);
 *   - T = 128: the importance of all 144 heads, each an ablated run from
 *     the model run's residual stream (target: 60 s on 2 cores).
 *
 * Timings only; the tests check the values.
 */
#define G_LOG_DOMAIN "attnviz-bench-measures"
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "attnviz-forward.h"
#include "attnviz-measures-run.h"

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static gint32 *
random_ids (int T, int vocab)
{
  GRand *rng = g_rand_new_with_seed (3);
  gint32 *ids = g_new (gint32, T);
  for (int i = 0; i < T; i++)
    ids[i] = g_rand_int_range (rng, 0, vocab);
  g_rand_free (rng);
  return ids;
}

int
main (int argc, char **argv)
{
  AttnvizConfig config;
  attnviz_config_init_gpt2_small (&config);
  g_autoptr(AttnvizModel) model = attnviz_model_new_random (&config, 1);
  g_autoptr(GError) error = NULL;
  const int T = 512, rounds = 3;
  g_autofree gint32 *ids = random_ids (T, config.vocab_size);
  AttnvizMeasuresInput in = { .T = T, .ids = ids };

  /* alternate the three so a change in the machine's load falls on each */
  double plain = G_MAXDOUBLE, during = G_MAXDOUBLE, second = G_MAXDOUBLE;
  for (int r = 0; r < rounds; r++)
    {
      double t0 = now ();
      AttnvizRunOptions opt = { .storage = ATTNVIZ_STORAGE_RECOMPUTE };
      g_autoptr(AttnvizRecording) rec = attnviz_forward (model, ids, T, &opt, &error);
      g_assert_no_error (error);
      plain = MIN (plain, now () - t0);

      g_autoptr(AttnvizMeasuresAcc) acc = attnviz_measures_acc_new (config.n_layer, config.n_head, &in);
      t0 = now ();
      AttnvizRunOptions mopt = { .storage = ATTNVIZ_STORAGE_RECOMPUTE, .measures = acc };
      g_autoptr(AttnvizRecording) rec2 = attnviz_forward (model, ids, T, &mopt, &error);
      g_assert_no_error (error);
      during = MIN (during, now () - t0);

      g_autoptr(AttnvizMeasuresAcc) acc2 = attnviz_measures_acc_new (config.n_layer, config.n_head, &in);
      t0 = now ();
      attnviz_measures_acc_add_attention (acc2, rec->attention, NULL);
      second = MIN (second, now () - t0);
    }
  printf ("measures at T = %d (best of %d): forward %.3f s; forward gathering every measure %.3f s (+%.1f%%); "
          "a second pass over the recorded attention %.3f s (%.1f%% of the forward)\n",
          T, rounds, plain, during, 100.0 * (during - plain) / plain, second, 100.0 * second / plain);

  const int Ti = 128;
  g_autofree gint32 *ids_i = random_ids (Ti, config.vocab_size);
  AttnvizMeasuresOptions mo = { .importance = TRUE };
  double t0 = now ();
  g_autoptr(AttnvizHeadMeasures) table = attnviz_measures_run (model, ids_i, Ti, &mo, NULL, &error);
  g_assert_no_error (error);
  printf ("importance of %d heads at T = %d: %.1f s (the model run and %d ablated runs reusing its residuals)\n",
          config.n_layer * config.n_head, Ti, now () - t0, config.n_layer * config.n_head);
  return 0;
}
