/* The GGUF reader on hostile files: each crafted bad file, every
 * truncation and every one-byte change of a valid one is refused with one
 * line naming the file and the problem, never a crash, a hang or a large
 * allocation.  Run it under ASan too (-Db_sanitize=address,undefined). */
#define G_LOG_DOMAIN "attnviz-test-gguf"
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-gguf.h"
#include "attnviz-test-util.h"
#include "gguf-builder.h"

/* ---- crafted bad files ----------------------------------------------------- */

typedef struct {
  const char *name;
  void (*build) (GByteArray *b);
  int code;
  const char *phrase;
} BadCase;

static void bad_empty (GByteArray *b) { (void) b; }
static void bad_magic (GByteArray *b) { g_byte_array_append (b, (const guint8 *) "GGML\3\0\0\0", 8); gguf_put_data (b, 32); }
static void bad_magic_escape (GByteArray *b) { g_byte_array_append (b, (const guint8 *) "\x1b[2J", 4); gguf_put_data (b, 32); }
static void bad_version_1 (GByteArray *b) { gguf_put_header (b, 1, 0, 0); }
static void bad_version_4 (GByteArray *b) { gguf_put_header (b, 4, 0, 0); }
static void bad_version_big_endian (GByteArray *b) { gguf_put_header (b, 0x03000000, 0, 0); }
static void bad_tensor_count_2_63 (GByteArray *b) { gguf_put_header (b, 3, BIG63, 0); gguf_put_data (b, 64); }
static void bad_key_count_huge (GByteArray *b) { gguf_put_header (b, 3, 0, G_MAXUINT64); gguf_put_data (b, 64); }

static void
bad_tensor_count_after_metadata (GByteArray *b)
{
  /* Fits the bytes after the header, not those after the metadata. */
  gguf_put_header (b, 3, 3, 1);
  gguf_put_kv_str (b, "general.name", "a string long enough to eat what the tensors would need");
  gguf_put_data (b, 70);
}

static void
bad_string_length_2_63 (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_str (b, "general.name");
  gguf_put_u32 (b, ATTNVIZ_GGUF_STRING);
  gguf_put_u64 (b, BIG63);
  gguf_put_data (b, 16);
}

static void
bad_key_length_2_63 (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_u64 (b, BIG63);
  gguf_put_data (b, 16);
}

static void
bad_key_too_long (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_u64 (b, 65536);
  gguf_put_data (b, 65536 + 8);
}

static void
bad_key_empty (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_str (b, "");
  gguf_put_u32 (b, ATTNVIZ_GGUF_UINT8);
  gguf_put_u8 (b, 1);
  gguf_put_data (b, 8);
}

static void
bad_key_not_utf8 (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_kv_u32 (b, "general.\xff\xfe", 1);
}

static void
bad_key_with_nul (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_bytes (b, "gen\0eral", 8);
  gguf_put_u32 (b, ATTNVIZ_GGUF_UINT8);
  gguf_put_u8 (b, 1);
}

static void
bad_key_with_c1_control (GByteArray *b)
{
  /* U+009B, CSI in an 8-bit terminal: valid UTF-8, still a control. */
  gguf_put_header (b, 3, 0, 1);
  gguf_put_kv_u32 (b, "general.\xc2\x9b" "31m", 1);
}

static void
bad_duplicate_key (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 2);
  gguf_put_kv_str (b, "general.name", "one");
  gguf_put_kv_str (b, "general.name", "two");
}

static void
bad_value_type (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_str (b, "general.name");
  gguf_put_u32 (b, 13);
  gguf_put_data (b, 16);
}

static void
bad_array_element_type (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_str (b, "tokenizer.ggml.scores");
  gguf_put_u32 (b, ATTNVIZ_GGUF_ARRAY);
  gguf_put_u32 (b, 42);
  gguf_put_u64 (b, 1);
  gguf_put_data (b, 16);
}

static void
bad_string_with_nul (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_str (b, "general.name");
  gguf_put_u32 (b, ATTNVIZ_GGUF_STRING);
  gguf_put_bytes (b, "llama\0evil", 10);
}


