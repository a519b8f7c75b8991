/* test-train-tasks.c: the training tasks: dates' weekdays are true, the
 * held-out split is disjoint, tasks from a file, the characters tokenizer */
#define G_LOG_DOMAIN "attnviz-test-train"
#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-task.h"
#include "attnviz-test-util.h"
#include "attnviz-train.h"

/* ---------------------------------------------------------------- tasks */

static void
test_dates_weekdays (void)
{
  static const char *const wdays[] = { "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday" };
  g_assert_cmpint (attnviz_weekday (2026, 11, 21), ==, 6); /* the "saturday 21 november 2026" */
  g_assert_cmpint (attnviz_weekday (2000, 1, 1), ==, 6);
  g_assert_cmpint (attnviz_weekday (1900, 3, 1), ==, 4);
  g_assert_cmpint (attnviz_weekday (2024, 2, 29), ==, 4);

  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("dates", 0, &error);
  g_assert_no_error (error);
  AttnvizRng rng;
  attnviz_rng_init (&rng, 11);
  int with_weekday = 0, forms_seen = 0;
  g_autoptr(GHashTable) shapes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < 4000; i++)
    {
      AttnvizExample ex = { 0 };
      attnviz_task_sample (task, &rng, &ex);
      int y, m, d;
      g_assert_cmpint (sscanf (ex.target, "%4d-%2d-%2d", &y, &m, &d), ==, 3);
      g_assert_cmpint (strlen (ex.target), ==, 10);
      g_assert_true (y >= 1900 && y <= 2099 && m >= 1 && m <= 12 && d >= 1 && d <= 31);
      /* the year and day are in the source; a weekday, if any, is the true one */
      g_autofree char *year = g_strdup_printf ("%d", y);
      g_assert_nonnull (strstr (ex.source, year));
      const char *wd = wdays[attnviz_weekday (y, m, d)];
      g_autofree char *lower = g_ascii_strdown (ex.source, -1);
      for (int k = 0; k < 7; k++)
        {
          char abbr[4];
          g_strlcpy (abbr, wdays[k], sizeof abbr);
          if (g_str_has_prefix (lower, abbr))
            {
              char want[4];
              g_strlcpy (want, wd, sizeof want);
              g_assert_true (g_str_has_prefix (lower, want));
              with_weekday++;
            }
        }
      g_assert_false (attnviz_task_is_held_out (ex.source));
      /* the form: letters as a, digits as 9 */
      g_autofree char *shape = g_strdup (ex.source);
      for (char *p = shape; *p; p++)
        *p = g_ascii_isdigit (*p) ? '9' : g_ascii_isalpha (*p) ? 'a' : *p;
      g_hash_table_add (shapes, g_steal_pointer (&shape));
      attnviz_example_clear (&ex);
    }
  forms_seen = g_hash_table_size (shapes);
  g_test_message ("%d of 4000 dates name their weekday; %d surface shapes", with_weekday, forms_seen);
  g_assert_cmpint (with_weekday, >, 1000);
  g_assert_cmpint (forms_seen, >=, 8);
}

/* The forms people type turn up: ordinal and zero-padded days beside
 * month names, capitalised and abbreviated names, doubled spaces, years
 * across 1900-2099. */
