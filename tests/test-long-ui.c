/* test-long-ui.c: the heatmap of a long run, in a window
 *
 * Runs a small random-weight RoPE model (2 layers x 4 heads, past any
 * trained context) at T = 1024 (recomputing) and T = 8192, shows them in
 * an AttnvizHeatmapView and checks what it paints against the attention
 * source itself: the overview at once, then the exact picture (cells when
 * zoomed in, max-pooled bins at fit), the hover values, the aggregates
 * and a difference, with the main loop never held up more than 100 ms.
 */
#define G_LOG_DOMAIN "test-long-ui"
#include "config.h"

#include <time.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gtk/gtk.h>

#include "attnviz-difference.h"
#include "attnviz-forward.h"
#include "attnviz-heatmap-tiles.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-model.h"
#include "attnviz-run-result.h"
#include "attnviz-test-widgets-util.h"

#define MAX_STALL_MS 100.0

static AttnvizModel *
random_model (guint64 seed)
{
  AttnvizConfig c = { 0 };
  c.family = ATTNVIZ_FAMILY_LLAMA;
  c.n_layer = 2;
  c.d_model = 64;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.head_dim = 16;
  c.d_ff = 128;
  c.vocab_size = 97;
  c.n_ctx = 8192;
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.0f;
  c.has_lm_head = TRUE;
  c.tied_embeddings = TRUE;
  c.norm = ATTNVIZ_NORM_RMSNORM;
  c.pre_norm = c.final_norm = c.causal = c.gated_mlp = TRUE;
  c.act = ATTNVIZ_ACT_SILU;
  c.pos = ATTNVIZ_POS_ROPE;
  c.rope_style = ATTNVIZ_ROPE_PAIRS;
  return attnviz_model_new_random (&c, seed);
}

/* A run of T tokens that keeps no dense matrices. */
static AttnvizResult *
long_result (guint64 seed, int T)
{
  g_autoptr(GError) error = NULL;
  AttnvizModel *m = random_model (seed);
  g_autofree gint32 *ids = g_new (gint32, T);
  for (int t = 0; t < T; t++)
    ids[t] = (t * 7 + t / 13) % 97;
  AttnvizRunOptions o = { .storage = ATTNVIZ_STORAGE_RECOMPUTE, .skip_logits = TRUE };
  AttnvizRecording *rec = attnviz_forward (m, ids, T, &o, &error);
  g_assert_no_error (error);
  attnviz_model_free (m);
  char **labels = g_new0 (char *, T + 1);
  for (int t = 0; t < T; t++)
    labels[t] = g_strdup_printf ("t%d", ids[t]);
  AttnvizResult *r = ATTNVIZ_RESULT (attnviz_run_result_new (rec, labels, NULL, "", "random-rope"));
  g_assert_true (attnviz_result_is_long (r));
  g_assert_null (attnviz_result_get_matrix (r, ATTNVIZ_AGGREGATE_HEAD, 0, 0));
  return r;
}

/* ---- The main loop's pulse: a 5 ms timeout, and the longest gap between two beats */

/* Microseconds the calling thread has spent runnable but waiting for a
 * CPU (/proc/thread-self/schedstat), 0 where the kernel does not say.  On
 * a loaded machine (CI runs two tests at once on two cores) a gap in the
 * pulse is partly other processes' turn on the CPU, which is no stall of
 * the view's: every time measured here leaves it out. */
static gint64
cpu_wait_us (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/thread-self/schedstat", &text, NULL, NULL))
    return 0;
  g_auto(GStrv) f = g_strsplit (text, " ", 3);
  return g_strv_length (f) >= 2 ? g_ascii_strtoll (f[1], NULL, 10) / 1000 : 0;
}

/* The main loop's own time since START (monotonic) and START_WAIT
 * (cpu_wait_us ()), in milliseconds. */
static double
own_ms (gint64 start, gint64 start_wait)
{
  return ((g_get_monotonic_time () - start) - (cpu_wait_us () - start_wait)) / 1000.0;
}

/* The main thread's own CPU time, in microseconds: the work it did,
 * whatever else the machine (or the X server) was doing meanwhile. */
static gint64
cpu_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Whether the machine is quiet enough for wall-clock gaps to mean
 * something: a load average below the number of cores. */
static gboolean
machine_is_quiet (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return FALSE;
  return g_ascii_strtod (text, NULL) < g_get_num_processors ();
}

static gint64 last_beat, last_wait, last_cpu;
static double worst_stall_ms;      /* wall-clock gap less the waits for a CPU */
static double worst_work_ms;       /* the main thread's CPU time in a gap */