static void
bad_array_2_40 (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_array_head (b, "tokenizer.ggml.scores", ATTNVIZ_GGUF_UINT32, G_GUINT64_CONSTANT (1) << 40);
  gguf_put_data (b, 64);
}

static void
bad_string_array_2_40 (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_array_head (b, "tokenizer.ggml.tokens", ATTNVIZ_GGUF_STRING, G_GUINT64_CONSTANT (1) << 40);
  gguf_put_data (b, 64);
}

static void
bad_array_of_arrays_2_40 (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_array_head (b, "x", ATTNVIZ_GGUF_ARRAY, G_GUINT64_CONSTANT (1) << 40);
  gguf_put_data (b, 64);
}

static void
bad_array_2_64_minus_1 (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_array_head (b, "x", ATTNVIZ_GGUF_FLOAT64, G_MAXUINT64);
  gguf_put_data (b, 64);
}


static void
bad_arrays_nested_too_deep (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_nested (b, "x", 9);
}

static void
bad_arrays_nested_a_million_deep (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 1);
  gguf_put_nested (b, "x", 100000);
}

static void
put_alignment_file (GByteArray *b, guint32 type, guint64 value)
{
  gguf_put_header (b, 3, 1, 1);
  gguf_put_str (b, "general.alignment");
  gguf_put_u32 (b, type);
  if (type == ATTNVIZ_GGUF_STRING)
    gguf_put_str (b, "32");
  else
    gguf_put_le (b, value, type == ATTNVIZ_GGUF_UINT64 ? 8 : 4);
  gguf_put_tensor (b, "a", 1, NE (8), T_F32, 0);
  gguf_put_pad (b, 32);
  gguf_put_data (b, 32);
}

static void bad_alignment_0 (GByteArray *b) { put_alignment_file (b, ATTNVIZ_GGUF_UINT32, 0); }
static void bad_alignment_3 (GByteArray *b) { put_alignment_file (b, ATTNVIZ_GGUF_UINT32, 3); }
static void bad_alignment_string (GByteArray *b) { put_alignment_file (b, ATTNVIZ_GGUF_STRING, 0); }
static void bad_alignment_uint64 (GByteArray *b) { put_alignment_file (b, ATTNVIZ_GGUF_UINT64, 32); }

static void bad_n_dims_0 (GByteArray *b) { gguf_build_one_tensor (b, 0, NE (0), T_F32, 0, 32); }
static void bad_n_dims_5 (GByteArray *b) { gguf_build_one_tensor (b, 5, NE (1, 1, 1, 1, 1), T_F32, 0, 32); }
static void bad_dim_negative (GByteArray *b) { gguf_build_one_tensor (b, 2, NE (4, G_MAXUINT64), T_F32, 0, 32); }
static void bad_rows_overflow (GByteArray *b) { gguf_build_one_tensor (b, 3, NE (1, 1ull << 32, 1ull << 32), T_F32, 0, 32); }
static void bad_elements_overflow (GByteArray *b) { gguf_build_one_tensor (b, 2, NE (1ull << 62, 4), T_F32, 0, 32); }
static void bad_bytes_overflow (GByteArray *b) { gguf_build_one_tensor (b, 2, NE (1ull << 40, 1ull << 22), T_F32, 0, 32); }
static void bad_not_a_block_multiple (GByteArray *b) { gguf_build_one_tensor (b, 1, NE (33), T_Q8_0, 0, 64); }
static void bad_unknown_type (GByteArray *b) { gguf_build_one_tensor (b, 1, NE (8), 99, 0, 32); }
static void bad_removed_type_4 (GByteArray *b) { gguf_build_one_tensor (b, 1, NE (32), 4, 0, 64); }
static void bad_offset_past_the_end (GByteArray *b) { gguf_build_one_tensor (b, 1, NE (8), T_F32, 4096, 64); }
static void bad_bytes_past_the_end (GByteArray *b) { gguf_build_one_tensor (b, 1, NE (16), T_F32, 32, 64); }
static void bad_offset_misaligned (GByteArray *b) { gguf_build_one_tensor (b, 1, NE (8), T_F32, 4, 64); }
static void bad_offset_2_64_minus_32 (GByteArray *b) { gguf_build_one_tensor (b, 1, NE (8), T_F32, G_MAXUINT64 - 31, 64); }

