/* The GGUF writer: what it writes reads back with every key, value and
 * tensor byte, in llama.cpp's layout; and real files rewritten key by key
 * and tensor by tensor read back identically. */
#define G_LOG_DOMAIN "attnviz-test-gguf"
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "attnviz-gguf.h"
#include "attnviz-quant.h"
#include "attnviz-test-util.h"
#include "gguf-builder.h"

/* ---- comparing two files ------------------------------------------------- */

/* Entry I of A and entry J of B hold the same key and value. */
static void
assert_same_kv (AttnvizGguf *a, guint i, AttnvizGguf *b, guint j)
{
  const char *key = attnviz_gguf_get_key (a, i);
  g_assert_cmpstr (attnviz_gguf_get_key (b, j), ==, key);
  g_assert_cmpint (attnviz_gguf_get_kv_type (b, j), ==, attnviz_gguf_get_kv_type (a, i));
  g_assert_cmpint (attnviz_gguf_get_array_type (b, j), ==, attnviz_gguf_get_array_type (a, i));
  g_assert_cmpuint (attnviz_gguf_get_array_length (b, j), ==, attnviz_gguf_get_array_length (a, i));
  g_autofree char *ta = attnviz_gguf_kv_to_string (a, i, 0);
  g_autofree char *tb = attnviz_gguf_kv_to_string (b, j, 0);
  g_assert_cmpstr (ta, ==, tb);
  if (attnviz_gguf_get_kv_type (a, i) != ATTNVIZ_GGUF_ARRAY)
    return;

  gsize na = 0, nb = 0;
  switch (attnviz_gguf_get_array_type (a, i))
    {
    case ATTNVIZ_GGUF_STRING:
      {
        const gsize *la, *lb;
        const char *const *sa = attnviz_gguf_read_string_array (a, key, TRUE, &na, &la, NULL);
        const char *const *sb = attnviz_gguf_read_string_array (b, key, TRUE, &nb, &lb, NULL);
        g_assert_cmpuint (na, ==, nb);
        for (gsize k = 0; k < na; k++)
          {
            g_assert_cmpuint (la[k], ==, lb[k]);
            g_assert_cmpmem (sa[k], la[k], sb[k], lb[k]);
          }
      }
      break;
    case ATTNVIZ_GGUF_FLOAT32:
    case ATTNVIZ_GGUF_FLOAT64:
      {
        g_autofree float *fa = attnviz_gguf_dup_float_array (a, key, TRUE, &na, NULL);
        g_autofree float *fb = attnviz_gguf_dup_float_array (b, key, TRUE, &nb, NULL);
        g_assert_cmpmem (fa, na * sizeof (float), fb, nb * sizeof (float));
      }
      break;
    case ATTNVIZ_GGUF_BOOL:
    case ATTNVIZ_GGUF_ARRAY:
      break;
    default:
      {
        g_autoptr(GError) ea = NULL;
        g_autoptr(GError) eb = NULL;
        g_autofree gint64 *ia = attnviz_gguf_dup_int_array (a, key, TRUE, &na, &ea);
        g_autofree gint64 *ib = attnviz_gguf_dup_int_array (b, key, TRUE, &nb, &eb);
        g_assert_true ((ia == NULL) == (ib == NULL));
        if (ia)
          g_assert_cmpmem (ia, na * sizeof (gint64), ib, nb * sizeof (gint64));
      }
      break;
    }
}

static void
assert_same_gguf (AttnvizGguf *a, AttnvizGguf *b)
{
  g_assert_cmpuint (attnviz_gguf_get_alignment (b), ==, attnviz_gguf_get_alignment (a));
  g_assert_cmpuint (attnviz_gguf_get_n_kv (b), ==, attnviz_gguf_get_n_kv (a));
  for (guint i = 0; i < attnviz_gguf_get_n_kv (a); i++)
    assert_same_kv (a, i, b, i);
  g_assert_cmpuint (attnviz_gguf_get_n_tensors (b), ==, attnviz_gguf_get_n_tensors (a));
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (a); i++)
    {
      const AttnvizGgufTensor *ta = attnviz_gguf_get_tensor (a, i);
      const AttnvizGgufTensor *tb = attnviz_gguf_get_tensor (b, i);
      g_assert_cmpstr (ta->name, ==, tb->name);
      g_assert_cmpuint (ta->type, ==, tb->type);
      g_assert_cmpint (ta->n_dims, ==, tb->n_dims);
      g_assert_cmpmem (ta->ne, sizeof ta->ne, tb->ne, sizeof tb->ne);
      g_assert_cmpmem (ta->data, ta->n_bytes, tb->data, tb->n_bytes);
    }
}

