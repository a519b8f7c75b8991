/* attnviz-task.c: the character-level tasks (see attnviz-task.h) */
#define G_LOG_DOMAIN "attnviz-task"
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "attnviz-fileutil.h"
#include "attnviz-json.h"
#include "attnviz-task.h"

/* A task file (file:PATH) larger than this is refused, not read. */
#define MAX_TASK_FILE_BYTES ((gsize) 256 << 20)

/* ---------------------------------------------------------------- random */

guint64
attnviz_splitmix64 (guint64 *s)
{
  guint64 z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void
attnviz_rng_init (AttnvizRng *rng, guint64 seed)
{
  for (int i = 0; i < 4; i++)
    rng->s[i] = attnviz_splitmix64 (&seed);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

guint64
attnviz_rng_next (AttnvizRng *rng)
{
  guint64 *s = rng->s;
  guint64 result = rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

guint32
attnviz_rng_below (AttnvizRng *rng, guint32 n)
{
  g_assert (n > 0);
  /* Lemire's multiply-shift; the bias over 2^32 is far below what matters here. */
  return (guint32) (((attnviz_rng_next (rng) >> 32) * (guint64) n) >> 32);
}

double
attnviz_rng_uniform (AttnvizRng *rng)
{
  return (attnviz_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---------------------------------------------------------------- tasks */

#define TEST_BUCKETS 10     /* one source in ten is held out */
#define TEST_SEED 0x7e57da7aull
#define MAX_FILE_CHARS 4096 /* distinct characters a file may use */
#define MAX_FILE_LINE 500   /* characters of a source or target line */

static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
/* The repeat task's symbols: letters, digits and a little punctuation,
 * so typed text runs through the induction model too. */
static const char repeat_symbols[] = "abcdefghijklmnopqrstuvwxyz0123456789 .,";
static const char date_chars[] = "abcdefghijklmnopqrstuvwxyzADFJMNOSTW0123456789 ,./-";

#define SEQ_MIN 2
#define SEQ_MAX 12
#define REPEAT_MIN 6
#define REPEAT_MAX 24

struct _AttnvizTask
{
  AttnvizTaskKind kind;
  char *spec;
  GPtrArray *chars;       /* (n_chars) UTF-8 strings, id - ATTNVIZ_TASK_FIRST_CHAR */
  GHashTable *char_ids;   /* char -> id, keys borrowed */
  int max_source;
  int max_target;
  int text_window;

  /* file tasks */
  GPtrArray *train_src;   /* pairs: sources and targets of the training lines */
  GPtrArray *train_tgt;
  GPtrArray *test_src;
  GPtrArray *test_tgt;
  GString *train_text;    /* plain text: the training and test lines joined */
  GString *test_text;

  GArray *test;           /* AttnvizExample, built on first use */
};

void
attnviz_example_clear (AttnvizExample *ex)
{
  g_clear_pointer (&ex->source, g_free);
  g_clear_pointer (&ex->target, g_free);
}

static void
example_array_clear (gpointer data)
{
  attnviz_example_clear (data);
}

static guint64
fnv1a (const char *s)
{
  guint64 h = 0xcbf29ce484222325ull;
  for (; *s; s++)
    {
      h ^= (guint8) *s;
      h *= 0x100000001b3ull;
    }
  return h;
}

gboolean
attnviz_task_is_held_out (const char *source)
{
  return fnv1a (source) % TEST_BUCKETS == 0;
}

static int
compare_chars (gconstpointer a, gconstpointer b)
{
  gunichar x = g_utf8_get_char (*(const char *const *) a);
  gunichar y = g_utf8_get_char (*(const char *const *) b);
  return x < y ? -1 : x > y;
}

/* Adds every character of TEXT (valid UTF-8) not seen yet; index_chars()
 * then sorts them and gives them their ids. */
static void
add_chars (AttnvizTask *task, const char *text)
{
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      const char *next = g_utf8_next_char (p);
      g_autofree char *s = g_strndup (p, next - p);
      if (!g_hash_table_contains (task->char_ids, s))
        {
          char *owned = g_steal_pointer (&s);
          g_ptr_array_add (task->chars, owned);
          g_hash_table_insert (task->char_ids, owned, GINT_TO_POINTER (0));
        }
    }
}

static void
index_chars (AttnvizTask *task)
{
  g_ptr_array_sort (task->chars, compare_chars);
  g_hash_table_remove_all (task->char_ids);
  for (guint i = 0; i < task->chars->len; i++)
    g_hash_table_insert (task->char_ids, g_ptr_array_index (task->chars, i),
                         GINT_TO_POINTER (ATTNVIZ_TASK_FIRST_CHAR + (int) i));
}

static gboolean
load_file (AttnvizTask *task, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  if (!attnviz_read_regular (path, MAX_TASK_FILE_BYTES, "a task file", &contents, &len, error))
    return FALSE;
  const char *bad = NULL;
  if (!g_utf8_validate_len (contents, len, &bad))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: invalid UTF-8 at byte %" G_GSIZE_FORMAT,
                   path, (gsize) (bad - contents));
      return FALSE;
    }
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);
  gboolean pairs = FALSE;
  for (int i = 0; lines[i]; i++)
    {
      g_strchomp (lines[i]);
      if (lines[i][0] != '\0' && !pairs)
        {
          pairs = strchr (lines[i], '\t') != NULL;
          break;
        }
    }

  task->kind = pairs ? ATTNVIZ_TASK_FILE_PAIRS : ATTNVIZ_TASK_FILE_TEXT;
  if (pairs)
    {
      task->train_src = g_ptr_array_new_with_free_func (g_free);
      task->train_tgt = g_ptr_array_new_with_free_func (g_free);
      task->test_src = g_ptr_array_new_with_free_func (g_free);
      task->test_tgt = g_ptr_array_new_with_free_func (g_free);
      for (int i = 0; lines[i]; i++)
        {
          g_strchomp (lines[i]);
          if (lines[i][0] == '\0')
            continue;
          char *tab = strchr (lines[i], '\t');
          if (tab == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s:%d: no tab; every line of a parallel file is source<TAB>target", path, i + 1);
              return FALSE;
            }
          *tab = '\0';
          const char *src = lines[i], *tgt = tab + 1;
          if (*src == '\0' || *tgt == '\0')
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s:%d: an empty source or target", path, i + 1);
              return FALSE;
            }
          int ls = (int) g_utf8_strlen (src, -1), lt = (int) g_utf8_strlen (tgt, -1);
          if (ls > MAX_FILE_LINE || lt > MAX_FILE_LINE)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s:%d: longer than %d characters", path, i + 1, MAX_FILE_LINE);
              return FALSE;
            }
          task->max_source = MAX (task->max_source, ls);
          task->max_target = MAX (task->max_target, lt);
          add_chars (task, src);
          add_chars (task, tgt);
          gboolean held = attnviz_task_is_held_out (src);
          g_ptr_array_add (held ? task->test_src : task->train_src, g_strdup (src));
          g_ptr_array_add (held ? task->test_tgt : task->train_tgt, g_strdup (tgt));
        }
      if (task->train_src->len == 0 || task->test_src->len == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: %u training and %u test lines: too few to split (a tenth of the sources is held out)",
                       path, task->train_src->len, task->test_src->len);
          return FALSE;
        }
    }
  else
    {
      task->train_text = g_string_new (NULL);
      task->test_text = g_string_new (NULL);
      for (int i = 0; lines[i]; i++)
        {
          if (lines[i][0] == '\0')
            continue;
          GString *to = attnviz_task_is_held_out (lines[i]) ? task->test_text : task->train_text;
          g_string_append (to, lines[i]);
          g_string_append_c (to, '\n');
          add_chars (task, lines[i]);
        }
      add_chars (task, "\n");
      glong n_train = g_utf8_strlen (task->train_text->str, -1);
      glong n_test = g_utf8_strlen (task->test_text->str, -1);
      if (n_train <= task->text_window || n_test <= task->text_window)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: %ld training and %ld test characters: each needs more than a window of %d "
                       "(a tenth of the lines is held out)", path, n_train, n_test, task->text_window);
          return FALSE;
        }
      task->max_source = 0;
      task->max_target = task->text_window;
    }
  if (task->chars->len > MAX_FILE_CHARS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %u distinct characters, more than %d",
                   path, task->chars->len, MAX_FILE_CHARS);
      return FALSE;
    }
  return TRUE;
}

