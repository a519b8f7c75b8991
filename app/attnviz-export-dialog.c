/* attnviz-export-dialog.c: the choices of a figure, then its file */
#define G_LOG_DOMAIN "attnviz-export-dialog"
#include "config.h"

#include <math.h>
#include <string.h>

#include "attnviz-export-dialog.h"

typedef enum {
  WIDTH_AS_SHOWN,
  WIDTH_ONE_COLUMN,      /* 3.33 in */
  WIDTH_TWO_COLUMN,      /* 7 in */
  WIDTH_CUSTOM,
} WidthPreset;

/* The dialog's fields; one copy lives for the session. */
typedef struct {
  WidthPreset preset;
  double width;          /* in UNIT */
  guint unit;            /* 0: mm, 1: in */
  double font_size;      /* points; 0: the figure's own (10, 7 for A | B | A − B) */
  gboolean title, subtitle, colorbar, transparent, keep_selection;
  char *from, *to;       /* "" : the data's */
  double dpi;
} Choices;

static Choices session = {
  WIDTH_AS_SHOWN, 85.0, 0, 0.0, TRUE, TRUE, TRUE, FALSE, FALSE, NULL, NULL, ATTNVIZ_PAINTER_PNG_DPI,
};

struct _AttnvizExportDialog
{
  AdwWindow parent_instance;

  AttnvizWindow *window;           /* weak */
  char *suggested_name;
  GtkNativeDialog *chooser;
  GtkLabel *error_label;
  AdwComboRow *width_preset;
  GtkSpinButton *width;
  GtkDropDown *unit;
  GtkSpinButton *font_size;
  GtkSwitch *title, *subtitle, *colorbar, *transparent, *keep_selection;
  GtkEditable *from, *to;
  GtkSpinButton *dpi;
};

G_DEFINE_FINAL_TYPE (AttnvizExportDialog, attnviz_export_dialog, ADW_TYPE_WINDOW)

static void
choices_read (AttnvizExportDialog *self, Choices *c)
{
  c->preset = adw_combo_row_get_selected (self->width_preset);
  c->width = gtk_spin_button_get_value (self->width);
  c->unit = gtk_drop_down_get_selected (self->unit);
  c->font_size = gtk_spin_button_get_value (self->font_size);
  c->title = gtk_switch_get_active (self->title);
  c->subtitle = gtk_switch_get_active (self->subtitle);
  c->colorbar = gtk_switch_get_active (self->colorbar);
  c->transparent = gtk_switch_get_active (self->transparent);
  c->keep_selection = gtk_switch_get_active (self->keep_selection);
  g_free (c->from);
  g_free (c->to);
  c->from = g_strstrip (g_strdup (gtk_editable_get_text (self->from)));
  c->to = g_strstrip (g_strdup (gtk_editable_get_text (self->to)));
  c->dpi = gtk_spin_button_get_value (self->dpi);
}

/* The choices as `attnviz render`'s options, checked by its own code. */
static gboolean
choices_to_figure (const Choices *c, AttnvizCliFigure *fig, GError **error)
{
  memset (fig, 0, sizeof *fig);
  fig->width_s = c->preset == WIDTH_ONE_COLUMN ? g_strdup ("one-column")
               : c->preset == WIDTH_TWO_COLUMN ? g_strdup ("two-column")
               : c->preset == WIDTH_CUSTOM ? g_strdup_printf ("%g%s", c->width, c->unit == 1 ? "in" : "mm")
               : NULL;
  fig->font_size = c->font_size;
  fig->dpi = c->dpi;
  fig->no_title = !c->title;
  fig->no_subtitle = !c->subtitle;
  fig->no_colorbar = !c->colorbar;
  fig->transparent = c->transparent;
  fig->keep_selection = c->keep_selection;
  double vmin = NAN, vmax = NAN;
  gboolean has_from = c->from && *c->from, has_to = c->to && *c->to;
  if (has_from && has_to)
    fig->range_s = g_strdup_printf ("%s:%s", c->from, c->to);
  else if (has_from || has_to)
    {
      /* One end: the other stays the data's. */
      const char *text = has_from ? c->from : c->to;
      char *end = NULL;
      double v = g_ascii_strtod (text, &end);
      if (end == NULL || *end != '\0' || !isfinite (v))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Colour range %s: expected a number",
                       text);
          attnviz_cli_figure_clear (fig);
          return FALSE;
        }
      *(has_from ? &vmin : &vmax) = v;
    }
  g_autoptr(GError) local = NULL;
  if (!attnviz_cli_figure_check (fig, vmin, vmax, &local))
    {
      /* The dialog's names for render's options. */
      static const char *const names[][2] = {
        { "--width", "Width" }, { "--font-size", "Font size" }, { "--dpi", "PNG resolution" },
        { "--range", "Fixed range" },
      };
      const char *message = local->message;
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        if (g_str_has_prefix (message, names[i][0]))
          {
            g_set_error (error, local->domain, local->code, "%s%s", names[i][1], message + strlen (names[i][0]));
            message = NULL;
            break;
          }
      if (message != NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      attnviz_cli_figure_clear (fig);
      return FALSE;
    }
  return TRUE;
}

