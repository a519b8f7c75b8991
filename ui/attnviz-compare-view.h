/* attnviz-compare-view.h: A and B side by side, and A − B */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-heatmap-view.h"
#include "attnviz-painter.h"
#include "attnviz-result.h"

G_BEGIN_DECLS

typedef enum {
  ATTNVIZ_COMPARE_SIDE_BY_SIDE,  /* A | B on one colour scale */
  ATTNVIZ_COMPARE_DIFFERENCE,    /* A − B on a diverging map */
  ATTNVIZ_COMPARE_ALL,           /* A | B | A − B */
} AttnvizCompareMode;

typedef enum {
  ATTNVIZ_COMPARE_PANE_A,
  ATTNVIZ_COMPARE_PANE_B,
  ATTNVIZ_COMPARE_PANE_DIFFERENCE,
} AttnvizComparePane;

#define ATTNVIZ_TYPE_COMPARE_MODE (attnviz_compare_mode_get_type ())
GType attnviz_compare_mode_get_type (void) G_GNUC_CONST;
const char *attnviz_compare_mode_to_string (AttnvizCompareMode mode);
gboolean attnviz_compare_mode_from_string (const char *name, AttnvizCompareMode *mode);

#define ATTNVIZ_TYPE_COMPARE_VIEW (attnviz_compare_view_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizCompareView, attnviz_compare_view, ATTNVIZ, COMPARE_VIEW, GtkWidget)

GtkWidget *attnviz_compare_view_new (void);

/* The comparison's state (its result a difference result,
 * attnviz_difference_new ()), shared by the three panes; NULL
 * gives the view one of its own. */
AttnvizViewState *attnviz_compare_view_get_state (AttnvizCompareView *self);
void attnviz_compare_view_set_state (AttnvizCompareView *self, AttnvizViewState *state);
AttnvizCompareMode attnviz_compare_view_get_mode (AttnvizCompareView *self);
void attnviz_compare_view_set_mode (AttnvizCompareView *self, AttnvizCompareMode mode);

/* One of the three heatmaps (each shows whatever the mode hides, too). */
AttnvizHeatmapView *attnviz_compare_view_get_pane (AttnvizCompareView *self, AttnvizComparePane pane);
/* The value at the top of A's and B's shared colour scale: the largest
 * weight of either. */
double attnviz_compare_view_get_shared_max (AttnvizCompareView *self);

/* The panes the mode shows, as one figure, for export (strings point into
 * the views: copy them). */
gboolean attnviz_compare_view_get_figure (AttnvizCompareView *self, AttnvizHeatmapRowSpec *spec);

G_END_DECLS