static gboolean
beat (gpointer data)
{
  gint64 now = g_get_monotonic_time (), wait = cpu_wait_us (), cpu = cpu_us ();
  if (last_beat > 0)
    {
      worst_stall_ms = MAX (worst_stall_ms, ((now - last_beat) - (wait - last_wait)) / 1000.0);
      worst_work_ms = MAX (worst_work_ms, (cpu - last_cpu) / 1000.0);
    }
  last_beat = now;
  last_wait = wait;
  last_cpu = cpu;
  return G_SOURCE_CONTINUE;
}

/* The main loop never did more than MAX_STALL_MS of work between two
 * beats; on a quiet machine, nor was it away that long in all (a view
 * waiting for a worker or the X server would show there).  On a loaded
 * one the X server itself waits for a CPU, and a wall-clock gap says
 * more about the machine than the view: it is reported. */
static void
assert_no_stall (const char *what)
{
  gboolean quiet = machine_is_quiet ();
  g_test_message ("%s: the longest main-loop gap was %.1f ms (its own work %.1f ms)%s", what, worst_stall_ms,
                  worst_work_ms, quiet ? "" : "; the machine is loaded, so the gap is reported, not asserted");
  g_assert_cmpfloat (worst_work_ms, <=, MAX_STALL_MS);
  if (quiet)
    g_assert_cmpfloat (worst_stall_ms, <=, MAX_STALL_MS);
}

/* The test's own reading of the source, on the main thread, is no stall
 * of the view's: the gap spanning it is not counted. */
static void
pulse_skip (void)
{
  last_beat = 0;
}

static guint
pulse_start (void)
{
  last_beat = 0;
  worst_stall_ms = worst_work_ms = 0;
  return g_timeout_add (5, beat, NULL);
}

static guint frames;

static void
after_paint (GdkFrameClock *clock, gpointer data)
{
  frames++;
}

typedef struct {
  GtkWidget *window;
  AttnvizHeatmapView *view;
  AttnvizHeatmapTiles *tiles;
  AttnvizResult *result;
} Shown;

static void
show (Shown *s, AttnvizResult *result)
{
  s->result = result;
  s->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (s->window), 1000, 900);
  s->view = ATTNVIZ_HEATMAP_VIEW (attnviz_heatmap_view_new ());
  attnviz_view_state_set_run (figure_state (s->view), result);
  gtk_window_set_child (GTK_WINDOW (s->window), GTK_WIDGET (s->view));
  s->tiles = attnviz_heatmap_view_get_tiles (s->view);
  gtk_window_present (GTK_WINDOW (s->window));
  attnviz_test_wait_until (gtk_widget_get_mapped (s->window) && gtk_widget_get_width (GTK_WIDGET (s->view)) > 0, 10);
  g_assert_true (gtk_widget_get_mapped (s->window));
  g_signal_connect (gtk_widget_get_frame_clock (s->window), "after-paint", G_CALLBACK (after_paint), NULL);
}

static void
unshow (Shown *s)
{
  g_signal_handlers_disconnect_by_func (gtk_widget_get_frame_clock (s->window), after_paint, NULL);
  gtk_window_destroy (GTK_WINDOW (s->window));
  /* Tiles still being made hold the result: let them finish. */
  attnviz_test_wait_until (FALSE, 1);
  g_assert_finalize_object (s->result);
}

/* Waits for a frame painted after now; the milliseconds it took. */
static double
next_frame_ms (void)
{
  gint64 start = g_get_monotonic_time (), start_wait = cpu_wait_us ();
  guint seen = frames;
  attnviz_test_wait_until (frames > seen, 5);
  g_assert_cmpuint (frames, >, seen);
  return own_ms (start, start_wait);
}

/* Waits until a frame paints the whole view exactly; the milliseconds. */
static double
exact_frame_ms (Shown *s)
{
  gint64 start = g_get_monotonic_time ();
  gtk_widget_queue_draw (GTK_WIDGET (s->view));
  for (;;)
    {
      next_frame_ms ();
      if (attnviz_heatmap_tiles_is_complete (s->tiles))
        break;
      g_assert_cmpfloat ((g_get_monotonic_time () - start) / 1e6, <, 60);
    }
  return (g_get_monotonic_time () - start) / 1000.0;
}

/* The view's cell under its centre. */
static void
centre_cell (Shown *s, int *row, int *col)
{
  attnviz_heatmap_view_hit (s->view, gtk_widget_get_width (GTK_WIDGET (s->view)) / 2.0,
                            gtk_widget_get_height (GTK_WIDGET (s->view)) / 2.0, row, col);
  g_assert_cmpint (*row, >=, 0);
  g_assert_cmpint (*col, >=, 0);
}

/* What the test computes itself from the source: one cell of HEAD, the
 * mean over heads (summed in order, times 1 / H) or the max. */
