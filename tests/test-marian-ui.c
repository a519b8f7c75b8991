/* test-marian-ui.c: a Marian (opus-mt) folder in the desktop app
 *
 * The real window opens tests/fixtures/marian-tiny (random weights, real
 * SentencePiece models) on an English sentence: the run decodes a target
 * greedily from the pad token, and the cross-attention heatmap has the
 * target's pieces down the side (rows, from "<pad>") and the source's
 * along the bottom (columns: the sentence's pieces, then "</s>"), its
 * matrix the recording's.
 */
#define G_LOG_DOMAIN "test-marian-ui"
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <adwaita.h>

#include "attnviz-heatmap-view.h"
#include "attnviz-run-result.h"
#include "attnviz-test-util.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-test-window-util.h"
#include "attnviz-tokenizer.h"
#include "attnviz-window.h"

#define SOURCE "The children play in the garden."

static void
spin (int ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
test_cross_attention_labels_source_and_target (void)
{
  g_autofree char *model = attnviz_test_fixture_path ("marian-tiny", NULL);
  AttnvizTestWatch w = { 0 };
  AttnvizWindow *window = attnviz_window_new (NULL);
  g_object_ref (window);
  g_signal_connect (window, "run-finished", G_CALLBACK (attnviz_test_on_run_finished), &w);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  attnviz_window_set_text (window, SOURCE);
  attnviz_window_open (window, model);
  attnviz_test_wait_until (w.finished > 0, 60);
  g_assert_cmpint (w.finished, ==, 1);
  g_assert_true (w.ok);
  spin (200);

  AttnvizResult *run = attnviz_window_get_run (window);
  g_assert_true (attnviz_result_is_seq2seq (run));
  const AttnvizRecording *rec = attnviz_result_get_recording (run);
  int S = rec->S, T = rec->T;
  g_assert_cmpint (S, ==, 16);   /* 15 pieces of source.spm, then </s> */
  g_assert_cmpint (rec->ids[0], ==, 185);   /* decoder_start_token_id: the pad token */

  g_action_group_change_action_state (G_ACTION_GROUP (window), "attention", g_variant_new_string ("cross"));
  g_action_group_activate_action (G_ACTION_GROUP (window), "view", g_variant_new_string ("heatmap"));
  g_object_set (attnviz_window_get_state (window), "layer", 1, "head", 3, NULL);
  AttnvizHeatmapView *heatmap = ATTNVIZ_HEATMAP_VIEW (attnviz_window_get_view (window, "heatmap"));
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_spec (heatmap, &spec));
  g_assert_cmpint (spec.rows, ==, T);
  g_assert_cmpint (spec.cols, ==, S);
  const float *expected = rec->cross_attn + ((gsize) 1 * rec->n_head + 3) * T * S;
  g_assert_cmpmem (spec.matrix, sizeof (float) * T * S, expected, sizeof (float) * T * S);

  /* Along the bottom the source: its pieces spell the sentence, then </s>. */
  g_autoptr(GString) spelled = g_string_new (NULL);
  for (int s = 0; s < S - 1; s++)
    g_string_append (spelled, spec.col_labels[s]);
  g_assert_cmpstr (spelled->str, ==, SOURCE);
  g_assert_cmpstr (spec.col_labels[0], ==, "The");
  g_assert_cmpstr (spec.col_labels[S - 1], ==, "</s>");
  /* Down the side the target, from the start token. */
  g_assert_cmpstr (spec.row_labels[0], ==, "<pad>");
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (model, NULL);
  g_assert_nonnull (tok);
  g_autofree char *first = attnviz_tokenizer_decode (tok, rec->ids + 1, 1);
  attnviz_tokenizer_free (tok);
  g_autofree char *label = g_strstrip (g_strdup (spec.row_labels[1]));
  g_assert_cmpstr (label, ==, first);
  g_assert_nonnull (strstr (spec.subtitle, "target"));
  g_assert_nonnull (strstr (spec.subtitle, "source"));

  gtk_window_destroy (GTK_WINDOW (window));
  spin (100);
  g_assert_finalize_object (window);
}

int
main (int argc, char **argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      printf ("1..0 # SKIP no display (run under Xvfb)\n");
      return 0;
    }
  g_autofree char *data_home = g_dir_make_tmp ("attnviz-marian-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  g_test_add_func ("/ui/marian/cross-attention-labels-source-along-the-bottom-and-target-down-the-side",
                   test_cross_attention_labels_source_and_target);
  int status = g_test_run ();
  attnviz_test_remove_tree (data_home);
  return status;
}
