/* A byte builder for GGUF files in tests, and the checks the GGUF tests share. */
#define G_LOG_DOMAIN "attnviz-test-gguf"
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "gguf-builder.h"

void
gguf_put_le (GByteArray *b, guint64 v, gsize size)
{
  for (gsize i = 0; i < size; i++)
    {
      guint8 byte = (guint8) (v >> (8 * i));
      g_byte_array_append (b, &byte, 1);
    }
}

void
gguf_put_bytes (GByteArray *b, const char *s, gsize len)
{
  gguf_put_u64 (b, len);
  g_byte_array_append (b, (const guint8 *) s, (guint) len);
}

void
gguf_put_str (GByteArray *b, const char *s)
{
  gguf_put_bytes (b, s, strlen (s));
}

void
gguf_put_header (GByteArray *b, guint32 version, guint64 n_tensors, guint64 n_kv)
{
  g_byte_array_append (b, (const guint8 *) "GGUF", 4);
  gguf_put_u32 (b, version);
  gguf_put_u64 (b, n_tensors);
  gguf_put_u64 (b, n_kv);
}

void
gguf_put_kv_u32 (GByteArray *b, const char *key, guint32 v)
{
  gguf_put_str (b, key);
  gguf_put_u32 (b, ATTNVIZ_GGUF_UINT32);
  gguf_put_u32 (b, v);
}

void
gguf_put_kv_str (GByteArray *b, const char *key, const char *v)
{
  gguf_put_str (b, key);
  gguf_put_u32 (b, ATTNVIZ_GGUF_STRING);
  gguf_put_str (b, v);
}

/* A tensor info with N_DIMS entries of NE. */
void
gguf_put_tensor (GByteArray *b, const char *name, guint32 n_dims, const guint64 *ne, guint32 type,
            guint64 offset)
{
  gguf_put_str (b, name);
  gguf_put_u32 (b, n_dims);
  for (guint32 d = 0; d < n_dims; d++)
    gguf_put_u64 (b, ne[d]);
  gguf_put_u32 (b, type);
  gguf_put_u64 (b, offset);
}

void
gguf_put_pad (GByteArray *b, guint alignment)
{
  while (b->len % alignment != 0)
    gguf_put_u8 (b, 0);
}

void
gguf_put_data (GByteArray *b, gsize n)
{
  for (gsize i = 0; i < n; i++)
    gguf_put_u8 (b, (guint8) (i * 7 + 1));
}

/* A small valid file: two keys, an F32 [4, 2] tensor at 0 and a Q8_0 [32]
 * one at 32, ending right after the last tensor's 34 bytes. */
void
gguf_build_valid (GByteArray *b)
{
  gguf_put_header (b, 3, 2, 2);
  gguf_put_kv_str (b, "general.architecture", "llama");
  gguf_put_kv_u32 (b, "llama.block_count", 1);
  gguf_put_tensor (b, "a", 2, NE (4, 2), T_F32, 0);
  gguf_put_tensor (b, "b", 1, NE (32), T_Q8_0, 32);
  gguf_put_pad (b, 32);
  gguf_put_data (b, 32 + 34);
}

/* A file with a little of everything, whose counts are small beside its
 * bytes, so a cut falls inside every kind of field: a string, an array of
 * strings, of floats and of arrays, general.alignment 64, and three tensors
 * of three types ending right at the end of the file. */
