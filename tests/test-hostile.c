/* Hostile input (issue 8): every place a file or an argument enters the
 * attnviz executable, tried as an attacker would.
 *
 * One table, one case per row: a setup that plants the hostile file or
 * option in a scratch folder (a copy of the gpt2-tiny fixture at @M, the
 * folder itself at @T), the command, and what must come back: the exit
 * status (1 a bad file, 2 a bad option), exactly one line on stderr naming
 * the file or option, no sanitizer report, no hang (a time limit), and
 * not one file in the scratch folder new or changed (a FIFO is still a
 * FIFO, a link still the same link, no temporary left behind).
 *
 * The cases a table does not fit follow it: outputs that succeed (modes,
 * the umask), folders written whole (two dumps at once, a full disk),
 * signals during a write, valid JSON out of hostile tokens, and an
 * address-space limit. */
#define G_LOG_DOMAIN "test-hostile"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "attnviz-test-util.h"

/* Long enough for an ASan build on a busy machine, short enough to call a
 * blocked read a hang. */
#define RUN_TIMEOUT_S 120

/* ---- the scratch folder --------------------------------------------------- */

typedef struct {
  char *tmp;    /* @T */
  char *model;  /* @M = @T/m, a copy of the gpt2-tiny fixture */
} Ctx;

static char *
expand (const Ctx *ctx, const char *s)
{
  g_autoptr(GString) out = g_string_new (s);
  g_string_replace (out, "@M", ctx->model, 0);
  g_string_replace (out, "@T", ctx->tmp, 0);
  return g_strdup (out->str);
}

static void
put_bytes (const Ctx *ctx, const char *where, const char *data, gsize len)
{
  g_autofree char *path = expand (ctx, where);
  g_unlink (path);
  g_autoptr(GError) error = NULL;
  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
}

static void
put (const Ctx *ctx, const char *where, const char *text)
{
  put_bytes (ctx, where, text, strlen (text));
}

static void
put_fifo (const Ctx *ctx, const char *where)
{
  g_autofree char *path = expand (ctx, where);
  g_unlink (path);
  g_assert_cmpint (mkfifo (path, 0644), ==, 0);
}

static void
put_link (const Ctx *ctx, const char *where, const char *target)
{
  g_autofree char *path = expand (ctx, where);
  g_autofree char *to = expand (ctx, target);
  g_unlink (path);
  g_assert_cmpint (symlink (to, path), ==, 0);
}

static void
copy_fixture (const Ctx *ctx, const char *fixture)
{
  static const char *const files[] = { "config.json", "model.safetensors" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *src = attnviz_test_fixture_path (fixture, files[i], NULL);
      g_autofree char *dst = g_build_filename (ctx->model, files[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (src, &data, &len, NULL));
      g_unlink (dst);
      g_assert_true (g_file_set_contents (dst, data, (gssize) len, NULL));
    }
}

/* N opening brackets: ~100 KB of them crashed json-glib's recursion. */
static char *
brackets (gsize n)
{
  char *s = g_malloc (n + 1);
  memset (s, '[', n);
  s[n] = '\0';
  return s;
}

/* config.json with KEY set to the raw JSON text VALUE (which json-glib may
 * not even read the same way: huge integers), or removed when VALUE is
 * NULL. */
static void
config_set_raw (const Ctx *ctx, const char *key, const char *value)
{
  g_autofree char *path = g_build_filename (ctx->model, "config.json", NULL);
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_file (p, path, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  if (json_object_has_member (o, key))
    json_object_remove_member (o, key);
  g_autofree char *text = json_to_string (json_parser_get_root (p), TRUE);
  g_autofree char *member = value ? g_strdup_printf ("{\n  \"%s\": %s,", key, value) : g_strdup ("{");
  g_autofree char *edited = g_strconcat (member, text + 1, NULL);
  g_assert_true (g_file_set_contents (path, edited, -1, NULL));
}

/* Every float of tensor NAME in @M/model.safetensors set to VALUE. */
static void
set_tensor (const Ctx *ctx, const char *name, float value)
{
  g_autofree char *path = g_build_filename (ctx->model, "model.safetensors", NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  guint64 hlen;
  memcpy (&hlen, data, 8);
  hlen = GUINT64_FROM_LE (hlen);
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, data + 8, (gssize) hlen, NULL));
  JsonObject *t = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)), name);
  g_assert_nonnull (t);
  g_assert_cmpstr (json_object_get_string_member (t, "dtype"), ==, "F32");
  JsonArray *off = json_object_get_array_member (t, "data_offsets");
  gint64 begin = json_array_get_int_element (off, 0), end = json_array_get_int_element (off, 1);
  for (gint64 at = begin; at < end; at += 4)
    memcpy (data + 8 + hlen + at, &value, 4);
  g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));
}

/* A small WordPiece tokenizer.json over ids 0..4, with ADDED as its
 * added_tokens array (raw JSON). */
static char *
wordpiece_json (const char *added)
{
  return g_strdup_printf ("{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
                          "\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"a\": 3, \"b\": 4}}, "
                          "\"added_tokens\": %s}", added ? added : "[]");
}

#define SPM_JSON                                                                                       \
  "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, \"\xe2\x96\x81" \
  "a\": 3, \"a\": 4}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": "  \
  "\"\xe2\x96\x81\"}}"

/* ---- snapshots: nothing new, nothing changed ---------------------------- */

static void
snapshot_dir (GString *out, const char *root, const char *rel)
{
  g_autofree char *dir = rel[0] ? g_build_filename (root, rel, NULL) : g_strdup (root);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    {
      /* g_ptr_array_sort passes pointers to the elements */
      const char *n = g_ptr_array_index (names, i);
      g_autofree char *child_rel = rel[0] ? g_build_filename (rel, n, NULL) : g_strdup (n);
      g_autofree char *child = g_build_filename (root, child_rel, NULL);
      struct stat st;
      g_assert_cmpint (lstat (child, &st), ==, 0);
      g_string_append_printf (out, "%s mode %o size %lld ino %llu mtime %lld.%09ld", child_rel,
                              (unsigned) st.st_mode, (long long) st.st_size, (unsigned long long) st.st_ino,
                              (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
      if (S_ISLNK (st.st_mode))
        {
          g_autofree char *target = g_file_read_link (child, NULL);
          g_string_append_printf (out, " -> %s", target);
        }
      g_string_append_c (out, '\n');
      if (S_ISDIR (st.st_mode))
        snapshot_dir (out, root, child_rel);
    }
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static char *
snapshot (const char *root)
{
  GString *out = g_string_new (NULL);
  snapshot_dir (out, root, "");
  /* sort the lines (the recursion interleaves) */
  g_auto(GStrv) lines = g_strsplit (out->str, "\n", -1);
  g_string_free (out, TRUE);
  qsort (lines, g_strv_length (lines), sizeof (char *), compare_names);
  return g_strjoinv ("\n", lines);
}

/* Hidden temporaries (".NAME.XXXXXX") anywhere under ROOT, each logged
 * when LOG. */
static guint
count_hidden_logged (const char *root, gboolean log)
{
  g_autofree char *snap = snapshot (root);
  g_auto(GStrv) lines = g_strsplit (snap, "\n", -1);
  guint n = 0;
  for (int i = 0; lines[i]; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], " ", 2);
      if (fields[0] == NULL)
        continue;
      g_autofree char *base = g_path_get_basename (fields[0]);
      if (base[0] == '.' && strcmp (base, ".") != 0)
        {
          if (log)
            g_test_message ("left behind: %s", lines[i]);
          n++;
        }
    }
  return n;
}

static guint
count_hidden (const char *root)
{
  return count_hidden_logged (root, TRUE);
}

/* ---- running attnviz with a time limit and a child setup ------------------ */

typedef struct {
  mode_t umask;          /* 0: leave the umask */
  rlim_t fsize;          /* 0: no file-size limit */
  rlim_t as;             /* 0: no address-space limit */
} ChildLimits;

static void
child_setup (gpointer data)
{
  const ChildLimits *l = data;
  if (l == NULL)
    return;
  if (l->umask)
    umask (l->umask);
  if (l->fsize)
    {
      /* write () then fails with EFBIG, as on a full disk, instead of the
       * process dying of SIGXFSZ. */
      signal (SIGXFSZ, SIG_IGN);
      struct rlimit r = { l->fsize, l->fsize };
      setrlimit (RLIMIT_FSIZE, &r);
    }
  if (l->as)
    {
      struct rlimit r = { l->as, l->as };
      setrlimit (RLIMIT_AS, &r);
    }
}

typedef struct {
  gboolean done;
  gboolean timed_out;
  char *out;
  char *err;
} Wait;

static void
communicated (GObject *source, GAsyncResult *result, gpointer data)
{
  Wait *w = data;
  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &w->out, &w->err, NULL);
  w->done = TRUE;
}

