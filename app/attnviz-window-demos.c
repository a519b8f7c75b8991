/* attnviz-window-demos.c: the first minute
 *
 * The welcome page offers the built-in demos (attnviz_demos_list ()), a
 * card each: "Try the Dates model" opens it with its first sample and runs
 * it, the chips under it with another.  Opening a demo model in any way
 * (Open, recent, a drop) fills the input box with its sample when the box
 * holds text that was run on, or filled for, another model, or nothing; a
 * text the user wrote or chose stays.  The sidebar's Samples menu offers the open demo's
 * samples.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include "attnviz-demos.h"
#include "attnviz-window-private.h"

/* The demo whose folder holds PATH (the folder, or a file in it), or NULL. */
static AttnvizDemo *
demo_for_path (const char *path)
{
  g_autofree char *dir = g_file_test (path, G_FILE_TEST_IS_DIR) ? g_strdup (path) : g_path_get_dirname (path);
  return attnviz_demo_load (dir, NULL);
}

static gboolean
demo_has_sample (const AttnvizDemo *demo, const char *text)
{
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  for (guint i = 0; demo->samples[i] != NULL; i++)
    if (g_str_equal (demo->samples[i], stripped))
      return TRUE;
  return FALSE;
}

void
_attnviz_window_demo_fill (AttnvizWindow *self, const char *path)
{
  /* The same model again, or a text the user wrote: nothing to replace.
   * An empty box holds nothing to keep: it gets the sample. */
  g_autofree char *text = _attnviz_window_get_text (self);
  gboolean blank = _attnviz_window_text_is_blank (text);
  if (!blank && (self->text_owner == NULL || g_strcmp0 (self->text_owner, path) == 0))
    return;
  if (!blank && self->model != NULL && g_strcmp0 (attnviz_loaded_model_get_path (self->model), path) == 0)
    return;

  g_autoptr(AttnvizDemo) demo = demo_for_path (path);
  if (demo == NULL || demo_has_sample (demo, text))
    return;
  _attnviz_window_fill_text (self, attnviz_demo_get_sample (demo), path);
}

/* The Samples menu follows the open model. */
void
_attnviz_window_update_samples (AttnvizWindow *self)
{
  g_autoptr(AttnvizDemo) demo = self->model ? demo_for_path (attnviz_loaded_model_get_path (self->model)) : NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->samples_button), demo != NULL);
  if (demo == NULL)
    {
      gtk_menu_button_set_menu_model (self->samples_button, NULL);
      return;
    }
  g_autoptr(GMenu) menu = g_menu_new ();
  for (guint i = 0; demo->samples[i] != NULL; i++)
    {
      g_autofree char *label = _attnviz_window_escape_mnemonics (demo->samples[i]);
      g_autoptr(GMenuItem) item = g_menu_item_new (label, NULL);
      g_menu_item_set_action_and_target_value (item, "win.use-sample", g_variant_new_string (demo->samples[i]));
      g_menu_append_item (menu, item);
    }
  gtk_menu_button_set_menu_model (self->samples_button, G_MENU_MODEL (menu));
}

static GtkWidget *
demo_card (const AttnvizDemo *demo)
{
  GtkWidget *card = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  gtk_widget_add_css_class (card, "card");
  gtk_widget_add_css_class (card, "attnviz-demo-card");

  g_autofree char *title = g_strdup_printf ("Try the %s model", demo->title);
  GtkWidget *button = gtk_button_new_with_label (title);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.try-demo");
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button), g_variant_new_string (demo->path));
  gtk_widget_set_tooltip_text (button, attnviz_demo_get_sample (demo));
  gtk_widget_add_css_class (button, "pill");
  gtk_widget_add_css_class (button, "suggested-action");
  gtk_box_append (GTK_BOX (card), button);

  GtkWidget *description = gtk_label_new (demo->description);
  gtk_label_set_wrap (GTK_LABEL (description), TRUE);
  gtk_label_set_xalign (GTK_LABEL (description), 0);
  gtk_label_set_max_width_chars (GTK_LABEL (description), 44);
  gtk_label_set_width_chars (GTK_LABEL (description), 20);
  gtk_widget_add_css_class (description, "dim-label");
  gtk_widget_add_css_class (description, "caption");
  gtk_box_append (GTK_BOX (card), description);

  if (demo->inputs != NULL)
    {
      /* A small trained model knows only its task's inputs: say which. */
      g_autofree char *text = g_strdup_printf ("Suits: %s", demo->inputs);
      GtkWidget *inputs = gtk_label_new (text);
      gtk_label_set_wrap (GTK_LABEL (inputs), TRUE);
      gtk_label_set_xalign (GTK_LABEL (inputs), 0);
      gtk_label_set_max_width_chars (GTK_LABEL (inputs), 44);
      gtk_label_set_width_chars (GTK_LABEL (inputs), 20);
      gtk_widget_add_css_class (inputs, "caption");
      gtk_widget_add_css_class (inputs, "attnviz-demo-inputs");
      gtk_box_append (GTK_BOX (card), inputs);
    }

  /* The other samples, as chips: one click opens and runs. */
  GtkWidget *chips = gtk_flow_box_new ();
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (chips), GTK_SELECTION_NONE);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (chips), 2);
  gtk_flow_box_set_min_children_per_line (GTK_FLOW_BOX (chips), 1);
  gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (chips), 4);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (chips), 4);
  for (guint i = 1; demo->samples[i] != NULL; i++)
    {
      GtkWidget *label = gtk_label_new (demo->samples[i]);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 16);
      GtkWidget *chip = gtk_button_new ();
      gtk_button_set_child (GTK_BUTTON (chip), label);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (chip), "win.try-demo-sample");
      gtk_actionable_set_action_target_value (GTK_ACTIONABLE (chip),
                                              g_variant_new ("(ss)", demo->path, demo->samples[i]));
      gtk_widget_set_tooltip_text (chip, demo->samples[i]);
      gtk_widget_add_css_class (chip, "attnviz-chip");
      gtk_flow_box_append (GTK_FLOW_BOX (chips), chip);
      gtk_widget_set_focusable (gtk_widget_get_parent (chip), FALSE);
    }
  gtk_box_append (GTK_BOX (card), chips);
  return card;
}

void
_attnviz_window_demos_init (AttnvizWindow *self)
{
  g_autoptr(GPtrArray) demos = attnviz_demos_list ();

  for (guint i = 0; i < demos->len; i++)
    {
      gtk_flow_box_append (self->demo_box, demo_card (g_ptr_array_index (demos, i)));
      gtk_widget_set_focusable (gtk_widget_get_last_child (GTK_WIDGET (self->demo_box)), FALSE);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->demo_box), demos->len > 0);
}
