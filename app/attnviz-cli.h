/* attnviz-cli.h: what the subcommands share */
#pragma once

#include <glib.h>

#include "attnviz-forward.h"
#include "attnviz-model.h"

G_BEGIN_DECLS

enum {
  ATTNVIZ_EXIT_OK = 0,
  ATTNVIZ_EXIT_BAD_INPUT = 1,
  ATTNVIZ_EXIT_USAGE = 2,
};

/* A subcommand: argv[0] is the subcommand's name. */
typedef int (*AttnvizCommandFunc) (int argc, char **argv);

int attnviz_cmd_info (int argc, char **argv);
int attnviz_cmd_dump (int argc, char **argv);
int attnviz_cmd_generate (int argc, char **argv);
int attnviz_cmd_bench (int argc, char **argv);
int attnviz_cmd_render (int argc, char **argv);
/* render --view rollout, flow, value-weighted or qk (attnviz-cmd-render-analysis.c) */
gboolean attnviz_cmd_render_is_analysis (int argc, char **argv);
int attnviz_cmd_render_analysis (int argc, char **argv);
int attnviz_cmd_train (int argc, char **argv);
int attnviz_cmd_sweep (int argc, char **argv);
int attnviz_cmd_tokenize (int argc, char **argv);
int attnviz_cmd_convert (int argc, char **argv);
int attnviz_cmd_heads (int argc, char **argv);
int attnviz_cmd_view (int argc, char **argv);

