#define G_LOG_DOMAIN "attnviz-test-safetensors"
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-safetensors.h"
#include "attnviz-test-util.h"

/* ---- helpers -------------------------------------------------------------- */

/* A safetensors image: the 8-byte length, HEADER, then DATA_LEN bytes
 * counting up from 0 (so misplaced reads show). */
static GBytes *
make_image (const char *header, gsize data_len)
{
  gsize hlen = strlen (header);
  gsize size = 8 + hlen + data_len;
  guint8 *buf = g_malloc (size);
  guint64 le = GUINT64_TO_LE ((guint64) hlen);
  memcpy (buf, &le, 8);
  memcpy (buf + 8, header, hlen);
  for (gsize i = 0; i < data_len; i++)
    buf[8 + hlen + i] = (guint8) i;
  return g_bytes_new_take (buf, size);
}

static char *
make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("attnviz-test-safetensors-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
assert_one_line_error (const GError *error, int code, const char *file, const char *phrase)
{
  g_assert_error (error, G_IO_ERROR, code);
  g_test_message ("error: %s", error->message);
  g_autofree char *prefix = g_strdup_printf ("%s: ", file);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_assert_nonnull (strstr (error->message, phrase));
  g_assert_null (strchr (error->message, '\n'));
}

/* ---- conversions ---------------------------------------------------------- */

static void
test_f16_known_values (void)
{
  g_assert_cmpfloat (attnviz_f16_to_f32 (0x3c00), ==, 1.0f);
  g_assert_cmpfloat (attnviz_f16_to_f32 (0xc100), ==, -2.5f);
  g_assert_cmpfloat (attnviz_f16_to_f32 (0x7bff), ==, 65504.0f);
  g_assert_cmpfloat (attnviz_f16_to_f32 (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_cmpfloat (attnviz_f16_to_f32 (0x03ff), ==, ldexpf (1023.0f, -24));
  g_assert_cmpfloat (attnviz_f16_to_f32 (0x0400), ==, ldexpf (1.0f, -14));
  g_assert_cmpfloat (attnviz_f16_to_f32 (0x8001), ==, -ldexpf (1.0f, -24));
  g_assert_true (isinf (attnviz_f16_to_f32 (0x7c00)) && attnviz_f16_to_f32 (0x7c00) > 0);
  g_assert_true (isinf (attnviz_f16_to_f32 (0xfc00)) && attnviz_f16_to_f32 (0xfc00) < 0);
  g_assert_true (isnan (attnviz_f16_to_f32 (0x7e00)));
  g_assert_true (isnan (attnviz_f16_to_f32 (0x7c01)));
  g_assert_cmpfloat (attnviz_f16_to_f32 (0x0000), ==, 0.0f);
  g_assert_true (signbit (attnviz_f16_to_f32 (0x8000)));

  g_assert_cmphex (attnviz_f32_to_f16 (1.0f), ==, 0x3c00);
  g_assert_cmphex (attnviz_f32_to_f16 (-2.5f), ==, 0xc100);
  g_assert_cmphex (attnviz_f32_to_f16 (65504.0f), ==, 0x7bff);
  g_assert_cmphex (attnviz_f32_to_f16 (ldexpf (1.0f, -24)), ==, 0x0001);
  g_assert_cmphex (attnviz_f32_to_f16 (INFINITY), ==, 0x7c00);
  g_assert_cmphex (attnviz_f32_to_f16 (-INFINITY), ==, 0xfc00);
  g_assert_true (isnan (attnviz_f16_to_f32 (attnviz_f32_to_f16 (NAN))));
  g_assert_cmphex (attnviz_f32_to_f16 (-0.0f), ==, 0x8000);
}

static void
test_f16_rounds_to_nearest_even (void)
{
  /* Overflow: 65520 is the midpoint between 65504 and 65536 (inf); ties go
   * to the even pattern, which is inf. */
  g_assert_cmphex (attnviz_f32_to_f16 (65519.0f), ==, 0x7bff);
  g_assert_cmphex (attnviz_f32_to_f16 (65520.0f), ==, 0x7c00);
  g_assert_cmphex (attnviz_f32_to_f16 (1e10f), ==, 0x7c00);
  /* Underflow: 2^-25 is the midpoint between 0 and the smallest subnormal. */
  g_assert_cmphex (attnviz_f32_to_f16 (ldexpf (1.0f, -25)), ==, 0x0000);
  g_assert_cmphex (attnviz_f32_to_f16 (nextafterf (ldexpf (1.0f, -25), 1.0f)), ==, 0x0001);
  g_assert_cmphex (attnviz_f32_to_f16 (ldexpf (1.5f, -24)), ==, 0x0002);
  g_assert_cmphex (attnviz_f32_to_f16 (ldexpf (2.5f, -24)), ==, 0x0002);
  g_assert_cmphex (attnviz_f32_to_f16 (1e-30f), ==, 0x0000);

  /* Every finite half survives the round trip, and every midpoint between
   * neighbours (exact in float32) goes to the even one. */
  for (guint32 h = 0; h < 0x10000; h++)
    {
      float f = attnviz_f16_to_f32 ((guint16) h);
      if (isnan (f))
        {
          g_assert_true (isnan (attnviz_f16_to_f32 (attnviz_f32_to_f16 (f))));
          continue;
        }
      g_assert_cmphex (attnviz_f32_to_f16 (f), ==, h);
      if ((h & 0x7fff) >= 0x7bff)
        continue;
      float next = attnviz_f16_to_f32 ((guint16) (h + 1));
      float mid = (f + next) / 2.0f;
      guint16 even = (h & 1) ? (guint16) (h + 1) : (guint16) h;
      g_assert_cmphex (attnviz_f32_to_f16 (mid), ==, even);
      g_assert_cmphex (attnviz_f32_to_f16 (nextafterf (mid, f)), ==, h);
      g_assert_cmphex (attnviz_f32_to_f16 (nextafterf (mid, next)), ==, h + 1);
    }
}

static void
test_bf16_known_values (void)
{
  g_assert_cmpfloat (attnviz_bf16_to_f32 (0x3f80), ==, 1.0f);
  g_assert_cmpfloat (attnviz_bf16_to_f32 (0xc020), ==, -2.5f);
  g_assert_cmpfloat (attnviz_bf16_to_f32 (0x477f), ==, 65280.0f);
  g_assert_cmpfloat (attnviz_bf16_to_f32 (0x7f7f), ==, 0x1.fep127f);
  g_assert_cmpfloat (attnviz_bf16_to_f32 (0x0001), ==, ldexpf (1.0f, -133));
  g_assert_true (isinf (attnviz_bf16_to_f32 (0x7f80)) && attnviz_bf16_to_f32 (0x7f80) > 0);
  g_assert_true (isinf (attnviz_bf16_to_f32 (0xff80)) && attnviz_bf16_to_f32 (0xff80) < 0);
  g_assert_true (isnan (attnviz_bf16_to_f32 (0x7fc0)));
  g_assert_true (signbit (attnviz_bf16_to_f32 (0x8000)));
}

static void
test_unaligned_tensors_convert (void)
{
  /* One byte of U8 first, so every later tensor starts at an odd address. */
  const char *header =
    "{\"pad\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
    "\"f32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]},"
    "\"f16\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[9,13]},"
    "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[13,17]},"
    "\"f64\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[17,25]}}";
  g_autoptr(GBytes) image = make_image (header, 25);
  guint8 *bytes = (guint8 *) g_bytes_get_data (image, NULL) + 8 + strlen (header);
  float f32[2] = { 1.5f, -3.25f };
  guint16 f16[2] = { GUINT16_TO_LE (0x3c00), GUINT16_TO_LE (0xc100) };
  guint16 bf16[2] = { GUINT16_TO_LE (0x3f80), GUINT16_TO_LE (0x7f80) };
  double f64 = 0.125;
  memcpy (bytes + 1, f32, 8);
  memcpy (bytes + 9, f16, 4);
  memcpy (bytes + 13, bf16, 4);
  memcpy (bytes + 17, &f64, 8);

  g_autoptr(GError) error = NULL;
  AttnvizSafetensors *st = attnviz_safetensors_open_bytes (g_bytes_get_data (image, NULL),
                                                           g_bytes_get_size (image),
                                                           "unaligned.safetensors", &error);
  g_assert_no_error (error);
  float out[2];
  attnviz_tensor_to_f32 (attnviz_safetensors_lookup (st, "f32"), out);
  g_assert_cmpfloat (out[0], ==, 1.5f);
  g_assert_cmpfloat (out[1], ==, -3.25f);
  attnviz_tensor_to_f32 (attnviz_safetensors_lookup (st, "f16"), out);
  g_assert_cmpfloat (out[0], ==, 1.0f);
  g_assert_cmpfloat (out[1], ==, -2.5f);
  attnviz_tensor_to_f32 (attnviz_safetensors_lookup (st, "bf16"), out);
  g_assert_cmpfloat (out[0], ==, 1.0f);
  g_assert_true (isinf (out[1]));
  attnviz_tensor_to_f32 (attnviz_safetensors_lookup (st, "f64"), out);
  g_assert_cmpfloat (out[0], ==, 0.125f);
  attnviz_safetensors_free (st);
}

/* ---- writing and reading back --------------------------------------------- */

static void
test_write_then_open_gives_back_everything (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "round.safetensors", NULL);

  float w[6] = { 1, -2, 3.5f, 0, 1e-8f, -65504 };
  gint32 ids[4] = { 7, -1, 0, 123456 };
  gint64 scalar = G_GINT64_CONSTANT (-9000000000);
  guint16 half[3] = { attnviz_f32_to_f16 (1.0f), attnviz_f32_to_f16 (-2.5f),
                      attnviz_f32_to_f16 (0.333f) };
  float tail[5] = { 10, 20, 30, 40, 50 };
  AttnvizTensorOut out[] = {
    { "layer.0.weight", ATTNVIZ_DTYPE_F32, 2, { 2, 3 }, w },
    { "ids", ATTNVIZ_DTYPE_I32, 1, { 4 }, ids },
    { "step", ATTNVIZ_DTYPE_I64, 0, { 0 }, &scalar },
    { "empty", ATTNVIZ_DTYPE_F32, 2, { 0, 5 }, NULL },
    { "half", ATTNVIZ_DTYPE_F16, 1, { 3 }, half },
    { "tail \"quoted\" \xc3\xa9", ATTNVIZ_DTYPE_F32, 1, { 5 }, tail },  /* now 2-byte aligned */
  };
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (metadata, "format", "pt");
  g_hash_table_insert (metadata, "producer", "attnviz \"test\"\n");

  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_safetensors_write (path, out, G_N_ELEMENTS (out), metadata, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_files (dir), ==, 1);  /* no temporary left behind */

  /* The data starts 8-aligned. */
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  guint64 hlen;
  memcpy (&hlen, contents, 8);
  hlen = GUINT64_FROM_LE (hlen);
  g_assert_cmpuint ((8 + hlen) % 8, ==, 0);
  g_assert_cmpuint (len, ==, 8 + hlen + 24 + 16 + 8 + 0 + 6 + 20);

  AttnvizSafetensors *st = attnviz_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (attnviz_safetensors_get_path (st), ==, path);
  g_assert_cmpuint (attnviz_safetensors_get_n_tensors (st), ==, G_N_ELEMENTS (out));
  g_assert_cmpstr (attnviz_safetensors_get_metadata (st, "format"), ==, "pt");
  g_assert_cmpstr (attnviz_safetensors_get_metadata (st, "producer"), ==, "attnviz \"test\"\n");
  g_assert_null (attnviz_safetensors_get_metadata (st, "absent"));
  g_assert_null (attnviz_safetensors_lookup (st, "absent"));

  for (guint i = 0; i < G_N_ELEMENTS (out); i++)
    {
      const AttnvizTensorInfo *info = attnviz_safetensors_get_nth (st, i);
      g_assert_cmpstr (info->name, ==, out[i].name);  /* written order is data order */
      g_assert_true (attnviz_safetensors_lookup (st, out[i].name) == info);
      g_assert_cmpint (info->dtype, ==, out[i].dtype);
      g_assert_cmpint (info->n_dims, ==, out[i].n_dims);
      gint64 n = 1;
      for (int d = 0; d < info->n_dims; d++)
        {
          g_assert_cmpint (info->shape[d], ==, out[i].shape[d]);
          n *= out[i].shape[d];
        }
      g_assert_cmpint (info->n_elements, ==, n);
      g_assert_cmpuint (info->n_bytes, ==, n * attnviz_dtype_size (out[i].dtype));
      g_assert_cmpstr (info->file, ==, path);
      if (info->n_bytes > 0)
        g_assert_cmpmem (info->data, info->n_bytes, out[i].data, info->n_bytes);
    }

  float got[6];
  attnviz_tensor_to_f32 (attnviz_safetensors_lookup (st, "layer.0.weight"), got);
  g_assert_true (attnviz_test_check_tensor (got, w, 6, 0.0f, "layer.0.weight"));
  attnviz_tensor_to_f32 (attnviz_safetensors_lookup (st, "half"), got);
  g_assert_cmpfloat (got[0], ==, 1.0f);
  g_assert_cmpfloat (got[1], ==, -2.5f);
  g_assert_cmpfloat_with_epsilon (got[2], 0.333f, 1e-3);
  attnviz_tensor_to_f32 (attnviz_safetensors_lookup (st, out[5].name), got);
  g_assert_true (attnviz_test_check_tensor (got, tail, 5, 0.0f, "tail"));
  attnviz_safetensors_free (st);

  remove_tree (dir);
}

static void
test_write_refuses_duplicate_names (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "dup.safetensors", NULL);
  float x = 1;
  AttnvizTensorOut out[] = {
    { "x", ATTNVIZ_DTYPE_F32, 1, { 1 }, &x },
    { "x", ATTNVIZ_DTYPE_F32, 1, { 1 }, &x },
  };
  g_autoptr(GError) error = NULL;
  g_assert_false (attnviz_safetensors_write (path, out, 2, NULL, &error));
  assert_one_line_error (error, G_IO_ERROR_INVALID_ARGUMENT, path, "used twice");
  g_assert_cmpuint (count_files (dir), ==, 0);
  remove_tree (dir);
}

static void
test_empty_file_list_round_trips (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "none.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_safetensors_write (path, NULL, 0, NULL, &error));
  g_assert_no_error (error);
  AttnvizSafetensors *st = attnviz_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (attnviz_safetensors_get_n_tensors (st), ==, 0);
  attnviz_safetensors_free (st);
  remove_tree (dir);
}

/* ---- bad input ------------------------------------------------------------ */

typedef struct {
  const char *name;      /* test path component */
  const char *header;    /* NULL: RAW/RAW_LEN is the whole image */
  gsize data_len;
  const char *raw;
  gsize raw_len;
  const char *phrase;    /* must appear in the message */
} BadCase;

#define T(name, header, data_len, phrase) { name, header, data_len, NULL, 0, phrase }
#define E(dtype, shape, offsets) \
  "{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offsets "}"

