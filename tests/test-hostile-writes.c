/* Hostile input (issue 8), the cases a table does not fit: outputs that
 * succeed (modes, the umask), folders written whole (two dumps at once, a
 * full disk), signals during a write, valid JSON out of hostile tokens,
 * generated text that cannot drive the terminal, and an address-space
 * limit.  (The tables: test-hostile.c, test-hostile-outputs.c.) */
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
#include "attnviz-test-util.h"

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
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  g_autofree char *out = attnviz_test_expand (&ctx, "@T/private.json");
  attnviz_test_put (&ctx, "@T/private.json", "old\n");
  g_assert_cmpint (g_chmod (out, 0600), ==, 0);
  const char *args[] = { "dump", ctx.model, "--ids", "1,2,3", "-o", out, "-q", NULL };
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_with_limits (&r, args, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpint (mode_of (out), ==, 0600);
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "{"));
  g_assert_cmpuint (attnviz_test_count_hidden (ctx.tmp), ==, 0);
  attnviz_test_ctx_clear (&ctx);
}

static void
test_new_outputs_follow_the_umask (void)
{
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  AttnvizTestChildLimits limits = { .umask = 027 };
  g_autofree char *json = attnviz_test_expand (&ctx, "@T/new.json");
  g_autofree char *npy = attnviz_test_expand (&ctx, "@T/new-dump");
  g_autofree char *png = attnviz_test_expand (&ctx, "@T/new.png");
  const char *a[] = { "dump", ctx.model, "--ids", "1,2,3", "-o", json, "-q", NULL };
  const char *b[] = { "dump", ctx.model, "--ids", "1,2,3", "--format", "npy", "-o", npy, "-q", NULL };
  const char *c[] = { "render", ctx.model, "--ids", "1,2,3", "-o", png, "-q", NULL };
  const char *const *runs[] = { a, b, c };
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_with_limits (&r, runs[i], &limits);
      g_assert_cmpint (r.status, ==, 0);
    }
  g_assert_cmpint (mode_of (json), ==, 0640);
  g_assert_cmpint (mode_of (png), ==, 0640);
  g_assert_cmpint (mode_of (npy), ==, 0750);
  g_autofree char *meta = g_build_filename (npy, "metadata.json", NULL);
  g_assert_cmpint (mode_of (meta), ==, 0640);
  g_assert_cmpuint (attnviz_test_count_hidden (ctx.tmp), ==, 0);
  attnviz_test_ctx_clear (&ctx);
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
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  g_autofree char *dir = attnviz_test_expand (&ctx, "@T/dump");
  g_autofree char *short_ids = attnviz_test_many_ids (7);
  g_autofree char *long_ids = attnviz_test_many_ids (40);
  for (int round = 0; round < 8; round++)
    {
      /* half the rounds race to create the folder, half to replace it */
      if (round % 2 == 0)
        attnviz_test_remove_tree (dir);
      const char *a[] = { "dump", ctx.model, "--ids", short_ids, "--format", "npy", "-o", dir, "-q", NULL };
      const char *b[] = { "dump", ctx.model, "--ids", long_ids, "--format", "npy", "-o", dir, "-q", NULL };
      g_autoptr(GSubprocess) pa = attnviz_test_spawn (a, NULL);
      g_autoptr(GSubprocess) pb = attnviz_test_spawn (b, NULL);
      g_autofree char *ea = NULL, *eb = NULL;
      g_subprocess_communicate_utf8 (pa, "", NULL, NULL, &ea, NULL);
      g_subprocess_communicate_utf8 (pb, "", NULL, NULL, &eb, NULL);
      g_test_message ("round %d: %s%s", round, ea ? ea : "", eb ? eb : "");
      g_assert_cmpint (g_subprocess_get_exit_status (pa), ==, 0);
      g_assert_cmpint (g_subprocess_get_exit_status (pb), ==, 0);
      int T = dump_folder_tokens (dir);
      g_assert_true (T == 7 || T == 40);
      g_assert_cmpuint (attnviz_test_count_hidden (ctx.tmp), ==, 0);
    }
  attnviz_test_ctx_clear (&ctx);
}

