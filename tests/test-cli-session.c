/* attnviz view and render on sessions (issue 13): a dump rendered gives the
 * picture its run gives from the model; attention saved by PyTorch opens
 * with its shape and labels; bad files are one line. */
#define G_LOG_DOMAIN "test-cli-session"
#include "config.h"

#include <cairo.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "attnviz-npy.h"
#include "attnviz-test-util.h"

#define TEXT "Once upon a time there was a cat."

/* The stories260K model, or NULL (skipped) without ../shared; else the
 * GPT-2 fixture (no tokenizer: ids). */
static char *
a_model_with_a_tokenizer (void)
{
  return attnviz_test_shared_path ("models", "stories260K", "gguf", "stories260K-f32.gguf", NULL);
}

/* The pixels of two PNG files are the same. */
static void
assert_same_pixels (const char *a, const char *b)
{
  cairo_surface_t *sa = cairo_image_surface_create_from_png (a);
  cairo_surface_t *sb = cairo_image_surface_create_from_png (b);
  g_assert_cmpint (cairo_surface_status (sa), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_surface_status (sb), ==, CAIRO_STATUS_SUCCESS);
  int w = cairo_image_surface_get_width (sa), h = cairo_image_surface_get_height (sa);
  g_assert_cmpint (w, ==, cairo_image_surface_get_width (sb));
  g_assert_cmpint (h, ==, cairo_image_surface_get_height (sb));
  g_assert_cmpint (w, >, 100);
  int stride = cairo_image_surface_get_stride (sa);
  g_assert_cmpint (stride, ==, cairo_image_surface_get_stride (sb));
  const guint8 *pa = cairo_image_surface_get_data (sa), *pb = cairo_image_surface_get_data (sb);
  gsize differ = 0;
  for (gsize i = 0; i < (gsize) stride * h; i++)
    differ += pa[i] != pb[i];
  g_assert_cmpuint (differ, ==, 0);
  cairo_surface_destroy (sa);
  cairo_surface_destroy (sb);
}

typedef struct {
  const char *name;
  const char *format;       /* of the dump */
  const char *out;          /* the figure's extension */
  const char *const args[8];/* the figure's options */
} RenderCase;

static const RenderCase render_cases[] = {
  { "heatmap-from-npy", "npy", ".png", { "--layer", "2", "--head", "3" } },
  { "heatmap-from-safetensors", "safetensors", ".png", { "--layer", "4", "--head", "1", "--scale", "log" } },
  { "heatmap-from-json", "json", ".png", { "--layer", "0", "--head", "7", "--colormap", "magma" } },
  { "grid-from-npy", "npy", ".png", { "--view", "grid", "--aggregate", "mean" } },
  { "lines-from-npy", "npy", ".png", { "--view", "lines", "--layer", "1", "--head", "2" } },
  { "aggregate-over-a-layer", "npy", ".png", { "--layer", "3", "--aggregate", "max", "--range-mode", "run" } },
  { "svg-text-and-all", "safetensors", ".svg", { "--layer", "1", "--head", "0", "--width", "85mm" } },
};