AttnvizTask *
attnviz_task_new (const char *spec, int text_window, GError **error)
{
  g_return_val_if_fail (spec != NULL, NULL);

  g_autoptr(AttnvizTask) task = g_new0 (AttnvizTask, 1);
  task->spec = g_strdup (spec);
  task->chars = g_ptr_array_new_with_free_func (g_free);
  task->char_ids = g_hash_table_new (g_str_hash, g_str_equal);
  task->text_window = text_window > 0 ? text_window : 64;

  static const struct { const char *name; AttnvizTaskKind kind; const char *chars; int src, tgt; } builtin[] = {
    { "copy", ATTNVIZ_TASK_COPY, letters, SEQ_MAX, SEQ_MAX },
    { "reverse", ATTNVIZ_TASK_REVERSE, letters, SEQ_MAX, SEQ_MAX },
    { "sort", ATTNVIZ_TASK_SORT, letters, SEQ_MAX, SEQ_MAX },
    { "dates", ATTNVIZ_TASK_DATES, date_chars, 36, 10 },
    { "repeat", ATTNVIZ_TASK_REPEAT, repeat_symbols, REPEAT_MAX + 1, REPEAT_MAX - 1 },
  };
  gboolean found = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (builtin); i++)
    if (strcmp (spec, builtin[i].name) == 0)
      {
        task->kind = builtin[i].kind;
        add_chars (task, builtin[i].chars);
        task->max_source = builtin[i].src;
        task->max_target = builtin[i].tgt;
        found = TRUE;
      }
  if (!found && g_str_has_prefix (spec, "file:"))
    {
      if (!load_file (task, spec + strlen ("file:"), error))
        return NULL;
      found = TRUE;
    }
  if (!found)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "unknown task \"%s\" (expected copy, reverse, sort, dates, repeat or file:PATH)", spec);
      return NULL;
    }
  index_chars (task);
  return g_steal_pointer (&task);
}

