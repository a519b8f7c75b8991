/* The GGUF reader on real files from ../shared and on small valid files
 * built in the test: counts, names, shapes, types and metadata. */
#define G_LOG_DOMAIN "attnviz-test-gguf"
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "attnviz-gguf.h"
#include "attnviz-quant.h"
#include "attnviz-test-util.h"
#include "gguf-builder.h"

static void
test_valid_small_file_opens (void)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();
  gguf_build_valid (b);
  g_autoptr(GError) error = NULL;
  AttnvizGguf *g = attnviz_gguf_open_bytes (b->data, b->len, "small.gguf", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (attnviz_gguf_get_version (g), ==, 3);
  g_assert_cmpuint (attnviz_gguf_get_n_kv (g), ==, 2);
  g_assert_cmpuint (attnviz_gguf_get_n_tensors (g), ==, 2);
  const AttnvizGgufTensor *a = attnviz_gguf_lookup (g, "a");
  const AttnvizGgufTensor *q = attnviz_gguf_lookup (g, "b");
  g_assert_cmpint (a->n_dims, ==, 2);
  g_assert_cmpint (a->ne[0], ==, 4);
  g_assert_cmpint (a->ne[1], ==, 2);
  g_assert_cmpint (a->ne[2], ==, 1);
  g_assert_cmpint (a->n_elements, ==, 8);
  g_assert_cmpuint (a->n_bytes, ==, 32);
  g_assert_cmpuint (a->row_bytes, ==, 16);
  g_assert_true (a->data == b->data + 192);
  g_assert_cmpuint (q->type, ==, ATTNVIZ_WEIGHT_Q8_0);
  g_assert_cmpuint (q->n_bytes, ==, 34);
  g_assert_true (q->data == b->data + 192 + 32);
  g_assert_null (attnviz_gguf_lookup (g, "c"));
  g_assert_cmpstr (attnviz_gguf_read_string (g, "general.architecture", TRUE, &error), ==, "llama");
  attnviz_gguf_free (g);
}

static void
test_arrays_nested_8_deep_open (void)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();
  gguf_put_header (b, 3, 0, 1);
  gguf_put_nested (b, "x", 8);
  g_autoptr(GError) error = NULL;
  AttnvizGguf *g = attnviz_gguf_open_bytes (b->data, b->len, "nested.gguf", &error);
  g_assert_no_error (error);
  g_assert_cmpint (attnviz_gguf_get_array_type (g, 0), ==, ATTNVIZ_GGUF_ARRAY);
  g_assert_cmpuint (attnviz_gguf_get_array_length (g, 0), ==, 1);
  g_autofree char *text = attnviz_gguf_kv_to_string (g, 0, 0);
  g_assert_cmpstr (text, ==, "[1 array]");
  gsize n;
  g_assert_null (attnviz_gguf_dup_int_array (g, "x", TRUE, &n, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "nested.gguf",
                         "key \"x\": is an array of array, not of integers");
  attnviz_gguf_free (g);
}

static void
test_empty_tensor_opens (void)
{
  /* ne 0 is allowed, as llama.cpp allows it: no bytes, overlapping nothing. */
  g_autoptr(GByteArray) b = g_byte_array_new ();
  gguf_put_header (b, 3, 2, 0);
  gguf_put_tensor (b, "empty", 2, NE (8, 0), T_F32, 0);
  gguf_put_tensor (b, "a", 1, NE (8), T_F32, 0);
  gguf_put_pad (b, 32);
  gguf_put_data (b, 32);
  g_autoptr(GError) error = NULL;
  AttnvizGguf *g = attnviz_gguf_open_bytes (b->data, b->len, "empty.gguf", &error);
  g_assert_no_error (error);
  const AttnvizGgufTensor *t = attnviz_gguf_lookup (g, "empty");
  g_assert_cmpint (t->n_elements, ==, 0);
  g_assert_cmpuint (t->n_bytes, ==, 0);
  attnviz_gguf_free (g);
}

/* ---- real files ------------------------------------------------------------- */