static const BadCase bad_cases[] = {
  { "shorter-than-8-bytes", NULL, 0, "\x05\x00\x00\x00", 4, "4 bytes is too short" },
  { "empty", NULL, 0, "", 0, "0 bytes is too short" },
  { "header-length-past-the-file", NULL, 0, "\xe8\x03\x00\x00\x00\x00\x00\x00{}", 10,
    "header length 1000 runs past the end of the 10-byte file" },
  { "header-length-absurd", NULL, 0, "\x00\x00\x00\x00\x01\x00\x00\x00{}", 10,
    "header length 4294967296 is absurd" },
  { "header-length-near-2^64", NULL, 0, "\xf8\xff\xff\xff\xff\xff\xff\xff{}", 10,
    "is absurd" },
  { "header-with-a-nul-byte", NULL, 0, "\x04\x00\x00\x00\x00\x00\x00\x00{\0 }", 12,
    "header holds a NUL byte" },
  T ("header-not-json", "{\"a\": ", 0, "header is not valid JSON"),
  T ("header-empty", "", 0, "header is not a JSON object"),
  T ("header-an-array", "[1, 2]", 0, "header is not a JSON object"),
  T ("header-invalid-utf8", "{\"\xff\": 1}", 0, "header is not valid UTF-8"),
  T ("header-too-deep", "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0, "nests deeper"),
  T ("entry-not-an-object", "{\"w\": 5}", 0, "tensor \"w\": entry is a number, not an object"),
  T ("dtype-missing", "{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
     "tensor \"w\": dtype is missing"),
  T ("dtype-not-a-string", "{\"w\": " E ("F32", "[1]", "[0,4]") ", \"v\": {\"dtype\": 4}}", 4,
     "tensor \"v\": dtype is a number"),
  T ("dtype-unknown", "{\"w\": " E ("F8_E4M3", "[1]", "[0,1]") "}", 1,
     "tensor \"w\": unknown dtype \"F8_E4M3\""),
  T ("shape-missing", "{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4,
     "tensor \"w\": shape is missing"),
  T ("shape-not-an-array", "{\"w\": " E ("F32", "4", "[0,16]") "}", 16,
     "tensor \"w\": shape is a number, not an array"),
  T ("shape-negative", "{\"w\": " E ("F32", "[-1]", "[0,0]") "}", 0,
     "tensor \"w\": shape entry 0 is not a non-negative integer"),
  T ("shape-fractional", "{\"w\": " E ("F32", "[2, 2.5]", "[0,20]") "}", 20,
     "tensor \"w\": shape entry 1 is not a non-negative integer"),
  T ("shape-a-string", "{\"w\": " E ("F32", "[\"2\"]", "[0,8]") "}", 8,
     "shape entry 0 is not a non-negative integer"),
  T ("shape-past-8-dims", "{\"w\": " E ("F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4,
     "tensor \"w\": shape has 9 dimensions, more than 8"),
  T ("shape-overflows", "{\"w\": " E ("F32", "[4294967296, 4294967296, 4]", "[0,4]") "}", 4,
     "tensor \"w\": shape [4294967296, 4294967296, 4] has too many elements"),
  T ("shape-bytes-overflow", "{\"w\": " E ("F64", "[4611686018427387904]", "[0,4]") "}", 4,
     "has too many elements"),
  T ("offsets-missing", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4,
     "tensor \"w\": data_offsets is missing"),
  T ("offsets-one-number", "{\"w\": " E ("F32", "[1]", "[4]") "}", 4,
     "tensor \"w\": data_offsets is not two non-negative integers"),
  T ("offsets-three-numbers", "{\"w\": " E ("F32", "[1]", "[0,4,8]") "}", 8,
     "data_offsets is not two non-negative integers"),
  T ("offsets-strings", "{\"w\": " E ("F32", "[1]", "[\"0\",\"4\"]") "}", 4,
     "data_offsets is not two non-negative integers"),
  T ("offsets-negative", "{\"w\": " E ("F32", "[1]", "[-4,0]") "}", 4,
     "data_offsets is not two non-negative integers"),
  T ("offsets-begin-after-end", "{\"w\": " E ("F32", "[1]", "[8,4]") "}", 8,
     "tensor \"w\": data_offsets [8, 4] begin after end"),
  T ("offsets-end-past-the-data", "{\"h.0.attn.c_attn.weight\": " E ("F32", "[250]", "[0,1000]") "}",
     800, "tensor \"h.0.attn.c_attn.weight\": data_offsets [0, 1000] end past the 800 bytes of data"),
  T ("offsets-size-disagrees-with-shape", "{\"w\": " E ("F32", "[3]", "[0,8]") "}", 8,
     "tensor \"w\": data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12"),
  T ("tensors-overlap", "{\"a\": " E ("F32", "[4]", "[0,16]") ", \"b\": " E ("F32", "[4]", "[8,24]") "}",
     24, "tensor \"b\": data_offsets [8, 24] overlap tensor \"a\" at [0, 16]"),
  T ("tensor-inside-another", "{\"big\": " E ("U8", "[100]", "[0,100]") ", \"x\": " E ("U8", "[2]", "[10,12]")
     ", \"y\": " E ("U8", "[2]", "[50,52]") "}", 100, "overlap tensor \"big\""),
  T ("name-with-newline-stays-one-line", "{\"a\\nb\": 5}", 0, "tensor \"a\\nb\": entry is a number"),
  T ("metadata-not-an-object", "{\"__metadata__\": [\"x\"]}", 0,
     "__metadata__ is an array, not an object"),
  T ("metadata-value-not-a-string", "{\"__metadata__\": {\"format\": \"pt\", \"n\": 3}}", 0,
     "__metadata__ \"n\" is a number, not a string"),
};

static void
test_bad_input_in_memory (gconstpointer data)
{
  const BadCase *c = data;
  g_autoptr(GBytes) image = c->header
    ? make_image (c->header, c->data_len)
    : g_bytes_new (c->raw, c->raw_len);
  g_autoptr(GError) error = NULL;
  AttnvizSafetensors *st = attnviz_safetensors_open_bytes (g_bytes_get_data (image, NULL),
                                                           g_bytes_get_size (image),
                                                           "corrupt.safetensors", &error);
  g_assert_null (st);
  assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "corrupt.safetensors", c->phrase);
}

static void
test_bad_input_on_disk (gconstpointer data)
{
  const BadCase *c = data;
  g_autoptr(GBytes) image = c->header
    ? make_image (c->header, c->data_len)
    : g_bytes_new (c->raw, c->raw_len);
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (image, NULL),
                                      g_bytes_get_size (image), &error));
  AttnvizSafetensors *st = attnviz_safetensors_open (path, &error);
  g_assert_null (st);
  assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, path, c->phrase);
  remove_tree (dir);
}

