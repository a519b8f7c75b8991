/* attnviz-query-key-view.h: the current head's queries and keys in one
 * plane (AttentionViz), the app's Query–Key page
 *
 * (Named query-key, not qk: the engine's AttnvizQkView in attnviz-qk.h is
 * the picture's data, which this view draws.)
 */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-figure-view.h"
#include "attnviz-painter.h"
#include "attnviz-qk.h"

G_BEGIN_DECLS

/* Up to this many tokens, at head_dim 64 or less, the picture is computed
 * when drawn (about 5 ms at T = 512); beyond, in a thread while the view
 * says "Computing…". */
#define ATTNVIZ_QUERY_KEY_VIEW_SYNC_TOKENS 512

#define ATTNVIZ_TYPE_QUERY_KEY_VIEW (attnviz_query_key_view_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizQueryKeyView, attnviz_query_key_view, ATTNVIZ, QUERY_KEY_VIEW, AttnvizFigureView)

GtkWidget *attnviz_query_key_view_new (void);

/* The points of the state's layer and head, computing them now if they
 * are cheap or not started; NULL while a thread computes them ("computing"
 * is then TRUE) or when there are none (no run, a difference). */
const AttnvizQkView *attnviz_query_key_view_get_points (AttnvizQueryKeyView *self);
gboolean attnviz_query_key_view_get_computing (AttnvizQueryKeyView *self);

/* The figure (pointing into the view's points and the result's labels);
 * FALSE with an error when there is nothing to draw yet. */
gboolean attnviz_query_key_view_get_spec (AttnvizQueryKeyView *self, AttnvizScatterSpec *spec, GError **error);

/* Where point I (queries first, then keys) is drawn in the widget. */
gboolean attnviz_query_key_view_get_point_position (AttnvizQueryKeyView *self, int i, double *x, double *y);
/* The point under (X, Y), or -1. */
int attnviz_query_key_view_hit (AttnvizQueryKeyView *self, double x, double y);
/* What a click at (X, Y) does: selects the token of the point there in
 * the state (clicking the selected one again clears it).  FALSE when no
 * point is there. */
gboolean attnviz_query_key_view_click (AttnvizQueryKeyView *self, double x, double y);

G_END_DECLS
