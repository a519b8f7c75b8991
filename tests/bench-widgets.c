/* bench-widgets.c: how fast the views redraw at T = 1024, off screen
 *
 * A GPT-2-shaped run (12 layers x 12 heads, T = 1024) filled with random
 * causal row-normalised attention (the numbers do not matter to the
 * drawing, and this skips the model).  Measured:
 *  - switching the head in AttnvizHeatmapView: the layout for hit tests
 *    and the content render node (target: 16 ms), then that node
 *    rasterised by GSK's Cairo renderer (what a frame costs on screen);
 *  - the 12 x 12 grid view's first snapshot (target: 150 ms), likewise.
 */
#define G_LOG_DOMAIN "bench-widgets"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <gsk/gsk.h>

#include "attnviz-forward.h"
#include "attnviz-grid-view.h"
#include "attnviz-heatmap-tiles.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-model.h"
#include "attnviz-run-result.h"
#include "attnviz-test-widgets-util.h"
#include "attnviz-token-strip.h"

#define L 12
#define H 12
#define T 1024
#define VIEW_W 1000
#define VIEW_H 900

static double
ms_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1000.0;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
rasterize (GskRenderer *renderer, GskRenderNode *node)
{
  gint64 start = g_get_monotonic_time ();
  GdkTexture *texture = gsk_renderer_render_texture (renderer, node, NULL);
  double ms = ms_since (start);
  g_object_unref (texture);
  return ms;
}

/* ---- T = 8192: a small random RoPE model, recomputing ---- */
#define LONG_T 8192
#define LONG_H 4

static AttnvizResult *
long_result (void)
{
  AttnvizConfig c = { 0 };
  c.family = ATTNVIZ_FAMILY_LLAMA;
  c.n_layer = 2;
  c.d_model = 64;
  c.n_head = LONG_H;
  c.n_kv_head = 2;
  c.head_dim = 16;
  c.d_ff = 128;
  c.vocab_size = 97;
  c.n_ctx = LONG_T;
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.has_lm_head = c.tied_embeddings = TRUE;
  c.norm = ATTNVIZ_NORM_RMSNORM;
  c.pre_norm = c.final_norm = c.causal = c.gated_mlp = TRUE;
  c.act = ATTNVIZ_ACT_SILU;
  c.pos = ATTNVIZ_POS_ROPE;
  c.rope_style = ATTNVIZ_ROPE_PAIRS;
  AttnvizModel *m = attnviz_model_new_random (&c, 7);
  g_autofree gint32 *ids = g_new (gint32, LONG_T);
  for (int t = 0; t < LONG_T; t++)
    ids[t] = (t * 7 + t / 13) % 97;
  AttnvizRunOptions o = { .skip_logits = TRUE };
  AttnvizRecording *rec = attnviz_forward (m, ids, LONG_T, &o, NULL);
  attnviz_model_free (m);
  char **labels = g_new0 (char *, LONG_T + 1);
  for (int t = 0; t < LONG_T; t++)
    labels[t] = g_strdup_printf ("t%d", ids[t]);
  return ATTNVIZ_RESULT (attnviz_run_result_new (rec, labels, NULL, "", "random-rope"));
}