void
gguf_build_rich (GByteArray *b)
{
  gguf_put_header (b, 3, 3, 5);
  gguf_put_kv_str (b, "general.architecture", "llama");
  gguf_put_array_head (b, "tokenizer.ggml.tokens", ATTNVIZ_GGUF_STRING, 3);
  gguf_put_str (b, "<s>");
  gguf_put_str (b, "");
  gguf_put_str (b, "\xe2\x96\x81" "b");
  gguf_put_array_head (b, "tokenizer.ggml.scores", ATTNVIZ_GGUF_FLOAT32, 3);
  gguf_put_data (b, 12);
  gguf_put_array_head (b, "x.nested", ATTNVIZ_GGUF_ARRAY, 2);
  for (int i = 0; i < 2; i++)
    {
      gguf_put_u32 (b, ATTNVIZ_GGUF_UINT8);
      gguf_put_u64 (b, 2);
      gguf_put_data (b, 2);
    }
  gguf_put_kv_u32 (b, "general.alignment", 64);
  gguf_put_tensor (b, "token_embd.weight", 2, NE (4, 3), T_F32, 0);
  gguf_put_tensor (b, "blk.0.attn_q.weight", 2, NE (32, 2), T_Q8_0, 64);
  gguf_put_tensor (b, "output_norm.weight", 1, NE (4), ATTNVIZ_WEIGHT_F16, 192);
  gguf_put_pad (b, 64);
  gguf_put_data (b, 200);
}

/* One F32 tensor "a" of shape NE (N_DIMS) at OFFSET, then DATA bytes. */
void
gguf_build_one_tensor (GByteArray *b, guint32 n_dims, const guint64 *ne, guint32 type,
                  guint64 offset, gsize data)
{
  gguf_put_header (b, 3, 1, 0);
  gguf_put_tensor (b, "a", n_dims, ne, type, offset);
  gguf_put_pad (b, 32);
  gguf_put_data (b, data);
}

void
gguf_put_array_head (GByteArray *b, const char *key, guint32 type, guint64 n)
{
  gguf_put_str (b, key);
  gguf_put_u32 (b, ATTNVIZ_GGUF_ARRAY);
  gguf_put_u32 (b, type);
  gguf_put_u64 (b, n);
}

/* An array of arrays DEPTH deep around one u8. */
void
gguf_put_nested (GByteArray *b, const char *key, int depth)
{
  gguf_put_str (b, key);
  gguf_put_u32 (b, ATTNVIZ_GGUF_ARRAY);
  for (int d = 1; d <= depth; d++)
    {
      gguf_put_u32 (b, d < depth ? ATTNVIZ_GGUF_ARRAY : ATTNVIZ_GGUF_UINT8);
      gguf_put_u64 (b, 1);
    }
  gguf_put_u8 (b, 7);
}

void
gguf_assert_one_line_error (const GError *error, int code, const char *file, const char *phrase)
{
  g_assert_nonnull (error);
  g_test_message ("error: %s", error->message);
  g_assert_error (error, G_IO_ERROR, code);
  g_autofree char *prefix = g_strdup_printf ("%s: ", file);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  if (phrase)
    g_assert_nonnull (strstr (error->message, phrase));
  /* Nothing from the file reaches a terminal unescaped. */
  for (const char *p = error->message; *p; p++)
    g_assert_true ((guchar) *p >= 0x20 && *p != 0x7f);
}

/* Opens a copy of exactly LEN bytes (so ASan sees a read past the end),
 * touches every value and tensor of what opened, and frees it: TRUE when
 * it opened. */
gboolean
gguf_opens_exactly (const guint8 *data, gsize len, GError **error)
{
  g_autofree guint8 *copy = g_malloc (MAX (len, 1));
  if (len > 0)
    memcpy (copy, data, len);
  AttnvizGguf *g = attnviz_gguf_open_bytes (copy, len, "bad.gguf", error);
  if (g == NULL)
    return FALSE;
  for (guint i = 0; i < attnviz_gguf_get_n_kv (g); i++)
    g_free (attnviz_gguf_kv_to_string (g, i, 0));
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (g); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (g, i);
      g_assert_true (t->data >= copy && t->data + t->n_bytes <= copy + len);
      g_assert_true (attnviz_gguf_lookup (g, t->name) == t);
    }
  attnviz_gguf_free (g);
  return TRUE;
}

char *
gguf_make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("attnviz-test-gguf-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}
