/* test-quant-gguf: attnviz's dequantizers and quantizers against llama.cpp,
 * on the real files in ../shared (tiny-llama-gguf/gguf/tiny-TYPE.gguf,
 * every type quantized by llama.cpp from tiny-f32.gguf).
 *
 * tools/dump-gguf-tensors.py, run with /usr/bin/python3 and llama.cpp's own
 * gguf-py (in $LLREF_CACHE/src/gguf-py, /tmp/llref/src/gguf-py by default,
 * made by ../shared/tools/llref/build.sh), writes a few tensors of each file:
 * their bytes, gguf-py's float32 dequantization of them and the float32
 * tensor they were quantized from; and gguf-py's quantization of synthetic
 * rows.  The tests compare:
 *   - attnviz's dequantization of the bytes with gguf-py's: bit for bit;
 *   - attnviz's F16, BF16, Q8_0 and Q4_0 quantization of the float32
 *     source with the bytes llama.cpp wrote, and of the synthetic rows with
 *     gguf-py's: byte for byte;
 *   - attnviz's Q4_K quantization error on the real weights with that of
 *     llama.cpp's Q4_K file.
 * Each skips, saying why, without python3, gguf-py or ../shared.
 */
#define G_LOG_DOMAIN "attnviz-test-quant-gguf"
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>

#include "attnviz-quant.h"
#include "attnviz-test-util.h"

#define PYTHON "/usr/bin/python3"

typedef struct {
  char *kind;        /* "tensor" or "quantized" */
  char *file;
  char *tensor;
  AttnvizWeightType type;
  int n_rows;
  gint64 n_cols;
  GBytes *raw;       /* n_rows rows of the type */
  GBytes *values;    /* n_rows * n_cols float32: gguf-py's dequantization, or the quantized rows */
  GBytes *source;    /* n_rows * n_cols float32 the file was made from, or NULL */
} Item;

static GPtrArray *items;     /* of Item, NULL when the dump could not be made */
static char *skip_reason;

static void
item_free (gpointer data)
{
  Item *it = data;
  g_free (it->kind);
  g_free (it->file);
  g_free (it->tensor);
  g_bytes_unref (it->raw);
  g_bytes_unref (it->values);
  if (it->source)
    g_bytes_unref (it->source);
  g_free (it);
}

static GBytes *
read_blob (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents;
  gsize len;
  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

static void
load_manifest (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "manifest.tsv", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);

  items = g_ptr_array_new_with_free_func (item_free);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **line = lines; *line; line++)
    {
      if (**line == '\0')
        continue;
      g_auto(GStrv) f = g_strsplit (*line, "\t", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 9);
      Item *it = g_new0 (Item, 1);
      it->kind = g_strdup (f[0]);
      it->file = g_strdup (f[1]);
      it->tensor = g_strdup (f[2]);
      it->type = (AttnvizWeightType) g_ascii_strtoull (f[3], NULL, 10);
      it->n_rows = (int) g_ascii_strtoull (f[4], NULL, 10);
      it->n_cols = (gint64) g_ascii_strtoull (f[5], NULL, 10);
      it->raw = read_blob (dir, f[6]);
      it->values = read_blob (dir, f[7]);
      it->source = g_str_equal (f[8], "-") ? NULL : read_blob (dir, f[8]);
      g_assert_true (attnviz_weight_type_supported (it->type));
      gsize row_bytes;
      g_assert_true (attnviz_weight_row_bytes (it->type, it->n_cols, &row_bytes));
      g_assert_cmpuint (g_bytes_get_size (it->raw), ==, row_bytes * it->n_rows);
      g_assert_cmpuint (g_bytes_get_size (it->values), ==, 4 * it->n_cols * it->n_rows);
      g_ptr_array_add (items, it);
    }
}

/* Runs the dump tool into a fresh folder and loads what it wrote; on a
 * missing prerequisite sets skip_reason instead. */
