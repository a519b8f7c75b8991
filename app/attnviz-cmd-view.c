/* attnviz view FILE [--tokens F]: look at attention that is already made
 *
 * FILE is a dump (`attnviz dump`, any format) or attention from another
 * framework (.npy, .safetensors; attnviz-session.h).  With a display (and
 * a build with the desktop app) it opens the app's window on it; with
 * --info, or without a display, it prints a summary of a screen: the
 * file, its shape, the model and variant, the tokens and whether the rows
 * sum to 1.  Either way the file is read and checked first, so a bad one
 * is a one-line error and exit 1 before any window opens. */
#define G_LOG_DOMAIN "attnviz-cmd-view"
#include "config.h"

#include <stdio.h>

#include "attnviz-cli.h"
#include "attnviz-session.h"

#ifdef HAVE_GUI
int attnviz_gui_main (int argc, char **argv);
#endif

static gboolean
have_display (void)
{
  const char *x = g_getenv ("DISPLAY"), *w = g_getenv ("WAYLAND_DISPLAY");
  return (x != NULL && *x != '\0') || (w != NULL && *w != '\0');
}

int
attnviz_cmd_view (int argc, char **argv)
{
  g_autofree char *tokens = NULL, *source_tokens = NULL;
  gboolean info = FALSE;
  const GOptionEntry entries[] = {
    { "tokens", 0, 0, G_OPTION_ARG_FILENAME, &tokens, "The tokens of attention made elsewhere: a JSON list of strings or one per line (default: numbered)", "FILE" },
    { "source-tokens", 0, 0, G_OPTION_ARG_FILENAME, &source_tokens, "The column tokens of a non-square (L, H, T, S) tensor", "FILE" },
    { "info", 'i', 0, G_OPTION_ARG_NONE, &info, "Print a summary instead of opening the window (also what happens without a display)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("FILE - look at a dump or at attention saved by another framework");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
    "FILE: an attnviz dump (a folder, .safetensors or .json), or attention\n"
    "tensors as .npy of shape (L, H, T, T), (H, T, T), (T, T) or (L, H, T, S),\n"
    "or .safetensors holding \"attentions\" or Hugging Face's attentions.0, .1, ...");
  gboolean help;
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "view needs exactly one FILE (see attnviz view --help)");
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSession) s = attnviz_session_load (argv[1], tokens, source_tokens, 0, &error);
  if (s == NULL)
    return attnviz_cli_fail_error (error);
  g_autofree char *rows_note = attnviz_session_describe_rows (s);
  if (rows_note != NULL)
    g_printerr ("attnviz: warning: %s\n", rows_note);
#ifdef HAVE_GUI
  if (!info && have_display ())
    {
      /* the app opens it again, in its worker, as a window's session */
      g_autofree char *prgname = g_strdup ("attnviz");
      g_set_prgname (prgname);
      const char *gui_argv[8] = { "attnviz", argv[1] };
      int n = 2;
      if (tokens)
        gui_argv[n++] = "--tokens", gui_argv[n++] = tokens;
      if (source_tokens)
        gui_argv[n++] = "--source-tokens", gui_argv[n++] = source_tokens;
      gui_argv[n] = NULL;
      return attnviz_gui_main (n, (char **) gui_argv);
    }
#else
  (void) have_display;
#endif
  g_autofree char *summary = attnviz_session_describe (s);
  fputs (summary, stdout);
  return ATTNVIZ_EXIT_OK;
}
