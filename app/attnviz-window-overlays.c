/* attnviz-window-overlays.c: the grid's "Colour heads by" dropdown
 *
 * Its items are "attention" (the heads' thumbnails) and the measures of
 * the run's table (attnviz_run_result_measures_of ()), rebuilt when the run
 * changes; the choice is the state's "head-colour", which owns it (and
 * goes back to "attention" for a run without that measure).
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-run-result.h"
#include "attnviz-window-private.h"

static gboolean syncing;

/* Selects the state's choice in the dropdown. */
static void
select_state (AttnvizWindow *self)
{
  const char *name = attnviz_view_state_get_head_colour (self->state);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->head_colours));

  for (guint i = 0; i < n; i++)
    if (g_str_equal (gtk_string_list_get_string (self->head_colours, i), name))
      {
        syncing = TRUE;
        gtk_drop_down_set_selected (self->head_colour_dropdown, i);
        syncing = FALSE;
        return;
      }
}

static void
on_result (AttnvizWindow *self)
{
  AttnvizResult *result = attnviz_view_state_get_result (self->state);
  const AttnvizHeadMeasures *table = attnviz_run_result_measures_of (result);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  g_ptr_array_add (names, (gpointer) "attention");
  for (int m = 0; table != NULL && m < ATTNVIZ_N_MEASURES; m++)
    if (table->has[m])
      g_ptr_array_add (names, (gpointer) attnviz_measure_get_name (m));
  guint n = names->len;
  g_ptr_array_add (names, NULL);
  syncing = TRUE;
  gtk_string_list_splice (self->head_colours, 0, g_list_model_get_n_items (G_LIST_MODEL (self->head_colours)),
                          (const char *const *) names->pdata);
  syncing = FALSE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->head_colour_dropdown), n > 1);
  select_state (self);
}

static void
on_selected (AttnvizWindow *self)
{
  guint i = gtk_drop_down_get_selected (self->head_colour_dropdown);

  if (syncing || i == GTK_INVALID_LIST_POSITION)
    return;
  attnviz_view_state_set_head_colour (self->state, gtk_string_list_get_string (self->head_colours, i));
}

void
_attnviz_window_init_head_colour (AttnvizWindow *self)
{
  self->head_colours = gtk_string_list_new (NULL);
  gtk_drop_down_set_model (self->head_colour_dropdown, G_LIST_MODEL (self->head_colours));
  g_object_unref (self->head_colours);  /* the dropdown keeps it */
  g_signal_connect_object (self->state, "notify::result", G_CALLBACK (on_result), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->state, "notify::head-colour", G_CALLBACK (select_state), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->head_colour_dropdown, "notify::selected", G_CALLBACK (on_selected), self,
                           G_CONNECT_SWAPPED);
  on_result (self);
}