static float
cell_from_source (AttnvizAttention *src, AttnvizAggregate aggregate, int layer, int head, int r, int c)
{
  if (aggregate == ATTNVIZ_AGGREGATE_HEAD)
    return attnviz_attention_get_cell (src, layer, head, r, c);
  int H = attnviz_attention_get_n_heads (src);
  float v = attnviz_attention_get_cell (src, layer, 0, r, c);
  for (int h = 1; h < H; h++)
    {
      float w = attnviz_attention_get_cell (src, layer, h, r, c);
      v = aggregate == ATTNVIZ_AGGREGATE_MAX ? MAX (v, w) : v + w;
    }
  return aggregate == ATTNVIZ_AGGREGATE_MEAN ? v * (1.0f / H) : v;
}

/* Zoomed in, the cells in view are the source's own, bit for bit. */
static void
assert_shown_cells_exact (Shown *s, AttnvizAggregate aggregate, int layer, int head)
{
  AttnvizAttention *src = attnviz_result_get_source (s->result);
  int row, col, checked = 0;
  g_assert_cmpint (attnviz_heatmap_view_get_bin (s->view), ==, 1);
  centre_cell (s, &row, &col);
  for (int dr = -20; dr <= 20; dr += 5)
    for (int dc = -20; dc <= 20; dc += 5)
      {
        int r = CLAMP (row + dr, 0, attnviz_result_get_n_tokens (s->result) - 1);
        int c = CLAMP (col + dc, 0, attnviz_result_get_n_cols (s->result) - 1);
        float shown;
        g_assert_true (attnviz_heatmap_tiles_peek (s->tiles, 1, r, c, &shown));
        g_assert_cmpfloat (shown, ==, cell_from_source (src, aggregate, layer, head, r, c));
        checked++;
      }
  g_assert_cmpint (checked, ==, 81);
  pulse_skip ();
}

/* At fit, bins of K x K cells show the max of their cells. */
static void
assert_fit_bins_exact (Shown *s, int layer, int head)
{
  AttnvizAttention *src = attnviz_result_get_source (s->result);
  int T = attnviz_result_get_n_tokens (s->result), k = attnviz_heatmap_view_get_bin (s->view);
  int bins = (T + k - 1) / k;
  g_assert_cmpint (k, >, 1);
  g_autofree float *rect = g_new (float, (gsize) k * k);
  /* The diagonal, a bin under it, and the last bin (partial when K does not divide T). */
  int places[][2] = { { 0, 0 }, { bins / 2, bins / 2 }, { bins / 2 + 3, bins / 3 }, { bins - 1, bins - 1 }, { bins - 1, 0 } };
  for (guint p = 0; p < G_N_ELEMENTS (places); p++)
    {
      int br = places[p][0], bc = places[p][1];
      int r0 = br * k, r1 = MIN (r0 + k, T), c0 = bc * k, c1 = MIN (c0 + k, T);
      attnviz_attention_get_rect (src, layer, head, r0, r1, c0, c1, rect, k);
      float best = 0;
      for (int i = 0; i < r1 - r0; i++)
        for (int j = 0; j < c1 - c0; j++)
          best = MAX (best, rect[i * k + j]);
      float shown;
      g_assert_true (attnviz_heatmap_tiles_peek (s->tiles, k, br, bc, &shown));
      g_assert_cmpfloat (shown, ==, best);
      g_assert_cmpfloat (best, >, 0);
    }
  pulse_skip ();
}

/* ---- The tests ---------------------------------------------------------------------- */

static void
test_heatmap_of_a_long_run_shows_the_overview_at_once_then_the_exact_picture (gconstpointer data)
{
  int T = GPOINTER_TO_INT (data);
  Shown s = { 0 };
  show (&s, long_result (7, T));
  guint pulse = pulse_start ();

  exact_frame_ms (&s);
  for (int head = 1; head < 4; head++)
    {
      gint64 cpu0 = cpu_us ();
      attnviz_view_state_set_head (figure_state (s.view), head);
      double overview_ms = next_frame_ms ();
      double overview_work_ms = (cpu_us () - cpu0) / 1000.0;
      /* The first frame after the switch already paints the head's overview. */
      int r, c;
      const float *o = attnviz_heatmap_tiles_get_overview (s.tiles, &r, &c);
      const float *want = attnviz_attention_get_overview (attnviz_result_get_source (s.result), 0, head,
                                                          ATTNVIZ_POOL_MAX, &r, &c);
      g_assert_true (o == want);
      double exact_ms = exact_frame_ms (&s);
      g_test_message ("T = %d, head %d: overview shown in %.1f ms (%.1f ms of main-loop work), "
                      "exact fit picture in %.1f ms", T, head, overview_ms, overview_work_ms, exact_ms);
      /* the 50 ms for a head's overview, in the main loop's work */
      g_assert_cmpfloat (overview_work_ms, <=, 50.0);
      if (machine_is_quiet ())
        g_assert_cmpfloat (overview_ms, <=, MAX_STALL_MS);
      assert_fit_bins_exact (&s, 0, head);
    }

  /* Zoomed 8x: exact cells, equal to the source's. */
  attnviz_heatmap_view_set_zoom (s.view, 8.0);
  exact_frame_ms (&s);
  assert_shown_cells_exact (&s, ATTNVIZ_AGGREGATE_HEAD, 0, 3);
  /* Panning keeps them so. */
  for (int i = 0; i < 4; i++)
    {
      attnviz_heatmap_view_set_zoom (s.view, 8.0 * (i % 2 ? 1.25 : 1.0));
      exact_frame_ms (&s);
    }
  assert_shown_cells_exact (&s, ATTNVIZ_AGGREGATE_HEAD, 0, 3);
  attnviz_heatmap_view_set_zoom (s.view, 1.0);
  exact_frame_ms (&s);

  g_source_remove (pulse);
  g_autofree char *what = g_strdup_printf ("T = %d", T);
  assert_no_stall (what);
  unshow (&s);
}