void
attnviz_export_dialog_get_session_figure (AttnvizCliFigure *fig)
{
  if (!choices_to_figure (&session, fig, NULL))
    {
      memset (fig, 0, sizeof *fig);
      fig->vmin = fig->vmax = NAN;
    }
}

gboolean
attnviz_export_dialog_get_figure (AttnvizExportDialog *self, AttnvizCliFigure *fig, GError **error)
{
  g_return_val_if_fail (ATTNVIZ_IS_EXPORT_DIALOG (self), FALSE);

  Choices c = { 0 };
  choices_read (self, &c);
  gboolean ok = choices_to_figure (&c, fig, error);
  g_free (c.from);
  g_free (c.to);
  return ok;
}

gboolean
attnviz_export_dialog_export_to (AttnvizExportDialog *self, const char *path, GError **error)
{
  g_return_val_if_fail (ATTNVIZ_IS_EXPORT_DIALOG (self), FALSE);

  g_auto(AttnvizCliFigure) fig = { 0 };
  if (!attnviz_export_dialog_get_figure (self, &fig, error))
    return FALSE;
  choices_read (self, &session);
  if (self->window != NULL)
    attnviz_window_export_figure (self->window, path, &fig);
  gtk_window_destroy (GTK_WINDOW (self));
  return TRUE;
}

static void
show_error (AttnvizExportDialog *self, const char *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static GtkFileFilter *
make_filter (const char *name, const char *mime, const char *pattern, const char *extension)
{
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, name);
  gtk_file_filter_add_mime_type (filter, mime);
  gtk_file_filter_add_pattern (filter, pattern);
  g_object_set_data (G_OBJECT (filter), "extension", (gpointer) extension);
  return filter;
}

static void
on_chooser_response (GtkNativeDialog *dialog, int response, AttnvizExportDialog *self)
{
  g_autofree char *path = NULL;
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      path = g_file_get_path (file);
      if (path == NULL)
        show_error (self, "Exports are written to local files; choose a folder on this computer.");
      else
        {
          g_autofree char *lower = g_ascii_strdown (path, -1);
          if (!g_str_has_suffix (lower, ".png") && !g_str_has_suffix (lower, ".svg")
              && !g_str_has_suffix (lower, ".pdf"))
            {
              /* No known extension: the format of the chosen filter. */
              GtkFileFilter *filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (dialog));
              const char *ext = filter ? g_object_get_data (G_OBJECT (filter), "extension") : NULL;
              char *with = g_strconcat (path, ext ? ext : ".png", NULL);
              g_free (path);
              path = with;
            }
        }
    }
  g_clear_object (&self->chooser);
  if (path != NULL)
    {
      g_autoptr(GError) error = NULL;
      if (!attnviz_export_dialog_export_to (self, path, &error))
        show_error (self, error->message);
    }
}