static void
test_dates_typed_forms (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("dates", 0, &error);
  g_assert_no_error (error);
  AttnvizRng rng;
  attnviz_rng_init (&rng, 5);
  g_autoptr(GRegex) ordinal = g_regex_new ("\\b(1st|2nd|3rd|[0-9]*[04-9]th|1[123]th|2[1-3](st|nd|rd))\\b", 0, 0, NULL);
  g_autoptr(GRegex) padded_word = g_regex_new ("\\b0[1-9] [A-Za-z]|[a-z] 0[1-9]\\b", 0, 0, NULL);
  g_autoptr(GRegex) capital = g_regex_new ("\\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)", 0,
                                           0, NULL);
  g_autoptr(GRegex) abbr_month = g_regex_new ("\\b(jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec)\\b", G_REGEX_CASELESS,
                                              0, NULL);
  int n_ordinal = 0, n_padded = 0, n_capital = 0, n_abbr = 0, n_spaces = 0, early = 0, late = 0;
  for (int i = 0; i < 4000; i++)
    {
      AttnvizExample ex = { 0 };
      attnviz_task_sample (task, &rng, &ex);
      g_assert_cmpint ((int) strlen (ex.source), <=, attnviz_task_get_max_source (task));
      n_ordinal += g_regex_match (ordinal, ex.source, 0, NULL);
      n_padded += g_regex_match (padded_word, ex.source, 0, NULL);
      n_capital += g_regex_match (capital, ex.source, 0, NULL);
      n_abbr += g_regex_match (abbr_month, ex.source, 0, NULL);
      n_spaces += strstr (ex.source, "  ") != NULL;
      early += g_str_has_prefix (ex.target, "19");
      late += g_str_has_prefix (ex.target, "20");
      /* every character is one the task knows */
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
      attnviz_task_encode (task, ex.source, ids);
      for (guint k = 0; k < ids->len; k++)
        g_assert_cmpint (g_array_index (ids, gint32, k), !=, ATTNVIZ_TASK_UNK);
      attnviz_example_clear (&ex);
    }
  g_test_message ("of 4000: %d ordinal days, %d zero-padded beside words, %d capitalised, %d abbreviated months, "
                  "%d doubled spaces; %d in 19xx, %d in 20xx",
                  n_ordinal, n_padded, n_capital, n_abbr, n_spaces, early, late);
  g_assert_cmpint (n_ordinal, >, 200);
  g_assert_cmpint (n_padded, >, 200);
  g_assert_cmpint (n_capital, >, 200);
  g_assert_cmpint (n_abbr, >, 200);
  g_assert_cmpint (n_spaces, >, 200);
  g_assert_cmpint (early, >, 1500);
  g_assert_cmpint (late, >, 1500);
}

static void
test_held_out_split (void)
{
  static const char *const names[] = { "copy", "reverse", "sort", "dates", "repeat" };
  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(AttnvizTask) task = attnviz_task_new (names[k], 0, &error);
      g_assert_no_error (error);
      const GArray *test = attnviz_task_get_test_set (task);
      g_assert_cmpuint (test->len, >=, 500);
      g_autoptr(GHashTable) held = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < test->len; i++)
        {
          const AttnvizExample *ex = &g_array_index (test, AttnvizExample, i);
          g_assert_true (attnviz_task_is_held_out (ex->source));
          g_assert_false (g_hash_table_contains (held, ex->source));
          g_hash_table_add (held, ex->source);
        }
      AttnvizRng rng;
      attnviz_rng_init (&rng, 3);
      for (int i = 0; i < 3000; i++)
        {
          AttnvizExample ex = { 0 };
          attnviz_task_sample (task, &rng, &ex);
          g_assert_false (g_hash_table_contains (held, ex.source));
          attnviz_example_clear (&ex);
        }
    }
}