/* Writes every key and tensor of SRC to PATH. */
static void
rewrite (AttnvizGguf *src, const char *path)
{
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_copy_kv (w, src, NULL, NULL);
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (src); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (src, i);
      attnviz_gguf_writer_add_tensor (w, t->name, t->type, t->n_dims, t->ne, t->data, t->n_bytes,
                                      NULL);
    }
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_gguf_writer_write (w, path, &error));
  g_assert_no_error (error);
  attnviz_gguf_writer_free (w);
}

static guint
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (g_dir_read_name (d))
    n++;
  return n;
}

/* ---- a synthetic file with every type ------------------------------------- */

static guint n_destroyed;

static void
count_destroy (gpointer data)
{
  n_destroyed++;
  g_free (data);
}

static guint8 *
pattern (gsize n, guint seed)
{
  guint8 *p = g_malloc (n);
  for (gsize i = 0; i < n; i++)
    p[i] = (guint8) (i * 31 + seed);
  return p;
}

static void
test_round_trip_keeps_every_value_and_byte (void)
{
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  guint8 u8 = 200;
  gint8 i8 = -100;
  guint16 u16 = 60000;
  gint16 i16 = -30000;
  gint64 i64 = G_MININT64;
  double f64 = 1e-300;
  gboolean yes = TRUE;
  attnviz_gguf_writer_add_uint32 (w, "llama.block_count", 1);
  attnviz_gguf_writer_add_scalar (w, "u8", ATTNVIZ_GGUF_UINT8, &u8);
  attnviz_gguf_writer_add_scalar (w, "i8", ATTNVIZ_GGUF_INT8, &i8);
  attnviz_gguf_writer_add_scalar (w, "u16", ATTNVIZ_GGUF_UINT16, &u16);
  attnviz_gguf_writer_add_scalar (w, "i16", ATTNVIZ_GGUF_INT16, &i16);
  attnviz_gguf_writer_add_uint32 (w, "u32", 4000000000u);
  attnviz_gguf_writer_add_int32 (w, "i32", -2000000000);
  attnviz_gguf_writer_add_float32 (w, "f32", 0.1f);
  attnviz_gguf_writer_add_bool (w, "bool", yes);
  attnviz_gguf_writer_add_string (w, "string", "h\xc3\xa9llo \xe2\x96\x81world");
  attnviz_gguf_writer_add_uint64 (w, "u64", G_MAXUINT64);
  attnviz_gguf_writer_add_scalar (w, "i64", ATTNVIZ_GGUF_INT64, &i64);
  attnviz_gguf_writer_add_scalar (w, "f64", ATTNVIZ_GGUF_FLOAT64, &f64);
  static const char *const tokens[] = { "<s>", "", "\xe2\x96\x81the", "a\x1b[2Jb" };
  attnviz_gguf_writer_add_string_array (w, "tokens", tokens, G_N_ELEMENTS (tokens));
  attnviz_gguf_writer_add_string_array (w, "no.tokens", NULL, 0);
  static const guint8 a_u8[] = { 1, 2, 255 };
  static const gint8 a_i8[] = { -1, 127 };
  static const guint16 a_u16[] = { 65535 };
  static const gint16 a_i16[] = { -32768, 5 };
  static const guint32 a_u32[] = { 4294967295u, 0 };
  static const gint32 a_i32[] = { -5, 7, G_MININT32 };
  static const float a_f32[] = { 0.5f, -1.25f, 3e38f, -0.0f };
  static const guint8 a_bool[] = { 1, 0, 1 };
  static const guint64 a_u64[] = { 1, G_MAXINT64 };
  static const gint64 a_i64[] = { G_MININT64, -1 };
  static const double a_f64[] = { 0.1, -2.0 };
  attnviz_gguf_writer_add_array (w, "a.u8", ATTNVIZ_GGUF_UINT8, a_u8, G_N_ELEMENTS (a_u8));
  attnviz_gguf_writer_add_array (w, "a.i8", ATTNVIZ_GGUF_INT8, a_i8, G_N_ELEMENTS (a_i8));
  attnviz_gguf_writer_add_array (w, "a.u16", ATTNVIZ_GGUF_UINT16, a_u16, G_N_ELEMENTS (a_u16));
  attnviz_gguf_writer_add_array (w, "a.i16", ATTNVIZ_GGUF_INT16, a_i16, G_N_ELEMENTS (a_i16));
  attnviz_gguf_writer_add_array (w, "a.u32", ATTNVIZ_GGUF_UINT32, a_u32, G_N_ELEMENTS (a_u32));
  attnviz_gguf_writer_add_array (w, "a.i32", ATTNVIZ_GGUF_INT32, a_i32, G_N_ELEMENTS (a_i32));
  attnviz_gguf_writer_add_array (w, "a.f32", ATTNVIZ_GGUF_FLOAT32, a_f32, G_N_ELEMENTS (a_f32));
  attnviz_gguf_writer_add_array (w, "a.bool", ATTNVIZ_GGUF_BOOL, a_bool, G_N_ELEMENTS (a_bool));
  attnviz_gguf_writer_add_array (w, "a.u64", ATTNVIZ_GGUF_UINT64, a_u64, G_N_ELEMENTS (a_u64));
  attnviz_gguf_writer_add_array (w, "a.i64", ATTNVIZ_GGUF_INT64, a_i64, G_N_ELEMENTS (a_i64));
  attnviz_gguf_writer_add_array (w, "a.f64", ATTNVIZ_GGUF_FLOAT64, a_f64, G_N_ELEMENTS (a_f64));
  attnviz_gguf_writer_add_array (w, "a.empty", ATTNVIZ_GGUF_FLOAT32, NULL, 0);
  /* Added again: the new value, in the first place. */
  attnviz_gguf_writer_add_uint32 (w, "llama.block_count", 2);

  static const struct {
    const char *name;
    guint32 type;
    int n_dims;
    gint64 ne[4];
    gsize n_bytes;
  } tensors[] = {
    { "token_embd.weight", ATTNVIZ_WEIGHT_F32, 2, { 8, 3 }, 96 },
    { "output_norm.weight", ATTNVIZ_WEIGHT_F16, 1, { 16 }, 32 },
    { "blk.0.attn_q.weight", ATTNVIZ_WEIGHT_Q8_0, 2, { 64, 2 }, 2 * 68 },
    { "blk.0.ffn_up.weight", ATTNVIZ_WEIGHT_Q4_K, 2, { 256, 1 }, 144 },
    { "blk.0.four.dims", ATTNVIZ_WEIGHT_BF16, 4, { 2, 2, 2, 3 }, 48 },
    { "blk.0.iq4_nl", 20 /* IQ4_NL: known, not supported */, 1, { 32 }, 18 },
  };
  g_autoptr(GPtrArray) copies = g_ptr_array_new_with_free_func (g_free);
  n_destroyed = 0;
  for (guint i = 0; i < G_N_ELEMENTS (tensors); i++)
    {
      guint8 *data = pattern (tensors[i].n_bytes, i);
      g_ptr_array_add (copies, g_memdup2 (data, tensors[i].n_bytes));
      attnviz_gguf_writer_add_tensor (w, tensors[i].name, tensors[i].type, tensors[i].n_dims,
                                      tensors[i].ne, data, tensors[i].n_bytes, count_destroy);
    }

  g_autofree char *dir = gguf_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "every-type.gguf", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_gguf_writer_write (w, path, &error));
  g_assert_no_error (error);
  attnviz_gguf_writer_free (w);
  g_assert_cmpuint (n_destroyed, ==, G_N_ELEMENTS (tensors));
  g_assert_cmpuint (count_entries (dir), ==, 1);

  AttnvizGguf *g = attnviz_gguf_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (attnviz_gguf_get_version (g), ==, 3);
  g_assert_cmpuint (attnviz_gguf_get_alignment (g), ==, 32);
  g_assert_cmpuint (attnviz_gguf_get_n_kv (g), ==, 27);

  static const char *const expected[][2] = {
    { "llama.block_count", "2" }, { "u8", "200" }, { "i8", "-100" }, { "u16", "60000" },
    { "i16", "-30000" }, { "u32", "4000000000" }, { "i32", "-2000000000" }, { "f32", "0.1" },
    { "bool", "true" }, { "string", "\"h\xc3\xa9llo \xe2\x96\x81world\"" },
    { "u64", "18446744073709551615" }, { "i64", "-9223372036854775808" }, { "f64", "1e-300" },
    { "tokens", "[4 strings]" }, { "no.tokens", "[0 strings]" }, { "a.u8", "[3 uint8 values]" },
    { "a.i8", "[2 int8 values]" }, { "a.u16", "[1 uint16 value]" }, { "a.i16", "[2 int16 values]" },
    { "a.u32", "[2 uint32 values]" }, { "a.i32", "[3 int32 values]" },
    { "a.f32", "[4 float32 values]" }, { "a.bool", "[3 bool values]" },
    { "a.u64", "[2 uint64 values]" }, { "a.i64", "[2 int64 values]" },
    { "a.f64", "[2 float64 values]" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_assert_cmpstr (attnviz_gguf_get_key (g, i), ==, expected[i][0]);
      g_autofree char *text = attnviz_gguf_kv_to_string (g, i, 0);
      g_assert_cmpstr (text, ==, expected[i][1]);
    }
  g_assert_cmpint (attnviz_gguf_find_key (g, "a.empty"), ==, 26);

  gint64 v;
  g_assert_true (attnviz_gguf_read_int (g, "i64", TRUE, G_MININT64, 0, &v, &error));
  g_assert_cmpint (v, ==, G_MININT64);
  double d;
  g_assert_true (attnviz_gguf_read_float (g, "f64", TRUE, &d, &error));
  g_assert_cmpfloat (d, ==, 1e-300);
  gsize n;
  const gsize *lens;
  const char *const *strs = attnviz_gguf_read_string_array (g, "tokens", TRUE, &n, &lens, &error);
  g_assert_cmpuint (n, ==, 4);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpstr (strs[i], ==, tokens[i]);
      g_assert_cmpuint (lens[i], ==, strlen (tokens[i]));
    }
  g_autofree gint64 *i32s = attnviz_gguf_dup_int_array (g, "a.i32", TRUE, &n, &error);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (i32s[2], ==, G_MININT32);
  g_autofree gint64 *u64s = attnviz_gguf_dup_int_array (g, "a.u64", TRUE, &n, &error);
  g_assert_cmpint (u64s[1], ==, G_MAXINT64);
  g_autofree float *f32s = attnviz_gguf_dup_float_array (g, "a.f32", TRUE, &n, &error);
  g_assert_cmpmem (f32s, n * sizeof (float), a_f32, sizeof a_f32);
  g_autofree float *f64s = attnviz_gguf_dup_float_array (g, "a.f64", TRUE, &n, &error);
  g_assert_cmpfloat (f64s[0], ==, 0.1f);
  g_autofree float *none = attnviz_gguf_dup_float_array (g, "a.empty", TRUE, &n, &error);
  g_assert_nonnull (none);
  g_assert_cmpuint (n, ==, 0);
  g_assert_no_error (error);

  g_assert_cmpuint (attnviz_gguf_get_n_tensors (g), ==, G_N_ELEMENTS (tensors));
  for (guint i = 0; i < G_N_ELEMENTS (tensors); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (g, i);
      g_assert_cmpstr (t->name, ==, tensors[i].name);
      g_assert_cmpuint (t->type, ==, tensors[i].type);
      g_assert_cmpint (t->n_dims, ==, tensors[i].n_dims);
      for (int k = 0; k < 4; k++)
        g_assert_cmpint (t->ne[k], ==, k < t->n_dims ? tensors[i].ne[k] : 1);
      g_assert_cmpmem (t->data, t->n_bytes, copies->pdata[i], tensors[i].n_bytes);
      /* The mapping is page-aligned: the data is aligned in memory too. */
      g_assert_cmpuint (t->offset % 32, ==, 0);
      g_assert_cmpuint ((guintptr) t->data % 32, ==, 0);
    }
  /* Packed in order, as llama.cpp wants: each at the end of the last,
   * rounded up to 32; the file ends padded after the last. */
  g_assert_cmpuint (attnviz_gguf_get_tensor (g, 1)->offset, ==, 96);
  g_assert_cmpuint (attnviz_gguf_get_tensor (g, 2)->offset, ==, 128);
  g_assert_cmpuint (attnviz_gguf_get_tensor (g, 3)->offset, ==, 288);
  g_assert_cmpuint (attnviz_gguf_get_file_size (g) % 32, ==, 0);
  attnviz_gguf_free (g);
  attnviz_test_remove_tree (dir);
}

