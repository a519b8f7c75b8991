/* attnviz-test-long-ui.h: what the long-run heatmap test programs
 * (test-long-ui, test-long-ui-zoom) share: runs of a random RoPE model
 * that keep no dense matrices, a heatmap view showing one in a window, the
 * main loop's pulse (no stall over MAX_STALL_MS), and what the view shows
 * checked against the attention source. */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-forward.h"
#include "attnviz-heatmap-tiles.h"
#include "attnviz-heatmap-view.h"
#include "attnviz-model.h"
#include "attnviz-test-widgets-util.h"

G_BEGIN_DECLS

#define MAX_STALL_MS 100.0

/* A run of T tokens that keeps no dense matrices. */
AttnvizResult *attnviz_test_long_result (guint64 seed, int T);

/* The main thread's own CPU time, in microseconds. */
gint64 attnviz_test_cpu_us (void);
/* Whether the machine is quiet enough for wall-clock gaps to mean
 * something: a load average below the number of cores. */
gboolean attnviz_test_machine_is_quiet (void);

/* The pulse: a 5 ms timeout measuring the longest gap between two beats;
 * returns its source id. */
guint attnviz_test_pulse_start (void);
/* The gap spanning the test's own work on the main thread is not counted. */
void attnviz_test_pulse_skip (void);
/* The main loop never did more than MAX_STALL_MS of work between two
 * beats; on a quiet machine, nor was it away that long in all. */
void attnviz_test_assert_no_stall (const char *what);

typedef struct {
  GtkWidget *window;
  AttnvizHeatmapView *view;
  AttnvizHeatmapTiles *tiles;
  AttnvizResult *result;
} AttnvizTestShown;

/* RESULT in a heatmap view in a 1000 x 900 window, mapped. */
void attnviz_test_show (AttnvizTestShown *s, AttnvizResult *result);
/* The window destroyed and the result finalized. */
void attnviz_test_unshow (AttnvizTestShown *s);
/* Waits for a frame painted after now; the milliseconds it took. */
double attnviz_test_next_frame_ms (void);
/* Waits until a frame paints the whole view exactly; the milliseconds. */
double attnviz_test_exact_frame_ms (AttnvizTestShown *s);
/* The view's cell under its centre. */
void attnviz_test_centre_cell (AttnvizTestShown *s, int *row, int *col);
/* Zoomed in, the cells in view are the source's own, bit for bit. */
void attnviz_test_assert_shown_cells_exact (AttnvizTestShown *s, AttnvizAggregate aggregate, int layer, int head);
/* At fit, bins of K x K cells show the max of their cells. */
void attnviz_test_assert_fit_bins_exact (AttnvizTestShown *s, int layer, int head);

G_END_DECLS
