/* attnviz-application.c: the desktop app
 *
 * `attnviz MODEL [TEXT]` opens MODEL in a window (G_APPLICATION_HANDLES_OPEN)
 * and runs it on TEXT.  The text travels as the --text option; when another
 * instance is already running it reaches that one in the platform data of
 * the open request.  AdwApplication loads style.css and style-dark.css from
 * the resource base path and follows the system's light or dark style; the
 * shortcuts window is gtk/help-overlay.ui there.
 */
#define G_LOG_DOMAIN "attnviz-application"
#include "config.h"

#include <string.h>

#include "attnviz-application.h"
#include "attnviz-text-file.h"
#include "attnviz-window.h"

#define TEXT_PLATFORM_KEY "attnviz-text"
#define TOKENS_PLATFORM_KEY "attnviz-tokens"
#define SOURCE_TOKENS_PLATFORM_KEY "attnviz-source-tokens"

struct _AttnvizApplication
{
  AdwApplication parent_instance;

  char *pending_text;   /* the --text of the open request being handled */
  char *pending_tokens; /* its --tokens and --source-tokens (absolute), for attention made elsewhere */
  char *pending_source_tokens;
};

G_DEFINE_FINAL_TYPE (AttnvizApplication, attnviz_application, ADW_TYPE_APPLICATION)

static const GOptionEntry option_entries[] = {
  { "text", 't', 0, G_OPTION_ARG_STRING, NULL, "The text to run the model on", "TEXT" },
  { "text-file", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Read the text to run the model on from FILE", "FILE" },
  { "tokens", 0, 0, G_OPTION_ARG_FILENAME, NULL, "The tokens of attention made elsewhere (attnviz view --help)", "FILE" },
  { "source-tokens", 0, 0, G_OPTION_ARG_FILENAME, NULL, "The column tokens of a non-square attention tensor", "FILE" },
  { NULL }
};

static AttnvizWindow *
get_window (AttnvizApplication *self, gboolean fresh)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL || fresh || !ATTNVIZ_IS_WINDOW (window))
    window = GTK_WINDOW (attnviz_window_new (GTK_APPLICATION (self)));
  return ATTNVIZ_WINDOW (window);
}

static void
attnviz_application_activate (GApplication *app)
{
  gtk_window_present (GTK_WINDOW (get_window (ATTNVIZ_APPLICATION (app), FALSE)));
}

static void
attnviz_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  AttnvizApplication *self = ATTNVIZ_APPLICATION (app);

  for (int i = 0; i < n_files; i++)
    {
      AttnvizWindow *window = get_window (self, i > 0);
      g_autofree char *path = g_file_get_path (files[i]);

      if (self->pending_text != NULL)
        attnviz_window_set_text (window, self->pending_text);
      gtk_window_present (GTK_WINDOW (window));
      if (path != NULL && (self->pending_tokens != NULL || self->pending_source_tokens != NULL))
        attnviz_window_open_session (window, path, self->pending_tokens, self->pending_source_tokens);
      else if (path != NULL)
        attnviz_window_open (window, path);
    }
  g_clear_pointer (&self->pending_text, g_free);
  g_clear_pointer (&self->pending_tokens, g_free);
  g_clear_pointer (&self->pending_source_tokens, g_free);
}

static int
attnviz_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  AttnvizApplication *self = ATTNVIZ_APPLICATION (app);
  const char *text = NULL;

  const char *text_file = NULL;

  if (g_variant_dict_lookup (options, "text", "&s", &text))
    {
      g_free (self->pending_text);
      self->pending_text = g_strdup (text);
    }
  const char *tokens = NULL, *source_tokens = NULL;
  /* absolute: a running instance opens them from its own folder */
  if (g_variant_dict_lookup (options, "tokens", "^&ay", &tokens))
    {
      g_free (self->pending_tokens);
      self->pending_tokens = g_canonicalize_filename (tokens, NULL);
    }
  if (g_variant_dict_lookup (options, "source-tokens", "^&ay", &source_tokens))
    {
      g_free (self->pending_source_tokens);
      self->pending_source_tokens = g_canonicalize_filename (source_tokens, NULL);
    }
  if (g_variant_dict_lookup (options, "text-file", "^&ay", &text_file))
    {
      /* Read here, with the same checks as Open Text File, so that a bad
       * file is a one-line error before any window opens. */
      g_autoptr(GError) error = NULL;
      char *contents = attnviz_text_file_read (text_file, &error);
      if (contents == NULL)
        {
          g_printerr ("attnviz: %s\n", error->message);
          return 1;
        }
      g_free (self->pending_text);
      self->pending_text = contents;
    }
  return -1;
}