static void
bench_long (GskRenderer *renderer)
{
  gint64 start = g_get_monotonic_time ();
  AttnvizResult *result = long_result ();
  printf ("random RoPE model, 2 x %d heads, T = %d (recomputing): run in %.0f ms\n", LONG_H, LONG_T, ms_since (start));
  AttnvizHeatmapView *view = g_object_ref_sink (ATTNVIZ_HEATMAP_VIEW (attnviz_heatmap_view_new ()));
  attnviz_view_state_set_run (figure_state (view), result);
  AttnvizHeatmapTiles *tiles = attnviz_heatmap_view_get_tiles (view);
  double shown_ms[2 * LONG_H], exact_ms[2 * LONG_H];
  for (int i = 0; i < 2 * LONG_H; i++)
    {
      attnviz_view_state_set_head (figure_state (view), (i + 1) % LONG_H);
      attnviz_view_state_set_layer (figure_state (view), i / LONG_H);
      start = g_get_monotonic_time ();
      attnviz_heatmap_view_get_layout (view, NULL, NULL, NULL);
      GskRenderNode *node = attnviz_heatmap_view_build_node (view, VIEW_W, VIEW_H);
      shown_ms[i] = ms_since (start) + rasterize (renderer, node);
      gsk_render_node_unref (node);
      /* Then frames until every tile in view is exact. */
      while (!attnviz_heatmap_tiles_is_complete (tiles))
        {
          g_main_context_iteration (NULL, TRUE);
          node = attnviz_heatmap_view_build_node (view, VIEW_W, VIEW_H);
          gsk_render_node_unref (node);
        }
      exact_ms[i] = ms_since (start);
    }
  int n = 2 * LONG_H;
  qsort (shown_ms, n, sizeof (double), compare_double);
  qsort (exact_ms, n, sizeof (double), compare_double);
  printf ("heatmap at T = %d, switching the head (%d x %d px), over %d heads (bins of %d x %d cells):\n", LONG_T,
          VIEW_W, VIEW_H, n, attnviz_heatmap_view_get_bin (view), attnviz_heatmap_view_get_bin (view));
  printf ("  overview shown:         median %6.1f ms, max %6.1f ms   (target <= 50 ms: %s)\n", shown_ms[n / 2],
          shown_ms[n - 1], shown_ms[n / 2] <= 50 ? "met" : "MISSED");
  printf ("  exact fit picture:      median %6.1f ms, max %6.1f ms   (target <= 200 ms: %s)\n", exact_ms[n / 2],
          exact_ms[n - 1], exact_ms[n / 2] <= 200 ? "met" : "MISSED");
  g_object_unref (view);
  /* Tiles still running hold the result. */
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (10000);
  g_object_unref (result);
}

/* The grid view's first snapshot of RESULT, a fresh view each of 5 times. */
static void
bench_grid (GskRenderer *renderer, AttnvizResult *result, const char *what)
{
  enum { N = 5 };
  double node_ms[N], frame_ms[N];

  for (int i = 0; i < N; i++)
    {
      AttnvizGridView *grid = g_object_ref_sink (ATTNVIZ_GRID_VIEW (attnviz_grid_view_new ()));
      attnviz_view_state_set_run (figure_state (grid), result);
      gint64 start = g_get_monotonic_time ();
      GskRenderNode *node = attnviz_grid_view_build_node (grid, VIEW_W + 200, VIEW_H);
      node_ms[i] = ms_since (start);
      frame_ms[i] = node_ms[i] + rasterize (renderer, node);
      gsk_render_node_unref (node);
      g_assert_finalize_object (grid);
    }
  qsort (node_ms, N, sizeof (double), compare_double);
  qsort (frame_ms, N, sizeof (double), compare_double);
  printf ("grid, first snapshot (%d x %d thumbnails, T = %d, %d x %d px), %s, %d times:\n",
          attnviz_result_get_n_layers (result), attnviz_result_get_n_heads (result),
          attnviz_result_get_n_tokens (result), VIEW_W + 200, VIEW_H, what, N);
  printf ("  render node:            median %6.1f ms, max %6.1f ms   (target <= 150 ms: %s)\n",
          node_ms[N / 2], node_ms[N - 1], node_ms[N / 2] <= 150 ? "met" : "MISSED");
  printf ("  node + Cairo raster:    median %6.1f ms, max %6.1f ms\n", frame_ms[N / 2], frame_ms[N - 1]);
}

static void
count_frame (GdkFrameClock *clock, int *frames)
{
  (*frames)++;
}

/* Spins the main loop until a frame has been painted after this call. */
static void
wait_frame (int *frames)
{
  int before = *frames;
  while (*frames == before)
    g_main_context_iteration (NULL, TRUE);
}

/* The token strip of 8192 tokens in a scrolled sidebar: how long until it
 * first shows, and a frame after a scroll, medians of several. */
