/* attnviz-task.h: small character-level tasks to train transformers on
 *
 * Built in, generated from a seed:
 *   copy      "qmzva" -> "qmzva"          (2-12 letters)
 *   reverse   "qmzva" -> "avzmq"
 *   sort      "qmzva" -> "amqvz"
 *   dates     "saturday 21 november 2026" -> "2026-11-21", eight surface
 *             forms ("21 nov 2026", "november 21, 2026", "sat 21/11/2026",
 *             "21.11.2026", ...), years 1900-2099, weekdays always the
 *             true ones
 *   repeat    "k3x.bk" -> "3x.b": a run of distinct random symbols, then
 *             the same run again, the model continuing it from the second
 *             copy's first symbol; a decoder-only model reads it as one text
 *             "<bos> k3x.bk3x.b" (no separator) and learns it with induction
 *             heads: the next symbol is the one after the earlier occurrence
 *             of the current one
 * and from a file ("file:PATH"):
 *   lines "source<TAB>target" -> a parallel corpus for encoder-decoders;
 *   anything else -> plain text for a decoder (windows of the text).
 *
 * Every example has a source and a target.  The held-out test split is the
 * examples whose source hashes (FNV-1a, 64 bit) into one bucket of ten:
 * training never samples them, so no test source is ever trained on.  The
 * test set does not depend on the training seed, so every model trained on a
 * task is measured on the same examples.
 *
 * Token ids, shared by every task: 0 <pad>, 1 <bos>, 2 <eos>, 3 <unk>, then
 * the task's characters in code point order.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

enum {
  ATTNVIZ_TASK_PAD = 0,
  ATTNVIZ_TASK_BOS = 1,
  ATTNVIZ_TASK_EOS = 2,
  ATTNVIZ_TASK_UNK = 3,
  ATTNVIZ_TASK_FIRST_CHAR = 4,
};

/* xoshiro256**, seeded through splitmix64: the same numbers on every
 * machine and GLib version. */
typedef struct {
  guint64 s[4];
} AttnvizRng;

/* splitmix64: the next number of the sequence at *S, advancing it; also
 * what a random model's weights are drawn from (attnviz-model-new.c). */
guint64 attnviz_splitmix64 (guint64 *s);
void attnviz_rng_init (AttnvizRng *rng, guint64 seed);
guint64 attnviz_rng_next (AttnvizRng *rng);
/* Uniform in [0, n), n > 0. */
guint32 attnviz_rng_below (AttnvizRng *rng, guint32 n);
/* Uniform in [0, 1). */
double attnviz_rng_uniform (AttnvizRng *rng);

typedef enum {
  ATTNVIZ_TASK_COPY,
  ATTNVIZ_TASK_REVERSE,
  ATTNVIZ_TASK_SORT,
  ATTNVIZ_TASK_DATES,
  ATTNVIZ_TASK_REPEAT,
  ATTNVIZ_TASK_FILE_PAIRS,
  ATTNVIZ_TASK_FILE_TEXT,
} AttnvizTaskKind;

/* A plain-text example has source == NULL: the target is a window of the
 * text that a decoder predicts from its first character on. */
typedef struct {
  char *source;
  char *target;
} AttnvizExample;

void attnviz_example_clear (AttnvizExample *ex);

typedef struct _AttnvizTask AttnvizTask;

/* SPEC: "copy", "reverse", "sort", "dates", "repeat" or "file:PATH".
 * TEXT_WINDOW is the length in characters of a plain-text window (file
 * tasks without tabs), 0 for the default of 64.  Errors: an unknown name,
 * an unreadable file, invalid UTF-8, a file with too little to split. */
AttnvizTask *attnviz_task_new (const char *spec, int text_window, GError **error);
void attnviz_task_free (AttnvizTask *task);

AttnvizTaskKind attnviz_task_get_kind (const AttnvizTask *task);
const char *attnviz_task_get_spec (const AttnvizTask *task);
/* TRUE when the task maps a source to a target (all but plain text); an
 * encoder-decoder suits it, a decoder-only model reads "<bos> source <eos>
 * target <eos>". */
gboolean attnviz_task_has_source (const AttnvizTask *task);
/* FALSE for repeat: a decoder-only model reads "<bos> source target" with
 * no <eos> between or after (and is asked for exactly as many tokens as
 * the target has). */
gboolean attnviz_task_has_separator (const AttnvizTask *task);
/* The model the task suits by default: repeat and plain text train a
 * decoder, the others an encoder-decoder. */
gboolean attnviz_task_prefers_seq2seq (const AttnvizTask *task);

/* Vocabulary: specials plus the characters. */
int attnviz_task_get_vocab_size (const AttnvizTask *task);
/* The character of id ID (>= ATTNVIZ_TASK_FIRST_CHAR) as UTF-8, or NULL. */
const char *attnviz_task_get_char (const AttnvizTask *task, int id);
/* Appends the ids of TEXT's characters to IDS (gint32); unknown
 * characters become ATTNVIZ_TASK_UNK. */
void attnviz_task_encode (const AttnvizTask *task, const char *text, GArray *ids);
/* The text of IDS, specials left out. */
char *attnviz_task_decode (const AttnvizTask *task, const gint32 *ids, int n);

/* The longest source and target, in characters. */
int attnviz_task_get_max_source (const AttnvizTask *task);
int attnviz_task_get_max_target (const AttnvizTask *task);

/* A training example (never one of the test split). */
void attnviz_task_sample (const AttnvizTask *task, AttnvizRng *rng, AttnvizExample *ex);
/* The held-out examples (AttnvizExample), generated once. */
const GArray *attnviz_task_get_test_set (AttnvizTask *task);
/* Whether SOURCE falls in the held-out bucket. */
gboolean attnviz_task_is_held_out (const char *source);

/* Writes DIR/tokenizer.json: the "attnviz-chars" tokenizer of the task's
 * vocabulary.  With SEQ2SEQ, add_special appends <eos> (the source format);
 * otherwise it prepends <bos>. */
gboolean attnviz_task_write_tokenizer (const AttnvizTask *task,
                                       const char *path,
                                       gboolean seq2seq,
                                       GError **error);

/* Day of the week of a Gregorian date, 0 = Sunday (for the dates task and
 * its test). */
int attnviz_weekday (int year, int month, int day);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttnvizTask, attnviz_task_free)

G_END_DECLS