static void
test_a_full_disk_keeps_the_old_dump (void)
{
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  g_autofree char *dir = attnviz_test_expand (&ctx, "@T/dump");
  g_autofree char *short_ids = attnviz_test_many_ids (5);
  g_autofree char *long_ids = attnviz_test_many_ids (60);
  const char *first[] = { "dump", ctx.model, "--ids", short_ids, "--format", "npy", "-o", dir, "-q", NULL };
  g_auto(AttnvizTestRun) r1 = { 0 };
  attnviz_test_run_with_limits (&r1, first, NULL);
  g_assert_cmpint (r1.status, ==, 0);
  g_autofree char *before = attnviz_test_snapshot (ctx.tmp);

  /* 172 KB of attention against a 20 KB file-size limit: write () fails
   * with EFBIG half-way, as it would with ENOSPC. */
  AttnvizTestChildLimits full = { .fsize = 20 * 1024 };
  const char *second[] = { "dump", ctx.model, "--ids", long_ids, "--format", "npy", "-o", dir, NULL };
  g_auto(AttnvizTestRun) r2 = { 0 };
  attnviz_test_run_with_limits (&r2, second, &full);
  attnviz_test_assert_one_line_error (&r2, 1, dir);
  g_autofree char *after = attnviz_test_snapshot (ctx.tmp);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpint (dump_folder_tokens (dir), ==, 5);
  attnviz_test_ctx_clear (&ctx);
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
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  GString *text = g_string_new (NULL);
  while (text->len < 8000)
    g_string_append (text, "Once upon a time there was a little girl who liked to play in the park. ");
  attnviz_test_put (&ctx, "@T/story.txt", text->str);
  g_string_free (text, TRUE);
  g_autofree char *story = attnviz_test_expand (&ctx, "@T/story.txt");
  g_autofree char *out = attnviz_test_expand (&ctx, sig == SIGINT ? "@T/out.safetensors" : "@T/dump");
  const char *args[] = { "dump", model, "--text-file", story, "--truncate", "-o", out, "-q", NULL };

  gboolean interrupted = FALSE;
  for (int attempt = 0; attempt < 5 && !interrupted; attempt++)
    {
      g_autoptr(GSubprocess) p = attnviz_test_spawn (args, NULL);
      gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
      while (g_get_monotonic_time () < deadline && attnviz_test_count_hidden_logged (ctx.tmp, FALSE) == 0)
        g_usleep (200);
      kill (atoi (g_subprocess_get_identifier (p)), sig);
      g_subprocess_wait (p, NULL, NULL);
      interrupted = g_subprocess_get_if_signaled (p);
      if (interrupted)
        g_assert_cmpint (g_subprocess_get_term_sig (p), ==, sig);
      /* Killed in the middle or finished first: nothing hidden stays. */
      g_assert_cmpuint (attnviz_test_count_hidden (ctx.tmp), ==, 0);
      attnviz_test_remove_tree (out);
    }
  if (!interrupted)
    g_test_incomplete ("every dump finished before the signal came");
  attnviz_test_ctx_clear (&ctx);
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
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  /* a character tokenizer with U+001F (json-glib 1.6 leaves it raw) and
   * U+0001 among its pieces */
  attnviz_test_put (&ctx, "@M/tokenizer.json",
       "{\"model\": {\"type\": \"attnviz-chars\", \"vocab\": {\"<pad>\": 0, \"<bos>\": 1, \"<eos>\": 2, \"<unk>\": 3, "
       "\"a\": 4, \"\\u001f\": 5, \"\\u0001\": 6, \"\\\"\": 7}, \"pad_token\": \"<pad>\", \"bos_token\": \"<bos>\", "
       "\"eos_token\": \"<eos>\", \"unk_token\": \"<unk>\", \"add_bos_token\": true}}");
  const char *text = "a\x1f" "a\x01\"a";
  g_autofree char *json = attnviz_test_expand (&ctx, "@T/o.json");
  g_autofree char *npy = attnviz_test_expand (&ctx, "@T/o");
  g_autofree char *st = attnviz_test_expand (&ctx, "@T/o.safetensors");
  const char *a[] = { "dump", ctx.model, "--text", text, "-o", json, "-q", NULL };
  const char *b[] = { "dump", ctx.model, "--text", text, "-o", npy, "-q", NULL };
  const char *c[] = { "dump", ctx.model, "--text", text, "-o", st, "-q", NULL };
  const char *const *runs[] = { a, b, c };
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_auto(AttnvizTestRun) r = { 0 };
      attnviz_test_run_with_limits (&r, runs[i], NULL);
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
  attnviz_test_ctx_clear (&ctx);
}

