/* attnviz-window-dnd.c: where models come from
 *
 * The Open Model File / Folder dialogs, files dropped on the window and
 * the recent-models menu.
 */
#define G_LOG_DOMAIN "attnviz-window"
#include "config.h"

#include <string.h>
#include "attnviz-window-private.h"

/* Menu labels take "_" as a mnemonic: "tiny-q4_k_m.gguf" shows as written. */
char *
_attnviz_window_escape_mnemonics (const char *text)
{
  GString *out = g_string_new (NULL);
  for (const char *p = text; *p; p++)
    {
      if (*p == '_')
        g_string_append_c (out, '_');
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

/* "NAME — FOLDER", the folder that holds PATH with the home folder as ~. */
static char *
recent_label_with_folder (const char *name, const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  const char *home = g_get_home_dir ();
  gsize n = strlen (home);
  if (n > 1 && g_str_has_prefix (dir, home) && (dir[n] == '/' || dir[n] == '\0'))
    return g_strdup_printf ("%s — ~%s", name, dir + n);
  return g_strdup_printf ("%s — %s", name, dir);
}

void
_attnviz_window_rebuild_recent_menu (AttnvizWindow *self)
{
  /* The last section of the Open menu (after Open Text File's). */
  int n = g_menu_model_get_n_items (G_MENU_MODEL (self->open_menu));
  GMenuModel *section = g_menu_model_get_item_link (G_MENU_MODEL (self->open_menu), n - 1, G_MENU_LINK_SECTION);
  g_auto(GStrv) paths = attnviz_recent_list ();

  g_menu_remove_all (G_MENU (section));
  guint n_paths = g_strv_length (paths);
  g_autofree char **names = g_new0 (char *, n_paths + 1);
  for (guint i = 0; i < n_paths; i++)
    names[i] = attnviz_model_display_name (paths[i]);
  for (guint i = 0; i < n_paths; i++)
    {
      /* The same model in two places (two checkouts' demos) is told apart
       * by the folder holding it. */
      gboolean twin = FALSE;
      for (guint j = 0; j < n_paths && !twin; j++)
        twin = j != i && g_str_equal (names[i], names[j]);
      g_autofree char *name = twin ? recent_label_with_folder (names[i], paths[i]) : g_strdup (names[i]);
      g_autofree char *label = _attnviz_window_escape_mnemonics (name);
      g_autoptr(GMenuItem) item = g_menu_item_new (label, NULL);
      g_menu_item_set_action_and_target_value (item, "win.open-recent", g_variant_new_string (paths[i]));
      g_menu_append_item (G_MENU (section), item);
    }
  for (guint i = 0; i < n_paths; i++)
    g_free (names[i]);
  g_object_unref (section);
}

gboolean
_attnviz_window_chooser_path (GtkNativeDialog *dialog, int response, char **path)
{
  *path = NULL;
  if (response != GTK_RESPONSE_ACCEPT)
    return FALSE;
  g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  *path = file ? g_file_get_path (file) : NULL;
  return TRUE;
}

GtkFileFilter *
_attnviz_window_make_filter (const char *name, const char *mime, const char *pattern, const char *extension)
{
  GtkFileFilter *filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, name);
  if (mime)
    gtk_file_filter_add_mime_type (filter, mime);
  gtk_file_filter_add_pattern (filter, pattern);
  if (extension)
    g_object_set_data (G_OBJECT (filter), "extension", (gpointer) extension);
  return filter;
}

static void
on_open_response (GtkNativeDialog *dialog, int response, AttnvizWindow *self)
{
  g_autofree char *path = NULL;
  if (_attnviz_window_chooser_path (dialog, response, &path))
    {
      if (path != NULL)
        attnviz_window_open (self, path);
      else
        _attnviz_window_show_error (self, "Models are read from local files; choose one on this computer.");
    }
  g_clear_object (&self->chooser);
}

void
_attnviz_window_show_open_dialog (AttnvizWindow *self, gboolean folder)
{
  if (self->chooser != NULL)
    return;

  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new (folder ? "Open Model Folder" : "Open Model File", GTK_WINDOW (self),
                                 folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER : GTK_FILE_CHOOSER_ACTION_OPEN,
                                 "_Open", "_Cancel");
  GtkFileChooser *fc = GTK_FILE_CHOOSER (chooser);

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  if (!folder)
    {
      GtkFileFilter *models = gtk_file_filter_new ();
      gtk_file_filter_set_name (models, "Models (.safetensors, .gguf)");
      gtk_file_filter_add_pattern (models, "*.safetensors");
      gtk_file_filter_add_pattern (models, "*.safetensors.index.json");
      gtk_file_filter_add_pattern (models, "*.gguf");
      gtk_file_chooser_add_filter (fc, models);
      g_object_unref (models);
      gtk_file_chooser_add_filter (fc, _attnviz_window_make_filter ("All files", NULL, "*", NULL));
    }
  if (self->model != NULL)
    {
      g_autofree char *dir = folder ? g_path_get_dirname (attnviz_loaded_model_get_path (self->model))
                                    : g_strdup (attnviz_loaded_model_get_path (self->model));
      if (!folder && !g_file_test (dir, G_FILE_TEST_IS_DIR))
        {
          char *parent = g_path_get_dirname (dir);
          g_free (dir);
          dir = parent;
        }
      g_autoptr(GFile) where = g_file_new_for_path (dir);
      gtk_file_chooser_set_current_folder (fc, where, NULL);
    }
  g_signal_connect (chooser, "response", G_CALLBACK (on_open_response), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

gboolean
_attnviz_window_on_drop (GtkDropTarget *target, const GValue *value, double x, double y, AttnvizWindow *self)
{
  GdkFileList *list = g_value_get_boxed (value);
  GSList *files = list ? gdk_file_list_get_files (list) : NULL;

  if (files == NULL)
    return FALSE;
  g_autofree char *path = g_file_get_path (files->data);
  g_slist_free (files);
  if (path == NULL)
    {
      _attnviz_window_show_error (self, "Only models on this computer can be opened.");
      return FALSE;
    }
  attnviz_window_open (self, path);
  return TRUE;
}
