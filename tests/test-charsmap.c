#define G_LOG_DOMAIN "test-charsmap"
#include "config.h"

/* SentencePiece's precompiled character map (attnviz-charsmap.c): a map
 * built by hand walks like darts-clone's trie; nmt_nfkc's map (marian-tiny's
 * source.spm, trained by python3-sentencepiece) normalizes what GLib's NFKC
 * would not; hostile maps are refused at load or bounded at use.  The ids
 * the map leads to are checked against SentencePiece's in test-marian (.spm)
 * and test-t5-gguf (tokenizer.json, GGUF). */

#include <string.h>
#include <gio/gio.h>

#include <json-glib/json-glib.h>

#include "attnviz-charsmap.h"
#include "attnviz-gguf.h"
#include "attnviz-spm.h"
#include "attnviz-test-util.h"
#include "attnviz-tokenizer.h"

#define VALUE (1u << 31)
#define LEAF (1u << 8)
#define OFFSET(o) ((guint32) (o) << 10)

/* A blob: the trie's size, UNITS (N of them, little-endian) and STRINGS
 * (LEN bytes). */
static GByteArray *
blob_new (const guint32 *units, gsize n, const char *strings, gsize len)
{
  GByteArray *b = g_byte_array_new ();
  guint32 size = GUINT32_TO_LE ((guint32) (4 * n));
  g_byte_array_append (b, (const guint8 *) &size, 4);
  for (gsize i = 0; i < n; i++)
    {
      guint32 u = GUINT32_TO_LE (units[i]);
      g_byte_array_append (b, (const guint8 *) &u, 4);
    }
  g_byte_array_append (b, (const guint8 *) strings, (guint) len);
  return b;
}

/* The keys "a" -> "X" and "ab" -> "YZ": the root's offset 1; 'a' at
 * 1 ^ 0x61 = 96 with a leaf and offset 256; its value at 352; 'b' at
 * 352 ^ 0x62 = 258 with a leaf and offset 1; its value at 259. */
static guint32 *
two_keys (gsize *n)
{
  *n = 360;
  guint32 *u = g_new0 (guint32, *n);
  u[0] = OFFSET (1);
  u[96] = 'a' | LEAF | OFFSET (256);
  u[352] = VALUE | 0;
  u[258] = 'b' | LEAF | OFFSET (1);
  u[259] = VALUE | 2;
  return u;
}

static const char two_strings[] = "X\0YZ";   /* and its final NUL */

static AttnvizCharsmap *
map_from (const guint32 *units, gsize n, const char *strings, gsize len)
{
  g_autoptr(GByteArray) b = blob_new (units, n, strings, len);
  g_autoptr(GError) error = NULL;
  AttnvizCharsmap *map = attnviz_charsmap_new (b->data, b->len, "hand.bin", &error);
  g_assert_no_error (error);
  return map;
}

/* The normalized text, and each of its bytes' span as "from-to," */
static char *
normalize (const AttnvizCharsmap *map, const char *text, gsize len, char **spans)
{
  g_autoptr(GArray) from = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) to = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GError) error = NULL;
  char *out = attnviz_charsmap_normalize (map, text, len, from, to, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (out), ==, from->len);
  g_assert_cmpuint (to->len, ==, from->len);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < from->len; i++)
    g_string_append_printf (s, "%u-%u,", g_array_index (from, guint32, i), g_array_index (to, guint32, i));
  *spans = g_string_free (s, FALSE);
  return out;
}

static void
test_the_longest_key_wins (void)
{
  gsize n;
  g_autofree guint32 *u = two_keys (&n);
  g_autoptr(AttnvizCharsmap) map = map_from (u, n, two_strings, sizeof two_strings);
  g_autofree char *spans = NULL;
  /* "ab" is a key, so is "a" (then "c" is no key's start), "b" alone is none */
  g_autofree char *out = normalize (map, "abacb", 5, &spans);
  g_assert_cmpstr (out, ==, "YZXcb");
  g_assert_cmpstr (spans, ==, "0-2,0-2,2-3,3-4,4-5,");
}