static void
test_missing_file_or_folder_is_refused (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "absent.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_null (attnviz_safetensors_open (path, &error));
  assert_one_line_error (error, G_IO_ERROR_NOT_FOUND, path, "does not exist");
  g_clear_error (&error);

  g_assert_null (attnviz_safetensors_open (dir, &error));
  assert_one_line_error (error, G_IO_ERROR_IS_DIRECTORY, dir, "is a folder");
  remove_tree (dir);
}

/* ---- the real checkpoint -------------------------------------------------- */

static void
test_stories260k_lists_its_embedding (void)
{
  g_autofree char *path = attnviz_test_shared_path ("models", "stories260K", "hf",
                                                    "model.safetensors", NULL);
  if (path == NULL)
    return;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("stories260K model.safetensors is absent");
      return;
    }
  g_autoptr(GError) error = NULL;
  AttnvizSafetensors *st = attnviz_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (attnviz_safetensors_get_n_tensors (st), >, 1);
  const AttnvizTensorInfo *emb = attnviz_safetensors_lookup (st, "model.embed_tokens.weight");
  g_assert_nonnull (emb);
  g_assert_cmpint (emb->dtype, ==, ATTNVIZ_DTYPE_F32);
  g_assert_cmpint (emb->n_dims, ==, 2);
  g_assert_cmpint (emb->shape[0], ==, 512);
  g_assert_cmpint (emb->shape[1], ==, 64);
  g_assert_cmpuint (emb->n_bytes, ==, 512 * 64 * 4);

  float *values = g_new (float, emb->n_elements);
  attnviz_tensor_to_f32 (emb, values);
  for (gint64 i = 0; i < emb->n_elements; i++)
    g_assert_true (isfinite (values[i]));
  g_free (values);
  attnviz_safetensors_free (st);
}