static void
test_hover_values_are_the_sources_cells (void)
{
  Shown s = { 0 };
  show (&s, long_result (7, 1024));
  AttnvizAttention *src = attnviz_result_get_source (s.result);
  attnviz_view_state_set_head (figure_state (s.view), 2);
  attnviz_heatmap_view_set_zoom (s.view, 8.0);
  exact_frame_ms (&s);

  /* In an exact tile: known at once. */
  int row, col;
  float v, a, b;
  centre_cell (&s, &row, &col);
  g_assert_true (attnviz_heatmap_tiles_get_value (s.tiles, row, col, &v, &a, &b));
  g_assert_cmpfloat (v, ==, attnviz_attention_get_cell (src, 0, 2, row, col));
  g_assert_true (isnan (a) && isnan (b));

  /* Out of view: computed off the main loop, then known. */
  int far_row = 1000, far_col = 3;
  g_assert_false (attnviz_heatmap_tiles_peek (s.tiles, 1, far_row, far_col, &v));
  g_assert_false (attnviz_heatmap_tiles_get_value (s.tiles, far_row, far_col, &v, &a, &b));
  attnviz_test_wait_until (attnviz_heatmap_tiles_get_value (s.tiles, far_row, far_col, &v, &a, &b), 10);
  g_assert_true (attnviz_heatmap_tiles_get_value (s.tiles, far_row, far_col, &v, &a, &b));
  g_assert_cmpfloat (v, ==, attnviz_attention_get_cell (src, 0, 2, far_row, far_col));
  g_assert_cmpfloat (v, >, 0);
  unshow (&s);
}

static void
test_aggregates_of_a_long_run_are_the_means_and_maxes_of_its_heads (void)
{
  Shown s = { 0 };
  show (&s, long_result (7, 1024));
  AttnvizAttention *src = attnviz_result_get_source (s.result);
  int H = attnviz_attention_get_n_heads (src);
  guint pulse = pulse_start ();

  static const AttnvizAggregate aggregates[] = { ATTNVIZ_AGGREGATE_MEAN, ATTNVIZ_AGGREGATE_MAX };
  for (guint i = 0; i < G_N_ELEMENTS (aggregates); i++)
    {
      AttnvizAggregate agg = aggregates[i];
      AttnvizPool pool = agg == ATTNVIZ_AGGREGATE_MEAN ? ATTNVIZ_POOL_MEAN : ATTNVIZ_POOL_MAX;
      attnviz_view_state_set_aggregate (figure_state (s.view), agg);
      attnviz_view_state_set_layer (figure_state (s.view), 1);
      attnviz_heatmap_view_set_zoom (s.view, 1.0);
      next_frame_ms ();

      /* The overview shown: the heads' overviews combined, as the test does it. */
      int r, c;
      const float *shown = attnviz_heatmap_tiles_get_overview (s.tiles, &r, &c);
      g_assert_nonnull (shown);
      for (int at = 0; at < r * c; at += 97)
        {
          int hr, hc;
          float want = attnviz_attention_get_overview (src, 1, 0, pool, &hr, &hc)[at];
          for (int h = 1; h < H; h++)
            {
              float w = attnviz_attention_get_overview (src, 1, h, pool, &hr, &hc)[at];
              want = agg == ATTNVIZ_AGGREGATE_MAX ? MAX (want, w) : want + w;
            }
          if (agg == ATTNVIZ_AGGREGATE_MEAN)
            want *= 1.0f / H;
          g_assert_cmpfloat (shown[at], ==, want);
        }
      pulse_skip ();

      /* Zoomed in, the exact cells. */
      attnviz_heatmap_view_set_zoom (s.view, 8.0);
      exact_frame_ms (&s);
      assert_shown_cells_exact (&s, agg, 1, 0);
    }
  g_source_remove (pulse);
  assert_no_stall ("aggregates");
  unshow (&s);
}

