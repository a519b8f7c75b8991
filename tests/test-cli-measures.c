/* test-cli-measures.c: attnviz heads and dump --metrics */
#define G_LOG_DOMAIN "attnviz-test-cli-measures"
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "attnviz-test-util.h"

#define TEXT "bright fox.bright fox."

static char *
induction_model (void)
{
  return g_build_filename (ATTNVIZ_SOURCE_DATADIR, "models", "induction-decoder", NULL);
}

/* The CSV's rows as (layer, head, value of COLUMN). */
static GPtrArray *
csv_rows (const char *csv)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_auto(GStrv) lines = g_strsplit (csv, "\n", -1);
  for (int i = 0; lines[i] && *lines[i]; i++)
    g_ptr_array_add (rows, g_strsplit (lines[i], ",", -1));
  return rows;
}

static int
column (GPtrArray *rows, const char *name)
{
  char **header = rows->pdata[0];
  for (int c = 0; header[c]; c++)
    if (strcmp (header[c], name) == 0)
      return c;
  g_error ("no column %s", name);
}

static void
test_heads_csv_is_sorted_by_the_measure (void)
{
  g_autofree char *model = induction_model ();
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "heads", model, "--probe", "repeat", "--probe-length", "20", "--sort", "induction",
                            "--csv", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(GPtrArray) rows = csv_rows (r.out);
  g_assert_cmpint (rows->len, ==, 1 + 2 * 4);
  int c = column (rows, "induction");
  g_assert_cmpint (column (rows, "layer"), ==, 0);
  for (guint i = 2; i < rows->len; i++)
    g_assert_cmpfloat (g_ascii_strtod (((char **) rows->pdata[i - 1])[c], NULL), >=,
                       g_ascii_strtod (((char **) rows->pdata[i])[c], NULL));
  /* the two layer-1 induction heads first */
  g_assert_cmpstr (((char **) rows->pdata[1])[0], ==, "1");
  g_assert_cmpstr (((char **) rows->pdata[2])[0], ==, "1");
}

static void
test_heads_json_parses_with_every_head (void)
{
  g_autofree char *model = induction_model ();
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "heads", model, "--text", TEXT, "--json", "--sort", "prev", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(JsonParser) p = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_data (p, r.out, -1, &error));
  JsonObject *root = json_node_get_object (json_parser_get_root (p));
  JsonArray *heads = json_object_get_array_member (root, "heads");
  g_assert_cmpint (json_array_get_length (heads), ==, 8);
  double last = G_MAXDOUBLE;
  for (guint i = 0; i < 8; i++)
    {
      JsonObject *h = json_array_get_object_element (heads, i);
      double prev = json_object_get_double_member (h, "prev");
      g_assert_cmpfloat (prev, <=, last);
      last = prev;
      g_assert_true (json_object_has_member (h, "pos-shuffled"));
    }
}

static void
test_heads_bad_sort_is_a_usage_error (void)
{
  g_autofree char *model = induction_model ();
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "heads", model, "--text", TEXT, "--sort", "loudness", NULL);
  attnviz_test_assert_one_line_error (&r, 2, "--sort loudness");
}

static void
test_heads_missing_model_is_bad_input (void)
{
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "heads", "/nonexistent/model.gguf", "--text", TEXT, NULL);
  attnviz_test_assert_one_line_error (&r, 1, "/nonexistent/model.gguf");
}

static void
test_heads_importance_adds_a_column (void)
{
  g_autofree char *model = induction_model ();
  g_auto(AttnvizTestRun) r = { 0 };
  attnviz_test_run_attnviz (&r, "heads", model, "--probe", "repeat", "--probe-length", "20", "--importance",
                            "--sort", "importance", "--csv", "--no-positional", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(GPtrArray) rows = csv_rows (r.out);
  int c = column (rows, "importance");
  /* every head has a change of loss, sorted largest first, not all alike */
  g_assert_cmpint (rows->len, ==, 9);
  for (guint i = 1; i < rows->len; i++)
    g_assert_cmpstr (((char **) rows->pdata[i])[c], !=, "");
  double first = g_ascii_strtod (((char **) rows->pdata[1])[c], NULL);
  double last = g_ascii_strtod (((char **) rows->pdata[8])[c], NULL);
  g_assert_cmpfloat (first, >, last);
}

static void
test_dump_metrics_is_the_heads_table (void)
{
  g_autofree char *model = induction_model ();
  g_autofree char *dir = g_dir_make_tmp ("attnviz-cli-measures-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "dump", NULL);
  g_auto(AttnvizTestRun) d = { 0 }, h = { 0 };
  attnviz_test_run_attnviz (&d, "dump", model, "--text", TEXT, "-o", out, "--metrics", "-q", NULL);
  g_assert_cmpint (d.status, ==, 0);
  attnviz_test_run_attnviz (&h, "heads", model, "--text", TEXT, "--csv", NULL);
  g_assert_cmpint (h.status, ==, 0);
  g_autofree char *csv_path = g_build_filename (out, "metrics.csv", NULL);
  g_autofree char *json_path = g_build_filename (out, "metrics.json", NULL);
  g_autofree char *csv = NULL;
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
  g_assert_cmpstr (csv, ==, h.out);
  g_assert_true (g_file_test (json_path, G_FILE_TEST_IS_REGULAR));
  attnviz_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/heads/csv-is-sorted-by-the-measure", test_heads_csv_is_sorted_by_the_measure);
  g_test_add_func ("/cli/heads/json-parses-with-every-head", test_heads_json_parses_with_every_head);
  g_test_add_func ("/cli/heads/bad-sort-is-a-usage-error", test_heads_bad_sort_is_a_usage_error);
  g_test_add_func ("/cli/heads/missing-model-is-bad-input", test_heads_missing_model_is_bad_input);
  g_test_add_func ("/cli/heads/importance-adds-a-column", test_heads_importance_adds_a_column);
  g_test_add_func ("/cli/dump/metrics-is-the-heads-table", test_dump_metrics_is_the_heads_table);
  return g_test_run ();
}