/* ---- shards --------------------------------------------------------------- */

static void
write_two_shards (const char *dir)
{
  float a[4] = { 1, 2, 3, 4 };
  float b[2] = { -1, -2 };
  gint64 c[3] = { 10, 20, 30 };
  AttnvizTensorOut first[] = {
    { "a", ATTNVIZ_DTYPE_F32, 2, { 2, 2 }, a },
    { "b", ATTNVIZ_DTYPE_F32, 1, { 2 }, b },
  };
  AttnvizTensorOut second[] = {
    { "c", ATTNVIZ_DTYPE_I64, 1, { 3 }, c },
  };
  g_autoptr(GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (meta, "format", "pt");
  g_autofree char *p1 = g_build_filename (dir, "model-00001-of-00002.safetensors", NULL);
  g_autofree char *p2 = g_build_filename (dir, "model-00002-of-00002.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_safetensors_write (p1, first, 2, meta, &error));
  g_assert_true (attnviz_safetensors_write (p2, second, 1, NULL, &error));
  g_assert_no_error (error);
}

static char *
write_index (const char *dir, const char *weight_map)
{
  char *path = g_build_filename (dir, "model.safetensors.index.json", NULL);
  g_autofree char *text = g_strdup_printf ("{\"metadata\": {\"total_size\": 48},\n"
                                           " \"weight_map\": %s}\n", weight_map);
  g_autoptr(GError) error = NULL;
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  return path;
}

#define WEIGHT_MAP \
  "{\"a\": \"model-00001-of-00002.safetensors\"," \
  " \"c\": \"model-00002-of-00002.safetensors\"," \
  " \"b\": \"model-00001-of-00002.safetensors\"}"

static void
test_sharded_index_opens_as_one (void)
{
  g_autofree char *dir = make_tmpdir ();
  write_two_shards (dir);
  g_autofree char *index = write_index (dir, WEIGHT_MAP);

  g_autoptr(GError) error = NULL;
  AttnvizSafetensors *st = attnviz_safetensors_open (index, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (attnviz_safetensors_get_path (st), ==, index);
  g_assert_cmpuint (attnviz_safetensors_get_n_tensors (st), ==, 3);
  g_assert_cmpstr (attnviz_safetensors_get_metadata (st, "format"), ==, "pt");

  const AttnvizTensorInfo *a = attnviz_safetensors_lookup (st, "a");
  const AttnvizTensorInfo *c = attnviz_safetensors_lookup (st, "c");
  g_assert_nonnull (attnviz_safetensors_lookup (st, "b"));
  g_assert_true (g_str_has_suffix (a->file, "model-00001-of-00002.safetensors"));
  g_assert_true (g_str_has_suffix (c->file, "model-00002-of-00002.safetensors"));
  g_assert_cmpint (a->shape[0], ==, 2);
  g_assert_cmpint (a->shape[1], ==, 2);
  float got[4];
  attnviz_tensor_to_f32 (a, got);
  g_assert_cmpfloat (got[3], ==, 4.0f);
  gint64 cv[3];
  memcpy (cv, c->data, sizeof cv);
  g_assert_cmpint (cv[2], ==, 30);
  attnviz_safetensors_free (st);
  remove_tree (dir);
}

static void
test_sharded_missing_shard_is_named (void)
{
  g_autofree char *dir = make_tmpdir ();
  write_two_shards (dir);
  g_autofree char *index = write_index (dir, WEIGHT_MAP);
  g_autofree char *p2 = g_build_filename (dir, "model-00002-of-00002.safetensors", NULL);
  g_assert_cmpint (g_unlink (p2), ==, 0);

  g_autoptr(GError) error = NULL;
  g_assert_null (attnviz_safetensors_open (index, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "\"model-00002-of-00002.safetensors\""));
  g_assert_nonnull (strstr (error->message, index));
  g_assert_nonnull (strstr (error->message, "does not exist"));
  remove_tree (dir);
}

static void
test_sharded_tensor_absent_from_its_shard (void)
{
  g_autofree char *dir = make_tmpdir ();
  write_two_shards (dir);
  g_autofree char *index = write_index (dir,
    "{\"a\": \"model-00001-of-00002.safetensors\","
    " \"c\": \"model-00001-of-00002.safetensors\"}");
  g_autoptr(GError) error = NULL;
  g_assert_null (attnviz_safetensors_open (index, &error));
  assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, index,
                         "tensor \"c\": weight_map puts it in \"model-00001-of-00002.safetensors\", "
                         "which has no such tensor");
  remove_tree (dir);
}

static void
test_sharded_name_in_two_shards (void)
{
  g_autofree char *dir = make_tmpdir ();
  write_two_shards (dir);
  g_autofree char *extra = g_build_filename (dir, "extra.safetensors", NULL);
  float x = 5;
  AttnvizTensorOut out[] = { { "a", ATTNVIZ_DTYPE_F32, 1, { 1 }, &x } };
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_safetensors_write (extra, out, 1, NULL, &error));
  g_autofree char *index = write_index (dir,
    "{\"a\": \"model-00001-of-00002.safetensors\", \"z\": \"extra.safetensors\"}");
  g_assert_null (attnviz_safetensors_open (index, &error));
  assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, extra, "tensor \"a\": also in ");
  remove_tree (dir);
}