static void
test_a_dump_renders_to_the_picture_of_its_run (gconstpointer data)
{
  const RenderCase *c = data;
  g_autofree char *model = a_model_with_a_tokenizer ();
  if (model == NULL)
    return;
  g_autofree char *dir = g_dir_make_tmp ("attnviz-cli-session-XXXXXX", NULL);
  g_autofree char *dump = g_build_filename (dir, g_str_equal (c->format, "npy") ? "run"
                                                 : g_str_equal (c->format, "json") ? "run.json"
                                                 : "run.safetensors", NULL);
  g_autofree char *from_model = g_strconcat (dir, "/model", c->out, NULL);
  g_autofree char *from_dump = g_strconcat (dir, "/dump", c->out, NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--text", TEXT, "--format", c->format, "-o", dump, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);

  const char *argv_model[24] = { "render", model, "--text", TEXT, "-o", from_model, "-q" };
  const char *argv_dump[24] = { "render", dump, "-o", from_dump, "-q" };
  int nm = 7, nd = 5;
  for (int i = 0; c->args[i] != NULL; i++)
    argv_model[nm++] = argv_dump[nd++] = c->args[i];
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnvizv (&r, argv_model);
  g_assert_cmpint (r.status, ==, 0);
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnvizv (&r, argv_dump);
  g_assert_cmpint (r.status, ==, 0);

  if (g_str_equal (c->out, ".png"))
    assert_same_pixels (from_model, from_dump);
  else
    {
      g_autofree char *a = NULL, *b = NULL;
      g_assert_true (g_file_get_contents (from_model, &a, NULL, NULL));
      g_assert_true (g_file_get_contents (from_dump, &b, NULL, NULL));
      g_assert_nonnull (strstr (a, "<text"));
      g_assert_cmpstr (a, ==, b);
    }
  attnviz_test_remove_tree (dir);
}

/* A variant's dump names it in the subtitle, as its run does. */
static void
test_a_variant_s_dump_renders_as_its_run (void)
{
  g_autofree char *model = a_model_with_a_tokenizer ();
  if (model == NULL)
    return;
  g_autofree char *dir = g_dir_make_tmp ("attnviz-cli-session-XXXXXX", NULL);
  g_autofree char *dump = g_build_filename (dir, "run", NULL);
  g_autofree char *a = g_build_filename (dir, "a.svg", NULL);
  g_autofree char *b = g_build_filename (dir, "b.svg", NULL);
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--text", TEXT, "--variant", "mask=window:3", "-o", dump, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "render", model, "--text", TEXT, "--variant", "mask=window:3", "--layer", "1",
                            "-o", a, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "render", dump, "--layer", "1", "-o", b, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autofree char *sa = NULL, *sb = NULL;
  g_assert_true (g_file_get_contents (a, &sa, NULL, NULL));
  g_assert_true (g_file_get_contents (b, &sb, NULL, NULL));
  g_assert_nonnull (strstr (sb, "mask=window:3"));
  g_assert_cmpstr (sa, ==, sb);
  attnviz_test_remove_tree (dir);
}

/* An encoder-decoder's dump draws its three attentions as its run does. */
static void
test_an_encoder_decoder_dump_renders_as_its_run (void)
{
  g_autofree char *model = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "data", "models", "dates-seq2seq",
                                             NULL);
  g_autofree char *dir = g_dir_make_tmp ("attnviz-cli-session-XXXXXX", NULL);
  g_autofree char *dump = g_build_filename (dir, "run.safetensors", NULL);
  const char *text = "saturday 21 november 2026";
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "dump", model, "--text", text, "--format", "safetensors", "-o", dump, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  const char *kinds[] = { "self", "encoder", "cross" };
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autofree char *a = g_strdup_printf ("%s/model-%s.png", dir, kinds[k]);
      g_autofree char *b = g_strdup_printf ("%s/dump-%s.png", dir, kinds[k]);
      attnviz_test_run_clear (&r);
      attnviz_test_run_attnviz (&r, "render", model, "--text", text, "--attention", kinds[k], "--layer", "1",
                                "--head", "2", "-o", a, "-q", NULL);
      g_assert_cmpint (r.status, ==, 0);
      attnviz_test_run_clear (&r);
      attnviz_test_run_attnviz (&r, "render", dump, "--attention", kinds[k], "--layer", "1", "--head", "2", "-o", b,
                                "-q", NULL);
      g_assert_cmpint (r.status, ==, 0);
      assert_same_pixels (a, b);
    }
  attnviz_test_remove_tree (dir);
}

/* The block of README.md after its pytorch-save-attention marker: the
 * lines indented four spaces, unindented. */
static char *
readme_pytorch_block (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "README.md", NULL);
  g_autofree char *readme = NULL;
  g_assert_true (g_file_get_contents (path, &readme, NULL, NULL));
  const char *mark = strstr (readme, "<!-- pytorch-save-attention");
  g_assert_nonnull (mark);
  g_auto(GStrv) lines = g_strsplit (strchr (mark, '\n') + 1, "\n", -1);
  GString *code = g_string_new (NULL);
  for (int i = 0; lines[i] && g_str_has_prefix (lines[i], "    "); i++)
    g_string_append_printf (code, "%s\n", lines[i] + 4);
  g_assert_cmpuint (code->len, >, 0);
  return g_string_free (code, FALSE);
}

static void
test_a_pytorch_made_npy_opens_with_its_shape_and_labels (void)
{
  const char *python = "/usr/bin/python3";
  g_autofree char *probe_err = NULL;
  int status = 1;
  const char *probe[] = { python, "-c", "import torch, numpy", NULL };
  if (!g_file_test (python, G_FILE_TEST_IS_EXECUTABLE)
      || !g_spawn_sync (NULL, (char **) probe, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &probe_err,
                        &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_skip ("Debian's python3-torch (/usr/bin/python3 with torch and numpy) is not installed");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("attnviz-cli-session-XXXXXX", NULL);
  g_autofree char *code = readme_pytorch_block ();
  /* the README's lines exactly */
  g_autofree char *script = g_strconcat ("import torch\ntorch.manual_seed(0)\n", code, NULL);
  const char *argv[] = { python, "-c", script, NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_true (g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, NULL));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("the README's PyTorch lines failed: %s", err);
  g_autofree char *npy = g_build_filename (dir, "attn.npy", NULL);
  g_autofree char *tokens = g_build_filename (dir, "tokens.txt", NULL);
  g_assert_true (g_file_set_contents (tokens, "The\ncat\nsat\non\nthe\nmat\n", -1, NULL));

  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "view", npy, "--tokens", tokens, "--info", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "array [4, 6, 6]"));
  g_assert_nonnull (strstr (r.out, "1 layer x 4 heads of 6 x 6"));
  g_assert_nonnull (strstr (r.out, "\"The\" \"cat\" \"sat\" \"on\" \"the\" \"mat\""));
  g_assert_nonnull (strstr (r.out, "all 24 rows sum to 1"));
  /* no token file: numbered */
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "view", npy, "--info", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"0\" \"1\" \"2\" \"3\" \"4\" \"5\""));

  /* and draws: head 3 of the file, labelled */
  g_autofree char *svg = g_build_filename (dir, "head3.svg", NULL);
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "render", npy, "--tokens", tokens, "--head", "3", "-o", svg, "-q", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autofree char *drawn = NULL;
  g_assert_true (g_file_get_contents (svg, &drawn, NULL, NULL));
  g_assert_nonnull (strstr (drawn, "attn.npy · layer 0 · head 3"));
  g_assert_nonnull (strstr (drawn, ">mat<"));
  attnviz_test_remove_tree (dir);
}