static void
make_dump (void)
{
  if (!g_file_test (PYTHON, G_FILE_TEST_IS_EXECUTABLE))
    {
      skip_reason = g_strdup (PYTHON " is absent (apt install python3-numpy)");
      return;
    }
  const char *cache = g_getenv ("LLREF_CACHE");
  g_autofree char *gguf_py = g_build_filename (cache ? cache : "/tmp/llref", "src", "gguf-py", NULL);
  g_autofree char *gguf_init = g_build_filename (gguf_py, "gguf", "__init__.py", NULL);
  if (!g_file_test (gguf_init, G_FILE_TEST_IS_REGULAR))
    {
      skip_reason = g_strdup_printf ("llama.cpp's gguf-py is not at %s "
                                     "(../shared/tools/llref/build.sh makes it; it needs npm)", gguf_py);
      return;
    }
  const char *shared = g_getenv ("ATTNVIZ_SHARED_DIR");
  g_autofree char *models = g_build_filename (shared ? shared : "../shared", "data", "models",
                                              "tiny-llama-gguf", "gguf", NULL);
  if (!g_file_test (models, G_FILE_TEST_IS_DIR))
    {
      skip_reason = g_strdup_printf ("%s is absent: skipping what needs ../shared", models);
      return;
    }
  const char *srcdir = g_getenv ("G_TEST_SRCDIR");
  g_autofree char *tool = g_build_filename (srcdir ? srcdir : "tests", "..", "tools",
                                            "dump-gguf-tensors.py", NULL);

  g_autoptr(GError) error = NULL;
  g_autofree char *out = g_dir_make_tmp ("attnviz-test-quant-gguf-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *source = g_build_filename (models, "tiny-f32.gguf", NULL);

  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  /* -B: no __pycache__ written into llama.cpp's tree. */
  const char *fixed[] = { PYTHON, "-B", tool, "--gguf-py", gguf_py, "--out", out, "--source", source,
                          "--synthetic" };
  for (gsize i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (argv, g_strdup (fixed[i]));
  static const char *const types[] = { "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0",
                                       "q5_1", "q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k" };
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autofree char *name = g_strdup_printf ("tiny-%s.gguf", types[i]);
      g_ptr_array_add (argv, g_build_filename (models, name, NULL));
    }
  g_ptr_array_add (argv, NULL);

  int status;
  g_autofree char *err_text = NULL;
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                NULL, &err_text, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s failed: %s\n%s", tool, error->message, err_text);

  load_manifest (out);
  attnviz_test_remove_tree (out);
}

static gboolean
have_dump (void)
{
  if (items == NULL)
    {
      g_test_skip (skip_reason);
      return FALSE;
    }
  return TRUE;
}

/* Distance in representable floats (0 for equal bits). */
static guint64
ulps (float a, float b)
{
  gint32 ia, ib;
  memcpy (&ia, &a, 4);
  memcpy (&ib, &b, 4);
  gint64 oa = ia < 0 ? (gint64) G_MININT32 - ia : ia;  /* monotonic in the float's value */
  gint64 ob = ib < 0 ? (gint64) G_MININT32 - ib : ib;
  return (guint64) (oa > ob ? oa - ob : ob - oa);
}

/* Every tensor's bytes, dequantized by attnviz, against gguf-py: the same
 * bits, every value. */
static void
test_dequantize (void)
{
  if (!have_dump ())
    return;
  GHashTable *per_type = g_hash_table_new (NULL, NULL);  /* type -> values checked */
  for (guint i = 0; i < items->len; i++)
    {
      Item *it = items->pdata[i];
      if (!g_str_equal (it->kind, "tensor"))
        continue;
      gsize n = it->n_cols * it->n_rows, row_bytes;
      g_assert_true (attnviz_weight_row_bytes (it->type, it->n_cols, &row_bytes));
      g_autofree float *got = g_new (float, n);
      attnviz_dequantize_rows (it->type, g_bytes_get_data (it->raw, NULL), row_bytes,
                               it->n_rows, it->n_cols, got, it->n_cols);
      const float *want = g_bytes_get_data (it->values, NULL);
      guint64 worst = 0;
      gsize at = 0;
      for (gsize k = 0; k < n; k++)
        if (ulps (got[k], want[k]) > worst)
          {
            worst = ulps (got[k], want[k]);
            at = k;
          }
      if (worst != 0)
        g_error ("%s %s (%s): value %zu is %.9g, gguf-py has %.9g (%" G_GUINT64_FORMAT " ulp)",
                 it->file, it->tensor, attnviz_weight_type_name (it->type), at, got[at], want[at], worst);
      gsize seen = GPOINTER_TO_SIZE (g_hash_table_lookup (per_type, GINT_TO_POINTER (it->type)));
      g_hash_table_insert (per_type, GINT_TO_POINTER (it->type), GSIZE_TO_POINTER (seen + n));
    }

  static const AttnvizWeightType all[] = {
    ATTNVIZ_WEIGHT_F32, ATTNVIZ_WEIGHT_F16, ATTNVIZ_WEIGHT_BF16, ATTNVIZ_WEIGHT_Q4_0,
    ATTNVIZ_WEIGHT_Q4_1, ATTNVIZ_WEIGHT_Q5_0, ATTNVIZ_WEIGHT_Q5_1, ATTNVIZ_WEIGHT_Q8_0,
    ATTNVIZ_WEIGHT_Q2_K, ATTNVIZ_WEIGHT_Q3_K, ATTNVIZ_WEIGHT_Q4_K, ATTNVIZ_WEIGHT_Q5_K,
    ATTNVIZ_WEIGHT_Q6_K,
  };
  for (gsize t = 0; t < G_N_ELEMENTS (all); t++)
    {
      gsize seen = GPOINTER_TO_SIZE (g_hash_table_lookup (per_type, GINT_TO_POINTER (all[t])));
      g_test_message ("%s: %zu values, all equal to gguf-py's bit for bit",
                      attnviz_weight_type_name (all[t]), seen);
      g_assert_cmpuint (seen, >, 0);  /* every type was in the files */
    }
  g_hash_table_unref (per_type);
}

/* The first byte where attnviz's quantization of ROWS differs from WANT,
 * or -1. */
static gssize
quantize_and_compare (AttnvizWeightType type, const float *rows, int n_rows, gint64 n_cols,
                      const guint8 *want, guint8 **out)
{
  gsize row_bytes;
  g_assert_true (attnviz_weight_row_bytes (type, n_cols, &row_bytes));
  guint8 *got = g_malloc (row_bytes * n_rows);
  for (int r = 0; r < n_rows; r++)
    attnviz_quantize_row (type, rows + r * n_cols, got + r * row_bytes, n_cols);
  gssize first = -1;
  for (gsize k = 0; k < row_bytes * n_rows && first < 0; k++)
    if (got[k] != want[k])
      first = (gssize) k;
  *out = got;
  return first;
}

/* llama.cpp quantized tiny-f32.gguf into the F16, BF16, Q8_0 and Q4_0
 * files; attnviz, given the same float32 tensors, writes the same bytes. */
static void
test_quantize_like_llama_cpp (void)
{
  if (!have_dump ())
    return;
  int compared = 0;
  for (guint i = 0; i < items->len; i++)
    {
      Item *it = items->pdata[i];
      if (it->source == NULL || it->type == ATTNVIZ_WEIGHT_Q4_K
          || !attnviz_weight_type_can_quantize (it->type))
        continue;
      g_autofree guint8 *got = NULL;
      gssize at = quantize_and_compare (it->type, g_bytes_get_data (it->source, NULL), it->n_rows,
                                        it->n_cols, g_bytes_get_data (it->raw, NULL), &got);
      if (at >= 0)
        g_error ("%s %s (%s): byte %zd is 0x%02x, llama.cpp wrote 0x%02x", it->file, it->tensor,
                 attnviz_weight_type_name (it->type), at, got[at],
                 ((const guint8 *) g_bytes_get_data (it->raw, NULL))[at]);
      g_test_message ("%s %s (%s): %zu bytes as llama.cpp wrote them", it->file, it->tensor,
                      attnviz_weight_type_name (it->type), g_bytes_get_size (it->raw));
      compared++;
    }
  g_assert_cmpint (compared, >=, 4);
}

/* gguf-py's F16, BF16, Q8_0 and Q4_0 quantization of awkward rows (ties,
 * zeros, outliers, tiny values; for F16 and BF16 also inf, NaN, overflow and
 * subnormals): the same bytes, except that a NaN only has to stay a NaN
 * (numpy and attnviz keep different payload bits). */
static void
test_quantize_like_gguf_py (void)
{
  if (!have_dump ())
    return;
  int compared = 0;
  for (guint i = 0; i < items->len; i++)
    {
      Item *it = items->pdata[i];
      if (!g_str_equal (it->kind, "quantized"))
        continue;
      const float *rows = g_bytes_get_data (it->values, NULL);
      const guint8 *want = g_bytes_get_data (it->raw, NULL);
      g_autofree guint8 *got = NULL;
      gssize at = quantize_and_compare (it->type, rows, it->n_rows, it->n_cols, want, &got);
      gsize n = it->n_cols * it->n_rows, nan_count = 0;
      if (at >= 0 && (it->type == ATTNVIZ_WEIGHT_F16 || it->type == ATTNVIZ_WEIGHT_BF16))
        {
          /* Two bytes per value: differences must all be NaN against NaN. */
          g_autofree float *a = g_new (float, n), *b = g_new (float, n);
          attnviz_dequantize_row (it->type, got, a, n);
          attnviz_dequantize_row (it->type, want, b, n);
          at = -1;
          for (gsize k = 0; k < n && at < 0; k++)
            if (memcmp (got + 2 * k, want + 2 * k, 2) != 0)
              {
                if (isnan (a[k]) && isnan (b[k]) && isnan (rows[k]))
                  nan_count++;
                else
                  at = (gssize) (2 * k);
              }
        }
      if (at >= 0)
        g_error ("synthetic %s: byte %zd (block %zd) is 0x%02x, gguf-py has 0x%02x",
                 attnviz_weight_type_name (it->type), at,
                 at / (gssize) attnviz_weight_type_block_bytes (it->type), got[at], want[at]);
      g_test_message ("synthetic %s: %d rows as gguf-py writes them (%zu NaN payloads differ)",
                      attnviz_weight_type_name (it->type), it->n_rows, nan_count);
      compared++;
    }
  g_assert_cmpint (compared, ==, 4);
}

/* Q4_K: attnviz chooses its scales its own way, so the bytes differ from
 * llama.cpp's; on the same real weights its error must be no larger. */
static void
test_q4_k_against_llama_cpp (void)
{
  if (!have_dump ())
    return;
  int compared = 0;
  for (guint i = 0; i < items->len; i++)
    {
      Item *it = items->pdata[i];
      if (it->source == NULL || it->type != ATTNVIZ_WEIGHT_Q4_K)
        continue;
      const float *x = g_bytes_get_data (it->source, NULL);
      gsize n = it->n_cols * it->n_rows, row_bytes;
      g_assert_true (attnviz_weight_row_bytes (it->type, it->n_cols, &row_bytes));
      g_autofree guint8 *ours = g_malloc (row_bytes * it->n_rows);
      g_autofree float *ours_x = g_new (float, n), *theirs_x = g_new (float, n);
      for (int r = 0; r < it->n_rows; r++)
        attnviz_quantize_row (it->type, x + r * it->n_cols, ours + r * row_bytes, it->n_cols);
      attnviz_dequantize_rows (it->type, ours, row_bytes, it->n_rows, it->n_cols, ours_x, it->n_cols);
      attnviz_dequantize_rows (it->type, g_bytes_get_data (it->raw, NULL), row_bytes, it->n_rows,
                               it->n_cols, theirs_x, it->n_cols);
      double se_ours = 0, se_theirs = 0, max_ours = 0, max_theirs = 0;
      for (gsize k = 0; k < n; k++)
        {
          double a = (double) ours_x[k] - x[k], b = (double) theirs_x[k] - x[k];
          se_ours += a * a;
          se_theirs += b * b;
          max_ours = fmax (max_ours, fabs (a));
          max_theirs = fmax (max_theirs, fabs (b));
        }
      double rms_ours = sqrt (se_ours / n), rms_theirs = sqrt (se_theirs / n);
      g_test_message ("%s %s: RMS error attnviz %.4g, llama.cpp %.4g (ratio %.3f); "
                      "largest attnviz %.4g, llama.cpp %.4g",
                      it->file, it->tensor, rms_ours, rms_theirs, rms_ours / rms_theirs,
                      max_ours, max_theirs);
      g_assert_cmpfloat (rms_ours, <=, rms_theirs);
      compared++;
    }
  g_assert_cmpint (compared, >=, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/quant/gguf/dequantizes-llama-cpp-files-as-gguf-py-does", test_dequantize);
  g_test_add_func ("/engine/quant/gguf/quantizes-real-weights-to-the-bytes-llama-cpp-wrote",
                   test_quantize_like_llama_cpp);
  g_test_add_func ("/engine/quant/gguf/quantizes-awkward-rows-to-the-bytes-gguf-py-writes",
                   test_quantize_like_gguf_py);
  g_test_add_func ("/engine/quant/gguf/q4_k-quantizes-real-weights-no-worse-than-llama-cpp",
                   test_q4_k_against_llama_cpp);

  make_dump ();
  int result = g_test_run ();
  g_clear_pointer (&items, g_ptr_array_unref);
  g_free (skip_reason);
  return result;
}
