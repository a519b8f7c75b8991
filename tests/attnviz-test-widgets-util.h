/* attnviz-test-widgets-util.h: runs for the widget tests and benchmarks,
 * made without a model: random causal attention, every row summing to 1 */
#pragma once

#include <math.h>
#include <string.h>

#include <gtk/gtk.h>

#include "attnviz-result.h"

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
  AttnvizResult *result = attnviz_result_new (rec, labels, tokens, text->str, "random");
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
