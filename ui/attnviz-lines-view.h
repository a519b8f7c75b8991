/* attnviz-lines-view.h: one head as lines between two columns of tokens */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-painter.h"
#include "attnviz-result.h"

G_BEGIN_DECLS

/* Beyond this many tokens the lines are a blur: the view says so. */
#define ATTNVIZ_LINES_VIEW_MAX_TOKENS 64

#define ATTNVIZ_TYPE_LINES_VIEW (attnviz_lines_view_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizLinesView, attnviz_lines_view, ATTNVIZ, LINES_VIEW, GtkWidget)

GtkWidget *attnviz_lines_view_new (void);

AttnvizResult *attnviz_lines_view_get_result (AttnvizLinesView *self);
void attnviz_lines_view_set_result (AttnvizLinesView *self, AttnvizResult *result);
int attnviz_lines_view_get_layer (AttnvizLinesView *self);
void attnviz_lines_view_set_layer (AttnvizLinesView *self, int layer);
int attnviz_lines_view_get_head (AttnvizLinesView *self);
void attnviz_lines_view_set_head (AttnvizLinesView *self, int head);
AttnvizAggregate attnviz_lines_view_get_aggregate (AttnvizLinesView *self);
void attnviz_lines_view_set_aggregate (AttnvizLinesView *self, AttnvizAggregate aggregate);
int attnviz_lines_view_get_selected_token (AttnvizLinesView *self);
void attnviz_lines_view_set_selected_token (AttnvizLinesView *self, int token);

/* The figure for export; FALSE with an error when there is nothing to draw
 * or too many tokens. */
gboolean attnviz_lines_view_get_spec (AttnvizLinesView *self, AttnvizLinesSpec *spec, GError **error);

G_END_DECLS
