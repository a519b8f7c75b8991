/* attnviz-test-widgets-util.h: runs for the widget tests and benchmarks,
 * made without a model: random causal attention, every row summing to 1 */
#pragma once

#include <math.h>
#include <string.h>

#include <gtk/gtk.h>

#include "attnviz-forward.h"
#include "attnviz-result.h"
#include "attnviz-run-result.h"

/* A result of L layers, H heads and T tokens named "t0", "t1", ... whose
 * attention is random, causal and row-normalised. */
static inline AttnvizResult *
attnviz_test_random_result (int L, int H, int T, guint32 seed)
{
  g_autoptr(GError) error = NULL;
  g_autofree int *layers = g_new (int, L);
  g_autofree int *heads = g_new (int, H);
  GRand *rand = g_rand_new_with_seed (seed);

  for (int l = 0; l < L; l++)
    layers[l] = l;
  for (int h = 0; h < H; h++)
    heads[h] = h;
  AttnvizRecording *rec = attnviz_recording_new (T, L, H, 1000, layers, L, heads, H, FALSE,
                                                 G_MAXUINT64, &error);
  g_assert_no_error (error);
  rec->causal = TRUE;
  for (int t = 0; t < T; t++)
    rec->ids[t] = t % 1000;

  for (gsize m = 0; m < (gsize) L * H; m++)
    {
      float *a = rec->attn + m * (gsize) T * T;
      for (int r = 0; r < T; r++)
        {
          float *row = a + (gsize) r * T;
          double sum = 0;
          /* Peaked like real heads: a few keys take most of the weight. */
          for (int c = 0; c <= r; c++)
            {
              double u = g_rand_double (rand);
              row[c] = (float) (u * u * u * u);
              sum += row[c];
            }
          for (int c = 0; c <= r; c++)
            row[c] = (float) (row[c] / sum);
          memset (row + r + 1, 0, (gsize) (T - r - 1) * sizeof (float));
        }
    }
  g_rand_free (rand);

  char **labels = g_new0 (char *, T + 1);
  GString *text = g_string_new (NULL);
  GArray *tokens = g_array_sized_new (FALSE, TRUE, sizeof (AttnvizToken), T);
  for (int t = 0; t < T; t++)
    {
      labels[t] = g_strdup_printf (t == 0 ? "t%d" : " t%d", t);
      AttnvizToken token = { rec->ids[t], text->len, text->len + strlen (labels[t]), FALSE };
      g_string_append (text, labels[t]);
      g_array_append_val (tokens, token);
    }
  AttnvizResult *result = ATTNVIZ_RESULT (attnviz_run_result_new (rec, labels, tokens, text->str, "random"));
  g_string_free (text, TRUE);
  return result;
}

/* A result of a real run: a GPT-2-shaped model (learned positions up to
 * T, LayerNorm, causal) of L layers and H heads of 8 dimensions, random
 * weights, over T tokens of random ids named "t0", "t1", ...; STORAGE
 * says whether it keeps dense matrices or recomputes (a long run).  The
 * same SEED gives the same model and ids; VARIANT ("mask=window:8") runs
 * it changed, NULL as it is. */
static inline AttnvizResult *
attnviz_test_forward_result (int L, int H, int T, AttnvizStorage storage, guint32 seed, const char *variant)
{
  g_autoptr(GError) error = NULL;
  AttnvizConfig c = { 0 };
  c.family = ATTNVIZ_FAMILY_GPT2;
  c.n_layer = L;
  c.n_head = c.n_kv_head = H;
  c.head_dim = 8;
  c.d_model = 8 * H;
  c.d_ff = 16 * H;
  c.vocab_size = 97;
  c.n_ctx = T;
  c.norm_eps = 1e-5f;
  c.has_lm_head = c.tied_embeddings = TRUE;
  c.norm = ATTNVIZ_NORM_LAYERNORM;
  c.pre_norm = c.final_norm = c.causal = TRUE;
  c.act = ATTNVIZ_ACT_GELU_TANH;
  c.pos = ATTNVIZ_POS_LEARNED;
  c.qkv_bias = c.out_bias = c.mlp_bias = TRUE;
  AttnvizModel *model = attnviz_model_new_random (&c, seed);
  g_assert_nonnull (model);

  g_autofree gint32 *ids = g_new (gint32, T);
  GRand *rand = g_rand_new_with_seed (seed);
  for (int t = 0; t < T; t++)
    ids[t] = g_rand_int_range (rand, 0, c.vocab_size);
  g_rand_free (rand);
  AttnvizVariant v;
  attnviz_variant_init (&v);
  if (variant != NULL)
    {
      attnviz_variant_parse (&v, variant, &error);
      g_assert_no_error (error);
    }
  AttnvizRunOptions o = { .storage = storage, .variant = &v };
  AttnvizRecording *rec = attnviz_forward (model, ids, T, &o, &error);
  g_assert_no_error (error);
  attnviz_variant_clear (&v);
  attnviz_model_free (model);

  char **labels = g_new0 (char *, T + 1);
  GString *text = g_string_new (NULL);
  GArray *tokens = g_array_sized_new (FALSE, TRUE, sizeof (AttnvizToken), T);
  for (int t = 0; t < T; t++)
    {
      labels[t] = g_strdup_printf (t == 0 ? "t%d" : " t%d", t);
      AttnvizToken token = { rec->ids[t], text->len, text->len + strlen (labels[t]), FALSE };
      g_string_append (text, labels[t]);
      g_array_append_val (tokens, token);
    }
  AttnvizResult *result = ATTNVIZ_RESULT (attnviz_run_result_new (rec, labels, tokens, text->str, "random-gpt2"));
  attnviz_run_result_set_loss_predicts_next (ATTNVIZ_RUN_RESULT (result), TRUE);
  g_string_free (text, TRUE);
  return result;
}

/* Spins the main loop until CONDITION holds or SECONDS pass. */
#define attnviz_test_wait_until(condition, seconds)                          \
  G_STMT_START {                                                             \
    gint64 _deadline = g_get_monotonic_time () + (gint64) (seconds) * G_USEC_PER_SEC; \
    while (!(condition) && g_get_monotonic_time () < _deadline)              \
      g_main_context_iteration (NULL, FALSE), g_usleep (1000);               \
  } G_STMT_END