static void
test_a_long_difference_shows_a_minus_b (void)
{
  g_autoptr(GError) error = NULL;
  AttnvizResult *a = long_result (7, 1024), *b = long_result (8, 1024);
  AttnvizResult *d = ATTNVIZ_RESULT (attnviz_difference_new (a, b, &error));
  g_assert_no_error (error);
  AttnvizAttention *sa = attnviz_result_get_source (a), *sb = attnviz_result_get_source (b);
  g_object_unref (a);
  g_object_unref (b);
  g_assert_true (attnviz_result_is_long (d));

  Shown s = { 0 };
  show (&s, d);
  attnviz_view_state_set_colormap (figure_state (s.view), ATTNVIZ_COLORMAP_RDBU);
  attnviz_view_state_set_head (figure_state (s.view), 1);
  exact_frame_ms (&s);
  /* At fit: bins show the A − B of the largest magnitude. */
  int k = attnviz_heatmap_view_get_bin (s.view);
  g_assert_cmpint (k, >, 1);
  float shown;
  int br = 40, bc = 20;
  g_assert_true (attnviz_heatmap_tiles_peek (s.tiles, k, br, bc, &shown));
  float want = 0;
  for (int i = br * k; i < (br + 1) * k; i++)
    for (int j = bc * k; j < (bc + 1) * k; j++)
      {
        float v = attnviz_attention_get_cell (sa, 0, 1, i, j) - attnviz_attention_get_cell (sb, 0, 1, i, j);
        if (fabsf (v) > fabsf (want))
          want = v;
      }
  g_assert_cmpfloat (shown, ==, want);
  g_assert_cmpfloat (want, !=, 0);

  /* The scale comes from the mean overview (A's − B's): the bins reach
   * beyond it, and the colour bar says so over its top. */
  AttnvizHeatmapSpec screen;
  g_assert_true (attnviz_heatmap_view_get_screen_spec (s.view, &screen));
  g_assert_true (screen.scale_clips);
  float top = 0;
  for (int i = 0; i < (1024 + k - 1) / k; i++)
    for (int j = 0; j <= i; j++)
      {
        float v;
        g_assert_true (attnviz_heatmap_tiles_peek (s.tiles, k, i, j, &v));
        top = MAX (top, fabsf (v));
      }
  g_test_message ("difference: scale ±%g, largest |A − B| of a bin %g", screen.scale.vmax, top);
  g_assert_cmpfloat (top, >, screen.scale.vmax);
  AttnvizHeatmapLayout l;
  attnviz_heatmap_layout (&screen, 900, 800, &l);
  guint32 above[2] = { 0, 0 };
  for (int clips = 0; clips < 2; clips++)
    {
      screen.scale_clips = clips;
      cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 900, 800);
      cairo_t *cr = cairo_create (image);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
      attnviz_paint_heatmap (cr, &screen, 900, 800);
      cairo_destroy (cr);
      /* A checksum of the band just over the bar. */
      cairo_surface_flush (image);
      const guchar *data = cairo_image_surface_get_data (image);
      int stride = cairo_image_surface_get_stride (image);
      for (int y = MAX (0, (int) l.colorbar.y - 14); y < (int) l.colorbar.y - 1; y++)
        for (int x = (int) l.colorbar.x; x < MIN (899, (int) (l.colorbar.x + 60)); x++)
          above[clips] = above[clips] * 31 + *(const guint32 *) (data + (gsize) y * stride + (gsize) x * 4);
      cairo_surface_destroy (image);
    }
  g_assert_cmpuint (above[0], !=, above[1]);

  attnviz_heatmap_view_set_zoom (s.view, 8.0);
  exact_frame_ms (&s);
  int row, col;
  centre_cell (&s, &row, &col);
  for (int dr = 0; dr < 10; dr++)
    {
      g_assert_true (attnviz_heatmap_tiles_peek (s.tiles, 1, row - dr, col - dr / 2, &shown));
      g_assert_cmpfloat (shown, ==, attnviz_attention_get_cell (sa, 0, 1, row - dr, col - dr / 2)
                                    - attnviz_attention_get_cell (sb, 0, 1, row - dr, col - dr / 2));
    }
  float v, va, vb;
  attnviz_test_wait_until (attnviz_heatmap_tiles_get_value (s.tiles, row, col, &v, &va, &vb), 10);
  g_assert_cmpfloat (va, ==, attnviz_attention_get_cell (sa, 0, 1, row, col));
  g_assert_cmpfloat (vb, ==, attnviz_attention_get_cell (sb, 0, 1, row, col));
  g_assert_cmpfloat (v, ==, va - vb);

  /* Exported, it is pooled and says so. */
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_spec (s.view, &spec));
  g_assert_cmpint (spec.rows, ==, 1024);
  unshow (&s);
}

