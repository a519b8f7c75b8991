#define G_LOG_DOMAIN "attnviz-fuzz-tokenizer"
#include "config.h"

/* libFuzzer harness: any bytes as a model folder's tokenizer.json either
 * load or fail with a GError; a tokenizer that loads encodes a fixed text
 * and the input itself (when it is UTF-8) with spans inside the text, and
 * decodes what it encoded. */

#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "attnviz-tokenizer.h"
/* PCRE2 compiles a split pattern nested 250 deep (its limit) in under
 * 256 KiB of stack; json-glib overflows it at a few thousand levels. */
#define FUZZ_STACK_BYTES (256 * 1024)
#include "fuzz-small-stack.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *dir;

static void
encode_and_check (const AttnvizTokenizer *tok, const char *text, gssize len)
{
  GError *error = NULL;
  gsize n = len < 0 ? strlen (text) : (gsize) len;
  GArray *tokens = attnviz_tokenizer_encode (tok, text, len, TRUE, &error);
  if (tokens == NULL)
    {
      g_assert (error != NULL);
      g_error_free (error);
      return;
    }
  g_autofree gint32 *ids = g_new (gint32, tokens->len + 1);
  for (guint i = 0; i < tokens->len; i++)
    {
      AttnvizToken *t = &g_array_index (tokens, AttnvizToken, i);
      g_assert (t->start <= t->end && t->end <= n);
      g_assert (t->id >= 0 && t->id < attnviz_tokenizer_get_vocab_size (tok));
      ids[i] = t->id;
    }
  g_free (attnviz_tokenizer_decode (tok, ids, tokens->len));
  g_array_unref (tokens);
}

typedef struct {
  const uint8_t *data;
  size_t size;
} Input;

static void
run (gpointer p)
{
  const Input *in = p;
  GError *error = NULL;
  AttnvizTokenizer *tok = attnviz_tokenizer_load_dir (dir, &error);
  if (tok == NULL)
    {
      g_assert (error != NULL && error->message != NULL);
      g_error_free (error);
      return;
    }
  int n = attnviz_tokenizer_get_vocab_size (tok);
  g_assert (attnviz_tokenizer_get_bos_id (tok) >= -1 && attnviz_tokenizer_get_bos_id (tok) < n);
  g_assert (attnviz_tokenizer_get_eos_id (tok) >= -1 && attnviz_tokenizer_get_eos_id (tok) < n);
  g_assert (attnviz_tokenizer_get_unk_id (tok) >= -1 && attnviz_tokenizer_get_unk_id (tok) < n);
  encode_and_check (tok, "Hello wörld 123 \xf0\x9f\xa6\x99  tabs\tand\nnewlines", -1);
  if (g_utf8_validate ((const char *) in->data, in->size, NULL))
    encode_and_check (tok, (const char *) in->data, in->size);
  attnviz_tokenizer_free (tok);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (dir == NULL)
    dir = g_dir_make_tmp ("attnviz-fuzz-tok-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  g_assert (g_file_set_contents (path, (const char *) data, size, NULL));

  /* Loading parses the JSON: on a small stack, with depth as coverage, so
   * unbounded recursion there is found (fuzz-small-stack.h). */
  Input in = { data, size };
  fuzz_depth_feedback (data, size);
  fuzz_on_small_stack (run, &in);
  return 0;
}