static void
on_export_clicked (AttnvizExportDialog *self)
{
  g_autoptr(GError) error = NULL;
  g_auto(AttnvizCliFigure) fig = { 0 };
  if (!attnviz_export_dialog_get_figure (self, &fig, &error))
    {
      show_error (self, error->message);
      return;
    }
  show_error (self, NULL);
  if (self->chooser != NULL)
    return;

  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new ("Export Figure", GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_SAVE, "_Export",
                                 "_Cancel");
  GtkFileChooser *fc = GTK_FILE_CHOOSER (chooser);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_add_filter (fc, make_filter ("PNG image", "image/png", "*.png", ".png"));
  gtk_file_chooser_add_filter (fc, make_filter ("SVG drawing", "image/svg+xml", "*.svg", ".svg"));
  gtk_file_chooser_add_filter (fc, make_filter ("PDF document", "application/pdf", "*.pdf", ".pdf"));
  gtk_file_chooser_set_current_name (fc, self->suggested_name);
  g_signal_connect (chooser, "response", G_CALLBACK (on_chooser_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

static void
on_preset_changed (AttnvizExportDialog *self)
{
  gboolean custom = adw_combo_row_get_selected (self->width_preset) == WIDTH_CUSTOM;
  gtk_widget_set_sensitive (GTK_WIDGET (self->width), custom);
  gtk_widget_set_sensitive (GTK_WIDGET (self->unit), custom);
}

static void
on_unit_changed (AttnvizExportDialog *self)
{
  /* The same length in the other unit. */
  double v = gtk_spin_button_get_value (self->width);
  gboolean inches = gtk_drop_down_get_selected (self->unit) == 1;
  gboolean was_inches = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (self->unit), "inches"));
  if (inches == was_inches)
    return;
  g_object_set_data (G_OBJECT (self->unit), "inches", GINT_TO_POINTER (inches));
  gtk_spin_button_set_digits (self->width, inches ? 2 : 0);
  gtk_spin_button_set_value (self->width, inches ? v / 25.4 : v * 25.4);
}

/* 0 points reads "Auto": the figure's own size. */
static gboolean
on_font_size_output (GtkSpinButton *spin, gpointer data)
{
  if (gtk_spin_button_get_value (spin) > 0)
    return FALSE;
  gtk_editable_set_text (GTK_EDITABLE (spin), "Auto");
  return TRUE;
}

static int
on_font_size_input (GtkSpinButton *spin, double *value, gpointer data)
{
  if (g_ascii_strcasecmp (gtk_editable_get_text (GTK_EDITABLE (spin)), "Auto") != 0)
    return FALSE;
  *value = 0;
  return TRUE;
}

/* A row: TITLE, an optional SUBTITLE, and WIDGET at its end, named NAME. */
static GtkWidget *
add_row (AdwPreferencesGroup *group, const char *title, const char *subtitle, GtkWidget *widget, const char *name)
{
  GtkWidget *row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (widget, GTK_ALIGN_CENTER);
  gtk_widget_set_name (widget, name);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), widget);
  if (GTK_IS_SWITCH (widget))
    adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), widget);
  adw_preferences_group_add (group, row);
  return widget;
}

static GtkSwitch *
add_switch (AdwPreferencesGroup *group, const char *title, const char *subtitle, gboolean on, const char *name)
{
  GtkWidget *sw = gtk_switch_new ();
  gtk_switch_set_active (GTK_SWITCH (sw), on);
  return GTK_SWITCH (add_row (group, title, subtitle, sw, name));
}

static GtkEditable *
add_number_entry (GtkBox *box, const char *placeholder, const char *text, const char *name)
{
  GtkWidget *entry = gtk_entry_new ();
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), placeholder);
  gtk_editable_set_width_chars (GTK_EDITABLE (entry), 7);
  gtk_editable_set_text (GTK_EDITABLE (entry), text ? text : "");
  gtk_widget_set_name (entry, name);
  gtk_box_append (box, entry);
  return GTK_EDITABLE (entry);
}

