/* attnviz-test-long-ui.c: what the long-run heatmap test programs share */
#define G_LOG_DOMAIN "test-long-ui"
#include "config.h"

#include <time.h>

#include "attnviz-run-result.h"
#include "attnviz-test-long-ui.h"

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
AttnvizResult *
attnviz_test_long_result (guint64 seed, int T)
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
gint64
attnviz_test_cpu_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Whether the machine is quiet enough for wall-clock gaps to mean
 * something: a load average below the number of cores. */
gboolean
attnviz_test_machine_is_quiet (void)
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
  gint64 now = g_get_monotonic_time (), wait = cpu_wait_us (), cpu = attnviz_test_cpu_us ();
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
void
attnviz_test_assert_no_stall (const char *what)
{
  gboolean quiet = attnviz_test_machine_is_quiet ();
  g_test_message ("%s: the longest main-loop gap was %.1f ms (its own work %.1f ms)%s", what, worst_stall_ms,
                  worst_work_ms, quiet ? "" : "; the machine is loaded, so the gap is reported, not asserted");
  g_assert_cmpfloat (worst_work_ms, <=, MAX_STALL_MS);
  if (quiet)
    g_assert_cmpfloat (worst_stall_ms, <=, MAX_STALL_MS);
}

/* The test's own reading of the source, on the main thread, is no stall
 * of the view's: the gap spanning it is not counted. */
void
attnviz_test_pulse_skip (void)
{
  last_beat = 0;
}

guint
attnviz_test_pulse_start (void)
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

void
attnviz_test_show (AttnvizTestShown *s, AttnvizResult *result)
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

void
attnviz_test_unshow (AttnvizTestShown *s)
{
  g_signal_handlers_disconnect_by_func (gtk_widget_get_frame_clock (s->window), after_paint, NULL);
  gtk_window_destroy (GTK_WINDOW (s->window));
  /* Tiles still being made hold the result: let them finish. */
  attnviz_test_wait_until (FALSE, 1);
  g_assert_finalize_object (s->result);
}

/* Waits for a frame painted after now; the milliseconds it took. */
double
attnviz_test_next_frame_ms (void)
{
  gint64 start = g_get_monotonic_time (), start_wait = cpu_wait_us ();
  guint seen = frames;
  attnviz_test_wait_until (frames > seen, 5);
  g_assert_cmpuint (frames, >, seen);
  return own_ms (start, start_wait);
}

/* Waits until a frame paints the whole view exactly; the milliseconds. */
double
attnviz_test_exact_frame_ms (AttnvizTestShown *s)
{
  gint64 start = g_get_monotonic_time ();
  gtk_widget_queue_draw (GTK_WIDGET (s->view));
  for (;;)
    {
      attnviz_test_next_frame_ms ();
      if (attnviz_heatmap_tiles_is_complete (s->tiles))
        break;
      g_assert_cmpfloat ((g_get_monotonic_time () - start) / 1e6, <, 60);
    }
  return (g_get_monotonic_time () - start) / 1000.0;
}

/* The view's cell under its centre. */
void
attnviz_test_centre_cell (AttnvizTestShown *s, int *row, int *col)
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
void
attnviz_test_assert_shown_cells_exact (AttnvizTestShown *s, AttnvizAggregate aggregate, int layer, int head)
{
  AttnvizAttention *src = attnviz_result_get_source (s->result);
  int row, col, checked = 0;
  g_assert_cmpint (attnviz_heatmap_view_get_bin (s->view), ==, 1);
  attnviz_test_centre_cell (s, &row, &col);
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
  attnviz_test_pulse_skip ();
}

/* At fit, bins of K x K cells show the max of their cells. */
void
attnviz_test_assert_fit_bins_exact (AttnvizTestShown *s, int layer, int head)
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
  attnviz_test_pulse_skip ();
}