static void
bench_token_strip (void)
{
  enum { N_TOKENS = 8192, N_SHOW = 5, N_SCROLL = 21 };
  AttnvizResult *result = attnviz_test_forward_result (1, 1, N_TOKENS, ATTNVIZ_STORAGE_RECOMPUTE, 3, NULL);
  GtkWidget *strip = attnviz_token_strip_new ();
  GtkWidget *sw = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (sw), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (sw), strip);
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (window, 360, 800);
  gtk_window_set_child (window, sw);
  gtk_window_present (window);
  attnviz_test_wait_until (gtk_widget_get_mapped (strip), 10);
  int frames = 0;
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
  gulong id = g_signal_connect (clock, "after-paint", G_CALLBACK (count_frame), &frames);

  g_autoptr(AttnvizViewState) state = attnviz_view_state_new ();
  attnviz_token_strip_set_state (ATTNVIZ_TOKEN_STRIP (strip), state);
  double show_ms[N_SHOW], scroll_ms[N_SCROLL];
  int drawn = 0;
  for (int i = 0; i < N_SHOW; i++)
    {
      attnviz_view_state_set_run (state, NULL);
      wait_frame (&frames);
      gint64 start = g_get_monotonic_time ();
      attnviz_view_state_set_run (state, result);
      while (attnviz_token_strip_get_n_drawn (ATTNVIZ_TOKEN_STRIP (strip)) == 0)
        g_main_context_iteration (NULL, TRUE);
      show_ms[i] = ms_since (start);
    }
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
  GRand *rand = g_rand_new_with_seed (5);
  for (int i = 0; i < N_SCROLL; i++)
    {
      double upper = gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj);
      gint64 start = g_get_monotonic_time ();
      gtk_adjustment_set_value (adj, g_rand_double_range (rand, 0, upper));
      wait_frame (&frames);
      scroll_ms[i] = ms_since (start);
      drawn = MAX (drawn, attnviz_token_strip_get_n_drawn (ATTNVIZ_TOKEN_STRIP (strip)));
    }
  g_rand_free (rand);
  qsort (show_ms, N_SHOW, sizeof (double), compare_double);
  qsort (scroll_ms, N_SCROLL, sizeof (double), compare_double);
  printf ("token strip, %d tokens in a 360 x 800 scrolled window (at most %d chips drawn a frame):\n",
          N_TOKENS, drawn);
  printf ("  set_result to first frame: median %6.1f ms, max %6.1f ms (%d times)\n", show_ms[N_SHOW / 2],
          show_ms[N_SHOW - 1], N_SHOW);
  printf ("  scroll to a frame:         median %6.1f ms, max %6.1f ms (%d scrolls; frames are paced at 60 Hz)\n",
          scroll_ms[N_SCROLL / 2], scroll_ms[N_SCROLL - 1], N_SCROLL);
  g_signal_handler_disconnect (clock, id);
  gtk_window_destroy (window);
  attnviz_view_state_set_run (state, NULL);
  g_assert_finalize_object (result);
}