static void
test_an_invalid_byte_becomes_the_replacement_character (void)
{
  gsize n;
  g_autofree guint32 *u = two_keys (&n);
  g_autoptr(AttnvizCharsmap) map = map_from (u, n, two_strings, sizeof two_strings);
  g_autofree char *spans = NULL;
  /* 0xff, then "é" cut after its first byte, then "é" whole */
  g_autofree char *out = normalize (map, "\xff\xc3" "a\xc3\xa9", 5, &spans);
  g_assert_cmpstr (out, ==, "\xef\xbf\xbd\xef\xbf\xbdX\xc3\xa9");
  g_assert_cmpstr (spans, ==, "0-1,0-1,0-1,1-2,1-2,1-2,2-3,3-5,3-5,");
}

/* nmt_nfkc, as SentencePiece trained it into marian-tiny's source.spm: the
 * characters whose pieces python3-sentencepiece shows it maps so, several
 * of which GLib's NFKC leaves alone (tab, newline, U+200B, U+FEFF, a
 * control character). */
static void
test_nmt_nfkc_maps_what_nfkc_does_not (void)
{
  g_autofree char *path = attnviz_test_fixture_path ("marian-tiny", "source.spm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizSpmModel) spm = attnviz_spm_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (spm->charsmap);
  static const struct { const char *in, *out; } cases[] = {
    { "\xef\xbd\x86\xef\xbd\x95\xef\xbd\x8c\xef\xbd\x8c", "full" },   /* ｆｕｌｌ */
    { "\xef\xac\x81", "fi" },                                         /* ﬁ */
    { "\xe2\x84\xa2", "TM" },
    { "\xe2\x80\xa6", "..." },
    { "a\xc2\xa0" "b", "a b" },                                       /* NBSP */
    { "a\xe3\x80\x80" "b", "a b" },                                   /* U+3000 */
    { "a\xe2\x80\x8b" "b", "a b" },                                   /* U+200B */
    { "a\xef\xbb\xbf" "b", "a b" },                                   /* U+FEFF */
    { "a\tb\nc", "a b c" },
    { "a\x01" "b", "ab" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *spans = NULL;
      g_autofree char *out = normalize (spm->charsmap, cases[i].in, strlen (cases[i].in), &spans);
      g_assert_cmpstr (out, ==, cases[i].out);
    }
  /* each byte of "full" spans its full-width letter */
  g_autofree char *spans = NULL;
  g_autofree char *out = normalize (spm->charsmap, cases[0].in, strlen (cases[0].in), &spans);
  g_assert_cmpstr (spans, ==, "0-3,3-6,6-9,9-12,");
}

/* Hostile tries, bounded at use: each leaves the text as it is (or as a
 * bounded search finds it), never reads past the blob, never loops. */
static void
test_a_hostile_trie_is_bounded_at_use (void)
{
  gsize n;
  g_autofree char *spans = NULL;

  /* the root's child index far past the trie */
  guint32 far[4] = { OFFSET (0x1fffff), 0, 0, 0 };
  g_autoptr(AttnvizCharsmap) m1 = map_from (far, 4, "X", 2);
  g_autofree char *o1 = normalize (m1, "abc", 3, &spans);
  g_assert_cmpstr (o1, ==, "abc");
  g_clear_pointer (&spans, g_free);

  /* a leaf whose value unit is past the trie */
  g_autofree guint32 *u = two_keys (&n);
  u[96] = 'a' | LEAF | OFFSET (0x1fff);
  g_autoptr(AttnvizCharsmap) m2 = map_from (u, n, two_strings, sizeof two_strings);
  g_autofree char *o2 = normalize (m2, "ab", 2, &spans);
  g_assert_cmpstr (o2, ==, "ab");
  g_clear_pointer (&spans, g_free);

  /* values past the strings, and in the middle of a character: no match */
  g_autofree guint32 *v = two_keys (&n);
  v[352] = VALUE | 1000;
  v[259] = VALUE | 1;
  static const char e_acute[] = "\xc3\xa9";
  g_autoptr(AttnvizCharsmap) m3 = map_from (v, n, e_acute, sizeof e_acute);
  g_autofree char *o3 = normalize (m3, "abab", 4, &spans);
  g_assert_cmpstr (o3, ==, "abab");
  g_clear_pointer (&spans, g_free);

  /* a cycle: 'a' leads back to the root, a key ending at every step; a
   * search stops after 256 bytes, so 1000 "a" are four replacements */
  guint32 cyc[100] = { 0 };
  cyc[0] = OFFSET (1);
  cyc[1] = VALUE | 0;
  cyc[96] = 'a' | LEAF | OFFSET (97);   /* 96 ^ 97 = 1 */
  g_autoptr(AttnvizCharsmap) m4 = map_from (cyc, 100, "X", 2);
  g_autofree char *many = g_strnfill (1000, 'a');
  g_autofree char *o4 = normalize (m4, many, 1000, &spans);
  g_assert_cmpstr (o4, ==, "XXXX");
  g_assert_cmpstr (spans, ==, "0-256,256-512,512-768,768-1000,");
}

/* "a" -> 1000 "x": a megabyte of text would be a gigabyte, and its spans
 * eight more.  A text may grow by its own length or 1 MiB, whichever is
 * more: 1000 "a" (1 MB) are mapped, 1100 (1.1 MB) refused, naming the
 * map's file. */
static void
test_a_text_the_map_lengthens_too_much_is_refused (void)
{
  gsize n;
  g_autofree guint32 *u = two_keys (&n);
  g_autofree char *strings = g_malloc0 (1001);
  memset (strings, 'x', 1000);
  g_autoptr(AttnvizCharsmap) map = map_from (u, n, strings, 1001);

  g_autofree char *fits = g_strnfill (1000, 'a');
  g_autoptr(GArray) from = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) to = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GError) error = NULL;
  g_autofree char *out = attnviz_charsmap_normalize (map, fits, 1000, from, to, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (out), ==, 1000000);
  g_assert_cmpuint (from->len, ==, 1000000);
  g_assert_cmpuint (g_array_index (from, guint32, 999999), ==, 999);
  g_assert_cmpuint (g_array_index (to, guint32, 999999), ==, 1000);

  g_autofree char *more = g_strnfill (1100, 'a');
  g_autoptr(GArray) from2 = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) to2 = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autofree char *refused = attnviz_charsmap_normalize (map, more, 1100, from2, to2, &error);
  g_assert_null (refused);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==,
                   "hand.bin: precompiled_charsmap makes a text of 1100 bytes longer than 1049676 bytes");
  g_assert_cmpuint (from2->len, <=, 1049676);
}