static void
bad_misaligned_data_section (GByteArray *b)
{
  /* The data follows the tensor infos with no padding, and the file ends
   * before the next multiple of 32. */
  gguf_put_header (b, 3, 1, 0);
  gguf_put_tensor (b, "a", 1, NE (1), T_F32, 0);
  gguf_put_data (b, 4);
}

static void
bad_overlapping_tensors (GByteArray *b)
{
  gguf_put_header (b, 3, 2, 0);
  gguf_put_tensor (b, "a", 1, NE (16), T_F32, 0);
  gguf_put_tensor (b, "b", 1, NE (16), T_F32, 32);
  gguf_put_pad (b, 32);
  gguf_put_data (b, 96);
}

static void
bad_duplicate_tensor (GByteArray *b)
{
  gguf_put_header (b, 3, 2, 0);
  gguf_put_tensor (b, "a", 1, NE (8), T_F32, 0);
  gguf_put_tensor (b, "a", 1, NE (8), T_F32, 32);
  gguf_put_pad (b, 32);
  gguf_put_data (b, 64);
}

static void
bad_tensor_name_with_escapes (GByteArray *b)
{
  gguf_put_header (b, 3, 1, 0);
  gguf_put_tensor (b, "\x1b[2J\x1b]0;pwned\x07", 1, NE (8), T_F32, 0);
  gguf_put_pad (b, 32);
  gguf_put_data (b, 32);
}

static void
bad_tensor_name_not_utf8 (GByteArray *b)
{
  gguf_put_header (b, 3, 1, 0);
  gguf_put_tensor (b, "blk.0.\xc3(", 1, NE (8), T_F32, 0);
  gguf_put_pad (b, 32);
  gguf_put_data (b, 32);
}