/* Prints "attnviz: MESSAGE" on stderr and returns CODE. */
int attnviz_cli_fail (int code, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* Parses the options of a subcommand; on error prints it with the usage hint
 * and returns FALSE (exit ATTNVIZ_EXIT_USAGE).  Also FALSE with *help set
 * when --help was printed (exit 0). */
gboolean attnviz_cli_parse (GOptionContext *context, int *argc, char ***argv, gboolean *help);

/* Prints ERROR's message as attnviz_cli_fail () does and returns its exit
 * status: ATTNVIZ_EXIT_USAGE for a G_OPTION_ERROR (a bad option value),
 * else ATTNVIZ_EXIT_BAD_INPUT (a bad file). */
int attnviz_cli_fail_error (const GError *error);

/* Whether ARGV, before attnviz_cli_parse, gives the option LONG_NAME
 * ("--init", "--init=X") or its SHORT_NAME ("-l 2", "-l2"; 0: none), for
 * options whose default cannot tell whether they were given: a value that
 * would be ignored is refused instead. */
gboolean attnviz_cli_option_given (int argc, char **argv, const char *long_name, char short_name);

/* Every list option of every command goes through these.  The items of a
 * comma-separated list, blanks around each stripped; an empty list, or an
 * empty item ("1,,2", ",", ""), is a G_OPTION_ERROR naming OPTION. */
char **attnviz_cli_split_list (const char *option, const char *spec, GError **error);
/* "0,3-5" -> [0, 3, 4, 5].  NULL with a G_OPTION_ERROR naming OPTION for
 * anything else. */
int *attnviz_cli_parse_index_list (const char *option, const char *spec, int *n, GError **error);
/* "1, 2,3" -> ids (not yet checked against a vocabulary). */
gint32 *attnviz_cli_parse_ids (const char *option, const char *spec, int *n, GError **error);
/* Each of the N indices V names one of COUNT things (the model's "layers",
 * "heads"); else "OPTION: 99 is past the model's 5 layers (0-4)". */
gboolean attnviz_cli_check_indices (const char *option, const int *v, int n, int count, const char *what,
                                    GError **error);
/* OPTION's output PATH is not empty (a G_OPTION_ERROR) and may be written
 * (attnviz_output_check: no link, no FIFO or device). */
gboolean attnviz_cli_check_output (const char *option, const char *path, GError **error);

/* The file a model's tokenizer was read from, for errors that blame it. */
char *attnviz_cli_tokenizer_file (const AttnvizModel *model);

/* train's and sweep's largest --layers, --d-model, --heads and --head-dim. */
#define ATTNVIZ_CLI_MAX_TRAIN_SIZE 4096
/* --text-file larger than this is refused, not read. */
#define ATTNVIZ_CLI_MAX_TEXT_BYTES ((gsize) 64 << 20)

/* The tokens a command runs on, from exactly one of TEXT, TEXT_FILE or IDS. */
typedef struct {
  char *text;           /* the text, or NULL for --ids */
  gsize text_len;
  char *source;         /* "--text", the file name, or "--ids" */
  GArray *tokens;       /* AttnvizToken, NULL for --ids */
  gint32 *ids;          /* (T) */
  int T;
  char **token_texts;   /* (T + 1) NULL-terminated: each token's text for display */
} AttnvizCliInput;

/* Fills INPUT; on a refusal it holds nothing to free. */
gboolean attnviz_cli_input_load (AttnvizCliInput *input,
                                 const AttnvizModel *model,
                                 const char *text,
                                 const char *text_file,
                                 const char *ids,
                                 gboolean truncate,
                                 GError **error);
void attnviz_cli_input_clear (AttnvizCliInput *input);
/* (T) which tokens the tokenizer added (BOS, [CLS], [SEP]), for exclude=special. */
gboolean *attnviz_cli_input_special (const AttnvizCliInput *input);

/* Encoder-decoder models: the decoder's input for a run whose source is
 * SOURCE.  With TARGET_TEXT, BOS and its tokens (teacher forcing); without,
 * BOS and the model's greedy output for the source (attnviz_generate_seq2seq).
 * TARGET is filled like attnviz_cli_input_load () fills an input: text,
 * tokens with spans into it, ids, token_texts.  Errors: no tokenizer or BOS,
 * a target longer than the context. */
gboolean attnviz_cli_target_load (AttnvizCliInput *target,
                                  const AttnvizModel *model,
                                  const AttnvizCliInput *source,
                                  const char *target_text,
                                  const char *target_ids,
                                  GError **error);

/* What dump and render run: INPUT from exactly one of TEXT, TEXT_FILE or
 * IDS and, for an encoder-decoder MODEL, TARGET as attnviz_cli_target_load ()
 * makes it (TARGET stays zeroed otherwise).  On an error both are cleared. */
gboolean attnviz_cli_input_and_target_load (AttnvizCliInput *input,
                                            AttnvizCliInput *target,
                                            const AttnvizModel *model,
                                            const char *text,
                                            const char *text_file,
                                            const char *ids,
                                            const char *target_text,
                                            const char *target_ids,
                                            gboolean truncate,
                                            GError **error);

/* The GOptionEntry rows of the tokens a command runs on (dump, render):
 * --text, --text-file, --ids and, for encoder-decoder models, --target. */
#define ATTNVIZ_CLI_INPUT_OPTION_ENTRIES(text, text_file, ids, target, target_ids)                                           \
  { "text", 't', 0, G_OPTION_ARG_STRING, (text), "Text to run (special tokens added as the model's tokenizer says)", \
    "TEXT" },                                                                                                     \
  { "text-file", 'f', 0, G_OPTION_ARG_FILENAME, (text_file), "Read the text from a file", "FILE" },               \
  { "ids", 0, 0, G_OPTION_ARG_STRING, (ids), "Token ids, used exactly as given", "1,2,3" },                        \
  { "target", 0, 0, G_OPTION_ARG_STRING, (target),                                                                \
    "Encoder-decoder models: the target the decoder reads after BOS (default: its greedy output for the source)", \
    "TEXT" },                                                                                                     \
  { "target-ids", 0, 0, G_OPTION_ARG_STRING, (target_ids),                                                        \
    "Encoder-decoder models: the decoder's ids exactly as given, the first its start token", "0,5,9" }

G_END_DECLS