static void
attnviz_application_add_platform_data (GApplication *app, GVariantBuilder *builder)
{
  AttnvizApplication *self = ATTNVIZ_APPLICATION (app);

  G_APPLICATION_CLASS (attnviz_application_parent_class)->add_platform_data (app, builder);
  if (self->pending_text != NULL)
    g_variant_builder_add (builder, "{sv}", TEXT_PLATFORM_KEY, g_variant_new_string (self->pending_text));
  if (self->pending_tokens != NULL)
    g_variant_builder_add (builder, "{sv}", TOKENS_PLATFORM_KEY, g_variant_new_bytestring (self->pending_tokens));
  if (self->pending_source_tokens != NULL)
    g_variant_builder_add (builder, "{sv}", SOURCE_TOKENS_PLATFORM_KEY,
                           g_variant_new_bytestring (self->pending_source_tokens));
}

static void
attnviz_application_before_emit (GApplication *app, GVariant *platform_data)
{
  AttnvizApplication *self = ATTNVIZ_APPLICATION (app);
  const char *text = NULL;

  G_APPLICATION_CLASS (attnviz_application_parent_class)->before_emit (app, platform_data);
  if (g_variant_lookup (platform_data, TEXT_PLATFORM_KEY, "&s", &text))
    {
      g_free (self->pending_text);
      self->pending_text = g_strdup (text);
    }
  const char *tokens = NULL;
  if (g_variant_lookup (platform_data, TOKENS_PLATFORM_KEY, "^&ay", &tokens))
    {
      g_free (self->pending_tokens);
      self->pending_tokens = g_strdup (tokens);
    }
  if (g_variant_lookup (platform_data, SOURCE_TOKENS_PLATFORM_KEY, "^&ay", &tokens))
    {
      g_free (self->pending_source_tokens);
      self->pending_source_tokens = g_strdup (tokens);
    }
}

static void
quit_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkApplication *app = user_data;
  GList *windows;

  /* Close every window so each cancels its work. */
  while ((windows = gtk_application_get_windows (app)) != NULL)
    gtk_window_destroy (windows->data);
  g_application_quit (G_APPLICATION (app));
}

static void
new_window_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  gtk_window_present (GTK_WINDOW (get_window (user_data, TRUE)));
}

static void
open_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *window = get_window (user_data, FALSE);

  gtk_window_present (GTK_WINDOW (window));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.open-folder", NULL);
}

static void
shortcuts_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  AttnvizWindow *window = get_window (user_data, FALSE);

  gtk_window_present (GTK_WINDOW (window));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-help-overlay", NULL);
}

static void
about_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkApplication *app = user_data;
  static const char *developers[] = { "The attnviz developers", NULL };

  GtkWidget *about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                                   "transient-for", gtk_application_get_active_window (app),
                                   "application-name", "attnviz",
                                   "application-icon", APPLICATION_ID,
                                   "developer-name", "The attnviz developers",
                                   "version", PACKAGE_VERSION,
                                   "comments", "See what a transformer attends to: open a model, "
                                               "run it on a text and explore every layer's and "
                                               "head's attention.",
                                   "license-type", GTK_LICENSE_MIT_X11,
                                   "developers", developers,
                                   NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_entries[] = {
  { "quit", quit_action },
  { "new-window", new_window_action },
  { "open", open_action },
  { "shortcuts", shortcuts_action },
  { "about", about_action },
};