static const BadCase bad_cases[] = {
  { "empty", bad_empty, G_IO_ERROR_INVALID_DATA, "not a GGUF file: a 0-byte file is too short" },
  { "bad-magic", bad_magic, G_IO_ERROR_INVALID_DATA, "it starts with \"GGML\", not \"GGUF\"" },
  { "magic-with-escapes", bad_magic_escape, G_IO_ERROR_INVALID_DATA, "starts with \"\\x1b[2J\"" },
  { "version-1", bad_version_1, G_IO_ERROR_NOT_SUPPORTED, "GGUF version 1 is not supported" },
  { "version-4", bad_version_4, G_IO_ERROR_NOT_SUPPORTED, "GGUF version 4 is not supported" },
  { "version-big-endian", bad_version_big_endian, G_IO_ERROR_NOT_SUPPORTED, "a big-endian file?" },
  { "tensor-count-2^63", bad_tensor_count_2_63, G_IO_ERROR_INVALID_DATA,
    "tensor count 9223372036854775808 cannot fit in the 64 bytes" },
  { "key-count-2^64-1", bad_key_count_huge, G_IO_ERROR_INVALID_DATA,
    "key count 18446744073709551615 cannot fit" },
  { "tensor-count-past-the-metadata", bad_tensor_count_after_metadata, G_IO_ERROR_INVALID_DATA,
    "tensor count 3 cannot fit in the 70 bytes left after the metadata" },
  { "string-length-2^63", bad_string_length_2_63, G_IO_ERROR_INVALID_DATA,
    "key \"general.name\": the string value (9223372036854775808 bytes at byte" },
  { "key-length-2^63", bad_key_length_2_63, G_IO_ERROR_INVALID_DATA,
    "key 0: the key is 9223372036854775808 bytes long, more than the 65535 allowed" },
  { "key-longer-than-65535", bad_key_too_long, G_IO_ERROR_INVALID_DATA, "65536 bytes long" },
  { "key-empty", bad_key_empty, G_IO_ERROR_INVALID_DATA, "key 0: the key is empty" },
  { "key-not-utf8", bad_key_not_utf8, G_IO_ERROR_INVALID_DATA,
    "key 0: the key \"general.\\xff\\xfe\" is not valid UTF-8" },
  { "key-with-a-nul", bad_key_with_nul, G_IO_ERROR_INVALID_DATA, "\"gen\\x00eral\" is not valid UTF-8" },
  { "key-twice", bad_duplicate_key, G_IO_ERROR_INVALID_DATA,
    "key \"general.name\": appears twice (entries 0 and 1)" },
  { "value-type-unknown", bad_value_type, G_IO_ERROR_INVALID_DATA,
    "key \"general.name\": unknown value type 13" },
  { "array-element-type-unknown", bad_array_element_type, G_IO_ERROR_INVALID_DATA,
    "unknown array element type 42" },
  { "string-value-with-a-nul", bad_string_with_nul, G_IO_ERROR_INVALID_DATA,
    "key \"general.name\": the string value holds a NUL byte" },
  { "array-of-2^40-uint32", bad_array_2_40, G_IO_ERROR_INVALID_DATA,
    "an array of 1099511627776 uint32 elements cannot fit" },
  { "array-of-2^40-strings", bad_string_array_2_40, G_IO_ERROR_INVALID_DATA,
    "an array of 1099511627776 string elements cannot fit" },
  { "array-of-2^40-arrays", bad_array_of_arrays_2_40, G_IO_ERROR_INVALID_DATA,
    "an array of 1099511627776 array elements cannot fit" },
  { "array-of-2^64-1-float64", bad_array_2_64_minus_1, G_IO_ERROR_INVALID_DATA,
    "an array of 18446744073709551615 float64 elements cannot fit" },
  { "arrays-nested-9-deep", bad_arrays_nested_too_deep, G_IO_ERROR_INVALID_DATA,
    "key \"x\": arrays nest more than 8 deep" },
  { "arrays-nested-100000-deep", bad_arrays_nested_a_million_deep, G_IO_ERROR_INVALID_DATA,
    "arrays nest more than 8 deep" },
  { "alignment-0", bad_alignment_0, G_IO_ERROR_INVALID_DATA,
    "key \"general.alignment\": 0 is not a power of two" },
  { "alignment-3", bad_alignment_3, G_IO_ERROR_INVALID_DATA, "3 is not a power of two" },
  { "alignment-a-string", bad_alignment_string, G_IO_ERROR_INVALID_DATA,
    "key \"general.alignment\": has type string, not uint32" },
  { "alignment-a-uint64", bad_alignment_uint64, G_IO_ERROR_INVALID_DATA, "has type uint64, not uint32" },
  { "n-dims-0", bad_n_dims_0, G_IO_ERROR_INVALID_DATA, "tensor \"a\": 0 dimensions (1 to 4 allowed)" },
  { "n-dims-5", bad_n_dims_5, G_IO_ERROR_INVALID_DATA, "tensor \"a\": 5 dimensions (1 to 4 allowed)" },
  { "dimension-negative", bad_dim_negative, G_IO_ERROR_INVALID_DATA,
    "tensor \"a\": dimension 1 is negative (-1)" },
  { "rows-overflow", bad_rows_overflow, G_IO_ERROR_INVALID_DATA,
    "tensor \"a\": shape [1, 4294967296, 4294967296] holds 2^63 values or more" },
  { "elements-overflow", bad_elements_overflow, G_IO_ERROR_INVALID_DATA,
    "shape [4611686018427387904, 4] holds 2^63 values or more" },
  { "bytes-overflow", bad_bytes_overflow, G_IO_ERROR_INVALID_DATA,
    "shape [1099511627776, 4194304] in F32 takes 2^64 bytes or more" },
  { "row-not-a-block-multiple", bad_not_a_block_multiple, G_IO_ERROR_INVALID_DATA,
    "tensor \"a\": 33 values per row is not a multiple of the Q8_0 block size 32" },
  { "tensor-type-unknown", bad_unknown_type, G_IO_ERROR_INVALID_DATA, "tensor \"a\": unknown type id 99" },
  { "tensor-type-removed-q4_2", bad_removed_type_4, G_IO_ERROR_INVALID_DATA, "unknown type id 4" },
  { "offset-past-the-end", bad_offset_past_the_end, G_IO_ERROR_INVALID_DATA,
    "the file is truncated (at least 4.1\u00a0kB missing; an interrupted download?): "
    "tensor \"a\": offset 4096 runs past the end of the 64-byte data section" },
  { "bytes-past-the-end", bad_bytes_past_the_end, G_IO_ERROR_INVALID_DATA,
    "the file is truncated (at least 32 bytes missing; an interrupted download?): "
    "tensor \"a\": its 64 bytes at offset 32 run past the end of the 64-byte data section" },
  { "offset-near-2^64", bad_offset_2_64_minus_32, G_IO_ERROR_INVALID_DATA,
    "offset 18446744073709551584 runs past the end" },
  { "offset-misaligned", bad_offset_misaligned, G_IO_ERROR_INVALID_DATA,
    "tensor \"a\": offset 4 is not a multiple of the alignment 32" },
  { "data-section-misaligned", bad_misaligned_data_section, G_IO_ERROR_INVALID_DATA,
    "the data section would start at offset 64 (the header ends at 57, padded to a multiple of 32) but the file has only 61 bytes" },
  { "tensors-overlapping", bad_overlapping_tensors, G_IO_ERROR_INVALID_DATA,
    "tensor \"b\": bytes 32 to 96 of the data section overlap tensor \"a\" (bytes 0 to 64)" },
  { "tensor-twice", bad_duplicate_tensor, G_IO_ERROR_INVALID_DATA,
    "tensor \"a\": appears twice (tensors 0 and 1)" },
  { "tensor-name-with-escapes", bad_tensor_name_with_escapes, G_IO_ERROR_INVALID_DATA,
    "tensor 0: the name \"\\x1b[2J\\x1b]0;pwned\\x07\" holds a control character" },
  { "key-with-a-c1-control", bad_key_with_c1_control, G_IO_ERROR_INVALID_DATA,
    "key 0: the key \"general.\\u{009b}31m\" holds a control character" },
  { "tensor-name-not-utf8", bad_tensor_name_not_utf8, G_IO_ERROR_INVALID_DATA,
    "tensor 0: the name \"blk.0.\\xc3(\" is not valid UTF-8" },
};