static void
test_larger_alignment_is_honoured (void)
{
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_add_uint32 (w, "general.alignment", 4096);
  static const gint64 ne[] = { 3 };
  static const float x[] = { 1, 2, 3 };
  attnviz_gguf_writer_add_tensor (w, "a", ATTNVIZ_WEIGHT_F32, 1, ne, x, sizeof x, NULL);
  attnviz_gguf_writer_add_tensor (w, "b", ATTNVIZ_WEIGHT_F32, 1, ne, x, sizeof x, NULL);
  g_autofree char *dir = gguf_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "aligned.gguf", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (attnviz_gguf_writer_write (w, path, &error));
  attnviz_gguf_writer_free (w);
  AttnvizGguf *g = attnviz_gguf_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (attnviz_gguf_get_alignment (g), ==, 4096);
  g_assert_cmpuint (attnviz_gguf_lookup (g, "b")->offset, ==, 4096);
  g_assert_cmpuint (attnviz_gguf_get_file_size (g), ==, 3 * 4096);
  g_assert_cmpmem (attnviz_gguf_lookup (g, "b")->data, sizeof x, x, sizeof x);
  attnviz_gguf_free (g);
  attnviz_test_remove_tree (dir);
}

static gboolean
skip_name (const char *key, gpointer data)
{
  return g_strcmp0 (key, data) == 0;
}