static void
test_an_export_of_a_long_run_is_pooled_and_says_so (void)
{
  Shown s = { 0 };
  show (&s, long_result (7, 8192));
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_spec (s.view, &spec));
  g_assert_cmpint (spec.rows, ==, 1024);
  g_assert_cmpint (spec.cols, ==, 1024);
  g_assert_nonnull (strstr (spec.subtitle, "each pixel the max of 8×8 cells"));
  g_autofree char *label = g_strdup_printf ("24:%s", attnviz_result_get_label (s.result, 24));
  g_assert_cmpstr (spec.row_labels[3], ==, label);
  AttnvizAttention *src = attnviz_result_get_source (s.result);
  float best = 0;
  for (int i = 8 * 100; i < 8 * 101; i++)
    for (int j = 8 * 99; j < 8 * 100; j++)
      best = MAX (best, attnviz_attention_get_cell (src, 0, 0, i, j));
  g_assert_cmpfloat (spec.matrix[100 * 1024 + 99], ==, best);
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "attnviz-long-export.png", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_paint_to_file (path, ATTNVIZ_FIGURE_HEATMAP, &spec, 500, 450, &error));
  g_assert_no_error (error);
  unshow (&s);
}

/* The max and the mean of the cells [r0, r1) x [c0, c1) a causal model sees. */
static void
seen_max_mean (AttnvizAttention *src, int layer, int head, int r0, int r1, int c0, int c1, float *max, float *mean)
{
  double sum = 0;
  int n = 0;
  *max = 0;
  for (int i = r0; i < r1; i++)
    for (int j = c0; j < MIN (c1, i + 1); j++)
      {
        float v = attnviz_attention_get_cell (src, layer, head, i, j);
        *max = MAX (*max, v);
        sum += v;
        n++;
      }
  *mean = (float) (sum / n);
}

static void
test_hover_on_a_pooled_picture_names_the_bin_and_its_max_and_mean (void)
{
  Shown s = { 0 };
  show (&s, long_result (7, 1024));
  AttnvizAttention *src = attnviz_result_get_source (s.result);
  attnviz_view_state_set_head (figure_state (s.view), 1);
  exact_frame_ms (&s);
  int k = attnviz_heatmap_view_get_bin (s.view);
  g_assert_cmpint (k, >, 1);

  /* A bin under the diagonal and one across it (part of it masked). */
  int places[][2] = { { 300, 41 }, { 601, 600 } };
  for (guint p = 0; p < G_N_ELEMENTS (places); p++)
    {
      int row = places[p][0], col = places[p][1];
      int r0 = row / k * k, c0 = col / k * k;
      g_autofree char *markup = NULL;
      attnviz_test_wait_until ((markup = attnviz_heatmap_view_describe_cell (s.view, row, col)) != NULL, 10);
      g_assert_nonnull (markup);
      float max, mean, painted;
      seen_max_mean (src, 0, 1, r0, r0 + k, c0, c0 + k, &max, &mean);
      g_assert_true (attnviz_heatmap_tiles_peek (s.tiles, k, row / k, col / k, &painted));
      g_assert_cmpfloat (painted, ==, max);
      g_autofree char *ranges = g_strdup_printf ("<b>queries</b> %d–%d\n<b>keys</b> %d–%d\n", r0, r0 + k - 1, c0,
                                                 c0 + k - 1);
      g_autofree char *values = g_strdup_printf ("<b>max</b> %.4g · <b>mean</b> %.4g", max, mean);
      g_test_message ("bin at (%d, %d): %s", row, col, markup);
      g_assert_nonnull (strstr (markup, ranges));
      g_assert_nonnull (strstr (markup, values));
      g_assert_null (strstr (markup, "weight"));
    }

  /* Zoomed in to exact cells: the cell and its weight. */
  attnviz_heatmap_view_set_zoom (s.view, 8.0);
  exact_frame_ms (&s);
  int row, col;
  centre_cell (&s, &row, &col);
  g_autofree char *cell = attnviz_heatmap_view_describe_cell (s.view, row, col);
  g_autofree char *weight = g_strdup_printf ("<b>weight</b> %.4g", attnviz_attention_get_cell (src, 0, 1, row, col));
  g_assert_nonnull (cell);
  g_assert_nonnull (strstr (cell, weight));
  unshow (&s);
}