/* A vocabulary's pieces may hold ESC and BEL, and generated text is made of
 * them: `generate` escapes control characters but newlines and tabs, so a
 * model file cannot drive the terminal (clear it, set its title, write its
 * clipboard). */
static void
test_generated_text_cannot_drive_the_terminal (void)
{
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  attnviz_test_put (&ctx, "@M/tokenizer.json",
       "{\"model\": {\"type\": \"attnviz-chars\", \"vocab\": {\"<pad>\": 0, \"<bos>\": 1, \"<eos>\": 2, \"<unk>\": 3, "
       "\"a\": 4, \"\\u001b\": 5, \"\\u0007\": 6, \"]\": 7, \"\\n\": 8, \"\\r\": 9}, \"pad_token\": \"<pad>\", "
       "\"bos_token\": \"<bos>\", \"eos_token\": \"<eos>\", \"unk_token\": \"<unk>\", \"add_bos_token\": true}}");
  const char *prompt = "a\x1b]a\x07\r\na";
  const char *args[] = { "generate", ctx.model, "--prompt", prompt, "-n", "8", "-T", "1.5", "-s", "3", NULL };
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_with_limits (&r, args, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_test_message ("%s", r.out);
  for (const char *p = r.out; *p; p++)
    g_assert_true ((guchar) *p >= 0x20 || *p == '\n' || *p == '\t');
  g_assert_nonnull (strstr (r.out, "a\\x1b]a\\x07\\x0d\na"));
  attnviz_test_ctx_clear (&ctx);
}

/* ---- memory ------------------------------------------------------------------------- */

static void
test_an_address_space_limit_fails_cleanly (void)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("AddressSanitizer reserves more address space than any limit would leave");
  return;
#else
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  attnviz_test_long_context_llama (&ctx);
  g_autofree char *ids = attnviz_test_many_ids (20000);
  g_autofree char *out = attnviz_test_expand (&ctx, "@T/o.safetensors");
  /* A head's attention at T = 20000 is no longer held whole, but one
   * pooled into 20000 x 20000 bins is: 1.6 GB against 1 GiB, refused
   * when it is allocated, and the output opened before the run is gone. */
  AttnvizTestChildLimits limits = { .as = (rlim_t) 1 << 30 };
  const char *args[] = { "dump", ctx.model, "--ids", ids, "--layers", "0", "--heads", "0", "--pool", "20000",
                         "-o", out, NULL };
  g_autofree char *before = attnviz_test_snapshot (ctx.tmp);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_with_limits (&r, args, &limits);
  attnviz_test_assert_one_line_error (&r, 1, "out of memory");
  g_autofree char *after = attnviz_test_snapshot (ctx.tmp);
  g_assert_cmpstr (after, ==, before);
  attnviz_test_ctx_clear (&ctx);
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
  AttnvizTestCtx ctx;
  attnviz_test_ctx_init (&ctx);
  attnviz_test_long_context_llama (&ctx);
  g_autofree char *ids = attnviz_test_many_ids (33000);
  g_autofree char *out = attnviz_test_expand (&ctx, "@T/o.safetensors");
  AttnvizTestChildLimits limits = { .as = (rlim_t) 1 << 30 };
  const char *args[] = { "dump", ctx.model, "--ids", ids, "--layers", "0", "--heads", "0", "--pool", "64",
                         "-o", out, "-q", NULL };
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_with_limits (&r, args, &limits);
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
  g_assert_cmpuint (attnviz_test_count_hidden (ctx.tmp), ==, 0);
  attnviz_test_ctx_clear (&ctx);
#endif
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
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