static gboolean
timed_out (gpointer data)
{
  ((Wait *) data)->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static GSubprocess *
spawn (const char *const *args, const ChildLimits *limits)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("ATTNVIZ_EXE"));
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                | G_SUBPROCESS_FLAGS_STDERR_PIPE
                                                                | G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_subprocess_launcher_setenv (l, "OPENBLAS_NUM_THREADS", "1", TRUE);
  if (limits)
    g_subprocess_launcher_set_child_setup (l, child_setup, (gpointer) limits, NULL);
  g_autoptr(GError) error = NULL;
  GSubprocess *p = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  return p;
}

/* Runs attnviz ARGS and waits at most RUN_TIMEOUT_S for it: a hang is a
 * failure, not a stuck test. */
static void
run_limited (AttnvizTestRun *r, const char *const *args, const ChildLimits *limits)
{
  g_autoptr(GSubprocess) p = spawn (args, limits);
  Wait w = { 0 };
  g_subprocess_communicate_utf8_async (p, "", NULL, communicated, &w);
  guint timer = g_timeout_add_seconds (RUN_TIMEOUT_S, timed_out, &w);
  while (!w.done && !w.timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (w.timed_out)
    {
      g_subprocess_force_exit (p);
      while (!w.done)
        g_main_context_iteration (NULL, TRUE);
      g_test_message ("attnviz %s ... hung", args[0]);
      g_assert_not_reached ();
    }
  g_source_remove (timer);
  g_subprocess_wait (p, NULL, NULL);
  g_assert_true (g_subprocess_get_if_exited (p));
  r->status = g_subprocess_get_exit_status (p);
  r->out = w.out;
  r->err = w.err;
  if (r->err && *r->err)
    g_test_message ("stderr: %s", r->err);
}

/* ---- the table ------------------------------------------------------------- */

/* Set by a setup that cannot make its hostile file here. */
static gboolean setup_skipped;

typedef void (*SetupFunc) (Ctx *ctx);
typedef void (*CheckFunc) (Ctx *ctx, const AttnvizTestRun *r);

/* What the .npy reader says (attnviz-npy.c) */
#define NPY_TRUNCATED "the header runs past the end of the file"
#define NPY_DTYPE "dtype '<c8' is not one of float32, float64, bool, uint8, int32, int64"
#define NPY_HUGE "a dimension of 4294967296 is too large"
#define NPY_WRONG_T "the pattern has shape (3, 3); the run needs (2, 2)"
#define NPY_SHORT "4 values do not fit in the file's 12 bytes: it is truncated"

typedef struct {
  const char *path;        /* /hostile/CLASS/CASE */
  SetupFunc setup;         /* plants the hostile file (NULL: the plain model) */
  const char *args[14];    /* @M, @T expanded */
  int status;              /* 1: a bad file, 2: a bad option */
  const char *names;       /* the file or option the line must name (expanded) */
  const char *needle;      /* and what it must say */
  CheckFunc check;         /* more than "nothing changed", or NULL */
} HostileCase;

/* class 1: ids out of range */
static void
added_token_minus_1 (Ctx *ctx)
{
  g_autofree char *j = wordpiece_json ("[{\"id\": -1, \"content\": \"[X]\", \"special\": true}]");
  put (ctx, "@M/tokenizer.json", j);
}

static void
added_token_huge (Ctx *ctx)
{
  g_autofree char *j = wordpiece_json ("[{\"id\": 99999999, \"content\": \"[X]\", \"special\": true}]");
  put (ctx, "@M/tokenizer.json", j);
}

static void
added_token_on_another_piece (Ctx *ctx)
{
  g_autofree char *j = wordpiece_json ("[{\"id\": 3, \"content\": \"[X]\", \"special\": true}]");
  put (ctx, "@M/tokenizer.json", j);
}

static void
vocab_id_negative (Ctx *ctx)
{
  put (ctx, "@M/tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"a\": -5}}}");
}

static void
vocab_id_twice (Ctx *ctx)
{
  /* Two pieces for id 4: used to be blamed on sentencepiece_scores.json. */
  put (ctx, "@M/tokenizer.json",
       "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"<unk>\": 0, \"\xe2\x96\x81" "a\": 4, \"a\": 4}, "
       "\"merges\": []}, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\xe2\x96\x81\"}}");
  put (ctx, "@M/sentencepiece_scores.json",
       "{\"pieces\": [\"<unk>\", \"\xe2\x96\x81" "a\", \"a\"], \"scores\": [0, -1, -2]}");
}

static void
gpt2_vocab_id_negative (Ctx *ctx)
{
  put (ctx, "@M/vocab.json", "{\"a\": 0, \"b\": -1}");
  put (ctx, "@M/merges.txt", "#version: 0.2\n");
}

static void
tokenizer_config_bos_id_past_vocab (Ctx *ctx)
{
  g_autofree char *j = wordpiece_json (NULL);
  put (ctx, "@M/tokenizer.json", j);
  put (ctx, "@M/tokenizer_config.json", "{\"bos_token_id\": 1000}");
}

static void
tokenizer_config_decoder_minus_1 (Ctx *ctx)
{
  g_autofree char *j = wordpiece_json (NULL);
  put (ctx, "@M/tokenizer.json", j);
  put (ctx, "@M/tokenizer_config.json",
       "{\"added_tokens_decoder\": {\"-1\": {\"content\": \"[X]\", \"special\": true}}}");
}

static void
tokenizer_config_decoder_other_piece (Ctx *ctx)
{
  g_autofree char *j = wordpiece_json (NULL);
  put (ctx, "@M/tokenizer.json", j);
  put (ctx, "@M/special_tokens_map.json",
       "{\"added_tokens_decoder\": {\"3\": {\"content\": \"[MASK]\", \"special\": true}}}");
}

static void
config_bos_past_vocab (Ctx *ctx)
{
  config_set_raw (ctx, "bos_token_id", "97");
}

static void
config_eos_minus_1 (Ctx *ctx)
{
  config_set_raw (ctx, "eos_token_id", "-1");
}

static void
config_eos_list (Ctx *ctx)
{
  config_set_raw (ctx, "eos_token_id", "[2, 100000]");
}

static void
config_pad_not_an_id (Ctx *ctx)
{
  config_set_raw (ctx, "pad_token_id", "\"<pad>\"");
}

/* class 3: deep JSON, everywhere */
static void
deep_config (Ctx *ctx)
{
  g_autofree char *b = brackets (100000);
  put (ctx, "@M/config.json", b);
}

static void
depth_65_config (Ctx *ctx)
{
  g_autofree char *b = brackets (64);
  g_autofree char *v = g_strdup_printf ("%s%s", b, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
  config_set_raw (ctx, "deep", v);
}

static void
deep_tokenizer (Ctx *ctx)
{
  g_autofree char *b = brackets (100000);
  g_autofree char *j = g_strdup_printf ("{\"model\": %s", b);
  put (ctx, "@M/tokenizer.json", j);
}

static void
deep_tokenizer_config (Ctx *ctx)
{
  g_autofree char *j = wordpiece_json (NULL);
  g_autofree char *b = brackets (100000);
  g_autofree char *c = g_strdup_printf ("{\"bos_token\": %s", b);
  put (ctx, "@M/tokenizer.json", j);
  put (ctx, "@M/tokenizer_config.json", c);
}

static void
deep_scores (Ctx *ctx)
{
  g_autofree char *b = brackets (100000);
  g_autofree char *c = g_strdup_printf ("{\"pieces\": %s", b);
  put (ctx, "@M/tokenizer.json", SPM_JSON);
  put (ctx, "@M/sentencepiece_scores.json", c);
}

static void
deep_vocab_json (Ctx *ctx)
{
  g_autofree char *b = brackets (100000);
  put (ctx, "@M/vocab.json", b);
  put (ctx, "@M/merges.txt", "#version: 0.2\n");
}

/* A safetensors header whose brackets hide in a comment json-glib skips. */
static void
header_comment_bypass (Ctx *ctx)
{
  GString *h = g_string_new ("{\"a\": /* ");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (h, ']');
  g_string_append (h, " */ ");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (h, '[');
  while (h->len % 8)
    g_string_append_c (h, ' ');
  guint64 len = GUINT64_TO_LE ((guint64) h->len);
  g_string_prepend_len (h, (const char *) &len, 8);
  put_bytes (ctx, "@M/model.safetensors", h->str, h->len);
  g_string_free (h, TRUE);
}

/* An index whose brackets hide after a single-quoted '"'. */
static void
index_quote_bypass (Ctx *ctx)
{
  g_autofree char *b = brackets (100000);
  g_autofree char *j = g_strdup_printf ("{\"weight_map\": ['\"', %s]}", b);
  g_autofree char *st = expand (ctx, "@M/model.safetensors");
  g_unlink (st);
  put (ctx, "@M/model.safetensors.index.json", j);
}

static void
config_too_large (Ctx *ctx)
{
  gsize n = (gsize) 17 << 20;
  g_autofree char *big = g_malloc (n);
  memset (big, ' ', n);
  big[0] = '{';
  big[n - 1] = '}';
  put_bytes (ctx, "@M/config.json", big, n);
}

/* class 4: special files where a file should be */
static void
fifo_weights (Ctx *ctx)
{
  put_fifo (ctx, "@M/model.safetensors");
}

static void
fifo_config (Ctx *ctx)
{
  put_fifo (ctx, "@M/config.json");
}

static void
fifo_tokenizer (Ctx *ctx)
{
  put_fifo (ctx, "@M/tokenizer.json");
}

static void
fifo_tokenizer_config (Ctx *ctx)
{
  g_autofree char *j = wordpiece_json (NULL);
  put (ctx, "@M/tokenizer.json", j);
  put_fifo (ctx, "@M/tokenizer_config.json");
}

static void
fifo_scores (Ctx *ctx)
{
  put (ctx, "@M/tokenizer.json", SPM_JSON);
  put_fifo (ctx, "@M/sentencepiece_scores.json");
}

static void
fifo_shard (Ctx *ctx)
{
  g_autofree char *st = expand (ctx, "@M/model.safetensors");
  g_unlink (st);
  put (ctx, "@M/model.safetensors.index.json", "{\"weight_map\": {\"wte.weight\": \"shard-1.safetensors\"}}");
  put_fifo (ctx, "@M/shard-1.safetensors");
}

static void
fifo_text (Ctx *ctx)
{
  put_fifo (ctx, "@T/text.txt");
  g_autofree char *j = wordpiece_json (NULL);
  put (ctx, "@M/tokenizer.json", j);
}

static void
fifo_task (Ctx *ctx)
{
  put_fifo (ctx, "@T/task.tsv");
}

static void
weights_link_to_dev_zero (Ctx *ctx)
{
  put_link (ctx, "@M/model.safetensors", "/dev/zero");
}

static void
config_link_to_dev_null (Ctx *ctx)
{
  put_link (ctx, "@M/config.json", "/dev/null");
}

static void
config_is_a_folder (Ctx *ctx)
{
  g_autofree char *path = expand (ctx, "@M/config.json");
  g_unlink (path);
  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
}

/* class 5: outputs that must not be replaced */
static void
out_fifo (Ctx *ctx)
{
  put_fifo (ctx, "@T/out.json");
}

/* ---- .npy patterns (heads --pattern) ---- */

/* A version 1.0 .npy header for the dict literal HEADER, then DATA. */
static void
put_npy (const Ctx *ctx, const char *header, const void *data, gsize len)
{
  gsize h = strlen (header) + 1, pad = (64 - (10 + h) % 64) % 64;
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_byte_array_append (b, (const guint8 *) "\x93NUMPY\x01\x00", 8);
  guint16 n = GUINT16_TO_LE ((guint16) (h + pad));
  g_byte_array_append (b, (const guint8 *) &n, 2);
  g_byte_array_append (b, (const guint8 *) header, strlen (header));
  for (gsize i = 0; i < pad; i++)
    g_byte_array_append (b, (const guint8 *) " ", 1);
  g_byte_array_append (b, (const guint8 *) "\n", 1);
  g_byte_array_append (b, data, len);
  put_bytes (ctx, "@T/p.npy", (const char *) b->data, b->len);
}

static void
npy_truncated_header (Ctx *ctx)
{
  put_bytes (ctx, "@T/p.npy", "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortr", 32);
}

static void
npy_bad_dtype (Ctx *ctx)
{
  const float z[8] = { 0 };
  put_npy (ctx, "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", z, sizeof z);
}

static void
npy_huge_shape (Ctx *ctx)
{
  const float z[4] = { 0 };
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", z, sizeof z);
}

static void
npy_wrong_t (Ctx *ctx)
{
  const float z[9] = { 0 };
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", z, sizeof z);
}

static void
npy_short_data (Ctx *ctx)
{
  const float z[3] = { 0 };
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", z, sizeof z);
}

/* The fuzzer's first find: a header whose descr value is the end of it
 * (the dtype message read past the string). */
static void
npy_descr_at_the_end (Ctx *ctx)
{
  put_npy (ctx, "{'shape': (1,), 'fortran_order': False, 'descr':", NULL, 0);
}

static void
out_fifo_png (Ctx *ctx)
{
  put_fifo (ctx, "@T/out.png");
}

static void
out_fifo_md (Ctx *ctx)
{
  put_fifo (ctx, "@T/out.md");
}

static void
out_link (Ctx *ctx)
{
  put (ctx, "@T/target.json", "{\"keep\": true}\n");
  put_link (ctx, "@T/out.json", "@T/target.json");
}

static void
out_dangling_link (Ctx *ctx)
{
  put_link (ctx, "@T/out.json", "@T/nowhere.json");
}

static void
out_link_png (Ctx *ctx)
{
  put (ctx, "@T/target.png", "not a png\n");
  put_link (ctx, "@T/out.png", "@T/target.png");
}

static void
out_link_folder (Ctx *ctx)
{
  g_autofree char *dir = expand (ctx, "@T/real");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  put_link (ctx, "@T/out", "@T/real");
}

static void
out_device (Ctx *ctx)
{
  /* The same device as /dev/null, made here: as root, the old code would
   * have turned it into a regular file. */
  g_autofree char *path = expand (ctx, "@T/null");
  if (mknod (path, S_IFCHR | 0666, makedev (1, 3)) != 0)
    {
      g_test_skip ("cannot make a device node here");
      setup_skipped = TRUE;
    }
}

static void
out_regular_file_for_a_folder (Ctx *ctx)
{
  put (ctx, "@T/out", "a file, not a folder\n");
}

/* class 6: a dump folder that holds someone else's file */
static void
dump_folder_with_a_stranger (Ctx *ctx)
{
  g_autofree char *dir = expand (ctx, "@T/dump");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  put (ctx, "@T/dump/metadata.json", "{\"n_tokens\": 2}\n");
  put (ctx, "@T/dump/attentions.npy", "old");
  put (ctx, "@T/dump/notes.txt", "my notes\n");
}

/* class 8: weights that overflow in the forward pass */
static void
overflow_in_layer_1 (Ctx *ctx)
{
  set_tensor (ctx, "h.1.attn.c_attn.weight", 3e38f);
}

static void
overflow_in_layer_1_with_a_tokenizer (Ctx *ctx)
{
  g_autofree char *j = wordpiece_json (NULL);
  put (ctx, "@M/tokenizer.json", j);
  set_tensor (ctx, "h.1.attn.c_attn.weight", 3e38f);
}

static void
overflow_in_the_embedding (Ctx *ctx)
{
  set_tensor (ctx, "wte.weight", 3e38f);
  set_tensor (ctx, "wpe.weight", 3e38f);
}

static void
overflow_in_the_logits (Ctx *ctx)
{
  set_tensor (ctx, "ln_f.weight", 3e38f);
  set_tensor (ctx, "ln_f.bias", 3e38f);
}

/* class 9: messages */
static void
config_link_loop (Ctx *ctx)
{
  put_link (ctx, "@M/config.json", "@M/config.json");
}

static void
model_link_loop (Ctx *ctx)
{
  put_link (ctx, "@T/loop", "@T/loop");
}

static void
huge_layer_count (Ctx *ctx)
{
  config_set_raw (ctx, "n_layer", "18446744073709551621");
}

static void
escape_in_architecture (Ctx *ctx)
{
  config_set_raw (ctx, "architectures", "[\"\\u001b[31mEvil\\u001b]0;owned\\u0007\"]");
}

static void
no_raw_escape (Ctx *ctx, const AttnvizTestRun *r)
{
  g_assert_null (strchr (r->err, '\x1b'));
  g_assert_null (strchr (r->err, '\a'));
  g_assert_nonnull (strstr (r->err, "\\x1b[31mEvil"));
}

static void
split_pattern_that_fails (Ctx *ctx)
{
  put (ctx, "@M/tokenizer.json",
       "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"\xc4\xa0\": 2}, \"merges\": []}, "
       "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": ["
       "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(a|aa)+$\"}}, {\"type\": \"ByteLevel\"}]}}");
}

static void
split_pattern_that_does_not_compile (Ctx *ctx)
{
  put (ctx, "@M/tokenizer.json",
       "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
       "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": ["
       "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}}, {\"type\": \"ByteLevel\"}]}}");
}

static void
long_context_llama (Ctx *ctx)
{
  copy_fixture (ctx, "llama-gqa-tiny");
  config_set_raw (ctx, "max_position_embeddings", "40000");
}

/* ---- sessions (issue 13): dumps and foreign attention opened again ---- */

static void
session_fifo_npy (Ctx *ctx)
{
  put_fifo (ctx, "@T/a.npy");
}

static void
session_fifo_tokens (Ctx *ctx)
{
  float v[4] = { 0.5f, 0.5f, 0.25f, 0.75f };
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", v, sizeof v);
  put_fifo (ctx, "@T/tokens.txt");
}

static void
session_deep_json_dump (Ctx *ctx)
{
  g_autofree char *b = brackets (100000);
  g_autofree char *dump = g_strdup_printf ("{\"metadata\": {}, \"attentions\": %s", b);
  put (ctx, "@T/d.json", dump);
}

static void
session_huge_npy_shape (Ctx *ctx)
{
  put_npy (ctx, "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536), }", NULL, 0);
}

static const HostileCase cases[] = {
  /* 1. ids out of range in every tokenizer file and config.json */
  { "/hostile/ids/added-token-id-minus-1", added_token_minus_1, { "info", "@M" }, 1,
    "@M/tokenizer.json", "added_tokens[0]: id -1 is outside" },
  { "/hostile/ids/added-token-id-too-large", added_token_huge, { "info", "@M" }, 1,
    "@M/tokenizer.json", "added_tokens[0]: id 99999999 is outside" },
  { "/hostile/ids/added-token-on-another-piece", added_token_on_another_piece, { "info", "@M" }, 1,
    "@M/tokenizer.json", "added_tokens[0]: id 3 is given to both" },
  { "/hostile/ids/vocab-id-negative", vocab_id_negative, { "info", "@M" }, 1,
    "@M/tokenizer.json", "model.vocab: piece “a” has id -5" },
  { "/hostile/ids/vocab-id-given-twice", vocab_id_twice, { "info", "@M" }, 1,
    "@M/tokenizer.json", "model.vocab: id 4 is given to both" },
  { "/hostile/ids/vocab-json-id-negative", gpt2_vocab_id_negative, { "info", "@M" }, 1,
    "@M/vocab.json", "has id -1" },
  { "/hostile/ids/tokenizer-config-bos-id-past-the-vocabulary", tokenizer_config_bos_id_past_vocab,
    { "info", "@M" }, 1, "@M/tokenizer_config.json", "bos_token_id: id 1000 is not in the vocabulary (0..4)" },
  { "/hostile/ids/tokenizer-config-decoder-id-minus-1", tokenizer_config_decoder_minus_1, { "info", "@M" }, 1,
    "@M/tokenizer_config.json", "added_tokens_decoder[\"-1\"]: id -1" },
  { "/hostile/ids/special-tokens-map-names-another-piece", tokenizer_config_decoder_other_piece,
    { "info", "@M" }, 1, "@M/special_tokens_map.json", "id 3 is “[MASK]” here but “a”" },
  { "/hostile/ids/config-bos-id-past-the-vocabulary", config_bos_past_vocab, { "info", "@M" }, 1,
    "@M/config.json", "\"bos_token_id\" = 97 is outside the vocabulary (0..96)" },
  { "/hostile/ids/config-eos-id-minus-1", config_eos_minus_1, { "info", "@M" }, 1,
    "@M/config.json", "\"eos_token_id\" = -1 is outside" },
  { "/hostile/ids/config-eos-id-list", config_eos_list, { "info", "@M" }, 1,
    "@M/config.json", "\"eos_token_id\"[1] = 100000 is outside" },
  { "/hostile/ids/config-pad-id-not-an-id", config_pad_not_an_id, { "info", "@M" }, 1,
    "@M/config.json", "\"pad_token_id\" is not a token id" },

  /* 2. empty lists and empty items: usage errors naming the option */
  { "/hostile/lists/dump-ids-empty", NULL, { "dump", "@M", "--ids", "", "-o", "@T/o.json" }, 2, "--ids", "empty" },
  { "/hostile/lists/dump-ids-only-commas", NULL, { "dump", "@M", "--ids", ",,,", "-o", "@T/o.json" }, 2, "--ids",
    "item 1 of \",,,\" is empty" },
  { "/hostile/lists/dump-ids-empty-item", NULL, { "dump", "@M", "--ids", "1,,2", "-o", "@T/o.json" }, 2, "--ids",
    "item 2 of \"1,,2\" is empty" },
  { "/hostile/lists/dump-ids-trailing-comma", NULL, { "dump", "@M", "--ids", "1,2,", "-o", "@T/o.json" }, 2,
    "--ids", "item 3" },
  { "/hostile/lists/dump-layers-empty", NULL, { "dump", "@M", "--ids", "1,2", "--layers", "", "-o", "@T/o.json" },
    2, "--layers", "empty" },
  { "/hostile/lists/dump-heads-empty", NULL, { "dump", "@M", "--ids", "1,2", "--heads", "", "-o", "@T/o.json" },
    2, "--heads", "empty" },
  { "/hostile/lists/dump-heads-empty-item", NULL,
    { "dump", "@M", "--ids", "1,2", "--heads", "0,,1", "-o", "@T/o.json" }, 2, "--heads", "item 2" },
  { "/hostile/lists/dump-variant-empty-item", NULL,
    { "dump", "@M", "--ids", "1,2", "--variant", "mask=causal,,pos=none", "-o", "@T/o.json" }, 2, "--variant",
    "item 2" },
  { "/hostile/lists/render-ids-empty", NULL, { "render", "@M", "--ids", "", "-o", "@T/o.png" }, 2, "--ids",
    "empty" },
  { "/hostile/lists/bench-sizes-empty", NULL, { "bench", "--sizes", "" }, 2, "--sizes", "empty" },
  { "/hostile/lists/bench-sizes-empty-item", NULL, { "bench", "--sizes", "64,,128" }, 2, "--sizes", "item 2" },
  { "/hostile/lists/sweep-heads-empty", NULL, { "sweep", "--task", "copy", "--heads", "" }, 2, "--heads",
    "empty" },
  { "/hostile/lists/sweep-pos-empty-item", NULL, { "sweep", "--task", "copy", "--pos", "rope,,none" }, 2, "--pos",
    "item 2" },
  { "/hostile/lists/sweep-seeds-bad-value", NULL, { "sweep", "--task", "copy", "--seeds", "1,x" }, 2, "--seeds",
    "\"x\"" },

  /* 3. deep JSON in every JSON file, and the bypasses of a naive count */
  { "/hostile/json/deep-config", deep_config, { "info", "@M" }, 1, "@M/config.json", "nests deeper than 64" },
  { "/hostile/json/config-65-deep", depth_65_config, { "info", "@M" }, 1, "@M/config.json",
    "nests deeper than 64" },
  { "/hostile/json/deep-tokenizer", deep_tokenizer, { "info", "@M" }, 1, "@M/tokenizer.json", "nests deeper" },
  { "/hostile/json/deep-tokenizer-config", deep_tokenizer_config, { "info", "@M" }, 1,
    "@M/tokenizer_config.json", "nests deeper" },
  { "/hostile/json/deep-sentencepiece-scores", deep_scores, { "info", "@M" }, 1,
    "@M/sentencepiece_scores.json", "nests deeper" },
  { "/hostile/json/deep-vocab-json", deep_vocab_json, { "info", "@M" }, 1, "@M/vocab.json", "nests deeper" },
  { "/hostile/json/safetensors-header-brackets-in-a-comment", header_comment_bypass, { "info", "@M" }, 1,
    "@M/model.safetensors", "comments are not JSON" },
  { "/hostile/json/index-brackets-after-a-single-quoted-string", index_quote_bypass, { "info", "@M" }, 1,
    "@M/model.safetensors.index.json", "double quotes" },
  { "/hostile/json/config-too-large", config_too_large, { "info", "@M" }, 1, "@M/config.json",
    "too large for a config.json" },

  /* 4. FIFOs and devices where a file should be: refused, not read */
  { "/hostile/special-files/weights-fifo", fifo_weights, { "info", "@M" }, 1, "@M/model.safetensors",
    "is a FIFO, not a regular file" },
  { "/hostile/special-files/config-fifo", fifo_config, { "info", "@M" }, 1, "@M/config.json", "is a FIFO" },
  { "/hostile/special-files/tokenizer-fifo", fifo_tokenizer, { "info", "@M" }, 1, "@M/tokenizer.json",
    "is a FIFO" },
  { "/hostile/special-files/tokenizer-config-fifo", fifo_tokenizer_config, { "info", "@M" }, 1,
    "@M/tokenizer_config.json", "is a FIFO" },
  { "/hostile/special-files/scores-fifo", fifo_scores, { "info", "@M" }, 1, "@M/sentencepiece_scores.json",
    "is a FIFO" },
  { "/hostile/special-files/shard-fifo", fifo_shard, { "info", "@M" }, 1, "@M/shard-1.safetensors", "is a FIFO" },
  { "/hostile/special-files/text-file-fifo", fifo_text,
    { "dump", "@M", "--text-file", "@T/text.txt", "-o", "@T/o.json" }, 1, "@T/text.txt", "is a FIFO" },
  { "/hostile/special-files/task-file-fifo", fifo_task,
    { "train", "--task", "file:@T/task.tsv", "--steps", "1" }, 1, "@T/task.tsv", "is a FIFO" },
  { "/hostile/special-files/weights-link-to-dev-zero", weights_link_to_dev_zero, { "info", "@M" }, 1,
    "@M/model.safetensors", "is a character device, not a regular file" },
  { "/hostile/special-files/config-link-to-dev-null", config_link_to_dev_null, { "info", "@M" }, 1,
    "@M/config.json", "is a character device" },
  { "/hostile/special-files/config-is-a-folder", config_is_a_folder, { "info", "@M" }, 1, "@M/config.json",
    "is a folder" },

  /* .npy patterns: every broken file is one line naming it */
  { "/hostile/npy/truncated-header", npy_truncated_header,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", NPY_TRUNCATED },
  { "/hostile/npy/bad-dtype", npy_bad_dtype,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", NPY_DTYPE },
  { "/hostile/npy/huge-shape", npy_huge_shape,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", NPY_HUGE },
  { "/hostile/npy/wrong-t", npy_wrong_t,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", NPY_WRONG_T },
  { "/hostile/npy/short-data", npy_short_data,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", NPY_SHORT },
  { "/hostile/npy/descr-at-the-end", npy_descr_at_the_end,
    { "heads", "@M", "--ids", "1,2", "--no-positional", "--pattern", "@T/p.npy" }, 1, "@T/p.npy", "the header lacks" },

  /* 5. outputs: nothing but a regular file is replaced; links are refused */
  { "/hostile/outputs/dump-onto-a-fifo", out_fifo, { "dump", "@M", "--ids", "1,2", "-o", "@T/out.json" }, 1,
    "@T/out.json", "is a FIFO" },
  { "/hostile/outputs/dump-onto-a-device", out_device, { "dump", "@M", "--ids", "1,2", "--format", "json", "-o",
    "@T/null" }, 1, "@T/null", "is a character device" },
  { "/hostile/outputs/dump-through-a-link", out_link, { "dump", "@M", "--ids", "1,2", "-o", "@T/out.json" }, 1,
    "@T/out.json", "is a symbolic link" },
  { "/hostile/outputs/dump-through-a-dangling-link", out_dangling_link,
    { "dump", "@M", "--ids", "1,2", "-o", "@T/out.json" }, 1, "@T/out.json", "is a symbolic link" },
  { "/hostile/outputs/dump-npy-through-a-link", out_link_folder,
    { "dump", "@M", "--ids", "1,2", "--format", "npy", "-o", "@T/out" }, 1, "@T/out", "is a symbolic link" },
  { "/hostile/outputs/dump-npy-onto-a-file", out_regular_file_for_a_folder,
    { "dump", "@M", "--ids", "1,2", "--format", "npy", "-o", "@T/out" }, 1, "@T/out", "not a folder" },
  { "/hostile/outputs/render-onto-a-fifo", out_fifo_png, { "render", "@M", "--ids", "1,2", "-o", "@T/out.png" }, 1,
    "@T/out.png", "is a FIFO" },
  { "/hostile/outputs/render-through-a-link", out_link_png, { "render", "@M", "--ids", "1,2", "-o", "@T/out.png" },
    1, "@T/out.png", "is a symbolic link" },
  { "/hostile/outputs/sweep-onto-a-fifo", out_fifo_md, { "sweep", "--task", "copy", "--steps", "1", "-o",
    "@T/out.md" }, 1, "@T/out.md", "is a FIFO" },
  { "/hostile/outputs/train-through-a-link", out_link_folder, { "train", "--task", "copy", "--steps", "1", "-o",
    "@T/out" }, 1, "@T/out", "is a symbolic link" },
  { "/hostile/outputs/empty-output-path", NULL, { "dump", "@M", "--ids", "1,2", "-o", "" }, 2, "-o",
    "the output path is empty" },
  { "/hostile/outputs/render-empty-output-path", NULL, { "render", "@M", "--ids", "1,2", "-o", "" }, 2, "-o",
    "empty" },

  /* 6. a dump folder is replaced only when it holds nothing but a dump */
  { "/hostile/folders/dump-into-a-folder-with-other-files", dump_folder_with_a_stranger,
    { "dump", "@M", "--ids", "1,2", "--format", "npy", "-o", "@T/dump" }, 1, "@T/dump", "holds \"notes.txt\"" },

  /* 8. finite weights that overflow: the first layer is named */
  { "/hostile/non-finite/overflow-in-layer-1", overflow_in_layer_1,
    { "dump", "@M", "--ids", "5,17,33,2,90,41", "-o", "@T/o.json" }, 1, "@M", "layer 1 produced a non-finite value" },
  { "/hostile/non-finite/overflow-in-the-embedding", overflow_in_the_embedding,
    { "dump", "@M", "--ids", "5,17,33", "-o", "@T/o.json" }, 1, "@M", "the embedding produced a non-finite value" },
  { "/hostile/non-finite/overflow-in-the-logits", overflow_in_the_logits,
    { "dump", "@M", "--ids", "5,17,33", "-o", "@T/o.json" }, 1, "@M", "logits" },
  { "/hostile/non-finite/generate-stops-at-the-overflow", overflow_in_layer_1_with_a_tokenizer,
    { "generate", "@M", "-n", "3" }, 1, "@M", "layer 1 produced a non-finite value" },

  /* 9. messages that name the file or option at fault */
  { "/hostile/messages/config-link-loop", config_link_loop, { "info", "@M" }, 1, "@M/config.json",
    "too many levels of symbolic links" },
  { "/hostile/messages/model-link-loop", model_link_loop, { "info", "@T/loop" }, 1, "@T/loop",
    "too many levels of symbolic links" },
  { "/hostile/messages/ids-outside-the-vocabulary", NULL, { "dump", "@M", "--ids", "1,99999", "-o", "@T/o.json" },
    2, "--ids", "99999 is outside the vocabulary (0..96)" },
  { "/hostile/messages/layers-past-the-model", NULL, { "dump", "@M", "--ids", "1,2", "--layers", "99", "-o",
    "@T/o.json" }, 2, "--layers", "99 is past the model's 3 layers" },
  { "/hostile/messages/heads-past-the-model", NULL, { "dump", "@M", "--ids", "1,2", "--heads", "8", "-o",
    "@T/o.json" }, 2, "--heads", "8 is past the model's 4 heads" },
  { "/hostile/messages/integer-past-64-bits", huge_layer_count, { "info", "@M" }, 1, "@M/config.json",
    "\"n_layer\" = 18446744073709551621 does not fit in 64 bits" },
  { "/hostile/messages/escape-sequence-in-the-architecture", escape_in_architecture, { "info", "@M" }, 1,
    "@M/config.json", "unsupported architecture", no_raw_escape },
  { "/hostile/messages/split-pattern-fails-on-the-text", split_pattern_that_fails,
    { "dump", "@M", "--text", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "-o", "@T/o.json" }, 1,
    "@M/tokenizer.json", "split pattern failed" },
  { "/hostile/messages/split-pattern-does-not-compile", split_pattern_that_does_not_compile, { "info", "@M" }, 1,
    "@M/tokenizer.json", "pre-tokenizer pattern" },
  { "/hostile/messages/text-file-missing", NULL, { "dump", "@M", "--text-file", "@T/absent.txt", "-o", "@T/o.json" },
    1, "@T/absent.txt", "no such file" },
  /* Long inputs are no longer refused for their attention (it is computed
   * on demand, attnviz-attention.h: /hostile/memory/a-long-pooled-dump-...);
   * a format that cannot hold them is, before the run, naming the option. */
  { "/hostile/messages/long-input-in-json-names-the-format", long_context_llama,
    { "dump", "@M", "--ids", "@IDS33000", "--layers", "0", "--heads", "0", "--format", "json", "-o",
      "@T/o.json" }, 2, "--format json", "33000 tokens are too many for json (at most 512)" },

  /* 9. sessions: view and render on dumps and foreign attention */
  { "/hostile/session/view-a-fifo-npy", session_fifo_npy, { "view", "@T/a.npy", "--info" }, 1, "@T/a.npy", "FIFO" },
  { "/hostile/session/view-a-fifo-token-file", session_fifo_tokens,
    { "view", "@T/p.npy", "--tokens", "@T/tokens.txt", "--info" }, 1, "@T/tokens.txt", "FIFO" },
  { "/hostile/session/render-a-deep-json-dump", session_deep_json_dump, { "render", "@T/d.json", "-o", "@T/o.png" },
    1, "@T/d.json", "nests deeper" },
  { "/hostile/session/view-a-shape-past-any-memory", session_huge_npy_shape, { "view", "@T/p.npy", "--info" }, 1,
    "@T/p.npy", "truncated" },
};

static void
ctx_init (Ctx *ctx)
{
  ctx->tmp = g_dir_make_tmp ("attnviz-hostile-XXXXXX", NULL);
  g_assert_nonnull (ctx->tmp);
  ctx->model = g_build_filename (ctx->tmp, "m", NULL);
  g_assert_cmpint (g_mkdir (ctx->model, 0755), ==, 0);
  copy_fixture (ctx, "gpt2-tiny");
}

static void
ctx_clear (Ctx *ctx)
{
  attnviz_test_remove_tree (ctx->tmp);
  g_free (ctx->tmp);
  g_free (ctx->model);
}

static char *
many_ids (int n)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i ? "," : "", 1 + i % 90);
  return g_string_free (s, FALSE);
}

static void
test_hostile_case (gconstpointer data)
{
  const HostileCase *c = data;
  Ctx ctx;
  ctx_init (&ctx);
  setup_skipped = FALSE;
  if (c->setup)
    c->setup (&ctx);
  if (setup_skipped)
    {
      ctx_clear (&ctx);
      return;
    }

  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; c->args[i]; i++)
    g_ptr_array_add (args, strcmp (c->args[i], "@IDS33000") == 0 ? many_ids (33000) : expand (&ctx, c->args[i]));
  g_ptr_array_add (args, NULL);

  g_autofree char *before = snapshot (ctx.tmp);
  g_auto(AttnvizTestRun) r = { 0 };
  run_limited (&r, (const char *const *) args->pdata, NULL);
  g_autofree char *names = expand (&ctx, c->names);
  attnviz_test_assert_one_line_error (&r, c->status, c->needle);
  if (strstr (r.err, names) == NULL)
    {
      g_test_message ("the line does not name %s", names);
      g_assert_nonnull (strstr (r.err, names));
    }
  /* nothing new, nothing changed, nothing left behind */
  g_autofree char *after = snapshot (ctx.tmp);
  g_assert_cmpstr (after, ==, before);
  if (c->check)
    c->check (&ctx, &r);
  ctx_clear (&ctx);
}

/* What is not hostile stays usable: a tokenizer_config.json without a
 * tokenizer (as beside a SentencePiece tokenizer.model) leaves a model that
 * runs on --ids, as before. */
static void
test_a_tokenizer_config_alone_is_no_tokenizer (void)
{
  Ctx ctx;
  ctx_init (&ctx);
  put (&ctx, "@M/tokenizer_config.json", "{\"bos_token\": \"<s>\", \"add_bos_token\": true}");
  const char *info[] = { "info", ctx.model, NULL };
  g_auto(AttnvizTestRun) r = { 0 };
  run_limited (&r, info, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "tokenizer:      none"));
  g_autofree char *out = expand (&ctx, "@T/o.json");
  const char *dump[] = { "dump", ctx.model, "--ids", "1,2,3", "-o", out, "-q", NULL };
  g_auto(AttnvizTestRun) d = { 0 };
  run_limited (&d, dump, NULL);
  g_assert_cmpint (d.status, ==, 0);
  ctx_clear (&ctx);
}

/* ---- outputs that are written: modes and the umask ------------------------- */

static mode_t
mode_of (const char *path)
{
  struct stat st;
  g_assert_cmpint (stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static void
test_replacing_a_file_keeps_its_mode (void)
{
  Ctx ctx;
  ctx_init (&ctx);
  g_autofree char *out = expand (&ctx, "@T/private.json");
  put (&ctx, "@T/private.json", "old\n");
  g_assert_cmpint (g_chmod (out, 0600), ==, 0);
  const char *args[] = { "dump", ctx.model, "--ids", "1,2,3", "-o", out, "-q", NULL };
  g_auto(AttnvizTestRun) r = { 0 };
  run_limited (&r, args, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpint (mode_of (out), ==, 0600);
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "{"));
  g_assert_cmpuint (count_hidden (ctx.tmp), ==, 0);
  ctx_clear (&ctx);
}

static void
test_new_outputs_follow_the_umask (void)
{
  Ctx ctx;
  ctx_init (&ctx);
  ChildLimits limits = { .umask = 027 };
  g_autofree char *json = expand (&ctx, "@T/new.json");
  g_autofree char *npy = expand (&ctx, "@T/new-dump");
  g_autofree char *png = expand (&ctx, "@T/new.png");
  const char *a[] = { "dump", ctx.model, "--ids", "1,2,3", "-o", json, "-q", NULL };
  const char *b[] = { "dump", ctx.model, "--ids", "1,2,3", "--format", "npy", "-o", npy, "-q", NULL };
  const char *c[] = { "render", ctx.model, "--ids", "1,2,3", "-o", png, "-q", NULL };
  const char *const *runs[] = { a, b, c };
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      run_limited (&r, runs[i], &limits);
      g_assert_cmpint (r.status, ==, 0);
    }
  g_assert_cmpint (mode_of (json), ==, 0640);
  g_assert_cmpint (mode_of (png), ==, 0640);
  g_assert_cmpint (mode_of (npy), ==, 0750);
  g_autofree char *meta = g_build_filename (npy, "metadata.json", NULL);
  g_assert_cmpint (mode_of (meta), ==, 0640);
  g_assert_cmpuint (count_hidden (ctx.tmp), ==, 0);
  ctx_clear (&ctx);
}

/* ---- folders written whole ----------------------------------------------------- */

/* The dump folder DIR is one dump: metadata, ids and attention agree on T. */
static int
dump_folder_tokens (const char *dir)
{
  g_autofree char *meta_path = g_build_filename (dir, "metadata.json", NULL);
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_file (p, meta_path, NULL));
  JsonObject *meta = json_node_get_object (json_parser_get_root (p));
  int T = (int) json_object_get_int_member (meta, "n_tokens");
  g_autofree char *ids_path = g_build_filename (dir, "input_ids.npy", NULL);
  g_autofree char *att_path = g_build_filename (dir, "attentions.npy", NULL);
  gint64 shape[8];
  int nd;
  gsize n;
  g_free (attnviz_test_load_npy (ids_path, shape, &nd, &n));
  g_assert_cmpint (nd, ==, 1);
  g_assert_cmpint (shape[0], ==, T);
  g_autofree float *att = attnviz_test_load_npy (att_path, shape, &nd, &n);
  g_assert_cmpint (nd, ==, 4);
  g_assert_cmpint (shape[2], ==, T);
  g_assert_cmpint (shape[3], ==, T);
  /* every row of a causal softmax sums to 1 */
  for (gint64 row = 0; row < shape[0] * shape[1] * T; row++)
    {
      double sum = 0;
      for (int j = 0; j < T; j++)
        sum += att[row * T + j];
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
    }
  return T;
}

static void
test_two_dumps_at_once_leave_one_whole_dump (void)
{
  Ctx ctx;
  ctx_init (&ctx);
  g_autofree char *dir = expand (&ctx, "@T/dump");
  g_autofree char *short_ids = many_ids (7);
  g_autofree char *long_ids = many_ids (40);
  for (int round = 0; round < 8; round++)
    {
      /* half the rounds race to create the folder, half to replace it */
      if (round % 2 == 0)
        attnviz_test_remove_tree (dir);
      const char *a[] = { "dump", ctx.model, "--ids", short_ids, "--format", "npy", "-o", dir, "-q", NULL };
      const char *b[] = { "dump", ctx.model, "--ids", long_ids, "--format", "npy", "-o", dir, "-q", NULL };
      g_autoptr(GSubprocess) pa = spawn (a, NULL);
      g_autoptr(GSubprocess) pb = spawn (b, NULL);
      g_autofree char *ea = NULL, *eb = NULL;
      g_subprocess_communicate_utf8 (pa, "", NULL, NULL, &ea, NULL);
      g_subprocess_communicate_utf8 (pb, "", NULL, NULL, &eb, NULL);
      g_test_message ("round %d: %s%s", round, ea ? ea : "", eb ? eb : "");
      g_assert_cmpint (g_subprocess_get_exit_status (pa), ==, 0);
      g_assert_cmpint (g_subprocess_get_exit_status (pb), ==, 0);
      int T = dump_folder_tokens (dir);
      g_assert_true (T == 7 || T == 40);
      g_assert_cmpuint (count_hidden (ctx.tmp), ==, 0);
    }
  ctx_clear (&ctx);
}

static void
test_a_full_disk_keeps_the_old_dump (void)
{
  Ctx ctx;
  ctx_init (&ctx);
  g_autofree char *dir = expand (&ctx, "@T/dump");
  g_autofree char *short_ids = many_ids (5);
  g_autofree char *long_ids = many_ids (60);
  const char *first[] = { "dump", ctx.model, "--ids", short_ids, "--format", "npy", "-o", dir, "-q", NULL };
  g_auto(AttnvizTestRun) r1 = { 0 };
  run_limited (&r1, first, NULL);
  g_assert_cmpint (r1.status, ==, 0);
  g_autofree char *before = snapshot (ctx.tmp);

  /* 172 KB of attention against a 20 KB file-size limit: write () fails
   * with EFBIG half-way, as it would with ENOSPC. */
  ChildLimits full = { .fsize = 20 * 1024 };
  const char *second[] = { "dump", ctx.model, "--ids", long_ids, "--format", "npy", "-o", dir, NULL };
  g_auto(AttnvizTestRun) r2 = { 0 };
  run_limited (&r2, second, &full);
  attnviz_test_assert_one_line_error (&r2, 1, dir);
  g_autofree char *after = snapshot (ctx.tmp);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpint (dump_folder_tokens (dir), ==, 5);
  ctx_clear (&ctx);
}

/* ---- signals during a write ------------------------------------------------------ */

/* Starts a dump big enough to take a while to write, waits until its
 * temporary appears, and sends SIG. */
static void
interrupt_a_write (gconstpointer data)
{
  int sig = GPOINTER_TO_INT (data);
  g_autofree char *model = attnviz_test_shared_path ("models", "stories260K", "hf", NULL);
  if (model == NULL)
    return;
  Ctx ctx;
  ctx_init (&ctx);
  GString *text = g_string_new (NULL);
  while (text->len < 8000)
    g_string_append (text, "Once upon a time there was a little girl who liked to play in the park. ");
  put (&ctx, "@T/story.txt", text->str);
  g_string_free (text, TRUE);
  g_autofree char *story = expand (&ctx, "@T/story.txt");
  g_autofree char *out = expand (&ctx, sig == SIGINT ? "@T/out.safetensors" : "@T/dump");
  const char *args[] = { "dump", model, "--text-file", story, "--truncate", "-o", out, "-q", NULL };

  gboolean interrupted = FALSE;
  for (int attempt = 0; attempt < 5 && !interrupted; attempt++)
    {
      g_autoptr(GSubprocess) p = spawn (args, NULL);
      gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
      while (g_get_monotonic_time () < deadline && count_hidden_logged (ctx.tmp, FALSE) == 0)
        g_usleep (200);
      kill (atoi (g_subprocess_get_identifier (p)), sig);
      g_subprocess_wait (p, NULL, NULL);
      interrupted = g_subprocess_get_if_signaled (p);
      if (interrupted)
        g_assert_cmpint (g_subprocess_get_term_sig (p), ==, sig);
      /* Killed in the middle or finished first: nothing hidden stays. */
      g_assert_cmpuint (count_hidden (ctx.tmp), ==, 0);
      attnviz_test_remove_tree (out);
    }
  if (!interrupted)
    g_test_incomplete ("every dump finished before the signal came");
  ctx_clear (&ctx);
}

/* ---- JSON outputs stay valid with hostile tokens ----------------------------------- */

/* Python's json.load refuses a raw control character in a string; the
 * only raw one a JSON output may hold is the newline of pretty printing. */
static void
assert_strict_json (const char *what, const char *text, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if ((guchar) text[i] < 0x20 && text[i] != '\n')
      {
        g_test_message ("%s: raw control character 0x%02x at byte %zu", what, (guchar) text[i], i);
        g_assert_not_reached ();
      }
  g_assert_true (g_utf8_validate_len (text, len, NULL));
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, text, (gssize) len, NULL));
}

static void
test_control_characters_in_tokens_stay_valid_json (void)
{
  Ctx ctx;
  ctx_init (&ctx);
  /* a character tokenizer with U+001F (json-glib 1.6 leaves it raw) and
   * U+0001 among its pieces */
  put (&ctx, "@M/tokenizer.json",
       "{\"model\": {\"type\": \"attnviz-chars\", \"vocab\": {\"<pad>\": 0, \"<bos>\": 1, \"<eos>\": 2, \"<unk>\": 3, "
       "\"a\": 4, \"\\u001f\": 5, \"\\u0001\": 6, \"\\\"\": 7}, \"pad_token\": \"<pad>\", \"bos_token\": \"<bos>\", "
       "\"eos_token\": \"<eos>\", \"unk_token\": \"<unk>\", \"add_bos_token\": true}}");
  const char *text = "a\x1f" "a\x01\"a";
  g_autofree char *json = expand (&ctx, "@T/o.json");
  g_autofree char *npy = expand (&ctx, "@T/o");
  g_autofree char *st = expand (&ctx, "@T/o.safetensors");
  const char *a[] = { "dump", ctx.model, "--text", text, "-o", json, "-q", NULL };
  const char *b[] = { "dump", ctx.model, "--text", text, "-o", npy, "-q", NULL };
  const char *c[] = { "dump", ctx.model, "--text", text, "-o", st, "-q", NULL };
  const char *const *runs[] = { a, b, c };
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      run_limited (&r, runs[i], NULL);
      g_assert_cmpint (r.status, ==, 0);
    }

  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (json, &data, &len, NULL));
  assert_strict_json (json, data, len);
  g_assert_nonnull (strstr (data, "\\u001f"));
  g_clear_pointer (&data, g_free);

  g_autofree char *meta = g_build_filename (npy, "metadata.json", NULL);
  g_assert_true (g_file_get_contents (meta, &data, &len, NULL));
  assert_strict_json (meta, data, len);
  g_clear_pointer (&data, g_free);

  g_assert_true (g_file_get_contents (st, &data, &len, NULL));
  guint64 hlen;
  memcpy (&hlen, data, 8);
  hlen = GUINT64_FROM_LE (hlen);
  assert_strict_json (st, data + 8, hlen);
  /* and the metadata string inside the header, itself JSON */
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, data + 8, (gssize) hlen, NULL));
  JsonObject *m = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)), "__metadata__");
  const char *inner = json_object_get_string_member (m, "attnviz");
  assert_strict_json ("__metadata__.attnviz", inner, strlen (inner));
  ctx_clear (&ctx);
}