static void
test_file_task (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("attnviz-task-XXXXXX", &error);
  g_autofree char *pairs = g_build_filename (dir, "pairs.tsv", NULL);
  g_autofree char *text = g_build_filename (dir, "text.txt", NULL);
  GString *p = g_string_new (NULL), *t = g_string_new (NULL);
  for (int i = 0; i < 200; i++)
    {
      g_string_append_printf (p, "%d plus %d\t%d\n", i, i % 7, i + i % 7);
      g_string_append_printf (t, "line %d: the quick brown fox jumps over the lazy dog, %d times.\n", i, i * 3);
    }
  g_assert_true (g_file_set_contents (pairs, p->str, -1, NULL));
  g_assert_true (g_file_set_contents (text, t->str, -1, NULL));
  g_string_free (p, TRUE);
  g_string_free (t, TRUE);

  g_autofree char *spec = g_strconcat ("file:", pairs, NULL);
  g_autoptr(AttnvizTask) task = attnviz_task_new (spec, 0, &error);
  g_assert_no_error (error);
  g_assert_true (attnviz_task_has_source (task));
  g_assert_true (attnviz_task_prefers_seq2seq (task));
  const GArray *test = attnviz_task_get_test_set (task);
  g_assert_cmpuint (test->len, >, 5);
  for (guint i = 0; i < test->len; i++)
    g_assert_true (attnviz_task_is_held_out (g_array_index (test, AttnvizExample, i).source));

  g_autofree char *spec2 = g_strconcat ("file:", text, NULL);
  g_autoptr(AttnvizTask) task2 = attnviz_task_new (spec2, 32, &error);
  g_assert_no_error (error);
  g_assert_false (attnviz_task_has_source (task2));
  AttnvizRng rng;
  attnviz_rng_init (&rng, 1);
  AttnvizExample ex = { 0 };
  attnviz_task_sample (task2, &rng, &ex);
  g_assert_null (ex.source);
  g_assert_cmpint (g_utf8_strlen (ex.target, -1), ==, 32);
  attnviz_example_clear (&ex);

  /* a short plain-text model trains on it and saves */
  AttnvizConfig c;
  attnviz_train_config_init (&c, task2, FALSE);
  c.d_model = 16;
  c.head_dim = 4;
  c.d_ff = 32;
  AttnvizTrainOptions opt;
  attnviz_train_options_init (&opt);
  opt.batch = 4;
  opt.steps = 3;
  int max_S, max_T;
  attnviz_train_context_for (task2, FALSE, &max_S, &max_T);
  g_autoptr(AttnvizTrainer) tr = attnviz_trainer_new (&c, &opt, max_S, max_T, &error);
  g_assert_no_error (error);
  AttnvizTrainLoop loop = { .eval_examples = 8 };
  AttnvizEvalResult res;
  g_assert_true (attnviz_trainer_run (tr, task2, &loop, &res, &error));
  g_assert_cmpint (res.n, >, 0);

  g_assert_null (attnviz_task_new ("file:/nonexistent/file", 0, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (attnviz_task_new ("nonsense", 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_remove (pairs);
  g_remove (text);
  g_rmdir (dir);
}

/* The chars tokenizer, as written for a trained model and read back. */
static void
test_chars_tokenizer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizTask) task = attnviz_task_new ("dates", 0, &error);
  g_autofree char *dir = g_dir_make_tmp ("attnviz-tok-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  for (int seq2seq = 0; seq2seq < 2; seq2seq++)
    {
      g_assert_true (attnviz_task_write_tokenizer (task, path, seq2seq, &error));
      AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
      g_assert_no_error (error);
      g_assert_cmpint (attnviz_tokenizer_get_kind (tok), ==, ATTNVIZ_TOKENIZER_CHARS);
      g_assert_cmpint (attnviz_tokenizer_get_vocab_size (tok), ==, attnviz_task_get_vocab_size (task));
      g_assert_cmpint (attnviz_tokenizer_get_bos_id (tok), ==, ATTNVIZ_TASK_BOS);
      g_assert_cmpint (attnviz_tokenizer_get_eos_id (tok), ==, ATTNVIZ_TASK_EOS);
      g_assert_cmpint (attnviz_tokenizer_get_pad_id (tok), ==, ATTNVIZ_TASK_PAD);
      g_assert_cmpint (attnviz_tokenizer_get_unk_id (tok), ==, ATTNVIZ_TASK_UNK);

      const char *text = "21 nov, 2026é";
      g_autoptr(GArray) toks = attnviz_tokenizer_encode (tok, text, -1, TRUE, &error);
      g_assert_no_error (error);
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
      attnviz_task_encode (task, text, ids);
      /* seq2seq: the characters then <eos>; decoder: <bos> first */
      g_assert_cmpuint (toks->len, ==, ids->len + 1);
      int first = seq2seq ? 0 : 1;
      AttnvizToken *t0 = &g_array_index (toks, AttnvizToken, seq2seq ? toks->len - 1 : 0);
      g_assert_cmpint (t0->id, ==, seq2seq ? ATTNVIZ_TASK_EOS : ATTNVIZ_TASK_BOS);
      g_assert_true (t0->special);
      for (guint i = 0; i < ids->len; i++)
        {
          AttnvizToken *t = &g_array_index (toks, AttnvizToken, first + i);
          g_assert_cmpint (t->id, ==, g_array_index (ids, gint32, i));
        }
      /* é is two bytes and unknown */
      AttnvizToken *last = &g_array_index (toks, AttnvizToken, first + ids->len - 1);
      g_assert_cmpint (last->id, ==, ATTNVIZ_TASK_UNK);
      g_assert_cmpuint (last->start, ==, strlen (text) - 2);
      g_assert_cmpuint (last->end, ==, strlen (text));
      g_autofree char *back = attnviz_tokenizer_decode (tok, (gint32 *) ids->data, ids->len - 1);
      g_assert_cmpstr (back, ==, "21 nov, 2026");
      attnviz_tokenizer_free (tok);
    }
  g_remove (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/task/dates/weekdays-are-true", test_dates_weekdays);
  g_test_add_func ("/task/dates/typed-forms-occur", test_dates_typed_forms);
  g_test_add_func ("/task/held-out-split-is-disjoint", test_held_out_split);
  g_test_add_func ("/task/file", test_file_task);
  g_test_add_func ("/task/chars-tokenizer", test_chars_tokenizer);
  return g_test_run ();
}