/* A value is checked from where it points, to the NUL: into "\xff" "X"
 * at the "X" it is a match, at the 0xff none ("ab" is then not a key,
 * "a" is, "b" stays). */
static void
test_a_replacement_is_checked_from_where_its_value_points (void)
{
  gsize n;
  g_autofree guint32 *u = two_keys (&n);
  u[352] = VALUE | 1;
  u[259] = VALUE | 0;
  static const char strings[] = "\xff" "X";
  g_autoptr(AttnvizCharsmap) map = map_from (u, n, strings, sizeof strings);
  g_autofree char *spans = NULL;
  g_autofree char *out = normalize (map, "ab", 2, &spans);
  g_assert_cmpstr (out, ==, "Xb");
  g_assert_cmpstr (spans, ==, "0-1,1-2,");
}

/* A blob that ends with its trie (no replacement strings): read from a
 * buffer of exactly its size, nothing past it; no key has a value. */
static void
test_a_trie_without_strings_maps_nothing (void)
{
  gsize n;
  g_autofree guint32 *u = two_keys (&n);
  g_autoptr(GByteArray) b = blob_new (u, n, "", 0);
  g_autofree guint8 *exact = g_memdup2 (b->data, b->len);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizCharsmap) map = attnviz_charsmap_new (exact, b->len, "hand.bin", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (map->n_strings, ==, 0);
  g_autofree char *spans = NULL;
  g_autofree char *out = normalize (map, "ab", 2, &spans);
  g_assert_cmpstr (out, ==, "ab");
  g_assert_cmpstr (spans, ==, "0-1,1-2,");
}