/* A vocabulary's pieces may hold ESC and BEL, and generated text is made of
 * them: `generate` escapes control characters but newlines and tabs, so a
 * model file cannot drive the terminal (clear it, set its title, write its
 * clipboard). */
static void
test_generated_text_cannot_drive_the_terminal (void)
{
  Ctx ctx;
  ctx_init (&ctx);
  put (&ctx, "@M/tokenizer.json",
       "{\"model\": {\"type\": \"attnviz-chars\", \"vocab\": {\"<pad>\": 0, \"<bos>\": 1, \"<eos>\": 2, \"<unk>\": 3, "
       "\"a\": 4, \"\\u001b\": 5, \"\\u0007\": 6, \"]\": 7, \"\\n\": 8, \"\\r\": 9}, \"pad_token\": \"<pad>\", "
       "\"bos_token\": \"<bos>\", \"eos_token\": \"<eos>\", \"unk_token\": \"<unk>\", \"add_bos_token\": true}}");
  const char *prompt = "a\x1b]a\x07\r\na";
  const char *args[] = { "generate", ctx.model, "--prompt", prompt, "-n", "8", "-T", "1.5", "-s", "3", NULL };
  g_auto(AttnvizTestRun) r = { 0 };
  run_limited (&r, args, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_test_message ("%s", r.out);
  for (const char *p = r.out; *p; p++)
    g_assert_true ((guchar) *p >= 0x20 || *p == '\n' || *p == '\t');
  g_assert_nonnull (strstr (r.out, "a\\x1b]a\\x07\\x0d\na"));
  ctx_clear (&ctx);
}

/* ---- memory ------------------------------------------------------------------------- */

static void
test_an_address_space_limit_fails_cleanly (void)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("AddressSanitizer reserves more address space than any limit would leave");
  return;
#else
  Ctx ctx;
  ctx_init (&ctx);
  long_context_llama (&ctx);
  g_autofree char *ids = many_ids (20000);
  g_autofree char *out = expand (&ctx, "@T/o.safetensors");
  /* A head's attention at T = 20000 is no longer held whole, but one
   * pooled into 20000 x 20000 bins is: 1.6 GB against 1 GiB, refused
   * when it is allocated, and the output opened before the run is gone. */
  ChildLimits limits = { .as = (rlim_t) 1 << 30 };
  const char *args[] = { "dump", ctx.model, "--ids", ids, "--layers", "0", "--heads", "0", "--pool", "20000",
                         "-o", out, NULL };
  g_autofree char *before = snapshot (ctx.tmp);
  g_auto(AttnvizTestRun) r = { 0 };
  run_limited (&r, args, &limits);
  attnviz_test_assert_one_line_error (&r, 1, "out of memory");
  g_autofree char *after = snapshot (ctx.tmp);
  g_assert_cmpstr (after, ==, before);
  ctx_clear (&ctx);
#endif
}