static AttnvizGguf *
open_shared (const char *first, ...)
{
  g_autofree char *data = attnviz_test_shared_path (".", NULL);
  if (data == NULL)
    return NULL;
  va_list ap;
  va_start (ap, first);
  GPtrArray *parts = g_ptr_array_new ();
  g_ptr_array_add (parts, data);
  for (const char *p = first; p; p = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (ap);
  g_ptr_array_add (parts, NULL);
  g_autofree char *path = g_build_filenamev ((char **) parts->pdata);
  g_ptr_array_unref (parts);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf ("%s is absent: skipping", path);
      g_test_skip (msg);
      return NULL;
    }
  g_autoptr(GError) error = NULL;
  AttnvizGguf *g = attnviz_gguf_open (path, &error);
  g_assert_no_error (error);
  return g;
}

static gint64
int_of (AttnvizGguf *g, const char *key)
{
  g_autoptr(GError) error = NULL;
  gint64 v = -1;
  g_assert_true (attnviz_gguf_read_int (g, key, TRUE, G_MININT64, G_MAXINT64, &v, &error));
  g_assert_no_error (error);
  return v;
}

static void
assert_tensor (AttnvizGguf *g, const char *name, guint32 type, gint64 ne0, gint64 ne1)
{
  const AttnvizGgufTensor *t = attnviz_gguf_lookup (g, name);
  g_assert_nonnull (t);
  g_assert_cmpstr (attnviz_weight_type_name (t->type), ==, attnviz_weight_type_name (type));
  g_assert_cmpint (t->ne[0], ==, ne0);
  g_assert_cmpint (t->ne[1], ==, ne1);
  g_assert_cmpint (t->n_dims, ==, ne1 == 1 ? 1 : 2);
}

static void
test_stories260k_lists_its_tensors_and_metadata (void)
{
  AttnvizGguf *g = open_shared ("models", "stories260K", "gguf", "stories260K-f32.gguf", NULL);
  if (g == NULL)
    return;
  g_assert_cmpuint (attnviz_gguf_get_version (g), ==, 3);
  g_assert_cmpuint (attnviz_gguf_get_alignment (g), ==, 32);
  g_assert_cmpuint (attnviz_gguf_get_n_tensors (g), ==, 48);
  g_assert_cmpuint (attnviz_gguf_get_n_kv (g), ==, 19);
  assert_tensor (g, "token_embd.weight", ATTNVIZ_WEIGHT_F32, 64, 512);
  assert_tensor (g, "blk.0.attn_k.weight", ATTNVIZ_WEIGHT_F32, 64, 32);
  assert_tensor (g, "blk.4.ffn_up.weight", ATTNVIZ_WEIGHT_F32, 64, 172);
  assert_tensor (g, "output_norm.weight", ATTNVIZ_WEIGHT_F32, 64, 1);
  g_assert_cmpstr (attnviz_gguf_read_string (g, "general.architecture", TRUE, NULL), ==, "llama");
  g_assert_cmpint (int_of (g, "llama.block_count"), ==, 5);
  g_assert_cmpint (int_of (g, "llama.attention.head_count_kv"), ==, 4);
  g_assert_cmpint (int_of (g, "tokenizer.ggml.seperator_token_id"), ==, G_MAXUINT32);
  double eps = 0;
  g_assert_true (attnviz_gguf_read_float (g, "llama.attention.layer_norm_rms_epsilon", TRUE,
                                          &eps, NULL));
  g_assert_cmpfloat_with_epsilon (eps, 1e-5, 1e-12);

  gsize n = 0;
  const gsize *lens = NULL;
  const char *const *tokens = attnviz_gguf_read_string_array (g, "tokenizer.ggml.tokens", TRUE,
                                                              &n, &lens, NULL);
  g_assert_cmpuint (n, ==, 512);
  g_assert_cmpstr (tokens[0], ==, "<unk>");
  g_assert_cmpstr (tokens[1], ==, "<s>");
  g_assert_cmpstr (tokens[3], ==, "<0x00>");
  g_assert_cmpstr (tokens[511], ==, "\xe2\x80\x8a");
  g_assert_cmpuint (lens[511], ==, 3);
  g_assert_null (tokens[512]);
  g_autofree gint64 *types = attnviz_gguf_dup_int_array (g, "tokenizer.ggml.token_type", TRUE,
                                                         &n, NULL);
  g_assert_cmpuint (n, ==, 512);
  g_assert_cmpint (types[0], ==, 2);
  g_assert_cmpint (types[3], ==, 6);
  g_autofree float *scores = attnviz_gguf_dup_float_array (g, "tokenizer.ggml.scores", TRUE,
                                                           &n, NULL);
  g_assert_cmpuint (n, ==, 512);

  g_autofree char *text = attnviz_gguf_kv_to_string (g, 0, 0);
  g_assert_cmpstr (text, ==, "[512 strings]");
  int at = attnviz_gguf_find_key (g, "llama.attention.layer_norm_rms_epsilon");
  g_assert_cmpint (at, >=, 0);
  g_autofree char *eps_text = attnviz_gguf_kv_to_string (g, (guint) at, 0);
  g_assert_cmpstr (eps_text, ==, "1e-05");
  attnviz_gguf_free (g);
}

