/* attnviz-export-dialog.h: how a figure is written, then where
 *
 * Ctrl+E: the width (as shown, one column, two columns, or a length in mm
 * or inches), the font size, title, subtitle and colour bar on or off, a
 * transparent background, a fixed colour range, the PNG's dpi and whether
 * the selection stays; then the file.  The choices are `attnviz render`'s
 * options (an AttnvizCliFigure) and are applied by the same code; they are
 * remembered for the session.
 */
#pragma once

#include <adwaita.h>

#include "attnviz-cli-figure.h"
#include "attnviz-window.h"

G_BEGIN_DECLS

#define ATTNVIZ_TYPE_EXPORT_DIALOG (attnviz_export_dialog_get_type ())
G_DECLARE_FINAL_TYPE (AttnvizExportDialog, attnviz_export_dialog, ATTNVIZ, EXPORT_DIALOG, AdwWindow)

/* A dialog for WINDOW's view; SUGGESTED_NAME is the file name offered. */
AttnvizExportDialog *attnviz_export_dialog_new (AttnvizWindow *window, const char *suggested_name);

/* The choices, checked as `attnviz render` checks its options: FALSE with
 * a message naming the field.  Clear FIG with attnviz_cli_figure_clear (). */
gboolean attnviz_export_dialog_get_figure (AttnvizExportDialog *self, AttnvizCliFigure *fig, GError **error);

/* What Export does once a file is chosen: remembers the choices, writes
 * the view to PATH with them (the window's "exported" signal tells how it
 * went) and closes.  FALSE, the dialog left open, when a choice is bad. */
gboolean attnviz_export_dialog_export_to (AttnvizExportDialog *self, const char *path, GError **error);

/* The session's last choices (the defaults before any export). */
void attnviz_export_dialog_get_session_figure (AttnvizCliFigure *fig);

/* Writes WINDOW's view to PATH with FIG's choices (NULL: the defaults). */
void attnviz_window_export_figure (AttnvizWindow *window, const char *path, const AttnvizCliFigure *fig);

G_END_DECLS