/* T = 33000: one head's attention would take 4.4 GB (over the 4 GiB a
 * run once refused), all of them 35 GB; the dump reads them a band at a
 * time and keeps 64 x 64 bins of each, inside 1 GiB of address space. */
static void
test_a_long_pooled_dump_stays_within_an_address_space_limit (void)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("AddressSanitizer reserves more address space than any limit would leave");
  return;
#else
  Ctx ctx;
  ctx_init (&ctx);
  long_context_llama (&ctx);
  g_autofree char *ids = many_ids (33000);
  g_autofree char *out = expand (&ctx, "@T/o.safetensors");
  ChildLimits limits = { .as = (rlim_t) 1 << 30 };
  const char *args[] = { "dump", ctx.model, "--ids", ids, "--layers", "0", "--heads", "0", "--pool", "64",
                         "-o", out, "-q", NULL };
  g_auto(AttnvizTestRun) r = { 0 };
  run_limited (&r, args, &limits);
  g_assert_cmpstr (r.err, ==, "");
  g_assert_cmpint (r.status, ==, 0);

  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (out, &data, &len, NULL));
  guint64 hlen;
  memcpy (&hlen, data, 8);
  hlen = GUINT64_FROM_LE (hlen);
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, data + 8, (gssize) hlen, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  JsonArray *shape = json_object_get_array_member (json_object_get_object_member (o, "attentions_pooled_mean"),
                                                   "shape");
  g_assert_cmpint (json_array_get_length (shape), ==, 4);
  g_assert_cmpint (json_array_get_int_element (shape, 2), ==, 64);
  g_assert_cmpint (json_array_get_int_element (shape, 3), ==, 64);
  g_assert_false (json_object_has_member (o, "attentions"));
  /* Every row of the head sums to 1, so in each row of bins the means
   * weighted by their bins' widths sum to 1. */
  JsonArray *off = json_object_get_array_member (json_object_get_object_member (o, "attentions_pooled_mean"),
                                                 "data_offsets");
  const float *mean = (const float *) (data + 8 + hlen + json_array_get_int_element (off, 0));
  for (int i = 0; i < 64; i++)
    {
      double sum = 0;
      for (int j = 0; j < 64; j++)
        sum += mean[i * 64 + j] * (double) ((gint64) (j + 1) * 33000 / 64 - (gint64) j * 33000 / 64);
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-3);
    }
  g_assert_cmpuint (count_hidden (ctx.tmp), ==, 0);
  ctx_clear (&ctx);