int
main (int argc, char **argv)
{
  if (!gtk_init_check ())
    {
      printf ("bench-widgets: no display, skipped (run under Xvfb)\n");
      return 0;
    }

  gint64 start = g_get_monotonic_time ();
  AttnvizResult *result = attnviz_test_random_result (L, H, T, 42);
  printf ("random GPT-2-shaped recording, %d x %d heads, T = %d: made in %.0f ms\n", L, H, T, ms_since (start));

  GskRenderer *renderer = gsk_cairo_renderer_new ();
  g_autoptr(GError) error = NULL;
  if (!gsk_renderer_realize (renderer, NULL, &error))
    g_error ("could not realize the Cairo renderer: %s", error->message);

  /* ---- Heatmap: switching the head ---- */
  AttnvizHeatmapView *heatmap = g_object_ref_sink (ATTNVIZ_HEATMAP_VIEW (attnviz_heatmap_view_new ()));
  attnviz_view_state_set_run (figure_state (heatmap), result);
  double node_ms[H], frame_ms[H];
  for (int h = 0; h < H; h++)
    {
      attnviz_view_state_set_head (figure_state (heatmap), (h + 1) % H);
      start = g_get_monotonic_time ();
      /* What snapshot does once its cache is dropped: the layout, then the node. */
      attnviz_heatmap_view_get_layout (heatmap, NULL, NULL, NULL);
      GskRenderNode *node = attnviz_heatmap_view_build_node (heatmap, VIEW_W, VIEW_H);
      node_ms[h] = ms_since (start);
      frame_ms[h] = node_ms[h] + rasterize (renderer, node);
      gsk_render_node_unref (node);
    }
  qsort (node_ms, H, sizeof (double), compare_double);
  qsort (frame_ms, H, sizeof (double), compare_double);
  printf ("heatmap, switching the head (%d x %d px, T = %d), over %d heads:\n", VIEW_W, VIEW_H, T, H);
  printf ("  render node:            median %6.1f ms, max %6.1f ms   (target <= 16 ms: %s)\n",
          node_ms[H / 2], node_ms[H - 1], node_ms[H / 2] <= 16 ? "met" : "MISSED");
  printf ("  node + Cairo raster:    median %6.1f ms, max %6.1f ms\n", frame_ms[H / 2], frame_ms[H - 1]);

  /* Zoomed 8x: only the visible part is painted. */
  attnviz_heatmap_view_set_zoom (heatmap, 8.0);
  start = g_get_monotonic_time ();
  attnviz_heatmap_view_get_layout (heatmap, NULL, NULL, NULL);
  GskRenderNode *zoomed = attnviz_heatmap_view_build_node (heatmap, VIEW_W, VIEW_H);
  double zoom_node = ms_since (start);
  double zoom_frame = zoom_node + rasterize (renderer, zoomed);
  gsk_render_node_unref (zoomed);
  printf ("  zoomed 8x, render node: %6.1f ms, with raster %6.1f ms (the first: labels measured)\n", zoom_node, zoom_frame);
  double pan_ms[H];
  for (int i = 0; i < H; i++)
    {
      /* A new zoom (and pan) about the centre each frame: the node again. */
      attnviz_heatmap_view_set_zoom (heatmap, i % 2 ? 8.0 : 8.5);
      start = g_get_monotonic_time ();
      attnviz_heatmap_view_get_layout (heatmap, NULL, NULL, NULL);
      GskRenderNode *n = attnviz_heatmap_view_build_node (heatmap, VIEW_W, VIEW_H);
      pan_ms[i] = ms_since (start) + rasterize (renderer, n);
      gsk_render_node_unref (n);
    }
  qsort (pan_ms, H, sizeof (double), compare_double);
  printf ("  zoomed 8x, moving:      median %6.1f ms, max %6.1f ms a frame with raster (target <= 16 ms: %s)\n",
          pan_ms[H / 2], pan_ms[H - 1], pan_ms[H / 2] <= 16 ? "met" : "MISSED");
  attnviz_heatmap_view_set_zoom (heatmap, 1.0);
  bench_long (renderer);

  /* ---- Grid: the first snapshot ---- */
  bench_grid (renderer, result, "a recording of dense matrices only (no attention source)");
  AttnvizResult *run = attnviz_test_forward_result (L, H, T, ATTNVIZ_STORAGE_AUTO, 7, NULL);
  bench_grid (renderer, run, "a run of a GPT-2-shaped model (as the app makes it: its overviews)");
  g_assert_finalize_object (run);
  run = attnviz_test_forward_result (4, 4, 8192, ATTNVIZ_STORAGE_AUTO, 7, NULL);
  bench_grid (renderer, run, "a run of 4 x 4 heads at T = 8192 (its overviews)");
  g_assert_finalize_object (run);

  bench_token_strip ();

  gsk_renderer_unrealize (renderer);
  g_object_unref (renderer);
  g_assert_finalize_object (heatmap);
  g_assert_finalize_object (result);
  return 0;
}
