/* attnviz convert MODEL -o OUT.gguf [--type T] [--threads N]
 *
 * Writes MODEL (a Hugging Face LLaMA, Qwen2, GPT-2 or BERT folder, or a
 * GGUF file) as a GGUF file llama.cpp loads, its weight matrices in T
 * (engine/attnviz-convert.c says which tensor takes which type).  Notes on
 * fallbacks go to stderr, one line each; on a terminal a progress line is
 * redrawn there; the last line, on stdout, says what was written.
 */
#define G_LOG_DOMAIN "attnviz-cmd-convert"
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "attnviz-cli.h"
#include "attnviz-convert.h"

typedef struct {
  gboolean tty;
  gboolean drawn;   /* a progress line is on the terminal */
} Printer;

static void
clear_progress (Printer *pr)
{
  if (pr->drawn)
    {
      fprintf (stderr, "\r\033[K");
      pr->drawn = FALSE;
    }
}

static void
on_progress (double fraction, const char *tensor, gpointer data)
{
  Printer *pr = data;
  if (!pr->tty)
    return;
  if (tensor == NULL)
    {
      clear_progress (pr);
      return;
    }
  fprintf (stderr, "\r\033[K%3.0f%%  %s", 100.0 * fraction, tensor);
  fflush (stderr);
  pr->drawn = TRUE;
}

static void
on_note (const char *note, gpointer data)
{
  Printer *pr = data;
  clear_progress (pr);
  fprintf (stderr, "attnviz: note: %s\n", note);
}

int
attnviz_cmd_convert (int argc, char **argv)
{
  g_autofree char *out = NULL;
  g_autofree char *type_name = NULL;
  int threads = 0;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The GGUF file to write", "OUT.gguf" },
    { "type", 0, 0, G_OPTION_ARG_STRING, &type_name,
      "Type of the weight matrices: f32, f16 (default), bf16, q8_0, q4_0 or q4_k", "TYPE" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, "Threads quantizing (default: the cores)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL - write a model as GGUF for llama.cpp");
  g_autoptr(GError) error = NULL;
  gboolean help;

  g_option_context_set_summary (ctx,
    "MODEL is a Hugging Face LLaMA, Qwen2, GPT-2 or BERT folder, or a GGUF file.  Vectors (norms,\n"
    "biases) stay F32; with q4_0 and q4_k the LM head is Q8_0; rows a type's blocks do not divide\n"
    "fall back (Q4_K to Q8_0, then F16), each fallback noted on stderr.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!attnviz_cli_parse (ctx, &argc, &argv, &help))
    return help ? ATTNVIZ_EXIT_OK : ATTNVIZ_EXIT_USAGE;
  if (argc != 2)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "convert needs exactly one MODEL (see attnviz convert --help)");
  if (out == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "convert needs -o OUT.gguf");
  AttnvizConvertOptions opts = { .type = ATTNVIZ_WEIGHT_F16 };
  if (type_name != NULL && !attnviz_convert_parse_type (type_name, &opts.type))
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--type \"%s\": expected f32, f16, bf16, q8_0, q4_0 or q4_k",
                             type_name);
  if (threads < 0 || threads > 64)
    return attnviz_cli_fail (ATTNVIZ_EXIT_USAGE, "--threads %d: expected 1 to 64", threads);
  opts.n_threads = threads;

  /* Before minutes of work: the folder the file goes into must exist. */
  g_autofree char *out_dir = g_path_get_dirname (out);
  if (!g_file_test (out_dir, G_FILE_TEST_IS_DIR))
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s: the folder %s does not exist", out, out_dir);

  g_autoptr(AttnvizModel) model = attnviz_model_load (argv[1], &error);
  if (model == NULL)
    return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);

  Printer pr = { isatty (fileno (stderr)), FALSE };
  opts.progress = on_progress;
  opts.note = on_note;
  opts.user_data = &pr;
  AttnvizConvertResult res;
  if (!attnviz_convert_model (model, out, &opts, &res, &error))
    {
      clear_progress (&pr);
      return attnviz_cli_fail (ATTNVIZ_EXIT_BAD_INPUT, "%s", error->message);
    }
  clear_progress (&pr);
  g_autofree char *size = g_format_size (res.file_bytes);
  printf ("wrote %s: %s, %u tensors, weights %s (general.file_type %u), %.1f s\n", out, size, res.n_tensors,
          attnviz_weight_type_name (opts.type), res.file_type, res.seconds);
  return ATTNVIZ_EXIT_OK;
}