/* The tokenizer of tests/fixtures/charsmap/NAME.EXT (.spm or .gguf) */
static AttnvizTokenizer *
rules_tokenizer (const char *name, const char *ext)
{
  g_autofree char *file = g_strconcat (name, ext, NULL);
  g_autofree char *path = attnviz_test_fixture_path ("charsmap", file, NULL);
  g_autoptr(GError) error = NULL;
  AttnvizTokenizer *tok = NULL;
  if (g_str_equal (ext, ".spm"))
    tok = attnviz_tokenizer_new_from_spm (path, &error);
  else
    {
      AttnvizGguf *gguf = attnviz_gguf_open (path, &error);
      g_assert_no_error (error);
      tok = attnviz_tokenizer_new_from_gguf (gguf, &error);
      attnviz_gguf_free (gguf);
    }
  g_assert_no_error (error);
  return tok;
}

/* tools/fixtures_charsmap.py's model, trained with a rule table of its
 * own three ways (the spec's defaults, add_dummy_prefix false,
 * remove_extra_whitespaces false): from its .spm and from its GGUF,
 * attnviz gives python3-sentencepiece's ids on white space leading,
 * trailing, repeated, mapped to a space and removed, and its spans stay
 * in order between characters as typed. */
static void
test_white_space_rules_follow_the_spec (gconstpointer data)
{
  const char *ext = data;
  g_autofree char *path = attnviz_test_fixture_path ("charsmap", "tokenization.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  JsonArray *cases = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (cases), >=, 33);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *o = json_array_get_object_element (cases, i);
      const char *text = json_object_get_string_member (o, "text");
      JsonArray *want = json_object_get_array_member (o, "ids");
      AttnvizTokenizer *tok = rules_tokenizer (json_object_get_string_member (o, "model"), ext);
      g_autoptr(GArray) tokens = attnviz_tokenizer_encode (tok, text, -1, FALSE, &error);
      g_assert_no_error (error);
      g_autoptr(GString) got = g_string_new (NULL), expected = g_string_new (NULL);
      guint32 prev = 0;
      gsize len = strlen (text);
      for (guint t = 0; t < tokens->len; t++)
        {
          const AttnvizToken *tk = &g_array_index (tokens, AttnvizToken, t);
          g_string_append_printf (got, "%d ", tk->id);
          g_assert_cmpuint (tk->start, >=, prev);
          g_assert_cmpuint (tk->start, <=, tk->end);
          g_assert_cmpuint (tk->end, <=, len);
          g_assert_true (tk->start == len || (text[tk->start] & 0xc0) != 0x80);
          g_assert_true (tk->end == len || (text[tk->end] & 0xc0) != 0x80);
          prev = tk->end;
        }
      for (guint t = 0; t < json_array_get_length (want); t++)
        g_string_append_printf (expected, "%d ", (int) json_array_get_int_element (want, t));
      g_test_message ("%s%s \"%s\": %s", json_object_get_string_member (o, "model"), ext, text, got->str);
      g_assert_cmpstr (got->str, ==, expected->str);
      attnviz_tokenizer_free (tok);
    }
}