static void
test_bad_in_memory (gconstpointer data)
{
  const BadCase *c = data;
  g_autoptr(GByteArray) b = g_byte_array_new ();
  c->build (b);
  g_autoptr(GError) error = NULL;
  g_assert_false (gguf_opens_exactly (b->data, b->len, &error));
  gguf_assert_one_line_error (error, c->code, "bad.gguf", c->phrase);
}

static void
test_bad_on_disk (gconstpointer data)
{
  const BadCase *c = data;
  g_autoptr(GByteArray) b = g_byte_array_new ();
  c->build (b);
  g_autofree char *dir = gguf_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "model.gguf", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (g_file_set_contents (path, (const char *) b->data, b->len, &error));
  g_assert_null (attnviz_gguf_open (path, &error));
  gguf_assert_one_line_error (error, c->code, path, c->phrase);
  attnviz_test_remove_tree (dir);
}

typedef struct {
  void (*build) (GByteArray *b);
} ValidFile;

static const ValidFile small_file = { gguf_build_valid };
static const ValidFile rich_file = { gguf_build_rich };

/* Every prefix of a valid file is refused, cleanly, in one line: the cut
 * falls in every field in turn. */
static void
test_every_truncation_is_refused (gconstpointer data)
{
  const ValidFile *file = data;
  g_autoptr(GByteArray) b = g_byte_array_new ();
  file->build (b);
  g_autoptr(GError) full_error = NULL;
  g_assert_true (gguf_opens_exactly (b->data, b->len, &full_error));
  g_assert_no_error (full_error);
  for (guint len = 0; len < b->len; len++)
    {
      g_autoptr(GError) error = NULL;
      if (gguf_opens_exactly (b->data, len, &error))
        g_error ("a prefix of %u of %u bytes opened", len, b->len);
      gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "bad.gguf", NULL);
    }
}