static void
test_the_mean_over_heads_scale_covers_every_bin_it_paints_and_says_what_a_pixel_is (void)
{
  Shown s = { 0 };
  show (&s, long_result (7, 1024));
  attnviz_view_state_set_aggregate (figure_state (s.view), ATTNVIZ_AGGREGATE_MEAN);
  attnviz_view_state_set_layer (figure_state (s.view), 1);
  exact_frame_ms (&s);
  int k = attnviz_heatmap_view_get_bin (s.view);
  g_assert_cmpint (k, >, 1);
  AttnvizHeatmapSpec spec;
  g_assert_true (attnviz_heatmap_view_get_screen_spec (s.view, &spec));
  g_assert_false (spec.scale_clips);
  g_autofree char *note = g_strdup_printf ("mean over heads · each pixel the max of %d×%d cells", k, k);
  g_assert_nonnull (strstr (spec.subtitle, note));

  /* Every bin painted lies within the colour bar; the mean overview's
   * largest value alone (what the scale was fitted to) lies below some. */
  int bins = (1024 + k - 1) / k, r, c;
  const float *o = attnviz_heatmap_tiles_get_overview (s.tiles, &r, &c);
  float overview_max = 0, painted_max = 0;
  for (int i = 0; i < r * c; i++)
    overview_max = MAX (overview_max, o[i]);
  for (int br = 0; br < bins; br++)
    for (int bc = 0; bc <= br; bc++)
      {
        float v;
        g_assert_true (attnviz_heatmap_tiles_peek (s.tiles, k, br, bc, &v));
        painted_max = MAX (painted_max, v);
      }
  g_test_message ("mean over heads: overview max %g, painted max %g, scale top %g", overview_max, painted_max,
                  spec.scale.vmax);
  g_assert_cmpfloat (painted_max, >, overview_max);
  g_assert_cmpfloat (painted_max, <=, spec.scale.vmax);
  pulse_skip ();
  unshow (&s);
}

static void
test_zooming_keeps_the_cell_under_the_pointer_at_every_level (void)
{
  Shown s = { 0 };
  show (&s, long_result (7, 4096));
  next_frame_ms ();
  AttnvizHeatmapLayout l;
  double ox, oy;
  g_assert_true (attnviz_heatmap_view_get_layout (s.view, &l, &ox, &oy));

  /* Near the top-left corner of the matrix, and in its middle. */
  double points[][2] = { { ox + l.matrix.x + 23.3, oy + l.matrix.y + 17.6 },
                         { ox + l.matrix.x + l.matrix.width * 0.61, oy + l.matrix.y + l.matrix.height * 0.43 } };
  for (guint p = 0; p < G_N_ELEMENTS (points); p++)
    {
      double x = points[p][0], y = points[p][1];
      int row, col;
      attnviz_heatmap_view_set_zoom (s.view, 1.0);
      g_assert_true (attnviz_heatmap_view_hit (s.view, x, y, &row, &col));
      g_assert_cmpint (row, >=, 0);
      g_assert_cmpint (col, >=, 0);
      for (double zoom = 1.25; zoom <= ATTNVIZ_HEATMAP_VIEW_MAX_ZOOM; zoom *= 1.25)
        {
          int r, c;
          attnviz_heatmap_view_zoom_at (s.view, zoom, x, y);
          next_frame_ms ();
          g_assert_true (attnviz_heatmap_view_hit (s.view, x, y, &r, &c));
          g_assert_cmpint (r, ==, row);
          g_assert_cmpint (c, ==, col);
        }
      g_assert_cmpfloat (attnviz_heatmap_view_get_zoom (s.view), >, 50);
      /* And back out. */
      for (double zoom = attnviz_heatmap_view_get_zoom (s.view) / 1.25; zoom > 1.3; zoom /= 1.25)
        {
          int r, c;
          attnviz_heatmap_view_zoom_at (s.view, zoom, x, y);
          g_assert_true (attnviz_heatmap_view_hit (s.view, x, y, &r, &c));
          g_assert_cmpint (r, ==, row);
          g_assert_cmpint (c, ==, col);
        }
    }
  pulse_skip ();
  unshow (&s);
}

static void
test_zoomed_in_the_view_keeps_a_title_with_the_zoom_and_the_ranges_in_view (void)
{
  Shown s = { 0 };
  show (&s, long_result (7, 1024));
  next_frame_ms ();
  g_assert_null (attnviz_heatmap_view_describe_view (s.view));
  attnviz_heatmap_view_set_zoom (s.view, 8.0);
  next_frame_ms ();

  g_autofree char *line = attnviz_heatmap_view_describe_view (s.view);
  g_assert_nonnull (line);
  g_test_message ("zoomed: %s", line);
  g_assert_nonnull (strstr (line, "layer 0 · head 0 · ×8 · queries "));
  int r0, r1, c0, c1, row, col;
  const char *at = strstr (line, "queries ");
  g_assert_cmpint (sscanf (at, "queries %d–%d · keys %d–%d", &r0, &r1, &c0, &c1), ==, 4);
  centre_cell (&s, &row, &col);
  g_assert_cmpint (r0, <, row);
  g_assert_cmpint (row, <, r1);
  g_assert_cmpint (c0, <, col);
  g_assert_cmpint (col, <, c1);
  /* The widget's height in cells, give or take the one cut at each edge. */
  AttnvizHeatmapLayout l;
  g_assert_true (attnviz_heatmap_view_get_layout (s.view, &l, NULL, NULL));
  double in_view = gtk_widget_get_height (GTK_WIDGET (s.view)) / l.cell;
  g_assert_cmpfloat (r1 - r0 + 1, >=, floor (in_view));
  g_assert_cmpfloat (r1 - r0 + 1, <=, ceil (in_view) + 1);
  unshow (&s);
}