typedef struct {
  const char *name;
  int status;
  const char *needle;
} BadCase;

static void
write_floats (const char *path, const gint64 *shape, int n_dims, float fill, float odd, gsize at)
{
  gsize n = 1;
  for (int i = 0; i < n_dims; i++)
    n *= shape[i];
  g_autofree float *a = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    a[i] = fill;
  if (at < n)
    a[at] = odd;
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_npy_write (path, ATTNVIZ_NPY_F32, shape, n_dims, a, &error));
}

static void
test_bad_files_and_options_are_one_line (void)
{
  g_autofree char *dir = g_dir_make_tmp ("attnviz-cli-session-XXXXXX", NULL);
  g_autofree char *good = g_build_filename (dir, "good.npy", NULL);
  g_autofree char *nan = g_build_filename (dir, "nan.npy", NULL);
  g_autofree char *neg = g_build_filename (dir, "neg.npy", NULL);
  g_autofree char *odd = g_build_filename (dir, "odd.npy", NULL);
  g_autofree char *scores = g_build_filename (dir, "scores.npy", NULL);
  g_autofree char *png = g_build_filename (dir, "x.png", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo.npy", NULL);
  gint64 sq[] = { 2, 3, 3 }, odd_shape[] = { 2, 2, 2, 2, 2 };
  write_floats (good, sq, 3, 1.0f / 3, 1.0f / 3, 0);
  write_floats (nan, sq, 3, 1.0f / 3, NAN, 4);
  write_floats (neg, sq, 3, 1.0f / 3, -1.0f, 2);
  write_floats (odd, odd_shape, 5, 0.5f, 0.5f, 0);
  write_floats (scores, sq, 3, 2.0f, 2.0f, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_autofree char *tokens = g_build_filename (dir, "tokens.txt", NULL);
  g_assert_true (g_file_set_contents (tokens, "a\nb\n", -1, NULL));

  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "view", nan, "--info", NULL);
  attnviz_test_assert_one_line_error (&r, 1, "is NaN");
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "view", neg, "--info", NULL);
  attnviz_test_assert_one_line_error (&r, 1, "is negative");
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "view", odd, "--info", NULL);
  attnviz_test_assert_one_line_error (&r, 1, "expected (L, H, T, T)");
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "view", fifo, "--info", NULL);
  attnviz_test_assert_one_line_error (&r, 1, "FIFO");
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "view", good, "--tokens", tokens, "--info", NULL);
  attnviz_test_assert_one_line_error (&r, 1, "2 tokens for the 3");
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "view", NULL);
  attnviz_test_assert_one_line_error (&r, 2, "exactly one FILE");
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "render", good, "--text", "hello", "-o", png, NULL);
  attnviz_test_assert_one_line_error (&r, 2, "--text");
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "render", good, "--head", "2", "-o", png, NULL);
  attnviz_test_assert_one_line_error (&r, 2, "--head 2");
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "render", good, "--attention", "cross", "-o", png, NULL);
  attnviz_test_assert_one_line_error (&r, 2, "--attention");
  g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));

  /* scores: shown, with one line of warning */
  attnviz_test_run_clear (&r);
  attnviz_test_run_attnviz (&r, "render", scores, "--head", "1", "-o", png, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "warning: "));
  g_assert_nonnull (strstr (r.err, "6 of 6 rows do not sum to 1"));
  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
  attnviz_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (render_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/cli/render/a-dump-renders-to-the-picture-of-its-run/%s",
                                            render_cases[i].name);
      g_test_add_data_func (p, &render_cases[i], test_a_dump_renders_to_the_picture_of_its_run);
    }
  g_test_add_func ("/cli/render/a-variant-s-dump-renders-as-its-run", test_a_variant_s_dump_renders_as_its_run);
  g_test_add_func ("/cli/render/an-encoder-decoder-dump-renders-as-its-run",
                   test_an_encoder_decoder_dump_renders_as_its_run);
  g_test_add_func ("/cli/view/a-pytorch-made-npy-opens-with-its-shape-and-labels",
                   test_a_pytorch_made_npy_opens_with_its_shape_and_labels);
  g_test_add_func ("/cli/view/bad-files-and-options-are-one-line", test_bad_files_and_options_are_one_line);
  return g_test_run ();
}