/* Any single byte changed: the file opens, or is refused in one line. */
static void
test_every_byte_changed_opens_or_fails_cleanly (gconstpointer data)
{
  const ValidFile *file = data;
  g_autoptr(GByteArray) b = g_byte_array_new ();
  file->build (b);
  static const guint8 values[] = { 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xff };
  guint opened = 0, refused = 0;
  for (guint at = 0; at < b->len; at++)
    for (guint v = 0; v < G_N_ELEMENTS (values); v++)
      {
        g_autofree guint8 *copy = g_memdup2 (b->data, b->len);
        copy[at] = values[v];
        g_autoptr(GError) error = NULL;
        if (gguf_opens_exactly (copy, b->len, &error))
          {
            opened++;
            continue;
          }
        refused++;
        g_assert_true (error->code == G_IO_ERROR_INVALID_DATA
                       || error->code == G_IO_ERROR_NOT_SUPPORTED);
        gguf_assert_one_line_error (error, error->code, "bad.gguf", NULL);
      }
  g_test_message ("%u opened, %u refused", opened, refused);
  g_assert_cmpuint (refused, >, 0);
  g_assert_cmpuint (opened, >, 0);
}

static void
test_fifo_is_refused_without_blocking (void)
{
  g_autofree char *dir = gguf_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "model.gguf", NULL);
  if (mkfifo (path, 0600) != 0)
    {
      g_autofree char *msg = g_strdup_printf ("mkfifo: %s", g_strerror (errno));
      g_test_skip (msg);
      attnviz_test_remove_tree (dir);
      return;
    }
  g_autoptr(GError) error = NULL;
  g_assert_null (attnviz_gguf_open (path, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_NOT_REGULAR_FILE, path, "is a FIFO, not a regular file");
  attnviz_test_remove_tree (dir);
}

static void
test_folder_or_missing_file_is_refused (void)
{
  g_autofree char *dir = gguf_make_tmpdir ();
  g_autoptr(GError) error = NULL;
  g_assert_null (attnviz_gguf_open (dir, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_IS_DIRECTORY, dir, "is a folder");
  g_clear_error (&error);

  g_autofree char *absent = g_build_filename (dir, "absent.gguf", NULL);
  g_assert_null (attnviz_gguf_open (absent, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_NOT_FOUND, absent, "no such file");
  attnviz_test_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *mem = g_strdup_printf ("/engine/gguf/refuses/%s/in-memory", bad_cases[i].name);
      g_autofree char *disk = g_strdup_printf ("/engine/gguf/refuses/%s/on-disk", bad_cases[i].name);
      g_test_add_data_func (mem, &bad_cases[i], test_bad_in_memory);
      g_test_add_data_func (disk, &bad_cases[i], test_bad_on_disk);
    }
  g_test_add_data_func ("/engine/gguf/refuses/every-truncation-of-a-small-file",
                        &small_file, test_every_truncation_is_refused);
  g_test_add_data_func ("/engine/gguf/refuses/every-truncation-of-a-file-with-every-field",
                        &rich_file, test_every_truncation_is_refused);
  g_test_add_data_func ("/engine/gguf/refuses/or-opens-every-one-byte-change-of-a-small-file",
                        &small_file, test_every_byte_changed_opens_or_fails_cleanly);
  g_test_add_data_func ("/engine/gguf/refuses/or-opens-every-one-byte-change-of-a-file-with-every-field",
                        &rich_file, test_every_byte_changed_opens_or_fails_cleanly);
  g_test_add_func ("/engine/gguf/refuses/a-fifo-without-blocking", test_fifo_is_refused_without_blocking);
  g_test_add_func ("/engine/gguf/refuses/a-folder-or-a-missing-file",
                   test_folder_or_missing_file_is_refused);

  return g_test_run ();
}