static void
test_tiny_q4_k_m_holds_q4_k_and_q6_k (void)
{
  AttnvizGguf *g = open_shared ("models", "tiny-llama-gguf", "gguf", "tiny-q4_k_m.gguf", NULL);
  if (g == NULL)
    return;
  g_assert_cmpuint (attnviz_gguf_get_n_tensors (g), ==, 20);
  assert_tensor (g, "blk.0.attn_q.weight", ATTNVIZ_WEIGHT_Q4_K, 256, 256);
  assert_tensor (g, "token_embd.weight", ATTNVIZ_WEIGHT_Q6_K, 256, 1024);
  const AttnvizGgufTensor *t = attnviz_gguf_lookup (g, "blk.0.attn_q.weight");
  g_assert_cmpuint (t->row_bytes, ==, 144);
  g_assert_cmpuint (t->n_bytes, ==, 256 * 144);
  gboolean add_bos = FALSE;
  g_assert_true (attnviz_gguf_read_bool (g, "tokenizer.ggml.add_bos_token", TRUE, &add_bos, NULL));
  g_assert_true (add_bos);
  g_assert_cmpint (int_of (g, "general.file_type"), ==, 15);
  g_assert_cmpint (int_of (g, "llama.vocab_size"), ==, 1024);
  attnviz_gguf_free (g);
}

static void
test_every_tiny_quant_names_its_type (void)
{
  static const struct {
    const char *suffix;
    guint32 type;
  } types[] = {
    { "f32", ATTNVIZ_WEIGHT_F32 }, { "f16", ATTNVIZ_WEIGHT_F16 }, { "bf16", ATTNVIZ_WEIGHT_BF16 },
    { "q8_0", ATTNVIZ_WEIGHT_Q8_0 }, { "q4_0", ATTNVIZ_WEIGHT_Q4_0 }, { "q4_1", ATTNVIZ_WEIGHT_Q4_1 },
    { "q5_0", ATTNVIZ_WEIGHT_Q5_0 }, { "q5_1", ATTNVIZ_WEIGHT_Q5_1 }, { "q2_k", ATTNVIZ_WEIGHT_Q2_K },
    { "q3_k_m", ATTNVIZ_WEIGHT_Q3_K }, { "q4_k_m", ATTNVIZ_WEIGHT_Q4_K },
    { "q5_k_m", ATTNVIZ_WEIGHT_Q5_K }, { "q6_k", ATTNVIZ_WEIGHT_Q6_K },
  };
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    for (int qwen = 0; qwen < 2; qwen++)
      {
        g_autofree char *file = g_strdup_printf ("%s-%s.gguf", qwen ? "qwen2-tiny" : "tiny",
                                                 types[i].suffix);
        AttnvizGguf *g = open_shared ("models", qwen ? "tiny-qwen2-gguf" : "tiny-llama-gguf",
                                      "gguf", file, NULL);
        if (g == NULL)
          return;
        g_assert_cmpuint (attnviz_gguf_get_n_tensors (g), ==, qwen ? 27 : 20);
        g_assert_cmpstr (attnviz_gguf_read_string (g, "general.architecture", TRUE, NULL), ==,
                         qwen ? "qwen2" : "llama");
        g_assert_cmpint (int_of (g, qwen ? "qwen2.block_count" : "llama.block_count"), ==, 2);
        assert_tensor (g, "blk.0.attn_q.weight", types[i].type, 256, 256);
        if (qwen)
          assert_tensor (g, "blk.0.attn_q.bias", ATTNVIZ_WEIGHT_F32, 256, 1);
        gsize n = 0;
        g_assert_nonnull (attnviz_gguf_read_string_array (g, "tokenizer.ggml.tokens", TRUE, &n,
                                                          NULL, NULL));
        g_assert_cmpuint (n, ==, 1024);
        for (guint k = 0; k < attnviz_gguf_get_n_tensors (g); k++)
          g_assert_true (attnviz_weight_type_supported (attnviz_gguf_get_tensor (g, k)->type));
        attnviz_gguf_free (g);
      }
}