void
attnviz_task_free (AttnvizTask *task)
{
  if (task == NULL)
    return;
  g_free (task->spec);
  g_hash_table_unref (task->char_ids);
  g_ptr_array_unref (task->chars);
  g_clear_pointer (&task->train_src, g_ptr_array_unref);
  g_clear_pointer (&task->train_tgt, g_ptr_array_unref);
  g_clear_pointer (&task->test_src, g_ptr_array_unref);
  g_clear_pointer (&task->test_tgt, g_ptr_array_unref);
  if (task->train_text)
    g_string_free (task->train_text, TRUE);
  if (task->test_text)
    g_string_free (task->test_text, TRUE);
  g_clear_pointer (&task->test, g_array_unref);
  g_free (task);
}

AttnvizTaskKind
attnviz_task_get_kind (const AttnvizTask *task)
{
  return task->kind;
}

const char *
attnviz_task_get_spec (const AttnvizTask *task)
{
  return task->spec;
}

gboolean
attnviz_task_has_source (const AttnvizTask *task)
{
  return task->kind != ATTNVIZ_TASK_FILE_TEXT;
}

gboolean
attnviz_task_has_separator (const AttnvizTask *task)
{
  return task->kind != ATTNVIZ_TASK_REPEAT;
}

gboolean
attnviz_task_prefers_seq2seq (const AttnvizTask *task)
{
  return task->kind != ATTNVIZ_TASK_FILE_TEXT && task->kind != ATTNVIZ_TASK_REPEAT;
}

int
attnviz_task_get_vocab_size (const AttnvizTask *task)
{
  return ATTNVIZ_TASK_FIRST_CHAR + (int) task->chars->len;
}

const char *
attnviz_task_get_char (const AttnvizTask *task, int id)
{
  if (id < ATTNVIZ_TASK_FIRST_CHAR || id >= attnviz_task_get_vocab_size (task))
    return NULL;
  return g_ptr_array_index (task->chars, id - ATTNVIZ_TASK_FIRST_CHAR);
}

