#define G_LOG_DOMAIN "attnviz-fuzz-gguf"
#include "config.h"

/* libFuzzer harness: any byte string handed to the GGUF reader either opens
 * or fails with a one-line GError; an opened file answers every metadata
 * query on every key (text, integer, float, bool, string, string array and
 * numeric arrays) and every tensor's bytes lie inside the input (the first
 * and the last are read, so ASan sees a bad pointer).  The metadata and
 * tensors are then handed to the writer, which is freed unwritten.  Last,
 * the file goes to the model builder (attnviz-model-gguf.c), which either
 * fails with a one-line GError or gives a model whose tokenizer encodes a
 * text to ids inside the model's vocabulary; a model small enough is run
 * over three tokens (an encoder-decoder, T5, over three a side), so every
 * matrix is dequantized and multiplied. */

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "attnviz-forward.h"
#include "attnviz-gguf.h"
#include "attnviz-model-private.h"
#include "attnviz-quant.h"
#include "attnviz-tokenizer.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static volatile guint8 sink;

static void
drop_error (GError **error)
{
  if (*error != NULL)
    {
      g_assert (strchr ((*error)->message, '\n') == NULL);
      g_clear_error (error);
    }
}

/* Keys and tensor names print as they are: UTF-8, no control character. */
static void
assert_printable (const char *name)
{
  g_assert (g_utf8_validate (name, -1, NULL));
  for (const char *p = name; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      g_assert (c >= 0x20 && (c < 0x7f || c >= 0xa0));
    }
}

static void
query_key (const AttnvizGguf *g, guint i)
{
  const char *key = attnviz_gguf_get_key (g, i);
  GError *error = NULL;

  g_assert (key != NULL);
  assert_printable (key);
  g_assert (attnviz_gguf_find_key (g, key) == (int) i);
  attnviz_gguf_get_kv_type (g, i);
  attnviz_gguf_get_array_type (g, i);
  attnviz_gguf_get_array_length (g, i);
  g_free (attnviz_gguf_kv_to_string (g, i, 0));
  char *cut = attnviz_gguf_kv_to_string (g, i, 8);
  g_assert (g_utf8_validate (cut, -1, NULL));
  for (const char *p = cut; *p; p++)
    g_assert ((guchar) *p >= 0x20 && *p != 0x7f);
  g_free (cut);

  gint64 v = 0;
  double d = 0;
  gboolean b = FALSE;
  attnviz_gguf_read_int (g, key, TRUE, G_MININT64, G_MAXINT64, &v, &error);
  drop_error (&error);
  attnviz_gguf_read_int (g, key, FALSE, 0, 100, &v, &error);
  drop_error (&error);
  attnviz_gguf_read_float (g, key, TRUE, &d, &error);
  drop_error (&error);
  attnviz_gguf_read_bool (g, key, TRUE, &b, &error);
  drop_error (&error);
  const char *s = attnviz_gguf_read_string (g, key, TRUE, &error);
  drop_error (&error);
  if (s != NULL)
    sink += (guint8) strlen (s);

  gsize n = 0;
  const gsize *lens = NULL;
  const char *const *strs = attnviz_gguf_read_string_array (g, key, TRUE, &n, &lens, &error);
  drop_error (&error);
  if (strs != NULL)
    {
      g_assert (strs[n] == NULL);
      for (gsize k = 0; k < n; k++)
        {
          g_assert (strs[k][lens[k]] == '\0');
          if (lens[k] > 0)
            sink += (guint8) (strs[k][0] + strs[k][lens[k] - 1]);
        }
    }
  float *f = attnviz_gguf_dup_float_array (g, key, TRUE, &n, &error);
  drop_error (&error);
  if (f != NULL && n > 0)
    sink += (guint8) (f[0] < f[n - 1]);  /* reads both without a float-to-int cast */
  g_free (f);
  gint64 *ints = attnviz_gguf_dup_int_array (g, key, TRUE, &n, &error);
  drop_error (&error);
  if (ints != NULL && n > 0)
    sink += (guint8) ints[0] + (guint8) ints[n - 1];
  g_free (ints);
}