static void
test_sharded_bad_index (void)
{
  static const struct {
    const char *weight_map;
    const char *phrase;
  } cases[] = {
    { "[]", "weight_map is an array, not an object" },
    { "{}", "weight_map lists no tensors" },
    { "{\"a\": 3}", "weight_map \"a\" is a number, not a file name" },
    { "{\"a\": \"../model-00001-of-00002.safetensors\"}", "is not a file beside the index" },
    { "{\"a\": \"/etc/passwd\"}", "is not a file beside the index" },
  };
  g_autofree char *dir = make_tmpdir ();
  write_two_shards (dir);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *index = write_index (dir, cases[i].weight_map);
      g_autoptr(GError) error = NULL;
      g_assert_null (attnviz_safetensors_open (index, &error));
      assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, index, cases[i].phrase);
    }

  g_autofree char *index = g_build_filename (dir, "model.safetensors.index.json", NULL);
  g_assert_true (g_file_set_contents (index, "{\"metadata\": {}}", -1, NULL));
  g_autoptr(GError) error = NULL;
  g_assert_null (attnviz_safetensors_open (index, &error));
  assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, index, "weight_map is missing");
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/safetensors/f16/converts-known-values-exactly", test_f16_known_values);
  g_test_add_func ("/engine/safetensors/f16/narrowing-rounds-to-nearest-even",
                   test_f16_rounds_to_nearest_even);
  g_test_add_func ("/engine/safetensors/bf16/converts-known-values-exactly", test_bf16_known_values);
  g_test_add_func ("/engine/safetensors/to-f32/reads-unaligned-tensors",
                   test_unaligned_tensors_convert);
  g_test_add_func ("/engine/safetensors/write/then-open-gives-back-everything",
                   test_write_then_open_gives_back_everything);
  g_test_add_func ("/engine/safetensors/write/refuses-duplicate-names",
                   test_write_refuses_duplicate_names);
  g_test_add_func ("/engine/safetensors/write/with-no-tensors-round-trips",
                   test_empty_file_list_round_trips);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *mem = g_strdup_printf ("/engine/safetensors/refuses/%s/in-memory",
                                              bad_cases[i].name);
      g_autofree char *disk = g_strdup_printf ("/engine/safetensors/refuses/%s/on-disk",
                                               bad_cases[i].name);
      g_test_add_data_func (mem, &bad_cases[i], test_bad_input_in_memory);
      g_test_add_data_func (disk, &bad_cases[i], test_bad_input_on_disk);
    }
  g_test_add_func ("/engine/safetensors/refuses/a-missing-file-or-a-folder",
                   test_missing_file_or_folder_is_refused);
  g_test_add_func ("/engine/safetensors/stories260k/lists-its-embedding-as-512x64-f32",
                   test_stories260k_lists_its_embedding);
  g_test_add_func ("/engine/safetensors/sharded/index-opens-as-one-list",
                   test_sharded_index_opens_as_one);
  g_test_add_func ("/engine/safetensors/sharded/missing-shard-is-named",
                   test_sharded_missing_shard_is_named);
  g_test_add_func ("/engine/safetensors/sharded/tensor-absent-from-its-shard-is-an-error",
                   test_sharded_tensor_absent_from_its_shard);
  g_test_add_func ("/engine/safetensors/sharded/one-name-in-two-shards-is-an-error",
                   test_sharded_name_in_two_shards);
  g_test_add_func ("/engine/safetensors/sharded/bad-index-is-an-error",
                   test_sharded_bad_index);

  return g_test_run ();
}