#endif
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_test_add_data_func (cases[i].path, &cases[i], test_hostile_case);
  g_test_add_func ("/hostile/ids/a-tokenizer-config-alone-is-no-tokenizer", test_a_tokenizer_config_alone_is_no_tokenizer);
  g_test_add_func ("/hostile/outputs/replacing-a-file-keeps-its-mode", test_replacing_a_file_keeps_its_mode);
  g_test_add_func ("/hostile/outputs/new-outputs-follow-the-umask", test_new_outputs_follow_the_umask);
  g_test_add_func ("/hostile/folders/two-dumps-at-once-leave-one-whole-dump",
                   test_two_dumps_at_once_leave_one_whole_dump);
  g_test_add_func ("/hostile/folders/a-full-disk-keeps-the-old-dump", test_a_full_disk_keeps_the_old_dump);
  g_test_add_data_func ("/hostile/signals/sigint-during-a-write-leaves-no-temporary", GINT_TO_POINTER (SIGINT),
                        interrupt_a_write);
  g_test_add_data_func ("/hostile/signals/sigterm-during-a-folder-write-leaves-no-temporary",
                        GINT_TO_POINTER (SIGTERM), interrupt_a_write);
  g_test_add_func ("/hostile/terminal/generated-text-cannot-drive-the-terminal",
                   test_generated_text_cannot_drive_the_terminal);
  g_test_add_func ("/hostile/json/control-characters-in-tokens-stay-valid-json",
                   test_control_characters_in_tokens_stay_valid_json);
  g_test_add_func ("/hostile/memory/an-address-space-limit-fails-cleanly", test_an_address_space_limit_fails_cleanly);
  g_test_add_func ("/hostile/memory/a-long-pooled-dump-stays-within-an-address-space-limit",
                   test_a_long_pooled_dump_stays_within_an_address_space_limit);
  return g_test_run ();
}
