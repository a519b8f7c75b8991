/* attnviz: the subcommands dispatch here before any GTK starts, so the
 * headless ones (dump, info, generate, bench, heads, render, tokenize,
 * convert, view --info) need no display. */
#define G_LOG_DOMAIN "attnviz"
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-cli.h"
#include "attnviz-fileutil.h"

#ifdef HAVE_GUI
int attnviz_gui_main (int argc, char **argv);
#endif

static const struct {
  const char *name;
  AttnvizCommandFunc func;
  const char *summary;
} commands[] = {
  { "info", attnviz_cmd_info, "Describe a model: architecture, sizes, tokenizer, context" },
  { "dump", attnviz_cmd_dump, "Run a model on a text and write every head's attention (npy, safetensors, json)" },
  { "generate", attnviz_cmd_generate, "Generate text from a causal model (greedy or sampled)" },
  { "bench", attnviz_cmd_bench, "Time the forward pass and recording of a GPT-2-sized model" },
  { "heads", attnviz_cmd_heads, "Measure every head: entropy, distance, sinks, previous-token, induction, importance" },
  { "render", attnviz_cmd_render, "Draw a head's attention as PNG, SVG or PDF" },
  { "view", attnviz_cmd_view, "Look at a dump, or at attention saved by PyTorch & co (.npy, .safetensors)" },
  { "train", attnviz_cmd_train, "Train a small transformer on a task (cross-entropy or policy gradient)" },
  { "sweep", attnviz_cmd_sweep, "Train variants of a model on a task and tabulate their accuracy" },
  { "tokenize", attnviz_cmd_tokenize, "Print the token ids of a text (a GGUF file or a model folder)" },
  { "convert", attnviz_cmd_convert, "Write a model as a GGUF file llama.cpp loads (F32 to Q4_K)" },
};

static void
print_usage (FILE *f)
{
  fprintf (f, "Usage:\n  attnviz [MODEL [TEXT]]          open the desktop app\n"
              "  attnviz COMMAND [OPTION...]     run a command without a display\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (f, "\nattnviz COMMAND --help describes each command.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* Ctrl-C or a kill while an output is being written removes its
   * temporary files (attnviz-fileutil.h) before the process dies. */
  attnviz_cleanup_install_handlers ();

  if (argc >= 2)
    {
      for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
        if (strcmp (argv[1], commands[i].name) == 0)
          {
            /* GOptionContext's help says "Usage: attnviz dump ..." */
            g_autofree char *prgname = g_strdup_printf ("attnviz %s", argv[1]);
            g_set_prgname (prgname);
            return commands[i].func (argc - 1, argv + 1);
          }
      if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
        {
          print_usage (stdout);
          return ATTNVIZ_EXIT_OK;
        }
      if (strcmp (argv[1], "--has-gui") == 0)
        {
#ifdef HAVE_GUI
          return ATTNVIZ_EXIT_OK;
#else
          return ATTNVIZ_EXIT_BAD_INPUT;
#endif
        }
      if (strcmp (argv[1], "--version") == 0)
        {
          printf ("attnviz %s\n", PACKAGE_VERSION);
          return ATTNVIZ_EXIT_OK;
        }
    }

#ifdef HAVE_GUI
  return attnviz_gui_main (argc, argv);
#else
  if (argc >= 2 && argv[1][0] != '-')
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "unknown command \"%s\" (this build has no desktop app)", argv[1]);
  print_usage (stderr);
  return ATTNVIZ_EXIT_USAGE;
#endif
}