static void
test_copy_keeps_nested_arrays_as_they_are (void)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();
  gguf_build_rich (b);
  g_autoptr(GError) error = NULL;
  AttnvizGguf *src = attnviz_gguf_open_bytes (b->data, b->len, "rich.gguf", &error);
  g_assert_no_error (error);

  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_copy_kv (w, src, skip_name, "general.architecture");
  g_autofree char *dir = gguf_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "copy.gguf", NULL);
  g_assert_true (attnviz_gguf_writer_write (w, path, &error));
  attnviz_gguf_writer_free (w);

  AttnvizGguf *g = attnviz_gguf_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (attnviz_gguf_get_n_kv (g), ==, attnviz_gguf_get_n_kv (src) - 1);
  g_assert_cmpint (attnviz_gguf_find_key (g, "general.architecture"), ==, -1);
  g_assert_cmpuint (attnviz_gguf_get_alignment (g), ==, 64);
  int at = attnviz_gguf_find_key (g, "x.nested");
  g_assert_cmpint (at, >=, 0);
  g_assert_cmpint (attnviz_gguf_get_array_type (g, (guint) at), ==, ATTNVIZ_GGUF_ARRAY);
  g_assert_cmpuint (attnviz_gguf_get_array_length (g, (guint) at), ==, 2);
  for (guint i = 0; i < attnviz_gguf_get_n_kv (g); i++)
    assert_same_kv (src, i + 1, g, i);
  attnviz_gguf_free (g);
  attnviz_gguf_free (src);
  attnviz_test_remove_tree (dir);
}