static void
test_aidreams_and_stories_q8_0_open (void)
{
  AttnvizGguf *g = open_shared ("models", "aidreams260K", "gguf", "aidreams260K-f32.gguf", NULL);
  if (g == NULL)
    return;
  g_assert_cmpuint (attnviz_gguf_get_n_tensors (g), ==, 39);
  g_assert_cmpint (int_of (g, "llama.block_count"), ==, 4);
  attnviz_gguf_free (g);

  g = open_shared ("models", "stories260K", "gguf", "stories260K-q8_0.gguf", NULL);
  g_assert_nonnull (g);
  g_assert_cmpuint (attnviz_gguf_get_n_tensors (g), ==, 48);
  assert_tensor (g, "blk.0.attn_q.weight", ATTNVIZ_WEIGHT_Q8_0, 64, 64);
  /* Rows of 172 cannot be split into Q8_0 blocks of 32: they stay as they were. */
  const AttnvizGgufTensor *down = attnviz_gguf_lookup (g, "blk.0.ffn_down.weight");
  g_assert_cmpint (down->ne[0], ==, 172);
  g_assert_true (down->type == ATTNVIZ_WEIGHT_F16 || down->type == ATTNVIZ_WEIGHT_F32);
  attnviz_gguf_free (g);
}

static void
test_vocab_files_hold_tokens_and_no_tensors (void)
{
  static const struct {
    const char *name;
    gsize n_tokens;
    gsize n_merges;
  } files[] = {
    { "bert-bge", 30522, 0 }, { "gpt-2", 50257, 50000 }, { "llama-bpe", 128256, 280147 },
    { "llama-spm", 32000, 0 }, { "phi-3", 32064, 0 }, { "qwen2", 151936, 151387 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *file = g_strdup_printf ("ggml-vocab-%s.gguf", files[i].name);
      AttnvizGguf *g = open_shared ("tokenizers", "llama.cpp-vocab-gguf", file, NULL);
      if (g == NULL)
        return;
      g_assert_cmpuint (attnviz_gguf_get_n_tensors (g), ==, 0);
      g_assert_nonnull (attnviz_gguf_read_string (g, "tokenizer.ggml.model", TRUE, NULL));
      gsize n = 0;
      g_assert_nonnull (attnviz_gguf_read_string_array (g, "tokenizer.ggml.tokens", TRUE, &n,
                                                        NULL, NULL));
      g_assert_cmpuint (n, ==, files[i].n_tokens);
      g_autoptr(GError) error = NULL;
      const char *const *merges = attnviz_gguf_read_string_array (g, "tokenizer.ggml.merges",
                                                                  FALSE, &n, NULL, &error);
      g_assert_no_error (error);
      if (files[i].n_merges)
        g_assert_cmpuint (n, ==, files[i].n_merges);
      else
        g_assert_null (merges);
      for (guint k = 0; k < attnviz_gguf_get_n_kv (g); k++)
        g_free (attnviz_gguf_kv_to_string (g, k, 100));
      attnviz_gguf_free (g);
    }
}

/* ---- metadata reads ------------------------------------------------------------ */

static AttnvizGguf *
open_metadata_file (GByteArray *b)
{
  gguf_put_header (b, 3, 0, 8);
  gguf_put_kv_u32 (b, "llama.block_count", 5);
  gguf_put_kv_str (b, "general.name", "a\x1b[31mb\nc\xe2\x80\xae\xff\xc3\xa9");
  gguf_put_str (b, "big");
  gguf_put_u32 (b, ATTNVIZ_GGUF_UINT64);
  gguf_put_u64 (b, G_MAXUINT64);
  gguf_put_str (b, "neg");
  gguf_put_u32 (b, ATTNVIZ_GGUF_INT8);
  gguf_put_u8 (b, 0xfe);
  gguf_put_str (b, "f64");
  gguf_put_u32 (b, ATTNVIZ_GGUF_FLOAT64);
  double d = 0.1;
  guint64 bits;
  memcpy (&bits, &d, 8);
  gguf_put_u64 (b, bits);
  gguf_put_array_head (b, "ints", ATTNVIZ_GGUF_UINT64, 2);
  gguf_put_u64 (b, 7);
  gguf_put_u64 (b, G_MAXUINT64);
  gguf_put_array_head (b, "flag", ATTNVIZ_GGUF_BOOL, 0);
  gguf_put_str (b, "yes");
  gguf_put_u32 (b, ATTNVIZ_GGUF_BOOL);
  gguf_put_u8 (b, 2);
  g_autoptr(GError) error = NULL;
  AttnvizGguf *g = attnviz_gguf_open_bytes (b->data, b->len, "meta.gguf", &error);
  g_assert_no_error (error);
  return g;
}

static void
test_typed_reads_name_the_key_and_the_value (void)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();
  AttnvizGguf *g = open_metadata_file (b);
  g_autoptr(GError) error = NULL;
  gint64 v = 42;

  g_assert_true (attnviz_gguf_read_int (g, "llama.block_count", TRUE, 1, 100, &v, &error));
  g_assert_cmpint (v, ==, 5);
  g_assert_false (attnviz_gguf_read_int (g, "llama.block_count", TRUE, 1, 4, &v, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "meta.gguf",
                         "key \"llama.block_count\": 5 is outside [1, 4]");
  g_clear_error (&error);
  g_assert_false (attnviz_gguf_read_int (g, "big", TRUE, 0, G_MAXINT64, &v, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "meta.gguf",
                         "key \"big\": 18446744073709551615 is outside");
  g_clear_error (&error);
  g_assert_true (attnviz_gguf_read_int (g, "neg", TRUE, -10, 10, &v, &error));
  g_assert_cmpint (v, ==, -2);
  g_assert_false (attnviz_gguf_read_int (g, "general.name", TRUE, 0, 10, &v, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "meta.gguf",
                         "key \"general.name\": is a string, not an integer");
  g_clear_error (&error);
  g_assert_false (attnviz_gguf_read_int (g, "llama.context_length", TRUE, 0, 10, &v, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "meta.gguf",
                         "missing key \"llama.context_length\"");
  g_clear_error (&error);
  v = 42;
  g_assert_true (attnviz_gguf_read_int (g, "llama.context_length", FALSE, 0, 10, &v, &error));
  g_assert_cmpint (v, ==, 42);

  double f = 0;
  g_assert_true (attnviz_gguf_read_float (g, "f64", TRUE, &f, &error));
  g_assert_cmpfloat (f, ==, 0.1);
  g_assert_true (attnviz_gguf_read_float (g, "llama.block_count", TRUE, &f, &error));
  g_assert_cmpfloat (f, ==, 5.0);
  gboolean yes = FALSE;
  g_assert_true (attnviz_gguf_read_bool (g, "yes", TRUE, &yes, &error));
  g_assert_true (yes);
  g_assert_false (attnviz_gguf_read_bool (g, "f64", TRUE, &yes, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "meta.gguf",
                         "key \"f64\": is a float64, not a bool");
  g_clear_error (&error);

  g_assert_null (attnviz_gguf_read_string (g, "absent", FALSE, &error));
  g_assert_no_error (error);
  g_assert_null (attnviz_gguf_read_string (g, "neg", FALSE, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "meta.gguf", "is an int8, not a string");
  g_clear_error (&error);

  gsize n = 99;
  g_assert_null (attnviz_gguf_dup_int_array (g, "ints", TRUE, &n, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "meta.gguf",
                         "key \"ints\": element 1 is 18446744073709551615, above 2^63 - 1");
  g_clear_error (&error);
  g_assert_null (attnviz_gguf_dup_float_array (g, "ints", TRUE, &n, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "meta.gguf",
                         "is an array of uint64, not of floats");
  g_clear_error (&error);
  g_assert_null (attnviz_gguf_read_string_array (g, "llama.block_count", TRUE, &n, NULL, &error));
  gguf_assert_one_line_error (error, G_IO_ERROR_INVALID_DATA, "meta.gguf", "is a uint32, not an array");
  g_clear_error (&error);
  g_assert_null (attnviz_gguf_dup_float_array (g, "absent", FALSE, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 99);
  g_assert_cmpint (attnviz_gguf_find_key (g, "absent"), ==, -1);
  g_assert_cmpint (attnviz_gguf_find_key (g, "big"), ==, 2);
  g_assert_cmpuint (attnviz_gguf_get_array_length (g, 6), ==, 0);
  g_assert_cmpint (attnviz_gguf_get_array_type (g, 6), ==, ATTNVIZ_GGUF_BOOL);
  attnviz_gguf_free (g);
}

static void
test_kv_text_escapes_control_characters (void)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();
  AttnvizGguf *g = open_metadata_file (b);
  g_autofree char *name = attnviz_gguf_kv_to_string (g, 1, 0);
  g_assert_cmpstr (name, ==, "\"a\\x1b[31mb\\nc\\u{202e}\\xff\xc3\xa9\"");
  g_autofree char *cut = attnviz_gguf_kv_to_string (g, 1, 3);
  g_assert_cmpstr (cut, ==, "\"a\\x1b[...\"");
  g_autofree char *big = attnviz_gguf_kv_to_string (g, 2, 0);
  g_assert_cmpstr (big, ==, "18446744073709551615");
  g_autofree char *neg = attnviz_gguf_kv_to_string (g, 3, 0);
  g_assert_cmpstr (neg, ==, "-2");
  g_autofree char *f64 = attnviz_gguf_kv_to_string (g, 4, 0);
  g_assert_cmpstr (f64, ==, "0.1");
  g_autofree char *ints = attnviz_gguf_kv_to_string (g, 5, 0);
  g_assert_cmpstr (ints, ==, "[2 uint64 values]");
  g_autofree char *yes = attnviz_gguf_kv_to_string (g, 7, 0);
  g_assert_cmpstr (yes, ==, "true");
  attnviz_gguf_free (g);
}

/* A byte array is read where it lies: tests/fixtures/charsmap/rules.gguf's
 * precompiled_charsmap, element for element what dup_int_array reads, and
 * its string array is no byte array. */
static void
test_a_byte_array_is_read_in_place (void)
{
  g_autofree char *path = attnviz_test_fixture_path ("charsmap", "rules.gguf", NULL);
  g_autoptr(GError) error = NULL;
  AttnvizGguf *gguf = attnviz_gguf_open (path, &error);
  g_assert_no_error (error);
  int k = attnviz_gguf_find_key (gguf, "tokenizer.ggml.precompiled_charsmap");
  g_assert_cmpint (k, >=, 0);
  gsize n = 0, n_ints = 0;
  const guint8 *bytes = attnviz_gguf_get_byte_array (gguf, (guint) k, &n);
  g_autofree gint64 *ints = attnviz_gguf_dup_int_array (gguf, "tokenizer.ggml.precompiled_charsmap", TRUE, &n_ints,
                                                         &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  g_assert_cmpuint (n, ==, n_ints);
  g_assert_cmpuint (n, >, 1000);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (bytes[i], ==, ints[i]);
  int t = attnviz_gguf_find_key (gguf, "tokenizer.ggml.tokens");
  g_assert_null (attnviz_gguf_get_byte_array (gguf, (guint) t, &n));
  g_assert_cmpuint (n, ==, 0);
  attnviz_gguf_free (gguf);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/gguf/small-valid-file/opens-with-every-field", test_valid_small_file_opens);
  g_test_add_func ("/engine/gguf/stories260k/lists-its-48-tensors-and-llama-metadata",
                   test_stories260k_lists_its_tensors_and_metadata);
  g_test_add_func ("/engine/gguf/tiny-llama/q4_k_m-holds-q4_k-and-q6_k-tensors",
                   test_tiny_q4_k_m_holds_q4_k_and_q6_k);
  g_test_add_func ("/engine/gguf/tiny-llama-and-qwen2/every-quant-file-names-its-type",
                   test_every_tiny_quant_names_its_type);
  g_test_add_func ("/engine/gguf/aidreams-and-stories-q8_0/open", test_aidreams_and_stories_q8_0_open);
  g_test_add_func ("/engine/gguf/vocab-files/hold-tokens-and-no-tensors",
                   test_vocab_files_hold_tokens_and_no_tensors);
  g_test_add_func ("/engine/gguf/metadata/typed-reads-name-the-key-and-the-value",
                   test_typed_reads_name_the_key_and_the_value);
  g_test_add_func ("/engine/gguf/metadata/text-escapes-control-characters",
                   test_kv_text_escapes_control_characters);
  g_test_add_func ("/engine/gguf/accepts/arrays-nested-8-deep", test_arrays_nested_8_deep_open);
  g_test_add_func ("/engine/gguf/accepts/an-empty-tensor", test_empty_tensor_opens);
  g_test_add_func ("/engine/gguf/metadata/a-byte-array-is-read-in-place", test_a_byte_array_is_read_in_place);

  return g_test_run ();
}