void
attnviz_task_encode (const AttnvizTask *task, const char *text, GArray *ids)
{
  char buf[8];
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gsize n = g_utf8_next_char (p) - p;
      memcpy (buf, p, n);
      buf[n] = '\0';
      gpointer v = g_hash_table_lookup (task->char_ids, buf);
      gint32 id = v ? GPOINTER_TO_INT (v) : ATTNVIZ_TASK_UNK;
      g_array_append_val (ids, id);
    }
}

char *
attnviz_task_decode (const AttnvizTask *task, const gint32 *ids, int n)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < n; i++)
    {
      const char *c = attnviz_task_get_char (task, ids[i]);
      if (c != NULL)
        g_string_append (s, c);
    }
  return g_string_free (s, FALSE);
}

int
attnviz_task_get_max_source (const AttnvizTask *task)
{
  return task->max_source;
}

int
attnviz_task_get_max_target (const AttnvizTask *task)
{
  return task->max_target;
}

/* ---------------------------------------------------------------- dates */

static const char *const month_names[12] = {
  "january", "february", "march", "april", "may", "june", "july",
  "august", "september", "october", "november", "december",
};
static const char *const weekday_names[7] = {
  "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
};

int
attnviz_weekday (int y, int m, int d)
{
  /* Sakamoto's method. */
  static const int t[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };
  if (m < 3)
    y -= 1;
  return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static int
days_in_month (int y, int m)
{
  static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  gboolean leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return days[m - 1] + (m == 2 && leap);
}

/* A name as typed: whole or its first three letters, in lower case or
 * capitalised. */
static void
typed_name (GString *out, const char *name, AttnvizRng *rng)
{
  gsize start = out->len;
  if (attnviz_rng_below (rng, 2))
    g_string_append (out, name);
  else
    g_string_append_len (out, name, 3);
  if (attnviz_rng_below (rng, 3) == 0)
    out->str[start] = g_ascii_toupper (out->str[start]);
}

/* A day in words' company: 3, 03 or 3rd. */
static void
typed_day (GString *out, int d, AttnvizRng *rng)
{
  switch (attnviz_rng_below (rng, 3))
    {
    case 0: g_string_append_printf (out, "%d", d); break;
    case 1: g_string_append_printf (out, "%02d", d); break;
    default:
      {
        const char *suffix = d % 10 == 1 && d != 11 ? "st" : d % 10 == 2 && d != 12 ? "nd"
                             : d % 10 == 3 && d != 13 ? "rd" : "th";
        g_string_append_printf (out, "%d%s", d, suffix);
        break;
      }
    }
}

/* A date as a person might type it: the layouts below ("W" a weekday,
 * "D" a day, "M" a month's name, "Y" the year; numeric days and months
 * with or without their zero), names whole or abbreviated, lower case or
 * capitalised, days plain, zero-padded or ordinal, and now and then a
 * doubled space.  The target is always YYYY-MM-DD. */
static void
sample_date (AttnvizRng *rng, AttnvizExample *ex)
{
  int y = 1900 + (int) attnviz_rng_below (rng, 200);
  int m = 1 + (int) attnviz_rng_below (rng, 12);
  int d = 1 + (int) attnviz_rng_below (rng, days_in_month (y, m));
  const char *month = month_names[m - 1], *wday = weekday_names[attnviz_weekday (y, m, d)];
  static const char *const layouts[] = {
    "W D M Y", "D M Y", "M D, Y", "M D Y", "W, M D, Y", "W, D M Y", "W D/N/Y", "D/N/Y", "D.N.Y", "W M D Y",
  };
  const char *layout = layouts[attnviz_rng_below (rng, G_N_ELEMENTS (layouts))];
  gboolean pad = attnviz_rng_below (rng, 2); /* numeric day and month: 03/06 or 3/6 */
  g_autoptr(GString) src = g_string_new (NULL);
  gboolean numeric = strchr (layout, 'N') != NULL;
  for (const char *p = layout; *p; p++)
    switch (*p)
      {
      case 'W': typed_name (src, wday, rng); break;
      case 'M': typed_name (src, month, rng); break;
      case 'Y': g_string_append_printf (src, "%d", y); break;
      case 'N': g_string_append_printf (src, pad ? "%02d" : "%d", m); break;
      case 'D':
        if (numeric)
          g_string_append_printf (src, pad ? "%02d" : "%d", d);
        else
          typed_day (src, d, rng);
        break;
      case ' ':
        g_string_append (src, attnviz_rng_below (rng, 8) == 0 ? "  " : " ");
        break;
      default: g_string_append_c (src, *p); break;
      }
  ex->source = g_string_free (g_steal_pointer (&src), FALSE);
  ex->target = g_strdup_printf ("%04d-%02d-%02d", y, m, d);
}

/* ---------------------------------------------------------------- sampling */

static int
compare_char (gconstpointer a, gconstpointer b)
{
  return *(const char *) a - *(const char *) b;
}

/* One example, held out or not. */
static void
sample_any (const AttnvizTask *task, AttnvizRng *rng, gboolean test, AttnvizExample *ex)
{
  char buf[REPEAT_MAX + 1];
  switch (task->kind)
    {
    case ATTNVIZ_TASK_COPY:
    case ATTNVIZ_TASK_REVERSE:
    case ATTNVIZ_TASK_SORT:
      {
        int n = SEQ_MIN + (int) attnviz_rng_below (rng, SEQ_MAX - SEQ_MIN + 1);
        for (int i = 0; i < n; i++)
          buf[i] = letters[attnviz_rng_below (rng, 26)];
        buf[n] = '\0';
        ex->source = g_strdup (buf);
        if (task->kind == ATTNVIZ_TASK_REVERSE)
          g_strreverse (buf);
        else if (task->kind == ATTNVIZ_TASK_SORT)
          qsort (buf, n, 1, compare_char);
        ex->target = g_strdup (buf);
        break;
      }
    case ATTNVIZ_TASK_REPEAT:
      {
        /* Distinct symbols: the first occurrence of each is unambiguous. */
        char pool[sizeof repeat_symbols];
        int n_pool = (int) strlen (repeat_symbols);
        memcpy (pool, repeat_symbols, sizeof pool);
        int n = REPEAT_MIN + (int) attnviz_rng_below (rng, REPEAT_MAX - REPEAT_MIN + 1);
        for (int i = 0; i < n; i++)
          {
            int j = i + (int) attnviz_rng_below (rng, n_pool - i);
            char t = pool[i];
            pool[i] = pool[j];
            pool[j] = t;
            buf[i] = pool[i];
          }
        /* source "s s0", target "s1 ... s(n-1)": the run, then its second
         * copy from its first symbol on (the one thing no model can guess) */
        buf[n] = '\0';
        ex->source = g_strdup_printf ("%s%c", buf, buf[0]);
        ex->target = g_strdup (buf + 1);
        break;
      }
    case ATTNVIZ_TASK_DATES:
      sample_date (rng, ex);
      break;
    case ATTNVIZ_TASK_FILE_PAIRS:
      {
        GPtrArray *src = test ? task->test_src : task->train_src;
        GPtrArray *tgt = test ? task->test_tgt : task->train_tgt;
        guint i = attnviz_rng_below (rng, src->len);
        ex->source = g_strdup (g_ptr_array_index (src, i));
        ex->target = g_strdup (g_ptr_array_index (tgt, i));
        break;
      }
    case ATTNVIZ_TASK_FILE_TEXT:
      {
        GString *text = test ? task->test_text : task->train_text;
        glong n_chars = g_utf8_strlen (text->str, -1);
        glong start = attnviz_rng_below (rng, (guint32) (n_chars - task->text_window));
        const char *a = g_utf8_offset_to_pointer (text->str, start);
        const char *b = g_utf8_offset_to_pointer (a, task->text_window);
        ex->source = NULL;
        ex->target = g_strndup (a, b - a);
        break;
      }
    default:
      g_assert_not_reached ();
    }
}

void
attnviz_task_sample (const AttnvizTask *task, AttnvizRng *rng, AttnvizExample *ex)
{
  for (;;)
    {
      sample_any (task, rng, FALSE, ex);
      /* File tasks are split already. */
      if (task->kind == ATTNVIZ_TASK_FILE_PAIRS || task->kind == ATTNVIZ_TASK_FILE_TEXT
          || !attnviz_task_is_held_out (ex->source))
        return;
      attnviz_example_clear (ex);
    }
}

const GArray *
attnviz_task_get_test_set (AttnvizTask *task)
{
  if (task->test != NULL)
    return task->test;
  task->test = g_array_new (FALSE, TRUE, sizeof (AttnvizExample));
  g_array_set_clear_func (task->test, example_array_clear);

  if (task->kind == ATTNVIZ_TASK_FILE_PAIRS)
    {
      for (guint i = 0; i < task->test_src->len && i < 2000; i++)
        {
          AttnvizExample ex = { g_strdup (g_ptr_array_index (task->test_src, i)),
                                g_strdup (g_ptr_array_index (task->test_tgt, i)) };
          g_array_append_val (task->test, ex);
        }
      return task->test;
    }
  if (task->kind == ATTNVIZ_TASK_FILE_TEXT)
    {
      /* Windows side by side, at most 500 of them. */
      const char *p = task->test_text->str;
      for (int i = 0; i < 500; i++)
        {
          if (g_utf8_strlen (p, -1) < task->text_window)
            break;
          const char *end = g_utf8_offset_to_pointer (p, task->text_window);
          AttnvizExample ex = { NULL, g_strndup (p, end - p) };
          g_array_append_val (task->test, ex);
          p = end;
        }
      return task->test;
    }

  /* Generated tasks: distinct held-out sources from a fixed stream. */
  int want = task->kind == ATTNVIZ_TASK_REPEAT ? 500 : 1000;
  AttnvizRng rng;
  attnviz_rng_init (&rng, TEST_SEED ^ fnv1a (task->spec));
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int tries = 0; (int) task->test->len < want && tries < 1000 * want; tries++)
    {
      AttnvizExample ex = { 0 };
      sample_any (task, &rng, TRUE, &ex);
      if (!attnviz_task_is_held_out (ex.source) || g_hash_table_contains (seen, ex.source))
        {
          attnviz_example_clear (&ex);
          continue;
        }
      g_hash_table_add (seen, g_strdup (ex.source));
      g_array_append_val (task->test, ex);
    }
  return task->test;
}