typedef struct {
  const char *name;
  const char *phrase;
} WriterCase;

static void
test_writer_refuses_and_leaves_no_file (void)
{
  static const WriterCase cases[] = {
    { "twice", "tensor \"a\": added twice" },
    { "bytes", "tensor \"a\": 12 bytes given for 1 rows of 16 bytes" },
    { "long-name", "a name of 64 bytes (llama.cpp reads 1 to 63)" },
    { "block", "tensor \"a\": 3 values per row do not fit in Q8_0 blocks of 32" },
    { "unknown-type", "tensor \"a\": unknown type id 99" },
    { "alignment", "general.alignment must be a uint32 power of two" },
    { "control", "tensor \"a\\x1b\": the name is not UTF-8 without control characters" },
  };
  static const float x[4] = { 0 };
  static const gint64 four[] = { 4 }, three[] = { 3 };
  g_autofree char *dir = gguf_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "out.gguf", NULL);
  g_autofree char *long_name = g_strnfill (64, 'n');

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
      const char *name = i == 2 ? long_name : i == 6 ? "a\x1b" : "a";
      const gint64 *ne = i == 3 ? three : four;
      guint32 type = i == 3 ? ATTNVIZ_WEIGHT_Q8_0 : i == 4 ? 99 : ATTNVIZ_WEIGHT_F32;
      attnviz_gguf_writer_add_tensor (w, name, type, 1, ne, x, i == 1 ? 12 : 16, NULL);
      if (i == 0)
        attnviz_gguf_writer_add_tensor (w, "a", ATTNVIZ_WEIGHT_F32, 1, four, x, 16, NULL);
      if (i == 5)
        attnviz_gguf_writer_add_uint32 (w, "general.alignment", 48);
      g_autoptr(GError) error = NULL;
      g_assert_false (attnviz_gguf_writer_write (w, path, &error));
      attnviz_gguf_writer_free (w);
      g_assert_nonnull (error);
      g_test_message ("%s: %s", cases[i].name, error->message);
      g_assert_true (g_str_has_prefix (error->message, path));
      g_assert_nonnull (strstr (error->message, cases[i].phrase));
      g_assert_cmpuint (count_entries (dir), ==, 0);
    }
  attnviz_test_remove_tree (dir);
}