/* The model builder over the open file G, which it takes. */
static void
build_model (AttnvizGguf *g)
{
  GError *error = NULL;
  AttnvizModel *m = _attnviz_model_new_from_gguf (g, &error);

  if (m == NULL)
    {
      g_assert (error != NULL && strchr (error->message, '\n') == NULL);
      g_error_free (error);
      return;
    }
  const AttnvizConfig *c = &m->config;
  g_assert (c->vocab_size >= 1 && c->n_layer >= 1 && c->n_head >= 1 && c->head_dim >= 1);
  g_assert (c->n_head % c->n_kv_head == 0);
  g_free (attnviz_model_describe_storage (m));
  if (m->tokenizer != NULL)
    {
      static const char text[] = "Hello, world! <s> 12 \xc3\xa9 <extra_id_0> \xef\xbd\x86\xef\xac\x81";
      GArray *tokens = attnviz_tokenizer_encode (m->tokenizer, text, strlen (text), TRUE, &error);
      if (tokens == NULL)
        g_clear_error (&error);
      for (guint i = 0; tokens != NULL && i < tokens->len; i++)
        g_assert (g_array_index (tokens, AttnvizToken, i).id < c->vocab_size);
      if (tokens != NULL)
        g_array_unref (tokens);
    }

  /* Small enough to run in a fuzzing iteration: a few million values. */
  if (attnviz_config_n_params (c) < 4000000 && c->n_ctx >= 3)
    {
      gint32 ids[3] = { 0, c->vocab_size - 1, 1 % c->vocab_size };
      AttnvizRecording *rec = c->encoder_decoder ? attnviz_forward_seq2seq (m, ids, 3, ids, 3, NULL, &error)
                                                 : attnviz_forward (m, ids, 3, NULL, &error);
      if (rec == NULL)
        {
          g_assert (error != NULL && strchr (error->message, '\n') == NULL);
          g_clear_error (&error);
        }
      else
        attnviz_recording_free (rec);
    }
  attnviz_model_free (m);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  AttnvizGguf *g = attnviz_gguf_open_bytes (data, size, "fuzz.gguf", &error);
  if (g == NULL)
    {
      g_assert (error != NULL && error->message != NULL);
      g_assert (strchr (error->message, '\n') == NULL);
      g_error_free (error);
      return 0;
    }
  g_assert (error == NULL);
  g_assert (attnviz_gguf_get_version (g) == 2 || attnviz_gguf_get_version (g) == 3);
  guint32 alignment = attnviz_gguf_get_alignment (g);
  g_assert (alignment != 0 && (alignment & (alignment - 1)) == 0);
  g_assert (attnviz_gguf_get_file_size (g) == size);

  for (guint i = 0; i < attnviz_gguf_get_n_kv (g); i++)
    query_key (g, i);
  attnviz_gguf_read_int (g, "absent.key", FALSE, 0, 1, &(gint64) { 0 }, NULL);

  AttnvizGgufWriter *w = attnviz_gguf_writer_new ();
  attnviz_gguf_writer_copy_kv (w, g, NULL, NULL);
  for (guint i = 0; i < attnviz_gguf_get_n_tensors (g); i++)
    {
      const AttnvizGgufTensor *t = attnviz_gguf_get_tensor (g, i);
      g_assert (attnviz_gguf_lookup (g, t->name) == t);
      assert_printable (t->name);
      g_assert (attnviz_weight_type_known (t->type, NULL, NULL, NULL));
      g_assert (t->n_dims >= 1 && t->n_dims <= ATTNVIZ_GGUF_MAX_DIMS);
      g_assert (t->n_elements >= 0 && t->offset % alignment == 0);
      g_assert (t->data >= data && t->n_bytes <= size && t->data + t->n_bytes <= data + size);
      if (t->n_bytes > 0)
        sink += t->data[0] + t->data[t->n_bytes - 1];
      attnviz_gguf_writer_add_tensor (w, t->name, t->type, t->n_dims, t->ne, t->data, t->n_bytes,
                                      NULL);
    }
  attnviz_gguf_writer_free (w);
  build_model (g);
  return 0;
}