static void
attnviz_export_dialog_build (AttnvizExportDialog *self)
{
  const Choices *c = &session;
  GtkWidget *page = adw_preferences_page_new ();

  /* Size */
  AdwPreferencesGroup *size = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (size, "Size");
  const char *presets[] = { "As shown", "One column (3.33 in)", "Two columns (7 in)", "Custom", NULL };
  GtkWidget *preset = adw_combo_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (preset), "Width");
  adw_combo_row_set_model (ADW_COMBO_ROW (preset), G_LIST_MODEL (gtk_string_list_new (presets)));
  adw_combo_row_set_selected (ADW_COMBO_ROW (preset), c->preset);
  gtk_widget_set_name (preset, "width-preset");
  adw_preferences_group_add (size, preset);
  self->width_preset = ADW_COMBO_ROW (preset);

  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->width = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (0.2, 3000, 1));
  gtk_widget_set_name (GTK_WIDGET (self->width), "width");
  const char *units[] = { "mm", "in", NULL };
  self->unit = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (units));
  gtk_widget_set_name (GTK_WIDGET (self->unit), "unit");
  gtk_drop_down_set_selected (self->unit, c->unit);
  g_object_set_data (G_OBJECT (self->unit), "inches", GINT_TO_POINTER (c->unit == 1));
  gtk_spin_button_set_digits (self->width, c->unit == 1 ? 2 : 0);
  gtk_spin_button_set_value (self->width, c->width);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->width));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->unit));
  add_row (size, "Custom width", "The height keeps the figure's proportions", box, "custom-width");
  g_signal_connect_swapped (preset, "notify::selected", G_CALLBACK (on_preset_changed), self);
  g_signal_connect_swapped (self->unit, "notify::selected", G_CALLBACK (on_unit_changed), self);
  on_preset_changed (self);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), size);

  /* Text */
  AdwPreferencesGroup *text = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (text, "Text");
  self->font_size = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (0, 72, 0.5));
  gtk_spin_button_set_numeric (self->font_size, FALSE);   /* new_with_range () allows digits only */
  g_signal_connect (self->font_size, "output", G_CALLBACK (on_font_size_output), NULL);
  g_signal_connect (self->font_size, "input", G_CALLBACK (on_font_size_input), NULL);
  on_font_size_output (self->font_size, NULL);   /* no change of value shows it otherwise */
  gtk_spin_button_set_value (self->font_size, c->font_size);
  add_row (text, "Font size", "Points, as in the document; Auto: the figure's own", GTK_WIDGET (self->font_size), "font-size");
  self->title = add_switch (text, "Title", "Layer and head", c->title, "title");
  self->subtitle = add_switch (text, "Subtitle", "Model, variant and size", c->subtitle, "subtitle");
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), text);

  /* Colour */
  AdwPreferencesGroup *colour = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (colour, "Colour");
  self->colorbar = add_switch (colour, "Colour bar", NULL, c->colorbar, "colorbar");
  GtkWidget *range = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->from = add_number_entry (GTK_BOX (range), "data", c->from, "range-from");
  gtk_box_append (GTK_BOX (range), gtk_label_new ("to"));
  self->to = add_number_entry (GTK_BOX (range), "data", c->to, "range-to");
  add_row (colour, "Fixed range", "Empty: the data's own", range, "range");
  self->transparent = add_switch (colour, "Transparent background", NULL, c->transparent, "transparent");
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), colour);

  /* File */
  AdwPreferencesGroup *file = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (file, "File");
  self->dpi = GTK_SPIN_BUTTON (gtk_spin_button_new_with_range (72, 1200, 1));
  gtk_spin_button_set_value (self->dpi, c->dpi);
  add_row (file, "PNG resolution", "Dots per inch, written into the file", GTK_WIDGET (self->dpi), "dpi");
  self->keep_selection = add_switch (file, "Keep the selection",
                                     "Outline the selected token or head as on screen", c->keep_selection,
                                     "keep-selection");
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), file);

  /* Header: Cancel, Export… */
  GtkWidget *header = adw_header_bar_new ();
  adw_header_bar_set_show_end_title_buttons (ADW_HEADER_BAR (header), FALSE);
  adw_header_bar_set_show_start_title_buttons (ADW_HEADER_BAR (header), FALSE);
  GtkWidget *cancel = gtk_button_new_with_mnemonic ("_Cancel");
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (gtk_window_destroy), self);
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), cancel);
  GtkWidget *export = gtk_button_new_with_mnemonic ("_Export…");
  gtk_widget_add_css_class (export, "suggested-action");
  gtk_widget_set_name (export, "export");
  g_signal_connect_swapped (export, "clicked", G_CALLBACK (on_export_clicked), self);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), export);

  self->error_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->error_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->error_label), "error");
  gtk_widget_set_margin_top (GTK_WIDGET (self->error_label), 6);
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);

  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_box_append (GTK_BOX (content), header);
  gtk_box_append (GTK_BOX (content), GTK_WIDGET (self->error_label));
  gtk_widget_set_vexpand (page, TRUE);
  gtk_box_append (GTK_BOX (content), page);
  adw_window_set_content (ADW_WINDOW (self), content);
  gtk_window_set_default_widget (GTK_WINDOW (self), export);
  /* Enter exports: the focus starts on Export…, not on Cancel (the first
   * widget GTK would give it to). */
  gtk_window_set_focus (GTK_WINDOW (self), export);
}

static void
attnviz_export_dialog_dispose (GObject *object)
{
  AttnvizExportDialog *self = ATTNVIZ_EXPORT_DIALOG (object);

  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  g_clear_weak_pointer (&self->window);
  g_clear_pointer (&self->suggested_name, g_free);
  G_OBJECT_CLASS (attnviz_export_dialog_parent_class)->dispose (object);
}

static gboolean
close_dialog (GtkWidget *widget, GVariant *args, gpointer data)
{
  gtk_window_destroy (GTK_WINDOW (widget));
  return TRUE;
}

static void
attnviz_export_dialog_class_init (AttnvizExportDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = attnviz_export_dialog_dispose;
  gtk_widget_class_add_binding (GTK_WIDGET_CLASS (klass), GDK_KEY_Escape, 0,
                                close_dialog, NULL);
}

static void
attnviz_export_dialog_init (AttnvizExportDialog *self)
{
  gtk_window_set_title (GTK_WINDOW (self), "Export Figure");
  gtk_window_set_default_size (GTK_WINDOW (self), 460, 640);
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  attnviz_export_dialog_build (self);
}

AttnvizExportDialog *
attnviz_export_dialog_new (AttnvizWindow *window, const char *suggested_name)
{
  AttnvizExportDialog *self = g_object_new (ATTNVIZ_TYPE_EXPORT_DIALOG, NULL);
  g_set_weak_pointer (&self->window, window);
  self->suggested_name = g_strdup (suggested_name);
  if (window)
    gtk_window_set_transient_for (GTK_WINDOW (self), GTK_WINDOW (window));
  return self;
}
