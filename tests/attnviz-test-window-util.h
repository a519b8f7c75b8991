/* attnviz-test-window-util.h: watching an AttnvizWindow from the app tests */
#pragma once

#include <gtk/gtk.h>

#include "attnviz-window.h"

/* What the window has reported: runs finished (and whether the last one
 * succeeded), exports done (and the last export's error). */
typedef struct {
  int finished;
  gboolean ok;
  int exported;
  GError *export_error;
} AttnvizTestWatch;

/* The "run-finished" handler; its data is an AttnvizTestWatch. */
static inline void
attnviz_test_on_run_finished (AttnvizWindow *window, gboolean ok, AttnvizTestWatch *w)
{
  w->finished++;
  w->ok = ok;
}

/* The "exported" handler; its data is an AttnvizTestWatch. */
static inline void
attnviz_test_on_exported (AttnvizWindow *window, const char *path, const GError *error, AttnvizTestWatch *w)
{
  w->exported++;
  g_clear_error (&w->export_error);
  if (error)
    w->export_error = g_error_copy (error);
}
