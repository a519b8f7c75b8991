/* attnviz-test-hostile.c: what the hostile-input test programs share */
#define G_LOG_DOMAIN "test-hostile"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attnviz-test-hostile.h"

/* Long enough for an ASan build on a busy machine, short enough to call a
 * blocked read a hang. */
#define RUN_TIMEOUT_S 120

/* ---- the scratch folder --------------------------------------------------- */

char *
attnviz_test_expand (const AttnvizTestCtx *ctx, const char *s)
{
  g_autoptr(GString) out = g_string_new (s);
  g_string_replace (out, "@M", ctx->model, 0);
  g_string_replace (out, "@T", ctx->tmp, 0);
  return g_strdup (out->str);
}

void
attnviz_test_put_bytes (const AttnvizTestCtx *ctx, const char *where, const char *data, gsize len)
{
  g_autofree char *path = attnviz_test_expand (ctx, where);
  g_unlink (path);
  g_autoptr(GError) error = NULL;
  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
}

void
attnviz_test_put (const AttnvizTestCtx *ctx, const char *where, const char *text)
{
  attnviz_test_put_bytes (ctx, where, text, strlen (text));
}

void
attnviz_test_put_fifo (const AttnvizTestCtx *ctx, const char *where)
{
  g_autofree char *path = attnviz_test_expand (ctx, where);
  g_unlink (path);
  g_assert_cmpint (mkfifo (path, 0644), ==, 0);
}

void
attnviz_test_put_link (const AttnvizTestCtx *ctx, const char *where, const char *target)
{
  g_autofree char *path = attnviz_test_expand (ctx, where);
  g_autofree char *to = attnviz_test_expand (ctx, target);
  g_unlink (path);
  g_assert_cmpint (symlink (to, path), ==, 0);
}

void
attnviz_test_copy_fixture (const AttnvizTestCtx *ctx, const char *fixture)
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
char *
attnviz_test_brackets (gsize n)
{
  char *s = g_malloc (n + 1);
  memset (s, '[', n);
  s[n] = '\0';
  return s;
}

/* config.json with KEY set to the raw JSON text VALUE (which json-glib may
 * not even read the same way: huge integers), or removed when VALUE is
 * NULL. */
void
attnviz_test_config_set_raw (const AttnvizTestCtx *ctx, const char *key, const char *value)
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
void
attnviz_test_set_tensor (const AttnvizTestCtx *ctx, const char *name, float value)
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
char *
attnviz_test_wordpiece_json (const char *added)
{
  return g_strdup_printf ("{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
                          "\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"a\": 3, \"b\": 4}}, "
                          "\"added_tokens\": %s}", added ? added : "[]");
}

void
attnviz_test_long_context_llama (AttnvizTestCtx *ctx)
{
  attnviz_test_copy_fixture (ctx, "llama-gqa-tiny");
  attnviz_test_config_set_raw (ctx, "max_position_embeddings", "40000");
}

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

char *
attnviz_test_snapshot (const char *root)
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
guint
attnviz_test_count_hidden_logged (const char *root, gboolean log)
{
  g_autofree char *snap = attnviz_test_snapshot (root);
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

guint
attnviz_test_count_hidden (const char *root)
{
  return attnviz_test_count_hidden_logged (root, TRUE);
}

/* ---- running attnviz with a time limit and a child setup ------------------ */

static void
child_setup (gpointer data)
{
  const AttnvizTestChildLimits *l = data;
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

GSubprocess *
attnviz_test_spawn (const char *const *args, const AttnvizTestChildLimits *limits)
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
void
attnviz_test_run_with_limits (AttnvizTestRun *r, const char *const *args, const AttnvizTestChildLimits *limits)
{
  g_autoptr(GSubprocess) p = attnviz_test_spawn (args, limits);
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


/* Set by a setup that cannot make its hostile file here. */
gboolean attnviz_test_setup_skipped;

void
attnviz_test_ctx_init (AttnvizTestCtx *ctx)
{
  ctx->tmp = g_dir_make_tmp ("attnviz-hostile-XXXXXX", NULL);
  g_assert_nonnull (ctx->tmp);
  ctx->model = g_build_filename (ctx->tmp, "m", NULL);
  g_assert_cmpint (g_mkdir (ctx->model, 0755), ==, 0);
  attnviz_test_copy_fixture (ctx, "gpt2-tiny");
}

void
attnviz_test_ctx_clear (AttnvizTestCtx *ctx)
{
  attnviz_test_remove_tree (ctx->tmp);
  g_free (ctx->tmp);
  g_free (ctx->model);
}

char *
attnviz_test_many_ids (int n)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i ? "," : "", 1 + i % 90);
  return g_string_free (s, FALSE);
}

void
attnviz_test_hostile_case (gconstpointer data)
{
  const AttnvizTestHostileCase *c = data;
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  attnviz_test_setup_skipped = FALSE;
  if (c->setup)
    c->setup (&ctx);
  if (attnviz_test_setup_skipped)
    {
      attnviz_test_ctx_clear (&ctx);
      return;
    }

  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; c->args[i]; i++)
    g_ptr_array_add (args, strcmp (c->args[i], "@IDS33000") == 0 ? attnviz_test_many_ids (33000)
                                                                  : attnviz_test_expand (&ctx, c->args[i]));
  g_ptr_array_add (args, NULL);

  g_autofree char *before = attnviz_test_snapshot (ctx.tmp);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_with_limits (&r, (const char *const *) args->pdata, NULL);
  g_autofree char *names = attnviz_test_expand (&ctx, c->names);
  attnviz_test_assert_one_line_error (&r, c->status, c->needle);
  if (strstr (r.err, names) == NULL)
    {
      g_test_message ("the line does not name %s", names);
      g_assert_nonnull (strstr (r.err, names));
    }
  /* nothing new, nothing changed, nothing left behind */
  g_autofree char *after = attnviz_test_snapshot (ctx.tmp);
  g_assert_cmpstr (after, ==, before);
  if (c->check)
    c->check (&ctx, &r);
  attnviz_test_ctx_clear (&ctx);
}