/* ---------------------------------------------------------------- tokenizer */

gboolean
attnviz_task_write_tokenizer (const AttnvizTask *task, const char *path, gboolean seq2seq, GError **error)
{
  static const char *const specials[] = { "<pad>", "<bos>", "<eos>", "<unk>" };
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, "1.0");
  json_builder_set_member_name (b, "model");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "attnviz-chars");
  json_builder_set_member_name (b, "vocab");
  json_builder_begin_object (b);
  for (int i = 0; i < ATTNVIZ_TASK_FIRST_CHAR; i++)
    {
      json_builder_set_member_name (b, specials[i]);
      json_builder_add_int_value (b, i);
    }
  for (guint i = 0; i < task->chars->len; i++)
    {
      json_builder_set_member_name (b, g_ptr_array_index (task->chars, i));
      json_builder_add_int_value (b, ATTNVIZ_TASK_FIRST_CHAR + i);
    }
  json_builder_end_object (b);
  static const char *const keys[] = { "pad_token", "bos_token", "eos_token", "unk_token" };
  for (int i = 0; i < 4; i++)
    {
      json_builder_set_member_name (b, keys[i]);
      json_builder_add_string_value (b, specials[i]);
    }
  json_builder_set_member_name (b, "add_bos_token");
  json_builder_add_boolean_value (b, !seq2seq);
  json_builder_set_member_name (b, "add_eos_token");
  json_builder_add_boolean_value (b, seq2seq);
  json_builder_end_object (b);
  json_builder_end_object (b);

  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return attnviz_json_write (path, root, TRUE, error);
}