static void
test_writing_into_a_missing_folder_names_it (void)
{
  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_add_string (w, "general.name", "x");
  g_autoptr(GError) error = NULL;
  g_assert_false (attnviz_gguf_writer_write (w, "/nonexistent-dir/out.gguf", &error));
  g_assert_nonnull (strstr (error->message, "/nonexistent-dir/out.gguf"));
  attnviz_gguf_writer_free (w);
}

/* ---- real files ------------------------------------------------------------- */

static void
test_rewritten_real_files_read_back_identically (void)
{
  static const char *const files[][3] = {
    { "models", "stories260K/gguf", "stories260K-f32.gguf" },
    { "models", "stories260K/gguf", "stories260K-q8_0.gguf" },
    { "models", "tiny-llama-gguf/gguf", "tiny-q4_k_m.gguf" },
    { "models", "tiny-qwen2-gguf/gguf", "qwen2-tiny-q3_k_m.gguf" },
    { "tokenizers", "llama.cpp-vocab-gguf", "ggml-vocab-llama-spm.gguf" },
  };
  g_autofree char *dir = gguf_make_tmpdir ();
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *src_path = attnviz_test_shared_path (files[i][0], files[i][1], files[i][2],
                                                            NULL);
      if (src_path == NULL)
        break;
      g_autoptr(GError) error = NULL;
      AttnvizGguf *src = attnviz_gguf_open (src_path, &error);
      g_assert_no_error (error);
      g_autofree char *path = g_build_filename (dir, files[i][2], NULL);
      rewrite (src, path);
      AttnvizGguf *copy = attnviz_gguf_open (path, &error);
      g_assert_no_error (error);
      assert_same_gguf (src, copy);

      /* llama.cpp's converter lays a file out as this writer does: the
       * model files come out byte for byte the same. */
      if (attnviz_gguf_get_n_tensors (src) > 0)
        {
          g_autofree char *a = NULL, *b = NULL;
          gsize la, lb;
          g_assert_true (g_file_get_contents (src_path, &a, &la, NULL));
          g_assert_true (g_file_get_contents (path, &b, &lb, NULL));
          g_assert_cmpmem (a, la, b, lb);
        }
      attnviz_gguf_free (copy);
      attnviz_gguf_free (src);
    }
  attnviz_test_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/gguf/write/then-open-gives-back-every-value-and-byte",
                   test_round_trip_keeps_every_value_and_byte);
  g_test_add_func ("/engine/gguf/write/honours-a-larger-alignment", test_larger_alignment_is_honoured);
  g_test_add_func ("/engine/gguf/write/copies-nested-arrays-as-they-are",
                   test_copy_keeps_nested_arrays_as_they_are);
  g_test_add_func ("/engine/gguf/write/refuses-bad-tensors-and-leaves-no-file",
                   test_writer_refuses_and_leaves_no_file);
  g_test_add_func ("/engine/gguf/write/into-a-missing-folder-names-it",
                   test_writing_into_a_missing_folder_names_it);
  g_test_add_func ("/engine/gguf/write/rewritten-real-files-read-back-identically",
                   test_rewritten_real_files_read_back_identically);

  return g_test_run ();
}