static void
test_masked_cells_of_a_long_run_are_drawn_as_no_data (void)
{
  Shown s = { 0 };
  show (&s, long_result (7, 1024));
  exact_frame_ms (&s);
  int k = attnviz_heatmap_view_get_bin (s.view);
  g_assert_cmpint (k, >, 1);
  /* The tiles paint the matrix, one pixel a bin, into an image of its own. */
  int bins = (1024 + k - 1) / k;
  cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, bins, bins);
  cairo_t *cr = cairo_create (image);
  AttnvizRect m = { 0, 0, 1024.0 / k, 1024.0 / k };
  attnviz_heatmap_tiles_paint (s.tiles, cr, &m, k);
  cairo_destroy (cr);
  cairo_surface_flush (image);
  const guchar *data = cairo_image_surface_get_data (image);
  int stride = cairo_image_surface_get_stride (image);
  double rgb[3];
  attnviz_colormap_nodata (attnviz_view_state_get_colormap (figure_state (s.view)), rgb);
  guint32 nodata = attnviz_colormap_pack (rgb) & 0xffffff;
  int masked = 0;
  for (int i = 0; i < (int) m.height; i += 7)
    for (int j = 0; j < (int) m.width; j += 5)
      {
        guint32 p = *(const guint32 *) (data + (gsize) i * stride + (gsize) j * 4) & 0xffffff;
        if (j > i)
          {
            g_assert_cmpuint (p, ==, nodata);
            masked++;
          }
        else
          g_assert_cmpuint (p, !=, nodata);
      }
  g_assert_cmpint (masked, >, 100);
  cairo_surface_destroy (image);
  unshow (&s);
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/long-ui/heatmap/shows-the-overview-at-once-then-the-exact-picture/T1024", GINT_TO_POINTER (1024),
                        test_heatmap_of_a_long_run_shows_the_overview_at_once_then_the_exact_picture);
  g_test_add_data_func ("/long-ui/heatmap/shows-the-overview-at-once-then-the-exact-picture/T8192", GINT_TO_POINTER (8192),
                        test_heatmap_of_a_long_run_shows_the_overview_at_once_then_the_exact_picture);
  g_test_add_func ("/long-ui/heatmap/hover-values-are-the-sources-cells", test_hover_values_are_the_sources_cells);
  g_test_add_func ("/long-ui/heatmap/hover-on-a-pooled-picture-names-the-bin-and-its-max-and-mean",
                   test_hover_on_a_pooled_picture_names_the_bin_and_its_max_and_mean);
  g_test_add_func ("/long-ui/heatmap/the-mean-over-heads-scale-covers-every-bin-it-paints-and-says-what-a-pixel-is",
                   test_the_mean_over_heads_scale_covers_every_bin_it_paints_and_says_what_a_pixel_is);
  g_test_add_func ("/long-ui/heatmap/zooming-keeps-the-cell-under-the-pointer-at-every-level",
                   test_zooming_keeps_the_cell_under_the_pointer_at_every_level);
  g_test_add_func ("/long-ui/heatmap/zoomed-in-keeps-a-title-with-the-zoom-and-the-ranges-in-view",
                   test_zoomed_in_the_view_keeps_a_title_with_the_zoom_and_the_ranges_in_view);
  g_test_add_func ("/long-ui/heatmap/masked-cells-are-drawn-as-no-data",
                   test_masked_cells_of_a_long_run_are_drawn_as_no_data);
  g_test_add_func ("/long-ui/heatmap/aggregates-are-the-means-and-maxes-of-the-heads",
                   test_aggregates_of_a_long_run_are_the_means_and_maxes_of_its_heads);
  g_test_add_func ("/long-ui/heatmap/a-long-difference-shows-a-minus-b", test_a_long_difference_shows_a_minus_b);
  g_test_add_func ("/long-ui/export/a-long-run-is-pooled-and-says-so", test_an_export_of_a_long_run_is_pooled_and_says_so);
  return g_test_run ();
}
