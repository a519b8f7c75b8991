/* attnviz-lines-view.h: one head as lines between two columns of tokens */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-figure-view.h"
#include "attnviz-painter.h"
#include "attnviz-result.h"

G_BEGIN_DECLS

/* Beyond this many tokens the lines are a blur: the view says so. */
#define ATTNVIZ_LINES_VIEW_MAX_TOKENS 64

#define ATTNVIZ_TYPE_LINES_VIEW (attnviz_lines_view_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizLinesView, attnviz_lines_view, ATTNVIZ, LINES_VIEW, AttnvizFigureView)

GtkWidget *attnviz_lines_view_new (void);

/* What it shows is its state's: attnviz_figure_view_get_state (). */

/* More tokens than lines can show ("too-many-tokens", notified when it
 * changes), and that said in a sentence for a page over the view. */
gboolean attnviz_lines_view_get_too_many_tokens (AttnvizLinesView *self);
char *attnviz_lines_view_describe_limit (AttnvizLinesView *self);

/* The figure for export; FALSE with an error when there is nothing to draw
 * or too many tokens. */
gboolean attnviz_lines_view_get_spec (AttnvizLinesView *self, AttnvizLinesSpec *spec, GError **error);

G_END_DECLS