static void
attnviz_application_startup (GApplication *app)
{
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "app.new-window", { "<Control>n", NULL } },
    { "win.show-help-overlay", { "<Control>question", NULL } },
    { "win.open-folder", { "<Control>o", NULL } },
    { "win.open-file", { "<Control><Shift>o", NULL } },
    { "win.open-text", { "<Control>t", NULL } },
    { "win.continue", { "<Control><Shift>Return", NULL } },
    { "win.run", { "<Control>Return", "<Control>KP_Enter", NULL } },
    { "win.cancel", { "Escape", NULL } },
    { "win.export", { "<Control>e", NULL } },
    { "win.view::grid", { "<Alt>1", NULL } },
    { "win.view::heatmap", { "<Alt>2", NULL } },
    { "win.view::lines", { "<Alt>3", NULL } },
    { "win.view::heads", { "<Alt>6", NULL } },
    { "win.view::qk", { "<Alt>7", NULL } },
    { "win.view::lens", { "<Alt>8", NULL } },
    { "win.view::steps", { "<Alt>9", NULL } },
    { "win.view::changes", { "<Alt>4", NULL } },
    { "win.view::compare", { "<Alt>5", NULL } },
    { "win.compare", { "<Control>d", NULL } },
    { "win.sidebar", { "F9", NULL } },
    { "win.attention::self", { "<Control>1", NULL } },
    { "win.attention::cross", { "<Control>2", NULL } },
    { "win.attention::encoder", { "<Control>3", NULL } },
    { "win.previous-step", { "<Control>bracketleft", NULL } },
    { "win.next-step", { "<Control>bracketright", NULL } },
    { "win.next-head", { "<Alt>Right", NULL } },
    { "win.go-to-token", { "<Control>g", NULL } },
    { "win.previous-head", { "<Alt>Left", NULL } },
    { "win.next-layer", { "<Alt>Down", NULL } },
    { "win.previous-layer", { "<Alt>Up", NULL } },
  };

  G_APPLICATION_CLASS (attnviz_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_entries, G_N_ELEMENTS (app_entries), app);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action, accels[i].accels);
  gtk_window_set_default_icon_name (APPLICATION_ID);
}

static void
attnviz_application_finalize (GObject *object)
{
  g_free (ATTNVIZ_APPLICATION (object)->pending_text);
  g_free (ATTNVIZ_APPLICATION (object)->pending_tokens);
  g_free (ATTNVIZ_APPLICATION (object)->pending_source_tokens);
  G_OBJECT_CLASS (attnviz_application_parent_class)->finalize (object);
}

static void
attnviz_application_class_init (AttnvizApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = attnviz_application_finalize;
  app_class->activate = attnviz_application_activate;
  app_class->open = attnviz_application_open;
  app_class->startup = attnviz_application_startup;
  app_class->handle_local_options = attnviz_application_handle_local_options;
  app_class->add_platform_data = attnviz_application_add_platform_data;
  app_class->before_emit = attnviz_application_before_emit;
}

static void
attnviz_application_init (AttnvizApplication *self)
{
  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), "[MODEL [TEXT]]");
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            "Open MODEL (a Hugging Face folder, a .safetensors or a .gguf file) "
                                            "and run it on TEXT.");
}

AttnvizApplication *
attnviz_application_new (GApplicationFlags extra_flags)
{
  return g_object_new (ATTNVIZ_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN | extra_flags,
                       "resource-base-path", "/org/attnviz/Attnviz",
                       NULL);
}

int
attnviz_gui_main (int argc, char **argv)
{
  g_autoptr(AttnvizApplication) app = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);

  /* `attnviz MODEL TEXT`: the second word is the text, not a file. */
  for (int i = 0; i < argc; i++)
    g_ptr_array_add (args, g_strdup (argv[i]));
  if (argc == 3 && argv[1][0] != '-' && argv[2][0] != '-')
    {
      g_free (args->pdata[2]);
      args->pdata[2] = g_strconcat ("--text=", argv[2], NULL);
    }
  g_ptr_array_add (args, NULL);

  g_set_application_name ("attnviz");
  app = attnviz_application_new (G_APPLICATION_DEFAULT_FLAGS);
  return g_application_run (G_APPLICATION (app), (int) args->len - 1, (char **) args->pdata);
}
