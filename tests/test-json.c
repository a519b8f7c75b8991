/* The one JSON reader and writer (engine/attnviz-json.c): what it refuses
 * before json-glib sees it, what it must not refuse, and what it writes. */
#define G_LOG_DOMAIN "test-json"
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "attnviz-json.h"

static char *
nested (int depth, const char *open, const char *close, const char *inner)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < depth; i++)
    g_string_append (s, open);
  g_string_append (s, inner);
  for (int i = 0; i < depth; i++)
    g_string_append (s, close);
  return g_string_free (s, FALSE);
}

static void
assert_refused (const char *text, gsize len, const char *needle)
{
  g_autoptr(GError) error = NULL;
  if (len == (gsize) -1)
    len = strlen (text);
  g_autoptr(JsonNode) root = attnviz_json_parse (text, len, ATTNVIZ_JSON_CONFIG, "x/config.json", &error);
  g_assert_null (root);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "x/config.json: "));
  g_assert_null (strchr (error->message, '\n'));
  g_assert_nonnull (strstr (error->message, needle));
}

static void
assert_accepted (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = attnviz_json_parse (text, strlen (text), ATTNVIZ_JSON_CONFIG, "config.json", &error);
  g_assert_no_error (error);
  g_assert_nonnull (root);
}

static void
test_depth_64_is_read_and_65_refused (void)
{
  /* the object itself is one level */
  g_autofree char *inner63 = nested (63, "[", "]", "1");
  g_autofree char *ok = g_strdup_printf ("{\"a\": %s}", inner63);
  assert_accepted (ok);
  g_autofree char *inner64 = nested (64, "[", "]", "1");
  g_autofree char *deep = g_strdup_printf ("{\"a\": %s}", inner64);
  assert_refused (deep, strlen (deep), "nests deeper than 64 levels");
  g_autofree char *objects = nested (65, "{\"k\":", "}", "1");
  assert_refused (objects, strlen (objects), "nests deeper than 64 levels");
  /* a million brackets: refused, not a stack overflow */
  g_autofree char *huge = nested (1000000, "[", "", "");
  assert_refused (huge, strlen (huge), "nests deeper");
}

static void
test_brackets_in_strings_do_not_count (void)
{
  g_autofree char *brackets = nested (1000, "[", "", "");
  g_autofree char *text = g_strdup_printf ("{\"a\": \"%s\", \"b\": \"\\\"%s\", \"c\": \"\\\\\"}", brackets, brackets);
  assert_accepted (text);
}

static void
test_what_hides_brackets_is_refused (void)
{
  g_autofree char *brackets = nested (100, "[", "", "");
  g_autofree char *closers = nested (100, "]", "", "");
  g_autofree char *comment = g_strdup_printf ("{\"a\": /* %s */ %s", closers, brackets);
  assert_refused (comment, strlen (comment), "comments are not JSON");
  g_autofree char *line_comment = g_strdup_printf ("{\"a\": 1 // %s\n}", closers);
  assert_refused (line_comment, strlen (line_comment), "comments are not JSON");
  /* json-glib reads '"' as a string: a count that only knows "..." would
   * then think the brackets after it were inside one */
  g_autofree char *quote = g_strdup_printf ("{\"a\": ['\"', %s]}", brackets);
  assert_refused (quote, strlen (quote), "double quotes");
  assert_refused ("{\"a\": 0x10}", -1, "\"0x10\" is not a number");
  assert_refused ("{\"a\": NaN}", -1, "\"NaN\"");
  assert_refused ("{\"a\": \"x}", -1, "not closed");
  assert_refused ("{\"a\": #}", -1, "unexpected '#'");
}

static void
test_numbers_must_fit (void)
{
  assert_refused ("{\"n_layer\": 18446744073709551621}", -1, "\"n_layer\" = 18446744073709551621 does not fit");
  assert_refused ("{\"a\": 9223372036854775808}", -1, "does not fit in 64 bits");
  assert_refused ("{\"a\": [-9223372036854775809]}", -1, "does not fit in 64 bits");
  assert_refused ("{\"a\": 1e999}", -1, "1e999 is out of range");
  assert_accepted ("{\"a\": 9223372036854775807, \"b\": -9223372036854775808, \"c\": 1.5e-300, \"d\": -0.0}");
}

static void
test_bytes_and_size (void)
{
  assert_refused ("{\"a\": 1}\0", 9, "NUL byte (at byte 8)");
  assert_refused ("{\"\xff\": 1}", -1, "not valid UTF-8 (at byte 2)");
  assert_refused ("[1, 2]", -1, "is not a JSON object");
  assert_refused ("", -1, "is not a JSON object");
  gsize n = attnviz_json_kind_max_bytes (ATTNVIZ_JSON_CONFIG) + 1;
  g_autofree char *big = g_malloc (n);
  memset (big, ' ', n);
  assert_refused (big, n, "too large for a config.json");
}

static void
test_the_header_of_a_safetensors_file_says_header (void)
{
  g_autoptr(GError) error = NULL;
  g_assert_null (attnviz_json_parse ("{/**/}", 6, ATTNVIZ_JSON_SAFETENSORS_HEADER, "w.safetensors", &error));
  g_assert_nonnull (strstr (error->message, "w.safetensors: header is not valid JSON"));
}

static void
test_written_json_escapes_every_control_character (void)
{
  char raw[40];
  int n = 0;
  for (int c = 1; c < 0x20; c++)
    raw[n++] = (char) c;
  raw[n++] = '\x7f';
  raw[n++] = '"';
  raw[n++] = '\xff';  /* not UTF-8 */
  raw[n] = '\0';
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), raw);
  for (int pretty = 0; pretty < 2; pretty++)
    {
      gsize len = 0;
      g_autofree char *out = attnviz_json_to_data (node, pretty, &len);
      g_assert_cmpuint (len, ==, strlen (out));
      for (gsize i = 0; i < len; i++)
        g_assert_true ((guchar) out[i] >= 0x20 || out[i] == '\n');
      g_assert_nonnull (strstr (out, "\\u001f"));
      g_assert_true (g_utf8_validate (out, -1, NULL));
      /* and it reads back */
      g_autoptr(JsonParser) p = json_parser_new ();
      g_assert_true (json_parser_load_from_data (p, out, -1, NULL));
    }
  g_autofree char *quoted = attnviz_json_quote ("a\x1f" "b");
  g_assert_cmpstr (quoted, ==, "\"a\\u001fb\"");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/json/depth-64-is-read-and-65-refused", test_depth_64_is_read_and_65_refused);
  g_test_add_func ("/engine/json/brackets-in-strings-do-not-count", test_brackets_in_strings_do_not_count);
  g_test_add_func ("/engine/json/what-hides-brackets-is-refused", test_what_hides_brackets_is_refused);
  g_test_add_func ("/engine/json/numbers-must-fit", test_numbers_must_fit);
  g_test_add_func ("/engine/json/bytes-and-size", test_bytes_and_size);
  g_test_add_func ("/engine/json/a-safetensors-header-says-header", test_the_header_of_a_safetensors_file_says_header);
  g_test_add_func ("/engine/json/written-json-escapes-every-control-character",
                   test_written_json_escapes_every_control_character);
  return g_test_run ();
}