/* Broken blobs: one line naming the file and precompiled_charsmap. */
static const struct {
  const char *name;
  const char *bytes;
  gsize len;
  const char *message;
} bad_blobs[] = {
  { "truncated", "\x04\x00", 2, "m.bin: precompiled_charsmap is 2 bytes, too short for its trie's size" },
  { "a-trie-past-the-end", "\x08\x00\x00\x00" "abcd", 8,
    "m.bin: precompiled_charsmap says its trie is 8 bytes, past its end (4 bytes)" },
  { "a-size-past-4-gib", "\xff\xff\xff\xff" "abcd", 8,
    "m.bin: precompiled_charsmap says its trie is 4294967295 bytes, past its end (4 bytes)" },
  { "an-empty-trie", "\x00\x00\x00\x00" "X\x00", 6,
    "m.bin: precompiled_charsmap has a trie of 0 bytes, not a whole number of 4-byte units" },
  { "a-trie-of-partial-units", "\x03\x00\x00\x00" "abc" "X\x00", 9,
    "m.bin: precompiled_charsmap has a trie of 3 bytes, not a whole number of 4-byte units" },
  { "a-string-without-nul", "\x04\x00\x00\x00" "\x00\x04\x00\x00" "XY", 10,
    "m.bin: precompiled_charsmap has a last replacement string without its NUL" },
};

static void
test_a_broken_blob_is_refused (gconstpointer data)
{
  guint i = GPOINTER_TO_UINT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(AttnvizCharsmap) map = attnviz_charsmap_new ((const guint8 *) bad_blobs[i].bytes, bad_blobs[i].len,
                                                         "m.bin", &error);
  g_assert_null (map);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, bad_blobs[i].message);
}

static void
test_text_that_is_not_base64_is_refused (void)
{
  static const char *const bad[] = { "AAA", "AA!A", "A===", "=AAA" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(AttnvizCharsmap) map = attnviz_charsmap_new_from_base64 (bad[i], "t.json", &error);
      g_assert_null (map);
      g_assert_cmpstr (error->message, ==, "t.json: precompiled_charsmap is not a base64 string");
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/charsmap/the-longest-key-wins", test_the_longest_key_wins);
  g_test_add_func ("/engine/charsmap/an-invalid-byte-becomes-the-replacement-character",
                   test_an_invalid_byte_becomes_the_replacement_character);
  g_test_add_func ("/engine/charsmap/nmt-nfkc-maps-what-nfkc-does-not", test_nmt_nfkc_maps_what_nfkc_does_not);
  g_test_add_func ("/engine/charsmap/a-hostile-trie-is-bounded-at-use", test_a_hostile_trie_is_bounded_at_use);
  g_test_add_func ("/engine/charsmap/a-text-the-map-lengthens-too-much-is-refused",
                   test_a_text_the_map_lengthens_too_much_is_refused);
  g_test_add_func ("/engine/charsmap/a-replacement-is-checked-from-where-its-value-points",
                   test_a_replacement_is_checked_from_where_its_value_points);
  g_test_add_func ("/engine/charsmap/a-trie-without-strings-maps-nothing", test_a_trie_without_strings_maps_nothing);
  g_test_add_data_func ("/engine/charsmap/spm/white-space-rules-follow-the-spec", ".spm",
                        test_white_space_rules_follow_the_spec);
  g_test_add_data_func ("/engine/charsmap/gguf/white-space-rules-follow-the-spec", ".gguf",
                        test_white_space_rules_follow_the_spec);
  for (guint i = 0; i < G_N_ELEMENTS (bad_blobs); i++)
    {
      g_autofree char *path = g_strdup_printf ("/engine/charsmap/refuses/%s", bad_blobs[i].name);
      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_a_broken_blob_is_refused);
    }
  g_test_add_func ("/engine/charsmap/refuses/text-that-is-not-base64", test_text_that_is_not_base64_is_refused);
  return g_test_run ();
}
